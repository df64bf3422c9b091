// Embeddings as labelled points on a plane.
#include "render.h"

#include "chart.h"
#include "colour.h"
#include "layout.h"
#include "matrix.h"
#include "pca.h"
#include "text.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace attention::pictures::detail {

Figure render_embedding_map(const at::Tensor& embeddings, const std::vector<std::string>& labels,
                            const std::string& title) {
  check_matrix(embeddings, 2, "embeddings", "[words, dimensions]", Labels{labels.size(), "labels", "rows (words)"},
               std::nullopt);
  const auto x = embeddings.detach().to(torch::kCPU).to(torch::kDouble);
  const auto words = x.size(0), dims = x.size(1);
  torch::Tensor points = torch::zeros({words, 2}, torch::kDouble);
  std::string x_title = "dimension 1", y_title = dims >= 2 ? "dimension 2" : "";
  std::string subtitle;
  if (dims > 2) {
    const auto projection = principal_components(x);
    points = projection.points;
    x_title = "principal component 1 (" + format_number(100 * projection.shares[0], 0) + "% of the variance)";
    y_title = "principal component 2 (" + format_number(100 * projection.shares[1], 0) + "% of the variance)";
    subtitle = std::to_string(words) + " words, " + std::to_string(dims) +
               "-d embeddings projected on their first two principal components (PCA)";
  } else {
    points.slice(1, 0, dims).copy_(x);
    subtitle = std::to_string(words) + " words, " + std::to_string(dims) + "-d embeddings as they are";
  }
  // Equal scales on both axes, so distances on the picture are distances between the points.
  const auto px = points.select(1, 0), py = points.select(1, 1);
  const auto finite = [](const torch::Tensor& t, bool high) {
    const auto kept = t.masked_select(torch::isfinite(t));
    return kept.numel() == 0 ? 0.0 : (high ? kept.max() : kept.min()).item<double>();
  };
  const double x_low = finite(px, false), x_high = finite(px, true), y_low = finite(py, false),
               y_high = finite(py, true);
  const double span = std::max({x_high - x_low, y_high - y_low, 1e-6}) * 1.2;
  const double x_mid = (x_low + x_high) / 2, y_mid = (y_low + y_high) / 2;
  const Axis x_axis = make_axis(x_mid - span / 2, x_mid + span / 2, 5, false, x_title);
  const Axis y_axis = make_axis(y_mid - span / 2, y_mid + span / 2, 5, false, y_title);
  Chart chart = make_chart("", cv::Size(480, 480), x_axis, y_axis, 0);

  const int lh = line_height(kText);
  std::vector<cv::Rect> placed;
  const auto point_x = px.contiguous(), point_y = py.contiguous();
  for (int64_t i = 0; i < words; ++i) {
    const double vx = point_x[i].item<double>(), vy = point_y[i].item<double>();
    if (!std::isfinite(vx) || !std::isfinite(vy)) {
      continue;
    }
    const cv::Point at(chart.x(x_axis, vx), chart.y(y_axis, vy));
    cv::circle(chart.image, at, 5, kPalette[0], cv::FILLED, cv::LINE_AA);
    cv::circle(chart.image, at, 5, kAxisGrey, 1, cv::LINE_AA);
    placed.emplace_back(at.x - 5, at.y - 5, 11, 11);
  }
  for (int64_t i = 0; i < words; ++i) {
    const double vx = point_x[i].item<double>(), vy = point_y[i].item<double>();
    if (!std::isfinite(vx) || !std::isfinite(vy)) {
      continue;
    }
    const cv::Point at(chart.x(x_axis, vx), chart.y(y_axis, vy));
    const auto label = sanitize(labels[static_cast<size_t>(i)]);
    const int w = text_width(label, kText);
    // Right of the point unless that overlaps a label already placed: then left, above, below.
    const std::vector<cv::Point> candidates = {{at.x + 8, at.y - lh / 2},
                                               {at.x - 8 - w, at.y - lh / 2},
                                               {at.x - w / 2, at.y - 8 - lh},
                                               {at.x - w / 2, at.y + 8}};
    cv::Rect chosen(candidates[0], cv::Size(w, lh));
    for (const auto& candidate : candidates) {
      const cv::Rect box(candidate, cv::Size(w, lh));
      const bool free =
          std::none_of(placed.begin(), placed.end(), [&](const cv::Rect& other) { return (box & other).area() > 0; });
      if (free) {
        chosen = box;
        break;
      }
    }
    placed.push_back(chosen);
    draw_text(chart.image, label, chosen.tl(), kText);
  }
  return compose(title, {subtitle}, {Panel{chart.image, chart.plot}}, 1, nullptr);
}

}  // namespace attention::pictures::detail
