//! Zeek's signature files (`.sig`), as far as file-magic uses them, and a
//! translator from Zeek's regular-expression dialect to the syntax of the
//! `regex-automata` crate (bytes mode, Unicode off).
//!
//! Used by `build.rs` (through `#[path]`), which turns the `.sig` files in
//! `src/files/magic/sigs/` into the table that `magic.rs` compiles, and by
//! this module's unit tests. Anything this cannot translate exactly is an
//! error, so a new construct in the signatures fails the build instead of
//! being skipped.
//!
//! What the translation follows (Zeek at the commit of the signature files):
//! - The pattern text is what `rule-scan.l` cuts between the slashes
//!   (`/.../`, a `\/` inside does not end it; `/.../i` makes it `(?i:...)`).
//! - Its dialect is `re-scan.l`/`re-parse.y`: `\xHH`, octal `\NNN` and
//!   C escapes (`\n`, `\t`, `\b` is backspace, ...; any other escaped
//!   character is itself: `\d` is `d`), `"..."` quotes a literal string,
//!   classes `[...]` with ranges, negation and the `[:name:]` expressions
//!   (ASCII, C locale), `{n}`, `{n,}`, `{n,m}`, `*`, `+`, `?`, `|`,
//!   `(...)`, `(?i:...)`, `(?s:...)`; a `]` outside a class is itself.
//! - Signatures are compiled with `Specific_RE_Matcher(MATCH_EXACTLY,
//!   multiline = true)`: `.` is any byte, newline included. A negated class
//!   never matches the beginning/end-of-line symbols.
//! - `RuleMatcher::Match` for file magic feeds the beginning-of-line symbol,
//!   then the bytes, and no end-of-line symbol (`Match(data, len, bol =
//!   true, eol = false, ...)`), to a DFA for `^?(p1|p2|...)`: every pattern
//!   is anchored at the first byte and matches when it matches a prefix of
//!   the data. So `^` can only match before the first byte (it becomes
//!   `\A`) and `$` never matches.

use std::fmt::Write as _;

/// One `file-mime` of a signature, with the signature's pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Signature name (`file-pdf`).
    pub name: String,
    /// MIME type the signature gives.
    pub mime: String,
    /// Its strength (higher wins).
    pub strength: i32,
    /// The pattern as written in the `.sig` file (between the slashes).
    pub zeek: String,
    /// The pattern translated, or why it can never match in Zeek.
    pub regex: Result<Translated, String>,
}

/// A translated pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    /// The pattern, to match anchored at the start of the data.
    pub regex: String,
    /// For a pattern that starts with `.*` (any bytes): the rest, which
    /// matches somewhere in the data exactly when `regex` matches at its
    /// start, and which a search can find quickly (literal prefilters).
    pub floating: Option<String>,
    /// For a pattern that starts with `.{n}`, n at least [`AT_MIN`]: n and
    /// the rest, which matches at offset n exactly when `regex` matches at
    /// the start.
    pub at: Option<(u32, String)>,
}

/// The smallest fixed offset for [`Translated::at`]: patterns that skip
/// fewer bytes stay in the one automaton.
pub const AT_MIN: u32 = 32;

