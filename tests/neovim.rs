//! End to end in a real editor: headless Neovim with netc's setup (`editors/neovim`) opens
//! `examples/seed_torch.net`, gets the E0007 diagnostic on line 14 from `netc lsp`, and shows the
//! shape of a layer on hover (`editors/neovim/test/e2e.lua` does the editor's part). Skipped,
//! with a notice, on a machine without `nvim` (`.ci/run` installs Debian's `neovim`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long Neovim may take in all, far more than it needs (about a second).
const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn neovim_shows_diagnostics_and_hover() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if Command::new("nvim").arg("--version").stdout(Stdio::null()).status().is_err() {
        println!("skipped: `nvim` is not on PATH (apt-get install neovim)");
        return;
    }
    let out = std::env::temp_dir().join(format!("netc-neovim-{}.log", std::process::id()));
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c", "luafile editors/neovim/test/e2e.lua"])
        .current_dir(root)
        .env("NETC", env!("CARGO_BIN_EXE_netc"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("a temporary file"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nvim starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for nvim") {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let transcript = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    println!("{transcript}");
    match status {
        Some(s) => assert!(s.success(), "Neovim's session failed ({s}):\n{transcript}"),
        None => panic!("Neovim did not finish within {DEADLINE:?}:\n{transcript}"),
    }
    assert!(transcript.contains("ok: the hover shows the shape 128x28x28"), "{transcript}");
}
