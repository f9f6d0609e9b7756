//! UI snapshot tests: every `tests/ui/*.net` is checked and its rendered diagnostics (and, when
//! it has no errors, its layer table) are compared with `tests/snapshots/ui__ui@<case>.snap`.
//!
//! The text is the binary's own output (`netc::commands::main`): diagnostics on standard error
//! with the final summary, then the table. A case may start with a line
//! `# netc-options: --input-shape CxHxW` to check it as `netc check --input-shape CxHxW` would.
//! Files under `tests/ui/lib/` are helpers that the cases import; they are not cases themselves.
//!
//! Review a changed snapshot with `cargo insta review` (or `INSTA_UPDATE=always cargo test`
//! and `git diff`).

mod common;

use netc::compile::{Compilation, compile_source};
use netc::ir::LowerOptions;
use std::path::Path;

/// The options a case asks for in its `# netc-options:` line, as command-line arguments.
fn options(source: &str) -> Vec<String> {
    let line = source.lines().find_map(|l| l.strip_prefix("# netc-options:")).unwrap_or("");
    line.split_whitespace().map(str::to_string).collect()
}

/// The case's path relative to the crate root (as `netc check` is run there), so that
/// snapshots hold no absolute paths.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).to_str().expect("UTF-8 path").replace('\\', "/")
}

/// Checks a case as the library sees it (for its diagnostics' codes) and renders what
/// `netc check` prints for it.
pub fn check_relative(path: &Path) -> (Compilation, String) {
    let rel = relative(path);
    let source = std::fs::read_to_string(path).expect("readable case");
    let args = options(&source);
    let text = common::check_output(&rel, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let input_shape = args
        .windows(2)
        .find(|w| w[0] == "--input-shape")
        .map(|w| w[1].split('x').map(|d| d.parse().expect("a shape such as 3x64x64")).collect());
    let dir = Path::new(&rel).parent().unwrap_or(Path::new(".")).to_path_buf();
    let c = compile_source(&rel, source, &dir, &LowerOptions { input_shape, ..Default::default() });
    (c, text)
}

#[test]
fn ui() {
    // Imports resolve against the case's folder relative to the current directory, which
    // `cargo test` sets to the crate root.
    insta::glob!("ui/*.net", |path| {
        let (_, text) = check_relative(path);
        insta::assert_snapshot!(text);
    });
}

/// Each case's name says what it tests: `eNNNN_...`/`wNNNN_...` cases must report that code
/// (and, for `e` cases, fail), `ok_...` cases must pass without any diagnostic.
#[test]
fn case_names_match_their_diagnostics() {
    let mut seen_codes = std::collections::BTreeSet::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "net") {
            continue;
        }
        cases += 1;
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let (c, text) = check_relative(&path);
        let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
        seen_codes.extend(codes.iter().map(|s| s.to_string()));
        let prefix = stem.split('_').next().unwrap().to_uppercase();
        if stem.starts_with("ok_") {
            assert!(c.diagnostics.is_empty(), "{stem} should check cleanly:\n{text}");
        } else if stem.starts_with("multi_") {
            assert!(c.diagnostics.iter().filter(|d| d.is_error()).count() >= 2, "{stem}:\n{text}");
        } else {
            assert!(codes.contains(&prefix.as_str()), "{stem} should report {prefix}:\n{text}");
            if prefix.starts_with('E') {
                assert!(c.has_errors(), "{stem}:\n{text}");
            } else {
                assert!(!c.has_errors(), "{stem} should only warn:\n{text}");
            }
        }
    }
    assert!(cases >= 35, "only {cases} UI cases");
    // E0018 and E0019 concern weight and input files, which `netc run` reads; tests/run_cli.rs covers them.
    for code in netc::diag::Code::ALL.iter().filter(|c| !c.is_runtime()) {
        assert!(seen_codes.contains(code.as_str()), "no UI case reports {}", code.as_str());
    }
}
