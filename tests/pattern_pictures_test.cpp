// `attention heatmap --pattern`: the weights of each pattern against hand-computed rows, and the picture.
#include "views/patterns.h"

#include "test_support.h"

#include <opencv2/imgcodecs.hpp>

#include <cmath>

namespace attention::app {
namespace {

using testing::expect_close;

class PatternPicturesTest : public testing::ScratchFolderTest {};

/// Row `i` of a pattern of `length` tokens that spreads evenly over `visible` (all others 0).
torch::Tensor even_row(int64_t length, const std::vector<int64_t>& visible) {
  auto row = torch::zeros({length});
  for (const auto key : visible) {
    row[key] = 1.0 / static_cast<double>(visible.size());
  }
  return row;
}

TEST_F(PatternPicturesTest, EachPatternSpreadsARowOverWhatItsQuerySees) {
  PatternOptions options;
  options.length = 8;
  options.window = 2;
  options.pattern = Pattern::Causal;
  expect_close(pattern_weights(options)[0][3], even_row(8, {0, 1, 2, 3}), 1e-6);
  options.pattern = Pattern::Local;
  expect_close(pattern_weights(options)[0][3], even_row(8, {1, 2, 3, 4, 5}), 1e-6);
  options.pattern = Pattern::Window;
  expect_close(pattern_weights(options)[0][5], even_row(8, {3, 4, 5}), 1e-6);
  options.pattern = Pattern::Global;
  const auto global = pattern_weights(options)[0];
  expect_close(global[5], even_row(8, {0, 3, 4, 5, 6, 7}), 1e-6);
  expect_close(global[0], even_row(8, {0, 1, 2, 3, 4, 5, 6, 7}), 1e-6);
}

TEST_F(PatternPicturesTest, AlibiHeadsFallWithDistanceAtTheirOwnSlope) {
  PatternOptions options;
  options.pattern = Pattern::Alibi;
  options.length = 6;
  options.heads = 4;  // slopes 1/4, 1/16, 1/64, 1/256
  const auto weights = pattern_weights(options);
  ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{4, 6, 6}));
  for (int64_t head = 0; head < 4; ++head) {
    const double slope = std::pow(2.0, -2.0 * static_cast<double>(head + 1));
    auto row = torch::zeros({6}, torch::kDouble);
    for (int64_t key = 0; key <= 4; ++key) {
      row[key] = std::exp(-slope * static_cast<double>(4 - key));
    }
    expect_close(weights[head][4], (row / row.sum()).to(torch::kFloat), 1e-6);
  }
}

TEST_F(PatternPicturesTest, WritesAPictureAndRefusesUnknownPatternsAndSizes) {
  PatternOptions options;
  options.pattern = pattern_named("alibi");
  write_pattern_heatmap(path("alibi.png"), options);
  const auto image = cv::imread(path("alibi.png"));
  EXPECT_FALSE(image.empty());
  EXPECT_GT(image.cols, 300);
  EXPECT_THROW_WITH(pattern_named("diagonal"), "the patterns are causal, local, window, global, alibi");
  options.length = 0;
  EXPECT_THROW_WITH(pattern_weights(options), "length 0 (1 to 2048)");
}

}  // namespace
}  // namespace attention::app
