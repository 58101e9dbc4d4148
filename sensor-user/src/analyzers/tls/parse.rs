//! Zero-copy views of TLS handshake messages: hellos, their extensions,
//! certificate lists and ECDH server parameters. Every accessor is checked;
//! malformed input gives `None` (or, for the hellos, the exception Zeek's
//! parser throws), never a panic.

use crate::inline_str::InlineStr;
use std::fmt::Write as _;

/// A cursor over big-endian wire data.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `b`.
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }

    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.b
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (x, rest) = self.b.split_at(n);
        self.b = rest;
        Some(x)
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    /// A 16-bit number.
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A 24-bit number.
    pub fn u24(&mut self) -> Option<u32> {
        self.bytes(3)
            .map(|b| (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32)
    }

    /// A vector with a one-byte length.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.bytes(n)
    }

    /// A vector with a two-byte length.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.bytes(n)
    }

    /// A vector with a three-byte length.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()? as usize;
        self.bytes(n)
    }
}

/// The 16-bit values of a list, in order (a trailing odd byte is ignored).
pub fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// A binpac `out_of_bound` exception as the parser Zeek generates from its
/// TLS grammar throws it: where (`Type:field`, `Type:field__elem` for an
/// element of an array without a length, or the type alone for a record's
/// own `&length`), what was needed (bytes from the type's start, or the
/// element count of a counted array) and what there was (bytes from the
/// type's start, or from the array's start for a counted array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfBound {
    /// The type and field.
    pub what: &'static str,
    /// Bytes (or elements) needed.
    pub needed: usize,
    /// Bytes available.
    pub given: usize,
}

impl OutOfBound {
    fn new(what: &'static str, needed: usize, given: usize) -> Self {
        OutOfBound {
            what,
            needed,
            given,
        }
    }

    /// Zeek's violation reason for it (`Binpac exception: ` and binpac's
    /// own message).
    pub fn reason(&self) -> InlineStr<128> {
        let mut s = InlineStr::new();
        let _ = write!(
            s,
            "Binpac exception: binpac exception: out_of_bound: {}: {} > {}",
            self.what, self.needed, self.given
        );
        s
    }
}

/// The exception Zeek's parser throws for a handshake message before its
/// direction check runs (fields of fixed size are checked as one block up
/// to the first of variable size): a ClientHello shorter than its version
/// and time, a ServerHello shorter than its version.
pub fn before_direction_check(msg_type: u8, body: &[u8]) -> Option<OutOfBound> {
    match msg_type {
        1 if body.len() < 6 => Some(OutOfBound::new("ClientHello:gmt_unix_time", 6, body.len())),
        2 if body.len() < 2 => Some(OutOfBound::new(
            "ServerHelloChoice:server_version1",
            2,
            body.len(),
        )),
        _ => None,
    }
}

/// A ClientHello.
#[derive(Clone, Copy, Debug)]
pub struct ClientHello<'a> {
    /// `legacy_version`.
    pub version: u16,
    /// The 32-byte random.
    pub random: &'a [u8],
    /// Session id (0 to 32 bytes).
    pub session_id: &'a [u8],
    /// Cipher suites, two bytes each.
    pub ciphers: &'a [u8],
    /// Compression methods.
    pub compression: &'a [u8],
    /// The extensions: everything after the extensions length, as Zeek
    /// reads them (to the end of the message); `None` when the message
    /// ends with the compression methods.
    pub extensions: Option<&'a [u8]>,
}

