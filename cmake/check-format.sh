#!/usr/bin/env bash
# The C++ sources and headers that git tracks, against .clang-format, with clang-format 14 (what CI runs).
#   cmake/check-format.sh          lists the files clang-format would change and exits 1 if there are any
#   cmake/check-format.sh --fix    formats them in place
# CLANG_FORMAT names another binary (default: clang-format-14, else clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."

fix=false
if [[ ${1:-} == --fix ]]; then
  fix=true
elif [[ $# -gt 0 ]]; then
  echo "usage: cmake/check-format.sh [--fix]" >&2
  exit 2
fi

clang_format=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
if [[ -z $clang_format ]]; then
  echo "check-format: clang-format not found (Debian: apt-get install clang-format-14)" >&2
  exit 2
fi
version=$("$clang_format" --version)
if [[ $version != *" 14."* ]]; then
  echo "check-format: note: $version; CI checks with clang-format 14, whose output may differ" >&2
fi

mapfile -t files < <(git ls-files -- '*.cpp' '*.h')
if $fix; then
  "$clang_format" -i -- "${files[@]}"
  exit 0
fi
unformatted=()
for file in "${files[@]}"; do
  if ! "$clang_format" --dry-run -Werror -- "$file" > /dev/null 2>&1; then
    unformatted+=("$file")
  fi
done
if [[ ${#unformatted[@]} -gt 0 ]]; then
  echo "check-format: ${#unformatted[@]} of ${#files[@]} files differ from .clang-format (make format fixes them):"
  printf '  %s\n' "${unformatted[@]}"
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
