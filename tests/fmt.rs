//! `netc fmt`: over every `.net` file of the repository, formatting is idempotent, keeps every
//! comment and changes neither the AST nor the checked network; the repository's files are
//! formatted; the examples' formatted text is snapshotted; random programs with random layout and
//! comments keep their AST; the command line checks, rewrites and filters.

use netc::compile::compile_source;
use netc::fmt::format_source;
use netc::ir::LowerOptions;
use netc::syntax::parse_file;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file in the language under `dir` (relative to the crate root), recursively.
fn net_files(dir: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root().join(dir)).expect("readable folder") {
        let path = entry.expect("entry").path();
        let rel = path.strip_prefix(root()).expect("under the root").to_str().expect("UTF-8").replace('\\', "/");
        if path.is_dir() {
            net_files(&rel, out);
        } else if path.extension().is_some_and(|e| e == "net" || e == "netlib") {
            out.push(PathBuf::from(rel));
        }
    }
}

/// The repository's files in the language, relative to the crate root, with their text.
fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = vec![PathBuf::from("grammar/prelude.net")];
    for dir in ["examples", "tests/ui", "tests/fmt", "book/src"] {
        net_files(dir, &mut files);
    }
    files.sort();
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(root().join(&f)).expect("readable"))).collect()
}

/// The AST's debug text with every span left out, so two parses compare by content.
fn ast_without_spans(src: &str) -> String {
    let text = format!("{:?}", parse_file(0, src).expect("parses"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i + "Span".len()]);
        rest = &rest[i..];
        rest = &rest[rest.find('}').map_or(rest.len(), |e| e + 1)..];
    }
    out.push_str(rest);
    out
}

fn comment_texts(src: &str) -> Vec<String> {
    let mut texts: Vec<String> = parse_file(0, src).expect("parses").comments.into_iter().map(|c| c.text).collect();
    texts.sort();
    texts
}

#[test]
fn formatting_is_idempotent_and_keeps_the_ast_and_every_comment() {
    let mut formatted = 0;
    for (path, src) in corpus() {
        let Ok(once) = format_source(&src) else { continue };
        let twice =
            format_source(&once).unwrap_or_else(|d| panic!("{}: formatted text does not parse: {d:?}", path.display()));
        assert_eq!(once, twice, "{}: formatting the formatted text changes it", path.display());
        assert_eq!(comment_texts(&src), comment_texts(&once), "{}: comments differ", path.display());
        assert_eq!(ast_without_spans(&src), ast_without_spans(&once), "{}: the AST changed", path.display());
        formatted += 1;
    }
    assert!(formatted >= 75, "only {formatted} files formatted");
}

/// Every prefix of every file: most do not parse, and nothing panics; those that do are formatted
/// like any file.
#[test]
fn truncated_files_never_panic() {
    for (path, src) in corpus() {
        for end in (0..src.len()).filter(|&i| src.is_char_boundary(i)) {
            let cut = &src[..end];
            let Ok(once) = format_source(cut) else { continue };
            let at = format!("{} cut at byte {end}", path.display());
            assert_eq!(format_source(&once).as_ref().ok(), Some(&once), "{at}: not idempotent");
            assert_eq!(ast_without_spans(cut), ast_without_spans(&once), "{at}: the AST changed");
        }
    }
}

/// The deepest inputs the parser accepts (64 brackets, 256 operators) format on a thread with the
/// default 2 MiB stack.
#[test]
fn deep_inputs_format_on_a_small_stack() {
    let cases = [
        format!("input x: 3\noutput x -> f({}1{})\n", "(".repeat(62), ")".repeat(62)),
        format!("input x: 3\noutput x -> f({}1{})\n", "[".repeat(62), "]".repeat(62)),
        format!("input x: 3\noutput x -> f(1{})\n", " + 1".repeat(255)),
        format!("input x: 3\noutput x -> f({}1)\n", "-".repeat(255)),
        format!("input x: 3\noutput x{}\n", " -> residual { relu".repeat(30) + &" }".repeat(30)),
    ];
    for src in cases {
        let formatted = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || format_source(&src).map(|f| (f.clone(), format_source(&f).ok())))
            .expect("thread")
            .join()
            .expect("no stack overflow");
        let (once, twice) = formatted.unwrap_or_else(|d| panic!("does not parse: {}", d.message));
        assert_eq!(twice.as_ref(), Some(&once));
    }
}

