#!/usr/bin/python3
"""Weight files trained "in Python", for the C++ tests of attention::load_state_dict.

PyTorch is the oracle: it writes the files (``torch.save`` of ``state_dict()``,
and safetensors files) and records what the modules compute on fixed inputs.
The C++ tests load the files into the library's modules and compare their
outputs with the recorded ones; they need no Python.

Regenerate (from the repository root, with Debian's PyTorch, which is what
``/usr/bin/python3`` provides; the output is deterministic):

    /usr/bin/python3 tests/data/make_state_dicts.py tests/data/state_dicts

The ``safetensors`` package is not needed: ``save_safetensors`` writes the
format by hand (8-byte little-endian header length, JSON header padded with
spaces to a multiple of 8, then the raw little-endian data).

Files (E = 8 features, 2 heads; biases randomised, as PyTorch zeroes them):

mha_packed.pt, mha_packed.safetensors
    ``nn.MultiheadAttention(8, 2, batch_first=True)``, seed 0: the packed
    names ``in_proj_weight`` [24, 8], ``in_proj_bias`` [24],
    ``out_proj.weight``, ``out_proj.bias``.  The ``.pt`` file is
    ``torch.save(mha.state_dict())``: an OrderedDict with ``_metadata``.
mha_packed_f16.safetensors, mha_packed_bf16.safetensors, mha_packed_f64.safetensors
    The same weights as F16, BF16 and F64.
mha_packed_mixed.pt
    The same weights, one dtype each: ``in_proj_weight`` float16,
    ``in_proj_bias`` bfloat16, ``out_proj.weight`` float64, ``out_proj.bias``
    float32 (HalfStorage, BFloat16Storage, DoubleStorage, FloatStorage).
mha_kv.pt, mha_kv.safetensors
    ``nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True)``, seed 1:
    separate ``q_proj_weight`` [8, 8], ``k_proj_weight`` [8, 5],
    ``v_proj_weight`` [8, 3].
mha_nobias.pt
    ``nn.MultiheadAttention(8, 2, bias=False, batch_first=True)``, seed 2.
mha_bias_kv.pt
    ``nn.MultiheadAttention(8, 2, add_bias_kv=True)``: has ``bias_k`` and
    ``bias_v``, which the library refuses.
own_names.pt
    The weights of mha_packed under the library's own names (``W_q.weight``,
    ``W_q.bias``, ..., ``W_o.bias``): ``state_dict()`` of a Python module with
    four ``nn.Linear`` children, so its ``_metadata`` has an entry per child.
own_names_views.pt
    The same, as a plain ``dict`` whose W_q/W_k/W_v tensors are views into one
    packed tensor (a shared storage, non-zero storage offsets).
sdpa.pt, sdpa.safetensors
    Single-head attention with ``W_q``, ``W_k``, ``W_v`` =
    ``nn.Linear(6, 4, bias=False)``, seed 3.

outputs.json (the layout of reference.json: one object per case, each tensor
``{"shape", "data"}`` in row-major order, computed in float64 from the
weights as stored in the files):

mha_packed
    ``query`` (2,3,8), ``key`` (2,4,8), ``value`` (2,4,8), ``x`` (2,4,8);
    ``output`` = mha(query, key, value), ``self_output`` = mha(x, x, x) and
    ``causal_output`` = mha(x, x, x, attn_mask=triu(ones(4, 4), 1).bool())
    (PyTorch's bool mask: True = blocked; the library's causal(true)).
mha_packed_f16, mha_packed_bf16, mha_packed_mixed
    ``output`` of mha_packed's inputs with the weights rounded to those dtypes.
mha_kv
    ``query`` (2,3,8), ``key`` (2,4,5), ``value`` (2,4,3) and ``output``.
mha_nobias
    ``output`` on mha_packed's query, key and value.
sdpa
    ``x`` (2,5,6); ``context`` = softmax(q kᵀ / 2) v and ``causal_context``.
"""

import copy
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

COMMAND = "/usr/bin/python3 tests/data/make_state_dicts.py tests/data/state_dicts"

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16",
                      torch.bfloat16: "BF16", torch.float64: "F64"}


