//! A Zeek script as the sensor reads it (`--zeek-script`, a site's
//! `local.zeek`): its `@load` lines, its `redef` statements and the
//! statements of its `zeek_init` handlers, where a site calls the analyzer
//! framework (`Analyzer::register_for_port`). No other script code runs.
//!
//! The script is split into statements as Zeek's parser would see them:
//! comments (`#` to the end of the line) and `@` directives are dropped, a
//! `;` inside a string or a pattern ends nothing, and a handler or an
//! `export` block ends at its closing brace.

/// What a `--zeek-script` file asks of the sensor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptParts {
    /// The scripts named by `@load` lines (comments dropped).
    pub loads: Vec<String>,
    /// The `redef` statements, top level or in an `export` block, in file
    /// order.
    pub redefs: Vec<String>,
    /// The statements of the `zeek_init` handlers in the order Zeek runs
    /// them: by priority, highest first, then in file order.
    pub init: Vec<InitStatement>,
}

/// A statement of a `zeek_init` handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitStatement {
    /// The handler's `&priority` (0 without one).
    pub priority: i32,
    /// The statement, without its `;`.
    pub text: String,
}

/// Splits a Zeek script into what [`super::Config::apply_load`],
/// [`super::Config::apply_redef`] and [`super::Config::apply_init`] take;
/// everything else in it is left out.
pub fn script_parts(text: &str) -> ScriptParts {
    let loads = text
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("@load "))
        .map(|s| s.split('#').next().unwrap_or("").trim().to_string())
        .collect();
    let mut parts = ScriptParts {
        loads,
        ..ScriptParts::default()
    };
    collect(&without_comments(text), &mut parts);
    // A stable sort keeps file order within a priority.
    parts.init.sort_by_key(|s| std::cmp::Reverse(s.priority));
    parts
}

/// Adds the redefs and `zeek_init` statements among `code`'s statements,
/// each on one line.
fn collect(code: &str, parts: &mut ScriptParts) {
    for stmt in statements(code) {
        if stmt.starts_with("redef ") {
            parts.redefs.push(one_line(stmt));
        } else if let Some(body) = keyword(stmt, "export").and_then(braced) {
            collect(body, parts);
        } else if let Some((priority, body)) = zeek_init(stmt) {
            // A handler's own `const` and `local` values stand in for their
            // names in the statements after them.
            let mut names: Vec<(String, String)> = Vec::new();
            for s in statements(body) {
                let line = one_line(s);
                let line = names.iter().fold(line, |l, (n, v)| replace_name(&l, n, v));
                match local_value(&line) {
                    Some((n, v)) => names.push((n.to_string(), v.to_string())),
                    None => parts.init.push(InitStatement {
                        priority,
                        text: line,
                    }),
                }
            }
        }
    }
}

/// `const name = value` or `local name[: type] = value`: the name and the
/// value.
fn local_value(stmt: &str) -> Option<(&str, &str)> {
    let rest = keyword(stmt, "const").or_else(|| keyword(stmt, "local"))?;
    let (name, value) = rest.split_once('=')?;
    let name = name.split(':').next()?.trim();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (!name.is_empty() && name.chars().all(ident)).then_some((name, value.trim()))
}

