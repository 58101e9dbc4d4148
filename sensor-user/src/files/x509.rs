//! X.509 certificates with exactly the values Zeek writes to x509.log.
//!
//! `x509-parser` checks that the bytes are a DER certificate; every value is
//! then rendered from the certificate's own encoding the way Zeek gets it
//! from OpenSSL: the serial as `i2a_ASN1_INTEGER` prints it, subject and
//! issuer as `X509_NAME_print_ex(..., XN_FLAG_RFC2253)` (reversed RDN order,
//! RFC 2253 escaping, `\XX` for bytes above 0x7F), validity times through
//! Zeek's own `GetTimeFromAsn1`, algorithms by OpenSSL object name, the key
//! type, size, exponent and curve as OpenSSL reports them, and the subject
//! alternative names and basic constraints the way OpenSSL decodes them.
//! Certificates that OpenSSL's `d2i_X509` refuses (and Zeek therefore does
//! not log) are refused here too where the difference is known.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};
use x509_parser::asn1_rs::{Any, Class};
use x509_parser::certificate::X509CertificateParser;
use x509_parser::nom::Parser;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

use crate::inline_str::InlineStr;
use crate::logs::TextList;

/// Why a certificate could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X509Error {
    /// Not a DER-encoded certificate.
    Malformed,
    /// Well-formed, but OpenSSL refuses it (Zeek logs no x509.log line);
    /// names the offending part.
    Rejected(&'static str),
}

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            X509Error::Malformed => f.write_str("malformed certificate"),
            X509Error::Rejected(what) => write!(f, "certificate refused: invalid {what}"),
        }
    }
}

impl std::error::Error for X509Error {}

/// The subject alternative names as Zeek logs them (`san.*`). A list is
/// `None` when the extension has no entry of that kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectAltName {
    /// dNSName entries, raw bytes, in certificate order.
    pub dns: Option<TextList>,
    /// uniformResourceIdentifier entries.
    pub uri: Option<TextList>,
    /// rfc822Name entries.
    pub email: Option<TextList>,
    /// iPAddress entries of 4 or 16 bytes (entries of other lengths are
    /// skipped but still make the list present, as in Zeek).
    pub ip: Option<Vec<IpAddr>>,
    /// Whether there were names of other kinds.
    pub other_fields: bool,
}

/// The basic constraints extension (`basic_constraints.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// The cA flag.
    pub ca: bool,
    /// pathLenConstraint, when present (as Zeek stores it: an `int32`
    /// widened into a `count`).
    pub path_len: Option<u64>,
}

/// A certificate with every x509.log field as Zeek computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Lower-case hex SHA-256 of the certificate's encoding.
    pub fingerprint: InlineStr<64>,
    /// X.509 version (1 to 3 for real certificates).
    pub version: u64,
    /// Serial number, upper-case hex as OpenSSL prints it.
    pub serial: String,
    /// Subject, OpenSSL RFC 2253 form.
    pub subject: String,
    /// Issuer, OpenSSL RFC 2253 form.
    pub issuer: String,
    /// Last common name of the subject as OpenSSL's `ASN1_STRING_print`
    /// shows it (Zeek's unlogged `cn`), if any.
    pub cn: Option<Vec<u8>>,
    /// notBefore, seconds since the epoch (0 when Zeek cannot read it).
    pub not_valid_before: i64,
    /// notAfter, seconds since the epoch (0 when Zeek cannot read it).
    pub not_valid_after: i64,
    /// Public key algorithm (OpenSSL long name, or the dotted OID).
    pub key_alg: String,
    /// Signature algorithm (OpenSSL long name; empty when OpenSSL does not
    /// know the OID).
    pub sig_alg: String,
    /// Signature algorithm named inside the signed part.
    pub tbs_sig_alg: String,
    /// `rsa`, `dsa`, `ecdsa`, or OpenSSL's name for other key types
    /// (`ML-DSA-44`, `ED25519`...); `None` when OpenSSL cannot load the key.
    pub key_type: Option<&'static str>,
    /// Key size in bits (RSA modulus, DSA prime, EC group order...).
    pub key_length: Option<u64>,
    /// RSA public exponent in decimal.
    pub exponent: Option<String>,
    /// OpenSSL's name of the named curve of an EC key.
    pub curve: Option<&'static str>,
    /// Subject alternative names (the last decodable extension).
    pub san: Option<SubjectAltName>,
    /// Basic constraints (the last decodable extension).
    pub basic_constraints: Option<BasicConstraints>,
    /// What `x509_check_cert_hostname` compares against.
    host_names: HostNames,
}

/// The names Zeek's hostname check looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostNames {
    /// The first SAN extension's dNSNames (none when it does not decode):
    /// a SAN extension hides the subject.
    San(Vec<Vec<u8>>),
    /// No SAN extension: the last CN, as printed.
    Cn(Option<Vec<u8>>),
}

/// Lower-case hex SHA-256 of `der` (Zeek's x509 `fingerprint`).
pub fn fingerprint(der: &[u8]) -> InlineStr<64> {
    let mut s = InlineStr::new();
    for b in Sha256::digest(der) {
        s.push(HEX_LOWER[usize::from(b >> 4)]);
        s.push(HEX_LOWER[usize::from(b & 15)]);
    }
    s
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// OID content octets of the extensions Zeek reads.
const OID_SAN: &[u8] = &[85, 29, 17];
const OID_BASIC_CONSTRAINTS: &[u8] = &[85, 29, 19];
const OID_CN: &[u8] = &[85, 4, 3];

/// Parses one DER certificate. Bytes after the certificate are ignored
/// (the fingerprint covers the certificate only). Never panics.
pub fn parse(der: &[u8]) -> Result<Certificate, X509Error> {
    let (_, x509) = X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
        .map_err(|_| X509Error::Malformed)?;
    let tbs = &x509.tbs_certificate;

    let serial = serial_string(tbs.raw_serial()).ok_or(X509Error::Rejected("serial number"))?;
    let subject_entries = name_entries(&tbs.subject)?;
    let issuer_entries = name_entries(&tbs.issuer)?;
    for oid in [
        tbs.signature.algorithm.as_bytes(),
        x509.signature_algorithm.algorithm.as_bytes(),
        tbs.subject_pki.algorithm.algorithm.as_bytes(),
    ] {
        if !valid_oid(oid) {
            return Err(X509Error::Rejected("algorithm identifier"));
        }
    }
    let (not_before, not_after) = validity(tbs.as_ref()).ok_or(X509Error::Rejected("validity"))?;

    let mut cert = Certificate {
        fingerprint: fingerprint(x509.as_raw()),
        version: u64::from(tbs.version.0) + 1,
        serial,
        subject: print_name(&subject_entries),
        issuer: print_name(&issuer_entries),
        cn: last_cn(&subject_entries),
        not_valid_before: asn1_time(not_before.0, not_before.1),
        not_valid_after: asn1_time(not_after.0, not_after.1),
        key_alg: obj_text(tbs.subject_pki.algorithm.algorithm.as_bytes(), 255),
        sig_alg: lookup(x509.signature_algorithm.algorithm.as_bytes())
            .map_or(String::new(), |o| o.ln.to_string()),
        tbs_sig_alg: obj_text(tbs.signature.algorithm.as_bytes(), 255),
        key_type: None,
        key_length: None,
        exponent: None,
        curve: None,
        san: None,
        basic_constraints: None,
        host_names: HostNames::Cn(None),
    };
    if let Some(k) = public_key(&tbs.subject_pki) {
        cert.key_type = Some(k.key_type);
        cert.key_length = (k.bits > 0).then_some(k.bits);
        cert.exponent = k.exponent;
        cert.curve = k.curve;
    }

    let mut first_san = None;
    for ext in tbs.extensions() {
        let oid = ext.oid.as_bytes();
        if !valid_oid(oid) {
            return Err(X509Error::Rejected("extension"));
        }
        if oid == OID_SAN {
            let san = parse_san(ext.value);
            if first_san.is_none() {
                first_san = Some(san.as_ref().map_or_else(Vec::new, |s| {
                    s.dns
                        .as_ref()
                        .map_or_else(Vec::new, |d| d.iter().map(<[u8]>::to_vec).collect())
                }));
            }
            if san.is_some() {
                cert.san = san;
            }
        } else if oid == OID_BASIC_CONSTRAINTS {
            if let Some(bc) = parse_basic_constraints(ext.value) {
                cert.basic_constraints = Some(bc);
            }
        }
    }
    cert.host_names = match first_san {
        Some(names) => HostNames::San(names),
        None => HostNames::Cn(cert.cn.clone()),
    };
    Ok(cert)
}

/// Zeek's `x509_check_cert_hostname`: true when `hostname` matches one of
/// the dNSNames of the certificate's (first) SAN extension, or, when there
/// is no SAN extension, its last CN. Byte-exact and case-sensitive, with
/// Zeek's wildcard rules (see [`check_hostname`]).
pub fn matches_hostname(cert: &Certificate, hostname: &[u8]) -> bool {
    match &cert.host_names {
        HostNames::San(names) => names.iter().any(|n| check_hostname(hostname, n)),
        HostNames::Cn(cn) => cn.as_deref().is_some_and(|cn| check_hostname(hostname, cn)),
    }
}

/// Zeek's `check_hostname`: equal names match; otherwise `certname` must
/// have its `*` right before its first dot, at least two dots, the same
/// text as `hostname` from their first dots on, and the same text before
/// the `*` (so `*.com` never matches, `ww*.zeek.org` matches `www.zeek.org`).
pub fn check_hostname(hostname: &[u8], certname: &[u8]) -> bool {
    if hostname == certname {
        return true;
    }
    // The first `*` must sit right before the first dot: look no further
    // than the first label (most names have no `*` and fail here).
    let Some(first_dot) = memchr::memchr(b'.', certname) else {
        return false;
    };
    let Some(wild) = first_dot.checked_sub(1) else {
        return false;
    };
    if certname[wild] != b'*' || memchr::memchr(b'*', &certname[..wild]).is_some() {
        return false;
    }
    if memchr::memchr(b'.', &certname[first_dot + 1..]).is_none() {
        return false;
    }
    let Some(host_dot) = memchr::memchr(b'.', hostname) else {
        return false;
    };
    if hostname[host_dot..] != certname[first_dot..] {
        return false;
    }
    wild == 0 || hostname.get(..wild) == certname.get(..wild)
}

// ---------------------------------------------------------------------------
// DER reading

/// One DER element with a single-byte identifier.
struct Tlv<'a> {
    /// Identifier octet (class, constructed bit, tag number).
    id: u8,
    /// Contents octets.
    content: &'a [u8],
}

/// Reads one element; `None` on truncation or multi-byte tags.
fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&id, rest) = input.split_first()?;
    if id & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, r) = rest.split_at_checked(n)?;
        rest = r;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((Tlv { id, content }, rest))
}

/// The issuer and subject names of a certificate, each a whole DER
/// element, read without parsing the rest; `None` when the layout is not a
/// certificate's.
pub fn issuer_and_subject(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (cert, _) = read_tlv(der)?;
    let (tbs, _) = read_tlv(cert.content)?;
    // version [0] (optional), serial, signature, issuer, validity, subject
    let mut fields = [(0u8, &[][..]); 6];
    let mut rest = tbs.content;
    for f in &mut fields {
        let (tlv, r) = read_tlv(rest)?;
        *f = (tlv.id, &rest[..rest.len() - r.len()]);
        rest = r;
    }
    let names = if fields[0].0 == 0xa0 {
        (fields[3], fields[5])
    } else {
        (fields[2], fields[4])
    };
    (names.0 .0 == 0x30 && names.1 .0 == 0x30).then_some((names.0 .1, names.1 .1))
}

/// The elements of a constructed value's contents.
fn elements(mut content: &[u8]) -> impl Iterator<Item = Option<Tlv<'_>>> {
    std::iter::from_fn(move || {
        if content.is_empty() {
            return None;
        }
        match read_tlv(content) {
            Some((tlv, rest)) => {
                content = rest;
                Some(Some(tlv))
            }
            None => {
                content = &[];
                Some(None)
            }
        }
    })
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// OpenSSL's OBJECT IDENTIFIER encoding check (`c2i_ASN1_OBJECT`): not
/// empty, no leading 0x80 in a subidentifier, last octet complete.
fn valid_oid(oid: &[u8]) -> bool {
    let Some(&last) = oid.last() else {
        return false;
    };
    last & 0x80 == 0
        && oid
            .iter()
            .enumerate()
            .all(|(i, &b)| b != 0x80 || (i > 0 && oid[i - 1] & 0x80 != 0))
}

/// An INTEGER as OpenSSL's `c2i_ASN1_INTEGER` stores it: sign and
/// magnitude; `None` for an empty or needlessly padded encoding (which
/// OpenSSL refuses).
fn asn1_integer(content: &[u8]) -> Option<(bool, Vec<u8>)> {
    let (&first, _) = content.split_first()?;
    let neg = first & 0x80 != 0;
    let body = if content.len() == 1 {
        content
    } else {
        let pad = match first {
            0x00 => true,
            0xff => content[1..].iter().any(|&b| b != 0),
            _ => false,
        };
        if pad && neg == (content[1] & 0x80 != 0) {
            return None;
        }
        if pad {
            &content[1..]
        } else {
            content
        }
    };
    if !neg {
        return Some((false, body.to_vec()));
    }
    // Two's complement: invert and add one.
    let mut mag: Vec<u8> = body.iter().map(|b| !b).collect();
    for b in mag.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    Some((true, mag))
}

/// `i2a_ASN1_INTEGER` of a serial number, read as Zeek reads it (up to
/// 2048 bytes).
fn serial_string(content: &[u8]) -> Option<String> {
    let (neg, mag) = asn1_integer(content)?;
    let mut s = String::with_capacity(mag.len() * 2 + 1);
    if neg {
        s.push('-');
    }
    if mag.is_empty() {
        s.push_str("00");
    }
    for (i, b) in mag.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            s.push_str("\\\n");
        }
        s.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        s.push(char::from(HEX_UPPER[usize::from(b & 15)]));
    }
    s.truncate(2048);
    Some(s)
}

/// Number of significant bits of a big-endian magnitude (`BN_num_bits`).
fn num_bits(be: &[u8]) -> u64 {
    let mut it = be.iter().skip_while(|&&b| b == 0);
    match it.next() {
        Some(&top) => u64::from(8 - top.leading_zeros()) + 8 * it.count() as u64,
        None => 0,
    }
}

/// Decimal digits of a big-endian magnitude (`BN_bn2dec`).
fn decimal(be: &[u8]) -> String {
    // Little-endian base-1e9 limbs.
    let mut limbs: Vec<u32> = Vec::new();
    for &b in be {
        let mut carry = u64::from(b);
        for l in limbs.iter_mut() {
            let v = u64::from(*l) * 256 + carry;
            *l = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut s = match limbs.last() {
        Some(top) => top.to_string(),
        None => return "0".to_string(),
    };
    for l in limbs.iter().rev().skip(1) {
        s.push_str(&format!("{l:09}"));
    }
    s
}

// ---------------------------------------------------------------------------
// Object names

/// An OpenSSL object: short and long name.
struct Obj {
    sn: &'static str,
    ln: &'static str,
}

/// The OpenSSL object with this OID, if OpenSSL knows it: the common ones
/// from [`OBJECTS`] without a call into OpenSSL, any other from the object
/// table of the OpenSSL linked in (`OBJ_obj2nid`, `OBJ_nid2sn`,
/// `OBJ_nid2ln`), which knows every object its `X509_NAME_print_ex` and
/// `OBJ_obj2txt` name.
fn lookup(oid: &[u8]) -> Option<Obj> {
    match OBJECTS.binary_search_by(|(o, _, _)| (*o).cmp(oid)) {
        Ok(i) => {
            let (_, sn, ln) = OBJECTS[i];
            Some(Obj { sn, ln })
        }
        Err(_) => openssl_object(oid),
    }
}

/// An object from OpenSSL's own table (`None` for OIDs it does not know).
fn openssl_object(oid: &[u8]) -> Option<Obj> {
    if !valid_oid(oid) {
        return None;
    }
    let dotted = dotted_oid(oid);
    if dotted.is_empty() {
        return None;
    }
    // OBJ_txt2obj on the dotted form encodes the same OID, which
    // OBJ_obj2nid then looks up by its encoding, as X509_NAME_print_ex does.
    let nid = openssl::asn1::Asn1Object::from_str(&dotted).ok()?.nid();
    if nid == openssl::nid::Nid::UNDEF {
        return None;
    }
    Some(Obj {
        sn: nid.short_name().ok()?,
        ln: nid.long_name().ok()?,
    })
}

/// `OBJ_obj2txt` into a buffer of `buf_len` bytes: the long name of a known
/// object, else the dotted OID, cut to `buf_len - 1` characters.
fn obj_text(oid: &[u8], buf_len: usize) -> String {
    let mut s = match lookup(oid) {
        Some(o) => o.ln.to_string(),
        None => dotted_oid(oid),
    };
    s.truncate(buf_len.saturating_sub(1));
    s
}

/// The dotted form of an OID, as `OBJ_obj2txt(..., 1)` writes it (empty
/// for encodings it refuses).
fn dotted_oid(oid: &[u8]) -> String {
    if oid.len() > 586 {
        return String::new();
    }
    let mut s = String::new();
    let mut first = true;
    let mut rest = oid;
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|&b| b & 0x80 == 0) else {
            break;
        };
        let (group, r) = rest.split_at(end + 1);
        rest = r;
        // The subidentifier as a big-endian byte string.
        let mut be: Vec<u8> = Vec::new();
        for &g in group {
            let mut carry = u16::from(g & 0x7f);
            for b in be.iter_mut().rev() {
                let v = (u16::from(*b) << 7) | carry;
                *b = v as u8;
                carry = v >> 8;
            }
            if carry > 0 {
                be.insert(0, carry as u8);
            }
        }
        if first {
            first = false;
            let small = be.len() <= 8;
            let v = be.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            if small && v < 80 {
                s.push(char::from(b'0' + (v / 40) as u8));
                s.push('.');
                s.push_str(&(v % 40).to_string());
                continue;
            }
            s.push_str("2.");
            // Subtract 80.
            let mut borrow = 80u16;
            for b in be.iter_mut().rev() {
                let (v, under) = b.overflowing_sub(borrow as u8);
                *b = v;
                borrow = u16::from(under);
                if borrow == 0 {
                    break;
                }
            }
            s.push_str(&decimal(&be));
            continue;
        }
        s.push('.');
        s.push_str(&decimal(&be));
    }
    s
}

