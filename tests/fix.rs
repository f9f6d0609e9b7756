//! Structured suggestions: every `help:` that proposes an edit carries it (span + replacement,
//! with an applicability), applying it removes its diagnostic (over every UI case), `--format
//! json` shows it, and `netc check --fix` applies the machine-applicable ones on disk.

mod common;

use netc::compile::compile_file;
use netc::diag::{Applicability, Diagnostic, apply_edits, edits_by_file};
use netc::ir::LowerOptions;
use std::path::{Path, PathBuf};

/// A fresh copy of `tests/ui` (cases and their `lib/`) in a temporary folder named after `tag`.
fn ui_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netc-fix-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    for sub in ["", "lib"] {
        std::fs::create_dir_all(dir.join(sub)).expect("temporary folder");
        for entry in std::fs::read_dir(src.join(sub)).expect("tests/ui") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(sub).join(path.file_name().unwrap())).expect("copy");
            }
        }
    }
    dir
}

/// The checked-again position of byte `at` of a file after `edits` (sorted) were applied to it.
fn shifted(at: usize, edits: &[netc::diag::TextEdit]) -> usize {
    let mut out = at as isize;
    for e in edits.iter().filter(|e| e.span.end <= at) {
        out += e.text.len() as isize - (e.span.end - e.span.start) as isize;
    }
    out as usize
}

#[test]
fn applying_each_suggestion_of_every_ui_case_removes_its_diagnostic() {
    let cases: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui"))
            .expect("tests/ui")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "net"))
            .collect();
        v.sort();
        v
    };
    let mut fixed = Vec::new();
    let mut failures = Vec::new();
    let options = LowerOptions::default();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let count = compile_file(case, &options).expect("readable case").diagnostics.len();
        for i in 0..count {
            // Each fix on a fresh copy (it may edit an imported file).
            let dir = ui_copy("ui");
            let path = dir.join(&name);
            let c = compile_file(&path, &options).expect("readable case");
            let d: &Diagnostic = &c.diagnostics[i];
            let Some(suggestion) = &d.suggestion else { continue };
            let mut primary_edits = Vec::new();
            for (file, edits) in edits_by_file(&c.sources, [suggestion]) {
                assert_ne!(file, netc::syntax::PRELUDE_FILE, "{name}: a fix edits the prelude");
                let (text, _) = apply_edits(c.sources.source(file), &edits);
                std::fs::write(c.sources.name(file), text).expect("write the fixed file");
                if file == d.primary.span.file {
                    primary_edits = edits;
                }
            }
            let after = compile_file(&path, &options).expect("readable case");
            let at = shifted(d.primary.span.start, &primary_edits);
            let file = c.sources.name(d.primary.span.file);
            let still = after.diagnostics.iter().any(|e| {
                e.code == d.code
                    && e.message == d.message
                    && e.primary.span.start == at
                    && after.sources.name(e.primary.span.file) == file
            });
            let what = format!("{name}: {} ({})", d.code.as_str(), suggestion.applicability.as_str());
            if still {
                failures.push(format!("{what}: `{}` is still reported after its fix", d.message));
            } else {
                fixed.push(what);
            }
        }
    }
    let _ = std::fs::remove_dir_all(ui_copy("ui"));
    assert!(failures.is_empty(), "{failures:#?}");
    insta::assert_snapshot!("ui_cases_fixed", fixed.join("\n"));
}

#[test]
fn check_fix_applies_the_machine_applicable_fixes_and_reports_what_remains() {
    let dir = std::env::temp_dir().join(format!("netc-fix-{}-check", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let path = dir.join("seed_torch.net");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed_torch.net"), &path).expect("copy");
    let file = path.display().to_string();
    let (code, _, err) = common::netc(&["check", &file, "--fix"]);
    assert_eq!(code, 1, "E0007 remains: its projection changes the network, so `--fix` leaves it");
    let text = std::fs::read_to_string(&path).expect("fixed file");
    assert!(text.contains("dense(10, in_features = 401408)"), "{text}");
    insta::assert_snapshot!("check_fix_seed_torch", err.replace(&dir.display().to_string(), "$DIR"));
    // A file whose every error has a safe fix is fixed completely, in several rounds (the
    // parser stops at the first error).
    let arrows = dir.join("arrows.net");
    std::fs::write(&arrows, "input x: 3x8x8\noutput x → conv(4, 3, pad = \"same\") → relu\n").expect("write");
    let (code, out, err) = common::netc(&["check", &arrows.display().to_string(), "--fix"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 fixes applied"), "{err}");
    assert!(out.contains("total: 3 layers"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&arrows).unwrap(),
        "input x: 3x8x8\noutput x -> conv(4, 3, pad = same) -> relu\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_diagnostics_carry_their_suggestions() {
    let (_, out, _) = common::netc(&["check", "examples/seed_torch.net", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let suggestions: Vec<&serde_json::Value> =
        v["diagnostics"].as_array().unwrap().iter().map(|d| &d["suggestion"]).collect();
    insta::assert_snapshot!("json_suggestions", serde_json::to_string_pretty(&suggestions).unwrap());
}

#[test]
fn machine_applicable_fixes_keep_what_the_network_computes() {
    // The alias fix renames a layer to netc's name for the same layer.
    let src = "input x: 3x8x8\noutput x -> flatten -> linear(10)\n";
    let c = netc::compile::compile_source("t.net", src.to_string(), Path::new("."), &LowerOptions::default());
    let d = c.diagnostics.iter().find(|d| d.suggestion.is_some()).expect("a fix");
    let s = d.suggestion.as_ref().unwrap();
    assert_eq!(s.applicability, Applicability::MachineApplicable);
    let (fixed, n) = apply_edits(src, &s.text_edits(&c.sources));
    assert_eq!((fixed.as_str(), n), ("input x: 3x8x8\noutput x -> flatten -> dense(10)\n", 1));
}
