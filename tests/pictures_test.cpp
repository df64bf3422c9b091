// The pictures library: sizes, colours at known values, layout, labels, and errors (never a crash or a
// half-written file).
#include <attention/pictures.h>

#include "pca.h"
#include "pictures_support.h"
#include "render.h"
#include "test_support.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace attention::pictures {
namespace {

namespace fs = std::filesystem;

using testing::cell_colour;
using testing::expect_colour_near;
using testing::words;

cv::Vec3b viridis(int index) {
  cv::Mat grey(1, 1, CV_8UC1, cv::Scalar(index)), coloured;
  cv::applyColorMap(grey, coloured, cv::COLORMAP_VIRIDIS);
  return coloured.at<cv::Vec3b>(0, 0);
}

class PicturesTest : public testing::ScratchFolderTest {
 protected:
  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      names.insert(fs::relative(entry.path(), dir_).string());
    }
    return names;
  }
};

TEST_F(PicturesTest, HeatmapIsAThreeChannelPngOfTheRenderedSize) {
  const auto weights = torch::softmax(torch::randn({6, 6}), 1);
  HeatmapOptions options;
  options.title = "six words";
  write_attention_heatmap(path("six.png"), weights, words(6), words(6), options);
  const auto image = cv::imread(path("six.png"), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.type(), CV_8UC3);
  const auto figure = detail::render_attention_heatmap(weights, words(6), words(6), options);
  EXPECT_EQ(image.size(), figure.image.size());
  EXPECT_EQ(cv::norm(image, figure.image, cv::NORM_INF), 0.0);  // PNG is lossless and rendering deterministic
  ASSERT_EQ(figure.areas.size(), 1u);
  EXPECT_EQ(figure.areas[0].width % 6, 0);
  EXPECT_GE(figure.areas[0].width / 6, 40);  // small matrices get cells large enough for their values
  EXPECT_TRUE(cv::Rect(0, 0, image.cols, image.rows).contains(figure.areas[0].br() - cv::Point(1, 1)));
  EXPECT_EQ(files(), (std::set<std::string>{"six.png"}));
}

TEST_F(PicturesTest, LabelsChangeThePicture) {
  const auto weights = torch::softmax(torch::randn({4, 5}), 1);
  const auto a = detail::render_attention_heatmap(weights, words(4, "q"), words(5, "k"), {}).image;
  const auto again = detail::render_attention_heatmap(weights, words(4, "q"), words(5, "k"), {}).image;
  const auto other_keys = detail::render_attention_heatmap(weights, words(4, "q"), words(5, "key"), {}).image;
  const auto other_queries = detail::render_attention_heatmap(weights, words(4, "Q"), words(5, "k"), {}).image;
  EXPECT_EQ(cv::norm(a, again, cv::NORM_INF), 0.0);
  EXPECT_TRUE(a.size() != other_queries.size() || cv::norm(a, other_queries, cv::NORM_L1) > 0);
  EXPECT_TRUE(a.size() != other_keys.size() || cv::norm(a, other_keys, cv::NORM_L1) > 0);
  // Same-width labels: same size, other pixels.
  const auto swapped = detail::render_attention_heatmap(weights, {"q3", "q2", "q1", "q0"}, words(5, "k"), {}).image;
  ASSERT_EQ(a.size(), swapped.size());
  EXPECT_GT(cv::norm(a, swapped, cv::NORM_L1), 0.0);
}

TEST_F(PicturesTest, MinAndMaxCellsHaveTheViridisEndColours) {
  auto weights = torch::full({3, 4}, 0.25);
  weights[0][0] = 0.0;  // min: viridis' dark purple end
  weights[2][3] = 1.0;  // max: its yellow end
  weights[1][2] = 0.5;
  HeatmapOptions options;
  options.show_values = false;
  write_attention_heatmap(path("ends.png"), weights, words(3), words(4), options);
  const auto image = cv::imread(path("ends.png"));
  const auto area = detail::render_attention_heatmap(weights, words(3), words(4), options).areas.at(0);
  expect_colour_near(cell_colour(image, area, 3, 4, 0, 0), viridis(0));
  expect_colour_near(cell_colour(image, area, 3, 4, 2, 3), viridis(255));
  expect_colour_near(cell_colour(image, area, 3, 4, 1, 2), viridis(128));
  expect_colour_near(cell_colour(image, area, 3, 4, 0, 1), viridis(64));

  // With values printed, the corner of a cell still has its colour; the scale can be fixed.
  options.show_values = true;
  options.min = 0;
  options.max = 2;
  const auto fixed = detail::render_attention_heatmap(weights, words(3), words(4), options);
  const auto& cells = fixed.areas.at(0);
  expect_colour_near(fixed.image.at<cv::Vec3b>(cells.y + cells.height - 3, cells.x + cells.width - 3), viridis(128));
}

