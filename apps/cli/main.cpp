// The `attention` command-line program (cli/run.cpp).
#include "cli/run.h"

int main(int argc, char** argv) { return attention::app::run_command_line(argc, argv); }
