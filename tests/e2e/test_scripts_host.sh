#!/usr/bin/env bash
# Host scripts against fake sysfs/proc trees: tune-cores.sh (2 nodes, SMT
# pairs, NIC on node 1; proposal, kernel command line, conf/env/drop-in
# writers, IRQ moves, --check before and after tuning), bind-nic.sh
# (default-route refusal, --force, dry runs), hugepages.sh (dry run,
# idempotent writes); then --check and dry runs on the real host (read
# only), the pktgen pcaps through tcpdump, the pktgen Lua scripts through
# luac and a recording mock of pktgen, and the systemd units through
# systemd-analyze verify. Nothing here changes the real host.
set -u
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d /tmp/lc-scripts-host.XXXXXX)
trap 'rm -rf "$T"' EXIT

NASSERT=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { NASSERT=$((NASSERT + 1)); }
# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got [$2] want [$3]"
	ok
}
# expect_line FILE EXACT-LINE
expect_line() {
	grep -qxF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "missing line [$2]"; }
	ok
}
# expect_re FILE ERE
expect_re() {
	grep -qE -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "no line matches /$2/"; }
	ok
}
expect_no_re() {
	! grep -qE -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "unexpected /$2/"; }
	ok
}
# expect_rc WHAT GOT WANT
expect_rc() { expect_eq "$1 exit code" "$2" "$3"; }

TUNE="bash scripts/tune-cores.sh"
BIND="bash scripts/bind-nic.sh"
HUGE="bash scripts/hugepages.sh"

# ---------------------------------------------------------------- fake trees

# mk_pci ROOT ADDR BRIDGE CLASS VENDOR DEVICE NODE DRIVER [IFACE]
mk_pci() {
	local r=$1 a=$2 br=$3 dev
	dev=$r/sys/devices/$br/$a
	mkdir -p "$dev" "$r/sys/bus/pci/devices" "$r/sys/bus/pci/drivers/$8" "$r/sys/class/net" \
		"$r/sys/kernel/iommu_groups/$a"
	echo "$4" >"$dev/class"
	echo "$5" >"$dev/vendor"
	echo "$6" >"$dev/device"
	echo "$7" >"$dev/numa_node"
	ln -s "../../../bus/pci/drivers/$8" "$dev/driver"
	ln -s "../../../kernel/iommu_groups/$a" "$dev/iommu_group"
	ln -s "../../../devices/$br/$a" "$r/sys/bus/pci/devices/$a"
	if [ -n "${9:-}" ]; then
		mkdir -p "$dev/net/$9"
		ln -s "../../../$a" "$dev/net/$9/device"
		ln -s "../../devices/$br/$a/net/$9" "$r/sys/class/net/$9"
	fi
}

# Two nodes, 4 cores each, SMT pairs (N, N+8) as Linux numbers them on
# most two-socket Intel hosts: node0 = 0-3,8-11, node1 = 4-7,12-15.
mk_two_node() {
	local r=$1 c n
	mkdir -p "$r/sys/devices/system/cpu" "$r/proc/irq" "$r/sys/kernel/mm/transparent_hugepage"
	echo 0-15 >"$r/sys/devices/system/cpu/online"
	for c in $(seq 0 15); do
		mkdir -p "$r/sys/devices/system/cpu/cpu$c/topology"
		echo "$((c % 8)),$((c % 8 + 8))" >"$r/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list"
	done
	for n in 0 1; do
		mkdir -p "$r/sys/devices/system/node/node$n/hugepages/hugepages-2048kB"
		echo 0 >"$r/sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages"
		echo 0 >"$r/sys/devices/system/node/node$n/hugepages/hugepages-2048kB/free_hugepages"
	done
	echo 0-3,8-11 >"$r/sys/devices/system/node/node0/cpulist"
	echo 4-7,12-15 >"$r/sys/devices/system/node/node1/cpulist"
	echo "" >"$r/sys/devices/system/cpu/isolated"
	echo "(null)" >"$r/sys/devices/system/cpu/nohz_full"
	for c in 4 5 6 7; do
		mkdir -p "$r/sys/devices/system/cpu/cpu$c/cpufreq"
		echo performance >"$r/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor"
	done
	echo powersave >"$r/sys/devices/system/cpu/cpu6/cpufreq/scaling_governor"
	echo "always madvise [never]" >"$r/sys/kernel/mm/transparent_hugepage/enabled"
	echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet" >"$r/proc/cmdline"
	printf 'sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n' >"$r/proc/mounts"
	# IRQs: 0 on cpu0, 24 everywhere, 25 on a worker, 26 on node 0,
	# 27 on a worker's SMT sibling.
	for n in 0:0 24:0-15 25:5 26:1-2 27:13; do
		mkdir -p "$r/proc/irq/${n%%:*}"
		echo "${n#*:}" >"$r/proc/irq/${n%%:*}/smp_affinity_list"
	done
	mkdir -p "$r/proc/net" "$r/proc/1"
	echo systemd >"$r/proc/1/comm"
	# Management port eno1 (node 0) carries the default route; the data
	# port ens1f0 sits on node 1; a second function of it is on vfio-pci
	# already; an NVMe drive is not a network device.
	mk_pci "$r" 0000:18:00.0 pci0000:17 0x020000 0x8086 0x1533 0 igb eno1
	mk_pci "$r" 0000:3b:00.0 pci0000:3a 0x020000 0x8086 0x10fb 1 ixgbe ens1f0
	mk_pci "$r" 0000:3b:00.1 pci0000:3a 0x020000 0x8086 0x10fb 1 vfio-pci
	mk_pci "$r" 0000:5e:00.0 pci0000:5d 0x010802 0x144d 0xa808 0 nvme
	cat >"$r/proc/net/route" <<'EOF'
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eno1	00000000	0100A8C0	0003	0	0	0	00000000	0	0	0
eno1	0000A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
ens1f0	000012C6	00000000	0001	0	0	0	00FFFFFF	0	0	0
EOF
	: >"$r/proc/net/ipv6_route"
}

