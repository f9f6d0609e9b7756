//! The `netc` command line: argument parsing and output only; the work is in the library.

use clap::{Parser, Subcommand, ValueEnum};
use netc::check::layer_table;
use netc::compile::{Compilation, compile_file};
use netc::diag::{self, Code, lookup_code};
use netc::ir::LowerOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "netc", version, about = "Check, optimize and run hand-written convolutional networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Infer every shape, check every skip connection, print the layer table or the errors.
    Check {
        /// The `.net` file.
        file: PathBuf,
        /// Override the input's declared shape, e.g. `3x64x64`.
        // The path is spelt out so that clap takes the shape as one value: a bare `Vec<_>`
        // would make it a multi-value argument and panic when the option is read.
        #[arg(long, value_parser = parse_shape)]
        input_shape: Option<std::vec::Vec<usize>>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Print the catalogue entry of a diagnostic code, e.g. `netc explain E0007`.
    Explain {
        /// The code; without one, list them all.
        code: Option<String>,
    },
}

fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    let dims: Result<Vec<usize>, _> = s.split(['x', 'X', ',']).map(|d| d.trim().parse::<usize>()).collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&x| x > 0) => Ok(d),
        _ => Err(format!("`{s}` is not a shape; write it as CxHxW, e.g. 3x224x224")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested networks recurse during lowering; give the compiler a generous stack.
    let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: netc crashed; this is a bug in netc, please report it with the input file");
            ExitCode::from(101)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { file, input_shape, format } => check(&file, input_shape, format),
        Command::Explain { code } => explain(code.as_deref()),
    }
}

fn load(file: &Path, input_shape: Option<Vec<usize>>) -> Result<Compilation, ExitCode> {
    compile_file(file, &LowerOptions { input_shape }).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", file.display());
        ExitCode::from(2)
    })
}

fn print_diagnostics(c: &Compilation) {
    eprint!("{}", diag::render_human(&c.sources, &c.diagnostics, std::io::stderr().is_terminal()));
}

fn check(file: &Path, input_shape: Option<Vec<usize>>, format: Format) -> ExitCode {
    let c = match load(file, input_shape) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let ok = !c.has_errors();
    match format {
        Format::Human => {
            print_diagnostics(&c);
            if ok {
                print!("{}", layer_table(&c.graph).render());
            } else {
                let n = c.diagnostics.iter().filter(|d| d.is_error()).count();
                eprintln!(
                    "error: could not check `{}` due to {n} previous error{}",
                    file.display(),
                    if n == 1 { "" } else { "s" }
                );
            }
        }
        Format::Json => {
            let diags: Vec<_> = c.diagnostics.iter().map(|d| diag::to_json(&c.sources, d)).collect();
            let mut out = serde_json::json!({ "ok": ok, "diagnostics": diags });
            if ok {
                out["network"] = netc::ir::graph_json(&c.graph);
                let t = layer_table(&c.graph);
                out["totals"] =
                    serde_json::json!({ "layers": t.rows.len(), "params": t.total_params, "flops": t.total_flops });
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn explain(code: Option<&str>) -> ExitCode {
    match code {
        None => {
            for c in Code::ALL {
                println!("{}  {}", c.as_str(), c.title());
            }
            ExitCode::SUCCESS
        }
        Some(name) => match lookup_code(name) {
            Some(c) => {
                print!("{}", c.explanation());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: no diagnostic code `{name}`; `netc explain` lists them all");
                ExitCode::from(2)
            }
        },
    }
}
