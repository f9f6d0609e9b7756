//! Every hostile input of the hardening issue, each a regression test: the diagnostic it gets,
//! and (printed, not asserted: run with `--nocapture`) how long it took.

use netc::compile::{Compilation, compile_source};
use netc::diag::Code;
use netc::ir::LowerOptions;
use std::path::Path;
use std::time::Instant;

/// Compiles `src` in the crate root and prints the time it took under `what`.
fn compile(what: &str, src: String) -> Compilation {
    let started = Instant::now();
    let c = compile_source("hostile.net", src, Path::new(env!("CARGO_MANIFEST_DIR")), &LowerOptions::default());
    println!("{what}: {:.2} s, {} diagnostics", started.elapsed().as_secs_f64(), c.diagnostics.len());
    c
}

fn codes(c: &Compilation) -> Vec<Code> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn special_and_outside_imports_are_refused() {
    let c = compile("import /dev/zero", "import \"/dev/zero\"\ninput x: 3x8x8\noutput x".into());
    assert_eq!(codes(&c), [Code::Import]);
    let c = compile("import outside", "import \"/etc/hostname\"\ninput x: 3x8x8\noutput x".into());
    assert_eq!(codes(&c), [Code::Import]);
}

/// A `#` inside an import string is not a comment: the nesting check still sees 400,000 operators.
#[test]
fn a_comment_sign_in_a_string_does_not_hide_a_deep_expression() {
    let src = format!("import \"#\" input x: 3x8x8 output x -> conv({}4, 3)", "-".repeat(400_000));
    let c = compile("400,000 minus signs after an import of \"#\"", src);
    assert_eq!(codes(&c), [Code::Syntax]);
}

#[test]
fn loops_that_make_no_layers_are_bounded() {
    let c = compile(
        "repeat 100000 { repeat 100000 { x } }",
        "input x: 3x8x8\noutput x -> repeat 100000 { repeat 100000 { x } }".into(),
    );
    assert_eq!(codes(&c), [Code::TooLarge]);
    let src = "block id() { in }\ninput x: 3x8x8\noutput x -> repeat 100000 { repeat 100000 { id() } }".to_string();
    let c = compile("10^10 calls of an empty block", src);
    assert_eq!(codes(&c), [Code::TooLarge]);
}

/// Blocks that call the previous one twice, 40 levels deep: 2^40 layers asked for.
#[test]
fn doubling_blocks_are_bounded() {
    let mut src = String::from("block b0() { relu }\n");
    for k in 1..=40 {
        src += &format!("block b{k}() {{ b{}() -> b{}() }}\n", k - 1, k - 1);
    }
    src += "input x: 3x8x8\noutput x -> b40()";
    assert_eq!(codes(&compile("b_k = b_(k-1) -> b_(k-1), 40 levels", src)), [Code::TooLarge]);

    let mut src = String::from("block b0() { relu }\n");
    for k in 1..=40 {
        src +=
            &format!("block b{k}() {{\n  let a = in -> b{p}()\n  let c = in -> b{p}()\n  add(a, c)\n}}\n", p = k - 1);
    }
    src += "input x: 3x8x8\noutput x -> b40()";
    assert_eq!(codes(&compile("let a = b(); let c = b(); add(a, c), 40 levels", src)), [Code::TooLarge]);
}

#[test]
fn long_names_are_refused_before_they_cost_anything() {
    let c = compile("a 65,536-character label", format!("input x: 3x8x8\noutput x -> relu as {}", "a".repeat(65_536)));
    assert_eq!(codes(&c), [Code::Syntax]);
    let c = compile("a 60,000-character misspelt name", format!("input x: 3x8x8\noutput x -> {}", "r".repeat(60_000)));
    assert_eq!(codes(&c), [Code::Syntax]);
}

/// 5,000 tensors and 5,000 misspellings of them: linear, with suggestions for the first ones.
#[test]
fn thousands_of_misspellings_stay_linear() {
    let n = 5_000;
    let mut src = String::from("input x: 3x8x8\n");
    for i in 0..n {
        src += &format!("let tensor_{i} = x -> relu\n");
    }
    let names: Vec<String> = (0..n).map(|i| format!("tensr_{i}")).collect();
    src += &format!("output add({})\n", names.join(", "));
    let c = compile("5,000 lets and 5,000 misspelt names", src);
    assert_eq!(c.diagnostics.len(), n);
    assert!(c.diagnostics.iter().all(|d| d.code == Code::Undefined));
    assert!(c.diagnostics[0].help.iter().any(|h| h.contains("tensor_0")), "{:?}", c.diagnostics[0].help);
    let started = Instant::now();
    let text = netc::diag::render_human(&c.sources, &c.diagnostics, false);
    println!("rendering them: {:.2} s, {} bytes", started.elapsed().as_secs_f64(), text.len());
    assert!(text.contains("4900 more diagnostics not shown"), "{}", &text[text.len().saturating_sub(300)..]);
}

#[test]
fn huge_weights_are_refused_at_check_time() {
    let c = compile("dense(16777216) on 16777216 features", "input x: 16777216\noutput x -> dense(16777216)".into());
    assert_eq!(codes(&c), [Code::TooLarge]);
}

/// 200,000 layers check, and their JSON, optimization and plan are linear too.
#[test]
fn two_hundred_thousand_layers() {
    let c = compile("200k relus", "input x: 3x8x8\noutput x -> repeat 20000 { repeat 10 { relu } }".into());
    assert!(c.diagnostics.is_empty());
    let started = Instant::now();
    let json = netc::check::graph_json(&c.graph, 1);
    println!("its JSON: {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(json["layers"].as_array().map(Vec::len), Some(200_001));
    let started = Instant::now();
    let (_, plan) = netc::run::prepare(&c.graph, netc::weights::Weights::generate(&c.graph, 0), "generated").unwrap();
    println!("optimized and planned: {:.2} s, {} steps", started.elapsed().as_secs_f64(), plan.steps.len());
}
