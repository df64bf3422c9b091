#pragma once
// The BLAS library's threads against LibTorch's: what the tiled path and the Auto rule need to know of them.
// Internal; not installed.

#include <functional>

namespace attention::detail {

/// Whether the BLAS library under LibTorch runs a thread pool of its own (OpenBLAS built with pthreads, as
/// Debian's libopenblas0-pthread, with more than one thread). Its matrix products then parallelise themselves,
/// and called from LibTorch's worker threads they contend for the cores with those workers: tiles run as tasks
/// in parallel were measured 10-40x slower than the same tiles run one after the other, and LibTorch's own CPU
/// flash kernel, which works that way, 1.3-16x slower than the tiled path (README, "Which path runs").
bool blas_runs_its_own_threads();

/// Runs `work` with LibTorch's operations kept on the calling thread and no parallel region open: OpenMP's
/// thread count of this thread alone (its nthreads ICV; other threads keep theirs) is 1 meanwhile, and restored
/// after, on return and on an exception. The workers of earlier regions then sleep instead of spinning against
/// the BLAS library's own threads, which still serve the matrix products. Just runs `work` where LibTorch's
/// OpenMP isn't found.
void on_calling_thread(const std::function<void()>& work);

}  // namespace attention::detail
