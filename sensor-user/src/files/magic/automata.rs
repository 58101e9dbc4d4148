//! The build-time half of `magic.rs`, used by `build.rs` only (through
//! `#[path]`): compiles the translated file-magic patterns into fully
//! built DFAs (`regex_automata::dfa`), serialized into one blob that
//! `magic.rs` embeds and reads in place, and writes the tables that say
//! which DFAs search which signatures.
//!
//! One DFA for all the patterns cannot be built: every pattern is matched
//! anchored at the first byte, and the patterns that skip bytes of any
//! value (`.{4}ftyp`, `.{1,15}bin/`) or run over any bytes (`<!--.*-->`)
//! stay alive next to all the others, so the states multiply (tens of MB,
//! then the size limit). They are split into groups whose states do not
//! multiply, each searched only for the files whose first byte one of its
//! patterns can start with:
//! - the patterns that can start with any byte (they skip leading bytes):
//!   one DFA, searched for every file; those that can start with more than
//!   [`WIDE`] values (plain text, tar, ...): another;
//! - the other patterns: for each first byte, one DFA of the patterns that
//!   can start with it (a pattern with several first bytes is in several);
//! - a pattern with a run, unbounded or over more than 16 lengths, of a
//!   class of 128 bytes or more ([`is_loop`]) is kept out of those, where
//!   it would multiply the states of its neighbours:
//!   - if it starts with such runs, optional or repeated (the XML prologue
//!     `\A(BOM)?(\s*(<!--.*-->)?\s*)*(<\?xml .*\?>)?(\s*(<!--.*-->)?\s*)*`
//!     of eight signatures), the patterns starting with the same ones make
//!     a factored group: one DFA for that prefix, reporting every offset
//!     where it ends (`MatchKind::All`), and one for the rests, searched
//!     anchored at those offsets (a few kB instead of 17 MB for the
//!     prologue's signatures in one DFA);
//!   - else, if its DFA alone is not larger than [`LOOP_MAX`], it goes to
//!     groups by first byte as above, of such patterns only;
//!   - else (the Office zip members, the JAR manifest: megabytes) it is
//!     left to a lazy DFA built at run time.
//!
//! Each DFA of a group is anchored, leftmost-first, over its patterns in
//! Zeek's order of preference: it reports the first of its patterns that
//! matches, and Zeek's answer is the first over all groups (see
//! `magic.rs`). The patterns searched apart (`floating`, `at`) get a DFA
//! each: anchored for `at`, unanchored for `floating` (with the string
//! every match starts with, if there is one, for a prefilter).

use std::fmt::Write as _;

use regex_automata::dfa::{dense, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::MatchKind;
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Patterns whose first byte can take more than this many values are
/// searched for every file rather than by first byte.
pub const WIDE: usize = 32;

/// A DFA of a group by first byte without [`is_loop`] patterns that is
/// larger than this in its dense form is stored sparse: a tenth of the
/// size or less, searched several times slower, which matters little for
/// patterns that fail within a few bytes. The others stay dense: searched
/// for every file, or running over the whole buffer (the 4 kB of an XML
/// document).
pub const SPARSE_OVER: usize = 16 << 10;

/// The largest DFA (dense) of one [`is_loop`] pattern that is not left to
/// run time.
pub const LOOP_MAX: usize = 256 << 10;

/// What a DFA may grow to at build time before the build fails: the
/// split above keeps each far below.
const SIZE_LIMIT: usize = 16 << 20;

/// A translated signature, in Zeek's order of preference.
pub struct Pattern<'a> {
    pub regex: &'a str,
    pub floating: Option<&'a str>,
    pub at: Option<(usize, &'a str)>,
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

fn parse(regex: &str) -> Result<Hir, String> {
    syntax::parse_with(regex, &syntax_config()).map_err(|e| format!("/{regex}/: {e}"))
}

fn build_dfa(
    hirs: &[Hir],
    kind: MatchKind,
    start: StartKind,
    limit: usize,
) -> Result<dense::DFA<Vec<u32>>, String> {
    let nfa = thompson::Compiler::new()
        .configure(thompson::Config::new().utf8(false))
        .build_many_from_hir(hirs)
        .map_err(|e| e.to_string())?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(kind)
                .start_kind(start)
                .dfa_size_limit(Some(limit))
                .determinize_size_limit(Some(4 * limit)),
        )
        .build_from_nfa(&nfa)
        .map_err(|e| e.to_string())
}

/// A set of byte values.
type Bytes = [bool; 256];

/// The bytes a match of `h` can start with, and whether it can be empty.
fn first_bytes(h: &Hir) -> (Bytes, bool) {
    let mut set = [false; 256];
    let nullable = match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => match l.0.first() {
            Some(&b) => {
                set[usize::from(b)] = true;
                false
            }
            None => true,
        },
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    set[usize::from(b)] = true;
                }
            }
            false
        }
        HirKind::Class(Class::Unicode(_)) => {
            // Not produced with Unicode off; any byte, to be safe.
            set = [true; 256];
            false
        }
        HirKind::Repetition(r) => {
            let (s, n) = first_bytes(&r.sub);
            set = s;
            n || r.min == 0
        }
        HirKind::Capture(c) => return first_bytes(&c.sub),
        HirKind::Concat(v) => {
            for x in v {
                let (s, n) = first_bytes(x);
                set.iter_mut().zip(s).for_each(|(a, b)| *a |= b);
                if !n {
                    return (set, false);
                }
            }
            true
        }
        HirKind::Alternation(v) => {
            let mut nullable = false;
            for x in v {
                let (s, n) = first_bytes(x);
                set.iter_mut().zip(s).for_each(|(a, b)| *a |= b);
                nullable |= n;
            }
            nullable
        }
    };
    (set, nullable)
}

