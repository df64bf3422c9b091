// Hugging Face checkpoints of every family (tests/data/models, written by tests/data/make_models.py with random
// weights) against the script's own PyTorch implementation of each: logits and attention weights, cached and
// paged decoding, batches of different lengths, greedy and sampled generation, bfloat16, and the errors of bad
// folders.
#include <attention/models.h>

#include "test_support.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace attention {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kModels = {"gpt2", "gpt2_prefixed", "llama", "llama_bf16", "mistral", "qwen2", "qwen3"};

std::string folder(const std::string& model) { return std::string(ATTENTION_TEST_DATA_DIR) + "/models/" + model; }

/// The reference tensor `name` of `model` (gpt2_prefixed holds gpt2's weights).
torch::Tensor expected(const std::string& model, const std::string& name, torch::ScalarType dtype = torch::kFloat) {
  return testing::reference_in("models/reference.json", model == "gpt2_prefixed" ? "gpt2" : model, name, dtype);
}

std::vector<int64_t> tokens(const torch::Tensor& ids) {
  const auto longs = ids.to(torch::kLong).contiguous();
  return {longs.data_ptr<int64_t>(), longs.data_ptr<int64_t>() + longs.numel()};
}

class ModelsTest : public testing::ScratchFolderTest {
 protected:
  /// A copy of `model`'s folder in the scratch folder, to spoil.
  std::string copy_of(const std::string& model) {
    const auto copy = dir_ / model;
    fs::copy(folder(model), copy, fs::copy_options::recursive);
    return copy.string();
  }
};

TEST_F(ModelsTest, EveryFamilyGivesPyTorchsLogitsAndAttention) {
  for (const auto& name : kModels) {
    SCOPED_TRACE(name);
    const auto model = load_causal_lm(folder(name), CausalLMOptions().dtype(torch::kFloat));
    const auto out = model.forward(expected(name, "input_ids", torch::kLong), /*need_attentions=*/true);
    testing::expect_close(out.logits, expected(name, "logits"), 1e-4);
    ASSERT_EQ(static_cast<int64_t>(out.attentions.size()), model.config().num_layers);
    testing::expect_close(torch::stack(out.attentions), expected(name, "attentions"), 1e-5);
  }
}

TEST_F(ModelsTest, CachedAndPagedDecodingEqualTheFullForward) {
  for (const auto& name : kModels) {
    SCOPED_TRACE(name);
    const auto model = load_causal_lm(folder(name), CausalLMOptions().dtype(torch::kFloat));
    const auto ids = expected(name, "input_ids", torch::kLong);  // [2, 7]
    std::vector<KVCache> caches(static_cast<size_t>(model.config().num_layers));
    std::vector<torch::Tensor> steps{model.forward_cached(ids.slice(1, 0, 4), caches).logits};
    for (int64_t t = 4; t < ids.size(1); ++t) {
      steps.push_back(model.forward_cached(ids.slice(1, t, t + 1), caches).logits);
    }
    testing::expect_close(torch::cat(steps, 1), expected(name, "logits"), 1e-4);
    // Paged: the two prompts of different lengths in one call, each row as the prompt alone.
    auto paged = model.make_paged_caches(/*block_size=*/4);
    std::vector<int64_t> ids_of;
    for (int i = 0; i < 2; ++i) {
      for (auto& cache : paged) {
        cache.add_sequence();
      }
      ids_of.push_back(i);
    }
    const auto first = expected(name, "prompt_0", torch::kLong), second = expected(name, "prompt_1", torch::kLong);
    const auto logits =
        model.forward_paged(torch::cat({first, second}), paged, ids_of, {first.size(0), second.size(0)}).logits;
    testing::expect_close(logits.slice(0, 0, first.size(0)), expected(name, "prompt_0_logits"), 1e-4);
    testing::expect_close(logits.slice(0, first.size(0)), expected(name, "prompt_1_logits"), 1e-4);
  }
}

