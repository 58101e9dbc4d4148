//! `Software::parse`, `Software::parse_mozilla` and `Software::cmp_versions`
//! of Zeek's `base/frameworks/software/main.zeek`, step for step: the same
//! patterns, splits and substitutions with Zeek's matching rules (see
//! [`crate::zeek_pattern`]), so every odd case comes out as Zeek's.

use crate::zeek_pattern::{strip, BuiltIn, Pattern};
use std::cmp::Ordering;

/// Zeek's `Software::Version`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major version number.
    pub major: Option<u64>,
    /// Minor version number.
    pub minor: Option<u64>,
    /// Minor subversion number.
    pub minor2: Option<u64>,
    /// Minor updates number.
    pub minor3: Option<u64>,
    /// Additional version string (`beta42`).
    pub addl: Option<Vec<u8>>,
}

/// Zeek's `Software::Description`: what parsing found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// The software's name.
    pub name: Vec<u8>,
    /// Its version.
    pub version: Version,
}

/// The patterns of the two functions, each compiled when first used.
struct Patterns {
    mozilla_opera: BuiltIn,
    pixel: BuiltIn,
    slash: BuiltIn,
    backslash_x: BuiltIn,
    version: BuiltIn,
    name_junk_end: BuiltIn,
    name_junk: BuiltIn,
    open_paren_start: BuiltIn,
    open_paren: BuiltIn,
    separator_start: BuiltIn,
    version_numbers: BuiltIn,
    parenthesized: BuiltIn,
    parens: BuiltIn,
    addl_separators: BuiltIn,
    number: BuiltIn,
    // parse_mozilla
    opera_end: BuiltIn,
    msie_or_trident: BuiltIn,
    trident4: BuiltIn,
    trident5: BuiltIn,
    trident6: BuiltIn,
    trident7: BuiltIn,
    msie_version: BuiltIn,
    edge: BuiltIn,
    edge_version: BuiltIn,
    safari: BuiltIn,
    version_word: BuiltIn,
    mobile_safari: BuiltIn,
    firefox: BuiltIn,
    chrome: BuiltIn,
    chrome_version: BuiltIn,
    opera_start: BuiltIn,
    opera_mini_mobi_slash: BuiltIn,
    opera_mini_mobi: BuiltIn,
    opera_mini_version: BuiltIn,
    flash: BuiltIn,
    slash_or_space: BuiltIn,
    adobe_air: BuiltIn,
    webkit: BuiltIn,
    java_check: BuiltIn,
    java_version: BuiltIn,
}

fn patterns() -> &'static Patterns {
    const fn p(body: &'static str) -> BuiltIn {
        BuiltIn::new(body)
    }
    static P: Patterns = Patterns {
        mozilla_opera: p(r"^(Mozilla|Opera)\/[0-9]+\."),
        pixel: p(r"A\/[0-9\.]*\/Google\/Pixel"),
        slash: p(r"\/"),
        backslash_x: p(r"\\x"),
        version: p(r"([\/\-_]|( [\(v]+))?[0-9\-\._, ]{2,}"),
        name_junk_end: p(r"([\/\-_]|( [\(v]+))$"),
        name_junk: p(r"([\/\-_]|( [\(v]+))"),
        open_paren_start: p(r"^\("),
        open_paren: p(r"\("),
        separator_start: p(r"^[\/\-\._v\(]"),
        version_numbers: p(r"[\-\._,\[\(\{ ]"),
        parenthesized: p(r"^[[:blank:]]*\([a-zA-Z0-9\-\._[:blank:]]*\)"),
        parens: p(r"[\(\)]"),
        addl_separators: p(r"[\-\._,;\[\]\(\)\{\} ]"),
        number: p("[0-9]+"),
        opera_end: p(r"Opera [0-9\.]*$"),
        msie_or_trident: p(r" MSIE |Trident\/"),
        trident4: p(r"Trident\/4\.0"),
        trident5: p(r"Trident\/5\.0"),
        trident6: p(r"Trident\/6\.0"),
        trident7: p(r"Trident\/7\.0"),
        msie_version: p(r"MSIE [0-9]{1,2}\.*[0-9]*b?[0-9]*"),
        edge: p(r"Edge\/"),
        edge_version: p(r"Edge\/[0-9\.]*"),
        safari: p(r"Version\/.*Safari\/"),
        version_word: p(r"Version\/[0-9\.]*"),
        mobile_safari: p(r" Mobile\/?.* Safari"),
        firefox: p(r"(Firefox|Netscape|Thunderbird)\/[0-9\.]*"),
        chrome: p(r"Chrome\/.*Safari\/"),
        chrome_version: p(r"Chrome\/[0-9\.]*"),
        opera_start: p(r"^Opera\/"),
        opera_mini_mobi_slash: p(r"Opera M(ini|obi)\/"),
        opera_mini_mobi: p(r"Opera M(ini|obi)"),
        opera_mini_version: p(r"Opera Mini\/[0-9\.]*"),
        flash: p(r"Flash%20Player"),
        slash_or_space: p(r"[\/ ]"),
        adobe_air: p(r"AdobeAIR\/[0-9\.]*"),
        webkit: p(r"AppleWebKit\/[0-9\.]*"),
        java_check: p(r" Java\/[0-9]\."),
        java_version: p(r"Java\/[0-9\._]*"),
    };
    &P
}

