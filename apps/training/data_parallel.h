#pragma once
// Data-parallel training: the processes one run is spread over (torchrun's ranks), each training the same model on
// its share of every batch, their gradients averaged; or this process alone.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace attention::app {

/// Rows [begin, end) of a batch.
struct Rows {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t count() const { return end - begin; }
};

/// Averages the gradients of parameters over the ranks while it lives.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  /// After each backward pass, before the optimizer step: every gradient becomes its mean over the ranks.
  virtual void synchronize() = 0;
};

/// The ranks of a run. Every rank must make the same calls, in the same order (they are collectives). A failed
/// collective (a rank died, the connection broke) throws std::runtime_error naming this rank.
class DataParallel {
 public:
  virtual ~DataParallel() = default;
  /// 0 .. size() - 1. Rank 0 alone writes the run's files and prints.
  virtual int64_t rank() const = 0;
  /// The number of ranks (WORLD_SIZE).
  virtual int64_t size() const = 0;
  bool is_first() const { return rank() == 0; }
  /// This rank's share of a batch of `rows` rows: [rank·rows/size, (rank+1)·rows/size). Empty when rows < size.
  Rows share_of(int64_t rows) const;
  /// What the mean loss of this rank's share of a batch of `rows` rows is multiplied by so that the mean over
  /// the ranks of the products, and of their gradients, is the batch's mean loss: size · share / rows (1 when
  /// size divides rows).
  double loss_weight(int64_t rows) const;
  /// The mean of `value` over the ranks.
  virtual double mean(double value) = 0;
  /// True on every rank when `flag` is true on any.
  virtual bool any(bool flag) = 0;
  /// Copies rank 0's values of `tensors` into every rank's, in place.
  virtual void broadcast(const std::vector<torch::Tensor>& tensors) = 0;
  /// Averages the gradients of `parameters` (the same on every rank) while the result lives.
  virtual std::unique_ptr<GradientSync> average_gradients(const std::vector<torch::Tensor>& parameters) = 0;
};

/// This process alone: rank 0 of 1, and nothing to exchange.
DataParallel& single_process();

/// The ranks torchrun started, joined from its environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...);
/// null when RANK and WORLD_SIZE are unset. Throws std::runtime_error when the group cannot be joined, or when the
/// program was built without Attention::distributed and RANK or WORLD_SIZE is set.
std::unique_ptr<DataParallel> join_torchrun_ranks();

}  // namespace attention::app
