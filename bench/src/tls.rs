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