#[test]
fn formatted_files_check_to_the_same_network() {
    for (path, src) in corpus() {
        let Ok(formatted) = format_source(&src) else { continue };
        if path.extension().is_some_and(|e| e == "netlib") {
            continue;
        }
        // Named and resolved like `netc check <path>` run from the crate root.
        let name = path.to_str().expect("UTF-8");
        let dir = path.parent().expect("a folder");
        let summary = |text: String| {
            let c = compile_source(name, text, dir, &LowerOptions::default());
            let rows: Vec<_> = netc::check::layer_table(&c.graph)
                .rows
                .into_iter()
                .map(|r| (r.path, r.op, r.shape, r.params, r.flops))
                .collect();
            let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
            (rows, codes)
        };
        assert_eq!(summary(src), summary(formatted), "{}: the checked network changed", path.display());
    }
}

/// Every file that parses is formatted, but `tests/fmt/`'s inputs, which are written not to be.
#[test]
fn the_repository_is_formatted() {
    let unformatted: Vec<String> = corpus()
        .into_iter()
        .filter(|(path, _)| !path.starts_with("tests/fmt"))
        .filter(|(_, src)| format_source(src).is_ok_and(|f| &f != src))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "not formatted (run `netc fmt` on them): {unformatted:?}");
}

#[test]
fn formatted_examples() {
    insta::glob!("../examples", "**/*.net", |path| {
        let src = std::fs::read_to_string(path).expect("readable example");
        insta::assert_snapshot!(format_source(&src).expect("examples parse"));
    });
}

/// Golden files: a comment in every place one can be, and layouts to rewrite.
#[test]
fn formatted_inputs() {
    insta::glob!("fmt/*.net", |path| {
        let src = std::fs::read_to_string(path).expect("readable input");
        insta::assert_snapshot!(format_source(&src).expect("inputs parse"));
    });
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    let d = format_source("input x: 3x32x32\noutput x -> conv(16 3)\n").expect_err("a missing comma");
    assert_eq!(d.code.as_str(), "E0001");
}

#[test]
fn comments_are_on_the_ast() {
    // What a language server needs to show the comment above a block.
    let src = "import \"lib/#1.netlib\"  # path with a hash\n\n# Two convolutions.\n// Keeps the size.\nblock pair(c: int) { conv(c, 3) -> conv(c, 3) }  # after\n";
    let file = parse_file(0, src).expect("parses");
    let texts: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["# path with a hash", "# Two convolutions.", "// Keeps the size.", "# after"]);
    let block = file.items.iter().find_map(|i| if let netc::syntax::ast::Item::Block(b) = i { Some(b) } else { None });
    let start = block.expect("a block").span.start;
    let above: Vec<&str> =
        file.comments.iter().filter(|c| c.span.end < start).skip(1).map(|c| c.text.as_str()).collect();
    assert_eq!(above, ["# Two convolutions.", "// Keeps the size."]);
    assert_eq!(&src[file.comments[3].span.range()], "# after");
}

// Random programs: tokens of every construct, joined by random whitespace and comments.

fn word(s: &str) -> Vec<String> {
    vec![s.to_string()]
}

fn name() -> impl Strategy<Value = Vec<String>> {
    prop::sample::select(&["a", "b", "c", "x", "conv", "relu", "vgg", "stem", "_t2", "k"][..]).prop_map(word)
}

/// Tokens of `open element (, element)* [,] close`.
fn bracketed(open: &str, elements: Vec<Vec<String>>, trailing_comma: bool, close: &str) -> Vec<String> {
    let mut t = word(open);
    let n = elements.len();
    for (i, e) in elements.into_iter().enumerate() {
        t.extend(e);
        if i + 1 < n || trailing_comma {
            t.push(",".into());
        }
    }
    t.push(close.into());
    t
}

