//! pest pairs -> typed AST. Syntax errors become E0001 diagnostics with the expected tokens in words.

use super::ast::*;
use super::trivia;
use crate::diag::{Applicability, Code, Diagnostic, Edit, Suggestion};
use crate::source::{FileId, Span};
use pest::Parser;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/net.pest"]
struct NetParser;

/// Words the grammar reserves (the `keyword` rule).
const KEYWORDS: &[&str] = &[
    "block",
    "let",
    "input",
    "output",
    "import",
    "repeat",
    "residual",
    "shortcut",
    "as",
    "true",
    "false",
    "normalize",
];

/// Deeper bracket nesting than this is rejected before parsing, so no input can exhaust the stack.
const MAX_NESTING: usize = 64;

/// More arithmetic operators than this in one expression (counting those of the expressions it
/// is nested in) are rejected before parsing: `1+1+...+1` becomes a tree as deep as it is long,
/// and evaluating or dropping it recursively would otherwise exhaust the stack.
const MAX_OPERATORS: usize = 256;

/// Longest name (or number) accepted: names become layer paths and weight names.
pub const MAX_NAME_CHARS: usize = 255;

/// Parses one source file. On a syntax error, returns the single E0001 diagnostic for it.
pub fn parse_file(file: FileId, src: &str) -> Result<File, Box<Diagnostic>> {
    check_nesting(file, src)?;
    pest::set_error_detail(true);
    let mut pairs = NetParser::parse(Rule::file, src).map_err(|e| Box::new(syntax_error(file, src, e)))?;
    let comments = trivia::comments(file, src);
    let b = Builder { file, src, comments: &comments };
    let file_pair = pairs.next().expect("the file rule always yields one pair");
    let items = file_pair.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| b.item(p)).collect();
    Ok(File { items, comments })
}

