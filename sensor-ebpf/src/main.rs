//! XDP program of the mail/TLS sensor.
//!
//! For every frame it parses Ethernet, up to two VLAN tags, IPv4 or IPv6 (with
//! at most four extension headers) and the TCP/UDP ports, then:
//!
//! 1. a TCP/UDP frame whose source or destination port is in `PORTS`:
//!    - if its flow is in `BYPASS`, the flow's counters are updated and the
//!      frame is dropped (userspace asked not to see that flow any more),
//!      until the flow's first FIN or RST: from that one on, its frames go
//!      to userspace again, uncounted;
//!    - if the address filter (`FILTER`, when `CONFIG` enables it) rejects
//!      its addresses, it is treated as unmatched (3.);
//!    - otherwise it goes to the `AF_XDP` socket of its receive queue (`XSKS`),
//!      or to the host stack when no socket is bound there;
//! 2. an IP fragment, or an IPv6 packet with more extension headers than are
//!    walked here, also goes to userspace: only userspace can tell its ports.
//!    So does a tunnel carried straight in IP (IP in IP, IPv6 in IPv4, GRE):
//!    userspace decapsulates it and filters the inner packets by port (the
//!    UDP tunnels' ports are in `PORTS`).
//!    A fragment's address pair goes into `FRAGMENTED`: for a while after,
//!    a bypassed flow between the two addresses is marked closing at its
//!    next packet, uncounted, so that its fragmented data is not analysed
//!    after segments the kernel counted meanwhile;
//! 3. anything else (other ports or protocols, malformed frames) is passed to
//!    the host stack, or dropped when `CONFIG` says drop-unmatched; with
//!    `CONFIG.keep_all` every frame goes to userspace instead (full capture).
//!
//! `COUNTERS` counts each outcome. Map names, sizes and value layouts are in
//! `sensor-common`, shared with the userspace loader.
#![no_std]
#![no_main]

use core::mem::size_of;

use aya_log_ebpf::{debug, trace, warn};

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_ns, bpf_xdp_adjust_head, bpf_xdp_adjust_meta, bpf_xdp_store_bytes},
    macros::{map, xdp},
    maps::{lpm_trie::Key, Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, XskMap},
    programs::XdpContext,
};
use sensor_common::{
    AddressPair, BypassDirection, BypassKey, BypassValue, FrameMeta, XdpConfig, XdpCounter,
    BYPASS_MAX_ENTRIES, CIDR_ALLOW_ONLY, CIDR_DENY, CONFIG_INDEX, CONFIG_MAX_ENTRIES, FILTER_ALLOW,
    FILTER_DENY, FILTER_MAX_ENTRIES, FRAGMENTED_MAX_ENTRIES, FRAGMENTED_WINDOW_NS,
    FRAME_META_MAGIC, MAX_PORTS, PORT_KEEP, STAMP_IN_FRONT, STAMP_IN_METADATA, XSKS_MAX_ENTRIES,
};

/// Ports (host byte order) whose frames go to userspace: value `PORT_KEEP`.
#[map]
static PORTS: HashMap<u16, u8> = HashMap::with_max_entries(MAX_PORTS, 0);

/// `AF_XDP` sockets, keyed by the receive queue they are bound to.
#[map]
static XSKS: XskMap = XskMap::with_max_entries(XSKS_MAX_ENTRIES, 0);

/// Settings written by userspace; all zero means the defaults.
#[map]
static CONFIG: Array<XdpConfig> = Array::with_max_entries(CONFIG_MAX_ENTRIES, 0);

/// Flows userspace no longer wants to see, with their per-direction counters.
#[map]
static BYPASS: HashMap<BypassKey, BypassValue> = HashMap::with_max_entries(BYPASS_MAX_ENTRIES, 0);

