//! Types shared by the in-kernel XDP program (`sensor-ebpf`) and the userspace
//! sensor (`sensor-user`).
//!
//! Everything here is `#[repr(C)]`, `Copy` and free of `std`, so that the kernel
//! program and userspace agree on map layouts byte for byte. Define a map key or
//! counter once, here, and use it on both sides.
#![no_std]

/// The mail and TLS ports the sensor keeps by default: SMTP (25, 465, 587),
/// POP3 (110, 995), IMAP (143, 993) and TLS (443).
pub const DEFAULT_PORTS: [u16; 8] = [25, 465, 587, 110, 995, 143, 993, 443];

/// Maximum number of entries in the port filter map.
pub const MAX_PORTS: u32 = 1024;

/// Value stored in the port filter map for a port whose packets are kept.
pub const PORT_KEEP: u8 = 1;

/// Indexes of the per-CPU packet counters kept by the XDP program.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpCounter {
    /// Every frame the program saw.
    Seen = 0,
    /// Frames whose TCP/UDP port is in the port map.
    Matched = 1,
    /// Matched frames successfully redirected to an AF_XDP socket.
    Redirected = 2,
    /// Matched frames whose redirect failed (no socket bound on that queue).
    RedirectFailed = 3,
    /// Frames of bypassed flows: counted in the bypass map and dropped.
    Bypassed = 4,
    /// Unmatched frames dropped because `--drop-unmatched` is set.
    Dropped = 5,
    /// Unmatched frames passed to the host stack.
    Passed = 6,
    /// Frames too short or malformed to parse up to the ports.
    Malformed = 7,
}

impl XdpCounter {
    /// Number of counters, the size of the per-CPU counter array.
    pub const COUNT: u32 = 8;

    /// All counters in index order, for printing.
    pub const ALL: [XdpCounter; 8] = [
        XdpCounter::Seen,
        XdpCounter::Matched,
        XdpCounter::Redirected,
        XdpCounter::RedirectFailed,
        XdpCounter::Bypassed,
        XdpCounter::Dropped,
        XdpCounter::Passed,
        XdpCounter::Malformed,
    ];

    /// The counter's name as it appears in stats.log.
    pub const fn name(self) -> &'static str {
        match self {
            XdpCounter::Seen => "xdp_seen",
            XdpCounter::Matched => "xdp_matched",
            XdpCounter::Redirected => "xdp_redirected",
            XdpCounter::RedirectFailed => "xdp_redirect_failed",
            XdpCounter::Bypassed => "xdp_bypassed",
            XdpCounter::Dropped => "xdp_dropped",
            XdpCounter::Passed => "xdp_passed",
            XdpCounter::Malformed => "xdp_malformed",
        }
    }
}

/// Key of the bypass map: one direction-independent TCP/UDP flow.
///
/// Addresses are IPv6 or IPv4-mapped IPv6 (`::ffff:a.b.c.d`), in network byte
/// order; the (address, port) pair that sorts lower comes first, so both
/// directions of a connection find the same entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct BypassKey {
    /// Lower (address, port) endpoint's address.
    pub addr_lo: [u8; 16],
    /// Higher (address, port) endpoint's address.
    pub addr_hi: [u8; 16],
    /// Port of `addr_lo`, host byte order.
    pub port_lo: u16,
    /// Port of `addr_hi`, host byte order.
    pub port_hi: u16,
    /// IP protocol number (6 TCP, 17 UDP).
    pub proto: u8,
    /// Explicit padding so the layout has no hidden bytes.
    pub _pad: [u8; 3],
}

/// Per-direction counters the XDP program keeps for a bypassed flow, for
/// the packets before the flow's first FIN or RST (those and every later
/// packet go to userspace).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BypassDirection {
    /// Packets seen in this direction while bypassed.
    pub packets: u64,
    /// IP bytes (IP total length) seen in this direction while bypassed.
    pub ip_bytes: u64,
    /// Highest TCP sequence number end seen (seq + payload length), host
    /// order; 0 until known.
    pub seq_end: u32,
    /// OR of every TCP flag byte seen in this direction.
    pub tcp_flags: u8,
    /// Explicit padding.
    pub _pad: [u8; 3],
    /// Last packet time, `bpf_ktime_get_ns` clock.
    pub last_ns: u64,
    /// Time of the first segment with payload (0: none), so userspace can
    /// put conn.log's `D`/`d` history letter in its place.
    pub first_data_ns: u64,
    /// Time of the first pure acknowledgement (ACK, no payload, no SYN, FIN
    /// or RST; 0: none), for the `A`/`a` letter.
    pub first_ack_ns: u64,
    /// Retransmissions: segments with payload whose end is not past
    /// `seq_end` (conn.log's `T`/`t` history letters).
    pub rexmits: u64,
    /// Time of the first retransmission (0: none), to put its letter in
    /// its place.
    pub first_rexmit_ns: u64,
}

