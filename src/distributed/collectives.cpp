// The small collectives the library offers beside ring attention and the gradient averager.

#include <attention/distributed.h>

namespace attention {

void broadcast_tensors(const std::vector<torch::Tensor>& tensors, const ProcessGroupPtr& group, int64_t root) {
  c10d::BroadcastOptions broadcast_options;
  broadcast_options.rootRank = root;
  for (const auto& tensor : tensors) {
    std::vector<torch::Tensor> one{tensor};
    group->broadcast(one, broadcast_options)->wait();
  }
}

double mean_over_ranks(double value, const ProcessGroupPtr& group) {
  std::vector<torch::Tensor> sum{torch::full({1}, value, torch::kFloat64)};
  group->allreduce(sum)->wait();
  return sum[0].item<double>() / group->getSize();
}

}  // namespace attention
