#!/usr/bin/env bash
# Bad input, end to end: runs the `attention` program on a table of bad inputs and checks, for each, that it
#   - exits with the documented code within a minute, without a crash: 2 when the command line itself is wrong
#     (an unknown option, a missing or malformed value, values that do not fit), 1 for anything found wrong
#     while running (a file that does not exist or cannot be read, bad data, a damaged checkpoint, an output
#     that cannot be written);
#   - prints a message naming the problem (a fragment of it, grep -E, case-insensitive);
#   - never shows the user a LibTorch stack trace ("Exception raised from", "frame #") or a sanitizer report;
#   - leaves nothing behind: no file or folder is created, changed or removed in its working folder.
# Usage: cli_bad_input.sh ATTENTION_BINARY SCRATCH_DIR [IN_PROCESS_DRIVER]       (ctest runs it as app.bad_input)
# With IN_PROCESS_DRIVER (tests/cli_in_process.cpp) the cases run one after another in that one process, through
# the program's own run_command_line, rather than as a process each: the same code, without a start of LibTorch
# per case. The fixtures are always made by ATTENTION_BINARY.
set -uo pipefail
bin=$(realpath "$1")
work=$2
driver=${3:+$(realpath "$3")}
rm -rf "$work"
mkdir -p "$work/.logs"
cd "$work" || exit 1

tried=0
failures=0
fail() {
  echo "FAIL [$tried] $*"
  failures=$((failures + 1))
}

# Every file and folder, files with their checksum (the logs folder aside): compared before and after each case.
snapshot() {
  find . -path ./.logs -prune -o ! -type f -print | sort
  find . -path ./.logs -prune -o -type f -print0 | sort -z | xargs -0 md5sum
}

# The in-process driver, as a coprocess: started (again) when a case needs it. Between cases its standard error
# is .logs/driver (what a sanitizer reports at its exit, leaks above all).
start_driver() {
  coproc DRIVER { exec "$driver" .logs/out .logs/err 2> .logs/driver; }
}

# Ends the driver: it must exit 0, and say nothing at its exit.
stop_driver() {
  [ -n "${DRIVER_PID:-}" ] || return 0
  local pid=$DRIVER_PID status
  exec {DRIVER[1]}>&-
  wait "$pid"
  status=$?
  unset DRIVER_PID
  if [ "$status" -ne 0 ] || [ -s .logs/driver ]; then
    fail "the in-process driver exited $status at the end of the table:"
    head -c 2000 .logs/driver
  fi
}

