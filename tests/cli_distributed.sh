#!/usr/bin/env bash
# `attention train` as data-parallel ranks, end to end, started by the tests' torchrun (distributed/launch.cpp: every
# rank on 127.0.0.1, bounded in time). Each case is a ctest entry (app.distributed.CASE):
#   same_metrics_induction  --task induction as 2 ranks, and as 3 (an odd ring, batches of 30), gives the metrics.json
#                           of one process (within TOLERANCE); rank 0 alone prints the summary and writes the files
#   same_metrics_relations  the same for the relations task, and for a --data file whose last batch (1 example) leaves
#                           one of the 2 ranks nothing
#   resume_other_world_size a run of 1 process stopped by Ctrl-C and resumed as 2 ranks, and one of 2 ranks resumed
#                           alone, end with the metrics of an uninterrupted run
#   a_rank_dies             rank 1, then rank 0, killed in the middle of a run: the other exits 1 within 60 s naming
#                           the distributed failure, and the checkpoint loads (rank 1 killed: no temporary file)
#   batch_not_divisible     --batch-size 5 over 2 ranks: exit 2 naming both
# Usage: cli_distributed.sh ATTENTION_BINARY LAUNCHER COMPARE_METRICS SCRATCH_DIR CASE
set -uo pipefail
# shellcheck source=cli_support.sh
source "$(dirname "$0")/cli_support.sh"
bin=$(realpath "$1")
launcher=$(realpath "$2")
compare=$(realpath "$3")
work=$4/$5
case=$5
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

