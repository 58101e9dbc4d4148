//! The live dispatch path with arbitrary frames: the owner of a frame is
//! the same for both directions of a flow, and a frame lent to its owner
//! (to every other worker, for a fragment) through the descriptor rings (in
//! a jumbo slot when long) arrives intact and comes back to its lender.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use ringbuf::traits::{Consumer, Producer};
use sensor::capture::Frame;
use sensor::decode::LinkType;
use sensor::flow::owner::{owner, Owner};
use sensor::live::dispatch::{build_mesh, Desc, JumboPool, Mesh, Returned, JUMBO, JUMBO_SLOT};

/// Frames up to this length are lent in place (one UMEM frame).
const SINGLE: usize = 2048;

/// `frame` with the addresses and ports of an unfragmented Ethernet
/// IPv4/IPv6 TCP packet swapped (the reply direction), if it is one. (Not
/// UDP: the owner of a tunnel's packet is its inner flow's.)
fn reversed(frame: &[u8]) -> Option<Vec<u8>> {
    let be16 = |o: usize| Some(u16::from_be_bytes([*frame.get(o)?, *frame.get(o + 1)?]));
    let mut off = 12;
    let mut ethertype = be16(off)?;
    let mut tags = 0;
    while (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2 {
        off += 4;
        ethertype = be16(off)?;
        tags += 1;
    }
    let l3 = off + 2;
    let mut f = frame.to_vec();
    let (src, alen, proto, l4) = match ethertype {
        0x0800 => {
            if f.get(l3)? >> 4 != 4 || be16(l3 + 6)? & 0x3fff != 0 {
                return None;
            }
            let ihl = usize::from(*f.get(l3)? & 0x0f) * 4;
            // A shorter header would put the ports over the addresses.
            if ihl < 20 {
                return None;
            }
            (l3 + 12, 4, *f.get(l3 + 9)?, l3 + ihl)
        }
        0x86dd if f.get(l3)? >> 4 == 6 => (l3 + 8, 16, *f.get(l3 + 6)?, l3 + 40),
        _ => return None,
    };
    if f.len() < src + 2 * alen || f.len() < l4 + 4 || proto != 6 {
        return None;
    }
    for i in 0..alen {
        f.swap(src + i, src + alen + i);
    }
    f.swap(l4, l4 + 2);
    f.swap(l4 + 1, l4 + 3);
    Some(f)
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let workers = 2 + usize::from(sel % 3);
    MESHES.with_borrow_mut(|meshes| {
        let (meshes, jumbo) = meshes[workers - 2].get_or_insert_with(|| {
            (
                build_mesh(workers),
                (0..workers).map(|_| JumboPool::default()).collect(),
            )
        });
        lend_all(workers, meshes, jumbo, rest);
    });
});

thread_local! {
    /// The rings and jumbo slots of 2, 3 and 4 workers, built once (every
    /// input leaves the rings empty and the slots free).
    static MESHES: RefCell<[Option<(Vec<Mesh>, Vec<JumboPool>)>; 3]> = Default::default();
}

/// Lends the frames of `rest` between `workers` workers, checking each.
fn lend_all(workers: usize, meshes: &mut [Mesh], jumbo: &[JumboPool], mut rest: &[u8]) {
    // Each worker's free jumbo slots (two each keeps the slots scarce).
    let mut free: Vec<Vec<u32>> = (0..workers).map(|_| vec![0, 1]).collect();
    // The "UMEM": frames by address, as their receivers hold them.
    let mut umem: Vec<Vec<u8>> = Vec::new();

    // Each frame: the worker that receives it, a u16 length, the bytes.
    while rest.len() >= 3 {
        let at = usize::from(rest[0]) % workers;
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let frame = &rest[3..3 + len];
        rest = &rest[3 + len..];

        let found = owner(&ethernet(frame), workers);
        if let Some(r) = reversed(frame) {
            assert_eq!(owner(&ethernet(&r), workers), found, "asymmetric flow hash");
        }
        let targets = match found {
            Owner::Worker(w) if w == at => continue,
            Owner::Worker(w) => w..w + 1,
            Owner::Everyone => 0..workers,
        };
        let addr = umem.len() as u64;
        umem.push(frame.to_vec());
        for to in targets.filter(|&w| w != at) {
            lend(meshes, jumbo, &mut free, (at, to), &umem, addr, frame);
        }
    }
    assert!(free.iter().all(|f| f.len() == 2), "a jumbo slot was lost");
    for m in meshes.iter_mut() {
        assert!(m.from.iter_mut().flatten().all(|c| c.try_pop().is_none()));
        assert!(m
            .back_from
            .iter_mut()
            .flatten()
            .all(|c| c.try_pop().is_none()));
    }
}

/// `data` as an Ethernet frame.
fn ethernet(data: &[u8]) -> Frame<'_> {
    Frame {
        ts_ns: 0,
        link: LinkType::ETHERNET,
        data,
        orig_len: data.len() as u32,
    }
}

/// Lends `frame` (the lender's UMEM frame at `addr`) from worker `at` to
/// worker `owner`, checks what arrives, and checks that it comes back (if
/// it could be lent: a slot was free and the ring had room).
fn lend(
    meshes: &mut [Mesh],
    jumbo: &[JumboPool],
    free: &mut [Vec<u32>],
    (at, owner): (usize, usize),
    umem: &[Vec<u8>],
    addr: u64,
    frame: &[u8],
) {
    let len = frame.len();
    let mut desc = Desc {
        queue: at as u32,
        source: at as u32,
        len: len as u32,
        addr,
        key: addr,
    };
    if len > SINGLE {
        if len > JUMBO_SLOT {
            return;
        }
        let Some(slot) = free[at].pop() else { return };
        // SAFETY: the slot came off the lender's free list.
        unsafe { jumbo[at].fill(slot as usize, frame) };
        desc.queue = JUMBO;
        desc.addr = u64::from(slot);
    }
    let sent = meshes[at].to[owner]
        .as_mut()
        .is_some_and(|p| p.try_push(desc).is_ok());
    if !sent {
        if desc.queue == JUMBO {
            free[at].push(desc.addr as u32);
        }
        return;
    }

    // The owner takes what it was lent, checks it, gives it back.
    let Some(got) = meshes[owner].from[at].as_mut().and_then(|c| c.try_pop()) else {
        panic!("a lent frame did not arrive");
    };
    let bytes: &[u8] = if got.queue == JUMBO {
        // SAFETY: the slot was lent to this owner and not yet returned.
        unsafe { jumbo[at].get(got.addr as usize, got.len as usize) }
    } else {
        &umem[got.addr as usize][..got.len as usize]
    };
    assert_eq!(bytes, frame, "a lent frame changed on its way");
    let back = Returned {
        queue: got.queue,
        addr: got.addr,
    };
    assert!(meshes[owner].back_to[at]
        .as_mut()
        .is_some_and(|p| p.try_push(back).is_ok()));
    // The lender takes the frame back (a jumbo slot becomes free).
    if let Some(r) = meshes[at].back_from[owner]
        .as_mut()
        .and_then(|c| c.try_pop())
    {
        if r.queue == JUMBO {
            free[at].push(r.addr as u32);
        }
        return;
    }
    panic!("a lent frame did not come back");
}
