//! `sensor-bench attack`: adversarial captures run through `sensor read`.
//!
//! Each attack is written as a capture, read by the `sensor` binary as a
//! child process (peak RSS and CPU time measured by the kernel), and its
//! logs are read back: stats.log's counters (flows evicted, out-of-order
//! bytes dropped, bytes missed), weird.log by name, and the number of
//! records of every log. A run of normal traffic (the mixed profile of
//! `sensor-bench gen`) with the same limits is the baseline for CPU per
//! packet and peak RSS. An attack fails when its peak RSS exceeds the
//! stated bound: the baseline's peak plus what the configured limits allow
//! to grow on demand (3 KiB for each of `--max-flows` connections, the TLS
//! handshake budget) plus a fixed slack.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::certs::Pki;
use crate::child::{run_child, ChildUsage};
use crate::mail::Rng;
use crate::pcapw::{finish_tcp, PcapWriter, TcpFields, TCP_HDR};
use crate::tls::msg;

pub mod live;

/// How large the attacks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// A few seconds each: 100k-flow SYN flood, 20k half-open SMTP
    /// sessions, 100k MIME parts.
    Small,
    /// The sizes of the threat model: 10M-flow SYN flood, 1M half-open
    /// SMTP sessions, 1M MIME parts.
    Full,
}

/// TCP flag bits.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;

/// The timestamp of every capture's first packet (2026-01-01 10:00 UTC).
const T0: u64 = 1_767_261_600_000_000_000;

/// A capture being written: frames built in one reused buffer.
struct Gen {
    w: PcapWriter<File>,
    ts: u64,
    ip_id: u16,
    buf: Vec<u8>,
}

impl Gen {
    fn create(path: &Path) -> io::Result<Gen> {
        Ok(Gen {
            w: PcapWriter::create(path)?,
            ts: T0,
            ip_id: 1,
            buf: Vec::with_capacity(2048),
        })
    }

    /// One TCP segment, 10 µs after the previous one; `urgent` sets URG
    /// and the urgent pointer.
    fn seg(&mut self, h: &TcpFields, payload: &[u8], urgent: Option<u16>) -> io::Result<()> {
        self.buf.clear();
        self.buf.resize(TCP_HDR, 0);
        self.buf.extend_from_slice(payload);
        finish_tcp(&mut self.buf, h, self.ip_id);
        if let Some(ptr) = urgent {
            let t = &mut self.buf[34..];
            t[13] |= URG;
            t[18..20].copy_from_slice(&ptr.to_be_bytes());
            tcp_checksum(&mut self.buf, h.src, h.dst);
        }
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ts += 10_000;
        self.w.write(self.ts, &self.buf)
    }

    fn finish(self) -> io::Result<u64> {
        let n = self.w.packets();
        self.w.finish()?;
        Ok(n)
    }
}

/// Recomputes the TCP checksum of an Ethernet/IPv4/TCP frame.
fn tcp_checksum(f: &mut [u8], src: [u8; 4], dst: [u8; 4]) {
    let t = &mut f[34..];
    t[16] = 0;
    t[17] = 0;
    let mut s: u64 = 6 + t.len() as u64;
    for c in src.chunks(2).chain(dst.chunks(2)).chain(t.chunks(2)) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u64;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    let c = !(s as u16);
    t[16..18].copy_from_slice(&c.to_be_bytes());
}

/// One TCP connection's addresses and next sequence numbers.
struct Conv {
    c: [u8; 4],
    cport: u16,
    s: [u8; 4],
    sport: u16,
    cseq: u32,
    sseq: u32,
}

impl Conv {
    fn new(i: u64, sport: u16) -> Conv {
        Conv {
            c: [
                10,
                64 + ((i >> 22) & 63) as u8,
                (i >> 14) as u8,
                (i >> 6) as u8,
            ],
            cport: 1024 + (i & 63) as u16 * 1000 + ((i >> 28) & 511) as u16,
            s: [192, 0, 2, 25],
            sport,
            cseq: 1_000_000,
            sseq: 5_000_000,
        }
    }

    fn h(&self, from_client: bool, seq: u32, flags: u8) -> TcpFields {
        if from_client {
            TcpFields {
                src: self.c,
                sport: self.cport,
                dst: self.s,
                dport: self.sport,
                seq,
                ack: if flags & ACK != 0 { self.sseq } else { 0 },
                flags,
                window: 64240,
            }
        } else {
            TcpFields {
                src: self.s,
                sport: self.sport,
                dst: self.c,
                dport: self.cport,
                seq,
                ack: self.cseq,
                flags,
                window: 65160,
            }
        }
    }

