# Shared helpers of the dataplane end-to-end suites (tests/e2e/test_dp_*.sh).
# Sourced, never run: run.sh only picks up test_*.sh.
#
# Conventions: every suite calls dp_init first; it exits 77 when the suite
# cannot run here (not root, no netns support, a binary missing); every
# process a suite starts is registered with dp_bg so the EXIT trap stops it;
# dp_fail prints the reason and exits 1; dp_result prints a RESULT line.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

LC_ROOT="${LC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
B="${B:-build}"
case "$B" in /*) ;; *) B="$LC_ROOT/$B" ;; esac
TOOLS="$B/tools"
DP_TMP=""
DP_FAILS=0

dp_log() { echo "[$(date +%T)] $*"; }

dp_skip() { echo "SKIP: $*"; exit 77; }

dp_fail() { echo "FAIL: $*"; exit 1; }

# Record a failed check but keep going, so one run reports every problem.
DP_FAIL_MSGS=()
dp_check_fail() {
	echo "CHECK FAILED: $*"
	DP_FAILS=$((DP_FAILS + 1))
	DP_FAIL_MSGS+=("$*")
}

dp_result() { echo "RESULT $*"; }

dp_cleanup() {
	local rc=$?
	lc_stop_all 0.2
	[ -n "$DP_TMP" ] && rm -rf "$DP_TMP"
	return $rc
}

# dp_init TOOL... : root and netns checks, temp dir, trap, required tools.
dp_init() {
	local t
	[ "$(id -u)" -eq 0 ] || dp_skip "needs root (network namespaces, raw sockets)"
	command -v ip >/dev/null || dp_skip "iproute2 missing"
	for t in "$@"; do
		[ -x "$TOOLS/$t" ] || dp_skip "$TOOLS/$t not built (make tools)"
	done
	lc_begin dp dp_cleanup
	DP_TMP=$LC_TMP
}

# dp_on_exit CMD: run CMD (a string) at exit, after the processes are stopped.
dp_on_exit() { lc_on_exit "$1"; }

# dp_bg NAME CMD...: start CMD in the background, output in $DP_TMP/NAME.log;
# sets DP_LAST_PID.
dp_bg() {
	lc_bg "$DP_TMP" "$@"
	DP_LAST_PID=$LC_LAST_PID
}

# dp_field LINE KEY: value of key=value in a summary line.
dp_field() { sed -n "s/.*[ :]$2=\([^ ]*\).*/\1/p" <<<"$1" | head -1; }

# dp_wait_listen NS PORT SECS: wait until something listens on PORT in NS.
dp_wait_listen() {
	local ns=$1 port=$2 secs=$3 k
	for ((k = 0; k < secs * 10; k++)); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# dp_netns_pair A B ADDR_A ADDR_B: two namespaces joined by a veth pair
# (interfaces A-v, B-v), removed at exit.
dp_netns_pair() {
	local a=$1 b=$2 aa=$3 ab=$4
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
	ip netns add "$a" && ip netns add "$b" || dp_fail "cannot create netns $a/$b"
	dp_on_exit "ip netns del $a; ip netns del $b"
	ip link add "$a-v" netns "$a" type veth peer name "$b-v" netns "$b" || dp_fail "veth"
	ip -n "$a" addr add "$aa/24" dev "$a-v"
	ip -n "$b" addr add "$ab/24" dev "$b-v"
	ip -n "$a" link set lo up
	ip -n "$b" link set lo up
	ip -n "$a" link set "$a-v" up
	ip -n "$b" link set "$b-v" up
}

# ---- the lifecast test-bed (scripts/testbed.sh) ----

TESTBED="$LC_ROOT/scripts/testbed.sh"
# LC_TB_NAME=x selects an independent test-bed instance (scripts/testbed.sh
# reads it too), so several suites can run side by side.
DP_CLIENT_NS=lc-client${LC_TB_NAME:+-$LC_TB_NAME}
DP_NODE_NS=lc-node${LC_TB_NAME:+-$LC_TB_NAME}
DP_ADDR=198.18.0.2
DP_CLIENT_ADDR=198.18.0.1

# dp_testbed_up: start the test-bed (skip when it does not exist), tear it
# down at exit.
dp_testbed_up() {
	[ -x "$TESTBED" ] || [ -f "$TESTBED" ] || dp_skip "scripts/testbed.sh missing"
	[ -x "$B/lifecast-dp" ] || dp_skip "$B/lifecast-dp not built"
	dp_on_exit "B=$B bash $TESTBED down"
	B="$B" bash "$TESTBED" down >/dev/null 2>&1
	B="$B" bash "$TESTBED" up >"$DP_TMP/testbed-up.log" 2>&1 || {
		cat "$DP_TMP/testbed-up.log"
		dp_fail "scripts/testbed.sh up failed"
	}
	cat "$DP_TMP/testbed-up.log"
}

# Commands in the client namespace, through the test-bed script as its users do.
dp_client() { B="$B" bash "$TESTBED" exec client "$@"; }

# dp_stats_json: the dataplane's stats as JSON on stdout.
dp_stats_json() { B="$B" bash "$TESTBED" stats 2>/dev/null; }

# dp_stat KEY [JSON_FILE]: one counter of the dataplane, summed over workers
# (the "total" object of the stats JSON), e.g. dp_stat tcp_retransmits.
# Prints "nan" when the key or the stats are missing.
dp_stat() {
	local key=$1 file=${2:-}
	if [ -z "$file" ]; then
		file="$DP_TMP/stats.now.json"
		dp_stats_json >"$file"
	fi
	python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[2]))["total"][sys.argv[1]]
    print(int(v))
