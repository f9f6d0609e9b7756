//! The language server's latency, measured over stdio on the real binary (the client of the
//! LSP tests): the time from a change of a 1,000-layer file to its diagnostics being
//! published, and the time to answer a hover in it. Run with `cargo bench --bench lsp`; the
//! book's "Language server" chapter has the figures.

#[path = "../tests/lsp_client/mod.rs"]
#[allow(dead_code)]
mod lsp_client;

use lsp_client::Client;
use serde_json::json;
use std::time::{Duration, Instant};

/// Layers of the measured file.
const LAYERS: usize = 1000;
/// Measured changes and hovers.
const ROUNDS: usize = 50;

/// A chain of `LAYERS` layers (conv and relu by turns) whose first conv has `c` channels.
fn network(c: usize) -> String {
    let mut s = String::from("# A long chain, to time the language server.\ninput x: 3x32x32\n\noutput x\n");
    for i in 0..LAYERS {
        s.push_str(&if i % 2 == 1 {
            "    -> relu\n".to_string()
        } else if i == 0 {
            format!("    -> conv({c}, 3)\n")
        } else {
            "    -> conv(16, 3)\n".to_string()
        });
    }
    s
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: median {:.2} ms, p90 {:.2} ms, max {:.2} ms ({} runs)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    let mut c = Client::start("bench");
    let uri = lsp_client::uri("benches/long_chain.net");
    let diags = c.open(&uri, &network(16));
    assert_eq!(diags, json!([]), "the measured file checks");
    let mut changes = Vec::new();
    for round in 0..ROUNDS {
        let text = network(8 + round % 8);
        let start = Instant::now();
        let diags = c.change(&uri, round as i64 + 2, &text);
        changes.push(start.elapsed());
        assert_eq!(diags, json!([]));
    }
    let mut hovers = Vec::new();
    // A conv in the middle of the chain.
    let line = 4 + LAYERS / 2;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let h = c.result(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": 8 } }),
        );
        hovers.push(start.elapsed());
        assert!(h["contents"]["value"].as_str().is_some_and(|v| v.contains("16x32x32")), "{h}");
    }
    c.shutdown();
    summary(&format!("diagnostics published after a change ({LAYERS} layers)"), changes);
    summary(&format!("hover on a layer ({LAYERS} layers)"), hovers);
}