    fn handshake(&mut self, g: &mut Gen) -> io::Result<()> {
        g.seg(&self.h(true, self.cseq, SYN), b"", None)?;
        self.cseq += 1;
        g.seg(&self.h(false, self.sseq, SYN | ACK), b"", None)?;
        self.sseq += 1;
        g.seg(&self.h(true, self.cseq, ACK), b"", None)
    }

    /// Sends `data` in segments of at most `mss` bytes, each acknowledged.
    fn send(&mut self, g: &mut Gen, from_client: bool, data: &[u8], mss: usize) -> io::Result<()> {
        for chunk in data.chunks(mss.max(1)) {
            self.data(g, from_client, chunk, None)?;
        }
        self.ack(g, !from_client)
    }

    /// One data segment at the sender's next sequence number.
    fn data(
        &mut self,
        g: &mut Gen,
        from_client: bool,
        chunk: &[u8],
        urgent: Option<u16>,
    ) -> io::Result<()> {
        let seq = if from_client { self.cseq } else { self.sseq };
        g.seg(&self.h(from_client, seq, PSH | ACK), chunk, urgent)?;
        let next = seq.wrapping_add(chunk.len() as u32);
        if from_client {
            self.cseq = next;
        } else {
            self.sseq = next;
        }
        Ok(())
    }

    /// A pure acknowledgement from one side.
    fn ack(&self, g: &mut Gen, from_client: bool) -> io::Result<()> {
        let seq = if from_client { self.cseq } else { self.sseq };
        g.seg(&self.h(from_client, seq, ACK), b"", None)
    }

    fn close(&mut self, g: &mut Gen) -> io::Result<()> {
        g.seg(&self.h(true, self.cseq, FIN | ACK), b"", None)?;
        self.cseq += 1;
        g.seg(&self.h(false, self.sseq, FIN | ACK), b"", None)?;
        self.sseq += 1;
        g.seg(&self.h(true, self.cseq, ACK), b"", None)
    }
}

/// Ways of sending the message of an SMTP session that a receiving host
/// reassembles into the same stream (and Zeek, keeping the first copy of
/// every byte, too), except [`Evasion::LastWins`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evasion {
    /// Every segment once, in order.
    Clean,
    /// Every data segment followed by a copy of the same range with other
    /// content (a receiver keeping the first copy sees the clean stream).
    FirstWins,
    /// Every data segment preceded by a copy of the same range with other
    /// content: the first copy is the false one, so a reassembler keeping
    /// the first copy (Zeek, the sensor) sees the false stream.
    LastWins,
    /// Each pair of segments sent out of order, the later one buffered and
    /// then overlapped by a longer copy with other content over it.
    BufferedOverlap,
    /// Between the segments, junk far outside the receive window (1 GiB
    /// ahead, and 1 GiB behind).
    OutOfWindow,
    /// Every segment with URG set and an urgent pointer into its data
    /// (the data stays in the stream, as hosts and Zeek deliver it).
    Urgent,
    /// Before the message, an RST whose sequence number lies outside the
    /// window (a host ignores it), then the rest of the session.
    RstThenData,
}

impl Evasion {
    /// Every evasion, the clean stream first.
    pub const ALL: [Evasion; 7] = [
        Evasion::Clean,
        Evasion::FirstWins,
        Evasion::LastWins,
        Evasion::BufferedOverlap,
        Evasion::OutOfWindow,
        Evasion::Urgent,
        Evasion::RstThenData,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Evasion::Clean => "clean",
            Evasion::FirstWins => "first-wins",
            Evasion::LastWins => "last-wins",
            Evasion::BufferedOverlap => "buffered-overlap",
            Evasion::OutOfWindow => "out-of-window",
            Evasion::Urgent => "urgent",
            Evasion::RstThenData => "rst-then-data",
        }
    }
}

/// Bytes of `data` with every letter and digit replaced (same length, same
/// line structure, other content).
fn falsify(data: &[u8]) -> Vec<u8> {
    data.iter()
        .map(|&b| if b.is_ascii_alphanumeric() { b'Z' } else { b })
        .collect()
}

