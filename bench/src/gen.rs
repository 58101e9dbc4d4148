//! Realistic mixed traffic, streamed to a pcap: SMTP (EHLO, AUTH, several
//! recipients, pipelining, DATA and BDAT, MIME multipart with base64 and
//! quoted-printable attachments, STARTTLS), implicit-TLS mail (465, 993,
//! 995) and HTTPS with TLS 1.2 and TLS 1.3 handshakes carrying real
//! certificate chains and then encrypted data, POP3 and IMAP (plain and
//! STLS/STARTTLS), and background traffic (bulk TCP on ports 22 and 80,
//! DNS over UDP).
//!
//! Many connections run at once (`concurrency`), interleaved burst by
//! burst: a sender sends at most `window` segments of at most `mss` bytes,
//! then waits for the receiver's ACK. Data segments can be dropped from the
//! capture (`loss`: the receiver still acknowledges them, as when a capture
//! misses packets), swapped with the next one (`reorder`) or sent twice
//! (`retransmit`: the copy follows the rest of the burst).
//!
//! Everything is generated lazily from a seeded generator and written as it
//! is made: memory stays proportional to the number of open connections,
//! whatever the size of the capture. The [`Summary`] says what was written
//! and how many records each Zeek log of the capture should hold.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;

use crate::certs::Pki;
use crate::mail::Rng;
use crate::pcapw::{finish_tcp, finish_udp, PcapWriter, TcpFields, TCP_HDR, UDP_HDR};
use crate::tls::msg;

/// Parses a size: a number with an optional unit (`K`/`KB`, `M`/`MB`,
/// `G`/`GB` in powers of 1000; `KiB`, `MiB`, `GiB` in powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 100MB, 2GB, 64KiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "'{s}' has an unknown unit (B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    Ok((n * mult) as u64)
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Stop starting connections once the capture holds this many bytes
    /// (open connections are completed).
    pub size: Option<u64>,
    /// Stop after this many connections (whichever limit comes first).
    pub sessions: Option<u64>,
    /// Connections open at once.
    pub concurrency: usize,
    /// Largest TCP payload per segment.
    pub mss: usize,
    /// Segments a sender sends before waiting for an ACK.
    pub window: usize,
    /// Probability that a data segment is missing from the capture.
    pub loss: f64,
    /// Probability that a data segment is swapped with the next one.
    pub reorder: f64,
    /// Probability that a data segment is sent twice.
    pub retransmit: f64,
    /// Share of payload bytes in background traffic (bulk TCP, DNS).
    pub background: f64,
    /// Share of TLS handshakes that are TLS 1.3.
    pub tls13: f64,
    /// Mean size of a base64 attachment (raw bytes); sizes vary from a
    /// quarter to 1.75 times this.
    pub attachment: usize,
    /// Mean size of a quoted-printable text part.
    pub text: usize,
    /// Mean bytes of encrypted data per TLS connection.
    pub tls_volume: usize,
    /// Mean bytes of a background bulk transfer.
    pub bulk_volume: usize,
    /// Offered load the timestamps follow, in bit/s.
    pub rate_bps: f64,
    /// Timestamp of the first packet (ns since the epoch).
    pub t0: u64,
    /// Only these kinds of mail and TLS connection, in their usual
    /// proportions (all when empty).
    pub kinds: Vec<Kind>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            size: None,
            sessions: None,
            concurrency: 200,
            mss: 1448,
            window: 10,
            loss: 0.0,
            reorder: 0.0,
            retransmit: 0.0,
            background: 0.2,
            tls13: 0.5,
            attachment: 32 << 10,
            text: 4 << 10,
            tls_volume: 64 << 10,
            bulk_volume: 512 << 10,
            rate_bps: 1e9,
            t0: 1_767_261_600_000_000_000,
            kinds: Vec::new(),
        }
    }
}

/// The kinds of connection the generator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// SMTP on 25 or 587 in clear, with mail transactions.
    Smtp,
    /// SMTP on 25 or 587 that switches to TLS with STARTTLS.
    SmtpStartTls,
    /// SMTP over TLS on 465.
    Smtps,
    /// HTTPS on 443.
    Https,
    /// IMAP on 143 in clear, fetching messages.
    Imap,
    /// IMAP on 143 switching to TLS with STARTTLS.
    ImapStartTls,
    /// IMAP over TLS on 993.
    Imaps,
    /// POP3 on 110 in clear, retrieving messages.
    Pop3,
    /// POP3 on 110 switching to TLS with STLS.
    Pop3Stls,
    /// POP3 over TLS on 995.
    Pop3s,
    /// Bulk TCP transfer (SSH on 22 or HTTP on 80).
    Bulk,
    /// A DNS query and answer over UDP.
    Dns,
}

impl Kind {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Smtp => "smtp",
            Kind::SmtpStartTls => "smtp-starttls",
            Kind::Smtps => "smtps",
            Kind::Https => "https",
            Kind::Imap => "imap",
            Kind::ImapStartTls => "imap-starttls",
            Kind::Imaps => "imaps",
            Kind::Pop3 => "pop3",
            Kind::Pop3Stls => "pop3-stls",
            Kind::Pop3s => "pop3s",
            Kind::Bulk => "bulk",
            Kind::Dns => "dns",
        }
    }

    /// The kind named `name` (see [`Kind::name`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Smtp,
            Kind::SmtpStartTls,
            Kind::Smtps,
            Kind::Https,
            Kind::Imap,
            Kind::ImapStartTls,
            Kind::Imaps,
            Kind::Pop3,
            Kind::Pop3Stls,
            Kind::Pop3s,
            Kind::Bulk,
            Kind::Dns,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The conn.log `service` the sensor should write.
    pub fn service(self) -> &'static str {
        match self {
            Kind::Smtp => "smtp",
            Kind::SmtpStartTls => "smtp,ssl",
            Kind::Smtps | Kind::Https | Kind::Imaps | Kind::Pop3s => "ssl",
            // Zeek's IMAP grammar reads every server line as a tagged
            // token, literals included: the folded `Received:` line of a
            // FETCHed message (it starts with a tab) is a violation, which
            // removes the confirmed IMAP analyzer and its service.
            Kind::Imap => "",
            Kind::ImapStartTls => "imap,ssl",
            Kind::Pop3 => "pop3",
            Kind::Pop3Stls => "pop3,ssl",
            Kind::Bulk | Kind::Dns => "",
        }
    }
}