def t(x):
    """Serialise a tensor as {"shape", "data"} (floats as float64)."""
    x = x.detach().cpu()
    return {"shape": list(x.shape), "data": x.double().reshape(-1).tolist()}


def raw_bytes(x):
    """The little-endian bytes of a tensor (numpy has no bfloat16: 2-byte types go through int16)."""
    x = x.detach().contiguous().cpu()
    if x.element_size() == 2:
        x = x.view(torch.int16)
    return x.numpy().tobytes()


def save_safetensors(tensors, path):
    """Writes `tensors` (name -> tensor) in the safetensors format, in their order; returns the data's bytes."""
    header, blobs, offset = OrderedDict(), [], 0
    header["__metadata__"] = {"format": "pt"}
    for name, x in tensors.items():
        data = raw_bytes(x)
        header[name] = {"dtype": SAFETENSORS_DTYPES[x.dtype], "shape": list(x.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    return offset


def randomise_biases(mha):
    with torch.no_grad():
        for name, p in mha.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape))


def make_mha(seed, **kwargs):
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, **kwargs)
    randomise_biases(mha)
    return mha.eval()


def outputs_of(mha, state, query, key, value, attn_mask=None):
    """mha's output in float64 with its weights replaced by `state` (as stored in a file)."""
    oracle = copy.deepcopy(mha).double()
    oracle.load_state_dict({k: v.double() for k, v in state.items()})
    with torch.no_grad():
        out, _ = oracle(query, key, value, attn_mask=attn_mask, need_weights=False)
    return out


class OwnNames(nn.Module):
    """The parameter layout of attention::MultiHeadAttention: W_q, W_k, W_v, W_o."""

    def __init__(self, embed_dim):
        super().__init__()
        self.W_q = nn.Linear(embed_dim, embed_dim)
        self.W_k = nn.Linear(embed_dim, embed_dim)
        self.W_v = nn.Linear(embed_dim, embed_dim)
        self.W_o = nn.Linear(embed_dim, embed_dim)


def own_names(mha):
    """mha's weights under the library's names, as a Python module's state_dict()."""
    own = OwnNames(mha.embed_dim)
    w_q, w_k, w_v = mha.in_proj_weight.detach().chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.detach().chunk(3)
    with torch.no_grad():
        for linear, w, b in ((own.W_q, w_q, b_q), (own.W_k, w_k, b_k), (own.W_v, w_v, b_v),
                             (own.W_o, mha.out_proj.weight, mha.out_proj.bias)):
            linear.weight.copy_(w)
            linear.bias.copy_(b)
    return own.state_dict()


def own_names_views(mha):
    """A plain dict whose W_q/W_k/W_v weights are views of one packed tensor (offsets 0, 64, 128)."""
    packed = mha.in_proj_weight.detach().clone()
    bias = mha.in_proj_bias.detach().clone()
    E = mha.embed_dim
    views = {}
    for i, name in enumerate(("W_q", "W_k", "W_v")):
        views[name + ".weight"] = packed[i * E:(i + 1) * E]
        views[name + ".bias"] = bias[i * E:(i + 1) * E]
    views["W_o.weight"] = mha.out_proj.weight.detach()
    views["W_o.bias"] = mha.out_proj.bias.detach()
    return views