/// Address pairs lately seen sending IP fragments, with the time of the
/// last one (see `sensor_common::FRAGMENTED_MAP`).
#[map]
static FRAGMENTED: LruHashMap<AddressPair, u64> =
    LruHashMap::with_max_entries(FRAGMENTED_MAX_ENTRIES, 0);

/// Address prefixes allowed or denied (`FILTER_ALLOW`, `FILTER_DENY`),
/// consulted only when `CONFIG.cidr` says so.
#[map]
static FILTER: LpmTrie<[u8; 16], u8> = LpmTrie::with_max_entries(FILTER_MAX_ENTRIES, 0);

/// Per-CPU frame counters, indexed by `XdpCounter`.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XdpCounter::COUNT, 0);

/// Length of an Ethernet header.
const ETH_HLEN: usize = 14;
/// EtherType of IPv4.
const ETH_P_IP: u16 = 0x0800;
/// EtherType of IPv6.
const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q VLAN tag.
const ETH_P_8021Q: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service VLAN tag.
const ETH_P_8021AD: u16 = 0x88a8;
/// Length of one VLAN tag.
const VLAN_HLEN: usize = 4;
/// VLAN tags skipped before giving up on a frame.
const MAX_VLAN_TAGS: usize = 2;

/// IP protocol number of TCP.
const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;
/// IP protocol number of IPv4 in IP.
const IPPROTO_IPIP: u8 = 4;
/// IP protocol number of IPv6 in IP.
const IPPROTO_IPV6: u8 = 41;
/// IP protocol number of GRE.
const IPPROTO_GRE: u8 = 47;
/// IPv6 hop-by-hop options header.
const IPPROTO_HOPOPTS: u8 = 0;
/// IPv6 routing header.
const IPPROTO_ROUTING: u8 = 43;
/// IPv6 fragment header.
const IPPROTO_FRAGMENT: u8 = 44;
/// IPv6 destination options header.
const IPPROTO_DSTOPTS: u8 = 60;

/// Length of an IPv4 header without options.
const IPV4_MIN_HLEN: usize = 20;
/// IPv4 "more fragments" flag and fragment offset bits.
const IPV4_FRAG_MASK: u16 = 0x3fff;
/// Length of the fixed IPv6 header.
const IPV6_HLEN: usize = 40;
/// IPv6 extension headers walked before sending a packet to userspace.
const MAX_IPV6_EXT_HEADERS: usize = 4;
/// Length of a TCP header without options.
const TCP_MIN_HLEN: usize = 20;
/// TCP FIN flag.
const TCP_FIN: u8 = 0x01;
/// TCP SYN flag.
const TCP_SYN: u8 = 0x02;
/// TCP RST flag.
const TCP_RST: u8 = 0x04;
/// TCP ACK flag.
const TCP_ACK: u8 = 0x10;
/// Length of a UDP header.
const UDP_HLEN: usize = 8;

/// Why a frame is not a TCP/UDP packet with known ports.
enum Unparsed {
    /// An IP fragment between two addresses: userspace must look.
    Fragment(AddressPair),
    /// An IPv6 fragment header (its addresses are added by the caller).
    Ipv6Fragment,
    /// Too many IPv6 extension headers: userspace must look.
    PortsUnknown,
    /// Not IP, or IP but neither TCP nor UDP.
    NotTcpUdp,
    /// A tunnel in IP: userspace decapsulates it.
    Tunnel,
    /// Truncated or inconsistent headers, and which.
    Malformed(Why),
}

/// Which header of a malformed frame is wrong (for the log).
#[derive(Clone, Copy)]
enum Why {
    Ethernet,
    Ipv4,
    Ipv6,
    Ipv6Extension,
    Tcp,
    Udp,
}

impl Why {
    /// What the log line says.
    #[inline(always)]
    fn text(self) -> &'static str {
        match self {
            Why::Ethernet => "truncated Ethernet/VLAN header",
            Why::Ipv4 => "truncated or inconsistent IPv4 header",
            Why::Ipv6 => "truncated or inconsistent IPv6 header",
            Why::Ipv6Extension => "truncated IPv6 extension header",
            Why::Tcp => "truncated or inconsistent TCP header",
            Why::Udp => "truncated UDP header",
        }
    }
}

