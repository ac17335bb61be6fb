#!/usr/bin/env python3
"""mkcorpus.py - write the seed packets in tests/fuzz/corpus/packet/.

Real-looking IPv4/IPv6 TCP segments with valid checksums: options, IPv6
extension headers, odd payloads, a header-only capture, and a few that the
parser must refuse (fragments, UDP).  Run again after changing it; the
output is deterministic.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "packet")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(sport, dport, seq, ack, flags, win, opts=b"", payload=b""):
    doff = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0)
    return h + opts + payload


def with_tcp_csum(seg, pseudo):
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def v4(seg, src=bytes([10, 0, 0, 1]), dst=bytes([10, 0, 0, 2]), opts=b"", frag=0x4000, proto=6):
    ihl = (20 + len(opts)) // 4
    tot = ihl * 4 + len(seg)
    if proto == 6:
        seg = with_tcp_csum(seg, src + dst + struct.pack("!BBH", 0, 6, len(seg)))
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 0x1234, frag, 64, proto, 0, src, dst) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + seg


def v6(seg, exts=(), proto=6, src=bytes(15) + b"\1", dst=bytes(15) + b"\1", final=None):
    """exts: list of (type, body bytes without the first two)."""
    chain = b""
    types = [e[0] for e in exts] + [proto]
    for i, (t, body) in enumerate(exts):
        assert (2 + len(body)) % 8 == 0, "extension header not a multiple of 8"
        chain += bytes([types[i + 1], (2 + len(body)) // 8 - 1]) + body
    if proto == 6:
        d = final or dst
        seg = with_tcp_csum(seg, src + d + struct.pack("!I3xB", len(seg), 6))
    h = struct.pack("!IHBB16s16s", 0x60000000, len(chain) + len(seg), types[0], 64, src, dst)
    return h + chain + seg


SYN_OPTS = bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10]) + struct.pack("!II", 1000, 0) + bytes([1, 3, 3, 7])
TS_OPTS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1005, 1000)
PADN6 = bytes([1, 4, 0, 0, 0, 0])  # PadN filling a minimal 8-byte options header

packets = {
    "v4-syn": v4(tcp(40000, 8080, 0x12345678, 0, 0x02, 64240, SYN_OPTS)),
    "v4-data-ipopts": v4(tcp(8080, 40000, 7, 99, 0x18, 512, TS_OPTS, b"hello, world\n"),
                         opts=bytes([0x94, 4, 0, 0])),
    "v4-fin-odd": v4(tcp(40000, 8080, 100, 200, 0x11, 502, b"", b"abc")),
    "v4-header-only": v4(tcp(1, 2, 3, 4, 0x10, 5, TS_OPTS, bytes(range(200))))[:52],
    "v4-fragment": v4(tcp(1, 2, 3, 4, 0x10, 5), frag=0x2000),
    "v4-udp": v4(struct.pack("!HHHH", 53, 53, 8, 0), proto=17),
    "v6-synack": v6(tcp(8080, 40000, 1, 0x12345679, 0x12, 65535, SYN_OPTS)),
    "v6-ext-data": v6(tcp(443, 50000, 5, 6, 0x18, 1000, TS_OPTS, b"x" * 33),
                      exts=[(0, PADN6), (60, bytes([1, 12]) + bytes(12)), (43, bytes([4, 0, 0, 0, 0, 0]) + bytes(16))]),
    "v6-rt2-transit": v6(tcp(443, 50000, 5, 6, 0x10, 1000, b"", b"yz"),
                         exts=[(43, bytes([2, 1, 0, 0, 0, 0]) + bytes(15) + b"\x09")],
                         final=bytes(15) + b"\x09"),
    "v6-fragment": v6(tcp(1, 2, 3, 4, 0x10, 5), exts=[(44, bytes(6))]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(packets.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
