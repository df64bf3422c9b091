#!/usr/bin/python3
"""GPT-2 small's shape with random weights: a Hugging Face folder for the C++ benchmark, and PyTorch eager's times.

    /usr/bin/python3 benchmarks/gpt2_small.py DIR [--threads N]

writes DIR/config.json and DIR/model.safetensors (124M float32 parameters in the hub file's layout, written by
tests/data/make_models.py's writer; about 550 MB; kept when present), then times PyTorch eager (Debian's
python3-torch) on it at N threads (default 1), as Hugging Face's GPT2LMHeadModel computes it in eager mode
(torch.addmm for its Conv1D layers, F.layer_norm, tanh GELU, matmul-softmax-matmul attention with a causal mask, a
cache that concatenates keys and values, the logits of every position): the prefill of a 512-token prompt, then
32 tokens decoded one at a time with the cache. Prints the medians as
    pytorch_prefill_ms=...  pytorch_per_token_ms=...
The C++ side, in the same run: ATTENTION_GPT2_SMALL=DIR ./build/benchmarks/attention_benchmark --threads=N
--benchmark_filter=Gpt2Small (README, "Performance").
"""

import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
import make_models  # noqa: E402  (the safetensors writer and GPT-2's weights in the hub file's layout)

CONFIG = dict(make_models.gpt2_config(), n_ctx=1024, n_embd=768, n_head=12, n_layer=12, n_positions=1024,
              vocab_size=50257)
PROMPT, NEW_TOKENS = 512, 32


def write_model(directory):
    if os.path.exists(os.path.join(directory, "model.safetensors")):
        return
    os.makedirs(directory, exist_ok=True)
    weights = make_models.gpt2_weights(CONFIG, make_models.Init(1234))
    make_models.save_safetensors(weights, os.path.join(directory, "model.safetensors"))
    make_models.write_json(CONFIG, os.path.join(directory, "config.json"))


def forward(w, ids, cache):
    """Logits [1, T, V] of ids [1, T] after the cached tokens; `cache` (a list of (k, v) per layer) grows."""
    E, H = CONFIG["n_embd"], CONFIG["n_head"]
    d = E // H
    past = cache[0][0].shape[2] if cache else 0
    T = ids.shape[1]
    h = F.embedding(ids, w["wte.weight"]) + w["wpe.weight"][past:past + T]
    for i in range(CONFIG["n_layer"]):
        p = "h.%d." % i
        x = F.layer_norm(h, (E,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        qkv = torch.addmm(w[p + "attn.c_attn.bias"], x.view(-1, E), w[p + "attn.c_attn.weight"]).view(1, T, 3 * E)
        q, k, v = (y.view(1, T, H, d).transpose(1, 2) for y in qkv.split(E, dim=-1))
        if len(cache) > i:
            k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
        else:
            cache.append((k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        if T > 1:
            scores = scores.masked_fill(~torch.ones(T, past + T, dtype=torch.bool).tril(past), float("-inf"))
        context = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(T, E)
        h = h + torch.addmm(w[p + "attn.c_proj.bias"], context, w[p + "attn.c_proj.weight"]).view(1, T, E)
        x = F.layer_norm(h, (E,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5).view(-1, E)
        x = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], x, w[p + "mlp.c_fc.weight"]), approximate="tanh")
        h = h + torch.addmm(w[p + "mlp.c_proj.bias"], x, w[p + "mlp.c_proj.weight"]).view(1, T, E)
    h = F.layer_norm(h, (E,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    return h @ w["wte.weight"].t()


def main():
    directory = sys.argv[1]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    write_model(directory)
    torch.set_num_threads(threads)
    w = make_models.load_safetensors(os.path.join(directory, "model.safetensors"))
    prompt = torch.randint(0, CONFIG["vocab_size"], (1, PROMPT), generator=torch.Generator().manual_seed(0))
    prefills, per_token = [], []
    with torch.no_grad():
        for _ in range(3):
            cache = []
            start = time.perf_counter()
            logits = forward(w, prompt, cache)
            prefills.append(time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(NEW_TOKENS):
                logits = forward(w, logits[:, -1:].argmax(-1), cache)
            per_token.append((time.perf_counter() - start) / NEW_TOKENS)
    print("threads=%d pytorch=%s pytorch_prefill_ms=%.1f pytorch_per_token_ms=%.2f"
          % (threads, torch.__version__, 1e3 * statistics.median(prefills), 1e3 * statistics.median(per_token)))


if __name__ == "__main__":
    main()