# One node, 4 CPUs, SMT siblings interleaved (0,2) (1,3), no node dirs.
mk_one_node() {
	local r=$1
	mkdir -p "$r/sys/devices/system/cpu" "$r/proc/irq" "$r/sys/bus/pci/devices"
	echo 0-3 >"$r/sys/devices/system/cpu/online"
	for c in 0 1 2 3; do
		mkdir -p "$r/sys/devices/system/cpu/cpu$c/topology"
		echo "$((c % 2)),$((c % 2 + 2))" >"$r/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list"
	done
}

# ------------------------------------------------------------- tune-cores

R=$T/two
mk_two_node "$R"

cat >"$T/want.proposal" <<'EOF'
topology: cpus=16 nodes=2 cores=8 smt=2
node0: 0-3,8-11
node1: 4-7,12-15
nic: 0000:3b:00.0 node=1
main_lcore: 4
workers: 5-7
worker_count: 3
isolated: 5-7,13-15
housekeeping: 0-4,8-12
cp_cpus: 0-3,8-11
eal_args: -l 4-7 --main-lcore 4
kernel_cmdline: isolcpus=managed_irq,domain,5-7,13-15 nohz_full=5-7,13-15 rcu_nocbs=5-7,13-15 irqaffinity=0-4,8-12
EOF
$TUNE --sysroot "$R" --nic ens1f0 >"$T/got.proposal" 2>"$T/err"
expect_rc "tune-cores --nic ens1f0" $? 0
diff -u "$T/want.proposal" "$T/got.proposal" || fail "proposal for the 2-node host differs"
ok
# The same port named by PCI address, short form.
$TUNE --sysroot "$R" --nic 3b:00.0 >"$T/got2" 2>&1
diff -q "$T/got.proposal" "$T/got2" >/dev/null || fail "--nic 3b:00.0 gives another map"
ok
# Without --nic the port on vfio-pci (3b:00.1, node 1) is picked.
$TUNE --sysroot "$R" >"$T/got3" 2>&1
expect_line "$T/got3" "nic: 0000:3b:00.1 node=1 (first port on a DPDK driver)"
expect_line "$T/got3" "eal_args: -l 4-7 --main-lcore 4"

$TUNE --sysroot "$R" --nic ens1f0 --workers 2 >"$T/w2" 2>&1
expect_rc "tune-cores --workers 2" $? 0
expect_line "$T/w2" "workers: 5-6"
expect_line "$T/w2" "isolated: 5-6,13-14"
expect_line "$T/w2" "housekeeping: 0-4,7-12,15"
expect_line "$T/w2" "eal_args: -l 4-6 --main-lcore 4"
expect_line "$T/w2" "kernel_cmdline: isolcpus=managed_irq,domain,5-6,13-14 nohz_full=5-6,13-14 rcu_nocbs=5-6,13-14 irqaffinity=0-4,7-12,15"

# The management NIC on node 0 moves everything to node 0.
$TUNE --sysroot "$R" --nic eno1 >"$T/n0" 2>&1
expect_line "$T/n0" "main_lcore: 0"
expect_line "$T/n0" "workers: 1-3"
expect_line "$T/n0" "cp_cpus: 4-7,12-15"

$TUNE --sysroot "$R" --nic ens1f0 --workers 4 >"$T/w4" 2>&1
expect_rc "tune-cores --workers 4 (does not fit)" $? 1
expect_re "$T/w4" "node 1 has 3 free physical cores, --workers 4 does not fit"
$TUNE --sysroot "$R" --workers abc >"$T/bad" 2>&1
expect_rc "tune-cores --workers abc" $? 2
$TUNE --sysroot "$R" --nic nosuch0 >"$T/bad" 2>&1
expect_rc "tune-cores --nic nosuch0" $? 1
expect_re "$T/bad" "no such PCI device or interface: nosuch0"

R1=$T/one
mk_one_node "$R1"
cat >"$T/want.one" <<'EOF'
topology: cpus=4 nodes=1 cores=2 smt=2
node0: 0-3
nic: none given, assuming node 0
main_lcore: 0
workers: 1
worker_count: 1
isolated: 1,3
housekeeping: 0,2
cp_cpus: 2
eal_args: -l 0-1 --main-lcore 0
kernel_cmdline: isolcpus=managed_irq,domain,1,3 nohz_full=1,3 rcu_nocbs=1,3 irqaffinity=0,2
EOF
$TUNE --sysroot "$R1" >"$T/got.one" 2>&1
expect_rc "tune-cores one node" $? 0
diff -u "$T/want.one" "$T/got.one" || fail "proposal for the 1-node interleaved-SMT host differs"
ok

