#include "test_support.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <map>

namespace attention::testing {
namespace {

// tests/data/<file_name>, parsed once.
const nlohmann::json& reference_file(const std::string& file_name) {
  static std::map<std::string, nlohmann::json> files;
  auto& data = files[file_name];
  if (data.is_null()) {
    const std::string path = std::string(ATTENTION_TEST_DATA_DIR) + "/" + file_name;
    std::ifstream file(path);
    if (!file) {
      throw std::runtime_error("cannot open test data " + path);
    }
    data = nlohmann::json::parse(file);
  }
  return data;
}

}  // namespace

torch::Tensor reference(const std::string& case_name, const std::string& name, torch::ScalarType dtype) {
  return reference_in("reference.json", case_name, name, dtype);
}

torch::Tensor reference_in(const std::string& file_name, const std::string& case_name, const std::string& name,
                           torch::ScalarType dtype) {
  const auto& entry = reference_file(file_name).at(case_name).at(name);
  const auto values = entry.at("data").get<std::vector<double>>();
  const auto shape = entry.at("shape").get<std::vector<int64_t>>();
  return torch::tensor(values, torch::kDouble).view(shape).to(dtype);
}

void expect_gradients_match_finite_differences(const std::function<torch::Tensor()>& loss,
                                               const std::vector<torch::Tensor>& inputs) {
  constexpr double step = 1e-6, tolerance = 1e-6;
  const auto analytic = torch::autograd::grad({loss()}, inputs, {}, /*retain_graph=*/false,
                                              /*create_graph=*/false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto flat = inputs[i].detach().view(-1);  // shares storage: writes perturb the input itself
    auto numeric = torch::zeros_like(flat);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double original = flat[j].item<double>();
      flat[j] = original + step;
      const double above = loss().item<double>();
      flat[j] = original - step;
      const double below = loss().item<double>();
      flat[j] = original;
      numeric[j] = (above - below) / (2 * step);
    }
    const auto expected = numeric.view_as(inputs[i]);
    const auto actual = analytic[i].defined() ? analytic[i] : torch::zeros_like(expected);
    EXPECT_TRUE(torch::allclose(actual, expected, tolerance, tolerance))
        << "input " << i << " of shape " << inputs[i].sizes()
        << ": max |autograd - finite difference| = " << (actual - expected).abs().max().item<double>();
  }
}

void ScratchFolderTest::SetUp() {
  SeededTest::SetUp();
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = std::filesystem::temp_directory_path() /
         ("attention_" + std::to_string(::getpid()) + "_" + test->test_suite_name() + "_" + test->name());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

void ScratchFolderTest::TearDown() { std::filesystem::remove_all(dir_); }

torch::Tensor weighting_like(const torch::Tensor& x) {
  return torch::arange(x.numel(), x.options().requires_grad(false)).sin().view_as(x);
}

void set_parameters(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& values) {
  torch::NoGradGuard no_grad;
  auto parameters = module.named_parameters();
  for (const auto& [name, value] : values) {
    ASSERT_TRUE(parameters.contains(name)) << name;
    ASSERT_EQ(parameters[name].sizes(), value.sizes()) << name;
    parameters[name].copy_(value);
  }
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance) {
  ASSERT_TRUE(actual.defined());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const auto expected_same = expected.to(actual.scalar_type());
  EXPECT_TRUE(torch::allclose(actual, expected_same, tolerance, tolerance))
      << "max |difference| = " << (actual - expected_same).abs().max().item<double>() << "\nactual:\n"
      << actual << "\nexpected:\n"
      << expected_same;
}

std::vector<NamedPath> every_path(const AttentionOptions& options) {
  const auto no_weights = AttentionOptions(options).need_weights(false);
  return {{"materialized", AttentionOptions(options).path(AttentionPath::Materialized)},
          {"tiled, tiles of 1", AttentionOptions(no_weights).path(AttentionPath::Tiled).block_size(1)},
          {"tiled, tiles of 3", AttentionOptions(no_weights).path(AttentionPath::Tiled).block_size(3)},
          {"tiled", AttentionOptions(no_weights).path(AttentionPath::Tiled)},
          {"fused", AttentionOptions(no_weights).path(AttentionPath::Fused)}};
}

Outcome forward_and_backward(const std::function<torch::Tensor()>& forward, const std::vector<torch::Tensor>& inputs) {
  for (const auto& input : inputs) {
    input.mutable_grad() = torch::Tensor();
  }
  const auto context = forward();
  (context * weighting_like(context)).sum().backward();
  std::vector<torch::Tensor> gradients;
  for (const auto& input : inputs) {
    gradients.push_back(input.grad().clone());
  }
  return {context.detach(), gradients};
}

std::vector<torch::Tensor> reference_leaves(const std::string& case_name, const std::vector<std::string>& names) {
  std::vector<torch::Tensor> tensors;
  for (const auto& name : names) {
    tensors.push_back(reference(case_name, name).requires_grad_());
  }
  return tensors;
}

void expect_every_path_matches(const std::string& case_name, const std::string& context_name,
                               const AttentionOptions& options, double tolerance) {
  const auto inputs = reference_leaves(case_name, {"q", "k", "v"});
  for (const auto& path : every_path(options)) {
    SCOPED_TRACE(case_name + ", " + path.name);
    const auto outcome = forward_and_backward(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference(case_name, context_name), tolerance);
    if (context_name == "context" || context_name == "causal_context") {
      expect_close(outcome.gradients[0], reference(case_name, "grad_q"), tolerance);
      expect_close(outcome.gradients[1], reference(case_name, "grad_k"), tolerance);
      expect_close(outcome.gradients[2], reference(case_name, "grad_v"), tolerance);
    }
  }
}

}  // namespace attention::testing
