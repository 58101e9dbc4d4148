#!/usr/bin/env python3
"""Writes generated.pcap: Ethernet frames for the link-layer test
(tests/tests/link_layer.rs). Run from this directory; standard library only.

Frames, one second apart from 1600000000:
  1  ARP request (who-has 10.0.0.1 tell 10.0.0.2), padded to 60 bytes
  2  ARP reply
  3  RARP request (EtherType 0x8035)
  4  ARP behind an 802.1Q tag
  5  LLDP (0x88cc): no analyzer in Zeek, no weird
  6  an unregistered EtherType (0x88b5, IEEE local experimental): no weird
  7  PPPoE discovery (0x8863): no weird
  8  IPX in Novell raw 802.3 (FF FF): Zeek's no_suitable_analyzer_found
  9  STP in 802.2 LLC (SAP 0x42): no weird
 10  type field 0x05dd (neither a length nor an EtherType): undefined_ether_type
 11  an ARP packet cut short (8 bytes of header, addresses missing): truncated_ARP
 12  a TCP SYN 10.0.0.2:40000 -> 10.0.0.1:25 (so that conn.log is written)
"""
import struct

DST = bytes.fromhex("ffffffffffff")
SRC = bytes.fromhex("7831c1c63fc2")
SRV = bytes.fromhex("f8eda5c0a4f1")


def eth(dst, src, ethertype, payload):
    f = dst + src + struct.pack("!H", ethertype) + payload
    return f + b"\x00" * max(0, 60 - len(f))


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + bytes(spa) + tha + bytes(tpa)


def checksum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_syn():
    src, dst = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", 40000, 25, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


request = arp(1, SRC, [10, 0, 0, 2], bytes(6), [10, 0, 0, 1])
reply = arp(2, SRV, [10, 0, 0, 1], SRC, [10, 0, 0, 2])
frames = [
    eth(DST, SRC, 0x0806, request),
    eth(SRC, SRV, 0x0806, reply),
    eth(DST, SRC, 0x8035, arp(3, SRC, [0, 0, 0, 0], SRC, [0, 0, 0, 0])),
    eth(DST, SRC, 0x8100, struct.pack("!HH", 5, 0x0806) + request),
    eth(bytes.fromhex("0180c200000e"), SRC, 0x88CC, bytes.fromhex("0207040022 2d81db10".replace(" ", "")) + bytes(20)),
    eth(DST, SRC, 0x88B5, b"local experimental" + bytes(20)),
    eth(DST, SRC, 0x8863, bytes.fromhex("1109000000040101000000000000")),
    eth(DST, SRC, 30, b"\xff\xff" + bytes(28)),
    eth(bytes.fromhex("0180c2000000"), SRC, 38, bytes([0x42, 0x42, 0x03]) + bytes(35)),
    eth(DST, SRC, 0x05DD, bytes(46)),
    (DST + SRC + struct.pack("!H", 0x0806) + request[:8]),
    eth(SRV, SRC, 0x0800, tcp_syn()),
]

with open("generated.pcap", "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, f in enumerate(frames):
        out.write(struct.pack("<IIII", 1600000000 + i, 0, len(f), len(f)))
        out.write(f)
