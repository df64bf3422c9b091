#!/usr/bin/python3
"""The 49 weight matrices of GPT-2 small (12 layers of q/k/v packed, output, MLP in and out, then the tied head),
random float32, multiplied by M rows in PyTorch eager, four ways: F.linear (x Wᵀ, as attention::linear for several
rows), x @ Wᵀ stored transposed (Hugging Face's Conv1D), W @ xᵀ, and one torch.mv per row (attention::linear for a
single row). Milliseconds for all 49, the mean of 5 rounds after one to warm up.

    /usr/bin/python3 benchmarks/single_row_products.py [--threads N]

Why a single row takes gemv (README, "Performance"): LibTorch 1.13's linear of one row runs a gemm that first
copies the whole weight matrix.
"""

import sys
import time

import torch


def milliseconds(work, rounds=5):
    work()
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - start) / rounds * 1e3


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    shapes = [(2304, 768), (768, 768), (3072, 768), (768, 3072)] * 12 + [(50257, 768)]
    weights = [torch.randn(rows, columns) for rows, columns in shapes]
    transposed = [w.t().contiguous() for w in weights]
    print(f"threads={threads} pytorch={torch.__version__}")
    for m in [1, 2, 4, 8]:
        xs = [torch.randn(m, w.shape[1]) for w in weights]
        times = {
            "linear": milliseconds(lambda: [torch.nn.functional.linear(x, w) for x, w in zip(xs, weights)]),
            "x@Wt": milliseconds(lambda: [x.mm(wt) for x, wt in zip(xs, transposed)]),
            "W@xT": milliseconds(lambda: [w.mm(x.t()) for x, w in zip(xs, weights)]),
            "mv_per_row": milliseconds(lambda: [[torch.mv(w, row) for row in x] for x, w in zip(xs, weights)]),
        }
        print(f"rows={m} " + " ".join(f"{name}_ms={value:.1f}" for name, value in times.items()))


if __name__ == "__main__":
    main()