/// The start of an SMTP session up to the server's go-ahead for DATA:
/// handshake, banner, EHLO, MAIL, RCPT and DATA with their replies.
fn smtp_envelope(g: &mut Gen, cv: &mut Conv) -> io::Result<()> {
    cv.handshake(g)?;
    cv.send(g, false, b"220 mx.example.net ESMTP\r\n", 1448)?;
    for (cmd, reply) in [
        (
            &b"EHLO client.example.org\r\n"[..],
            &b"250 mx.example.net\r\n"[..],
        ),
        (b"MAIL FROM:<alice@example.org>\r\n", b"250 ok\r\n"),
        (b"RCPT TO:<bob@example.net>\r\n", b"250 ok\r\n"),
        (b"DATA\r\n", b"354 go ahead\r\n"),
    ] {
        cv.send(g, true, cmd, 1448)?;
        cv.send(g, false, reply, 1448)?;
    }
    Ok(())
}

/// One SMTP session sending `message` with `evasion` applied to the
/// client's message segments (1000 bytes each).
fn smtp_session(g: &mut Gen, i: u64, message: &[u8], evasion: Evasion) -> io::Result<()> {
    let mut cv = Conv::new(i, 25);
    smtp_envelope(g, &mut cv)?;
    if evasion == Evasion::RstThenData {
        let bogus = cv.cseq.wrapping_add(1 << 30);
        g.seg(&cv.h(true, bogus, RST | ACK), b"", None)?;
    }
    let chunks: Vec<&[u8]> = message.chunks(1000).collect();
    let mut k = 0;
    while k < chunks.len() {
        let chunk = chunks[k];
        match evasion {
            Evasion::Clean | Evasion::RstThenData => cv.data(g, true, chunk, None)?,
            Evasion::FirstWins => {
                let seq = cv.cseq;
                cv.data(g, true, chunk, None)?;
                g.seg(&cv.h(true, seq, PSH | ACK), &falsify(chunk), None)?;
            }
            Evasion::LastWins => {
                let seq = cv.cseq;
                g.seg(&cv.h(true, seq, PSH | ACK), &falsify(chunk), None)?;
                cv.data(g, true, chunk, None)?;
            }
            Evasion::BufferedOverlap if k + 1 < chunks.len() => {
                // The second segment first (buffered out of order), then
                // both as one segment whose second half is false.
                let seq = cv.cseq;
                let next = chunks[k + 1];
                let second = seq.wrapping_add(chunk.len() as u32);
                g.seg(&cv.h(true, second, PSH | ACK), next, None)?;
                let mut both = chunk.to_vec();
                both.extend_from_slice(&falsify(next));
                g.seg(&cv.h(true, seq, PSH | ACK), &both, None)?;
                cv.cseq = second.wrapping_add(next.len() as u32);
                k += 1;
            }
            Evasion::BufferedOverlap => cv.data(g, true, chunk, None)?,
            Evasion::OutOfWindow => {
                let ahead = cv.cseq.wrapping_add(1 << 30);
                let behind = cv.cseq.wrapping_sub(1 << 30);
                g.seg(&cv.h(true, ahead, PSH | ACK), &falsify(chunk), None)?;
                cv.data(g, true, chunk, None)?;
                g.seg(&cv.h(true, behind, PSH | ACK), &falsify(chunk), None)?;
            }
            Evasion::Urgent => {
                let ptr = (chunk.len() / 2) as u16;
                cv.data(g, true, chunk, Some(ptr))?;
            }
        }
        cv.ack(g, false)?;
        k += 1;
    }
    cv.send(g, true, b".\r\n", 1448)?;
    cv.send(g, false, b"250 queued\r\n", 1448)?;
    cv.send(g, true, b"QUIT\r\n", 1448)?;
    cv.send(g, false, b"221 bye\r\n", 1448)?;
    cv.close(g)
}

/// The message the evasion sessions carry: a text part and a base64
/// attachment (so smtp.log and files.log both depend on every byte).
pub fn evasion_message() -> Vec<u8> {
    crate::mail::message(3000, 12_000, 7)
}

/// Writes one SMTP session carrying [`evasion_message`] with `evasion`
/// to `path`; returns the packets written.
pub fn write_evasion(path: &Path, evasion: Evasion) -> io::Result<u64> {
    let mut g = Gen::create(path)?;
    smtp_session(&mut g, 1, &evasion_message(), evasion)?;
    g.finish()
}

fn syn_flood(g: &mut Gen, n: u64, ports: &[u16]) -> io::Result<()> {
    for i in 0..n {
        let cv = Conv::new(i, ports[(i % ports.len() as u64) as usize]);
        g.seg(&cv.h(true, 1_000_000 + i as u32, SYN), b"", None)?;
        g.ts -= 9_000;
    }
    Ok(())
}