/// Mail and TLS kinds and their weights among non-background connections.
const MIX: &[(Kind, u32)] = &[
    (Kind::Smtp, 30),
    (Kind::SmtpStartTls, 10),
    (Kind::Smtps, 5),
    (Kind::Https, 25),
    (Kind::Imap, 4),
    (Kind::ImapStartTls, 4),
    (Kind::Imaps, 6),
    (Kind::Pop3, 4),
    (Kind::Pop3Stls, 4),
    (Kind::Pop3s, 4),
];

/// What a generated capture holds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Frames written.
    pub packets: u64,
    /// Bytes of the pcap file.
    pub bytes: u64,
    /// Timestamp of the first and the last packet (ns).
    pub first_ts: u64,
    /// Timestamp of the last packet (ns).
    pub last_ts: u64,
    /// Connections by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Connections by the conn.log service expected ("" for none).
    pub services: BTreeMap<&'static str, u64>,
    /// conn.log records expected (one per connection).
    pub conn: u64,
    /// smtp.log records expected (one per mail transaction, one per
    /// STARTTLS session).
    pub smtp: u64,
    /// files.log records expected (one per MIME part of SMTP mail; one per
    /// message fetched by POP3/IMAP and one per part of it).
    pub files: u64,
    /// ssl.log records expected (one per TLS handshake).
    pub ssl: u64,
    /// Of which TLS 1.3.
    pub ssl_tls13: u64,
    /// x509.log records expected (distinct certificates seen in clear).
    pub x509: u64,
    /// notice.log records expected (cleartext SMTP AUTH, POP3 PASS, IMAP
    /// LOGIN).
    pub notice: u64,
    /// pop3.log records expected (one per POP3 session).
    pub pop3: u64,
    /// imap.log records expected (one per IMAP session).
    pub imap: u64,
    /// Mail messages carried in clear (SMTP, POP3 RETR, IMAP FETCH).
    pub messages: u64,
    /// Payload bytes of mail and TLS connections.
    pub payload_bytes: u64,
    /// Payload bytes of background connections.
    pub background_bytes: u64,
    /// Data segments left out of the capture.
    pub lost: u64,
    /// Data segments swapped with the next.
    pub reordered: u64,
    /// Data segments written twice.
    pub retransmitted: u64,
}

impl Summary {
    /// The summary as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "packets": self.packets,
            "bytes": self.bytes,
            "first_ts_ns": self.first_ts,
            "last_ts_ns": self.last_ts,
            "connections_by_kind": self.kinds,
            "connections_by_service": self.services,
            "expected_records": {
                "conn": self.conn,
                "smtp": self.smtp,
                "files": self.files,
                "ssl": self.ssl,
                "x509": self.x509,
                "notice": self.notice,
                "pop3": self.pop3,
                "imap": self.imap,
            },
            "ssl_tls13": self.ssl_tls13,
            "messages_in_clear": self.messages,
            "payload_bytes": self.payload_bytes,
            "background_bytes": self.background_bytes,
            "segments_lost": self.lost,
            "segments_reordered": self.reordered,
            "segments_retransmitted": self.retransmitted,
        })
    }
}

// ---------------------------------------------------------------------------
// Lazily generated content.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Bytes of the base64 encoding (76-character lines ended by CRLF) of `n`
/// bytes.
pub fn base64_len(n: usize) -> usize {
    let full = n / 57;
    let rest = n % 57;
    full * 78
        + if rest > 0 {
            rest.div_ceil(3) * 4 + 2
        } else {
            0
        }
}

enum Gen {
    /// Fixed bytes (already in the buffer).
    Lit,
    /// Base64 lines of `left` raw bytes, the first ones from `magic`.
    Base64 {
        magic: &'static [u8],
        left: usize,
        rng: Rng,
    },
    /// Quoted-printable text of exactly `left` bytes.
    Qp { left: usize, rng: Rng },
    /// Random bytes.
    Random { left: usize, rng: Rng },
    /// TLS application-data records carrying `left` bytes of ciphertext.
    TlsApp { left: usize, rng: Rng },
}

