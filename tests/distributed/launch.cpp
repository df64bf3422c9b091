// The tests' torchrun: starts N copies of a command on this machine with torchrun's environment, bounded in time.
//
//   attention_test_launch --nproc N --timeout SECONDS [--rank0-store | --port-in-use] -- COMMAND ARGS...
//
// By default it serves the rendezvous store itself on 127.0.0.1 and a free port, as torchrun's agent does
// (TORCHELASTIC_USE_AGENT_STORE=True). --rank0-store leaves the store to rank 0 (on a port that was free a moment
// ago); --port-in-use does so on a port this launcher keeps bound (not listening), so rank 0 cannot serve it. Waits for
// every rank; after SECONDS kills them all and exits 124. Exits 0 when every rank did, else the first failing rank's
// status. Each rank's exit is reported on stderr. No other address than 127.0.0.1, ever.

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

/// A socket bound to 127.0.0.1 on a port the system chose, not listening (a client's connection is refused, as
/// by a port that nobody serves); closed unless kept.
struct BoundPort {
  int socket_fd = -1;
  int port = 0;
};

BoundPort bind_free_port() {
  BoundPort bound;
  bound.socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bound.socket_fd < 0 || ::bind(bound.socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(bound.socket_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("launch: binding 127.0.0.1");
    std::exit(1);
  }
  bound.port = ntohs(address.sin_port);
  return bound;
}

int usage() {
  std::fprintf(stderr,
               "usage: attention_test_launch --nproc N --timeout SECONDS [--rank0-store | --port-in-use] -- "
               "COMMAND ARGS...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int processes = 0;
  int timeout_seconds = 0;
  bool rank0_store = false;
  bool port_in_use = false;
  int command_start = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--nproc" && i + 1 < argc) {
      processes = std::atoi(argv[++i]);
    } else if (argument == "--timeout" && i + 1 < argc) {
      timeout_seconds = std::atoi(argv[++i]);
    } else if (argument == "--rank0-store") {
      rank0_store = true;
    } else if (argument == "--port-in-use") {
      rank0_store = port_in_use = true;
    } else if (argument == "--") {
      command_start = i + 1;
      break;
    } else {
      return usage();
    }
  }
  if (processes < 1 || timeout_seconds < 1 || command_start < 0 || command_start >= argc) {
    return usage();
  }

  c10::intrusive_ptr<c10d::TCPStore> agent_store;
  BoundPort kept{};
  int port = 0;
  if (rank0_store) {
    kept = bind_free_port();
    port = kept.port;
    if (!port_in_use) {
      ::close(kept.socket_fd);
    }
  } else {
    c10d::TCPStoreOptions options;
    options.port = 0;
    options.isServer = true;
    options.waitWorkers = false;
    options.timeout = std::chrono::seconds(timeout_seconds);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    options.useLibUV = false;  // as the library's store (src/distributed/process_group.cpp)
#endif
    agent_store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
    port = agent_store->getPort();
  }

  std::vector<pid_t> ranks;
  for (int rank = 0; rank < processes; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (port_in_use) {
        ::close(kept.socket_fd);
      }
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(processes).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(processes).c_str(), 1);
      if (!rank0_store) {
        ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
        ::setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
      }
      ::execvp(argv[command_start], argv + command_start);
      std::perror("launch: exec");
      std::_Exit(127);
    }
    ranks.push_back(pid);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  std::vector<int> statuses(ranks.size(), -1);
  int running = processes;
  int result = 0;
  while (running > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "launch: %d of %d ranks still running after %d s: killing them\n", running, processes,
                   timeout_seconds);
      for (size_t rank = 0; rank < ranks.size(); ++rank) {
        if (statuses[rank] < 0) {
          ::kill(ranks[rank], SIGKILL);
          ::waitpid(ranks[rank], nullptr, 0);
        }
      }
      return 124;
    }
    for (size_t rank = 0; rank < ranks.size(); ++rank) {
      int status = 0;
      if (statuses[rank] < 0 && ::waitpid(ranks[rank], &status, WNOHANG) == ranks[rank]) {
        statuses[rank] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::fprintf(stderr, "launch: rank %zu exited with %d\n", rank, statuses[rank]);
        if (statuses[rank] != 0 && result == 0) {
          result = statuses[rank];
        }
        --running;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result;
}