TEST_F(PicturesTest, WeightsUseADivergingScaleCentredAtZero) {
  const auto matrix = torch::tensor({{-2.0, 0.0, 2.0}, {-1.0, 0.5, 1.0}});
  WeightHeatmapOptions options;
  options.show_values = false;
  const auto figure = detail::render_weight_heatmaps({{"W", matrix, {}, {}}}, options);
  const auto& area = figure.areas.at(0);
  const auto negative = cell_colour(figure.image, area, 2, 3, 0, 0);
  const auto zero = cell_colour(figure.image, area, 2, 3, 0, 1);
  const auto positive = cell_colour(figure.image, area, 2, 3, 0, 2);
  EXPECT_GT(negative[0], negative[2] + 50);  // blue (BGR)
  EXPECT_GT(positive[2], positive[0] + 50);  // red
  for (int c = 0; c < 3; ++c) {
    EXPECT_GT(zero[c], 235) << "0 is white";
  }
  expect_colour_near(negative, detail::colour_of(-2, -2, 2, detail::ColourMap::Diverging));
  expect_colour_near(positive, detail::colour_of(2, -2, 2, detail::ColourMap::Diverging));
  // Symmetric: -1 and 1 are as far from white.
  const auto minus_one = cell_colour(figure.image, area, 2, 3, 1, 0),
             plus_one = cell_colour(figure.image, area, 2, 3, 1, 2);
  EXPECT_NEAR(cv::norm(cv::Vec3d(minus_one) - cv::Vec3d(zero)), cv::norm(cv::Vec3d(plus_one) - cv::Vec3d(zero)), 40);
  // Shared by several matrices: the same value has the same colour in each.
  const auto both = detail::render_weight_heatmaps({{"A", matrix, {}, {}}, {"B", matrix * 0.5, {}, {}}}, options);
  ASSERT_EQ(both.areas.size(), 2u);
  expect_colour_near(cell_colour(both.image, both.areas[1], 2, 3, 0, 2),
                     cell_colour(both.image, both.areas[0], 2, 3, 1, 2));  // 2 * 0.5 == 1
  write_weight_heatmap(path("w.png"), matrix, options, {"a", "b"}, {"x", "y", "z"});
  EXPECT_FALSE(cv::imread(path("w.png")).empty());
}

TEST_F(PicturesTest, HeadGridHasOneTilePerHeadThenTheMeanRowByRow) {
  EXPECT_EQ(head_grid_shape(1).columns, 2);
  EXPECT_EQ(head_grid_shape(1).rows, 1);
  EXPECT_EQ(head_grid_shape(4).columns, 3);
  EXPECT_EQ(head_grid_shape(4).rows, 2);
  EXPECT_EQ(head_grid_shape(16).columns, 5);
  EXPECT_EQ(head_grid_shape(16).rows, 4);
  EXPECT_THROW(head_grid_shape(0), std::invalid_argument);

  // Head h is constant h / 4: each tile's colour tells which head it is.
  constexpr int64_t H = 5;
  auto weights = torch::empty({H, 3, 4});
  for (int64_t h = 0; h < H; ++h) {
    weights[h].fill_(static_cast<double>(h) / 4);
  }
  HeatmapOptions options;
  options.show_values = false;
  write_head_grid(path("grid.png"), weights, words(3), words(4), options);
  const auto image = cv::imread(path("grid.png"));
  const auto figure = detail::render_head_grid(weights, words(3), words(4), options);
  ASSERT_EQ(image.size(), figure.image.size());
  ASSERT_EQ(figure.areas.size(), static_cast<size_t>(H + 1));
  const auto shape = head_grid_shape(H);  // 3 columns, 2 rows
  for (size_t i = 0; i < figure.areas.size(); ++i) {
    const auto& area = figure.areas[i];
    EXPECT_EQ(area.size(), figure.areas[0].size()) << "tile " << i;
    const auto row = static_cast<int64_t>(i) / shape.columns, column = static_cast<int64_t>(i) % shape.columns;
    EXPECT_EQ(area.y, figure.areas[static_cast<size_t>(row * shape.columns)].y) << "tile " << i;
    if (column > 0) {
      EXPECT_GT(area.x, figure.areas[i - 1].x + area.width) << "tile " << i;
    }
    if (row > 0) {
      EXPECT_GT(area.y, figure.areas[i - static_cast<size_t>(shape.columns)].y + area.height) << "tile " << i;
    }
    const double value = static_cast<int64_t>(i) < H ? static_cast<double>(i) / 4 : 0.5;  // the mean of 0..1
    expect_colour_near(cell_colour(image, area, 3, 4, 1, 1),
                       detail::colour_of(value, 0, 1, detail::ColourMap::Viridis));
  }
}

