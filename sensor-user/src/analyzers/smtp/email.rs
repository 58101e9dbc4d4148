//! Address and value extraction from SMTP commands and mail headers, with
//! the semantics of Zeek's `base/utils/email.zeek`, `addrs.zeek` and
//! `files.zeek` helpers (their regular expressions re-done by hand).

use std::net::IpAddr;

use crate::bytes::trim_ws as trim;

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Zeek's email pattern: `(^|[<,:[:blank:]])[^<,:[:blank:]@]+"@"[^>,;[:blank:]]+([>,;[:blank:]]|$)`,
/// scanned left to right with longest matches; each match with the
/// delimiters `<>,:;` and blanks removed. Calls `out` per address in order.
pub fn email_addrs(s: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut t = 0;
    while t < s.len() {
        match match_email(s, t) {
            Some(end) => {
                let m = &s[t..end];
                emit_stripped(m, out);
                t = end.max(t + 1);
            }
            None => t += 1,
        }
    }
}

/// The longest match of the email pattern starting exactly at `t`.
fn match_email(s: &[u8], t: usize) -> Option<usize> {
    let mut i = t;
    // Optional leading delimiter (the `^` alternative matches empty).
    // With a leading delimiter the match may start after it or (with `^`)
    // at it; the longer match wins.
    let starts = if i < s.len() && (s[i] == b'<' || s[i] == b',' || s[i] == b':' || is_blank(s[i]))
    {
        [Some(i + 1), Some(i)]
    } else {
        [Some(i), None]
    };
    let mut best = None;
    for &start in starts.iter().flatten() {
        i = start;
        let local = s[i..]
            .iter()
            .take_while(|c| !(b"<,:@".contains(c) || is_blank(**c)))
            .count();
        if local == 0 {
            continue;
        }
        i += local;
        if s.get(i) != Some(&b'@') {
            continue;
        }
        i += 1;
        let domain = s[i..]
            .iter()
            .take_while(|c| !(b">,;".contains(c) || is_blank(**c)))
            .count();
        if domain == 0 {
            continue;
        }
        i += domain;
        let end = if i < s.len() { i + 1 } else { i };
        best = Some(best.map_or(end, |b: usize| b.max(end)));
    }
    best
}

fn emit_stripped(m: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut buf = [0u8; 512];
    let mut n = 0;
    for &c in m {
        if !(b"<>,:;".contains(&c) || is_blank(c)) && n < buf.len() {
            buf[n] = c;
            n += 1;
        }
    }
    out(&buf[..n]);
}

/// The first address of a `MAIL FROM:` argument (Zeek's
/// `extract_first_email_addr`).
pub fn first_email_addr(s: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut done = false;
    email_addrs(s, &mut |a| {
        if !done {
            done = true;
            out(a);
        }
    });
}

/// Removes every `ORCPT=rfc822` (and an optional `;`) from an address, as
/// the SMTP script does for RCPT arguments.
pub fn strip_orcpt(a: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut buf = [0u8; 512];
    let mut n = 0;
    let mut i = 0;
    while i < a.len() {
        if a[i..].starts_with(b"ORCPT=rfc822") {
            i += 12;
            if a.get(i) == Some(&b';') {
                i += 1;
            }
            continue;
        }
        if n < buf.len() {
            buf[n] = a[i];
            n += 1;
        }
        i += 1;
    }
    out(&buf[..n]);
}

/// Zeek's `split_mime_email_addresses`: `(\"[^"]*\")?[^,]+` matches, each
/// stripped of surrounding whitespace.
pub fn split_mime_addresses(line: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut t = 0;
    while t < line.len() {
        let mut i = t;
        // Optional quoted part.
        if line[i] == b'"' {
            if let Some(q) = line[i + 1..].iter().position(|c| *c == b'"') {
                let after = i + 1 + q + 1;
                // Only taken if something non-comma follows (longest match).
                let rest = line[after..].iter().take_while(|c| **c != b',').count();
                if rest > 0 {
                    i = after + rest;
                    out(trim(&line[t..i]));
                    t = i + 1;
                    continue;
                }
            }
        }
        let rest = line[i..].iter().take_while(|c| **c != b',').count();
        if rest == 0 {
            t += 1;
            continue;
        }
        i += rest;
        out(trim(&line[t..i]));
        t = i + 1;
    }
}