/// `stmt` with every whole-word `name` (not part of a longer name or a
/// module-qualified one) replaced by `value`.
fn replace_name(stmt: &str, name: &str, value: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = String::with_capacity(stmt.len());
    let mut rest = stmt;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(ident) || after.is_some_and(ident) {
            out.push_str(name);
        } else {
            out.push_str(value);
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// A statement's lines joined by blanks (a Zeek string cannot span lines).
fn one_line(stmt: &str) -> String {
    stmt.replace(['\r', '\n'], " ")
}

/// What a byte of a script is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Code,
    /// Inside a string or a pattern (its quotes or slashes included).
    Literal,
    /// A comment or an `@` directive line.
    Comment,
}

/// Calls `each` with every byte of `text` and what it is.
fn lex(text: &str, mut each: impl FnMut(usize, u8, Class)) {
    let bytes = text.as_bytes();
    let (mut state, mut escaped) = (Class::Code, false);
    let mut closer = b'"';
    // The last byte of code that is not blank, and whether only blanks
    // came since the line began.
    let (mut last, mut line_start) = (b';', true);
    for (i, &b) in bytes.iter().enumerate() {
        let class = match state {
            Class::Comment => {
                if b == b'\n' {
                    state = Class::Code;
                }
                Class::Comment
            }
            Class::Literal => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == closer {
                    state = Class::Code;
                }
                Class::Literal
            }
            Class::Code => match b {
                b'#' => {
                    state = Class::Comment;
                    Class::Comment
                }
                b'@' if line_start => {
                    state = Class::Comment;
                    Class::Comment
                }
                b'"' => {
                    (state, closer) = (Class::Literal, b'"');
                    Class::Literal
                }
                // A pattern where a value starts (else a division).
                b'/' if b"=,({|[".contains(&last) => {
                    (state, closer) = (Class::Literal, b'/');
                    Class::Literal
                }
                _ => Class::Code,
            },
        };
        if b == b'\n' {
            line_start = true;
        } else if !b.is_ascii_whitespace() {
            line_start = false;
            if class == Class::Code {
                last = b;
            } else if class == Class::Literal {
                last = b'"';
            }
        }
        each(i, b, class);
    }
}

/// `text` without its comments and `@` directive lines.
fn without_comments(text: &str) -> String {
    let mut keep = Vec::with_capacity(text.len());
    lex(text, |_, b, class| {
        if class != Class::Comment || b == b'\n' {
            keep.push(b);
        }
    });
    // Only whole comments (from an ASCII byte to a line end) were left
    // out, so what is kept is still UTF-8.
    String::from_utf8(keep).unwrap_or_default()
}

/// The top-level statements of `code` (comments already dropped), each
/// trimmed and without its `;`: a statement ends at a `;` outside any
/// bracket, and one that opens a block (`event`, `function`, `hook`,
/// `export`, `if`, `for`, `while`, `else`) at the brace that closes it.
fn statements(code: &str) -> impl Iterator<Item = &str> {
    let mut ends = Vec::new();
    let (mut start, mut depth) = (0usize, 0i64);
    lex(code, |i, b, class| {
        if class != Class::Code {
            return;
        }
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth <= 0 && b == b'}' && opens_block(&code[start..i]) {
                    ends.push((start, i + 1));
                    (start, depth) = (i + 1, 0);
                }
            }
            b';' if depth <= 0 => {
                ends.push((start, i));
                (start, depth) = (i + 1, 0);
            }
            _ => {}
        }
    });
    ends.push((start, code.len()));
    ends.into_iter()
        .map(move |(s, e)| code[s..e].trim())
        .filter(|s| !s.is_empty())
}

/// Whether a statement beginning `text` is a block that ends at its
/// closing brace.
fn opens_block(text: &str) -> bool {
    let word = text
        .trim_start()
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    matches!(
        word,
        "event" | "function" | "hook" | "export" | "if" | "for" | "while" | "else"
    )
}

/// What follows keyword `word` at the start of `stmt`, if it starts so.
fn keyword<'a>(stmt: &'a str, word: &str) -> Option<&'a str> {
    let rest = stmt.strip_prefix(word)?;
    (rest.starts_with(|c: char| c.is_whitespace() || c == '{' || c == '('))
        .then(|| rest.trim_start())
}

/// The inside of `{ … }` when `text` is exactly that.
fn braced(text: &str) -> Option<&str> {
    text.trim().strip_prefix('{')?.strip_suffix('}')
}

