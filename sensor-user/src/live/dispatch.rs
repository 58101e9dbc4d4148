//! How frames travel between workers: the rings between each pair of
//! workers (descriptors out, addresses back), the jumbo slots through which
//! frames longer than one UMEM frame travel, and the wake-up of a sleeping
//! owner. Which worker owns a frame is [`crate::flow::owner`]'s to say.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::RunError;

/// Entries of each dispatch ring between two workers.
pub const DISPATCH_RING: usize = 4096;

/// A worker's slots for lending frames longer than one UMEM frame.
pub const JUMBO_SLOTS: usize = 64;

/// Bytes of a jumbo slot: the longest frame a socket receives, so that
/// every frame reaches its flow's owner (a frame of a host that captured
/// with segmentation offload can be 64 KiB).
pub const JUMBO_SLOT: usize = crate::capture::afxdp::MAX_FRAME;

/// The `queue` of a lent frame that lies in the lender's jumbo slot `addr`.
pub const JUMBO: u32 = u32::MAX;

/// A frame passed between workers: where it is and when it passed the
/// XDP program.
#[derive(Clone, Copy, Debug, Default)]
pub struct Desc {
    /// Index of the socket (queue) whose UMEM holds the frame, or
    /// [`JUMBO`].
    pub queue: u32,
    /// The queue the frame came in on (its stream at the owner).
    pub source: u32,
    /// Frame length.
    pub len: u32,
    /// Its address in the UMEM (or the jumbo slot).
    pub addr: u64,
    /// When it passed the XDP program (monotonic clock, ns).
    pub key: u64,
}

impl Desc {
    /// The descriptor of frame `data` at `addr` in the UMEM of `queue`,
    /// stamped `key`.
    pub fn of_frame(queue: u32, addr: u64, data: &[u8], key: u64) -> Desc {
        Desc {
            queue,
            source: queue,
            len: data.len() as u32,
            addr,
            key,
        }
    }
}

/// A frame given back to the worker that received it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Returned {
    /// As [`Desc::queue`].
    pub queue: u32,
    /// As [`Desc::addr`].
    pub addr: u64,
}

/// One worker's side of the mesh of rings.
pub struct Mesh {
    /// To worker `w` (None for oneself).
    pub to: Vec<Option<HeapProd<Desc>>>,
    /// From worker `w`.
    pub from: Vec<Option<HeapCons<Desc>>>,
    /// Frames to give back to worker `w`.
    pub back_to: Vec<Option<HeapProd<Returned>>>,
    /// Frames worker `w` gives back to us.
    pub back_from: Vec<Option<HeapCons<Returned>>>,
}

/// The rings between every pair of `workers` workers.
pub fn build_mesh(workers: usize) -> Vec<Mesh> {
    let mut meshes: Vec<Mesh> = (0..workers)
        .map(|_| Mesh {
            to: (0..workers).map(|_| None).collect(),
            from: (0..workers).map(|_| None).collect(),
            back_to: (0..workers).map(|_| None).collect(),
            back_from: (0..workers).map(|_| None).collect(),
        })
        .collect();
    for a in 0..workers {
        for b in 0..workers {
            if a == b {
                continue;
            }
            let (p, c) = HeapRb::<Desc>::new(DISPATCH_RING).split();
            meshes[a].to[b] = Some(p);
            meshes[b].from[a] = Some(c);
            // Returns can never outnumber the frames lent, so this ring
            // never overflows.
            let (p, c) = HeapRb::<Returned>::new(DISPATCH_RING).split();
            meshes[b].back_to[a] = Some(p);
            meshes[a].back_from[b] = Some(c);
        }
    }
    meshes
}

/// Wakes a worker sleeping in poll(2) when another worker lends it frames,
/// so a lent frame waits microseconds, not a poll timeout.
pub struct Waker {
    fd: OwnedFd,
    sleeping: AtomicBool,
}