# Two runs of one seed and global batch differ only in how the floating-point sums are grouped.
tolerance=1e-4
induction=(train --task induction --dim 16 --heads 2 --epochs 2 --steps-per-epoch 5)

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
ranks() {  # ranks N ARGS...: `attention ARGS...` as N ranks
  local n=$1
  shift
  "$launcher" --nproc "$n" --timeout 240 -- "$bin" "$@"
}
same_metrics() {  # same_metrics A B NAME: the metrics.json of runs A and B agree, the seconds, threads and processes aside
  "$compare" "$1/metrics.json" "$2/metrics.json" "$tolerance" seconds threads processes || fail "$3: the metrics differ"
}
processes_of() {  # "processes" in the metrics.json of folder $1
  sed -n 's/^  "processes": \([0-9]*\),*$/\1/p' "$1/metrics.json"
}
rank_pid() {  # rank_pid LAUNCHER RANK: the process of rank RANK started by the launcher LAUNCHER
  local pid
  for pid in $(ps -o pid= --ppid "$1"); do
    if tr '\0' '\n' < "/proc/$pid/environ" | grep -qx "RANK=$2"; then
      echo "$pid"
      return
    fi
  done
}
no_temporary() {  # no temporary file in folder $1
  if ls "$1"/*.tmp > /dev/null 2>&1; then
    fail "$2: temporary files left: $(ls "$1"/*.tmp)"
  fi
}

case $case in
  same_metrics_induction)
    "$bin" "${induction[@]}" --out alone > alone.out 2> alone.err || fail "alone: $(cat alone.err)"
    ranks 2 "${induction[@]}" --out two > two.out 2> two.err || fail "2 ranks: $(cat two.err)"
    same_metrics alone two "induction"
    [ "$(processes_of two)" = 2 ] || fail "metrics.json of 2 ranks: processes is not 2"
    [ "$(grep -c 'Written to' two.out)" = 1 ] || fail "2 ranks: the summary is not printed once: $(cat two.out)"
    # Rank 0 alone wrote the files: the same ones as the process alone.
    [ "$(ls alone)" = "$(ls two)" ] || fail "2 ranks wrote $(ls two), alone $(ls alone)"
    "$bin" "${induction[@]}" --batch-size 30 --out alone_30 > /dev/null 2> alone_30.err ||
      fail "alone, batches of 30: $(cat alone_30.err)"
    ranks 3 "${induction[@]}" --batch-size 30 --out three > /dev/null 2> three.err || fail "3 ranks: $(cat three.err)"
    same_metrics alone_30 three "induction, 3 ranks"
    [ "$(processes_of three)" = 3 ] || fail "metrics.json of 3 ranks: processes is not 3"
    ;;
  same_metrics_relations)
    "$bin" train --dim 32 --epochs 3 --quiet --out alone 2> alone.err || fail "alone: $(cat alone.err)"
    ranks 2 train --dim 32 --epochs 3 --quiet --out two 2> two.err || fail "2 ranks: $(cat two.err)"
    same_metrics alone two "relations"
    # 13 training examples in batches of 4: the last batch holds 1, which rank 1 trains on alone.
    for i in $(seq 1 13); do
      printf 'the cat %d sat on the mat because it was warm\twarm\tmat\n' "$i"
    done > train.tsv
    printf 'the dog sat on the mat because it was warm\twarm\tmat\n' > test.tsv
    data=(train --data train.tsv --test-data test.tsv --dim 16 --epochs 3 --batch-size 4 --quiet)
    "$bin" "${data[@]}" --out data_alone 2> data_alone.err || fail "data, alone: $(cat data_alone.err)"
    ranks 2 "${data[@]}" --out data_two 2> data_two.err || fail "data, 2 ranks: $(cat data_two.err)"
    same_metrics data_alone data_two "relations, a last batch of 1 example"
    ;;
  resume_other_world_size)
    long=(train --task induction --dim 16 --heads 2 --epochs 8 --steps-per-epoch 10 --quiet)
    "$bin" "${long[@]}" --out straight 2> straight.err || fail "uninterrupted: $(cat straight.err)"
    # 1 process, then 2 ranks.
    "$bin" "${long[@]}" --out one_then_two > /dev/null 2> one_then_two.err &
    pid=$!
    wait_for one_then_two/checkpoint.pt || fail "1 then 2: no checkpoint after 120 s"
    kill -INT "$pid"
    wait "$pid"
    status=$?
    [ -e one_then_two/metrics.json ] && echo "note: the run of 1 finished before Ctrl-C arrived"
    [ -e one_then_two/metrics.json ] || [ "$status" = 130 ] || fail "1 then 2: Ctrl-C: exit code $status, not 130"
    ranks 2 train --resume --out one_then_two --quiet 2> resume_two.err || fail "resumed as 2: $(cat resume_two.err)"
    same_metrics straight one_then_two "1 process, resumed as 2 ranks"
    [ "$(processes_of one_then_two)" = 2 ] || fail "resumed as 2: processes is not 2"
    # 2 ranks, then 1 process: Ctrl-C reaches both ranks, which stop together.
    "$launcher" --nproc 2 --timeout 240 -- "$bin" "${long[@]}" --out two_then_one > /dev/null 2> two_then_one.err &
    pid=$!
    wait_for two_then_one/checkpoint.pt || fail "2 then 1: no checkpoint after 120 s"
    kill -INT "$(rank_pid "$pid" 0)" "$(rank_pid "$pid" 1)"
    wait "$pid"
    status=$?
    [ -e two_then_one/metrics.json ] && echo "note: the run of 2 finished before Ctrl-C arrived"
    [ -e two_then_one/metrics.json ] || [ "$status" = 130 ] || fail "2 then 1: Ctrl-C: exit code $status, not 130"
    "$bin" train --resume --out two_then_one --quiet 2> resume_one.err || fail "resumed alone: $(cat resume_one.err)"
    same_metrics straight two_then_one "2 ranks, resumed as 1 process"
    ;;
  a_rank_dies)
    for killed in 1 0; do
      other=$((1 - killed))
      run=killed_$killed
      "$launcher" --nproc 2 --timeout 240 -- "$bin" train --task induction --dim 16 --heads 2 --epochs 400 \
        --steps-per-epoch 5 --quiet --out "$run" > /dev/null 2> "$run.err" &
      pid=$!
      wait_for "$run/checkpoint.pt" || fail "rank $killed killed: no checkpoint after 120 s"
      sleep 0.5
      kill -KILL "$(rank_pid "$pid" "$killed")"
      started=$SECONDS
      wait "$pid"
      elapsed=$((SECONDS - started))
      [ "$elapsed" -lt 60 ] || fail "rank $killed killed: the launcher waited $elapsed s"
      grep -q "launch: rank $other exited with 1" "$run.err" || fail "rank $killed killed: rank $other did not exit 1: $(cat "$run.err")"
      grep -q "distributed: rank $other of 2 failed" "$run.err" ||
        fail "rank $killed killed: no error naming the distributed failure: $(cat "$run.err")"
      if grep -Eq 'Exception raised from|frame #|terminate called' "$run.err"; then
        fail "rank $killed killed: a stack trace or crash: $(head -20 "$run.err")"
      fi
      [ -e "$run/metrics.json" ] && fail "rank $killed killed: the run finished before the kill"
      # Rank 0 killed while it saves may leave a temporary file (the next run removes it); the checkpoint is whole.
      [ "$killed" = 1 ] && no_temporary "$run" "rank 1 killed"
      "$bin" heatmap --checkpoint "$run" --tokens "3 17 5 9 3 17 5 9" --out "$run.png" > /dev/null 2> "$run.load.err" ||
        fail "rank $killed killed: the checkpoint does not load: $(cat "$run.load.err")"
    done
    ;;
  batch_not_divisible)
    ranks 2 "${induction[@]}" --batch-size 5 --out never > out.txt 2> err.txt
    status=$?
    [ "$status" = 2 ] || fail "exit code $status, not 2: $(cat err.txt)"
    grep -q -- "--batch-size: 5 is not divisible by the 2 processes" err.txt || fail "no usage error: $(cat err.txt)"
    [ -e never ] && fail "the folder of the run was created"
    ;;
  *)
    echo "unknown case $case"
    exit 2
    ;;
esac

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: $case"
