#!/usr/bin/env bash
# List network devices and bind them to / unbind them from the DPDK driver.
#
# Usage: scripts/bind-nic.sh [OPTIONS] list
#        scripts/bind-nic.sh [OPTIONS] bind DEV [--driver DRV]
#        scripts/bind-nic.sh [OPTIONS] unbind DEV
#   DEV            PCI address (0000:3b:00.0 or 3b:00.0) or kernel interface name
#   --driver DRV   driver for bind (default vfio-pci; e.g. ixgbe to give the
#                  port back to the kernel)
#   --dry-run      print what would be done, change nothing
#   --force        take the port even if it carries the default route
#                  (you lose this host's network on that port)
#   --sysroot DIR  read sys/ and proc/ below DIR instead of / (tests);
#                  only with list or --dry-run
#   -h, --help     this text
# Binding goes through dpdk-devbind.py (Debian package dpdk; override the
# program with DPDK_DEVBIND=path).
# Exit: 0 done (or already so), 1 the operation failed, 2 bad usage,
#       3 refused (default-route interface without --force),
#       4 device or prerequisite not found.
set -u

ROOT=
DRY=0
FORCE=0
DRIVER=vfio-pci
CMD=
DEV=
DEVBIND=${DPDK_DEVBIND:-dpdk-devbind.py}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
die() { local rc=$1; shift; echo "bind-nic: $*" >&2; exit "$rc"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--dry-run) DRY=1; shift ;;
	--force) FORCE=1; shift ;;
	--driver) DRIVER=${2:-}; [ -n "$DRIVER" ] || die 2 "--driver needs a name"; shift 2 ;;
	--sysroot) ROOT=${2:-}; [ -d "$ROOT/sys" ] || die 2 "--sysroot needs a directory with sys/"; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) die 2 "unknown option $1 (see --help)" ;;
	*)
		if [ -z "$CMD" ]; then CMD=$1
		elif [ -z "$DEV" ]; then DEV=$1
		else die 2 "unexpected argument $1"
		fi
		shift ;;
	esac
done
SYS=$ROOT/sys
PROC=$ROOT/proc
PCIDEV=$SYS/bus/pci/devices

# Interfaces that carry an IPv4 or IPv6 default route, one per line.
default_route_ifaces() {
	if [ -r "$PROC/net/route" ]; then
		# Iface Destination Gateway Flags RefCnt Use Metric Mask ...; RTF_UP = 1
		local ifc dst _gw flags _rc _use _met mask _rest
		while read -r ifc dst _gw flags _rc _use _met mask _rest; do
			[ "$dst" = 00000000 ] && [ "$mask" = 00000000 ] || continue
			case "$flags" in *[!0-9A-Fa-f]*|'') continue ;; esac
			(( 16#$flags & 1 )) && echo "$ifc"
		done < <(tail -n +2 "$PROC/net/route")
	fi
	if [ -r "$PROC/net/ipv6_route" ]; then
		awk '$1 ~ /^0+$/ && $2 == "00" && $10 != "lo" { print $10 }' "$PROC/net/ipv6_route"
	fi | sort -u
}

# PCI address above a kernel interface (virtio and others hang a bus device
# between the PCI function and the netdev), or nothing.
iface_pci() {
	local p b
	p=$(readlink -f "$SYS/class/net/$1/device" 2>/dev/null) || return 1
	while [ -n "$p" ] && [ "$p" != / ] && [ "$p" != . ]; do
		b=${p##*/}
		case "$b" in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
			echo "$b"
			return 0 ;;
		esac
		p=${p%/*}
	done
	return 1
}

# Kernel interfaces of a PCI device (none once a DPDK driver holds it).
pci_ifaces() {
	local n
	for n in "$SYS"/class/net/*; do
		[ -e "$n" ] || continue
		[ "$(iface_pci "${n##*/}")" = "$1" ] && echo "${n##*/}"
	done
	return 0
}

pci_driver() {
	if [ -e "$PCIDEV/$1/driver" ]; then
		basename "$(readlink "$PCIDEV/$1/driver")"
	else
		echo "-"
	fi
}

pci_node() {
	cat "$PCIDEV/$1/numa_node" 2>/dev/null || echo "-1"
}

is_net_class() {
	# PCI class 0x02xxxx = network controller.
	case "$(cat "$PCIDEV/$1/class" 2>/dev/null)" in 0x02*) return 0 ;; esac
	return 1
}

# Print the PCI address for DEV (address or interface name), or fail.
resolve() {
	local d=$1
	case "$d" in
	[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F].[0-7]) d=0000:$d ;;
	esac
	if [ -e "$PCIDEV/$d" ]; then
		echo "$d"
		return 0
	fi
	[ -e "$SYS/class/net/$d" ] || return 1
	iface_pci "$d"
}