fn expr() -> impl Strategy<Value = Vec<String>> {
    let number = prop::sample::select(&["0", "3", "64", "007", "0.5", "1e-5", "2.5E3", "1e+2", "0.00392"][..]);
    let leaf = prop_oneof![number.prop_map(word), name(), prop::sample::select(&["true", "false"][..]).prop_map(word)];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                .prop_map(|(items, comma)| bracketed("[", items, comma, "]")),
            inner.clone().prop_map(|e| [word("("), e, word(")")].concat()),
            (name(), prop::collection::vec(inner.clone(), 0..3), any::<bool>()).prop_map(|(n, args, comma)| [
                n,
                bracketed("(", args, comma, ")")
            ]
            .concat()),
            inner.clone().prop_map(|e| [word("-"), e].concat()),
            (inner.clone(), prop::sample::select(&["+", "-", "*", "/"][..]), inner).prop_map(|(l, op, r)| [
                l,
                word(op),
                r
            ]
            .concat()),
        ]
    })
}

fn args() -> impl Strategy<Value = Vec<String>> {
    let arg = prop_oneof![expr(), (name(), expr()).prop_map(|(n, e)| [n, word("="), e].concat())];
    (prop::collection::vec(arg, 0..4), any::<bool>()).prop_map(|(args, comma)| bracketed("(", args, comma, ")"))
}

fn chain_of(stage: impl Strategy<Value = Vec<String>>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(stage, 1..5).prop_map(|stages| stages.join(&"->".to_string()))
}

fn chain() -> impl Strategy<Value = Vec<String>> {
    let call = (name(), prop::option::of(args()), prop::option::of(name())).prop_map(|(n, args, label)| {
        let label = label.map(|l| [word("as"), l].concat()).unwrap_or_default();
        [n, args.unwrap_or_default(), label].concat()
    });
    let stage = call.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (expr(), chain_of(inner.clone()))
                .prop_map(|(n, body)| [word("repeat"), n, word("{"), body, word("}")].concat()),
            (chain_of(inner.clone()), prop::option::of(chain_of(inner))).prop_map(|(body, shortcut)| {
                let shortcut =
                    shortcut.map(|s| [word("shortcut"), word("{"), s, word("}")].concat()).unwrap_or_default();
                [word("residual"), word("{"), body, word("}"), shortcut].concat()
            }),
        ]
    });
    chain_of(stage)
}

fn item() -> impl Strategy<Value = Vec<String>> {
    let param =
        (name(), prop::option::of(prop::sample::select(&["int", "float", "list"][..])), prop::option::of(expr()))
            .prop_map(|(n, ty, default)| {
                let ty = ty.map(|t| vec![":".to_string(), t.to_string()]).unwrap_or_default();
                let default = default.map(|d| [word("="), d].concat()).unwrap_or_default();
                [n, ty, default].concat()
            });
    let let_stmt = || (name(), chain()).prop_map(|(n, c)| [word("let"), n, word("="), c].concat());
    let shape = prop::sample::select(&["3x32x32", "128", "[3, 224, 224]", "[ 8 , 8, ]"][..])
        .prop_map(|s| s.split(' ').map(str::to_string).collect::<Vec<_>>());
    prop_oneof![
        Just(vec!["import".to_string(), "\"lib/a#b//c.netlib\"".to_string()]),
        (name(), shape, prop::option::of(args())).prop_map(|(n, shape, normalize)| {
            let normalize = normalize.map(|a| [word("normalize"), a].concat()).unwrap_or_default();
            [word("input"), n, word(":"), shape, normalize].concat()
        }),
        (name(), prop::collection::vec(param, 0..4), any::<bool>(), prop::collection::vec(let_stmt(), 0..3), chain())
            .prop_map(|(n, params, comma, lets, body)| {
                let params = bracketed("(", params, comma, ")");
                [word("block"), n, params, word("{"), lets.concat(), body, word("}")].concat()
            }),
        let_stmt(),
        prop::collection::vec(chain(), 1..3)
            .prop_map(|chains| [word("output"), chains.join(&",".to_string())].concat()),
    ]
}

/// `tokens` joined by separators picked by `picks` in turn: spaces, line breaks, blank lines,
/// tabs and comments of both kinds.
fn layout(tokens: &[String], picks: &[u8]) -> String {
    let mut src = String::new();
    for (i, t) in tokens.iter().enumerate() {
        src.push_str(t);
        let separator = match picks[i % picks.len()] % 12 {
            0..=4 => " ".to_string(),
            5 => "\n".to_string(),
            6 => "\n    ".to_string(),
            7 => "\n\n".to_string(),
            8 => "\t".to_string(),
            9 => format!("  # c{i}\n"),
            10 => format!("\n// c{i}\n\n"),
            _ => format!(" #c{i} with \"quotes\" and # more\n   "),
        };
        src.push_str(&separator);
    }
    src
}