fn check_nesting(file: FileId, src: &str) -> Result<(), Box<Diagnostic>> {
    let mut depth = 0usize;
    // Operators of the expression being read, per open bracket (the file level first).
    let mut operators: Vec<usize> = vec![0];
    // Where the word being read started, and its length in characters.
    let mut word: Option<(usize, usize)> = None;
    for (i, ch) in trivia::code_chars(src) {
        if ch.is_alphanumeric() || ch == '_' {
            let (start, len) = word.get_or_insert((i, 0));
            *len += 1;
            if *len > MAX_NAME_CHARS {
                return Err(Box::new(
                    Diagnostic::error(
                        Code::Syntax,
                        format!("a name longer than {MAX_NAME_CHARS} characters"),
                        Span::new(file, *start..i + ch.len_utf8()),
                        "name too long",
                    )
                    .with_help("names become layer paths and weight names: use a shorter one"),
                ));
            }
        } else {
            word = None;
        }
        match ch {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let span = Span::new(file, i..i + 1);
                    return Err(Box::new(
                        Diagnostic::error(
                            Code::Syntax,
                            format!("brackets nested more than {MAX_NESTING} deep"),
                            span,
                            "nesting limit reached here",
                        )
                        .with_help("split the expression or chain into named blocks or `let` bindings"),
                    ));
                }
                operators.push(0);
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if operators.len() > 1 {
                    operators.pop();
                }
            }
            // A new expression starts after these.
            ',' | '=' => *operators.last_mut().expect("never empty") = 0,
            '-' if src[i..].starts_with("->") => *operators.last_mut().expect("never empty") = 0,
            '+' | '-' | '*' | '/' => {
                *operators.last_mut().expect("never empty") += 1;
                if operators.iter().sum::<usize>() > MAX_OPERATORS {
                    return Err(Box::new(
                        Diagnostic::error(
                            Code::Syntax,
                            format!("expression with more than {MAX_OPERATORS} operators"),
                            Span::new(file, i..i + 1),
                            "operator limit reached here",
                        )
                        .with_help("write the value as a number, or compute it in steps with block parameters"),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident => "a name",
        Rule::number | Rule::dim => "a number",
        Rule::string => "a quoted path",
        Rule::shape | Rule::dims_x | Rule::dims_list => "a shape such as `3x224x224`",
        Rule::chain | Rule::call => "a layer or block call",
        Rule::expr | Rule::arg | Rule::named_arg => "a value",
        Rule::EOI => "end of file",
        Rule::import | Rule::input_decl | Rule::block_def | Rule::let_stmt | Rule::output_stmt => {
            "`import`, `input`, `block`, `let` or `output`"
        }
        _ => return None,
    })
}

fn syntax_error(file: FileId, src: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    // Whether the error is at the start of a word (not inside a name or number being read).
    let word_start = !src[..pos.min(src.len())].ends_with(|c: char| c.is_alphanumeric() || c == '_');
    if let Some(attempts) = e.parse_attempts() {
        for t in attempts.expected_tokens() {
            // Character ranges, single identifier characters and pest's built-in character
            // classes (XID_START, XID_CONTINUE) come from inside `ident` and `number`: at the
            // start of a word they are said in words, inside one they say nothing useful.
            let s = t.to_string();
            let inside_word = s == "BUILTIN_RULE"
                || s.contains("..")
                || (s.chars().count() == 1 && s.chars().all(|c| c.is_alphanumeric() || c == '_'));
            if inside_word {
                let words = if s == "BUILTIN_RULE" || s.contains("a..") || s.contains("A..") {
                    "a name"
                } else if s.contains("0..") {
                    "a number"
                } else {
                    continue;
                };
                if word_start && !expected.iter().any(|x| x == words) {
                    expected.push(words.to_string());
                }
                continue;
            }
            if !s.trim().is_empty() && !expected.iter().any(|x| x == &format!("`{s}`")) {
                expected.push(format!("`{s}`"));
            }
        }
    }
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            if let Some(w) = rule_words(*r)
                && !expected.iter().any(|x| x == w)
            {
                expected.push(w.to_string());
            }
        }
    }
    // A comment may start anywhere, so `#` and `//` are always "expected"; saying so helps no one.
    // The item keywords are already said by the words for a new item.
    const ITEM_WORDS: &str = "`import`, `input`, `block`, `let` or `output`";
    let has_item_words = expected.iter().any(|x| x == ITEM_WORDS);
    expected.retain(|x| {
        x != "`#`"
            && x != "`//`"
            && !(has_item_words && ["`import`", "`input`", "`block`", "`let`", "`output`"].contains(&x.as_str()))
    });
    // Point at the offending token (a word, `->` or one character), or at the end of the line or file.
    let rest = &src[pos.min(src.len())..];
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let tok_len = match rest.chars().next() {
        None | Some('\n' | '\r') => 0,
        Some(c) if is_word(c) => rest.find(|c: char| !is_word(c)).unwrap_or(rest.len()),
        Some(_) if rest.starts_with("->") => 2,
        Some(c) => c.len_utf8(),
    }
    .min(20);
    let end = (pos + tok_len).min(src.len());
    let end = (pos..=end).rev().find(|&i| src.is_char_boundary(i)).unwrap_or(pos);
    let span = Span::new(file, pos..end.max(pos));
    let found = if rest.is_empty() {
        "end of file".to_string()
    } else if end == pos {
        "end of line".to_string()
    } else {
        format!("`{}`", &src[pos..end])
    };
    let expected_text = match expected.len() {
        0 => "something else".to_string(),
        1 => expected[0].clone(),
        n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };
    let mut d = Diagnostic::error(
        Code::Syntax,
        format!("expected {expected_text}, found {found}"),
        span,
        format!("expected {expected_text}"),
    );
    let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let next = rest.chars().next();
    let at = |range: std::ops::Range<usize>| Span::new(file, range);
    if let Some((help, replacement)) = next.and_then(lookalike) {
        d.message =
            format!("unexpected character `{}` (U+{:04X})", next.unwrap_or_default(), next.unwrap_or_default() as u32);
        d = d.with_fix(help, Suggestion::replace(span, replacement, Applicability::MachineApplicable));
    } else if next == Some('"') {
        let help = "only `import` paths are quoted: modes and names are written without quotes, e.g. `pad = same`";
        // `"same"` -> `same`, when the quotes hold one word.
        let quoted = rest[1..].find(['"', '\n']).map(|i| &rest[1..1 + i]).filter(|w| {
            !w.is_empty() && rest[1 + w.len()..].starts_with('"') && w.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
        d = match quoted {
            Some(w) => {
                d.with_fix(help, Suggestion::replace(at(pos..pos + w.len() + 2), w, Applicability::MachineApplicable))
            }
            None => d.with_help(help),
        };
    } else if expected.iter().any(|x| x == "a name") && KEYWORDS.contains(&word.as_str()) {
        d.message = format!("`{word}` is a keyword and cannot be used as a name");
        // The name's uses must be renamed too: not safe to apply blind.
        let renamed = format!("{word}_out");
        d = d.with_fix(
            format!("choose another name, e.g. `{renamed}`"),
            Suggestion::replace(at(pos..pos + word.len()), renamed, Applicability::MaybeIncorrect),
        );
    } else if rest.starts_with('=') && expected.iter().any(|x| x == "`->`") {
        d = d.with_help("layers are chained with `->`; to name a tensor write `let name = chain`");
    } else if expected.iter().any(|x| x == "`,`") && expected.iter().any(|x| x == "`)`") {
        // The comma goes right after the previous argument (a missing operator is as likely).
        let after = src[..pos].trim_end().len();
        d = d.with_fix(
            "separate arguments with commas: `conv(64, 3, stride = 2)`",
            Suggestion::replace(at(after..after), ",", Applicability::MaybeIncorrect),
        );
    } else if expected.iter().any(|x| x == "`}`") && ["block", "input", "output", "import"].contains(&word.as_str()) {
        // Where the body was meant to end is a guess: before the next item.
        d = d.with_fix(
            "a `{` before this is never closed: add the missing `}` at the end of its body",
            Suggestion {
                edits: vec![Edit::LineBefore { span, text: "}".into() }],
                applicability: Applicability::MaybeIncorrect,
            },
        );
    } else if expected.iter().any(|x| x == "`->`") && !word.is_empty() && !KEYWORDS.contains(&word.as_str()) {
        // A missing `let` or `output` is as likely as a missing arrow.
        d = d.with_fix(
            format!(
                "join the stages of a chain with `->` (`... -> {word}`); a new statement starts with `let`, `output`, `input`, `block` or `import`"
            ),
            Suggestion::replace(at(pos..pos), "-> ", Applicability::MaybeIncorrect),
        );
    }
    d
}

/// The fix for a character that looks like one of the language's but is not, and the
/// character(s) it stands for.
fn lookalike(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        '\u{2192}' | '\u{27F6}' | '\u{21D2}' => ("write the arrow as `->`", "->"),
        '\u{00D7}' | '\u{2715}' | '\u{2A2F}' => ("write shapes with the letter `x`: `3x224x224`", "x"),
        '\u{2212}' | '\u{2013}' | '\u{2014}' => ("write the minus sign as `-`", "-"),
        '\u{00A0}' | '\u{2007}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\u{3000}' | '\u{FEFF}' => {
            ("a non-breaking or other special space: replace it with a plain space", " ")
        }
        '\u{201C}' | '\u{201D}' | '\u{201E}' => ("write import paths in plain double quotes `\"`", "\""),
        _ => return None,
    })
}

