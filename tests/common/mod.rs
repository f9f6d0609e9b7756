//! Helpers shared by the integration tests.

/// Runs the `netc` command line in this process, from the crate root, exactly as the binary
/// does (`netc::commands::main`): returns the exit status, standard output and standard error.
#[allow(dead_code)]
pub fn netc(args: &[&str]) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("netc").chain(args.iter().copied());
    let code = netc::commands::main(argv, &mut netc::commands::Streams { out: &mut out, err: &mut err, color: false });
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

/// What `netc check` prints for `file` (a path relative to the crate root) with `options`:
/// standard error (the diagnostics) followed by standard output (the layer table).
#[allow(dead_code)]
pub fn check_output(file: &str, options: &[&str]) -> String {
    let args: Vec<&str> = ["check", file].into_iter().chain(options.iter().copied()).collect();
    let (_, out, err) = netc(&args);
    err + &out
}

/// The `meta.json` of the fixture folder `dir` (written by the dev script `script`): one entry per
/// fixture, each naming the `.net` file it was made from under `"file"`.
#[allow(dead_code)]
pub fn fixture_meta(dir: &str, script: &str) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(std::path::Path::new(dir).join("meta.json"))
        .unwrap_or_else(|e| panic!("{dir}/meta.json: {e}; run {script}"));
    serde_json::from_str::<serde_json::Value>(&text).unwrap().as_object().unwrap().clone()
}

/// The `.net` files directly in `dirs`, sorted.
#[allow(dead_code)]
pub fn net_files(dirs: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    for dir in dirs {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "net") {
                files.push(p.display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// Every one of `files` that checks has a fixture in `meta`, and none that fails has one.
#[allow(dead_code)]
pub fn assert_fixtures_cover(meta: &serde_json::Map<String, serde_json::Value>, files: &[String], script: &str) {
    use netc::ir::LowerOptions;
    for file in files {
        let c = netc::compile::compile_file(std::path::Path::new(file), &LowerOptions::default()).unwrap();
        let covered = meta.values().any(|m| m["file"] == file.as_str());
        assert_eq!(covered, !c.has_errors(), "{file}: run {script} {file}");
    }
}