except Exception:
    print("nan")
' "$key" "$file"
}

# dp_stats_save FILE: a snapshot to read several counters from.
dp_stats_save() { dp_stats_json >"$1"; }

# dp_assert_num NAME VALUE OP LIMIT: numeric check with a clear message.
dp_assert_num() {
	local name=$1 v=$2 op=$3 lim=$4
	if [ "$v" = "nan" ] || [ -z "$v" ]; then
		dp_check_fail "$name: not found in the stats"
		return 1
	fi
	if ! [ "$v" "$op" "$lim" ]; then
		dp_check_fail "$name = $v, expected $op $lim"
		return 1
	fi
	dp_log "ok: $name = $v ($op $lim)"
}

# On failure: the dataplane's pool gauges and every non-zero drop counter,
# and the end of its log, so the report says where the bytes went.
dp_diagnose() {
	[ -f "$DP_TMP/testbed-up.log" ] || return 0
	echo "--- dataplane counters (pools, drops, retransmissions) ---"
	dp_stats_json | python3 -c '
import json, sys
try:
    t = json.load(sys.stdin)["total"]
except Exception:
    print("stats unavailable"); sys.exit(0)
keys = [k for k in t if k.startswith(("pool_", "hdr_pool_", "tcp_conns")) or
        (("drop" in k or "retrans" in k or "rto" in k) and t[k])]
print(" ".join("%s=%s" % (k, t[k]) for k in keys))
'
	echo "--- end of the dataplane log ---"
	B="$B" bash "$TESTBED" log 2>/dev/null | grep -v -e '^EAL:' -e '^tap_' -e '^qdisc_' -e '^eth_dev_tap' | tail -8
}

dp_finish() {
	if [ "$DP_FAILS" -ne 0 ]; then
		dp_diagnose
		echo "--- failed checks ---"
		printf '  %s\n' "${DP_FAIL_MSGS[@]}"
		echo "FAIL: $DP_FAILS check(s) failed"
		exit 1
	fi
	echo "PASS"
	exit 0
}

# dp_run_clients NAME MODE CONNS BYTES DEADLINE [PORT]: run dp_tcpclient in
# lc-client; its summary line is left in DP_OUT, its exit code returned.
dp_run_clients() {
	local name=$1 mode=$2 conns=$3 bytes=$4 deadline=$5 port=${6:-}
	local args=(-m "$mode" -a "$DP_ADDR" -c "$conns" -b "$bytes" -t "$deadline" -T "$deadline")
	[ -n "$port" ] && args+=(-p "$port")
	dp_client timeout $((deadline + 20)) "$TOOLS/dp_tcpclient" "${args[@]}" \
		>"$DP_TMP/$name.out" 2>"$DP_TMP/$name.err"
	local rc=$?
	DP_OUT=$(grep '^dp_tcpclient:' "$DP_TMP/$name.out")
	echo "$DP_OUT"
	head -20 "$DP_TMP/$name.err"
	return $rc
}

# dp_expect_clean NAME CONNS BYTES_EACH: the last dp_run_clients completed every
# connection with every byte verified.
dp_expect_clean() {
	local name=$1 conns=$2 bytes=$3
	[ "$(dp_field "$DP_OUT" ok)" = "$conns" ] || dp_check_fail "$name: ok=$(dp_field "$DP_OUT" ok) of $conns"
	[ "$(dp_field "$DP_OUT" mismatches)" = 0 ] || dp_check_fail "$name: mismatches=$(dp_field "$DP_OUT" mismatches)"
	[ "$(dp_field "$DP_OUT" timeouts)" = 0 ] || dp_check_fail "$name: stuck connections (timeouts=$(dp_field "$DP_OUT" timeouts))"
	[ "$(dp_field "$DP_OUT" rx_bytes)" = $((conns * bytes)) ] ||
		dp_check_fail "$name: rx_bytes=$(dp_field "$DP_OUT" rx_bytes), expected $((conns * bytes))"
}

# dp_wait_idle SECS BASE_FILE KEY...: wait until every KEY in the current stats
# equals its value in BASE_FILE; fails the check for those that do not.
dp_wait_idle() {
	local secs=$1 base=$2 k i bad
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		dp_stats_save "$DP_TMP/stats.idle.json"
		bad=""
		for k in "$@"; do
			[ "$(dp_stat "$k" "$DP_TMP/stats.idle.json")" = "$(dp_stat "$k" "$base")" ] || bad="$bad $k"
		done
		[ -z "$bad" ] && return 0
		sleep 0.5
	done
	for k in $bad; do
		dp_check_fail "$k did not return to idle: $(dp_stat "$k" "$base") -> $(dp_stat "$k" "$DP_TMP/stats.idle.json")"
	done
	return 1
}
