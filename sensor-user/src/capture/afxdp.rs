//! `AF_XDP` sockets: the live capture path.
//!
//! One socket per NIC receive queue, each with its own UMEM (a memory area
//! cut into equal frames, mapped with `memmap2`, on huge pages when the host
//! has them) and the four rings the kernel shares with userspace:
//!
//! - fill: userspace gives the kernel free frames to receive into;
//! - RX: the kernel hands back filled frames (address and length);
//! - TX: userspace queues frames to send (the benchmark's replayer);
//! - completion: the kernel returns sent frames.
//!
//! The rings are single-producer single-consumer queues over shared memory;
//! each side publishes its index with release ordering after writing the
//! entries and reads the other side's index with acquire ordering before
//! reading them. Nothing here allocates after the socket is set up.
//!
//! The socket is bound in zero-copy mode when the driver supports it and
//! falls back to copy mode otherwise (veth, most virtual NICs), always with
//! `need_wakeup` so the kernel is only woken when it asks for it.

use std::fmt;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use memmap2::{MmapMut, MmapOptions};

/// Size of one UMEM frame: a page, the largest the kernel accepts.
pub const FRAME_SIZE: u32 = 4096;

/// Headroom the kernel keeps in front of every received frame in copy mode
/// (`XDP_PACKET_HEADROOM`): a frame longer than `FRAME_SIZE -
/// XDP_PACKET_HEADROOM` arrives in several UMEM frames (multi-buffer).
pub const XDP_PACKET_HEADROOM: u32 = 256;

/// Largest multi-buffer frame reassembled for the worker (the largest IP
/// packet plus link headers).
pub const MAX_FRAME: usize = 65_536 + 64;

/// How to bind a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BindMode {
    /// Zero-copy if the driver supports it, copy mode otherwise.
    #[default]
    Auto,
    /// Zero-copy only: fail if the driver cannot.
    ZeroCopy,
    /// Copy mode only.
    Copy,
}

/// The mode a socket ended up bound in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundMode {
    /// Frames are DMA'd straight into the UMEM.
    ZeroCopy,
    /// The kernel copies frames into the UMEM.
    Copy,
}

impl fmt::Display for BoundMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BoundMode::ZeroCopy => "zero-copy",
            BoundMode::Copy => "copy",
        })
    }
}

/// Sizes of one socket's UMEM and rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XskConfig {
    /// Frames in the UMEM.
    pub frames: u32,
    /// Entries of the fill and RX rings (a power of two).
    pub rx_ring: u32,
    /// Entries of the TX and completion rings (a power of two); 0 for a
    /// receive-only socket.
    pub tx_ring: u32,
    /// Zero-copy or copy mode.
    pub mode: BindMode,
    /// Busy-poll budget in microseconds (`SO_BUSY_POLL`); 0 leaves it off.
    pub busy_poll_us: u32,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frames: 8192,
            rx_ring: 4096,
            tx_ring: 0,
            mode: BindMode::Auto,
            busy_poll_us: 0,
        }
    }
}

/// Why a socket could not be set up, with the fix in the message.
#[derive(Debug)]
pub struct XskError {
    /// What was being done.
    pub step: &'static str,
    /// The system's answer.
    pub source: io::Error,
}

impl fmt::Display for XskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fix = match self.source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => {
                "; run as root or grant CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF"
            }
            Some(libc::EAFNOSUPPORT) => "; the kernel lacks AF_XDP (CONFIG_XDP_SOCKETS)",
            Some(libc::ENOMEM) | Some(libc::ENOBUFS) => {
                "; raise the locked-memory limit (ulimit -l) or use fewer frames"
            }
            Some(libc::EBUSY) => "; another AF_XDP socket is bound to that queue",
            _ => "",
        };
        write!(f, "AF_XDP {}: {}{fix}", self.step, self.source)
    }
}

impl std::error::Error for XskError {}

fn err(step: &'static str) -> XskError {
    XskError {
        step,
        source: io::Error::last_os_error(),
    }
}

