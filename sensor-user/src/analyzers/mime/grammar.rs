//! The MIME header grammar exactly as Zeek's MIME analyzer reads it
//! (`src/analyzer/protocol/mime/MIME.cc`), one function per Zeek function.
//!
//! Zeek is deliberately lenient, and where it is lenient the sensor has to
//! be lenient the same way, or a message that mail clients (and Zeek) open
//! hides its parts from the sensor. In short:
//!
//! - blanks and `( … )` comments may stand around `:`, `/`, `;` and `=`
//!   (`MIME_skip_lws_comments`), comments nest and take `\` escapes;
//! - a token is looked for, not expected: anything that cannot start one
//!   (a tspecial, a control byte) is stepped over until one starts
//!   (`MIME_get_token`), so `Content-Transfer-Encoding: "base64"` is base64
//!   and `charset=; boundary=x` gives `charset` the value `boundary`;
//! - quoted strings end at the first unescaped `"`; `\x` is `x`
//!   (`MIME_get_quoted_string`, `MIME_decode_quoted_pairs`); without a
//!   closing quote there is no value;
//! - the boundary value is read with no blank skipping before it and with
//!   every printable byte but `"` allowed in it (`MIME_get_value` with
//!   `is_boundary`), yet blanks and comments *between* non-token bytes are
//!   still stepped over, so `boundary= "X"` is `X`, and `boundary= "a b"`
//!   is `a`;
//! - parameters are read left to right until one does not start with `;`
//!   (`ParseFieldParameters`); each `boundary` read replaces the one
//!   before (the last wins), an empty quoted one (`""`) included.
//!
//! What Zeek does *not* do, and neither does the sensor: RFC 2047 encoded
//! words are never decoded, RFC 2231 parameter continuations
//! (`filename*0=`, `filename*1*=`) are never joined, no boundary length
//! limit (RFC 2046's 70) is enforced. The anomalies Zeek notices while
//! parsing (`mime_event` "illegal format") reach no log: no script of
//! Zeek's handles that event.
//!
//! Every function works on borrowed bytes and returns positions: nothing
//! is allocated.

use std::ops::Range;

/// `is_lws`: space or tab.
pub fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// C's `isspace` (Zeek trims a header value's start with it): unlike
/// `u8::is_ascii_whitespace`, it includes the vertical tab.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `MIME_is_tspecial`: for a boundary only `"` is special.
fn is_tspecial(c: u8, boundary: bool) -> bool {
    if boundary {
        c == b'"'
    } else {
        b"()<>@,;:\\\"/[]?=".contains(&c)
    }
}

/// `MIME_is_field_name_char`: printable ASCII but `:`.
fn is_field_name_char(c: u8) -> bool {
    (33..=126).contains(&c) && c != b':'
}

/// `MIME_is_token_char`.
fn is_token_char(c: u8, boundary: bool) -> bool {
    (33..=126).contains(&c) && !is_tspecial(c, boundary)
}

