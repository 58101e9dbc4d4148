//! TLS traffic for benchmarks: replicas of a recorded handshake (distinct
//! client addresses and ports) and a synthetic TLS 1.3 flow that carries
//! bulk application data once established.

use crate::synth::{tcp, Frame, ACK, PSH, SYN};

/// Copies of `frames` (one TCP connection to `server_port`), each with its
/// own client address and port (copy `k` is client number `first + k`),
/// every copy starting `gap_ns` after the previous. Checksums are left as
/// they are (the sensor does not verify them by default).
pub fn replicate(
    frames: &[Frame],
    server_port: u16,
    first: usize,
    copies: usize,
    gap_ns: u64,
) -> Vec<Frame> {
    let mut out = Vec::with_capacity(frames.len() * copies);
    for k in first..first + copies {
        let ip = [10, 200, (k >> 8) as u8, k as u8];
        let port = 1024 + (k % 60000) as u16;
        for (ts, f) in frames {
            let mut f = f.clone();
            rewrite_client(&mut f, server_port, ip, port);
            out.push((ts + (k - first) as u64 * gap_ns, f));
        }
    }
    out
}

/// Rewrites the client side (the side not on `server_port`) of an
/// Ethernet/IPv4/TCP frame.
fn rewrite_client(f: &mut [u8], server_port: u16, ip: [u8; 4], port: u16) {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 6 {
        return;
    }
    let ihl = ((f[14] & 15) as usize) * 4;
    let t = 14 + ihl;
    if f.len() < t + 4 {
        return;
    }
    let sport = u16::from_be_bytes([f[t], f[t + 1]]);
    if sport == server_port {
        f[30..34].copy_from_slice(&ip);
        f[t + 2..t + 4].copy_from_slice(&port.to_be_bytes());
    } else {
        f[26..30].copy_from_slice(&ip);
        f[t..t + 2].copy_from_slice(&port.to_be_bytes());
    }
}

fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ctype, 3, 3];
    r.extend((body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![msg_type];
    m.extend(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    record(22, &m)
}

/// A TLS 1.3 connection on port `port`: TCP handshake, ClientHello,
/// ServerHello with CCS and the encrypted server flight, the client's CCS
/// and encrypted Finished (the sensor calls it established there), then
/// `records` server application-data records of `size` bytes, one per
/// packet, the client acknowledging every tenth. Returns (handshake
/// frames, bulk frames). With `tls` false every payload byte is zero
/// instead: the same packets as plain TCP, for a baseline.
pub fn tls13_flow(
    port: u16,
    records: usize,
    size: usize,
    t0: u64,
    tls: bool,
) -> (Vec<Frame>, Vec<Frame>) {
    let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
    let cp = 40000u16;
    let mut hello = vec![3, 3];
    hello.extend([0x11; 32]);
    hello.push(32);
    hello.extend([0x22; 32]);
    hello.extend([0, 2, 0x13, 0x01, 1, 0]);
    let exts = [0u8, 43, 0, 3, 2, 3, 4];
    hello.extend((exts.len() as u16).to_be_bytes());
    hello.extend(exts);
    let ch = handshake(1, &hello);
    let mut sh = vec![3, 3];
    sh.extend([0x33; 32]);
    sh.push(32);
    sh.extend([0x22; 32]);
    sh.extend([0x13, 0x01, 0]);
    let sexts = [0u8, 43, 0, 2, 3, 4];
    sh.extend((sexts.len() as u16).to_be_bytes());
    sh.extend(sexts);
    let mut sflight = handshake(2, &sh);
    sflight.extend(record(20, &[1]));
    sflight.extend(record(23, &[0x44; 900]));
    let mut cfin = record(20, &[1]);
    cfin.extend(record(23, &[0x55; 53]));
    let mut rec = record(23, &vec![0x66; size]);
    let mut ch = ch;
    if !tls {
        for p in [&mut ch, &mut sflight, &mut cfin, &mut rec] {
            p.iter_mut().for_each(|b| *b = 0);
        }
    }
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut frames = Vec::new();
    let mut t = t0;
    let mut push = |f: Vec<u8>, frames: &mut Vec<Frame>| {
        frames.push((t, f));
        t += 10_000;
    };
    push(tcp(c, cp, s, port, cs, 0, SYN, b""), &mut frames);
    push(tcp(s, port, c, cp, ss, cs + 1, SYN | ACK, b""), &mut frames);
    cs += 1;
    ss += 1;
    push(tcp(c, cp, s, port, cs, ss, ACK, b""), &mut frames);
    push(tcp(c, cp, s, port, cs, ss, ACK | PSH, &ch), &mut frames);
    cs += ch.len() as u32;
    push(
        tcp(s, port, c, cp, ss, cs, ACK | PSH, &sflight),
        &mut frames,
    );
    ss += sflight.len() as u32;
    push(tcp(c, cp, s, port, cs, ss, ACK | PSH, &cfin), &mut frames);
    cs += cfin.len() as u32;
    let mut bulk = Vec::with_capacity(records + records / 10);
    for i in 0..records {
        push(tcp(s, port, c, cp, ss, cs, ACK, &rec), &mut bulk);
        ss = ss.wrapping_add(rec.len() as u32);
        if i % 10 == 9 {
            push(tcp(c, cp, s, port, cs, ss, ACK, b""), &mut bulk);
        }
    }
    (frames, bulk)
}

/// Handshake messages of generated TLS connections: a browser-like
/// ClientHello (SNI, ALPN, key share, TLS 1.3 and 1.2 offered), and the
/// server and client flights of a full TLS 1.2 handshake (certificate chain
/// in clear) or of a TLS 1.3 handshake (everything after the ServerHello
/// encrypted). Random fields come from the caller's generator.
pub mod msg {
    use crate::mail::Rng;

    /// Record content types.
    const HANDSHAKE: u8 = 22;
    const CCS: u8 = 20;
    const APP_DATA: u8 = 23;

    /// Cipher suites a client offers (TLS 1.3 first, then TLS 1.2 AEADs).
    const OFFERED: &[u16] = &[
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ];

    /// TLS 1.2 suites a server picks from (ECDSA leaf keys).
    pub const TLS12_SUITES: &[u16] = &[0xc02b, 0xc02c, 0xcca9];
    /// TLS 1.3 suites a server picks from.
    pub const TLS13_SUITES: &[u16] = &[0x1301, 0x1302, 0x1303];

    fn random(rng: &mut Rng, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        rng.fill(&mut v);
        v
    }

    fn u16be(v: &mut Vec<u8>, x: usize) {
        v.extend_from_slice(&(x as u16).to_be_bytes());
    }

    fn u24be(v: &mut Vec<u8>, x: usize) {
        v.extend_from_slice(&(x as u32).to_be_bytes()[1..]);
    }

    /// A record of `ctype` with record-layer version 3.`minor`.
    pub fn record(ctype: u8, minor: u8, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::with_capacity(5 + body.len());
        r.extend_from_slice(&[ctype, 3, minor]);
        u16be(&mut r, body.len());
        r.extend_from_slice(body);
        r
    }

    /// A handshake message (type, 24-bit length, body).
    pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(4 + body.len());
        m.push(msg_type);
        u24be(&mut m, body.len());
        m.extend_from_slice(body);
        m
    }

    fn ext(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
        out.extend_from_slice(&typ.to_be_bytes());
        u16be(out, body.len());
        out.extend_from_slice(body);
    }

    /// The state a handshake needs across messages.
    #[derive(Clone, Debug)]
    pub struct Hello {
        /// Legacy session id the client offered (echoed by servers).
        pub session_id: Vec<u8>,
        /// Whether the client offered ALPN h2 / http/1.1.
        pub alpn: bool,
    }

    /// A ClientHello record for `sni` offering TLS 1.3 and 1.2, with ALPN
    /// when `alpn`.
    pub fn client_hello(rng: &mut Rng, sni: &str, alpn: bool) -> (Vec<u8>, Hello) {
        let session_id = random(rng, 32);
        let mut b = vec![3, 3];
        b.extend(random(rng, 32));
        b.push(32);
        b.extend_from_slice(&session_id);
        u16be(&mut b, OFFERED.len() * 2);
        for s in OFFERED {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::with_capacity(512);
        let mut sn = Vec::with_capacity(sni.len() + 5);
        u16be(&mut sn, sni.len() + 3);
        sn.push(0);
        u16be(&mut sn, sni.len());
        sn.extend_from_slice(sni.as_bytes());
        ext(&mut e, 0x0000, &sn);
        ext(&mut e, 0x0017, &[]);
        ext(&mut e, 0xff01, &[0]);
        ext(&mut e, 0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
        ext(&mut e, 0x000b, &[1, 0]);
        ext(&mut e, 0x0023, &[]);
        if alpn {
            ext(
                &mut e,
                0x0010,
                &[
                    0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
                ],
            );
        }
        ext(&mut e, 0x0005, &[1, 0, 0, 0, 0]);
        ext(
            &mut e,
            0x000d,
            &[
                0, 16, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01,
                0x08, 0x06, 0x06, 0x01,
            ],
        );
        let mut ks = vec![0, 36, 0x00, 0x1d, 0, 32];
        ks.extend(random(rng, 32));
        ext(&mut e, 0x0033, &ks);
        ext(&mut e, 0x002b, &[4, 3, 4, 3, 3]);
        ext(&mut e, 0x002d, &[1, 1]);
        u16be(&mut b, e.len());
        b.extend(e);
        (
            record(HANDSHAKE, 1, &handshake(1, &b)),
            Hello { session_id, alpn },
        )
    }

    fn server_hello(rng: &mut Rng, hello: &Hello, suite: u16, tls13: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend(random(rng, 32));
        // TLS 1.3 echoes the client's legacy session id; a TLS 1.2 server
        // starting a full handshake picks a new one (echoing it would mean
        // resumption).
        let sid = if tls13 {
            hello.session_id.clone()
        } else {
            random(rng, 32)
        };
        b.push(sid.len() as u8);
        b.extend_from_slice(&sid);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        let mut e = Vec::new();
        if tls13 {
            ext(&mut e, 0x002b, &[3, 4]);
            let mut ks = vec![0x00, 0x1d, 0, 32];
            ks.extend(random(rng, 32));
            ext(&mut e, 0x0033, &ks);
        } else {
            ext(&mut e, 0xff01, &[0]);
            ext(&mut e, 0x000b, &[1, 0]);
            ext(&mut e, 0x0017, &[]);
            ext(&mut e, 0x0023, &[]);
            if hello.alpn {
                ext(&mut e, 0x0010, &[0, 3, 2, b'h', b'2']);
            }
        }
        u16be(&mut b, e.len());
        b.extend(e);
        handshake(2, &b)
    }

    /// The server's first flight of TLS 1.2: ServerHello (one record),
    /// then Certificate with `chain`, ServerKeyExchange (X25519) and
    /// ServerHelloDone (a second record).
    pub fn server_flight_12(
        rng: &mut Rng,
        hello: &Hello,
        suite: u16,
        chain: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut out = record(HANDSHAKE, 3, &server_hello(rng, hello, suite, false));
        let total: usize = chain.iter().map(|c| c.len() + 3).sum();
        let mut cert = Vec::with_capacity(total + 3);
        u24be(&mut cert, total);
        for c in chain {
            u24be(&mut cert, c.len());
            cert.extend_from_slice(c);
        }
        let mut flight = handshake(11, &cert);
        let mut ske = vec![3, 0x00, 0x1d, 32];
        ske.extend(random(rng, 32));
        ske.extend_from_slice(&[0x04, 0x03]);
        // A DER ECDSA signature is about 71 bytes.
        let sig = random(rng, 71);
        u16be(&mut ske, sig.len());
        ske.extend(sig);
        flight.extend(handshake(12, &ske));
        flight.extend(handshake(14, &[]));
        out.extend(record(HANDSHAKE, 3, &flight));
        out
    }

    /// The client's second flight of TLS 1.2: ClientKeyExchange,
    /// ChangeCipherSpec and the encrypted Finished.
    pub fn client_finish_12(rng: &mut Rng) -> Vec<u8> {
        let mut cke = vec![32];
        cke.extend(random(rng, 32));
        let mut out = record(HANDSHAKE, 3, &handshake(16, &cke));
        out.extend(record(CCS, 3, &[1]));
        out.extend(record(HANDSHAKE, 3, &random(rng, 40)));
        out
    }

    /// The server's last flight of TLS 1.2: NewSessionTicket,
    /// ChangeCipherSpec and the encrypted Finished.
    pub fn server_finish_12(rng: &mut Rng) -> Vec<u8> {
        let mut t = vec![0, 0, 0x1c, 0x20];
        let ticket = random(rng, 192);
        u16be(&mut t, ticket.len());
        t.extend(ticket);
        let mut out = record(HANDSHAKE, 3, &handshake(4, &t));
        out.extend(record(CCS, 3, &[1]));
        out.extend(record(HANDSHAKE, 3, &random(rng, 40)));
        out
    }

    /// The server's flight of TLS 1.3: ServerHello, a compatibility
    /// ChangeCipherSpec, and the encrypted EncryptedExtensions,
    /// Certificate, CertificateVerify and Finished as opaque
    /// application-data records (`chain_len` bytes of certificates inside).
    pub fn server_flight_13(rng: &mut Rng, hello: &Hello, suite: u16, chain_len: usize) -> Vec<u8> {
        let mut out = record(HANDSHAKE, 3, &server_hello(rng, hello, suite, true));
        out.extend(record(CCS, 3, &[1]));
        out.extend(record(APP_DATA, 3, &random(rng, 6 + 17 + 1)));
        out.extend(record(APP_DATA, 3, &random(rng, chain_len + 13 + 17)));
        out.extend(record(APP_DATA, 3, &random(rng, 79 + 17)));
        out.extend(record(APP_DATA, 3, &random(rng, 36 + 17)));
        out
    }

    /// The client's flight of TLS 1.3: ChangeCipherSpec and the encrypted
    /// Finished.
    pub fn client_finish_13(rng: &mut Rng) -> Vec<u8> {
        let mut out = record(CCS, 3, &[1]);
        out.extend(record(APP_DATA, 3, &random(rng, 53)));
        out
    }
}
