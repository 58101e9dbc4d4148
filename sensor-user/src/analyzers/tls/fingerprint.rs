//! Client and server fingerprints of TLS hellos: JA3/JA3S (salesforce/ja3)
//! and JA4/JA4S (FoxIO). Computed from the parsed hello without
//! allocating: lists are kept in fixed arrays, hashes are fed piecewise.

use md5::{Digest, Md5};
use sha2::Sha256;

use super::names::is_grease;
use super::parse::{
    alpn, ext, extensions, supported_versions, u16s, ClientHello, Reader, ServerHello,
};
use crate::inline_str::InlineStr;

/// Most list entries considered (ciphers, extensions, ...); hellos carry far fewer.
const MAX: usize = 256;

/// A small fixed list of 16-bit values.
struct List {
    v: [u16; MAX],
    n: usize,
}

impl List {
    fn new() -> Self {
        List { v: [0; MAX], n: 0 }
    }
    fn push(&mut self, x: u16) {
        if self.n < MAX {
            self.v[self.n] = x;
            self.n += 1;
        }
    }
    fn as_slice(&self) -> &[u16] {
        &self.v[..self.n]
    }
}

/// Feeds `vals` as decimal numbers joined by `-`.
fn dec_list(h: &mut Md5, vals: impl Iterator<Item = u16>) {
    let mut first = true;
    for v in vals {
        if !first {
            h.update(b"-");
        }
        first = false;
        let mut b = [0u8; 20];
        h.update(crate::bytes::fmt_u64(v as u64, &mut b));
    }
}

/// Feeds `vals` as 4-digit lower-case hex joined by `,`.
fn hex_list(h: &mut Sha256, vals: &[u16]) {
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            h.update(b",");
        }
        h.update(hex4(*v));
    }
}

fn hex4(v: u16) -> [u8; 4] {
    let d = b"0123456789abcdef";
    [
        d[(v >> 12) as usize],
        d[(v >> 8 & 15) as usize],
        d[(v >> 4 & 15) as usize],
        d[(v & 15) as usize],
    ]
}

