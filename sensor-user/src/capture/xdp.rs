//! The XDP program's userspace side: loads the embedded `sensor-ebpf`
//! object, attaches it to an interface (native mode, generic as a fallback),
//! and reads and writes its maps: ports, address filter, `AF_XDP` sockets,
//! settings, counters and bypassed flows.
//!
//! Map names and layouts come from `sensor-common`. The bypass and settings
//! maps are used through the raw `bpf(2)` map calls on their descriptors, so
//! any worker thread can update them without locks or allocation.

use std::fmt;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use aya::maps::lpm_trie::{Key as LpmKey, LpmTrie};
use aya::maps::{HashMap, Map, MapData, PerCpuArray, XskMap};
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use sensor_common::{
    BypassKey, BypassValue, XdpConfig, XdpCounter, BYPASS_MAP, CIDR_ALLOW_ONLY, CIDR_DENY,
    CONFIG_INDEX, CONFIG_MAP, COUNTERS_MAP, FILTER_ALLOW, FILTER_DENY, FILTER_MAP, MAX_PORTS,
    PORTS_MAP, PORT_KEEP, STAMP_IN_FRONT, STAMP_IN_METADATA, STAMP_MODE_GLOBAL, STAMP_NONE,
    XDP_PROGRAM, XSKS_MAP,
};

/// The XDP object, built by `cargo xtask build-ebpf` and embedded at build
/// time (empty when it was not built first).
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor-ebpf.o"));

/// Whether this binary carries the XDP program.
pub fn object_embedded() -> bool {
    !OBJECT.is_empty()
}

/// Why the XDP side could not be set up: one line naming cause and fix.
#[derive(Debug)]
pub struct XdpError(pub String);

impl fmt::Display for XdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XdpError {}

fn fail<T>(msg: String) -> Result<T, XdpError> {
    Err(XdpError(msg))
}

/// Where the program ended up running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver (fast path).
    Native,
    /// In the generic network stack (slower; the driver lacks XDP).
    Generic,
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        })
    }
}

/// A prefix of the address filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l.trim().parse::<u8>().ok().filter(|l| *l <= max)?,
            None => max,
        };
        Some(Cidr { addr, len })
    }

    /// The LPM key: IPv4 as IPv4-mapped IPv6.
    fn key(&self) -> LpmKey<[u8; 16]> {
        match self.addr {
            IpAddr::V4(v4) => LpmKey::new(u32::from(self.len) + 96, v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => LpmKey::new(u32::from(self.len), v6.octets()),
        }
    }
}

/// The loaded and attached XDP program with its maps. Dropping it detaches
/// the program.
pub struct XdpProgram {
    ebpf: Ebpf,
    mode: AttachMode,
    xsks: XskMap<MapData>,
    counters: PerCpuArray<MapData, u64>,
    config: MapData,
    bypass: MapData,
    ports: HashMap<MapData, u16, u8>,
    filter: LpmTrie<MapData, [u8; 16], u8>,
    config_value: XdpConfig,
    /// The program's log lines (`--ebpf-log`), when on.
    logger: Option<aya_log::EbpfLogger<StderrLog>>,
    /// Where the program stamps frames.
    variant: XdpVariant,
}

/// Where the XDP program stamps frames, as the kernel allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpVariant {
    /// In each frame's metadata area (the default).
    Full,
    /// In front of each frame, taken off by the socket's reader: the kernel
    /// refuses the metadata helper to the program.
    InFront,
    /// Not at all: frames of different queues are ordered by their arrival
    /// in userspace.
    Unstamped,
}

/// How much the XDP program logs (`--ebpf-log`): a load-time constant of
/// the program, so with logging off the verifier removes the logging code
/// and it costs nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum EbpfLog {
    /// Nothing (the default).
    #[default]
    Off,
    /// Failures: redirects that fail.
    Warn,
    /// Also frames dropped or found malformed, and why.
    Debug,
    /// Also every frame of a bypassed flow (very verbose).
    Trace,
}

impl EbpfLog {
    /// The value of the program's `AYA_LOG_LEVEL`.
    fn level(self) -> u8 {
        match self {
            EbpfLog::Off => 0,
            EbpfLog::Warn => aya_log::Level::Warn as u8,
            EbpfLog::Debug => aya_log::Level::Debug as u8,
            EbpfLog::Trace => aya_log::Level::Trace as u8,
        }
    }
}

