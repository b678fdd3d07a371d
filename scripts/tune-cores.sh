#!/usr/bin/env bash
# Propose and apply the lcore map of lifecast-dp from the host's topology.
#
# Usage: scripts/tune-cores.sh [OPTIONS]            print topology and the proposal
#        scripts/tune-cores.sh [OPTIONS] --check    report what is not tuned
#   --nic DEV          data port (PCI address or interface); workers go on its
#                      NUMA node (default: the port bound to a DPDK driver, else node 0)
#   --workers N        worker lcores (default: every free core of the NIC's node)
#   --move-irqs        point every IRQ that may run on a worker CPU at the
#                      housekeeping CPUs (/proc/irq/*/smp_affinity_list)
#   --write-conf FILE  write the map into FILE's [dataplane] section
#   --write-env FILE   set LIFECAST_EAL_LCORES in the systemd environment file
#   --write-dropin DIR write CPUAffinity drop-ins for both units below DIR
#                      (e.g. /etc/systemd/system)
#   --check            check governor, isolation, IRQs, irqbalance, hugepages,
#                      THP and the NIC's node against the map; exit 1 if any is off
#   --lcores LIST      with --check: the worker lcores in use (default: the map
#                      in --conf FILE, else the proposal)
#   --conf FILE        with --check: lifecast.conf holding a written map
#   --dry-run          print the writes instead of doing them
#   --sysroot DIR      read and write sys/ and proc/ below DIR (tests)
#   -h, --help         this text
# Placement: the main lcore takes the first core of the NIC's node, each
# worker a whole physical core of that node (its SMT sibling stays idle and
# isolated), the control plane the other nodes (one node: the housekeeping
# CPUs). Exit: 0 ok, 1 check found something off or the map does not fit,
# 2 bad usage.
set -u

ROOT=
NIC=
WORKERS=
DRY=0
CHECK=0
MOVE_IRQS=0
WRITE_CONF=
WRITE_ENV=
WRITE_DROPIN=
CHECK_LCORES=
CHECK_CONF=

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }
die() { local rc=$1; shift; echo "tune-cores: $*" >&2; exit "$rc"; }
need() { [ -n "${2:-}" ] || die 2 "$1 needs a value"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--nic) need "$1" "${2:-}"; NIC=$2; shift 2 ;;
	--workers) need "$1" "${2:-}"; WORKERS=$2; shift 2 ;;
	--move-irqs) MOVE_IRQS=1; shift ;;
	--write-conf) need "$1" "${2:-}"; WRITE_CONF=$2; shift 2 ;;
	--write-env) need "$1" "${2:-}"; WRITE_ENV=$2; shift 2 ;;
	--write-dropin) need "$1" "${2:-}"; WRITE_DROPIN=$2; shift 2 ;;
	--check) CHECK=1; shift ;;
	--lcores) need "$1" "${2:-}"; CHECK_LCORES=$2; shift 2 ;;
	--conf) need "$1" "${2:-}"; CHECK_CONF=$2; shift 2 ;;
	--dry-run) DRY=1; shift ;;
	--sysroot) need "$1" "${2:-}"; ROOT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) die 2 "unknown argument $1 (see --help)" ;;
	esac
done
case "$WORKERS" in ''|[1-9]|[1-9][0-9]|[1-9][0-9][0-9]) ;; *) die 2 "--workers wants 1..999" ;; esac
case "$CHECK_LCORES" in *[!0-9,-]*) die 2 "--lcores wants a CPU list like 2-5,8" ;; esac
[ -z "$ROOT" ] || [ -d "$ROOT/sys" ] || die 2 "--sysroot $ROOT has no sys/ directory"
SYS=$ROOT/sys
PROC=$ROOT/proc
CPUDIR=$SYS/devices/system/cpu

# ---- CPU lists ----

# "0-3,8,10-11" -> "0 1 2 3 8 10 11" (one per line).
expand() {
	local part a b
	local IFS=,
	for part in $1; do
		part=${part//[[:space:]]/}
		[ -n "$part" ] || continue
		case "$part" in
		*-*) a=${part%-*}; b=${part#*-} ;;
		*) a=$part; b=$part ;;
		esac
		case "$a$b" in *[!0-9]*) continue ;; esac
		while [ "$a" -le "$b" ]; do echo "$a"; a=$((a + 1)); done
	done
}