# lifecast.conf: the map lands at the end of [dataplane], before [rtmp];
# a second run replaces it instead of adding another; nothing else changes.
cp lifecast.conf "$T/lifecast.conf"
$TUNE --sysroot "$R" --nic ens1f0 --write-conf "$T/lifecast.conf" >"$T/wc" 2>&1
expect_rc "tune-cores --write-conf" $? 0
cp "$T/lifecast.conf" "$T/lifecast.conf.1"
$TUNE --sysroot "$R" --nic ens1f0 --write-conf "$T/lifecast.conf" >/dev/null 2>&1
cmp -s "$T/lifecast.conf" "$T/lifecast.conf.1" || fail "--write-conf is not idempotent"
ok
expect_eq "map blocks in lifecast.conf" "$(grep -c '^# BEGIN lcore map' "$T/lifecast.conf")" 1
expect_line "$T/lifecast.conf" "# main_lcore = 4"
expect_line "$T/lifecast.conf" "# lcores = 5-7"
expect_line "$T/lifecast.conf" "# workers = 3"
expect_line "$T/lifecast.conf" "# eal_args = -l 4-7 --main-lcore 4"
expect_line "$T/lifecast.conf" "# cp_cpus = 0-3,8-11"
begin=$(grep -n '^# BEGIN lcore map' "$T/lifecast.conf" | cut -d: -f1)
dp=$(grep -n '^\[dataplane\]' "$T/lifecast.conf" | cut -d: -f1)
rtmp=$(grep -n '^\[rtmp\]' "$T/lifecast.conf" | cut -d: -f1)
[ "$begin" -gt "$dp" ] && [ "$begin" -lt "$rtmp" ] || fail "map block not inside [dataplane] ($dp < $begin < $rtmp)"
ok
sed '/^# BEGIN lcore map/,/^# END lcore map/d' "$T/lifecast.conf" | grep -v '^$' >"$T/c1"
grep -v '^$' lifecast.conf >"$T/c0"
diff -q "$T/c0" "$T/c1" >/dev/null || fail "--write-conf changed lines outside its block"
ok
# A smaller map replaces the block.
$TUNE --sysroot "$R" --nic ens1f0 --workers 1 --write-conf "$T/lifecast.conf" >/dev/null 2>&1
expect_line "$T/lifecast.conf" "# lcores = 5"
expect_eq "map blocks after rewrite" "$(grep -c '^# lcores = ' "$T/lifecast.conf")" 1
# A file without [dataplane] gets the section.
printf '[rtmp]\nchunk_size = 4096\n' >"$T/nodp.conf"
$TUNE --sysroot "$R" --nic ens1f0 --write-conf "$T/nodp.conf" >/dev/null 2>&1
expect_line "$T/nodp.conf" "[dataplane]"
expect_line "$T/nodp.conf" "chunk_size = 4096"
expect_line "$T/nodp.conf" "# lcores = 5-7"
# Dry run: prints, writes nothing.
cp "$T/lifecast.conf" "$T/lifecast.conf.2"
$TUNE --sysroot "$R" --nic ens1f0 --write-conf "$T/lifecast.conf" --dry-run >"$T/dry" 2>&1
cmp -s "$T/lifecast.conf" "$T/lifecast.conf.2" || fail "--dry-run --write-conf wrote the file"
ok
expect_line "$T/dry" "  | # lcores = 5-7"

# systemd environment file and CPUAffinity drop-ins.
cp scripts/systemd/lifecast.env "$T/lifecast.env"
$TUNE --sysroot "$R" --nic ens1f0 --write-env "$T/lifecast.env" >/dev/null 2>&1
$TUNE --sysroot "$R" --nic ens1f0 --write-env "$T/lifecast.env" >/dev/null 2>&1
expect_eq "LIFECAST_EAL_LCORES lines" "$(grep -c '^LIFECAST_EAL_LCORES=' "$T/lifecast.env")" 1
expect_line "$T/lifecast.env" 'LIFECAST_EAL_LCORES="-l 4-7 --main-lcore 4"'
expect_line "$T/lifecast.env" "LIFECAST_CONF=/etc/lifecast/lifecast.conf"
$TUNE --sysroot "$R" --nic ens1f0 --write-dropin "$T/units" >/dev/null 2>&1
expect_line "$T/units/lifecast-dp.service.d/10-cpus.conf" "CPUAffinity=4-7"
expect_line "$T/units/lifecast-cp.service.d/10-cpus.conf" "CPUAffinity=0-3,8-11"

