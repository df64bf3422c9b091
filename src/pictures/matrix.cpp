#include "matrix.h"

#include <c10/util/StringUtil.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

void check_rank(const at::Tensor& tensor, int64_t rank, const std::string& what, const std::string& expected) {
  if (!tensor.defined()) {
    throw std::invalid_argument(what + " must be " + expected + ", got an undefined tensor");
  }
  if (tensor.dim() != rank) {
    throw std::invalid_argument(what + " must be " + expected + " (rank " + std::to_string(rank) + "), got " +
                                c10::str(tensor.sizes()));
  }
  if (tensor.is_complex()) {
    throw std::invalid_argument(what + " must be real, got a complex tensor");
  }
}

void check_labels(const std::optional<Labels>& labels, int64_t size, const at::Tensor& tensor) {
  if (labels && static_cast<int64_t>(labels->count) != size) {
    throw std::invalid_argument(std::to_string(labels->count) + " " + labels->name + " for " + std::to_string(size) +
                                " " + labels->dimension + " of " + c10::str(tensor.sizes()));
  }
}

void check_not_empty(const at::Tensor& tensor, const std::string& what) {
  for (const auto size : tensor.sizes()) {
    if (size == 0) {
      throw std::invalid_argument(what + " " + c10::str(tensor.sizes()) + " is empty: nothing to draw");
    }
    if (size > kMaxCells) {
      throw std::invalid_argument(what + " " + c10::str(tensor.sizes()) + " is too large to draw legibly (at most " +
                                  std::to_string(kMaxCells) + " per dimension)");
    }
  }
}

}  // namespace

void check_matrix(const at::Tensor& tensor, int64_t rank, const std::string& what, const std::string& expected,
                  const std::optional<Labels>& rows, const std::optional<Labels>& columns) {
  check_rank(tensor, rank, what, expected);
  check_labels(rows, tensor.size(rank - 2), tensor);
  check_labels(columns, tensor.size(rank - 1), tensor);
  check_not_empty(tensor, what);
}

Matrix to_matrix(const at::Tensor& tensor) {
  const auto cpu = tensor.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
  Matrix matrix;
  matrix.rows = static_cast<int>(cpu.size(0));
  matrix.cols = static_cast<int>(cpu.size(1));
  const float* data = cpu.data_ptr<float>();
  matrix.values.assign(data, data + cpu.numel());
  return matrix;
}

std::pair<double, double> finite_range(const std::vector<const Matrix*>& matrices) {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  for (const auto* matrix : matrices) {
    for (const float value : matrix->values) {
      if (std::isfinite(value)) {
        low = std::min(low, static_cast<double>(value));
        high = std::max(high, static_cast<double>(value));
      }
    }
  }
  if (low > high) {
    return {0.0, 1.0};
  }
  return {low, high};
}

void check_index(int64_t index, size_t count, const std::string& what) {
  if (index < -1 || index >= static_cast<int64_t>(count)) {
    throw std::invalid_argument(what + " index " + std::to_string(index) + " is not -1 or a word index below " +
                                std::to_string(count));
  }
}

}  // namespace attention::pictures::detail
