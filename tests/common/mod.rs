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