TEST_F(PicturesTest, LabelCountsThatDoNotMatchThrowNamingBothSizes) {
  const auto weights = torch::rand({6, 5});
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), weights, words(4), words(5)), "4 query labels for 6 rows");
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), weights, words(6), words(7)), "7 key labels for 5 columns");
  EXPECT_THROW(write_attention_heatmap(path("x.png"), weights, words(6), words(7)), std::invalid_argument);
  EXPECT_THROW_WITH(write_head_grid(path("x.png"), torch::rand({2, 6, 5}), words(6), words(4)),
                    "4 key labels for 5 columns of [2, 6, 5]");
  EXPECT_THROW_WITH(write_weight_heatmap(path("x.png"), weights, {}, words(3)), "3 row labels for 6 rows");
  EXPECT_THROW_WITH(write_learning_animation(path("x.png"), torch::rand({3, 5}), words(5), words(2)),
                    "2 frame names for 3 frames");
  EXPECT_THROW_WITH(write_embedding_map(path("x.png"), torch::rand({4, 3}), words(5), ""), "5 labels for 4 rows");
  EXPECT_THROW_WITH(write_sentence_attention(path("x.png"), {"a", "b"}, {{words(5), torch::rand({3, 5}), -1, -1}}, ""),
                    "2 model names for 3 rows");
  EXPECT_TRUE(files().empty());
}

TEST_F(PicturesTest, WrongRanksAndUndefinedTensorsThrow) {
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), torch::rand({6}), words(6), words(6)),
                    "attention weights must be [Tq, Tk] (rank 2), got [6]");
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), torch::rand({1, 6, 6}), words(6), words(6)),
                    "got [1, 6, 6]");
  EXPECT_THROW_WITH(write_head_grid(path("x.png"), torch::rand({6, 6}), words(6), words(6)), "[H, Tq, Tk]");
  EXPECT_THROW_WITH(write_attention_heatmap(path("x.png"), torch::Tensor(), {}, {}), "undefined");
  EXPECT_THROW(write_learning_animation(path("x.png"), torch::rand({2, 3, 4}), words(4), words(2)),
               std::invalid_argument);
  EXPECT_THROW_WITH(write_learning_animation(path("x.gif"), torch::rand({2, 4}), words(4), words(2)),
                    ".avi (an animation) or .png");
  EXPECT_TRUE(files().empty());
}

TEST_F(PicturesTest, UnwritablePathsThrowNamingThePathAndLeaveNoFile) {
  const auto weights = torch::rand({2, 2});
  const auto labels = words(2);
  const auto missing = path("missing/x.png");
  EXPECT_THROW_WITH(write_attention_heatmap(missing, weights, labels, labels), missing + ": the folder");
  std::ofstream(path("file")) << "not a folder";
  EXPECT_THROW_WITH(write_attention_heatmap(path("file/x.png"), weights, labels, labels), "is not a folder");
  EXPECT_THROW(write_attention_heatmap(path("file/x.png"), weights, labels, labels), std::runtime_error);
  fs::create_directories(dir_ / "folder.png");
  EXPECT_THROW_WITH(write_attention_heatmap(path("folder.png"), weights, labels, labels), "it is a folder");
  EXPECT_THROW_WITH(write_attention_heatmap("/dev/null/x.png", weights, labels, labels), "/dev/null/x.png");
  EXPECT_THROW_WITH(write_learning_animation(path("missing/x.avi"), weights, labels, labels), "missing/x.avi");
  EXPECT_THROW(write_attention_heatmap("", weights, labels, labels), std::runtime_error);
  EXPECT_EQ(files(), (std::set<std::string>{"file", "folder.png"}));

  // A picture that exists is replaced whole.
  write_attention_heatmap(path("x.png"), weights, labels, labels);
  write_attention_heatmap(path("x.png"), torch::rand({3, 3}), words(3), words(3));
  EXPECT_FALSE(cv::imread(path("x.png")).empty());
  EXPECT_EQ(files(), (std::set<std::string>{"file", "folder.png", "x.png"}));
}

