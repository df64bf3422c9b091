// The ranks of a run started by torchrun, in a program built without Attention::distributed: it runs alone.
#include "training/data_parallel.h"

#include <cstdlib>
#include <stdexcept>

namespace attention::app {

std::unique_ptr<DataParallel> join_torchrun_ranks() {
  if (std::getenv("RANK") == nullptr && std::getenv("WORLD_SIZE") == nullptr) {
    return nullptr;
  }
  throw std::runtime_error(
      "RANK or WORLD_SIZE is set (started by torchrun?), but this attention was built without Attention::distributed "
      "(-DATTENTION_BUILD_DISTRIBUTED=OFF, or LibTorch's c10d Gloo headers or the Gloo headers were not found): it "
      "can only train alone");
}

}  // namespace attention::app
