#!/usr/bin/env bash
# Run every end-to-end suite (tests/e2e/test_*.sh, or the names given) and
# print one closing line "N passed, N failed, N skipped".
# A suite exits 0 on pass, 77 when it cannot run here (skip), anything else on failure.
set -u
cd "$(dirname "$0")/../.."
export B="${B:-build}"
export LC_ROOT="$PWD"
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  mapfile -t suites < <(ls tests/e2e/test_*.sh 2>/dev/null | sort)
fi
pass=0; fail=0; skip=0; failed=()
mkdir -p "$B/e2e"
for s in "${suites[@]}"; do
  [ -f "$s" ] || s="tests/e2e/$s"
  name=$(basename "$s" .sh)
  log="$B/e2e/$name.log"
  start=$(date +%s)
  echo "== e2e $name"
  timeout --kill-after=10 900 bash "$s" > "$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  case $rc in
    0)  pass=$((pass+1)); echo "   PASS $name (${took}s)"; grep -E '^RESULT' "$log" | sed 's/^/   /' ;;
    77) skip=$((skip+1)); echo "   SKIP $name: $(tail -1 "$log")" ;;
    *)  fail=$((fail+1)); failed+=("$name"); echo "   FAIL $name (rc=$rc, ${took}s)"
        # The failed checks first: the log tail is mostly daemon logs.
        grep -E '^(FAIL|CHECK FAILED|RESULT)' "$log" | head -40 | sed 's/^/   ! /'
        echo "   last lines of $log:"
        tail -30 "$log" | sed 's/^/   | /' ;;
  esac
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
