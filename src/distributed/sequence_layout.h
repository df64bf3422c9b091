#pragma once
// Which parts of a split sequence a rank holds.

#include <attention/distributed.h>

#include <cstdint>
#include <vector>

namespace attention {

/// The global indices of the equal parts rank `rank` holds, in its order: {rank} of N parts (Contiguous), or
/// {rank, 2N-1-rank} of 2N (Zigzag).
std::vector<int64_t> sequence_parts_of_rank(int64_t rank, int64_t world_size, SequenceLayout layout);

}  // namespace attention
