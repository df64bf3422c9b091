#!/usr/bin/env bash
# Faults in training, end to end: a run killed with SIGKILL, a disk that fills while a checkpoint is saved, a
# loss that becomes NaN/inf, and Ctrl-C, of the relations task and of the induction task. After each, the last
# checkpoint is whole (it loads and predicts, or draws) and `--resume` finishes the run.
# Usage: cli_faults.sh ATTENTION_BINARY SCRATCH_DIR [FAULT]: one of sigkill, disk_full, nan_loss, sigint,
# sigint_induction (ctest runs each as app.faults.FAULT, in parallel), or all of them.
set -uo pipefail
# shellcheck source=cli_support.sh
source "$(dirname "$0")/cli_support.sh"
bin=$(realpath "$1")
work=$2/${3:-all}
only=${3:-}
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

faults=0
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
no_trace() {  # no LibTorch stack trace, crash or sanitizer report in the file $1
  if grep -Eq 'Exception raised from|frame #|terminate called|AddressSanitizer|runtime error:' "$1"; then
    fail "$2: a stack trace, crash or sanitizer report:"
    head -20 "$1"
  fi
}
loads() {  # the checkpoint in folder $1 loads and predicts
  if ! "$bin" predict --checkpoint "$1" --sentence 'the cat sat on the mat because it was warm' --query warm \
    > predict.out 2> predict.err; then
    fail "$2: the checkpoint in $1 does not load: $(cat predict.err)"
  elif grep -qi nan predict.out; then
    fail "$2: the checkpoint in $1 predicts NaN"
  fi
}
interrupt() {  # Ctrl-C to the run $pid writing folder $1 (stderr in $1.err) once it has a checkpoint; $2 names it
  wait_for "$1/checkpoint.pt" || fail "$2: no checkpoint after 120 s"
  kill -INT "$pid"
  wait "$pid"
  local status=$?
  if [ -e "$1/metrics.json" ]; then
    echo "note: the run finished before SIGINT arrived ($2)"
  else
    [ "$status" -eq 130 ] || fail "$2: exit code $status, expected 130"
    grep -q 'continue with --resume' "$1.err" || fail "$2: no hint to resume: $(cat "$1.err")"
  fi
  no_trace "$1.err" "$2"
}
epochs_of() {  # "epochs" in the metrics.json of folder $1
  sed -n 's/^  "epochs": \([0-9]*\),*$/\1/p' "$1/metrics.json"
}