# --check on the untuned fake host: each item off for the right reason.
$TUNE --sysroot "$R" --nic ens1f0 --check >"$T/chk0" 2>&1
expect_rc "--check untuned" $? 1
expect_line "$T/chk0" "check workers 5-7"
expect_line "$T/chk0" "check governor off cpu6=powersave (want performance)"
expect_line "$T/chk0" "check isolation off isolcpus lacks 5-7; nohz_full lacks 5-7; rcu_nocbs lacks 5-7"
expect_line "$T/chk0" "check irqs off 2 IRQs may run on worker CPUs: 24 25"
expect_line "$T/chk0" "check irqbalance ok not running"
expect_line "$T/chk0" "check hugepages off none reserved (scripts/hugepages.sh)"
expect_line "$T/chk0" "check thp ok enabled=never"
expect_line "$T/chk0" "check nic_node ok 0000:3b:00.0 and workers on node 1"
expect_line "$T/chk0" "check summary 4 off"
# Workers on the wrong node, taken from --lcores and from a written conf.
$TUNE --sysroot "$R" --nic ens1f0 --check --lcores 1-2 >"$T/chk1" 2>&1
expect_rc "--check --lcores 1-2" $? 1
expect_line "$T/chk1" "check nic_node off 0000:3b:00.0 is on node 1 but workers 1@node0 2@node0 are not"
$TUNE --sysroot "$R" --nic ens1f0 --check --conf "$T/lifecast.conf" >"$T/chk2" 2>&1
expect_line "$T/chk2" "check workers 5"

# IRQ moves: dry run prints and leaves the files; the real run (on the
# fake tree) rewrites exactly the IRQs that reach isolated CPUs
# (24: everywhere, 25: worker 5, 27: sibling 13).
$TUNE --sysroot "$R" --nic ens1f0 --move-irqs --dry-run >"$T/irqd" 2>&1
expect_line "$T/irqd" "would run: echo 0-4,8-12 > $R/proc/irq/24/smp_affinity_list  # was 0-15"
expect_line "$T/irqd" "would run: echo 0-4,8-12 > $R/proc/irq/27/smp_affinity_list  # was 13"
expect_line "$T/irqd" "irqs: moved=3 unmovable=0 target=0-4,8-12"
expect_eq "irq 24 after dry run" "$(cat "$R/proc/irq/24/smp_affinity_list")" "0-15"
$TUNE --sysroot "$R" --nic ens1f0 --move-irqs >"$T/irqm" 2>&1
expect_line "$T/irqm" "irqs: moved=3 unmovable=0 target=0-4,8-12"
for n in 24 25 27; do
	expect_eq "irq $n moved" "$(cat "$R/proc/irq/$n/smp_affinity_list")" "0-4,8-12"
done
expect_eq "irq 0 untouched" "$(cat "$R/proc/irq/0/smp_affinity_list")" "0"
expect_eq "irq 26 untouched" "$(cat "$R/proc/irq/26/smp_affinity_list")" "1-2"

# Tune the fake host the way the proposal says; --check then passes.
echo 5-7,13-15 >"$R/sys/devices/system/cpu/isolated"
echo 5-7,13-15 >"$R/sys/devices/system/cpu/nohz_full"
echo "BOOT_IMAGE=/vmlinuz ro $(grep '^kernel_cmdline:' "$T/got.proposal" | cut -d' ' -f2-)" >"$R/proc/cmdline"
echo performance >"$R/sys/devices/system/cpu/cpu6/cpufreq/scaling_governor"
echo 512 >"$R/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"
echo "nodev /dev/hugepages hugetlbfs rw,pagesize=2M 0 0" >>"$R/proc/mounts"
$TUNE --sysroot "$R" --nic ens1f0 --check >"$T/chk3" 2>&1
expect_rc "--check tuned" $? 0
expect_line "$T/chk3" "check summary 0 off"
expect_line "$T/chk3" "check isolation ok 5-7 isolated, nohz_full, rcu_nocbs"
expect_line "$T/chk3" "check hugepages ok 512 pages, 512 on node 1, hugetlbfs at /dev/hugepages"
expect_no_re "$T/chk3" "^check [a-z_]+ off"
# irqbalance would undo the IRQ moves; THP=always is flagged.
mkdir -p "$R/proc/4242" && echo irqbalance >"$R/proc/4242/comm"
echo "[always] madvise never" >"$R/sys/kernel/mm/transparent_hugepage/enabled"
$TUNE --sysroot "$R" --nic ens1f0 --check >"$T/chk4" 2>&1
expect_rc "--check irqbalance + thp" $? 1
expect_line "$T/chk4" "check irqbalance off irqbalance is running and moves IRQs onto worker CPUs"
expect_re "$T/chk4" "^check thp off enabled=always"
expect_line "$T/chk4" "check summary 2 off"
rm -rf "$R/proc/4242"
echo "always madvise [never]" >"$R/sys/kernel/mm/transparent_hugepage/enabled"

# -------------------------------------------------------------- bind-nic

R=$T/bind
mk_two_node "$R"
$BIND --sysroot "$R" list >"$T/list" 2>&1
expect_rc "bind-nic list" $? 0
expect_re "$T/list" "^PCI +IFACE +DRIVER +NODE +ID +ROUTE$"
expect_re "$T/list" "^0000:18:00.0 +eno1 +igb +0 +8086:1533 +default$"
expect_re "$T/list" "^0000:3b:00.0 +ens1f0 +ixgbe +1 +8086:10fb +-$"
expect_re "$T/list" "^0000:3b:00.1 +- +vfio-pci +1 +8086:10fb +-$"
expect_no_re "$T/list" "0000:5e:00.0"
expect_eq "bind-nic list rows" "$(grep -c '^0000:' "$T/list")" 3