TEST_F(PicturesTest, OneByOneAndEmptyInputsDoNotCrash) {
  write_attention_heatmap(path("one.png"), torch::ones({1, 1}), {"only"}, {"only"});
  EXPECT_FALSE(cv::imread(path("one.png")).empty());
  // A constant matrix gets a scale with a width: 1 is the top of [0, 1].
  const auto one = detail::render_attention_heatmap(torch::ones({1, 1}), {"only"}, {"only"}, {});
  expect_colour_near(one.image.at<cv::Vec3b>(one.areas[0].y + 2, one.areas[0].x + 2), viridis(255));
  write_head_grid(path("grid.png"), torch::ones({1, 1, 1}), {"a"}, {"a"});
  write_weight_heatmap(path("w.png"), torch::zeros({1, 1}));
  write_embedding_map(path("map.png"), torch::rand({1, 3}), {"a"}, "one word");
  write_embedding_map(path("line.png"), torch::rand({3, 1}), words(3), "1-d");
  write_training_curves(path("curves.png"), {{"loss", "", {{"one epoch", {0.5}}}}}, "");
  write_learning_animation(path("one.avi"), torch::ones({1, 1}), {"a"}, {"epoch 0"});
  write_learning_animation(path("one_frame.png"), torch::ones({1, 1}), {"a"}, {"epoch 0"});

  EXPECT_THROW_WITH(write_attention_heatmap(path("e.png"), torch::rand({0, 0}), {}, {}), "is empty");
  EXPECT_THROW_WITH(write_attention_heatmap(path("e.png"), torch::rand({0, 3}), {}, words(3)), "[0, 3] is empty");
  EXPECT_THROW_WITH(write_head_grid(path("e.png"), torch::rand({0, 2, 2}), words(2), words(2)), "is empty");
  EXPECT_THROW_WITH(write_weight_heatmaps(path("e.png"), {}), "no matrices");
  EXPECT_THROW_WITH(write_training_curves(path("e.png"), {}, ""), "no charts");
  EXPECT_THROW_WITH(write_training_curves(path("e.png"), {{"loss", "", {{"trained", {}}}}}, ""), "has no values");
  EXPECT_THROW_WITH(write_sentence_attention(path("e.png"), {"a"}, {}, ""), "no sentences");
  EXPECT_THROW_WITH(write_learning_animation(path("e.avi"), torch::rand({0, 3}), words(3), {}), "is empty");
  EXPECT_THROW_WITH(write_embedding_map(path("e.png"), torch::rand({0, 3}), {}, ""), "is empty");
  for (const auto& name :
       {"one.png", "grid.png", "w.png", "map.png", "line.png", "curves.png", "one.avi", "one_frame.png"}) {
    EXPECT_TRUE(fs::exists(dir_ / name)) << name;
  }
  EXPECT_EQ(files().count("e.png"), 0u);
}

TEST_F(PicturesTest, NonFiniteCellsAreGreyAndDoNotSpoilTheScale) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const auto weights = torch::tensor({{0.0, 1.0}, {nan, inf}});
  HeatmapOptions options;
  options.show_values = false;
  const auto figure = detail::render_attention_heatmap(weights, words(2), words(2), options);
  const auto& area = figure.areas[0];
  expect_colour_near(cell_colour(figure.image, area, 2, 2, 0, 0), viridis(0));
  expect_colour_near(cell_colour(figure.image, area, 2, 2, 0, 1), viridis(255));
  expect_colour_near(cell_colour(figure.image, area, 2, 2, 1, 0), cv::Vec3b(190, 190, 190));
  expect_colour_near(cell_colour(figure.image, area, 2, 2, 1, 1), cv::Vec3b(190, 190, 190));
}

