#pragma once
// The `attention` program as a function: main() calls it, and the tests run the bad-input table through it in
// one process.

namespace attention::app {

/// Parses the command line `argv[0..argc)` (argv[0] is the program's name), runs its command, and returns the
/// program's exit code (command_line.h). Writes to std::cout, and its errors to std::cerr.
int run_command_line(int argc, char** argv);

}  // namespace attention::app