/// Parses a ClientHello body in the order of Zeek's grammar
/// (`tls-handshake-protocol.pac`), failing with the exception its parser
/// throws first. The extensions themselves are checked by
/// [`extensions_fault`].
pub fn client_hello(body: &[u8]) -> Result<ClientHello<'_>, OutOfBound> {
    let len = body.len();
    if let Some(e) = before_direction_check(1, body) {
        return Err(e);
    }
    let version = u16::from_be_bytes([body[0], body[1]]);
    if len < 34 {
        return Err(OutOfBound::new("ClientHello:random_bytes", 34, len));
    }
    let random = &body[2..34];
    let Some(&sid_len) = body.get(34) else {
        return Err(OutOfBound::new("ClientHello:session_len", 35, len));
    };
    let sid_len = sid_len as usize;
    let mut at = 35;
    if sid_len > len - at {
        return Err(OutOfBound::new("ClientHello:session_id", sid_len, len - at));
    }
    let session_id = &body[at..at + sid_len];
    at += sid_len;
    if matches!(version, 0xFEFF | 0xFEFD) {
        // DTLS 1.0 / 1.2: a cookie, parsed as a type of its own.
        let rest = len - at;
        let Some(&cookie_len) = body.get(at) else {
            return Err(OutOfBound::new("ClientHelloCookie:cookie_len", 1, rest));
        };
        let need = 1 + cookie_len as usize;
        if need > rest {
            return Err(OutOfBound::new("ClientHelloCookie:cookie", need, rest));
        }
        at += need;
    }
    if len < at + 2 {
        return Err(OutOfBound::new("ClientHello:csuit_len", at + 2, len));
    }
    let n = u16::from_be_bytes([body[at], body[at + 1]]) as usize / 2;
    at += 2;
    if n > (len - at) / 2 {
        return Err(OutOfBound::new("ClientHello:csuits", n, len - at));
    }
    let ciphers = &body[at..at + 2 * n];
    at += 2 * n;
    let Some(&m) = body.get(at) else {
        return Err(OutOfBound::new("ClientHello:cmeth_len", at + 1, len));
    };
    at += 1;
    if m as usize > len - at {
        return Err(OutOfBound::new("ClientHello:cmeths", m as usize, len - at));
    }
    let compression = &body[at..at + m as usize];
    at += m as usize;
    let extensions = match len - at {
        0 => None,
        1 => return Err(OutOfBound::new("ClientHello:ext_len__elem", at + 2, len)),
        _ => Some(&body[at + 2..]),
    };
    Ok(ClientHello {
        version,
        random,
        session_id,
        ciphers,
        compression,
        extensions,
    })
}

/// The first extension of a block that does not fit, as Zeek's parser
/// reports it (the extensions before it are parsed and handled).
pub fn extensions_fault(mut b: &[u8]) -> Option<OutOfBound> {
    while !b.is_empty() {
        if b.len() < 4 {
            return Some(OutOfBound::new("SSLExtension:data_len", 4, b.len()));
        }
        let need = u16::from_be_bytes([b[2], b[3]]) as usize + 4;
        if need > b.len() {
            return Some(OutOfBound::new("SSLExtension", need, b.len()));
        }
        b = &b[need..];
    }
    None
}

/// The first fault of an SSLv2 CLIENT-HELLO record body (cipher specs,
/// session id and challenge lengths, then the three), as Zeek's parser
/// reports it: the body is a list of hellos, each with a `&length` of
/// its six header bytes plus the three lengths. `record_len` is the
/// record's body length; `body` what of it was kept.
pub fn v2_client_hello_fault(body: &[u8], record_len: usize) -> Option<OutOfBound> {
    let mut at = 0;
    while at < record_len {
        let rest = record_len - at;
        if rest < 6 {
            return Some(OutOfBound::new("V2ClientHello:chal_len", 6, rest));
        }
        let need = 6 + lengths_sum(body.get(at..at + 6)?);
        if need > rest {
            return Some(OutOfBound::new("V2ClientHello", need, rest));
        }
        at += need;
    }
    None
}

/// The sum of the big-endian 16-bit lengths `b` holds (an SSLv2 message's
/// lengths of what follows them).
fn lengths_sum(b: &[u8]) -> usize {
    b.chunks_exact(2)
        .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
        .sum()
}

/// An SSLv2 SERVER-HELLO (its session-id-hit flag and certificate type
/// are in the record header).
#[derive(Clone, Copy, Debug)]
pub struct V2ServerHello<'a> {
    /// `server_version` (0x0002 for SSLv2).
    pub version: u16,
    /// The server's certificate.
    pub cert: &'a [u8],
    /// Cipher specs, three bytes each.
    pub ciphers: &'a [u8],
    /// The connection id, which Zeek reports as the session id.
    pub conn_id: &'a [u8],
}

