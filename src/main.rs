//! The `netc` binary: runs the library's command line ([`netc::commands::main`]) on the process's
//! arguments and streams.

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Deeply nested networks recurse during lowering; give the compiler a generous stack.
    let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(|| {
        // Not locked for the whole run: `netc lsp` writes from the language server's own
        // threads.
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        let color = std::io::stderr().is_terminal();
        netc::commands::main(std::env::args_os(), &mut netc::commands::Streams { out: &mut out, err: &mut err, color })
    });
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code),
        _ => {
            eprintln!("error: netc crashed; this is a bug in netc, please report it with the input file");
            ExitCode::from(101)
        }
    }
}
