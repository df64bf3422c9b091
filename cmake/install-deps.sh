#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds with. A no-op when all of them are present.
# Run as root, or as a user who may sudo.
set -euo pipefail

packages=(
  cmake g++ make
  clang                 # the compiler the presets prefer (cmake/prefer-clang.cmake): builds in about half the time
  ninja-build           # the presets' generator
  libtorch-dev          # LibTorch 1.13 (CPU)
  libopenblas0-pthread  # fast BLAS for LibTorch; without it matrix products fall back to reference BLAS (~30x slower)
  libopencv-dev         # pictures
  libgtest-dev          # tests
  libbenchmark-dev      # benchmarks
  libcli11-dev          # command line
  nlohmann-json3-dev    # safetensors headers (to build the core library), metrics, test data
  libpcre2-dev          # the tokenizers' regular expressions (Attention::models)
  libicu-dev            # the NFC normalizer of Qwen's tokenizers (Attention::models)
  libgloo-dev           # the headers of c10d's Gloo backend (Attention::distributed)
  zlib1g-dev            # CRC-32 of checkpoints
)

missing=()
for package in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
