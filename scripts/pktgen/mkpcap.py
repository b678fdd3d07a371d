#!/usr/bin/env python3
"""Write SYN, ARP and ICMP pcap files for stateless load tests of lifecast.

The frames are built by hand (standard library only) so the files can be
replayed by DPDK pktgen (-s PORT:FILE) or tcpreplay from a second host.
Every address must lie in 198.18.0.0/15, the benchmarking range, so a
replayed file can never hit a production network by mistake.

  mkpcap.py [--out-dir DIR] [--count N] [--dst IP] [--src-net CIDR]
            [--dst-mac MAC] [--src-mac MAC] [--port N] [--seed N]

Files: syn.pcap (TCP SYNs with MSS option toward --dst:--port from varying
sources and ports), arp.pcap (who-has --dst from varying sources),
icmp.pcap (echo requests to --dst). Exit 0 written, 2 bad arguments.
"""
import argparse
import ipaddress
import random
import struct
import sys

BENCH_NET = ipaddress.ip_network("198.18.0.0/15")
PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
ETH_MIN_FRAME = 60  # without the FCS
TS_BASE = 1700000000


def checksum(data):
    """RFC 1071 Internet checksum of data (bytes)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac_bytes(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("MAC %r is not aa:bb:cc:dd:ee:ff" % text)
    return bytes(int(p, 16) for p in parts)


def ether(dst, src, ethertype, payload):
    frame = dst + src + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, ETH_MIN_FRAME - len(frame))


def ipv4(src, dst, proto, ident, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                      0x4000, 64, proto, 0, src.packed, dst.packed)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def tcp_syn(src, dst, sport, dport, seq):
    # MSS 1460, then NOP NOP SACK-permitted: 8 option bytes, doff = 7.
    opts = struct.pack("!BBH", 2, 4, 1460) + bytes([1, 1, 4, 2])
    doff = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, doff << 4, 0x02,
                      64240, 0, 0) + opts
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 6, len(hdr))
    csum = checksum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:]


def arp_request(src_mac, src_ip, dst_ip):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac,
                       src_ip.packed, b"\0" * 6, dst_ip.packed)


def icmp_echo(ident, seq, size):
    payload = bytes((i & 0xFF) for i in range(size))
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    return hdr[:2] + struct.pack("!H", checksum(hdr)) + hdr[4:]


def pick_source(rng, net):
    # Skip the network and broadcast addresses of the source range.
    span = net.num_addresses
    off = rng.randrange(1, span - 1) if span > 2 else 0
    return net.network_address + off


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535,
                            LINKTYPE_ETHERNET))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", TS_BASE + i // 1000000, i % 1000000,
                                len(frame), len(frame)))
            f.write(frame)


def build(args):
    rng = random.Random(args.seed)
    dmac = mac_bytes(args.dst_mac)
    smac = mac_bytes(args.src_mac)
    bcast = b"\xff" * 6
    syn, arp, icmp = [], [], []
    for i in range(args.count):
        src = pick_source(rng, args.src_net)
        sport = 1024 + rng.randrange(0, 64512)
        seg = tcp_syn(src, args.dst, sport, args.port, rng.getrandbits(32))
        syn.append(ether(dmac, smac, 0x0800, ipv4(src, args.dst, 6, i & 0xFFFF, seg)))
        src = pick_source(rng, args.src_net)
        arp.append(ether(bcast, smac, 0x0806, arp_request(smac, src, args.dst)))
        src = pick_source(rng, args.src_net)
        echo = icmp_echo(0x1c00 + (i >> 16), i & 0xFFFF, 56)
        icmp.append(ether(dmac, smac, 0x0800, ipv4(src, args.dst, 1, i & 0xFFFF, echo)))
    return {"syn.pcap": syn, "arp.pcap": arp, "icmp.pcap": icmp}


def parse(argv):
    p = argparse.ArgumentParser(description="SYN/ARP/ICMP pcaps in 198.18.0.0/15")
    p.add_argument("--out-dir", default=".")
    p.add_argument("--count", type=int, default=1000, help="frames per file (1..1000000)")
    p.add_argument("--dst", default="198.18.0.2", help="appliance address")
    p.add_argument("--src-net", default="198.19.0.0/16", help="source addresses")
    p.add_argument("--dst-mac", default="02:00:00:00:00:02", help="appliance MAC")
    p.add_argument("--src-mac", default="02:00:00:00:00:01", help="generator MAC")
    p.add_argument("--port", type=int, default=1935, help="TCP port of the SYNs")
    p.add_argument("--seed", type=int, default=1, help="same seed, same files")
    a = p.parse_args(argv)
    if not 1 <= a.count <= 1000000:
        p.error("--count must be 1..1000000")
    if not 1 <= a.port <= 65535:
        p.error("--port must be 1..65535")
    try:
        a.dst = ipaddress.IPv4Address(a.dst)
        a.src_net = ipaddress.IPv4Network(a.src_net, strict=False)
        mac_bytes(a.dst_mac)
        mac_bytes(a.src_mac)
    except ValueError as e:
        p.error(str(e))
    if a.dst not in BENCH_NET or not a.src_net.subnet_of(BENCH_NET):
        p.error("addresses must lie in %s (got --dst %s --src-net %s)"
                % (BENCH_NET, a.dst, a.src_net))
    return a


def main(argv):
    args = parse(argv)
    for name, frames in build(args).items():
        path = "%s/%s" % (args.out_dir, name)
        write_pcap(path, frames)
        print("%s: %d frames" % (path, len(frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
