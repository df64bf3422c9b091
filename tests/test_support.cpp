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

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance) {
  ASSERT_TRUE(actual.defined());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const auto expected_same = expected.to(actual.scalar_type());
  EXPECT_TRUE(torch::allclose(actual, expected_same, tolerance, tolerance))
      << "max |difference| = " << (actual - expected_same).abs().max().item<double>() << "\nactual:\n"
      << actual << "\nexpected:\n"
      << expected_same;
}

}  // namespace attention::testing
