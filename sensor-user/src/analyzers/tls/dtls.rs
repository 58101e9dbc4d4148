//! The DTLS record layer, as Zeek's DTLS analyzer reads it
//! (`dtls-protocol.pac`, `dtls-analyzer.pac`): each UDP datagram holds
//! records, each record one handshake fragment, change-cipher-spec bytes,
//! alerts, a heartbeat or ciphertext. Handshake messages cut into fragments
//! are put together again; whole messages go on to the TLS handshake layer
//! ([`super::session::TlsSession`]) through [`DtlsEvents`], which this
//! module knows nothing else of.
//!
//! What Zeek does and this follows:
//! - A datagram whose bytes 4 to 7 are STUN's magic cookie (and which is
//!   longer than 20 bytes) is skipped.
//! - A record with another version than DTLS 1.0 or 1.2 is counted and its
//!   datagram's rest dropped; once the connection confirmed DTLS, the first
//!   `SSL::dtls_max_reported_version_errors` of them are violations, and past
//!   `SSL::dtls_max_version_errors` (counted since the last good record of a
//!   confirmed connection) the connection is no longer parsed.
//! - Epoch 0 is plaintext, any other epoch ciphertext. Once DTLS 1.3 is
//!   negotiated, a first byte `001xxxxx` opens a unified-header record,
//!   which takes the rest of the datagram.
//! - Fragments are kept per direction for one message at a time (its
//!   handshake sequence and length), at most 100,000 bytes, within 32 record
//!   sequence numbers of the first, and a message of more than 31 pieces is
//!   not put together. A fragment that does not fit is a violation.
//! - A datagram cut short is binpac's `out_of_bound` exception: a violation
//!   that drops the rest of the datagram.

use std::fmt::Write;

use crate::inline_str::InlineStr;

/// DTLS 1.0's version number.
pub const DTLS_V10: u16 = 0xFEFF;
/// DTLS 1.2's version number.
pub const DTLS_V12: u16 = 0xFEFD;
/// DTLS 1.3's version number (its hellos carry 1.2's).
pub const DTLS_V13: u16 = 0xFEFC;

/// Zeek's `MAX_DTLS_HANDSHAKE_RECORD`: the longest message put together
/// from fragments.
pub const MAX_HANDSHAKE_RECORD: u32 = 100_000;

/// Bytes of a record header after its content type: version, epoch,
/// sequence number and length.
const RECORD_HEADER: usize = 12;
/// Bytes of a handshake fragment's header.
const FRAGMENT_HEADER: usize = 12;
/// STUN's magic cookie (RFC 5389), at bytes 4 to 7 of a STUN message.
const STUN_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Whether a UDP payload opens DTLS as Zeek's `dpd_dtls_client` signature
/// finds it: a DTLS 1.0 or 1.2 record of epoch 0 and sequence number below
/// 256 holding a ClientHello fragment of a DTLS 1.0 or 1.2 hello.
pub fn client_hello_signature(p: &[u8]) -> bool {
    p.len() >= 27
        && p[0] == 0x16
        && p[1] == 0xfe
        && matches!(p[2], 0xff | 0xfd)
        && p[3..10].iter().all(|b| *b == 0)
        && p[13] == 1
        && p[25] == 0xfe
        && matches!(p[26], 0xff | 0xfd)
}

/// What the first record of a datagram means for a connection DTLS is
/// attached to by port but has not parsed a record of yet: a session is
/// taken only for a datagram that can be DTLS, so that other traffic on
/// the port (QUIC on 443/udp) holds none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// Nothing Zeek's DTLS reads: empty, or a STUN message.
    Skip,
    /// A record header cut short, with the bytes there were after the
    /// content type ([`cut_reason`] words the violation).
    Cut(u8),
    /// A record of another version than DTLS 1.0 or 1.2 (counted; the rest
    /// of the datagram is not read).
    OtherVersion,
    /// DTLS records: the session starts here.
    Records,
}

/// The datagrams of a UDP connection before it has a DTLS session, as
/// Zeek's DTLS analyzer reads them: on a port of `SSL::dtls_ports` as they
/// come, and, where DTLS's signature starts the analyzer, when Zeek replays
/// the detection window's datagrams into it. The datagrams themselves are
/// not held (a signature match is rare, every UDP flow would pay), only
/// what they do to a session that has not confirmed DTLS: records of other
/// versions counted, and the first datagram whose record header is cut,
/// which is binpac's violation. Datagrams of DTLS records before the one
/// that matches are not replayed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Before {
    /// Records of other versions than DTLS 1.0 and 1.2.
    pub other_versions: u16,
    /// The first cut datagram ([`Opening::Cut`]).
    pub cut: Option<u8>,
}

