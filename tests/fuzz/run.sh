#!/usr/bin/env bash
# Run every libFuzzer target given for FUZZ_SECONDS each, FUZZ_JOBS at a time,
# each on its own corpus (plus its committed seeds). A crash, leak or timeout
# is a finding: its log tail is printed and the run fails.
# Closing line: "fuzz: N passed, N failed".
set -u
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out"

run_one() {
  local f=$1 n seeds
  n=$(basename "$f")
  mkdir -p "$out/corpus-$n"
  seeds=tests/fuzz/seeds/$n
  [ -d "$seeds" ] || seeds=
  if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/crash-$n-" "$out/corpus-$n" $seeds > "$out/$n.log" 2>&1; then
    echo "PASS $n $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$out/$n.log" | awk '{print $2}') runs"
  else
    echo "FAIL $n"
    tail -40 "$out/$n.log" | sed 's/^/  | /'
  fi
}
export -f run_one
export secs out

results=$(printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one {}')
echo "$results"
pass=$(grep -c '^PASS' <<<"$results")
fail=$(grep -c '^FAIL' <<<"$results")
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