fn smtp_half_open(g: &mut Gen, n: u64) -> io::Result<()> {
    for i in 0..n {
        let mut cv = Conv::new(i, 25);
        cv.handshake(g)?;
        cv.data(g, false, b"220 mx.example.net ESMTP\r\n", None)?;
        let ehlo = format!("EHLO attacker{i}.example.org\r\n");
        cv.data(g, true, ehlo.as_bytes(), None)?;
    }
    Ok(())
}

fn overlaps(g: &mut Gen, n: u64) -> io::Result<()> {
    let message = evasion_message();
    for i in 0..n {
        let e = Evasion::ALL[(i % Evasion::ALL.len() as u64) as usize];
        smtp_session(g, i, &message, e)?;
    }
    Ok(())
}

/// One SMTP session sending `body` (already dot-stuffed) as its message.
fn smtp_with_body(g: &mut Gen, i: u64, body: &[u8]) -> io::Result<()> {
    let mut cv = Conv::new(i, 25);
    smtp_envelope(g, &mut cv)?;
    for chunk in body.chunks(1448 * 8) {
        for seg in chunk.chunks(1448) {
            cv.data(g, true, seg, None)?;
        }
        cv.ack(g, false)?;
    }
    cv.send(g, true, b"\r\n.\r\n", 1448)?;
    cv.send(g, false, b"250 queued\r\n", 1448)?;
    cv.send(g, true, b"QUIT\r\n", 1448)?;
    cv.send(g, false, b"221 bye\r\n", 1448)?;
    cv.close(g)
}

const MIME_HEAD: &[u8] = b"From: <a@example.org>\r\nTo: <b@example.net>\r\nSubject: bomb\r\n\
                           MIME-Version: 1.0\r\n";

/// The MIME bombs, one SMTP session each: multiparts nested 10,000 deep,
/// `parts` parts, a header of `big` bytes, a line of `big` * 2 bytes
/// without an end, and `big` bytes of base64 that is not base64.
fn mime_bombs(g: &mut Gen, parts: u64, big: usize) -> io::Result<()> {
    // Nesting.
    let depth = 10_000;
    let mut m = MIME_HEAD.to_vec();
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n");
    for d in 0..depth {
        m.extend_from_slice(
            format!(
                "--n{d}\r\nContent-Type: multipart/mixed; boundary=\"n{}\"\r\n\r\n",
                d + 1
            )
            .as_bytes(),
        );
    }
    m.extend_from_slice(
        format!("--n{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n").as_bytes(),
    );
    for d in (0..=depth).rev() {
        m.extend_from_slice(format!("--n{d}--\r\n").as_bytes());
    }
    smtp_with_body(g, 1, &m)?;
    // Many parts.
    let mut m = MIME_HEAD.to_vec();
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n");
    for i in 0..parts {
        m.extend_from_slice(
            format!("--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n").as_bytes(),
        );
    }
    m.extend_from_slice(b"--p--\r\n");
    smtp_with_body(g, 2, &m)?;
    drop(m);
    // One header of `big` bytes, folded into 76-byte lines.
    let mut m = MIME_HEAD.to_vec();
    m.extend_from_slice(b"X-Big: start");
    while m.len() < big {
        m.extend_from_slice(
            b"\r\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        );
    }
    m.extend_from_slice(b"\r\nContent-Type: text/plain\r\n\r\nbody\r\n");
    smtp_with_body(g, 3, &m)?;
    // A line without an end.
    let mut m = MIME_HEAD.to_vec();
    m.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
    m.resize(m.len() + big * 2, b'x');
    smtp_with_body(g, 4, &m)?;
    // Base64 that is not: bytes outside the alphabet, in lines.
    let mut m = MIME_HEAD.to_vec();
    m.extend_from_slice(
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let mut rng = Rng::new(3);
    const JUNK: &[u8] = b"!#$%&*()[]{}<>?~^`|\\:;,\"' -_@ABCabc0123+/=";
    let end = m.len() + big;
    while m.len() < end {
        for _ in 0..76 {
            m.push(JUNK[rng.below(JUNK.len() as u64) as usize]);
        }
        m.extend_from_slice(b"\r\n");
    }
    smtp_with_body(g, 5, &m)
}

/// Handshake records of `body` split into records of at most 16 KiB.
fn records(ctype: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 16384 * 5 + 5);
    for c in body.chunks(16384) {
        out.extend(msg::record(ctype, 3, c));
    }
    out
}

/// A TLS 1.2 connection to 443: `hello` from the client, then a server
/// flight with `chain`; every TCP segment carries at most `mss` bytes.
fn tls_conn(g: &mut Gen, i: u64, hello: &[u8], chain: &[Vec<u8>], mss: usize) -> io::Result<()> {
    let mut rng = Rng::new(i);
    let mut cv = Conv::new(i, 443);
    cv.handshake(g)?;
    cv.send(g, true, hello, mss)?;
    // ServerHello: version, random, empty session id, suite, no compression.
    let mut sh = vec![3, 3];
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    sh.extend_from_slice(&random);
    sh.extend_from_slice(&[0, 0xc0, 0x2b, 0, 0, 0]);
    let mut flight = msg::handshake(2, &sh);
    let total: usize = chain.iter().map(|c| c.len() + 3).sum();
    let mut cert = Vec::with_capacity(total + 3);
    cert.extend_from_slice(&(total as u32).to_be_bytes()[1..]);
    for c in chain {
        cert.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        cert.extend_from_slice(c);
    }
    flight.extend(msg::handshake(11, &cert));
    flight.extend(msg::handshake(14, &[]));
    cv.send(g, false, &records(22, &flight), mss)?;
    cv.send(g, true, &msg::client_finish_12(&mut rng), mss)?;
    cv.send(g, false, &msg::server_finish_12(&mut rng), mss)?;
    cv.close(g)
}

/// A ClientHello with `n` extensions of unassigned types (empty bodies),
/// in records of at most 16 KiB.
fn hello_with_extensions(n: usize) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 2, 0xc0, 0x2b, 1, 0]);
    let len = n.min(16383) * 4;
    b.extend_from_slice(&(len as u16).to_be_bytes());
    for k in 0..n.min(16383) {
        b.extend_from_slice(&(0x4000 + k as u16).to_be_bytes());
        b.extend_from_slice(&[0, 0]);
    }
    records(22, &msg::handshake(1, &b))
}