impl Before {
    /// Classifies a datagram as [`opening`] does and counts what it does.
    pub fn note(&mut self, data: &[u8]) -> Opening {
        let o = opening(data);
        match o {
            Opening::OtherVersion => self.other_versions = self.other_versions.wrapping_add(1),
            Opening::Cut(given) if self.cut.is_none() => self.cut = Some(given),
            _ => {}
        }
        o
    }
}

/// The violation of a datagram too short for a record header, with
/// `given` bytes after the content type.
pub fn cut_reason(given: u8) -> InlineStr<128> {
    OutOfBound("SSLRecord:length", RECORD_HEADER, usize::from(given)).reason()
}

/// Classifies a datagram as [`Opening`] says.
pub fn opening(data: &[u8]) -> Opening {
    if data.is_empty() || is_stun(data) {
        return Opening::Skip;
    }
    let Some(h) = data[1..].get(..RECORD_HEADER) else {
        // Shorter than a header: fewer than 12 bytes follow.
        return Opening::Cut(data.len() as u8 - 1);
    };
    match u16::from_be_bytes([h[0], h[1]]) {
        DTLS_V10 | DTLS_V12 => Opening::Records,
        _ => Opening::OtherVersion,
    }
}

/// Zeek's DTLS analyzer skips a STUN message (its magic cookie at bytes 4
/// to 7 of more than 20 bytes).
fn is_stun(data: &[u8]) -> bool {
    data.len() > 20 && data[4..8] == STUN_COOKIE
}

/// What the record layer found, for the handshake layer and the scripts.
pub trait DtlsEvents {
    /// Whether the connection confirmed DTLS (a good ClientHello).
    fn confirmed(&self) -> bool;
    /// The version the server chose (0: not known yet).
    fn negotiated_version(&self) -> u16;
    /// A whole handshake message (Zeek hands the handshake parser its type,
    /// its length and its bytes, which may be fewer or more than the
    /// length says).
    fn handshake(
        &mut self,
        is_orig: bool,
        record_version: u16,
        msg_type: u8,
        len: u32,
        body: &[u8],
    );
    /// One change-cipher-spec byte.
    fn change_cipher_spec(&mut self, is_orig: bool);
    /// An alert record's body.
    fn alerts(&mut self, is_orig: bool, body: &[u8]);
    /// A heartbeat record: its length, type and payload length.
    fn heartbeat(&mut self, is_orig: bool, length: u16, kind: u8, payload_length: u16);
    /// A ciphertext record (epoch above 0).
    fn ciphertext(&mut self, is_orig: bool, content_type: u8, length: u16);
    /// A DTLS 1.3 unified-header record of `length` bytes after its header.
    fn unified(&mut self, is_orig: bool, length: usize);
    /// A violation; returns whether the analyzer is removed (parsing stops).
    fn violation(&mut self, reason: &[u8]) -> bool;
    /// Makes `buf` hold `len` bytes for a message put together from
    /// fragments; false if memory does not allow it.
    fn reserve(&mut self, buf: &mut Vec<u8>, len: usize) -> bool;
    /// Whether the handshake layer stopped the connection's analysis.
    fn stopped(&self) -> bool;
}

/// One direction's message being put together (Zeek's `message_info`).
#[derive(Debug, Default)]
pub(super) struct Fragments {
    /// The buffer is in use (Zeek's `buffer != nullptr`).
    active: bool,
    first_seq: u64,
    first_seen: bool,
    last_seq: u64,
    msg_seq: u16,
    length: u32,
    /// Record sequence numbers seen, from `first_seq` on.
    seen: u32,
    /// The message's bytes.
    pub(super) buf: Vec<u8>,
}

/// A connection's DTLS record-layer state.
#[derive(Debug, Default)]
pub(super) struct DtlsRecords {
    pub(super) dirs: [Fragments; 2],
    invalid_versions: u16,
    reported_errors: u16,
    /// Parsing stopped (Zeek's `SetSkip`).
    skip: bool,
}