/// Zeek's `extract_count`: the first run of digits as a number (0 when
/// there is none; a number too large for a count is 0, as Zeek's
/// conversion fails).
pub fn extract_count(s: &[u8]) -> u64 {
    let parts = patterns().number.split_n(s, true, 1);
    parts
        .get(1)
        .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
        .unwrap_or(0)
}

/// Zeek's `Software::parse` of an unparsed version string.
/// `alternate_names` is `Software::alternate_names` (a name found renamed).
pub fn parse(unparsed: &[u8], alternate_names: &[(Vec<u8>, Vec<u8>)]) -> Description {
    let p = patterns();
    // Zeek starts from "<parse error>"; every branch below names it.
    let name: Vec<u8>;
    let mut v = Version::default();
    if p.mozilla_opera.is_match(unparsed) {
        return parse_mozilla(unparsed, alternate_names);
    } else if p.pixel.is_match(unparsed) {
        name = b"Android (Google Pixel)".to_vec();
        let parts = p.slash.split_n(unparsed, true, 0);
        if let Some(vs) = parts.get(2) {
            let v = if vs.contains(&b'.') {
                parse(vs, alternate_names).version
            } else {
                Version {
                    major: Some(extract_count(vs)),
                    ..Version::default()
                }
            };
            // Returned as found: no alternate name.
            return Description { name, version: v };
        }
    } else {
        let clean = p.backslash_x.replace(unparsed, b"%", true);
        let mut buf = vec![0u8; clean.len()];
        let n = crate::analyzers::smtp::email::unescape_uri(&clean, &mut buf);
        buf.truncate(n);
        let clean = buf;
        let version_parts = p.version.split_n(&clean, true, 1);
        // `0 in version_parts` always holds: a split has a first piece.
        let mut first: Vec<u8> = version_parts[0].to_vec();
        if p.name_junk_end.is_match(&first) {
            first = strip(&p.name_junk.replace(&first, b"", false)).to_vec();
        }
        name = if p.open_paren_start.is_match(&first) {
            strip(&p.open_paren.replace(&first, b"", false)).to_vec()
        } else {
            strip(&first).to_vec()
        };
        if version_parts.len() >= 2 {
            let mut sv: Vec<u8> = strip(version_parts[1]).to_vec();
            if p.separator_start.is_match(&sv) {
                sv = strip(&p.separator_start.replace(&sv, b"", false)).to_vec();
            }
            let numbers = p.version_numbers.split_n(&sv, false, 3);
            let nonempty = |i: usize| numbers.get(i).filter(|x| !x.is_empty());
            if let Some(a) = nonempty(4) {
                // Never: three separators leave four pieces.
                v.addl = Some(strip(a).to_vec());
            } else if let Some(rest) = version_parts
                .get(2)
                .filter(|r| !r.is_empty() && **r != b")")
            {
                if p.parenthesized.is_match(rest) {
                    v.addl = p.parens.split_n(rest, false, 2).get(1).map(|a| a.to_vec());
                } else {
                    let vp = p.addl_separators.split_n(rest, false, 3);
                    let piece = (0..3).find_map(|i| vp.get(i).filter(|x| !x.is_empty()));
                    v.addl = Some(strip(piece.copied().unwrap_or(rest)).to_vec());
                }
            }
            v.minor3 = nonempty(3).map(|x| extract_count(x));
            v.minor2 = nonempty(2).map(|x| extract_count(x));
            v.minor = nonempty(1).map(|x| extract_count(x));
            v.major = nonempty(0).map(|x| extract_count(x));
        }
    }
    let name = alternate_names
        .iter()
        .find(|(from, _)| *from == name)
        .map_or(name, |(_, to)| to.clone());
    Description { name, version: v }
}

