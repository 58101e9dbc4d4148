//! Cuts fuzz seeds out of reference traces: `fuzz-seeds OUT_DIR TRACE...`
//! writes, under `OUT_DIR/<target>/`, inputs in each fuzz target's format
//! (see `sensor-user/fuzz/fuzz_targets`): the TCP streams of SMTP, TLS,
//! POP3 and IMAP connections as client/server chunks, the certificates of
//! TLS handshakes, packet sequences for the whole pipeline, single frames
//! for the decoder, and the head of each capture file. Minimise the result
//! with `cargo fuzz cmin` before keeping it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result};
use sensor::capture::pcap::PcapFile;
use sensor::decode::{decode_link, decode_transport, DecodeOptions, Transport};

/// Longest stream kept per connection and direction.
const MAX_STREAM: usize = 32 << 10;
/// Most packets of a trace in a pipeline seed.
const MAX_PACKETS: usize = 200;
/// Bytes of the capture file kept as a capture seed.
const CAPTURE_HEAD: usize = 4096;
/// Link types in the order the decode target selects them.
const LINKS: [u32; 8] = [0, 1, 12, 101, 108, 113, 228, 276];

/// One TCP connection's payload, in order of arrival.
#[derive(Default)]
struct Conn {
    /// (from the originator, bytes).
    chunks: Vec<(bool, Vec<u8>)>,
    /// Next expected sequence number per direction (orig, resp).
    next: [Option<u32>; 2],
    bytes: [usize; 2],
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, traces) = args
        .split_first()
        .context("usage: fuzz-seeds OUT_DIR TRACE...")?;
    let out = Path::new(out);
    let mut written = 0;
    for t in traces {
        written += seed_trace(Path::new(t), out).with_context(|| format!("trace {t}"))?;
    }
    println!("{written} seeds written under {}", out.display());
    Ok(())
}

/// A short content hash for file names.
fn name(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn write(out: &Path, target: &str, data: &[u8]) -> Result<usize> {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name(data)), data)?;
    Ok(1)
}

fn seed_trace(trace: &Path, out: &Path) -> Result<usize> {
    let mut n = 0;
    let raw = std::fs::read(trace)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        n += write(out, "capture", &raw[..raw.len().min(CAPTURE_HEAD)])?;
    }
    let mut f = PcapFile::open(trace)?;
    let opts = DecodeOptions::default();
    let mut conns: HashMap<(IpAddr, u16, IpAddr, u16), Conn> = HashMap::new();
    let mut pipeline = Vec::new();
    let mut packets = 0;
    let mut frames: Vec<Vec<u8>> = Vec::new();
    while f.next_frame(|fr| {
        if frames.len() < 4 {
            if let Some(i) = LINKS.iter().position(|&l| l == fr.link.0) {
                let mut v = vec![i as u8];
                v.extend_from_slice(&fr.data[..fr.data.len().min(2048)]);
                frames.push(v);
            }
        }
        let Ok((_, ip)) = decode_link(fr.link, fr.data, &opts) else {
            return;
        };
        if packets < MAX_PACKETS && ip.fragment.is_none() {
            // The raw IP packet: from its header to the end of its payload.
            let start = ip.payload.as_ptr() as usize - fr.data.as_ptr() as usize;
            if let Some(start) = start.checked_sub(ip.header_len as usize) {
                let end = start + ip.header_len as usize + ip.payload.len();
                let pkt = &fr.data[start..end];
                pipeline.push(0);
                pipeline.extend_from_slice(&(pkt.len() as u16).to_le_bytes());
                pipeline.extend_from_slice(pkt);
                packets += 1;
            }
        }
        let Ok(Transport::Tcp(seg)) = decode_transport(&ip, &opts) else {
            return;
        };
        let (a, b) = ((ip.src, seg.src_port()), (ip.dst, seg.dst_port()));
        let fwd = (a.0, a.1, b.0, b.1);
        let rev = (b.0, b.1, a.0, a.1);
        let (key, is_orig) = if conns.contains_key(&rev) {
            (rev, false)
        } else {
            (fwd, true)
        };
        let c = conns.entry(key).or_default();
        let d = usize::from(!is_orig);
        let syn = seg.flags() & 0x02 != 0;
        let seq = seg.seq().wrapping_add(u32::from(syn));
        let data = seg.payload();
        if data.is_empty() {
            c.next[d].get_or_insert(seq);
            return;
        }
        let expected = *c.next[d].get_or_insert(seq);
        // In-order data only (retransmissions and holes dropped).
        if seq != expected || c.bytes[d] >= MAX_STREAM {
            return;
        }
        c.next[d] = Some(seq.wrapping_add(data.len() as u32));
        c.bytes[d] += data.len();
        c.chunks.push((is_orig, data.to_vec()));
    })? {}
    for fr in &frames {
        n += write(out, "decode", fr)?;
    }
    if !pipeline.is_empty() {
        n += write(out, "pipeline", &pipeline)?;
    }
    for c in conns.values() {
        n += seed_conn(c, out)?;
    }
    Ok(n)
}