TEST_F(ModelsTest, GreedyContinuationsAreTheSameAloneOrInABatch) {
  for (const auto& name : kModels) {
    SCOPED_TRACE(name);
    const auto model = load_causal_lm(folder(name), CausalLMOptions().dtype(torch::kFloat));
    const std::vector<std::vector<int64_t>> prompts{tokens(expected(name, "prompt_0")),
                                                    tokens(expected(name, "prompt_1"))};
    const auto options = GenerationOptions().max_new_tokens(6).eos_token_id(-1);
    const auto together = generate(model, prompts, options);
    const auto reversed = generate(model, {prompts[1], prompts[0], prompts[1]}, options);
    for (size_t i = 0; i < 2; ++i) {
      const auto alone = generate(model, {prompts[i]}, options);
      EXPECT_EQ(together[i], tokens(expected(name, "prompt_" + std::to_string(i) + "_greedy"))) << "prompt " << i;
      EXPECT_EQ(alone[0], together[i]) << "prompt " << i;
    }
    EXPECT_EQ(reversed[0], together[1]);
    EXPECT_EQ(reversed[1], together[0]);
    EXPECT_EQ(reversed[2], together[1]);
  }
}

// More than 512 rows in one call (a long prefill) take three projections instead of one packed product and the MLP
// in chunks of rows: the same logits as prompts short enough for neither.
TEST_F(ModelsTest, ALongPrefillEqualsItsPromptsAlone) {
  const auto model = load_causal_lm(folder("llama"), CausalLMOptions().dtype(torch::kFloat));
  const auto first = torch::randint(model.config().vocab_size, {300}, torch::kLong),
             second = torch::randint(model.config().vocab_size, {420}, torch::kLong);
  auto caches = model.make_paged_caches();
  std::vector<int64_t> ids;
  for (int i = 0; i < 2; ++i) {
    for (auto& cache : caches) {
      cache.add_sequence();
    }
    ids.push_back(i);
  }
  const auto packed = model.forward_paged(torch::cat({first, second}), caches, ids, {300, 420}).logits;  // 720 rows
  const auto alone_first = model.forward(first.unsqueeze(0)).logits.squeeze(0),
             alone_second = model.forward(second.unsqueeze(0)).logits.squeeze(0);
  testing::expect_close(packed.slice(0, 0, 300), alone_first, 1e-4);
  testing::expect_close(packed.slice(0, 300), alone_second, 1e-4);
  // The dense forward of 720 rows against the same prompt cached in two calls of 360.
  const auto whole = torch::cat({first, second}).unsqueeze(0);
  std::vector<KVCache> cached(static_cast<size_t>(model.config().num_layers));
  const auto halves = torch::cat({model.forward_cached(whole.slice(1, 0, 360), cached).logits,
                                  model.forward_cached(whole.slice(1, 360), cached).logits},
                                 1);
  testing::expect_close(model.forward(whole).logits, halves, 1e-4);
}

TEST_F(ModelsTest, SamplingWithASeedIsRepeatableAndIndependentOfTheBatch) {
  const auto model = load_causal_lm(folder("llama"));
  const std::vector<int64_t> prompt = tokens(expected("llama", "prompt_1"));
  const auto options =
      GenerationOptions().greedy(false).temperature(0.8).top_k(20).top_p(0.9).seed(7).max_new_tokens(8).eos_token_id(
          -1);
  const auto once = generate(model, {prompt, prompt}, options);
  const auto again = generate(model, {prompt, prompt}, options);
  EXPECT_EQ(once, again);
  EXPECT_EQ(once[0].size(), 8u);
  EXPECT_NE(once[0], once[1]);  // each prompt its own generator
  const auto other_seed = generate(model, {prompt}, GenerationOptions(options).seed(8));
  EXPECT_NE(other_seed[0], once[0]);
  std::vector<std::pair<size_t, int64_t>> streamed;
  generate(model, {prompt},
           GenerationOptions(options).on_token([&](size_t i, int64_t token) { streamed.emplace_back(i, token); }));
  ASSERT_EQ(streamed.size(), once[0].size());
  for (size_t j = 0; j < streamed.size(); ++j) {
    EXPECT_EQ(streamed[j], std::make_pair(size_t{0}, once[0][j]));
  }
}

