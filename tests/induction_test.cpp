// The induction task of `attention train --task induction`: the generated sequences, the metrics on hand-built
// attention, the model, a short run in which two layers learn to copy and one cannot, metrics.json, checkpoints
// and resume.
#include "induction/checkpoint.h"
#include "induction/data.h"
#include "induction/metrics.h"
#include "induction/model.h"
#include "induction/trainer.h"
#include "relations/checkpoint.h"
#include "relations/trainer.h"
#include "training/task.h"

#include "test_support.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

/// A config small enough for runs of a fraction of a second.
InductionConfig small_config() {
  InductionConfig config;
  config.vocabulary = 16;
  config.length = 24;
  config.min_segment = 4;
  config.max_segment = 10;
  config.dim = 32;
  config.heads = 2;
  config.epochs = 8;
  config.steps_per_epoch = 50;
  config.batch_size = 16;
  config.test_sequences = 128;
  return config;
}

/// The default model on shorter sequences (32 tokens, segments of 8 to 16) for 500 steps: the cheapest run found in
/// which two layers learn to copy (about 10 s for both models on one core of a shared 2-core machine).
InductionConfig learning_config() {
  InductionConfig config;
  config.length = 32;
  config.max_segment = 16;
  config.epochs = 10;
  config.test_sequences = 128;
  return config;
}

