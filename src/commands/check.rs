//! `netc check FILE`: the layer table, or every diagnostic.

use super::{FAILURE, Format, SUCCESS, Streams, compile, parse_shape, positive};
use crate::check::{Table, TableOptions, graph_json, layer_table_with};
use crate::compile::{Compilation, fix_file};
use crate::diag;
use crate::ir::LowerOptions;
use crate::run::prepare;
use crate::weights::Weights;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The `.net` file.
    pub file: PathBuf,
    /// Override the input's declared shape, e.g. `3x64x64`.
    // The path is spelt out so that clap takes the shape as one value: a bare `Vec<_>` would
    // make it a multi-value argument and panic when the option is read.
    #[arg(long, value_parser = parse_shape)]
    pub input_shape: Option<std::vec::Vec<usize>>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Show the optimized IR (after fusion and folding) and its memory plan instead.
    #[arg(long)]
    pub opt: bool,
    /// Show each block instance nested this deep (1: those called at the top level) as one
    /// row with its totals.
    #[arg(long, value_parser = positive)]
    pub depth: Option<usize>,
    /// The batch size the activation memory is counted for.
    #[arg(long, value_parser = positive, default_value_t = 1)]
    pub batch: usize,
    /// Also allow imports from this folder (besides the file's own folder and its subfolders).
    #[arg(long = "import-dir", value_name = "DIR")]
    pub import_dirs: Vec<PathBuf>,
    /// Apply the machine-applicable fixes of the diagnostics to the file (and its imports) on
    /// disk, then check again and report what remains.
    #[arg(long)]
    pub fix: bool,
}

pub(super) fn check(a: &CheckArgs, s: &mut Streams) -> u8 {
    let options = LowerOptions { input_shape: a.input_shape.clone(), import_dirs: a.import_dirs.clone() };
    if a.fix {
        match fix_file(&a.file, &options) {
            Ok(fixed) => {
                for (file, n) in fixed {
                    let plural = if n == 1 { "" } else { "es" };
                    let _ = writeln!(s.err, "fixed `{file}`: {n} fix{plural} applied");
                }
            }
            Err(e) => return s.io_error(e),
        }
    }
    let c = match compile(&a.file, &options, s) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match a.format {
        Format::Human => human(&c, a, s),
        Format::Json => {
            let json = json(&c, &table_options(a));
            let _ = writeln!(s.out, "{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        }
    }
    if c.has_errors() { FAILURE } else { SUCCESS }
}

/// The diagnostics on standard error, then the layer table (or the optimized IR) or a summary
/// of the failure.
fn human(c: &Compilation, a: &CheckArgs, s: &mut Streams) {
    s.diagnostics(c, &c.diagnostics);
    if c.has_errors() {
        let n = c.diagnostics.iter().filter(|d| d.is_error()).count();
        let plural = if n == 1 { "" } else { "s" };
        let _ = writeln!(s.err, "error: could not check `{}` due to {n} previous error{plural}", a.file.display());
    } else if a.opt {
        let weights = Weights::generate(&c.graph, 0);
        if let Ok((g, plan)) = prepare(&c.graph, weights, "generated weights") {
            let _ = write!(s.out, "{}", plan.describe(&g));
        }
    } else {
        let _ = write!(s.out, "{}", table(c, &table_options(a)).render());
    }
}

fn table_options(a: &CheckArgs) -> TableOptions {
    TableOptions { depth: a.depth, batch: a.batch }
}

/// The layer table of a checked network with the peak of its memory plan (planned with
/// generated weights: the plan's buffers depend on the shapes only).
fn table(c: &Compilation, options: &TableOptions) -> Table {
    let table = layer_table_with(&c.graph, options);
    match prepare(&c.graph, Weights::generate(&c.graph, 0), "generated weights") {
        Ok((_, plan)) => table.with_peak(plan.peak(options.batch)),
        Err(_) => table,
    }
}

/// `{ok, diagnostics}`, and on success the checked graph and its totals; with a depth, the
/// table's rows too (`summary`).
pub fn json(c: &Compilation, options: &TableOptions) -> serde_json::Value {
    let ok = !c.has_errors();
    let diags: Vec<_> = c.diagnostics.iter().map(|d| diag::to_json(&c.sources, d)).collect();
    let mut out = serde_json::json!({ "ok": ok, "diagnostics": diags });
    if ok {
        out["network"] = graph_json(&c.graph, options.batch);
        let t = table(c, options);
        out["totals"] = serde_json::json!({
            "layers": t.layers,
            "params": t.total_params,
            "flops": t.total_flops,
            "batch": t.batch,
            "peak_activation_bytes": t.peak.map(|p| p.bytes),
            "activation_buffers": t.peak.map(|p| p.buffers),
        });
        if options.depth.is_some() {
            out["summary"] = serde_json::to_value(&t.rows).unwrap_or_default();
        }
    }
    out
}
