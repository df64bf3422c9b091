#include "training/data_parallel.h"

namespace attention::app {
namespace {

class NoSync final : public GradientSync {
 public:
  void synchronize() override {}
};

class SingleProcess final : public DataParallel {
 public:
  int64_t rank() const override { return 0; }
  int64_t size() const override { return 1; }
  double mean(double value) override { return value; }
  bool any(bool flag) override { return flag; }
  void broadcast(const std::vector<torch::Tensor>&) override {}
  std::unique_ptr<GradientSync> average_gradients(const std::vector<torch::Tensor>&) override {
    return std::make_unique<NoSync>();
  }
};

}  // namespace

Rows DataParallel::share_of(int64_t rows) const { return {rank() * rows / size(), (rank() + 1) * rows / size()}; }

double DataParallel::loss_weight(int64_t rows) const {
  return static_cast<double>(size() * share_of(rows).count()) / static_cast<double>(rows);
}

DataParallel& single_process() {
  static SingleProcess alone;
  return alone;
}

}  // namespace attention::app