/// A self-signed certificate of about `size` bytes (an extension of
/// unassigned type carries the bulk).
fn big_certificate(size: usize) -> Result<Vec<u8>> {
    let key = rcgen::KeyPair::generate().context("key for the large certificate")?;
    let mut p = rcgen::CertificateParams::new(vec!["big.example.net".to_string()])?;
    p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 99999, 1],
        vec![b'a'; size],
    )];
    Ok(p.self_signed(&key)?.der().to_vec())
}

fn tls_attacks(g: &mut Gen, conns: u64, pki: &Pki, big: &[u8]) -> io::Result<()> {
    let chain = &pki.chains[0].certs;
    let mut rng = Rng::new(9);
    let (normal_hello, _) = msg::client_hello(&mut rng, pki.chains[0].server_name, true);
    let long_chain: Vec<Vec<u8>> = (0..500).map(|k| chain[k % chain.len()].clone()).collect();
    let many_ext = hello_with_extensions(10_000);
    let big_chain = vec![big.to_vec(), chain[1].clone()];
    let mut i = 0;
    for _ in 0..conns {
        tls_conn(g, i, &normal_hello, &long_chain, 1448)?;
        tls_conn(g, i + 1, &normal_hello, &big_chain, 1448)?;
        tls_conn(g, i + 2, &many_ext, chain, 1448)?;
        tls_conn(g, i + 3, &normal_hello, chain, 1)?;
        i += 4;
    }
    Ok(())
}

/// What one attack (or the baseline) did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The attack's name.
    pub name: &'static str,
    /// What the capture holds.
    pub what: String,
    /// Packets of the capture.
    pub packets: u64,
    /// What `sensor read` used.
    pub usage: ChildUsage,
    /// Records of each log written (by file name without `.log`).
    pub logs: BTreeMap<String, u64>,
    /// weird.log records by name.
    pub weirds: BTreeMap<String, u64>,
    /// The last stats.log record's counters.
    pub stats: BTreeMap<String, u64>,
    /// Sum of conn.log's `missed_bytes`.
    pub conn_missed_bytes: u64,
    /// The peak RSS the attack may reach, KiB (0 for the baseline).
    pub bound_kib: u64,
    /// Where its logs are.
    pub log_dir: PathBuf,
    /// Frames sent on the live bed (`None`: read from a file).
    pub live_sent: Option<u64>,
}

impl Outcome {
    /// CPU seconds beyond the sensor's start and stop (`startup`: what
    /// a run on an empty capture took).
    pub fn cpu_beyond(&self, startup: &Outcome) -> f64 {
        (self.usage.cpu - startup.usage.cpu).max(0.0)
    }

    /// CPU nanoseconds per packet, start and stop excluded.
    pub fn cpu_ns_per_packet(&self, startup: &Outcome) -> f64 {
        self.cpu_beyond(startup) * 1e9 / self.packets.max(1) as f64
    }