TEST_F(PicturesTest, FortyWordsKeepTheTextSizeAndGetSmallerCells) {
  const auto labels = words(40, "word");
  const auto weights = torch::softmax(torch::randn({40, 40}), 1);
  const auto figure = detail::render_attention_heatmap(weights, labels, labels, {});
  const auto& area = figure.areas[0];
  const int cell = area.width / 40;
  EXPECT_GE(cell, 18);  // a line of text fits in a row
  EXPECT_LT(cell, 40);
  EXPECT_EQ(area.height, 40 * cell);
  // Labels did not fit across 18-px columns: they are rotated, so the picture is taller than the cells plus a line.
  EXPECT_GT(figure.image.rows - (area.y + area.height), 50);
  EXPECT_LT(figure.image.cols, 1400);

  // 16 heads of 40 words: a 5 x 4 grid of full-size tiles.
  const auto grid = detail::render_head_grid(torch::softmax(torch::randn({16, 40, 40}), 2), labels, labels, {});
  ASSERT_EQ(grid.areas.size(), 17u);
  EXPECT_EQ(grid.areas[16].width, area.width);
  EXPECT_EQ(grid.areas[5].x, grid.areas[0].x);  // tile 6 starts the second row
  EXPECT_GT(grid.areas[5].y, grid.areas[4].y);
}

TEST_F(PicturesTest, TensorsOfAnyDtypeWithGradientsAreDrawn) {
  const auto weights = torch::softmax(torch::randn({3, 3}, torch::kDouble).requires_grad_(), 1);
  write_attention_heatmap(path("double.png"), weights, words(3), words(3));
  write_attention_heatmap(path("int.png"), torch::eye(3, torch::kLong), words(3), words(3));
  write_attention_heatmap(path("bool.png"), torch::eye(3, torch::kBool), words(3), words(3));
  EXPECT_EQ(files().size(), 3u);
}

TEST_F(PicturesTest, TrainingCurvesHaveOnePlotPerPanel) {
  const std::vector<double> loss = {2.0, 1.0, 0.5, 0.25}, accuracy = {0.3, 0.6, 0.9, 1.0};
  const std::vector<CurvePanel> panels = {
      {"loss", "cross-entropy", {{"trained", loss}}},
      {"accuracy", "accuracy", {{"trained", accuracy}, {"baseline", {0.2}}}, 0.0, 1.0, true}};
  write_training_curves(path("curves.png"), panels, "Training");
  const auto image = cv::imread(path("curves.png"));
  const auto figure = detail::render_training_curves(panels, "Training");
  ASSERT_EQ(figure.areas.size(), 2u);
  EXPECT_EQ(image.size(), figure.image.size());
  EXPECT_GT(figure.areas[1].x, figure.areas[0].x + figure.areas[0].width);
  // The first curve (Okabe-Ito blue) passes through the plot; the flat baseline is drawn too (orange).
  const auto& plot = figure.areas[1];
  cv::Mat roi = image(plot), blue, orange;
  cv::inRange(roi, cv::Scalar(160, 95, 0), cv::Scalar(195, 135, 25), blue);
  cv::inRange(roi, cv::Scalar(0, 140, 210), cv::Scalar(25, 180, 250), orange);
  EXPECT_GT(cv::countNonZero(blue), 100);
  EXPECT_GT(cv::countNonZero(orange), 50);
  EXPECT_THROW_WITH(write_training_curves(path("bad.png"), {{"loss", "", {}}}, ""), "chart 'loss' has no curves");
}