/// Parses a `.sig` file into its file-magic entries. Anything but
/// `signature NAME { file-mime "type"[, strength] file-magic /re/ }`
/// (other conditions, several patterns, a pattern without a type) is an
/// error.
pub fn parse_sig_file(text: &str) -> Result<Vec<Entry>, String> {
    let mut lx = SigLexer {
        s: text.as_bytes(),
        i: 0,
        line: 1,
    };
    let mut out = Vec::new();
    loop {
        let tok = lx.next()?;
        match tok {
            Tok::Eof => return Ok(out),
            Tok::Ident(ref k) if k == "signature" => {}
            t => return Err(lx.err(&format!("expected `signature`, found {t:?}"))),
        }
        let name = match lx.next()? {
            Tok::Ident(n) => n,
            t => return Err(lx.err(&format!("expected a signature name, found {t:?}"))),
        };
        let at = |lx: &SigLexer, m: &str| lx.err(&format!("signature {name}: {m}"));
        if lx.next()? != Tok::Punct(b'{') {
            return Err(at(&lx, "expected `{`"));
        }
        let mut mimes: Vec<(String, i32)> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        loop {
            match lx.next()? {
                Tok::Punct(b'}') => break,
                Tok::Ident(k) if k == "file-mime" => {
                    let mime = match lx.next()? {
                        Tok::Str(s) => s,
                        t => {
                            return Err(at(&lx, &format!("file-mime wants a string, found {t:?}")))
                        }
                    };
                    // opt_strength: `, [-]INT`, 0 without it.
                    let mut strength = 0;
                    if lx.peek()? == Tok::Punct(b',') {
                        lx.next()?;
                        let mut neg = false;
                        if lx.peek()? == Tok::Punct(b'-') {
                            lx.next()?;
                            neg = true;
                        }
                        strength = match lx.next()? {
                            Tok::Int(v) => v,
                            t => return Err(at(&lx, &format!("bad strength {t:?}"))),
                        };
                        if neg {
                            strength = -strength;
                        }
                    }
                    mimes.push((mime, strength));
                }
                Tok::Ident(k) if k == "file-magic" => match lx.next()? {
                    Tok::Re(p) => patterns.push(p),
                    t => {
                        return Err(at(
                            &lx,
                            &format!("file-magic wants /pattern/ (no [range]), found {t:?}"),
                        ))
                    }
                },
                t => return Err(at(&lx, &format!("unsupported attribute {t:?}"))),
            }
        }
        if patterns.len() != 1 {
            return Err(at(&lx, "wants exactly one file-magic pattern"));
        }
        if mimes.is_empty() {
            return Err(at(&lx, "has no file-mime"));
        }
        let zeek = patterns.pop().unwrap_or_default();
        let regex = translate(&zeek).map_err(|e| at(&lx, &format!("pattern /{zeek}/: {e}")))?;
        for (mime, strength) in mimes {
            out.push(Entry {
                name: name.clone(),
                mime,
                strength,
                zeek: zeek.clone(),
                regex: regex.clone(),
            });
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Eof,
    Ident(String),
    Str(String),
    Int(i32),
    /// A pattern, `/re/i` already wrapped in `(?i:...)`.
    Re(String),
    Punct(u8),
}

/// The tokens of `rule-scan.l` that file-magic signatures use.
struct SigLexer<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

impl SigLexer<'_> {
    fn err(&self, m: &str) -> String {
        format!("line {}: {m}", self.line)
    }

    fn peek(&mut self) -> Result<Tok, String> {
        let (i, line) = (self.i, self.line);
        let t = self.next();
        self.i = i;
        self.line = line;
        t
    }

    fn next(&mut self) -> Result<Tok, String> {
        let s = self.s;
        // White space and `#` comments.
        loop {
            match s.get(self.i) {
                Some(b'\n') => {
                    self.line += 1;
                    self.i += 1;
                }
                Some(b' ' | b'\t' | b'\r') => self.i += 1,
                Some(b'#') => {
                    while s.get(self.i).is_some_and(|&c| c != b'\n') {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
        let Some(&c) = s.get(self.i) else {
            return Ok(Tok::Eof);
        };
        let start = self.i;
        match c {
            b'{' | b'}' | b',' | b'-' => {
                self.i += 1;
                Ok(Tok::Punct(c))
            }
            b'"' => {
                // STRING: \"([^\r\n\"]|\\\")*\" taken as is, quotes cut.
                let mut j = start + 1;
                loop {
                    match s.get(j) {
                        Some(b'"') => break,
                        Some(b'\\') => return Err(self.err("escape in a string")),
                        Some(b'\r' | b'\n') | None => return Err(self.err("unterminated string")),
                        Some(_) => j += 1,
                    }
                }
                self.i = j + 1;
                Ok(Tok::Str(text(&s[start + 1..j])?))
            }
            b'/' => {
                // RE: \/(\\\/)?([^/]|[^\\]\\\/)*\/i? -- a slash ends the
                // pattern unless one backslash (itself not escaped) precedes it.
                let mut j = start + 1;
                loop {
                    match s.get(j) {
                        None => return Err(self.err("unterminated pattern")),
                        Some(b'\n') => return Err(self.err("pattern spans lines")),
                        Some(b'/') => {
                            let escaped = j >= start + 2
                                && s[j - 1] == b'\\'
                                && (j == start + 2 || s[j - 2] != b'\\');
                            if !escaped {
                                break;
                            }
                            j += 1;
                        }
                        Some(_) => j += 1,
                    }
                }
                let body = text(&s[start + 1..j])?;
                self.i = j + 1;
                if s.get(self.i) == Some(&b'i') {
                    self.i += 1;
                    return Ok(Tok::Re(format!("(?i:{body})")));
                }
                Ok(Tok::Re(body))
            }
            b'0'..=b'9' => {
                let mut j = start;
                while s.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                if s.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                    return Err(self.err("unsupported number"));
                }
                self.i = j;
                let v = text(&s[start..j])?
                    .parse()
                    .map_err(|_| self.err("number out of range"))?;
                Ok(Tok::Int(v))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = start;
                while s
                    .get(j)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    j += 1;
                }
                self.i = j;
                Ok(Tok::Ident(text(&s[start..j])?))
            }
            c => Err(self.err(&format!("unexpected character {:?}", c as char))),
        }
    }
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "not UTF-8".to_string())
}

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Set([u64; 4]);

impl Set {
    const EMPTY: Set = Set([0; 4]);
    const ALL: Set = Set([u64::MAX; 4]);

    fn one(b: u8) -> Set {
        let mut s = Set::EMPTY;
        s.add(b);
        s
    }

    fn add(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn negate(&mut self) {
        for w in &mut self.0 {
            *w = !*w;
        }
    }

    fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

/// A parsed Zeek pattern.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// One byte out of a set (an empty set never matches).
    Set(Set),
    /// `^`: Zeek's beginning-of-line symbol.
    Bol,
    /// `$`: Zeek's end-of-line symbol.
    Eol,
    /// Concatenation; empty: the empty string.
    Cat(Vec<Node>),
    Alt(Vec<Node>),
    Rep(Box<Node>, u32, Option<u32>),
}

const FAIL: Node = Node::Set(Set::EMPTY);

/// Translates a Zeek pattern into `regex-automata` syntax, to be matched
/// anchored at the start of the data with Unicode and UTF-8 off. `Ok(Err)`
/// says why the pattern can never match in Zeek's file-magic matching.
pub fn translate(pattern: &str) -> Result<Result<Translated, String>, String> {
    let mut p = ReParser {
        s: pattern.as_bytes(),
        i: 0,
        ci: false,
    };
    let node = p.re()?;
    if p.i != p.s.len() {
        return Err(format!("syntax error at byte {}", p.i));
    }
    let mut why = Vec::new();
    let node = simplify(node, 0, &mut why);
    if node == FAIL {
        why.dedup();
        return Ok(Err(why.join("; ")));
    }
    // `^` is the BOL symbol, which Zeek feeds once; `\A` holds any number of
    // times at the start. They differ only for paths through two `^` before
    // the first byte: refuse those rather than translate them wrongly.
    let (nul, pre) = bols(&node);
    if nul.unwrap_or(0).max(pre) > 1 {
        return Err("two `^` before the first byte".into());
    }
    let mut regex = String::new();
    emit(&node, &mut regex);
    // `^?.*rest`: `rest` anywhere. (A `^` in `rest` still only holds at
    // the start, as it does after `.*` matched nothing.)
    // `^?.{n}rest`: `rest` at n.
    let (mut floating, mut at) = (None, None);
    if let Node::Cat(v) = &node {
        let skip = usize::from(v.first() == Some(&Node::Bol));
        if let (Some(Node::Rep(x, lo, hi)), true) = (v.get(skip), v.len() > skip + 1) {
            let mut rest = String::new();
            emit(&Node::Cat(v[skip + 1..].to_vec()), &mut rest);
            if **x == Node::Set(Set::ALL) {
                match (*lo, *hi) {
                    (0, None) => floating = Some(rest),
                    (n, Some(h)) if n == h && n >= AT_MIN => at = Some((n, rest)),
                    _ => {}
                }
            }
        }
    }
    Ok(Ok(Translated {
        regex,
        floating,
        at,
    }))
}

/// Recursive descent over `re-parse.y`, with the lexing of `re-scan.l`.
struct ReParser<'a> {
    s: &'a [u8],
    i: usize,
    /// Inside `(?i:...)`.
    ci: bool,
}

impl ReParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn err(&self, m: &str) -> String {
        format!("{m} at byte {}", self.i)
    }

    /// re: re '|' series | series | (empty)
    fn re(&mut self) -> Result<Node, String> {
        let mut alts = vec![self.series()?];
        while self.peek() == Some(b'|') {
            self.i += 1;
            alts.push(self.series()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Cat(Vec::new()))
        } else {
            Node::Alt(alts)
        })
    }

    /// series: series singleton | singleton (or nothing, for an empty re)
    fn series(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            items.push(self.singleton()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::Cat(Vec::new()))
        } else {
            Node::Cat(items)
        })
    }

    fn singleton(&mut self) -> Result<Node, String> {
        let mut n = self.atom()?;
        loop {
            match self.peek() {
                Some(b'*') => n = Node::Rep(Box::new(n), 0, None),
                Some(b'+') => n = Node::Rep(Box::new(n), 1, None),
                Some(b'?') => n = Node::Rep(Box::new(n), 0, Some(1)),
                Some(b'{') if self.at(1).is_some_and(|c| c.is_ascii_digit()) => {
                    self.i += 1;
                    let lo = self.number()?;
                    let hi = match self.peek() {
                        Some(b'}') => Some(lo),
                        Some(b',') => {
                            self.i += 1;
                            if self.peek() == Some(b'}') {
                                None
                            } else {
                                Some(self.number()?)
                            }
                        }
                        _ => return Err(self.err("bad character inside {}'s")),
                    };
                    if self.peek() != Some(b'}') {
                        return Err(self.err("bad character inside {}'s"));
                    }
                    n = match hi {
                        Some(hi) if lo > hi => return Err(self.err("bad iteration values")),
                        // {0} and {0,0}: the empty string.
                        Some(0) => Node::Cat(Vec::new()),
                        _ => Node::Rep(Box::new(n), lo, hi),
                    };
                }
                _ => return Ok(n),
            }
            self.i += 1;
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .filter(|&v| v <= 100_000)
            .ok_or_else(|| self.err("bad number"))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end"));
        };
        match c {
            b'^' => {
                self.i += 1;
                Ok(Node::Bol)
            }
            b'$' => {
                self.i += 1;
                Ok(Node::Eol)
            }
            b'.' => {
                self.i += 1;
                Ok(Node::Set(Set::ALL))
            }
            b'"' => {
                // A quoted string: literal bytes, case kept even in (?i:.
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b'"') => break,
                        Some(b'\\') => items.push(Node::Set(Set::one(self.escape()?))),
                        Some(b'\n') | None => return Err(self.err("missing quote")),
                        Some(c) => {
                            items.push(Node::Set(Set::one(ascii(c)?)));
                            self.i += 1;
                        }
                    }
                }
                self.i += 1;
                Ok(Node::Cat(items))
            }
            b'(' => {
                self.i += 1;
                let outer = self.ci;
                if self.s[self.i..].starts_with(b"?i:") {
                    self.i += 3;
                    self.ci = true;
                } else if self.s[self.i..].starts_with(b"?s:") {
                    // Single-line `.` is any byte: as it already is here.
                    self.i += 3;
                }
                let n = self.re()?;
                if self.peek() != Some(b')') {
                    return Err(self.err("missing `)`"));
                }
                self.i += 1;
                self.ci = outer;
                Ok(n)
            }
            b'[' => self.class(),
            b'\\' => {
                let b = self.escape()?;
                Ok(Node::Set(Set::one(b)))
            }
            b'*' | b'+' | b'?' | b'{' | b'}' | b')' | b'|' => Err(self.err("syntax error")),
            b'\n' => Err(self.err("newline in pattern")),
            c => {
                self.i += 1;
                let c = ascii(c)?;
                Ok(Node::Set(self.cased(c)))
            }
        }
    }

    /// A letter in (?i: matches both cases (isalpha, C locale).
    fn cased(&self, c: u8) -> Set {
        let mut s = Set::one(c);
        if self.ci && c.is_ascii_alphabetic() {
            s.add(c.to_ascii_lowercase());
            s.add(c.to_ascii_uppercase());
        }
        s
    }

    /// ESCSEQ `\\([^\n]|[0-7]+|x[[:xdigit:]]{2})` (scanner caseless), then
    /// `util::detail::expand_escape` on it.
    fn escape(&mut self) -> Result<u8, String> {
        self.i += 1; // the backslash
        let Some(c) = self.peek() else {
            return Err(self.err("bad character"));
        };
        let hex2 = |k: usize| {
            self.at(k).is_some_and(|c| c.is_ascii_hexdigit())
                && self.at(k + 1).is_some_and(|c| c.is_ascii_hexdigit())
        };
        let v = match c {
            b'\n' => return Err(self.err("bad character")),
            b'x' if hex2(1) => {
                let h = std::str::from_utf8(&self.s[self.i + 1..self.i + 3]).unwrap_or("");
                self.i += 3;
                return u8::from_str_radix(h, 16).map_err(|_| self.err("bad hex escape"));
            }
            b'x' => return Err(self.err("bad hexadecimal escape")),
            // `\X41` is one escape for the caseless scanner, but
            // expand_escape then gives `X` and drops the digits.
            b'X' if hex2(1) => return Err(self.err("`\\X` escape")),
            b'0'..=b'7' => {
                let start = self.i;
                while self.peek().is_some_and(|c| (b'0'..=b'7').contains(&c)) {
                    self.i += 1;
                }
                // expand_escape reads at most three digits of the lexeme.
                if self.i - start > 3 {
                    return Err(self.err("octal escape of more than three digits"));
                }
                let v = self.s[start..self.i]
                    .iter()
                    .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
                return u8::try_from(v).map_err(|_| self.err("octal escape above 255"));
            }
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'a' => 0x07,
            b'v' => 0x0b,
            c => ascii(c)?,
        };
        self.i += 1;
        Ok(v)
    }

    /// A character class, from its `[`.
    fn class(&mut self) -> Result<Node, String> {
        self.i += 1;
        if matches!(self.peek(), None | Some(b'\n')) {
            return Err(self.err("`[` at the end"));
        }
        let mut set = Set::EMPTY;
        let mut negated = false;
        let mut first = true;
        // SC_FIRST_CCL: `^` negates unless nothing follows; `-` and `]`
        // right after `[` or `[^` are themselves.
        if self.peek() == Some(b'^') && !matches!(self.at(1), None | Some(b'\n')) {
            negated = true;
            self.i += 1;
        }
        // The last lone character: the low end if a range operator follows.
        let mut prev_char: Option<u8> = None;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated character class"));
            };
            if c == b'\n' {
                return Err(self.err("unterminated character class"));
            }
            if !first && c == b']' {
                self.i += 1;
                break;
            }
            if let Some(expr) = self.class_expr() {
                let f = expr?;
                for b in 0u8..=127 {
                    if f(b) {
                        set.add(b);
                    }
                }
                prev_char = None;
                first = false;
                continue;
            }
            // A range operator: `-` followed by something other than `]`,
            // not first.
            if !first && c == b'-' && !matches!(self.at(1), None | Some(b']' | b'\n')) {
                let Some(lo) = prev_char.take() else {
                    return Err(self.err("syntax error in character class"));
                };
                self.i += 1;
                let hi = match self.peek() {
                    Some(b'\\') => self.escape()?,
                    Some(b'[') if self.class_expr_at() => {
                        return Err(self.err("syntax error in character class"))
                    }
                    Some(b'-') if !matches!(self.at(1), None | Some(b']' | b'\n')) => {
                        return Err(self.err("syntax error in character class"))
                    }
                    Some(c) => {
                        self.i += 1;
                        ascii(c)?
                    }
                    None => return Err(self.err("unterminated character class")),
                };
                if lo > hi {
                    return Err(self.err("negative range in character class"));
                }
                if self.ci && (lo.is_ascii_alphabetic() || hi.is_ascii_alphabetic()) {
                    if !(lo.is_ascii_alphabetic()
                        && hi.is_ascii_alphabetic()
                        && lo.is_ascii_uppercase() == hi.is_ascii_uppercase())
                    {
                        return Err(self.err("ambiguous case-insensitive character class"));
                    }
                    for b in lo.to_ascii_lowercase()..=hi.to_ascii_lowercase() {
                        set.add(b);
                        set.add(b.to_ascii_uppercase());
                    }
                } else {
                    for b in lo..=hi {
                        set.add(b);
                    }
                }
                first = false;
                continue;
            }
            let b = if c == b'\\' {
                self.escape()?
            } else {
                self.i += 1;
                ascii(c)?
            };
            // The range's low end is the character as written; (?i: adds
            // the other case of a lone letter.
            prev_char = Some(b);
            let s = self.cased(b);
            for x in 0..=255u8 {
                if s.has(x) {
                    set.add(x);
                }
            }
            first = false;
        }
        if negated {
            set.negate();
        }
        Ok(Node::Set(set))
    }

    fn class_expr_at(&self) -> bool {
        self.s[self.i..].starts_with(b"[:")
    }

    /// A `[:name:]` expression at the cursor: its test (C locale, ASCII).
    #[allow(clippy::type_complexity)]
    fn class_expr(&mut self) -> Option<Result<fn(u8) -> bool, String>> {
        if !self.class_expr_at() {
            return None;
        }
        let rest = &self.s[self.i + 2..];
        let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if n == 0 || !rest[n..].starts_with(b":]") {
            // `[` followed by something else is an ordinary character.
            return None;
        }
        let name = rest[..n].to_ascii_lowercase();
        self.i += n + 4;
        let f: fn(u8) -> bool = match &name[..] {
            b"alnum" => |c| c.is_ascii_alphanumeric(),
            b"alpha" => |c| c.is_ascii_alphabetic(),
            b"blank" => |c| c == b' ' || c == b'\t',
            b"cntrl" => |c| c.is_ascii_control(),
            b"digit" => |c| c.is_ascii_digit(),
            b"graph" => |c| c.is_ascii_graphic(),
            b"print" => |c| (0x20..=0x7e).contains(&c),
            b"punct" => |c| c.is_ascii_punctuation(),
            // isspace: \t \n \v \f \r and space.
            b"space" => |c| matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '),
            b"xdigit" => |c| c.is_ascii_hexdigit(),
            b"lower" if self.ci => |c| c.is_ascii_alphabetic(),
            b"upper" if self.ci => |c| c.is_ascii_alphabetic(),
            b"lower" => |c| c.is_ascii_lowercase(),
            b"upper" => |c| c.is_ascii_uppercase(),
            _ => return Some(Err(self.err("bad character class expression"))),
        };
        Some(Ok(f))
    }
}