/// Writes the XDP program's log lines to standard error, one line each.
pub struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        eprintln!(
            "sensor: xdp: {}: {}",
            record.level().as_str().to_ascii_lowercase(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Loads the embedded object (its bypass map sized for `bypass_flows`
/// flows) and its XDP program into the kernel, stamping frames as `mode`
/// says ([`STAMP_MODE_GLOBAL`]).
fn load(bypass_flows: u32, log: EbpfLog, mode: u8) -> Result<Ebpf, XdpError> {
    let level = log.level();
    let mut ebpf = EbpfLoader::new()
        .map_max_entries(BYPASS_MAP, bypass_flows.max(1))
        .override_global(aya_log::LEVEL, &level, false)
        .override_global(STAMP_MODE_GLOBAL, &mode, true)
        .load(OBJECT)
        .map_err(|e| {
            XdpError(format!(
                "loading the XDP program failed: {e}{}",
                privilege_hint(&e.to_string())
            ))
        })?;
    program(&mut ebpf)?.load().map_err(|e| {
        XdpError(format!(
            "the kernel refused the XDP program: {e}{}",
            privilege_hint(&format!("{e:?}"))
        ))
    })?;
    Ok(ebpf)
}

/// The object's XDP program.
fn program(ebpf: &mut Ebpf) -> Result<&mut Xdp, XdpError> {
    match ebpf.program_mut(XDP_PROGRAM).map(|p| p.try_into()) {
        Some(Ok(p)) => Ok(p),
        _ => fail(format!(
            "the embedded object has no XDP program {XDP_PROGRAM}; rebuild it with `cargo xtask build-ebpf`"
        )),
    }
}

/// Returns the index of `iface`, or an error naming the fix.
pub fn ifindex(iface: &str) -> Result<u32, XdpError> {
    let Ok(c) = std::ffi::CString::new(iface) else {
        return fail(format!("interface name {iface:?} contains a NUL byte"));
    };
    // SAFETY: a valid C string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return fail(format!(
            "no network interface named {iface:?}; list them with `ip link` and pass one with --iface"
        ));
    }
    Ok(index)
}

/// Number of receive queues of `iface` (from sysfs), at least 1.
pub fn rx_queues(iface: &str) -> u32 {
    let dir = format!("/sys/class/net/{iface}/queues");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(1)
        .max(1)
}

impl XdpProgram {
    /// Loads the program (its bypass map sized for `bypass_flows` flows)
    /// and attaches it to `iface`, natively if the driver allows and
    /// generically otherwise (the returned mode says which).
    pub fn attach(
        iface: &str,
        force_generic: bool,
        bypass_flows: u32,
        log: EbpfLog,
    ) -> Result<XdpProgram, XdpError> {
        if !object_embedded() {
            return fail(
                "this sensor binary was built without its XDP program; run `cargo xtask build-ebpf` \
                 and rebuild the sensor (the README's set-up does both)"
                    .into(),
            );
        }
        let index = ifindex(iface)?;
        raise_memlock_limit();
        // Some kernels refuse bpf_xdp_adjust_meta to the program: it then
        // stamps frames in front of their data, and failing that not at all.
        let mut first = None;
        let mut loaded = None;
        for (mode, variant) in [
            (STAMP_IN_METADATA, XdpVariant::Full),
            (STAMP_IN_FRONT, XdpVariant::InFront),
            (STAMP_NONE, XdpVariant::Unstamped),
        ] {
            match load(bypass_flows, log, mode) {
                Ok(ebpf) => {
                    loaded = Some((ebpf, variant));
                    break;
                }
                Err(e) => first = first.or(Some(e)),
            }
        }
        let Some((mut ebpf, variant)) = loaded else {
            return Err(first.unwrap_or_else(|| XdpError("no XDP program loaded".into())));
        };
        let program: &mut Xdp = program(&mut ebpf)?;
        let mode = if force_generic {
            program
                .attach_to_if_index(index, XdpMode::Skb)
                .map_err(|e| attach_error(iface, &e))?;
            AttachMode::Generic
        } else {
            match program.attach_to_if_index(index, XdpMode::Driver) {
                Ok(_) => AttachMode::Native,
                Err(native) => {
                    program
                        .attach_to_if_index(index, XdpMode::Skb)
                        .map_err(|e| {
                            XdpError(format!(
                                "{} (native mode: {})",
                                attach_error(iface, &e),
                                error_chain(&native)
                            ))
                        })?;
                    AttachMode::Generic
                }
            }
        };
        let xsks = XskMap::try_from(take(&mut ebpf, XSKS_MAP)?)
            .map_err(|e| XdpError(format!("map {XSKS_MAP}: {e}")))?;
        let counters = PerCpuArray::try_from(take(&mut ebpf, COUNTERS_MAP)?)
            .map_err(|e| XdpError(format!("map {COUNTERS_MAP}: {e}")))?;
        let ports = HashMap::try_from(take(&mut ebpf, PORTS_MAP)?)
            .map_err(|e| XdpError(format!("map {PORTS_MAP}: {e}")))?;
        let filter = LpmTrie::try_from(take(&mut ebpf, FILTER_MAP)?)
            .map_err(|e| XdpError(format!("map {FILTER_MAP}: {e}")))?;
        let config = map_data(take(&mut ebpf, CONFIG_MAP)?)?;
        let bypass = map_data(take(&mut ebpf, BYPASS_MAP)?)?;
        let logger = if log == EbpfLog::Off {
            None
        } else {
            Some(
                aya_log::EbpfLogger::init_with_logger(&mut ebpf, StderrLog)
                    .map_err(|e| XdpError(format!("--ebpf-log: the program's log: {e}")))?,
            )
        };
        Ok(XdpProgram {
            ebpf,
            mode,
            xsks,
            counters,
            config,
            bypass,
            ports,
            filter,
            config_value: XdpConfig::default(),
            logger,
            variant,
        })
    }

