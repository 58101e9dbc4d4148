//! Zeek's `pattern` values and the string functions the ported scripts
//! call with them (`/re/ in s`, `split_string_n`, `sub`, `gsub`), with
//! Zeek's matching rules: bytes, not characters; `^` and `$` at the ends
//! of the string; and every match the longest one at the leftmost position
//! where a non-empty match starts (Zeek's `RE_Matcher::MatchPrefix` tried
//! at each offset).
//!
//! Patterns are compiled into DFAs once (configuration time or first use);
//! matching allocates nothing, the string functions allocate their result.
//!
//! A pattern from the configuration is matched by a lazy DFA, which
//! builds at most one state per byte searched and keeps them in a bounded
//! cache: some patterns (`/a.{100}b/` unanchored) have exponentially many
//! DFA states, and no configuration may stall the sensor. The sensor's own
//! constant patterns are small and built into whole DFAs.

use std::sync::Mutex;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::hybrid;
use regex_automata::nfa::thompson::{self, WhichCaptures, NFA};
use regex_automata::util::syntax;
use regex_automata::{Anchored, HalfMatch, Input, MatchKind};

/// The largest NFA a pattern may compile to (bytes of heap).
const NFA_LIMIT: usize = 1 << 20;

/// The lazy DFA's state cache (bytes).
const LAZY_CACHE: usize = 1 << 20;

/// A compiled Zeek pattern.
#[derive(Debug)]
pub struct Pattern {
    engine: Engine,
    text: String,
}

/// How a pattern is matched.
#[derive(Debug)]
enum Engine {
    /// Every state built up front (the sensor's constant patterns):
    /// matching is a table walk.
    Dense(Box<dense::DFA<Vec<u32>>>),
    /// States built while searching (patterns from the configuration).
    /// The cache is the only mutable part.
    Lazy(Box<(hybrid::dfa::DFA, Mutex<hybrid::dfa::Cache>)>),
}