/// The IP layer of a TCP/UDP packet.
struct Ip {
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    proto: u8,
    /// Source address, IPv6 or IPv4-mapped IPv6, network byte order.
    src: [u8; 16],
    /// Destination address, like `src`.
    dst: [u8; 16],
    /// IP total length (IPv6: payload length plus the fixed header).
    total_len: u32,
    /// Offset of the TCP/UDP header in the frame.
    l4_off: usize,
    /// Length of the TCP/UDP header and payload, per the IP header.
    l4_len: u32,
}

/// A TCP or UDP packet, as far as this program needs it.
struct Packet {
    /// The IP layer.
    ip: Ip,
    /// Source port, host byte order.
    src_port: u16,
    /// Destination port, host byte order.
    dst_port: u16,
    /// TCP: sequence number plus payload length (plus one for a FIN); UDP: 0.
    seq_end: u32,
    /// TCP: payload length; UDP: 0.
    payload_len: u32,
    /// TCP: the flags byte; UDP: 0.
    tcp_flags: u8,
}

/// Entry point: classifies a frame and returns the XDP action for it.
///
/// Frags-aware (`xdp.frags`): frames larger than a page (jumbo MTU, GRO on
/// virtual links) arrive as several buffers; only the headers, always in the
/// first buffer, are read here, and the `AF_XDP` socket takes every buffer.
#[xdp(frags)]
pub fn sensor_xdp(ctx: XdpContext) -> u32 {
    count(XdpCounter::Seen);
    let keep_all = CONFIG
        .get(CONFIG_INDEX)
        .is_some_and(|config| config.keep_all != 0);
    match parse(&ctx) {
        Ok(packet) => on_packet(&ctx, &packet, keep_all),
        Err(Unparsed::Fragment(pair)) => {
            note_fragment(&pair);
            to_userspace(&ctx)
        }
        Err(Unparsed::PortsUnknown | Unparsed::Ipv6Fragment | Unparsed::Tunnel) => {
            to_userspace(&ctx)
        }
        Err(Unparsed::NotTcpUdp) if keep_all => to_userspace(&ctx),
        Err(Unparsed::NotTcpUdp) => unmatched(&ctx),
        Err(Unparsed::Malformed(why)) => {
            count(XdpCounter::Malformed);
            let len = ctx.data_end() - ctx.data();
            debug!(&ctx, "malformed frame of {} bytes: {}", len, why.text());
            if keep_all {
                to_userspace(&ctx)
            } else {
                unmatched(&ctx)
            }
        }
    }
}

/// Decides the fate of a TCP/UDP packet with known ports.
#[inline(always)]
fn on_packet(ctx: &XdpContext, packet: &Packet, keep_all: bool) -> u32 {
    if !keep_all {
        if !port_kept(packet.src_port) && !port_kept(packet.dst_port) {
            return unmatched(ctx);
        }
        if !address_kept(packet) {
            return unmatched(ctx);
        }
    }
    // Only port-matched packets can belong to a bypassed flow (userspace saw
    // the flow first), so other packets skip this lookup.
    if bypass(packet) {
        count(XdpCounter::Bypassed);
        trace!(
            ctx,
            "dropped: a frame of bypassed flow {}->{} (counted in the bypass map)",
            packet.src_port,
            packet.dst_port
        );
        return xdp_action::XDP_DROP;
    }
    to_userspace(ctx)
}

