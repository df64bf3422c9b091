// libFuzzer target: random shapes, dtypes, masks and options into scaled_dot_product_attention and
// MultiHeadAttention. The library may refuse an input only with an exception (c10::Error, std::exception);
// a crash, a sanitizer report or a hang is a bug.
#include <attention/attention.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

/// Reads small numbers from the fuzzer's bytes; zeros once they run out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  int64_t next(int64_t count) { return at_ < size_ ? data_[at_++] % count : 0; }
  bool flag() { return next(2) == 1; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

const torch::ScalarType kDtypes[] = {torch::kFloat, torch::kDouble, torch::kBFloat16,
                                     torch::kHalf,  torch::kLong,   torch::kBool};

torch::Tensor random_tensor(Bytes& bytes, std::vector<int64_t> shape) {
  const auto dtype = kDtypes[bytes.next(4) == 0 ? bytes.next(6) : 0];  // mostly float, any of the six
  auto tensor = torch::randn(shape, torch::kDouble);
  switch (bytes.next(6)) {
    case 1:
      tensor.fill_(NAN);
      break;
    case 2:
      tensor.fill_(-INFINITY);
      break;
    case 3:
      tensor.mul_(1e30);
      break;
    default:
      break;
  }
  if (dtype == torch::kBool) {
    return tensor > 0;
  }
  return tensor.to(dtype);
}

std::vector<int64_t> random_shape(Bytes& bytes, int64_t rank) {
  std::vector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    shape.push_back(bytes.next(5));  // 0 to 4, zero-sized dimensions included
  }
  return shape;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    torch::set_num_threads(1);
    return true;
  }();
  (void)once;
  Bytes bytes(data, size);
  torch::manual_seed(bytes.next(256));
  try {
    if (bytes.flag()) {
      // The functional API: ranks 1-5, independent shapes (mostly matching), any mask.
      const auto rank = 1 + bytes.next(5);
      const auto shape = random_shape(bytes, rank);
      const auto query = random_tensor(bytes, shape);
      const auto key = random_tensor(bytes, bytes.flag() ? shape : random_shape(bytes, 1 + bytes.next(5)));
      const auto value = random_tensor(bytes, bytes.flag() ? shape : random_shape(bytes, 1 + bytes.next(5)));
      auto options = attention::AttentionOptions()
                         .causal(bytes.flag())
                         .causal_alignment(bytes.flag() ? attention::CausalAlignment::TopLeft
                                                        : attention::CausalAlignment::BottomRight)
                         .dropout(static_cast<double>(bytes.next(12)) / 10.0 - 0.1)
                         .training(bytes.flag())
                         .scale(static_cast<double>(bytes.next(4)) - 1.0)
                         .need_weights(bytes.flag())
                         .path(static_cast<attention::AttentionPath>(bytes.next(3)))
                         .block_size(bytes.next(5) - 1);
      if (bytes.flag()) {
        options.mask(random_tensor(bytes, random_shape(bytes, bytes.next(5))));
      }
      const auto out = attention::scaled_dot_product_attention(query, key, value, options);
      if (out.context.defined()) {
        (void)out.context.sum().item<double>();
      }
    } else {
      // The module: widths and heads that may not divide, batched or not, masks of any shape.
      const auto embed_dim = bytes.next(9), heads = bytes.next(5);
      attention::MultiHeadAttention attention(attention::MultiHeadAttentionOptions(embed_dim, heads)
                                                  .kdim(bytes.flag() ? embed_dim : bytes.next(9))
                                                  .vdim(bytes.flag() ? embed_dim : bytes.next(9))
                                                  .causal(bytes.flag())
                                                  .dropout(static_cast<double>(bytes.next(3)) / 4.0));
      if (bytes.flag()) {
        attention->train();
      } else {
        attention->eval();
      }
      const bool batched = bytes.flag();
      const auto shape_of = [&](int64_t width) {
        std::vector<int64_t> shape;
        if (batched) shape.push_back(bytes.next(3));
        shape.push_back(bytes.next(5));
        shape.push_back(bytes.flag() ? width : bytes.next(9));
        return shape;
      };
      const auto query = random_tensor(bytes, shape_of(embed_dim));
      const auto key = random_tensor(bytes, shape_of(attention->options.kdim()));
      const auto value = random_tensor(bytes, shape_of(attention->options.vdim()));
      const auto mask = bytes.flag() ? random_tensor(bytes, random_shape(bytes, bytes.next(5))) : torch::Tensor();
      (void)attention(query, key, value, mask).context.sum().item<double>();
    }
  } catch (const std::exception&) {
    // Refused with a message (c10::Error is a std::exception): fine.
  }
  return 0;
}
