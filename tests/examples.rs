//! The shipped examples: their `netc check` output is snapshotted, a few totals are pinned,
//! and the `netc` binary itself is run for exit codes and the JSON format.

mod common;

use netc::compile::{Compilation, compile_source};
use netc::diag::Code;
use netc::ir::LowerOptions;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Checks `examples/<name>` under its relative path, as `netc check examples/<name>` does.
fn check_example(name: &str) -> Compilation {
    let rel = format!("examples/{name}");
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)).expect("example exists");
    compile_source(&rel, source, Path::new("examples"), &LowerOptions::default())
}

/// The diagnostics of a compilation, for assertion messages.
fn render(c: &Compilation) -> String {
    netc::diag::render_human(&c.sources, &c.diagnostics, false)
}

#[test]
fn example_outputs() {
    insta::glob!("../examples", "*.net", |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        insta::assert_snapshot!(common::check_output(&format!("examples/{name}"), &[]));
    });
}

/// `--depth 1`: each top-level block instance is one row with its totals, its last layer's
/// output, receptive field and memory; `--batch` scales the memory and the plan's peak.
#[test]
fn check_at_depth_1_with_a_batch_of_8() {
    insta::assert_snapshot!(common::check_output("examples/resnet18.net", &["--depth", "1", "--batch", "8"]));
}

/// Blocks calling blocks: `--depth 2` expands the stages and folds their units.
#[test]
fn check_at_depth_2() {
    insta::assert_snapshot!(common::check_output("examples/zoo/densenet121.net", &["--depth", "2"]));
}

/// Checks example `name` and asserts its parameter and FLOP totals, in the table's numbers and
/// in its line `total: N layers, P parameters, F`; returns the table.
fn assert_totals(name: &str, params: u64, params_text: &str, flops_text: &str) -> netc::check::Table {
    let c = check_example(name);
    assert!(c.diagnostics.is_empty(), "{name} should check cleanly:\n{}", render(&c));
    let t = netc::check::layer_table(&c.graph);
    assert_eq!(t.total_params, params);
    assert_eq!(netc::check::human_flops(t.total_flops), flops_text);
    let rendered = t.render();
    let line = rendered.lines().find(|l| l.starts_with("total: ")).unwrap();
    assert!(line.ends_with(&format!(" {params_text} parameters, {flops_text}")), "{line}");
    t
}

#[test]
fn seed_keras_totals() {
    assert_totals("seed_keras.net", 20_319_552, "20,319,552", "28.38 GFLOPs");
}

#[test]
fn resvgg9_totals() {
    let t = assert_totals("resvgg9.net", 6_570_890, "6,570,890", "758.52 MFLOPs");
    assert_eq!((t.total_flops as f64 / 1e9 * 1e4).round() / 1e4, 0.7585);
}

#[test]
fn seed_torch_fails_with_e0007_and_e0010() {
    let c = check_example("seed_torch.net");
    let codes: Vec<Code> = c.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::AddMismatch, Code::DenseMismatch], "{}", render(&c));
    let add = &c.diagnostics[0];
    assert!(add.message.contains("128x56x56 vs 128x28x28"), "{}", add.message);
    let dense = &c.diagnostics[1];
    assert!(dense.message.contains("declared for 128 inputs receives 401408"), "{}", dense.message);
}

#[test]
fn seed_torch_fixed_passes() {
    let c = check_example("seed_torch_fixed.net");
    assert!(c.diagnostics.is_empty(), "{}", render(&c));
}

fn netc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("netc runs")
}

