// Weights trained in Python load into the modules and reproduce PyTorch's outputs; strict loading refuses the
// rest by name. Files and outputs: tests/data/state_dicts, written by tests/data/make_state_dicts.py.
#include <attention/attention.h>

#include "test_support.h"
#include "weight_file_support.h"

#include <fstream>

namespace attention {
namespace {

using testing::expect_close;
using testing::state_dict_file;

// Tensor `name` of case `case_name` in tests/data/state_dicts/outputs.json, as float32.
torch::Tensor expected(const std::string& case_name, const std::string& name) {
  return testing::reference_in("state_dicts/outputs.json", case_name, name, torch::kFloat);
}

// Copies of every parameter, to check that a refused load changed nothing.
std::vector<torch::Tensor> snapshot(const torch::nn::Module& module) {
  std::vector<torch::Tensor> copies;
  for (const auto& parameter : module.parameters()) {
    copies.push_back(parameter.detach().clone());
  }
  return copies;
}

void expect_unchanged(const torch::nn::Module& module, const std::vector<torch::Tensor>& before) {
  const auto after = module.parameters();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(torch::equal(after[i], before[i])) << "parameter " << i << " changed";
  }
}

// Tolerance of float32 modules against PyTorch's float64 outputs.
constexpr double kTolerance = 1e-5;

class StateDictTest : public testing::ScratchFolderTest {
 protected:
  const torch::Tensor query = expected("mha_packed", "query"), key = expected("mha_packed", "key"),
                      value = expected("mha_packed", "value"), x = expected("mha_packed", "x");
};

TEST_F(StateDictTest, MultiheadAttentionStateDictReproducesPyTorch) {
  for (const auto* file : {"mha_packed.pt", "mha_packed.safetensors", "own_names.pt", "own_names_views.pt"}) {
    SCOPED_TRACE(file);
    MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
    load_state_dict(mha, state_dict_file(file));
    expect_close(mha(query, key, value).context, expected("mha_packed", "output"), kTolerance);
    expect_close(mha(x, x, x).context, expected("mha_packed", "self_output"), kTolerance);
    // PyTorch's attn_mask is true where blocked; ours true where a query may attend.
    const auto may_attend = torch::ones({4, 4}, torch::kBool).triu(1).logical_not();
    expect_close(mha(x, x, x, may_attend).context, expected("mha_packed", "causal_output"), kTolerance);
  }
}

TEST_F(StateDictTest, SelfAttentionLoadsTheSameNames) {
  SelfAttention self(SelfAttentionOptions(8, 2).causal(true));
  load_state_dict(self, state_dict_file("mha_packed.pt"));
  expect_close(self(x).context, expected("mha_packed", "causal_output"), kTolerance);
  SelfAttention own(SelfAttentionOptions(8, 2));
  load_state_dict(own, state_dict_file("own_names.pt"));
  expect_close(own(x).context, expected("mha_packed", "self_output"), kTolerance);
}

TEST_F(StateDictTest, Float16Bfloat16AndFloat64AreConvertedToTheModulesDtype) {
  const std::pair<const char*, const char*> files[] = {{"mha_packed_f16.safetensors", "mha_packed_f16"},
                                                       {"mha_packed_bf16.safetensors", "mha_packed_bf16"},
                                                       {"mha_packed_f64.safetensors", "mha_packed"},
                                                       {"mha_packed_mixed.pt", "mha_packed_mixed"}};
  for (const auto& [file, case_name] : files) {
    SCOPED_TRACE(file);
    MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
    load_state_dict(mha, state_dict_file(file));
    for (const auto& parameter : mha->parameters()) {
      EXPECT_EQ(parameter.scalar_type(), torch::kFloat);
    }
    expect_close(mha(query, key, value).context, expected(case_name, "output"), kTolerance);
  }
  // The rounding is real: float16 weights do not give the float32 outputs.
  EXPECT_FALSE(torch::allclose(expected("mha_packed_f16", "output"), expected("mha_packed", "output"), 1e-4, 1e-4));
}

TEST_F(StateDictTest, LoadsIntoAFloat64Module) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  mha->to(torch::kDouble);
  load_state_dict(mha, state_dict_file("mha_packed_f16.safetensors"));
  const auto reference = [](const char* name) {
    return testing::reference_in("state_dicts/outputs.json", "mha_packed", name);  // float64
  };
  EXPECT_EQ(mha->W_q->weight.scalar_type(), torch::kDouble);
  const auto out = mha(reference("query"), reference("key"), reference("value")).context;
  expect_close(out, testing::reference_in("state_dicts/outputs.json", "mha_packed_f16", "output"), 1e-12);
}

