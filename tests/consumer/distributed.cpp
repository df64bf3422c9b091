// Uses the installed distributed component: a sequence's zigzag part, and no process group outside a launcher.
#include <attention/distributed.h>

#include <cstdlib>
#include <iostream>

int main() {
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  const auto part =
      attention::local_sequence_part(torch::arange(8).view({1, 1, 8, 1}), 0, 2, attention::SequenceLayout::Zigzag);
  if (!torch::equal(part.flatten(), torch::tensor({0, 1, 6, 7})) ||
      attention::join_process_group_from_environment().has_value()) {
    std::cerr << "consumer_distributed: rank 0's zigzag part of 0..7 is " << part.flatten() << ", not 0 1 6 7\n";
    return 1;
  }
  std::cout << "consumer_distributed: rank 0 of 2 holds positions 0 1 6 7\n";
  return 0;
}
