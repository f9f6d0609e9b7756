//! The editor support in `editors/` against netc itself: the word lists of the VS Code grammar
//! and of the tree-sitter highlighting queries are netc's (keywords from `grammar/net.pest`,
//! built-in layers from `netc::ops::BUILTINS`, blocks from the prelude, parameter types, mode
//! words and expression functions from lowering), and the tree-sitter grammar accepts what the
//! pest grammar accepts.

use netc::compile::compile_source;
use netc::ir::LowerOptions;
use netc::ops::sig::{Ty, symbol};
use netc::syntax::ast::Item;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The words of the first alternation `(?:a|b|c)` in `regex`.
fn alternation(regex: &str) -> BTreeSet<String> {
    let start = regex.find("(?:").unwrap_or_else(|| panic!("no (?:...) in {regex}")) + 3;
    let end = start + regex[start..].find(')').expect("the group closes");
    regex[start..end].split('|').map(str::to_string).collect()
}

/// The words of the VS Code grammar's repository entry `entry` (its `match`, or the matches of
/// its `patterns`).
fn grammar_words(entry: &str) -> BTreeSet<String> {
    let grammar: serde_json::Value = serde_json::from_str(&read("editors/vscode/syntaxes/net.tmLanguage.json")).expect("the grammar is JSON");
    let e = &grammar["repository"][entry];
    let matches: Vec<&str> = match e["patterns"].as_array() {
        Some(ps) => ps.iter().map(|p| p["match"].as_str().expect("a match")).collect(),
        None => vec![e["match"].as_str().unwrap_or_else(|| panic!("repository.{entry} has a match"))],
    };
    matches.into_iter().flat_map(alternation).collect()
}

/// The words of the tree-sitter highlight query whose capture is `capture`
/// (`((identifier) @capture (#match? @capture "^(a|b)$"))`).
fn query_words(capture: &str) -> BTreeSet<String> {
    let q = read("editors/tree-sitter-netc/queries/highlights.scm");
    let needle = format!("(#match? @{capture} \"^(");
    let start = q.find(&needle).unwrap_or_else(|| panic!("no {needle} in highlights.scm")) + needle.len();
    let end = start + q[start..].find(")$\"").expect("the pattern closes");
    q[start..end].split('|').map(str::to_string).collect()
}

fn builtins() -> BTreeSet<String> {
    netc::ops::BUILTINS.iter().map(|b| b.sig.name.to_string()).collect()
}

fn prelude_blocks() -> BTreeSet<String> {
    let mut sources = netc::source::SourceMap::new();
    let id = sources.add("<prelude>", netc::syntax::PRELUDE);
    let file = netc::syntax::parse_file(id, netc::syntax::PRELUDE).expect("the prelude parses");
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::Block(b) => Some(b.name.name.clone()),
            _ => None,
        })
        .collect()
}

/// The keywords of the pest grammar's `keyword` rule.
fn pest_keywords() -> BTreeSet<String> {
    let pest = read("grammar/net.pest");
    let rule = pest.lines().find(|l| l.trim_start().starts_with("keyword")).expect("net.pest has a keyword rule");
    rule.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// The words of the built-ins' mode parameters (`mode = bilinear`).
fn mode_words() -> BTreeSet<String> {
    netc::ops::BUILTINS
        .iter()
        .flat_map(|b| b.sig.params)
        .filter_map(|p| match p.ty {
            Ty::Mode(words) => Some(words.iter().map(|w| w.to_string())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Whether `f(in)` is a function of netc's expressions: a block using it lowers without an
/// "unknown function" diagnostic.
fn is_function(f: &str) -> bool {
    let src = format!("input x: 3x8x8\nblock b() {{ conv({f}(in), 1) }}\noutput x -> b\n");
    let c = compile_source("f.net", src, Path::new("."), &LowerOptions::default());
    !c.diagnostics.iter().any(|d| d.message.contains("unknown function"))
}

fn assert_same(what: &str, file: &str, listed: BTreeSet<String>, netc: BTreeSet<String>) {
    let missing: Vec<_> = netc.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&netc).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{file}: the {what} differ from netc's: missing {missing:?}, not netc's {extra:?}");
}

const TM: &str = "editors/vscode/syntaxes/net.tmLanguage.json";
const TS: &str = "editors/tree-sitter-netc/queries/highlights.scm";

#[test]
fn grammar_builtins_are_the_registry() {
    assert_same("built-in layers", TM, grammar_words("builtin-layer"), builtins());
    assert_same("built-in layers", TS, query_words("function.builtin"), builtins());
}

#[test]
fn grammar_prelude_blocks_are_the_prelude() {
    assert_same("prelude blocks", TM, grammar_words("prelude-block"), prelude_blocks());
    assert_same("prelude blocks", TS, query_words("function.macro"), prelude_blocks());
}

#[test]
fn grammar_keywords_are_the_pest_keywords() {
    let tm: BTreeSet<String> = grammar_words("keyword").union(&grammar_words("boolean")).cloned().collect();
    assert_same("keywords", TM, tm, pest_keywords());
    let ts = read(TS);
    for k in pest_keywords() {
        assert!(ts.contains(&format!("\"{k}\"")), "{TS}: keyword `{k}` is not highlighted");
    }
}

#[test]
fn grammar_mode_words_and_types_are_netcs() {
    for (file, words) in [(TM, grammar_words("mode")), (TS, query_words("constant.builtin"))] {
        for w in &words {
            assert!(symbol(w).is_some(), "{file}: `{w}` is not a mode word of netc");
        }
        for w in mode_words() {
            assert!(words.contains(&w), "{file}: the mode word `{w}` is missing");
        }
    }
    let grammar = read(TM);
    let types = alternation(&grammar[grammar.find("\"typed-parameter\"").expect("a typed-parameter entry")..].replacen("(int|", "(?:int|", 1));
    for t in types {
        assert!(Ty::from_name(&t).is_some(), "{TM}: `{t}` is not a parameter type of netc");
    }
}

#[test]
fn grammar_functions_are_netcs() {
    assert!(!is_function("depth"), "the probe tells functions from other names");
    for (file, words) in [(TM, grammar_words("function")), (TS, query_words("function"))] {
        for f in words {
            assert!(is_function(&f), "{file}: `{f}` is not a function of netc's expressions");
        }
    }
}

/// Every `.net` and `.netlib` file of the repository outside `editors/` and `target/`.
fn net_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                if !name.starts_with('.') && !["target", "editors", "node_modules"].contains(&name) {
                    walk(&path, out);
                }
            } else if name.ends_with(".net") || name.ends_with(".netlib") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["examples", "grammar", "tests", "book/src", "fuzz"] {
        if root().join(dir).is_dir() {
            walk(&root().join(dir), &mut out);
        }
    }
    out.sort();
    out
}