    /// Whether peak RSS stayed within the bound.
    pub fn within_bound(&self) -> bool {
        self.bound_kib == 0 || self.usage.max_rss_kib <= self.bound_kib
    }

    /// The bound in MiB as a table cell ("-" when there is none).
    pub fn bound_cell(&self) -> String {
        if self.bound_kib == 0 {
            "-".to_string()
        } else {
            format!("{:.0}", self.bound_kib as f64 / 1024.0)
        }
    }

    /// A stats.log counter (0 when absent).
    pub fn stat(&self, name: &str) -> u64 {
        self.stats.get(name).copied().unwrap_or(0)
    }

    /// Records in `log` (0 when it was not written).
    pub fn records(&self, log: &str) -> u64 {
        self.logs.get(log).copied().unwrap_or(0)
    }

    /// What the sensor counted: the stats.log counters of what was cut,
    /// the records logged, and the weirds.
    pub fn counted(&self) -> String {
        let mut parts = Vec::new();
        for k in [
            "flows_evicted",
            "reassem_dropped_bytes",
            "missed_bytes",
            "records_dropped",
            "smtp_sessions_exhausted",
            "tls_sessions_exhausted",
            "mailbox_sessions_exhausted",
            "dpd_buffers_exhausted",
        ] {
            if self.stat(k) > 0 {
                parts.push(format!("{k} {}", self.stat(k)));
            }
        }
        for (log, n) in &self.logs {
            if log != "stats" && log != "weird" && log != "capture_loss" {
                parts.push(format!("{log}.log {n}"));
            }
        }
        for (w, n) in &self.weirds {
            parts.push(format!("weird {w} {n}"));
        }
        parts.join(", ")
    }
}

/// Options of an attack run.
#[derive(Clone, Debug)]
pub struct AttackOptions {
    /// The `sensor` binary.
    pub sensor: PathBuf,
    /// Where captures and logs go.
    pub dir: PathBuf,
    /// How large the attacks are.
    pub scale: Scale,
    /// Only these attacks (all when empty).
    pub only: Vec<String>,
    /// `--max-flows` of every run.
    pub max_flows: usize,
    /// Peak RSS allowed beyond the baseline's and the TLS handshake
    /// budget, KiB.
    pub slack_kib: u64,
    /// RSS one tracked connection may cost, KiB (`sensor-bench flows`
    /// measures 2.8-3.0 KB): the bound allows it for every flow of
    /// `max_flows`.
    pub per_flow_kib: u64,
    /// Divides every count and size of the scale (1: as stated; the test
    /// suite, running a debug build, uses 10).
    pub shrink: u64,
    /// SYNs of the SYN flood instead of the scale's count.
    pub syn_flows: Option<u64>,
}

impl AttackOptions {
    /// Defaults for `scale`: a flow table smaller than the small SYN
    /// flood (so it must evict), the sensor's default at full scale.
    pub fn new(sensor: PathBuf, dir: PathBuf, scale: Scale) -> AttackOptions {
        AttackOptions {
            sensor,
            dir,
            scale,
            only: Vec::new(),
            max_flows: match scale {
                Scale::Small => 32_768,
                Scale::Full => 262_144,
            },
            slack_kib: 64 << 10,
            per_flow_kib: 3,
            shrink: 1,
            syn_flows: None,
        }
    }
}

impl AttackOptions {
    /// The peak RSS an attack may reach, KiB: the baseline's peak plus
    /// what the limits let grow (a flow table entry for each of
    /// `max_flows`, the TLS handshake budget) plus the slack.
    pub fn bound_kib(&self, baseline: &Outcome) -> u64 {
        baseline.usage.max_rss_kib
            + self.max_flows as u64 * self.per_flow_kib
            + TLS_BUDGET_KIB
            + self.slack_kib
    }