impl Waker {
    /// A waker (an eventfd).
    pub fn new() -> Result<Waker, RunError> {
        // SAFETY: eventfd(2) with valid flags; the descriptor is owned below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(RunError(format!(
                "cannot create an eventfd: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Waker {
            // SAFETY: a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            sleeping: AtomicBool::new(false),
        })
    }

    /// The descriptor to poll.
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Wakes the worker if it sleeps (a system call only then).
    pub fn wake(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let one = 1u64;
            // SAFETY: writing 8 bytes to our eventfd.
            unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Marks the worker asleep (true) or awake (false); awake, a pending
    /// wake-up is cleared.
    pub fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.store(sleeping, Ordering::SeqCst);
        if !sleeping {
            let mut v = 0u64;
            // SAFETY: reading 8 bytes from our (non-blocking) eventfd.
            unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
        }
    }
}

/// Slots into which a worker copies a frame longer than one UMEM frame
/// (joined from several buffers), to hold it or lend it: the owner gives a
/// lent slot back as it gives back a UMEM frame.
///
/// The slots are one zeroed allocation, whose pages the kernel provides
/// at their first use: a worker that never sees a long frame holds none of
/// its 4 MiB.
pub struct JumboPool {
    slots: Box<std::cell::UnsafeCell<[u8]>>,
}

// SAFETY: a slot is written only by its worker while it is free, and read
// only by the worker it was lent to until that one gives it back (the
// rings' release/acquire order the accesses).
unsafe impl Sync for JumboPool {}

impl Default for JumboPool {
    fn default() -> Self {
        let zeroed = vec![0u8; JUMBO_SLOTS * JUMBO_SLOT].into_boxed_slice();
        // SAFETY: `UnsafeCell<[u8]>` has the layout of `[u8]`
        // (`repr(transparent)`), so the box is the same allocation.
        let slots =
            unsafe { Box::from_raw(Box::into_raw(zeroed) as *mut std::cell::UnsafeCell<[u8]>) };
        JumboPool { slots }
    }
}

impl JumboPool {
    /// Copies `data` into free slot `i`.
    ///
    /// # Safety
    /// Slot `i` must be free (owned by the calling worker).
    pub unsafe fn fill(&self, i: usize, data: &[u8]) {
        let n = data.len().min(JUMBO_SLOT);
        // SAFETY: per the contract, nobody else touches the slot.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.slot(i), n) };
    }

    /// The first `len` bytes of slot `i`.
    ///
    /// # Safety
    /// Slot `i` must be held by, or lent to, the calling worker.
    pub unsafe fn get(&self, i: usize, len: usize) -> &[u8] {
        // SAFETY: per the contract, nobody writes the slot meanwhile.
        unsafe { std::slice::from_raw_parts(self.slot(i), len.min(JUMBO_SLOT)) }
    }

    /// The start of slot `i`, which lies within the allocation.
    fn slot(&self, i: usize) -> *mut u8 {
        assert!(i < JUMBO_SLOTS, "jumbo slot {i}");
        // SAFETY: `i * JUMBO_SLOT` is inside the allocation of
        // `JUMBO_SLOTS * JUMBO_SLOT` bytes.
        unsafe { self.slots.get().cast::<u8>().add(i * JUMBO_SLOT) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumbo_slots_hold_what_was_put() {
        let pool = JumboPool::default();
        let data: Vec<u8> = (0..9000u32).map(|i| i as u8).collect();
        let long: Vec<u8> = (0..JUMBO_SLOT as u32).map(|i| (i / 7) as u8).collect();
        // SAFETY: single-threaded test owning every slot.
        unsafe {
            pool.fill(3, &data);
            pool.fill(JUMBO_SLOTS - 1, &long);
            pool.fill(4, &long);
            assert_eq!(pool.get(3, data.len()), &data[..]);
            assert_eq!(pool.get(4, long.len()), &long[..]);
            assert_eq!(pool.get(JUMBO_SLOTS - 1, long.len()), &long[..]);
        }
    }
}
