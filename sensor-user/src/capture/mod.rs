//! Packet capture: where frames come from.
//!
//! Every source yields borrowed [`Frame`]s (bytes, timestamp, link type) to
//! the same worker code, so what the offline reader finds predicts what the
//! live appliance finds.

pub mod afxdp;
mod mapped;
pub mod pcap;
pub mod xdp;

use crate::decode::LinkType;

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Link type of `data`.
    pub link: LinkType,
    /// The captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
}