impl V2ServerHello<'_> {
    /// Bytes the hello takes in its record.
    pub fn wire_len(&self) -> usize {
        8 + self.cert.len() + self.ciphers.len() + self.conn_id.len()
    }

    /// The first cipher spec (Zeek's `first_cipher`), 0 when there is none.
    pub fn first_cipher(&self) -> u32 {
        match self.ciphers {
            [a, b, c, ..] => u32::from_be_bytes([0, *a, *b, *c]),
            _ => 0,
        }
    }
}

/// Parses the SSLv2 SERVER-HELLO that starts `body` in a record with `len`
/// body bytes left from there (`body` holds what of them was kept). The
/// record's body is a list of hellos, each checked field by field as
/// Zeek's parser does: `Ok(None)` when the hello lies beyond what was kept.
pub fn v2_server_hello(body: &[u8], len: usize) -> Result<Option<V2ServerHello<'_>>, OutOfBound> {
    if len < 8 {
        return Err(OutOfBound::new("V2ServerHello:conn_id_len", 8, len));
    }
    let Some(h) = body.get(..8) else {
        return Ok(None);
    };
    let field = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]) as usize;
    let (cert_len, ciphers_len, conn_id_len) = (field(2), field(4), field(6));
    let cert_end = 8 + cert_len;
    let ciphers_end = cert_end + ciphers_len / 3 * 3;
    let end = ciphers_end + conn_id_len;
    for (what, need) in [
        ("V2ServerHello:cert_data", cert_end),
        ("V2ServerHello:ciphers", ciphers_end),
        ("V2ServerHello:conn_id_data", end),
    ] {
        if need > len {
            return Err(OutOfBound::new(what, need, len));
        }
    }
    let Some(b) = body.get(..end) else {
        return Ok(None);
    };
    Ok(Some(V2ServerHello {
        version: field(0) as u16,
        cert: &b[8..cert_end],
        ciphers: &b[cert_end..ciphers_end],
        conn_id: &b[ciphers_end..end],
    }))
}

/// The fault of an SSLv2 CLIENT-MASTER-KEY record body of `len` bytes
/// (`body` what of it was kept): the cipher kind's last byte, three
/// lengths, then the clear key, the encrypted key and the key argument.
pub fn v2_client_master_key_fault(body: &[u8], len: usize) -> Option<OutOfBound> {
    if len < 7 {
        return Some(OutOfBound::new("V2ClientMasterKey:key_arg_len", 7, len));
    }
    let need = 7 + lengths_sum(body.get(1..7)?);
    (need > len).then(|| OutOfBound::new("V2ClientMasterKey", need, len))
}

/// A ServerHello (also a HelloRetryRequest, which is a ServerHello with a
/// fixed random).
#[derive(Clone, Copy, Debug)]
pub struct ServerHello<'a> {
    /// `legacy_version` (a draft number for TLS 1.3 drafts).
    pub version: u16,
    /// The 32-byte random.
    pub random: &'a [u8],
    /// Session id (empty in the TLS 1.3 draft layout).
    pub session_id: &'a [u8],
    /// The chosen cipher suite.
    pub cipher: u16,
    /// The chosen compression method.
    pub compression: u8,
    /// Extensions (up to the end of the message, as Zeek reads them).
    pub extensions: &'a [u8],
}

