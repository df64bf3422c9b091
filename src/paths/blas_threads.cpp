// Both questions are asked of the libraries loaded in the process (dlsym), so that the core library links
// neither OpenBLAS nor OpenMP itself and works the same with any BLAS LibTorch was built with.
#include "blas_threads.h"

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

namespace attention::detail {

bool blas_runs_its_own_threads() {
#if defined(__unix__) || defined(__APPLE__)
  using Query = int (*)();
  static const auto parallel = reinterpret_cast<Query>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  static const auto threads = reinterpret_cast<Query>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return parallel != nullptr && threads != nullptr && parallel() == 1 && threads() > 1;
#else
  return false;
#endif
}

void on_calling_thread(const std::function<void()>& work) {
#if defined(__unix__) || defined(__APPLE__)
  using GetThreads = int (*)();
  using SetThreads = void (*)(int);
  static const auto get_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  static const auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (get_threads != nullptr && set_threads != nullptr) {
    struct Restore {
      int threads;
      ~Restore() { set_threads(threads); }
    } restore{get_threads()};
    set_threads(1);
    work();
    return;
  }
#endif
  work();
}

}  // namespace attention::detail
