#pragma once
// Internal: colours of the pictures, the colour maps of values, their scales and colour bars.

#include "layout.h"

#include <opencv2/core.hpp>

#include <string>

namespace attention::pictures::detail {

// Defined in colour.cpp, not inline here: inline variables would be exported from the shared library.
extern const cv::Scalar kWhite;
extern const cv::Scalar kAxisGrey;  ///< axes, borders, tick marks
extern const cv::Scalar kRed;       ///< the outline of a right answer

/// The colour of `value` on a scale from `low` to `high`: viridis, or the diverging blue-white-red map.
/// Non-finite values are grey.
enum class ColourMap { Viridis, Diverging };
cv::Vec3b colour_of(double value, double low, double high, ColourMap map);

struct Scale {
  double low = 0;
  double high = 1;
  ColourMap map = ColourMap::Viridis;
  std::string label;
};
/// A scale from low to high, widened when they are equal (a constant matrix) so that it has a width.
Scale make_scale(double low, double high, ColourMap map, const std::string& label);

/// A vertical colour bar, `height` px tall, with ticks at round values and the scale's label; `cells` is the bar.
Panel render_colour_bar(const Scale& scale, int height);
/// Colour bar height for panels whose cells are `cells_height` tall.
int colour_bar_height(int cells_height);

}  // namespace attention::pictures::detail