/// A UMEM: the frame area shared with the kernel.
pub struct Umem {
    map: MmapMut,
    frames: u32,
    huge_pages: bool,
}

impl Umem {
    /// Maps `frames` frames, on 2 MiB huge pages when the host has them.
    pub fn new(frames: u32) -> Result<Umem, XskError> {
        let len = frames as usize * FRAME_SIZE as usize;
        if let Ok(map) = MmapOptions::new().len(len).huge(Some(21)).map_anon() {
            return Ok(Umem {
                map,
                frames,
                huge_pages: true,
            });
        }
        let map = MmapOptions::new()
            .len(len)
            .populate()
            .map_anon()
            .map_err(|source| XskError {
                step: "UMEM mapping",
                source,
            })?;
        Ok(Umem {
            map,
            frames,
            huge_pages: false,
        })
    }

    /// Whether the area is on huge pages.
    pub fn huge_pages(&self) -> bool {
        self.huge_pages
    }

    /// Number of frames.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// A read-only view other threads can use to read received frames.
    pub fn region(&self) -> UmemRegion {
        UmemRegion {
            ptr: self.map.as_ptr(),
            len: self.map.len(),
        }
    }
}

/// A borrowed view of a UMEM that can cross threads.
///
/// Frames are handed between threads by address: a frame is read only by
/// the thread that currently owns its address (received and not yet given
/// back to the fill ring), so reads never race with the kernel's writes.
#[derive(Clone, Copy, Debug)]
pub struct UmemRegion {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the region is only read through `frame`, whose callers own the
// frame they read (see the type's documentation); the mapping outlives every
// thread that holds a region (the live runtime joins them first).
unsafe impl Send for UmemRegion {}
// SAFETY: as above.
unsafe impl Sync for UmemRegion {}

impl UmemRegion {
    /// The `len` bytes at `addr`, or an empty slice if they are outside the
    /// area.
    ///
    /// # Safety
    /// The caller must own the frame (received and not yet returned to the
    /// kernel) and the UMEM must still be mapped.
    pub unsafe fn frame(&self, addr: u64, len: u32) -> &[u8] {
        let start = addr as usize;
        match start.checked_add(len as usize) {
            Some(end) if end <= self.len => {
                // SAFETY: in bounds of the mapping; ownership per the contract.
                unsafe { std::slice::from_raw_parts(self.ptr.add(start), len as usize) }
            }
            _ => &[],
        }
    }
}

impl UmemRegion {
    /// The [`sensor_common::FrameMeta`] the XDP program wrote in front of
    /// the frame at `addr`, if it did.
    ///
    /// # Safety
    /// As [`UmemRegion::frame`].
    pub unsafe fn meta(&self, addr: u64) -> Option<sensor_common::FrameMeta> {
        let size = std::mem::size_of::<sensor_common::FrameMeta>() as u64;
        // The metadata sits in the frame's headroom, before the data.
        if addr % u64::from(FRAME_SIZE) < size {
            return None;
        }
        // SAFETY: per the contract; the bytes are inside the same frame.
        let bytes = unsafe { self.frame(addr - size, size as u32) };
        if bytes.len() != size as usize {
            return None;
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            u64::from_ne_bytes(w)
        };
        let meta = sensor_common::FrameMeta {
            ktime: word(0),
            magic: word(8),
        };
        (meta.magic == sensor_common::FRAME_META_MAGIC).then_some(meta)
    }
}

/// How many bytes at the start of `frame` are the XDP program's stamp put
/// in front of it: a whole [`sensor_common::FrameMeta`] ending in its
/// magic, else none (the program had no room for it).
fn stamp_length(frame: &[u8]) -> u32 {
    let size = std::mem::size_of::<sensor_common::FrameMeta>();
    let magic = sensor_common::FRAME_META_MAGIC.to_ne_bytes();
    match frame.get(size - magic.len()..size) {
        Some(m) if m == magic => size as u32,
        _ => 0,
    }
}

/// One of the four shared rings.
struct Ring {
    _map: MmapMut,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    entries: *mut u8,
    size: u32,
    mask: u32,
    /// Our copy of the producer index (our own when we produce).
    cached_prod: u32,
    /// Our copy of the consumer index (our own when we consume).
    cached_cons: u32,
}

// SAFETY: a ring is owned by one thread at a time (the socket that holds it).
unsafe impl Send for Ring {}

impl Ring {
    fn map(
        fd: RawFd,
        off: &libc::xdp_ring_offset,
        size: u32,
        entry: usize,
        pgoff: u64,
    ) -> Result<Ring, XskError> {
        let len = off.desc as usize + size as usize * entry;
        // SAFETY: mapping the socket's ring at the offset the kernel gave.
        let mut map = unsafe {
            MmapOptions::new()
                .offset(pgoff)
                .len(len)
                .populate()
                .map_mut(fd)
        }
        .map_err(|source| XskError {
            step: "ring mapping",
            source,
        })?;
        let base = map.as_mut_ptr();
        // SAFETY: the offsets are inside the mapping, as the kernel reported.
        unsafe {
            Ok(Ring {
                producer: base.add(off.producer as usize) as *const AtomicU32,
                consumer: base.add(off.consumer as usize) as *const AtomicU32,
                flags: base.add(off.flags as usize) as *const AtomicU32,
                entries: base.add(off.desc as usize),
                size,
                mask: size - 1,
                cached_prod: 0,
                cached_cons: 0,
                _map: map,
            })
        }
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping, aligned by the kernel.
        unsafe { &*self.producer }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { &*self.consumer }
    }

