#pragma once
/// \file
/// Work spread over several processes with c10d, PyTorch's distributed engine: joining the process group that
/// torchrun describes, averaging gradients for data-parallel training, and attention over a sequence split across
/// processes (ring attention). Target Attention::distributed.

#include <attention/distributed_export.h>

#include <torch/arg.h>
#include <torch/types.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace attention {

using ProcessGroupPtr = c10::intrusive_ptr<c10d::ProcessGroup>;

/// This process's place among its peers, as torchrun's environment describes it.
struct ATTENTION_DISTRIBUTED_API DistributedProcess {
  int64_t rank = 0;        ///< RANK: 0 .. world_size - 1 over every machine
  int64_t world_size = 1;  ///< WORLD_SIZE
  int64_t local_rank = 0;  ///< LOCAL_RANK: the rank on this machine (its GPU, on CUDA)
  ProcessGroupPtr group;   ///< Gloo: collectives of CPU tensors
};

struct ATTENTION_DISTRIBUTED_API ProcessGroupOptions {
  /// How long joining, and then any one collective, may wait for the other ranks before it fails (a rank that
  /// died, a peer that never came).
  TORCH_ARG(std::chrono::milliseconds, timeout) = std::chrono::seconds(60);
};

/// Joins the process group described by the environment, as PyTorch's `env://` does, and returns it; std::nullopt
/// when RANK and WORLD_SIZE are both unset (a process started alone).
/// Reads RANK, WORLD_SIZE, LOCAL_RANK (default 0), MASTER_ADDR, MASTER_PORT. Under torchrun
/// (TORCHELASTIC_USE_AGENT_STORE=True) the launcher already serves the TCPStore on MASTER_PORT: every rank connects
/// to it and keeps its keys under /worker/attempt_<TORCHELASTIC_RESTART_COUNT>; otherwise rank 0 serves it.
/// Gloo connects over the interface GLOO_SOCKET_IFNAME names, else over 127.0.0.1 when MASTER_ADDR is a loopback
/// address, else over this host name's address.
/// Throws std::runtime_error naming the variable when one is missing or malformed, and naming the address when
/// the store cannot be served or reached within the timeout (a port in use, no rank 0).
ATTENTION_DISTRIBUTED_API std::optional<DistributedProcess> join_process_group_from_environment(
    const ProcessGroupOptions& options = {});

/// Copies rank `root`'s values of `tensors` into every rank's (in place; CPU tensors).
ATTENTION_DISTRIBUTED_API void broadcast_tensors(const std::vector<torch::Tensor>& tensors,
                                                 const ProcessGroupPtr& group, int64_t root = 0);

/// The mean of `value` over the ranks of `group` (every rank gets it): a loss, an accuracy.
ATTENTION_DISTRIBUTED_API double mean_over_ranks(double value, const ProcessGroupPtr& group);

/// Data-parallel gradients: after each backward pass, every parameter's gradient becomes its mean over the ranks.
/// The gradients are gathered into buckets of about `bucket_bytes` (in the reverse order of `parameters`, roughly
/// the order backward produces them); a bucket is all-reduced as soon as backward has produced all of its
/// gradients, while backward goes on. Every rank must create it with the same parameters, of the same shapes.
class ATTENTION_DISTRIBUTED_API GradientAverager {
 public:
  GradientAverager(std::vector<torch::Tensor> parameters, ProcessGroupPtr group,
                   int64_t bucket_bytes = int64_t{25} << 20);
  ~GradientAverager();
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  /// Call after each backward pass, before the optimizer step: waits for every bucket and sets each parameter's
  /// `.grad()` to the mean over the ranks of the gradient this backward pass produced (what `.grad()` held before
  /// it is replaced, not added to). A parameter that got no gradient on this rank counts as zeros.
  void synchronize();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/// How a sequence of length T is split over N ranks.
enum class SequenceLayout {
  /// Rank r holds positions [r·T/N, (r+1)·T/N).
  Contiguous,
  /// The sequence cut into 2N equal chunks; rank r holds chunks r and 2N-1-r, one after the other. With causal
  /// attention every rank then has the same work (ring-flash-attention's zigzag).
  Zigzag,
};

/// Rank `rank`'s part of a whole sequence: `whole` cut along `dim` (length T, divisible by N, or by 2N for Zigzag)
/// → `[..., T/N, ...]`. For building inputs and checking results.
ATTENTION_DISTRIBUTED_API torch::Tensor local_sequence_part(const torch::Tensor& whole, int64_t rank,
                                                            int64_t world_size, SequenceLayout layout, int64_t dim = 2);

struct ATTENTION_DISTRIBUTED_API RingAttentionOptions {
  /// Query position i attends key positions j <= i of the whole sequence. Key parts wholly in a rank's future are
  /// skipped.
  TORCH_ARG(bool, causal) = false;
  /// Multiplier of the scores; <= 0 means 1/sqrt(d).
  TORCH_ARG(double, scale) = 0.0;
  /// How the sequence is split (every rank's inputs must follow it); Zigzag balances causal work.
  TORCH_ARG(SequenceLayout, layout) = SequenceLayout::Contiguous;
};

/// Attention over a sequence split across the ranks of `group` (context parallelism): this rank's queries attend
/// the keys and values of every rank, as scaled_dot_product_attention() would on the whole sequence.
/// query `[B, H, Tc, d]`, key `[B, Hkv, Tc, d]`, value `[B, Hkv, Tc, dv]`: this rank's part (`Tc = T / N`, the
/// same on every rank; Hkv divides H, grouped-query attention) → context `[B, H, Tc, dv]`.
/// Key/value parts travel around the ring (rank r sends to r + 1) while the part at hand is computed; partial
/// results merge through their log-sum-exp. Differentiable: the backward pass sends the key/value gradients on
/// around the ring, back to their rank. Memory per rank follows Tc, never T. Every rank must call it together,
/// with the same shapes and options. Throws c10::Error naming the shapes or the option on bad input.
ATTENTION_DISTRIBUTED_API torch::Tensor ring_attention(const torch::Tensor& query, const torch::Tensor& key,
                                                       const torch::Tensor& value, const ProcessGroupPtr& group,
                                                       const RingAttentionOptions& options = {});

}  // namespace attention
