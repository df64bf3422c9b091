// Block masks: which blocks of the scores a mask_mod leaves empty, full or partial, found by evaluating it one row
// of blocks at a time.
#include <attention/flex.h>

#include "paths/plan.h"

#include <torch/torch.h>

#include <utility>
#include <vector>

namespace attention {

BlockMask::BlockMask(MaskMod mask_mod, torch::Tensor blocks, int64_t query_len, int64_t key_len, int64_t block_size)
    : mask_mod_(std::move(mask_mod)),
      blocks_(std::move(blocks)),
      query_len_(query_len),
      key_len_(key_len),
      block_size_(block_size) {
  TORCH_CHECK(mask_mod_ != nullptr, "BlockMask: the mask_mod is empty");
  TORCH_CHECK(block_size_ > 0 && query_len_ >= 0 && key_len_ >= 0,
              "BlockMask: block_size must be > 0 and lengths >= 0, got block_size ", block_size_, ", query_len ",
              query_len_, ", key_len ", key_len_);
  const auto query_blocks = (query_len_ + block_size_ - 1) / block_size_,
             key_blocks = (key_len_ + block_size_ - 1) / block_size_;
  TORCH_CHECK(blocks_.defined() && blocks_.scalar_type() == torch::kChar && blocks_.is_cpu() && blocks_.dim() == 4 &&
                  blocks_.size(2) == query_blocks && blocks_.size(3) == key_blocks,
              "BlockMask: blocks must be an int8 tensor [B, H, ", query_blocks, ", ", key_blocks,
              "] on the CPU for these lengths and block size, got ",
              blocks_.defined() ? c10::toString(blocks_.scalar_type()) : "an undefined tensor", " of shape ",
              blocks_.defined() ? blocks_.sizes() : torch::IntArrayRef{});
  blocks_ = blocks_.contiguous();
}

double BlockMask::sparsity() const {
  if (!defined() || blocks_.numel() == 0) {
    return 0.0;
  }
  return (blocks_ == kEmpty).sum().item<double>() / static_cast<double>(blocks_.numel());
}

BlockMask create_block_mask(const MaskMod& mask_mod, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t block_size,
                            torch::Device device) {
  TORCH_CHECK(mask_mod != nullptr, "create_block_mask: the mask_mod is empty");
  TORCH_CHECK(B >= 1 && H >= 1 && Tq >= 0 && Tk >= 0 && block_size >= 1,
              "create_block_mask: need B, H, block_size >= 1 and Tq, Tk >= 0, got B=", B, ", H=", H, ", Tq=", Tq,
              ", Tk=", Tk, ", block_size=", block_size);
  const auto query_blocks = (Tq + block_size - 1) / block_size, key_blocks = (Tk + block_size - 1) / block_size;
  auto blocks = torch::empty({B, H, query_blocks, key_blocks}, torch::kChar);
  const auto longs = torch::TensorOptions(torch::kLong).device(device);
  ScoreIndex index;
  index.batch = torch::arange(B, longs).view({B, 1, 1, 1});
  index.head = torch::arange(H, longs).view({1, H, 1, 1});
  index.key = torch::arange(Tk, longs).view({1, 1, 1, Tk});
  const auto whole_blocks = Tk / block_size, tail = Tk - whole_blocks * block_size;  // keys in a last, short block
  for (int64_t row = 0; row < query_blocks; ++row) {
    const auto q0 = row * block_size, bq = std::min(block_size, Tq - q0);
    index.query = torch::arange(q0, q0 + bq, longs).view({1, 1, bq, 1});
    const auto attended = mask_mod(index);
    detail::check_mask_mod_result(attended, {B, H, bq, Tk});
    const auto rows = attended.expand({B, H, bq, Tk});
    // Per block of keys, how many entries may attend ([B, H, key blocks]): a sum of bytes over each block's keys
    // (contiguous, the fastest reduction), then over its rows.
    std::vector<torch::Tensor> counts;
    if (whole_blocks > 0) {
      counts.push_back(rows.narrow(3, 0, whole_blocks * block_size)
                           .reshape({B, H, bq, whole_blocks, block_size})
                           .view(torch::kByte)
                           .sum(-1, /*keepdim=*/false, torch::kInt)
                           .sum(2));
    }
    if (tail > 0) {
      counts.push_back(
          rows.narrow(3, whole_blocks * block_size, tail).sum({2, 3}, /*keepdim=*/false, torch::kInt).unsqueeze(-1));
    }
    const auto attending = torch::cat(counts, -1);
    auto sizes = torch::full({whole_blocks + (tail > 0 ? 1 : 0)}, bq * block_size, attending.options());
    if (tail > 0) {
      sizes[-1] = bq * tail;
    }
    // empty 0 (nothing may attend), partial 1, full 2 (everything may)
    const auto state = (attending > 0).to(torch::kChar) + (attending == sizes).to(torch::kChar);
    blocks.select(2, row).copy_(state);
  }
  return BlockMask(mask_mod, blocks, Tq, Tk, block_size);
}

}  // namespace attention
