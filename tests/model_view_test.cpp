// The model view (a tile per layer and head) and outlined cells in attention pictures: layout, colours at known
// values, and errors.
#include <attention/pictures.h>

#include "pictures_support.h"
#include "render.h"
#include "test_support.h"

#include <opencv2/imgcodecs.hpp>

#include <string>
#include <utility>
#include <vector>

namespace attention::pictures {
namespace {

using testing::cell_colour;
using testing::expect_colour_near;

std::vector<std::string> tokens(int64_t count) { return testing::words(count, "t"); }

/// The pixel on the left edge of cell (row, col), where its outline is drawn.
cv::Vec3b cell_edge(const cv::Mat& image, const cv::Rect& area, int rows, int cols, int row, int col) {
  const int cw = area.width / cols, ch = area.height / rows;
  return image.at<cv::Vec3b>(area.y + row * ch + ch / 2, area.x + col * cw + 1);
}

const cv::Vec3b kOutline(0, 0, 220);  // the red of outlines (BGR)

class ModelViewTest : public testing::ScratchFolderTest {};

TEST_F(ModelViewTest, HasARowOfTilesPerLayerAndAColumnPerHead) {
  // Tile (layer l, head h) is constant (3 l + h) / 5: each tile's colour tells which it is.
  constexpr int64_t L = 2, H = 3;
  auto weights = torch::empty({L, H, 4, 4});
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t h = 0; h < H; ++h) {
      weights[l][h].fill_(static_cast<double>(3 * l + h) / 5);
    }
  }
  HeatmapOptions options;
  options.show_values = false;
  write_model_view(path("view.png"), weights, tokens(4), tokens(4), options);
  const auto image = cv::imread(path("view.png"));
  const auto figure = detail::render_model_view(weights, tokens(4), tokens(4), options);
  ASSERT_EQ(image.size(), figure.image.size());
  ASSERT_EQ(figure.areas.size(), static_cast<size_t>(L * H));
  for (size_t i = 0; i < figure.areas.size(); ++i) {
    const auto& area = figure.areas[i];
    const auto layer = static_cast<int64_t>(i) / H, head = static_cast<int64_t>(i) % H;
    EXPECT_EQ(area.size(), figure.areas[0].size()) << "tile " << i;
    EXPECT_EQ(area.y, figure.areas[static_cast<size_t>(layer * H)].y) << "tile " << i;  // one row per layer
    EXPECT_EQ(area.x, figure.areas[static_cast<size_t>(head)].x) << "tile " << i;       // one column per head
    if (head > 0) {
      EXPECT_GT(area.x, figure.areas[i - 1].x + area.width) << "tile " << i;
    }
    if (layer > 0) {
      EXPECT_GT(area.y, figure.areas[i - H].y + area.height) << "tile " << i;
    }
    expect_colour_near(cell_colour(image, area, 4, 4, 2, 1),
                       detail::colour_of(static_cast<double>(3 * layer + head) / 5, 0, 1, detail::ColourMap::Viridis));
  }
}

TEST_F(ModelViewTest, OutlinedCellsAreRedInEveryTileAndOnlyThere) {
  const auto weights = torch::full({2, 2, 4, 4}, 0.25);
  HeatmapOptions options;
  options.show_values = false;
  options.min = 0;
  options.max = 1;
  options.outlined = {{3, 1}, {2, 0}};  // (query, key)
  const auto views = {detail::render_model_view(weights, tokens(4), tokens(4), options),
                      detail::render_head_grid(weights[0], tokens(4), tokens(4), options),
                      detail::render_attention_heatmap(weights[0][0], tokens(4), tokens(4), options)};
  for (const auto& figure : views) {
    for (const auto& area : figure.areas) {
      for (int row = 0; row < 4; ++row) {
        for (int column = 0; column < 4; ++column) {
          const bool outlined = (row == 3 && column == 1) || (row == 2 && column == 0);
          const auto edge = cell_edge(figure.image, area, 4, 4, row, column);
          EXPECT_EQ(edge == kOutline, outlined) << "cell (" << row << ", " << column << "): " << edge;
        }
      }
      expect_colour_near(cell_colour(figure.image, area, 4, 4, 3, 1),
                         detail::colour_of(0.25, 0, 1, detail::ColourMap::Viridis));
    }
  }
}

TEST_F(ModelViewTest, ManyHeadsGetSmallerTilesWithThinnedLabels) {
  // GPT-2 small's 12 layers of 12 heads and SmolLM2-135M's 30 of 9, on 40 tokens: tiles of 240 px (6 px cells,
  // lower than a line of text: every few labels are drawn) keep the picture a few thousand pixels a side. With
  // the 18 px cells a label each needs, it would be 720 px tiles: about 9,600 x 10,000 pixels for 12 x 12.
  for (const auto& [L, H] : {std::pair<int64_t, int64_t>{12, 12}, {30, 9}}) {
    const auto weights = torch::rand({L, H, 40, 40}).softmax(-1);
    HeatmapOptions options;
    options.show_values = false;
    const auto figure = detail::render_model_view(weights, tokens(40), tokens(40), options);
    ASSERT_EQ(figure.areas.size(), static_cast<size_t>(L * H));
    EXPECT_EQ(figure.areas[0].size(), cv::Size(240, 240)) << L << " x " << H;
    EXPECT_LT(figure.image.cols, H * 360) << L << " x " << H;
    EXPECT_LT(figure.image.rows, L * 360 + 200) << L << " x " << H;
  }
  // Few heads keep their large tiles (560 px across, as a heatmap): 2 heads of 8 tokens, 56 px cells.
  const auto figure = detail::render_model_view(torch::rand({1, 2, 8, 8}), tokens(8), tokens(8), HeatmapOptions{});
  EXPECT_EQ(figure.areas[0].size(), cv::Size(8 * 56, 8 * 56));
  write_model_view(path("many.png"), torch::rand({12, 12, 40, 40}), tokens(40), tokens(40));
  EXPECT_FALSE(cv::imread(path("many.png")).empty());
}

TEST_F(ModelViewTest, BadShapesLabelsAndOutlinesThrowAndWriteNothing) {
  EXPECT_THROW_WITH(write_model_view(path("x.png"), torch::rand({2, 4, 4}), tokens(4), tokens(4)),
                    "per-layer, per-head attention weights must be [L, H, Tq, Tk] (rank 4), got [2, 4, 4]");
  EXPECT_THROW_WITH(write_model_view(path("x.png"), torch::rand({2, 2, 4, 5}), tokens(4), tokens(4)),
                    "4 key labels for 5 columns of [2, 2, 4, 5]");
  EXPECT_THROW_WITH(write_model_view(path("x.png"), torch::rand({0, 2, 4, 4}), tokens(4), tokens(4)), "is empty");
  HeatmapOptions options;
  options.outlined = {{4, 0}};
  EXPECT_THROW_WITH(write_model_view(path("x.png"), torch::rand({1, 1, 4, 4}), tokens(4), tokens(4), options),
                    "outlined cell (4, 0) is outside the 4 x 4 matrix");
  options.outlined = {{0, -1}};
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), torch::rand({4, 4}), tokens(4), tokens(4), options),
                    "outlined cell (0, -1) is outside");
  EXPECT_FALSE(std::filesystem::exists(path("x.png")));
}

}  // namespace
}  // namespace attention::pictures
