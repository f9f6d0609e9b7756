//! The `netc` command line as a library: argument definitions (clap) and one module per
//! subcommand, each writing to the writers it is given. The binary (`src/main.rs`) only calls
//! [`main`] with the process's arguments and streams, so tests run exactly what users run.

mod bench;
mod check;
mod emit;
mod explain;
mod fmt;
mod graph;
mod import;
mod lsp;
mod progress;
mod run;

pub use bench::BenchArgs;
pub use check::CheckArgs;
pub use graph::{DOT_PROGRAM_VAR, GraphArgs, GraphFormat};
pub use run::RunArgs;

use crate::compile::{Compilation, compile_file};
use crate::diag::{self, Diagnostic};
use crate::ir::LowerOptions;
use crate::tensor::parse_shape;
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

/// Exit status: the command did what was asked.
pub const SUCCESS: u8 = 0;
/// Exit status: the network or its data has errors (diagnostics were printed).
pub const FAILURE: u8 = 1;
/// Exit status: a file could not be read or written, or the arguments are unusable.
pub const IO_ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "netc", version, about = "Check, optimize and run hand-written convolutional networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Infer every shape, check every skip connection, print the layer table or the errors.
    Check(CheckArgs),
    /// Run a network on an input batch (`.npy`), with trained weights or generated ones.
    Run(RunArgs),
    /// Time a network: compile time, latency, throughput and GFLOP/s per back end.
    Bench(BenchArgs),
    /// Rewrite `.net` files in the canonical style, keeping their comments.
    Fmt(fmt::FmtArgs),
    /// Serve the language server protocol on standard input and output (for editors).
    Lsp,
    /// Write the network in another tool's format: `netc emit onnx`, `netc emit triton`.
    Emit(emit::EmitArgs),
    /// Draw the network: Graphviz DOT, SVG or Mermaid, with shapes on the edges.
    Graph(GraphArgs),
    /// Read a model from another tool: `netc import onnx`.
    Import(import::ImportArgs),
    /// Print the catalogue entry of a diagnostic code, e.g. `netc explain E0007`.
    Explain {
        /// The code; without one, list them all.
        code: Option<String>,
    },
}

/// Output format of `check` and `bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Where a command writes: standard output (results) and standard error (diagnostics,
/// progress), and whether the latter is a terminal that shows colour.
pub struct Streams<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub color: bool,
}

impl Streams<'_> {
    /// Renders diagnostics (pointing into `c`'s sources) on standard error.
    fn diagnostics(&mut self, c: &Compilation, diags: &[Diagnostic]) {
        let text = diag::render_human(&c.sources, diags, self.color);
        let _ = self.err.write_all(text.as_bytes());
    }

    /// `error: {message}` on standard error; returns [`IO_ERROR`].
    fn io_error(&mut self, message: impl std::fmt::Display) -> u8 {
        let _ = writeln!(self.err, "error: {message}");
        IO_ERROR
    }
}

/// Runs the `netc` command line on `args` (the program name first) and returns the exit status.
/// Writes to a closed stream are ignored, so `netc check big.net | head` ends quietly.
pub fn main<I, T>(args: I, streams: &mut Streams) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = if streams.color { e.render().ansi().to_string() } else { e.render().to_string() };
            let target = if e.use_stderr() { &mut streams.err } else { &mut streams.out };
            let _ = target.write_all(text.as_bytes());
            return if e.use_stderr() { IO_ERROR } else { SUCCESS };
        }
    };
    match cli.command {
        Command::Check(a) => check::check(&a, streams),
        Command::Run(a) => run::run(&a, streams),
        Command::Bench(a) => bench::bench(&a, streams),
        Command::Fmt(a) => fmt::fmt(&a, streams),
        Command::Lsp => lsp::lsp(streams),
        Command::Emit(a) => emit::emit(&a, streams),
        Command::Graph(a) => graph::graph(&a, streams),
        Command::Import(a) => import::import(&a, streams),
        Command::Explain { code } => explain::explain(code.as_deref(), streams),
    }
}

/// Reads and checks `file`, or reports why it cannot be read.
fn compile(file: &Path, options: &LowerOptions, streams: &mut Streams) -> Result<Compilation, u8> {
    compile_file(file, options).map_err(|e| streams.io_error(format!("cannot read `{}`: {e}", file.display())))
}

/// A count of at least 1 (`--top`, `--batch`, `--threads`).
fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a count: give a whole number of at least 1")),
    }
}

/// All the machine's cores.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