    /// Writes out the program's log lines waiting (with `--ebpf-log`).
    pub fn drain_log(&mut self) {
        if let Some(l) = self.logger.as_mut() {
            l.flush();
        }
    }

    /// Where the program runs.
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    /// Where the program stamps frames.
    pub fn variant(&self) -> XdpVariant {
        self.variant
    }

    /// Replaces the kept ports (takes effect at once, no reattach).
    pub fn set_ports(&mut self, ports: &[u16]) -> Result<(), XdpError> {
        if ports.len() > MAX_PORTS as usize {
            return fail(format!("at most {MAX_PORTS} ports can be kept"));
        }
        let old: Vec<u16> = self.ports.keys().filter_map(|k| k.ok()).collect();
        for p in ports {
            self.ports
                .insert(p, PORT_KEEP, 0)
                .map_err(|e| XdpError(format!("setting port {p}: {e}")))?;
        }
        for p in old.iter().filter(|p| !ports.contains(p)) {
            let _ = self.ports.remove(p);
        }
        Ok(())
    }

    /// The kept ports, sorted.
    pub fn ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.ports.keys().filter_map(|k| k.ok()).collect();
        v.sort_unstable();
        v
    }

    /// Replaces the address filter: frames to or from `deny` are not kept;
    /// when `allow` is not empty only frames to or from it are kept.
    pub fn set_filter(&mut self, allow: &[Cidr], deny: &[Cidr]) -> Result<(), XdpError> {
        let old: Vec<LpmKey<[u8; 16]>> = self.filter.keys().filter_map(|k| k.ok()).collect();
        for k in &old {
            let _ = self.filter.remove(k);
        }
        for (list, value) in [(allow, FILTER_ALLOW), (deny, FILTER_DENY)] {
            for c in list {
                self.filter
                    .insert(&c.key(), value, 0)
                    .map_err(|e| XdpError(format!("address filter {}/{}: {e}", c.addr, c.len)))?;
            }
        }
        let mut cidr = 0;
        if !deny.is_empty() {
            cidr |= CIDR_DENY;
        }
        if !allow.is_empty() {
            cidr |= CIDR_ALLOW_ONLY;
        }
        self.config_value.cidr = cidr;
        self.write_config()
    }

    /// Drops (true) or passes (false) frames nobody asked for.
    pub fn set_drop_unmatched(&mut self, drop: bool) -> Result<(), XdpError> {
        self.config_value.drop_unmatched = u32::from(drop);
        self.write_config()
    }

    /// Sends every frame to userspace (true) or only the kept ports (false).
    pub fn set_keep_all(&mut self, all: bool) -> Result<(), XdpError> {
        self.config_value.keep_all = u32::from(all);
        self.write_config()
    }

    fn write_config(&mut self) -> Result<(), XdpError> {
        let key = CONFIG_INDEX;
        map_update(raw(&self.config), &key, &self.config_value, 0)
            .map_err(|e| XdpError(format!("writing the XDP settings: {e}")))
    }

    /// Registers the `AF_XDP` socket of receive queue `queue`.
    pub fn register_socket(&mut self, queue: u32, fd: RawFd) -> Result<(), XdpError> {
        self.xsks.set(queue, fd, 0).map_err(|e| {
            XdpError(format!(
                "registering the AF_XDP socket of queue {queue}: {e}"
            ))
        })
    }

    /// The XDP counters summed over CPUs, in [`XdpCounter::ALL`] order.
    pub fn counters(&self) -> [u64; XdpCounter::COUNT as usize] {
        let mut out = [0u64; XdpCounter::COUNT as usize];
        for (i, slot) in out.iter_mut().enumerate() {
            if let Ok(values) = self.counters.get(&(i as u32), 0) {
                *slot = values.iter().sum();
            }
        }
        out
    }

    /// A handle on the bypass map that worker threads can share.
    pub fn bypass_map(&self) -> BypassMap {
        BypassMap {
            fd: raw(&self.bypass),
        }
    }

    /// The loaded object (for tools that want more of it).
    pub fn ebpf(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }
}

