// The training task of `attention train`: data parsing, the generator, learning, metrics, checkpoints and resume.
#include "relations/checkpoint.h"
#include "relations/config.h"
#include "relations/data.h"
#include "relations/metrics.h"
#include "relations/trainer.h"

#include "test_support.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

class TrainTest : public testing::ScratchFolderTest {
 protected:
  std::string write_file(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  static TrainConfig small_config() {
    TrainConfig config;
    config.dim = 64;
    config.epochs = 12;
    return config;
  }

  /// Trains `config` on `split` into the scratch folder `name`, as `attention train` does.
  std::optional<TrainedRun> train_into(const std::string& name, const TrainConfig& config, const Split& split,
                                       bool resume = false, const TrainCallbacks& callbacks = {}) {
    return train(model_for(config, split), split, path(name), resume, no_stop_, callbacks);
  }

  /// The keys of a JSON object.
  static std::set<std::string> keys(const nlohmann::json& object) {
    std::set<std::string> names;
    for (const auto& item : object.items()) {
      names.insert(item.key());
    }
    return names;
  }

  /// JSON of `metrics` without the wall-clock time.
  static nlohmann::json timeless(const Metrics& metrics) {
    nlohmann::json json = metrics;
    json.erase("seconds");
    return json;
  }

  std::atomic<bool> no_stop_{false};
};

TEST_F(TrainTest, ReadsGoodLinesSkippingBlanksAndComments) {
  const auto path = write_file("good.tsv",
                               "# sentence\tquery\ttarget\n"
                               "\n"
                               "The cat sat on the mat, because it is warm.\twarm\tmat\n"
                               "the dog saw the dog\tsaw\tdog\r\n");
  const auto examples = read_examples(path);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].words,
            (std::vector<std::string>{"the", "cat", "sat", "on", "the", "mat", "because", "it", "is", "warm"}));
  EXPECT_EQ(examples[0].query, 9);
  EXPECT_EQ(examples[0].target, 5);
  EXPECT_EQ(examples[1].target, 1);  // the first occurrence
}

TEST_F(TrainTest, BadLinesNameTheFileAndLine) {
  const auto expect_error = [&](const std::string& text, const std::string& fragment) {
    const auto path = write_file("bad.tsv", text);
    EXPECT_THROW_WITH(read_examples(path), fragment);
  };
  expect_error("a b c\ta\tb\nonly two\tfields\n", "bad.tsv:2: expected 3 tab-separated fields");
  expect_error("a b c\ta\tb\tc\n", "bad.tsv:1: expected 3 tab-separated fields (sentence, query, target), found 4");
  expect_error("# header\na b c\tz\tb\n", "bad.tsv:2: query 'z' is not a word of the sentence");
  expect_error("a b c\ta\tz\n", "bad.tsv:1: target 'z' is not a word of the sentence");
  expect_error("a b c\ta\ta\n", "target 'a' is not a word of the sentence (other than the query)");
  expect_error("a b c\ta b\tc\n", "query and target must be single words");
  expect_error("# nothing\n\n", "no examples");
  EXPECT_THROW_WITH(read_examples(path("missing.tsv")), "missing.tsv: no such data file");
  EXPECT_THROW_WITH(read_examples(dir_.string()), dir_.string() + ": a folder, not a data file");
}

TEST_F(TrainTest, GeneratorIsDeterministicWithDisjointSplits) {
  const auto first = generate_task(5), again = generate_task(5), other = generate_task(6);
  ASSERT_EQ(first.train.size(), 480u);
  ASSERT_EQ(first.test.size(), 120u);
  const auto sentences = [](const std::vector<Example>& examples) {
    std::set<std::string> all;
    for (const auto& example : examples) {
      std::string text;
      for (const auto& word : example.words) {
        text += word + " ";
      }
      all.insert(text);
    }
    return all;
  };
  EXPECT_EQ(sentences(first.train), sentences(again.train));
  EXPECT_NE(sentences(first.train), sentences(other.train));
  const auto train = sentences(first.train), test = sentences(first.test);
  EXPECT_EQ(train.size(), first.train.size());  // no repeated sentence
  for (const auto& sentence : test) {
    EXPECT_EQ(train.count(sentence), 0u) << sentence;
  }
  std::set<std::string> relations;
  for (const auto& example : first.train) {
    relations.insert(example.relation);
    EXPECT_NE(example.query, example.target);
  }
  EXPECT_EQ(relations, (std::set<std::string>{"property", "pronoun", "verb"}));
  Vocabulary vocabulary;
  vocabulary.add(first.train);
  for (const auto& example : first.test) {  // shared vocabulary
    for (const auto& word : example.words) {
      EXPECT_NE(vocabulary.id(word), Vocabulary::kUnknown) << word;
    }
  }
}

TEST_F(TrainTest, ModelKindsTravelByTheirNames) {
  EXPECT_EQ(model_kind_names(), (std::vector<std::string>{"simple", "scaled", "multihead"}));
  for (const auto kind : {ModelKind::Simple, ModelKind::Scaled, ModelKind::MultiHead}) {
    EXPECT_EQ(model_kind_from_name(model_kind_name(kind)), kind);
  }
  TrainConfig config;
  config.model = ModelKind::MultiHead;
  const nlohmann::json json = config;  // as checkpoints and metrics.json store it
  EXPECT_EQ(json.at("model"), "multihead");
  EXPECT_EQ(keys(json), (std::set<std::string>{"batch_size", "data", "dim", "epochs", "heads", "lr", "model", "seed",
                                               "test_data", "train_embeddings"}));
  EXPECT_EQ(json.get<TrainConfig>().model, ModelKind::MultiHead);
  auto unknown = json;
  unknown["model"] = "big";
  EXPECT_THROW_WITH(unknown.get<TrainConfig>(), "unknown model 'big' (expected simple, scaled or multihead)");
}

