#include <attention/simple_attention.h>

namespace attention {

AttentionOutput SimpleAttentionImpl::forward(const torch::Tensor& x) { return simple_attention(x); }

void SimpleAttentionImpl::pretty_print(std::ostream& stream) const { stream << "attention::SimpleAttention()"; }

}  // namespace attention