impl Clone for Pattern {
    fn clone(&self) -> Self {
        let engine = match &self.engine {
            Engine::Dense(d) => Engine::Dense(d.clone()),
            Engine::Lazy(lazy) => {
                let dfa = lazy.0.clone();
                let cache = Mutex::new(dfa.create_cache());
                Engine::Lazy(Box::new((dfa, cache)))
            }
        };
        Pattern {
            engine,
            text: self.text.clone(),
        }
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl Pattern {
    /// Compiles the body of a Zeek pattern (what stands between the
    /// slashes of `/.../`) from the configuration: a lazy DFA.
    pub fn new(body: &str) -> Result<Pattern, String> {
        let dfa = hybrid::dfa::Builder::new()
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(MatchKind::All)
                    .cache_capacity(LAZY_CACHE),
            )
            .build_from_nfa(nfa(body)?)
            .map_err(|e| format!("pattern /{body}/: {e}"))?;
        let cache = Mutex::new(dfa.create_cache());
        Ok(Pattern {
            engine: Engine::Lazy(Box::new((dfa, cache))),
            text: body.to_string(),
        })
    }

    /// Compiles one of the sensor's own constant patterns into a whole
    /// DFA (never one from the configuration: its size is unbounded).
    pub fn constant(body: &str) -> Result<Pattern, String> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Both),
            )
            .build_from_nfa(&nfa(body)?)
            .map_err(|e| format!("pattern /{body}/: {e}"))?;
        Ok(Pattern {
            engine: Engine::Dense(Box::new(dfa)),
            text: body.to_string(),
        })
    }

    /// Whether the pattern is matched by a lazy DFA.
    pub fn is_lazy(&self) -> bool {
        matches!(self.engine, Engine::Lazy(..))
    }

    /// The forward search both engines share: the end of the longest
    /// match (`MatchKind::All`).
    fn search(&self, input: &Input<'_>) -> Option<HalfMatch> {
        match &self.engine {
            Engine::Dense(dfa) => dfa.try_search_fwd(input).ok().flatten(),
            Engine::Lazy(lazy) => {
                let (dfa, cache) = &**lazy;
                let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                dfa.try_search_fwd(&mut cache, input).ok().flatten()
            }
        }
    }

    /// Parses a Zeek pattern expression: one `/re/` literal or several
    /// joined by `|` (`/^a/ | /b/`).
    pub fn parse_zeek(v: &str) -> Result<Pattern, String> {
        let bad = || format!("'{v}' is not a Zeek pattern (/re/ or /re1/ | /re2/)");
        let mut alts = Vec::new();
        let b = v.trim().as_bytes();
        let mut i = 0;
        loop {
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if b.get(i) != Some(&b'/') {
                return Err(bad());
            }
            let start = i + 1;
            let mut j = start;
            loop {
                match b.get(j) {
                    None => return Err(bad()),
                    Some(b'\\') => j += 2,
                    Some(b'/') => break,
                    Some(_) => j += 1,
                }
            }
            alts.push(format!("(?:{})", &v.trim()[start..j]));
            i = j + 1;
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match b.get(i) {
                None => break,
                Some(b'|') => i += 1,
                Some(_) => return Err(bad()),
            }
        }
        Pattern::new(&alts.join("|"))
    }

    /// The pattern's source.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Zeek's `/re/ in s`: whether the pattern matches anywhere.
    pub fn is_match(&self, s: &[u8]) -> bool {
        self.search(&Input::new(s).anchored(Anchored::No)).is_some()
    }

    /// Zeek's `MatchPrefix` at `at`: the length of the longest match
    /// starting there (0: none, or only an empty one). `^` matches only at
    /// the start of `s`, `$` only at its end.
    pub fn match_prefix(&self, s: &[u8], at: usize) -> usize {
        let input = Input::new(s).range(at..).anchored(Anchored::Yes);
        self.search(&input)
            .map_or(0, |m| m.offset().saturating_sub(at))
    }

    /// The next non-empty match at or after `from`: (start, length).
    fn find_from(&self, s: &[u8], from: usize) -> Option<(usize, usize)> {
        (from..s.len()).find_map(|i| {
            let n = self.match_prefix(s, i);
            (n > 0).then_some((i, n))
        })
    }

    /// Zeek's `split_string_n(s, re, incl_sep, max_num_sep)` (0: no limit;
    /// `split_string_all` is `incl_sep` with no limit): the pieces between
    /// matches, each match also when `incl_sep`, the rest of the string
    /// whole after `max_num_sep` matches. A match at the end leaves an
    /// empty last piece.
    pub fn split_n<'a>(&self, s: &'a [u8], incl_sep: bool, max_num_sep: usize) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut seps = 0;
        loop {
            if max_num_sep > 0 && seps >= max_num_sep {
                out.push(&s[pos..]);
                break;
            }
            match self.find_from(s, pos) {
                None => {
                    out.push(&s[pos..]);
                    break;
                }
                Some((at, n)) => {
                    out.push(&s[pos..at]);
                    if incl_sep {
                        out.push(&s[at..at + n]);
                    }
                    seps += 1;
                    pos = at + n;
                }
            }
        }
        out
    }

    /// Zeek's `sub` (`all` false) and `gsub` (`all` true).
    pub fn replace(&self, s: &[u8], repl: &[u8], all: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        let mut pos = 0;
        while let Some((at, n)) = self.find_from(s, pos) {
            out.extend_from_slice(&s[pos..at]);
            out.extend_from_slice(repl);
            pos = at + n;
            if !all {
                break;
            }
        }
        out.extend_from_slice(&s[pos..]);
        out
    }
}

/// The byte-oriented NFA of a pattern body, within [`NFA_LIMIT`].
fn nfa(body: &str) -> Result<NFA, String> {
    thompson::Compiler::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(
            thompson::Config::new()
                .utf8(false)
                .which_captures(WhichCaptures::None)
                .nfa_size_limit(Some(NFA_LIMIT)),
        )
        .build(body)
        .map_err(|e| format!("pattern /{body}/: {e}"))
}

