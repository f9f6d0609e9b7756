//! Replays every file of the committed fuzz corpus (`fuzz/corpus/<target>/`) and every io
//! fixture (`tests/fixtures/io/`, hostile files included) through the fuzz targets' bodies,
//! `netc::fuzz::*`: each must return without panicking. The corpus holds what the fuzzer kept
//! and every crash it found, so this is the fuzzing as an ordinary, offline `cargo test`.

use std::path::{Path, PathBuf};

/// The files of `dir` and its subfolders, sorted so that failures are reported in a fixed order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Runs `target` on its corpus and on the fixtures with its extension; fails naming every file
/// that panicked (the panic messages are printed above the failure).
fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files_under(&root.join("fuzz/corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ is empty");
    let fixtures =
        files_under(&root.join("tests/fixtures/io")).into_iter().filter(|p| p.extension().is_some_and(|e| e == target));
    let panicked: Vec<String> = corpus
        .into_iter()
        .chain(fixtures)
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| run(&bytes)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(panicked.is_empty(), "netc::fuzz::{target} panicked on:\n{}", panicked.join("\n"));
}

#[test]
fn npy_corpus_replays() {
    replay("npy", netc::fuzz::npy);
}

#[test]
fn npz_corpus_replays() {
    replay("npz", netc::fuzz::npz);
}

#[test]
fn safetensors_corpus_replays() {
    replay("safetensors", netc::fuzz::safetensors);
}

#[test]
fn check_corpus_replays() {
    replay("check", netc::fuzz::check);
}

#[test]
fn fmt_corpus_replays() {
    replay("fmt", netc::fuzz::fmt);
}

#[test]
fn pipeline_corpus_replays() {
    replay("pipeline", netc::fuzz::pipeline);
}

#[test]
fn weights_corpus_replays() {
    replay("weights", netc::fuzz::weights);
}

#[test]
fn onnx_corpus_replays() {
    replay("onnx", netc::fuzz::onnx);
}

#[test]
fn lsp_corpus_replays() {
    replay("lsp", netc::fuzz::lsp);
}