/// Sends the frame to the `AF_XDP` socket of its receive queue, or to the host
/// stack when no socket is bound there.
#[inline(always)]
fn to_userspace(ctx: &XdpContext) -> u32 {
    count(XdpCounter::Matched);
    let moved = stamp(ctx);
    let queue = ctx.rx_queue_index();
    match XSKS.redirect(queue, 0) {
        Ok(action) => {
            count(XdpCounter::Redirected);
            action
        }
        Err(_) => {
            if moved {
                // The host gets the frame as it came.
                // SAFETY: gives back the headroom `stamp` took.
                unsafe { bpf_xdp_adjust_head(ctx.ctx, size_of::<FrameMeta>() as i32) };
            }
            count(XdpCounter::RedirectFailed);
            warn!(
                ctx,
                "redirect to the AF_XDP socket of queue {} failed (no socket bound there, or its ring is full); frame passed to the host",
                queue
            );
            xdp_action::XDP_PASS
        }
    }
}

/// Where [`stamp`] puts a frame's [`FrameMeta`] (see
/// [`sensor_common::STAMP_MODE_GLOBAL`]); set by the loader.
#[no_mangle]
static STAMP_MODE: u8 = STAMP_IN_METADATA;

/// Writes when the frame passed, for userspace to order frames of
/// different queues ([`FrameMeta`]): in the metadata area, or where the
/// kernel refuses the program that helper, in front of the frame (the
/// socket gets it, userspace takes it off); skipped where there is no
/// room, or the loader said not to. Returns whether the frame now starts
/// with the stamp.
#[inline(always)]
fn stamp(ctx: &XdpContext) -> bool {
    // SAFETY: a plain read of a global; volatile, so that the compiler
    // leaves the loader's value to be read (and the verifier to prune
    // the branches not taken, with their helpers).
    let mode = unsafe { core::ptr::read_volatile(&STAMP_MODE) };
    if mode == STAMP_IN_METADATA {
        stamp_metadata(ctx);
        false
    } else if mode == STAMP_IN_FRONT {
        stamp_in_front(ctx)
    } else {
        false
    }
}

/// [`stamp`] in the metadata area.
#[inline(always)]
fn stamp_metadata(ctx: &XdpContext) {
    let size = size_of::<FrameMeta>();
    // SAFETY: the helper only moves the metadata pointer of our context.
    if unsafe { bpf_xdp_adjust_meta(ctx.ctx, -(size as i32)) } != 0 {
        return;
    }
    let (meta, data) = (ctx.metadata(), ctx.data());
    if meta + size > data {
        return;
    }
    // SAFETY: the area lies between the checked metadata and data pointers.
    unsafe {
        let m = meta as *mut FrameMeta;
        (*m).ktime = bpf_ktime_get_ns();
        (*m).magic = FRAME_META_MAGIC;
    }
}

/// [`stamp`] in front of the frame, written by the kernel's own bounds-
/// checked store; returns whether the frame now starts with it.
#[inline(always)]
fn stamp_in_front(ctx: &XdpContext) -> bool {
    let size = size_of::<FrameMeta>() as i32;
    // SAFETY: the helper only moves the data pointer into the headroom.
    if unsafe { bpf_xdp_adjust_head(ctx.ctx, -size) } != 0 {
        return false;
    }
    let mut meta = FrameMeta {
        // SAFETY: a plain helper call.
        ktime: unsafe { bpf_ktime_get_ns() },
        magic: FRAME_META_MAGIC,
    };
    let buf = (&mut meta as *mut FrameMeta).cast();
    // SAFETY: the helper copies `size` bytes from our stack into the frame.
    if unsafe { bpf_xdp_store_bytes(ctx.ctx, 0, buf, size as u32) } == 0 {
        return true;
    }
    // SAFETY: gives back the headroom just taken.
    unsafe { bpf_xdp_adjust_head(ctx.ctx, size) };
    false
}