/// The rows of a [B, T] tensor as vectors.
std::set<std::vector<int64_t>> rows_of(const torch::Tensor& tokens) {
  std::set<std::vector<int64_t>> rows;
  for (int64_t b = 0; b < tokens.size(0); ++b) {
    const auto row = tokens[b].contiguous();
    rows.emplace(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return rows;
}

/// The keys of a JSON object.
std::set<std::string> keys(const nlohmann::json& object) {
  std::set<std::string> names;
  for (const auto& item : object.items()) {
    names.insert(item.key());
  }
  return names;
}

class InductionTest : public testing::ScratchFolderTest {
 protected:
  std::optional<InductionRun> train_into(const std::string& name, const InductionConfig& config, bool resume = false,
                                         const InductionCallbacks& callbacks = {},
                                         const std::atomic<bool>* stop = nullptr) {
    return train_induction(models_for(config), path(name), resume, stop ? *stop : no_stop_, callbacks);
  }

  /// JSON of `metrics` without the wall-clock times.
  static nlohmann::json timeless(const InductionMetrics& metrics) {
    nlohmann::json json = metrics;
    json.erase("seconds");
    json["baseline"].erase("seconds");
    return json;
  }

  std::atomic<bool> no_stop_{false};
};

TEST_F(InductionTest, SequencesRepeatOneSegmentOfRandomLengthAndPlace) {
  const InductionConfig config;  // 40 tokens of 64, segments of 8 to 20
  const auto sequences = generate_sequences(config, 300, 7);
  ASSERT_EQ(sequences.tokens.sizes(), (std::vector<int64_t>{300, 40}));
  EXPECT_GE(sequences.tokens.min().item<int64_t>(), 0);
  EXPECT_LT(sequences.tokens.max().item<int64_t>(), 64);
  std::set<int64_t> lengths, firsts;
  for (int64_t b = 0; b < 300; ++b) {
    const auto r = sequences.repeat[b].item<int64_t>(), L = sequences.segment[b].item<int64_t>();
    ASSERT_GE(r - L, 0);
    ASSERT_LE(r + L, 40);
    EXPECT_TRUE(torch::equal(sequences.tokens[b].slice(0, r, r + L), sequences.tokens[b].slice(0, r - L, r))) << b;
    lengths.insert(L);
    firsts.insert(r - L);
  }
  EXPECT_EQ(*lengths.begin(), 8);
  EXPECT_EQ(*lengths.rbegin(), 20);
  EXPECT_EQ(lengths.size(), 13u);  // every length of 8..20
  EXPECT_EQ(*firsts.begin(), 0);
  EXPECT_GT(firsts.size(), 20u);  // anywhere the two copies fit

  const auto again = generate_sequences(config, 300, 7), other = generate_sequences(config, 300, 8);
  EXPECT_TRUE(torch::equal(again.tokens, sequences.tokens));
  EXPECT_TRUE(torch::equal(again.segment, sequences.segment));
  EXPECT_FALSE(torch::equal(other.tokens, sequences.tokens));
}

TEST_F(InductionTest, TrainingBatchesAreFreshAndHeldOutSequencesAreNotAmongThem) {
  auto config = small_config();
  config.test_sequences = 64;
  const auto held_out = rows_of(held_out_sequences(config).tokens);
  EXPECT_EQ(held_out.size(), 64u);
  std::set<std::vector<int64_t>> trained;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    for (int64_t step = 0; step < 5; ++step) {
      const auto batch = training_batch(config, epoch, step);
      EXPECT_TRUE(torch::equal(batch.tokens, training_batch(config, epoch, step).tokens));  // the same on resume
      for (const auto& row : rows_of(batch.tokens)) {
        EXPECT_EQ(held_out.count(row), 0u);
        trained.insert(row);
      }
    }
  }
  EXPECT_EQ(trained.size(), 3u * 5u * 16u);  // every sequence new
  config.seed = 2;
  EXPECT_FALSE(torch::equal(held_out_sequences(config).tokens.slice(0, 0, 64),
                            held_out_sequences(small_config()).tokens.slice(0, 0, 64)));
}

TEST_F(InductionTest, SizesThatCannotHoldTwoCopiesThrow) {
  auto config = small_config();
  config.max_segment = 13;  // 26 > 24 tokens
  EXPECT_THROW_WITH(generate_sequences(config, 1, 1),
                    "a sequence of 24 tokens cannot hold two copies of a segment of 13");
  config = small_config();
  config.min_segment = 1;
  EXPECT_THROW_WITH(generate_sequences(config, 1, 1), "2 <= min_segment <= max_segment, got 1 and 10");
  config.min_segment = 11;
  EXPECT_THROW_WITH(generate_sequences(config, 1, 1), "got 11 and 10");
  config = small_config();
  config.vocabulary = 1;
  EXPECT_THROW_WITH(generate_sequences(config, 1, 1), "at least 2 tokens, got 1");
  EXPECT_THROW_WITH(generate_sequences(small_config(), 0, 1), "at least one sequence, got 0");
}

/// One sequence of 10 tokens whose segment of 3 starts at 2 and again at 5: 9 8 [1 2 3] [1 2 3] 7 6.
Sequences hand_built() {
  return {torch::tensor({{9, 8, 1, 2, 3, 1, 2, 3, 7, 6}}, torch::kLong), torch::tensor({5}, torch::kLong),
          torch::tensor({3}, torch::kLong)};
}

TEST_F(InductionTest, RepeatedPredictionsAreThoseOfTheCopyAfterItsFirstToken) {
  // Predictions at 5 and 6 (of tokens 6 and 7, the 2 and 3 of the copy); the copy's first token (5) is not one.
  const auto expected = torch::tensor({0, 0, 0, 0, 0, 1, 1, 0, 0}, torch::kLong).to(torch::kBool).unsqueeze(0);
  EXPECT_TRUE(torch::equal(repeated_predictions(hand_built()), expected));
}

TEST_F(InductionTest, ExactPatternsScoreOneAndUniformAttentionItsShare) {
  const auto sequences = hand_built();
  constexpr int64_t T = 10, L = 3;
  auto weights = torch::zeros({1, 3, T, T}, torch::kDouble);
  for (int64_t t = 0; t < T; ++t) {
    weights[0][0][t][t >= 5 && t < 8 ? t - L + 1 : t] = 1;  // head 1: an induction head on the copy
    weights[0][1][t][std::max<int64_t>(t - 1, 0)] = 1;      // head 2: a previous-token head
    weights[0][2][t].slice(0, 0, t + 1).fill_(1.0 / static_cast<double>(t + 1));  // head 3: uniform, causal
  }
  const auto induction = induction_scores(weights, sequences);
  EXPECT_DOUBLE_EQ(induction[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(induction[1].item<double>(), 0.0);                                // t - 1 is never t - 2 there
  EXPECT_DOUBLE_EQ(induction[2].item<double>(), (1.0 / 6 + 1.0 / 7 + 1.0 / 8) / 3);  // queries 5, 6, 7
  const auto previous = previous_token_scores(weights);
  EXPECT_DOUBLE_EQ(previous[1].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(previous[0].item<double>(), 0.0);
  double uniform = 0;
  for (int t = 1; t < T; ++t) {
    uniform += 1.0 / (t + 1);
  }
  EXPECT_NEAR(previous[2].item<double>(), uniform / 9, 1e-12);
}

TEST_F(InductionTest, SplitLossesAverageTheirOwnPredictions) {
  const auto sequences = hand_built();
  // Uniform logits: log(16) nats everywhere; then a sure right answer at the repeated predictions only.
  auto logits = torch::zeros({1, 10, 16});
  auto losses = split_losses(logits, sequences);
  EXPECT_NEAR(losses.repeated_half, std::log(16.0), 1e-6);
  EXPECT_NEAR(losses.other, std::log(16.0), 1e-6);
  logits[0][5][2] = 100;  // predicts token 6, a 2
  logits[0][6][3] = 100;  // predicts token 7, a 3
  losses = split_losses(logits, sequences);
  EXPECT_NEAR(losses.repeated_half, 0.0, 1e-6);
  EXPECT_NEAR(losses.other, std::log(16.0), 1e-6);
}

TEST_F(InductionTest, PhaseChangeIsTheFirstEvaluationBelowHalfTheStart) {
  std::vector<EvaluationRecord> history = {{0, 0, 4.0}, {1, 50, 3.0}, {2, 100, 2.0}, {3, 150, 1.9}, {4, 200, 1.0}};
  EXPECT_EQ(phase_change(history).step, std::optional<int64_t>(150));  // 2.0 is not below half of 4.0
  history.resize(3);
  EXPECT_FALSE(phase_change(history).step);
  EXPECT_TRUE(nlohmann::json(phase_change(history)).is_null());
  EXPECT_EQ(nlohmann::json(MaybeStep{150}), 150);
  EXPECT_EQ(nlohmann::json(150).get<MaybeStep>().step, std::optional<int64_t>(150));
  EXPECT_FALSE(nlohmann::json(nullptr).get<MaybeStep>().step);
}

TEST_F(InductionTest, ModelGivesCausalWeightsOfEveryLayerAndTheSameLogitsWithoutThem) {
  auto config = small_config();
  InductionModel model(config, 2), baseline(config, 1);
  model->eval();
  EXPECT_EQ(model->layer_count(), 2);
  EXPECT_TRUE(torch::equal(model->embedding->weight, baseline->embedding->weight));  // one seed, one start
  torch::NoGradGuard no_grad;
  const auto tokens = held_out_sequences(config).tokens.slice(0, 0, 3);
  const auto out = model->forward_with_weights(tokens);
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 24, 16}));
  ASSERT_EQ(out.weights.sizes(), (std::vector<int64_t>{2, 3, 2, 24, 24}));
  testing::expect_close(out.weights.sum(-1), torch::ones({2, 3, 2, 24}), 1e-5);
  EXPECT_EQ(out.weights.triu(1).abs().max().item<float>(), 0.0f);  // no query sees a later key
  testing::expect_close(model(tokens), out.logits, 1e-5);
  EXPECT_EQ(layers_name(1), "1 layer");
  EXPECT_EQ(layers_name(2), "2 layers");

  config.mlp = true;
  InductionModel with_mlp(config, 2);
  EXPECT_EQ(with_mlp->mlp.size(), 2u);
  EXPECT_EQ(with_mlp(tokens).sizes(), out.logits.sizes());
  EXPECT_GT(with_mlp->parameters().size(), model->parameters().size());

  config = small_config();
  config.heads = 3;
  EXPECT_THROW_WITH(InductionModel(config, 2), "must be divisible");
  config.dim = 12;
  config.heads = 4;  // heads of width 3: rotary positions turn pairs
  EXPECT_THROW_WITH(InductionModel(config, 2), "rope needs an even head width, got 3");
}

TEST_F(InductionTest, TwoLayersLearnToCopyAndOneLayerCannot) {
  const auto run = train_into("run", learning_config());
  ASSERT_TRUE(run);
  const auto& metrics = run->metrics;
  const auto& baseline = metrics.baseline;
  EXPECT_LT(metrics.repeated_half_loss, 1.0);
  EXPECT_GT(metrics.induction_score, 0.5);
  EXPECT_GT(metrics.previous_token_score, 0.4);
  EXPECT_GT(baseline.repeated_half_loss, 2.0);
  EXPECT_LT(baseline.induction_score, 0.3);
  EXPECT_TRUE(metrics.phase_change_step.step);
  EXPECT_FALSE(baseline.phase_change_step.step);
  EXPECT_EQ(metrics.steps, 500);
  EXPECT_EQ(baseline.steps, 500);
  EXPECT_EQ(metrics.history.size(), 11u);  // before training, then every epoch
  EXPECT_EQ(metrics.history.back().step, 500);
  EXPECT_EQ(metrics.history.back().repeated_half_loss, metrics.repeated_half_loss);

  // metrics.json: the keys users' scripts read, and the values train_induction() returned.
  const auto written = nlohmann::json::parse(std::ifstream(path("run/metrics.json")));
  const std::set<std::string> model_keys = {"repeated_half_loss",
                                            "other_loss",
                                            "induction_score",
                                            "previous_token_score",
                                            "per_head",
                                            "phase_change_step",
                                            "steps",
                                            "seconds",
                                            "layers",
                                            "history"};
  auto top = model_keys;
  top.insert({"baseline", "model", "threads", "processes"});
  EXPECT_EQ(keys(written), top);
  EXPECT_EQ(keys(written.at("baseline")), model_keys);
  EXPECT_EQ(keys(written.at("per_head").at(0)),
            (std::set<std::string>{"layer", "head", "induction", "previous_token"}));
  EXPECT_EQ(written.at("per_head").size(), 8u);  // 2 layers x 4 heads
  EXPECT_EQ(written.at("baseline").at("per_head").size(), 4u);
  EXPECT_EQ(written.at("baseline").at("layers"), 1);
  EXPECT_EQ(written.at("processes"), 1);
  EXPECT_TRUE(written.at("baseline").at("phase_change_step").is_null());
  EXPECT_EQ(written, nlohmann::json(metrics));
  double best = 0;
  for (const auto& head : metrics.per_head) {
    if (head.layer == 2) {
      best = std::max(best, head.induction);
    }
  }
  EXPECT_EQ(best, metrics.induction_score);
}

TEST_F(InductionTest, ResumeAfterStopsInBothStagesReachesTheSameWeightsAndMetrics) {
  auto config = small_config();
  config.epochs = 3;
  config.steps_per_epoch = 10;
  const auto straight = train_into("straight", config);
  ASSERT_TRUE(straight);

  // Stop after the model's second epoch, then in the baseline's first, as SIGINT does; resume each time.
  std::atomic<bool> stop{false};
  std::set<std::pair<bool, int64_t>> stopped;  // (baseline, epoch): each stop once, not again on resuming there
  InductionCallbacks callbacks;
  callbacks.on_evaluation = [&](const InductionReport& report, InductionModel&) {
    const std::pair<bool, int64_t> at{report.baseline, report.record.epoch};
    if (at.second == (report.baseline ? 1 : 2) && stopped.insert(at).second) {
      stop.store(true);
    }
  };
  EXPECT_FALSE(train_into("resumed", config, false, callbacks, &stop));
  EXPECT_FALSE(fs::exists(path("resumed/metrics.json")));
  stop.store(false);
  EXPECT_FALSE(train_into("resumed", config, true, callbacks, &stop));  // now in the baseline's training
  const auto resumed = train_into("resumed", config, true);
  ASSERT_TRUE(resumed);

  EXPECT_EQ(timeless(resumed->metrics), timeless(straight->metrics));
  auto a = load_induction_models(path("straight")), b = load_induction_models(path("resumed"));
  for (const auto& [one, other] : {std::pair{a.model, b.model}, std::pair{a.baseline, b.baseline}}) {
    const auto parameters = other->named_parameters();
    for (const auto& parameter : one->named_parameters()) {
      EXPECT_TRUE(torch::equal(parameter.value(), parameters[parameter.key()])) << parameter.key();
    }
  }
  EXPECT_EQ(read_induction_config(path("resumed")).epochs, 3);
}

TEST_F(InductionTest, SameSeedGivesIdenticalMetricsAndAnotherSeedOthers) {
  auto config = small_config();
  config.epochs = 2;
  config.steps_per_epoch = 5;
  const auto first = train_into("a", config), second = train_into("b", config);
  config.seed = 2;
  const auto other = train_into("c", config);
  ASSERT_TRUE(first && second && other);
  EXPECT_EQ(timeless(first->metrics), timeless(second->metrics));
  EXPECT_NE(first->metrics.repeated_half_loss, other->metrics.repeated_half_loss);
}

TEST_F(InductionTest, CheckpointsOfTheOtherTaskAreRefusedByName) {
  auto config = small_config();
  config.epochs = 1;
  config.steps_per_epoch = 2;
  ASSERT_TRUE(train_into("induction", config));
  EXPECT_THROW_WITH(load_model(path("induction")), "a run of --task induction, not of --task relations");
  EXPECT_THROW_WITH(read_checkpoint_config(path("induction")), "a run of --task induction, not of --task relations");

  const auto split = generate_task(1, 40, 10);
  TrainConfig relations;
  relations.dim = 16;
  relations.epochs = 1;
  ASSERT_TRUE(train(model_for(relations, split), split, path("relations"), false, no_stop_));
  EXPECT_THROW_WITH(load_induction_models(path("relations")), "a run of --task relations, not of --task induction");
  EXPECT_THROW_WITH(read_induction_config(path("relations")), "a run of --task relations");
}

TEST_F(InductionTest, TasksTravelByTheirNames) {
  EXPECT_EQ(task_names(), (std::vector<std::string>{"relations", "induction"}));
  EXPECT_EQ(task_from_name("induction"), Task::Induction);
  EXPECT_EQ(nlohmann::json(Task::Relations), "relations");
  EXPECT_THROW_WITH(task_from_name("copying"), "unknown task 'copying' (expected relations or induction)");
}

}  // namespace
}  // namespace attention::app