#[test]
fn random_programs_keep_their_ast_and_comments() {
    let config = Config { cases: 1000, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let program = (prop::collection::vec(item(), 1..6), prop::collection::vec(any::<u8>(), 1..40));
    let result = runner.run(&program, |(items, picks)| {
        let src = layout(&items.concat(), &picks);
        let once = format_source(&src).map_err(|d| TestCaseError::fail(format!("{src}\ndoes not parse: {d:?}")))?;
        let twice = format_source(&once).map_err(|d| TestCaseError::fail(format!("{once}\ndoes not parse: {d:?}")))?;
        prop_assert_eq!(&once, &twice, "not idempotent; source:\n{}", src);
        prop_assert_eq!(
            ast_without_spans(&src),
            ast_without_spans(&once),
            "AST changed; source:\n{}\nformatted:\n{}",
            src,
            once
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// The command line, as users run it.

fn netc(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netc runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes()).expect("stdin written");
    let out = child.wait_with_output().expect("netc ends");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

const UNFORMATTED: &str = "input x : 3x32x32\noutput x->conv( 16,3 )  ->relu # head\n";
const FORMATTED: &str = "input x: 3x32x32\noutput x -> conv(16, 3) -> relu  # head\n";

/// A fresh folder for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fmt").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn check_prints_a_diff_and_changes_nothing() {
    let dir = scratch("check");
    let (bad, good) = (dir.join("bad.net"), dir.join("good.net"));
    std::fs::write(&bad, UNFORMATTED).unwrap();
    std::fs::write(&good, FORMATTED).unwrap();
    let (bad_name, good_name) = (bad.to_str().unwrap(), good.to_str().unwrap());
    let (code, out, err) = netc(&["fmt", "--check", bad_name, good_name], "");
    assert_eq!((code, err.as_str()), (1, ""));
    let expected = format!(
        "--- {bad_name}\n+++ {bad_name}\n@@ -1,2 +1,2 @@\n-input x : 3x32x32\n-output x->conv( 16,3 )  ->relu # head\n+input x: 3x32x32\n+output x -> conv(16, 3) -> relu  # head\n"
    );
    assert_eq!(out, expected);
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), UNFORMATTED);
    assert_eq!(netc(&["fmt", "--check", good_name], ""), (0, String::new(), String::new()));
}

#[test]
fn files_are_rewritten_in_place() {
    let dir = scratch("in_place");
    let file = dir.join("net.net");
    std::fs::write(&file, UNFORMATTED).unwrap();
    let name = file.to_str().unwrap();
    assert_eq!(netc(&["fmt", name], ""), (0, String::new(), String::new()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FORMATTED);
    assert_eq!(netc(&["fmt", "--check", name], ""), (0, String::new(), String::new()));
}

#[test]
fn stdin_is_formatted_to_stdout() {
    assert_eq!(netc(&["fmt", "--stdin"], UNFORMATTED), (0, FORMATTED.to_string(), String::new()));
    let (code, out, _) = netc(&["fmt", "--stdin", "--check"], UNFORMATTED);
    assert_eq!(code, 1);
    assert!(out.starts_with("--- <stdin>\n+++ <stdin>\n"), "{out}");
    assert_eq!(netc(&["fmt", "--stdin", "--check"], FORMATTED), (0, String::new(), String::new()));
}

#[test]
fn syntax_and_io_errors() {
    let (code, out, err) = netc(&["fmt", "--stdin"], "output x -> conv(16 3)\n");
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("error[E0001]: expected") && err.contains("<stdin>:1:"), "{err}");

    let dir = scratch("errors");
    let broken = dir.join("broken.net");
    std::fs::write(&broken, "output x ->\n").unwrap();
    let (code, _, err) = netc(&["fmt", broken.to_str().unwrap()], "");
    assert!(code == 1 && err.contains("error[E0001]"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "output x ->\n",
        "a file that does not parse is left as it is"
    );

    let missing = dir.join("missing.net");
    let (code, _, err) = netc(&["fmt", "--check", broken.to_str().unwrap(), missing.to_str().unwrap()], "");
    assert_eq!(code, 2, "an I/O error outranks a syntax error");
    assert!(err.contains("cannot read") && err.contains("missing.net"), "{err}");
}