    fn needs_wakeup(&self) -> bool {
        // SAFETY: as for `producer`.
        unsafe { &*self.flags }.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Consumer side: entries ready to read, at most `max`.
    fn peek(&mut self, max: u32) -> u32 {
        let mut ready = self.cached_prod.wrapping_sub(self.cached_cons);
        if ready < max {
            self.cached_prod = self.producer().load(Ordering::Acquire);
            ready = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        ready.min(max)
    }

    /// Consumer side: marks `n` entries read.
    fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        self.consumer().store(self.cached_cons, Ordering::Release);
    }

    /// Producer side: free entries, at most `max`.
    fn free(&mut self, max: u32) -> u32 {
        let mut free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        if free < max {
            self.cached_cons = self.consumer().load(Ordering::Acquire);
            free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        }
        free.min(max)
    }

    /// Producer side: publishes `n` written entries.
    fn submit(&mut self, n: u32) {
        self.cached_prod = self.cached_prod.wrapping_add(n);
        self.producer().store(self.cached_prod, Ordering::Release);
    }

    fn addr_slot(&self, index: u32) -> *mut u64 {
        // SAFETY: masked index inside the entry array of u64 addresses.
        unsafe { (self.entries as *mut u64).add((index & self.mask) as usize) }
    }

    fn desc_slot(&self, index: u32) -> *mut libc::xdp_desc {
        // SAFETY: masked index inside the entry array of descriptors.
        unsafe { (self.entries as *mut libc::xdp_desc).add((index & self.mask) as usize) }
    }
}

/// Counters the kernel keeps for a socket (`XDP_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XskStats {
    /// Frames dropped for other reasons (e.g. larger than a UMEM frame).
    pub rx_dropped: u64,
    /// Frames dropped because the RX ring was full: userspace too slow.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when a frame arrived.
    pub rx_fill_ring_empty: u64,
    /// Invalid descriptors on RX.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors on TX.
    pub tx_invalid_descs: u64,
}

/// An `AF_XDP` socket bound to one queue of one interface, with its own UMEM.
pub struct XskSocket {
    fd: OwnedFd,
    umem: Arc<Umem>,
    fill: Ring,
    comp: Option<Ring>,
    rx: Ring,
    tx: Option<Ring>,
    mode: BoundMode,
    /// Frames owned by userspace and not in any ring (TX side).
    free_tx: Vec<u64>,
    /// TX frames handed to the kernel and not completed yet.
    tx_outstanding: u32,
    /// Bound with multi-buffer support (`XDP_USE_SG`).
    multi_buffer: bool,
    /// Where the pieces of a multi-buffer frame are joined.
    joined: Vec<u8>,
    /// Multi-buffer frames too long for `joined`, or cut short.
    oversized: u64,
    /// Frames may start with the XDP program's stamp (see
    /// [`XskSocket::take_stamps_in_front`]).
    stamp_in_front: bool,
}

impl XskSocket {
    /// Creates a socket on `ifindex`/`queue`, maps its UMEM and rings, gives
    /// the receive frames to the kernel and binds.
    pub fn bind(ifindex: u32, queue: u32, cfg: &XskConfig) -> Result<XskSocket, XskError> {
        // SAFETY: plain socket(2).
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(err("socket"));
        }
        // SAFETY: `raw` is a new descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let umem = Arc::new(Umem::new(cfg.frames)?);
        let reg = libc::xdp_umem_reg {
            addr: umem.map.as_ptr() as u64,
            len: umem.map.len() as u64,
            chunk_size: FRAME_SIZE,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(raw, libc::XDP_UMEM_REG, &reg, "UMEM registration")?;
        let rx_size = cfg.rx_ring.next_power_of_two();
        setsockopt(raw, libc::XDP_UMEM_FILL_RING, &rx_size, "fill ring")?;
        setsockopt(raw, libc::XDP_RX_RING, &rx_size, "RX ring")?;
        let tx_size = cfg.tx_ring.next_power_of_two();
        if cfg.tx_ring > 0 {
            setsockopt(
                raw,
                libc::XDP_UMEM_COMPLETION_RING,
                &tx_size,
                "completion ring",
            )?;
            setsockopt(raw, libc::XDP_TX_RING, &tx_size, "TX ring")?;
        } else {
            // The kernel wants a completion ring on every UMEM.
            let one = 1u32;
            setsockopt(raw, libc::XDP_UMEM_COMPLETION_RING, &one, "completion ring")?;
        }
        // SAFETY: a zeroed plain-data struct.
        let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let mut optlen = size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: getsockopt into a struct of the size we pass.
        let rc = unsafe {
            libc::getsockopt(
                raw,
                libc::SOL_XDP,
                libc::XDP_MMAP_OFFSETS,
                &mut off as *mut _ as *mut libc::c_void,
                &mut optlen,
            )
        };
        if rc != 0 {
            return Err(err("ring offsets"));
        }
        let addr_len = size_of::<u64>();
        let desc_len = size_of::<libc::xdp_desc>();
        let mut fill = Ring::map(
            raw,
            &off.fr,
            rx_size,
            addr_len,
            libc::XDP_UMEM_PGOFF_FILL_RING,
        )?;
        let rx = Ring::map(
            raw,
            &off.rx,
            rx_size,
            desc_len,
            libc::XDP_PGOFF_RX_RING as u64,
        )?;
        let (comp, tx) = if cfg.tx_ring > 0 {
            (
                Some(Ring::map(
                    raw,
                    &off.cr,
                    tx_size,
                    addr_len,
                    libc::XDP_UMEM_PGOFF_COMPLETION_RING,
                )?),
                Some(Ring::map(
                    raw,
                    &off.tx,
                    tx_size,
                    desc_len,
                    libc::XDP_PGOFF_TX_RING as u64,
                )?),
            )
        } else {
            (None, None)
        };

        // Receive frames first, the rest for transmit.
        let rx_frames = if cfg.tx_ring > 0 {
            rx_size.min(cfg.frames / 2)
        } else {
            rx_size.min(cfg.frames)
        };
        let n = fill.free(rx_frames);
        for i in 0..n {
            // SAFETY: slot inside the fill ring, reserved by `free`.
            unsafe {
                *fill.addr_slot(fill.cached_prod.wrapping_add(i)) =
                    u64::from(i) * u64::from(FRAME_SIZE)
            };
        }
        fill.submit(n);
        let free_tx = (n..cfg.frames)
            .map(|i| u64::from(i) * u64::from(FRAME_SIZE))
            .collect();

        if cfg.busy_poll_us > 0 {
            enable_busy_poll(raw, cfg.busy_poll_us)?;
        }
        let (mode, multi_buffer) = bind(raw, ifindex, queue, cfg.mode)?;
        Ok(XskSocket {
            fd,
            umem,
            fill,
            comp,
            rx,
            tx,
            mode,
            free_tx,
            tx_outstanding: 0,
            multi_buffer,
            joined: if multi_buffer {
                Vec::with_capacity(MAX_FRAME)
            } else {
                Vec::new()
            },
            oversized: 0,
            stamp_in_front: false,
        })
    }