cmd_list() {
	local p pci ifs routes flag found=0
	routes=$(default_route_ifaces)
	printf '%-13s %-12s %-10s %-4s %-9s %s\n' PCI IFACE DRIVER NODE ID ROUTE
	for p in "$PCIDEV"/*; do
		[ -e "$p" ] || continue
		pci=$(basename "$p")
		is_net_class "$pci" || continue
		found=1
		ifs=$(pci_ifaces "$pci" | paste -sd, -)
		flag=-
		for i in $(pci_ifaces "$pci"); do
			if printf '%s\n' "$routes" | grep -qx "$i"; then flag=default; fi
		done
		printf '%-13s %-12s %-10s %-4s %-9s %s\n' "$pci" "${ifs:--}" "$(pci_driver "$pci")" \
			"$(pci_node "$pci")" \
			"$(sed 's/^0x//' "$p/vendor" 2>/dev/null):$(sed 's/^0x//' "$p/device" 2>/dev/null)" \
			"$flag"
	done
	[ $found = 1 ] || echo "(no PCI network devices)"
	return 0
}

run() {
	if [ "$DRY" = 1 ]; then
		echo "would run: $*"
		return 0
	fi
	"$@"
}

# Refuse to take a port the host's own default route goes through.
guard_default_route() {
	local pci=$1 i routes
	routes=$(default_route_ifaces)
	for i in $(pci_ifaces "$pci"); do
		printf '%s\n' "$routes" | grep -qx "$i" || continue
		if [ "$FORCE" = 1 ]; then
			echo "bind-nic: warning: $pci ($i) carries the default route; taking it anyway (--force)" >&2
			continue
		fi
		die 3 "refusing to take $pci ($i): it carries the default route and this host would lose its network; use --force to override"
	done
}

need_devbind() {
	[ "$DRY" = 1 ] && return 0
	command -v "$DEVBIND" >/dev/null 2>&1 ||
		die 4 "$DEVBIND not found (apt-get install dpdk, or set DPDK_DEVBIND)"
}

# vfio-pci needs its module and, unless no-IOMMU mode is on, IOMMU groups.
vfio_prereqs() {
	local pci=$1 noiommu
	if [ ! -d "$SYS/bus/pci/drivers/vfio-pci" ]; then
		run modprobe vfio-pci || die 4 "cannot load vfio-pci"
	fi
	if [ -e "$PCIDEV/$pci/iommu_group" ]; then
		return 0
	fi
	noiommu=$(cat "$SYS/module/vfio/parameters/enable_unsafe_noiommu_mode" 2>/dev/null || echo N)
	if [ "$noiommu" = Y ]; then
		echo "bind-nic: warning: $pci has no IOMMU group; using vfio no-IOMMU mode (unsafe DMA)" >&2
		return 0
	fi
	echo "bind-nic: warning: $pci has no IOMMU group: boot with intel_iommu=on iommu=pt" \
		"(or amd_iommu=on), or enable vfio's enable_unsafe_noiommu_mode" >&2
	[ "$DRY" = 1 ] || die 4 "vfio-pci cannot take $pci without an IOMMU group"
}

cmd_bind() {
	local pci cur fflag=()
	pci=$(resolve "$DEV") || die 4 "no such PCI device or interface: $DEV"
	is_net_class "$pci" || die 4 "$pci is not a network device"
	cur=$(pci_driver "$pci")
	if [ "$cur" = "$DRIVER" ]; then
		echo "$pci: already bound to $DRIVER"
		return 0
	fi
	guard_default_route "$pci"
	need_devbind
	[ "$DRIVER" = vfio-pci ] && vfio_prereqs "$pci"
	[ "$FORCE" = 1 ] && fflag=(--force)
	echo "$pci: $cur -> $DRIVER (node $(pci_node "$pci"))"
	run "$DEVBIND" "${fflag[@]}" -b "$DRIVER" "$pci" || die 1 "$DEVBIND failed to bind $pci to $DRIVER"
	[ "$DRY" = 1 ] && return 0
	cur=$(pci_driver "$pci")
	[ "$cur" = "$DRIVER" ] || die 1 "$pci is bound to $cur after the bind, not $DRIVER"
	echo "$pci: bound to $DRIVER"
}

cmd_unbind() {
	local pci cur fflag=()
	pci=$(resolve "$DEV") || die 4 "no such PCI device or interface: $DEV"
	cur=$(pci_driver "$pci")
	if [ "$cur" = "-" ]; then
		echo "$pci: already unbound"
		return 0
	fi
	guard_default_route "$pci"
	need_devbind
	[ "$FORCE" = 1 ] && fflag=(--force)
	echo "$pci: unbind from $cur"
	run "$DEVBIND" "${fflag[@]}" -u "$pci" || die 1 "$DEVBIND failed to unbind $pci"
	[ "$DRY" = 1 ] && return 0
	[ "$(pci_driver "$pci")" = "-" ] || die 1 "$pci still bound to $(pci_driver "$pci")"
	echo "$pci: unbound"
}

[ -d "$PCIDEV" ] || die 4 "$PCIDEV does not exist"
case "$CMD" in
list)
	[ -z "$DEV" ] || die 2 "list takes no device"
	cmd_list ;;
bind|unbind)
	[ -n "$DEV" ] || die 2 "$CMD needs a device (PCI address or interface)"
	[ -z "$ROOT" ] || [ "$DRY" = 1 ] || die 2 "--sysroot only works with list or --dry-run"
	"cmd_$CMD" ;;
'') usage >&2; exit 2 ;;
*) die 2 "unknown command $CMD (list, bind, unbind)" ;;
esac