/// The first 12 hex digits of a SHA-256, or twelve zeros for an empty list.
fn hash12(h: Sha256, empty: bool) -> [u8; 12] {
    if empty {
        return *b"000000000000";
    }
    let digest = h.finalize();
    let mut out = [0u8; 12];
    for (pair, b) in out.chunks_exact_mut(2).zip(&digest[..6]) {
        pair[0] = b"0123456789abcdef"[usize::from(b >> 4)];
        pair[1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    out
}

/// JA3: MD5 of `version,ciphers,extensions,curves,point_formats`, GREASE left out.
pub fn ja3(h: &ClientHello<'_>) -> InlineStr<32> {
    let mut m = Md5::new();
    let mut b = [0u8; 20];
    m.update(crate::bytes::fmt_u64(h.version as u64, &mut b));
    m.update(b",");
    dec_list(&mut m, u16s(h.ciphers).filter(|c| !is_grease(*c)));
    m.update(b",");
    let exts = h.extensions.unwrap_or(&[]);
    dec_list(
        &mut m,
        extensions(exts).map(|e| e.0).filter(|t| !is_grease(*t)),
    );
    m.update(b",");
    let groups = extensions(exts)
        .find(|e| e.0 == ext::SUPPORTED_GROUPS)
        .and_then(|e| Reader::new(e.1).vec16())
        .unwrap_or(&[]);
    dec_list(&mut m, u16s(groups).filter(|g| !is_grease(*g)));
    m.update(b",");
    let formats = extensions(exts)
        .find(|e| e.0 == ext::EC_POINT_FORMATS)
        .and_then(|e| Reader::new(e.1).vec8())
        .unwrap_or(&[]);
    dec_list(&mut m, formats.iter().map(|f| *f as u16));
    InlineStr::hex(&m.finalize())
}

/// JA3S: MD5 of `version,cipher,extensions` (GREASE kept).
pub fn ja3s(h: &ServerHello<'_>) -> InlineStr<32> {
    let mut m = Md5::new();
    let mut b = [0u8; 20];
    m.update(crate::bytes::fmt_u64(h.version as u64, &mut b));
    m.update(b",");
    m.update(crate::bytes::fmt_u64(h.cipher as u64, &mut b));
    m.update(b",");
    dec_list(&mut m, extensions(h.extensions).map(|e| e.0));
    InlineStr::hex(&m.finalize())
}

fn version_code(v: u16) -> &'static [u8; 2] {
    match v {
        0x0304 => b"13",
        0x0303 => b"12",
        0x0302 => b"11",
        0x0301 => b"10",
        0x0300 => b"s3",
        0x0002 => b"s2",
        0xFEFF => b"d1",
        0xFEFD => b"d2",
        0xFEFC => b"d3",
        _ => b"00",
    }
}

fn push_count(s: &mut InlineStr<40>, n: usize) {
    let n = n.min(99);
    s.push(b'0' + (n / 10) as u8);
    s.push(b'0' + (n % 10) as u8);
}

/// JA4's two ALPN characters: first and last of the value when both are
/// alphanumeric, else the first and last hex digits of the value; `00`
/// when there is none.
fn push_alpn(s: &mut InlineStr<40>, value: Option<&[u8]>) {
    match value {
        Some(v) if !v.is_empty() => {
            let (f, l) = (v[0], v[v.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                s.push(f);
                s.push(l);
            } else {
                let d = b"0123456789abcdef";
                s.push(d[(f >> 4) as usize]);
                s.push(d[(l & 15) as usize]);
            }
        }
        _ => s.push_bytes(b"00"),
    }
}

/// JA4 of a ClientHello (over TCP, or DTLS).
pub fn ja4(h: &ClientHello<'_>) -> InlineStr<40> {
    let exts = h.extensions.unwrap_or(&[]);
    let mut version = h.version;
    if let Some(e) = extensions(exts).find(|e| e.0 == ext::SUPPORTED_VERSIONS) {
        if let Some(v) = u16s(supported_versions(e.1, true))
            .filter(|v| !is_grease(*v))
            .max()
        {
            version = v;
        }
    }
    let mut ciphers = List::new();
    u16s(h.ciphers)
        .filter(|c| !is_grease(*c))
        .for_each(|c| ciphers.push(c));
    let mut all_exts = 0;
    let mut sorted_exts = List::new();
    let mut sni = false;
    let mut first_alpn = None;
    let mut sigalgs: &[u8] = &[];
    for (t, d) in extensions(exts).filter(|e| !is_grease(e.0)) {
        all_exts += 1;
        match t {
            ext::SERVER_NAME => sni = true,
            ext::ALPN => first_alpn = alpn(d).next(),
            _ => {
                if t == ext::SIGNATURE_ALGORITHMS {
                    sigalgs = Reader::new(d).vec16().unwrap_or(&[]);
                }
                sorted_exts.push(t);
            }
        }
    }
    let mut s = InlineStr::<40>::new();
    s.push(transport(version));
    s.push_bytes(version_code(version));
    s.push(if sni { b'd' } else { b'i' });
    push_count(&mut s, ciphers.n);
    push_count(&mut s, all_exts);
    push_alpn(&mut s, first_alpn);
    s.push(b'_');
    ciphers.v[..ciphers.n].sort_unstable();
    let mut c = Sha256::new();
    hex_list(&mut c, ciphers.as_slice());
    s.push_bytes(&hash12(c, ciphers.n == 0));
    s.push(b'_');
    sorted_exts.v[..sorted_exts.n].sort_unstable();
    let mut e = Sha256::new();
    hex_list(&mut e, sorted_exts.as_slice());
    let mut sig = List::new();
    u16s(sigalgs).for_each(|a| sig.push(a));
    if sig.n > 0 {
        e.update(b"_");
        hex_list(&mut e, sig.as_slice());
    }
    s.push_bytes(&hash12(e, sorted_exts.n == 0));
    s
}

/// JA4's protocol letter: `d` for DTLS (whose versions are 0xFExx),
/// `t` for TLS over TCP.
fn transport(version: u16) -> u8 {
    if version >> 8 == 0xFE {
        b'd'
    } else {
        b't'
    }
}

/// JA4S of a ServerHello (over TCP, or DTLS).
pub fn ja4s(h: &ServerHello<'_>) -> InlineStr<40> {
    let mut version = h.version;
    let mut exts = List::new();
    let mut chosen_alpn = None;
    for (t, d) in extensions(h.extensions) {
        exts.push(t);
        match t {
            ext::SUPPORTED_VERSIONS => {
                if let Some(v) = u16s(supported_versions(d, false)).next() {
                    version = v;
                }
            }
            ext::ALPN => chosen_alpn = alpn(d).next(),
            _ => {}
        }
    }
    let mut s = InlineStr::<40>::new();
    s.push(transport(version));
    s.push_bytes(version_code(version));
    push_count(&mut s, exts.n);
    push_alpn(&mut s, chosen_alpn);
    s.push(b'_');
    s.push_bytes(&hex4(h.cipher));
    s.push(b'_');
    let mut e = Sha256::new();
    hex_list(&mut e, exts.as_slice());
    s.push_bytes(&hash12(e, exts.n == 0));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ja4_spec_hashes() {
        // FoxIO's JA4 documentation vectors.
        let ciphers = [
            0x002f, 0x0035, 0x009c, 0x009d, 0x1301, 0x1302, 0x1303, 0xc013, 0xc014, 0xc02b, 0xc02c,
            0xc02f, 0xc030, 0xcca8, 0xcca9,
        ];
        let mut h = Sha256::new();
        hex_list(&mut h, &ciphers);
        assert_eq!(&hash12(h, false), b"8daaf6152771");
        let exts = [
            0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b, 0x002d,
            0x0033, 0x4469, 0xff01,
        ];
        let sig = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let mut h = Sha256::new();
        hex_list(&mut h, &exts);
        h.update(b"_");
        hex_list(&mut h, &sig);
        assert_eq!(&hash12(h, false), b"e5627efa2ab1");
        let mut h = Sha256::new();
        hex_list(&mut h, &[0x0005, 0x0017, 0xff01, 0x0000]);
        assert_eq!(&hash12(h, false), b"4e8089b08790");
    }

    #[test]
    fn ja3_readme_vector() {
        // "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
        let mut b = vec![0x03, 0x01];
        b.extend([0u8; 32]);
        b.push(0);
        let ciphers = [47u16, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4];
        b.extend(((ciphers.len() * 2) as u16).to_be_bytes());
        ciphers.iter().for_each(|c| b.extend(c.to_be_bytes()));
        b.extend([1, 0]);
        let mut e = vec![0, 0, 0, 0];
        e.extend([0, 10, 0, 8, 0, 6, 0, 23, 0, 24, 0, 25]);
        e.extend([0, 11, 0, 2, 1, 0]);
        b.extend((e.len() as u16).to_be_bytes());
        b.extend(e);
        let h = super::super::parse::client_hello(&b).unwrap();
        assert_eq!(ja3(&h).as_bytes(), b"ada70206e40642a3e4461f35503241d5");
    }
}
