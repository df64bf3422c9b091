// The training task of `attention train`: data parsing, the generator, learning, checkpoints and resume.
#include "relation_data.h"
#include "trainer.h"

#include "test_support.h"

#include <filesystem>
#include <fstream>
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

  std::atomic<bool> no_stop_{false};
};

const auto ignore_progress = [](const EpochReport&) {};

TEST_F(TrainTest, ReadsGoodLinesSkippingBlanksAndComments) {
  const auto path = write_file("good.tsv",
                               "# sentence\tquery\ttarget\n"
                               "\n"
                               "The cat sat on the mat, because it is warm.\twarm\tmat\n"
                               "the dog saw the dog\tsaw\tdog\r\n");
  const auto examples = read_examples(path);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].words, (std::vector<std::string>{"the", "cat", "sat", "on", "the", "mat", "because", "it",
                                                         "is", "warm"}));
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
  EXPECT_THROW_WITH(read_examples((dir_ / "missing.tsv").string()), "missing.tsv: cannot open the data file");
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
  std::set<std::string> keys;
  for (const auto& item : json.items()) {
    keys.insert(item.key());
  }
  EXPECT_EQ(keys, (std::set<std::string>{"batch_size", "data", "dim", "epochs", "heads", "lr", "model", "seed",
                                         "test_data", "train_embeddings"}));
  EXPECT_EQ(json.get<TrainConfig>().model, ModelKind::MultiHead);
  auto unknown = json;
  unknown["model"] = "big";
  EXPECT_THROW_WITH(unknown.get<TrainConfig>(), "unknown model 'big' (expected simple, scaled or multihead)");
}

TEST_F(TrainTest, TrainedAttentionBeatsTheSimilarityBaselineByAWideMargin) {
  const auto split = generate_task(1, 240, 60);
  const auto metrics = train(small_config(), split, dir_.string(), false, no_stop_, ignore_progress);
  const double trained = metrics.at("test_accuracy"), baseline = metrics.at("baseline").at("test_accuracy");
  EXPECT_GT(trained, 0.85);
  EXPECT_LT(baseline, 0.4);
  EXPECT_GT(metrics.at("attention_on_target").get<double>(),
            metrics.at("baseline").at("attention_on_target").get<double>() + 0.4);
  for (const auto* key : {"train_accuracy", "epochs", "seconds", "train_examples", "test_examples", "seed", "model"}) {
    EXPECT_TRUE(metrics.contains(key)) << key;
  }
  EXPECT_TRUE(fs::exists(dir_ / "metrics.json"));
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint.pt.tmp"));
}

TEST_F(TrainTest, CheckpointRoundTripPredictsTheSame) {
  const auto split = generate_task(1, 120, 30);
  auto config = small_config();
  config.epochs = 3;
  train(config, split, dir_.string(), false, no_stop_, ignore_progress);
  auto loaded = load_model(dir_.string());
  EXPECT_EQ(read_checkpoint_config(dir_.string()).dim, 64);
  Vocabulary vocabulary;
  vocabulary.add(split.train);
  EXPECT_EQ(loaded.vocabulary.words(), vocabulary.words());
  const auto& example = split.test.front();
  const auto weights = attention_of(loaded, example.words, example.query);
  EXPECT_NEAR(weights.sum().item<double>(), 1.0, 1e-5);
  EXPECT_EQ(weights[example.query].item<float>(), 0.0f);  // never its own position
  auto unknown = example.words;
  unknown.push_back("zyzzyva");
  EXPECT_EQ(attention_of(loaded, unknown, example.query).size(0), static_cast<int64_t>(unknown.size()));
}

TEST_F(TrainTest, ResumeAfterAStopReachesTheSameWeightsAndMetrics) {
  const auto split = generate_task(2, 120, 30);
  auto config = small_config();
  config.epochs = 4;
  const auto straight = train(config, split, (dir_ / "straight").string(), false, no_stop_, ignore_progress);

  // Stop in the middle of the third epoch, as SIGINT does, then resume.
  std::atomic<bool> stop{false};
  int64_t epochs_seen = 0;
  const auto stopped = train(config, split, (dir_ / "resumed").string(), false, stop, [&](const EpochReport&) {
    if (++epochs_seen == 2) {
      stop.store(true);
    }
  });
  EXPECT_TRUE(stopped.empty());
  EXPECT_FALSE(fs::exists(dir_ / "resumed" / "metrics.json"));
  const auto resumed = train(config, split, (dir_ / "resumed").string(), true, no_stop_, ignore_progress);

  for (const auto* key : {"test_accuracy", "train_accuracy", "attention_on_target", "history", "baseline"}) {
    EXPECT_EQ(resumed.at(key), straight.at(key)) << key;
  }
  auto a = load_model((dir_ / "straight").string()), b = load_model((dir_ / "resumed").string());
  const auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  for (const auto& parameter : pa) {
    EXPECT_TRUE(torch::equal(parameter.value(), pb[parameter.key()])) << parameter.key();
  }
}

TEST_F(TrainTest, SameSeedGivesIdenticalMetrics) {
  const auto split = generate_task(3, 120, 30);
  auto config = small_config();
  config.epochs = 2;
  auto first = train(config, split, (dir_ / "a").string(), false, no_stop_, ignore_progress);
  auto second = train(config, split, (dir_ / "b").string(), false, no_stop_, ignore_progress);
  first.erase("seconds");
  second.erase("seconds");
  EXPECT_EQ(first, second);
}

TEST_F(TrainTest, CorruptCheckpointIsAClearError) {
  std::ofstream(dir_ / "checkpoint.pt") << "not a checkpoint";
  EXPECT_THROW_WITH(load_model(dir_.string()), "not a readable attention checkpoint");
}

}  // namespace
}  // namespace attention::app