/// The random of a HelloRetryRequest (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Parses a ServerHello body: the TLS 1.3 layout (no session id, no
/// compression) for versions 0x7Fxx and 0x0304, the classic one otherwise,
/// failing with the exception Zeek's parser throws first (the extensions
/// are checked by [`extensions_fault`]).
pub fn server_hello(body: &[u8]) -> Result<ServerHello<'_>, OutOfBound> {
    if let Some(e) = before_direction_check(2, body) {
        return Err(e);
    }
    let version = u16::from_be_bytes([body[0], body[1]]);
    // The hello proper is a type of its own after the two version bytes.
    let b = &body[2..];
    let len = b.len();
    let draft = version >> 8 == 0x7F || version == 0x0304;
    let (name, random, session_id, cipher, compression, mut at) = if draft {
        if len < 32 {
            return Err(OutOfBound::new("ServerHello13:random", 32, len));
        }
        if len < 34 {
            return Err(OutOfBound::new("ServerHello13:cipher_suite", 34, len));
        }
        let cipher = u16::from_be_bytes([b[32], b[33]]);
        (
            "ServerHello13:ext_len__elem",
            &b[..32],
            &b""[..],
            cipher,
            0,
            34,
        )
    } else {
        if len < 32 {
            return Err(OutOfBound::new("ServerHello:random_bytes", 32, len));
        }
        if len < 33 {
            return Err(OutOfBound::new("ServerHello:session_len", 33, len));
        }
        let sid_len = b[32] as usize;
        if sid_len > len - 33 {
            return Err(OutOfBound::new("ServerHello:session_id", sid_len, len - 33));
        }
        let at = 33 + sid_len;
        if len < at + 3 {
            return Err(OutOfBound::new(
                "ServerHello:compression_method",
                at + 3,
                len,
            ));
        }
        let cipher = u16::from_be_bytes([b[at], b[at + 1]]);
        let sid = &b[33..at];
        (
            "ServerHello:ext_len__elem",
            &b[..32],
            sid,
            cipher,
            b[at + 2],
            at + 3,
        )
    };
    // Zeek reads a length if anything is left, then extensions to the end.
    match len - at {
        0 => {}
        1 => return Err(OutOfBound::new(name, at + 2, len)),
        _ => at += 2,
    }
    Ok(ServerHello {
        version,
        random,
        session_id,
        cipher,
        compression,
        extensions: &b[at..],
    })
}

/// Iterates `(type, data)` over an extensions block; stops at the first
/// malformed entry.
pub fn extensions(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut r = Reader::new(b);
    std::iter::from_fn(move || {
        let t = r.u16()?;
        let d = r.vec16()?;
        Some((t, d))
    })
}

/// Extension numbers used here.
pub mod ext {
    /// server_name
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups (elliptic_curves)
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation
    pub const ALPN: u16 = 16;
    /// SessionTicket TLS
    pub const SESSION_TICKET: u16 = 35;
    /// key_share before draft 23
    pub const KEY_SHARE_OLD: u16 = 40;
    /// pre_shared_key
    pub const PRE_SHARED_KEY: u16 = 41;
    /// supported_versions
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share
    pub const KEY_SHARE: u16 = 51;
    /// encrypted_client_hello
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xFE0D;
}

/// Host names (name type 0) of a server_name extension, and whether
/// another name type was present.
pub fn server_names(d: &[u8]) -> (impl Iterator<Item = &[u8]>, bool) {
    let list = Reader::new(d).vec16().unwrap_or(&[]);
    let mut other = false;
    let mut r = Reader::new(list);
    while let (Some(t), Some(_)) = (r.u8(), r.vec16()) {
        other |= t != 0;
    }
    let mut r = Reader::new(list);
    let names = std::iter::from_fn(move || loop {
        let t = r.u8()?;
        let n = r.vec16()?;
        if t == 0 {
            return Some(n);
        }
    });
    (names, other)
}

/// Protocol names of an ALPN extension.
pub fn alpn(d: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(Reader::new(d).vec16().unwrap_or(&[]));
    std::iter::from_fn(move || r.vec8())
}

/// The versions of a supported_versions extension: a one-byte-length list
/// from a client, a single value from a server.
pub fn supported_versions(d: &[u8], from_client: bool) -> &[u8] {
    if from_client {
        Reader::new(d).vec8().unwrap_or(&[])
    } else {
        d.get(..2).unwrap_or(&[])
    }
}