/// Passes a frame nobody asked for to the host stack, or drops it when the
/// configuration says so.
#[inline(always)]
fn unmatched(ctx: &XdpContext) -> u32 {
    let drop = CONFIG
        .get(CONFIG_INDEX)
        .is_some_and(|config| config.drop_unmatched != 0);
    if drop {
        count(XdpCounter::Dropped);
        debug!(ctx, "dropped: a frame not kept (--drop-unmatched)");
        xdp_action::XDP_DROP
    } else {
        count(XdpCounter::Passed);
        xdp_action::XDP_PASS
    }
}

/// Adds one to a per-CPU counter.
#[inline(always)]
fn count(counter: XdpCounter) {
    if let Some(value) = COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: the pointer is this CPU's slot of a live map element.
        unsafe { *value += 1 };
    }
}

/// Whether `port` is in the port map.
#[inline(always)]
fn port_kept(port: u16) -> bool {
    // SAFETY: the value is a plain byte, copied out at once.
    unsafe { PORTS.get(port) }.is_some_and(|value| *value == PORT_KEEP)
}

/// Whether the address filter (if any) keeps the packet.
#[inline(always)]
fn address_kept(packet: &Packet) -> bool {
    let cidr = match CONFIG.get(CONFIG_INDEX) {
        Some(config) => config.cidr,
        None => 0,
    };
    if cidr == 0 {
        return true;
    }
    let src = filter_value(&packet.ip.src);
    let dst = filter_value(&packet.ip.dst);
    if cidr & CIDR_DENY != 0 && (src == FILTER_DENY || dst == FILTER_DENY) {
        return false;
    }
    if cidr & CIDR_ALLOW_ONLY != 0 {
        return src == FILTER_ALLOW || dst == FILTER_ALLOW;
    }
    true
}

/// The address filter's verdict for `addr` (0: no prefix matches).
#[inline(never)]
fn filter_value(addr: &[u8; 16]) -> u8 {
    let key = Key::new(128, *addr);
    match FILTER.get(&key) {
        Some(value) => *value,
        None => 0,
    }
}

/// Remembers that `pair` sends fragments, and when.
#[inline(always)]
fn note_fragment(pair: &AddressPair) {
    // SAFETY: the helper has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    // A full LRU map evicts its oldest pair; a failed insert only means
    // the pair's flows may stay bypassed.
    let _ = FRAGMENTED.insert(pair, &now, 0);
}

/// Whether the packet's two addresses sent a fragment lately.
#[inline(always)]
fn lately_fragmented(packet: &Packet) -> bool {
    let pair = address_pair(&packet.ip.src, &packet.ip.dst);
    // SAFETY: the value is a plain u64, copied out at once.
    let Some(&at) = (unsafe { FRAGMENTED.get(&pair) }) else {
        return false;
    };
    // SAFETY: the helper has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    now.wrapping_sub(at) < FRAGMENTED_WINDOW_NS
}

/// Two addresses in map order, the lower first.
#[inline(always)]
fn address_pair(a: &[u8; 16], b: &[u8; 16]) -> AddressPair {
    if addr_order(a) <= addr_order(b) {
        AddressPair { lo: *a, hi: *b }
    } else {
        AddressPair { lo: *b, hi: *a }
    }
}

/// If the packet's flow is bypassed, updates its counters and returns true
/// (the packet is dropped). A flow's first FIN or RST marks it closing:
/// that packet and every later one go to userspace uncounted, so the close
/// is analysed from the real packets, after the counters are folded back.
/// So does its first packet after a fragment between its addresses.
#[inline(always)]
fn bypass(packet: &Packet) -> bool {
    let (key, from_lo) = flow_key(packet);
    let Some(value) = BYPASS.get_ptr_mut(key) else {
        return false;
    };
    // SAFETY: the pointer is a live map element. Updates from other CPUs may
    // race and lose an increment; a direction normally stays on one queue.
    unsafe {
        if (*value).closing != 0 {
            return false;
        }
        if packet.tcp_flags & (TCP_FIN | TCP_RST) != 0 || lately_fragmented(packet) {
            (*value).closing = 1;
            return false;
        }
    }
    // SAFETY: as above.
    let direction = unsafe {
        if from_lo {
            &mut (*value).from_lo
        } else {
            &mut (*value).from_hi
        }
    };
    update_direction(direction, packet);
    true
}

