//! MIME type sniffing of file content, with Zeek's file-magic signatures
//! and its choice rule: every signature is anchored at the start of the
//! file's first bytes; the match with the highest strength wins, ties going
//! to the alphabetically smallest type.

use crate::bytes::starts_with_ci as starts_ci;

/// How many leading bytes of a file are examined.
pub const BOF_BUFFER: usize = 4096;

/// One signature: a matcher over the start of the data and its strength.
struct Sig {
    mime: &'static str,
    strength: i32,
    matches: fn(&[u8]) -> bool,
}

fn starts(d: &[u8], p: &[u8]) -> bool {
    d.starts_with(p)
}

/// Skips an optional UTF-8 byte-order mark and the `[\r\n\t ]*(<!--...-->)?`
/// prelude the HTML/XML signatures allow.
fn skip_markup_prelude(mut d: &[u8]) -> &[u8] {
    d = d.strip_prefix(b"\xef\xbb\xbf").unwrap_or(d);
    loop {
        let trimmed = trim_blank(d);
        if let Some(rest) = trimmed.strip_prefix(b"<!--") {
            match find(rest, b"-->") {
                Some(i) => d = &rest[i + 3..],
                None => return trimmed,
            }
        } else {
            return trimmed;
        }
    }
}

fn trim_blank(mut d: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = d.split_first() {
        if !matches!(c, b'\r' | b'\n' | b' ' | b'\t') {
            break;
        }
        d = rest;
    }
    d
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Skips an optional `<?xml ... ?>` declaration and the prelude around it.
fn skip_xml_decl(d: &[u8]) -> &[u8] {
    let d = skip_markup_prelude(d);
    if d.starts_with(b"<?xml ") {
        if let Some(i) = find(d, b"?>") {
            return skip_markup_prelude(&d[i + 2..]);
        }
    }
    d
}

fn plaintext(d: &[u8]) -> bool {
    let d = d
        .strip_prefix(b"\xef\xbb\xbf")
        .or_else(|| d.strip_prefix(b"\x00\x00\xfe\xff"))
        .or_else(|| d.strip_prefix(b"\xfe\xff"))
        .or_else(|| d.strip_prefix(b"\xff\xfe\x00\x00"))
        .or_else(|| d.strip_prefix(b"\xff\xfe"))
        .unwrap_or(d);
    d.len() >= 10
        && d[..10].iter().all(|&c| {
            (0x20..=0x7e).contains(&c) || matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
        })
}

fn xhtml(d: &[u8]) -> bool {
    let d = skip_xml_decl(d);
    let Some(d) = d.strip_prefix(b"<") else {
        return false;
    };
    if starts_ci(d, b"html") {
        return true;
    }
    if starts_ci(d, b"!doctype ") {
        return starts_ci(trim_spaces(&d[9..]), b"html");
    }
    if starts_ci(d, b"meta ") {
        return starts_ci(trim_spaces(&d[5..]), b"http-equiv");
    }
    false
}

fn trim_spaces(mut d: &[u8]) -> &[u8] {
    while let Some(rest) = d.strip_prefix(b" ") {
        d = rest;
    }
    d
}

fn html(d: &[u8]) -> bool {
    let d = skip_xml_decl(d);
    d.strip_prefix(b"<!")
        .is_some_and(|d| starts_ci(d, b"doctype ") && starts_ci(trim_spaces(&d[8..]), b"html"))
}

fn html2(d: &[u8]) -> bool {
    let d = skip_xml_decl(d);
    d.strip_prefix(b"<").is_some_and(|d| {
        [&b"head"[..], b"html", b"title", b"body"]
            .iter()
            .any(|t| starts_ci(d, t))
    })
}

fn xml(d: &[u8]) -> bool {
    skip_markup_prelude(d).starts_with(b"<?xml ")
}

fn zip_member(d: &[u8], dir: &[u8]) -> bool {
    // PK\x03\x04 + 26 bytes + a first member name, then somewhere later
    // another PK\x03\x04 + 26 bytes + `dir/`.
    if !d.starts_with(b"PK\x03\x04") || d.len() < 30 {
        return false;
    }
    let first = &d[30..];
    let named = [&b"[Content_Types].xml"[..], b"_rels/.rels", dir]
        .iter()
        .any(|p| first.starts_with(p));
    if !named {
        return false;
    }
    let mut i = 0;
    while let Some(p) = find(&first[i..], b"PK\x03\x04") {
        let at = i + p;
        if first.len() >= at + 30 && first[at + 30..].starts_with(dir) {
            return true;
        }
        i = at + 1;
    }
    false
}

const SIGS: &[Sig] = &[
    Sig {
        mime: "text/plain",
        strength: -20,
        matches: plaintext,
    },
    Sig {
        mime: "text/html",
        strength: 100,
        matches: xhtml,
    },
    Sig {
        mime: "text/html",
        strength: 49,
        matches: html,
    },
    Sig {
        mime: "text/html",
        strength: 20,
        matches: html2,
    },
    Sig {
        mime: "application/xml",
        strength: 10,
        matches: xml,
    },
    Sig {
        mime: "application/x-pem",
        strength: 0,
        matches: |d| starts(d, b"-----BEGIN CERTIFICATE-----"),
    },
    Sig {
        mime: "application/pgp-signature",
        strength: 280,
        matches: |d| starts(d, b"-----BEGIN PGP SIGNATURE-"),
    },
    Sig {
        mime: "application/pgp",
        strength: 260,
        matches: |d| starts(d, b"-----BEGIN PGP MESSAGE-"),
    },
    Sig {
        mime: "application/pdf",
        strength: 80,
        matches: |d| starts(d, b"%PDF-"),
    },
    Sig {
        mime: "image/png",
        strength: 110,
        matches: |d| starts(d, b"\x89PNG"),
    },
    Sig {
        mime: "image/gif",
        strength: 70,
        matches: |d| starts(d, b"GIF8"),
    },
    Sig {
        mime: "image/jpeg",
        strength: 52,
        matches: |d| starts(d, b"\xff\xd8"),
    },
    Sig {
        mime: "image/tiff",
        strength: 70,
        matches: |d| {
            starts(d, b"MM\x00\x2a")
                || starts(d, b"MM\x00\x2b")
                || starts(d, b"II\x2a\x00")
                || starts(d, b"II\x2b\x00")
        },
    },
    Sig {
        mime: "image/x-icon",
        strength: 70,
        matches: |d| starts(d, b"\x00\x00\x01\x00"),
    },
    Sig {
        mime: "image/webp",
        strength: 70,
        matches: |d| d.len() >= 12 && starts(d, b"RIFF") && &d[8..12] == b"WEBP",
    },
    Sig {
        mime: "image/x-ms-bmp",
        strength: 50,
        matches: |d| {
            d.len() >= 16
                && starts(d, b"BM")
                && [0x0c, 0x28, 0x40, 0x6c, 0x7c, 0x80].contains(&d[14])
                && d[15] == 0
        },
    },
    Sig {
        mime: "application/zip",
        strength: 10,
        matches: |d| d.len() >= 6 && starts(d, b"PK\x03\x04"),
    },
    Sig {
        mime: "application/zip",
        strength: 110,
        matches: |d| starts(d, b"PK\x07\x08PK\x03\x04"),
    },
    Sig {
        mime: "application/x-rar",
        strength: 70,
        matches: |d| starts(d, b"Rar!"),
    },
    Sig {
        mime: "application/x-gzip",
        strength: 100,
        matches: |d| starts(d, b"\x1f\x8b"),
    },
    Sig {
        mime: "application/x-7z-compressed",
        strength: 50,
        matches: |d| starts(d, b"7z\xbc\xaf\x27\x1c"),
    },
    Sig {
        mime: "application/x-bzip2",
        strength: 60,
        matches: |d| starts(d, b"BZh"),
    },
    Sig {
        mime: "application/x-xz",
        strength: 90,
        matches: |d| starts(d, b"\xfd7zXZ\x00"),
    },
    Sig {
        mime: "application/vnd.ms-cab-compressed",
        strength: 110,
        matches: |d| starts(d, b"MSCF\x00\x00\x00\x00"),
    },
    Sig {
        mime: "application/x-dosexec",
        strength: 51,
        matches: |d| starts(d, b"MZ"),
    },
    Sig {
        mime: "application/msword",
        strength: 110,
        matches: |d| starts(d, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    },
    Sig {
        mime: "application/vnd.openxmlformats-officedocument",
        strength: 50,
        matches: |d| starts(d, b"PK\x03\x04\x14\x00\x06\x00"),
    },
    Sig {
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        strength: 80,
        matches: |d| zip_member(d, b"word/"),
    },
    Sig {
        mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        strength: 80,
        matches: |d| zip_member(d, b"xl/"),
    },
    Sig {
        mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        strength: 80,
        matches: |d| zip_member(d, b"ppt/"),
    },
    Sig {
        mime: "application/vnd.ms-tnef",
        strength: 100,
        matches: |d| starts(d, b"\x78\x9f\x3e\x22"),
    },
    Sig {
        mime: "text/rtf",
        strength: 80,
        matches: |d| starts(d, b"{\\rtf"),
    },
    Sig {
        mime: "text/calendar",
        strength: 180,
        matches: |d| starts_ci(d, b"BEGIN:VCALENDAR"),
    },
    Sig {
        mime: "text/x-vcard",
        strength: 140,
        matches: |d| starts_ci(d, b"BEGIN:VCARD"),
    },
    Sig {
        mime: "text/x-shellscript",
        strength: 250,
        matches: shellscript,
    },
    Sig {
        mime: "message/rfc822",
        strength: 170,
        matches: |d| starts(d, b"Relay-Version:"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 160,
        matches: |d| starts_ci(d, b"delivered-to:"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 150,
        matches: |d| starts_ci(d, b"return-path:"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 130,
        matches: |d| starts(d, b"Forward to"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 120,
        matches: |d| starts(d, b"Received:"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 100,
        matches: |d| starts(d, b"Pipe to"),
    },
    Sig {
        mime: "message/rfc822",
        strength: 80,
        matches: |d| starts(d, b"From:"),
    },
    Sig {
        mime: "message/news",
        strength: 100,
        matches: |d| starts(d, b"Article"),
    },
    Sig {
        mime: "message/news",
        strength: 80,
        matches: |d| starts(d, b"Path:") || starts(d, b"Xref:"),
    },
];

fn shellscript(d: &[u8]) -> bool {
    let Some(rest) = d.strip_prefix(b"#!") else {
        return false;
    };
    let line_end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
    let line = &rest[..line_end];
    (1..=15).any(|skip| {
        line.get(skip..).is_some_and(|l| {
            let Some(l) = l.strip_prefix(b"bin/") else {
                return false;
            };
            let l = match l.strip_prefix(b"env") {
                Some(r) if r.first().is_some_and(|c| c.is_ascii_whitespace()) => trim_blank(r),
                _ => l,
            };
            [
                &b"sh"[..],
                b"bash",
                b"tcsh",
                b"csh",
                b"zsh",
                b"fash",
                b"aesh",
                b"ksh",
            ]
            .iter()
            .any(|s| l.starts_with(s))
        })
    })
}

/// The MIME type Zeek would give a file starting with `bof`, if any.
pub fn sniff(bof: &[u8]) -> Option<&'static str> {
    let d = &bof[..bof.len().min(BOF_BUFFER)];
    let mut best: Option<(i32, &'static str)> = None;
    for s in SIGS {
        if (s.matches)(d) {
            best = match best {
                Some((st, m)) if st > s.strength || (st == s.strength && m <= s.mime) => {
                    Some((st, m))
                }
                _ => Some((s.strength, s.mime)),
            };
        }
    }
    best.map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_mail_content() {
        assert_eq!(sniff(b"Hello there, this is text."), Some("text/plain"));
        assert_eq!(sniff(b"short"), None);
        assert_eq!(sniff(b"<html xmlns:v=\"urn:schemas\">"), Some("text/html"));
        assert_eq!(sniff(b"\r\n<!DOCTYPE html><p>"), Some("text/html"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.4\n%binary"), Some("application/pdf"));
        assert_eq!(
            sniff(b"MZ\x90\x00\x03\x00\x00\x00"),
            Some("application/x-dosexec")
        );
        assert_eq!(sniff(b"Received: from x by y; Mon"), Some("message/rfc822"));
        assert_eq!(
            sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"),
            Some("application/msword")
        );
        assert_eq!(sniff(b"#!/bin/bash\necho"), Some("text/x-shellscript"));
        assert_eq!(
            sniff(b"#!/usr/bin/env sh\necho"),
            Some("text/x-shellscript")
        );
        let mut docx = b"PK\x03\x04".to_vec();
        docx.extend_from_slice(&[0u8; 26]);
        docx.extend_from_slice(b"[Content_Types].xml....");
        docx.extend_from_slice(b"PK\x03\x04");
        docx.extend_from_slice(&[0u8; 26]);
        docx.extend_from_slice(b"word/document.xml");
        assert_eq!(
            sniff(&docx),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
    }
}