# 1. SIGKILL in the middle of a run: the last checkpoint loads, and --resume runs to the end.
sigkill() {
  "$bin" train --dim 64 --epochs 200 --quiet --out killed > /dev/null 2> killed.err &
  pid=$!
  wait_for killed/checkpoint.pt || fail "SIGKILL: no checkpoint after 120 s"
  sleep 1
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  if [ -e killed/metrics.json ]; then
    echo "note: the run finished before it was killed (a fast machine); the resume below then only re-evaluates"
  fi
  loads killed "SIGKILL"
  "$bin" train --resume --out killed --quiet > /dev/null 2> resume.err || fail "SIGKILL: --resume failed: $(cat resume.err)"
  no_trace resume.err "SIGKILL: --resume"
  [ "$(epochs_of killed)" = 200 ] || fail "SIGKILL: the resumed run did not reach 200 epochs"
  ls killed/*.tmp > /dev/null 2>&1 && fail "SIGKILL: temporary files left: $(ls killed/*.tmp)"
  loads killed "SIGKILL, resumed"
}

# 2. The disk fills while a checkpoint is saved (simulated with a file-size limit, which root cannot bypass):
#    the run fails with a message, and the previous checkpoint is unchanged and loads.
disk_full() {
  "$bin" train --dim 64 --epochs 200 --quiet --out full > /dev/null 2> /dev/null &
  pid=$!
  wait_for full/checkpoint.pt || fail "disk full: no checkpoint after 120 s"
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  loads full "disk full, before"
  before=$(md5sum < full/checkpoint.pt)
  size=$(stat -c %s full/checkpoint.pt)
  # ulimit -f counts KiB; a write past it fails with EFBIG once SIGXFSZ is ignored.
  (trap '' XFSZ; ulimit -f $((size / 2048)); exec "$bin" train --resume --out full --quiet) > /dev/null 2> full.err
  status=$?
  [ "$status" -eq 1 ] || fail "disk full: exit code $status, expected 1"
  grep -q 'checkpoint.pt' full.err || fail "disk full: the message does not name the checkpoint: $(cat full.err)"
  no_trace full.err "disk full"
  [ "$(md5sum < full/checkpoint.pt)" = "$before" ] || fail "disk full: the previous checkpoint was changed"
  ls full/*.tmp > /dev/null 2>&1 && fail "disk full: temporary files left: $(ls full/*.tmp)"
  loads full "disk full, after"
  "$bin" train --resume --out full --quiet > /dev/null 2> full_resume.err || fail "disk full: --resume afterwards failed: $(cat full_resume.err)"
  [ "$(epochs_of full)" = 200 ] || fail "disk full: the resumed run did not reach 200 epochs"
}

# 3. A learning rate far too large: the loss becomes NaN/inf; the run stops with exit code 1 naming the epoch and
#    step, and leaves no checkpoint of non-finite weights (the checkpoint of the last finished epoch, if any, loads).
nan_loss() {
  "$bin" train --dim 64 --epochs 30 --lr 1e30 --quiet --out diverged > /dev/null 2> diverged.err
  status=$?
  [ "$status" -eq 1 ] || fail "NaN loss: exit code $status, expected 1"
  grep -Eq 'diverged at epoch [0-9]+, (step [0-9]+ of [0-9]+|its last step)' diverged.err ||
    fail "NaN loss: the message does not name the epoch and step: $(cat diverged.err)"
  no_trace diverged.err "NaN loss"
  [ -e diverged/metrics.json ] && fail "NaN loss: metrics.json written"
  ls diverged/*.tmp > /dev/null 2>&1 && fail "NaN loss: temporary files left"
  if [ -e diverged/checkpoint.pt ]; then loads diverged "NaN loss"; fi
}

# 4. Ctrl-C (SIGINT): exit code 130, a checkpoint that loads, and --resume finishes.
sigint() {
  "$bin" train --dim 64 --epochs 200 --quiet --out interrupted > /dev/null 2> interrupted.err &
  pid=$!
  interrupt interrupted "SIGINT"
  loads interrupted "SIGINT"
  "$bin" train --resume --out interrupted --quiet > /dev/null 2> interrupted_resume.err ||
    fail "SIGINT: --resume failed: $(cat interrupted_resume.err)"
  [ "$(epochs_of interrupted)" = 200 ] || fail "SIGINT: the resumed run did not reach 200 epochs"
}

# 5. Ctrl-C in a run of the induction task: the same, with both models, and --resume without --task.
sigint_induction() {
  "$bin" train --task induction --dim 32 --epochs 20 --steps-per-epoch 10 --quiet --out induction > /dev/null \
    2> induction.err &
  pid=$!
  interrupt induction "SIGINT, induction"
  "$bin" heatmap --checkpoint induction --tokens '1 2 3 1 2 3' --out induction.png > /dev/null 2> heatmap.err ||
    fail "SIGINT, induction: the checkpoint does not draw: $(cat heatmap.err)"
  "$bin" train --resume --out induction --quiet > /dev/null 2> induction_resume.err ||
    fail "SIGINT, induction: --resume failed: $(cat induction_resume.err)"
  grep -q '^  "steps": 200,$' induction/metrics.json || fail "SIGINT, induction: the resumed run did not reach 200 steps"
}

for fault in sigkill disk_full nan_loss sigint sigint_induction; do
  if [ -z "$only" ] || [ "$only" = "$fault" ]; then
    faults=$((faults + 1))
    "$fault"
  fi
done
[ "$faults" -gt 0 ] || { echo "unknown fault '$only'"; exit 2; }
echo "$faults faults, $failures failures"
[ "$failures" -eq 0 ]