    /// The socket's descriptor, for the `XSKMAP`.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The mode the socket is bound in.
    pub fn mode(&self) -> BoundMode {
        self.mode
    }

    /// The socket's UMEM.
    pub fn umem(&self) -> &Arc<Umem> {
        &self.umem
    }

    /// Calls `f(addr, frame)` for up to `max` received UMEM frames (more
    /// when the last packet spans past `max`) and returns how many there
    /// were. The frames stay owned by the caller:
    /// give each address back with [`XskSocket::recycle`] once done with it.
    ///
    /// A packet that spans several UMEM frames (multi-buffer) is joined
    /// into one buffer and passed with the address of its first frame; the
    /// other frames are passed to `more(addr)` so the caller recycles them.
    pub fn receive(
        &mut self,
        max: u32,
        mut f: impl FnMut(u64, &[u8]),
        mut more: impl FnMut(u64),
    ) -> u32 {
        let mut n = self.rx.peek(max);
        let region = self.umem.region();
        let mut i = 0;
        while i < n {
            let mut desc = self.rx_desc(i);
            if self.stamp_in_front {
                // SAFETY: the frame was handed to us by the kernel.
                let head = unsafe { region.frame(desc.addr, desc.len) };
                let skip = stamp_length(head);
                desc.addr += u64::from(skip);
                desc.len -= skip;
            }
            if desc.options & libc::XDP_PKT_CONTD == 0 {
                // SAFETY: the frame was handed to us by the kernel.
                f(desc.addr, unsafe { region.frame(desc.addr, desc.len) });
                i += 1;
                continue;
            }
            // The rest of the packet follows in the next descriptors. The
            // kernel publishes a packet's pieces together, but `max` may
            // cut them: look further, and if the end is still not in the
            // ring, leave the whole packet there for the next call.
            let Some(last) = self.packet_end(i, &mut n) else {
                break;
            };
            self.joined.clear();
            let mut cut = false;
            for k in i..=last {
                let d = if k == i { desc } else { self.rx_desc(k) };
                // SAFETY: as above.
                let piece = unsafe { region.frame(d.addr, d.len) };
                if self.joined.len() + piece.len() <= self.joined.capacity() {
                    self.joined.extend_from_slice(piece);
                } else {
                    cut = true;
                }
                if k > i {
                    more(d.addr);
                }
            }
            self.oversized += u64::from(cut);
            f(desc.addr, &self.joined);
            i = last + 1;
        }
        if i > 0 {
            self.rx.release(i);
        }
        i
    }

