#pragma once
// Internal: the tensors of the pictures as float matrices, and the checks of what the public functions are given.

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attention::pictures::detail {

/// A float matrix copied from a tensor (row-major).
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> values;
  float at(int r, int c) const { return values[static_cast<size_t>(r) * static_cast<size_t>(cols) + c]; }
};

/// Largest number of rows or columns drawn; more throws std::invalid_argument (a picture nobody could read).
constexpr int kMaxCells = 2048;

/// The labels of the rows or the columns of a matrix, as the checks name them: "3 query labels for 4 rows".
struct Labels {
  size_t count = 0;
  std::string name;       ///< "query labels"
  std::string dimension;  ///< "rows"
};

/// Checks a matrix given as `tensor`, whose last two dimensions are its rows and columns, with the labels of
/// those (when given), in this order: `tensor` is defined, real and of rank `rank` ("`what` must be `expected`
/// (rank 2), got [2, 3, 4]"), the labels are as many as the rows and columns, and no dimension is 0 (nothing to
/// draw) or more than kMaxCells. std::invalid_argument saying what is wrong.
void check_matrix(const at::Tensor& tensor, int64_t rank, const std::string& what, const std::string& expected,
                  const std::optional<Labels>& rows, const std::optional<Labels>& columns);
/// Checks that `index` is -1 (none) or the index of one of `count` words; std::invalid_argument naming `what`.
void check_index(int64_t index, size_t count, const std::string& what);

/// Detached float32 CPU copy of a rank-2 tensor.
Matrix to_matrix(const at::Tensor& tensor);
/// Smallest and largest finite value of the matrices; {0, 1} when there is none.
std::pair<double, double> finite_range(const std::vector<const Matrix*>& matrices);

/// `value`, or `fallback` when it is NaN (the options' "from the data").
inline double or_default(double value, double fallback) { return std::isnan(value) ? fallback : value; }

}  // namespace attention::pictures::detail
