// Ring attention: key/value parts travel around the ring of ranks while each rank attends its queries to the part
// at hand; the partial results merge through their log-sum-exp. The backward pass recomputes each part's
// attention and sends the key/value gradients on around the ring, back to their owner.

#include "distributed/sequence_layout.h"

#include <attention/distributed.h>
#include <attention/functional.h>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <optional>
#include <string>

namespace attention {
namespace {

/// What every step of both passes needs; kept for backward in the autograd context.
struct RingPlan : torch::CustomClassHolder {
  ProcessGroupPtr group;
  int64_t rank = 0;
  int64_t world_size = 1;
  bool causal = false;
  double scale = 0.0;
  SequenceLayout layout = SequenceLayout::Contiguous;

  int64_t next() const { return (rank + 1) % world_size; }
  int64_t previous() const { return (rank + world_size - 1) % world_size; }
  /// The rank whose keys and values a rank holds at step `step`.
  int64_t source_at(int64_t step) const { return (rank - step + world_size) % world_size; }
};

enum class PartPair { Skipped, Diagonal, Full };

/// Query part `query_part` against key part `key_part` (global part indices).
PartPair pair_of(const RingPlan& plan, int64_t query_part, int64_t key_part) {
  if (!plan.causal) {
    return PartPair::Full;
  }
  if (key_part > query_part) {
    return PartPair::Skipped;
  }
  return key_part == query_part ? PartPair::Diagonal : PartPair::Full;
}

/// On the tiled path, whatever the sizes: its memory follows the part's length, not its square.
AttentionOutput attend_part(const RingPlan& plan, const torch::Tensor& query, const torch::Tensor& key,
                            const torch::Tensor& value, PartPair pair) {
  return scaled_dot_product_attention(query, key, value,
                                      AttentionOptions()
                                          .causal(pair == PartPair::Diagonal)
                                          .scale(plan.scale)
                                          .enable_gqa(query.size(1) != key.size(1))
                                          .return_lse(true)
                                          .need_weights(false)
                                          .path(AttentionPath::Tiled));
}

/// A send of `outgoing` to the next rank and a receive of the same size from the previous one, in flight
/// together.
class RingExchange {
 public:
  RingExchange(const RingPlan& plan, torch::Tensor outgoing, int tag)
      : outgoing_(std::move(outgoing)), incoming_(torch::empty_like(outgoing_)) {
    std::vector<torch::Tensor> send{outgoing_};
    send_ = plan.group->send(send, static_cast<int>(plan.next()), tag);
    std::vector<torch::Tensor> receive{incoming_};
    receive_ = plan.group->recv(receive, static_cast<int>(plan.previous()), tag);
  }

  torch::Tensor wait() {
    send_->wait();
    receive_->wait();
    return incoming_;
  }