def case_mha_packed(out_dir):
    mha = make_mha(0)
    state = mha.state_dict()
    torch.save(state, os.path.join(out_dir, "mha_packed.pt"))
    save_safetensors(state, os.path.join(out_dir, "mha_packed.safetensors"))
    torch.save(own_names(mha), os.path.join(out_dir, "own_names.pt"))
    torch.save(own_names_views(mha), os.path.join(out_dir, "own_names_views.pt"))

    query = torch.randn(2, 3, 8, dtype=torch.float64)
    key = torch.randn(2, 4, 8, dtype=torch.float64)
    value = torch.randn(2, 4, 8, dtype=torch.float64)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    blocked = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)  # PyTorch: True = blocked
    cases = {"mha_packed": {
        "query": t(query), "key": t(key), "value": t(value), "x": t(x),
        "output": t(outputs_of(mha, state, query, key, value)),
        "self_output": t(outputs_of(mha, state, x, x, x)),
        "causal_output": t(outputs_of(mha, state, x, x, x, attn_mask=blocked))}}

    for dtype, suffix in ((torch.float16, "f16"), (torch.bfloat16, "bf16"), (torch.float64, "f64")):
        rounded = OrderedDict((k, v.to(dtype)) for k, v in state.items())
        save_safetensors(rounded, os.path.join(out_dir, "mha_packed_%s.safetensors" % suffix))
        if dtype != torch.float64:  # float64 holds float32 weights exactly: mha_packed's outputs
            cases["mha_packed_" + suffix] = {"output": t(outputs_of(mha, rounded, query, key, value))}

    mixed = OrderedDict(state)
    mixed._metadata = state._metadata
    for name, dtype in (("in_proj_weight", torch.float16), ("in_proj_bias", torch.bfloat16),
                        ("out_proj.weight", torch.float64)):
        mixed[name] = mixed[name].to(dtype)
    torch.save(mixed, os.path.join(out_dir, "mha_packed_mixed.pt"))
    cases["mha_packed_mixed"] = {"output": t(outputs_of(mha, mixed, query, key, value))}

    nobias = make_mha(2, bias=False)
    torch.save(nobias.state_dict(), os.path.join(out_dir, "mha_nobias.pt"))
    cases["mha_nobias"] = {"output": t(outputs_of(nobias, nobias.state_dict(), query, key, value))}
    return cases


def case_mha_kv(out_dir):
    mha = make_mha(1, kdim=5, vdim=3)
    state = mha.state_dict()
    torch.save(state, os.path.join(out_dir, "mha_kv.pt"))
    save_safetensors(state, os.path.join(out_dir, "mha_kv.safetensors"))
    query = torch.randn(2, 3, 8, dtype=torch.float64)
    key = torch.randn(2, 4, 5, dtype=torch.float64)
    value = torch.randn(2, 4, 3, dtype=torch.float64)
    return {"mha_kv": {"query": t(query), "key": t(key), "value": t(value),
                       "output": t(outputs_of(mha, state, query, key, value))}}


def case_mha_bias_kv(out_dir):
    torch.manual_seed(4)
    mha = nn.MultiheadAttention(8, 2, add_bias_kv=True)
    torch.save(mha.state_dict(), os.path.join(out_dir, "mha_bias_kv.pt"))
    return {}


class SingleHead(nn.Module):
    """attention::ScaledDotProductAttention's layout and math (LLMs-from-scratch SelfAttention_v2)."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.W_q = nn.Linear(d_in, d_out, bias=False)
        self.W_k = nn.Linear(d_in, d_out, bias=False)
        self.W_v = nn.Linear(d_in, d_out, bias=False)

    def forward(self, x, causal=False):
        q, k, v = self.W_q(x), self.W_k(x), self.W_v(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])
        if causal:
            n = scores.shape[-1]
            scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


def case_sdpa(out_dir):
    torch.manual_seed(3)
    sdpa = SingleHead(6, 4)
    state = sdpa.state_dict()
    torch.save(state, os.path.join(out_dir, "sdpa.pt"))
    save_safetensors(state, os.path.join(out_dir, "sdpa.safetensors"))
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    oracle = sdpa.double()
    with torch.no_grad():
        return {"sdpa": {"x": t(x), "context": t(oracle(x)), "causal_context": t(oracle(x, causal=True))}}


def output_folder(default, usage):
    """The folder named on the command line (`default` without one); exits 2 with `usage` for anything else, so
    that `--help` prints it instead of becoming a folder of files."""
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        print("usage: " + usage, file=sys.stderr)
        sys.exit(2)
    return sys.argv[1] if len(sys.argv) == 2 else default


def main():
    out_dir = output_folder("tests/data/state_dicts", COMMAND)
    os.makedirs(out_dir, exist_ok=True)
    torch.set_default_dtype(torch.float32)
    cases = {"_generator": "generated by PyTorch %s with: %s" % (torch.__version__, COMMAND)}
    for case in (case_mha_packed, case_mha_kv, case_mha_bias_kv, case_sdpa):
        cases.update(case(out_dir))
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump(cases, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