struct Builder<'a> {
    file: FileId,
    src: &'a str,
    comments: &'a [trivia::Comment],
}

impl Builder<'_> {
    /// The pair's span without the whitespace and comments pest's implicit skipping leaves at
    /// its end.
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        let end = trivia::code_end(self.src, self.comments, s.end()).max(s.start());
        Span::new(self.file, s.start()..end)
    }

    fn ident(&self, p: Pair<Rule>) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn item(&self, p: Pair<Rule>) -> Item {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::import => {
                let s = p.into_inner().next().expect("import has a string");
                let inner = s.into_inner().next().expect("string has contents");
                Item::Import { path: inner.as_str().to_string(), span }
            }
            Rule::input_decl => Item::Input(self.input_decl(p)),
            Rule::block_def => Item::Block(self.block_def(p)),
            Rule::let_stmt => Item::Let(self.let_stmt(p)),
            Rule::output_stmt => Item::Output { chains: p.into_inner().map(|c| self.chain(c)).collect(), span },
            r => unreachable!("grammar yields no item {r:?}"),
        }
    }

    fn input_decl(&self, p: Pair<Rule>) -> InputDecl {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("input name"));
        let shape = it.next().expect("input shape");
        let shape_span = self.span(&shape);
        let dims = shape
            .into_inner()
            .next()
            .expect("shape form")
            .into_inner()
            .map(|d| (d.as_str().parse::<u64>().unwrap_or(u64::MAX), self.span(&d)))
            .collect();
        let normalize = it.next().map(|n| {
            let nspan = self.span(&n);
            (n.into_inner().next().map(|a| self.args(a)).unwrap_or_default(), nspan)
        });
        InputDecl { name, dims, shape_span, normalize, span }
    }

    fn block_def(&self, p: Pair<Rule>) -> BlockDef {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("block name"));
        let mut params = Vec::new();
        let mut next = it.next().expect("block body");
        if next.as_rule() == Rule::params {
            params = next.into_inner().map(|q| self.param(q)).collect();
            next = it.next().expect("block body");
        }
        let mut lets = Vec::new();
        let mut body = None;
        for s in next.into_inner() {
            match s.as_rule() {
                Rule::let_stmt => lets.push(self.let_stmt(s)),
                Rule::chain => body = Some(self.chain(s)),
                r => unreachable!("grammar yields no body item {r:?}"),
            }
        }
        BlockDef { name, params, lets, body: body.expect("body ends with a chain"), span }
    }

    fn param(&self, p: Pair<Rule>) -> Param {
        let span = self.span(&p);
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::ident if name.is_none() => name = Some(self.ident(q)),
                Rule::ident => ty = Some(self.ident(q)),
                Rule::expr => default = Some(self.expr(q)),
                r => unreachable!("grammar yields no param part {r:?}"),
            }
        }
        Param { name: name.expect("param name"), ty, default, span }
    }

    fn let_stmt(&self, p: Pair<Rule>) -> Let {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("let name"));
        let chain = self.chain(it.next().expect("let chain"));
        Let { name, chain, span }
    }

    fn chain(&self, p: Pair<Rule>) -> Chain {
        let span = self.span(&p);
        Chain { stages: p.into_inner().map(|s| self.stage(s)).collect(), span }
    }

    fn stage(&self, p: Pair<Rule>) -> Stage {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::call => Stage::Call(self.call(p)),
            Rule::repeat => {
                let mut it = p.into_inner();
                let count = self.expr(it.next().expect("repeat count"));
                let body = self.chain(it.next().expect("repeat body"));
                Stage::Repeat { count, body, span }
            }
            Rule::residual => {
                let keyword = Span::new(self.file, span.start..span.start + "residual".len());
                let mut it = p.into_inner();
                let body = self.chain(it.next().expect("residual body"));
                let shortcut = it.next().map(|s| self.chain(s.into_inner().next().expect("shortcut chain")));
                Stage::Residual { body, shortcut, span, keyword }
            }
            r => unreachable!("grammar yields no stage {r:?}"),
        }
    }

    fn call(&self, p: Pair<Rule>) -> Call {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("callee"));
        let mut args = None;
        let mut label = None;
        for q in it {
            match q.as_rule() {
                Rule::call_args => args = Some(q.into_inner().next().map(|a| self.args(a)).unwrap_or_default()),
                Rule::ident => label = Some(self.ident(q)),
                r => unreachable!("grammar yields no call part {r:?}"),
            }
        }
        Call { name, args, label, span }
    }

    fn args(&self, p: Pair<Rule>) -> Vec<Arg> {
        p.into_inner()
            .map(|a| {
                let span = self.span(&a);
                match a.as_rule() {
                    Rule::named_arg => {
                        let mut it = a.into_inner();
                        let name = self.ident(it.next().expect("arg name"));
                        Arg { name: Some(name), value: self.expr(it.next().expect("arg value")), span }
                    }
                    _ => Arg { name: None, value: self.expr(a), span },
                }
            })
            .collect()
    }

    fn expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::term => {
                let mut it = p.into_inner();
                let mut lhs = self.expr(it.next().expect("operand"));
                while let Some(op) = it.next() {
                    let rhs = self.expr(it.next().expect("operand"));
                    let op = match op.as_str() {
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        _ => BinOp::Div,
                    };
                    let s = lhs.span.to(rhs.span);
                    lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span: s };
                }
                lhs
            }
            Rule::unary => {
                let inner: Vec<Pair<Rule>> = p.into_inner().collect();
                let (negs, atom) = inner.split_at(inner.len() - 1);
                let mut e = self.expr(atom[0].clone());
                for _ in negs {
                    e = Expr { kind: ExprKind::Neg(Box::new(e)), span };
                }
                e
            }
            Rule::number => {
                let s = p.as_str();
                let kind = if s.contains(['.', 'e', 'E']) {
                    ExprKind::Float(s.parse().unwrap_or(f64::INFINITY))
                } else {
                    s.parse().map(ExprKind::Int).unwrap_or(ExprKind::Float(f64::INFINITY))
                };
                Expr { kind, span }
            }
            Rule::boolean => Expr { kind: ExprKind::Bool(p.as_str() == "true"), span },
            Rule::ident => Expr { kind: ExprKind::Name(p.as_str().to_string()), span },
            Rule::list => Expr { kind: ExprKind::List(p.into_inner().map(|e| self.expr(e)).collect()), span },
            Rule::func_call => {
                let mut it = p.into_inner();
                let name = self.ident(it.next().expect("function name"));
                Expr { kind: ExprKind::Call(name, it.map(|e| self.expr(e)).collect()), span }
            }
            r => unreachable!("grammar yields no expression {r:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nesting_error(src: &str) -> Option<String> {
        parse_file(0, src).err().map(|d| d.message).filter(|m| m.contains("nested"))
    }

    #[test]
    fn comment_markers_in_an_import_path_do_not_hide_deep_nesting() {
        let deep = format!("output x -> f({}1{})", "(".repeat(100), ")".repeat(100));
        for path in ["#", "//", "a#b"] {
            let src = format!("import \"{path}\" {deep}\n");
            assert_eq!(nesting_error(&src).as_deref(), Some("brackets nested more than 64 deep"), "{src}");
        }
        // Brackets in a comment or a string do not count.
        let shallow = format!("# {}\nimport \"{}\"\ninput x: 3\noutput x\n", "(".repeat(100), "[".repeat(100));
        assert!(parse_file(0, &shallow).is_ok());
    }
}
