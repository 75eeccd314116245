#!/usr/bin/env bash
# The stress issue's detection table: for each race fault, how many of RUNS free-running stress runs
# of DURATION seconds find it, with delay injection (p=0.05) and without (p=0).
# Usage: stress_detection_table.sh LOCKSTEP [RUNS=10] [DURATION=60] [PARALLEL=2] [FAULTS...]
# Prints one line per run as it ends (fault, delays, seed, exit, verdict line) to stderr and the
# markdown table on stdout. Exit codes of `lockstep stress`: 0 agree, 1 violation, 3 unknown.
set -euo pipefail
lockstep=${1:?usage: $0 LOCKSTEP [RUNS] [DURATION] [PARALLEL] [FAULTS...]}
runs=${2:-10}
duration=${3:-60}
parallel=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
faults=("$@")
if [ ${#faults[@]} -eq 0 ]; then
  faults=(fork_pid_gap resume_split suspend_check_lost_wakeup park_no_loop wait_exit_no_loop
          exit_wakes_early reparent_late switch_check_gap kthread_handle_late)
fi
# STRESS_TABLE_DIR keeps every run's log there; else a temporary folder, removed at the end.
if [ -n "${STRESS_TABLE_DIR:-}" ]; then
  work=$STRESS_TABLE_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

one_run() {  # fault delay seed
  local fault=$1 delay=$2 seed=$3 out rc
  out="$work/$fault-$delay-$seed"
  rc=0
  "$lockstep" stress --duration "$duration" --ops 0 --threads 4 --seed "$seed" \
    --delay-prob "$delay" --fault "$fault" --judge-budget 60 --no-shrink \
    --trace-dir "$work/traces-$fault-$delay-$seed" >"$out.log" 2>&1 || rc=$?
  rm -rf "$work/traces-$fault-$delay-$seed"  # 10^8 bytes of history each; the verdict is in the log
  echo "$rc" >"$out.rc"
  echo "$fault delays=$delay seed=$seed exit=$rc $(grep -m1 -E 'verdict|VIOLATION|AGREE|UNKNOWN' "$out.log" || true)" >&2
}
export -f one_run
export lockstep duration work

# Seeds outermost: a table cut short has as many runs in every cell.
for seed in $(seq 1 "$runs"); do
  for fault in "${faults[@]}"; do
    for delay in 0.05 0; do echo "$fault $delay $seed"; done
  done
done | xargs -P "$parallel" -L 1 bash -c 'one_run "$@"' _

count() {  # fault delay code -> how many runs ended with that exit code
  local n=0 f
  for f in "$work/$1-$2-"*.rc; do [ -f "$f" ] && [ "$(cat "$f")" = "$3" ] && n=$((n + 1)); done
  echo "$n"
}
runs_of() {  # fault delay -> how many runs ended
  local n=0 f
  for f in "$work/$1-$2-"*.rc; do [ -f "$f" ] && n=$((n + 1)); done
  echo "$n"
}
echo "| race fault | delays p=0.05: found | unknown | delays off: found | unknown |"
echo "| --- | ---: | ---: | ---: | ---: |"
for fault in "${faults[@]}"; do
  echo "| $fault | $(count "$fault" 0.05 1) of $(runs_of "$fault" 0.05) | $(count "$fault" 0.05 3) | $(count "$fault" 0 1) of $(runs_of "$fault" 0) | $(count "$fault" 0 3) |"
done
