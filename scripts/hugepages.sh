#!/usr/bin/env bash
# Reserve hugepages on every NUMA node (or the nodes given) and mount
# hugetlbfs for DPDK.
#
# Usage: scripts/hugepages.sh [--dry-run] [-n PAGES] [-m DIR] [-s 2M|1G]
#                             [--node N[,N...]] [--sysroot DIR]
#        scripts/hugepages.sh --status [--sysroot DIR]
#   -n PAGES   pages wanted per NUMA node (default 512 = 1 GiB of 2 MB pages)
#   -m DIR     hugetlbfs mount point (default /dev/hugepages)
#   -s SIZE    page size, 2M (default) or 1G (1G pages are best reserved on
#              the kernel command line: hugepagesz=1G hugepages=N)
#   --node L   only these nodes (e.g. the NIC's node); default every node
#   --sysroot  read and write sys/ and proc/ below DIR instead of / (tests);
#              mounting is then only printed, never done
#   --dry-run  print what would be done, change nothing
#   --status   print per-node totals/free and the mount, change nothing
# Idempotent: a node that already has >= PAGES keeps what it has; an existing
# hugetlbfs mount is reused. Exit 1 when the kernel granted fewer pages than
# asked (memory fragmentation), after printing what it got; 2 on bad usage.
set -u

PAGES=512
MNT=/dev/hugepages
DRY=0
STATUS=0
SIZE=2M
ONLY_NODES=
ROOT=

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
die_usage() { echo "hugepages: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	-n) PAGES=${2:?-n needs a number}; shift 2 ;;
	-m) MNT=${2:?-m needs a directory}; shift 2 ;;
	-s) SIZE=${2:?-s needs 2M or 1G}; shift 2 ;;
	--node) ONLY_NODES=${2:?--node needs a node list}; shift 2 ;;
	--sysroot) ROOT=${2:?--sysroot needs a directory}; shift 2 ;;
	--dry-run) DRY=1; shift ;;
	--status) STATUS=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die_usage "unknown argument $1" ;;
	esac
done
case "$PAGES" in ''|*[!0-9]*) die_usage "-n wants a number" ;; esac
case "$SIZE" in
2M|2m|2048k|2048kB) SZ=hugepages-2048kB; MNTSZ=2M ;;
1G|1g|1048576k|1048576kB) SZ=hugepages-1048576kB; MNTSZ=1G ;;
*) die_usage "-s wants 2M or 1G" ;;
esac
case "$ONLY_NODES" in *[!0-9,]*) die_usage "--node wants a list like 0 or 0,1" ;; esac
if [ -n "$ROOT" ] && [ ! -d "$ROOT/sys" ]; then
	die_usage "--sysroot $ROOT has no sys/ directory"
fi
SYS=$ROOT/sys
MOUNTS=$ROOT/proc/mounts

run() {
	if [ "$DRY" = 1 ] || [ -n "$ROOT" ]; then echo "would run: $*"; else "$@"; fi
}

wanted_node() {
	[ -z "$ONLY_NODES" ] && return 0
	case ",$ONLY_NODES," in *",$1,"*) return 0 ;; esac
	return 1
}

# Per-node sysfs directories, or the global one on kernels without NUMA sysfs.
nodes() {
	local d n found=0
	for d in "$SYS"/devices/system/node/node*/hugepages/$SZ; do
		[ -d "$d" ] || continue
		found=1
		n=${d#"$SYS"/devices/system/node/node}
		n=${n%%/*}
		wanted_node "$n" && echo "$d"
	done
	[ $found = 1 ] || echo "$SYS/kernel/mm/hugepages/$SZ"
}

# Filesystem type mounted at $MNT, empty when nothing is.
mount_type() {
	[ -r "$MOUNTS" ] || return 0
	awk -v m="$MNT" '$2 == m { t = $3 } END { if (t != "") print t }' "$MOUNTS"
}

status() {
	local d t
	for d in $(nodes); do
		echo "$d: total $(cat "$d/nr_hugepages") free $(cat "$d/free_hugepages")"
	done
	t=$(mount_type)
	if [ -n "$t" ]; then
		echo "mounted: $MNT $t"
	else
		echo "not mounted: $MNT"
	fi
}

if [ "$STATUS" = 1 ]; then status; exit 0; fi

dirs=$(nodes)
[ -n "$dirs" ] || { echo "hugepages: no node matches --node $ONLY_NODES" >&2; exit 2; }
[ -d "$(echo "$dirs" | head -1)" ] ||
	{ echo "hugepages: kernel has no $SZ pages (CONFIG_HUGETLBFS off or size unsupported)" >&2; exit 1; }

rc=0
for d in $dirs; do
	[ -w "$d/nr_hugepages" ] || [ "$DRY" = 1 ] ||
		{ echo "hugepages: $d not writable (root needed)" >&2; exit 1; }
	have=$(cat "$d/nr_hugepages" 2>/dev/null || echo 0)
	if [ "$have" -ge "$PAGES" ]; then
		echo "$d: $have pages already (>= $PAGES)"
		continue
	fi
	if [ "$DRY" = 1 ]; then
		echo "would run: echo $PAGES > $d/nr_hugepages"
		continue
	fi
	echo "$PAGES" >"$d/nr_hugepages"
	got=$(cat "$d/nr_hugepages")
	echo "$d: $got pages (asked $PAGES)"
	[ "$got" -ge "$PAGES" ] || rc=1
done

t=$(mount_type)
case "$t" in
hugetlbfs) echo "$MNT: hugetlbfs already mounted" ;;
'')
	run mkdir -p "$MNT"
	run mount -t hugetlbfs -o pagesize=$MNTSZ nodev "$MNT"
	;;
*) echo "hugepages: $MNT is mounted as $t, not hugetlbfs" >&2; exit 1 ;;
esac
exit $rc
