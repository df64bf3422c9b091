#pragma once
// Helpers shared by the tests: PyTorch reference data, a finite-difference gradient check, and a comparison of
// every attention path against the reference.

#include <attention/functional.h>

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace attention::testing {

/// Tensor `name` of case `case_name` in tests/data/reference.json (made by tests/data/make_reference.py).
torch::Tensor reference(const std::string& case_name, const std::string& name,
                        torch::ScalarType dtype = torch::kDouble);

/// Tensor `name` of case `case_name` in the JSON file tests/data/`file_name`, laid out as reference.json.
torch::Tensor reference_in(const std::string& file_name, const std::string& case_name, const std::string& name,
                           torch::ScalarType dtype = torch::kDouble);

/// Expects the autograd gradients of `loss()` (a scalar) with respect to each of `inputs` (double tensors that
/// require grad) to match central finite differences.
void expect_gradients_match_finite_differences(const std::function<torch::Tensor()>& loss,
                                               const std::vector<torch::Tensor>& inputs);

/// A fixed pseudo-random weighting, so a loss sum(x * weighting) depends on every element differently.
torch::Tensor weighting_like(const torch::Tensor& x);

/// Copies `values` into the parameters of `module` named by them (each must exist, with the value's shape).
void set_parameters(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& values);

/// Expects `actual` and `expected` to have equal shapes and to agree within `tolerance` (absolute and relative).
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance);

/// Expects `statement` to throw a c10::Error or std::exception whose message contains `fragment`.
#define EXPECT_THROW_WITH(statement, fragment)                                                 \
  do {                                                                                         \
    try {                                                                                      \
      statement;                                                                               \
      ADD_FAILURE() << "no exception from: " #statement;                                       \
    } catch (const c10::Error& error) {                                                        \
      EXPECT_NE(std::string(error.what_without_backtrace()).find(fragment), std::string::npos) \
          << error.what_without_backtrace();                                                   \
    } catch (const std::exception& error) {                                                    \
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();  \
    }                                                                                          \
  } while (false)

/// A forced attention path, named for messages.
struct NamedPath {
  std::string name;
  AttentionOptions options;
};

/// `options` on each path: materialised (with weights), tiled with tiles of 1, 3 and the default size, and fused
/// (which falls back to tiled where LibTorch's kernel can't express the case).
std::vector<NamedPath> every_path(const AttentionOptions& options);

/// A context and the gradients of sum(context · weighting_like(context)) (the reference's sin-weighted loss).
struct Outcome {
  torch::Tensor context;
  std::vector<torch::Tensor> gradients;
};

/// The context that `forward` computes and the gradients of its sin-weighted loss with respect to `inputs`
/// (leaves; their old gradients are cleared first).
Outcome forward_and_backward(const std::function<torch::Tensor()>& forward, const std::vector<torch::Tensor>& inputs);

/// Leaf copies of the reference tensors `names` of `case_name`, requiring grad.
std::vector<torch::Tensor> reference_leaves(const std::string& case_name, const std::vector<std::string>& names);

/// Expects scaled_dot_product_attention of the reference case's q, k, v with `options` to give its `context_name`
/// on every path, and for "context" and "causal_context" also its grad_q, grad_k and grad_v.
void expect_every_path_matches(const std::string& case_name, const std::string& context_name,
                               const AttentionOptions& options, double tolerance = 1e-10);

/// Seeds LibTorch's generator before each test.
class SeededTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

/// A seeded test with a fresh, empty scratch folder `dir_` of its own, removed after the test.
class ScratchFolderTest : public SeededTest {
 protected:
  void SetUp() override;
  void TearDown() override;
  /// `name` inside the scratch folder.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

}  // namespace attention::testing