TEST_F(StateDictTest, LoadsOntoTheModulesDevice) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device";
  }
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  mha->to(torch::kCUDA);
  load_state_dict(mha, state_dict_file("mha_packed.safetensors"));
  EXPECT_TRUE(mha->W_q->weight.is_cuda());
  const auto out = mha(query.cuda(), key.cuda(), value.cuda()).context.cpu();
  expect_close(out, expected("mha_packed", "output"), kTolerance);
}

TEST_F(StateDictTest, SeparateProjectionsWhenKdimAndVdimDiffer) {
  for (const auto* file : {"mha_kv.pt", "mha_kv.safetensors"}) {
    SCOPED_TRACE(file);
    MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).kdim(5).vdim(3));
    load_state_dict(mha, state_dict_file(file));
    expect_close(mha(expected("mha_kv", "query"), expected("mha_kv", "key"), expected("mha_kv", "value")).context,
                 expected("mha_kv", "output"), kTolerance);
  }
}

TEST_F(StateDictTest, WithoutBiases) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).bias(false));
  load_state_dict(mha, state_dict_file("mha_nobias.pt"));
  expect_close(mha(query, key, value).context, expected("mha_nobias", "output"), kTolerance);
}

TEST_F(StateDictTest, ScaledDotProductAttentionLoadsItsOwnNames) {
  const auto input = expected("sdpa", "x");
  for (const auto* file : {"sdpa.pt", "sdpa.safetensors"}) {
    SCOPED_TRACE(file);
    ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 4));
    load_state_dict(sdpa, state_dict_file(file));
    expect_close(sdpa(input, input, input).context, expected("sdpa", "context"), kTolerance);
    ScaledDotProductAttention causal(ScaledDotProductAttentionOptions(6, 4).causal(true));
    load_state_dict(causal, state_dict_file(file));
    expect_close(causal(input, input, input).context, expected("sdpa", "causal_context"), kTolerance);
  }
}

TEST_F(StateDictTest, ReadStateDictGivesTheFilesTensorsInOrder) {
  const auto saved = read_state_dict(state_dict_file("mha_packed.pt"));
  const auto safetensors = read_state_dict(state_dict_file("mha_packed.safetensors"));
  const std::vector<std::string> keys = {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};
  EXPECT_EQ(saved.keys(), keys);
  EXPECT_EQ(safetensors.keys(), keys);
  EXPECT_EQ(saved["in_proj_weight"].sizes(), torch::IntArrayRef({24, 8}));
  for (const auto& key : keys) {  // both written by PyTorch from one state_dict
    EXPECT_TRUE(torch::equal(saved[key], safetensors[key])) << key;
  }

  const auto mixed = read_state_dict(state_dict_file("mha_packed_mixed.pt"));
  EXPECT_EQ(mixed["in_proj_weight"].scalar_type(), torch::kHalf);
  EXPECT_EQ(mixed["in_proj_bias"].scalar_type(), torch::kBFloat16);
  EXPECT_EQ(mixed["out_proj.weight"].scalar_type(), torch::kDouble);
  EXPECT_EQ(mixed["out_proj.bias"].scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(mixed["in_proj_weight"], saved["in_proj_weight"].to(torch::kHalf)));

  // Views of one packed tensor keep sharing its storage, at their offsets.
  const auto views = read_state_dict(state_dict_file("own_names_views.pt"));
  EXPECT_TRUE(views["W_k.weight"].is_alias_of(views["W_q.weight"]));
  EXPECT_EQ(views["W_k.weight"].storage_offset(), 64);
  EXPECT_TRUE(torch::equal(views["W_k.weight"], saved["in_proj_weight"].slice(0, 8, 16)));
}

// ------------------------------------------------------------------------------------------- strict loading

TEST_F(StateDictTest, MissingKeysAreListedAndTheModuleIsUnchanged) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  const auto before = snapshot(*mha);
  EXPECT_THROW_WITH(load_state_dict(mha, state_dict_file("mha_nobias.pt")),
                    "mha_nobias.pt: does not fit attention::MultiHeadAttention(embed_dim=8, num_heads=2, bias=true, "
                    "causal=false, dropout=0): missing keys: W_q.bias (in_proj_bias), W_k.bias (in_proj_bias), "
                    "W_v.bias (in_proj_bias), W_o.bias (out_proj.bias)");
  expect_unchanged(*mha, before);

  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 4).bias(true));
  EXPECT_THROW_WITH(load_state_dict(sdpa, state_dict_file("sdpa.pt")), "missing keys: W_q.bias, W_k.bias, W_v.bias");
}