/// A `zeek_init` handler's priority and body.
fn zeek_init(stmt: &str) -> Option<(i32, &str)> {
    let rest = keyword(stmt, "event")?.strip_prefix("zeek_init")?;
    let rest = rest.trim_start().strip_prefix('(')?.trim_start();
    let rest = rest.strip_prefix(')')?;
    let open = rest.find('{')?;
    let attrs = rest[..open].replace(char::is_whitespace, "");
    let priority = match attrs.as_str() {
        "" => 0,
        a => a.strip_prefix("&priority=")?.parse().ok()?,
    };
    Some((priority, braced(&rest[open..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redefs_loads_and_zeek_init_statements() {
        let p = script_parts(
            "@load protocols/ssl/validate-certs # a comment\n\
             @if ( T )\n\
             redef SMTP::ports += { 2525/tcp }; # ; not a statement\n\
             event zeek_init() &priority = -3\n\
             \t{\n\
             \tAnalyzer::register_for_port(Analyzer::ANALYZER_POP3, 110/tcp);\n\
             \tif ( T ) { print \"x;y\"; }\n\
             \t}\n\
             redef peer_description = \"a;b#c\";\n\
             export { redef Foo::bar = /x;{y/; }\n\
             event zeek_init() { Analyzer::disable_analyzer(Analyzer::ANALYZER_IMAP) }\n\
             event smtp_request(c: connection) { Analyzer::disable_analyzer(Analyzer::ANALYZER_SSL); }\n\
             redef SSL::ssl_ports -= { 443/tcp }",
        );
        assert_eq!(p.loads, ["protocols/ssl/validate-certs"]);
        assert_eq!(
            p.redefs,
            [
                "redef SMTP::ports += { 2525/tcp }",
                "redef peer_description = \"a;b#c\"",
                "redef Foo::bar = /x;{y/",
                "redef SSL::ssl_ports -= { 443/tcp }",
            ]
        );
        let init: Vec<_> = p
            .init
            .iter()
            .map(|s| (s.priority, s.text.as_str()))
            .collect();
        assert_eq!(
            init,
            [
                (0, "Analyzer::disable_analyzer(Analyzer::ANALYZER_IMAP)"),
                (
                    -3,
                    "Analyzer::register_for_port(Analyzer::ANALYZER_POP3, 110/tcp)"
                ),
                (-3, "if ( T ) { print \"x;y\"; }"),
            ]
        );
    }

    #[test]
    fn a_handlers_own_constants_stand_in_for_their_names() {
        let p = script_parts(
            "event zeek_init()\n\
             \t{\n\
             \tconst add_ports = { 53/udp };\n\
             \tlocal p: set[port] = set(5353/udp);\n\
             \tAnalyzer::register_for_ports(Analyzer::ANALYZER_DTLS, add_ports);\n\
             \tAnalyzer::register_for_ports(Analyzer::ANALYZER_DTLS, p, Foo::p);\n\
             \t}\n",
        );
        let init: Vec<_> = p.init.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            init,
            [
                "Analyzer::register_for_ports(Analyzer::ANALYZER_DTLS, { 53/udp })",
                "Analyzer::register_for_ports(Analyzer::ANALYZER_DTLS, set(5353/udp), Foo::p)",
            ]
        );
    }

    #[test]
    fn division_is_not_a_pattern_and_damage_stays_inside_a_statement() {
        let p = script_parts("redef a = 10 / 2; redef b = {\n10.0.0.0/8 }; redef c = \"unclosed;");
        assert_eq!(
            p.redefs,
            [
                "redef a = 10 / 2",
                "redef b = { 10.0.0.0/8 }",
                "redef c = \"unclosed;"
            ]
        );
        // A stray brace or an unclosed handler is Zeek's syntax error:
        // nothing after it is taken for a statement of its own.
        let p = script_parts("event zeek_init() { } } redef x = 1; event zeek_init( redef y = 2;");
        assert!(p.redefs.is_empty() && p.init.is_empty(), "{p:?}");
    }
}