$BIND --sysroot "$R" --dry-run bind eno1 >"$T/b1" 2>&1
expect_rc "bind default-route iface" $? 3
expect_line "$T/b1" "bind-nic: refusing to take 0000:18:00.0 (eno1): it carries the default route and this host would lose its network; use --force to override"
expect_no_re "$T/b1" "would run"
$BIND --sysroot "$R" --dry-run bind 0000:18:00.0 >"$T/b1a" 2>&1
expect_rc "bind default-route PCI address" $? 3
$BIND --sysroot "$R" --dry-run unbind eno1 >"$T/b1b" 2>&1
expect_rc "unbind default-route iface" $? 3
$BIND --sysroot "$R" --dry-run --force bind eno1 >"$T/b2" 2>&1
expect_rc "bind default-route iface --force" $? 0
expect_line "$T/b2" "would run: dpdk-devbind.py --force -b vfio-pci 0000:18:00.0"
expect_re "$T/b2" "warning: 0000:18:00.0 \(eno1\) carries the default route; taking it anyway"
$BIND --sysroot "$R" --dry-run bind ens1f0 >"$T/b3" 2>&1
expect_rc "bind data port" $? 0
expect_line "$T/b3" "0000:3b:00.0: ixgbe -> vfio-pci (node 1)"
expect_line "$T/b3" "would run: dpdk-devbind.py -b vfio-pci 0000:3b:00.0"
expect_no_re "$T/b3" "modprobe|warning"
$BIND --sysroot "$R" --dry-run bind 3b:00.0 --driver uio_pci_generic >"$T/b4" 2>&1
expect_line "$T/b4" "would run: dpdk-devbind.py -b uio_pci_generic 0000:3b:00.0"
$BIND --sysroot "$R" --dry-run bind 0000:3b:00.1 >"$T/b5" 2>&1
expect_rc "bind already bound" $? 0
expect_line "$T/b5" "0000:3b:00.1: already bound to vfio-pci"
$BIND --sysroot "$R" --dry-run bind 0000:3b:00.1 --driver ixgbe >"$T/b6" 2>&1
expect_line "$T/b6" "would run: dpdk-devbind.py -b ixgbe 0000:3b:00.1"
$BIND --sysroot "$R" --dry-run bind nosuch0 >"$T/b7" 2>&1
expect_rc "bind unknown device" $? 4
$BIND --sysroot "$R" --dry-run bind 0000:5e:00.0 >"$T/b8" 2>&1
expect_rc "bind a non-network device" $? 4
expect_re "$T/b8" "0000:5e:00.0 is not a network device"
$BIND --sysroot "$R" bind ens1f0 >"$T/b9" 2>&1
expect_rc "bind on a fake tree without --dry-run" $? 2
$BIND --sysroot "$R" --frobnicate list >/dev/null 2>&1
expect_rc "bind-nic bad option" $? 2
$BIND --sysroot "$R" bind >/dev/null 2>&1
expect_rc "bind-nic bind without device" $? 2
$BIND --help >"$T/bh" 2>&1
expect_rc "bind-nic --help" $? 0
expect_re "$T/bh" "^Exit: 0 done"
# vfio-pci not loaded and no IOMMU group: the dry run says so.
rm -rf "$R/sys/bus/pci/drivers/vfio-pci" "$R/sys/devices/pci0000:3a/0000:3b:00.0/iommu_group"
$BIND --sysroot "$R" --dry-run bind ens1f0 >"$T/b10" 2>&1
expect_line "$T/b10" "would run: modprobe vfio-pci"
expect_re "$T/b10" "0000:3b:00.0 has no IOMMU group"
# An IPv6-only default route is refused the same way.
: >"$R/proc/net/route"
echo "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003   ens1f0" \
	>"$R/proc/net/ipv6_route"
$BIND --sysroot "$R" --dry-run bind ens1f0 >"$T/b11" 2>&1
expect_rc "bind IPv6 default-route iface" $? 3
$BIND --sysroot "$R" --dry-run bind eno1 >"$T/b12" 2>&1
expect_rc "bind eno1 once the default route moved" $? 0

# ------------------------------------------------------------- hugepages