/// The groups of a key_share extension: every entry's group from a
/// client, the one entry (or the HelloRetryRequest's bare group) from a
/// server. Returns them as a list of 16-bit values in `out`, count in the
/// return value.
pub fn key_share_groups(d: &[u8], from_client: bool, out: &mut [u16]) -> usize {
    let mut n = 0;
    if from_client {
        let mut r = Reader::new(Reader::new(d).vec16().unwrap_or(&[]));
        while let (Some(g), Some(_)) = (r.u16(), r.vec16()) {
            if n < out.len() {
                out[n] = g;
                n += 1;
            }
        }
    } else if let Some(g) = Reader::new(d).u16() {
        if !out.is_empty() {
            out[0] = g;
            n = 1;
        }
    }
    n
}

/// Certificates of a Certificate message (TLS 1.2 layout): each DER, in
/// order; stops at the first entry that does not fit.
pub fn certificates(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(body);
    let list = r.vec24().unwrap_or_else(|| {
        // A message cut short: take what is there.
        body.get(3..).unwrap_or(&[])
    });
    let mut r = Reader::new(list);
    std::iter::from_fn(move || r.vec24())
}

/// The named curve of an ECDHE ServerKeyExchange (`curve_type` 3).
pub fn ecdh_named_curve(body: &[u8]) -> Option<u16> {
    let mut r = Reader::new(body);
    if r.u8()? != 3 {
        return None;
    }
    r.u16()
}

/// The server's public value `Ys` of a DHE ServerKeyExchange (`p`, `g`,
/// `Ys`, each with a two-byte length).
pub fn dh_public_value(body: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(body);
    r.vec16()?;
    r.vec16()?;
    r.vec16()
}

/// Ciphers with an ephemeral (or anonymous) finite-field Diffie-Hellman
/// key exchange, by their names.
pub fn is_dhe_cipher(c: u16) -> bool {
    let name = super::names::cipher(c as u32);
    let n = name.as_bytes();
    n.starts_with(b"TLS_DHE_") || n.starts_with(b"TLS_DH_ANON_") || n.starts_with(b"SSL_DHE_")
}