/// The bytes a match of `h` can start with, all of them if it can be
/// empty.
fn first_set(h: &Hir) -> Bytes {
    match first_bytes(h) {
        (_, true) => [true; 256],
        (set, false) => set,
    }
}

/// Whether `h` has a repetition, unbounded or over more than 16 lengths,
/// of a class of 128 bytes or more: what makes a pattern's states
/// multiply with those of others (or its own).
fn is_loop(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Repetition(r) => {
            let wide = match r.sub.kind() {
                HirKind::Class(Class::Bytes(c)) => {
                    c.ranges().iter().map(|r| r.len()).sum::<usize>() >= 128
                }
                HirKind::Class(Class::Unicode(_)) => true,
                _ => false,
            };
            let long = r.max.is_none_or(|max| max - r.min > 16);
            (wide && long) || is_loop(&r.sub)
        }
        HirKind::Capture(c) => is_loop(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(is_loop),
        _ => false,
    }
}

/// `h` split after its leading assertions and repetitions (optional parts
/// included), if those have an [`is_loop`] run.
fn loop_prefix(h: &Hir) -> Option<(Vec<Hir>, Hir)> {
    let items = match h.kind() {
        HirKind::Concat(v) => v.as_slice(),
        _ => std::slice::from_ref(h),
    };
    let n = items
        .iter()
        .take_while(|x| matches!(x.kind(), HirKind::Look(_) | HirKind::Repetition(_)))
        .count();
    let prefix = &items[..n];
    prefix
        .iter()
        .any(is_loop)
        .then(|| (prefix.to_vec(), Hir::concat(items[n..].to_vec())))
}

/// The blob of DFAs and the Rust tables that describe it.
pub struct Built {
    pub blob: Vec<u8>,
    pub tables: String,
    /// One line per DFA (its role, patterns, representation and size), for
    /// the generated file's header.
    pub summary: String,
}

struct Blob {
    bytes: Vec<u8>,
    /// `DfaAt { sparse, start, len }` of each DFA, in order.
    index: Vec<(bool, usize, usize)>,
    big_endian: bool,
    summary: String,
}

impl Blob {
    /// Adds the DFA of `hirs`, dense, or sparse if larger than `dense_max`
    /// in its dense form; returns its index.
    fn add(
        &mut self,
        what: &str,
        hirs: &[Hir],
        kind: MatchKind,
        start: StartKind,
        dense_max: usize,
    ) -> Result<usize, String> {
        let dfa = build_dfa(hirs, kind, start, SIZE_LIMIT).map_err(|e| format!("{what}: {e}"))?;
        // Dense tables are read as u32: 4-aligned from the blob's start,
        // which magic.rs aligns.
        let start = self.bytes.len().next_multiple_of(8);
        self.bytes.resize(start, 0);
        let dense_len = dfa.write_to_len();
        let (sparse, len) = if dense_len <= dense_max {
            self.bytes.resize(start + dense_len, 0);
            let out = &mut self.bytes[start..];
            let n = if self.big_endian {
                dfa.write_to_big_endian(out)
            } else {
                dfa.write_to_little_endian(out)
            }
            .map_err(|e| format!("{what}: {e}"))?;
            (false, n)
        } else {
            let sparse = dfa.to_sparse().map_err(|e| format!("{what}: {e}"))?;
            self.bytes.resize(start + sparse.write_to_len(), 0);
            let out = &mut self.bytes[start..];
            let n = if self.big_endian {
                sparse.write_to_big_endian(out)
            } else {
                sparse.write_to_little_endian(out)
            }
            .map_err(|e| format!("{what}: {e}"))?;
            (true, n)
        };
        self.bytes.truncate(start + len);
        let _ = writeln!(
            self.summary,
            "//   {:>3}: {what}, {} pattern(s), {} classes: {} {len} bytes{}",
            self.index.len(),
            hirs.len(),
            dfa.byte_classes().alphabet_len(),
            if sparse { "sparse" } else { "dense" },
            if sparse {
                format!(" (dense: {dense_len})")
            } else {
                String::new()
            },
        );
        self.index.push((sparse, start, len));
        Ok(self.index.len() - 1)
    }
}

