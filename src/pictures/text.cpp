#include "text.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attention::pictures::detail {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

int ascent(const TextStyle& style) {
  int baseline = 0;
  return cv::getTextSize("H", kFont, style.scale, style.thickness, &baseline).height;
}

}  // namespace

const TextStyle kText{0.45, 1, cv::Scalar(30, 30, 30)};
const TextStyle kSmall{0.4, 1, cv::Scalar(30, 30, 30)};
const TextStyle kTitle{0.65, 2, cv::Scalar(20, 20, 20)};
const TextStyle kSubtitle{0.45, 1, cv::Scalar(80, 80, 80)};
const TextStyle kCaption{0.5, 1, cv::Scalar(20, 20, 20)};

std::string sanitize(const std::string& label, size_t max_length) {
  std::string out;
  for (size_t i = 0; i < label.size();) {
    const auto c = static_cast<unsigned char>(label[i]);
    if (c < 0x80) {
      out += (c >= 32 && c < 127) ? static_cast<char>(c) : '?';
      ++i;
    } else {  // one '?' per UTF-8 character
      out += '?';
      ++i;
      while (i < label.size() && (static_cast<unsigned char>(label[i]) & 0xC0) == 0x80) {
        ++i;
      }
    }
  }
  if (out.size() > max_length && max_length > 2) {
    out = out.substr(0, max_length - 2) + "..";
  }
  return out;
}

int line_height(const TextStyle& style) {
  int baseline = 0;
  const auto size = cv::getTextSize("Hg", kFont, style.scale, style.thickness, &baseline);
  return size.height + baseline + 2;
}

int text_width(const std::string& text, const TextStyle& style) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, style.scale, style.thickness, &baseline).width;
}

void draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, const TextStyle& style) {
  cv::putText(image, text, cv::Point(top_left.x, top_left.y + ascent(style) + 1), kFont, style.scale, style.colour,
              style.thickness, cv::LINE_AA);
}

void draw_text_centred(cv::Mat& image, const std::string& text, int centre_x, int top, const TextStyle& style) {
  draw_text(image, text, cv::Point(centre_x - text_width(text, style) / 2, top), style);
}

cv::Mat rotated_text(const std::string& text, const TextStyle& style) {
  cv::Mat horizontal(line_height(style), text_width(text, style) + 2, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_text(horizontal, text, cv::Point(1, 0), style);
  cv::Mat vertical;
  cv::rotate(horizontal, vertical, cv::ROTATE_90_COUNTERCLOCKWISE);
  return vertical;
}

std::string format_number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text(buffer);
  if (text[0] == '-' && text.find_first_not_of("-0.") == std::string::npos) {
    text.erase(0, 1);  // "-0.00" → "0.00"
  }
  return text;
}

int decimals_for_amplitude(double amplitude) { return amplitude >= 100 ? 0 : amplitude >= 10 ? 1 : 2; }

int decimals_for_step(double step) {
  if (!(step > 0) || !std::isfinite(step)) {
    return 2;
  }
  int exact = 4;
  for (int decimals = 0; decimals < 4; ++decimals) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) {
      exact = decimals;
      break;
    }
  }
  const int readable = std::max(0, static_cast<int>(std::ceil(-std::log10(step))) + 1);
  return std::min(exact, readable);
}

std::vector<double> nice_ticks(double low, double high, int count) {
  const double span = high - low;
  if (!(span > 0) || !std::isfinite(span)) {
    return {low};
  }
  const double raw = span / std::max(count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (const double multiple : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (multiple * magnitude >= raw * (1 - 1e-9)) {
      step = multiple * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1) {
    const double tick = k * step;
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

}  // namespace attention::pictures::detail