/// One lazily generated stretch of a byte stream.
pub struct Piece {
    gen: Gen,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl Piece {
    /// Fixed bytes.
    pub fn lit(b: impl Into<Vec<u8>>) -> Piece {
        let buf = b.into();
        Piece {
            len: buf.len(),
            gen: Gen::Lit,
            buf,
            pos: 0,
        }
    }

    /// The base64 encoding of `raw` bytes that start with `magic` and go on
    /// randomly.
    pub fn base64(magic: &'static [u8], raw: usize, rng: Rng) -> Piece {
        Piece {
            len: base64_len(raw),
            gen: Gen::Base64 {
                magic,
                left: raw,
                rng,
            },
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Quoted-printable text of exactly `len` bytes (at least 2), ending
    /// with CRLF.
    pub fn qp(len: usize, rng: Rng) -> Piece {
        let len = len.max(2);
        Piece {
            len,
            gen: Gen::Qp { left: len, rng },
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// `len` random bytes.
    pub fn random(len: usize, rng: Rng) -> Piece {
        Piece {
            len,
            gen: Gen::Random { left: len, rng },
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// TLS 1.2/1.3 application-data records carrying `len` bytes of
    /// ciphertext (plus record headers).
    pub fn tls_app(len: usize, rng: Rng) -> Piece {
        let records = len.div_ceil(16384 + 17);
        Piece {
            len: len + records * 5,
            gen: Gen::TlsApp { left: len, rng },
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Bytes this piece produces in all.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the piece produces nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn refill(&mut self) -> bool {
        self.buf.clear();
        self.pos = 0;
        match &mut self.gen {
            Gen::Lit => false,
            Gen::Base64 { magic, left, rng } => {
                if *left == 0 {
                    return false;
                }
                let n = (*left).min(57);
                let mut raw = [0u8; 57];
                rng.fill(&mut raw[..n]);
                let m = magic.len().min(n);
                raw[..m].copy_from_slice(&magic[..m]);
                *magic = &magic[m..];
                *left -= n;
                for c in raw[..n].chunks(3) {
                    let v = (c[0] as u32) << 16
                        | (*c.get(1).unwrap_or(&0) as u32) << 8
                        | *c.get(2).unwrap_or(&0) as u32;
                    self.buf.push(B64[(v >> 18) as usize & 63]);
                    self.buf.push(B64[(v >> 12) as usize & 63]);
                    self.buf.push(if c.len() > 1 {
                        B64[(v >> 6) as usize & 63]
                    } else {
                        b'='
                    });
                    self.buf.push(if c.len() > 2 {
                        B64[v as usize & 63]
                    } else {
                        b'='
                    });
                }
                self.buf.extend_from_slice(b"\r\n");
                true
            }
            Gen::Qp { left, rng } => {
                if *left == 0 {
                    return false;
                }
                const WORDS: &[&[u8]] = &[
                    b"invoice",
                    b"meeting",
                    b"quarterly",
                    b"r=C3=A9sum=C3=A9",
                    b"a=3Db",
                    b"report",
                    b"schedule",
                    b"attached",
                    b"please",
                    b"review",
                    b"Gr=C3=BC=C3=9Fe",
                    b"budget",
                ];
                if *left > 78 {
                    let mut col = 0;
                    loop {
                        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
                        if col + w.len() + 1 > 70 {
                            break;
                        }
                        self.buf.extend_from_slice(w);
                        self.buf.push(b' ');
                        col += w.len() + 1;
                    }
                    if rng.below(2) == 0 {
                        self.buf.extend_from_slice(b"=\r\n");
                    } else {
                        self.buf.extend_from_slice(b"\r\n");
                    }
                } else {
                    self.buf.resize(*left - 2, b'z');
                    self.buf.extend_from_slice(b"\r\n");
                }
                *left -= self.buf.len();
                true
            }
            Gen::Random { left, rng } => {
                if *left == 0 {
                    return false;
                }
                let n = (*left).min(16384);
                self.buf.resize(n, 0);
                rng.fill(&mut self.buf);
                *left -= n;
                true
            }
            Gen::TlsApp { left, rng } => {
                if *left == 0 {
                    return false;
                }
                let n = (*left).min(16384 + 17);
                self.buf.extend_from_slice(&[23, 3, 3]);
                self.buf.extend_from_slice(&(n as u16).to_be_bytes());
                self.buf.resize(5 + n, 0);
                rng.fill(&mut self.buf[5..]);
                *left -= n;
                true
            }
        }
    }

    /// Appends up to `max` bytes to `out`; returns how many (0: done).
    pub fn pull(&mut self, out: &mut Vec<u8>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            if self.pos == self.buf.len() && !self.refill() {
                break;
            }
            let k = (self.buf.len() - self.pos).min(max - n);
            out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            n += k;
        }
        n
    }
}

/// A byte stream made of pieces.
#[derive(Default)]
pub struct Stream {
    pieces: VecDeque<Piece>,
    len: usize,
}

impl Stream {
    /// Appends a piece.
    pub fn push(&mut self, p: Piece) {
        self.len += p.len();
        self.pieces.push_back(p);
    }

    /// Appends fixed bytes.
    pub fn lit(&mut self, b: impl Into<Vec<u8>>) {
        self.push(Piece::lit(b));
    }

    /// Bytes this stream produces in all.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stream produces nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends up to `max` bytes to `out`; returns how many.
    pub fn pull(&mut self, out: &mut Vec<u8>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(p) = self.pieces.front_mut() else {
                break;
            };
            let k = p.pull(out, max - n);
            if k == 0 {
                self.pieces.pop_front();
            }
            n += k;
        }
        n
    }
}

/// One MIME message, generated as it is sent.
pub struct Message {
    /// The message bytes (headers and body, lines ended by CRLF, none
    /// starting with a dot).
    pub stream: Stream,
    /// Parts with content (files.log records).
    pub parts: u64,
}

/// A multipart/mixed message from `from` to `to`: a quoted-printable text
/// part of about `text` bytes, then `attachments` base64 attachments (PDF,
/// PNG or ZIP headed random content) of about `attachment` bytes each, and
/// sometimes a quoted-printable CSV attachment.
pub fn message(rng: &mut Rng, id: u64, from: &str, to: &[String], o: &GenOptions) -> Message {
    let mut s = Stream::default();
    let boundary = format!("=_part_{id:016x}");
    let mut h = format!(
        "Received: from client{n}.example.org (client{n}.example.org [10.1.0.{n}])\r\n\
         \tby mx.example.net (Postfix) with ESMTPS id {id:X}\r\n\
         \tfor <{first}>; Thu, 1 Jan 2026 10:00:00 +0000\r\n\
         From: {from}\r\nTo: {to}\r\nSubject: Quarterly figures #{id}\r\n\
         Date: Thu, 1 Jan 2026 10:00:00 +0000\r\nMessage-ID: <{id:x}.bench@example.org>\r\n\
         User-Agent: Bench Mailer 1.0\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\r\n",
        n = id % 250 + 1,
        first = to.first().map(String::as_str).unwrap_or("bob@example.net"),
        to = to.join(", "),
    );
    h.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ));
    s.lit(h);
    let vary =
        |rng: &mut Rng, mean: usize| rng.range(mean as u64 / 4, mean as u64 * 7 / 4) as usize;
    let text = vary(rng, o.text).max(2);
    s.push(Piece::qp(text, rng.fork()));
    let mut parts = 1;
    const TYPES: &[(&str, &str, &[u8])] = &[
        ("application/pdf", "pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("image/png", "png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        ("application/zip", "zip", b"PK\x03\x04\x14\0\0\0\x08\0"),
    ];
    let attachments = rng.below(3);
    for a in 0..attachments {
        let (ctype, ext, magic) = TYPES[rng.below(TYPES.len() as u64) as usize];
        s.lit(format!(
            "--{boundary}\r\nContent-Type: {ctype}; name=\"document-{id}-{a}.{ext}\"\r\n\
             Content-Disposition: attachment; filename=\"document-{id}-{a}.{ext}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        let raw = vary(rng, o.attachment).max(magic.len());
        s.push(Piece::base64(magic, raw, rng.fork()));
        parts += 1;
    }
    if rng.below(4) == 0 {
        s.lit(format!(
            "--{boundary}\r\nContent-Type: text/csv; charset=utf-8; name=\"figures-{id}.csv\"\r\n\
             Content-Disposition: attachment; filename=\"figures-{id}.csv\"\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ));
        s.push(Piece::qp(vary(rng, o.text).max(2), rng.fork()));
        parts += 1;
    }
    s.lit(format!("--{boundary}--\r\n"));
    Message { stream: s, parts }
}

// ---------------------------------------------------------------------------
// Sessions: the turns of a dialogue.

/// Where the bytes of a turn come from.
enum Part {
    Piece(Piece),
    /// The next `n` bytes of the session's message number `msg`.
    Msg {
        msg: usize,
        n: usize,
    },
}

/// Bytes one side sends before the other answers.
struct Turn {
    client: bool,
    parts: VecDeque<Part>,
}

/// A dialogue and what it should make the sensor log.
struct Script {
    turns: VecDeque<Turn>,
    msgs: Vec<Stream>,
    smtp: u64,
    files: u64,
    ssl: u64,
    tls13: u64,
    notice: u64,
    messages: u64,
    pop3: u64,
    imap: u64,
    /// Indexes (into the chains) of certificates sent in clear.
    certs: Vec<usize>,
}

impl Script {
    /// Payload bytes of the whole dialogue.
    fn total(&self) -> usize {
        self.turns
            .iter()
            .flat_map(|t| t.parts.iter())
            .map(|p| match p {
                Part::Piece(p) => p.len(),
                Part::Msg { n, .. } => *n,
            })
            .sum()
    }

    fn new() -> Self {
        Script {
            turns: VecDeque::new(),
            msgs: Vec::new(),
            smtp: 0,
            files: 0,
            ssl: 0,
            tls13: 0,
            notice: 0,
            messages: 0,
            pop3: 0,
            imap: 0,
            certs: Vec::new(),
        }
    }

    fn push(&mut self, client: bool, p: Part) {
        match self.turns.back_mut() {
            Some(t) if t.client == client => t.parts.push_back(p),
            _ => self.turns.push_back(Turn {
                client,
                parts: VecDeque::from([p]),
            }),
        }
    }

    fn c(&mut self, b: impl Into<Vec<u8>>) {
        self.push(true, Part::Piece(Piece::lit(b)));
    }

    fn s(&mut self, b: impl Into<Vec<u8>>) {
        self.push(false, Part::Piece(Piece::lit(b)));
    }

    /// Adds a message sent by SMTP (`smtp`: its parts are files.log
    /// records) or fetched by POP3/IMAP (the message is a file too, parent
    /// of its parts).
    fn add_msg(&mut self, m: Message, smtp: bool) -> (usize, usize) {
        self.files += m.parts;
        if !smtp {
            self.files += 1;
        }
        self.messages += 1;
        let len = m.stream.len();
        self.msgs.push(m.stream);
        (self.msgs.len() - 1, len)
    }

    /// A TLS handshake for `server`, then `exchanges` request/response
    /// pairs of encrypted data, `up` and `down` bytes in all.
    #[allow(clippy::too_many_arguments)]
    fn tls(
        &mut self,
        rng: &mut Rng,
        pki: &Pki,
        server: &str,
        alpn: bool,
        tls13: bool,
        up: usize,
        down: usize,
        exchanges: usize,
    ) {
        let chain_idx = pki
            .chains
            .iter()
            .position(|c| c.server_name == server)
            .unwrap_or(0);
        let chain = &pki.chains[chain_idx];
        let (ch, hello) = msg::client_hello(rng, server, alpn);
        self.c(ch);
        if tls13 {
            let suite = msg::TLS13_SUITES[rng.below(msg::TLS13_SUITES.len() as u64) as usize];
            let chain_len = chain.certs.iter().map(Vec::len).sum();
            self.s(msg::server_flight_13(rng, &hello, suite, chain_len));
            self.c(msg::client_finish_13(rng));
            self.tls13 += 1;
        } else {
            let suite = msg::TLS12_SUITES[rng.below(msg::TLS12_SUITES.len() as u64) as usize];
            self.s(msg::server_flight_12(rng, &hello, suite, &chain.certs));
            self.c(msg::client_finish_12(rng));
            self.s(msg::server_finish_12(rng));
            self.certs.push(chain_idx);
        }
        self.ssl += 1;
        let k = exchanges.max(1);
        for _ in 0..k {
            self.push(
                true,
                Part::Piece(Piece::tls_app((up / k).max(40), rng.fork())),
            );
            self.push(
                false,
                Part::Piece(Piece::tls_app((down / k).max(40), rng.fork())),
            );
        }
    }
}

fn vary(rng: &mut Rng, mean: usize) -> usize {
    rng.range(mean as u64 / 4, mean as u64 * 7 / 4) as usize
}

const EHLO_REPLY: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
     250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n\
     250-8BITMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";

fn smtp(rng: &mut Rng, pki: &Pki, id: u64, starttls: bool, o: &GenOptions) -> Script {
    let mut s = Script::new();
    s.s("220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n");
    s.c(format!("EHLO client{}.example.org\r\n", id % 250 + 1));
    s.s(EHLO_REPLY);
    if starttls {
        s.c("STARTTLS\r\n");
        s.s("220 2.0.0 Ready to start TLS\r\n");
        let tls13 = rng.chance(o.tls13);
        let up = vary(rng, o.attachment * 2);
        s.tls(rng, pki, "mail.example.net", false, tls13, up, 1200, 4);
        s.smtp += 1;
        return s;
    }
    let user = format!("user{}", id % 997);
    if rng.below(3) == 0 {
        let cred = crate::mail::base64_lines(format!("\0{user}\0secret{id}").as_bytes());
        let mut cmd = b"AUTH PLAIN ".to_vec();
        cmd.extend_from_slice(&cred);
        s.c(cmd);
        s.s("235 2.7.0 Authentication successful\r\n");
        s.notice += 1;
    }
    let pipelining = rng.below(4) != 0;
    let transactions = rng.range(1, 3);
    for _ in 0..transactions {
        let from = format!("{user}@example.org");
        let rcpts: Vec<String> = (0..rng.range(1, 4))
            .map(|i| format!("rcpt{}.{i}@example.net", rng.below(10_000)))
            .collect();
        let m = message(rng, id, &from, &rcpts, o);
        let (mi, len) = s.add_msg(m, true);
        s.smtp += 1;
        let bdat = rng.below(3) == 0;
        let mut cmds = vec![format!("MAIL FROM:<{from}> SIZE={len}\r\n")];
        let mut replies = vec!["250 2.1.0 Ok\r\n".to_string()];
        for r in &rcpts {
            cmds.push(format!("RCPT TO:<{r}>\r\n"));
            replies.push("250 2.1.5 Ok\r\n".to_string());
        }
        if !bdat {
            cmds.push("DATA\r\n".into());
            replies.push("354 End data with <CR><LF>.<CR><LF>\r\n".into());
        }
        if pipelining {
            s.c(cmds.concat());
            s.s(replies.concat());
        } else {
            for (c, r) in cmds.iter().zip(&replies) {
                s.c(c.as_str());
                s.s(r.as_str());
            }
        }
        if bdat {
            let chunk = [16384usize, 65536, 262144][rng.below(3) as usize];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk);
                left -= n;
                let last = if left == 0 { " LAST" } else { "" };
                s.c(format!("BDAT {n}{last}\r\n"));
                s.push(true, Part::Msg { msg: mi, n });
                s.s(if left == 0 {
                    format!("250 2.0.0 Ok: {len} bytes queued as {id:X}\r\n")
                } else {
                    format!("250 2.0.0 {n} octets received\r\n")
                });
            }
        } else {
            s.push(true, Part::Msg { msg: mi, n: len });
            s.c(".\r\n");
            s.s(format!("250 2.0.0 Ok: queued as {id:X}\r\n"));
        }
    }
    s.c("QUIT\r\n");
    s.s("221 2.0.0 Bye\r\n");
    s
}

fn imap(rng: &mut Rng, pki: &Pki, id: u64, starttls: bool, o: &GenOptions) -> Script {
    let mut s = Script::new();
    s.s("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.\r\n");
    s.imap = 1;
    s.c("a1 CAPABILITY\r\n");
    s.s("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN\r\na1 OK Pre-login capabilities listed.\r\n");
    if starttls {
        s.c("a2 STARTTLS\r\n");
        s.s("a2 OK Begin TLS negotiation now.\r\n");
        let tls13 = rng.chance(o.tls13);
        let down = vary(rng, o.tls_volume);
        s.tls(rng, pki, "imap.example.net", false, tls13, 2000, down, 4);
        return s;
    }
    s.c(format!("a2 LOGIN user{} secret\r\n", id % 997));
    s.notice += 1;
    s.s("a2 OK Logged in\r\n");
    s.c("a3 SELECT INBOX\r\n");
    let n = rng.range(1, 3);
    s.s(format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* {n} EXISTS\r\n* 0 RECENT\r\n\
         a3 OK [READ-WRITE] Select completed.\r\n"
    ));
    for i in 1..=n {
        let m = message(
            rng,
            id * 10 + i,
            "carol@example.com",
            &["user@example.org".into()],
            o,
        );
        let (mi, len) = s.add_msg(m, false);
        s.c(format!("a{} FETCH {i} BODY[]\r\n", i + 3));
        s.s(format!("* {i} FETCH (BODY[] {{{len}}}\r\n"));
        s.push(false, Part::Msg { msg: mi, n: len });
        s.s(format!(")\r\na{} OK Fetch completed.\r\n", i + 3));
    }
    s.c("a9 LOGOUT\r\n");
    s.s("* BYE Logging out\r\na9 OK Logout completed.\r\n");
    s
}

fn pop3(rng: &mut Rng, pki: &Pki, id: u64, stls: bool, o: &GenOptions) -> Script {
    let mut s = Script::new();
    s.pop3 = 1;
    s.s("+OK Dovecot ready.\r\n");
    s.c("CAPA\r\n");
    s.s("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n");
    if stls {
        s.c("STLS\r\n");
        s.s("+OK Begin TLS negotiation now.\r\n");
        let tls13 = rng.chance(o.tls13);
        let down = vary(rng, o.tls_volume);
        s.tls(rng, pki, "pop.example.net", false, tls13, 1500, down, 3);
        return s;
    }
    s.c(format!("USER user{}\r\n", id % 997));
    s.s("+OK\r\n");
    s.c("PASS secret\r\n");
    s.notice += 1;
    s.s("+OK Logged in.\r\n");
    let n = rng.range(1, 3);
    s.c("STAT\r\n");
    s.s(format!("+OK {n} {}\r\n", n * 4096));
    for i in 1..=n {
        let m = message(
            rng,
            id * 10 + i,
            "dave@example.com",
            &["user@example.org".into()],
            o,
        );
        let (mi, len) = s.add_msg(m, false);
        s.c(format!("RETR {i}\r\n"));
        s.s(format!("+OK {len} octets\r\n"));
        s.push(false, Part::Msg { msg: mi, n: len });
        s.s(".\r\n");
    }
    s.c("QUIT\r\n");
    s.s("+OK Logging out.\r\n");
    s
}

fn bulk(rng: &mut Rng, o: &GenOptions) -> (Script, u16) {
    let mut s = Script::new();
    let volume = vary(rng, o.bulk_volume);
    if rng.below(2) == 0 {
        s.s("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        s.c("SSH-2.0-OpenSSH_9.6\r\n");
        s.push(true, Part::Piece(Piece::random(1536, rng.fork())));
        s.push(false, Part::Piece(Piece::random(1080, rng.fork())));
        let upload = rng.below(2) == 0;
        s.push(upload, Part::Piece(Piece::random(volume, rng.fork())));
        s.push(!upload, Part::Piece(Piece::random(64, rng.fork())));
        (s, 22)
    } else {
        s.c(format!(
            "GET /downloads/image-{}.iso HTTP/1.1\r\nHost: mirror.example.com\r\n\
             User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
            rng.below(1000)
        ));
        s.s(format!(
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {volume}\r\n\r\n"
        ));
        s.push(false, Part::Piece(Piece::random(volume, rng.fork())));
        (s, 80)
    }
}

// ---------------------------------------------------------------------------
// Connections on the wire.

/// Everything a connection needs to write frames.
struct Ctx<W: Write> {
    out: PcapWriter<W>,
    clock: u64,
    ns_per_byte: f64,
    ip_id: u16,
    /// Frame buffers of the current burst.
    frames: Vec<Vec<u8>>,
    used: usize,
    rng: Rng,
    opts: GenOptions,
    summary: Summary,
}

impl<W: Write> Ctx<W> {
    fn buf(&mut self) -> usize {
        if self.used == self.frames.len() {
            self.frames.push(Vec::with_capacity(2048));
        }
        self.frames[self.used].clear();
        self.used += 1;
        self.used - 1
    }

    fn emit(&mut self, i: usize) -> std::io::Result<()> {
        let f = &self.frames[i];
        if self.summary.packets == 0 {
            self.summary.first_ts = self.clock;
        }
        self.out.write(self.clock, f)?;
        self.summary.packets += 1;
        self.summary.last_ts = self.clock;
        // Wire time at the offered load (with preamble and gap).
        self.clock += ((f.len() + 24) as f64 * self.ns_per_byte).max(1.0) as u64;
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Data,
    Close,
    Done,
}

/// One TCP connection being written.
struct TcpConn {
    client: [u8; 4],
    cport: u16,
    server: [u8; 4],
    sport: u16,
    /// Next sequence number of the client and of the server.
    cseq: u32,
    sseq: u32,
    phase: Phase,
    script: Script,
    background: bool,
}

impl TcpConn {
    fn fields(&self, from_client: bool, flags: u8) -> TcpFields {
        if from_client {
            TcpFields {
                src: self.client,
                sport: self.cport,
                dst: self.server,
                dport: self.sport,
                seq: self.cseq,
                ack: self.sseq,
                flags,
                window: 64240,
            }
        } else {
            TcpFields {
                src: self.server,
                sport: self.sport,
                dst: self.client,
                dport: self.cport,
                seq: self.sseq,
                ack: self.cseq,
                flags,
                window: 65160,
            }
        }
    }

    fn control<W: Write>(&self, ctx: &mut Ctx<W>, from_client: bool, flags: u8) -> usize {
        let i = ctx.buf();
        let id = ctx.ip_id;
        ctx.ip_id = ctx.ip_id.wrapping_add(1);
        let f = &mut ctx.frames[i];
        f.resize(TCP_HDR, 0);
        finish_tcp(f, &self.fields(from_client, flags), id);
        i
    }

    /// Writes the next burst; returns false once the connection is done.
    fn step<W: Write>(&mut self, ctx: &mut Ctx<W>) -> std::io::Result<bool> {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        const PSH: u8 = 0x08;
        const FIN: u8 = 0x01;
        ctx.used = 0;
        match self.phase {
            Phase::Handshake => {
                let a = self.control(ctx, true, SYN);
                self.cseq = self.cseq.wrapping_add(1);
                let b = self.control(ctx, false, SYN | ACK);
                self.sseq = self.sseq.wrapping_add(1);
                let c = self.control(ctx, true, ACK);
                for i in [a, b, c] {
                    ctx.emit(i)?;
                }
                self.phase = Phase::Data;
            }
            Phase::Data => {
                while self
                    .script
                    .turns
                    .front()
                    .is_some_and(|t| t.parts.is_empty())
                {
                    self.script.turns.pop_front();
                }
                let Some(turn) = self.script.turns.front_mut() else {
                    self.phase = Phase::Close;
                    return Ok(true);
                };
                let from_client = turn.client;
                let mss = ctx.opts.mss;
                let mut segs: Vec<(usize, u32, usize)> = Vec::with_capacity(ctx.opts.window);
                let mut exhausted = false;
                for _ in 0..ctx.opts.window.max(1) {
                    let i = ctx.buf();
                    let f = &mut ctx.frames[i];
                    f.resize(TCP_HDR, 0);
                    let mut n = 0;
                    while n < mss {
                        let Some(p) = turn.parts.front_mut() else {
                            break;
                        };
                        let k = match p {
                            Part::Piece(p) => p.pull(f, mss - n),
                            Part::Msg { msg, n: left } => {
                                let want = (*left).min(mss - n);
                                let k = match self.script.msgs.get_mut(*msg) {
                                    Some(m) => m.pull(f, want),
                                    None => 0,
                                };
                                *left -= k;
                                if *left == 0 || k == 0 {
                                    turn.parts.pop_front();
                                }
                                k
                            }
                        };
                        if k == 0 {
                            turn.parts.pop_front();
                        }
                        n += k;
                    }
                    if n == 0 {
                        ctx.used -= 1;
                        exhausted = true;
                        break;
                    }
                    let seq = if from_client { self.cseq } else { self.sseq };
                    segs.push((i, seq, n));
                    if from_client {
                        self.cseq = self.cseq.wrapping_add(n as u32);
                    } else {
                        self.sseq = self.sseq.wrapping_add(n as u32);
                    }
                    if turn.parts.is_empty() {
                        exhausted = true;
                        break;
                    }
                }
                let count = segs.len();
                for (k, &(i, seq, n)) in segs.iter().enumerate() {
                    let mut h = self.fields(from_client, ACK);
                    h.seq = seq;
                    if k + 1 == count {
                        h.flags |= PSH;
                    }
                    let id = ctx.ip_id;
                    ctx.ip_id = ctx.ip_id.wrapping_add(1);
                    finish_tcp(&mut ctx.frames[i], &h, id);
                    if self.background {
                        ctx.summary.background_bytes += n as u64;
                    } else {
                        ctx.summary.payload_bytes += n as u64;
                    }
                }
                // Capture effects on the data segments.
                let mut order: Vec<usize> = Vec::with_capacity(count + 2);
                let mut resend: Vec<usize> = Vec::new();
                for &(i, _, _) in &segs {
                    if ctx.opts.loss > 0.0 && ctx.rng.chance(ctx.opts.loss) {
                        ctx.summary.lost += 1;
                        continue;
                    }
                    if ctx.opts.retransmit > 0.0 && ctx.rng.chance(ctx.opts.retransmit) {
                        ctx.summary.retransmitted += 1;
                        resend.push(i);
                    }
                    order.push(i);
                }
                if ctx.opts.reorder > 0.0 {
                    let mut k = 0;
                    while k + 1 < order.len() {
                        if ctx.rng.chance(ctx.opts.reorder) {
                            order.swap(k, k + 1);
                            ctx.summary.reordered += 1;
                            k += 1;
                        }
                        k += 1;
                    }
                }
                order.extend(resend);
                for i in order {
                    ctx.emit(i)?;
                }
                if exhausted {
                    self.script.turns.pop_front();
                }
                // The receiver acknowledges, unless its own answer follows
                // and carries the acknowledgement.
                let answer_next = exhausted
                    && self
                        .script
                        .turns
                        .iter()
                        .find(|t| !t.parts.is_empty())
                        .is_some_and(|t| t.client != from_client);
                if !answer_next {
                    let a = self.control(ctx, !from_client, ACK);
                    ctx.emit(a)?;
                }
            }
            Phase::Close => {
                let a = self.control(ctx, true, FIN | ACK);
                self.cseq = self.cseq.wrapping_add(1);
                let b = self.control(ctx, false, FIN | ACK);
                self.sseq = self.sseq.wrapping_add(1);
                let c = self.control(ctx, true, ACK);
                for i in [a, b, c] {
                    ctx.emit(i)?;
                }
                self.phase = Phase::Done;
                return Ok(false);
            }
            Phase::Done => return Ok(false),
        }
        Ok(true)
    }
}

enum Conn {
    Tcp(Box<TcpConn>),
    Dns {
        client: [u8; 4],
        port: u16,
        name: String,
        txid: u16,
    },
}

fn dns_name(buf: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        buf.push(label.len() as u8);
        buf.extend_from_slice(label.as_bytes());
    }
    buf.push(0);
}

fn dns<W: Write>(
    ctx: &mut Ctx<W>,
    client: [u8; 4],
    port: u16,
    name: &str,
    txid: u16,
) -> std::io::Result<()> {
    let server = [198, 51, 100, 53];
    ctx.used = 0;
    let q = ctx.buf();
    let f = &mut ctx.frames[q];
    f.resize(UDP_HDR, 0);
    f.extend_from_slice(&txid.to_be_bytes());
    f.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    dns_name(f, name);
    f.extend_from_slice(&[0, 1, 0, 1]);
    let question = f[UDP_HDR + 12..].to_vec();
    let id = ctx.ip_id;
    finish_udp(f, client, port, server, 53, id);
    let r = ctx.buf();
    let f = &mut ctx.frames[r];
    f.resize(UDP_HDR, 0);
    f.extend_from_slice(&txid.to_be_bytes());
    f.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    f.extend_from_slice(&question);
    f.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    f.extend_from_slice(&[203, 0, 113, (txid & 0xff) as u8]);
    finish_udp(f, server, 53, client, port, id.wrapping_add(1));
    ctx.ip_id = ctx.ip_id.wrapping_add(2);
    let bytes = (ctx.frames[q].len() + ctx.frames[r].len() - 2 * UDP_HDR) as u64;
    ctx.summary.background_bytes += bytes;
    ctx.emit(q)?;
    ctx.emit(r)
}

/// Writes a capture of mixed traffic to `out` as `opts` describes and
/// returns what it holds. Certificates come from `pki`.
pub fn generate<W: Write>(out: W, opts: &GenOptions, pki: &Pki) -> std::io::Result<Summary> {
    let mut rng = Rng::new(opts.seed);
    let mut ctx = Ctx {
        out: PcapWriter::new(out)?,
        clock: opts.t0,
        ns_per_byte: 8e9 / opts.rate_bps.max(1e3),
        ip_id: 1,
        frames: Vec::new(),
        used: 0,
        rng: rng.fork(),
        opts: opts.clone(),
        summary: Summary::default(),
    };
    let limit_sessions = opts
        .sessions
        .unwrap_or(if opts.size.is_none() { 1000 } else { u64::MAX });
    let limit_bytes = opts.size.unwrap_or(u64::MAX);
    let mix: Vec<(Kind, u32)> = MIX
        .iter()
        .copied()
        .filter(|(k, _)| opts.kinds.is_empty() || opts.kinds.contains(k))
        .collect();
    let mix_total: u32 = mix.iter().map(|m| m.1).sum::<u32>().max(1);
    let mut active: Vec<Conn> = Vec::with_capacity(opts.concurrency);
    let mut started = 0u64;
    // Payload bytes of the connections started so far, to stop starting
    // new ones when those already started will fill the target size.
    let mut planned = 0u64;
    // Frame, pcap record and ACK overhead per payload byte at this MSS.
    let overhead = 1.0 + (TCP_HDR as f64 + 16.0) * 1.6 / opts.mss as f64;
    let mut certs_seen: BTreeSet<usize> = BTreeSet::new();
    let mut tls_certs: BTreeSet<Vec<u8>> = BTreeSet::new();
    loop {
        while active.len() < opts.concurrency.max(1)
            && started < limit_sessions
            && ctx.out.bytes() < limit_bytes
        {
            let emitted = ctx.summary.payload_bytes + ctx.summary.background_bytes;
            let pending = planned.saturating_sub(emitted) as f64 * overhead;
            if opts.size.is_some() && ctx.out.bytes() as f64 + pending >= limit_bytes as f64 {
                break;
            }
            started += 1;
            let id = started;
            // Client addresses and ports never repeat a connection.
            let c = id / 15_000_000;
            let client = [
                10,
                1 + (c / 250) as u8,
                (c % 250) as u8,
                1 + (id % 250) as u8,
            ];
            let cport = 1024 + ((id / 250) % 60000) as u16;
            let s = &ctx.summary;
            let bg_share =
                s.background_bytes as f64 / (s.background_bytes + s.payload_bytes).max(1) as f64;
            let background = opts.background > 0.0 && bg_share < opts.background;
            let kind = if background {
                if rng.below(4) == 0 {
                    Kind::Dns
                } else {
                    Kind::Bulk
                }
            } else {
                let mut pick = rng.below(mix_total as u64) as u32;
                let mut k = Kind::Smtp;
                for (kind, w) in &mix {
                    if pick < *w {
                        k = *kind;
                        break;
                    }
                    pick -= w;
                }
                k
            };
            *ctx.summary.kinds.entry(kind.name()).or_default() += 1;
            *ctx.summary.services.entry(kind.service()).or_default() += 1;
            ctx.summary.conn += 1;
            if kind == Kind::Dns {
                active.push(Conn::Dns {
                    client,
                    port: cport,
                    name: format!("host{}.example.com", rng.below(100_000)),
                    txid: rng.below(65536) as u16,
                });
                continue;
            }
            let o = opts;
            let (script, sport, server) = match kind {
                Kind::Smtp | Kind::SmtpStartTls => {
                    let port = if rng.below(3) == 0 { 587 } else { 25 };
                    let s = smtp(&mut rng, pki, id, kind == Kind::SmtpStartTls, o);
                    (s, port, [198, 51, 100, 25])
                }
                Kind::Smtps | Kind::Imaps | Kind::Pop3s | Kind::Https => {
                    let (port, server, name, alpn, up, down) = match kind {
                        Kind::Smtps => (465, 25, "mail.example.net", false, o.tls_volume, 2000),
                        Kind::Imaps => (993, 143, "imap.example.net", false, 3000, o.tls_volume),
                        Kind::Pop3s => (995, 110, "pop.example.net", false, 1500, o.tls_volume),
                        _ => {
                            let name = if rng.below(2) == 0 {
                                "www.example.com"
                            } else {
                                "api.example.com"
                            };
                            (443, 44, name, true, 4000, o.tls_volume)
                        }
                    };
                    let mut s = Script::new();
                    let tls13 = rng.chance(o.tls13);
                    let up = vary(&mut rng, up);
                    let down = vary(&mut rng, down);
                    let ex = rng.range(1, 6) as usize;
                    s.tls(&mut rng, pki, name, alpn, tls13, up, down, ex);
                    (s, port, [198, 51, 100, server])
                }
                Kind::Imap | Kind::ImapStartTls => (
                    imap(&mut rng, pki, id, kind == Kind::ImapStartTls, o),
                    143,
                    [198, 51, 100, 143],
                ),
                Kind::Pop3 | Kind::Pop3Stls => (
                    pop3(&mut rng, pki, id, kind == Kind::Pop3Stls, o),
                    110,
                    [198, 51, 100, 110],
                ),
                Kind::Bulk | Kind::Dns => {
                    let (s, port) = bulk(&mut rng, o);
                    (s, port, [203, 0, 113, 80])
                }
            };
            planned += script.total() as u64;
            let sm = &mut ctx.summary;
            sm.smtp += script.smtp;
            sm.files += script.files;
            sm.ssl += script.ssl;
            sm.ssl_tls13 += script.tls13;
            sm.notice += script.notice;
            sm.messages += script.messages;
            sm.pop3 += script.pop3;
            sm.imap += script.imap;
            for c in &script.certs {
                if certs_seen.insert(*c) {
                    for der in &pki.chains[*c].certs {
                        tls_certs.insert(der.clone());
                    }
                }
            }
            sm.x509 = tls_certs.len() as u64;
            active.push(Conn::Tcp(Box::new(TcpConn {
                client,
                cport,
                server,
                sport,
                cseq: rng.next_u64() as u32,
                sseq: rng.next_u64() as u32,
                phase: Phase::Handshake,
                script,
                background: kind == Kind::Bulk,
            })));
        }
        if active.is_empty() {
            break;
        }
        let i = rng.below(active.len() as u64) as usize;
        let more = match &mut active[i] {
            Conn::Tcp(c) => c.step(&mut ctx)?,
            Conn::Dns {
                client,
                port,
                name,
                txid,
            } => {
                let (client, port, txid) = (*client, *port, *txid);
                let name = std::mem::take(name);
                dns(&mut ctx, client, port, &name, txid)?;
                false
            }
        };
        if !more {
            active.swap_remove(i);
        }
    }
    ctx.summary.bytes = ctx.out.bytes();
    ctx.out.finish()?.flush()?;
    Ok(ctx.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1500"), Ok(1500));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3XB").is_err());
    }

    #[test]
    fn pieces_produce_their_announced_length() {
        for n in [0usize, 1, 2, 3, 56, 57, 58, 114, 1000, 70_001] {
            let mut p = Piece::base64(b"%PDF", n, Rng::new(n as u64));
            let mut out = Vec::new();
            while p.pull(&mut out, 1448) > 0 {}
            assert_eq!(out.len(), base64_len(n), "base64 of {n}");
            assert_eq!(out.len(), p.len());
        }
        for n in [2usize, 3, 77, 78, 79, 80, 81, 500, 4096] {
            let mut p = Piece::qp(n, Rng::new(3));
            let mut out = Vec::new();
            while p.pull(&mut out, 100) > 0 {}
            assert_eq!(out.len(), n, "qp of {n}");
            assert!(out.ends_with(b"\r\n"));
            assert!(out.split(|c| *c == b'\n').all(|l| l.len() <= 78));
        }
        let mut p = Piece::tls_app(40_000, Rng::new(1));
        let mut out = Vec::new();
        while p.pull(&mut out, 1448) > 0 {}
        assert_eq!(out.len(), p.len());
        assert_eq!(out[0], 23);
    }

    #[test]
    fn base64_pieces_decode_to_their_magic() {
        let mut p = Piece::base64(b"%PDF-1.7", 100, Rng::new(9));
        let mut out = Vec::new();
        p.pull(&mut out, 10_000);
        assert!(out.starts_with(b"JVBERi0xLj"));
    }

    #[test]
    fn messages_have_the_announced_length_and_no_leading_dots() {
        let o = GenOptions {
            attachment: 5000,
            text: 700,
            ..GenOptions::default()
        };
        let mut rng = Rng::new(5);
        for id in 0..20 {
            let mut m = message(&mut rng, id, "a@example.org", &["b@example.net".into()], &o);
            let len = m.stream.len();
            let mut out = Vec::new();
            while m.stream.pull(&mut out, 1448) > 0 {}
            assert_eq!(out.len(), len);
            assert!(out.ends_with(b"--\r\n"));
            assert!(!out.split(|c| *c == b'\n').any(|l| l.starts_with(b".")));
        }
    }

    #[test]
    fn captures_are_deterministic() {
        let pki = Pki::generate().expect("pki");
        let o = GenOptions {
            sessions: Some(40),
            concurrency: 8,
            attachment: 3000,
            text: 500,
            tls_volume: 8000,
            bulk_volume: 20_000,
            loss: 0.01,
            reorder: 0.02,
            retransmit: 0.02,
            ..GenOptions::default()
        };
        let a = generate(Vec::new(), &o, &pki).expect("generate");
        let mut buf_a = Vec::new();
        let mut buf_b = Vec::new();
        generate(&mut buf_a, &o, &pki).expect("generate");
        generate(&mut buf_b, &o, &pki).expect("generate");
        assert_eq!(buf_a, buf_b);
        assert_eq!(a.conn, 40);
        assert_eq!(a.bytes, buf_a.len() as u64);
        assert!(a.packets > 100);
    }
}