/// Zeek's `Software::parse_mozilla`: browsers and the like.
fn parse_mozilla(unparsed: &[u8], alt: &[(Vec<u8>, Vec<u8>)]) -> Description {
    let p = patterns();
    let mut name: Vec<u8> = b"<unknown browser>".to_vec();
    let mut v = Version::default();
    // `parts[1]` of split_string_all: the first match itself.
    let sep = |re: &Pattern| re.split_n(unparsed, true, 0).get(1).map(|s| s.to_vec());
    let version_of = |re: &Pattern| sep(re).map(|s| parse(&s, alt).version);
    let mut set = |name_now: &[u8], found: Option<Version>, name: &mut Vec<u8>| {
        *name = name_now.to_vec();
        if let Some(f) = found {
            v = f;
        }
    };
    if p.opera_end.is_match(unparsed) {
        set(b"Opera", version_of(&p.opera_end), &mut name);
    } else if p.msie_or_trident.is_match(unparsed) {
        let tridents = [
            (&p.trident4, 8),
            (&p.trident5, 9),
            (&p.trident6, 10),
            (&p.trident7, 11),
        ];
        let found = match tridents.iter().find(|(re, _)| re.is_match(unparsed)) {
            Some((_, major)) => Some(Version {
                major: Some(*major),
                minor: Some(0),
                ..Version::default()
            }),
            None => version_of(&p.msie_version),
        };
        set(b"MSIE", found, &mut name);
    } else if p.edge.is_match(unparsed) {
        set(b"Edge", version_of(&p.edge_version), &mut name);
    } else if p.safari.is_match(unparsed) {
        let found = version_of(&p.version_word).map(|mut f| {
            if p.mobile_safari.is_match(unparsed) {
                f.addl = Some(b"Mobile".to_vec());
            }
            f
        });
        set(b"Safari", found, &mut name);
    } else if p.firefox.is_match(unparsed) {
        if let Some(s) = sep(&p.firefox) {
            let d = parse(&s, alt);
            name = d.name;
            v = d.version;
        }
    } else if p.chrome.is_match(unparsed) {
        set(b"Chrome", version_of(&p.chrome_version), &mut name);
    } else if p.opera_start.is_match(unparsed) {
        if p.opera_mini_mobi_slash.is_match(unparsed) {
            if let Some(s) = sep(&p.opera_mini_mobi) {
                name = s;
            }
            let found = version_of(&p.version_word).or_else(|| version_of(&p.opera_mini_version));
            if let Some(f) = found {
                v = f;
            }
        } else {
            set(b"Opera", version_of(&p.version_word), &mut name);
        }
    } else if p.flash.is_match(unparsed) {
        let parts = p.slash_or_space.split_n(unparsed, true, 0);
        let found = parts.get(2).map(|s| parse(s, alt).version);
        set(b"Flash", found, &mut name);
    } else if p.adobe_air.is_match(unparsed) {
        set(b"AdobeAIR", version_of(&p.adobe_air), &mut name);
    } else if p.webkit.is_match(unparsed) {
        set(b"Unspecified WebKit", version_of(&p.webkit), &mut name);
    } else if p.java_check.is_match(unparsed) {
        set(b"Java", version_of(&p.java_version), &mut name);
    }
    Description { name, version: v }
}

/// Zeek's `Software::cmp_versions`: the numbers in order (a missing one is
/// lower than any), then `addl` as strings (missing lower).
pub fn cmp_versions(a: &Version, b: &Version) -> Ordering {
    for (x, y) in [
        (a.major, b.major),
        (a.minor, b.minor),
        (a.minor2, b.minor2),
        (a.minor3, b.minor3),
    ] {
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.addl.cmp(&b.addl)
}

#[cfg(test)]
mod tests;