/// Adds a packet (neither FIN nor RST) to one direction's counters of a
/// bypassed flow.
#[inline(always)]
fn update_direction(direction: &mut BypassDirection, packet: &Packet) {
    direction.packets += 1;
    direction.ip_bytes += u64::from(packet.ip.total_len);
    // SAFETY: the helper has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    direction.last_ns = now;
    if packet.ip.proto != IPPROTO_TCP {
        return;
    }
    // Sequence numbers wrap: "higher" is serial-number arithmetic, and 0
    // means not known yet (userspace seeds it with what it saw).
    let ahead = packet.seq_end.wrapping_sub(direction.seq_end) as i32 > 0;
    if direction.seq_end == 0 || ahead {
        direction.seq_end = packet.seq_end;
    } else if packet.payload_len > 0 && packet.tcp_flags & TCP_SYN == 0 {
        // Data that ends where data was seen already: a retransmission.
        direction.rexmits += 1;
        if direction.first_rexmit_ns == 0 {
            direction.first_rexmit_ns = now;
        }
    }
    direction.tcp_flags |= packet.tcp_flags;
    // The first data and the first pure ACK, as conn.log's history letters
    // count them (a segment with SYN is neither).
    if packet.tcp_flags & TCP_SYN == 0 {
        if packet.payload_len > 0 {
            if direction.first_data_ns == 0 {
                direction.first_data_ns = now;
            }
        } else if packet.tcp_flags & TCP_ACK != 0 && direction.first_ack_ns == 0 {
            direction.first_ack_ns = now;
        }
    }
}

/// The direction-independent bypass key of a packet, and whether the packet
/// was sent by the key's `lo` endpoint.
#[inline(always)]
fn flow_key(packet: &Packet) -> (BypassKey, bool) {
    let src = (addr_order(&packet.ip.src), packet.src_port);
    let dst = (addr_order(&packet.ip.dst), packet.dst_port);
    let from_lo = src <= dst;
    let (lo, hi) = if from_lo {
        (
            (&packet.ip.src, packet.src_port),
            (&packet.ip.dst, packet.dst_port),
        )
    } else {
        (
            (&packet.ip.dst, packet.dst_port),
            (&packet.ip.src, packet.src_port),
        )
    };
    let key = BypassKey {
        addr_lo: *lo.0,
        addr_hi: *hi.0,
        port_lo: lo.1,
        port_hi: hi.1,
        proto: packet.ip.proto,
        _pad: [0; 3],
    };
    (key, from_lo)
}

/// An address as two big-endian words, which order like its bytes do.
#[inline(always)]
fn addr_order(addr: &[u8; 16]) -> (u64, u64) {
    let mut high = [0u8; 8];
    high.copy_from_slice(&addr[..8]);
    let mut low = [0u8; 8];
    low.copy_from_slice(&addr[8..]);
    (u64::from_be_bytes(high), u64::from_be_bytes(low))
}

/// Parses a frame down to its TCP/UDP ports.
#[inline(always)]
fn parse(ctx: &XdpContext) -> Result<Packet, Unparsed> {
    let (ethertype, l3_off) = parse_ethernet(ctx)?;
    let ip = match ethertype {
        ETH_P_IP => parse_ipv4(ctx, l3_off)?,
        ETH_P_IPV6 => parse_ipv6(ctx, l3_off)?,
        _ => return Err(Unparsed::NotTcpUdp),
    };
    parse_l4(ctx, ip)
}

