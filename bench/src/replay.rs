//! Replaying captures onto an interface, at a controlled rate.
//!
//! A capture is loaded into memory once, converted to Ethernet frames (raw
//! IP, BSD loopback and Linux cooked captures get an Ethernet header with
//! zero addresses, which the sensor does not log), then sent either through
//! an `AF_PACKET` socket (simple, a system call per frame) or through an
//! `AF_XDP` socket's TX ring (batched, the fast replayer the benchmark needs
//! beyond what tcpreplay reaches on a veth pair).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sensor::capture::afxdp::{BindMode, XskConfig, XskSocket};
use sensor::capture::pcap::PcapFile;
use sensor::decode::LinkType;

/// Frames of a capture, as Ethernet, back to back in one buffer.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    data: Vec<u8>,
    /// (offset, length) of each frame in `data`.
    frames: Vec<(usize, usize)>,
    /// Frames that could not be converted (unknown link type).
    pub skipped: u64,
}

impl Capture {
    /// Loads a pcap or pcapng file.
    pub fn load(path: &Path) -> Result<Capture> {
        let mut file = PcapFile::open(path).with_context(|| format!("{}", path.display()))?;
        let mut cap = Capture::default();
        loop {
            let mut ok = true;
            let more = file
                .next_frame(|f| ok = cap.push(f.link, f.data))
                .with_context(|| format!("{}", path.display()))?;
            if !more {
                break;
            }
            if !ok {
                cap.skipped += 1;
            }
        }
        Ok(cap)
    }

    /// Frames from memory (already Ethernet).
    pub fn from_frames<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Capture {
        let mut cap = Capture::default();
        for f in frames {
            cap.push(LinkType::ETHERNET, f);
        }
        cap
    }

    /// Adds a frame of link type `link`; false if it cannot be converted.
    pub fn push(&mut self, link: LinkType, frame: &[u8]) -> bool {
        let ip_ethertype = |ip: &[u8]| match ip.first().map(|b| b >> 4) {
            Some(4) => Some(0x0800u16),
            Some(6) => Some(0x86dd),
            _ => None,
        };
        let (ethertype, payload) = match link {
            LinkType::ETHERNET => {
                let start = self.data.len();
                self.data.extend_from_slice(frame);
                self.frames.push((start, frame.len()));
                return true;
            }
            LinkType::RAW | LinkType::RAW_OLD | LinkType::RAW_BSD => (ip_ethertype(frame), frame),
            LinkType::NULL | LinkType::LOOP if frame.len() >= 4 => {
                (ip_ethertype(&frame[4..]), &frame[4..])
            }
            LinkType::LINUX_SLL if frame.len() >= 16 => (
                Some(u16::from_be_bytes([frame[14], frame[15]])),
                &frame[16..],
            ),
            LinkType::LINUX_SLL2 if frame.len() >= 20 => {
                (Some(u16::from_be_bytes([frame[0], frame[1]])), &frame[20..])
            }
            LinkType::PPP => {
                // Address and control bytes (optional), then the protocol:
                // IPv4 (0x0021) or IPv6 (0x0057).
                let body = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
                match body {
                    [0x00, 0x21, ip @ ..] => (Some(0x0800), ip),
                    [0x00, 0x57, ip @ ..] => (Some(0x86dd), ip),
                    _ => (None, body),
                }
            }
            _ => (None, frame),
        };
        let Some(ethertype) = ethertype else {
            return false;
        };
        let start = self.data.len();
        self.data.extend_from_slice(&[0u8; 12]);
        self.data.extend_from_slice(&ethertype.to_be_bytes());
        self.data.extend_from_slice(payload);
        self.frames.push((start, 14 + payload.len()));
        true
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frame `i`.
    pub fn frame(&self, i: usize) -> &[u8] {
        let (o, l) = self.frames[i];
        &self.data[o..o + l]
    }

    /// Total bytes of all frames.
    pub fn bytes(&self) -> u64 {
        self.frames.iter().map(|(_, l)| *l as u64).sum()
    }

    /// Longest frame.
    pub fn max_frame(&self) -> usize {
        self.frames.iter().map(|(_, l)| *l).max().unwrap_or(0)
    }
}

/// What a replay did.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplayStats {
    /// Frames handed to the interface.
    pub sent: u64,
    /// Frames the interface refused.
    pub failed: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Time from first to last frame.
    pub elapsed: Duration,
}

impl ReplayStats {
    /// Frames per second achieved.
    pub fn pps(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How a replay paces and repeats.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Frames per second (None: as fast as the socket takes them).
    pub pps: Option<f64>,
    /// Passes over the capture.
    pub loops: u32,
}

/// Waits until frame `n` is due.
fn pace(start: Instant, n: u64, pps: Option<f64>) {
    let Some(pps) = pps else { return };
    let due = start + Duration::from_secs_f64(n as f64 / pps);
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > Duration::from_micros(200) {
            std::thread::sleep(left - Duration::from_micros(100));
        } else {
            std::hint::spin_loop();
        }
    }
}