# run_case ARGS...: runs `attention ARGS...`, its output in .logs/out and .logs/err; the status is its exit code,
# or 124 after 60 s, or 125 when the driver stopped (a crash).
run_case() {
  if [ -z "$driver" ]; then
    timeout 60 "$bin" "$@" > .logs/out 2> .logs/err < /dev/null
    return
  fi
  if [ -z "${DRIVER_PID:-}" ]; then start_driver; fi
  local status
  { printf '%d\n' $#; if [ $# -gt 0 ]; then printf '%s\0' "$@"; fi; } >&"${DRIVER[1]}"
  if read -r -t 60 status <&"${DRIVER[0]}"; then
    return "$status"
  fi
  local timed_out=$?  # > 128 when read timed out, 1 at the end of the driver's output
  kill -9 "$DRIVER_PID" 2> /dev/null
  wait "$DRIVER_PID" 2> /dev/null
  unset DRIVER_PID
  if [ "$timed_out" -gt 128 ]; then return 124; fi
  return 125
}

# expect CODE FRAGMENT ARGS...: runs `attention ARGS...`.
expect() {
  local code=$1 fragment=$2
  shift 2
  tried=$((tried + 1))
  local before after status
  before=$(snapshot)
  run_case "$@"
  status=$?
  after=$(snapshot)
  local shown="attention ${*:1:8}"
  shown=${shown:0:160}
  if [ "$status" -eq 124 ]; then
    fail "$shown: took more than 60 s"
  elif [ "$status" -eq 125 ] && [ -n "$driver" ]; then
    fail "$shown: the in-process driver stopped (a crash):"
    head -c 600 .logs/err 2> /dev/null
  elif [ "$status" -ne "$code" ]; then
    fail "$shown: exit code $status, expected $code"
  fi
  if ! grep -Eqi -- "$fragment" .logs/err; then
    fail "$shown: the message does not match '$fragment'"
  fi
  if grep -Eq 'Exception raised from|frame #|terminate called|AddressSanitizer|runtime error:' .logs/err; then
    fail "$shown: a stack trace, crash or sanitizer report"
  fi
  if [ "$before" != "$after" ]; then
    fail "$shown: left output behind or changed a file:"
    diff <(echo "$before") <(echo "$after") | head -5
  fi
  if [ "$failures" -gt 0 ] && [ -n "${VERBOSE:-}" ]; then head -c 600 .logs/err; fi
}

# Fixtures --------------------------------------------------------------------------------------------------
mkdir -p fixtures
"$bin" train --dim 64 --epochs 2 --quiet --out fixtures/good > /dev/null || { echo "cannot train the fixture"; exit 1; }
good=fixtures/good
"$bin" train --task induction --dim 16 --heads 2 --epochs 1 --steps-per-epoch 2 --quiet --out fixtures/induction \
  > /dev/null || { echo "cannot train the induction fixture"; exit 1; }
induction=fixtures/induction
cp "$good/checkpoint.pt" fixtures/checkpoint.pt
size=$(stat -c %s fixtures/checkpoint.pt)

mkdir -p fixtures/no_checkpoint fixtures/checkpoint_is_a_folder/checkpoint.pt fixtures/a_folder
mkdir -p fixtures/truncated fixtures/corrupted fixtures/garbage_checkpoint fixtures/empty_checkpoint
head -c $((size / 2)) fixtures/checkpoint.pt > fixtures/truncated/checkpoint.pt
cp fixtures/checkpoint.pt fixtures/corrupted/checkpoint.pt
printf '\x5a\xa5\x5a\xa5\x5a\xa5\x5a\xa5' | dd of=fixtures/corrupted/checkpoint.pt bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
: > fixtures/empty_checkpoint/checkpoint.pt
# Deterministic "random" bytes (a linear congruential sequence), all 256 values.
garbage() {
  local n=$1 x=12345 i byte out=""
  for ((i = 0; i < n; i++)); do
    x=$(((x * 1103515245 + 12345) % 2147483648))
    printf -v byte '\\x%02x' $(((x >> 16) % 256))
    out+=$byte
  done
  printf "$out"
}
garbage 4096 > fixtures/garbage.bin
garbage 4096 > fixtures/garbage_checkpoint/checkpoint.pt
touch fixtures/a_file
ln -s /dev/full fixtures/full.png  # a device behind a picture's name: must be refused, never replaced

tab=$'\t'
: > fixtures/empty.tsv
printf '# only a comment\n\n   \n' > fixtures/comments.tsv
printf 'the cat sat\tcat\n' > fixtures/two_fields.tsv
printf 'the cat sat\tcat\tsat\textra\n' > fixtures/four_fields.tsv
printf 'the cat sat\tdog\tsat\n' > fixtures/query_absent.tsv
printf 'the cat sat\tcat\tdog\n' > fixtures/target_absent.tsv
printf 'the cat sat\tthe cat\tsat\n' > fixtures/two_word_query.tsv
printf 'the caf\xe9 sat\tsat\tthe\n' > fixtures/latin1.tsv
printf 'the cat\x00 sat\tcat\tsat\n' > fixtures/nul.tsv
printf 'the cat sat\tcat\tsat\n' > fixtures/one_example.tsv
printf 'the cat sat on the mat\tcat\tmat\nthe dog sat on the rug\tdog\trug\n' > fixtures/good.tsv
{ printf 'w%d ' $(seq 1 100000); printf '\tw1\tw2\n'; } > fixtures/huge_sentence.tsv
huge_argument=$(printf 'w%d ' $(seq 1 300))  # 100,000 words do not fit in one argument (128 KiB): 300 do

# Command line: usage errors (2) --------------------------------------------------------------------------
expect 2 'subcommand is required' --no-such-option
expect 2 'not expected: --no-such-option' train --no-such-option
expect 2 "unknown command 'bogus'" bogus
expect 2 '--epochs.*missing' train --epochs
expect 2 '--lr.*missing' train --lr
expect 2 "--epochs.*>= 1, got '0'" train --epochs 0
expect 2 "--epochs.*>= 1, got '-3'" train --epochs -3
expect 2 "--dim.*>= 1, got '0'" train --dim 0
expect 2 "--dim.*>= 1, got '-64'" train --dim -64
expect 2 "--dim.*got 'abc'" train --dim abc
expect 2 "--dim.*got '1e99'" train --dim 1e99
expect 2 "--dim.*got '99999999999999999999'" train --dim 99999999999999999999
expect 2 "--heads.*>= 1, got '0'" train --model multihead --heads 0
expect 2 "--batch-size.*>= 1, got '0'" train --batch-size 0
expect 2 "--threads.*>= 1, got '-1'" train --threads -1
expect 2 "--lr.*> 0, got '0'" train --lr 0
expect 2 "--lr.*> 0, got '-0.1'" train --lr -0.1
expect 2 "--lr.*finite.*got 'nan'" train --lr nan
expect 2 "--lr.*finite.*got 'inf'" train --lr inf
expect 2 '--dim 64 --heads 5: .*embed_dim \(64\) must be divisible by num_heads \(5\)' train --model multihead --dim 64 --heads 5
expect 2 '--model.*big' train --model big
expect 2 '--test-data.*needs --data' train --test-data fixtures/good.tsv
expect 2 '--resume.*needs --out' train --resume
expect 2 "--dim.*is 32 but the run in $good has 64" train --resume --out "$good" --dim 32
expect 2 '--checkpoint is required' predict --sentence 'a b' --query a
expect 2 "--query.*'dog' is not a word" predict --checkpoint "$good" --sentence 'the cat sat' --query dog
expect 2 '--query.*missing' predict --checkpoint "$good" --sentence 'the cat sat' --query
expect 2 '--sentence.*300 words, more than the limit of 256' predict --checkpoint "$good" --sentence "$huge_argument" --query w1
expect 2 '--sentence.*0xe9 at column 8 is not valid UTF-8' predict --checkpoint "$good" --sentence $'the caf\xe9 sat' --query sat
expect 2 '--query.*0xff.*not valid UTF-8' predict --checkpoint "$good" --sentence 'the cat sat' --query $'\xff'
expect 2 '--sentence \(or --weights, or --tokens\)' heatmap --checkpoint "$good"
expect 2 '--sentence.*2 or more words' heatmap --checkpoint "$good" --sentence word
expect 2 '--sentence.*300 words' heatmap --checkpoint "$good" --sentence "$huge_argument" --out fixtures/x.png
expect 2 '--(sentence|weights) excludes --(weights|sentence)' heatmap --checkpoint "$good" --sentence 'a b' --weights
expect 2 "--task: bogus not in" train --task bogus
expect 2 '--model: is an option of --task relations, not of --task induction' train --task induction --model scaled
expect 2 '--data: is an option of --task relations' train --task induction --data fixtures/good.tsv
expect 2 '--layers: is an option of --task induction, not of --task relations' train --layers 3
expect 2 '--mlp: is an option of --task induction' train --task relations --mlp
expect 2 "--layers.*>= 1, got '0'" train --task induction --layers 0
expect 2 "--steps-per-epoch.*>= 1, got '-5'" train --task induction --steps-per-epoch -5
expect 2 '--dim 64 --heads 5: .*embed_dim \(64\) must be divisible by num_heads \(5\)' train --task induction --heads 5
expect 2 '--dim 20 --heads 4: .*rope needs an even head width, got 5' train --task induction --dim 20
expect 2 "--task: is induction but the run in $good is of --task relations" train --task induction --resume --out "$good"
expect 2 "--task: is relations but the run in $induction is of --task induction" train --task relations --resume --out "$induction"
expect 2 "--dim.*is 32 but the run in $induction has 16" train --resume --out "$induction" --dim 32
expect 2 '--model: is an option of --task relations' train --resume --out "$induction" --model scaled
expect 2 "--checkpoint: $induction holds a run of --task induction, not of --task relations" predict --checkpoint "$induction" --sentence 'a b' --query a
expect 2 "--checkpoint: $good holds a run of --task relations, not of --task induction" heatmap --checkpoint "$good" --tokens '1 2 3'
expect 2 "--checkpoint: $induction holds a run of --task induction.*--tokens" heatmap --checkpoint "$induction" --sentence 'a b'
expect 2 "--checkpoint: $induction holds a run of --task induction" heatmap --checkpoint "$induction" --weights
expect 2 "--tokens: '64' is not a token id: the checkpoint's are 0 to 63" heatmap --checkpoint "$induction" --tokens '1 2 64'
expect 2 "--tokens: '-2' is not a token id" heatmap --checkpoint "$induction" --tokens '1,-2'
expect 2 "--tokens: 'x' is not a token id" heatmap --checkpoint "$induction" --tokens '1 x'
expect 2 '--tokens: needs 2 to 256 token ids, got 1' heatmap --checkpoint "$induction" --tokens 5
expect 2 '--tokens: needs 2 to 256 token ids, got 300' heatmap --checkpoint "$induction" --tokens "$(printf '1 %.0s' $(seq 1 300))"
expect 2 '--(sentence|tokens) excludes --(tokens|sentence)' heatmap --checkpoint "$induction" --tokens '1 2' --sentence 'a b'
expect 2 "--query.*'zebra' is not a word" explain --query zebra
expect 2 '--sentence.*has no words' explain --sentence ...
expect 2 '--sentence.*not valid UTF-8' explain --sentence $'\xc3\x28 b'

# Data files: failures (1) -----------------------------------------------------------------------------------
expect 1 '/no/such/file: no such data file' train --data /no/such/file
expect 1 'fixtures/a_folder: a folder, not a data file' train --data fixtures/a_folder
expect 1 '/no/such/file: no such data file' train --data fixtures/good.tsv --test-data /no/such/file
expect 1 'empty.tsv: no examples' train --data fixtures/empty.tsv --out run
expect 1 'comments.tsv: no examples' train --data fixtures/comments.tsv --out run
expect 1 'garbage.bin:[0-9]+: .*(UTF-8|NUL)' train --data fixtures/garbage.bin --out run
expect 1 'two_fields.tsv:1: expected 3 tab-separated fields.*found 2' train --data fixtures/two_fields.tsv --out run
expect 1 'four_fields.tsv:1: expected 3 tab-separated fields.*found 4' train --data fixtures/four_fields.tsv --out run
expect 1 "query_absent.tsv:1: query 'dog' is not a word" train --data fixtures/query_absent.tsv --out run
expect 1 "target_absent.tsv:1: target 'dog' is not a word" train --data fixtures/target_absent.tsv --out run
expect 1 'two_word_query.tsv:1: query and target must be single words' train --data fixtures/two_word_query.tsv --out run
expect 1 'latin1.tsv:1: byte 0xe9 at column 8 is not valid UTF-8' train --data fixtures/latin1.tsv --out run
expect 1 'nul.tsv:1: a NUL byte at column 8' train --data fixtures/nul.tsv --out run
expect 1 'huge_sentence.tsv:1: the sentence has 100000 words, more than the limit of 256' \
  train --data fixtures/huge_sentence.tsv --out run
expect 1 'one_example.tsv: has 1 example' train --data fixtures/one_example.tsv --out run
expect 1 'two_fields.tsv:1: expected 3' train --data fixtures/good.tsv --test-data fixtures/two_fields.tsv --out run

# Checkpoints: failures (1) ----------------------------------------------------------------------------------
expect 1 'fixtures/nowhere: no such folder' predict --checkpoint fixtures/nowhere --sentence 'a b' --query a
expect 1 'fixtures/a_file: not a folder' heatmap --checkpoint fixtures/a_file --weights
expect 1 'no_checkpoint/checkpoint.pt: no checkpoint there' predict --checkpoint fixtures/no_checkpoint --sentence 'a b' --query a
expect 1 'no_checkpoint/checkpoint.pt: no checkpoint there' train --resume --out fixtures/no_checkpoint
expect 1 'checkpoint_is_a_folder/checkpoint.pt: not a file' predict --checkpoint fixtures/checkpoint_is_a_folder --sentence 'a b' --query a
expect 1 'truncated/checkpoint.pt: not a readable attention checkpoint, it is damaged' predict --checkpoint fixtures/truncated --sentence 'a b' --query a
expect 1 'corrupted/checkpoint.pt: not a readable attention checkpoint, it is damaged.*CRC-32' predict --checkpoint fixtures/corrupted --sentence 'a b' --query a
expect 1 'corrupted/checkpoint.pt: not a readable attention checkpoint, it is damaged.*CRC-32' heatmap --checkpoint fixtures/corrupted --weights --out fixtures/x.png
expect 1 'corrupted/checkpoint.pt: not a readable attention checkpoint, it is damaged.*CRC-32' train --resume --out fixtures/corrupted
expect 1 'corrupted/checkpoint.pt: not a readable attention checkpoint, it is damaged.*CRC-32' train --task induction --resume --out fixtures/corrupted
expect 1 'corrupted/checkpoint.pt: not a readable attention checkpoint, it is damaged.*CRC-32' heatmap --checkpoint fixtures/corrupted --tokens '1 2'
expect 1 'no_checkpoint/checkpoint.pt: no checkpoint there' heatmap --checkpoint fixtures/no_checkpoint --tokens '1 2'
expect 1 'garbage_checkpoint/checkpoint.pt: not a readable attention checkpoint, it is damaged' predict --checkpoint fixtures/garbage_checkpoint --sentence 'a b' --query a
expect 1 'empty_checkpoint/checkpoint.pt: not a readable attention checkpoint, it is damaged' heatmap --checkpoint fixtures/empty_checkpoint --sentence 'a b'

# Outputs that cannot be written: failures (1) ---------------------------------------------------------------
expect 1 'full.png: it is not a regular file' heatmap --checkpoint "$good" --sentence 'the cat sat' --out fixtures/full.png
expect 1 'full.png: it is not a regular file' heatmap --checkpoint "$good" --weights --out fixtures/full.png
expect 1 'checkpoint.pt is not a folder' heatmap --checkpoint "$good" --sentence 'the cat sat' --out "$good/checkpoint.pt/x.png"
expect 1 'the folder fixtures/nowhere does not exist' heatmap --checkpoint "$good" --sentence 'the cat sat' --out fixtures/nowhere/x.png
expect 1 'a_folder: it is a folder' heatmap --checkpoint "$good" --sentence 'the cat sat' --out fixtures/a_folder
expect 1 'a_file: cannot write the run there: it is a file' train --epochs 1 --dim 64 --out fixtures/a_file
expect 1 'a_file: cannot write the run there: it is a file' train --task induction --epochs 1 --out fixtures/a_file
expect 1 'full.png: it is not a regular file' heatmap --checkpoint "$induction" --tokens '1 2 3' --out fixtures/full.png
expect 1 'a_file/run: cannot create the run folder: Not a directory' train --epochs 1 --dim 64 --out fixtures/a_file/run
expect 1 'a_file.*(Not a directory|not a folder|exists)' explain --out fixtures/a_file

stop_driver
echo "$tried bad inputs tried, $failures failed"
[ "$failures" -eq 0 ]
