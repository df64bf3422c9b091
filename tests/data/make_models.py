#!/usr/bin/python3
"""Tiny Hugging Face checkpoints, and what an independent PyTorch implementation computes with them.

The C++ tests of ``attention::load_causal_lm`` load the folders under ``tests/data/models/`` as a user would load a
model downloaded from the Hugging Face hub, and compare their logits, attention weights and greedy continuations with
``tests/data/models/reference.json``.  Nothing here imports ``transformers`` or ``safetensors``: the files are written
from the formats' specifications, and the reference is this script's own plain-PyTorch implementation of each family,
written from the published architectures (Hugging Face's modeling_gpt2.py, modeling_llama.py, modeling_mistral.py,
modeling_qwen2.py, modeling_qwen3.py, modeling_rope_utils.py and masking_utils.py were read, not run).

Regenerate (from the repository root, with Debian's PyTorch, which is what ``/usr/bin/python3`` provides; the output
is deterministic, byte for byte):

    /usr/bin/python3 tests/data/make_models.py tests/data/models

Before writing anything the script checks its own pieces (``self_checks``): GPT-2's attention against
``torch.nn.functional.multi_head_attention_forward`` with the same weights; a Llama-family attention without rotary
positions (Qwen2's biases, GQA) against the same function with each key/value head's rows repeated; rotate-half RoPE
against a rotation computed by hand with ``math.cos``/``math.sin``; the llama3 frequencies against a scalar,
branch-by-branch version of the formula; ``gelu_new`` against ``F.gelu(approximate="tanh")``; the RMSNorm against its
definition.  After writing, every folder is read back (safetensors by this script's own reader, ``pytorch_model.bin``
by ``torch.load``) and the references are computed from the weights as read; the float32 references must agree with a
float64 run (and each batch row with itself run alone) within 1e-6 times the largest logit (1e-5 for the attention
weights), and every greedy step's best logit must beat the second by more than 1e-3 (no near-ties for
the C++ side to break differently).

Files: ``<name>/config.json`` (``json.dumps(indent=2, sort_keys=True)`` plus a newline, as ``PretrainedConfig.
save_pretrained`` writes it, with ``"transformers_version": "4.51.3"``), and the weights:

- ``model.safetensors``: 8-byte little-endian header length N, N bytes of JSON
  ``{"__metadata__": {"format": "pt"}, name: {"dtype": "F32"|"BF16", "shape": [...], "data_offsets": [begin, end]},
  ...}`` (no spaces, padded with spaces to a multiple of 8), then the raw little-endian data; tensors sorted by name
  in both the header and the data, as the safetensors library writes them.
- sharded: ``model-0000K-of-0000N.safetensors`` and ``model.safetensors.index.json`` =
  ``{"metadata": {"total_size": bytes of all tensors}, "weight_map": {name: file}}`` (indent 2, sorted keys, as
  ``save_pretrained`` writes it).  Shards are cut in ``state_dict`` order (here: at the layer boundary).
- ``pytorch_model.bin``: ``torch.save(state_dict, path, _use_new_zipfile_serialization=True)`` of a plain dict in
  ``state_dict`` order.

Models (every one: 2 layers, float32 unless stated, random weights from ``torch.Generator().manual_seed(seed)``,
drawn in state_dict order: linear weights ``randn / sqrt(fan_in)``, norm weights ``1 + 0.1 randn``, biases
``0.1 randn``, embeddings ``randn``; so that greedy decoding does not just repeat the last token and the logits are
spread (standard deviation 4 to 6) a few are scaled: GPT-2's ``wte`` by 0.1, ``wpe`` by 0.5, both ``c_proj`` by 3 and
``ln_f.weight`` by 10; an untied ``lm_head`` by 4; a tied ``embed_tokens`` by 0.1 with ``model.norm.weight`` by 10):

gpt2 (seed 100)
    ``model_type: gpt2``, n_embd 32, n_head 4, n_layer 2, n_positions = n_ctx 32, vocab_size 150,
    layer_norm_epsilon 1e-5, activation_function ``gelu_new`` (tanh), n_inner null (4 n_embd).  ``model.safetensors``
    with the key names of the hub's original ``gpt2`` file (no prefix, no ``lm_head.weight``: tied to ``wte``):
    ``wte.weight`` [150, 32], ``wpe.weight`` [32, 32], ``h.N.ln_1.{weight,bias}`` [32],
    ``h.N.attn.c_attn.{weight [32, 96], bias [96]}`` (Conv1D, stored [in, out], columns q | k | v),
    ``h.N.attn.c_proj.{weight [32, 32], bias}``, ``h.N.ln_2.*``, ``h.N.mlp.c_fc.{weight [32, 128], bias [128]}``,
    ``h.N.mlp.c_proj.{weight [128, 32], bias [32]}``, ``ln_f.{weight,bias}``, and the causal-mask buffers
    ``h.N.attn.bias`` [1, 1, 32, 32] that a loader must ignore: F32 ones on and below the diagonal, as in the hub's
    file (its model.safetensors is 548,105,171 bytes = 124,439,808 float32 parameters + 12 float32 [1,1,1024,1024]
    masks + the header).  As in the hub's config, ``tie_word_embeddings`` is absent (its default, true).
gpt2_prefixed
    The same weights as ``GPT2LMHeadModel.save_pretrained(safe_serialization=False)`` writes them now:
    ``pytorch_model.bin`` with the ``transformer.`` prefix (``transformer.wte.weight``, ``transformer.h.0.ln_1.weight``,
    ..., ``transformer.ln_f.bias``), no ``attn.bias`` (a non-persistent buffer today), and ``lm_head.weight``, which
    torch.save stores as the SAME storage as ``transformer.wte.weight`` (transformers removes tied aliases only on its
    safetensors path).  Its reference is ``gpt2``'s (no entry of its own).
llama (seed 200)
    ``model_type: llama``, hidden_size 32, 4 heads, 2 key/value heads (GQA), head_dim 8, intermediate_size 64,
    vocab_size 256, rms_norm_eps 1e-5, rope_theta 500000, ``rope_scaling`` ``{"rope_type": "llama3", "factor": 8.0,
    "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 256}``,
    max_position_embeddings 2048, untied ``lm_head.weight``.  Sharded: ``model-00001-of-00002.safetensors``
    (``model.embed_tokens.weight`` and layer 0), ``model-00002-of-00002.safetensors`` (layer 1, ``model.norm.weight``,
    ``lm_head.weight``) and ``model.safetensors.index.json``.  original_max_position_embeddings is 256 so that the
    4 frequencies of head_dim 8 (wavelengths 6.3, 167, 4443, 118000) fall in all three branches of the llama3 rule
    (kept below 64, smoothed between 64 and 256, divided by 8 above 256).
llama_bf16
    llama's weights rounded to bfloat16, ``"torch_dtype": "bfloat16"``, one ``model.safetensors`` of BF16 tensors.
    Its reference is computed in float32 from the bfloat16 weights upcast.
mistral (seed 300)
    ``model_type: mistral``, hidden 32, 4 heads, 2 key/value heads, intermediate 64, vocab 200, rope_theta 10000,
    ``sliding_window`` 4 (Hugging Face: query i sees key j iff j <= i and i - j < 4), untied.
qwen2 (seed 400)
    ``model_type: qwen2``, hidden 32, 4 heads, 2 key/value heads, intermediate 64, vocab 160, rope_theta 1e6,
    biases on q_proj, k_proj, v_proj (not o_proj), ``tie_word_embeddings: true`` (no ``lm_head.weight``),
    ``use_sliding_window: false`` with ``sliding_window: 4`` and ``max_window_layers: 2`` in the config, which
    Hugging Face ignores when use_sliding_window is false (a loader that applied the window would not match).
qwen3 (seed 500)
    ``model_type: qwen3``, hidden 32, 4 heads of ``head_dim`` 16 (not 32 / 4), 2 key/value heads, intermediate 64,
    vocab 120, rope_theta 1e6, ``attention_bias: false``, ``q_norm.weight`` and ``k_norm.weight`` [16] (RMSNorm of
    each head's query and key, eps rms_norm_eps, before RoPE), untied, ``use_sliding_window: false``.

Llama-family names (``L`` = layer): ``model.embed_tokens.weight`` [V, E], ``model.layers.L.input_layernorm.weight``
[E], ``model.layers.L.self_attn.{q_proj [H d, E], k_proj [Hkv d, E], v_proj [Hkv d, E], o_proj [E, H d]}.weight``
(qwen2 also ``.bias`` of q, k, v; qwen3 also ``self_attn.q_norm.weight``, ``self_attn.k_norm.weight`` [d]),
``model.layers.L.post_attention_layernorm.weight`` [E], ``model.layers.L.mlp.{gate_proj [I, E], up_proj [I, E],
down_proj [E, I]}.weight``, ``model.norm.weight`` [E], ``lm_head.weight`` [V, E] unless tied.

reference.json (the layout of tests/data/reference.json: one object per model, each tensor ``{"shape", "data"}``
in row-major order; ids as integers; floats written as the shortest decimal that rounds to the same float32):

``input_ids`` [2, 7]: random ids from the model's generator (both rows full length);
``logits`` [2, 7, V]: the forward of that batch (positions 0..6, causal);
``attentions`` [layers, 2, H, 7, 7]: each layer's softmax weights (rows sum to 1, zeros where masked);
``prompt_0`` [3] and ``prompt_1`` [6]: two prompts of different lengths, each run ALONE (positions from 0):
``prompt_K_logits`` [len, V]; ``prompt_K_greedy`` [6]: six tokens by argmax, recomputing the whole sequence at each
step; ``prompt_K_greedy_logits`` [6, V]: the last position's logits at each of those steps (the row whose argmax is
the token; a cached decoder must reproduce them);
``inv_freq`` [d / 2] (RoPE families): the rotary inverse frequencies after any scaling (float32, as Hugging Face
computes them: ``1 / theta ** (arange(0, d, 2) / d)``).
"""

