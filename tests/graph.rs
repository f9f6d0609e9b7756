//! `netc graph`: DOT and Mermaid snapshots of the examples, and the command's error paths.

mod common;

use std::process::{Command, Output};

/// What `netc graph` writes on standard output for `args`, which must succeed quietly.
fn graph(args: &[&str]) -> String {
    let args: Vec<&str> = ["graph"].into_iter().chain(args.iter().copied()).collect();
    let (code, out, err) = common::netc(&args);
    assert_eq!(code, 0, "netc {args:?} failed:\n{err}");
    assert!(err.is_empty(), "netc {args:?} printed:\n{err}");
    out
}

#[test]
fn dot_of_the_readme_network() {
    insta::assert_snapshot!(graph(&["examples/readme.net"]));
}

#[test]
fn dot_of_seed_keras() {
    insta::assert_snapshot!(graph(&["examples/seed_keras.net"]));
}

#[test]
fn dot_of_resnet18() {
    insta::assert_snapshot!(graph(&["examples/resnet18.net"]));
}

#[test]
fn dot_of_resnet18_at_depth_1() {
    insta::assert_snapshot!(graph(&["examples/resnet18.net", "--depth", "1"]));
}

/// Named tensors (`let`), a concat of three branches, transposed convolution and upsampling.
#[test]
fn dot_of_segment() {
    insta::assert_snapshot!(graph(&["examples/ops/segment.net"]));
}

/// Blocks calling blocks (`--depth 2` keeps the stages as clusters around their units).
#[test]
fn dot_of_densenet_at_depth_2() {
    insta::assert_snapshot!(graph(&["examples/zoo/densenet121.net", "--depth", "2", "--input-shape", "3x64x64"]));
}

#[test]
fn mermaid_of_resnet18_at_depth_1() {
    insta::assert_snapshot!(graph(&["examples/resnet18.net", "--depth", "1", "--format", "mermaid"]));
}

#[test]
fn mermaid_of_the_readme_network() {
    insta::assert_snapshot!(graph(&["examples/readme.net", "--format", "mermaid"]));
}

/// The residual's skip path is dashed and red, and the add that closes it an orange ellipse;
/// a shortcut's layers sit in a dashed cluster, and its edges are skip edges too.
#[test]
fn skip_paths_are_marked() {
    let dot = graph(&["examples/resnet18.net"]);
    let skips: Vec<&str> = dot.lines().filter(|l| l.contains("style=dashed")).collect();
    // Two basic blocks per stage have an identity skip; the three down blocks a shortcut of
    // two layers (three skip edges each: in, between, out).
    assert_eq!(skips.len(), 5 + 3 * 3, "{}", skips.join("\n"));
    assert_eq!(dot.matches("shape=ellipse").count(), 8, "one add per residual block");
    assert_eq!(dot.matches("label=\"shortcut1\"").count(), 3);
    // Folded into boxes, the blocks keep no inner skip edges.
    let folded = graph(&["examples/resnet18.net", "--depth", "1"]);
    assert!(!folded.contains("style=dashed"), "{folded}");
    assert!(folded.contains("label=\"down1\\ndown(128)\""), "{folded}");
}

/// The binary with `env` set, run in the crate root.
fn netc_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netc"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("netc runs")
}

#[test]
fn svg_without_graphviz_names_the_package_and_the_dot_format() {
    let out = netc_with_env(
        &["graph", "examples/readme.net", "--format", "svg"],
        &[(netc::commands::DOT_PROGRAM_VAR, "/nonexistent/netc-test/dot")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`graphviz` package") && err.contains("--format dot"), "{err}");
    assert!(out.stdout.is_empty());
}

/// With Graphviz installed, `--format svg` is its drawing of the DOT text; without it, this
/// test says it is skipped (CI does not install Graphviz).
#[test]
fn svg_with_graphviz() {
    if Command::new("dot").arg("-V").output().is_err() {
        eprintln!("skipped: Graphviz's `dot` is not installed");
        return;
    }
    let out = netc_with_env(&["graph", "examples/readme.net", "--format", "svg"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg") && svg.contains("res1: res(128)"), "{svg}");
}

#[test]
fn output_file_holds_what_standard_output_would() {
    let path = std::env::temp_dir().join(format!("netc-graph-test-{}.dot", std::process::id()));
    let file = path.to_str().expect("UTF-8 temp path");
    let (code, out, err) = common::netc(&["graph", "examples/readme.net", "-o", file]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let written = std::fs::read_to_string(&path).expect("written");
    std::fs::remove_file(&path).expect("removable");
    assert_eq!(written, graph(&["examples/readme.net"]));

    let (code, _, err) = common::netc(&["graph", "examples/readme.net", "-o", "/nonexistent/netc/graph.dot"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot write `/nonexistent/netc/graph.dot`"), "{err}");
}

#[test]
fn bad_depth_is_refused() {
    for depth in ["0", "-1", "two"] {
        let (code, out, err) = common::netc(&["graph", "examples/readme.net", "--depth", depth]);
        assert_eq!(code, 2, "--depth {depth}");
        assert!(out.is_empty());
        assert!(err.contains("is not a count") || err.contains("unexpected argument"), "{err}");
    }
}

/// An invalid network gets the diagnostics `netc check` prints, and exit status 1.
#[test]
fn invalid_network_gets_checks_diagnostics() {
    let (code, out, err) = common::netc(&["graph", "examples/seed_torch.net"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let (_, _, check_err) = common::netc(&["check", "examples/seed_torch.net"]);
    let diags = |s: &str| s.lines().filter(|l| !l.starts_with("error: could not")).collect::<Vec<_>>().join("\n");
    assert_eq!(diags(&err), diags(&check_err));
    assert!(err.contains("could not draw `examples/seed_torch.net` due to 2 previous errors"), "{err}");
}

/// A box shows the call as written under the layer's (or block's) name, without `as name`.
#[test]
fn boxes_show_the_call_without_its_label() {
    let dot = graph(&["examples/cifar10/resvgg.net", "--depth", "1"]);
    assert!(dot.contains("[label=\"res1\\nres(64)\", penwidth=2]"), "{dot}");
    assert!(dot.contains("[label=\"head\\ndense(10)\"]"), "{dot}");
    assert!(dot.contains("[label=\"maxpool1\\nmaxpool(2)\"]"), "{dot}");
    assert!(!dot.contains(" as "), "{dot}");
}
