//! No input makes checking panic: truncations and deterministic garbles of every example and
//! UI case, very long networks and deeply nested blocks.

use netc::compile::{Compilation, compile_source};
use netc::ir::LowerOptions;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The corpus: every example and every UI case, by path relative to the crate root.
fn corpus() -> Vec<(PathBuf, String)> {
    let files = corpus_in(&["examples", "tests/ui"]);
    assert!(files.len() >= 40, "corpus has only {} files", files.len());
    files
}

/// The `.net` files of some folders of the crate.
fn corpus_in(dirs: &[&str]) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(root.join(dir)).expect("folder exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "net") {
                let rel = path.strip_prefix(root).expect("under the root").to_path_buf();
                files.push((rel, std::fs::read_to_string(&path).expect("readable")));
            }
        }
    }
    files.sort();
    files
}

fn compile(rel: &Path, source: String) -> Compilation {
    let dir = rel.parent().unwrap_or(Path::new("."));
    compile_source(&rel.display().to_string(), source, dir, &LowerOptions::default())
}

/// Compiles `source` and renders its diagnostics (rendering must not panic either);
/// returns the panic message if anything panicked.
fn survives(rel: &Path, source: String) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        let c = compile(rel, source);
        let text = netc::diag::render_human(&c.sources, &c.diagnostics, false);
        for d in &c.diagnostics {
            let _ = netc::diag::to_json(&c.sources, d);
        }
        if !c.has_errors() {
            let _ = netc::check::layer_table(&c.graph).render();
            let _ = netc::check::graph_json(&c.graph, 1);
        }
        text.len()
    }))
    .map(|_| ())
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Runs `f` on a thread with the default 2 MiB stack of spawned threads (the `netc` binary
/// gives itself far more), so a recursion that grows with the input shows up here.
fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("thread").join().expect("no panic")
}

/// A tiny deterministic generator (Knuth's MMIX LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    "->",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "0",
    "1",
    "-1",
    "999999999999999999999",
    "1e999",
    "x",
    "in",
    "repeat 100000000",
    "repeat 3",
    "residual {",
    "shortcut {",
    "add(x)",
    "concat(x, x)",
    "let",
    "output",
    "block",
    "import \"lib/cycle_a.netlib\"",
    "as",
    ":",
    "\n",
    "# comment",
    "é",
    "\"",
    "/",
    "*",
];