R=$T/huge
mk_two_node "$R"
NP=$R/sys/devices/system/node
$HUGE --sysroot "$R" --dry-run -n 256 >"$T/h1" 2>&1
expect_rc "hugepages --dry-run" $? 0
cat >"$T/h1.want" <<EOF
would run: echo 256 > $NP/node0/hugepages/hugepages-2048kB/nr_hugepages
would run: echo 256 > $NP/node1/hugepages/hugepages-2048kB/nr_hugepages
would run: mkdir -p /dev/hugepages
would run: mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
EOF
diff -u "$T/h1.want" "$T/h1" || fail "hugepages --dry-run output differs"
ok
expect_eq "node0 pages after dry run" "$(cat "$NP/node0/hugepages/hugepages-2048kB/nr_hugepages")" 0
$HUGE --sysroot "$R" --dry-run -n 256 --node 1 -m /mnt/huge >"$T/h2" 2>&1
expect_eq "hugepages --node 1 lines" "$(grep -c 'nr_hugepages' "$T/h2")" 1
expect_line "$T/h2" "would run: echo 256 > $NP/node1/hugepages/hugepages-2048kB/nr_hugepages"
expect_line "$T/h2" "would run: mount -t hugetlbfs -o pagesize=2M nodev /mnt/huge"
# Writes land in the fake tree; the mount is only printed; a second run
# keeps what is there.
$HUGE --sysroot "$R" -n 256 >"$T/h3" 2>&1
expect_rc "hugepages write (fake tree)" $? 0
expect_line "$T/h3" "$NP/node0/hugepages/hugepages-2048kB: 256 pages (asked 256)"
expect_eq "node1 pages written" "$(cat "$NP/node1/hugepages/hugepages-2048kB/nr_hugepages")" 256
echo "nodev /dev/hugepages hugetlbfs rw,pagesize=2M 0 0" >>"$R/proc/mounts"
$HUGE --sysroot "$R" -n 128 >"$T/h4" 2>&1
expect_line "$T/h4" "$NP/node0/hugepages/hugepages-2048kB: 256 pages already (>= 128)"
expect_line "$T/h4" "/dev/hugepages: hugetlbfs already mounted"
expect_eq "node0 pages kept" "$(cat "$NP/node0/hugepages/hugepages-2048kB/nr_hugepages")" 256
$HUGE --sysroot "$R" --status >"$T/h5" 2>&1
expect_line "$T/h5" "$NP/node1/hugepages/hugepages-2048kB: total 256 free 0"
expect_line "$T/h5" "mounted: /dev/hugepages hugetlbfs"
$HUGE --sysroot "$R" -s 1G --dry-run >"$T/h6" 2>&1
expect_rc "hugepages 1G on a tree without 1G pages" $? 1
$HUGE -n x >/dev/null 2>&1
expect_rc "hugepages -n x" $? 2
$HUGE --sysroot "$R" --node 7 --dry-run >/dev/null 2>&1
expect_rc "hugepages --node 7" $? 2

# ---------------------------------------------------- the real host, read only

real_before=$(cat /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null | paste -sd, -)
irq_before=$(cat /proc/irq/*/smp_affinity_list 2>/dev/null | md5sum)
$HUGE --dry-run >"$T/rh" 2>&1
expect_rc "real hugepages --dry-run" $? 0
# Every line is one of the known forms (grep -v finds none left over).
grep -vE "^(would run: (echo [0-9]+ > /sys/[^ ]+/nr_hugepages|mkdir -p /dev/hugepages|mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages)|/sys/[^ ]+: [0-9]+ pages already \(>= 512\)|/dev/hugepages: hugetlbfs already mounted)$" \
	"$T/rh" >"$T/rh.other" && { cat "$T/rh"; fail "unknown line from real hugepages --dry-run"; }
ok
[ -s "$T/rh" ] || fail "real hugepages --dry-run printed nothing"
ok

if [ "$(nproc --all)" -ge 2 ]; then
	$TUNE >"$T/rp" 2>&1
	expect_rc "real tune-cores proposal" $? 0
	expect_re "$T/rp" "^eal_args: -l [0-9,-]+ --main-lcore [0-9]+$"
	expect_re "$T/rp" "^kernel_cmdline: isolcpus=managed_irq,domain,[0-9,-]+ nohz_full=[0-9,-]+ rcu_nocbs=[0-9,-]+ irqaffinity=[0-9,-]+$"
	chk_args=()
else
	chk_args=(--lcores 0)
fi
$TUNE --check "${chk_args[@]}" >"$T/rc" 2>&1
rc=$?
cat "$T/rc"
case $rc in 0|1) ok ;; *) fail "real --check exit $rc" ;; esac
for item in governor isolation irqs irqbalance hugepages thp nic_node; do
	expect_re "$T/rc" "^check $item (ok|off|n/a) .+"
done
expect_eq "real --check line count" "$(grep -c '^check ' "$T/rc")" 9
offs=$(grep -cE '^check [a-z_]+ off ' "$T/rc")
expect_line "$T/rc" "check summary $offs off"
if [ "$offs" -gt 0 ]; then expect_rc "real --check with $offs off" $rc 1; else expect_rc "real --check clean" $rc 0; fi
echo "RESULT scripts_host_real_check off=$offs rc=$rc"

$BIND list >"$T/rl" 2>&1
expect_rc "real bind-nic list" $? 0
expect_re "$T/rl" "^PCI +IFACE +DRIVER +NODE +ID +ROUTE$"
defif=$(awk 'NR > 1 && $2 == "00000000" && $8 == "00000000" { print $1; exit }' /proc/net/route)
if [ -n "$defif" ] && grep -qE "^[0-9a-f:.]+ +([^ ]*,)?$defif(,[^ ]*)? .* default$" "$T/rl"; then
	$BIND --dry-run bind "$defif" >"$T/rb" 2>&1
	expect_rc "real bind of the default-route interface $defif" $? 3
	expect_re "$T/rb" "refusing to take [0-9a-f:.]+ \($defif\)"
fi
expect_eq "real hugepages unchanged" \
	"$(cat /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null | paste -sd, -)" \
	"$real_before"
expect_eq "real IRQ affinities unchanged" "$(cat /proc/irq/*/smp_affinity_list 2>/dev/null | md5sum)" "$irq_before"

