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
    let grammar: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/net.tmLanguage.json")).expect("the grammar is JSON");
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
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{file}: the {what} differ from netc's: missing {missing:?}, not netc's {extra:?}"
    );
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
    let types = alternation(
        &grammar[grammar.find("\"typed-parameter\"").expect("a typed-parameter entry")..]
            .replacen("(int|", "(?:int|", 1),
    );
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

/// The tree-sitter command line (`tree-sitter`, or the one `$TREE_SITTER` names), or `None`
/// with a notice when it is not installed (`.ci/run` installs it).
fn tree_sitter() -> Option<String> {
    let cli = std::env::var("TREE_SITTER").unwrap_or_else(|_| "tree-sitter".into());
    match std::process::Command::new(&cli).arg("--version").output() {
        Ok(o) if o.status.success() => Some(cli),
        _ => {
            println!("skipped: `{cli}` is not installed (cargo install --locked tree-sitter-cli)");
            None
        }
    }
}

const TS_DIR: &str = "editors/tree-sitter-netc";

/// The tree-sitter tests one at a time: the command line compiles the parser into a cache shared
/// by its runs.
static TREE_SITTER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the tree-sitter command line in the grammar's folder.
fn run_tree_sitter(cli: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(cli)
        .args(args)
        .current_dir(root().join(TS_DIR))
        .output()
        .unwrap_or_else(|e| panic!("{cli} {args:?}: {e}"))
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// The committed parser (`src/`, which Helix and Neovim compile) is what `grammar.js` generates.
#[test]
fn tree_sitter_parser_is_generated_from_grammar_js() {
    let _serial = TREE_SITTER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cli) = tree_sitter() else { return };
    let out = std::env::temp_dir().join(format!("netc-tree-sitter-{}", std::process::id()));
    let o = run_tree_sitter(
        &cli,
        &["generate", "--abi", "14", "--output", out.to_str().expect("a UTF-8 path"), "grammar.js"],
    );
    assert!(o.status.success(), "tree-sitter generate failed:\n{}", text(&o));
    for file in ["parser.c", "grammar.json", "node-types.json"] {
        let fresh = std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let committed = read(&format!("{TS_DIR}/src/{file}"));
        assert!(
            fresh == committed,
            "{TS_DIR}/src/{file} is not what grammar.js generates: run `tree-sitter generate --abi 14` in {TS_DIR}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `tree-sitter test`: the corpus (`test/corpus/*.txt`) and the highlight tests.
#[test]
fn tree_sitter_corpus() {
    let _serial = TREE_SITTER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cli) = tree_sitter() else { return };
    let o = run_tree_sitter(&cli, &["test"]);
    println!("{}", text(&o));
    assert!(o.status.success(), "tree-sitter test failed:\n{}", text(&o));
}

/// Syntax errors that tree-sitter does not see: limits that netc checks on the text (E0001 all
/// the same), a main file whose error is in the file it imports, and a keyword used as a name
/// (tree-sitter reserves keywords only where one may stand, before its ABI 15, which the
/// Neovim and Helix of today's distributions cannot load).
const BEYOND_THE_GRAMMAR: &[&str] = &[
    "e0001_expression_too_long.net",
    "e0001_name_too_long.net",
    "e0001_nesting_too_deep.net",
    "e0001_in_imported_file.net",
    "e0001_keyword_as_name.net",
];

/// The tree-sitter grammar agrees with the pest grammar over every `.net` and `.netlib` file of
/// the repository: a file netc parses has no ERROR or MISSING node, and a file netc rejects
/// with a syntax error (E0001) has one, but for the few errors no grammar sees.
#[test]
fn tree_sitter_agrees_with_pest() {
    let _serial = TREE_SITTER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cli) = tree_sitter() else { return };
    let files = net_files();
    assert!(files.len() > 50, "the walk finds the repository's files ({} found)", files.len());
    let mut disagree = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut sources = netc::source::SourceMap::new();
        let id = sources.add(name, source.as_str());
        let pest_ok = netc::syntax::parse_file(id, &source).is_ok();
        let o = run_tree_sitter(&cli, &["parse", path.to_str().expect("a UTF-8 path")]);
        let tree = text(&o);
        let ts_ok = o.status.success() && !tree.contains("(ERROR") && !tree.contains("(MISSING");
        let rel = path.strip_prefix(root()).unwrap_or(path).display().to_string();
        if pest_ok && !ts_ok {
            disagree.push(format!("{rel}: netc parses it, tree-sitter does not:\n{tree}"));
        } else if !pest_ok && ts_ok && !BEYOND_THE_GRAMMAR.contains(&name) {
            disagree.push(format!("{rel}: netc rejects it, tree-sitter parses it"));
        }
    }
    for name in BEYOND_THE_GRAMMAR {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name} is still a UI case");
    }
    assert!(disagree.is_empty(), "{} of {} files:\n{}", disagree.len(), files.len(), disagree.join("\n"));
}
