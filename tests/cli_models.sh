#!/usr/bin/env bash
# The commands of Hugging Face model folders, end to end: tokenize, generate and heatmap --model on a folder made
# here of the tiny llama checkpoint (tests/data/models/llama, vocab_size 256, random weights) and the tokenizer of
# the 256 byte tokens (tests/data/tokenizers/bytes). Each case is a ctest entry (app.models.CASE):
#   tokenize            the ids tests/tokenizer_test.cpp expects, on its gpt2 and llama3 tokenizers
#   batch_matches_alone generate --greedy: each prompt's continuation alone equals its line of a --prompts batch
#   seeded_sampling     sampling with the same seed gives the same text, exit 0
#   heatmap             heatmap --model writes model_view.png and a layer_NN.png per layer, all PNG files
#   bad_folder          a missing folder, a folder without weights: exit 1 naming the path
#   tokenizer_too_large a tokenizer with more tokens than the model's vocab_size: exit 1 saying so
#   usage               a missing --model, or --prompt: exit 2
# Usage: cli_models.sh ATTENTION_BINARY DATA_DIR SCRATCH_DIR CASE
set -uo pipefail
bin=$(realpath "$1")
data=$(realpath "$2")
work=$3/$4
case=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

# A model folder: the checkpoint's files and a tokenizer's, linked.
model_folder() {  # model_folder NAME MODEL TOKENIZER
  mkdir -p "$1"
  ln -s "$data/models/$2"/* "$1"/
  ln -s "$data/tokenizers/$3"/* "$1"/
}

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect_code CODE FRAGMENT ARGS...: `attention ARGS...` exits CODE within a minute, its stderr matching FRAGMENT.
expect_code() {
  local code=$1 fragment=$2
  shift 2
  timeout 60 "$bin" "$@" > out.txt 2> err.txt < /dev/null
  local status=$?
  [ "$status" -eq "$code" ] || fail "attention $*: exit code $status, expected $code"
  [ -z "$fragment" ] || grep -Eq -- "$fragment" err.txt || fail "attention $*: stderr does not match '$fragment': $(head -c 400 err.txt)"
  if grep -Eq 'Exception raised from|frame #|terminate called' err.txt; then
    fail "attention $*: a stack trace"
  fi
}

# The text of stdout as a --prompts line shows it: the final newline dropped, \ \n \r escaped.
escaped() {
  local text
  text=$(cat "$1"; echo x)
  text=${text%$'\n'x}
  text=${text//\\/\\\\}
  text=${text//$'\n'/\\n}
  printf '%s' "${text//$'\r'/\\r}"
}

case $case in
tokenize)
  expect_code 0 '' tokenize --model "$data/tokenizers/gpt2" --text "Hello world"
  [ "$(cat out.txt)" = "263 267" ] || fail "gpt2 'Hello world': $(cat out.txt)"
  expect_code 0 '' tokenize --model "$data/tokenizers/gpt2" --text "hi 😀!"
  [ "$(cat out.txt)" = "71 72 220 282 246 222 0" ] || fail "gpt2 'hi 😀!': $(cat out.txt)"
  expect_code 0 '' tokenize --model "$data/tokenizers/llama3" --text "We're at 12345"
  [ "$(cat out.txt)" = "273 262 220 64 83 220 264 265" ] || fail "llama3 \"We're at 12345\": $(cat out.txt)"
  expect_code 2 "--text.*not valid UTF-8" tokenize --model "$data/tokenizers/gpt2" --text $'caf\xe9'
  ;;
batch_matches_alone)
  model_folder tiny llama bytes
  prompts=("Hello" "The cat sat on the mat" "a" "Once upon a time, there was" "12345 678")
  printf '%s\n' "${prompts[@]}" > prompts.txt
  expect_code 0 'Loading tiny' generate --model tiny --prompts prompts.txt --max-new-tokens 12 --greedy
  cp out.txt batch.txt
  [ "$(wc -l < batch.txt)" -eq ${#prompts[@]} ] || fail "--prompts: $(wc -l < batch.txt) lines for ${#prompts[@]} prompts"
  for i in "${!prompts[@]}"; do
    expect_code 0 '' generate --model tiny --prompt "${prompts[$i]}" --max-new-tokens 12
    alone=$(escaped out.txt)
    in_batch=$(sed -n "$((i + 1))p" batch.txt)
    [ "$alone" = "$in_batch" ] || fail "prompt $((i + 1)): alone '$alone', in the batch '$in_batch'"
    [ -n "$alone" ] || fail "prompt $((i + 1)): no continuation"
  done
  ;;
seeded_sampling)
  model_folder tiny llama bytes
  expect_code 0 '' generate --model tiny --prompt "Hello" --max-new-tokens 16 --temperature 0.9 --top-k 50 --top-p 0.95 --seed 7
  cp out.txt first.txt
  expect_code 0 '' generate --model tiny --prompt "Hello" --max-new-tokens 16 --temperature 0.9 --top-k 50 --top-p 0.95 --seed 7
  cmp -s first.txt out.txt || fail "the same seed gave '$(cat first.txt)' and '$(cat out.txt)'"
  expect_code 0 '' generate --model tiny --prompt "Hello" --max-new-tokens 16 --temperature 0.9 --seed 8
  expect_code 0 '' generate --model tiny --prompt "Hello" --max-new-tokens 16 --dtype bfloat16 --threads 1
  ;;
heatmap)
  model_folder tiny llama bytes
  expect_code 0 'Loading tiny' heatmap --model tiny --text "The cat sat on the mat." --out pictures
  for file in model_view.png layer_01.png layer_02.png; do
    [ -s "pictures/$file" ] || { fail "heatmap --model: no $file"; continue; }
    [ "$(head -c 8 "pictures/$file" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$file is not a PNG"
    grep -q "$file" out.txt || fail "heatmap --model does not name $file: $(cat out.txt)"
  done
  [ "$(ls pictures | wc -l)" -eq 3 ] || fail "heatmap --model wrote $(ls pictures)"
  ;;
bad_folder)
  expect_code 1 'no/such/folder' generate --model no/such/folder --prompt "Hello"
  expect_code 1 'no/such/folder' heatmap --model no/such/folder --text "Hello" --out pictures
  expect_code 1 'no/such/folder' tokenize --model no/such/folder --text "Hello"
  model_folder no_weights llama bytes
  rm no_weights/*.safetensors no_weights/model.safetensors.index.json
  expect_code 1 'no_weights' generate --model no_weights --prompt "Hello"
  [ ! -e pictures ] || fail "heatmap of a missing folder wrote pictures/"
  ;;
tokenizer_too_large)
  model_folder mismatched llama llama3
  expect_code 1 'mismatched: the tokenizer has 278 tokens but config.json.s vocab_size is 256' \
    generate --model mismatched --prompt "Hello"
  ;;
usage)
  model_folder tiny llama bytes
  expect_code 2 '--model is required' generate --prompt "Hello"
  expect_code 2 '--model is required' tokenize --text "Hello"
  expect_code 2 '--prompt \(or --prompts\)' generate --model tiny
  expect_code 2 '--prompt.*excludes' generate --model tiny --prompt a --prompts prompts.txt
  expect_code 2 '--greedy.*excludes|excludes --greedy' generate --model tiny --prompt a --greedy --temperature 2
  expect_code 2 "--top-p.*\(0, 1\], got '1.5'" generate --model tiny --prompt a --top-p 1.5
  expect_code 2 '--dtype' generate --model tiny --prompt a --dtype int8
  expect_code 2 '--prompt: is empty' generate --model tiny --prompt ''
  expect_code 2 '--max-new-tokens: --prompt has [0-9]+ tokens: with 5000 new ones they pass the model.s 2048 positions' \
    generate --model tiny --prompt "Hello" --max-new-tokens 5000
  expect_code 2 '--out \(a folder, with --model\)' heatmap --model tiny --text "Hello"
  expect_code 2 '--model excludes|excludes --model' heatmap --model tiny --checkpoint . --text "Hello" --out x
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac
[ "$failures" -eq 0 ]