/// IP addresses in a header (Zeek's `extract_ip_addresses`); with
/// `check_wrapping`, only those standing alone or wrapped in `[]`, `()`,
/// `{}` or spaces.
pub fn ip_addresses(s: &[u8], check_wrapping: bool, out: &mut dyn FnMut(IpAddr)) {
    let mut i = 0;
    while i < s.len() {
        let boundary_before =
            i == 0 || !(s[i - 1].is_ascii_hexdigit() || s[i - 1] == b'.' || s[i - 1] == b':');
        if boundary_before && (s[i].is_ascii_hexdigit() || s[i] == b':') {
            let len = s[i..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit() || **c == b'.' || **c == b':')
                .count();
            let cand = &s[i..i + len];
            if let Some(ip) = std::str::from_utf8(cand)
                .ok()
                .and_then(|t| t.parse::<IpAddr>().ok())
            {
                let ok = !check_wrapping || {
                    let before = if i > 0 { Some(s[i - 1]) } else { None };
                    let after = s.get(i + len).copied();
                    matches!(
                        (before, after),
                        (None, None)
                            | (Some(b'['), Some(b']'))
                            | (Some(b'('), Some(b')'))
                            | (Some(b'{'), Some(b'}'))
                            | (Some(b' '), Some(b' '))
                    )
                };
                if ok {
                    out(ip);
                }
            }
            i += len.max(1);
        } else {
            i += 1;
        }
    }
}

/// Zeek's `extract_filename_from_content_disposition`: the text after the
/// last `name[blanks]*?=`, unquoted, without an RFC 2231 charset/language
/// prefix, `%XX`-decoded. Returns the length written to `out`.
pub fn filename_from_header(value: &[u8], out: &mut [u8]) -> usize {
    // Find the last "name" (any case) followed by blanks, optional '*', '='.
    let mut start = None;
    let mut i = 0;
    while i + 4 <= value.len() {
        if value[i..i + 4].eq_ignore_ascii_case(b"name") {
            let mut j = i + 4;
            while j < value.len() && is_blank(value[j]) {
                j += 1;
            }
            if j < value.len() && value[j] == b'*' {
                j += 1;
            }
            if j < value.len() && value[j] == b'=' {
                j += 1;
                while j < value.len() && is_blank(value[j]) {
                    j += 1;
                }
                start = Some(j);
            }
        }
        i += 1;
    }
    let Some(mut v) = start.map(|s| &value[s..]) else {
        return 0;
    };
    if let Some(q) = v.strip_prefix(b"\"") {
        v = &q[..q.iter().position(|c| *c == b'"').unwrap_or(q.len())];
    }
    // charset'language' prefix. Zeek's class `[a-zA-Z0-9\!#$%&+-^_`{}~]`
    // holds the range `+-^` (0x2B to 0x5E).
    let is_tok = |c: u8| {
        c.is_ascii_alphanumeric() || b"!#$%&_`{}~".contains(&c) || (b'+'..=b'^').contains(&c)
    };
    let cs = v.iter().take_while(|c| is_tok(**c)).count();
    if cs > 0 && v.get(cs) == Some(&b'\'') {
        let lang = v[cs + 1..].iter().take_while(|c| is_tok(**c)).count();
        if v.get(cs + 1 + lang) == Some(&b'\'') {
            if let Some(last) = v.iter().rposition(|c| *c == b'\'') {
                v = &v[last + 1..];
            }
        }
    }
    unescape_uri(v, out)
}