/// The bypass map, by descriptor: valid while its [`XdpProgram`] lives.
#[derive(Clone, Copy, Debug)]
pub struct BypassMap {
    fd: RawFd,
}

impl BypassMap {
    /// Starts bypassing a flow with `seeded` (counters zero, each
    /// direction's sequence end as userspace saw it). False if the map
    /// refused.
    pub fn insert(&self, key: &BypassKey, seeded: &BypassValue) -> bool {
        map_update(self.fd, key, seeded, 0).is_ok()
    }

    /// The counters of a bypassed flow, if it is still in the map.
    pub fn get(&self, key: &BypassKey) -> Option<BypassValue> {
        let mut value = BypassValue::default();
        map_lookup(self.fd, key, &mut value).ok().map(|_| value)
    }

    /// Stops bypassing a flow.
    pub fn remove(&self, key: &BypassKey) {
        let _ = map_delete(self.fd, key);
    }
}

fn take(ebpf: &mut Ebpf, name: &str) -> Result<Map, XdpError> {
    ebpf.take_map(name).map_or_else(
        || {
            fail(format!(
                "the embedded XDP object has no map {name}; rebuild it with `cargo xtask build-ebpf`"
            ))
        },
        Ok,
    )
}

fn map_data(map: Map) -> Result<MapData, XdpError> {
    match map {
        Map::Array(m) | Map::LruHashMap(m) | Map::HashMap(m) => Ok(m),
        _ => fail("unexpected map type in the XDP object".into()),
    }
}

fn raw(map: &MapData) -> RawFd {
    map.fd().as_fd().as_raw_fd()
}

fn attach_error(iface: &str, e: &aya::programs::ProgramError) -> XdpError {
    let text = error_chain(e);
    XdpError(format!(
        "attaching XDP to {iface} was refused: {text}{}",
        if text.contains("busy") || text.contains("exists") {
            "; another XDP program is attached there (another sensor?); stop it or detach it with `ip link set dev IFACE xdp off`"
        } else {
            privilege_hint(&text)
        }
    ))
}

/// An error with its causes, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn privilege_hint(text: &str) -> &'static str {
    if text.contains("EPERM")
        || text.contains("Operation not permitted")
        || text.contains("os error 1)")
    {
        "; run as root or grant CAP_BPF and CAP_NET_ADMIN (e.g. `setcap cap_bpf,cap_net_admin,cap_net_raw+ep sensor`)"
    } else {
        ""
    }
}

/// Older kernels charge BPF maps to RLIMIT_MEMLOCK; lift it where allowed.
fn raise_memlock_limit() {
    let rl = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain setrlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &rl) };
}

/// The `bpf(2)` attribute for the map element commands.
#[repr(C)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;

fn bpf_elem(cmd: libc::c_long, fd: RawFd, key: u64, value: u64, flags: u64) -> std::io::Result<()> {
    let attr = MapElemAttr {
        map_fd: fd as u32,
        _pad: 0,
        key,
        value,
        flags,
    };
    // SAFETY: bpf(2) with an attribute of the size passed; key and value
    // point at objects of the map's key and value sizes (callers' types).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            &attr as *const MapElemAttr,
            std::mem::size_of::<MapElemAttr>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn map_update<K, V>(fd: RawFd, key: &K, value: &V, flags: u64) -> std::io::Result<()> {
    bpf_elem(
        BPF_MAP_UPDATE_ELEM,
        fd,
        key as *const K as u64,
        value as *const V as u64,
        flags,
    )
}

fn map_lookup<K, V>(fd: RawFd, key: &K, value: &mut V) -> std::io::Result<()> {
    bpf_elem(
        BPF_MAP_LOOKUP_ELEM,
        fd,
        key as *const K as u64,
        value as *mut V as u64,
        0,
    )
}

fn map_delete<K>(fd: RawFd, key: &K) -> std::io::Result<()> {
    bpf_elem(BPF_MAP_DELETE_ELEM, fd, key as *const K as u64, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert_eq!(c.len, 8);
        let k = c.key();
        let (len, data) = (k.prefix_len(), k.data());
        assert_eq!(len, 104);
        assert_eq!(&data[10..13], &[0xff, 0xff, 10]);
        assert_eq!(Cidr::parse("2001:db8::/32").unwrap().len, 32);
        assert_eq!(Cidr::parse("192.0.2.1").unwrap().len, 32);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }
}
