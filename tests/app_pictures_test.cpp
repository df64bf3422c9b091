// The program's pictures: what `attention train` writes, the full attention matrix behind `attention heatmap`,
// and the walk-through of `attention explain` (its numbers against the tutorial's, and its pictures).
#include "induction/checkpoint.h"
#include "induction/pictures.h"
#include "induction/trainer.h"
#include "relations/checkpoint.h"
#include "relations/data.h"
#include "relations/pictures.h"
#include "relations/trainer.h"
#include "relations/words.h"
#include "views/explain.h"

#include "test_support.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

class AppPicturesTest : public testing::ScratchFolderTest {
 protected:
  std::vector<std::string> leftovers() const {
    std::vector<std::string> temporary;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.path().string().find(".tmp") != std::string::npos) {
        temporary.push_back(entry.path().string());
      }
    }
    return temporary;
  }

  /// Trains `config` on `split` into the scratch folder `name`, then writes the run's pictures there, as
  /// `attention train` does; returns their file names.
  std::vector<std::string> train_with_pictures(const std::string& name, const TrainConfig& config, const Split& split) {
    auto learning = watch_example(split);
    const auto run = train(model_for(config, split), split, path(name), false, no_stop_, capture_frames(learning));
    EXPECT_TRUE(run);
    return run ? write_training_pictures(path(name), *run, split, learning) : std::vector<std::string>{};
  }

  std::atomic<bool> no_stop_{false};
};

TEST_F(AppPicturesTest, AttentionMatrixRowsAreTheQueryAttentionOfForward) {
  for (const auto kind : {ModelKind::Simple, ModelKind::Scaled, ModelKind::MultiHead}) {
    TrainConfig config;
    config.model = kind;
    config.dim = 16;
    std::vector<std::string> words = {"<unk>"};
    for (int i = 1; i < 20; ++i) {
      words.push_back("w" + std::to_string(i));
    }
    RelationModel model(config, Vocabulary(words));
    model->eval();
    torch::NoGradGuard no_grad;
    const auto ids = torch::randint(0, 20, {1, 7}, torch::kLong);
    const auto lengths = torch::full({1}, 7, torch::kLong);
    const auto matrix = model->attention_matrix(ids, lengths);  // [1, H, 7, 7]
    ASSERT_EQ(matrix.size(1), kind == ModelKind::MultiHead ? config.heads : 1) << model_kind_name(kind);
    const auto mean = matrix.mean(1)[0];
    for (int64_t q = 0; q < 7; ++q) {
      const auto row = model(ids, lengths, torch::full({1}, q, torch::kLong))[0];
      testing::expect_close(mean[q], row, 1e-5);
      EXPECT_EQ(mean[q][q].item<float>(), 0.0f) << model_kind_name(kind);
    }
  }
}

TEST_F(AppPicturesTest, TrainWritesEveryPictureWholeAndReadable) {
  const auto split = generate_task(1, 120, 30);
  TrainConfig config;
  config.dim = 32;
  config.epochs = 3;
  const auto files = train_with_pictures("scaled", config, split);
  EXPECT_EQ(files.size(), 8u);
  for (const auto& file : files) {
    const auto path = (dir_ / "scaled" / file).string();
    ASSERT_TRUE(fs::exists(path)) << file;
    if (fs::path(file).extension() == ".png") {
      const auto image = cv::imread(path);
      EXPECT_FALSE(image.empty()) << file;
      EXPECT_EQ(image.channels(), 3) << file;
    }
  }
  cv::VideoCapture video((dir_ / "scaled" / "learning.avi").string(), cv::CAP_OPENCV_MJPEG);
  ASSERT_TRUE(video.isOpened());
  EXPECT_EQ(static_cast<int>(video.get(cv::CAP_PROP_FRAME_COUNT)), 4 + 8);  // epochs 0..3, then 2 s held at 4 fps
  EXPECT_TRUE(leftovers().empty());

  // Multihead adds W_o; the simple model (nothing to train) writes only the comparison and the embeddings.
  config.model = ModelKind::MultiHead;
  const auto multihead = train_with_pictures("multihead", config, split);
  EXPECT_EQ(multihead.size(), 9u);
  EXPECT_TRUE(fs::exists(dir_ / "multihead" / "weights_W_o.png"));
  config.model = ModelKind::Simple;
  EXPECT_EQ(train_with_pictures("simple", config, split), (std::vector<std::string>{"heatmaps.png", "embeddings.png"}));
  for (const auto& file : fs::directory_iterator(dir_ / "simple")) {
    const auto name = file.path().filename().string();
    EXPECT_TRUE(name == "heatmaps.png" || name == "embeddings.png" || name == "checkpoint.pt" || name == "metrics.json")
        << name;
  }
}