/// Ciphers whose ServerKeyExchange Zeek decodes as ECDHE / ECDH_anon.
pub fn is_ecdhe_cipher(c: u16) -> bool {
    matches!(c,
        0xC006..=0xC00A | 0xC010..=0xC014 | 0xC015..=0xC019 | 0xC023 | 0xC024 | 0xC027 | 0xC028
        | 0xC02B | 0xC02C | 0xC02F | 0xC030 | 0xC033..=0xC03B | 0xC048 | 0xC049 | 0xC04C
        | 0xC04D | 0xC05C | 0xC05D | 0xC060 | 0xC061 | 0xC070..=0xC073 | 0xC076 | 0xC077
        | 0xC086 | 0xC087 | 0xC08A | 0xC08B | 0xC09A | 0xC09B | 0xC0AC..=0xC0AF | 0xCCA8
        | 0xCCA9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_extensions() {
        // ClientHello: version 0x0303, random, empty session id, 2 ciphers,
        // null compression, SNI "a.b" and ALPN "h2".
        let mut b = vec![0x03, 0x03];
        b.extend([7u8; 32]);
        b.push(0);
        b.extend([0, 4, 0x13, 0x01, 0xC0, 0x2F]);
        b.extend([1, 0]);
        let sni = [0u8, 6, 0, 0, 3, b'a', b'.', b'b'];
        let alpn_ext = [0u8, 3, 2, b'h', b'2'];
        let mut exts = vec![0, 0, 0, sni.len() as u8];
        exts.extend(sni);
        exts.extend([0, 16, 0, alpn_ext.len() as u8]);
        exts.extend(alpn_ext);
        b.extend([0, exts.len() as u8]);
        b.extend(&exts);
        let h = client_hello(&b).unwrap();
        assert_eq!(h.version, 0x0303);
        assert_eq!(u16s(h.ciphers).collect::<Vec<_>>(), vec![0x1301, 0xC02F]);
        let e: Vec<_> = extensions(h.extensions.unwrap()).collect();
        assert_eq!(e.len(), 2);
        let (mut names, other) = server_names(e[0].1);
        assert_eq!(names.next(), Some(&b"a.b"[..]));
        assert!(!other);
        assert_eq!(alpn(e[1].1).collect::<Vec<_>>(), vec![&b"h2"[..]]);
        // Every prefix parses or fails cleanly.
        for i in 0..b.len() {
            let _ = client_hello(&b[..i]).map(|h| h.extensions.map(|x| extensions(x).count()));
            let _ = server_hello(&b[..i]);
            let _ = certificates(&b[..i]).count();
        }
    }

    fn hello_body() -> Vec<u8> {
        // Version, random, 2-byte session id, 2 ciphers, null compression,
        // one empty extension.
        let mut b = vec![0x03, 0x03];
        b.extend([7u8; 32]);
        b.extend([2, 0xAA, 0xBB]);
        b.extend([0, 4, 0x13, 0x01, 0xC0, 0x2F]);
        b.extend([1, 0]);
        b.extend([0, 4, 0xFF, 0x01, 0, 0]);
        b
    }

    fn fault(b: &[u8]) -> String {
        let e = client_hello(b)
            .err()
            .or_else(|| extensions_fault(client_hello(b).ok()?.extensions?))
            .expect("a fault");
        String::from_utf8(e.reason().as_bytes().to_vec()).unwrap_or_default()
    }

    #[test]
    fn client_hello_faults_as_zeek_parser() {
        let b = hello_body();
        assert!(client_hello(&b).is_ok() && extensions_fault(&b[47..]).is_none());
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        for (len, want) in [
            (0, "ClientHello:gmt_unix_time: 6 > 0"),
            (5, "ClientHello:gmt_unix_time: 6 > 5"),
            (6, "ClientHello:random_bytes: 34 > 6"),
            (34, "ClientHello:session_len: 35 > 34"),
            (36, "ClientHello:session_id: 2 > 1"),
            (38, "ClientHello:csuit_len: 39 > 38"),
            // Two ciphers announced, one and a half there.
            (42, "ClientHello:csuits: 2 > 3"),
            (43, "ClientHello:cmeth_len: 44 > 43"),
            (44, "ClientHello:cmeths: 1 > 0"),
            (46, "ClientHello:ext_len__elem: 47 > 46"),
            (48, "SSLExtension:data_len: 4 > 1"),
            (50, "SSLExtension:data_len: 4 > 3"),
        ] {
            assert_eq!(fault(&b[..len]), format!("{p}{want}"), "length {len}");
        }
        // An extension longer than the message.
        let mut long = b.clone();
        long[50] = 9;
        assert_eq!(fault(&long), format!("{p}SSLExtension: 13 > 4"));
        // Odd cipher list length: Zeek reads length / 2 ciphers and goes on
        // right after them.
        // (the third byte is the compression methods' length).
        let mut odd = b[..37].to_vec();
        odd.extend([0, 3, 0x13, 0x01, 1, 0]);
        let h = client_hello(&odd).expect("parses");
        assert_eq!(h.ciphers, &[0x13, 0x01]);
        assert_eq!(h.compression, &[0]);
        assert_eq!(h.extensions, None);
    }

    #[test]
    fn server_hello_faults_as_zeek_parser() {
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        let reason = |b: &[u8]| {
            let e = server_hello(b).expect_err("a fault");
            String::from_utf8(e.reason().as_bytes().to_vec()).unwrap_or_default()
        };
        let mut b = vec![0x03, 0x03];
        b.extend([2u8; 32]);
        b.extend([1, 0xAA, 0x13, 0x01, 0]);
        b.extend([0, 0]);
        assert!(server_hello(&b).is_ok());
        for (len, want) in [
            (1, "ServerHelloChoice:server_version1: 2 > 1"),
            (20, "ServerHello:random_bytes: 32 > 18"),
            (34, "ServerHello:session_len: 33 > 32"),
            (35, "ServerHello:session_id: 1 > 0"),
            (38, "ServerHello:compression_method: 37 > 36"),
            (40, "ServerHello:ext_len__elem: 39 > 38"),
        ] {
            assert_eq!(reason(&b[..len]), format!("{p}{want}"), "length {len}");
        }
        let mut t = vec![0x7F, 0x12];
        t.extend([2u8; 32]);
        t.extend([0x13, 0x01, 0]);
        assert_eq!(
            reason(&t[..30]),
            format!("{p}ServerHello13:random: 32 > 28")
        );
        assert_eq!(
            reason(&t[..35]),
            format!("{p}ServerHello13:cipher_suite: 34 > 33")
        );
        assert_eq!(
            reason(&t),
            format!("{p}ServerHello13:ext_len__elem: 36 > 35")
        );
    }

    #[test]
    fn v2_client_hello_faults() {
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        let r = |e: OutOfBound| String::from_utf8(e.reason().as_bytes().to_vec()).unwrap();
        let b = [0, 3, 0, 0, 0, 16, 1, 0, 0x80];
        assert_eq!(
            v2_client_hello_fault(&b, 4).map(r),
            Some(format!("{p}V2ClientHello:chal_len: 6 > 4"))
        );
        assert_eq!(
            v2_client_hello_fault(&b, 9).map(r),
            Some(format!("{p}V2ClientHello: 25 > 9"))
        );
        let ok = [0, 3, 0, 0, 0, 0, 1, 0, 0x80];
        assert_eq!(v2_client_hello_fault(&ok, 9), None);
        // Bytes after the hello are a second one.
        let mut two = ok.to_vec();
        two.extend([0, 0]);
        assert_eq!(
            v2_client_hello_fault(&two, 11).map(r),
            Some(format!("{p}V2ClientHello:chal_len: 6 > 2"))
        );
    }

    #[test]
    fn v2_server_hellos() {
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        let r = |e: OutOfBound| String::from_utf8_lossy(e.reason().as_bytes()).into_owned();
        // Version 2, a 2-byte certificate, two cipher specs, a 1-byte id.
        let b = [
            0, 2, 0, 2, 0, 6, 0, 1, 0xC0, 0xDE, 7, 0, 0xC0, 1, 0, 0x80, 0x55,
        ];
        let h = v2_server_hello(&b, b.len()).unwrap().unwrap();
        assert_eq!((h.version, h.cert, h.conn_id), (2, &b[8..10], &b[16..]));
        assert_eq!((h.first_cipher(), h.wire_len()), (0x0700C0, b.len()));
        assert_eq!(
            v2_server_hello(&b[..9], b.len())
                .unwrap()
                .map(|h| h.wire_len()),
            None
        );
        let fault = |len| v2_server_hello(&b, len).err().map(r);
        assert_eq!(
            fault(5),
            Some(format!("{p}V2ServerHello:conn_id_len: 8 > 5"))
        );
        assert_eq!(
            fault(9),
            Some(format!("{p}V2ServerHello:cert_data: 10 > 9"))
        );
        assert_eq!(
            fault(15),
            Some(format!("{p}V2ServerHello:ciphers: 16 > 15"))
        );
        assert_eq!(
            fault(16),
            Some(format!("{p}V2ServerHello:conn_id_data: 17 > 16"))
        );
    }

    #[test]
    fn v2_client_master_keys() {
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        let r = |e: OutOfBound| String::from_utf8_lossy(e.reason().as_bytes()).into_owned();
        let b = [0xC0, 0, 1, 0, 2, 0, 0, 0xAA, 0xBB, 0xCC];
        assert!(v2_client_master_key_fault(&b, 10).is_none());
        assert_eq!(
            v2_client_master_key_fault(&b, 6).map(r),
            Some(format!("{p}V2ClientMasterKey:key_arg_len: 7 > 6"))
        );
        assert_eq!(
            v2_client_master_key_fault(&b, 9).map(r),
            Some(format!("{p}V2ClientMasterKey: 10 > 9"))
        );
    }

    #[test]
    fn certificate_lists() {
        let body = [0, 0, 9, 0, 0, 2, 0xAA, 0xBB, 0, 0, 1, 0xCC];
        let certs: Vec<_> = certificates(&body).collect();
        assert_eq!(certs, vec![&[0xAA, 0xBB][..], &[0xCC][..]]);
    }
}