TEST_F(PicturesTest, LearningAnimationIsAVideoOrAFrameStrip) {
  constexpr int64_t N = 7, T = 5;
  auto frames = torch::full({N, T}, 0.1);
  for (int64_t n = 0; n < N; ++n) {
    frames[n][3] = static_cast<double>(n) / (N - 1);
  }
  AnimationOptions options;
  options.title = "w4 -> w3";
  options.query = 4;
  options.target = 3;
  options.frames_per_second = 5;
  write_learning_animation(path("learning.avi"), frames, words(T), words(N, "epoch "), options);
  cv::VideoCapture video(path("learning.avi"), cv::CAP_OPENCV_MJPEG);
  ASSERT_TRUE(video.isOpened());
  EXPECT_EQ(static_cast<int>(video.get(cv::CAP_PROP_FRAME_COUNT)), N + 10);  // the last frame held 2 s
  cv::Mat first;
  ASSERT_TRUE(video.read(first));
  const auto rendered = detail::render_learning_frames(frames, words(T), words(N, "epoch "), options);
  ASSERT_EQ(rendered.size(), static_cast<size_t>(N));
  EXPECT_EQ(first.size(), rendered[0].size());
  EXPECT_EQ(first.cols % 16, 0);
  EXPECT_EQ(first.rows % 16, 0);
  EXPECT_GT(cv::norm(rendered.front(), rendered.back(), cv::NORM_L1), 0.0);

  write_learning_animation(path("learning.png"), frames, words(T), words(N, "epoch "), options);
  const auto strip = detail::render_learning_strip(frames, words(T), words(N, "epoch "), options);
  const auto& area = strip.areas.at(0);
  const int ch = area.height / static_cast<int>(N);
  // Top row: the target at 0 (the scale is 0..1); bottom row: at 1. (Sampled above the printed values.)
  expect_colour_near(strip.image.at<cv::Vec3b>(area.y + 4, area.x + area.width * 7 / 10), viridis(0), 3);
  expect_colour_near(strip.image.at<cv::Vec3b>(area.y + area.height - ch + 4, area.x + area.width * 7 / 10),
                     viridis(255), 3);

  // Long runs are thinned to 60 rows, first and last kept.
  const auto many = detail::render_learning_strip(torch::rand({200, T}), words(T), words(200, "epoch "), {});
  EXPECT_EQ(many.areas.at(0).height % 60, 0);
  EXPECT_EQ(files(), (std::set<std::string>{"learning.avi", "learning.png"}));
}

TEST_F(PicturesTest, SentenceComparisonHasOneCellPerSentenceAndModel) {
  const std::vector<SentenceAttention> sentences = {{words(10), torch::softmax(torch::randn({2, 10}), 1), 9, 5},
                                                    {words(4), torch::softmax(torch::randn({2, 4}), 1), 0, 3}};
  write_sentence_attention(path("compare.png"), {"trained", "baseline"}, sentences, "Held-out");
  const auto figure = detail::render_sentence_attention({"trained", "baseline"}, sentences, "Held-out");
  ASSERT_EQ(figure.areas.size(), 4u);
  EXPECT_EQ(figure.areas[0].y, figure.areas[1].y);
  EXPECT_GT(figure.areas[2].y, figure.areas[0].y);
  EXPECT_EQ(figure.areas[0].width, 10 * figure.areas[2].width / 4);  // one cell size for all
  EXPECT_THROW_WITH(write_sentence_attention(path("x.png"), {"a", "b"}, {{words(4), torch::rand({2, 4}), 7, -1}}, ""),
                    "query index 7");
}

TEST_F(PicturesTest, EmbeddingMapProjectsWideEmbeddingsDeterministically) {
  const auto embeddings = torch::randn({8, 5});
  const auto a = detail::render_embedding_map(embeddings, words(8), "map");
  const auto b = detail::render_embedding_map(embeddings.clone(), words(8), "map");
  EXPECT_EQ(cv::norm(a.image, b.image, cv::NORM_INF), 0.0);
  write_embedding_map(path("map.png"), embeddings, words(8), "map");
  write_embedding_map(path("plane.png"), torch::randn({4, 2}), words(4), "2-d");
  EXPECT_EQ(files().size(), 2u);
}

TEST_F(PicturesTest, PrincipalComponentsOfKnownPoints) {
  // Spread 2 along y and 1 along x: y is the first component (80% of the variance), x the second (20%), each
  // signed so that its largest coordinate is positive (the SVD's own signs are arbitrary).
  const auto x = torch::tensor({{1.0, 0.0, 0.0}, {-1.0, 0.0, 0.0}, {0.0, 2.0, 0.0}, {0.0, -2.0, 0.0}}, torch::kDouble);
  const auto expected = torch::tensor({{0.0, 1.0}, {0.0, -1.0}, {2.0, 0.0}, {-2.0, 0.0}}, torch::kDouble);
  for (const auto& shifted : {x, x + 5.0}) {  // centred first: a shift changes nothing
    const auto projection = detail::principal_components(shifted);
    testing::expect_close(projection.points, expected, 1e-12);
    EXPECT_NEAR(projection.shares[0], 0.8, 1e-12);
    EXPECT_NEAR(projection.shares[1], 0.2, 1e-12);
  }
}

}  // namespace
}  // namespace attention::pictures