#[test]
fn cli_exit_codes() {
    let ok = netc(&["check", "examples/resvgg9.net"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("total: ") && stdout.contains("6,570,890 parameters"), "{stdout}");

    let bad = netc(&["check", "examples/seed_torch.net"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("error[E0007]") && stderr.contains("error[E0010]"), "{stderr}");
    assert!(stderr.contains("could not check `examples/seed_torch.net` due to 2 previous errors"), "{stderr}");
    assert!(bad.stdout.is_empty());

    let missing = netc(&["check", "examples/no_such_file.net"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read `examples/no_such_file.net`"));

    let explain = netc(&["explain", "E0007"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&explain.stdout).starts_with("# E0007: skip connection shape mismatch"));

    let unknown = netc(&["explain", "E9999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no diagnostic code `E9999`"));

    let list = netc(&["explain"]);
    assert_eq!(list.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), Code::ALL.len());

    let bad_shape = netc(&["check", "examples/vgg16.net", "--input-shape", "3xfoo"]);
    assert_eq!(bad_shape.status.code(), Some(2));
}

/// Runs netc with `args`, expects exit code `code`, and parses its JSON output.
fn json_of(args: &[&str], code: i32) -> Value {
    let out = netc(args);
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn cli_input_shape_override() {
    let v = json_of(&["check", "examples/vgg16.net", "--input-shape", "3x32x32", "--format", "json"], 0);
    let first = &v["network"]["layers"][0];
    assert_eq!(first["op"], "input");
    assert_eq!(first["shape"], serde_json::json!([3, 32, 32]));
}

#[test]
fn cli_json_on_success() {
    let v = json_of(&["check", "examples/resvgg9.net", "--format", "json"], 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    let layers = v["network"]["layers"].as_array().expect("layers");
    assert!(!layers.is_empty());
    for l in layers {
        for key in ["id", "path", "op", "inputs", "shape", "attrs", "weights", "params", "flops"] {
            assert!(l.get(key).is_some(), "layer without `{key}`: {l}");
        }
    }
    // `stage(128) as layer1`: the block instance's layers live under `layer1.`.
    let conv = layers.iter().find(|l| l["path"] == "layer1.conv1").expect("a conv named layer1.conv1");
    assert_eq!(conv["op"], "conv");
    assert_eq!(conv["shape"], serde_json::json!([128, 32, 32]));
    assert_eq!(conv["weights"][0]["name"], "layer1.conv1.weight");
    assert_eq!(conv["weights"][0]["shape"], serde_json::json!([128, 64, 3, 3]));
    assert_eq!(conv["weights"][1]["name"], "layer1.conv1.bias");
    assert_eq!(conv["weights"][1]["shape"], serde_json::json!([128]));
    assert_eq!(v["totals"]["params"], 6_570_890);
    assert_eq!(v["totals"]["layers"], layers.len());
    assert!(v["totals"]["flops"].as_u64().unwrap() > 0);
}

#[test]
fn cli_json_depth_fields_and_memory() {
    let v = json_of(&["check", "examples/resnet18.net", "--format", "json", "--depth", "1", "--batch", "2"], 0);
    let layers = v["network"]["layers"].as_array().expect("layers");
    assert_eq!(v["totals"]["layers"], layers.len(), "the graph stays whole");
    let conv1 = layers.iter().find(|l| l["path"] == "conv1").expect("conv1");
    assert_eq!(conv1["receptive_field"], serde_json::json!({ "h": 7, "w": 7 }));
    assert_eq!(conv1["activation_bytes"], 2 * 64 * 112 * 112 * 4);
    let dense = layers.iter().find(|l| l["path"] == "dense1").expect("dense1");
    assert_eq!(dense["receptive_field"], "global");
    let summary = v["summary"].as_array().expect("rows at depth 1");
    let paths: Vec<&str> = summary.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "image",
            "conv1",
            "batchnorm1",
            "relu1",
            "maxpool1",
            "basic1",
            "basic2",
            "down1",
            "basic3",
            "down2",
            "basic4",
            "down3",
            "basic5",
            "global_avgpool1",
            "dense1"
        ]
    );
    let basic5 = &summary[12];
    assert_eq!(basic5["op"], "basic");
    assert_eq!(basic5["layers"], 7);
    assert_eq!(basic5["params"], 2 * (512 * 512 * 9 + 2 * 512));
    assert_eq!(basic5["shape"], serde_json::json!([512, 7, 7]));
    assert_eq!(basic5["receptive_field"], serde_json::json!({ "h": 435, "w": 435 }));
    let rows_params: u64 = summary.iter().map(|r| r["params"].as_u64().unwrap()).sum();
    assert_eq!(v["totals"]["params"], rows_params);
    assert_eq!(v["totals"]["batch"], 2);
    let peak = v["totals"]["peak_activation_bytes"].as_u64().expect("planned");
    // At least the largest tensor (conv1's output) and its input, at most every tensor at once.
    let all: u64 = layers.iter().map(|l| l["activation_bytes"].as_u64().unwrap()).sum();
    assert!(peak >= 2 * 64 * 112 * 112 * 4 && peak <= all, "{peak} of {all}");
}

#[test]
fn cli_json_on_errors() {
    let v = json_of(&["check", "examples/seed_torch.net", "--format", "json"], 1);
    assert_eq!(v["ok"], false);
    assert!(v.get("network").is_none() && v.get("totals").is_none());
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diags.len(), 2);
    for d in diags {
        for key in ["severity", "code", "message", "span", "labels", "notes", "help"] {
            assert!(d.get(key).is_some(), "diagnostic without `{key}`: {d}");
        }
        assert_eq!(d["span"]["file"], "examples/seed_torch.net");
        assert!(d["span"]["line"].as_u64().unwrap() >= 1);
        assert!(d["span"]["column"].as_u64().unwrap() >= 1);
        assert!(d["help"].is_string(), "every error here has a help: {d}");
        let labels = d["labels"].as_array().unwrap();
        assert_eq!(labels.iter().filter(|l| l["primary"] == true).count(), 1);
    }
    assert_eq!(diags[0]["code"], "E0007");
    assert_eq!(diags[0]["span"]["line"], 14);
    assert_eq!(diags[1]["code"], "E0010");
    assert_eq!(diags[1]["span"]["line"], 16);
}

/// Every transcript in the book — a ```` ```console ```` block whose first line is
/// `$ netc ...` — is the real output of that command (stderr, then stdout). Commands run in
/// the crate root when the file they name exists there, else in `book/src`. A trailing
/// `| tail -n N` keeps the last N lines.
#[test]
fn book_transcripts_are_real() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let book = root.join("book/src");
    let mut pages = vec![];
    let mut dirs = vec![book.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("book/src exists") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    let mut checked = 0;
    let mut failures = vec![];
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim_end() != "```console" {
                continue;
            }
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim_end() != "```").collect();
            let Some(command) = block.first().and_then(|l| l.strip_prefix("$ netc ")) else {
                continue;
            };
            let (command, tail) = match command.split_once(" | tail -n ") {
                Some((c, n)) => (c, Some(n.trim().parse::<usize>().expect("tail count"))),
                None => (command, None),
            };
            let args: Vec<&str> = command.split_whitespace().collect();
            let in_root = args.iter().any(|a| a.ends_with(".net") && root.join(a).exists());
            let out = Command::new(env!("CARGO_BIN_EXE_netc"))
                .args(&args)
                .current_dir(if in_root { root } else { &book })
                .output()
                .expect("netc runs");
            let mut actual = String::from_utf8_lossy(&out.stderr).into_owned();
            actual.push_str(&String::from_utf8_lossy(&out.stdout));
            let actual_lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
            let actual_lines = match tail {
                Some(n) => &actual_lines[actual_lines.len().saturating_sub(n)..],
                None => &actual_lines[..],
            };
            let expected: Vec<&str> = block[1..].iter().map(|l| l.trim_end()).collect();
            checked += 1;
            if actual_lines.join("\n").trim_end() != expected.join("\n").trim_end() {
                failures.push(format!(
                    "{}: `netc {command}` prints\n{}\n",
                    page.strip_prefix(root).unwrap().display(),
                    actual_lines.join("\n")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} transcripts are stale:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 20, "only {checked} transcripts in the book");
}

/// In the diagnostics catalogue, the program under `## Fixed` checks without errors, and every
/// failing example shown above a transcript is the UI case the transcript runs.
#[test]
fn catalogue_examples_are_real() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = 0;
    for code in Code::ALL {
        let page = code.explanation();
        assert!(
            page.starts_with(&format!("# {}: {}\n", code.as_str(), code.title())),
            "{}.md must start with its title line",
            code.as_str()
        );
        pages += 1;
        let mut section = "";
        let mut last_program: Option<String> = None;
        let mut fixed = 0;
        let mut lines = page.lines();
        while let Some(line) = lines.next() {
            if let Some(h) = line.strip_prefix("## ") {
                section = h;
            }
            let fence = line.trim_end();
            if fence != "```net" && fence != "```console" {
                continue;
            }
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim_end() != "```").collect();
            if fence == "```net" {
                let program = block.join("\n") + "\n";
                if section.starts_with("Fix") {
                    fixed += 1;
                    let c =
                        compile_source("fixed.net", program.clone(), &root.join("tests/ui"), &LowerOptions::default());
                    assert!(
                        !c.has_errors(),
                        "the fixed example of {} fails:\n{program}\n{}",
                        code.as_str(),
                        render(&c)
                    );
                }
                last_program = Some(program);
            } else if let Some(file) = block.first().and_then(|l| l.split_whitespace().find(|w| w.ends_with(".net")))
                && let Some(program) = last_program.take()
            {
                let on_disk = std::fs::read_to_string(root.join(file)).expect("the transcript's file exists");
                assert_eq!(program, on_disk, "{}: the example shown is not {file}", code.as_str());
                assert!(file.starts_with("tests/ui/"), "{}: examples are UI cases", code.as_str());
            }
        }
        assert!(fixed >= 1, "{} has no fixed example", code.as_str());
    }
    assert_eq!(pages, Code::ALL.len());
}

/// The language reference's table of built-in layers is the registry's: one row per built-in,
/// in registry order, with its signature, shapes and weights.
#[test]
fn builtin_table_is_the_registry() {
    let mut table = vec![
        "| Layer | Signature | Input → output | Parameters |".to_string(),
        "| --- | --- | --- | --- |".to_string(),
    ];
    for b in netc::ops::BUILTINS {
        let s = b.sig;
        table.push(format!("| `{}` | `{}` | {} | {} |", s.name, s.render(), s.shapes, s.weights));
    }
    let table = table.join("\n");
    let reference =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/reference.md")).unwrap();
    assert!(reference.contains(&table), "book/src/reference.md must contain the registry's table:\n{table}");
}
