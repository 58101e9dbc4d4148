//! Zero-copy views of TLS handshake messages: hellos, their extensions,
//! certificate lists and ECDH server parameters. Every accessor is checked;
//! malformed input gives `None`, never a panic.

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
    /// The extensions block, if present.
    pub extensions: Option<&'a [u8]>,
}

/// Parses a ClientHello body.
pub fn client_hello(body: &[u8]) -> Option<ClientHello<'_>> {
    let mut r = Reader::new(body);
    let version = r.u16()?;
    let random = r.bytes(32)?;
    let session_id = r.vec8()?;
    let ciphers = r.vec16()?;
    let compression = r.vec8()?;
    let extensions = if r.is_empty() { None } else { r.vec16() };
    Some(ClientHello {
        version,
        random,
        session_id,
        ciphers,
        compression,
        extensions,
    })
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

/// Parses a ServerHello body: the TLS 1.3 draft layout (no session id, no
/// compression) for versions 0x7Fxx and 0x0304, the classic one otherwise.
pub fn server_hello(body: &[u8]) -> Option<ServerHello<'_>> {
    let mut r = Reader::new(body);
    let version = r.u16()?;
    let random = r.bytes(32)?;
    let draft = version >> 8 == 0x7F || version == 0x0304;
    let (session_id, cipher, compression) = if draft {
        (&b""[..], r.u16()?, 0)
    } else {
        let sid = r.vec8()?;
        (sid, r.u16()?, r.u8()?)
    };
    // Zeek reads a length if anything is left, then extensions to the end.
    if !r.is_empty() {
        r.u16()?;
    }
    Some(ServerHello {
        version,
        random,
        session_id,
        cipher,
        compression,
        extensions: r.rest(),
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

    #[test]
    fn certificate_lists() {
        let body = [0, 0, 9, 0, 0, 2, 0xAA, 0xBB, 0, 0, 1, 0xCC];
        let certs: Vec<_> = certificates(&body).collect();
        assert_eq!(certs, vec![&[0xAA, 0xBB][..], &[0xCC][..]]);
    }
}