# CPU numbers (any order, any separator) -> "0-3,8,10-11".
compress() {
	local out="" start="" prev="" c
	for c in $(printf '%s\n' "$@" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -nu); do
		if [ -z "$start" ]; then start=$c; prev=$c; continue; fi
		if [ "$c" -eq $((prev + 1)) ]; then prev=$c; continue; fi
		out+="${out:+,}$(range_str "$start" "$prev")"
		start=$c; prev=$c
	done
	[ -z "$start" ] || out+="${out:+,}$(range_str "$start" "$prev")"
	echo "$out"
}
range_str() { if [ "$1" = "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }

# Members of list A (words) that are also in list B (words).
intersect() {
	local a b
	for a in $1; do for b in $2; do [ "$a" = "$b" ] && echo "$a"; done; done
}
# Members of A not in B.
minus() {
	local a b hit
	for a in $1; do
		hit=0
		for b in $2; do [ "$a" = "$b" ] && { hit=1; break; }; done
		[ $hit = 1 ] || echo "$a"
	done
}

# ---- topology ----

declare -A NODE_OF SIB_KEY SIB_LIST
NODES=()
ONLINE=

read_topology() {
	local d n c s online_file=$CPUDIR/online
	[ -r "$online_file" ] || die 1 "$online_file missing: not a Linux sysfs"
	ONLINE=$(expand "$(cat "$online_file")" | tr '\n' ' ')
	for d in "$SYS"/devices/system/node/node[0-9]*; do
		[ -r "$d/cpulist" ] || continue
		n=${d##*/node}
		NODES+=("$n")
		for c in $(expand "$(cat "$d/cpulist")"); do NODE_OF[$c]=$n; done
	done
	if [ ${#NODES[@]} -eq 0 ]; then
		NODES=(0)
		for c in $ONLINE; do NODE_OF[$c]=0; done
	fi
	mapfile -t NODES < <(printf '%s\n' "${NODES[@]}" | sort -n)
	for c in $ONLINE; do
		[ -n "${NODE_OF[$c]:-}" ] || NODE_OF[$c]=${NODES[0]}
		s=$c
		[ -r "$CPUDIR/cpu$c/topology/thread_siblings_list" ] &&
			s=$(expand "$(cat "$CPUDIR/cpu$c/topology/thread_siblings_list")" | tr '\n' ' ')
		# The lowest sibling names the physical core.
		SIB_KEY[$c]=$(printf '%s\n' $s | sort -n | head -1)
		SIB_LIST[$c]=$s
	done
}

node_cpus() {
	local c
	for c in $ONLINE; do [ "${NODE_OF[$c]}" = "$1" ] && echo "$c"; done
}

# Physical cores of a node, named by their lowest CPU, in order.
node_cores() {
	local c
	for c in $(node_cpus "$1"); do echo "${SIB_KEY[$c]}"; done | sort -nu
}

smt_width() {
	local c w max=1
	for c in $ONLINE; do
		w=$(printf '%s\n' ${SIB_LIST[$c]} | grep -c .)
		[ "$w" -gt "$max" ] && max=$w
	done
	echo "$max"
}

# ---- the data port ----

NIC_PCI=
NIC_NODE=
NIC_NOTE=

iface_pci() {
	local p b
	p=$(readlink -f "$SYS/class/net/$1/device" 2>/dev/null) || return 1
	while [ -n "$p" ] && [ "$p" != / ]; do
		b=${p##*/}
		case "$b" in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
			echo "$b"; return 0 ;;
		esac
		p=${p%/*}
	done
	return 1
}

# Ports held by a DPDK-capable driver, one PCI address per line.
dpdk_ports() {
	local p drv
	for p in "$SYS"/bus/pci/devices/*; do
		[ -e "$p/driver" ] || continue
		drv=$(basename "$(readlink "$p/driver")")
		case "$drv" in vfio-pci|uio_pci_generic|igb_uio) basename "$p" ;; esac
	done
}

find_nic() {
	local d=$NIC ports
	if [ -n "$d" ]; then
		case "$d" in
		[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) d=0000:$d ;;
		esac
		if [ ! -e "$SYS/bus/pci/devices/$d" ]; then
			d=$(iface_pci "$NIC") || die 1 "no such PCI device or interface: $NIC"
		fi
		NIC_PCI=$d
	else
		ports=$(dpdk_ports)
		if [ -n "$ports" ]; then
			NIC_PCI=$(echo "$ports" | head -1)
			NIC_NOTE=" (first port on a DPDK driver)"
		fi
	fi
	if [ -z "$NIC_PCI" ]; then
		NIC_NODE=${NODES[0]}
		NIC_NOTE="none given, assuming node $NIC_NODE"
		return 0
	fi
	NIC_NODE=$(cat "$SYS/bus/pci/devices/$NIC_PCI/numa_node" 2>/dev/null || echo -1)
	if [ "$NIC_NODE" -lt 0 ]; then
		NIC_NOTE=" (firmware reports no NUMA node; using node ${NODES[0]})"
		NIC_NODE=${NODES[0]}
	fi
}

# ---- the proposal ----

MAIN=
WORKER_CPUS=
ISOLATED=
HOUSEKEEPING=
CP_CPUS=

propose() {
	local cores k want i c other
	mapfile -t cores < <(node_cores "$NIC_NODE")
	k=${#cores[@]}
	[ "$k" -ge 2 ] || die 1 "node $NIC_NODE has $k physical core(s); the main lcore and one worker need 2"
	want=${WORKERS:-$((k - 1))}
	[ "$want" -le $((k - 1)) ] ||
		die 1 "node $NIC_NODE has $((k - 1)) free physical cores, --workers $want does not fit"
	MAIN=${cores[0]}
	WORKER_CPUS=
	for ((i = 1; i <= want; i++)); do WORKER_CPUS+="${cores[$i]} "; done
	ISOLATED=
	for c in $WORKER_CPUS; do ISOLATED+="${SIB_LIST[$c]} "; done
	HOUSEKEEPING=$(minus "$ONLINE" "$ISOLATED" | tr '\n' ' ')
	other=
	for c in $HOUSEKEEPING; do [ "${NODE_OF[$c]}" != "$NIC_NODE" ] && other+="$c "; done
	if [ -n "$other" ]; then
		CP_CPUS=$other
	else
		CP_CPUS=$(minus "$HOUSEKEEPING" "$MAIN" | tr '\n' ' ')
		[ -n "${CP_CPUS// /}" ] || CP_CPUS=$HOUSEKEEPING
	fi
}

eal_args() { echo "-l $(compress "$MAIN" $WORKER_CPUS) --main-lcore $MAIN"; }

kernel_cmdline() {
	local iso hk
	iso=$(compress $ISOLATED)
	hk=$(compress $HOUSEKEEPING)
	echo "isolcpus=managed_irq,domain,$iso nohz_full=$iso rcu_nocbs=$iso irqaffinity=$hk"
}

print_proposal() {
	local n
	echo "topology: cpus=$(printf '%s\n' $ONLINE | grep -c .) nodes=${#NODES[@]}" \
		"cores=$(for c in $ONLINE; do echo "${SIB_KEY[$c]}"; done | sort -u | grep -c .)" \
		"smt=$(smt_width)"
	for n in "${NODES[@]}"; do echo "node$n: $(compress "$(node_cpus "$n")")"; done
	if [ -n "$NIC_PCI" ]; then
		echo "nic: $NIC_PCI node=$NIC_NODE$NIC_NOTE"
	else
		echo "nic: $NIC_NOTE"
	fi
	echo "main_lcore: $MAIN"
	echo "workers: $(compress $WORKER_CPUS)"
	echo "worker_count: $(printf '%s\n' $WORKER_CPUS | grep -c .)"
	echo "isolated: $(compress $ISOLATED)"
	echo "housekeeping: $(compress $HOUSEKEEPING)"
	echo "cp_cpus: $(compress $CP_CPUS)"
	echo "eal_args: $(eal_args)"
	echo "kernel_cmdline: $(kernel_cmdline)"
}

# ---- writers ----

# Write FILE from stdin atomically (or print it with --dry-run).
put_file() {
	local f=$1 tmp
	if [ "$DRY" = 1 ]; then
		echo "would write $f:"
		sed 's/^/  | /'
		return 0
	fi
	mkdir -p "$(dirname "$f")" || die 1 "cannot create $(dirname "$f")"
	tmp=$(mktemp "$f.XXXXXX") || die 1 "cannot write next to $f"
	cat >"$tmp" && mv -f "$tmp" "$f" || { rm -f "$tmp"; die 1 "cannot write $f"; }
	echo "wrote $f"
}

conf_block() {
	cat <<EOF
# BEGIN lcore map (scripts/tune-cores.sh; rerun it rather than editing)
# No [dataplane] key takes the lcore map yet: lifecast-dp gets its lcores from
# its EAL arguments (LIFECAST_EAL_LCORES in the systemd environment file).
# These lines record the map for operators and for tune-cores.sh --check.
# main_lcore = $MAIN
# lcores = $(compress $WORKER_CPUS)
# workers = $(printf '%s\n' $WORKER_CPUS | grep -c .)
# eal_args = $(eal_args)
# cp_cpus = $(compress $CP_CPUS)
# END lcore map
EOF
}

# Replace the map block (or add it at the end of [dataplane]; add the
# section when the file has none).
write_conf() {
	local f=$1 block
	block=$(conf_block)
	[ -e "$f" ] || [ "$DRY" = 1 ] || die 1 "$f does not exist"
	{ [ -e "$f" ] && cat "$f"; } | awk -v block="$block" '
		/^# BEGIN lcore map/ { skip = 1; next }
		skip && /^# END lcore map/ { skip = 0; eat_blank = 1; next }
		skip { next }
		eat_blank && /^$/ { eat_blank = 0; next }
		{ eat_blank = 0 }
		/^\[/ {
			if (in_dp && !done) { print block; print ""; done = 1 }
			in_dp = ($0 ~ /^\[dataplane\][[:space:]]*$/)
			if (in_dp) seen = 1
		}
		{ print }
		END {
			if (!done) {
				if (!seen) print "\n[dataplane]"
				print block
			}
		}' | put_file "$f"
}

write_env() {
	local f=$1 line
	line="LIFECAST_EAL_LCORES=\"$(eal_args)\""
	{
		[ -e "$f" ] && grep -v '^LIFECAST_EAL_LCORES=' "$f"
		echo "$line"
	} | put_file "$f"
}

write_dropin() {
	local d=$1
	printf '[Service]\n# main lcore and workers (scripts/tune-cores.sh)\nCPUAffinity=%s\n' \
		"$(compress "$MAIN" $WORKER_CPUS)" | put_file "$d/lifecast-dp.service.d/10-cpus.conf"
	printf '[Service]\n# control plane off the worker cores (scripts/tune-cores.sh)\nCPUAffinity=%s\n' \
		"$(compress $CP_CPUS)" | put_file "$d/lifecast-cp.service.d/10-cpus.conf"
}

# ---- IRQs ----

irqbalance_running() {
	local f
	for f in "$PROC"/[0-9]*/comm; do
		[ -r "$f" ] && [ "$(cat "$f" 2>/dev/null)" = irqbalance ] && return 0
	done
	return 1
}

# IRQ numbers whose affinity reaches a CPU of the list (words).
irqs_on() {
	local f n cur
	for f in "$PROC"/irq/[0-9]*/smp_affinity_list; do
		[ -r "$f" ] || continue
		n=${f%/smp_affinity_list}; n=${n##*/}
		cur=$(expand "$(cat "$f")" | tr '\n' ' ')
		[ -n "$(intersect "$cur" "$1")" ] && echo "$n"
	done | sort -n
}

move_irqs() {
	local hk n f moved=0 stuck=0
	hk=$(compress $HOUSEKEEPING)
	for n in $(irqs_on "$ISOLATED"); do
		f=$PROC/irq/$n/smp_affinity_list
		if [ "$DRY" = 1 ]; then
			echo "would run: echo $hk > $f  # was $(cat "$f")"
			moved=$((moved + 1))
		elif (echo "$hk" >"$f") 2>/dev/null; then
			echo "irq $n: $(cat "$f")"
			moved=$((moved + 1))
		else
			echo "irq $n: not movable (kernel-managed or per-CPU), stays on $(cat "$f")"
			stuck=$((stuck + 1))
		fi
	done
	echo "irqs: moved=$moved unmovable=$stuck target=$hk"
	irqbalance_running &&
		echo "tune-cores: warning: irqbalance is running and will move IRQs back; stop it or set IRQBALANCE_BANNED_CPULIST=$(compress $ISOLATED)" >&2
	return 0
}

# ---- check ----

OFF=0
report() {
	# report NAME ok|off|n/a DETAIL
	echo "check $1 $2 $3"
	[ "$2" = off ] && OFF=$((OFF + 1))
	return 0
}

# Worker lcores to check: --lcores, the map written in --conf, or the proposal.
check_workers() {
	local l
	if [ -n "$CHECK_LCORES" ]; then
		expand "$CHECK_LCORES" | tr '\n' ' '
		return
	fi
	if [ -n "$CHECK_CONF" ]; then
		[ -r "$CHECK_CONF" ] || die 2 "cannot read $CHECK_CONF"
		l=$(sed -n 's/^# lcores = \([0-9,-]*\)$/\1/p' "$CHECK_CONF" | tail -1)
		if [ -n "$l" ]; then expand "$l" | tr '\n' ' '; return; fi
	fi
	echo "$WORKER_CPUS"
}

check_governor() {
	local c g bad="" seen=0
	for c in $1; do
		[ -r "$CPUDIR/cpu$c/cpufreq/scaling_governor" ] || continue
		seen=1
		g=$(cat "$CPUDIR/cpu$c/cpufreq/scaling_governor")
		[ "$g" = performance ] || bad+="${bad:+ }cpu$c=$g"
	done
	if [ $seen = 0 ]; then
		report governor n/a "no cpufreq on the worker CPUs (VM or no driver)"
	elif [ -n "$bad" ]; then
		report governor off "$bad (want performance)"
	else
		report governor ok "performance on $(compress $1)"
	fi
}

cmdline_list() {
	local v
	v=$(tr ' ' '\n' <"$PROC/cmdline" 2>/dev/null | sed -n "s/^$1=//p" | tail -1)
	# isolcpus flags (managed_irq,domain,...) precede the list.
	v=$(echo "$v" | tr ',' '\n' | grep -E '^[0-9]+(-[0-9]+)?$' | paste -sd, -)
	expand "$v" | tr '\n' ' '
}

check_isolation() {
	local w=$1 iso nohz rcu miss=
	iso=$(expand "$(cat "$CPUDIR/isolated" 2>/dev/null)" | tr '\n' ' ')
	nohz=$(expand "$(cat "$CPUDIR/nohz_full" 2>/dev/null)" | tr '\n' ' ')
	rcu=$(cmdline_list rcu_nocbs)
	[ -z "$(minus "$w" "$iso")" ] || miss+="${miss:+; }isolcpus lacks $(compress "$(minus "$w" "$iso")")"
	[ -z "$(minus "$w" "$nohz")" ] || miss+="${miss:+; }nohz_full lacks $(compress "$(minus "$w" "$nohz")")"
	[ -z "$(minus "$w" "$rcu")" ] || miss+="${miss:+; }rcu_nocbs lacks $(compress "$(minus "$w" "$rcu")")"
	if [ -n "$miss" ]; then
		report isolation off "$miss"
	else
		report isolation ok "$(compress $w) isolated, nohz_full, rcu_nocbs"
	fi
}

check_irqs() {
	local irqs
	irqs=$(irqs_on "$1" | tr '\n' ' ')
	if [ -n "${irqs// /}" ]; then
		report irqs off "$(printf '%s\n' $irqs | grep -c .) IRQs may run on worker CPUs: $(printf '%s\n' $irqs | head -8 | paste -sd' ' -)"
	else
		report irqs ok "no IRQ affinity reaches $(compress $1)"
	fi
	if irqbalance_running; then
		report irqbalance off "irqbalance is running and moves IRQs onto worker CPUs"
	else
		report irqbalance ok "not running"
	fi
}

check_hugepages() {
	local d total=0 nicpages=0 n v mounted
	for d in "$SYS"/devices/system/node/node[0-9]*/hugepages/hugepages-*; do
		[ -r "$d/nr_hugepages" ] || continue
		v=$(cat "$d/nr_hugepages")
		total=$((total + v))
		n=${d#"$SYS"/devices/system/node/node}; n=${n%%/*}
		[ "$n" = "$NIC_NODE" ] && nicpages=$((nicpages + v))
	done
	if [ "$total" = 0 ]; then
		for d in "$SYS"/kernel/mm/hugepages/hugepages-*; do
			[ -r "$d/nr_hugepages" ] && total=$((total + $(cat "$d/nr_hugepages")))
		done
		nicpages=$total
	fi
	mounted=$(awk '$3 == "hugetlbfs" { print $2; exit }' "$PROC/mounts" 2>/dev/null)
	if [ "$total" = 0 ]; then
		report hugepages off "none reserved (scripts/hugepages.sh)"
	elif [ "$nicpages" = 0 ]; then
		report hugepages off "$total pages but none on the NIC's node $NIC_NODE"
	elif [ -z "$mounted" ]; then
		report hugepages off "$total pages reserved, hugetlbfs not mounted"
	else
		report hugepages ok "$total pages, $nicpages on node $NIC_NODE, hugetlbfs at $mounted"
	fi
}

check_thp() {
	local f=$SYS/kernel/mm/transparent_hugepage/enabled v
	if [ ! -r "$f" ]; then
		report thp n/a "no transparent_hugepage in sysfs"
		return
	fi
	v=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' "$f")
	case "$v" in
	always) report thp off "enabled=always (khugepaged compaction stalls workers; want madvise or never)" ;;
	*) report thp ok "enabled=$v" ;;
	esac
}

check_nic_node() {
	local w=$1 c wrong="" raw
	if [ -z "$NIC_PCI" ]; then
		report nic_node n/a "no data port given or bound to a DPDK driver"
		return
	fi
	raw=$(cat "$SYS/bus/pci/devices/$NIC_PCI/numa_node" 2>/dev/null || echo -1)
	if [ "$raw" -lt 0 ] && [ ${#NODES[@]} -gt 1 ]; then
		report nic_node off "$NIC_PCI reports no NUMA node on a ${#NODES[@]}-node host"
		return
	fi
	for c in $w; do [ "${NODE_OF[$c]:-?}" = "$NIC_NODE" ] || wrong+="${wrong:+ }$c@node${NODE_OF[$c]:-?}"; done
	if [ -n "$wrong" ]; then
		report nic_node off "$NIC_PCI is on node $NIC_NODE but workers $wrong are not"
	else
		report nic_node ok "$NIC_PCI and workers on node $NIC_NODE"
	fi
}

run_check() {
	local w c
	w=$(check_workers)
	for c in $w; do
		[ -n "${NODE_OF[$c]:-}" ] || die 2 "lcore $c is not an online CPU"
	done
	echo "check workers $(compress $w)"
	check_governor "$w"
	check_isolation "$w"
	check_irqs "$w"
	check_hugepages
	check_thp
	check_nic_node "$w"
	echo "check summary $OFF off"
	[ "$OFF" = 0 ]
}

# ---- main ----

read_topology
find_nic
if [ "$CHECK" = 1 ]; then
	# A host too small for the default proposal can still be checked
	# against explicit lcores.
	if [ -z "$CHECK_LCORES" ]; then propose; fi
	run_check
	exit $?
fi
propose
print_proposal
[ -z "$WRITE_CONF" ] || write_conf "$WRITE_CONF"
[ -z "$WRITE_ENV" ] || write_env "$WRITE_ENV"
[ -z "$WRITE_DROPIN" ] || write_dropin "$WRITE_DROPIN"
[ "$MOVE_IRQS" = 0 ] || move_irqs
exit 0