fn ifindex(iface: &str) -> Result<u32> {
    sensor::capture::xdp::ifindex(iface).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Sends the capture through an `AF_PACKET` socket on `iface` (in the
/// calling thread's network namespace).
pub fn replay_packet_socket(iface: &str, cap: &Capture, p: Pace) -> Result<ReplayStats> {
    let index = ifindex(iface)?;
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        bail!(
            "AF_PACKET socket: {} (needs CAP_NET_RAW)",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: zeroed plain struct.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = index as i32;
    sll.sll_halen = 6;
    let mut st = ReplayStats::default();
    let start = Instant::now();
    let mut n = 0u64;
    for _ in 0..p.loops.max(1) {
        for i in 0..cap.len() {
            pace(start, n, p.pps);
            n += 1;
            let f = cap.frame(i);
            // SAFETY: sendto with a valid buffer and address.
            let rc = unsafe {
                libc::sendto(
                    fd,
                    f.as_ptr() as *const libc::c_void,
                    f.len(),
                    0,
                    &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc < 0 {
                st.failed += 1;
            } else {
                st.sent += 1;
                st.bytes += f.len() as u64;
            }
        }
    }
    st.elapsed = start.elapsed();
    // SAFETY: closing our socket.
    unsafe { libc::close(fd) };
    Ok(st)
}

/// Sends the capture through an `AF_XDP` socket's TX ring on queue 0 of
/// `iface`, in batches. Frames longer than a UMEM frame are sent through
/// `AF_PACKET` instead.
pub fn replay_xdp(iface: &str, cap: &Capture, p: Pace) -> Result<ReplayStats> {
    replay_xdp_queues(iface, cap, p, 1)
}

/// Which of two directions a frame goes: 0 from the lower endpoint
/// (address, then port), 1 from the higher; 0 when not TCP/UDP over IP.
pub fn direction(frame: &[u8]) -> usize {
    let opts = sensor::decode::DecodeOptions::default();
    let Ok((_, ip)) = sensor::decode::decode_link(LinkType::ETHERNET, frame, &opts) else {
        return 0;
    };
    let ports = match sensor::decode::decode_transport(&ip, &opts) {
        Ok(sensor::decode::Transport::Tcp(t)) => (t.src_port(), t.dst_port()),
        Ok(sensor::decode::Transport::Udp(u)) => (u.src_port(), u.dst_port()),
        _ => return 0,
    };
    let src = (sensor::flow::key::addr16(ip.src), ports.0);
    let dst = (sensor::flow::key::addr16(ip.dst), ports.1);
    usize::from(src > dst)
}

/// Like [`replay_xdp`] over `queues` transmit queues: a frame goes out on
/// queue [`direction`] (modulo `queues`), so the two directions of a
/// connection arrive on different receive queues of the peer.
pub fn replay_xdp_queues(iface: &str, cap: &Capture, p: Pace, queues: u32) -> Result<ReplayStats> {
    let index = ifindex(iface)?;
    let cfg = XskConfig {
        frames: 8192,
        rx_ring: 2048,
        tx_ring: 4096,
        mode: BindMode::Auto,
        busy_poll_us: 0,
    };
    let mut socks = Vec::new();
    for q in 0..queues.max(1) {
        socks.push(XskSocket::bind(index, q, &cfg).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let mut st = ReplayStats::default();
    let start = Instant::now();
    let mut n = 0u64;
    for _ in 0..p.loops.max(1) {
        for i in 0..cap.len() {
            pace(start, n, p.pps);
            n += 1;
            let f = cap.frame(i);
            if f.len() > sensor::capture::afxdp::FRAME_SIZE as usize {
                // Frames queued on the rings go first: the large frame must
                // not overtake them.
                drain(&mut socks, Duration::from_secs(2));
                let one = Capture::from_frames([f]);
                let r = replay_packet_socket(
                    iface,
                    &one,
                    Pace {
                        pps: None,
                        loops: 1,
                    },
                )?;
                st.sent += r.sent;
                st.failed += r.failed;
                st.bytes += r.bytes;
                continue;
            }
            let sock = &mut socks[direction(f) % queues.max(1) as usize];
            let mut spins = 0u32;
            while !sock.send(f) {
                sock.complete_tx();
                spins += 1;
                if spins > 1_000_000 {
                    bail!("AF_XDP transmit on {iface} is stuck");
                }
            }
            st.sent += 1;
            st.bytes += f.len() as u64;
            // Paced, or over several queues, every frame goes out at once
            // (copy mode transmits on a kick): a frame held back on one
            // queue would be overtaken by later frames on another.
            if p.pps.is_some() || queues > 1 || n.is_multiple_of(64) {
                sock.complete_tx();
            }
        }
    }
    drain(&mut socks, Duration::from_secs(2));
    for sock in &socks {
        st.failed += sock.stats().tx_invalid_descs;
    }
    st.elapsed = start.elapsed();
    Ok(st)
}

/// Waits (up to `limit`) until every frame queued on the sockets' transmit
/// rings has gone out.
fn drain(socks: &mut [XskSocket], limit: Duration) {
    let deadline = Instant::now() + limit;
    for sock in socks {
        while sock.tx_outstanding() > 0 && Instant::now() < deadline {
            sock.complete_tx();
            std::thread::yield_now();
        }
    }
}