/// Zeek's `unescape_URI`: `%XX` and `%uXXXX` (its high byte dropped when
/// zero) decoded, the first of `%%` ignored, any other `%` kept as it is.
/// Returns the length written to `out` (cut at its size).
pub(crate) fn unescape_uri(v: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut push = |b: u8| {
        if n < out.len() {
            out[n] = b;
            n += 1;
        }
    };
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let byte = |hi: u8, lo: u8| Some((hex(hi)? << 4) | hex(lo)?);
    let mut i = 0;
    while i < v.len() {
        if v[i] != b'%' {
            push(v[i]);
            i += 1;
            continue;
        }
        i += 1;
        let rest = &v[i..];
        match rest {
            [] => push(b'%'),
            [c] => {
                push(b'%');
                push(*c);
            }
            // `%%`: the first is ignored, the second starts an escape.
            [b'%', ..] => continue,
            [a, b, ..] if byte(*a, *b).is_some() => {
                push(byte(*a, *b).unwrap_or(0));
                i += 1;
            }
            [b'u', a, b, c, d, ..] if byte(*a, *b).is_some() && byte(*c, *d).is_some() => {
                if !(*a == b'0' && *b == b'0') {
                    push(byte(*a, *b).unwrap_or(0));
                }
                push(byte(*c, *d).unwrap_or(0));
                i += 4;
            }
            [c, ..] => {
                push(b'%');
                push(*c);
            }
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        email_addrs(s.as_bytes(), &mut |a| {
            v.push(String::from_utf8_lossy(a).into_owned())
        });
        v
    }

    #[test]
    fn addresses_like_zeek() {
        assert_eq!(addrs("TO:<a@b>"), vec!["a@b"]);
        assert_eq!(addrs("FROM: <g@p.in>"), vec!["g@p.in"]);
        assert_eq!(
            addrs("FROM:<robin@icir.org> size=9030"),
            vec!["robin@icir.org"]
        );
        assert_eq!(
            addrs("TO:<x@y> ORCPT=rfc822;x@y"),
            vec!["x@y", "ORCPT=rfc822x@y"]
        );
        let mut v = Vec::new();
        strip_orcpt(b"ORCPT=rfc822x@y", &mut |a| v.push(a.to_vec()));
        assert_eq!(v, vec![b"x@y".to_vec()]);
    }

    #[test]
    fn mime_address_lists() {
        let mut v = Vec::new();
        split_mime_addresses(b"\"Doe, John\" <j@d.org>, a@b.c ,<x@y>", &mut |a| {
            v.push(String::from_utf8_lossy(a).into_owned())
        });
        assert_eq!(v, vec!["\"Doe, John\" <j@d.org>", "a@b.c", "<x@y>"]);
    }

    #[test]
    fn file_names_unescaped_as_zeeks_unescape_uri() {
        let name = |h: &str| {
            let mut buf = [0u8; 256];
            let n = filename_from_header(h.as_bytes(), &mut buf);
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        assert_eq!(name("attachment; filename=a%%41b"), "aAb");
        assert_eq!(name("attachment; filename=%u0041%u00e9x"), "A\u{fffd}x");
        assert_eq!(name("attachment; filename=100%"), "100%");
        assert_eq!(name("attachment; filename=50%z"), "50%z");
        assert_eq!(name("attachment; filename=5%zz"), "5%zz");
        // The charset class reaches from '+' to '^': ',' '.' '/' ':' count.
        assert_eq!(
            name("attachment; filename*=utf.8:x'e,n'na%20me.pdf"),
            "na me.pdf"
        );
    }

    #[test]
    fn ips_and_filenames() {
        let mut v = Vec::new();
        ip_addresses(
            b"from [10.10.1.4] (helo) by mx (74.53.140.153) with x 1.2.3.4x",
            true,
            &mut |ip| v.push(ip.to_string()),
        );
        assert_eq!(v, vec!["10.10.1.4", "74.53.140.153"]);
        let mut buf = [0u8; 256];
        let n = filename_from_header(b"attachment; filename=\"NEWS.txt\"", &mut buf);
        assert_eq!(&buf[..n], b"NEWS.txt");
        let n = filename_from_header(b"attachment; filename*=UTF-8''na%20me.pdf", &mut buf);
        assert_eq!(&buf[..n], b"na me.pdf");
        let n = filename_from_header(b"image/png; name=zeek-logo.png", &mut buf);
        assert_eq!(&buf[..n], b"zeek-logo.png");
    }
}