/// Value of the bypass map: counters for the `lo` and `hi` directions of a
/// [`BypassKey`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BypassValue {
    /// Packets sent by the `addr_lo`/`port_lo` endpoint.
    pub from_lo: BypassDirection,
    /// Packets sent by the `addr_hi`/`port_hi` endpoint.
    pub from_hi: BypassDirection,
    /// Non-zero once a FIN or RST was seen in either direction: from then on
    /// the flow's packets go to userspace, uncounted, and the worker folds
    /// the counters back and ends the bypass when the first one arrives.
    pub closing: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// What the XDP program writes in front of every frame it sends to an
/// `AF_XDP` socket (the frame's metadata area): when the frame passed it.
/// Workers order the frames of different queues by it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FrameMeta {
    /// `bpf_ktime_get_ns` when the frame passed the program.
    pub ktime: u64,
    /// [`FRAME_META_MAGIC`]: the metadata is there.
    pub magic: u64,
}

/// Marks a [`FrameMeta`] as written.
pub const FRAME_META_MAGIC: u64 = 0x5345_4e53_4f52_6d31;

/// Name of the XDP program's read-only global (`u8`) that says where it
/// writes each frame's [`FrameMeta`]: [`STAMP_IN_METADATA`] as built,
/// [`STAMP_IN_FRONT`] or [`STAMP_NONE`]. The verifier prunes the branches
/// not taken, so a kernel that refuses a helper to the program still loads
/// it with a mode that does not call it.
pub const STAMP_MODE_GLOBAL: &str = "STAMP_MODE";
/// [`FrameMeta`] in the frame's metadata area (`bpf_xdp_adjust_meta`).
pub const STAMP_IN_METADATA: u8 = 1;
/// [`FrameMeta`] in front of the frame (`bpf_xdp_adjust_head`): the socket
/// gets it as the frame's first bytes, which userspace takes off.
pub const STAMP_IN_FRONT: u8 = 2;
/// No [`FrameMeta`].
pub const STAMP_NONE: u8 = 0;

/// Name of the XDP program (its function and ELF symbol) in the `sensor-ebpf`
/// object; the ELF section is `xdp`.
pub const XDP_PROGRAM: &str = "sensor_xdp";

/// Name of the port filter map: `HashMap<u16, u8>`, key a TCP/UDP port in host
/// byte order, value [`PORT_KEEP`]; at most [`MAX_PORTS`] entries.
pub const PORTS_MAP: &str = "PORTS";

/// Name of the `AF_XDP` socket map (`XSKMAP`): key the NIC receive queue index,
/// value an `AF_XDP` socket bound to that queue.
pub const XSKS_MAP: &str = "XSKS";

/// Maximum number of entries in the `AF_XDP` socket map, so the highest receive
/// queue index that can be redirected is `XSKS_MAX_ENTRIES - 1`.
pub const XSKS_MAX_ENTRIES: u32 = 256;

/// Name of the configuration map: an `Array<XdpConfig>` of
/// [`CONFIG_MAX_ENTRIES`] element, read at index [`CONFIG_INDEX`].
pub const CONFIG_MAP: &str = "CONFIG";

/// Number of entries in the configuration map.
pub const CONFIG_MAX_ENTRIES: u32 = 1;

/// Index of the one [`XdpConfig`] in the configuration map.
pub const CONFIG_INDEX: u32 = 0;

/// Name of the bypass map: a hash map from [`BypassKey`] to [`BypassValue`]
/// of at most [`BYPASS_MAX_ENTRIES`] entries (userspace may set another size
/// when it loads the program).
///
/// A plain hash map, not an LRU: an LRU would evict a bypassed flow, and the
/// packets it had counted since the last fold would be lost to conn.log.
/// When the map is full, a new flow is simply not bypassed (counted).
pub const BYPASS_MAP: &str = "BYPASS";

/// Default number of flows the bypass map holds.
pub const BYPASS_MAX_ENTRIES: u32 = 65_536;