/// A record cut short: binpac's `out_of_bound` (`Type:field`, bytes
/// needed, bytes there were).
struct OutOfBound(&'static str, usize, usize);

impl OutOfBound {
    /// The violation's reason, as Zeek words a binpac exception.
    fn reason(&self) -> InlineStr<128> {
        let OutOfBound(what, needed, given) = self;
        let mut why = InlineStr::<128>::new();
        let _ = write!(
            why,
            "Binpac exception: binpac exception: out_of_bound: {what}: {needed} > {given}"
        );
        why
    }
}

impl DtlsRecords {
    /// A session taken after `n` records of other versions (counted while
    /// the connection had none) starts with them counted.
    pub(super) fn count_other_versions(&mut self, n: u16) {
        self.invalid_versions = n;
    }

    /// Back to a new connection's state (the buffers are the caller's to
    /// give back first).
    pub(super) fn reset(&mut self) {
        for f in &mut self.dirs {
            let buf = std::mem::take(&mut f.buf);
            *f = Fragments {
                buf,
                ..Fragments::default()
            };
        }
        self.invalid_versions = 0;
        self.reported_errors = 0;
        self.skip = false;
    }

    /// Reads one datagram's records.
    pub(super) fn datagram(
        &mut self,
        is_orig: bool,
        data: &[u8],
        max: (u64, u64),
        ev: &mut dyn DtlsEvents,
    ) {
        if self.skip || is_stun(data) {
            return;
        }
        let mut rest = data;
        while !rest.is_empty() && !self.skip && !ev.stopped() {
            match self.record(is_orig, rest, max, ev) {
                Ok(n) => rest = &rest[n..],
                Err(e) => {
                    if ev.violation(e.reason().as_bytes()) {
                        self.skip = true;
                    }
                    return;
                }
            }
        }
    }

    /// One record at the start of `data`; returns the bytes it took.
    fn record(
        &mut self,
        is_orig: bool,
        data: &[u8],
        max: (u64, u64),
        ev: &mut dyn DtlsEvents,
    ) -> Result<usize, OutOfBound> {
        let first = data[0];
        if ev.negotiated_version() == DTLS_V13 && first & 0xE0 == 0x20 {
            return unified(is_orig, data, ev);
        }
        let h = data[1..].get(..RECORD_HEADER).ok_or(OutOfBound(
            "SSLRecord:length",
            RECORD_HEADER,
            data.len() - 1,
        ))?;
        let version = u16::from_be_bytes([h[0], h[1]]);
        let epoch = u16::from_be_bytes([h[2], h[3]]);
        let seq = u64::from_be_bytes([0, 0, h[4], h[5], h[6], h[7], h[8], h[9]]);
        let length = u16::from_be_bytes([h[10], h[11]]);
        if !self.version_ok(version, max, ev) {
            // The rest of the datagram is swallowed.
            return Ok(data.len());
        }
        let after = &data[1 + RECORD_HEADER..];
        let body = after.get(..usize::from(length)).ok_or(OutOfBound(
            "SSLRecord:rec",
            usize::from(length),
            after.len(),
        ))?;
        if epoch != 0 {
            ev.ciphertext(is_orig, first, length);
        } else {
            self.plaintext(is_orig, first, version, seq, body, ev)?;
        }
        Ok(1 + RECORD_HEADER + body.len())
    }

    /// Zeek's `dtls_version_ok`.
    fn version_ok(&mut self, version: u16, max: (u64, u64), ev: &mut dyn DtlsEvents) -> bool {
        if matches!(version, DTLS_V10 | DTLS_V12) {
            if ev.confirmed() {
                self.invalid_versions = 0;
            }
            return true;
        }
        self.invalid_versions = self.invalid_versions.wrapping_add(1);
        if ev.confirmed() {
            self.reported_errors = self.reported_errors.wrapping_add(1);
            if u64::from(self.reported_errors) <= max.1 {
                let mut why = InlineStr::<96>::new();
                let _ = write!(
                    why,
                    "Invalid version in DTLS connection. Packet reported version: {version}"
                );
                if ev.violation(why.as_bytes()) {
                    self.skip = true;
                }
            }
        }
        if u64::from(self.invalid_versions) > max.0 {
            self.skip = true;
        }
        false
    }

    /// An epoch-0 record's body, as its content type says.
    fn plaintext(
        &mut self,
        is_orig: bool,
        content_type: u8,
        version: u16,
        seq: u64,
        body: &[u8],
        ev: &mut dyn DtlsEvents,
    ) -> Result<(), OutOfBound> {
        match content_type {
            20 => {
                for _ in body {
                    ev.change_cipher_spec(is_orig);
                }
            }
            21 => ev.alerts(is_orig, body),
            22 if !body.is_empty() => {
                let h = body.get(..FRAGMENT_HEADER).ok_or(OutOfBound(
                    "Handshake:fragment_length",
                    FRAGMENT_HEADER,
                    body.len(),
                ))?;
                let fragment = Fragment {
                    msg_type: h[0],
                    length: u24(&h[1..4]),
                    msg_seq: u16::from_be_bytes([h[4], h[5]]),
                    offset: u24(&h[6..9]),
                    fragment_length: u24(&h[9..12]),
                    data: &body[FRAGMENT_HEADER..],
                };
                self.fragment(is_orig, version, seq, fragment, ev);
            }
            24 if !body.is_empty() => {
                let h =
                    body.get(..3)
                        .ok_or(OutOfBound("Heartbeat:payload_length", 3, body.len()))?;
                let payload_length = u16::from_be_bytes([h[1], h[2]]);
                ev.heartbeat(is_orig, body.len() as u16, h[0], payload_length);
            }
            22..=24 => {}
            t => {
                let mut why = InlineStr::<96>::new();
                let side = if is_orig { "originator" } else { "responder" };
                let _ = write!(why, "unknown SSL record type ({t}) from {side}");
                if ev.violation(why.as_bytes()) {
                    self.skip = true;
                }
            }
        }
        Ok(())
    }

    /// Zeek's `proc_handshake`: a whole message goes on at once, a piece
    /// into the direction's buffer, and the message once every piece from
    /// the first to the last is there.
    fn fragment(
        &mut self,
        is_orig: bool,
        version: u16,
        seq: u64,
        f: Fragment<'_>,
        ev: &mut dyn DtlsEvents,
    ) {
        if f.offset == 0 && f.length == f.fragment_length {
            ev.handshake(is_orig, version, f.msg_type, f.length, f.data);
            return;
        }
        let i = &mut self.dirs[usize::from(!is_orig)];
        let mut fail = |why: &[u8], ev: &mut dyn DtlsEvents| {
            if ev.violation(why) {
                self.skip = true;
            }
        };
        if f.length > MAX_HANDSHAKE_RECORD {
            let mut why = InlineStr::<96>::new();
            let _ = write!(
                why,
                "DTLS record length {} larger than allowed maximum.",
                f.length
            );
            fail(why.as_bytes(), ev);
            return;
        }
        if i.msg_seq != f.msg_seq || i.length != f.length || !i.active {
            // Not the message being put together: start anew.
            if !ev.reserve(&mut i.buf, f.length as usize) {
                i.active = false;
                return;
            }
            i.active = true;
            i.first_seen = false;
            i.last_seq = 0;
            i.seen = 0;
            i.msg_seq = f.msg_seq;
            i.length = f.length;
            i.first_seq = seq;
        }
        if i.first_seq.abs_diff(seq) >= 32 {
            fail(
                b"DTLS handshake fragment sequence number outside reassembly window.",
                ev,
            );
            return;
        }
        if seq < i.first_seq {
            if i.first_seen {
                fail(
                    b"Saw second and different first message fragment for handshake.",
                    ev,
                );
                return;
            }
            i.seen <<= i.first_seq - seq;
            i.first_seq = seq;
        }
        if f.offset == 0 {
            i.first_seen = true;
        }
        let bit = 1u32 << (seq - i.first_seq);
        if i.seen & bit != 0 {
            return;
        }
        if f.data.len() != f.fragment_length as usize {
            fail(
                b"DTLS handshake record length does not match packet length",
                ev,
            );
            return;
        }
        let end = u64::from(f.offset) + u64::from(f.fragment_length);
        if end > u64::from(f.length) {
            fail(
                b"DTLS handshake fragment trying to write past end of buffer",
                ev,
            );
            return;
        }
        i.seen |= bit;
        i.buf[f.offset as usize..end as usize].copy_from_slice(f.data);
        if end == u64::from(f.length) {
            i.last_seq = seq;
        }
        if i.last_seq == 0 || !i.first_seen {
            return;
        }
        let span = i.last_seq.wrapping_sub(i.first_seq);
        if span > 30 {
            fail(
                b"DTLS Message fragmented over more than 30 pieces. Cannot reassemble.",
                ev,
            );
            return;
        }
        let all = (1u32 << (span + 1)) - 1;
        if !i.seen & all == 0 {
            let buf = std::mem::take(&mut i.buf);
            ev.handshake(is_orig, version, f.msg_type, f.length, &buf);
            i.buf = buf;
        }
    }
}

/// A handshake fragment's header and bytes.
struct Fragment<'a> {
    msg_type: u8,
    length: u32,
    msg_seq: u16,
    offset: u32,
    fragment_length: u32,
    data: &'a [u8],
}