/// Chunks with a one-byte length (the SMTP and mailbox targets).
fn short_chunks(c: &Conn, out: &mut Vec<u8>) {
    for (is_orig, data) in &c.chunks {
        for part in data.chunks(255) {
            out.push(u8::from(!is_orig));
            out.push(part.len() as u8);
            out.extend_from_slice(part);
        }
    }
}

fn seed_conn(c: &Conn, out: &Path) -> Result<usize> {
    let first = |orig: bool| {
        c.chunks
            .iter()
            .find(|(o, _)| *o == orig)
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[])
    };
    let (client, server) = (first(true), first(false));
    let mut n = 0;
    if client.starts_with(&[0x16, 0x03]) || server.starts_with(&[0x16, 0x03]) {
        let mut v = Vec::new();
        for (is_orig, data) in &c.chunks {
            v.push(u8::from(!is_orig));
            v.extend_from_slice(&(data.len() as u16).to_be_bytes());
            v.extend_from_slice(data);
        }
        n += write(out, "tls", &v)?;
        let stream: Vec<u8> = c
            .chunks
            .iter()
            .filter(|(o, _)| !o)
            .flat_map(|(_, d)| d.iter().copied())
            .collect();
        for der in certificates(&stream) {
            let mut v = vec![0u8];
            v.extend_from_slice(&der);
            n += write(out, "x509", &v)?;
        }
    } else if server.starts_with(b"220") {
        let mut v = Vec::new();
        short_chunks(c, &mut v);
        n += write(out, "smtp", &v)?;
    } else if server.starts_with(b"+OK") || server.starts_with(b"* OK") {
        let mut v = vec![u8::from(server.starts_with(b"* OK"))];
        short_chunks(c, &mut v);
        n += write(out, "mailbox", &v)?;
    }
    Ok(n)
}

/// The certificates of the Certificate messages in a server's TLS stream
/// (handshake records before any other content type).
fn certificates(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut hs = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 && rest[0] == 22 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let Some(body) = rest.get(5..5 + len) else {
            break;
        };
        hs.extend_from_slice(body);
        rest = &rest[5 + len..];
    }
    let mut certs = Vec::new();
    let be24 = |b: &[u8]| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]);
    let mut m = hs.as_slice();
    while m.len() >= 4 {
        let len = be24(&m[1..4]);
        let Some(body) = m.get(4..4 + len) else {
            break;
        };
        if m[0] == 11 && body.len() >= 3 {
            let mut list = &body[3..];
            while list.len() >= 3 {
                let l = be24(list);
                let Some(der) = list.get(3..3 + l) else {
                    break;
                };
                certs.push(der.to_vec());
                list = &list[3 + l..];
            }
        }
        m = &m[4 + len..];
    }
    certs
}
