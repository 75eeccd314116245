#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang++ (ASan + UBSan) in build/fuzz and runs each
# one, seeded from traces/, tests/traces/bad/ and tests/fuzz/seeds/. Exits 0 when no target found a
# crash, a hang (an input running over 1 s), a leak or a sanitizer report; 1 otherwise (the input is
# kept as build/fuzz/artifacts/TARGET-crash-*, and the command that reproduces it is printed).
#
#   tests/fuzz/run.sh                  # 1000000 executions per target
#   tests/fuzz/run.sh --runs N         # N executions per target
#   tests/fuzz/run.sh --seconds T      # T seconds per target instead (CI: --seconds 7, about 30 s in all)
#   tests/fuzz/run.sh --targets "fuzz_trace fuzz_cli"   # only these
#   tests/fuzz/run.sh --build-only
# Environment: LOCKSTEP_FUZZ_RUNS, LOCKSTEP_FUZZ_SECONDS (like the options), LOCKSTEP_FUZZ_SEED (a
# fixed libFuzzer seed), LOCKSTEP_FUZZ_JOBS (build jobs, default 2), LOCKSTEP_FUZZ_BUILD (build dir).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LOCKSTEP_FUZZ_BUILD:-$root/build/fuzz}
runs=${LOCKSTEP_FUZZ_RUNS:-1000000}
seconds=${LOCKSTEP_FUZZ_SECONDS:-}
jobs=${LOCKSTEP_FUZZ_JOBS:-2}
targets="fuzz_trace fuzz_program fuzz_verify fuzz_cli"
build_only=0

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?--runs N}; seconds=""; shift 2 ;;
    --seconds) seconds=${2:?--seconds T}; shift 2 ;;
    --targets) targets=${2:?--targets \"NAME...\"}; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$runs$seconds" in *[!0-9]*) echo "run.sh: --runs and --seconds take a whole number" >&2; exit 2 ;; esac

# ---- build ----------------------------------------------------------------------------------------
if ! command -v clang++ >/dev/null || [ ! -f "$(clang++ --print-runtime-dir)/libclang_rt.fuzzer-$(uname -m).a" ]; then
  echo "run.sh: needs clang++ with libFuzzer (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
t0=$(date +%s)
mkdir -p "$(dirname "$build")"  # a fresh clone has no build/ yet
cmake -S "$root/tests/fuzz" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
mv "$build.configure.log" "$build/configure.log"
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets
echo "=== fuzz build: $(( $(date +%s) - t0 )) s"
if [ "$build_only" = 1 ]; then exit 0; fi

# ---- seed corpora (rebuilt on every run from the repository; nothing is committed twice) -----------
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/trace" "$seeds/program" "$seeds/cli"
while IFS= read -r f; do
  cp "$f" "$seeds/trace/$(echo "${f#"$root"/}" | tr / _)"
done < <(find "$root/traces" "$root/tests/traces/bad" -name '*.jsonl' -type f | sort)
i=0
while IFS= read -r line; do
  case $line in '#'*) continue ;; esac
  i=$((i + 1)); printf '%s' "$line" >"$seeds/program/seed$i"
