// The ranks of a run started by torchrun, over Attention::distributed (built when that library is).
#include "training/data_parallel.h"

#include <attention/distributed.h>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace attention::app {
namespace {

/// Runs `collective`; a failure becomes a std::runtime_error that says which rank failed doing what.
template <typename Collective>
auto collective(const DistributedProcess& process, const std::string& doing, Collective&& run) {
  std::string why;
  try {
    return run();
  } catch (const c10::Error& error) {
    why = error.what_without_backtrace();
  } catch (const std::exception& error) {
    why = error.what();
  }
  throw std::runtime_error("distributed: rank " + std::to_string(process.rank) + " of " +
                           std::to_string(process.world_size) + " failed " + doing + ": " + why +
                           " (another rank stopped, its own error says why, or the connection to it broke)");
}

class GradientMeans final : public GradientSync {
 public:
  GradientMeans(const DistributedProcess& process, const std::vector<torch::Tensor>& parameters)
      : process_(process), averager_(parameters, process.group) {}

  void synchronize() override {
    collective(process_, "averaging the gradients", [this] { averager_.synchronize(); });
  }

 private:
  const DistributedProcess& process_;
  GradientAverager averager_;
};

class TorchrunRanks final : public DataParallel {
 public:
  explicit TorchrunRanks(DistributedProcess process) : process_(std::move(process)) {}

  int64_t rank() const override { return process_.rank; }
  int64_t size() const override { return process_.world_size; }

  double mean(double value) override {
    return collective(process_, "averaging the loss", [&] { return mean_over_ranks(value, process_.group); });
  }

  bool any(bool flag) override {
    return collective(process_, "agreeing whether to stop",
                      [&] { return mean_over_ranks(flag ? 1.0 : 0.0, process_.group) > 0; });
  }

  void broadcast(const std::vector<torch::Tensor>& tensors) override {
    torch::NoGradGuard no_grad;  // parameters are overwritten in place
    collective(process_, "sharing rank 0's weights", [&] { broadcast_tensors(tensors, process_.group); });
  }

  std::unique_ptr<GradientSync> average_gradients(const std::vector<torch::Tensor>& parameters) override {
    return std::make_unique<GradientMeans>(process_, parameters);
  }

 private:
  DistributedProcess process_;
};

}  // namespace

std::unique_ptr<DataParallel> join_torchrun_ranks() {
  auto process = join_process_group_from_environment();
  if (!process) {
    return nullptr;
  }
  return std::make_unique<TorchrunRanks>(std::move(*process));
}

}  // namespace attention::app