/// A pattern of a factored group: its index, and what follows the prefix.
type Member = (usize, Hir);

/// Signatures searched together, and the bytes they can start with.
struct Group {
    /// A `Search` of `magic.rs`, in Rust.
    search: String,
    /// Indices of the signatures, ascending.
    sigs: Vec<usize>,
    first: Bytes,
}

/// Splits the patterns (see the module's description), builds their DFAs
/// for a target of the given endianness, and describes them in Rust:
/// `DFAS`, `GROUPS`, `ALWAYS`, `BY_FIRST`, `APART` (see `magic.rs` for
/// their types).
pub fn build(sigs: &[Pattern], big_endian: bool) -> Result<Built, String> {
    let mut blob = Blob {
        bytes: Vec::new(),
        index: Vec::new(),
        big_endian,
        summary: String::new(),
    };
    let mut any_first = Vec::new();
    let mut wide = Vec::new();
    let mut narrow = Vec::new();
    let mut loops = Vec::new();
    // For each loop prefix, the patterns with it and their rests.
    let mut factored: Vec<(Vec<Hir>, Vec<Member>)> = Vec::new();
    let mut runtime = Vec::new();
    let mut apart = Vec::new();
    let mut hirs = Vec::with_capacity(sigs.len());
    let mut firsts = Vec::with_capacity(sigs.len());
    for (i, s) in sigs.iter().enumerate() {
        let hir = parse(s.regex).map_err(|e| format!("pattern {i} {e}"))?;
        let first = first_set(&hir);
        let n = first.iter().filter(|&&b| b).count();
        if s.floating.is_some() || s.at.is_some() {
            apart.push(i);
        } else if !is_loop(&hir) {
            if n == 256 {
                any_first.push(i);
            } else if n > WIDE {
                wide.push(i);
            } else {
                narrow.push(i);
            }
        } else if let Some((prefix, rest)) = loop_prefix(&hir) {
            match factored.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, members)) => members.push((i, rest)),
                None => factored.push((prefix, vec![(i, rest)])),
            }
        } else if build_dfa(
            std::slice::from_ref(&hir),
            MatchKind::LeftmostFirst,
            StartKind::Anchored,
            LOOP_MAX,
        )
        .is_ok()
        {
            loops.push(i);
        } else {
            runtime.push(i);
        }
        hirs.push(hir);
        firsts.push(first);
    }
    let union = |list: &[usize]| -> Bytes {
        let mut set = [false; 256];
        for &i in list {
            set.iter_mut().zip(firsts[i]).for_each(|(a, b)| *a |= b);
        }
        set
    };
    let pick = |list: &[usize]| -> Vec<Hir> { list.iter().map(|&i| hirs[i].clone()).collect() };

    let mut groups: Vec<Group> = Vec::new();
    // An anchored group searched for the files starting with `first`.
    let anchored = |blob: &mut Blob,
                    groups: &mut Vec<Group>,
                    what: &str,
                    list: &[usize],
                    first: Bytes,
                    dense_max: usize|
     -> Result<(), String> {
        let dfa = blob.add(
            what,
            &pick(list),
            MatchKind::LeftmostFirst,
            StartKind::Anchored,
            dense_max,
        )?;
        groups.push(Group {
            search: format!("Search::Anchored({dfa})"),
            sigs: list.to_vec(),
            first,
        });
        Ok(())
    };
    for (what, list) in [
        ("any first byte".to_string(), &any_first),
        (format!("first byte of more than {WIDE} values"), &wide),
    ] {
        if !list.is_empty() {
            let first = union(list);
            anchored(&mut blob, &mut groups, &what, list, first, usize::MAX)?;
        }
    }
    // By first byte: for each byte, the patterns that can start with it,
    // one group for the bytes with the same ones.
    for (what, list, dense_max) in [
        ("", &narrow, SPARSE_OVER),
        (", with runs", &loops, usize::MAX),
    ] {
        let mut by_list: Vec<(Vec<usize>, Bytes)> = Vec::new();
        for b in 0..256 {
            let here: Vec<usize> = list.iter().copied().filter(|&i| firsts[i][b]).collect();
            if here.is_empty() {
                continue;
            }
            match by_list.iter_mut().find(|(l, _)| *l == here) {
                Some((_, bytes)) => bytes[b] = true,
                None => {
                    let mut bytes = [false; 256];
                    bytes[b] = true;
                    by_list.push((here, bytes));
                }
            }
        }
        for (here, bytes) in by_list {
            let b = bytes.iter().position(|&x| x).unwrap_or(0);
            let what = format!("first byte {b:#04x}{what}");
            anchored(&mut blob, &mut groups, &what, &here, bytes, dense_max)?;
        }
    }
    for (prefix, members) in &factored {
        let list: Vec<usize> = members.iter().map(|(i, _)| *i).collect();
        let what = format!("patterns {list:?}");
        let prefix_dfa = blob.add(
            &format!("prefix of {what}"),
            &[Hir::concat(prefix.clone())],
            MatchKind::All,
            StartKind::Anchored,
            usize::MAX,
        )?;
        let rests: Vec<Hir> = members.iter().map(|(_, h)| h.clone()).collect();
        let rests_dfa = blob.add(
            &format!("rests of {what}"),
            &rests,
            MatchKind::LeftmostFirst,
            StartKind::Anchored,
            usize::MAX,
        )?;
        groups.push(Group {
            search: format!("Search::Factored {{ prefix: {prefix_dfa}, rests: {rests_dfa} }}"),
            first: union(&list),
            sigs: list,
        });
    }
    if !runtime.is_empty() {
        groups.push(Group {
            search: "Search::Runtime".into(),
            first: union(&runtime),
            sigs: runtime,
        });
    }
    let mut apart_t = String::new();
    for &i in &apart {
        let s = &sigs[i];
        let (at, re, start) = match (s.floating, s.at) {
            (Some(re), _) => (None, re, StartKind::Unanchored),
            (None, Some((n, re))) => (Some(n), re, StartKind::Anchored),
            (None, None) => unreachable!(),
        };
        let hir = parse(re)?;
        // What every match of a `floating` pattern starts with, if that is
        // one string: a prefilter (memmem) then finds where to search. (A
        // few bytes that can start it, the DFA skips to with memchr.)
        let prefix = match Extractor::new().extract(&hir).literals() {
            Some([lit]) if at.is_none() && lit.as_bytes().len() >= 2 => {
                Some(lit.as_bytes().to_vec())
            }
            _ => None,
        };
        let dfa = blob.add(
            &format!("pattern {i} apart"),
            &[hir],
            MatchKind::LeftmostFirst,
            start,
            usize::MAX,
        )?;
        let prefix = prefix.map_or("None".to_string(), |p| format!("Some(&{p:?})"));
        let _ = writeln!(
            apart_t,
            "    Apart {{ sig: {i}, at: {at:?}, dfa: {dfa}, prefix: {prefix} }},"
        );
    }

    let mut t = String::from(
        "/// Where each DFA is in the blob (`magic_dfa.bin`).\nstatic DFAS: &[DfaAt] = &[\n",
    );
    for (sparse, start, len) in &blob.index {
        let _ = writeln!(
            t,
            "    DfaAt {{ sparse: {sparse}, start: {start}, len: {len} }},"
        );
    }
    t.push_str("];\n\n/// The groups of signatures.\nstatic GROUPS: &[Group] = &[\n");
    for g in &groups {
        let _ = writeln!(
            t,
            "    Group {{ search: {}, sigs: &{:?} }},",
            g.search, g.sigs
        );
    }
    let (always, by_first): (Vec<usize>, Vec<usize>) =
        (0..groups.len()).partition(|&g| groups[g].first.iter().all(|&b| b));
    let _ = write!(
        t,
        "];\n\n/// The groups searched for every file (in `GROUPS`).\n\
         static ALWAYS: &[usize] = &{always:?};\n\n\
         /// For each first byte, the other groups searched (in `GROUPS`).\n\
         static BY_FIRST: [&[usize]; 256] = ["
    );
    for b in 0..256 {
        let here: Vec<usize> = by_first
            .iter()
            .copied()
            .filter(|&g| groups[g].first[b])
            .collect();
        let _ = write!(t, "\n    &{here:?},");
    }
    let _ = write!(
        t,
        "\n];\n\n/// The signatures searched apart, in order.\nstatic APART: &[Apart] = &[\n{apart_t}];"
    );
    Ok(Built {
        blob: blob.bytes,
        tables: t,
        summary: blob.summary,
    })
}
