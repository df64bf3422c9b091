#!/usr/bin/env bash
# The CUDA check, on a machine with a GPU and pip's LibTorch (no OpenCV, GoogleTest, nlohmann-json or Google
# Benchmark packages there): builds the core library, its tests and the benchmark against the LibTorch that
# `python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)'` names, runs the tests (the CUDA ones
# among them, tests/cuda_test.cpp) and the benchmark's rows for a GPU (README, "GPUs and many cores").
#
#   benchmarks/gpu_check.sh prepare   on a Debian machine with the project's packages: copies GoogleTest's sources,
#                                     nlohmann-json's headers and Google Benchmark's headers and library into
#                                     .gpu-deps/ (ignored by git), to carry along to the GPU machine
#   benchmarks/gpu_check.sh [LOGS]    on the GPU machine, from the repository root: build in build-gpu/, test,
#                                     benchmark; the logs go to LOGS (default build-gpu/logs)
set -euo pipefail
cd "$(dirname "$0")/.."
deps=.gpu-deps

if [[ "${1:-}" == prepare ]]; then
  rm -rf "$deps" && mkdir -p "$deps/benchmark/include" "$deps/benchmark/lib" "$deps/json"
  cp -r /usr/src/googletest "$deps/googletest"
  cp -r /usr/include/nlohmann "$deps/json/"
  cp -r /usr/include/benchmark "$deps/benchmark/include/"
  cp -L "$(ls /usr/lib/x86_64-linux-gnu/libbenchmark.so.* | head -n 1)" "$deps/benchmark/lib/libbenchmark.so"
  grep -qx "/$deps/" .git/info/exclude 2>/dev/null || echo "/$deps/" >> .git/info/exclude
  du -sh "$deps"
  exit 0
fi

logs=${1:-build-gpu/logs}
mkdir -p "$logs"
torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$logs/gpu.txt"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DATTENTION_BUILD_PICTURES=OFF -DATTENTION_BUILD_MODELS=OFF -DATTENTION_BUILD_APPS=OFF -DATTENTION_INSTALL=OFF \
  -DATTENTION_BUILD_DOCS=OFF \
  -DATTENTION_GTEST_SOURCE_DIR="$PWD/$deps/googletest" -DATTENTION_JSON_INCLUDE_DIR="$PWD/$deps/json" \
  -DATTENTION_BENCHMARK_ROOT="$PWD/$deps/benchmark" 2>&1 | tee "$logs/configure.txt"
cmake --build build-gpu -j "$(nproc)" 2>&1 | tail -n 20 | tee "$logs/build.txt"
export LD_LIBRARY_PATH="$PWD/$deps/benchmark/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
./build-gpu/tests/attention_tests 2>&1 | tee "$logs/tests.txt" | tail -n 30 || status=1
# The rows for a GPU: the layer, the paths (with the long causal heads), generation, in bfloat16 as the issue's.
./build-gpu/benchmarks/attention_benchmark --device=cuda --dtype=bfloat16 \
  --benchmark_filter='forward/|Path/|LibTorchSdpa|Generation|GroupedHeads' --benchmark_min_time=0.5 \
  2>&1 | tee "$logs/benchmark.txt" || status=1
exit "$status"