import json
import math
import os
import shutil
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_state_dicts  # noqa: E402  (its safetensors writer)

COMMAND = "/usr/bin/python3 tests/data/make_models.py tests/data/models"
TRANSFORMERS_VERSION = "4.51.3"
GREEDY_STEPS = 6
MIN_GREEDY_MARGIN = 1e-3

DTYPE_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
DTYPES = {name: dtype for dtype, name in DTYPE_NAMES.items()}


# ----------------------------------------------------------------------------------------------------------------
# Files

def save_safetensors(tensors, path):
    """Writes name -> tensor as a safetensors file, sorted by name (the safetensors library's order for one dtype),
    with make_state_dicts.py's writer; returns the data's bytes."""
    return make_state_dicts.save_safetensors(OrderedDict(sorted(tensors.items())), path)


def load_safetensors(path):
    """Reads a safetensors file (independently of the writer: offsets and sizes are checked)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out, end = OrderedDict(), 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES[info["dtype"]]
        begin, stop = info["data_offsets"]
        numel = math.prod(info["shape"])
        assert stop - begin == numel * torch.tensor([], dtype=dtype).element_size(), name
        raw = bytearray(data[begin:stop])
        if dtype == torch.bfloat16:
            x = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if numel else torch.empty(0, dtype=dtype)
        else:
            x = torch.frombuffer(raw, dtype=dtype) if numel else torch.empty(0, dtype=dtype)
        out[name] = x.reshape(info["shape"]).clone()
        end = max(end, stop)
    assert end == len(data), path
    return out


def write_json(obj, path):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_sharded(tensors, shards, directory):
    """`shards`: lists of names in state_dict order, one list per file."""
    n = len(shards)
    weight_map, total = {}, 0
    for i, names in enumerate(shards):
        file = "model-%05d-of-%05d.safetensors" % (i + 1, n)
        total += save_safetensors({name: tensors[name] for name in names}, os.path.join(directory, file))
        for name in names:
            weight_map[name] = file
    assert sorted(weight_map) == sorted(tensors)
    write_json({"metadata": {"total_size": total}, "weight_map": weight_map},
               os.path.join(directory, "model.safetensors.index.json"))


def load_folder(directory):
    """name -> tensor from whichever weight file the folder has (the order a loader tries them in)."""
    single = os.path.join(directory, "model.safetensors")
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(single):
        return load_safetensors(single)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        out = {}
        for file in sorted(set(weight_map.values())):
            part = load_safetensors(os.path.join(directory, file))
            assert all(weight_map[name] == file for name in part), file
            out.update(part)
        assert sorted(out) == sorted(weight_map)
        return out
    return torch.load(os.path.join(directory, "pytorch_model.bin"))


# ----------------------------------------------------------------------------------------------------------------
# Random weights

class Init:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def randn(self, *shape):
        return torch.randn(*shape, generator=self.g, dtype=torch.float32)

    def linear(self, out_features, in_features, gain=1.0):
        return gain * self.randn(out_features, in_features) / math.sqrt(in_features)

    def norm(self, n, gain=1.0):
        return gain * (1 + 0.1 * self.randn(n))

    def bias(self, n):
        return 0.1 * self.randn(n)

    def ids(self, vocab, *shape):
        return torch.randint(0, vocab, shape, generator=self.g, dtype=torch.int64)


def gpt2_weights(cfg, init):
    """GPT2Model.state_dict() of the hub's original file: no prefix, Conv1D weights [in, out], masks included."""
    E, P, V = cfg["n_embd"], cfg["n_positions"], cfg["vocab_size"]
    inner = cfg["n_inner"] or 4 * E
    w = OrderedDict()
    w["wte.weight"] = 0.1 * init.randn(V, E)
    w["wpe.weight"] = 0.5 * init.randn(P, E)
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        w[p + "ln_1.weight"] = init.norm(E)
        w[p + "ln_1.bias"] = init.bias(E)
        w[p + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
        w[p + "attn.c_attn.weight"] = init.linear(3 * E, E).t().contiguous()
        w[p + "attn.c_attn.bias"] = init.bias(3 * E)
        w[p + "attn.c_proj.weight"] = init.linear(E, E, 3.0).t().contiguous()
        w[p + "attn.c_proj.bias"] = init.bias(E)
        w[p + "ln_2.weight"] = init.norm(E)
        w[p + "ln_2.bias"] = init.bias(E)
        w[p + "mlp.c_fc.weight"] = init.linear(inner, E).t().contiguous()
        w[p + "mlp.c_fc.bias"] = init.bias(inner)
        w[p + "mlp.c_proj.weight"] = init.linear(E, inner, 3.0).t().contiguous()
        w[p + "mlp.c_proj.bias"] = init.bias(E)
    w["ln_f.weight"] = init.norm(E, 10.0)
    w["ln_f.bias"] = init.bias(E)
    return w


def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def llama_weights(cfg, init):
    """LlamaForCausalLM-style state_dict() in its order (Mistral, Qwen2, Qwen3 share it)."""
    E, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H, Hkv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    w = OrderedDict()
    tied = cfg["tie_word_embeddings"]
    w["model.embed_tokens.weight"] = (0.1 if tied else 1.0) * init.randn(V, E)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        w[p + "self_attn.q_proj.weight"] = init.linear(H * d, E)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = init.bias(H * d)
        w[p + "self_attn.k_proj.weight"] = init.linear(Hkv * d, E)
        if qkv_bias:
            w[p + "self_attn.k_proj.bias"] = init.bias(Hkv * d)
        w[p + "self_attn.v_proj.weight"] = init.linear(Hkv * d, E)
        if qkv_bias:
            w[p + "self_attn.v_proj.bias"] = init.bias(Hkv * d)
        w[p + "self_attn.o_proj.weight"] = init.linear(E, H * d)
        if cfg["model_type"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = init.norm(d)
            w[p + "self_attn.k_norm.weight"] = init.norm(d)
        w[p + "mlp.gate_proj.weight"] = init.linear(I, E)
        w[p + "mlp.up_proj.weight"] = init.linear(I, E)
        w[p + "mlp.down_proj.weight"] = init.linear(E, I)
        w[p + "input_layernorm.weight"] = init.norm(E)
        w[p + "post_attention_layernorm.weight"] = init.norm(E)
    w["model.norm.weight"] = init.norm(E, 10.0 if tied else 1.0)
    if not tied:
        w["lm_head.weight"] = init.linear(V, E, 4.0)
    return w


# ----------------------------------------------------------------------------------------------------------------
# The reference implementations (plain PyTorch, any floating dtype)

def gelu_new(x):
    # modeling_gpt2 "gelu_new" (activations.NewGELUActivation):
    # 0.5 * x * (1.0 + tanh(sqrt(2.0 / pi) * (x + 0.044715 * x^3)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def rms_norm(x, weight, eps):
    # LlamaRMSNorm: variance = x^2 mean over the last dim; x * rsqrt(variance + eps); weight * x
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def attend(q, k, v, allowed):
    """q [B, H, T, d], k and v [B, H, S, d], allowed [T, S] bool: softmax(q k^T / sqrt(d)) v and the weights."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def causal_allowed(T, window=None):
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    allowed = j <= i
    if window is not None:
        # masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window
        allowed = allowed & (j > i - window)
    return allowed


def gpt2_attention(x, w, p, H):
    B, T, E = x.shape
    d = E // H
    qkv = x @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x W + b, W [in, out]
    q, k, v = qkv.split(E, dim=-1)
    q, k, v = (y.view(B, T, H, d).transpose(1, 2) for y in (q, k, v))
    context, weights = attend(q, k, v, causal_allowed(T))
    context = context.transpose(1, 2).reshape(B, T, E)
    return context @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"], weights


def gpt2_forward(w, cfg, ids, dtype=torch.float32):
    w = {name: x.to(dtype) for name, x in w.items()}
    B, T = ids.shape
    eps = cfg["layer_norm_epsilon"]
    h = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    attentions = []
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        a, weights = gpt2_attention(layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps), w, p,
                                    cfg["n_head"])
        attentions.append(weights)
        h = h + a
        m = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        h = h + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["ln_f.weight"], w["ln_f.bias"], eps)
    return h @ w["wte.weight"].t(), torch.stack(attentions)


def llama3_inv_freq(inv_freq, rope_scaling):
    """modeling_rope_utils._compute_llama3_parameters, whose lines this follows:

        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # wavelen < high_freq_wavelen: do nothing
        # wavelen > low_freq_wavelen: divide by factor
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        # otherwise: interpolate between the two, using a smooth factor
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    """
    factor = rope_scaling["factor"]
    low_freq_factor = rope_scaling["low_freq_factor"]
    high_freq_factor = rope_scaling["high_freq_factor"]
    old_context_len = rope_scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_inv_freq(cfg, dtype=torch.float32):
    """_compute_default_rope_parameters: 1 / base ** (arange(0, dim, 2) / dim), dim = head_dim; then the scaling."""
    d = head_dim_of(cfg)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).to(dtype) / d))
    scaling = cfg.get("rope_scaling")
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind != "llama3":
            raise ValueError("rope_type %r is not implemented here" % kind)
        inv_freq = llama3_inv_freq(inv_freq, scaling)
    return inv_freq


def rope_cos_sin(inv_freq, positions):
    """LlamaRotaryEmbedding: freqs = positions x inv_freq, emb = cat(freqs, freqs), cos and sin."""
    freqs = positions.to(inv_freq.dtype)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    """x [B, H, T, d]; cos, sin [T, d]."""
    return x * cos + rotate_half(x) * sin


def llama_attention(x, w, p, cfg, cos, sin, window):
    B, T, E = x.shape
    H, Hkv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)

    def proj(name, heads):
        y = x @ w[p + name + ".weight"].t()
        if p + name + ".bias" in w:
            y = y + w[p + name + ".bias"]
        return y.view(B, T, heads, d)

    q, k, v = proj("self_attn.q_proj", H), proj("self_attn.k_proj", Hkv), proj("self_attn.v_proj", Hkv)
    if p + "self_attn.q_norm.weight" in w:  # Qwen3: RMSNorm over each head's d features, before RoPE
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], cfg["rms_norm_eps"])
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], cfg["rms_norm_eps"])
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    # repeat_kv: query head h uses key/value head h // (H / Hkv)
    k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
    context, weights = attend(q, k, v, causal_allowed(T, window))
    context = context.transpose(1, 2).reshape(B, T, H * d)
    return context @ w[p + "self_attn.o_proj.weight"].t(), weights


def sliding_window_of(cfg):
    if cfg["model_type"] == "mistral":
        return cfg.get("sliding_window")
    if cfg["model_type"] in ("qwen2", "qwen3") and cfg.get("use_sliding_window"):
        raise ValueError("use_sliding_window is not used by these models")
    return None


def llama_forward(w, cfg, ids, dtype=torch.float32, window="config"):
    w = {name: x.to(dtype) for name, x in w.items()}
    B, T = ids.shape
    eps = cfg["rms_norm_eps"]
    window = sliding_window_of(cfg) if window == "config" else window
    # float32 angles as Hugging Face computes them; the float64 check computes them in float64
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, dtype), torch.arange(T))
    h = w["model.embed_tokens.weight"][ids]
    attentions = []
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        a, weights = llama_attention(rms_norm(h, w[p + "input_layernorm.weight"], eps), w, p, cfg, cos, sin, window)
        attentions.append(weights)
        h = h + a
        m = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        m = F.silu(m @ w[p + "mlp.gate_proj.weight"].t()) * (m @ w[p + "mlp.up_proj.weight"].t())
        h = h + m @ w[p + "mlp.down_proj.weight"].t()
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return h @ head.t(), torch.stack(attentions)


def forward(w, cfg, ids, dtype=torch.float32):
    with torch.no_grad():
        if cfg["model_type"] == "gpt2":
            return gpt2_forward(w, cfg, ids, dtype)
        return llama_forward(w, cfg, ids, dtype)


# ----------------------------------------------------------------------------------------------------------------
# Configurations, as PretrainedConfig.save_pretrained writes them (model-specific fields always; common fields when
# they differ from PretrainedConfig's defaults)

def gpt2_config():
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": 0, "embd_pdrop": 0.1, "eos_token_id": 0, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 32, "n_embd": 32, "n_head": 4,
        "n_inner": None, "n_layer": 2, "n_positions": 32, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True, "vocab_size": 150}


def llama_config():
    return {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "head_dim": 8, "hidden_act": "silu", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 2048, "mlp_bias": False,
        "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 256, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": 256}


def mistral_config():
    return {
        "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "head_dim": 8, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 64, "max_position_embeddings": 512, "model_type": "mistral",
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0, "sliding_window": 4, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": 200}


def qwen2_config():
    return {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 64, "max_position_embeddings": 512, "max_window_layers": 2, "model_type": "qwen2",
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 1000000.0, "sliding_window": 4, "tie_word_embeddings": True,
        "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
        "use_sliding_window": False, "vocab_size": 160}


def qwen3_config():
    return {
        "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 16, "hidden_act": "silu", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 512,
        "max_window_layers": 2, "model_type": "qwen3", "num_attention_heads": 4, "num_hidden_layers": 2,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000.0,
        "sliding_window": None, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "use_sliding_window": False,
        "vocab_size": 120}


# ----------------------------------------------------------------------------------------------------------------
# Self checks of the reference implementation

def close(a, b, tol, what):
    err = (a - b).abs().max().item()
    if not err <= tol:
        raise AssertionError("%s: max |difference| %g > %g" % (what, err, tol))


def check_gpt2_attention_against_torch():
    cfg = gpt2_config()
    w = {n: x.double() for n, x in gpt2_weights(cfg, Init(1)).items()}
    x = torch.randn(2, 5, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours, our_weights = gpt2_attention(x, w, "h.0.", 4)
    blocked = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    theirs, their_weights = F.multi_head_attention_forward(
        x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), 32, 4,
        w["h.0.attn.c_attn.weight"].t(), w["h.0.attn.c_attn.bias"], None, None, False, 0.0,
        w["h.0.attn.c_proj.weight"].t(), w["h.0.attn.c_proj.bias"], training=False, need_weights=True,
        attn_mask=blocked, average_attn_weights=False)
    close(ours, theirs.transpose(0, 1), 1e-12, "gpt2 attention vs multi_head_attention_forward")
    close(our_weights, their_weights, 1e-12, "gpt2 attention weights vs multi_head_attention_forward")


def check_llama_attention_against_torch():
    """Qwen2's attention (biases, GQA) with the rotation switched off, against PyTorch's multi-head attention with
    each key/value head's rows repeated for the query heads it serves."""
    cfg = qwen2_config()
    w = {n: x.double() for n, x in llama_weights(cfg, Init(3)).items()}
    x = torch.randn(2, 6, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    d, rep = head_dim_of(cfg), cfg["num_attention_heads"] // cfg["num_key_value_heads"]
    ones, zeros = torch.ones(6, d, dtype=torch.float64), torch.zeros(6, d, dtype=torch.float64)
    for window in (None, 3):
        ours, our_weights = llama_attention(x, w, "model.layers.0.", cfg, ones, zeros, window)

        def repeat(y):
            return y.view(cfg["num_key_value_heads"], d, *y.shape[1:]).repeat_interleave(rep, 0).reshape(
                -1, *y.shape[1:])

        p = "model.layers.0.self_attn."
        bias = torch.cat([w[p + "q_proj.bias"], repeat(w[p + "k_proj.bias"]), repeat(w[p + "v_proj.bias"])])
        blocked = ~causal_allowed(6, window)
        theirs, their_weights = F.multi_head_attention_forward(
            x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), 32, 4, None, bias, None, None, False, 0.0,
            w[p + "o_proj.weight"], None, training=False, need_weights=True, attn_mask=blocked,
            use_separate_proj_weight=True, q_proj_weight=w[p + "q_proj.weight"],
            k_proj_weight=repeat(w[p + "k_proj.weight"]), v_proj_weight=repeat(w[p + "v_proj.weight"]),
            average_attn_weights=False)
        close(ours, theirs.transpose(0, 1), 1e-12, "llama attention (window %s) vs torch" % window)
        close(our_weights, their_weights, 1e-12, "llama attention weights (window %s) vs torch" % window)


def check_rope_by_hand():
    theta, d, positions = 10000.0, 8, [0, 1, 5, 12]
    x = torch.randn(1, 2, len(positions), d, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    cos, sin = rope_cos_sin(inv_freq, torch.tensor(positions))
    ours = apply_rope(x, cos, sin)
    expected = torch.empty_like(x)
    for h in range(2):
        for t, pos in enumerate(positions):
            for i in range(d // 2):
                angle = pos * theta ** (-2.0 * i / d)
                a, b = x[0, h, t, i].item(), x[0, h, t, i + d // 2].item()
                expected[0, h, t, i] = a * math.cos(angle) - b * math.sin(angle)
                expected[0, h, t, i + d // 2] = b * math.cos(angle) + a * math.sin(angle)
    close(ours, expected, 1e-12, "rope vs the rotation by hand")


def check_llama3_scaling():
    cfg = llama_config()
    scaling = cfg["rope_scaling"]
    d, theta = head_dim_of(cfg), cfg["rope_theta"]
    ours = rope_inv_freq(cfg, torch.float64)
    branches = set()
    for i in range(d // 2):
        freq = 1.0 / theta ** (2.0 * i / d)
        wavelen = 2 * math.pi / freq
        old = scaling["original_max_position_embeddings"]
        if wavelen < old / scaling["high_freq_factor"]:
            expected, branch = freq, "kept"
        elif wavelen > old / scaling["low_freq_factor"]:
            expected, branch = freq / scaling["factor"], "divided"
        else:
            smooth = (old / wavelen - scaling["low_freq_factor"]) / (
                scaling["high_freq_factor"] - scaling["low_freq_factor"])
            expected, branch = (1 - smooth) * freq / scaling["factor"] + smooth * freq, "smoothed"
        branches.add(branch)
        assert abs(ours[i].item() - expected) <= 1e-15 * max(1.0, expected), (i, ours[i].item(), expected)
    assert branches == {"kept", "divided", "smoothed"}, branches


def check_small_pieces():
    x = torch.linspace(-6, 6, 101, dtype=torch.float64)
    close(gelu_new(x), F.gelu(x, approximate="tanh"), 1e-12, "gelu_new vs F.gelu(tanh)")
    y = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    weight = torch.linspace(0.5, 1.5, 8, dtype=torch.float64)
    expected = y / torch.sqrt((y * y).sum(-1, keepdim=True) / 8 + 1e-6) * weight
    close(rms_norm(y, weight, 1e-6), expected, 1e-12, "rms_norm")
    close(layer_norm(y, weight, weight - 1, 1e-5), F.layer_norm(y, (8,), weight, weight - 1, 1e-5), 1e-12,
          "layer_norm")


def self_checks():
    check_gpt2_attention_against_torch()
    check_llama_attention_against_torch()
    check_rope_by_hand()
    check_llama3_scaling()
    check_small_pieces()


# ----------------------------------------------------------------------------------------------------------------
# Writing the folders and the references

def t(x):
    """{"shape", "data"}: integers as they are, floats as the shortest decimal that gives back the float32."""
    x = x.detach().cpu()
    if x.is_floating_point():
        data = [float(str(v)) for v in x.to(torch.float32).reshape(-1).numpy()]
    else:
        data = x.to(torch.int64).reshape(-1).tolist()
    return {"shape": list(x.shape), "data": data}


def greedy(w, cfg, prompt):
    ids = prompt.clone()
    tokens, rows, margin = [], [], float("inf")
    for _ in range(GREEDY_STEPS):
        logits, _ = forward(w, cfg, ids[None])
        last = logits[0, -1]
        top = torch.topk(last, 2).values
        margin = min(margin, (top[0] - top[1]).item())
        token = int(torch.argmax(last))
        tokens.append(token)
        rows.append(last)
        ids = torch.cat([ids, torch.tensor([token])])
    return torch.tensor(tokens), torch.stack(rows), margin


def reference(name, directory, cfg, seed):
    w = load_folder(directory)
    if cfg["model_type"] == "gpt2":
        w = {n: x for n, x in w.items() if not n.endswith(".attn.bias")}
    w = {n: x.to(torch.float32) for n, x in w.items()}
    init = Init(seed + 1)
    V = cfg["vocab_size"]
    ids = init.ids(V, 2, 7)
    prompts = [init.ids(V, 3), init.ids(V, 6)]
    logits, attentions = forward(w, cfg, ids)
    logits64, attentions64 = forward(w, cfg, ids, torch.float64)
    scale = max(1.0, logits64.abs().max().item())  # float32 rounding grows with the logits' size
    close(logits.double(), logits64, 1e-6 * scale, name + " float32 vs float64 logits")
    close(attentions.double(), attentions64, 1e-5, name + " float32 vs float64 attentions")
    for b in range(2):  # each row alone gives the batch's rows
        alone, _ = forward(w, cfg, ids[b:b + 1])
        close(alone[0], logits[b], 1e-6 * scale, name + " batch row %d alone" % b)
    out = OrderedDict()
    out["input_ids"] = t(ids)
    out["logits"] = t(logits)
    out["attentions"] = t(attentions)
    for k, prompt in enumerate(prompts):
        prompt_logits, _ = forward(w, cfg, prompt[None])
        tokens, rows, margin = greedy(w, cfg, prompt)
        if margin <= MIN_GREEDY_MARGIN:
            raise AssertionError("%s prompt %d: greedy margin %g is too small" % (name, k, margin))
        print("%s prompt_%d: greedy %s (smallest margin %.4f)" % (name, k, tokens.tolist(), margin),
              file=sys.stderr)
        out["prompt_%d" % k] = t(prompt)
        out["prompt_%d_logits" % k] = t(prompt_logits[0])
        out["prompt_%d_greedy" % k] = t(tokens)
        out["prompt_%d_greedy_logits" % k] = t(rows)
    if cfg["model_type"] != "gpt2":
        out["inv_freq"] = t(rope_inv_freq(cfg))
    return out, w, ids, logits


def check_features_matter(refs):
    """The features the tiny models exist for change the logits (a loader that ignored them would fail)."""
    for name, variant, minimum in (("llama", "no rope scaling", 1e-3), ("mistral", "no window", 1e-3),
                                   ("qwen2", "sliding_window applied", 1e-3)):
        cfg, w, ids, logits = refs[name]
        if variant == "no rope scaling":
            cfg = dict(cfg, rope_scaling=None)
            other, _ = llama_forward(w, cfg, ids)
        elif variant == "no window":
            other, _ = llama_forward(w, cfg, ids, window=None)
        else:
            other, _ = llama_forward(w, cfg, ids, window=cfg["sliding_window"])
        diff = (other - logits).abs().max().item()
        assert diff > minimum, (name, variant, diff)
        print("%s with %s: logits differ by up to %.3f" % (name, variant, diff), file=sys.stderr)


def main():
    out_dir = make_state_dicts.output_folder("tests/data/models", COMMAND)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    self_checks()

    if os.path.isdir(out_dir):
        for entry in os.listdir(out_dir):
            path = os.path.join(out_dir, entry)
            if os.path.isdir(path):
                shutil.rmtree(path)
    os.makedirs(out_dir, exist_ok=True)

    def folder(name, cfg):
        path = os.path.join(out_dir, name)
        os.makedirs(path)
        write_json(cfg, os.path.join(path, "config.json"))
        return path

    models = OrderedDict()

    # gpt2: the hub's original layout; gpt2_prefixed: today's save_pretrained(safe_serialization=False).
    cfg = gpt2_config()
    w = gpt2_weights(cfg, Init(100))
    save_safetensors(w, os.path.join(folder("gpt2", cfg), "model.safetensors"))
    prefixed = OrderedDict(("transformer." + n, x) for n, x in w.items() if not n.endswith(".attn.bias"))
    prefixed["lm_head.weight"] = prefixed["transformer.wte.weight"]  # tied: the same tensor, one storage
    torch.save(prefixed, os.path.join(folder("gpt2_prefixed", cfg), "pytorch_model.bin"),
               _use_new_zipfile_serialization=True)
    models["gpt2"] = (cfg, 100)

    # llama, sharded at the layer boundary; llama_bf16, the same weights rounded to bfloat16.
    cfg = llama_config()
    w = llama_weights(cfg, Init(200))
    names = list(w)
    shard_1 = [n for n in names if n == "model.embed_tokens.weight" or n.startswith("model.layers.0.")]
    save_sharded(w, [shard_1, [n for n in names if n not in shard_1]], folder("llama", cfg))
    models["llama"] = (cfg, 200)
    cfg_bf16 = dict(cfg, torch_dtype="bfloat16")
    save_safetensors({n: x.to(torch.bfloat16) for n, x in w.items()},
                     os.path.join(folder("llama_bf16", cfg_bf16), "model.safetensors"))
    models["llama_bf16"] = (cfg_bf16, 200)

    for name, make, seed in (("mistral", mistral_config, 300), ("qwen2", qwen2_config, 400),
                             ("qwen3", qwen3_config, 500)):
        cfg = make()
        save_safetensors(llama_weights(cfg, Init(seed)), os.path.join(folder(name, cfg), "model.safetensors"))
        models[name] = (cfg, seed)

    # Read everything back, compute the references from what was read.
    ref = OrderedDict()
    ref["_generator"] = "generated by PyTorch %s with: %s" % (torch.__version__, COMMAND)
    refs = {}
    for name, (cfg, seed) in models.items():
        ref[name], weights, ids, logits = reference(name, os.path.join(out_dir, name), cfg, seed)
        refs[name] = (cfg, weights, ids, logits)

    gpt2 = load_folder(os.path.join(out_dir, "gpt2"))
    bin_ = load_folder(os.path.join(out_dir, "gpt2_prefixed"))
    assert sorted(bin_) == sorted(["transformer." + n for n in gpt2 if not n.endswith(".attn.bias")]
                                  + ["lm_head.weight"])
    for n, x in bin_.items():
        original = gpt2["wte.weight" if n == "lm_head.weight" else n[len("transformer."):]]
        assert torch.equal(x, original), n
    assert bin_["lm_head.weight"].storage().data_ptr() == bin_["transformer.wte.weight"].storage().data_ptr()
    llama, llama_bf16 = load_folder(os.path.join(out_dir, "llama")), load_folder(os.path.join(out_dir, "llama_bf16"))
    for n, x in llama.items():
        assert llama_bf16[n].dtype == torch.bfloat16 and torch.equal(llama_bf16[n], x.to(torch.bfloat16)), n
    check_features_matter(refs)

    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
