// The tests' comparison of two metrics.json files: the same, numbers within a tolerance.
//
//   attention_test_compare_metrics A.json B.json TOLERANCE [IGNORED_KEY ...]
//
// Exits 0 when A and B have the same keys, arrays of the same lengths, the same strings, booleans and nulls, and every
// pair of numbers a, b has |a - b| <= TOLERANCE · max(1, |a|, |b|); prints the largest relative difference found.
// Keys named IGNORED_KEY are skipped at any depth (the seconds, the threads, the processes). Exits 1 naming the first
// difference, 2 when a file cannot be read or the command line is wrong.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace {

struct Comparison {
  double tolerance = 0;
  std::set<std::string> ignored;
  double largest = 0;  // relative difference
  std::string first_difference;

  void differ(const std::string& where, const nlohmann::json& a, const nlohmann::json& b) {
    if (first_difference.empty()) {
      first_difference = where + ": " + a.dump() + " and " + b.dump();
    }
  }

  void compare(const std::string& where, const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number() && b.is_number()) {
      const auto x = a.get<double>(), y = b.get<double>();
      const auto relative = std::abs(x - y) / std::max({1.0, std::abs(x), std::abs(y)});
      largest = std::max(largest, relative);
      if (!(relative <= tolerance)) {
        differ(where, a, b);
      }
    } else if (a.is_object() && b.is_object()) {
      for (const auto& [key, value] : a.items()) {
        if (ignored.count(key) > 0) {
          continue;
        }
        if (!b.contains(key)) {
          differ(where + "." + key, value, nullptr);
        } else {
          compare(where + "." + key, value, b.at(key));
        }
      }
      for (const auto& [key, value] : b.items()) {
        if (ignored.count(key) == 0 && !a.contains(key)) {
          differ(where + "." + key, nullptr, value);
        }
      }
    } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
      for (size_t i = 0; i < a.size(); ++i) {
        compare(where + "[" + std::to_string(i) + "]", a.at(i), b.at(i));
      }
    } else if (a != b) {
      differ(where, a, b);
    }
  }
};

bool read(const char* path, nlohmann::json& json) {
  std::error_code error;
  std::ifstream stream;
  if (std::filesystem::is_regular_file(path, error)) {
    stream.open(path);
  }
  if (stream.is_open()) {
    json = nlohmann::json::parse(stream, nullptr, false);
  }
  if (!stream.is_open() || json.is_discarded()) {
    std::fprintf(stderr, "compare_metrics: %s: cannot read it as JSON\n", path);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: attention_test_compare_metrics A.json B.json TOLERANCE [IGNORED_KEY ...]\n");
    return 2;
  }
  Comparison comparison;
  char* end = nullptr;
  comparison.tolerance = std::strtod(argv[3], &end);
  if (*end != '\0' || !(comparison.tolerance >= 0)) {
    std::fprintf(stderr, "compare_metrics: TOLERANCE '%s' is not a number >= 0\n", argv[3]);
    return 2;
  }
  comparison.ignored.insert(argv + 4, argv + argc);
  nlohmann::json a, b;
  if (!read(argv[1], a) || !read(argv[2], b)) {
    return 2;
  }
  comparison.compare("metrics", a, b);
  if (!comparison.first_difference.empty()) {
    std::printf("compare_metrics: %s and %s differ at %s (tolerance %g)\n", argv[1], argv[2],
                comparison.first_difference.c_str(), comparison.tolerance);
    return 1;
  }
  std::printf("compare_metrics: %s and %s agree; largest relative difference %.3g\n", argv[1], argv[2],
              comparison.largest);
  return 0;
}