    /// Whether attack `name` is selected.
    fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// The attacks by name, with what each capture holds at `scale`.
pub fn attack_names() -> [&'static str; 5] {
    [
        "syn-flood",
        "smtp-half-open",
        "tcp-overlap",
        "mime-bombs",
        "tls",
    ]
}

/// The TLS handshake budget the sensor is configured with (its default).
const TLS_BUDGET_KIB: u64 = 64 << 10;

fn write_attack(name: &str, path: &Path, a: &AttackOptions, pki: &Pki) -> Result<(u64, String)> {
    let full = a.scale == Scale::Full;
    let k = a.shrink.max(1);
    let mut g = Gen::create(path)?;
    let what = match name {
        "syn-flood" => {
            let n = a
                .syn_flows
                .unwrap_or(if full { 10_000_000 } else { 100_000 } / k);
            syn_flood(&mut g, n, &[25, 443, 80, 587])?;
            format!("{n} SYNs, each a new flow")
        }
        "port-flood" => {
            let n = if full { 2_000_000 } else { 200_000 } / k;
            // On the live bed the XDP program passes these to the host.
            syn_flood(&mut g, n, &[80, 8080, 22])?;
            format!("{n} SYNs from distinct sources to ports 80, 8080 and 22 (not watched)")
        }
        "smtp-half-open" => {
            let n = if full { 1_000_000 } else { 20_000 } / k;
            smtp_half_open(&mut g, n)?;
            format!("{n} SMTP sessions: handshake, banner, EHLO, silence")
        }
        "tcp-overlap" => {
            let n = if full { 14_000 } else { 700 } / k;
            overlaps(&mut g, n)?;
            format!(
                "{n} SMTP sessions with a 20 KB message, in turn clean, first-wins and \
                 last-wins overlaps, buffered overlap, out-of-window data, urgent data, \
                 RST then data"
            )
        }
        "mime-bombs" => {
            let (parts, big) = if full {
                (1_000_000, 16 << 20)
            } else {
                (100_000, 4 << 20)
            };
            let (parts, big) = (parts / k, big / k as usize);
            mime_bombs(&mut g, parts, big)?;
            format!(
                "5 messages: multiparts nested 10,000 deep, {parts} parts, a {:.1} MB header, \
                 a {:.1} MB line without an end, {:.1} MB of invalid base64",
                big as f64 / 1048576.0,
                big as f64 / 524288.0,
                big as f64 / 1048576.0
            )
        }
        "tls" => {
            let conns = (if full { 250 } else { 25 } / k).max(1);
            let big = big_certificate(1 << 20)?;
            tls_attacks(&mut g, conns, pki, &big)?;
            format!(
                "{} TLS 1.2 connections: 500-certificate chains, 1 MB certificates, \
                 ClientHellos with 10,000 extensions, handshakes one byte per segment",
                conns * 4
            )
        }
        "startup" => "an empty capture: what starting and stopping costs".to_string(),
        "baseline" => {
            drop(g);
            let sessions = if full { 20_000 } else { 2_000 } / k;
            let opts = crate::gen::GenOptions {
                sessions: Some(sessions),
                ..Default::default()
            };
            let s = crate::gen::generate(File::create(path)?, &opts, pki)?;
            return Ok((
                s.packets,
                format!(
                    "normal traffic: {} mixed mail, TLS and background connections",
                    sessions
                ),
            ));
        }
        other => anyhow::bail!("unknown attack {other}"),
    };
    Ok((g.finish()?, what))
}

/// Reads a JSON log: records as objects.
fn json_records(path: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}

fn read_logs(o: &mut Outcome) -> Result<()> {
    for e in std::fs::read_dir(&o.log_dir)? {
        let p = e?.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(log) = name.strip_suffix(".log") {
            // Streamed, so that this process stays small (its peak would
            // otherwise show in the next child's ru_maxrss).
            let mut f = File::open(&p)?;
            let mut buf = vec![0u8; 1 << 16];
            let mut n = 0u64;
            loop {
                let k = f.read(&mut buf)?;
                if k == 0 {
                    break;
                }
                n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
            }
            o.logs.insert(log.to_string(), n);
        }
    }
    for w in json_records(&o.log_dir.join("weird.log")) {
        if let Some(n) = w.get("name").and_then(|v| v.as_str()) {
            *o.weirds.entry(n.to_string()).or_default() += 1;
        }
    }
    if let Some(last) = json_records(&o.log_dir.join("stats.log")).pop() {
        for (k, v) in last {
            if let Some(n) = v.as_u64() {
                o.stats.insert(k, n);
            }
        }
    }
    let conn = File::open(o.log_dir.join("conn.log")).map(io::BufReader::new);
    for l in conn
        .into_iter()
        .flat_map(|r| r.lines())
        .map_while(|l| l.ok())
    {
        if let Some(i) = l.find("\"missed_bytes\":") {
            let rest = &l[i + 15..];
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            o.conn_missed_bytes += rest[..end].parse::<u64>().unwrap_or(0);
        }
    }
    Ok(())
}

fn run_one(a: &AttackOptions, name: &'static str, pki: &Pki, bound_kib: u64) -> Result<Outcome> {
    let pcap = a.dir.join(format!("{name}.pcap"));
    let (packets, what) =
        write_attack(name, &pcap, a, pki).with_context(|| format!("writing the {name} capture"))?;
    let log_dir = a.dir.join(name);
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir)?;
    let usage = run_child(
        Command::new(&a.sensor)
            .arg("read")
            .arg(&pcap)
            .arg("--log-dir")
            .arg(&log_dir)
            .args(["--seed", "1", "-q", "--max-flows"])
            .arg(a.max_flows.to_string())
            .stdout(Stdio::null()),
    )
    .with_context(|| format!("sensor read of the {name} capture"))?;
    let _ = std::fs::remove_file(&pcap);
    let mut o = Outcome {
        name,
        what,
        packets,
        usage,
        logs: BTreeMap::new(),
        weirds: BTreeMap::new(),
        stats: BTreeMap::new(),
        conn_missed_bytes: 0,
        bound_kib,
        log_dir,
        live_sent: None,
    };
    read_logs(&mut o)?;
    Ok(o)
}