/// Skips the Ethernet header and up to two VLAN tags; returns the inner
/// EtherType and the offset of the layer-3 header.
#[inline(always)]
fn parse_ethernet(ctx: &XdpContext) -> Result<(u16, usize), Unparsed> {
    let mut ethertype = load_be16(ctx, ETH_HLEN - 2)?;
    let mut off = ETH_HLEN;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        ethertype = load_be16(ctx, off + 2)?;
        off += VLAN_HLEN;
    }
    Ok((ethertype, off))
}

/// Parses an IPv4 header at `off`.
#[inline(always)]
fn parse_ipv4(ctx: &XdpContext, off: usize) -> Result<Ip, Unparsed> {
    let header = ptr_at::<[u8; IPV4_MIN_HLEN]>(ctx, off).ok_or(Unparsed::Malformed(Why::Ipv4))?;
    // SAFETY: `ptr_at` checked that the whole fixed header is in the frame.
    let h = unsafe { &*header };
    let header_len = usize::from(h[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if h[0] >> 4 != 4 || header_len < IPV4_MIN_HLEN || total_len < header_len {
        return Err(Unparsed::Malformed(Why::Ipv4));
    }
    let src = ipv4_mapped([h[12], h[13], h[14], h[15]]);
    let dst = ipv4_mapped([h[16], h[17], h[18], h[19]]);
    if u16::from_be_bytes([h[6], h[7]]) & IPV4_FRAG_MASK != 0 {
        return Err(Unparsed::Fragment(address_pair(&src, &dst)));
    }
    let proto = h[9];
    if is_tunnel(proto) {
        return Err(Unparsed::Tunnel);
    }
    if proto != IPPROTO_TCP && proto != IPPROTO_UDP {
        return Err(Unparsed::NotTcpUdp);
    }
    Ok(Ip {
        proto,
        src,
        dst,
        total_len: total_len as u32,
        l4_off: off + header_len,
        l4_len: (total_len - header_len) as u32,
    })
}

/// An IPv4 address as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
#[inline(always)]
fn ipv4_mapped(v4: [u8; 4]) -> [u8; 16] {
    let [a, b, c, d] = v4;
    // Written out, not zero-filled: LLVM would call an out-of-line memset.
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]
}

/// Parses an IPv6 header at `off` and walks its extension headers.
#[inline(always)]
fn parse_ipv6(ctx: &XdpContext, off: usize) -> Result<Ip, Unparsed> {
    let header = ptr_at::<[u8; IPV6_HLEN]>(ctx, off).ok_or(Unparsed::Malformed(Why::Ipv6))?;
    // SAFETY: `ptr_at` checked that the whole fixed header is in the frame.
    let h = unsafe { &*header };
    if h[0] >> 4 != 6 {
        return Err(Unparsed::Malformed(Why::Ipv6));
    }
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);

    let (proto, l4_off) = match skip_ipv6_extensions(ctx, h[6], off + IPV6_HLEN) {
        Ok(found) => found,
        Err(Unparsed::Ipv6Fragment) => return Err(Unparsed::Fragment(address_pair(&src, &dst))),
        Err(e) => return Err(e),
    };
    let ext_len = l4_off - (off + IPV6_HLEN);
    if payload_len < ext_len {
        return Err(Unparsed::Malformed(Why::Ipv6Extension));
    }
    Ok(Ip {
        proto,
        src,
        dst,
        total_len: (payload_len + IPV6_HLEN) as u32,
        l4_off,
        l4_len: (payload_len - ext_len) as u32,
    })
}