/// Bytes of the pattern text are chars, signed in Zeek: above 127 is an
/// error there ("bad symbol").
fn ascii(c: u8) -> Result<u8, String> {
    if c.is_ascii() {
        Ok(c)
    } else {
        Err(format!("non-ASCII byte {c:#x} in pattern"))
    }
}

/// The fewest bytes `n` matches.
fn min_len(n: &Node) -> u32 {
    match n {
        Node::Set(_) => 1,
        Node::Bol | Node::Eol => 0,
        Node::Cat(v) => v.iter().map(min_len).fold(0, u32::saturating_add),
        Node::Alt(v) => v.iter().map(min_len).min().unwrap_or(0),
        Node::Rep(x, lo, _) => min_len(x).saturating_mul(*lo),
    }
}

/// Removes what can never match in Zeek's file-magic matching: `$` (no
/// end-of-line symbol is fed), `^` after at least one byte (the
/// beginning-of-line symbol only precedes the first byte), empty classes;
/// `before` is the fewest bytes matched before `n`.
fn simplify(n: Node, before: u32, why: &mut Vec<String>) -> Node {
    match n {
        Node::Eol => {
            why.push("`$`: Zeek feeds no end-of-line to file-magic matching".into());
            FAIL
        }
        Node::Set(s) if s.is_empty() => {
            why.push("a class of no byte".into());
            FAIL
        }
        Node::Bol if before > 0 => {
            why.push(
                "`^` after the first byte: Zeek's beginning-of-line comes only before it".into(),
            );
            FAIL
        }
        Node::Cat(v) => {
            let mut out = Vec::with_capacity(v.len());
            let mut at = before;
            for x in v {
                let x = simplify(x, at, why);
                if x == FAIL {
                    return FAIL;
                }
                at = at.saturating_add(min_len(&x));
                out.push(x);
            }
            if out.len() == 1 {
                out.pop().unwrap_or(FAIL)
            } else {
                Node::Cat(out)
            }
        }
        Node::Alt(v) => {
            let mut out: Vec<Node> = v
                .into_iter()
                .map(|x| simplify(x, before, why))
                .filter(|x| *x != FAIL)
                .collect();
            match out.len() {
                0 => FAIL,
                1 => out.pop().unwrap_or(FAIL),
                _ => Node::Alt(out),
            }
        }
        Node::Rep(x, lo, hi) => {
            let x = simplify(*x, before, why);
            if x == FAIL {
                if lo == 0 {
                    Node::Cat(Vec::new())
                } else {
                    FAIL
                }
            } else {
                Node::Rep(Box::new(x), lo, hi)
            }
        }
        n => n,
    }
}

