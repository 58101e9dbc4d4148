//! Transparent huge pages for the large tables a worker fills as traffic
//! arrives (flow slots, application states, session pools).
//!
//! Those tables reserve address space for their bound at start and are
//! touched an entry at a time as connections come. With 4 KiB pages every
//! fresh page costs a fault; on traffic that opens thousands of
//! connections at once the faults are a sizeable share of the run. Asking
//! the kernel for transparent huge pages over a table makes one fault map
//! 2 MiB. Memory still follows use, in 2 MiB steps; where the kernel
//! does not give huge pages (disabled, or none free) nothing changes.

/// Smallest reservation worth advising: below a few huge pages, the
/// rounding up to 2 MiB costs more memory than the faults it saves.
const MIN_BYTES: usize = 8 << 20;

/// Huge page size on x86-64 and aarch64 (4 KiB base pages).
const HUGE: usize = 2 << 20;

/// Asks for transparent huge pages over the whole 2 MiB pages inside
/// `v`'s reserved capacity, if it reserves at least [`MIN_BYTES`].
pub fn advise<T>(v: &Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    let Some((first, end)) = huge_range(v.as_ptr() as usize, bytes) else {
        return;
    };
    // SAFETY: the range lies inside the vector's own allocation, and
    // MADV_HUGEPAGE changes only how the kernel backs it, not its
    // contents; an error (no THP support) is ignored.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

/// The whole huge pages inside `bytes` from `start`, if the reservation
/// is large enough to advise.
fn huge_range(start: usize, bytes: usize) -> Option<(usize, usize)> {
    if bytes < MIN_BYTES {
        return None;
    }
    let first = start.checked_next_multiple_of(HUGE)?;
    let end = start.checked_add(bytes)? / HUGE * HUGE;
    (end > first).then_some((first, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = (a..b).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.to_string());
                }
            }
        }
        None
    }

    /// Only whole huge pages inside a large enough reservation are advised.
    #[test]
    fn range_is_the_whole_huge_pages_inside() {
        assert_eq!(huge_range(HUGE + 4096, MIN_BYTES - 1), None);
        assert_eq!(
            huge_range(HUGE + 4096, MIN_BYTES),
            Some((2 * HUGE, HUGE + MIN_BYTES / HUGE * HUGE))
        );
        assert_eq!(huge_range(0, MIN_BYTES), Some((0, MIN_BYTES)));
        assert_eq!(huge_range(usize::MAX - 100, MIN_BYTES), None);
    }

    /// A large table's whole huge pages are advised: the kernel marks
    /// their mapping `hg` (where transparent huge pages are available).
    #[test]
    fn large_tables_are_advised() {
        if !std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .is_ok_and(|s| !s.contains("[never]"))
        {
            return;
        }
        let big: Vec<u64> = Vec::with_capacity(4 << 20);
        advise(&big);
        let inner = (big.as_ptr() as usize).next_multiple_of(HUGE);
        let flags = vm_flags(inner).unwrap_or_default();
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    }
}
