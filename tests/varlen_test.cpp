// varlen_attention (sequences of different lengths packed without padding) against PyTorch-computed numbers and
// gradients (tests/data/make_reference.py), against the dense function one sequence at a time and on a padded batch,
// its refusals of malformed cu_seqlens; and determinism: a sequence's result, and a dense batch row's on the tiled
// path, bitwise the same whatever else is in the batch and for any thread count.
#include <attention/attention.h>

#include "test_support.h"

#include <functional>
#include <limits>
#include <vector>

namespace attention {
namespace {

using testing::expect_close;
using testing::forward_and_backward;
using testing::reference;
using testing::reference_leaves;

// Rows [cu[s], cu[s + 1]) of `packed`.
torch::Tensor rows_of(const torch::Tensor& packed, const torch::Tensor& cu, int64_t s) {
  return packed.slice(0, cu[s].item<int64_t>(), cu[s + 1].item<int64_t>());
}

// varlen_attention computed one sequence at a time by the dense scaled_dot_product_attention (bottom-right, grouped
// heads), with the options `options_of(s)` for sequence s: the packed context [Tq_total, H, dv] and lse [Tq_total, H].
AttentionOutput one_sequence_at_a_time(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& cu_q, const torch::Tensor& cu_k,
                                       const std::function<AttentionOptions(int64_t)>& options_of) {
  std::vector<torch::Tensor> contexts, lses;
  for (int64_t s = 0; s + 1 < cu_q.size(0); ++s) {
    const auto heads_first = [](const torch::Tensor& x) { return x.transpose(0, 1).unsqueeze(0); };  // [1, H, T, x]
    const auto out = attention::scaled_dot_product_attention(
        heads_first(rows_of(q, cu_q, s)), heads_first(rows_of(k, cu_k, s)), heads_first(rows_of(v, cu_k, s)),
        AttentionOptions(options_of(s))
            .enable_gqa(true)
            .causal_alignment(CausalAlignment::BottomRight)
            .return_lse(true));
    contexts.push_back(out.context.squeeze(0).transpose(0, 1));  // [Tq, H, dv]
    lses.push_back(out.lse.squeeze(0).transpose(0, 1));          // [Tq, H]
  }
  AttentionOutput packed;
  packed.context = torch::cat(contexts);
  packed.lse = torch::cat(lses);
  return packed;
}

class VarlenTest : public testing::SeededTest {};

TEST_F(VarlenTest, CausalVarlenMatchesPyTorchWithLseAndGradients) {
  // Query lengths [3, 0, 5, 2], key lengths [3, 0, 7, 4]: one empty sequence, keys longer for bottom-right.
  const auto inputs = reference_leaves("varlen", {"q", "k", "v"});
  const auto cu_q = reference("varlen", "cu_seqlens_q", torch::kLong);
  const auto cu_k = reference("varlen", "cu_seqlens_k", torch::kLong);
  for (const auto dtype : {torch::kLong, torch::kInt}) {
    for (const int64_t block_size : {0, 1, 3}) {
      SCOPED_TRACE(std::string(dtype == torch::kLong ? "int64" : "int32") + " cu_seqlens, block_size " +
                   std::to_string(block_size));
      // causal_alignment is ignored: positions are bottom-right in every sequence.
      const auto options =
          AttentionOptions().causal(true).block_size(block_size).causal_alignment(CausalAlignment::TopLeft);
      const auto outcome = forward_and_backward(
          [&] {
            return attention::varlen_attention(inputs[0], inputs[1], inputs[2], cu_q.to(dtype), cu_k.to(dtype), options)
                .context;
          },
          inputs);
      expect_close(outcome.context, reference("varlen", "causal_context"), 1e-10);
      expect_close(outcome.gradients[0], reference("varlen", "grad_q"), 1e-10);
      expect_close(outcome.gradients[1], reference("varlen", "grad_k"), 1e-10);
      expect_close(outcome.gradients[2], reference("varlen", "grad_v"), 1e-10);
      torch::NoGradGuard no_grad;
      const auto out = attention::varlen_attention(inputs[0], inputs[1], inputs[2], cu_q.to(dtype), cu_k.to(dtype),
                                                   AttentionOptions(options).return_lse(true));
      EXPECT_FALSE(out.weights.defined());
      expect_close(out.lse, reference("varlen", "lse"), 1e-10);  // [Tq_total, H]
    }
  }
}

TEST_F(VarlenTest, WindowAlibiAndSoftcapMatchPyTorch) {
  const auto inputs = reference_leaves("varlen", {"q", "k", "v"});
  const auto cu_q = reference("varlen", "cu_seqlens_q", torch::kLong);
  const auto cu_k = reference("varlen", "cu_seqlens_k", torch::kLong);
  const auto options = AttentionOptions().window(2).alibi_slopes(reference("varlen", "slopes")).score_mod(softcap(5));
  for (const int64_t block_size : {0, 1, 3}) {
    SCOPED_TRACE("block_size " + std::to_string(block_size));
    const auto outcome = forward_and_backward(
        [&] {
          return attention::varlen_attention(inputs[0], inputs[1], inputs[2], cu_q, cu_k,
                                             AttentionOptions(options).block_size(block_size))
              .context;
        },
        inputs);
    expect_close(outcome.context, reference("varlen", "window_alibi_softcap_context"), 1e-10);
    expect_close(outcome.gradients[0], reference("varlen", "window_grad_q"), 1e-10);
    expect_close(outcome.gradients[1], reference("varlen", "window_grad_k"), 1e-10);
    expect_close(outcome.gradients[2], reference("varlen", "window_grad_v"), 1e-10);
  }
}

TEST_F(VarlenTest, MaskModSinksAndScoreModApplyPerSequence) {
  const auto q = reference("varlen", "q"), k = reference("varlen", "k"), v = reference("varlen", "v");
  const auto cu_q = reference("varlen", "cu_seqlens_q", torch::kLong);
  const auto cu_k = reference("varlen", "cu_seqlens_k", torch::kLong);
  // ScoreIndex::batch is the sequence, and positions are within it: causal in sequence 2 only.
  const auto causal_in_2 = [](const ScoreIndex& index) {
    return (index.batch != 2).logical_or(index.key <= index.query);
  };
  const auto out = attention::varlen_attention(q, k, v, cu_q, cu_k, AttentionOptions().mask_mod(causal_in_2));
  const auto expected =
      one_sequence_at_a_time(q, k, v, cu_q, cu_k, [](int64_t s) { return AttentionOptions().causal(s == 2); });
  expect_close(out.context, expected.context, 1e-12);
  // The same causal mask as a mask_mod everywhere gives the reference.
  const auto causal_by_positions = [](const ScoreIndex& index) { return index.key <= index.query; };
  expect_close(
      attention::varlen_attention(q, k, v, cu_q, cu_k, AttentionOptions().mask_mod(causal_by_positions)).context,
      reference("varlen", "causal_context"), 1e-10);

  const auto sinks = torch::randn({4}, torch::kDouble);
  const auto bias = [](const torch::Tensor& scores, const ScoreIndex& index) {
    return scores + (index.query - index.key).to(scores.scalar_type()) * 0.1 + index.head.to(scores.scalar_type());
  };
  const auto options = AttentionOptions().causal(true).sinks(sinks).score_mod(bias).scale(0.3);
  const auto with_sinks = attention::varlen_attention(q, k, v, cu_q, cu_k, AttentionOptions(options).return_lse(true));
  const auto expected_sinks = one_sequence_at_a_time(q, k, v, cu_q, cu_k, [&](int64_t) { return options; });
  expect_close(with_sinks.context, expected_sinks.context, 1e-12);
  expect_close(with_sinks.lse, expected_sinks.lse, 1e-12);
}

TEST_F(VarlenTest, EmptySequencesAndSequencesWithoutKeys) {
  const auto q = torch::randn({2, 4, 4}, torch::kDouble), v = torch::randn({0, 2, 3}, torch::kDouble);
  const auto k = torch::randn({0, 2, 4}, torch::kDouble);
  // One sequence of 2 queries and no keys: a zero context, -inf lse.
  const auto out = attention::varlen_attention(q, k, v, torch::tensor({0, 2}), torch::tensor({0, 0}),
                                               AttentionOptions().return_lse(true));
  EXPECT_EQ(out.context.sizes(), (std::vector<int64_t>{2, 4, 3}));
  EXPECT_TRUE(out.context.eq(0).all().item<bool>()) << out.context;
  EXPECT_TRUE(out.lse.eq(-std::numeric_limits<double>::infinity()).all().item<bool>()) << out.lse;
  // No queries at all.
  const auto none = attention::varlen_attention(torch::randn({0, 4, 4}, torch::kDouble), k, v, torch::tensor({0, 0, 0}),
                                                torch::tensor({0, 0, 0}), AttentionOptions().causal(true));
  EXPECT_EQ(none.context.sizes(), (std::vector<int64_t>{0, 4, 3}));
  // Empty sequences between others change nothing.
  const auto q2 = torch::randn({7, 4, 4}, torch::kDouble), k2 = torch::randn({7, 2, 4}, torch::kDouble);
  const auto v2 = torch::randn({7, 2, 3}, torch::kDouble);
  const auto with_empty =
      attention::varlen_attention(q2, k2, v2, torch::tensor({0, 0, 3, 3, 7, 7}), torch::tensor({0, 0, 3, 3, 7, 7}),
                                  AttentionOptions().causal(true));
  const auto without = attention::varlen_attention(q2, k2, v2, torch::tensor({0, 3, 7}), torch::tensor({0, 3, 7}),
                                                   AttentionOptions().causal(true));
  EXPECT_TRUE(torch::equal(with_empty.context, without.context));
}

TEST_F(VarlenTest, EqualLengthsEqualThePaddedBatchWithGradientsThroughContextAndLse) {
  constexpr int64_t N = 3, H = 4, Hkv = 2, T = 6;
  const auto q = torch::randn({N, H, T, 8}, torch::kDouble).requires_grad_();
  const auto k = torch::randn({N, Hkv, T, 8}, torch::kDouble).requires_grad_();
  const auto v = torch::randn({N, Hkv, T, 5}, torch::kDouble).requires_grad_();
  const auto options = AttentionOptions().causal(true).return_lse(true);
  const auto pack = [](const torch::Tensor& x) { return x.transpose(1, 2).reshape({-1, x.size(1), x.size(3)}); };
  const auto cu = torch::arange(0, (N + 1) * T, T);  // [0, 6, 12, 18]
  // Context and lse packed [N·T, H, dv] and [N·T, H], and the gradients of a loss of both.
  const auto run = [&](bool varlen) {
    for (const auto& input : {q, k, v}) {
      input.mutable_grad() = torch::Tensor();
    }
    auto out = varlen ? attention::varlen_attention(pack(q), pack(k), pack(v), cu, cu, options)
                      : attention::scaled_dot_product_attention(q, k, v, AttentionOptions(options).enable_gqa(true));
    if (!varlen) {
      out.context = pack(out.context);
      out.lse = out.lse.transpose(1, 2).reshape({-1, H});
    }
    ((out.context * testing::weighting_like(out.context)).sum() + (out.lse * testing::weighting_like(out.lse)).sum())
        .backward();
    return std::vector<torch::Tensor>{out.context.detach(), out.lse.detach(), q.grad().clone(), k.grad().clone(),
                                      v.grad().clone()};
  };
  const auto dense = run(false), packed = run(true);
  for (size_t i = 0; i < dense.size(); ++i) {
    SCOPED_TRACE(i);
    expect_close(packed[i], dense[i], 1e-12);
  }
}

TEST_F(VarlenTest, MalformedCuSeqlensAndOptionsAreRefused) {
  const auto q = torch::randn({5, 2, 4}), k = torch::randn({5, 2, 4}), v = torch::randn({5, 2, 3});
  const auto good = torch::tensor({0, 2, 5});
  const auto varlen = [&](const torch::Tensor& cu_q, const torch::Tensor& cu_k, const AttentionOptions& options = {}) {
    return attention::varlen_attention(q, k, v, cu_q, cu_k, options);
  };
  EXPECT_NO_THROW(varlen(good, good));
  for (const auto& bad : {torch::tensor({1, 2, 5}),                                // not starting at 0
                          torch::tensor({0, 3, 2, 5}),                             // decreasing
                          torch::tensor({0, 2, 4}),                                // wrong total
                          torch::tensor({0, 2, 6}),                                // past the end
                          torch::tensor({0.0, 2.0, 5.0}),                          // floating
                          torch::tensor({0, 2, 5}).view({1, 3}),                   // 2-d
                          torch::tensor(std::vector<int64_t>{}, torch::kLong)}) {  // no sequence boundary at all
    SCOPED_TRACE(::testing::PrintToString(bad));
    EXPECT_THROW_WITH(varlen(bad, good), "cu_seqlens");
    EXPECT_THROW_WITH(varlen(good, bad), "cu_seqlens");
  }
  EXPECT_THROW_WITH(varlen(good, torch::tensor({0, 5})), "cu_seqlens");  // different numbers of sequences
  // Shapes: packed 3-d tensors, a divisor of the query heads.
  EXPECT_THROW(attention::varlen_attention(q.unsqueeze(0), k, v, good, good), c10::Error);
  EXPECT_THROW(attention::varlen_attention(torch::randn({5, 3, 4}), k, v, good, good), c10::Error);
  EXPECT_THROW(attention::varlen_attention(q, k, torch::randn({4, 2, 3}), good, good), c10::Error);
  // No dense mask, block mask or dropout here.
  EXPECT_THROW(varlen(good, good, AttentionOptions().mask(torch::ones({5, 5}, torch::kBool))), c10::Error);
  EXPECT_THROW(varlen(good, good,
                      AttentionOptions().block_mask(create_block_mask(
                          [](const ScoreIndex& index) { return index.key <= index.query; }, 1, 1, 5, 5, 2))),
               c10::Error);
  EXPECT_THROW(varlen(good, good, AttentionOptions().dropout(0.5).training(true)), c10::Error);
}

// Bitwise reproducibility: no result depends on what else is in the batch or on the number of threads.
class DeterminismTest : public testing::SeededTest {};

TEST_F(DeterminismTest, AVarlenSequenceIsBitwiseTheSameAloneOrPackedAndForAnyThreadCount) {
  // Lengths spanning several default tiles, and some not: 130, 700 and 75 queries; 130, 900 and 75 keys.
  const auto cu_q = torch::tensor({0, 130, 830, 905}), cu_k = torch::tensor({0, 130, 1030, 1105});
  const auto q = torch::randn({905, 4, 16}), k = torch::randn({1105, 2, 16}), v = torch::randn({1105, 2, 8});
  const auto options = AttentionOptions().causal(true).window(600).return_lse(true);
  const auto packed = attention::varlen_attention(q, k, v, cu_q, cu_k, options);
  const auto alone = attention::varlen_attention(rows_of(q, cu_q, 1), rows_of(k, cu_k, 1), rows_of(v, cu_k, 1),
                                                 torch::tensor({0, 700}), torch::tensor({0, 900}), options);
  EXPECT_TRUE(torch::equal(rows_of(packed.context, cu_q, 1), alone.context));
  EXPECT_TRUE(torch::equal(rows_of(packed.lse, cu_q, 1), alone.lse));
  // And with the other sequences in the other order.
  const auto reordered = attention::varlen_attention(torch::cat({rows_of(q, cu_q, 2), rows_of(q, cu_q, 1)}),
                                                     torch::cat({rows_of(k, cu_k, 2), rows_of(k, cu_k, 1)}),
                                                     torch::cat({rows_of(v, cu_k, 2), rows_of(v, cu_k, 1)}),
                                                     torch::tensor({0, 75, 775}), torch::tensor({0, 75, 975}), options);
  EXPECT_TRUE(torch::equal(reordered.context.slice(0, 75), alone.context));

  const int threads = torch::get_num_threads();
  attention::set_num_threads(1);
  const auto one_thread = attention::varlen_attention(q, k, v, cu_q, cu_k, options);
  attention::set_num_threads(2);
  const auto two_threads = attention::varlen_attention(q, k, v, cu_q, cu_k, options);
  attention::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread.context, two_threads.context));
  EXPECT_TRUE(torch::equal(one_thread.lse, two_threads.lse));
  EXPECT_TRUE(torch::equal(one_thread.context, packed.context));
}

TEST_F(DeterminismTest, ADenseBatchRowIsBitwiseTheSameAloneOrInABatchOnTheTiledPath) {
  const auto q = torch::randn({3, 2, 700, 16}), k = torch::randn({3, 2, 700, 16}), v = torch::randn({3, 2, 700, 8});
  for (const bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "not causal");
    const auto options = AttentionOptions().path(AttentionPath::Tiled).need_weights(false).causal(causal);
    const auto batch = attention::scaled_dot_product_attention(q, k, v, options).context;
    const auto alone =
        attention::scaled_dot_product_attention(q.slice(0, 0, 1), k.slice(0, 0, 1), v.slice(0, 0, 1), options).context;
    EXPECT_TRUE(torch::equal(batch.slice(0, 0, 1), alone));
  }
}

}  // namespace
}  // namespace attention