TEST_F(TrainTest, TrainedAttentionBeatsTheSimilarityBaselineByAWideMargin) {
  const auto split = generate_task(1, 240, 60);
  const auto run = train_into("run", small_config(), split);
  ASSERT_TRUE(run);
  const auto& metrics = run->metrics;
  EXPECT_GT(metrics.test_accuracy, 0.85);
  EXPECT_LT(metrics.baseline.test_accuracy, 0.4);
  EXPECT_GT(metrics.attention_on_target, metrics.baseline.attention_on_target + 0.4);
  EXPECT_EQ(metrics.epochs, 12);
  EXPECT_EQ(metrics.train_examples, 240);
  EXPECT_EQ(metrics.test_examples, 60);
  ASSERT_EQ(metrics.history.size(), 12u);
  EXPECT_EQ(metrics.history.back().epoch, 12);
  EXPECT_EQ(metrics.history.back().test_accuracy, metrics.test_accuracy);
  EXPECT_FALSE(fs::exists(path("run/checkpoint.pt.tmp")));

  // metrics.json: the keys users' scripts read, and the values train() returned.
  const auto written = nlohmann::json::parse(std::ifstream(path("run/metrics.json")));
  EXPECT_EQ(keys(written), (std::set<std::string>{"attention_on_target", "baseline", "epochs", "history", "model",
                                                  "seconds", "seed", "test_accuracy", "test_examples", "threads",
                                                  "processes", "train_accuracy", "train_examples"}));
  EXPECT_EQ(keys(written.at("baseline")),
            (std::set<std::string>{"attention_on_target", "model", "test_accuracy", "train_accuracy"}));
  EXPECT_EQ(keys(written.at("history").at(0)),
            (std::set<std::string>{"epoch", "loss", "test_accuracy", "train_accuracy"}));
  EXPECT_EQ(written.at("baseline").at("model"), "simple");
  EXPECT_EQ(written.at("model").at("model"), "scaled");
  EXPECT_EQ(written.at("processes"), 1);
  EXPECT_EQ(written, nlohmann::json(metrics));
}

TEST_F(TrainTest, CheckpointRoundTripPredictsTheSame) {
  const auto split = generate_task(1, 120, 30);
  auto config = small_config();
  config.epochs = 3;
  const auto run = train_into("run", config, split);
  ASSERT_TRUE(run);
  auto loaded = load_model(path("run"));
  EXPECT_EQ(read_checkpoint_config(path("run")).dim, 64);
  Vocabulary vocabulary;
  vocabulary.add(split.train);
  EXPECT_EQ(loaded->vocabulary.words(), vocabulary.words());
  const auto& example = split.test.front();
  const auto weights = loaded->query_attention(example.words, example.query);
  auto trained = run->model;
  testing::expect_close(weights, trained->query_attention(example.words, example.query), 0);
  EXPECT_NEAR(weights.sum().item<double>(), 1.0, 1e-5);
  EXPECT_EQ(weights[example.query].item<float>(), 0.0f);  // never its own position
  auto unknown = example.words;
  unknown.push_back("zyzzyva");
  EXPECT_EQ(loaded->query_attention(unknown, example.query).size(0), static_cast<int64_t>(unknown.size()));
}

TEST_F(TrainTest, ResumeAfterAStopReachesTheSameWeightsAndMetrics) {
  const auto split = generate_task(2, 120, 30);
  auto config = small_config();
  config.epochs = 4;
  const auto straight = train_into("straight", config, split);
  ASSERT_TRUE(straight);

  // Stop after the second epoch, as SIGINT does, then resume.
  std::atomic<bool> stop{false};
  TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochReport& report, RelationModel&) {
    if (report.epoch == 2) {
      stop.store(true);
    }
  };
  EXPECT_FALSE(train(model_for(config, split), split, path("resumed"), false, stop, callbacks));
  EXPECT_TRUE(fs::exists(path("resumed/checkpoint.pt")));
  EXPECT_FALSE(fs::exists(path("resumed/metrics.json")));
  const auto resumed = train_into("resumed", config, split, true);
  ASSERT_TRUE(resumed);

  EXPECT_EQ(timeless(resumed->metrics), timeless(straight->metrics));
  auto a = load_model(path("straight")), b = load_model(path("resumed"));
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& parameter : pa) {
    EXPECT_TRUE(torch::equal(parameter.value(), pb[parameter.key()])) << parameter.key();
  }
}

TEST_F(TrainTest, SameSeedGivesIdenticalMetrics) {
  const auto split = generate_task(3, 120, 30);
  auto config = small_config();
  config.epochs = 2;
  const auto first = train_into("a", config, split), second = train_into("b", config, split);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(timeless(first->metrics), timeless(second->metrics));
}

TEST_F(TrainTest, CorruptCheckpointIsAClearError) {
  std::ofstream(dir_ / "checkpoint.pt") << "not a checkpoint";
  EXPECT_THROW_WITH(load_model(dir_.string()), "not a readable attention checkpoint");
}

}  // namespace
}  // namespace attention::app
