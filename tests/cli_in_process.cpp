// Runs `attention` command lines one after another in this one process, through the program's own
// attention::app::run_command_line, for tests/cli_bad_input.sh: each process of the program pays LibTorch's start
// (about a second of CPU), and the table has more than a hundred cases.
//
// Usage: attention_test_cli_in_process OUT_FILE ERR_FILE
// Reads requests on stdin: the argument count on a line, then each argument ending in a NUL byte. For each, runs
// `attention ARGS...` with its standard output and error written to OUT_FILE and ERR_FILE (truncated first) and
// its standard input at /dev/null, then answers its exit code on a line of stdout. Ends at the end of stdin; exit 1 on
// a malformed request.
#include "cli/run.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

/// Points file descriptor `target` at `path`, opened with `flags`; returns a copy of what it pointed at.
int redirect(int target, const char* path, int flags) {
  const int saved = dup(target);
  const int file = open(path, flags | O_CLOEXEC, 0644);
  if (saved < 0 || file < 0 || dup2(file, target) < 0) {
    std::perror(path);
    std::exit(1);
  }
  close(file);
  return saved;
}

void restore(int target, int saved) {
  dup2(saved, target);
  close(saved);
}

/// The next request's arguments, or false at the end of the input.
bool read_request(std::istream& in, std::vector<std::string>& arguments) {
  std::string count_line;
  if (!std::getline(in, count_line)) {
    return false;
  }
  size_t count = 0;
  try {
    count = std::stoul(count_line);
  } catch (const std::exception&) {
    std::cerr << "attention_test_cli_in_process: expected an argument count, got '" << count_line << "'\n";
    std::exit(1);
  }
  arguments.assign(count, "");
  for (auto& argument : arguments) {
    if (!std::getline(in, argument, '\0')) {
      std::cerr << "attention_test_cli_in_process: the input ended inside a request\n";
      std::exit(1);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: attention_test_cli_in_process OUT_FILE ERR_FILE\n";
    return 2;
  }
  std::vector<std::string> arguments;
  while (read_request(std::cin, arguments)) {
    std::vector<char*> command_line{const_cast<char*>("attention")};
    for (auto& argument : arguments) {
      command_line.push_back(argument.data());
    }
    command_line.push_back(nullptr);

    std::fflush(stdout);
    const int saved_in = redirect(STDIN_FILENO, "/dev/null", O_RDONLY);
    const int saved_out = redirect(STDOUT_FILENO, argv[1], O_WRONLY | O_CREAT | O_TRUNC);
    const int saved_err = redirect(STDERR_FILENO, argv[2], O_WRONLY | O_CREAT | O_TRUNC);
    const int code = attention::app::run_command_line(static_cast<int>(command_line.size() - 1), command_line.data());
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    restore(STDOUT_FILENO, saved_out);
    restore(STDERR_FILENO, saved_err);
    restore(STDIN_FILENO, saved_in);

    std::cout << code << std::endl;
  }
  return 0;
}