TEST_F(StateDictTest, UnexpectedKeysAreListed) {
  MultiHeadAttention no_bias(MultiHeadAttentionOptions(8, 2).bias(false));
  const auto before = snapshot(*no_bias);
  EXPECT_THROW_WITH(load_state_dict(no_bias, state_dict_file("mha_packed.pt")),
                    "unexpected keys: in_proj_bias, out_proj.bias");
  expect_unchanged(*no_bias, before);

  // torch.nn.MultiheadAttention's names mean nothing to the single-head module.
  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(8, 8));
  EXPECT_THROW_WITH(load_state_dict(sdpa, state_dict_file("mha_packed.pt")),
                    "missing keys: W_q.weight, W_k.weight, W_v.weight; unexpected keys: in_proj_weight, "
                    "in_proj_bias, out_proj.weight, out_proj.bias (torch.nn.MultiheadAttention's names load into "
                    "MultiHeadAttention and SelfAttention)");
}

TEST_F(StateDictTest, WrongShapesNameTheParameterAndBothShapes) {
  MultiHeadAttention narrow_keys(MultiHeadAttentionOptions(8, 2).kdim(4));
  const auto before = snapshot(*narrow_keys);
  EXPECT_THROW_WITH(load_state_dict(narrow_keys, state_dict_file("mha_packed.pt")),
                    "mha_packed.pt: 'W_k.weight' has shape [8, 4] in this module but [8, 8] in the file "
                    "('in_proj_weight'[8:16])");
  expect_unchanged(*narrow_keys, before);

  MultiHeadAttention wide(MultiHeadAttentionOptions(16, 2));
  EXPECT_THROW_WITH(load_state_dict(wide, state_dict_file("mha_packed.safetensors")),
                    "'in_proj_weight' has shape [24, 8] but this module needs 16 + 16 + 16 = 48 rows (W_q, W_k, W_v)");

  MultiHeadAttention packed(MultiHeadAttentionOptions(8, 2));
  EXPECT_THROW_WITH(load_state_dict(packed, state_dict_file("mha_kv.pt")),
                    "'W_k.weight' has shape [8, 8] in this module but [8, 5] in the file ('k_proj_weight')");

  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 3));
  EXPECT_THROW_WITH(load_state_dict(sdpa, state_dict_file("sdpa.safetensors")),
                    "'W_q.weight' has shape [3, 6] in this module but [4, 6] in the file");
}

TEST_F(StateDictTest, AddBiasKvIsRefused) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  const auto before = snapshot(*mha);
  EXPECT_THROW_WITH(load_state_dict(mha, state_dict_file("mha_bias_kv.pt")),
                    "mha_bias_kv.pt: has 'bias_k', the key/value bias of torch.nn.MultiheadAttention with "
                    "add_bias_kv=True");
  expect_unchanged(*mha, before);
}

TEST_F(StateDictTest, OtherKeysAndIntegerValuesAreRefused) {
  // A key of the file's own beside the module's names.
  const auto sdpa_file = read_state_dict(state_dict_file("sdpa.pt"));
  auto tensors = sdpa_file.pairs();
  tensors.emplace_back("extra", torch::ones({2}));
  testing::write_safetensors(path("extra.safetensors"), tensors);
  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 4));
  const auto before = snapshot(*sdpa);
  EXPECT_THROW_WITH(load_state_dict(sdpa, path("extra.safetensors")), "unexpected keys: extra");

  // Integers are not weights.
  tensors.pop_back();
  tensors[1].second = tensors[1].second.to(torch::kLong);
  testing::write_safetensors(path("integers.safetensors"), tensors);
  EXPECT_THROW_WITH(load_state_dict(sdpa, path("integers.safetensors")),
                    "integers.safetensors: 'W_k.weight' holds Long values; parameters need floating-point ones");
  expect_unchanged(*sdpa, before);

  // W_q.weight both from in_proj_weight and under its own name: which one is meant is unclear.
  auto both = read_state_dict(state_dict_file("mha_packed.pt")).pairs();
  both.emplace_back("W_q.weight", torch::zeros({8, 8}));
  testing::write_safetensors(path("both.safetensors"), both);
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  EXPECT_THROW_WITH(load_state_dict(mha, path("both.safetensors")),
                    "both.safetensors: both 'in_proj_weight' and 'W_q.weight' hold W_q.weight");
}

TEST_F(StateDictTest, BadPathsNameTheFile) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2));
  EXPECT_THROW_WITH(load_state_dict(mha, path("no_such.pt")), "no_such.pt: no such file");
  EXPECT_THROW_WITH(load_state_dict(mha, dir_.string()), ": a directory, not a weight file");
  std::ofstream(path("empty.safetensors")).close();
  EXPECT_THROW_WITH(load_state_dict(mha, path("empty.safetensors")), "empty.safetensors: an empty file");
  std::ofstream(path("notes.txt")) << "not weights at all";
  EXPECT_THROW_WITH(read_state_dict(path("notes.txt")),
                    "notes.txt: neither a torch.save zip archive (which starts with \"PK\") nor a safetensors file");
}

}  // namespace
}  // namespace attention