TEST_F(ModelsTest, Bfloat16WeightsLoadAsStoredOrConverted) {
  const auto stored = load_causal_lm(folder("llama_bf16"));
  EXPECT_EQ(stored.dtype(), torch::kBFloat16);
  EXPECT_EQ(stored.config().dtype, torch::kBFloat16);
  const auto ids = expected("llama_bf16", "input_ids", torch::kLong);
  const auto logits = stored.forward(ids).logits;  // computed in bfloat16 (float32 accumulators in attention)
  EXPECT_EQ(logits.scalar_type(), torch::kFloat);
  const auto reference = expected("llama_bf16", "logits");
  EXPECT_LT((logits - reference).abs().max().item<double>(), 0.05 * reference.abs().max().item<double>());
  const auto converted = load_causal_lm(folder("llama_bf16"), CausalLMOptions().dtype(torch::kFloat));
  testing::expect_close(converted.forward(ids).logits, reference, 1e-4);
}

TEST_F(ModelsTest, ConfigsReadAsEachFamilyMeansThem) {
  const auto llama = read_model_config(folder("llama"));
  EXPECT_EQ(llama.num_kv_heads, 2);
  EXPECT_DOUBLE_EQ(llama.rope_scaling.factor, 8.0);
  const auto mistral = read_model_config(folder("mistral"));
  EXPECT_EQ(mistral.sliding_windows, std::vector<std::optional<int64_t>>(2, 4));
  const auto qwen2 = read_model_config(folder("qwen2"));  // sliding_window without use_sliding_window: none
  EXPECT_EQ(qwen2.sliding_windows, std::vector<std::optional<int64_t>>(2, std::nullopt));
  EXPECT_TRUE(qwen2.tie_word_embeddings && qwen2.attention_bias);
  const auto qwen3 = read_model_config(folder("qwen3"));
  EXPECT_EQ(qwen3.head_dim, 16);
  const auto gpt2 = read_model_config(folder("gpt2"));
  EXPECT_EQ(gpt2.hidden_size, 32);
  EXPECT_TRUE(gpt2.tie_word_embeddings);
}

/// Rewrites `key` of `dir`/config.json to the JSON `value`.
void set_config(const std::string& dir, const std::string& key, const std::string& value) {
  const auto path = dir + "/config.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("\"" + key + "\"");
  ASSERT_NE(at, std::string::npos) << key;
  const auto colon = text.find(':', at), end = text.find_first_of(",\n}", colon);
  text = text.substr(0, colon + 1) + " " + value + text.substr(end);
  std::ofstream(path) << text;
}

TEST_F(ModelsTest, BadFoldersNameTheFileAndTheProblem) {
  EXPECT_THROW_WITH(load_causal_lm(path("nowhere")), "config.json: cannot be read");
  auto unknown = copy_of("gpt2");
  set_config(unknown, "model_type", "\"bert\"");
  EXPECT_THROW_WITH(load_causal_lm(unknown), "model_type \"bert\" is not one this library runs");
  const auto rope = copy_of("llama");
  set_config(rope, "rope_type", "\"yarn\"");
  EXPECT_THROW_WITH(load_causal_lm(rope), "rope_scaling type \"yarn\" is not implemented");
  const auto wide = copy_of("qwen3");
  set_config(wide, "intermediate_size", "65");
  EXPECT_THROW_WITH(load_causal_lm(wide),
                    "misshapen (6): model.layers.0.mlp.down_proj.weight is [32, 64], expected [32, 65]");
  const auto untied = copy_of("qwen2");
  set_config(untied, "tie_word_embeddings", "false");
  EXPECT_THROW_WITH(load_causal_lm(untied), "missing (1): lm_head.weight");
  const auto no_weights = copy_of("mistral");
  fs::remove(fs::path(no_weights) / "model.safetensors");
  EXPECT_THROW_WITH(load_causal_lm(no_weights), "no weights (model.safetensors");
  const auto model = load_causal_lm(folder("gpt2"));
  EXPECT_THROW_WITH(model.forward(torch::tensor({{1, 2, 150}})), "token ids must lie in [0, 150)");
  EXPECT_THROW_WITH(model.forward(torch::zeros({1, 33}, torch::kLong)), "GPT-2 has 32 positions");
}

}  // namespace
}  // namespace attention