TEST_F(AppPicturesTest, WatchesAWarmExampleWhenThereIsOne) {
  const auto split = generate_task(1);
  const auto learning = watch_example(split);
  ASSERT_TRUE(learning.active);
  EXPECT_EQ(learning.example.words[static_cast<size_t>(learning.example.query)], "warm");
  EXPECT_FALSE(watch_example(Split{}).active);
}

TEST_F(AppPicturesTest, HeatmapOfASentenceAndOfTheWeights) {
  const auto split = generate_task(1, 120, 30);
  TrainConfig config;
  config.dim = 32;
  config.epochs = 1;
  config.model = ModelKind::MultiHead;
  config.heads = 2;
  ASSERT_TRUE(train(model_for(config, split), split, dir_.string(), false, no_stop_));
  auto loaded = load_model(dir_.string());
  const auto words = split_words("the cat sat on the mat because it was warm zyzzyva");
  EXPECT_EQ(loaded->attention_matrix(words).sizes(), (std::vector<int64_t>{2, 11, 11}));
  write_sentence_heatmap((dir_ / "sentence.png").string(), loaded, words);
  write_weights_picture((dir_ / "weights.png").string(), loaded);
  EXPECT_FALSE(cv::imread((dir_ / "sentence.png").string()).empty());
  EXPECT_FALSE(cv::imread((dir_ / "weights.png").string()).empty());
  EXPECT_THROW_WITH(write_sentence_heatmap((dir_ / "no/such/folder.png").string(), loaded, words),
                    "no/such/folder.png");
}

TEST_F(AppPicturesTest, InductionRunWritesEveryPictureWholeAndReadable) {
  InductionConfig config;
  config.length = 24;
  config.min_segment = 4;
  config.max_segment = 10;
  config.dim = 16;
  config.heads = 2;
  config.epochs = 3;
  config.steps_per_epoch = 2;
  config.test_sequences = 16;
  const auto held_out = held_out_sequences(config);
  auto frames = watch_sequence(held_out);
  // Its segment is the first closest to a third of the 24 tokens; the query is in the repeat, the target after
  // the query's first occurrence.
  const auto distances = (3 * held_out.segment - 24).abs();
  EXPECT_EQ(std::abs(3 * frames.segment - 24), distances.min().item<int64_t>());
  EXPECT_EQ(frames.target, frames.query - frames.segment + 1);
  EXPECT_EQ(frames.tokens[static_cast<size_t>(frames.query)],
            frames.tokens[static_cast<size_t>(frames.query - frames.segment)]);
  std::vector<InductionReport> reports;
  const auto run = train_induction(
      models_for(config), path("induction"), false, no_stop_,
      capture_induction_frames(frames, [&](const InductionReport& report) { reports.push_back(report); }));
  ASSERT_TRUE(run);
  EXPECT_EQ(reports.size(), 8u);  // both models: before training, then after each of 3 epochs
  EXPECT_EQ(frames.names, (std::vector<std::string>{"step 0", "step 2", "step 4", "step 6"}));  // the model's only
  EXPECT_EQ(frames.frames.at(0).sizes(), (std::vector<int64_t>{2, 24}));  // its last layer's heads

  const auto files = write_induction_pictures(path("induction"), *run, frames);
  EXPECT_EQ(files, (std::vector<std::string>{"model_view.png", "model_view_baseline.png", "training_curves.png",
                                             "head_scores.png", "learning.avi", "learning.png"}));
  for (const auto& file : files) {
    ASSERT_TRUE(fs::exists(dir_ / "induction" / file)) << file;
    if (fs::path(file).extension() == ".png") {
      EXPECT_FALSE(cv::imread((dir_ / "induction" / file).string()).empty()) << file;
    }
  }
  // Two rows of tiles for the two layers, one for the baseline.
  const auto view = cv::imread((dir_ / "induction" / "model_view.png").string());
  const auto baseline_view = cv::imread((dir_ / "induction" / "model_view_baseline.png").string());
  EXPECT_EQ(view.cols, baseline_view.cols);
  EXPECT_GT(view.rows, baseline_view.rows + 300);
  cv::VideoCapture video((dir_ / "induction" / "learning.avi").string(), cv::CAP_OPENCV_MJPEG);
  ASSERT_TRUE(video.isOpened());
  EXPECT_EQ(static_cast<int>(video.get(cv::CAP_PROP_FRAME_COUNT)), 4 + 8);  // 4 frames, then 2 s held at 4 fps
  EXPECT_TRUE(leftovers().empty());

  auto loaded = load_induction_models(path("induction")).model;
  write_model_view_of(path("tokens.png"), loaded, {5, 6, 7, 5, 6, 7}, "a given sequence");
  EXPECT_FALSE(cv::imread(path("tokens.png")).empty());
  EXPECT_THROW_WITH(write_model_view_of(path("no/such/folder.png"), loaded, {5, 6}, ""), "no/such/folder.png");
}

