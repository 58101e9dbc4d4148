//! What follows a TLS connection past its logged handshake when records are
//! still read: with `SSL::disable_analyzer_after_detection=F`, which
//! `protocols/ssl/heartbleed` sets, Zeek's SSL analyzer stays on the
//! connection to its end. Once both directions are encrypted, all it does
//! is read each record's header: it checks the version, and hands the
//! type and length to the heartbeat checks (`ssl_encrypted_data`).
//!
//! A full [`TlsSession`](super::session::TlsSession) is some 5 KB and comes
//! from a pool bounded for handshakes; a long-lived connection holding one
//! would starve the handshakes that follow. So the session hands over to a
//! [`TlsTail`] of a few dozen bytes, which does exactly that work.

use std::fmt::Write;

use super::names::Name;
use super::policy::{Heartbleed, Negotiated};
use super::session::{at, TlsEnv, TlsNext};
use crate::inline_str::InlineStr;

/// The record layer of one direction: the header being read and the body
/// bytes still to come.
#[derive(Clone, Copy, Debug, Default)]
struct Head {
    hdr: [u8; 5],
    hdr_len: u8,
    left: u16,
}

/// A TLS connection past its logged handshake, both directions encrypted.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsTail {
    dirs: [Head; 2],
    /// The handshake showed the roles reversed.
    flipped: bool,
    /// Parsing stopped (a violation or a content gap).
    skip: bool,
    /// The heartbeat checks, when heartbleed is loaded.
    heartbleed: Option<Heartbleed>,
    /// `c$ssl$version` as a number, for the heartbeat checks.
    version: u16,
    /// `c$ssl$cipher`, for the heartbeat checks.
    cipher: Name,
}

impl TlsTail {
    /// The tail that goes on from a session: each direction's header bytes
    /// read, how many, and the body bytes left of its record (originator
    /// first); whether the roles were reversed; the heartbeat checks' state
    /// (when heartbleed is loaded); the negotiated version and cipher.
    pub fn new(
        dirs: [([u8; 5], usize, usize); 2],
        flipped: bool,
        heartbleed: Option<Heartbleed>,
        version: u16,
        cipher: Name,
    ) -> Self {
        let head = |(hdr, hdr_len, left): ([u8; 5], usize, usize)| Head {
            hdr,
            hdr_len: hdr_len.min(5) as u8,
            left: left.min(usize::from(u16::MAX)) as u16,
        };
        TlsTail {
            dirs: dirs.map(head),
            flipped,
            skip: false,
            heartbleed,
            version,
            cipher,
        }
    }

    /// Feeds in-order payload of one direction; `Done` once parsing
    /// stopped.
    pub fn deliver(&mut self, is_orig: bool, mut data: &[u8], env: &mut dyn TlsEnv) -> TlsNext {
        let d = usize::from(!is_orig);
        while !data.is_empty() && !self.skip {
            let dir = &mut self.dirs[d];
            let have = usize::from(dir.hdr_len);
            if have < 5 {
                let n = (5 - have).min(data.len());
                dir.hdr[have..have + n].copy_from_slice(&data[..n]);
                dir.hdr_len += n as u8;
                data = &data[n..];
                if dir.hdr_len == 5 {
                    self.header(is_orig, env);
                }
                continue;
            }
            let n = usize::from(dir.left).min(data.len());
            data = &data[n..];
            dir.left -= n as u16;
            if dir.left == 0 {
                self.end(is_orig, env);
            }
        }
        if self.skip {
            TlsNext::Done
        } else {
            TlsNext::Continue
        }
    }

    /// A content gap: Zeek stops parsing both directions.
    pub fn gap(&mut self) {
        self.skip = true;
    }

    /// A whole header: past the handshake, only the version is checked.
    fn header(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let h = self.dirs[d].hdr;
        let version = u16::from_be_bytes([h[1], h[2]]);
        if !matches!(version, 0x0300..=0x0303) {
            let mut why = InlineStr::<96>::new();
            let _ = write!(
                why,
                "Invalid version late in TLS connection. Packet reported version: {version}"
            );
            env.violation(why.as_bytes());
            self.skip = true;
            return;
        }
        self.dirs[d].left = u16::from_be_bytes([h[3], h[4]]);
        if self.dirs[d].left == 0 {
            self.end(is_orig, env);
        }
    }

    /// The record ended: `ssl_encrypted_data` for the heartbeat checks.
    fn end(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let h = self.dirs[d].hdr;
        self.dirs[d].hdr_len = 0;
        let Some(hb) = self.heartbleed.as_mut() else {
            return;
        };
        let length = u64::from(u16::from_be_bytes([h[3], h[4]]));
        let neg = Negotiated {
            version: self.version,
            cipher: self.cipher.as_bytes(),
        };
        let is_client = is_orig ^ self.flipped;
        hb.encrypted(&at(env), is_client, h[0], length, &neg, &mut |n| {
            env.emit(n)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tail stays small: it is what a long-lived TLS connection holds
    /// past its handshake when records are still read.
    #[test]
    fn a_tail_is_a_few_cache_lines() {
        let size = std::mem::size_of::<TlsTail>();
        assert!(size <= 192, "{size} bytes");
    }
}