 private:
  torch::Tensor outgoing_;
  torch::Tensor incoming_;
  c10::intrusive_ptr<c10d::Work> send_;
  c10::intrusive_ptr<c10d::Work> receive_;
};

/// Keys and values travel as one flat tensor: the keys' elements, then the values'.
struct KeyValue {
  torch::Tensor flat;
  torch::Tensor key;
  torch::Tensor value;
};

KeyValue key_value_views(const torch::Tensor& flat, torch::IntArrayRef key_sizes, torch::IntArrayRef value_sizes) {
  const auto key_count = c10::multiply_integers(key_sizes);
  return {flat, flat.narrow(0, 0, key_count).view(key_sizes),
          flat.narrow(0, key_count, c10::multiply_integers(value_sizes)).view(value_sizes)};
}

KeyValue packed(const torch::Tensor& key, const torch::Tensor& value) {
  return key_value_views(torch::cat({key.reshape(-1), value.reshape(-1)}), key.sizes(), value.sizes());
}

torch::ScalarType accumulation_type(const torch::Tensor& query) {
  return query.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

/// Merges attention results over disjoint sets of keys: context and lse of the keys seen so far.
struct PartialAttention {
  torch::Tensor context;  // [B, H, t, dv], accumulation type
  torch::Tensor lse;      // [B, H, t], -inf before any keys

  void merge(const AttentionOutput& part) {
    const auto part_lse = part.lse.to(lse.scalar_type());
    const auto merged = torch::logaddexp(lse, part_lse);
    context = context * (lse - merged).exp().unsqueeze(-1) +
              part.context.to(context.scalar_type()) * (part_lse - merged).exp().unsqueeze(-1);
    lse = merged;
  }
};

void check_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                  const RingPlan& plan) {
  TORCH_CHECK(query.dim() == 4 && key.dim() == 4 && value.dim() == 4,
              "ring_attention: query, key and value must be [B, H, T/N, d], got ", query.sizes(), ", ", key.sizes(),
              " and ", value.sizes());
  TORCH_CHECK(query.size(0) == key.size(0) && key.size(0) == value.size(0) && key.size(1) == value.size(1) &&
                  query.size(2) == key.size(2) && key.size(2) == value.size(2) && query.size(3) == key.size(3),
              "ring_attention: mismatched shapes: query ", query.sizes(), ", key ", key.sizes(), ", value ",
              value.sizes(), " (each rank's part of the sequence must be the same length for all three)");
  TORCH_CHECK(key.size(1) > 0 && query.size(1) % key.size(1) == 0, "ring_attention: ", key.size(1),
              " key/value heads do not divide ", query.size(1), " query heads");
  TORCH_CHECK(query.scalar_type() == key.scalar_type() && key.scalar_type() == value.scalar_type() &&
                  at::isFloatingType(query.scalar_type()),
              "ring_attention: query, key and value must have one floating dtype, got ", query.scalar_type(), ", ",
              key.scalar_type(), " and ", value.scalar_type());
  const auto parts = static_cast<int64_t>(sequence_parts_of_rank(0, plan.world_size, plan.layout).size());
  TORCH_CHECK(query.size(2) % parts == 0, "ring_attention: ", query.size(2),
              " positions per rank do not split into the zigzag layout's 2 equal parts");
  // Every rank must bring the same shapes and options, or the ring would exchange garbage or hang: one
  // all-reduce of each value and its negation gives every rank the maximum and the minimum.
  std::vector<int64_t> values = {query.size(0),
                                 query.size(1),
                                 key.size(1),
                                 query.size(2),
                                 query.size(3),
                                 value.size(3),
                                 plan.causal,
                                 static_cast<int64_t>(plan.layout),
                                 static_cast<int64_t>(query.scalar_type())};
  const auto mine = torch::tensor(values, torch::kInt64);
  auto both = torch::cat({mine, -mine});
  const auto count = mine.numel();
  std::vector<torch::Tensor> reduced{both};
  c10d::AllreduceOptions maximum;
  maximum.reduceOp = c10d::ReduceOp::MAX;
  plan.group->allreduce(reduced, maximum)->wait();
  const auto agreed = (both.narrow(0, 0, count) == -both.narrow(0, count, count)).all().item<bool>();
  TORCH_CHECK(agreed, "ring_attention: the ranks disagree on the shapes or options (rank ", plan.rank, " has query ",
              query.sizes(), ", key ", key.sizes(), ", value ", value.sizes(), ", causal ", plan.causal, ")");
}

class RingAttentionFunction : public torch::autograd::Function<RingAttentionFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* context, const torch::Tensor& query,
                                                const torch::Tensor& key, const torch::Tensor& value,
                                                const c10::intrusive_ptr<RingPlan>& plan) {
    const auto own_parts = sequence_parts_of_rank(plan->rank, plan->world_size, plan->layout);
    const auto part_count = static_cast<int64_t>(own_parts.size());
    const auto query_parts = query.chunk(part_count, 2);
    const auto type = accumulation_type(query);
    std::vector<PartialAttention> results;
    for (const auto& part : query_parts) {
      results.push_back(
          {torch::zeros({query.size(0), query.size(1), part.size(2), value.size(3)}, query.options().dtype(type)),
           torch::full({query.size(0), query.size(1), part.size(2)}, -INFINITY, query.options().dtype(type))});
    }
    auto held = packed(key, value);
    for (int64_t step = 0; step < plan->world_size; ++step) {
      std::optional<RingExchange> exchange;
      if (step + 1 < plan->world_size) {
        exchange.emplace(*plan, held.flat, static_cast<int>(step));
      }
      const auto source_parts = sequence_parts_of_rank(plan->source_at(step), plan->world_size, plan->layout);
      const auto key_parts = held.key.chunk(part_count, 2);
      const auto value_parts = held.value.chunk(part_count, 2);
      for (int64_t a = 0; a < part_count; ++a) {
        for (int64_t b = 0; b < part_count; ++b) {
          const auto pair = pair_of(*plan, own_parts[a], source_parts[b]);
          if (pair != PartPair::Skipped) {
            results[a].merge(attend_part(*plan, query_parts[a], key_parts[b], value_parts[b], pair));
          }
        }
      }
      if (exchange) {
        held = key_value_views(exchange->wait(), key.sizes(), value.sizes());
      }
    }
    std::vector<torch::Tensor> contexts;
    std::vector<torch::Tensor> lses;
    for (const auto& result : results) {
      contexts.push_back(result.context);
      lses.push_back(result.lse);
    }
    const auto merged_context = torch::cat(contexts, 2);
    context->save_for_backward({query, key, value, merged_context, torch::cat(lses, 2)});
    context->saved_data["plan"] = c10::IValue::make_capsule(plan);
    return {merged_context.to(query.scalar_type())};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list output_gradients) {
    const auto saved = context->get_saved_variables();
    const auto& query = saved[0];
    const auto& key = saved[1];
    const auto& value = saved[2];
    const auto plan = c10::static_intrusive_pointer_cast<RingPlan>(context->saved_data["plan"].toCapsule());
    const auto type = accumulation_type(query);
    const auto own_parts = sequence_parts_of_rank(plan->rank, plan->world_size, plan->layout);
    const auto part_count = static_cast<int64_t>(own_parts.size());
    const auto query_parts = query.chunk(part_count, 2);
    const auto final_contexts = saved[3].chunk(part_count, 2);
    const auto final_lses = saved[4].chunk(part_count, 2);
    const auto output_gradient = output_gradients[0].to(type);
    const auto gradient_parts = output_gradient.chunk(part_count, 2);
    std::vector<torch::Tensor> query_gradients;
    for (const auto& part : query_parts) {
      query_gradients.push_back(torch::zeros(part.sizes(), part.options().dtype(type)));
    }
    const auto flat_size = key.numel() + value.numel();
    auto held = packed(key, value);
    std::optional<RingExchange> key_value_gradient_exchange;
    torch::Tensor own_key_value_gradient;
    for (int64_t step = 0; step < plan->world_size; ++step) {
      std::optional<RingExchange> exchange;
      if (step + 1 < plan->world_size) {
        exchange.emplace(*plan, held.flat, static_cast<int>(step));
      }
      // The gradients of the keys and values held now (the source rank's), from this rank's queries.
      auto gradient = key_value_views(torch::zeros({flat_size}, key.options().dtype(type)), key.sizes(), value.sizes());
      const auto source_parts = sequence_parts_of_rank(plan->source_at(step), plan->world_size, plan->layout);
      const auto key_parts = held.key.chunk(part_count, 2);
      const auto value_parts = held.value.chunk(part_count, 2);
      const auto key_gradient_parts = gradient.key.chunk(part_count, 2);
      const auto value_gradient_parts = gradient.value.chunk(part_count, 2);
      for (int64_t a = 0; a < part_count; ++a) {
        for (int64_t b = 0; b < part_count; ++b) {
          const auto pair = pair_of(*plan, own_parts[a], source_parts[b]);
          if (pair == PartPair::Skipped) {
            continue;
          }
          const torch::AutoGradMode enable_grad(true);
          auto part_query = query_parts[a].detach().requires_grad_(true);
          auto part_key = key_parts[b].detach().requires_grad_(true);
          auto part_value = value_parts[b].detach().requires_grad_(true);
          const auto part = attend_part(*plan, part_query, part_key, part_value, pair);
          // context = Σ_p w_p·context_p with w_p = exp(lse_p − lse): ∂/∂context_p = w_p,
          // ∂/∂lse_p = w_p·(context_p − context).
          const auto weight = (part.lse.to(type) - final_lses[a]).exp().unsqueeze(-1);
          const auto context_gradient = (weight * gradient_parts[a]).to(part.context.scalar_type());
          const auto lse_gradient = (weight * gradient_parts[a] * (part.context.to(type) - final_contexts[a])).sum(-1);
          const auto gradients = torch::autograd::grad({part.context, part.lse}, {part_query, part_key, part_value},
                                                       {context_gradient, lse_gradient.to(part.lse.scalar_type())});
          query_gradients[a] += gradients[0].to(type);
          key_gradient_parts[b].add_(gradients[1].to(type));
          value_gradient_parts[b].add_(gradients[2].to(type));
        }
      }
      // Add what the ranks before this one found for the same keys and values, and pass the sum on.
      if (key_value_gradient_exchange) {
        gradient.flat.add_(key_value_gradient_exchange->wait());
      }
      if (plan->world_size > 1) {
        key_value_gradient_exchange.emplace(*plan, gradient.flat, static_cast<int>(plan->world_size + step));
      } else {
        own_key_value_gradient = gradient.flat;
      }
      if (exchange) {
        held = key_value_views(exchange->wait(), key.sizes(), value.sizes());
      }
    }
    if (key_value_gradient_exchange) {
      own_key_value_gradient = key_value_gradient_exchange->wait();  // this rank's keys and values, all the way round
    }
    const auto own = key_value_views(own_key_value_gradient, key.sizes(), value.sizes());
    return {torch::cat(query_gradients, 2).to(query.scalar_type()), own.key.to(key.scalar_type()),
            own.value.to(value.scalar_type()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor ring_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                             const ProcessGroupPtr& group, const RingAttentionOptions& options) {
  TORCH_CHECK(group, "ring_attention: no process group");
  auto plan = c10::make_intrusive<RingPlan>();
  plan->group = group;
  plan->rank = group->getRank();
  plan->world_size = group->getSize();
  plan->causal = options.causal();
  plan->scale = options.scale();
  plan->layout = options.layout();
  check_inputs(query, key, value, *plan);
  return RingAttentionFunction::apply(query, key, value, plan)[0];
}

}  // namespace attention