/// Runs an empty capture, the baseline and then every attack (or those
/// of `a.only`), returning them in that order. Fails only if a capture cannot be
/// written or the sensor fails; bounds are checked by the caller with
/// [`Outcome::within_bound`].
pub fn run(a: &AttackOptions) -> Result<Vec<Outcome>> {
    std::fs::create_dir_all(&a.dir)?;
    let pki = Pki::generate()?;
    let empty = run_one(a, "startup", &pki, 0)?;
    let base = run_one(a, "baseline", &pki, 0)?;
    let bound = a.bound_kib(&base);
    let mut out = vec![empty, base];
    for name in attack_names() {
        if a.selected(name) {
            out.push(run_one(a, name, &pki, bound)?);
        }
    }
    Ok(out)
}

/// The outcomes as a Markdown table.
pub fn markdown(a: &AttackOptions, outcomes: &[Outcome], cmd: &str) -> String {
    let (Some(empty), Some(base)) = (outcomes.first(), outcomes.get(1)) else {
        return String::new();
    };
    let base = base.cpu_ns_per_packet(empty);
    let mut s = format!(
        "`{cmd}`\n\n| attack | packets | peak RSS (MiB) | bound (MiB) | CPU/packet (ns) | × baseline | what was counted |\n\
         |---|---:|---:|---:|---:|---:|---|\n"
    );
    for o in &outcomes[1..] {
        s.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.0} | {:.1} | {} |\n",
            o.name,
            o.packets,
            o.usage.max_rss_kib as f64 / 1024.0,
            o.bound_cell(),
            o.cpu_ns_per_packet(empty),
            o.cpu_ns_per_packet(empty) / base.max(1e-9),
            o.counted()
        ));
    }
    s.push_str(&format!(
        "\nCPU per packet leaves out what a run on an empty capture took ({:.3} s CPU, peak RSS \
         {:.0} MiB: the preallocated tables and pools). The bound is the baseline's peak RSS plus \
         {} KiB for each of the {} connections the flow table may hold (--max-flows) plus the TLS \
         handshake budget ({} MiB) plus {} MiB.\n\n",
        empty.usage.cpu,
        empty.usage.max_rss_kib as f64 / 1024.0,
        a.per_flow_kib,
        a.max_flows,
        TLS_BUDGET_KIB >> 10,
        a.slack_kib >> 10
    ));
    for o in &outcomes[1..] {
        s.push_str(&format!("- {}: {}\n", o.name, o.what));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_segments_keep_a_valid_checksum() {
        let h = TcpFields {
            src: [10, 0, 0, 1],
            sport: 4000,
            dst: [10, 0, 0, 2],
            dport: 25,
            seq: 7,
            ack: 9,
            flags: PSH | ACK,
            window: 100,
        };
        let mut f = vec![0u8; TCP_HDR];
        f.extend_from_slice(b"hello");
        finish_tcp(&mut f, &h, 0);
        let want = f[34 + 16..34 + 18].to_vec();
        tcp_checksum(&mut f, h.src, h.dst);
        assert_eq!(f[34 + 16..34 + 18], want[..]);
    }

    #[test]
    fn falsified_copies_differ_with_the_same_shape() {
        let m = evasion_message();
        let f = falsify(&m);
        assert_eq!(f.len(), m.len());
        assert_ne!(f, m);
        assert_eq!(
            f.iter().filter(|&&b| b == b'\n').count(),
            m.iter().filter(|&&b| b == b'\n').count()
        );
    }
}
