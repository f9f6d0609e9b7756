//! `netc graph FILE [--format dot|svg|mermaid] [--depth N] [-o FILE]`: the network as a diagram.

use super::{FAILURE, SUCCESS, Streams, compile, parse_shape, positive};
use crate::graph::{diagram, svg};
use crate::ir::LowerOptions;
use std::path::PathBuf;

/// The environment variable naming the Graphviz program `--format svg` runs (default `dot`).
pub const DOT_PROGRAM_VAR: &str = "NETC_DOT";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT text.
    Dot,
    /// SVG drawn by Graphviz's `dot` program (the `graphviz` package; `NETC_DOT` names another).
    Svg,
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
}

#[derive(clap::Args)]
pub struct GraphArgs {
    /// The `.net` file.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
    /// Draw each block instance nested this deep (1: those called at the top level) as one box.
    #[arg(long, value_parser = positive)]
    pub depth: Option<usize>,
    /// Write the diagram to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Override the input's declared shape, e.g. `3x64x64`.
    // Spelt out so that clap takes the shape as one value (see `check`).
    #[arg(long, value_parser = parse_shape)]
    pub input_shape: Option<std::vec::Vec<usize>>,
    /// Also allow imports from this folder (besides the file's own folder and its subfolders).
    #[arg(long = "import-dir", value_name = "DIR")]
    pub import_dirs: Vec<PathBuf>,
}

pub(super) fn graph(a: &GraphArgs, s: &mut Streams) -> u8 {
    let options = LowerOptions { input_shape: a.input_shape.clone(), import_dirs: a.import_dirs.clone() };
    let c = match compile(&a.file, &options, s) {
        Ok(c) => c,
        Err(code) => return code,
    };
    s.diagnostics(&c, &c.diagnostics);
    if c.has_errors() {
        let n = c.diagnostics.iter().filter(|d| d.is_error()).count();
        let plural = if n == 1 { "" } else { "s" };
        let _ = writeln!(s.err, "error: could not draw `{}` due to {n} previous error{plural}", a.file.display());
        return FAILURE;
    }
    let d = diagram(&c.graph, &c.sources, a.depth);
    let bytes = match a.format {
        GraphFormat::Dot => d.dot().into_bytes(),
        GraphFormat::Mermaid => d.mermaid().into_bytes(),
        GraphFormat::Svg => {
            let program = std::env::var(DOT_PROGRAM_VAR).unwrap_or_else(|_| "dot".to_string());
            match svg(&d.dot(), &program) {
                Ok(svg) => svg,
                Err(e) => return s.io_error(e),
            }
        }
    };
    match &a.output {
        Some(path) => match std::fs::write(path, bytes) {
            Ok(()) => SUCCESS,
            Err(e) => s.io_error(format!("cannot write `{}`: {e}", path.display())),
        },
        None => {
            let _ = s.out.write_all(&bytes);
            SUCCESS
        }
    }
}