done <"$root/tests/fuzz/seeds/program.txt"
for f in "$seeds"/trace/*; do  # the choice programs the traces were recorded with
  p=$(head -n 1 "$f" | grep -o '"program":"[^"]*"' | head -n 1 | sed 's/^"program":"//; s/"$//' || true)
  if [ -n "$p" ]; then printf '%s' "$p" >"$seeds/program/$(basename "$f" .jsonl)"; fi
done
i=0
while IFS= read -r line; do
  case $line in '#'*) continue ;; esac
  i=$((i + 1)); printf '%s' "$line" | tr ' ' '\0' >"$seeds/cli/seed$i"
done <"$root/tests/fuzz/seeds/cli.txt"

seeds_of() { case $1 in fuzz_trace|fuzz_verify) echo trace ;; fuzz_program) echo program ;; fuzz_cli) echo cli ;; esac; }
dict_of() { case $1 in fuzz_trace|fuzz_verify) echo trace ;; fuzz_program) echo program ;; fuzz_cli) echo cli ;; esac; }

# ---- run ------------------------------------------------------------------------------------------
# Leaks are checked after every input that allocates more than it frees, and at exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:handle_abort=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"
if [ -n "$seconds" ]; then what="$seconds s"; else what="$runs runs"; fi
seed_opt=()
if [ -n "${LOCKSTEP_FUZZ_SEED:-}" ]; then seed_opt=(-seed="$LOCKSTEP_FUZZ_SEED"); fi
fuzz_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=()
printf '=== fuzzing, %s per target\n%-14s %12s %10s %9s %8s  %s\n' "$what" target executions execs/s seconds rss_mb result
for t in $targets; do
  # A run of N executions adds to the corpus earlier runs grew; a timed run (CI) starts from the seeds
  # alone, so that it takes its time however large that corpus (libFuzzer runs it all first) has grown.
  if [ -n "$seconds" ]; then corpus=$build/corpus-timed/$t; rm -rf "$corpus"; else corpus=$build/corpus/$t; fi
  log=$build/logs/$t.log
  mkdir -p "$corpus"
  : >"$log"
  start=$(date +%s)
  execs=0 rss=0 retries=0 result=ok artifact=""
  # One libFuzzer run, or more: a timeout whose input then runs well within the limit was the machine
  # being busy (the CI machine is shared), not a hang; the run then goes on with what is left of its
  # budget (at most 3 times). A timeout that reproduces, and every other failure, fails the target.
  while :; do
    if [ -n "$seconds" ]; then
      left=$(( seconds - ($(date +%s) - start) )); [ "$left" -ge 1 ] || break
      budget=(-max_total_time="$left")
    else
      left=$(( runs - execs )); [ "$left" -ge 1 ] || break
      budget=(-runs="$left")
    fi
    set +e
    "$build/$t" "${budget[@]}" "${seed_opt[@]}" -timeout=1 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
      -dict="$root/tests/fuzz/$(dict_of "$t").dict" -artifact_prefix="$build/artifacts/$t-" \
      "$corpus" "$seeds/$(seeds_of "$t")" >"$log.part" 2>&1
    rc=$?
    set -e
    cat "$log.part" >>"$log"
    n=$(fuzz_stat number_of_executed_units "$log.part")
    execs=$(( execs + ${n:-0} ))
    r=$(fuzz_stat peak_rss_mb "$log.part")
    [ "${r:-0}" -le "$rss" ] || rss=$r
    [ "$rc" = 0 ] && break
    artifact=$(sed -n "s/.*Test unit written to //p" "$log.part" | tail -n 1)
    if grep -q "ERROR: libFuzzer: timeout" "$log.part" && [ -n "$artifact" ] && [ "$retries" -lt 3 ] &&
       "$build/$t" -timeout=1 -runs=3 "$artifact" >>"$log" 2>&1; then
      retries=$((retries + 1))
      echo "run.sh: $artifact ran 3 times within the 1 s limit: a busy machine, not a hang; going on" >>"$log"
      mv "$artifact" "$build/artifacts/$t-spurious-$(basename "$artifact")"
      continue
    fi
    result="FAILED (exit $rc)"
    failed+=("$t")
    break
  done
  rm -f "$log.part"
  elapsed=$(( $(date +%s) - start ))
  [ "$retries" = 0 ] || result="$result ($retries timeouts that did not reproduce)"
  printf '%-14s %12s %10s %9s %8s  %s\n' "$t" "$execs" "$(( execs / (elapsed > 0 ? elapsed : 1) ))" "$elapsed" "$rss" "$result"
  if [ "$result" != "${result#FAILED}" ]; then
    echo "--- $log (last 60 lines):"
    tail -n 60 "$log"
    if [ -n "$artifact" ]; then echo "--- reproduce: $build/$t $artifact"; fi
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "=== fuzzing FAILED: ${failed[*]} (logs in $build/logs, inputs in $build/artifacts)"
  exit 1
fi
echo "=== fuzzing passed: no crash, hang or leak in $targets"
