#!/usr/bin/env python3
"""Writes generated.pcap (Ethernet) and wifi.pcap (802.11): frames for the
link-layer test (tests/tests/link_layer.rs). Run from this directory;
standard library only.

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

wifi.pcap (DLT_IEEE802_11), frames one second apart from 1600000000:
  1  an ACK (10 bytes): Zeek's truncated_802_11_header
  2  a beacon (management): nothing
  3  a QoS data A-MSDU of three subframes, each a TCP SYN to port 25 from
     10.0.0.2, 10.0.0.3 and 10.0.0.4, the first two padded as Zeek expects
  4  protected QoS data: nothing
  5  a QoS data A-MSDU whose first subframe is a SYN from 10.0.0.5 and
     whose second is not LLC/SNAP: invalid_802_11_amsdu_inner_packet, and
     the third (a SYN from 10.0.0.6) is dropped with it
  6  plain data, To DS, LLC/SNAP, a TCP SYN from 10.0.0.7 to port 587

ip.pcap (Ethernet), IP and TCP cases of Zeek's IP, fragment and TCP
analyzers, frames one second apart from 1600000000:
  1  the first fragment of a 1500-byte datagram, a TCP SYN from 10.0.0.3
     to port 25, cut by the capture after its TCP header:
     incompletely_captured_fragment (source IP), and the SYN is analysed
     as it is (a connection)
  2  a later fragment from 10.0.0.4, cut by the capture:
     incompletely_captured_fragment, dropped
  3  a 16-byte first fragment from 10.0.0.5 with DF set: fragment_with_DF
     and excessively_small_fragment (no source)
  4  a TCP SYN with 4 bytes of data from 10.0.0.6: SYN_with_data (TCP)
  5  a TCP SYN with RST and URG from 10.0.0.7: TCP_christmas, baroque_SYN
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


def tcp_syn(host=2, dport=25, flags=0x02, data=b""):
    src, dst = bytes([10, 0, 0, host]), bytes([10, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", 40000, dport, 1000, 0, 5 << 4, flags, 65535, 0, 0) + data
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    return ipv4(src, dst, 6, tcp)


def ipv4(src, dst, proto, payload, frag=0, total=None):
    """An IPv4 header (fragment flags and offset in `frag`) before `payload`;
    `total` overrides the total length (a packet the capture cut)."""
    length = total if total is not None else 20 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 1, frag, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + payload


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



def write(name, linktype, frames):
    """Frames are bytes, or (bytes, wire length) for one the capture cut."""
    with open(name, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, f in enumerate(frames):
            f, wire = f if isinstance(f, tuple) else (f, len(f))
            out.write(struct.pack("<IIII", 1600000000 + i, 0, len(f), wire))
            out.write(f)


write("generated.pcap", 1, frames)

MF, DF = 0x2000, 0x4000
syn_header = tcp_syn(3)[20:]
ip_frames = [
    (eth(SRV, SRC, 0x0800, ipv4(bytes([10, 0, 0, 3]), bytes([10, 0, 0, 1]), 6, syn_header, MF, 1500)), 1514),
    (eth(SRV, SRC, 0x0800, ipv4(bytes([10, 0, 0, 4]), bytes([10, 0, 0, 1]), 6, bytes(26), MF | 185, 1500)), 1514),
    eth(SRV, SRC, 0x0800, ipv4(bytes([10, 0, 0, 5]), bytes([10, 0, 0, 1]), 17, bytes(16), MF | DF)),
    eth(SRV, SRC, 0x0800, tcp_syn(6, data=b"data")),
    eth(SRV, SRC, 0x0800, tcp_syn(7, flags=0x02 | 0x04 | 0x20)),
]
write("ip.pcap", 1, ip_frames)

AP, STA = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
SNAP_IP = bytes([0xAA, 0xAA, 0x03, 0, 0, 0]) + struct.pack("!H", 0x0800)


def dot11(fc, flags, body, qos=None):
    """A data frame to the AP (To DS): addr1 BSSID, addr2 sender, addr3 destination."""
    h = bytes([fc, flags]) + bytes(2) + AP + STA + SRV + bytes(2)
    if qos is not None:
        h += struct.pack("<H", qos)
    return h + body


def subframe(packet, last=False):
    """An A-MSDU subframe; Zeek skips length % 4 bytes of padding after it."""
    s = SRV + STA + struct.pack("!H", len(packet)) + packet
    return s if last else s + bytes(len(packet) % 4)


wifi = [
    bytes([0xD4, 0]) + bytes(2) + STA,
    bytes([0x80, 0]) + bytes(2) + bytes.fromhex("ffffffffffff") + AP + AP + bytes(2) + bytes(12),
    dot11(0x88, 0x01, subframe(SNAP_IP + tcp_syn(2)) + subframe(SNAP_IP + tcp_syn(3))
          + subframe(SNAP_IP + tcp_syn(4), last=True), qos=0x80),
    dot11(0x88, 0x41, bytes(48), qos=0),
    dot11(0x88, 0x01, subframe(SNAP_IP + tcp_syn(5)) + subframe(bytes([0x42, 0x42, 0x03]) + bytes(20))
          + subframe(SNAP_IP + tcp_syn(6), last=True), qos=0x80),
    dot11(0x08, 0x01, SNAP_IP + tcp_syn(7, 587)),
]
write("wifi.pcap", 105, wifi)