    /// Frames may start with the stamp the XDP program puts in front of
    /// them where the kernel refuses it the metadata area
    /// ([`sensor_common::STAMP_IN_FRONT`]): the stamp is taken off, and
    /// left to [`UmemRegion::meta`] to read in front of the frame.
    pub fn take_stamps_in_front(&mut self) {
        self.stamp_in_front = true;
    }

    /// The `i`-th descriptor ready on the RX ring (after `peek`).
    fn rx_desc(&self, i: u32) -> libc::xdp_desc {
        // SAFETY: slot published by the kernel (acquire in `peek`).
        unsafe { *self.rx.desc_slot(self.rx.cached_cons.wrapping_add(i)) }
    }

    /// Index of the last piece of the multi-buffer packet starting at ring
    /// entry `first`, peeking past `n` (and raising it) when needed; `None`
    /// when its last piece is not published yet.
    fn packet_end(&mut self, first: u32, n: &mut u32) -> Option<u32> {
        let mut k = first + 1;
        loop {
            if k >= *n {
                let wider = self.rx.peek(k + 1);
                if wider <= k {
                    return None;
                }
                *n = wider;
            }
            if self.rx_desc(k).options & libc::XDP_PKT_CONTD == 0 {
                return Some(k);
            }
            k += 1;
        }
    }