/// One random edit of `src`.
fn garble(src: &str, rng: &mut Lcg) -> String {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let i = rng.below(n + 1);
    let len = 1 + rng.below(8);
    let j = (i + len).min(n);
    let mut out: Vec<u8> = Vec::with_capacity(n + 32);
    match rng.below(6) {
        // Delete a short range.
        0 => {
            out.extend_from_slice(&bytes[..i]);
            out.extend_from_slice(&bytes[j..]);
        }
        // Duplicate a short range.
        1 => {
            out.extend_from_slice(&bytes[..j]);
            out.extend_from_slice(&bytes[i..]);
        }
        // Swap two bytes.
        2 => {
            out.extend_from_slice(bytes);
            if n > 0 {
                let k = rng.below(n);
                out.swap(i.min(n - 1), k);
            }
        }
        // Replace one byte with a printable one.
        3 => {
            out.extend_from_slice(bytes);
            if n > 0 {
                out[i.min(n - 1)] = b" !\"#()*+,-./0123456789:=[]_abcxyz{}"[rng.below(35)];
            }
        }
        // Replace a short range with a token.
        4 => {
            out.extend_from_slice(&bytes[..i]);
            out.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
            out.extend_from_slice(&bytes[j..]);
        }
        // Insert a token.
        _ => {
            out.extend_from_slice(&bytes[..i]);
            out.push(b' ');
            out.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
            out.push(b' ');
            out.extend_from_slice(&bytes[i..]);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn report(failures: &[(PathBuf, String, String)]) {
    if let Some((path, input, msg)) = failures.first() {
        panic!(
            "{} inputs panicked; the first, derived from {}, panicked with `{msg}`:\n----\n{input}\n----",
            failures.len(),
            path.display()
        );
    }
}

/// Checks every input `inputs` makes (each named after the file it derives from) on a thread
/// with a small stack, and panics with the first that panicked netc. The inputs are made on that
/// thread, one at a time, so that large families need not be held in memory.
fn all_survive<I: Iterator<Item = (PathBuf, String)>>(inputs: impl FnOnce() -> I + Send + 'static) {
    let failures = on_thread(move || {
        inputs()
            .filter_map(|(rel, input)| survives(&rel, input.clone()).err().map(|msg| (rel, input, msg)))
            .collect::<Vec<_>>()
    });
    report(&failures);
}

/// Checks every prefix (cut at every char boundary) of every file in `dirs`.
fn every_prefix_of(dirs: &'static [&'static str]) {
    all_survive(|| {
        corpus_in(dirs).into_iter().flat_map(|(rel, src)| {
            let cuts: Vec<usize> = (0..=src.len()).filter(|&i| src.is_char_boundary(i)).collect();
            cuts.into_iter().map(move |cut| (rel.clone(), src[..cut].to_string()))
        })
    });
}

#[test]
fn every_prefix_of_the_examples_checks_without_panicking() {
    every_prefix_of(&["examples"]);
}

#[test]
fn every_prefix_of_the_ui_cases_checks_without_panicking() {
    every_prefix_of(&["tests/ui"]);
}

/// Garbled variants per corpus file; `NETC_GARBLE_ROUNDS=20000 cargo test --release --test
/// robustness garbled` searches much harder.
fn garble_rounds() -> usize {
    std::env::var("NETC_GARBLE_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60)
}

#[test]
fn garbled_inputs_check_without_panicking() {
    let per_file = garble_rounds();
    all_survive(move || {
        let mut rng = Lcg(0x5eed);
        corpus().into_iter().flat_map(move |(rel, src)| {
            (0..per_file)
                .map(|round| {
                    // Some inputs get several edits on top of each other.
                    let mut input = garble(&src, &mut rng);
                    for _ in 0..round % 4 {
                        input = garble(&input, &mut rng);
                    }
                    (rel.clone(), input)
                })
                .collect::<Vec<_>>()
        })
    });
}

#[test]
fn odd_inputs_check_without_panicking() {
    let rel = Path::new("tests/ui/odd.net");
    let cases = [
        String::new(),
        "\n\n\n".to_string(),
        "#".to_string(),
        "\u{feff}input x: 3x32x32\noutput x".to_string(),
        "input x: 3x32x32\r\noutput x -> relu\r\n".to_string(),
        "input x: 0x0x0\noutput x -> conv(1)".to_string(),
        "input x: 18446744073709551616x1x1\noutput x".to_string(),
        "input x: 16777216x16777216x16777216\noutput x -> conv(16777216, 16777216)".to_string(),
        "input x: 3x32x32\noutput x -> conv(9223372036854775807)".to_string(),
        "input x: 3x32x32\noutput x -> conv(-9223372036854775807 - 1)".to_string(),
        "input x: 3x32x32\noutput x -> conv(--------3)".to_string(),
        "input x: 3x32x32\noutput x -> maxpool(3, pad = 5)".to_string(),
        "input x: 3x32x32\noutput x -> avgpool(1000)".to_string(),
        "input x: 3x32x32\noutput x -> repeat 0 { relu }".to_string(),
        "input x: 3x32x32\noutput x -> repeat -1 { relu }".to_string(),
        "input x: 3x32x32\noutput x -> repeat 1.5 { relu }".to_string(),
        "input x: 3x32x32\noutput x -> residual { flatten }".to_string(),
        "input x: 3x32x32\noutput x -> residual { relu } shortcut { flatten -> dense(3) }".to_string(),
        "input x: 3x32x32\noutput x -> flatten -> concat(x)".to_string(),
        "input x: 10\noutput x -> dense(5) -> concat(x)".to_string(),
        "input x: 10\noutput x -> dense(10) -> add(x) -> softmax".to_string(),
        "input x: 3x32x32\nlet a = b\nlet b = a\noutput a".to_string(),
        "input x: 3x32x32\nblock b(c: int = c) { conv(c) }\noutput x -> b".to_string(),
        "input x: 3x32x32\nblock b(c: nope, c) { conv(c) }\noutput x -> b(1, 2, 3)".to_string(),
        "input x: 3x32x32\noutput x -> conv(16, 3, 1 / 0)".to_string(),
        "input x: 3x32x32 normalize(mean = [1, 2], std = [0, 0, 0], scale = true, 5)\noutput x".to_string(),
        format!("input x: 3x32x32\noutput x{}", " -> relu".repeat(2000)),
        format!("input x: 3x32x32\noutput x -> conv({}16{})", "(".repeat(200), ")".repeat(200)),
        format!("input x: 3x32x32\noutput x -> {}relu{}", "residual { ".repeat(100), " }".repeat(100)),
        format!("input x: 3x32x32\noutput x -> {}relu{}", "repeat 2 { ".repeat(60), " }".repeat(60)),
        format!("input x: 3x32x32\noutput x -> conv({})", "1+".repeat(5000) + "1"),
        "input x: 3x32x32\noutput x -> conv(16) é".to_string(),
        "import \"/\"\ninput x: 3x32x32\noutput x".to_string(),
        "import \"\"\ninput x: 3x32x32\noutput x".to_string(),
        "import \"lib\"\ninput x: 3x32x32\noutput x".to_string(),
        "import \"odd.net\"\ninput x: 3x32x32\noutput x".to_string(),
    ];
    all_survive(move || cases.into_iter().map(move |src| (rel.to_path_buf(), src)));
}

/// `input x: 16x8x8` and a chain of `layers` layers (conv and relu alternating).
fn long_chain(layers: usize) -> String {
    let mut src = String::from("input x: 16x8x8\n\noutput x\n");
    for i in 0..layers {
        src.push_str(if i % 2 == 0 { "    -> conv(16, 3)\n" } else { "    -> relu\n" });
    }
    src
}

#[test]
fn ten_thousand_layers() {
    for (what, src) in [
        ("a chain of 10,000 layers", long_chain(10_000)),
        ("a repeat of 5,000 conv+relu", "input x: 16x8x8\noutput x -> repeat 5000 { conv(16, 3) -> relu }".into()),
    ] {
        let start = Instant::now();
        let c = compile(Path::new("tests/long.net"), src);
        let elapsed = start.elapsed();
        let table = netc::check::layer_table(&c.graph);
        assert!(c.diagnostics.is_empty(), "{}", netc::diag::render_human(&c.sources, &c.diagnostics, false));
        assert_eq!(table.rows.len(), 10_001, "the input and 10,000 layers");
        assert_eq!(table.rows.last().unwrap().path, "relu5000");
        assert_eq!(table.total_params, 5000 * (16 * 16 * 9 + 16));
        let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
        println!("checked {what} in {elapsed:.2?} ({profile})");
    }
}

/// `block b0` is a conv; `block bN` calls `b(N-1)` and adds a relu; the output calls the deepest.
fn nested_blocks(depth: usize) -> String {
    let mut src = String::from("input x: 3x16x16\n\nblock b0(c: int) { conv(c, 3) }\n");
    for i in 1..depth {
        src.push_str(&format!("block b{i}(c: int) {{ b{}(c) -> relu }}\n", i - 1));
    }
    src.push_str(&format!("\noutput x -> b{}(8)\n", depth - 1));
    src
}

#[test]
fn blocks_nested_100_deep() {
    let c = on_thread(|| {
        let c = compile(Path::new("tests/nested.net"), nested_blocks(100));
        let diags = netc::diag::render_human(&c.sources, &c.diagnostics, false);
        (c.diagnostics.len(), diags, netc::check::layer_table(&c.graph))
    });
    let (n, diags, table) = c;
    assert_eq!(n, 0, "{diags}");
    assert_eq!(table.rows.len(), 1 + 1 + 99, "input, the innermost conv and one relu per level");
    // Paths nest one level per block instance: b99_1.b98_1. ... .b0_1.conv1 (a callee whose name
    // ends in a digit gets an `_` before its counter).
    let conv = &table.rows[1];
    assert_eq!(conv.op, "conv");
    assert_eq!(conv.path.split('.').count(), 101);
    assert!(conv.path.starts_with("b99_1.b98_1.") && conv.path.ends_with(".b0_1.conv1"), "{}", conv.path);
}

#[test]
fn blocks_nested_too_deep_are_reported() {
    let (codes, text) = on_thread(|| {
        let c = compile(Path::new("tests/nested.net"), nested_blocks(300));
        let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
        (codes.join(","), netc::diag::render_human(&c.sources, &c.diagnostics, false))
    });
    assert_eq!(codes, "E0013", "{text}");
    assert!(text.contains("block calls nested more than 128 deep"), "{text}");
}