// ---------------------------------------------------------------------------
// Names

/// A DER distinguished name printed as certificate subjects are (Zeek's
/// `parse_distinguished_name`); `None` when it does not decode.
pub fn distinguished_name(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::FromDer;
    let (_, name) = X509Name::from_der(der).ok()?;
    let entries = name_entries(&name).ok()?;
    Some(print_name(&entries))
}

/// A name attribute: RDN index, type OID, value.
struct NameEntry<'a> {
    set: usize,
    oid: &'a [u8],
    value: &'a Any<'a>,
}

/// The attributes of a name in encoding order, checked the way OpenSSL
/// checks them when it decodes a certificate.
fn name_entries<'a>(name: &'a X509Name<'a>) -> Result<Vec<NameEntry<'a>>, X509Error> {
    let mut out = Vec::new();
    for (set, rdn) in name.iter_rdn().enumerate() {
        for atv in rdn.iter() {
            let oid = atv.attr_type().as_bytes();
            let value = atv.attr_value();
            if !valid_oid(oid) || !openssl_accepts_name_value(value) {
                return Err(X509Error::Rejected("name"));
            }
            out.push(NameEntry { set, oid, value });
        }
    }
    Ok(out)
}

/// OpenSSL decodes name values as `ASN1_PRINTABLE` and canonicalises them
/// to UTF-8: only universal types of that set are accepted, UTF8String
/// values must be valid UTF-8, BMPString and UniversalString values must
/// hold whole characters that are Unicode scalar values.
fn openssl_accepts_name_value(v: &Any<'_>) -> bool {
    if v.header.class() != Class::Universal {
        return false;
    }
    let d = v.data;
    match v.header.tag().0 {
        12 => std::str::from_utf8(d).is_ok(),
        30 => {
            d.len().is_multiple_of(2)
                && d.chunks_exact(2)
                    .all(|c| char::from_u32(u32::from(u16::from_be_bytes([c[0], c[1]]))).is_some())
        }
        28 => {
            d.len().is_multiple_of(4)
                && d.chunks_exact(4)
                    .all(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).is_some())
        }
        3 => v.data.first().is_some_and(|&u| u <= 7),
        7 | 8 | 9 | 11 | 13 | 14 | 15 | 16 | 18 | 19 | 20 | 22 | 29 => true,
        _ => false,
    }
}

/// `X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253)` read back with
/// `BIO_gets` into Zeek's 2048-byte buffer.
fn print_name(entries: &[NameEntry<'_>]) -> String {
    let mut out = String::new();
    let mut prev = None;
    for e in entries.iter().rev() {
        if let Some(p) = prev {
            out.push(if p == e.set { '+' } else { ',' });
        }
        prev = Some(e.set);
        match lookup(e.oid) {
            Some(o) => {
                out.push_str(o.sn);
                out.push('=');
                print_value(e.value, &mut out);
            }
            None => {
                let mut oid = dotted_oid(e.oid);
                oid.truncate(79);
                out.push_str(&oid);
                out.push('=');
                dump_value(e.value, &mut out);
            }
        }
    }
    out.truncate(2047);
    out
}

/// A name value with `ASN1_STRFLGS_RFC2253`: strings converted to UTF-8
/// and escaped, other types dumped as `#` and the hex of their encoding.
fn print_value(v: &Any<'_>, out: &mut String) {
    let data = v.data;
    let chars: Vec<u32> = match v.header.tag().0 {
        // UTF8String: bytes taken one by one (no double conversion).
        12 => {
            let n = data.len();
            for (i, &b) in data.iter().enumerate() {
                escape_byte(b, edge_flags(i, n), out);
            }
            return;
        }
        18 | 19 | 20 | 22 => data.iter().map(|&b| u32::from(b)).collect(),
        30 => data
            .chunks_exact(2)
            .map(|c| (u32::from(c[0]) << 8) | u32::from(c[1]))
            .collect(),
        28 => data
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => return dump_value(v, out),
    };
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        // (Name values were checked to hold Unicode scalar values.)
        let Some(ch) = char::from_u32(c) else {
            continue;
        };
        let mut buf = [0u8; 4];
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            escape_byte(b, edge_flags(i, n), out);
        }
    }
}

/// OpenSSL's extra escape flags for the first and last character (the
/// last wins for a one-character value).
fn edge_flags(i: usize, n: usize) -> u16 {
    if i + 1 == n {
        CHARTYPE_LAST_ESC_2253
    } else if i == 0 {
        CHARTYPE_FIRST_ESC_2253
    } else {
        0
    }
}

const ESC_2253: u16 = 1;
const ESC_CTRL: u16 = 2;
const ESC_MSB: u16 = 4;
const CHARTYPE_FIRST_ESC_2253: u16 = 0x20;
const CHARTYPE_LAST_ESC_2253: u16 = 0x40;
const CHARTYPE_BS_ESC: u16 = ESC_2253 | CHARTYPE_FIRST_ESC_2253 | CHARTYPE_LAST_ESC_2253;

/// OpenSSL's `char_type` table (crypto/asn1/charmap.h).
#[rustfmt::skip]
static CHAR_TYPE: [u16; 128] = [
    1026, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    120, 0, 1, 40, 0, 0, 0, 16, 16, 16, 0, 25, 25, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 9, 9, 16, 9, 16,
    0, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 0, 1, 0, 0, 0,
    0, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 2,
];

/// OpenSSL's `do_esc_char` for one byte with the RFC 2253 flags.
fn escape_byte(b: u8, edge: u16, out: &mut String) {
    let flags = ESC_2253 | ESC_CTRL | ESC_MSB | edge;
    let class = if b > 0x7f {
        flags & ESC_MSB
    } else {
        CHAR_TYPE[usize::from(b)] & flags
    };
    if class & CHARTYPE_BS_ESC != 0 {
        out.push('\\');
        out.push(char::from(b));
    } else if class & (ESC_CTRL | ESC_MSB) != 0 {
        out.push('\\');
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 15)]));
    } else {
        out.push(char::from(b));
    }
}

/// `#` and the upper-case hex of the value's DER encoding, as OpenSSL
/// re-encodes it.
fn dump_value(v: &Any<'_>, out: &mut String) {
    let tag = v.header.tag().0;
    let mut der = Vec::with_capacity(v.data.len() + 6);
    if tag == 3 {
        // BIT STRING: OpenSSL clears the unused bits.
        der.push(0x03);
        push_len(&mut der, v.data.len());
        der.extend_from_slice(v.data);
        if let (Some(&unused), true) = (v.data.first(), v.data.len() > 1) {
            if let Some(last) = der.last_mut() {
                *last &= 0xffu8.checked_shl(u32::from(unused)).unwrap_or(0);
            }
        }
    } else {
        let constructed = if tag == 16 || tag == 17 { 0x20 } else { 0 };
        der.push(constructed | (tag as u8 & 0x1f));
        push_len(&mut der, v.data.len());
        der.extend_from_slice(v.data);
    }
    out.push('#');
    for b in der {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 15)]));
    }
}