# ------------------------------------------------------------------ pcaps

PY=$(command -v python3)
P=$T/pcap
mkdir -p "$P"
"$PY" scripts/pktgen/mkpcap.py --out-dir "$P" --count 200 --seed 7 >"$T/mk" 2>&1
expect_rc "mkpcap" $? 0
expect_line "$T/mk" "$P/syn.pcap: 200 frames"
tcpdump -nn -r "$P/syn.pcap" >"$T/syn.txt" 2>/dev/null
expect_eq "syn.pcap frames" "$(grep -c . "$T/syn.txt")" 200
expect_eq "syn.pcap SYNs to 198.18.0.2:1935 from 198.19/16" \
	"$(grep -cE '^[0-9:.]+ IP 198\.19\.[0-9]+\.[0-9]+\.[0-9]+ > 198\.18\.0\.2\.1935: Flags \[S\], seq [0-9]+, win 64240, options \[mss 1460,nop,nop,sackOK\], length 0$' "$T/syn.txt")" 200
expect_eq "syn.pcap BPF tcp-syn to port 1935" \
	"$(tcpdump -nn -r "$P/syn.pcap" 'tcp[tcpflags] == tcp-syn and dst port 1935 and dst host 198.18.0.2' 2>/dev/null | grep -c .)" 200
tcpdump -nn -vv -r "$P/syn.pcap" >"$T/synv.txt" 2>/dev/null
expect_eq "syn.pcap TCP checksums correct" "$(grep -c 'cksum 0x[0-9a-f]* (correct)' "$T/synv.txt")" 200
expect_no_re "$T/synv.txt" "incorrect|bad cksum"
expect_eq "syn.pcap distinct sources" "$(awk '{print $3}' "$T/syn.txt" | sort -u | grep -c .)" 200
tcpdump -nn -e -r "$P/arp.pcap" >"$T/arp.txt" 2>/dev/null
expect_eq "arp.pcap frames" "$(grep -c . "$T/arp.txt")" 200
expect_eq "arp.pcap broadcast who-has 198.18.0.2 from 198.19/16" \
	"$(grep -cE ' 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP \(0x0806\), length 60: Request who-has 198\.18\.0\.2 tell 198\.19\.[0-9]+\.[0-9]+, length 46$' "$T/arp.txt")" 200
tcpdump -nn -vv -r "$P/icmp.pcap" >"$T/icmp.txt" 2>/dev/null
expect_eq "icmp.pcap echo requests" "$(grep -cE '^ +198\.19\.[0-9]+\.[0-9]+ > 198\.18\.0\.2: ICMP echo request, id 7168, seq [0-9]+, length 64$' "$T/icmp.txt")" 200
expect_eq "icmp.pcap sequence 0..199" "$(grep -oE 'seq [0-9]+' "$T/icmp.txt" | awk '{print $2}' | paste -sd' ' -)" "$(seq 0 199 | paste -sd' ' -)"
expect_no_re "$T/icmp.txt" "bad cksum|wrong"
"$PY" scripts/pktgen/mkpcap.py --out-dir "$T" --count 200 --seed 7 >/dev/null 2>&1
cmp -s "$T/syn.pcap" "$P/syn.pcap" || fail "same seed gave a different syn.pcap"
ok
"$PY" scripts/pktgen/mkpcap.py --out-dir "$T" --count 200 --seed 8 >/dev/null 2>&1
! cmp -s "$T/syn.pcap" "$P/syn.pcap" || fail "another seed gave the same syn.pcap"
ok
"$PY" scripts/pktgen/mkpcap.py --out-dir "$T" --dst 10.1.2.3 >"$T/mkbad" 2>&1
expect_rc "mkpcap outside 198.18.0.0/15" $? 2
expect_re "$T/mkbad" "addresses must lie in 198.18.0.0/15"
"$PY" scripts/pktgen/mkpcap.py --out-dir "$T" --src-net 198.17.0.0/16 >/dev/null 2>&1
expect_rc "mkpcap source outside 198.18.0.0/15" $? 2

# ------------------------------------------------------------ pktgen Lua