/// `^`s on a path before its first byte: the most on a path that matches
/// no byte (None: there is no such path), and the most before the first
/// byte of a path that matches some. Saturates at 2.
fn bols(n: &Node) -> (Option<u32>, u32) {
    match n {
        Node::Set(_) => (None, 0),
        Node::Bol => (Some(1), 0),
        Node::Eol => (None, 0),
        Node::Cat(v) => {
            let (mut nul, mut pre) = (Some(0u32), 0u32);
            for x in v {
                let (xn, xp) = bols(x);
                if let Some(k) = nul {
                    pre = pre.max((k + xp).min(2));
                }
                nul = match (nul, xn) {
                    (Some(a), Some(b)) => Some((a + b).min(2)),
                    _ => None,
                };
            }
            (nul, pre)
        }
        Node::Alt(v) => v.iter().map(bols).fold((None, 0), |(n, p), (xn, xp)| {
            (
                match (n, xn) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                },
                p.max(xp),
            )
        }),
        Node::Rep(x, lo, hi) => {
            let (xn, xp) = bols(x);
            match xn {
                // Several empty iterations, each with a `^`.
                Some(k) if k > 0 && hi.is_none_or(|h| h > 1) => (Some(2), 2),
                // k == 0, or at most one iteration.
                Some(k) => (Some(k), xp),
                None if *lo == 0 => (Some(0), xp),
                None => (None, xp),
            }
        }
    }
}