/// Walks at most four IPv6 extension headers from `next` at `off`; returns the
/// TCP/UDP protocol number and the offset of its header.
#[inline(always)]
fn skip_ipv6_extensions(
    ctx: &XdpContext,
    mut next: u8,
    mut off: usize,
) -> Result<(u8, usize), Unparsed> {
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        match next {
            IPPROTO_TCP | IPPROTO_UDP => return Ok((next, off)),
            IPPROTO_FRAGMENT => return Err(Unparsed::Ipv6Fragment),
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS => {
                let ext =
                    ptr_at::<[u8; 2]>(ctx, off).ok_or(Unparsed::Malformed(Why::Ipv6Extension))?;
                // SAFETY: `ptr_at` checked both bytes are in the frame.
                let [ext_next, ext_len] = unsafe { *ext };
                next = ext_next;
                off += (usize::from(ext_len) + 1) * 8;
            }
            p if is_tunnel(p) => return Err(Unparsed::Tunnel),
            _ => return Err(Unparsed::NotTcpUdp),
        }
    }
    match next {
        IPPROTO_TCP | IPPROTO_UDP => Ok((next, off)),
        IPPROTO_FRAGMENT => Err(Unparsed::Ipv6Fragment),
        IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS => Err(Unparsed::PortsUnknown),
        p if is_tunnel(p) => Err(Unparsed::Tunnel),
        _ => Err(Unparsed::NotTcpUdp),
    }
}

/// Whether IP protocol `proto` is a tunnel userspace decapsulates.
#[inline(always)]
fn is_tunnel(proto: u8) -> bool {
    proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 || proto == IPPROTO_GRE
}

/// Reads the ports (and for TCP the sequence end and flags) of `ip`'s payload.
#[inline(always)]
fn parse_l4(ctx: &XdpContext, ip: Ip) -> Result<Packet, Unparsed> {
    if ip.proto == IPPROTO_TCP {
        let header =
            ptr_at::<[u8; TCP_MIN_HLEN]>(ctx, ip.l4_off).ok_or(Unparsed::Malformed(Why::Tcp))?;
        // SAFETY: `ptr_at` checked that the fixed TCP header is in the frame.
        let t = unsafe { &*header };
        let header_len = u32::from(t[12] >> 4) * 4;
        if header_len < TCP_MIN_HLEN as u32 || header_len > ip.l4_len {
            return Err(Unparsed::Malformed(Why::Tcp));
        }
        let seq = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
        Ok(Packet {
            src_port: u16::from_be_bytes([t[0], t[1]]),
            dst_port: u16::from_be_bytes([t[2], t[3]]),
            // A FIN takes one sequence number, as data does.
            seq_end: seq
                .wrapping_add(ip.l4_len - header_len)
                .wrapping_add(u32::from(t[13] & TCP_FIN)),
            payload_len: ip.l4_len - header_len,
            tcp_flags: t[13],
            ip,
        })
    } else {
        let header =
            ptr_at::<[u8; UDP_HLEN]>(ctx, ip.l4_off).ok_or(Unparsed::Malformed(Why::Udp))?;
        // SAFETY: `ptr_at` checked that the UDP header is in the frame.
        let u = unsafe { &*header };
        Ok(Packet {
            src_port: u16::from_be_bytes([u[0], u[1]]),
            dst_port: u16::from_be_bytes([u[2], u[3]]),
            seq_end: 0,
            payload_len: 0,
            tcp_flags: 0,
            ip,
        })
    }
}

/// Reads a big-endian `u16` at `off`.
#[inline(always)]
fn load_be16(ctx: &XdpContext, off: usize) -> Result<u16, Unparsed> {
    let bytes = ptr_at::<[u8; 2]>(ctx, off).ok_or(Unparsed::Malformed(Why::Ethernet))?;
    // SAFETY: `ptr_at` checked both bytes are in the frame.
    Ok(u16::from_be_bytes(unsafe { *bytes }))
}

/// A pointer to a `T` at `off` in the frame, if all of it is in the frame:
/// the bounds check the verifier needs before every packet access.
#[inline(always)]
fn ptr_at<T>(ctx: &XdpContext, off: usize) -> Option<*const T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + size_of::<T>() > end {
        return None;
    }
    Some((start + off) as *const T)
}

/// Never reached: the program has no panicking paths (the verifier would
/// reject this loop otherwise).
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// License of the program, as the kernel reads it (GPL-compatible).
#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