TEST_F(AppPicturesTest, ExplainPrintsTheTutorialNumbers) {
  std::ostringstream out;
  EXPECT_TRUE(explain(ExplainOptions{}, out).empty());  // no pictures without an out_dir
  const auto text = out.str();
  // "Build a Large Language Model (From Scratch)", ch. 3: the scores, weights and context of "journey".
  const auto expect_line = [&](const std::string& pattern) {
    EXPECT_TRUE(std::regex_search(text, std::regex(pattern))) << pattern << "\n" << text;
  };
  expect_line("journey +0\\.9544 +1\\.4950 +1\\.4754 +0\\.8434 +0\\.7070 +1\\.0865");
  expect_line("journey +0\\.1455 +0\\.2278 +0\\.2249 +0\\.1285 +0\\.1077 +0\\.1656");  // naive normalisation
  expect_line("journey +0\\.1385 +0\\.2379 +0\\.2333 +0\\.1240 +0\\.1082 +0\\.1581");  // softmax
  expect_line("journey +0\\.4419 +0\\.6515 +0\\.5683");                                // context vector
  expect_line("your +-0\\.0739 +0\\.0713");                                            // trainable, seed 789
  EXPECT_EQ(text.find("Pictures"), std::string::npos);
}

TEST_F(AppPicturesTest, ExplainWritesAPictureOfEachStep) {
  ExplainOptions options;
  options.out_dir = path("steps");
  std::ostringstream out;
  const auto files = explain(options, out);
  EXPECT_EQ(files.size(), 11u);
  std::string listed = "Pictures of each step in " + options.out_dir + ":";
  for (const auto& file : files) {
    EXPECT_FALSE(cv::imread((dir_ / "steps" / file).string()).empty()) << file;
    listed += " " + file;
  }
  EXPECT_NE(out.str().find(listed + "\n"), std::string::npos) << out.str();

  options.words = split_words("a longer sentence of other words with random embeddings");
  options.out_dir = path("other");
  EXPECT_EQ(explain(options, out), files);
  EXPECT_TRUE(fs::exists(dir_ / "other" / "01_embeddings.png"));
  EXPECT_TRUE(leftovers().empty());
}

TEST_F(AppPicturesTest, ExplainToAnUnwritableFolderFailsBeforePrinting) {
  ExplainOptions options;
  options.out_dir = "/dev/null/x";
  std::ostringstream out;
  EXPECT_THROW_WITH(explain(options, out), "cannot create the folder /dev/null/x");
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace attention::app