/// Zeek's `strip`: leading and trailing white space (C's `isspace`) gone.
pub fn strip(s: &[u8]) -> &[u8] {
    let sp = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = s.iter().position(|c| !sp(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !sp(c)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// One of the sensor's own constant patterns, compiled (into a whole DFA,
/// see [`Pattern::constant`]) the first time it is used, so that a run
/// builds only the automata its traffic needs.
pub struct BuiltIn {
    body: &'static str,
    compiled: std::sync::OnceLock<Pattern>,
}

impl BuiltIn {
    /// The pattern `body`, not compiled yet.
    pub const fn new(body: &'static str) -> Self {
        BuiltIn {
            body,
            compiled: std::sync::OnceLock::new(),
        }
    }
}

impl std::ops::Deref for BuiltIn {
    type Target = Pattern;

    fn deref(&self) -> &Pattern {
        self.compiled.get_or_init(|| {
            // A built-in pattern that does not compile is a defect the
            // unit tests of its users catch.
            Pattern::constant(self.body).unwrap_or_else(|e| panic!("built-in pattern: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap()
    }

    fn strs(v: Vec<&[u8]>) -> Vec<String> {
        v.into_iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect()
    }

    #[test]
    fn matches_are_leftmost_longest() {
        // Leftmost-first would stop the optional group early; Zeek's match
        // is the longest.
        let re = p(r"([\/\-_]|( [\(v]+))?[0-9\-\._, ]{2,}");
        assert_eq!(
            strs(re.split_n(b"Flash Player/26.0.0.137 CFNetwork/811", true, 1)),
            ["Flash Player", "/26.0.0.137 ", "CFNetwork/811"]
        );
        assert_eq!(re.match_prefix(b"a (v2.00.9) x", 1), 9);
        assert_eq!(p("a|ab|abc").match_prefix(b"abcd", 0), 3);
    }

    #[test]
    fn anchors_are_the_ends_of_the_string() {
        assert!(p("^ab").is_match(b"abc"));
        assert!(!p("^b").is_match(b"abc"));
        assert_eq!(p("^b").match_prefix(b"abc", 1), 0);
        assert!(p("c$").is_match(b"abc"));
        assert!(!p("b$").is_match(b"abc"));
    }

    #[test]
    fn split_as_zeek() {
        let slash = p("/");
        assert_eq!(
            strs(slash.split_n(b"a/b/", true, 0)),
            ["a", "/", "b", "/", ""]
        );
        assert_eq!(strs(slash.split_n(b"a/b/c", false, 1)), ["a", "b/c"]);
        assert_eq!(strs(slash.split_n(b"abc", true, 1)), ["abc"]);
        assert_eq!(
            strs(p(r"[\-\._,\[\(\{ ]").split_n(b"1.2.3.4.5", false, 3)),
            ["1", "2", "3", "4.5"]
        );
        // Empty matches are no matches.
        assert_eq!(strs(p("x*").split_n(b"ab", false, 0)), ["ab"]);
    }

    #[test]
    fn sub_and_gsub() {
        let re = p(r"\\x");
        assert_eq!(re.replace(br"\xe6\xbc", b"%", true), b"%e6%bc");
        assert_eq!(re.replace(br"\xe6\xbc", b"%", false), br"%e6\xbc");
        assert_eq!(p("q").replace(b"abc", b"z", true), b"abc");
    }

    #[test]
    fn pattern_expressions() {
        let re = Pattern::parse_zeek(r"/^iPlanet Messenger/ | /\(IMP\)/ | /a\/b/").unwrap();
        assert!(re.is_match(b"iPlanet Messenger 1"));
        assert!(!re.is_match(b"x iPlanet Messenger"));
        assert!(re.is_match(b"Horde (IMP) 4"));
        assert!(re.is_match(b"a/b"));
        assert!(Pattern::parse_zeek("/a/ |").is_err());
        assert!(Pattern::parse_zeek("abc").is_err());
    }

    #[test]
    fn lazy_and_whole_dfas_agree() {
        let hit = [b"ab".as_slice(), b"x", &[b'-'; 40], b"yz"].concat();
        for body in [
            r"x.{3,6}y",
            r"^x.{40}y",
            r"([\/\-_]|( [\(v]+))?[0-9\-\._, ]{2,}",
            "^ab|z$",
            "a|ab|abc",
        ] {
            let (lazy, whole) = (p(body), Pattern::constant(body).unwrap());
            assert!(lazy.is_lazy() && !whole.is_lazy());
            for s in [&hit[..], &hit[3..], b"abcd", b"a (v2.00.9) x", b""] {
                assert_eq!(lazy.is_match(s), whole.is_match(s), "/{body}/ in {s:?}");
                for at in 0..=s.len() {
                    assert_eq!(lazy.match_prefix(s, at), whole.match_prefix(s, at));
                }
            }
        }
        // Unanchored, whole, this one would need about 2^40 states.
        let re = p(r"x.{40}y");
        assert_eq!(re.match_prefix(&hit, 2), 42);
        assert_eq!(re.clone().replace(&hit, b"_", true), b"ab_z");
        // Unanchored, this one has about 2^113 DFA states: a configuration
        // holding it compiles at once (the fuzzer found it taking seconds).
        assert!(Pattern::parse_zeek(r"/\xff\xff.{113}\xff\xff/").is_ok());
    }

    #[test]
    fn an_oversized_pattern_is_an_error() {
        assert!(Pattern::new("a{100000}").is_err());
    }

    #[test]
    fn strip_white_space() {
        assert_eq!(strip(b" \t a b \r\n"), b"a b");
        assert_eq!(strip(b"   "), b"");
        assert_eq!(strip(b""), b"");
    }
}