fn u24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

/// A DTLS 1.3 unified-header record (Zeek's `UnifiedRecord`): with a
/// connection ID nothing more is read (its length is not in the packet);
/// the record takes the rest of the datagram whatever its length field says.
fn unified(is_orig: bool, data: &[u8], ev: &mut dyn DtlsEvents) -> Result<usize, OutOfBound> {
    let first = data[0];
    let with_cid = first & 0x10 != 0;
    let mut at = 1;
    if !with_cid {
        let seq_len = if first & 0x08 != 0 { 2 } else { 1 };
        let given = data.len() - at;
        if given < seq_len {
            return Err(OutOfBound("UnifiedRecord:sequence_number", seq_len, given));
        }
        at += seq_len;
        if first & 0x04 != 0 {
            let given = data.len() - at;
            if given < 2 {
                return Err(OutOfBound("UnifiedRecord:length", 2, given));
            }
            at += 2;
        }
    }
    ev.unified(is_orig, data.len() - at);
    Ok(data.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the layer reports.
    #[derive(Default)]
    struct Seen {
        confirmed: bool,
        negotiated: u16,
        messages: Vec<(bool, u8, Vec<u8>)>,
        ccs: usize,
        cipher: Vec<(u8, u16)>,
        unified: Vec<usize>,
        violations: Vec<String>,
    }

    impl DtlsEvents for Seen {
        fn confirmed(&self) -> bool {
            self.confirmed
        }
        fn negotiated_version(&self) -> u16 {
            self.negotiated
        }
        fn handshake(&mut self, is_orig: bool, _: u16, t: u8, len: u32, body: &[u8]) {
            assert_eq!(len as usize, body.len());
            self.messages.push((is_orig, t, body.to_vec()));
        }
        fn change_cipher_spec(&mut self, _: bool) {
            self.ccs += 1;
        }
        fn alerts(&mut self, _: bool, _: &[u8]) {}
        fn heartbeat(&mut self, _: bool, _: u16, _: u8, _: u16) {}
        fn ciphertext(&mut self, _: bool, t: u8, len: u16) {
            self.cipher.push((t, len));
        }
        fn unified(&mut self, _: bool, len: usize) {
            self.unified.push(len);
        }
        fn violation(&mut self, reason: &[u8]) -> bool {
            self.violations
                .push(String::from_utf8_lossy(reason).into_owned());
            false
        }
        fn reserve(&mut self, buf: &mut Vec<u8>, len: usize) -> bool {
            buf.clear();
            buf.resize(len, 0);
            true
        }
        fn stopped(&self) -> bool {
            false
        }
    }

    const MAX: (u64, u64) = (10, 1);

    fn record(ctype: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ctype, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&seq.to_be_bytes()[2..]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn fragment(t: u8, msg: &[u8], msg_seq: u16, off: usize, len: usize) -> Vec<u8> {
        let mut f = vec![t];
        f.extend_from_slice(&(msg.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(&msg_seq.to_be_bytes());
        f.extend_from_slice(&(off as u32).to_be_bytes()[1..]);
        f.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        f.extend_from_slice(&msg[off..off + len]);
        f
    }

    #[test]
    fn the_signature_is_zeeks() {
        let hello = fragment(1, &[0xfe, 0xfd, 1, 2, 3], 0, 0, 5);
        let r = record(0x16, 0, 0, &hello);
        assert!(client_hello_signature(&r));
        // Sequence number 256: the signature allows only the low byte.
        assert!(!client_hello_signature(&record(0x16, 0, 256, &hello)));
        assert!(!client_hello_signature(&r[..26]));
    }

    #[test]
    fn fragments_out_of_order_and_repeated_make_one_message() {
        let msg: Vec<u8> = (0..100u8).collect();
        let mut d = DtlsRecords::default();
        let mut ev = Seen::default();
        let pieces = [(5, 40, 30), (3, 0, 40), (4, 40, 30), (6, 70, 30)];
        for (seq, off, len) in pieces {
            let r = record(0x16, 0, seq, &fragment(11, &msg, 2, off, len));
            d.datagram(false, &r, MAX, &mut ev);
        }
        assert_eq!(ev.messages, vec![(false, 11, msg.clone())]);
        assert!(ev.violations.is_empty());
    }

    #[test]
    fn a_jump_in_sequence_numbers_is_a_violation() {
        let msg = [7u8; 50];
        let mut d = DtlsRecords::default();
        let mut ev = Seen::default();
        let first = record(0x16, 0, 1, &fragment(11, &msg, 1, 0, 25));
        let far = record(0x16, 0, 1 << 40, &fragment(11, &msg, 1, 25, 25));
        d.datagram(true, &first, MAX, &mut ev);
        d.datagram(true, &far, MAX, &mut ev);
        assert!(ev.messages.is_empty());
        assert_eq!(
            ev.violations,
            vec!["DTLS handshake fragment sequence number outside reassembly window."]
        );
    }

    #[test]
    fn several_records_in_a_datagram_and_epochs() {
        let mut dgram = record(0x14, 0, 7, &[1]);
        dgram.extend(record(0x16, 1, 0, &[0xaa; 40]));
        let mut d = DtlsRecords::default();
        let mut ev = Seen::default();
        d.datagram(true, &dgram, MAX, &mut ev);
        assert_eq!((ev.ccs, ev.cipher.clone()), (1, vec![(0x16, 40)]));
    }

    #[test]
    fn versions_and_stun() {
        let mut d = DtlsRecords::default();
        let mut ev = Seen {
            confirmed: true,
            ..Seen::default()
        };
        let mut stun = vec![0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[0; 20]);
        d.datagram(true, &stun, MAX, &mut ev);
        assert!(ev.violations.is_empty());
        let mut bad = record(0x16, 0, 0, &[0; 20]);
        bad[1..3].copy_from_slice(&[3, 3]);
        d.datagram(true, &bad, MAX, &mut ev);
        d.datagram(true, &bad, MAX, &mut ev);
        // Only the first is reported (`dtls_max_reported_version_errors`).
        assert_eq!(
            ev.violations,
            vec!["Invalid version in DTLS connection. Packet reported version: 771"]
        );
        for _ in 0..10 {
            d.datagram(true, &bad, MAX, &mut ev);
        }
        assert!(d.skip);
    }

    #[test]
    fn what_opens_a_session() {
        assert_eq!(opening(&[]), Opening::Skip);
        let mut stun = vec![0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[0; 20]);
        assert_eq!(opening(&stun), Opening::Skip);
        // A QUIC long header: version bytes 0x0000.
        assert_eq!(
            opening(&[0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8]),
            Opening::OtherVersion
        );
        assert_eq!(opening(&record(0x16, 0, 3, &[0; 4])), Opening::Records);
        let Opening::Cut(given) = opening(&[0x16, 0xfe, 0xfd]) else {
            panic!("a cut header");
        };
        assert_eq!(
            cut_reason(given).as_bytes(),
            b"Binpac exception: binpac exception: out_of_bound: SSLRecord:length: 12 > 2"
        );
    }

    #[test]
    fn truncated_records_and_dtls13_unified_headers() {
        let mut d = DtlsRecords::default();
        let mut ev = Seen::default();
        let r = record(0x16, 0, 0, &[0; 30]);
        d.datagram(true, &r[..20], MAX, &mut ev);
        assert_eq!(
            ev.violations,
            vec!["Binpac exception: binpac exception: out_of_bound: SSLRecord:rec: 30 > 7"]
        );
        ev.negotiated = DTLS_V13;
        // 001 0 1 1 00: no CID, 16-bit sequence number, a length.
        d.datagram(false, &[0x2c, 0, 1, 0, 5, 1, 2, 3, 4, 5], MAX, &mut ev);
        assert_eq!(ev.unified, vec![5]);
    }
}