command -v luac5.4 >/dev/null || fail "luac5.4 missing (scripts/install-deps.sh installs lua5.4)"
for f in scripts/pktgen/*.lua; do
	luac5.4 -p "$f" || fail "Lua syntax: $f"
	ok
done
# A recording stand-in for pktgen: every call is logged; delay(ms) moves
# 1000 packets/ms out and 10/ms in, so the RESULT line is predictable.
cat >"$T/mock.lua" <<'EOF'
local tx, rx = 0, 0
local function log(name, ...)
	local a = { ... }
	for i = 1, #a do a[i] = tostring(a[i]) end
	print("CALL " .. name .. " " .. table.concat(a, " "))
end
pktgen = setmetatable({
	delay = function(ms) log("delay", ms); tx = tx + ms * 1000; rx = rx + ms * 10 end,
	portStats = function(port, kind)
		log("portStats", port, kind)
		return { [tonumber(port)] = { opackets = tx, ipackets = rx } }
	end,
}, { __index = function(_, k) return function(...) log(k, ...) end end })
dofile(arg[1])
EOF
lua_run() { env "$@" lua5.4 "$T/mock.lua" "$LUA_SCRIPT"; }
LUA_SCRIPT=scripts/pktgen/syn_flood.lua lua_run LC_SECONDS=2 >"$T/l1" 2>&1
expect_rc "syn_flood.lua under the mock" $? 0
expect_line "$T/l1" "CALL set 0 rate 100"
expect_line "$T/l1" "CALL pcap 0 on"
expect_line "$T/l1" "CALL start 0"
expect_line "$T/l1" "CALL delay 2000"
expect_line "$T/l1" "CALL stop 0"
expect_line "$T/l1" "RESULT syn_flood port=0 secs=2 tx_pkts=2500000 tx_pps=1250000 rx_pkts=25000"
[ "$(grep -n 'CALL start 0' "$T/l1" | cut -d: -f1)" -gt "$(grep -n 'CALL pcap 0 on' "$T/l1" | cut -d: -f1)" ] ||
	fail "syn_flood starts before enabling pcap replay"
ok
LUA_SCRIPT=scripts/pktgen/icmp_load.lua lua_run LC_PORT=1 LC_RATE=40 LC_SECONDS=1 LC_DST_IP=198.18.5.9 >"$T/l2" 2>&1
expect_rc "icmp_load.lua under the mock" $? 0
expect_line "$T/l2" "CALL set_proto 1 icmp"
expect_line "$T/l2" "CALL set_ipaddr 1 dst 198.18.5.9"
expect_line "$T/l2" "CALL set_mac 1 dst 02:00:00:00:00:02"
expect_line "$T/l2" "CALL set 1 rate 40"
expect_line "$T/l2" "RESULT icmp_load port=1 secs=1 tx_pkts=1500000 tx_pps=1500000 rx_pkts=15000"
LUA_SCRIPT=scripts/pktgen/arp_load.lua lua_run LC_SECONDS=1 >"$T/l3" 2>&1
expect_rc "arp_load.lua under the mock" $? 0
expect_line "$T/l3" "CALL send_arp 0 g"
expect_line "$T/l3" "CALL pcap 0 on"
expect_re "$T/l3" "^RESULT arp_load port=0 secs=1 tx_pkts=1500000 "
LUA_SCRIPT=scripts/pktgen/icmp_load.lua lua_run LC_DST_IP=10.0.0.1 >"$T/l4" 2>&1
[ $? -ne 0 ] || fail "icmp_load.lua accepted LC_DST_IP=10.0.0.1"
ok
expect_re "$T/l4" "LC_DST_IP=10.0.0.1 is outside 198.18.0.0/15"
expect_no_re "$T/l4" "CALL start"
LUA_SCRIPT=scripts/pktgen/syn_flood.lua lua_run LC_RATE=0 >"$T/l5" 2>&1
[ $? -ne 0 ] || fail "syn_flood.lua accepted LC_RATE=0"
ok
expect_re "$T/l5" "LC_RATE=0: want an integer in 1..100"

# --------------------------------------------------------------- systemd

U=$T/units-verify
mkdir -p "$U/bin" "$U/scripts"
for u in scripts/systemd/*.service; do
	sed -e "s#/usr/local/bin/#$U/bin/#g" -e "s#/usr/local/share/lifecast/scripts/#$U/scripts/#g" \
		"$u" >"$U/$(basename "$u")"
done
for b in lifecast-dp lifecast-cp; do printf '#!/bin/sh\nexit 0\n' >"$U/bin/$b"; chmod +x "$U/bin/$b"; done
if command -v systemd-analyze >/dev/null; then
	(cd "$U" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./lifecast-*.service) >"$T/sv" 2>&1
	expect_rc "systemd-analyze verify" $? 0
	[ ! -s "$T/sv" ] || { cat "$T/sv"; fail "systemd-analyze verify complained"; }
	ok
else
	fail "systemd-analyze missing"
fi
DPU=scripts/systemd/lifecast-dp.service
CPU=scripts/systemd/lifecast-cp.service
expect_line "$DPU" "Requires=lifecast-hugepages.service"
expect_line "$DPU" "After=lifecast-hugepages.service network-pre.target"
expect_line "$DPU" "EnvironmentFile=/etc/lifecast/lifecast.env"
expect_line "$DPU" 'ExecStart=/usr/local/bin/lifecast-dp $LIFECAST_EAL_LCORES $LIFECAST_EAL_ARGS -- -c ${LIFECAST_CONF} $LIFECAST_DP_ARGS'
expect_no_re "$DPU" "^(Requires|BindsTo|PartOf|Wants|Requisite)=.*lifecast-cp"
expect_line "$CPU" "Restart=always"
expect_line "$CPU" "After=lifecast-dp.service network-online.target"
expect_line "$CPU" "StartLimitIntervalSec=0"
expect_no_re "$CPU" "^(Requires|BindsTo|PartOf|Requisite)="
expect_line scripts/systemd/lifecast-hugepages.service "Before=lifecast-dp.service"
expect_line scripts/systemd/lifecast-hugepages.service "RemainAfterExit=yes"

echo "RESULT scripts_host asserts=$NASSERT"
echo "PASS test_scripts_host"
exit 0
