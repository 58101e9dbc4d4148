//! Synthetic captures: Ethernet/IPv4/TCP frames with valid checksums, whole
//! TCP sessions, many sessions interleaved, and a pcap writer.

/// One frame with its timestamp.
pub type Frame = (u64, Vec<u8>);

fn csum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in data.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An Ethernet/IPv4/TCP frame with valid checksums.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let tcp_len = 20 + payload.len();
    let mut f = vec![0u8; 14 + 20 + tcp_len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst[3]]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src[3]]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = csum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let t = &mut f[34..];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t[20..].copy_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12 + tcp_len);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
    pseudo.extend_from_slice(t);
    let c = csum(&pseudo);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    f
}

/// TCP flags.
pub const SYN: u8 = 0x02;
/// ACK flag.
pub const ACK: u8 = 0x10;
/// FIN flag.
pub const FIN: u8 = 0x01;
/// PSH flag.
pub const PSH: u8 = 0x08;

/// The frames of one SMTP-like TCP session from client `c` (port
/// `cport`) to server `s`:25: handshake, a banner, three client
/// segments of which the last two arrive swapped (out of order), a
/// reply, and a FIN exchange. Times start at `t0` (ns), 1 ms apart.
pub fn session(c: [u8; 4], cport: u16, s: [u8; 4], t0: u64) -> Vec<Frame> {
    let (ci, si) = (1000u32, 5000u32);
    let banner = b"220 mx.example.org ESMTP\r\n";
    let (m1, m2, m3) = (
        &b"EHLO client.example.org\r\n"[..],
        &b"MAIL FROM:<a@example.org>\r\n"[..],
        &b"RCPT TO:<b@example.org>\r\n"[..],
    );
    let reply = b"250 ok\r\n";
    let c1 = ci + 1;
    let c2 = c1 + m1.len() as u32;
    let c3 = c2 + m2.len() as u32;
    let cend = c3 + m3.len() as u32;
    let s1 = si + 1;
    let s2 = s1 + banner.len() as u32;
    let send = s2 + reply.len() as u32;
    let pkts = vec![
        tcp(c, cport, s, 25, ci, 0, SYN, b""),
        tcp(s, 25, c, cport, si, c1, SYN | ACK, b""),
        tcp(c, cport, s, 25, c1, s1, ACK, b""),
        tcp(s, 25, c, cport, s1, c1, ACK | PSH, banner),
        tcp(c, cport, s, 25, c1, s2, ACK | PSH, m1),
        tcp(c, cport, s, 25, c3, s2, ACK | PSH, m3),
        tcp(c, cport, s, 25, c2, s2, ACK | PSH, m2),
        tcp(s, 25, c, cport, s2, cend, ACK | PSH, reply),
        tcp(c, cport, s, 25, cend, send, FIN | ACK, b""),
        tcp(s, 25, c, cport, send, cend + 1, FIN | ACK, b""),
        tcp(c, cport, s, 25, cend + 1, send + 1, ACK, b""),
    ];
    pkts.into_iter()
        .enumerate()
        .map(|(i, p)| (t0 + i as u64 * 1_000_000, p))
        .collect()
}

/// `n` sessions interleaved packet by packet, starting at `t0`.
pub fn interleaved(n: usize, first_port: u16, t0: u64) -> Vec<Frame> {
    let sessions: Vec<Vec<Frame>> = (0..n)
        .map(|i| {
            session(
                [10, 0, (i / 250) as u8, (i % 250) as u8 + 1],
                first_port + i as u16,
                [192, 168, 1, 25],
                t0,
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut step = 0u64;
    for k in 0..sessions[0].len() {
        for s in &sessions {
            out.push((t0 + step * 1000, s[k].1.clone()));
            step += 1;
        }
    }
    out
}

/// Writes frames as a classic pcap file (Ethernet, microseconds).
pub fn write_pcap(path: &std::path::Path, frames: &[Frame]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (ts, f) in frames {
        out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("writing a pcap");
}

/// `n` sessions, interleaved in batches of 1000 concurrent sessions, each
/// batch starting 20 s after the previous one (addresses and ports vary so
/// every session is its own connection).
pub fn interleaved_many(n: usize, t0: u64) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut done = 0;
    let mut batch = 0u64;
    while done < n {
        let k = (n - done).min(1000);
        let mut frames = interleaved(
            k,
            10000 + (batch % 50) as u16 * 1000,
            t0 + batch * 20_000_000_000,
        );
        out.append(&mut frames);
        done += k;
        batch += 1;
    }
    out
}