    /// Whether the socket takes frames longer than one UMEM frame.
    pub fn multi_buffer(&self) -> bool {
        self.multi_buffer
    }

    /// Multi-buffer packets longer than the join buffer (passed truncated).
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Gives received frames back to the kernel for new packets. Returns how
    /// many fit in the fill ring (it always has room for every receive frame).
    pub fn recycle(&mut self, addrs: &[u64]) -> usize {
        let n = self.fill.free(addrs.len() as u32);
        for (i, addr) in addrs.iter().take(n as usize).enumerate() {
            // SAFETY: slot reserved by `free`.
            unsafe {
                *self
                    .fill
                    .addr_slot(self.fill.cached_prod.wrapping_add(i as u32)) =
                    addr & !u64::from(FRAME_SIZE - 1)
            };
        }
        self.fill.submit(n);
        n as usize
    }

    /// Wakes the kernel if it asked to be woken to refill (need_wakeup), or
    /// waits up to `timeout_ms` for frames when `timeout_ms > 0`.
    pub fn poll_rx(&self, timeout_ms: i32) {
        if timeout_ms > 0 || self.fill.needs_wakeup() {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, timeout_ms.max(0)) };
        }
    }

    /// Queues one frame for transmit (copied into a free TX frame). Returns
    /// false when no TX frame or ring slot is free: call
    /// [`XskSocket::complete_tx`] and retry.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        let Some(tx) = self.tx.as_mut() else {
            return false;
        };
        if frame.len() > FRAME_SIZE as usize || tx.free(1) == 0 {
            return false;
        }
        let Some(addr) = self.free_tx.pop() else {
            return false;
        };
        // SAFETY: the frame at `addr` is ours (from the free list), in bounds.
        unsafe {
            let dst = (self.umem.map.as_ptr() as *mut u8).add(addr as usize);
            std::ptr::copy_nonoverlapping(frame.as_ptr(), dst, frame.len());
            *tx.desc_slot(tx.cached_prod) = libc::xdp_desc {
                addr,
                len: frame.len() as u32,
                options: 0,
            };
        }
        tx.submit(1);
        self.tx_outstanding += 1;
        true
    }

    /// Kicks the kernel to transmit queued frames and takes back completed
    /// ones; returns how many completed.
    pub fn complete_tx(&mut self) -> u32 {
        if let Some(tx) = &self.tx {
            if self.tx_outstanding > 0 && (tx.needs_wakeup() || self.mode == BoundMode::Copy) {
                // SAFETY: sendto with no data is the documented TX kick.
                unsafe {
                    libc::sendto(
                        self.fd.as_raw_fd(),
                        std::ptr::null(),
                        0,
                        libc::MSG_DONTWAIT,
                        std::ptr::null(),
                        0,
                    )
                };
            }
        }
        let Some(comp) = self.comp.as_mut() else {
            return 0;
        };
        let n = comp.peek(u32::MAX);
        for i in 0..n {
            // SAFETY: slot published by the kernel.
            let addr = unsafe { *comp.addr_slot(comp.cached_cons.wrapping_add(i)) };
            self.free_tx.push(addr & !u64::from(FRAME_SIZE - 1));
        }
        if n > 0 {
            comp.release(n);
            self.tx_outstanding -= n.min(self.tx_outstanding);
        }
        n
    }

    /// TX frames queued and not yet completed.
    pub fn tx_outstanding(&self) -> u32 {
        self.tx_outstanding
    }

    /// The kernel's counters for this socket.
    pub fn stats(&self) -> XskStats {
        // SAFETY: a zeroed plain-data struct.
        let mut s: libc::xdp_statistics = unsafe { std::mem::zeroed() };
        let mut optlen = size_of::<libc::xdp_statistics>() as libc::socklen_t;
        // SAFETY: getsockopt into a struct of the size we pass.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                &mut s as *mut _ as *mut libc::c_void,
                &mut optlen,
            )
        };
        if rc != 0 {
            return XskStats::default();
        }
        XskStats {
            rx_dropped: s.rx_dropped,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty: s.rx_fill_ring_empty_descs,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
        }
    }
}

