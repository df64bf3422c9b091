// Joining the process group that torchrun's environment describes, as PyTorch's env:// rendezvous does.

#include <attention/distributed.h>

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace attention {
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

int64_t integer_variable(const char* name, int64_t minimum, int64_t maximum) {
  const auto text = environment(name);
  if (!text) {
    throw std::runtime_error(std::string("distributed: ") + name + " is not set (torchrun sets RANK, WORLD_SIZE, " +
                             "LOCAL_RANK, MASTER_ADDR and MASTER_PORT)");
  }
  std::size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text->size() || value < minimum || value > maximum) {
    throw std::runtime_error(std::string("distributed: ") + name + "='" + *text + "' is not an integer from " +
                             std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return value;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_address) {
  if (const auto interface = environment("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(*interface);
  }
  if (is_loopback(master_address)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

/// torchrun's launcher serves the store itself and every rank is its client; otherwise rank 0 serves it.
c10::intrusive_ptr<c10d::Store> rendezvous_store(const std::string& address, int64_t port, int64_t rank,
                                                 int64_t world_size, std::chrono::milliseconds timeout) {
  const bool agent_store = environment("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(port);
  store_options.isServer = !agent_store && rank == 0;
  store_options.numWorkers = agent_store ? c10::nullopt : c10::optional<std::size_t>(world_size);
  store_options.waitWorkers = !agent_store;
  store_options.timeout = timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  store_options.useLibUV = false;  // not every LibTorch has libuv; the classic server needs nothing
#endif
  const auto where = address + ":" + std::to_string(port);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(address, store_options);
  } catch (const std::exception& error) {
    throw std::runtime_error(
        "distributed: rank " + std::to_string(rank) + " could not " + (store_options.isServer ? "serve" : "reach") +
        " the rendezvous store at " + where + " (MASTER_ADDR:MASTER_PORT" +
        (store_options.isServer ? ": a port in use?" : ", within the timeout") + "): " + error.what());
  }
  if (!agent_store) {
    return store;
  }
  const auto attempt = integer_variable("TORCHELASTIC_RESTART_COUNT", 0, 1 << 30);
  return c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(attempt), store);
}

ProcessGroupPtr gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t world_size,
                           const std::string& master_address, std::chrono::milliseconds timeout) {
  auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
  gloo_options->devices.push_back(gloo_device(master_address));
  const auto r = static_cast<int>(rank);
  const auto n = static_cast<int>(world_size);
#if TORCH_VERSION_MAJOR >= 2
  // Since 2.0 a ProcessGroup dispatches to one backend per device type.
  auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, r, n, gloo_options);
  auto group = c10::make_intrusive<c10d::ProcessGroup>(store, r, n);
  group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, backend);
  group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  return group;
#else
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, r, n, gloo_options);
#endif
}

}  // namespace

std::optional<DistributedProcess> join_process_group_from_environment(const ProcessGroupOptions& options) {
  if (!environment("RANK") && !environment("WORLD_SIZE")) {
    return std::nullopt;
  }
  DistributedProcess process;
  process.world_size = integer_variable("WORLD_SIZE", 1, 1 << 20);
  process.rank = integer_variable("RANK", 0, process.world_size - 1);
  process.local_rank = environment("LOCAL_RANK") ? integer_variable("LOCAL_RANK", 0, process.world_size - 1) : 0;
  const auto address = environment("MASTER_ADDR");
  if (!address || address->empty()) {
    throw std::runtime_error("distributed: MASTER_ADDR is not set (the address of rank 0's machine)");
  }
  const auto port = integer_variable("MASTER_PORT", 1, 65535);
  const auto store = rendezvous_store(*address, port, process.rank, process.world_size, options.timeout());
  try {
    process.group = gloo_group(store, process.rank, process.world_size, *address, options.timeout());
  } catch (const std::exception& error) {
    throw std::runtime_error("distributed: rank " + std::to_string(process.rank) + " of " +
                             std::to_string(process.world_size) + " could not join the Gloo group: " + error.what());
  }
  return process;
}

}  // namespace attention
