#include "distributed/sequence_layout.h"

#include <c10/util/Exception.h>

namespace attention {

std::vector<int64_t> sequence_parts_of_rank(int64_t rank, int64_t world_size, SequenceLayout layout) {
  if (layout == SequenceLayout::Zigzag) {
    return {rank, 2 * world_size - 1 - rank};
  }
  return {rank};
}

torch::Tensor local_sequence_part(const torch::Tensor& whole, int64_t rank, int64_t world_size, SequenceLayout layout,
                                  int64_t dim) {
  TORCH_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "local_sequence_part: rank ", rank,
              " is not in a world of ", world_size);
  TORCH_CHECK(dim >= -whole.dim() && dim < whole.dim(), "local_sequence_part: dim ", dim, " of a ", whole.dim(),
              "-d tensor");
  const auto parts = sequence_parts_of_rank(rank, world_size, layout);
  const auto part_count = world_size * static_cast<int64_t>(parts.size());
  const auto length = whole.size(dim);
  TORCH_CHECK(length % part_count == 0, "local_sequence_part: a sequence of ", length, " (dim ", dim,
              ") does not split into ", part_count, " equal parts (", world_size, " ranks",
              layout == SequenceLayout::Zigzag ? ", zigzag)" : ")");
  const auto part_length = length / part_count;
  std::vector<torch::Tensor> pieces;
  for (const auto part : parts) {
    pieces.push_back(whole.narrow(dim, part * part_length, part_length));
  }
  return pieces.size() == 1 ? pieces.front() : torch::cat(pieces, dim);
}

}  // namespace attention