/// Name of the map of address pairs lately seen sending IP fragments: an
/// LRU hash map from [`AddressPair`] to the time (`bpf_ktime_get_ns`) of
/// the pair's last fragment, written by the XDP program alone.
///
/// The kernel cannot tell a fragment's flow, so fragments always go to
/// userspace, and a bypassed flow whose later data came in fragments would
/// see that data land after segments the kernel counted meanwhile. So for
/// [`FRAGMENTED_WINDOW_NS`] after a fragment between two addresses, the
/// program counts no packet of a bypassed flow between them: it marks the
/// flow closing and sends the packet up, and userspace folds the counters
/// back before analysing it.
pub const FRAGMENTED_MAP: &str = "FRAGMENTED";

/// Address pairs the fragment map remembers (least recently used first out).
pub const FRAGMENTED_MAX_ENTRIES: u32 = 4096;

/// How long a fragment keeps its address pair's flows out of the bypass.
pub const FRAGMENTED_WINDOW_NS: u64 = 30_000_000_000;

/// Two addresses, as in [`BypassKey`] (IPv6 or IPv4-mapped, network byte
/// order), the lower first.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddressPair {
    /// The lower address.
    pub lo: [u8; 16],
    /// The higher address.
    pub hi: [u8; 16],
}

/// Name of the per-CPU counter map: a `PerCpuArray<u64>` of
/// [`XdpCounter::COUNT`] entries, indexed by [`XdpCounter`].
pub const COUNTERS_MAP: &str = "COUNTERS";

/// Settings userspace passes to the XDP program through the configuration map.
///
/// An all-zero value (the map's initial content) is the default behaviour.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct XdpConfig {
    /// Non-zero: drop the frames that are neither sent to userspace nor bypassed
    /// (other ports, non-TCP/UDP, non-IP, malformed) instead of passing them to
    /// the host stack.
    pub drop_unmatched: u32,
    /// Address filter over `FILTER` for port-matched frames: bit
    /// [`CIDR_DENY`] set: frames to or from a denied prefix are treated as
    /// unmatched; bit [`CIDR_ALLOW_ONLY`] set: only frames to or from an
    /// allowed prefix are kept.
    pub cidr: u32,
    /// Non-zero: every frame goes to userspace whatever its ports or
    /// protocol (full capture through `AF_XDP`); bypass still applies.
    pub keep_all: u32,
    /// Reserved for later settings; keep zero.
    pub _reserved: u32,
}

/// [`XdpConfig::cidr`] bit: the `FILTER` map holds denied prefixes.
pub const CIDR_DENY: u32 = 1;

/// [`XdpConfig::cidr`] bit: keep only frames to or from an allowed prefix.
pub const CIDR_ALLOW_ONLY: u32 = 2;

/// Name of the address filter: an LPM trie from ([`FilterKey`]) prefixes of
/// IPv6 or IPv4-mapped addresses to [`FILTER_ALLOW`] or [`FILTER_DENY`].
pub const FILTER_MAP: &str = "FILTER";

/// Maximum number of prefixes in the address filter.
pub const FILTER_MAX_ENTRIES: u32 = 4096;

/// Address filter value: the prefix is allowed.
pub const FILTER_ALLOW: u8 = 1;

/// Address filter value: the prefix is denied.
pub const FILTER_DENY: u8 = 2;

/// Key of the address filter, laid out as the kernel's LPM trie wants it: the
/// prefix length in bits, then the address (IPv4 as `::ffff:a.b.c.d`, its
/// prefix length plus 96).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FilterKey {
    /// Prefix length in bits, 0..=128.
    pub prefix_len: u32,
    /// The address, network byte order.
    pub addr: [u8; 16],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<BypassKey>(), 16 + 16 + 2 + 2 + 1 + 3);
        assert_eq!(
            core::mem::size_of::<BypassDirection>(),
            8 + 8 + 4 + 1 + 3 + 8 + 8 + 8 + 8 + 8
        );
        assert_eq!(core::mem::size_of::<FilterKey>(), 20);
        assert_eq!(
            core::mem::size_of::<BypassValue>(),
            2 * core::mem::size_of::<BypassDirection>() + 8
        );
    }

    #[test]
    fn xdp_config_layout_is_fixed() {
        assert_eq!(core::mem::size_of::<XdpConfig>(), 16);
        assert_eq!(XdpConfig::default().drop_unmatched, 0);
    }

    #[test]
    fn counter_indexes_are_dense() {
        for (i, c) in XdpCounter::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32);
        }
        assert_eq!(XdpCounter::ALL.len() as u32, XdpCounter::COUNT);
    }
}