fn emit(n: &Node, out: &mut String) {
    match n {
        Node::Set(s) => emit_set(s, out),
        Node::Bol => out.push_str(r"\A"),
        // Removed by simplify(); never matches.
        Node::Eol => out.push_str(r"[^\x00-\xFF]"),
        Node::Cat(v) => {
            for x in v {
                if matches!(x, Node::Alt(_)) {
                    out.push_str("(?:");
                    emit(x, out);
                    out.push(')');
                } else {
                    emit(x, out);
                }
            }
        }
        Node::Alt(v) => {
            for (k, x) in v.iter().enumerate() {
                if k > 0 {
                    out.push('|');
                }
                emit(x, out);
            }
        }
        Node::Rep(x, lo, hi) => {
            if let Node::Set(s) = &**x {
                emit_set(s, out);
            } else {
                out.push_str("(?:");
                emit(x, out);
                out.push(')');
            }
            match (lo, hi) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (lo, None) => {
                    let _ = write!(out, "{{{lo},}}");
                }
                (lo, Some(hi)) if lo == hi => {
                    let _ = write!(out, "{{{lo}}}");
                }
                (lo, Some(hi)) => {
                    let _ = write!(out, "{{{lo},{hi}}}");
                }
            }
        }
    }
}

fn emit_byte(b: u8, out: &mut String) {
    // Letters as they are; everything else, digits included (no `\x200`
    // for a space and a zero), as `\xHH`.
    if b.is_ascii_alphabetic() {
        out.push(char::from(b));
    } else {
        let _ = write!(out, r"\x{b:02X}");
    }
}

