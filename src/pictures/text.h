#pragma once
// Internal: text on the pictures (styles, measuring, drawing), and numbers as text (formatting, round ticks).

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

struct TextStyle {
  double scale = 0.45;
  int thickness = 1;
  cv::Scalar colour = cv::Scalar(30, 30, 30);
};
extern const TextStyle kText;      // labels, ticks
extern const TextStyle kSmall;     // cell values
extern const TextStyle kTitle;     // titles
extern const TextStyle kSubtitle;  // "rows: queries, columns: keys"
extern const TextStyle kCaption;   // tile captions

/// Printable ASCII: other bytes become '?' (one per UTF-8 character), cut to 18 characters with "..".
std::string sanitize(const std::string& label, size_t max_length = 18);
/// Height of a line of text in `style` (ascent + descent), the same for every text.
int line_height(const TextStyle& style);
int text_width(const std::string& text, const TextStyle& style);
/// Draws `text` with its box's top-left corner at `top_left`.
void draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, const TextStyle& style);
/// Draws text centred horizontally on `centre_x`.
void draw_text_centred(cv::Mat& image, const std::string& text, int centre_x, int top, const TextStyle& style);
/// The text on its own white image, rotated 90° counter-clockwise (reads bottom to top).
cv::Mat rotated_text(const std::string& text, const TextStyle& style);

/// "%.*f" without "-0.00".
std::string format_number(double value, int decimals);
/// Decimals that tell apart values of a scale whose largest magnitude is `amplitude` (cells) or whose ticks are
/// `step` apart (axes).
int decimals_for_amplitude(double amplitude);
int decimals_for_step(double step);
/// Round tick positions covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten, about `count` of them.
std::vector<double> nice_ticks(double low, double high, int count);

}  // namespace attention::pictures::detail
