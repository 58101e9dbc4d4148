//! Arbitrary sequences of segments and acknowledgements: the reassembler
//! never panics, delivers a contiguous stream, and returns every pool block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::reassembly::{Chunk, SegmentPool, StreamLimits, StreamReassembler};

fuzz_target!(|data: &[u8]| {
    let mut pool = SegmentPool::new(8);
    let mut r = StreamReassembler::new();
    let limits = StreamLimits {
        max_ooo_bytes: 6000,
        max_above_hole: 9000,
    };
    let mut next = 1u64;
    let mut check = |c: Chunk<'_>| match c {
        Chunk::Data { seq, data } => {
            assert_eq!(seq, next);
            next += data.len() as u64;
        }
        Chunk::Gap { seq, len } => {
            assert_eq!(seq, next);
            next += len;
        }
    };
    let payload = [0x41u8; 4096];
    for op in data.chunks(5) {
        if op.len() < 5 {
            break;
        }
        let seq = 1 + u16::from_le_bytes([op[1], op[2]]) as u64 * 7;
        let len = u16::from_le_bytes([op[3], op[4]]) as usize % payload.len();
        if op[0] & 1 == 0 {
            r.data_sent(
                &mut pool,
                seq,
                &payload[..len],
                &limits,
                op[0] & 2 != 0,
                &mut check,
            );
        } else {
            r.ack_received(&mut pool, seq, &mut check);
        }
    }
    r.release_all(&mut pool);
    assert_eq!(pool.free_blocks(), pool.capacity());
});