fn emit_set(s: &Set, out: &mut String) {
    if s.count() == 1 {
        if let Some(b) = (0..=255u8).find(|&b| s.has(b)) {
            emit_byte(b, out);
        }
        return;
    }
    if s.is_empty() {
        out.push_str(r"[^\x00-\xFF]");
        return;
    }
    out.push('[');
    let mut b = 0u16;
    while b < 256 {
        if !s.has(b as u8) {
            b += 1;
            continue;
        }
        let lo = b;
        while b + 1 < 256 && s.has((b + 1) as u8) {
            b += 1;
        }
        emit_byte(lo as u8, out);
        if b > lo {
            if b > lo + 1 {
                out.push('-');
            }
            emit_byte(b as u8, out);
        }
        b += 1;
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(p: &str) -> String {
        match translate(p) {
            Ok(Ok(r)) => r.regex,
            other => panic!("/{p}/: {other:?}"),
        }
    }

    #[test]
    fn dialect() {
        // Escapes: hex, octal, C escapes, anything else is itself.
        assert_eq!(tr(r"\x1f\x8b"), r"\x1F\x8B");
        assert_eq!(tr(r"\101\0"), r"A\x00");
        assert_eq!(tr("[0-9 ]"), r"[\x20\x30-\x39]");
        assert_eq!(tr(r"\n\t\b\d\.\/"), r"\x0A\x09\x08d\x2E\x2F");
        // `.` is any byte, newline included.
        assert_eq!(tr("a.b"), r"a[\x00-\xFF]b");
        // Classes: ranges, negation, [:name:], `]`/`-` first, escapes.
        assert_eq!(tr(r"[\x00-\x02x]"), r"[\x00-\x02x]");
        assert_eq!(tr("[^\\n]"), r"[\x00-\x09\x0B-\xFF]");
        assert_eq!(tr("[[:blank:]]"), r"[\x09\x20]");
        assert_eq!(tr("[[:space:]]"), r"[\x09-\x0D\x20]");
        assert_eq!(tr("[]a]"), r"[\x5Da]");
        assert_eq!(tr("[-a]"), r"[\x2Da]");
        assert_eq!(tr("[a-]"), r"[\x2Da]");
        assert_eq!(tr("[[]"), r"\x5B");
        assert_eq!(tr(r"[\x2a-\x2d]"), r"[\x2A-\x2D]");
        // The bracket that is not a class, outside a class.
        assert_eq!(tr("a]"), r"a\x5D");
        // Quoted strings.
        assert_eq!(tr("\"a.b\""), r"a\x2Eb");
        // Repetition.
        assert_eq!(tr("a{3}b{1,}c{0,2}d{2,5}"), "a{3}b+c{0,2}d{2,5}");
        assert_eq!(tr("(ab)*"), "(?:ab)*");
        assert_eq!(tr("a{0}b"), "b");
        // Alternation, empty alternatives, nesting.
        assert_eq!(tr("x(a|b|)y"), "x(?:a|b|)y");
        // Case-insensitive: letters and classes, not quoted strings.
        assert_eq!(tr("(?i:ab[c-e]\"f\")"), "[Aa][Bb][C-Ec-e]f");
        // `^` at the start is \A.
        assert_eq!(tr("^a|(x|^b)"), r"\Aa|x|\Ab");
        assert_eq!(tr("a(x|^b)"), "ax");
    }

    #[test]
    fn floating() {
        let fl = |p: &str| translate(p).unwrap().unwrap().floating;
        assert_eq!(fl("(.*)(ab)(.*)c").as_deref(), Some(r"ab[\x00-\xFF]*c"));
        assert_eq!(fl("^.*<x").as_deref(), Some(r"\x3Cx"));
        assert_eq!(fl(".*a|b"), None);
        assert_eq!(fl("a.*b"), None);
        assert_eq!(fl(".*"), None);
        let at = |p: &str| translate(p).unwrap().unwrap().at;
        assert_eq!(at("(.{40})(ab)"), Some((40, "ab".to_string())));
        assert_eq!(at("^.{32}a|b"), None);
        assert_eq!(at(".{31}a"), None);
        assert_eq!(at(".{32,33}a"), None);
    }

    #[test]
    fn never_matching() {
        // `$` never matches (no end-of-line symbol); `^` after a byte
        // neither.
        assert!(translate("a$").unwrap().is_err());
        assert!(translate("(a)(^b)").unwrap().is_err());
        // ... but a branch that avoids them still does.
        assert_eq!(tr("a(b$|c)"), "ac");
        assert_eq!(tr("a(^b)?c"), "ac");
    }

    #[test]
    fn refused() {
        for p in [
            "a{",
            "a{x}",
            "{name}",
            "*a",
            "(a",
            "a)",
            "[a",
            "[b-a]",
            "[[:foo:]]",
            r"\x4",
            r"\X41",
            r"\1234",
            r"\777",
            "\"ab",
            "^^a",
            "^(a|^b)",
            "(^)*a",
            "a{3,2}",
            "\u{e9}",
        ] {
            assert!(translate(p).is_err(), "/{p}/ should be refused");
        }
    }

    #[test]
    fn sig_syntax() {
        let text = "# comment\nsignature file-x {\n\tfile-mime \"a/b\", -20\n\tfile-magic /^a\\/b/ # c\n}\n\
                    signature y{ file-magic /x/i\n file-mime \"c/d\" }\n";
        let e = parse_sig_file(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].name.as_str(), e[0].mime.as_str(), e[0].strength),
            ("file-x", "a/b", -20)
        );
        assert_eq!(
            e[0].regex.as_ref().map(|t| t.regex.as_str()),
            Ok(r"\Aa\x2Fb")
        );
        assert_eq!((e[1].mime.as_str(), e[1].strength), ("c/d", 0));
        assert_eq!(e[1].regex.as_ref().map(|t| t.regex.as_str()), Ok("[Xx]"));
        assert!(parse_sig_file("signature z { file-magic /a/ payload /b/ }").is_err());
        assert!(parse_sig_file("signature z { file-magic /a/ }").is_err());
        assert!(parse_sig_file("signature z { file-mime \"a\" }").is_err());
    }
}
