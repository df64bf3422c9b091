# Shell functions the command-line test scripts share; sourced, not run.

wait_for() {  # waits up to 120 s for the file $1
  for _ in $(seq 1 1200); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