/// The last CN of the subject as `ASN1_STRING_print` + `BIO_gets` give it:
/// bytes outside 0x20..=0x7E except CR and LF become `.`, cut after the
/// first newline and at 2047 bytes.
fn last_cn(entries: &[NameEntry<'_>]) -> Option<Vec<u8>> {
    let e = entries.iter().rev().find(|e| e.oid == OID_CN)?;
    let data: Vec<u8> = if e.value.header.tag().0 == 16 {
        // A SEQUENCE keeps its whole encoding.
        let mut d = vec![0x30];
        push_len(&mut d, e.value.data.len());
        d.extend_from_slice(e.value.data);
        d
    } else {
        e.value.data.to_vec()
    };
    let mut out: Vec<u8> = Vec::with_capacity(data.len());
    for b in data {
        let c = if b > b'~' || (b < b' ' && b != b'\n' && b != b'\r') {
            b'.'
        } else {
            b
        };
        out.push(c);
        if c == b'\n' || out.len() == 2047 {
            break;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Validity

/// A time value: universal tag (23 UTCTime, 24 GeneralizedTime) and its
/// characters.
type RawTime<'a> = (u8, &'a [u8]);

/// notBefore and notAfter of a TBSCertificate encoding.
fn validity(tbs: &[u8]) -> Option<(RawTime<'_>, RawTime<'_>)> {
    let (seq, _) = read_tlv(tbs)?;
    let mut it = elements(seq.content);
    // [0] version (optional), serialNumber, signature, issuer.
    if it.next()??.id == 0xa0 {
        it.next()??;
    }
    let _signature = it.next()??;
    let _issuer = it.next()??;
    let validity = it.next()??;
    let mut times = elements(validity.content);
    let nb = times.next()??;
    let na = times.next()??;
    Some(((nb.id, nb.content), (na.id, na.content)))
}

/// Zeek's `GetTimeFromAsn1`: the time as seconds since the epoch in UTC,
/// with its quirks (offsets added as `hh*60+mm` seconds, unchecked digits
/// normalised the way `mktime` does), 0 where Zeek gives up.
fn asn1_time(tag: u8, s: &[u8]) -> i64 {
    // Characters are signed chars in Zeek's code.
    let at = |i: usize| -> i64 { s.get(i).map_or(0, |&c| i64::from(c as i8)) };
    let mut buf: Vec<i64> = Vec::with_capacity(16);
    let mut pos;
    let mut remaining = s.len();
    match tag {
        23 => {
            if !(11..=17).contains(&remaining) || s.last() != Some(&b'Z') {
                return 0;
            }
            if at(0) < i64::from(b'5') {
                buf.extend([i64::from(b'2'), i64::from(b'0')]);
            } else {
                buf.extend([i64::from(b'1'), i64::from(b'9')]);
            }
            buf.extend((0..10).map(at));
            pos = 10;
            remaining -= 10;
        }
        24 => {
            if !(12..=23).contains(&remaining) {
                return 0;
            }
            buf.extend((0..12).map(at));
            pos = 12;
            remaining -= 12;
        }
        _ => return 0,
    }
    let sign_or_z = |c: i64| c == i64::from(b'Z') || c == i64::from(b'-') || c == i64::from(b'+');
    if remaining == 0 || sign_or_z(at(pos)) {
        buf.extend([i64::from(b'0'), i64::from(b'0')]);
    } else if remaining >= 2 {
        buf.extend([at(pos), at(pos + 1)]);
        pos += 2;
        remaining -= 2;
        if remaining > 0 && at(pos) == i64::from(b'.') {
            pos += 1;
            remaining -= 1;
            while remaining > 0 && (i64::from(b'0')..=i64::from(b'9')).contains(&at(pos)) {
                pos += 1;
                remaining -= 1;
            }
        }
    } else {
        return 0;
    }
    let offset = if remaining == 0 || at(pos) == i64::from(b'Z') {
        0
    } else {
        if remaining < 5 {
            return 0;
        }
        let sign = at(pos);
        if sign != i64::from(b'+') && sign != i64::from(b'-') {
            return 0;
        }
        let d = |i: usize| at(pos + i) - i64::from(b'0');
        let v = (d(1) * 10 + d(2)) * 60 + d(3) * 10 + d(4);
        if sign == i64::from(b'-') {
            -v
        } else {
            v
        }
    };
    let d = |i: usize| buf.get(i).copied().unwrap_or(0) - i64::from(b'0');
    let sec = d(12) * 10 + d(13);
    let min = d(10) * 10 + d(11);
    let hour = d(8) * 10 + d(9);
    let mday = d(6) * 10 + d(7);
    let mon = d(4) * 10 + d(5) - 1;
    let mut year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    if year > 1900 {
        year -= 1900;
    }
    let t = timegm(year + 1900, mon, mday, hour, min, sec);
    if t == 0 {
        0
    } else {
        t + offset
    }
}

/// `mktime` in UTC: normalises out-of-range fields arithmetically.
fn timegm(year: i64, mon: i64, mday: i64, hour: i64, min: i64, sec: i64) -> i64 {
    let year = year + mon.div_euclid(12);
    let mon = mon.rem_euclid(12) + 1;
    days_from_civil(year, mon, 1)
        .saturating_add(mday - 1)
        .saturating_mul(86_400)
        .saturating_add(hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------
// Public keys

/// What OpenSSL tells about a public key it could load.
struct KeyInfo {
    key_type: &'static str,
    bits: u64,
    exponent: Option<String>,
    curve: Option<&'static str>,
}

/// OID content octets of the key algorithms OpenSSL loads.
const OID_RSA: &[u8] = &[42, 134, 72, 134, 247, 13, 1, 1, 1];
const OID_RSA_X500: &[u8] = &[85, 8, 1, 1];
const OID_RSA_PSS: &[u8] = &[42, 134, 72, 134, 247, 13, 1, 1, 10];
const OID_DSA: &[&[u8]] = &[
    &[42, 134, 72, 206, 56, 4, 1],
    &[42, 134, 72, 206, 56, 4, 3],
    &[43, 14, 3, 2, 12],
    &[43, 14, 3, 2, 27],
];
const OID_EC: &[u8] = &[42, 134, 72, 206, 61, 2, 1];
const OID_DH: &[u8] = &[42, 134, 72, 134, 247, 13, 1, 3, 1];
const OID_DHX: &[u8] = &[42, 134, 72, 206, 62, 2, 1];
/// NIST signature algorithm arc (ML-DSA, SLH-DSA) and KEM arc (ML-KEM).
const OID_NIST_SIG: &[u8] = &[96, 134, 72, 1, 101, 3, 4, 3];
const OID_NIST_KEM: &[u8] = &[96, 134, 72, 1, 101, 3, 4, 4];

/// Loads the key as OpenSSL's decoders would; `None` when OpenSSL could
/// not (Zeek then leaves every key column unset).
fn public_key(spki: &SubjectPublicKeyInfo<'_>) -> Option<KeyInfo> {
    let oid = spki.algorithm.algorithm.as_bytes();
    let params = spki.algorithm.parameters.as_ref();
    let key: &[u8] = &spki.subject_public_key.data;
    let fixed = |key_type: &'static str, len: usize, bits: u64| {
        (params.is_none() && key.len() == len).then_some(KeyInfo {
            key_type,
            bits,
            exponent: None,
            curve: None,
        })
    };
    if oid == OID_RSA || oid == OID_RSA_X500 {
        let (n, e) = rsa_public_key(key)?;
        return Some(KeyInfo {
            key_type: "rsa",
            bits: num_bits(n),
            exponent: Some(decimal(e)),
            curve: None,
        });
    }
    if oid == OID_RSA_PSS {
        if params.is_some_and(|p| p.header.tag().0 != 16) {
            return None;
        }
        let (n, _) = rsa_public_key(key)?;
        return Some(KeyInfo {
            key_type: "RSA-PSS",
            bits: num_bits(n),
            exponent: None,
            curve: None,
        });
    }
    if OID_DSA.contains(&oid) {
        let bits = match params {
            Some(p) if p.header.tag().0 == 16 => {
                let mut it = elements(p.data);
                let p = it.next()??;
                let q = it.next()??;
                let g = it.next()??;
                if [&p, &q, &g].iter().any(|t| t.id != 0x02) {
                    return None;
                }
                num_bits(p.content)
            }
            Some(p) if p.header.tag().0 == 5 => 0,
            None => 0,
            Some(_) => return None,
        };
        integer_key(key)?;
        return Some(KeyInfo {
            key_type: "dsa",
            bits,
            exponent: None,
            curve: None,
        });
    }
    if oid == OID_DH || oid == OID_DHX {
        let p = params.filter(|p| p.header.tag().0 == 16)?;
        let prime = elements(p.data).next()??;
        if prime.id != 0x02 {
            return None;
        }
        integer_key(key)?;
        return Some(KeyInfo {
            key_type: if oid == OID_DH { "DH" } else { "DHX" },
            bits: num_bits(prime.content),
            exponent: None,
            curve: None,
        });
    }
    if oid == OID_EC {
        let p = params?;
        let (curve, order_bits, field_len) = match p.header.tag().0 {
            6 => {
                let i = CURVES.binary_search_by(|(o, _, _)| (*o).cmp(p.data)).ok()?;
                let &(_, order_bits, field_len) = CURVES.get(i)?;
                (
                    lookup(p.data).map(|o| o.sn),
                    u64::from(order_bits),
                    usize::from(field_len),
                )
            }
            16 => {
                let (order_bits, field_len) = explicit_curve(p.data)?;
                (None, order_bits, field_len)
            }
            _ => return None,
        };
        if !ec_point_ok(key, field_len) {
            return None;
        }
        return Some(KeyInfo {
            key_type: "ecdsa",
            bits: order_bits,
            exponent: None,
            curve,
        });
    }
    match oid {
        [43, 101, 110] => return fixed("X25519", 32, 253),
        [43, 101, 111] => return fixed("X448", 56, 448),
        [43, 101, 112] => return fixed("ED25519", 32, 256),
        [43, 101, 113] => return fixed("ED448", 57, 456),
        _ => {}
    }
    if let Some(&[arc]) = oid.strip_prefix(OID_NIST_SIG) {
        // ML-DSA-44/65/87, then the twelve SLH-DSA parameter sets.
        let (len, name) = match arc {
            17 => (1312, "ML-DSA-44"),
            18 => (1952, "ML-DSA-65"),
            19 => (2592, "ML-DSA-87"),
            20..=31 => {
                let names = [
                    "SLH-DSA-SHA2-128s",
                    "SLH-DSA-SHA2-128f",
                    "SLH-DSA-SHA2-192s",
                    "SLH-DSA-SHA2-192f",
                    "SLH-DSA-SHA2-256s",
                    "SLH-DSA-SHA2-256f",
                    "SLH-DSA-SHAKE-128s",
                    "SLH-DSA-SHAKE-128f",
                    "SLH-DSA-SHAKE-192s",
                    "SLH-DSA-SHAKE-192f",
                    "SLH-DSA-SHAKE-256s",
                    "SLH-DSA-SHAKE-256f",
                ];
                let i = usize::from(arc - 20);
                ([32, 48, 64][i % 6 / 2], *names.get(i)?)
            }
            _ => return None,
        };
        return fixed(name, len, 8 * len as u64);
    }
    if let Some(&[arc]) = oid.strip_prefix(OID_NIST_KEM) {
        return match arc {
            1 => fixed("ML-KEM-512", 800, 512),
            2 => fixed("ML-KEM-768", 1184, 768),
            3 => fixed("ML-KEM-1024", 1568, 1024),
            _ => None,
        };
    }
    None
}

/// Modulus and exponent (unsigned magnitudes) of an RSAPublicKey.
fn rsa_public_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, _) = read_tlv(key)?;
    if seq.id != 0x30 {
        return None;
    }
    let mut it = elements(seq.content);
    let n = it.next()??;
    let e = it.next()??;
    (n.id == 0x02 && e.id == 0x02).then_some((n.content, e.content))
}

/// A DSA or DH public key: one valid INTEGER.
fn integer_key(key: &[u8]) -> Option<()> {
    let (int, _) = read_tlv(key)?;
    (int.id == 0x02).then_some(())?;
    asn1_integer(int.content).map(|_| ())
}

/// Order size in bits and field size in bytes of explicit EC parameters.
fn explicit_curve(params: &[u8]) -> Option<(u64, usize)> {
    let mut it = elements(params);
    let _version = it.next()??;
    let field_id = it.next()??;
    let _curve = it.next()??;
    let _base = it.next()??;
    let order = it.next()??;
    if order.id != 0x02 || field_id.id != 0x30 {
        return None;
    }
    let mut f = elements(field_id.content);
    let field_type = f.next()??;
    let field = f.next()??;
    let field_bits = match field_type.content {
        // prime-field: the prime
        [42, 134, 72, 206, 61, 1, 1] if field.id == 0x02 => num_bits(field.content),
        // characteristic-two-field: the degree m
        [42, 134, 72, 206, 61, 1, 2] if field.id == 0x30 => {
            let m = elements(field.content).next()??;
            if m.id != 0x02 || m.content.len() > 4 {
                return None;
            }
            m.content.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
        }
        _ => return None,
    };
    Some((num_bits(order.content), field_bits.div_ceil(8) as usize))
}

/// The encoding checks of `EC_POINT_oct2point` (whether the point lies on
/// the curve is not checked).
fn ec_point_ok(point: &[u8], field_len: usize) -> bool {
    match point.first() {
        Some(0) => point.len() == 1,
        Some(2 | 3) => point.len() == 1 + field_len,
        Some(4 | 6 | 7) => point.len() == 1 + 2 * field_len,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Extensions

/// A subjectAltName extension value decoded as OpenSSL's `GENERAL_NAMES`
/// and reduced to Zeek's record; `None` when OpenSSL would fail to decode
/// it.
fn parse_san(value: &[u8]) -> Option<SubjectAltName> {
    let (seq, _) = read_tlv(value)?;
    if seq.id != 0x30 {
        return None;
    }
    let mut san = SubjectAltName::default();
    for gn in elements(seq.content) {
        let gn = gn?;
        if gn.id & 0xc0 != 0x80 {
            return None;
        }
        let constructed = gn.id & 0x20 != 0;
        match (gn.id & 0x1f, constructed) {
            (1, false) => san
                .email
                .get_or_insert_with(TextList::default)
                .push(gn.content),
            (2, false) => san
                .dns
                .get_or_insert_with(TextList::default)
                .push(gn.content),
            (6, false) => san
                .uri
                .get_or_insert_with(TextList::default)
                .push(gn.content),
            (7, false) => {
                let ips = san.ip.get_or_insert_with(Vec::new);
                if let Ok(a) = <[u8; 4]>::try_from(gn.content) {
                    ips.push(IpAddr::V4(Ipv4Addr::from(a)));
                } else if let Ok(a) = <[u8; 16]>::try_from(gn.content) {
                    ips.push(IpAddr::V6(Ipv6Addr::from(a)));
                }
            }
            (8, false) if valid_oid(gn.content) => san.other_fields = true,
            (0 | 3 | 5, true) => san.other_fields = true,
            (4, true) => {
                let (name, _) = read_tlv(gn.content)?;
                if name.id != 0x30 {
                    return None;
                }
                san.other_fields = true;
            }
            _ => return None,
        }
    }
    Some(san)
}

/// A basicConstraints extension value as OpenSSL decodes it; `None` when
/// it does not decode.
fn parse_basic_constraints(value: &[u8]) -> Option<BasicConstraints> {
    let (seq, _) = read_tlv(value)?;
    if seq.id != 0x30 {
        return None;
    }
    let mut bc = BasicConstraints {
        ca: false,
        path_len: None,
    };
    let mut it = elements(seq.content).peekable();
    if let Some(Some(t)) = it.peek() {
        if t.id == 0x01 {
            let [b] = t.content else {
                return None;
            };
            bc.ca = *b != 0;
            it.next();
        }
    }
    if let Some(t) = it.next() {
        let t = t?;
        if t.id != 0x02 {
            return None;
        }
        let (neg, mag) = asn1_integer(t.content)?;
        // ASN1_INTEGER_get (-1 when out of range), then Zeek's int32_t
        // cast into a count.
        let v: i64 = if mag.len() > 8 {
            -1
        } else {
            let m = mag.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            match (neg, i64::try_from(m)) {
                (false, Ok(v)) => v,
                (true, Ok(v)) => -v,
                (true, Err(_)) if m == 1 << 63 => i64::MIN,
                _ => -1,
            }
        };
        bc.path_len = Some(i64::from(v as i32) as u64);
    }
    if it.next().is_some() {
        return None;
    }
    Some(bc)
}

// ---------------------------------------------------------------------------
// Tables, from OpenSSL's object list (with the post-quantum objects of
// OpenSSL 3.5) and its built-in curve parameters.

/// OpenSSL objects: (OID content octets, short name, long name), sorted.
#[rustfmt::skip]
static OBJECTS: [(&[u8], &str, &str); 358] = [
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1], "pilotAttributeType", "pilotAttributeType"), // 0.9.2342.19200300.100.1
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 1], "UID", "userId"), // 0.9.2342.19200300.100.1.1
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 2], "textEncodedORAddress", "textEncodedORAddress"), // 0.9.2342.19200300.100.1.2
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 3], "mail", "rfc822Mailbox"), // 0.9.2342.19200300.100.1.3
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 4], "info", "info"), // 0.9.2342.19200300.100.1.4
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 5], "favouriteDrink", "favouriteDrink"), // 0.9.2342.19200300.100.1.5
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 6], "roomNumber", "roomNumber"), // 0.9.2342.19200300.100.1.6
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 7], "photo", "photo"), // 0.9.2342.19200300.100.1.7
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 8], "userClass", "userClass"), // 0.9.2342.19200300.100.1.8
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 9], "host", "host"), // 0.9.2342.19200300.100.1.9
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 10], "manager", "manager"), // 0.9.2342.19200300.100.1.10
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 11], "documentIdentifier", "documentIdentifier"), // 0.9.2342.19200300.100.1.11
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 12], "documentTitle", "documentTitle"), // 0.9.2342.19200300.100.1.12
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 13], "documentVersion", "documentVersion"), // 0.9.2342.19200300.100.1.13
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 14], "documentAuthor", "documentAuthor"), // 0.9.2342.19200300.100.1.14
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 15], "documentLocation", "documentLocation"), // 0.9.2342.19200300.100.1.15
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 20], "homeTelephoneNumber", "homeTelephoneNumber"), // 0.9.2342.19200300.100.1.20
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 21], "secretary", "secretary"), // 0.9.2342.19200300.100.1.21
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 22], "otherMailbox", "otherMailbox"), // 0.9.2342.19200300.100.1.22
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 23], "lastModifiedTime", "lastModifiedTime"), // 0.9.2342.19200300.100.1.23
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 24], "lastModifiedBy", "lastModifiedBy"), // 0.9.2342.19200300.100.1.24
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 25], "DC", "domainComponent"), // 0.9.2342.19200300.100.1.25
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 26], "aRecord", "aRecord"), // 0.9.2342.19200300.100.1.26
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 27], "pilotAttributeType27", "pilotAttributeType27"), // 0.9.2342.19200300.100.1.27
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 28], "mXRecord", "mXRecord"), // 0.9.2342.19200300.100.1.28
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 29], "nSRecord", "nSRecord"), // 0.9.2342.19200300.100.1.29
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 30], "sOARecord", "sOARecord"), // 0.9.2342.19200300.100.1.30
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 31], "cNAMERecord", "cNAMERecord"), // 0.9.2342.19200300.100.1.31
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 37], "associatedDomain", "associatedDomain"), // 0.9.2342.19200300.100.1.37
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 38], "associatedName", "associatedName"), // 0.9.2342.19200300.100.1.38
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 39], "homePostalAddress", "homePostalAddress"), // 0.9.2342.19200300.100.1.39
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 40], "personalTitle", "personalTitle"), // 0.9.2342.19200300.100.1.40
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 41], "mobileTelephoneNumber", "mobileTelephoneNumber"), // 0.9.2342.19200300.100.1.41
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 42], "pagerTelephoneNumber", "pagerTelephoneNumber"), // 0.9.2342.19200300.100.1.42
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 43], "friendlyCountryName", "friendlyCountryName"), // 0.9.2342.19200300.100.1.43
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 44], "uid", "uniqueIdentifier"), // 0.9.2342.19200300.100.1.44
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 45], "organizationalStatus", "organizationalStatus"), // 0.9.2342.19200300.100.1.45
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 46], "janetMailbox", "janetMailbox"), // 0.9.2342.19200300.100.1.46
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 47], "mailPreferenceOption", "mailPreferenceOption"), // 0.9.2342.19200300.100.1.47
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 48], "buildingName", "buildingName"), // 0.9.2342.19200300.100.1.48
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 49], "dSAQuality", "dSAQuality"), // 0.9.2342.19200300.100.1.49
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 50], "singleLevelQuality", "singleLevelQuality"), // 0.9.2342.19200300.100.1.50
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 51], "subtreeMinimumQuality", "subtreeMinimumQuality"), // 0.9.2342.19200300.100.1.51
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 52], "subtreeMaximumQuality", "subtreeMaximumQuality"), // 0.9.2342.19200300.100.1.52
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 53], "personalSignature", "personalSignature"), // 0.9.2342.19200300.100.1.53
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 54], "dITRedirect", "dITRedirect"), // 0.9.2342.19200300.100.1.54
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 55], "audio", "audio"), // 0.9.2342.19200300.100.1.55
    (&[9, 146, 38, 137, 147, 242, 44, 100, 1, 56], "documentPublisher", "documentPublisher"), // 0.9.2342.19200300.100.1.56
    (&[42, 129, 28, 207, 85, 1], "sm-scheme", "sm-scheme"), // 1.2.156.10197.1
    (&[42, 129, 28, 207, 85, 1, 104, 1], "SM4-ECB", "sm4-ecb"), // 1.2.156.10197.1.104.1
    (&[42, 129, 28, 207, 85, 1, 104, 2], "SM4-CBC", "sm4-cbc"), // 1.2.156.10197.1.104.2
    (&[42, 129, 28, 207, 85, 1, 104, 3], "SM4-OFB", "sm4-ofb"), // 1.2.156.10197.1.104.3
    (&[42, 129, 28, 207, 85, 1, 104, 4], "SM4-CFB", "sm4-cfb"), // 1.2.156.10197.1.104.4
    (&[42, 129, 28, 207, 85, 1, 104, 5], "SM4-CFB1", "sm4-cfb1"), // 1.2.156.10197.1.104.5
    (&[42, 129, 28, 207, 85, 1, 104, 6], "SM4-CFB8", "sm4-cfb8"), // 1.2.156.10197.1.104.6
    (&[42, 129, 28, 207, 85, 1, 104, 7], "SM4-CTR", "sm4-ctr"), // 1.2.156.10197.1.104.7
    (&[42, 129, 28, 207, 85, 1, 130, 45], "SM2", "sm2"), // 1.2.156.10197.1.301
    (&[42, 129, 28, 207, 85, 1, 131, 17], "SM3", "sm3"), // 1.2.156.10197.1.401
    (&[42, 129, 28, 207, 85, 1, 131, 117], "SM2-SM3", "SM2-with-SM3"), // 1.2.156.10197.1.501
    (&[42, 129, 28, 207, 85, 1, 131, 120], "RSA-SM3", "sm3WithRSAEncryption"), // 1.2.156.10197.1.504
    (&[42, 133, 3, 2, 2], "cryptopro", "cryptopro"), // 1.2.643.2.2
    (&[42, 133, 3, 2, 2, 3], "id-GostR3411-94-with-GostR3410-2001", "GOST R 34.11-94 with GOST R 34.10-2001"), // 1.2.643.2.2.3
    (&[42, 133, 3, 2, 2, 4], "id-GostR3411-94-with-GostR3410-94", "GOST R 34.11-94 with GOST R 34.10-94"), // 1.2.643.2.2.4
    (&[42, 133, 3, 2, 2, 9], "md_gost94", "GOST R 34.11-94"), // 1.2.643.2.2.9
    (&[42, 133, 3, 2, 2, 10], "id-HMACGostR3411-94", "HMAC GOST 34.11-94"), // 1.2.643.2.2.10
    (&[42, 133, 3, 2, 2, 19], "gost2001", "GOST R 34.10-2001"), // 1.2.643.2.2.19
    (&[42, 133, 3, 2, 2, 20], "gost94", "GOST R 34.10-94"), // 1.2.643.2.2.20
    (&[42, 133, 3, 2, 2, 20, 1], "id-GostR3410-94-a", "id-GostR3410-94-a"), // 1.2.643.2.2.20.1
    (&[42, 133, 3, 2, 2, 20, 2], "id-GostR3410-94-aBis", "id-GostR3410-94-aBis"), // 1.2.643.2.2.20.2
    (&[42, 133, 3, 2, 2, 20, 3], "id-GostR3410-94-b", "id-GostR3410-94-b"), // 1.2.643.2.2.20.3
    (&[42, 133, 3, 2, 2, 20, 4], "id-GostR3410-94-bBis", "id-GostR3410-94-bBis"), // 1.2.643.2.2.20.4
    (&[42, 133, 3, 2, 2, 21], "gost89", "GOST 28147-89"), // 1.2.643.2.2.21
    (&[42, 133, 3, 2, 2, 22], "gost-mac", "GOST 28147-89 MAC"), // 1.2.643.2.2.22
    (&[42, 133, 3, 2, 2, 23], "prf-gostr3411-94", "GOST R 34.11-94 PRF"), // 1.2.643.2.2.23
    (&[42, 133, 3, 2, 2, 98], "id-GostR3410-2001DH", "GOST R 34.10-2001 DH"), // 1.2.643.2.2.98
    (&[42, 133, 3, 2, 2, 99], "id-GostR3410-94DH", "GOST R 34.10-94 DH"), // 1.2.643.2.2.99
    (&[42, 133, 3, 3, 129, 3, 1, 1], "INN", "INN"), // 1.2.643.3.131.1.1
    (&[42, 133, 3, 7, 1, 1], "id-tc26-algorithms", "id-tc26-algorithms"), // 1.2.643.7.1.1
    (&[42, 133, 3, 7, 1, 1, 1], "id-tc26-sign", "id-tc26-sign"), // 1.2.643.7.1.1.1
    (&[42, 133, 3, 7, 1, 1, 1, 1], "gost2012_256", "GOST R 34.10-2012 with 256 bit modulus"), // 1.2.643.7.1.1.1.1
    (&[42, 133, 3, 7, 1, 1, 1, 2], "gost2012_512", "GOST R 34.10-2012 with 512 bit modulus"), // 1.2.643.7.1.1.1.2
    (&[42, 133, 3, 7, 1, 1, 2], "id-tc26-digest", "id-tc26-digest"), // 1.2.643.7.1.1.2
    (&[42, 133, 3, 7, 1, 1, 2, 2], "md_gost12_256", "GOST R 34.11-2012 with 256 bit hash"), // 1.2.643.7.1.1.2.2
    (&[42, 133, 3, 7, 1, 1, 2, 3], "md_gost12_512", "GOST R 34.11-2012 with 512 bit hash"), // 1.2.643.7.1.1.2.3
    (&[42, 133, 3, 7, 1, 1, 3], "id-tc26-signwithdigest", "id-tc26-signwithdigest"), // 1.2.643.7.1.1.3
    (&[42, 133, 3, 7, 1, 1, 3, 2], "id-tc26-signwithdigest-gost3410-2012-256", "GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit)"), // 1.2.643.7.1.1.3.2
    (&[42, 133, 3, 7, 1, 1, 3, 3], "id-tc26-signwithdigest-gost3410-2012-512", "GOST R 34.10-2012 with GOST R 34.11-2012 (512 bit)"), // 1.2.643.7.1.1.3.3
    (&[42, 133, 3, 100, 1], "OGRN", "OGRN"), // 1.2.643.100.1
    (&[42, 133, 3, 100, 3], "SNILS", "SNILS"), // 1.2.643.100.3
    (&[42, 133, 3, 100, 5], "OGRNIP", "OGRNIP"), // 1.2.643.100.5
    (&[42, 133, 3, 100, 111], "subjectSignTool", "Signing Tool of Subject"), // 1.2.643.100.111
    (&[42, 133, 3, 100, 112], "issuerSignTool", "Signing Tool of Issuer"), // 1.2.643.100.112
    (&[42, 133, 3, 100, 113], "classSignTool", "Class of Signing Tool"), // 1.2.643.100.113
    (&[42, 133, 3, 100, 113, 1], "classSignToolKC1", "Class of Signing Tool KC1"), // 1.2.643.100.113.1
    (&[42, 133, 3, 100, 113, 2], "classSignToolKC2", "Class of Signing Tool KC2"), // 1.2.643.100.113.2
    (&[42, 133, 3, 100, 113, 3], "classSignToolKC3", "Class of Signing Tool KC3"), // 1.2.643.100.113.3
    (&[42, 133, 3, 100, 113, 4], "classSignToolKB1", "Class of Signing Tool KB1"), // 1.2.643.100.113.4
    (&[42, 133, 3, 100, 113, 5], "classSignToolKB2", "Class of Signing Tool KB2"), // 1.2.643.100.113.5
    (&[42, 133, 3, 100, 113, 6], "classSignToolKA1", "Class of Signing Tool KA1"), // 1.2.643.100.113.6
    (&[42, 134, 72, 134, 247, 13, 1, 1], "pkcs1", "pkcs1"), // 1.2.840.113549.1.1
    (&[42, 134, 72, 134, 247, 13, 1, 1, 1], "rsaEncryption", "rsaEncryption"), // 1.2.840.113549.1.1.1
    (&[42, 134, 72, 134, 247, 13, 1, 1, 2], "RSA-MD2", "md2WithRSAEncryption"), // 1.2.840.113549.1.1.2
    (&[42, 134, 72, 134, 247, 13, 1, 1, 3], "RSA-MD4", "md4WithRSAEncryption"), // 1.2.840.113549.1.1.3
    (&[42, 134, 72, 134, 247, 13, 1, 1, 4], "RSA-MD5", "md5WithRSAEncryption"), // 1.2.840.113549.1.1.4
    (&[42, 134, 72, 134, 247, 13, 1, 1, 5], "RSA-SHA1", "sha1WithRSAEncryption"), // 1.2.840.113549.1.1.5
    (&[42, 134, 72, 134, 247, 13, 1, 1, 6], "rsaOAEPEncryptionSET", "rsaOAEPEncryptionSET"), // 1.2.840.113549.1.1.6
    (&[42, 134, 72, 134, 247, 13, 1, 1, 7], "RSAES-OAEP", "rsaesOaep"), // 1.2.840.113549.1.1.7
    (&[42, 134, 72, 134, 247, 13, 1, 1, 8], "MGF1", "mgf1"), // 1.2.840.113549.1.1.8
    (&[42, 134, 72, 134, 247, 13, 1, 1, 9], "PSPECIFIED", "pSpecified"), // 1.2.840.113549.1.1.9
    (&[42, 134, 72, 134, 247, 13, 1, 1, 10], "RSASSA-PSS", "rsassaPss"), // 1.2.840.113549.1.1.10
    (&[42, 134, 72, 134, 247, 13, 1, 1, 11], "RSA-SHA256", "sha256WithRSAEncryption"), // 1.2.840.113549.1.1.11
    (&[42, 134, 72, 134, 247, 13, 1, 1, 12], "RSA-SHA384", "sha384WithRSAEncryption"), // 1.2.840.113549.1.1.12
    (&[42, 134, 72, 134, 247, 13, 1, 1, 13], "RSA-SHA512", "sha512WithRSAEncryption"), // 1.2.840.113549.1.1.13
    (&[42, 134, 72, 134, 247, 13, 1, 1, 14], "RSA-SHA224", "sha224WithRSAEncryption"), // 1.2.840.113549.1.1.14
    (&[42, 134, 72, 134, 247, 13, 1, 1, 15], "RSA-SHA512/224", "sha512-224WithRSAEncryption"), // 1.2.840.113549.1.1.15
    (&[42, 134, 72, 134, 247, 13, 1, 1, 16], "RSA-SHA512/256", "sha512-256WithRSAEncryption"), // 1.2.840.113549.1.1.16
    (&[42, 134, 72, 134, 247, 13, 1, 3, 1], "dhKeyAgreement", "dhKeyAgreement"), // 1.2.840.113549.1.3.1
    (&[42, 134, 72, 134, 247, 13, 1, 9], "pkcs9", "pkcs9"), // 1.2.840.113549.1.9
    (&[42, 134, 72, 134, 247, 13, 1, 9, 1], "emailAddress", "emailAddress"), // 1.2.840.113549.1.9.1
    (&[42, 134, 72, 134, 247, 13, 1, 9, 2], "unstructuredName", "unstructuredName"), // 1.2.840.113549.1.9.2
    (&[42, 134, 72, 134, 247, 13, 1, 9, 3], "contentType", "contentType"), // 1.2.840.113549.1.9.3
    (&[42, 134, 72, 134, 247, 13, 1, 9, 4], "messageDigest", "messageDigest"), // 1.2.840.113549.1.9.4
    (&[42, 134, 72, 134, 247, 13, 1, 9, 5], "signingTime", "signingTime"), // 1.2.840.113549.1.9.5
    (&[42, 134, 72, 134, 247, 13, 1, 9, 6], "countersignature", "countersignature"), // 1.2.840.113549.1.9.6
    (&[42, 134, 72, 134, 247, 13, 1, 9, 7], "challengePassword", "challengePassword"), // 1.2.840.113549.1.9.7
    (&[42, 134, 72, 134, 247, 13, 1, 9, 8], "unstructuredAddress", "unstructuredAddress"), // 1.2.840.113549.1.9.8
    (&[42, 134, 72, 134, 247, 13, 1, 9, 9], "extendedCertificateAttributes", "extendedCertificateAttributes"), // 1.2.840.113549.1.9.9
    (&[42, 134, 72, 134, 247, 13, 1, 9, 14], "extReq", "Extension Request"), // 1.2.840.113549.1.9.14
    (&[42, 134, 72, 134, 247, 13, 1, 9, 15], "SMIME-CAPS", "S/MIME Capabilities"), // 1.2.840.113549.1.9.15
    (&[42, 134, 72, 134, 247, 13, 1, 9, 20], "friendlyName", "friendlyName"), // 1.2.840.113549.1.9.20
    (&[42, 134, 72, 134, 247, 13, 1, 9, 21], "localKeyID", "localKeyID"), // 1.2.840.113549.1.9.21
    (&[42, 134, 72, 134, 247, 13, 1, 9, 22, 1], "x509Certificate", "x509Certificate"), // 1.2.840.113549.1.9.22.1
    (&[42, 134, 72, 134, 247, 13, 1, 9, 22, 2], "sdsiCertificate", "sdsiCertificate"), // 1.2.840.113549.1.9.22.2
    (&[42, 134, 72, 134, 247, 13, 1, 9, 23, 1], "x509Crl", "x509Crl"), // 1.2.840.113549.1.9.23.1
    (&[42, 134, 72, 206, 56, 4], "X9cm", "X9.57 CM ?"), // 1.2.840.10040.4
    (&[42, 134, 72, 206, 56, 4, 1], "DSA", "dsaEncryption"), // 1.2.840.10040.4.1
    (&[42, 134, 72, 206, 56, 4, 3], "DSA-SHA1", "dsaWithSHA1"), // 1.2.840.10040.4.3
    (&[42, 134, 72, 206, 61], "ansi-X9-62", "ANSI X9.62"), // 1.2.840.10045
    (&[42, 134, 72, 206, 61, 1, 1], "prime-field", "prime-field"), // 1.2.840.10045.1.1
    (&[42, 134, 72, 206, 61, 1, 2], "characteristic-two-field", "characteristic-two-field"), // 1.2.840.10045.1.2
    (&[42, 134, 72, 206, 61, 1, 2, 3], "id-characteristic-two-basis", "id-characteristic-two-basis"), // 1.2.840.10045.1.2.3
    (&[42, 134, 72, 206, 61, 1, 2, 3, 1], "onBasis", "onBasis"), // 1.2.840.10045.1.2.3.1
    (&[42, 134, 72, 206, 61, 1, 2, 3, 2], "tpBasis", "tpBasis"), // 1.2.840.10045.1.2.3.2
    (&[42, 134, 72, 206, 61, 1, 2, 3, 3], "ppBasis", "ppBasis"), // 1.2.840.10045.1.2.3.3
    (&[42, 134, 72, 206, 61, 2, 1], "id-ecPublicKey", "id-ecPublicKey"), // 1.2.840.10045.2.1
    (&[42, 134, 72, 206, 61, 3, 0, 1], "c2pnb163v1", "c2pnb163v1"), // 1.2.840.10045.3.0.1
    (&[42, 134, 72, 206, 61, 3, 0, 2], "c2pnb163v2", "c2pnb163v2"), // 1.2.840.10045.3.0.2
    (&[42, 134, 72, 206, 61, 3, 0, 3], "c2pnb163v3", "c2pnb163v3"), // 1.2.840.10045.3.0.3
    (&[42, 134, 72, 206, 61, 3, 0, 4], "c2pnb176v1", "c2pnb176v1"), // 1.2.840.10045.3.0.4
    (&[42, 134, 72, 206, 61, 3, 0, 5], "c2tnb191v1", "c2tnb191v1"), // 1.2.840.10045.3.0.5
    (&[42, 134, 72, 206, 61, 3, 0, 6], "c2tnb191v2", "c2tnb191v2"), // 1.2.840.10045.3.0.6
    (&[42, 134, 72, 206, 61, 3, 0, 7], "c2tnb191v3", "c2tnb191v3"), // 1.2.840.10045.3.0.7
    (&[42, 134, 72, 206, 61, 3, 0, 8], "c2onb191v4", "c2onb191v4"), // 1.2.840.10045.3.0.8
    (&[42, 134, 72, 206, 61, 3, 0, 9], "c2onb191v5", "c2onb191v5"), // 1.2.840.10045.3.0.9
    (&[42, 134, 72, 206, 61, 3, 0, 10], "c2pnb208w1", "c2pnb208w1"), // 1.2.840.10045.3.0.10
    (&[42, 134, 72, 206, 61, 3, 0, 11], "c2tnb239v1", "c2tnb239v1"), // 1.2.840.10045.3.0.11
    (&[42, 134, 72, 206, 61, 3, 0, 12], "c2tnb239v2", "c2tnb239v2"), // 1.2.840.10045.3.0.12
    (&[42, 134, 72, 206, 61, 3, 0, 13], "c2tnb239v3", "c2tnb239v3"), // 1.2.840.10045.3.0.13
    (&[42, 134, 72, 206, 61, 3, 0, 14], "c2onb239v4", "c2onb239v4"), // 1.2.840.10045.3.0.14
    (&[42, 134, 72, 206, 61, 3, 0, 15], "c2onb239v5", "c2onb239v5"), // 1.2.840.10045.3.0.15
    (&[42, 134, 72, 206, 61, 3, 0, 16], "c2pnb272w1", "c2pnb272w1"), // 1.2.840.10045.3.0.16
    (&[42, 134, 72, 206, 61, 3, 0, 17], "c2pnb304w1", "c2pnb304w1"), // 1.2.840.10045.3.0.17
    (&[42, 134, 72, 206, 61, 3, 0, 18], "c2tnb359v1", "c2tnb359v1"), // 1.2.840.10045.3.0.18
    (&[42, 134, 72, 206, 61, 3, 0, 19], "c2pnb368w1", "c2pnb368w1"), // 1.2.840.10045.3.0.19
    (&[42, 134, 72, 206, 61, 3, 0, 20], "c2tnb431r1", "c2tnb431r1"), // 1.2.840.10045.3.0.20
    (&[42, 134, 72, 206, 61, 3, 1, 1], "prime192v1", "prime192v1"), // 1.2.840.10045.3.1.1
    (&[42, 134, 72, 206, 61, 3, 1, 2], "prime192v2", "prime192v2"), // 1.2.840.10045.3.1.2
    (&[42, 134, 72, 206, 61, 3, 1, 3], "prime192v3", "prime192v3"), // 1.2.840.10045.3.1.3
    (&[42, 134, 72, 206, 61, 3, 1, 4], "prime239v1", "prime239v1"), // 1.2.840.10045.3.1.4
    (&[42, 134, 72, 206, 61, 3, 1, 5], "prime239v2", "prime239v2"), // 1.2.840.10045.3.1.5
    (&[42, 134, 72, 206, 61, 3, 1, 6], "prime239v3", "prime239v3"), // 1.2.840.10045.3.1.6
    (&[42, 134, 72, 206, 61, 3, 1, 7], "prime256v1", "prime256v1"), // 1.2.840.10045.3.1.7
    (&[42, 134, 72, 206, 61, 4, 1], "ecdsa-with-SHA1", "ecdsa-with-SHA1"), // 1.2.840.10045.4.1
    (&[42, 134, 72, 206, 61, 4, 2], "ecdsa-with-Recommended", "ecdsa-with-Recommended"), // 1.2.840.10045.4.2
    (&[42, 134, 72, 206, 61, 4, 3], "ecdsa-with-Specified", "ecdsa-with-Specified"), // 1.2.840.10045.4.3
    (&[42, 134, 72, 206, 61, 4, 3, 1], "ecdsa-with-SHA224", "ecdsa-with-SHA224"), // 1.2.840.10045.4.3.1
    (&[42, 134, 72, 206, 61, 4, 3, 2], "ecdsa-with-SHA256", "ecdsa-with-SHA256"), // 1.2.840.10045.4.3.2
    (&[42, 134, 72, 206, 61, 4, 3, 3], "ecdsa-with-SHA384", "ecdsa-with-SHA384"), // 1.2.840.10045.4.3.3
    (&[42, 134, 72, 206, 61, 4, 3, 4], "ecdsa-with-SHA512", "ecdsa-with-SHA512"), // 1.2.840.10045.4.3.4
    (&[42, 134, 72, 206, 62, 2, 1], "dhpublicnumber", "X9.42 DH"), // 1.2.840.10046.2.1
    (&[43, 6, 1, 4, 1, 130, 55, 60, 2, 1, 1], "jurisdictionL", "jurisdictionLocalityName"), // 1.3.6.1.4.1.311.60.2.1.1
    (&[43, 6, 1, 4, 1, 130, 55, 60, 2, 1, 2], "jurisdictionST", "jurisdictionStateOrProvinceName"), // 1.3.6.1.4.1.311.60.2.1.2
    (&[43, 6, 1, 4, 1, 130, 55, 60, 2, 1, 3], "jurisdictionC", "jurisdictionCountryName"), // 1.3.6.1.4.1.311.60.2.1.3
    (&[43, 6, 1, 5, 5, 7, 9], "id-pda", "id-pda"), // 1.3.6.1.5.5.7.9
    (&[43, 6, 1, 5, 5, 7, 9, 1], "id-pda-dateOfBirth", "id-pda-dateOfBirth"), // 1.3.6.1.5.5.7.9.1
    (&[43, 6, 1, 5, 5, 7, 9, 2], "id-pda-placeOfBirth", "id-pda-placeOfBirth"), // 1.3.6.1.5.5.7.9.2
    (&[43, 6, 1, 5, 5, 7, 9, 3], "id-pda-gender", "id-pda-gender"), // 1.3.6.1.5.5.7.9.3
    (&[43, 6, 1, 5, 5, 7, 9, 4], "id-pda-countryOfCitizenship", "id-pda-countryOfCitizenship"), // 1.3.6.1.5.5.7.9.4
    (&[43, 6, 1, 5, 5, 7, 9, 5], "id-pda-countryOfResidence", "id-pda-countryOfResidence"), // 1.3.6.1.5.5.7.9.5
    (&[43, 14, 3, 2], "algorithm", "algorithm"), // 1.3.14.3.2
    (&[43, 14, 3, 2, 3], "RSA-NP-MD5", "md5WithRSA"), // 1.3.14.3.2.3
    (&[43, 14, 3, 2, 6], "DES-ECB", "des-ecb"), // 1.3.14.3.2.6
    (&[43, 14, 3, 2, 7], "DES-CBC", "des-cbc"), // 1.3.14.3.2.7
    (&[43, 14, 3, 2, 8], "DES-OFB", "des-ofb"), // 1.3.14.3.2.8
    (&[43, 14, 3, 2, 9], "DES-CFB", "des-cfb"), // 1.3.14.3.2.9
    (&[43, 14, 3, 2, 11], "rsaSignature", "rsaSignature"), // 1.3.14.3.2.11
    (&[43, 14, 3, 2, 12], "DSA-old", "dsaEncryption-old"), // 1.3.14.3.2.12
    (&[43, 14, 3, 2, 13], "DSA-SHA", "dsaWithSHA"), // 1.3.14.3.2.13
    (&[43, 14, 3, 2, 15], "RSA-SHA", "shaWithRSAEncryption"), // 1.3.14.3.2.15
    (&[43, 14, 3, 2, 17], "DES-EDE", "des-ede"), // 1.3.14.3.2.17
    (&[43, 14, 3, 2, 18], "SHA", "sha"), // 1.3.14.3.2.18
    (&[43, 14, 3, 2, 26], "SHA1", "sha1"), // 1.3.14.3.2.26
    (&[43, 14, 3, 2, 27], "DSA-SHA1-old", "dsaWithSHA1-old"), // 1.3.14.3.2.27
    (&[43, 14, 3, 2, 29], "RSA-SHA1-2", "sha1WithRSA"), // 1.3.14.3.2.29
    (&[43, 36, 3, 3, 2, 8, 1, 1, 1], "brainpoolP160r1", "brainpoolP160r1"), // 1.3.36.3.3.2.8.1.1.1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 2], "brainpoolP160t1", "brainpoolP160t1"), // 1.3.36.3.3.2.8.1.1.2
    (&[43, 36, 3, 3, 2, 8, 1, 1, 3], "brainpoolP192r1", "brainpoolP192r1"), // 1.3.36.3.3.2.8.1.1.3
    (&[43, 36, 3, 3, 2, 8, 1, 1, 4], "brainpoolP192t1", "brainpoolP192t1"), // 1.3.36.3.3.2.8.1.1.4
    (&[43, 36, 3, 3, 2, 8, 1, 1, 5], "brainpoolP224r1", "brainpoolP224r1"), // 1.3.36.3.3.2.8.1.1.5
    (&[43, 36, 3, 3, 2, 8, 1, 1, 6], "brainpoolP224t1", "brainpoolP224t1"), // 1.3.36.3.3.2.8.1.1.6
    (&[43, 36, 3, 3, 2, 8, 1, 1, 7], "brainpoolP256r1", "brainpoolP256r1"), // 1.3.36.3.3.2.8.1.1.7
    (&[43, 36, 3, 3, 2, 8, 1, 1, 8], "brainpoolP256t1", "brainpoolP256t1"), // 1.3.36.3.3.2.8.1.1.8
    (&[43, 36, 3, 3, 2, 8, 1, 1, 9], "brainpoolP320r1", "brainpoolP320r1"), // 1.3.36.3.3.2.8.1.1.9
    (&[43, 36, 3, 3, 2, 8, 1, 1, 10], "brainpoolP320t1", "brainpoolP320t1"), // 1.3.36.3.3.2.8.1.1.10
    (&[43, 36, 3, 3, 2, 8, 1, 1, 11], "brainpoolP384r1", "brainpoolP384r1"), // 1.3.36.3.3.2.8.1.1.11
    (&[43, 36, 3, 3, 2, 8, 1, 1, 12], "brainpoolP384t1", "brainpoolP384t1"), // 1.3.36.3.3.2.8.1.1.12
    (&[43, 36, 3, 3, 2, 8, 1, 1, 13], "brainpoolP512r1", "brainpoolP512r1"), // 1.3.36.3.3.2.8.1.1.13
    (&[43, 36, 3, 3, 2, 8, 1, 1, 14], "brainpoolP512t1", "brainpoolP512t1"), // 1.3.36.3.3.2.8.1.1.14
    (&[43, 101, 1, 4, 1], "SXNetID", "Strong Extranet ID"), // 1.3.101.1.4.1
    (&[43, 101, 110], "X25519", "X25519"), // 1.3.101.110
    (&[43, 101, 111], "X448", "X448"), // 1.3.101.111
    (&[43, 101, 112], "ED25519", "ED25519"), // 1.3.101.112
    (&[43, 101, 113], "ED448", "ED448"), // 1.3.101.113
    (&[43, 129, 4, 0, 1], "sect163k1", "sect163k1"), // 1.3.132.0.1
    (&[43, 129, 4, 0, 2], "sect163r1", "sect163r1"), // 1.3.132.0.2
    (&[43, 129, 4, 0, 3], "sect239k1", "sect239k1"), // 1.3.132.0.3
    (&[43, 129, 4, 0, 4], "sect113r1", "sect113r1"), // 1.3.132.0.4
    (&[43, 129, 4, 0, 5], "sect113r2", "sect113r2"), // 1.3.132.0.5
    (&[43, 129, 4, 0, 6], "secp112r1", "secp112r1"), // 1.3.132.0.6
    (&[43, 129, 4, 0, 7], "secp112r2", "secp112r2"), // 1.3.132.0.7
    (&[43, 129, 4, 0, 8], "secp160r1", "secp160r1"), // 1.3.132.0.8
    (&[43, 129, 4, 0, 9], "secp160k1", "secp160k1"), // 1.3.132.0.9
    (&[43, 129, 4, 0, 10], "secp256k1", "secp256k1"), // 1.3.132.0.10
    (&[43, 129, 4, 0, 15], "sect163r2", "sect163r2"), // 1.3.132.0.15
    (&[43, 129, 4, 0, 16], "sect283k1", "sect283k1"), // 1.3.132.0.16
    (&[43, 129, 4, 0, 17], "sect283r1", "sect283r1"), // 1.3.132.0.17
    (&[43, 129, 4, 0, 22], "sect131r1", "sect131r1"), // 1.3.132.0.22
    (&[43, 129, 4, 0, 23], "sect131r2", "sect131r2"), // 1.3.132.0.23
    (&[43, 129, 4, 0, 24], "sect193r1", "sect193r1"), // 1.3.132.0.24
    (&[43, 129, 4, 0, 25], "sect193r2", "sect193r2"), // 1.3.132.0.25
    (&[43, 129, 4, 0, 26], "sect233k1", "sect233k1"), // 1.3.132.0.26
    (&[43, 129, 4, 0, 27], "sect233r1", "sect233r1"), // 1.3.132.0.27
    (&[43, 129, 4, 0, 28], "secp128r1", "secp128r1"), // 1.3.132.0.28
    (&[43, 129, 4, 0, 29], "secp128r2", "secp128r2"), // 1.3.132.0.29
    (&[43, 129, 4, 0, 30], "secp160r2", "secp160r2"), // 1.3.132.0.30
    (&[43, 129, 4, 0, 31], "secp192k1", "secp192k1"), // 1.3.132.0.31
    (&[43, 129, 4, 0, 32], "secp224k1", "secp224k1"), // 1.3.132.0.32
    (&[43, 129, 4, 0, 33], "secp224r1", "secp224r1"), // 1.3.132.0.33
    (&[43, 129, 4, 0, 34], "secp384r1", "secp384r1"), // 1.3.132.0.34
    (&[43, 129, 4, 0, 35], "secp521r1", "secp521r1"), // 1.3.132.0.35
    (&[43, 129, 4, 0, 36], "sect409k1", "sect409k1"), // 1.3.132.0.36
    (&[43, 129, 4, 0, 37], "sect409r1", "sect409r1"), // 1.3.132.0.37
    (&[43, 129, 4, 0, 38], "sect571k1", "sect571k1"), // 1.3.132.0.38
    (&[43, 129, 4, 0, 39], "sect571r1", "sect571r1"), // 1.3.132.0.39
    (&[85, 4], "X509", "X509"), // 2.5.4
    (&[85, 4, 3], "CN", "commonName"), // 2.5.4.3
    (&[85, 4, 4], "SN", "surname"), // 2.5.4.4
    (&[85, 4, 5], "serialNumber", "serialNumber"), // 2.5.4.5
    (&[85, 4, 6], "C", "countryName"), // 2.5.4.6
    (&[85, 4, 7], "L", "localityName"), // 2.5.4.7
    (&[85, 4, 8], "ST", "stateOrProvinceName"), // 2.5.4.8
    (&[85, 4, 9], "street", "streetAddress"), // 2.5.4.9
    (&[85, 4, 10], "O", "organizationName"), // 2.5.4.10
    (&[85, 4, 11], "OU", "organizationalUnitName"), // 2.5.4.11
    (&[85, 4, 12], "title", "title"), // 2.5.4.12
    (&[85, 4, 13], "description", "description"), // 2.5.4.13
    (&[85, 4, 14], "searchGuide", "searchGuide"), // 2.5.4.14
    (&[85, 4, 15], "businessCategory", "businessCategory"), // 2.5.4.15
    (&[85, 4, 16], "postalAddress", "postalAddress"), // 2.5.4.16
    (&[85, 4, 17], "postalCode", "postalCode"), // 2.5.4.17
    (&[85, 4, 18], "postOfficeBox", "postOfficeBox"), // 2.5.4.18
    (&[85, 4, 19], "physicalDeliveryOfficeName", "physicalDeliveryOfficeName"), // 2.5.4.19
    (&[85, 4, 20], "telephoneNumber", "telephoneNumber"), // 2.5.4.20
    (&[85, 4, 21], "telexNumber", "telexNumber"), // 2.5.4.21
    (&[85, 4, 22], "teletexTerminalIdentifier", "teletexTerminalIdentifier"), // 2.5.4.22
    (&[85, 4, 23], "facsimileTelephoneNumber", "facsimileTelephoneNumber"), // 2.5.4.23
    (&[85, 4, 24], "x121Address", "x121Address"), // 2.5.4.24
    (&[85, 4, 25], "internationaliSDNNumber", "internationaliSDNNumber"), // 2.5.4.25
    (&[85, 4, 26], "registeredAddress", "registeredAddress"), // 2.5.4.26
    (&[85, 4, 27], "destinationIndicator", "destinationIndicator"), // 2.5.4.27
    (&[85, 4, 28], "preferredDeliveryMethod", "preferredDeliveryMethod"), // 2.5.4.28
    (&[85, 4, 29], "presentationAddress", "presentationAddress"), // 2.5.4.29
    (&[85, 4, 30], "supportedApplicationContext", "supportedApplicationContext"), // 2.5.4.30
    (&[85, 4, 31], "member", "member"), // 2.5.4.31
    (&[85, 4, 32], "owner", "owner"), // 2.5.4.32
    (&[85, 4, 33], "roleOccupant", "roleOccupant"), // 2.5.4.33
    (&[85, 4, 34], "seeAlso", "seeAlso"), // 2.5.4.34
    (&[85, 4, 35], "userPassword", "userPassword"), // 2.5.4.35
    (&[85, 4, 36], "userCertificate", "userCertificate"), // 2.5.4.36
    (&[85, 4, 37], "cACertificate", "cACertificate"), // 2.5.4.37
    (&[85, 4, 38], "authorityRevocationList", "authorityRevocationList"), // 2.5.4.38
    (&[85, 4, 39], "certificateRevocationList", "certificateRevocationList"), // 2.5.4.39
    (&[85, 4, 40], "crossCertificatePair", "crossCertificatePair"), // 2.5.4.40
    (&[85, 4, 41], "name", "name"), // 2.5.4.41
    (&[85, 4, 42], "GN", "givenName"), // 2.5.4.42
    (&[85, 4, 43], "initials", "initials"), // 2.5.4.43
    (&[85, 4, 44], "generationQualifier", "generationQualifier"), // 2.5.4.44
    (&[85, 4, 45], "x500UniqueIdentifier", "x500UniqueIdentifier"), // 2.5.4.45
    (&[85, 4, 46], "dnQualifier", "dnQualifier"), // 2.5.4.46
    (&[85, 4, 47], "enhancedSearchGuide", "enhancedSearchGuide"), // 2.5.4.47
    (&[85, 4, 48], "protocolInformation", "protocolInformation"), // 2.5.4.48
    (&[85, 4, 49], "distinguishedName", "distinguishedName"), // 2.5.4.49
    (&[85, 4, 50], "uniqueMember", "uniqueMember"), // 2.5.4.50
    (&[85, 4, 51], "houseIdentifier", "houseIdentifier"), // 2.5.4.51
    (&[85, 4, 52], "supportedAlgorithms", "supportedAlgorithms"), // 2.5.4.52
    (&[85, 4, 53], "deltaRevocationList", "deltaRevocationList"), // 2.5.4.53
    (&[85, 4, 54], "dmdName", "dmdName"), // 2.5.4.54
    (&[85, 4, 65], "pseudonym", "pseudonym"), // 2.5.4.65
    (&[85, 4, 72], "role", "role"), // 2.5.4.72
    (&[85, 4, 97], "organizationIdentifier", "organizationIdentifier"), // 2.5.4.97
    (&[85, 4, 98], "c3", "countryCode3c"), // 2.5.4.98
    (&[85, 4, 99], "n3", "countryCode3n"), // 2.5.4.99
    (&[85, 4, 100], "dnsName", "dnsName"), // 2.5.4.100
    (&[96, 134, 72, 1, 101, 3, 4, 3, 1], "dsa_with_SHA224", "dsa_with_SHA224"), // 2.16.840.1.101.3.4.3.1
    (&[96, 134, 72, 1, 101, 3, 4, 3, 2], "dsa_with_SHA256", "dsa_with_SHA256"), // 2.16.840.1.101.3.4.3.2
    (&[96, 134, 72, 1, 101, 3, 4, 3, 3], "id-dsa-with-sha384", "dsa_with_SHA384"), // 2.16.840.1.101.3.4.3.3
    (&[96, 134, 72, 1, 101, 3, 4, 3, 4], "id-dsa-with-sha512", "dsa_with_SHA512"), // 2.16.840.1.101.3.4.3.4
    (&[96, 134, 72, 1, 101, 3, 4, 3, 5], "id-dsa-with-sha3-224", "dsa_with_SHA3-224"), // 2.16.840.1.101.3.4.3.5
    (&[96, 134, 72, 1, 101, 3, 4, 3, 6], "id-dsa-with-sha3-256", "dsa_with_SHA3-256"), // 2.16.840.1.101.3.4.3.6
    (&[96, 134, 72, 1, 101, 3, 4, 3, 7], "id-dsa-with-sha3-384", "dsa_with_SHA3-384"), // 2.16.840.1.101.3.4.3.7
    (&[96, 134, 72, 1, 101, 3, 4, 3, 8], "id-dsa-with-sha3-512", "dsa_with_SHA3-512"), // 2.16.840.1.101.3.4.3.8
    (&[96, 134, 72, 1, 101, 3, 4, 3, 9], "id-ecdsa-with-sha3-224", "ecdsa_with_SHA3-224"), // 2.16.840.1.101.3.4.3.9
    (&[96, 134, 72, 1, 101, 3, 4, 3, 10], "id-ecdsa-with-sha3-256", "ecdsa_with_SHA3-256"), // 2.16.840.1.101.3.4.3.10
    (&[96, 134, 72, 1, 101, 3, 4, 3, 11], "id-ecdsa-with-sha3-384", "ecdsa_with_SHA3-384"), // 2.16.840.1.101.3.4.3.11
    (&[96, 134, 72, 1, 101, 3, 4, 3, 12], "id-ecdsa-with-sha3-512", "ecdsa_with_SHA3-512"), // 2.16.840.1.101.3.4.3.12
    (&[96, 134, 72, 1, 101, 3, 4, 3, 13], "id-rsassa-pkcs1-v1_5-with-sha3-224", "RSA-SHA3-224"), // 2.16.840.1.101.3.4.3.13
    (&[96, 134, 72, 1, 101, 3, 4, 3, 14], "id-rsassa-pkcs1-v1_5-with-sha3-256", "RSA-SHA3-256"), // 2.16.840.1.101.3.4.3.14
    (&[96, 134, 72, 1, 101, 3, 4, 3, 15], "id-rsassa-pkcs1-v1_5-with-sha3-384", "RSA-SHA3-384"), // 2.16.840.1.101.3.4.3.15
    (&[96, 134, 72, 1, 101, 3, 4, 3, 16], "id-rsassa-pkcs1-v1_5-with-sha3-512", "RSA-SHA3-512"), // 2.16.840.1.101.3.4.3.16
    (&[96, 134, 72, 1, 101, 3, 4, 3, 17], "id-ml-dsa-44", "ML-DSA-44"), // 2.16.840.1.101.3.4.3.17
    (&[96, 134, 72, 1, 101, 3, 4, 3, 18], "id-ml-dsa-65", "ML-DSA-65"), // 2.16.840.1.101.3.4.3.18
    (&[96, 134, 72, 1, 101, 3, 4, 3, 19], "id-ml-dsa-87", "ML-DSA-87"), // 2.16.840.1.101.3.4.3.19
    (&[96, 134, 72, 1, 101, 3, 4, 3, 20], "id-slh-dsa-sha2-128s", "SLH-DSA-SHA2-128s"), // 2.16.840.1.101.3.4.3.20
    (&[96, 134, 72, 1, 101, 3, 4, 3, 21], "id-slh-dsa-sha2-128f", "SLH-DSA-SHA2-128f"), // 2.16.840.1.101.3.4.3.21
    (&[96, 134, 72, 1, 101, 3, 4, 3, 22], "id-slh-dsa-sha2-192s", "SLH-DSA-SHA2-192s"), // 2.16.840.1.101.3.4.3.22
    (&[96, 134, 72, 1, 101, 3, 4, 3, 23], "id-slh-dsa-sha2-192f", "SLH-DSA-SHA2-192f"), // 2.16.840.1.101.3.4.3.23
    (&[96, 134, 72, 1, 101, 3, 4, 3, 24], "id-slh-dsa-sha2-256s", "SLH-DSA-SHA2-256s"), // 2.16.840.1.101.3.4.3.24
    (&[96, 134, 72, 1, 101, 3, 4, 3, 25], "id-slh-dsa-sha2-256f", "SLH-DSA-SHA2-256f"), // 2.16.840.1.101.3.4.3.25
    (&[96, 134, 72, 1, 101, 3, 4, 3, 26], "id-slh-dsa-shake-128s", "SLH-DSA-SHAKE-128s"), // 2.16.840.1.101.3.4.3.26
    (&[96, 134, 72, 1, 101, 3, 4, 3, 27], "id-slh-dsa-shake-128f", "SLH-DSA-SHAKE-128f"), // 2.16.840.1.101.3.4.3.27
    (&[96, 134, 72, 1, 101, 3, 4, 3, 28], "id-slh-dsa-shake-192s", "SLH-DSA-SHAKE-192s"), // 2.16.840.1.101.3.4.3.28
    (&[96, 134, 72, 1, 101, 3, 4, 3, 29], "id-slh-dsa-shake-192f", "SLH-DSA-SHAKE-192f"), // 2.16.840.1.101.3.4.3.29
    (&[96, 134, 72, 1, 101, 3, 4, 3, 30], "id-slh-dsa-shake-256s", "SLH-DSA-SHAKE-256s"), // 2.16.840.1.101.3.4.3.30
    (&[96, 134, 72, 1, 101, 3, 4, 3, 31], "id-slh-dsa-shake-256f", "SLH-DSA-SHAKE-256f"), // 2.16.840.1.101.3.4.3.31
    (&[96, 134, 72, 1, 101, 3, 4, 4, 1], "id-alg-ml-kem-512", "ML-KEM-512"), // 2.16.840.1.101.3.4.4.1
    (&[96, 134, 72, 1, 101, 3, 4, 4, 2], "id-alg-ml-kem-768", "ML-KEM-768"), // 2.16.840.1.101.3.4.4.2
    (&[96, 134, 72, 1, 101, 3, 4, 4, 3], "id-alg-ml-kem-1024", "ML-KEM-1024"), // 2.16.840.1.101.3.4.4.3
    (&[103, 43, 1, 4, 1], "wap-wsg-idm-ecid-wtls1", "wap-wsg-idm-ecid-wtls1"), // 2.23.43.1.4.1
    (&[103, 43, 1, 4, 3], "wap-wsg-idm-ecid-wtls3", "wap-wsg-idm-ecid-wtls3"), // 2.23.43.1.4.3
    (&[103, 43, 1, 4, 4], "wap-wsg-idm-ecid-wtls4", "wap-wsg-idm-ecid-wtls4"), // 2.23.43.1.4.4
    (&[103, 43, 1, 4, 5], "wap-wsg-idm-ecid-wtls5", "wap-wsg-idm-ecid-wtls5"), // 2.23.43.1.4.5
    (&[103, 43, 1, 4, 6], "wap-wsg-idm-ecid-wtls6", "wap-wsg-idm-ecid-wtls6"), // 2.23.43.1.4.6
    (&[103, 43, 1, 4, 7], "wap-wsg-idm-ecid-wtls7", "wap-wsg-idm-ecid-wtls7"), // 2.23.43.1.4.7
    (&[103, 43, 1, 4, 8], "wap-wsg-idm-ecid-wtls8", "wap-wsg-idm-ecid-wtls8"), // 2.23.43.1.4.8
    (&[103, 43, 1, 4, 9], "wap-wsg-idm-ecid-wtls9", "wap-wsg-idm-ecid-wtls9"), // 2.23.43.1.4.9
    (&[103, 43, 1, 4, 10], "wap-wsg-idm-ecid-wtls10", "wap-wsg-idm-ecid-wtls10"), // 2.23.43.1.4.10
    (&[103, 43, 1, 4, 11], "wap-wsg-idm-ecid-wtls11", "wap-wsg-idm-ecid-wtls11"), // 2.23.43.1.4.11
    (&[103, 43, 1, 4, 12], "wap-wsg-idm-ecid-wtls12", "wap-wsg-idm-ecid-wtls12"), // 2.23.43.1.4.12
];
/// Named curves OpenSSL loads: (OID content octets, order bits, field
/// size in bytes), sorted.
#[rustfmt::skip]
static CURVES: [(&[u8], u16, u16); 80] = [
    (&[42, 129, 28, 207, 85, 1, 130, 45], 256, 32), // SM2
    (&[42, 134, 72, 206, 61, 3, 0, 1], 163, 21), // c2pnb163v1
    (&[42, 134, 72, 206, 61, 3, 0, 2], 162, 21), // c2pnb163v2
    (&[42, 134, 72, 206, 61, 3, 0, 3], 162, 21), // c2pnb163v3
    (&[42, 134, 72, 206, 61, 3, 0, 4], 161, 22), // c2pnb176v1
    (&[42, 134, 72, 206, 61, 3, 0, 5], 191, 24), // c2tnb191v1
    (&[42, 134, 72, 206, 61, 3, 0, 6], 190, 24), // c2tnb191v2
    (&[42, 134, 72, 206, 61, 3, 0, 7], 189, 24), // c2tnb191v3
    (&[42, 134, 72, 206, 61, 3, 0, 10], 193, 26), // c2pnb208w1
    (&[42, 134, 72, 206, 61, 3, 0, 11], 238, 30), // c2tnb239v1
    (&[42, 134, 72, 206, 61, 3, 0, 12], 237, 30), // c2tnb239v2
    (&[42, 134, 72, 206, 61, 3, 0, 13], 236, 30), // c2tnb239v3
    (&[42, 134, 72, 206, 61, 3, 0, 16], 257, 34), // c2pnb272w1
    (&[42, 134, 72, 206, 61, 3, 0, 17], 289, 38), // c2pnb304w1
    (&[42, 134, 72, 206, 61, 3, 0, 18], 353, 45), // c2tnb359v1
    (&[42, 134, 72, 206, 61, 3, 0, 19], 353, 46), // c2pnb368w1
    (&[42, 134, 72, 206, 61, 3, 0, 20], 418, 54), // c2tnb431r1
    (&[42, 134, 72, 206, 61, 3, 1, 1], 192, 24), // prime192v1
    (&[42, 134, 72, 206, 61, 3, 1, 2], 192, 24), // prime192v2
    (&[42, 134, 72, 206, 61, 3, 1, 3], 192, 24), // prime192v3
    (&[42, 134, 72, 206, 61, 3, 1, 4], 239, 30), // prime239v1
    (&[42, 134, 72, 206, 61, 3, 1, 5], 239, 30), // prime239v2
    (&[42, 134, 72, 206, 61, 3, 1, 6], 239, 30), // prime239v3
    (&[42, 134, 72, 206, 61, 3, 1, 7], 256, 32), // prime256v1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 1], 160, 20), // brainpoolP160r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 2], 160, 20), // brainpoolP160t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 3], 192, 24), // brainpoolP192r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 4], 192, 24), // brainpoolP192t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 5], 224, 28), // brainpoolP224r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 6], 224, 28), // brainpoolP224t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 7], 256, 32), // brainpoolP256r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 8], 256, 32), // brainpoolP256t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 9], 320, 40), // brainpoolP320r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 10], 320, 40), // brainpoolP320t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 11], 384, 48), // brainpoolP384r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 12], 384, 48), // brainpoolP384t1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 13], 512, 64), // brainpoolP512r1
    (&[43, 36, 3, 3, 2, 8, 1, 1, 14], 512, 64), // brainpoolP512t1
    (&[43, 129, 4, 0, 1], 163, 21), // sect163k1
    (&[43, 129, 4, 0, 2], 162, 21), // sect163r1
    (&[43, 129, 4, 0, 3], 238, 30), // sect239k1
    (&[43, 129, 4, 0, 4], 113, 15), // sect113r1
    (&[43, 129, 4, 0, 5], 113, 15), // sect113r2
    (&[43, 129, 4, 0, 6], 112, 14), // secp112r1
    (&[43, 129, 4, 0, 7], 110, 14), // secp112r2
    (&[43, 129, 4, 0, 8], 161, 20), // secp160r1
    (&[43, 129, 4, 0, 9], 161, 20), // secp160k1
    (&[43, 129, 4, 0, 10], 256, 32), // secp256k1
    (&[43, 129, 4, 0, 15], 163, 21), // sect163r2
    (&[43, 129, 4, 0, 16], 281, 36), // sect283k1
    (&[43, 129, 4, 0, 17], 282, 36), // sect283r1
    (&[43, 129, 4, 0, 22], 131, 17), // sect131r1
    (&[43, 129, 4, 0, 23], 131, 17), // sect131r2
    (&[43, 129, 4, 0, 24], 193, 25), // sect193r1
    (&[43, 129, 4, 0, 25], 193, 25), // sect193r2
    (&[43, 129, 4, 0, 26], 232, 30), // sect233k1
    (&[43, 129, 4, 0, 27], 233, 30), // sect233r1
    (&[43, 129, 4, 0, 28], 128, 16), // secp128r1
    (&[43, 129, 4, 0, 29], 126, 16), // secp128r2
    (&[43, 129, 4, 0, 30], 161, 20), // secp160r2
    (&[43, 129, 4, 0, 31], 192, 24), // secp192k1
    (&[43, 129, 4, 0, 32], 225, 28), // secp224k1
    (&[43, 129, 4, 0, 33], 224, 28), // secp224r1
    (&[43, 129, 4, 0, 34], 384, 48), // secp384r1
    (&[43, 129, 4, 0, 35], 521, 66), // secp521r1
    (&[43, 129, 4, 0, 36], 407, 52), // sect409k1
    (&[43, 129, 4, 0, 37], 409, 52), // sect409r1
    (&[43, 129, 4, 0, 38], 570, 72), // sect571k1
    (&[43, 129, 4, 0, 39], 570, 72), // sect571r1
    (&[103, 43, 1, 4, 1], 112, 15), // wap-wsg-idm-ecid-wtls1
    (&[103, 43, 1, 4, 3], 163, 21), // wap-wsg-idm-ecid-wtls3
    (&[103, 43, 1, 4, 4], 113, 15), // wap-wsg-idm-ecid-wtls4
    (&[103, 43, 1, 4, 5], 163, 21), // wap-wsg-idm-ecid-wtls5
    (&[103, 43, 1, 4, 6], 112, 14), // wap-wsg-idm-ecid-wtls6
    (&[103, 43, 1, 4, 7], 161, 20), // wap-wsg-idm-ecid-wtls7
    (&[103, 43, 1, 4, 8], 113, 14), // wap-wsg-idm-ecid-wtls8
    (&[103, 43, 1, 4, 9], 161, 20), // wap-wsg-idm-ecid-wtls9
    (&[103, 43, 1, 4, 10], 232, 30), // wap-wsg-idm-ecid-wtls10
    (&[103, 43, 1, 4, 11], 233, 30), // wap-wsg-idm-ecid-wtls11
    (&[103, 43, 1, 4, 12], 224, 28), // wap-wsg-idm-ecid-wtls12
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::{encode, Format, FormatOptions};
    use crate::logs::x509::X509Record;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/files/testdata/x509");

    /// Column names of a reference line (x509.log without `ts`,
    /// `host_cert` and `client_cert`); lines with 20 fields also carry
    /// `certificate.tbs_sig_alg` after `certificate.curve`.
    const COLUMNS: [&str; 20] = [
        "fingerprint",
        "certificate.version",
        "certificate.serial",
        "certificate.subject",
        "certificate.issuer",
        "certificate.not_valid_before",
        "certificate.not_valid_after",
        "certificate.key_alg",
        "certificate.sig_alg",
        "certificate.key_type",
        "certificate.key_length",
        "certificate.exponent",
        "certificate.curve",
        "certificate.tbs_sig_alg",
        "san.dns",
        "san.uri",
        "san.email",
        "san.ip",
        "basic_constraints.ca",
        "basic_constraints.path_len",
    ];

    /// Reference x509.log fields (TSV, as Zeek writes them) of every
    /// fixture.
    static REFERENCE: &[&str] = &[
    // Zeek baseline, case imap-starttls
    "e0129ac9d82beb2ad399c85a2d246c0a5376e1094a5410ba9157cc42c3d514c1\t3\t339D9ED8E73927C9\tCN=imap.gmx.net,emailAddress=server-certs@1und1.de,L=Montabaur,ST=Rhineland-Palatinate,O=1&1 Mail & Media GmbH,C=DE\tCN=TeleSec ServerPass DE-1,street=Untere Industriestr. 20,L=Netphen,postalCode=57250,ST=NRW,OU=T-Systems Trust Center,O=T-Systems International GmbH,C=DE\t1384251451.000000\t1479427199.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\timap.gmx.net,imap.gmx.de\t-\t-\t-\tF\t-",
    // Zeek baseline, case imap-starttls
    "3c80fe6e6a70e12fae2e7c7b289420f10a69e80dcc88847bb9836ff14a20f872\t3\t21B6777E8CBD0EA8\tCN=TeleSec ServerPass DE-1,street=Untere Industriestr. 20,L=Netphen,postalCode=57250,ST=NRW,OU=T-Systems Trust Center,O=T-Systems International GmbH,C=DE\tCN=Deutsche Telekom Root CA 2,OU=T-TeleSec Trust Center,O=Deutsche Telekom AG,C=DE\t1362146309.000000\t1562716740.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case imap-starttls
    "b6191a50d0c3977f7da99bcdaac86a227daeb9679ec70ba3b0c9d92271c170d3\t3\t26\tCN=Deutsche Telekom Root CA 2,OU=T-TeleSec Trust Center,O=Deutsche Telekom AG,C=DE\tCN=Deutsche Telekom Root CA 2,OU=T-TeleSec Trust Center,O=Deutsche Telekom AG,C=DE\t931522260.000000\t1562716740.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t5",
    // Zeek baseline, case policy-ssl-validate-certs-repeat
    "7c4cb8ef8d84a20171b3ee521b2be4d973b5fcf9cfbd1786e5581c7fed14da47\t3\tFD62E14283CA9DF30A00000000DCA0BE\tCN=www.google.com\tCN=GTS CA 1C3,O=Google Trust Services LLC,C=US\t1622433125.000000\t1629690724.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\twww.google.com\t-\t-\t-\tF\t-",
    // Zeek baseline, case policy-ssl-validate-certs-repeat
    "23ecb03eec17338c4e33a6b48a41dc3cda12281bbc3ff813c0589d6cc2387522\t3\t0203BC53596B34C718F5015066\tCN=GTS CA 1C3,O=Google Trust Services LLC,C=US\tCN=GTS Root R1,O=Google Trust Services LLC,C=US\t1597276842.000000\t1822262442.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case policy-ssl-validate-certs-repeat
    "3ee0278df71fa3c125c4cd487f01d774694e6fc57e0cd94c24efd769133918e5\t3\t77BD0D6CDB36F91AEA210FC4F058D30D\tCN=GTS Root R1,O=Google Trust Services LLC,C=US\tCN=GlobalSign Root CA,OU=Root CA,O=GlobalSign nv-sa,C=BE\t1592524842.000000\t1832630442.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t4096\t65537\t-\t-\t-\t-\t-\tT\t-",
    // Zeek baseline, case policy-ssl-validate-certs-repeat
    "c4d4c1fde956a63916e6886df676570da046396d31ee1f8aad5d59c8865d274d\t3\t9AFA430EE8EEE2FF0A00000000DCA0C8\tCN=www.google.com\tCN=GTS CA 1C3,O=Google Trust Services LLC,C=US\t1622433139.000000\t1629690738.000000\tid-ecPublicKey\tsha256WithRSAEncryption\tecdsa\t256\t-\tprime256v1\twww.google.com\t-\t-\t-\tF\t-",
    // Zeek baseline, case policy-x509-log-hostcerts-only
    "6bacfa4536150ed996f2b0c05ab6e345a257225f449aeb9d2018ccd88f4ede43\t3\t4A2C8628C1010633\tCN=*.google.com,O=Google Inc,L=Mountain View,ST=California,C=US\tCN=Google Internet Authority G2,O=Google Inc,C=US\t1393341558.000000\t1401062400.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t*.google.com,*.android.com,*.appengine.google.com,*.cloud.google.com,*.google-analytics.com,*.google.ca,*.google.cl,*.google.co.in,*.google.co.jp,*.google.co.uk,*.google.com.ar,*.google.com.au,*.google.com.br,*.google.com.co,*.google.com.mx,*.google.com.tr,*.google.com.vn,*.google.de,*.google.es,*.google.fr,*.google.hu,*.google.it,*.google.nl,*.google.pl,*.google.pt,*.googleapis.cn,*.googlecommerce.com,*.googlevideo.com,*.gstatic.com,*.gvt1.com,*.urchin.com,*.url.google.com,*.youtube-nocookie.com,*.youtube.com,*.youtubeeducation.com,*.ytimg.com,android.com,g.co,goo.gl,google-analytics.com,google.com,googlecommerce.com,urchin.com,youtu.be,youtube.com,youtubeeducation.com\t-\t-\t-\tF\t-",
    // Zeek baseline, case smtp-starttls
    "4f0a1ac1c6e873c8805fe2fc56c7aac77025f1dcbbbf907e768f1ec88c3485db\t3\t325D8297987D50B0\tCN=mx.google.com,O=Google Inc,L=Mountain View,ST=California,C=US\tCN=Google Internet Authority G2,O=Google Inc,C=US\t1378726355.000000\t1410262355.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\taspmx.l.google.com,alt1.aspmx.l.google.com,alt2.aspmx.l.google.com,alt3.aspmx.l.google.com,alt4.aspmx.l.google.com,gmail-smtp-in.l.google.com,alt1.gmail-smtp-in.l.google.com,alt2.gmail-smtp-in.l.google.com,alt3.gmail-smtp-in.l.google.com,alt4.gmail-smtp-in.l.google.com,gmr-smtp-in.l.google.com,alt1.gmr-smtp-in.l.google.com,alt2.gmr-smtp-in.l.google.com,alt3.gmr-smtp-in.l.google.com,alt4.gmr-smtp-in.l.google.com,mx.google.com,aspmx2.googlemail.com,aspmx3.googlemail.com,aspmx4.googlemail.com,aspmx5.googlemail.com\t-\t-\t-\tF\t-",
    // Zeek baseline, case smtp-starttls
    "a047a37fa2d2e118a4f5095fe074d6cfe0e352425a7632bf8659c03919a6c81d\t3\t023A69\tCN=Google Internet Authority G2,O=Google Inc,C=US\tCN=GeoTrust Global CA,O=GeoTrust Inc.,C=US\t1365174955.000000\t1428160555.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case smtp-starttls
    "3c35cc963eb004451323d3275d05b353235053490d9cd83729a2faf5e7ca1cc0\t3\t12BBE6\tCN=GeoTrust Global CA,O=GeoTrust Inc.,C=US\tOU=Equifax Secure Certificate Authority,O=Equifax,C=US\t1021953600.000000\t1534824000.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t-",
    // Zeek baseline, case ssl-ecdsa
    "11db6d4f6e4df14cec874b9d4a306c64c282dacbd479788ee0510b2c99382dc4\t3\tF0AFBBF558BF4D1B71FED9CB33793EE4\tCN=pantz.org,OU=PositiveSSL,OU=Domain Control Validated\tCN=COMODO ECC Domain Validation Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\t1415404800.000000\t1573171199.000000\tid-ecPublicKey\tecdsa-with-SHA256\tecdsa\t384\t-\tsecp384r1\tpantz.org,www.pantz.org\t-\t-\t-\tF\t-",
    // Zeek baseline, case ssl-ecdsa
    "7e32368e24a2cc48d3d29e883b260e40ceda22af97189c78fc5b928484e9a010\t3\t510601E63B50673C55EE4E19DA304CA8\tCN=COMODO ECC Domain Validation Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\tCN=COMODO ECC Certification Authority,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\t1394668800.000000\t1868054399.000000\tid-ecPublicKey\tecdsa-with-SHA384\tecdsa\t256\t-\tprime256v1\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case ssl-ml-dsa-44
    "fd95785a038018dccb84cd816602920a1e010d8acd9ce63407aa68440f595758\t3\t6CC93D07602EC79CFD5201B425D1A93C7023197F\tCN=ml-dsa.example.com,O=PQC-Test,C=US\tCN=ml-dsa.example.com,O=PQC-Test,C=US\t1775199968.000000\t1806735968.000000\tML-DSA-44\tML-DSA-44\tML-DSA-44\t10496\t-\t-\t-\t-\t-\t-\tT\t-",
    // Zeek baseline, case ssl-tls11
    "22a920a5ec03c819b569ed0fa8b7df258e3e7ea11fdd15b83b6fa45f3e863036\t3\t3D1DE44E346ECE68\tCN=*.google.com,O=Google Inc,L=Mountain View,ST=California,C=US\tCN=Google Internet Authority G2,O=Google Inc,C=US\t1509544136.000000\t1516800660.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\t*.google.com,*.android.com,*.appengine.google.com,*.cloud.google.com,*.db833953.google.cn,*.g.co,*.gcp.gvt2.com,*.google-analytics.com,*.google.ca,*.google.cl,*.google.co.in,*.google.co.jp,*.google.co.uk,*.google.com.ar,*.google.com.au,*.google.com.br,*.google.com.co,*.google.com.mx,*.google.com.tr,*.google.com.vn,*.google.de,*.google.es,*.google.fr,*.google.hu,*.google.it,*.google.nl,*.google.pl,*.google.pt,*.googleadapis.com,*.googleapis.cn,*.googlecommerce.com,*.googlevideo.com,*.gstatic.cn,*.gstatic.com,*.gvt1.com,*.gvt2.com,*.metric.gstatic.com,*.urchin.com,*.url.google.com,*.youtube-nocookie.com,*.youtube.com,*.youtubeeducation.com,*.yt.be,*.ytimg.com,android.clients.google.com,android.com,developer.android.google.cn,developers.android.google.cn,g.co,goo.gl,google-analytics.com,google.com,googlecommerce.com,source.android.google.cn,urchin.com,www.goo.gl,youtu.be,youtube.com,youtubeeducation.com,yt.be\t-\t-\t-\tF\t-",
    // Zeek baseline, case ssl-tls11
    "9b759d41e3de30f9d2f902027d792b65d950a98bbb6d6d56be7f2528453bf8e9\t3\t0100212588B0FA59A777EF057B6627DF\tCN=Google Internet Authority G2,O=Google Inc,C=US\tCN=GeoTrust Global CA,O=GeoTrust Inc.,C=US\t1495452757.000000\t1546300799.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case ssl-tls12-late-protocol-error
    "95cb443934beda97627688546191ab1d3989a835592cebdd2434f9ad41324ce1\t3\t99FAA8037A4EB2FAEF84EB5E55D5B8C8\tCN=*.taleo.net,OU=Comodo PremiumSSL Wildcard,OU=Web,O=Taleo Inc.,street=4140 Dublin Boulevard,street=Suite 400,L=Dublin,ST=CA,postalCode=94568,C=US\tCN=COMODO High-Assurance Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\t1304467200.000000\t1467676799.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t*.taleo.net,taleo.net\t-\t-\t-\tF\t-",
    // Zeek baseline, case ssl-tls12-late-protocol-error
    "7363593d116aafcf804b974465546e1f02ed74b52db529ba7520345e5fed1ed4\t3\t1690C329B6780607511F05B0344846CB\tCN=COMODO High-Assurance Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\tCN=AddTrust External CA Root,OU=AddTrust External TTP Network,O=AddTrust AB,C=SE\t1271376000.000000\t1590835718.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case ssl-tls12-late-protocol-error
    "687fa451382278fff0c8b11f8d43d576671c6eb2bceab413fb83d965d06d2ff2\t3\t01\tCN=AddTrust External CA Root,OU=AddTrust External TTP Network,O=AddTrust AB,C=SE\tCN=AddTrust External CA Root,OU=AddTrust External TTP Network,O=AddTrust AB,C=SE\t959683718.000000\t1590835718.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\t-\t-\t-\t-\tT\t-",
    // Zeek baseline, case x509-tbs-sig-alg
    "69a61a3b69be6ee7d371de18396003367811069a652a6eb7c0ccb49da72eb842\t3\t38C175340AF8A2D022A32CD075EBD0F6\tCN=lilawelt.net,C=US\tCN=WoSign CA Free SSL Certificate G2,O=WoSign CA Limited,C=CN\t1474924238.000000\t1569532238.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\tsha256WithRSAEncryption\tlilawelt.net\t-\t-\t-\tF\t-",
    // Zeek baseline, case x509-tbs-sig-alg
    "41a235ab60f0643e752a2db4e914d68c0542167de9ca28df25fd79a693c29072\t3\t38F645C1E25D912CCE3B2B391231740D\tCN=WoSign CA Free SSL Certificate G2,O=WoSign CA Limited,C=CN\tCN=Certification Authority of WoSign,O=WoSign CA Limited,C=CN\t1415408338.000000\t1888793938.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\tsha256WithRSAEncryption\t-\t-\t-\t-\tT\t0",
    // Zeek baseline, case x509-tbs-sig-alg
    "ce7e10b3ea550920c2be9d391cb7823a7e8f5bfcd3f13c7e11066a190e5b852d\t3\t19C28530E93B36\tCN=Certification Authority of WoSign,O=WoSign CA Limited,C=CN\tCN=StartCom Certification Authority,OU=Secure Digital Certificate Signing,O=StartCom Ltd.,C=IL\t1158533196.000000\t1577836799.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t4096\t65537\t-\tsha256WithRSAEncryption\t-\t-\t-\t-\tT\t2",
    // OpenSSL 3.0; subject as in Zeek notice.log (policy-ssl-expiring-certs)
    "5ae785be7cd11ea631e165d516cf455ccd62ab4fd908d9d2f664d4d11fa24c4c\t3\t3A357032A2CC40165C91902DBC863069\tCN=www.tobu-estate.com,OU=Terms of use at www.verisign.com/rpa (c)05,O=TOBU RAILWAY Co.\\\\,Ltd.,L=Sumida-ku,ST=Tokyo,C=JP\tCN=VeriSign Class 3 Secure Server CA - G3,OU=Terms of use at https://www.verisign.com/rpa (c)10,OU=VeriSign Trust Network,O=VeriSign\\\\, Inc.,C=US\t1360281600.000000\t1394841599.000000\trsaEncryption\tsha1WithRSAEncryption\trsa\t2048\t65537\t-\tsha1WithRSAEncryption\twww.tobu-estate.com\t-\t-\t-\tF\t-",
    // OpenSSL 3.0 (policy-ssl-cve-2015-3194)
    "81a29a60dfcea4e4e9e80dd277c1384b002db8601afc57bca2c2ef1377fd9872\t1\tE2BCD57BDA0EC56F\tCN=bro.org,L=Berkeley,ST=CA,C=US\tCN=Visa eCommerce Root,OU=Visa International Service Association,O=VISA,C=US\t1449258441.000000\t1492458441.000000\trsaEncryption\trsassaPss\trsa\t2048\t65537\t-\trsassaPss\t-\t-\t-\t-\t-\t-",
    // OpenSSL 3.0; subject as in Zeek notice.log (policy-ssl-weak-keys-dhe)
    "b706ad178447821cc60aca1e0cd59697333a6178fd1c73f839fbdfb5b76bc507\t3\t0F79CB\temailAddress=denicadmmail@arcor.de,CN=www.lilawelt.net,C=US\tCN=StartCom Class 1 Primary Intermediate Server CA,OU=Secure Digital Certificate Signing,O=StartCom Ltd.,C=IL\t1396171755.000000\t1427786152.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\tsha256WithRSAEncryption\twww.lilawelt.net,lilawelt.net\t-\t-\t-\tF\t-",
    // OpenSSL 3.0 (smtp-basic)
    "f94f3f5bf51899148fa4c51a1b39bd98cd0bf053f2e838eb68a2a96d0359ed56\t3\t053FCE9BA6805B00\tC=US,ST=California,O=Apple Inc.,OU=management:idms.group.506364,CN=*.icloud.com\tC=US,O=Apple Inc.,OU=Certification Authority,CN=Apple IST CA 2 - G1\t1424184331.000000\t1489848331.000000\trsaEncryption\tsha256WithRSAEncryption\trsa\t2048\t65537\t-\tsha256WithRSAEncryption\t*.icloud.com\t-\t-\t-\tF\t-",
    // synthetic, OpenSSL 3.0
    "4119f665d5bb6c82d0cab7d8d5a838a19decd59fab15bd31abc8f721385d9f29\t3\t-7FFF\tCN=\\\\ #lead\\\\,\\\\+\\\\;\\\\<\\\\>\\\\\"\\\\\\\\=trail\\\\ ,emailAddress=a@b.example,street=a\\\\01b\\\\7Fc,description=\\\\ ,title=#,serialNumber=\\\\#1,1.2.3.4.5=#130178,UID=u\\\\+1+DC=example,ST=S\\\\C3\\\\A4chsen,L=Caf\\\\C3\\\\A9,OU=\\\\CE\\\\A9mega,O=Z\\\\C3\\\\BCrich \\\\C3\\\\A9 AG,C=DE\t(empty)\t2524607999.000000\t253402300799.000000\tED25519\tED25519\tED25519\t256\t-\t-\tED25519\ta.example.com,*.wild.example.com\thttps://x.example/y\ta@b.example\t192.0.2.1,2001:db8::1\tT\t3",
    // synthetic, OpenSSL 3.0
    "546496f9ac35715931c31b9ba167dd9b2188d5055bbe2e5d2992445074fdf1ba\t3\t010102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122\\\\\\x0a2324252627\tCN=last.example.com,CN=first.example.com\tCN=Issuer CA\t-631152000.000000\t2524608000.000000\tid-ecPublicKey\tecdsa-with-SHA512\tecdsa\t521\t-\tsecp521r1\tecdsa-with-SHA512\t-\t-\t-\t-\tF\t-",
    // synthetic, OpenSSL 3.0
    "d1a83d4591eafa9b33d2518500cd5b19073760f1a34bc8881a9e73e50af9412c\t1\t99\tCN=dsa\tCN=dsa\t1577836800.000000\t1893456000.000000\tdsaEncryption\t(empty)\tdsa\t2048\t-\t-\tdsa_with_SHA256\t-\t-\t-\t-\t-\t-",

    ];

    fn fixture(prefix: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{prefix}.der")).expect("fixture")
    }

    /// The certificate's x509.log fields as the TSV writer renders them.
    fn tsv_fields(cert: &Certificate, with_tbs: bool) -> Vec<String> {
        let rec = X509Record {
            ts: 0,
            cert,
            host_cert: false,
            client_cert: false,
            base64: None,
        };
        let opts = FormatOptions {
            format: Format::Tsv,
            strict: !with_tbs,
            ..Default::default()
        };
        let mut line = Vec::new();
        encode(&rec, &opts, &mut line);
        let line = String::from_utf8(line).expect("utf-8");
        let fields: Vec<String> = line
            .trim_end_matches('\n')
            .split('\t')
            .map(String::from)
            .collect();
        // Without the host_cert and client_cert columns (and without the
        // `cert` column of log-certs-base64, unset, in non-strict output).
        let tail = if with_tbs { 3 } else { 2 };
        fields[1..fields.len() - tail].to_vec()
    }

    #[test]
    fn every_field_matches_zeek() {
        let mut certs = 0;
        let mut compared = 0;
        let mut mismatches = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for line in REFERENCE {
            let expected: Vec<&str> = line.split('\t').collect();
            let with_tbs = expected.len() == 20;
            assert!(
                with_tbs || expected.len() == 19,
                "bad reference line {line}"
            );
            let fp = expected[0];
            let cert = parse(&fixture(&fp[..16])).unwrap_or_else(|e| panic!("{fp}: {e}"));
            let got = tsv_fields(&cert, with_tbs);
            assert_eq!(got.len(), expected.len());
            let names = COLUMNS
                .iter()
                .filter(|c| with_tbs || **c != "certificate.tbs_sig_alg");
            for ((name, g), e) in names.zip(&got).zip(&expected) {
                compared += 1;
                if g != e {
                    mismatches.push(format!("{}: {name}: got {g:?}, Zeek {e:?}", &fp[..16]));
                }
            }
            certs += 1;
            seen.insert(fp[..16].to_string());
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
        // Every fixture has a reference line.
        for entry in std::fs::read_dir(FIXTURES).expect("fixtures") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("name");
            if let Some(prefix) = name.strip_suffix(".der") {
                assert!(seen.contains(prefix), "{name} has no reference line");
            }
        }
        assert_eq!((certs, compared), (29, 561));
    }

    #[test]
    fn fingerprint_is_sha256_of_the_encoding() {
        let der = fixture("11db6d4f6e4df14c");
        let fp = fingerprint(&der);
        assert_eq!(
            fp.as_bytes(),
            b"11db6d4f6e4df14cec874b9d4a306c64c282dacbd479788ee0510b2c99382dc4"
        );
        // Trailing bytes are not part of the certificate.
        let mut padded = der.clone();
        padded.extend_from_slice(b"trailing");
        assert_eq!(parse(&padded).expect("parse").fingerprint, fp);
    }

    #[test]
    fn hostname_exact_and_case_sensitive() {
        let cert = parse(&fixture("4f0a1ac1c6e873c8")).expect("parse");
        assert!(matches_hostname(&cert, b"mx.google.com"));
        assert!(matches_hostname(&cert, b"alt4.gmr-smtp-in.l.google.com"));
        assert!(!matches_hostname(&cert, b"MX.google.com"));
        assert!(!matches_hostname(&cert, b"mx.google.com."));
        assert!(!matches_hostname(&cert, b"x.mx.google.com"));
    }

    #[test]
    fn hostname_wildcards() {
        let cert = parse(&fixture("6bacfa4536150ed9")).expect("parse");
        assert!(matches_hostname(&cert, b"www.google.com"));
        assert!(matches_hostname(&cert, b"google.com"));
        assert!(matches_hostname(&cert, b"maps.google.de"));
        assert!(
            !matches_hostname(&cert, b"a.b.google.com"),
            "one label only"
        );
        assert!(!matches_hostname(&cert, b"google"));

        assert!(check_hostname(b"www.zeek.org", b"ww*.zeek.org"));
        assert!(check_hostname(b"ww.zeek.org", b"ww*.zeek.org"));
        assert!(!check_hostname(b"w.zeek.org", b"ww*.zeek.org"));
        assert!(!check_hostname(b"zeek.org", b"*.zeek.org"));
        assert!(!check_hostname(b"a.zeek.org", b"a*b.zeek.org"));
        assert!(!check_hostname(b"a.zeek.org", b"*a.zeek.org"));
        assert!(!check_hostname(b"www.zeek.org", b"*.ZEEK.org"));
        assert!(!check_hostname(b"www", b"*"));
    }

    #[test]
    fn hostname_two_label_wildcard_never_matches() {
        assert!(!check_hostname(b"example.com", b"*.com"));
        assert!(!check_hostname(b"a.com", b"*.com"));
        assert!(check_hostname(b"*.com", b"*.com"), "only by equality");
    }

    #[test]
    fn hostname_san_overrides_cn() {
        // Subject CN " #lead,..." is not among the SAN names.
        let cert = parse(&fixture("4119f665d5bb6c82")).expect("parse");
        let cn = cert.cn.clone().expect("cn");
        assert_eq!(cn, b" #lead,+;<>\"\\=trail ");
        assert!(!matches_hostname(&cert, &cn));
        assert!(matches_hostname(&cert, b"a.example.com"));
        assert!(matches_hostname(&cert, b"x.wild.example.com"));
        assert!(
            !matches_hostname(&cert, b"192.0.2.1"),
            "IP entries are not compared"
        );
        assert!(!matches_hostname(&cert, b"a@b.example"));
    }

    #[test]
    fn hostname_uses_the_last_cn_without_san() {
        let cert = parse(&fixture("546496f9ac357159")).expect("parse");
        assert!(cert.san.is_none());
        assert!(matches_hostname(&cert, b"last.example.com"));
        assert!(!matches_hostname(&cert, b"first.example.com"));
        // No SAN and no CN: nothing matches.
        let cert = parse(&fixture("3c35cc963eb00445")).expect("parse");
        assert!(matches_hostname(&cert, b"GeoTrust Global CA"));
        assert!(!matches_hostname(&cert, b""));
    }

    #[test]
    fn truncated_input_is_refused() {
        for prefix in ["11db6d4f6e4df14c", "4119f665d5bb6c82", "fd95785a038018dc"] {
            let der = fixture(prefix);
            for n in 0..der.len() {
                assert!(parse(&der[..n]).is_err(), "{prefix}: prefix of {n} bytes");
            }
        }
    }

    #[test]
    fn damaged_input_never_panics() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for entry in std::fs::read_dir(FIXTURES).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "der") {
                continue;
            }
            let der = std::fs::read(&path).expect("read");
            // Every single-byte change at every position of the first
            // 400 bytes (headers, serial, names, validity, key).
            for i in 0..der.len().min(400) {
                for x in [0x01u8, 0x80, 0xff] {
                    let mut d = der.clone();
                    d[i] ^= x;
                    let _ = parse(&d);
                }
            }
            // Random multi-byte damage anywhere.
            for _ in 0..300 {
                let mut d = der.clone();
                for _ in 0..1 + next() % 8 {
                    let i = (next() % d.len() as u64) as usize;
                    d[i] = next() as u8;
                }
                let _ = parse(&d);
            }
        }
        for len in 0..200 {
            let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            assert!(parse(&garbage).is_err());
            let mut seq = vec![0x30, 0x82, 0x01, 0x00];
            seq.extend_from_slice(&garbage);
            let _ = parse(&seq);
            // The extension and key decoders see arbitrary bytes too.
            let _ = parse_san(&garbage);
            let _ = parse_basic_constraints(&garbage);
            let _ = rsa_public_key(&garbage);
            let _ = explicit_curve(&garbage);
            let _ = dotted_oid(&garbage);
            let _ = asn1_time(23, &garbage);
            let _ = asn1_time(24, &garbage);
        }
    }

    #[test]
    fn serial_numbers_as_openssl_prints_them() {
        assert_eq!(serial_string(&[0x00, 0x99, 0xfa]).as_deref(), Some("99FA"));
        assert_eq!(serial_string(&[0x26]).as_deref(), Some("26"));
        assert_eq!(serial_string(&[0x00]).as_deref(), Some("00"));
        assert_eq!(serial_string(&[0xff]).as_deref(), Some("-01"));
        assert_eq!(serial_string(&[0x80, 0x01]).as_deref(), Some("-7FFF"));
        assert_eq!(
            serial_string(&[0xff, 0x00, 0x00]).as_deref(),
            Some("-010000")
        );
        assert_eq!(serial_string(&[0xff, 0x7f]).as_deref(), Some("-81"));
        // Needless padding and empty contents are refused by OpenSSL.
        assert_eq!(serial_string(&[0x00, 0x7f]), None);
        assert_eq!(serial_string(&[0xff, 0x80]), None);
        assert_eq!(serial_string(&[]), None);
        let long: Vec<u8> = (1..=36).collect();
        let s = serial_string(&long).expect("serial");
        assert_eq!(&s[68..], "23\\\n24");
    }

    #[test]
    fn object_names_and_dotted_oids() {
        assert_eq!(
            obj_text(&[42, 134, 72, 134, 247, 13, 1, 1, 11], 255),
            "sha256WithRSAEncryption"
        );
        assert_eq!(
            obj_text(&[42, 134, 72, 206, 61, 2, 1], 255),
            "id-ecPublicKey"
        );
        assert_eq!(
            obj_text(&[96, 134, 72, 1, 101, 3, 4, 3, 17], 255),
            "ML-DSA-44"
        );
        assert_eq!(obj_text(&[42, 3, 4], 255), "1.2.3.4");
        assert_eq!(obj_text(&[42, 3, 4], 4), "1.2");
        assert_eq!(dotted_oid(&[0x88, 0x37]), "2.999");
        assert_eq!(dotted_oid(&[0x27, 0x01]), "0.39.1");
        // Subidentifiers beyond 64 bits.
        assert_eq!(
            dotted_oid(&[0x2a, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            "1.2.2361183241434822606848"
        );
        assert_eq!(
            dotted_oid(&[0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x50]),
            "2.2361183241434822606848"
        );
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0x01, 0x00, 0x01]), "65537");
        assert_eq!(decimal(&[0xff; 16]), u128::MAX.to_string());
        assert_eq!(num_bits(&[0x00, 0x01, 0x00]), 9);
        assert!(!valid_oid(&[]));
        assert!(!valid_oid(&[0x2a, 0x80, 0x01]));
        assert!(!valid_oid(&[0x2a, 0x81]));
        // The tables are searched by bisection.
        assert!(OBJECTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURVES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURVES.iter().all(|c| lookup(c.0).is_some()));
    }

    /// Subject and issuer of the certificates in `testdata/x509-names`, as
    /// `openssl x509 -noout -subject -issuer -nameopt RFC2253` (OpenSSL
    /// 3.0.19) printed them.
    const OPENSSL_NAMES: [(&str, &str, &str); 4] = [
        (
            "san-in-dn",
            "CN=x,subjectAltName=foo",
            "CN=x,subjectAltName=foo",
        ),
        (
            "mixed-oids",
            "basicConstraints=CA:TRUE,extendedKeyUsage=serverAuth+1.3.6.1.4.1.99999.1=#0C03612C62,\
             organizationIdentifier=VATDE-123,1.2.3.4=#0C03626172,CN=y",
            "basicConstraints=CA:TRUE,extendedKeyUsage=serverAuth+1.3.6.1.4.1.99999.1=#0C03612C62,\
             organizationIdentifier=VATDE-123,1.2.3.4=#0C03626172,CN=y",
        ),
        (
            "multi-rdn",
            "serverAuth=\\ lead#,O=Org\\, Inc.,basicConstraints=qq+CN=z",
            "serverAuth=\\ lead#,O=Org\\, Inc.,basicConstraints=qq+CN=z",
        ),
        (
            "bitstring-value",
            "CN=x,subjectAltName=foo",
            "CN=x,subjectAltName=#030304ABC0",
        ),
    ];

    #[test]
    fn names_use_openssl_object_table() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/files/testdata/x509-names");
        // The openssl command, when installed, prints the same (its own
        // object table may be older than the library's, so only these
        // long-standing objects are compared).
        let cli = std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok();
        for (name, subject, issuer) in OPENSSL_NAMES {
            let path = format!("{dir}/{name}.der");
            let cert = parse(&std::fs::read(&path).expect("fixture")).expect(name);
            assert_eq!(
                (cert.subject.as_str(), cert.issuer.as_str()),
                (subject, issuer),
                "{name}"
            );
            if cli {
                let out = std::process::Command::new("openssl")
                    .args(["x509", "-inform", "der", "-noout", "-subject", "-issuer"])
                    .args(["-nameopt", "RFC2253", "-in", &path])
                    .output()
                    .expect("openssl");
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let want = format!("subject={}\nissuer={}\n", cert.subject, cert.issuer);
                assert_eq!(text, want, "{name}: the openssl command");
            }
        }
        // Objects outside the common table come from OpenSSL, by short and
        // long name; OIDs it does not know stay unknown.
        let san = lookup(&[85, 29, 17]).expect("2.5.29.17");
        assert_eq!(
            (san.sn, san.ln),
            ("subjectAltName", "X509v3 Subject Alternative Name")
        );
        assert!(OBJECTS
            .binary_search_by(|(o, _, _)| (*o).cmp(&[85, 29, 17][..]))
            .is_err());
        assert_eq!(obj_text(&[85, 29, 37], 255), "X509v3 Extended Key Usage");
        assert!(lookup(&[42, 3, 4]).is_none());
        assert!(lookup(&[43, 6, 1, 4, 1, 134, 141, 31, 1]).is_none());
        assert!(lookup(&[0x2a, 0x80, 0x01]).is_none());
    }

    #[test]
    fn zeek_time_conversion_quirks() {
        assert_eq!(asn1_time(23, b"990709121100Z"), 931_522_260);
        assert_eq!(asn1_time(23, b"490101000000Z"), 2_493_072_000);
        assert_eq!(asn1_time(23, b"500101000000Z"), -631_152_000);
        // Missing seconds count as zero.
        assert_eq!(asn1_time(23, b"2001010000Z"), 1_577_836_800);
        // UTCTime must end in Z.
        assert_eq!(asn1_time(23, b"200101000000+0130"), 0);
        // Offsets are added as hh*60+mm seconds, fractions skipped.
        assert_eq!(asn1_time(24, b"20200101000000+0130"), 1_577_836_890);
        assert_eq!(asn1_time(24, b"20200101000000.5-0130"), 1_577_836_710);
        assert_eq!(asn1_time(24, b"20200101000000.123Z"), 1_577_836_800);
        assert_eq!(asn1_time(24, b"99991231235959Z"), 253_402_300_799);
        // Years up to 1900 are taken as years after 1900.
        assert_eq!(
            asn1_time(24, b"18500101000000Z"),
            timegm(3750, 0, 1, 0, 0, 0)
        );
        // Out-of-range fields are normalised like mktime does.
        assert_eq!(
            asn1_time(24, b"20201301000000Z"),
            asn1_time(24, b"20210101000000Z")
        );
        // Too short, too long or unusable: 0.
        assert_eq!(asn1_time(24, b"2020010100Z"), 0);
        assert_eq!(asn1_time(24, b"20200101000000+01"), 0);
        assert_eq!(asn1_time(24, b"20200101000000X0100"), 0);
        assert_eq!(asn1_time(23, b"2001010000000000000Z"), 0);
        assert_eq!(asn1_time(2, b"200101000000Z"), 0);
        // Exactly the epoch counts as a failure too.
        assert_eq!(asn1_time(23, b"700101000000Z"), 0);
    }

    #[test]
    fn basic_constraints_as_openssl_decodes_them() {
        let bc = |v: &[u8]| parse_basic_constraints(v);
        assert_eq!(
            bc(&[0x30, 0x00]),
            Some(BasicConstraints {
                ca: false,
                path_len: None
            })
        );
        assert_eq!(
            bc(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]),
            Some(BasicConstraints {
                ca: true,
                path_len: Some(0)
            })
        );
        assert_eq!(
            bc(&[0x30, 0x03, 0x02, 0x01, 0xff]),
            Some(BasicConstraints {
                ca: false,
                path_len: Some(u64::MAX)
            })
        );
        // 2^32 truncated to int32.
        assert_eq!(
            bc(&[0x30, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00]).and_then(|b| b.path_len),
            Some(0)
        );
        assert_eq!(bc(&[0x30, 0x04, 0x01, 0x02, 0xff, 0xff]), None);
        assert_eq!(
            bc(&[0x30, 0x04, 0x02, 0x02, 0x00, 0x01]),
            None,
            "padded INTEGER"
        );
        assert_eq!(bc(&[0x04, 0x00]), None);
    }

    #[test]
    fn san_lists_as_zeek_fills_them() {
        // Only an invalid-length address: the list exists but is empty.
        let san = parse_san(&[0x30, 0x03, 0x87, 0x01, 0x01]).expect("san");
        assert_eq!(san.ip, Some(vec![]));
        assert!(san.dns.is_none() && san.uri.is_none() && san.email.is_none());
        // Unknown GeneralName tags make OpenSSL refuse the extension.
        assert_eq!(parse_san(&[0x30, 0x02, 0x89, 0x00]), None);
        assert_eq!(parse_san(&[0x30, 0x02, 0x02, 0x00]), None);
        let cert = parse(&fixture("4119f665d5bb6c82")).expect("parse");
        let san = cert.san.expect("san");
        assert!(san.other_fields);
        assert_eq!(
            san.ip,
            Some(vec![
                "192.0.2.1".parse().expect("v4"),
                "2001:db8::1".parse().expect("v6")
            ])
        );
    }

    #[test]
    fn refuses_what_openssl_refuses() {
        // A name value OpenSSL does not accept (INTEGER) in a fixture's
        // subject: re-encode the Ed25519 fixture's `title=#` UTF8String
        // (0c 01 23) as INTEGER (02 01 23).
        let der = fixture("4119f665d5bb6c82");
        let pos = der
            .windows(8)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x0c, 0x0c, 0x01, 0x23])
            .expect("title attribute");
        let mut bad = der.clone();
        bad[pos + 5] = 0x02;
        assert_eq!(parse(&bad), Err(X509Error::Rejected("name")));
        bad[pos + 5] = 0x1a; // VisibleString
        assert_eq!(parse(&bad), Err(X509Error::Rejected("name")));
        bad[pos + 5] = 0x0c;
        bad[pos + 7] = 0xff; // invalid UTF-8
        assert_eq!(parse(&bad), Err(X509Error::Rejected("name")));
        bad[pos + 7] = 0x7f;
        assert!(parse(&bad).is_ok());
    }
}