fn setsockopt<T>(fd: RawFd, opt: libc::c_int, val: &T, step: &'static str) -> Result<(), XskError> {
    // SAFETY: `val` is a plain value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_XDP,
            opt,
            val as *const T as *const libc::c_void,
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(err(step));
    }
    Ok(())
}

fn enable_busy_poll(fd: RawFd, usecs: u32) -> Result<(), XskError> {
    // From <asm-generic/socket.h>; not all libc versions export them.
    const SO_PREFER_BUSY_POLL: libc::c_int = 69;
    const SO_BUSY_POLL_BUDGET: libc::c_int = 70;
    let opts: [(libc::c_int, libc::c_int); 3] = [
        (SO_PREFER_BUSY_POLL, 1),
        (libc::SO_BUSY_POLL, usecs as libc::c_int),
        (SO_BUSY_POLL_BUDGET, 64),
    ];
    for (opt, val) in opts {
        // SAFETY: an int option.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                &val as *const libc::c_int as *const libc::c_void,
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(err("busy polling"));
        }
    }
    Ok(())
}

/// Binds the socket; returns the mode and whether multi-buffer is on (it
/// is asked for first and left out on kernels without it).
fn bind(
    fd: RawFd,
    ifindex: u32,
    queue: u32,
    mode: BindMode,
) -> Result<(BoundMode, bool), XskError> {
    let with_sg = |flags: u16| -> Result<bool, XskError> {
        match try_bind(fd, ifindex, queue, flags | libc::XDP_USE_SG) {
            Ok(()) => Ok(true),
            Err(e) if e.source.raw_os_error() == Some(libc::EBUSY) => Err(e),
            Err(_) => try_bind(fd, ifindex, queue, flags).map(|_| false),
        }
    };
    match mode {
        BindMode::ZeroCopy => with_sg(libc::XDP_ZEROCOPY).map(|sg| (BoundMode::ZeroCopy, sg)),
        BindMode::Copy => with_sg(libc::XDP_COPY).map(|sg| (BoundMode::Copy, sg)),
        BindMode::Auto => match with_sg(libc::XDP_ZEROCOPY) {
            Ok(sg) => Ok((BoundMode::ZeroCopy, sg)),
            Err(e) if e.source.raw_os_error() == Some(libc::EBUSY) => Err(e),
            Err(_) => with_sg(libc::XDP_COPY).map(|sg| (BoundMode::Copy, sg)),
        },
    }
}

fn try_bind(fd: RawFd, ifindex: u32, queue: u32, flags: u16) -> Result<(), XskError> {
    {
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags | libc::XDP_USE_NEED_WAKEUP,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: bind with a sockaddr_xdp of the size passed.
        let rc = unsafe {
            libc::bind(
                fd,
                &sa as *const libc::sockaddr_xdp as *const libc::sockaddr,
                size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(err("bind"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    /// A stamp in front of a frame is recognised by its magic, and only a
    /// whole one is taken off.
    #[test]
    fn stamp_in_front_is_taken_off_by_its_magic() {
        let meta = sensor_common::FrameMeta {
            ktime: 42,
            magic: sensor_common::FRAME_META_MAGIC,
        };
        let mut frame = Vec::new();
        frame.extend_from_slice(&meta.ktime.to_ne_bytes());
        frame.extend_from_slice(&meta.magic.to_ne_bytes());
        frame.extend_from_slice(&[0xaa; 60]);
        assert_eq!(stamp_length(&frame), 16);
        assert_eq!(stamp_length(&frame[16..]), 0);
        assert_eq!(stamp_length(&frame[..15]), 0);
    }
}
