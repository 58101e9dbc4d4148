//! A streaming pcap writer (Ethernet, nanosecond timestamps) and in-place
//! builders of Ethernet/IPv4/TCP and UDP frames with valid checksums.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Ethernet + IPv4 + TCP header bytes (no options).
pub const TCP_HDR: usize = 14 + 20 + 20;
/// Ethernet + IPv4 + UDP header bytes.
pub const UDP_HDR: usize = 14 + 20 + 8;

/// Writes a classic pcap file (nanosecond magic, link type Ethernet)
/// through a buffer, one frame at a time: nothing is held in memory.
pub struct PcapWriter<W: Write> {
    out: BufWriter<W>,
    packets: u64,
    bytes: u64,
}

impl PcapWriter<File> {
    /// Creates `path` and writes the file header.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        PcapWriter::new(File::create(path)?)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header to `w`.
    pub fn new(w: W) -> std::io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, w);
        out.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(PcapWriter {
            out,
            packets: 0,
            bytes: 24,
        })
    }

    /// Appends one frame captured at `ts_ns` (ns since the epoch).
    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> std::io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += 16 + frame.len() as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes of the file so far (headers included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes the buffer and returns the writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

fn sum16(data: &[u8], mut s: u64) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        s += v >> 48;
        s += (v >> 32) & 0xffff;
        s += (v >> 16) & 0xffff;
        s += v & 0xffff;
    }
    let rest = chunks.remainder();
    for c in rest.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u64;
    }
    s
}

fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn mac(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0x42, ip[0], ip[1], ip[2], ip[3]]
}

fn ip_header(f: &mut [u8], src: [u8; 4], dst: [u8; 4], proto: u8, id: u16) {
    f[0..6].copy_from_slice(&mac(dst));
    f[6..12].copy_from_slice(&mac(src));
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let total = (f.len() - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = fold(sum16(ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

fn pseudo(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> u64 {
    sum16(&src, 0) + sum16(&dst, 0) + proto as u64 + len as u64
}

/// One TCP segment's header fields.
#[derive(Clone, Copy, Debug)]
pub struct TcpFields {
    /// Source address.
    pub src: [u8; 4],
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub dst: [u8; 4],
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte.
    pub flags: u8,
    /// Advertised window.
    pub window: u16,
}

/// Completes the frame in `f`, whose payload already sits after
/// [`TCP_HDR`] bytes of room: Ethernet, IPv4 and TCP headers with valid
/// checksums.
pub fn finish_tcp(f: &mut [u8], h: &TcpFields, ip_id: u16) {
    ip_header(f, h.src, h.dst, 6, ip_id);
    let t = &mut f[34..];
    t[0..2].copy_from_slice(&h.sport.to_be_bytes());
    t[2..4].copy_from_slice(&h.dport.to_be_bytes());
    t[4..8].copy_from_slice(&h.seq.to_be_bytes());
    t[8..12].copy_from_slice(&h.ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = h.flags;
    t[14..16].copy_from_slice(&h.window.to_be_bytes());
    t[16..20].copy_from_slice(&[0; 4]);
    let c = fold(sum16(t, pseudo(h.src, h.dst, 6, t.len())));
    t[16..18].copy_from_slice(&c.to_be_bytes());
}

/// Completes the frame in `f`, whose payload already sits after
/// [`UDP_HDR`] bytes of room: Ethernet, IPv4 and UDP headers with valid
/// checksums.
pub fn finish_udp(f: &mut [u8], src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ip_id: u16) {
    ip_header(f, src, dst, 17, ip_id);
    let u = &mut f[34..];
    let len = u.len();
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    u[6..8].copy_from_slice(&[0, 0]);
    let mut c = fold(sum16(u, pseudo(src, dst, 17, len)));
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_frames_match_the_reference_builder() {
        let payload = b"EHLO client.example.org\r\n";
        let want = crate::synth::tcp([10, 0, 0, 1], 4000, [10, 0, 0, 2], 25, 7, 9, 0x18, payload);
        let mut f = vec![0u8; TCP_HDR];
        f.extend_from_slice(payload);
        let h = TcpFields {
            src: [10, 0, 0, 1],
            sport: 4000,
            dst: [10, 0, 0, 2],
            dport: 25,
            seq: 7,
            ack: 9,
            flags: 0x18,
            window: 64240,
        };
        finish_tcp(&mut f, &h, 0);
        // Same TCP header and checksum; the IP header differs only in id,
        // DF and so in its checksum.
        assert_eq!(f[34..], want[34..]);
        assert_eq!(fold(sum16(&f[14..34], 0)), 0);
    }

    #[test]
    fn pcap_header_and_records() {
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        w.write(1_500_000_000_123_456_789, &[1, 2, 3])
            .expect("frame");
        assert_eq!(w.packets(), 1);
        let out = w.finish().expect("flush");
        assert_eq!(out.len(), 24 + 16 + 3);
        assert_eq!(&out[0..4], &0xa1b2_3c4du32.to_le_bytes());
        assert_eq!(&out[28..32], &123_456_789u32.to_le_bytes());
    }
}