/// `MIME_skip_comments`: the length of the comment `d` starts with (0 if
/// it does not start with `(`; all of `d` if the comment does not close).
/// Comments nest; `\` escapes the next byte.
pub fn skip_comments(d: &[u8]) -> usize {
    if d.first() != Some(&b'(') {
        return 0;
    }
    let mut depth = 0u32;
    let mut i = 0;
    while i < d.len() {
        match d[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    d.len()
}

/// `MIME_skip_lws_comments`: the length of the blanks and comments `d`
/// starts with.
pub fn skip_lws_comments(d: &[u8]) -> usize {
    let mut i = 0;
    while i < d.len() {
        if is_lws(d[i]) {
            i += 1;
        } else if d[i] == b'(' {
            i += skip_comments(&d[i..]);
        } else {
            return i;
        }
    }
    d.len()
}

/// The first run of `is_char` bytes at or after the start of `d`, stepping
/// over blanks and comments, or a single byte, where no run starts (the
/// search loop shared by `MIME_get_field_name` and `MIME_get_token`).
fn find_run(d: &[u8], mut i: usize, is_char: impl Fn(u8) -> bool) -> Option<Range<usize>> {
    while i < d.len() {
        if is_char(d[i]) {
            let len = d[i..].iter().take_while(|c| is_char(**c)).count();
            return Some(i..i + len);
        }
        let j = skip_lws_comments(&d[i..]);
        i += if j > 0 { j } else { 1 };
    }
    None
}

/// `MIME_get_field_name`: where the header's name is (its end is where
/// parsing goes on).
pub fn get_field_name(d: &[u8]) -> Option<Range<usize>> {
    find_run(d, skip_lws_comments(d), is_field_name_char)
}

/// `MIME_get_token`: where the first token is. Not a boundary: blanks and
/// comments before it are skipped. Either way, bytes that cannot start a
/// token are stepped over.
pub fn get_token(d: &[u8], boundary: bool) -> Option<Range<usize>> {
    let start = if boundary { 0 } else { skip_lws_comments(d) };
    find_run(d, start, |c| is_token_char(c, boundary))
}

/// `MIME_get_slash_token_pair`: `type / subtype` (blanks and comments
/// allowed around the slash); the end of the subtype is where the
/// parameters start.
pub fn get_slash_token_pair(d: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    let first = get_token(d, false)?;
    let at = first.end + skip_lws_comments(&d[first.end..]);
    if d.get(at) != Some(&b'/') {
        return None;
    }
    let second = get_token(&d[at + 1..], false)?;
    Some((first, at + 1 + second.start..at + 1 + second.end))
}

/// `MIME_get_quoted_string`: the inside of the quoted string `d` starts
/// with (after blanks and comments), escapes not yet decoded; the closing
/// quote is at its end. `None` without an opening or a closing quote.
pub fn get_quoted_string(d: &[u8]) -> Option<Range<usize>> {
    let start = skip_lws_comments(d);
    if d.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    while i < d.len() {
        match d[i] {
            b'"' => return Some(start + 1..i),
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `MIME_decode_quoted_pairs`: `\x` becomes `x` (a lone `\` at the end is
/// dropped); appended to `out`.
pub fn decode_quoted_pairs(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            i += 1;
            if let Some(&c) = s.get(i) {
                out.push(c);
            }
        } else {
            out.push(s[i]);
        }
        i += 1;
    }
}

/// A parameter value as `MIME_get_value` finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The value's bytes in the input (a quoted string's inside, escapes
    /// not decoded).
    pub raw: Range<usize>,
    /// Whether it was a quoted string (then `\` escapes are to decode).
    pub quoted: bool,
    /// Where parsing goes on.
    pub end: usize,
}

/// `MIME_get_value`: a quoted string or a token. For a boundary, nothing
/// is skipped before the value (a quoted string must start right away,
/// else the value is the first run of non-`"` printable bytes).
pub fn get_value(d: &[u8], boundary: bool) -> Option<Value> {
    let offset = if boundary { 0 } else { skip_lws_comments(d) };
    let rest = &d[offset..];
    if rest.first() == Some(&b'"') {
        let q = get_quoted_string(rest)?;
        Some(Value {
            raw: offset + q.start..offset + q.end,
            quoted: true,
            end: offset + q.end + 1,
        })
    } else {
        let t = get_token(rest, boundary)?;
        Some(Value {
            raw: offset + t.start..offset + t.end,
            quoted: false,
            end: offset + t.end,
        })
    }
}

/// `MIME_Header`: a whole (unfolded) header's name and value. The name is
/// the first run of printable non-`:` bytes (anything before it stepped
/// over), followed by blanks or comments and `:`; the value is what follows
/// without its leading white space (C's `isspace`). `None`: malformed, the
/// header is ignored.
pub fn split_header(h: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    let name = get_field_name(h)?;
    let colon = name.end + skip_lws_comments(&h[name.end..]);
    if h.get(colon) != Some(&b':') {
        return None;
    }
    let start = colon
        + 1
        + h[colon + 1..]
            .iter()
            .take_while(|c| is_c_space(**c))
            .count();
    Some((name, start..h.len()))
}

/// `ParseFieldParameters` for a Content-Type whose type is multipart (the
/// only case where a parameter has an effect, `boundary`): the last
/// boundary value read, if any. Parameters are `; name = value` (blanks and
/// comments anywhere between); reading stops at the first thing that is
/// not `;`. A parameter without `=`, or whose value is missing or lacks its
/// closing quote, is passed over without moving past what follows it (so
/// reading usually stops there).
pub fn boundary_parameter(mut d: &[u8]) -> Option<Value> {
    let mut found: Option<Value> = None;
    // `found` is relative to `orig`; `d` is a suffix of it.
    let orig_len = d.len();
    loop {
        let at = skip_lws_comments(d);
        if d.get(at) != Some(&b';') {
            break;
        }
        d = &d[at + 1..];
        // "attribute name not found in parameter specification": stop.
        let attr = get_token(d, false)?;
        let is_boundary = d[attr.clone()].eq_ignore_ascii_case(b"boundary");
        d = &d[attr.end..];
        let at = skip_lws_comments(d);
        if d.get(at) != Some(&b'=') {
            // "= not found in parameter specification".
            continue;
        }
        d = &d[at + 1..];
        // "Could not parse multipart boundary" / "value not found in
        // parameter specification": `d` stays where the value should be.
        let Some(v) = get_value(d, is_boundary) else {
            continue;
        };
        if is_boundary {
            let base = orig_len - d.len();
            found = Some(Value {
                raw: base + v.raw.start..base + v.raw.end,
                quoted: v.quoted,
                end: base + v.end,
            });
        }
        d = &d[v.end..];
    }
    found
}

/// `ParseContentTypeField`'s first step: type and subtype, and where the
/// parameters start. `None` ("media type/subtype not found"): the header
/// changes nothing.
pub fn content_type(v: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (ty, sub) = get_slash_token_pair(v)?;
    Some((&v[ty], &v[sub.clone()], &v[sub.end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// The boundary a Content-Type value's parameters give (after the
    /// media type), decoded, as Zeek's `ParseFieldParameters` sets
    /// `multipart_boundary`.
    fn boundary(ct: &str) -> Option<String> {
        let (ty, _, params) = content_type(ct.as_bytes())?;
        assert!(ty.eq_ignore_ascii_case(b"multipart"), "{ct}");
        let v = boundary_parameter(params)?;
        let mut out = Vec::new();
        if v.quoted {
            decode_quoted_pairs(&params[v.raw], &mut out);
        } else {
            out.extend_from_slice(&params[v.raw]);
        }
        Some(s(&out))
    }

    fn b(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    /// `MIME_get_value(..., is_boundary = true)` skips nothing before the
    /// value, but `MIME_get_token`'s search loop steps over the blank and
    /// the opening quote; the token stops at the closing quote. The
    /// reported evasion: a blank after `=` hid every attachment.
    #[test]
    fn blank_after_equals_before_quoted_boundary() {
        assert_eq!(boundary("multipart/mixed; boundary= \"X\""), b("X"));
        assert_eq!(boundary("multipart/mixed; boundary=\t\"X\""), b("X"));
        assert_eq!(boundary("multipart/mixed; boundary =  \"X\" "), b("X"));
        // The token is printable bytes but `"`: a blank ends it.
        assert_eq!(
            boundary("multipart/mixed; boundary= \"a b\""),
            b("a"),
            "not a quoted string any more: the first run of non-blanks"
        );
        // Right after `=` the quoted string is one, blanks and all.
        assert_eq!(boundary("multipart/mixed; boundary=\"a b\""), b("a b"));
    }

    /// `MIME_skip_lws_comments` around `;`, the attribute and `=`
    /// (`ParseFieldParameters`), and before the type, `/` and subtype
    /// (`MIME_get_slash_token_pair`).
    #[test]
    fn blanks_and_comments_around_separators() {
        assert_eq!(
            boundary("multipart/mixed (c) ; (x) boundary (y) = \"X\""),
            b("X")
        );
        assert_eq!(boundary(" (lead) multipart / mixed ;boundary=X"), b("X"));
        assert_eq!(
            boundary("multipart/mixed;\tboundary=\"X\";\tcharset=a"),
            b("X")
        );
        let (ty, sub, rest) =
            content_type(b"(a (nested) \\) comment) text (b) / plain ; x=y").unwrap();
        assert_eq!(
            (s(ty), s(sub), s(rest)),
            ("text".into(), "plain".into(), " ; x=y".into())
        );
        // A comment right after `=` of a boundary: with nothing skipped
        // first, `(` is part of the boundary token...
        assert_eq!(boundary("multipart/mixed; boundary=(c)X"), b("(c)X"));
        // ...but after a blank, blanks and comments are stepped over.
        assert_eq!(boundary("multipart/mixed; boundary= (c) X"), b("X"));
        // An unclosed comment swallows the rest: no parameter.
        assert_eq!(boundary("multipart/mixed (c ; boundary=X"), None);
    }

    /// `MIME_get_quoted_string` ends at the first unescaped `"`;
    /// `MIME_decode_quoted_pairs` turns `\x` into `x`.
    #[test]
    fn quoted_pairs_in_boundary() {
        assert_eq!(boundary(r#"multipart/mixed; boundary="a\"b""#), b("a\"b"));
        assert_eq!(boundary(r#"multipart/mixed; boundary="a\\b""#), b("a\\b"));
        assert_eq!(boundary(r#"multipart/mixed; boundary="\a\b""#), b("ab"));
        let mut out = Vec::new();
        decode_quoted_pairs(b"x\\", &mut out);
        assert_eq!(out, b"x", "a lone trailing backslash is dropped");
    }

    /// `MIME_get_quoted_string` without a closing quote fails, so
    /// `MIME_get_value` gives no value ("Could not parse multipart
    /// boundary"); `ParseFieldParameters` then stops, as the opening quote
    /// is not `;`. An earlier boundary stays.
    #[test]
    fn missing_closing_quote() {
        assert_eq!(boundary("multipart/mixed; boundary=\"abc"), None);
        assert_eq!(boundary("multipart/mixed; boundary=\"abc\\\""), None);
        assert_eq!(
            boundary("multipart/mixed; boundary=\"A\"; boundary=\"abc; boundary=B"),
            b("A")
        );
        // Another parameter's unclosed quote hides a later boundary.
        assert_eq!(boundary("multipart/mixed; name=\"x; boundary=B"), None);
    }

    /// `ParseFieldParameters`: every `boundary` read replaces the previous
    /// one (`delete multipart_boundary; multipart_boundary = new ...`), so
    /// the last wins; the name is compared with `istrequal` (any case).
    #[test]
    fn duplicate_and_case_insensitive_boundary() {
        assert_eq!(
            boundary("multipart/mixed; boundary=\"A\"; BOUNDARY=\"B\"; x=y"),
            b("B")
        );
        // An unquoted boundary runs on over `;` (see below), and what
        // follows it is not `;`: reading stops, the first one stays.
        assert_eq!(boundary("multipart/mixed; boundary=A; boundary=B"), b("A;"));
        assert_eq!(boundary("MULTIPART/Mixed; BoUnDaRy=A"), b("A"));
        // `boundary*` (RFC 2231) is another name: never a boundary.
        assert_eq!(boundary("multipart/mixed; boundary*=X"), None);
        assert_eq!(boundary("multipart/mixed; boundary*0=X"), None);
    }

    /// An empty quoted boundary is a boundary (`MIME_get_value` returns
    /// an empty string, which is not null); an empty token is none.
    #[test]
    fn empty_boundary() {
        assert_eq!(boundary("multipart/mixed; boundary=\"\""), b(""));
        assert_eq!(boundary("multipart/mixed; boundary="), None);
        assert_eq!(boundary("multipart/mixed; boundary=  "), None);
    }

    /// A boundary token is every printable byte but `"`
    /// (`MIME_is_tspecial(ch, true)`), so `;` and `=` run on; Zeek puts no
    /// limit on its length.
    #[test]
    fn boundary_token_is_lenient_and_unbounded() {
        assert_eq!(boundary("multipart/mixed; boundary=abc;x=y"), b("abc;x=y"));
        assert_eq!(boundary("multipart/mixed; boundary=;x"), b(";x"));
        assert_eq!(boundary("multipart/mixed; boundary=a\"b\""), b("a"));
        let long = "z".repeat(5000);
        assert_eq!(
            boundary(&format!("multipart/mixed; boundary=\"{long}\"")),
            Some(long)
        );
    }

    /// `MIME_get_token` steps over bytes that cannot start a token (here
    /// `;`), so an empty value takes the next parameter's name as its value,
    /// and `ParseFieldParameters` stops at the `=` that follows.
    #[test]
    fn token_search_steps_over_tspecials() {
        assert_eq!(boundary("multipart/mixed; charset=; boundary=X"), None);
        // `charset==\"x\"`: the token search steps over `=` and `"`, the
        // value is `x`, and the closing quote stops the parameters.
        assert_eq!(
            boundary("multipart/mixed; charset==\"x\"; boundary=X"),
            None
        );
        // Comments before a quoted value are skipped.
        assert_eq!(
            boundary("multipart/mixed; charset=(c)\"x\"; boundary=X"),
            b("X")
        );
        assert_eq!(boundary("multipart/mixed; ;boundary=X"), b("X"));
        // The attribute `boundary` is found inside the quotes, but the
        // closing quote is not `=`, nor then `;`: no boundary.
        assert_eq!(boundary("multipart/mixed; \"boundary\"=X"), None);
    }

    /// `ParseFieldParameters`: a parameter without `=` is skipped when a
    /// `;` follows it, and reading stops otherwise; so does anything that
    /// is not `;` after a value.
    #[test]
    fn parameter_without_equals_or_separator() {
        assert_eq!(boundary("multipart/mixed; flag; boundary=X"), b("X"));
        assert_eq!(boundary("multipart/mixed; flag other; boundary=X"), None);
        assert_eq!(boundary("multipart/mixed; boundary \"X\""), None);
        assert_eq!(boundary("multipart/mixed boundary=X"), None);
        assert_eq!(boundary("multipart/mixed; a=b c; boundary=X"), None);
        assert_eq!(
            boundary("multipart/mixed; a=\"b\" (c) ; boundary=X"),
            b("X")
        );
    }

    /// `MIME_get_slash_token_pair`: the tokens are searched for (a quote
    /// before the type is stepped over); the slash must follow the type.
    #[test]
    fn slash_token_pair() {
        let ct = |v: &str| content_type(v.as_bytes()).map(|(a, b, _)| (s(a), s(b)));
        assert_eq!(ct("text/plain"), Some(("text".into(), "plain".into())));
        assert_eq!(ct("\"text\"/plain"), None);
        assert_eq!(
            ct(";multipart/mixed"),
            Some(("multipart".into(), "mixed".into()))
        );
        assert_eq!(ct("text/\"plain\""), Some(("text".into(), "plain".into())));
        assert_eq!(ct("text"), None);
        assert_eq!(ct("text/"), None);
        assert_eq!(ct(""), None);
    }

    /// `MIME_Header`: the field name is found by `MIME_get_field_name`
    /// (leading comments and non-name bytes stepped over), blanks or
    /// comments may precede `:`, the value loses its leading `isspace`
    /// bytes (vertical tab included) and keeps the rest.
    #[test]
    fn header_name_and_value() {
        let split = |h: &[u8]| split_header(h).map(|(n, v)| (s(&h[n]), s(&h[v])));
        let nv = |n: &str, v: &str| Some((n.to_string(), v.to_string()));
        assert_eq!(split(b"Subject: hi "), nv("Subject", "hi "));
        assert_eq!(split(b"Subject (c) : hi"), nv("Subject", "hi"));
        assert_eq!(split(b"(c)Subject: hi"), nv("Subject", "hi"));
        assert_eq!(split(b"Subject:\x0b\x0c\r hi"), nv("Subject", "hi"));
        assert_eq!(split(b"\x01Subject: hi"), nv("Subject", "hi"));
        assert_eq!(split(b"Subject:"), nv("Subject", ""));
        assert_eq!(split(b"Subject hi"), None);
        assert_eq!(split(b"Sub(c):x"), nv("Sub(c)", "x"), "`(` is a name byte");
        assert_eq!(split(b": x"), None);
    }
}
