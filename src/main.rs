//! The `netc` command line: argument parsing and output only; the work is in the library.

use clap::{Parser, Subcommand, ValueEnum};
use netc::backend::{Backend, interp::Interpreter};
use netc::bench::BenchResult;
use netc::check::layer_table;
use netc::compile::{Compilation, compile_file};
use netc::diag::{self, Code, lookup_code};
use netc::io;
use netc::ir::LowerOptions;
use netc::ir::Normalize;
use netc::plan::Plan;
use netc::run;
use netc::weights::Weights;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `print!` that ignores a closed stdout, so `netc check big.net | head` ends quietly.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `println!` that ignores a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

#[derive(Parser)]
#[command(name = "netc", version, about = "Check, optimize and run hand-written convolutional networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    /// Cranelift-compiled native code (the default: the fastest).
    Jit,
    /// The reference interpreter.
    Interp,
}

impl BackendKind {
    /// Builds the back end for `plan`, returning it and its compile time in milliseconds.
    fn build(self, plan: Plan, threads: usize) -> Result<(Box<dyn Backend>, f64), String> {
        let t = std::time::Instant::now();
        let b: Box<dyn Backend> = match self {
            BackendKind::Jit => netc::backend::fastest(plan, threads).map_err(|e| format!("the JIT failed: {e}"))?,
            BackendKind::Interp => Box::new(Interpreter::new(plan, threads)),
        };
        Ok((b, t.elapsed().as_secs_f64() * 1e3))
    }
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
        /// Show the optimized IR (after fusion and folding) and its memory plan instead.
        #[arg(long)]
        opt: bool,
    },
    /// Run a network on an input batch (`.npy`), with trained weights or generated ones.
    Run(RunArgs),
    /// Time a network: compile time, latency, throughput and GFLOP/s per back end.
    Bench(BenchArgs),
    /// Print the catalogue entry of a diagnostic code, e.g. `netc explain E0007`.
    Explain {
        /// The code; without one, list them all.
        code: Option<String>,
    },
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The `.net` file.
    file: PathBuf,
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Back ends to time (default: all).
    #[arg(long, value_enum)]
    backend: Vec<BackendKind>,
    /// Override the input's declared shape, e.g. `3x64x64`.
    #[arg(long, value_parser = parse_shape)]
    input_shape: Option<Vec<usize>>,
    /// Minimum seconds of timed runs per back end.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Also print where the time goes, layer by layer, for the first back end.
    #[arg(long)]
    profile: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The `.net` file.
    file: PathBuf,
    /// Input batch: `.npy`, float32 or uint8, NCHW (or CHW for one image).
    #[arg(long)]
    input: PathBuf,
    /// Trained weights (`.safetensors` or `.npz`), named by layer path.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seed of the generated weights used when `--weights` is not given.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the first output, as float32 `.npy`, here.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print the K best classes of each sample.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Class names, one per line.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// True classes (`.npy` of integers): print the top-1 accuracy.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Per-channel mean, overriding the file's `normalize`: `--mean 125.3,123.0,113.9`.
    #[arg(long, value_delimiter = ',')]
    mean: Option<Vec<f32>>,
    /// Per-channel standard deviation, overriding the file's `normalize`.
    #[arg(long, value_delimiter = ',')]
    std: Option<Vec<f32>>,
    /// Print the optimized IR and the memory plan before running.
    #[arg(long)]
    dump_ir: bool,
    /// The back end.
    #[arg(long, value_enum, default_value = "jit")]
    backend: BackendKind,
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
        Command::Check { file, input_shape, format, opt } => check(&file, input_shape, format, opt),
        Command::Run(args) => run_network(&args),
        Command::Bench(args) => bench(&args),
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

fn check(file: &Path, input_shape: Option<Vec<usize>>, format: Format, opt: bool) -> ExitCode {
    let c = match load(file, input_shape) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let ok = !c.has_errors();
    match format {
        Format::Human => {
            print_diagnostics(&c);
            if ok && opt {
                let weights = Weights::generate(&c.graph, 0);
                if let Ok((g, plan)) = run::prepare(&c.graph, weights, "generated weights") {
                    out!("{}", plan.describe(&g));
                }
            } else if ok {
                out!("{}", layer_table(&c.graph).render());
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
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn io_error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn run_network(a: &RunArgs) -> ExitCode {
    let mut c = match load(&a.file, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        print_diagnostics(&c);
        return ExitCode::from(1);
    }
    if a.mean.is_some() || a.std.is_some() {
        let channels = c.graph.inputs.first().map_or(0, |&n| c.graph.g[n].shape[0]);
        let per_channel = |v: &Option<Vec<f32>>, d: f32| match v {
            Some(v) if v.len() == 1 => vec![v[0]; channels],
            Some(v) => v.clone(),
            None => vec![d; channels],
        };
        let (mean, std) = (per_channel(&a.mean, 0.0), per_channel(&a.std, 1.0));
        if mean.len() != channels || std.len() != channels || std.contains(&0.0) {
            eprintln!("error: --mean and --std need 1 or {channels} values (one per input channel), std non-zero");
            return ExitCode::from(2);
        }
        run::override_normalize(&mut c.graph, Normalize { scale: 1.0, mean, std });
    }
    let (weights, source) = match &a.weights {
        Some(p) => match io::read_tensors(p) {
            Ok(f) => (Weights::new(f.tensors), p.display().to_string()),
            Err(e) => return io_error(e),
        },
        None => {
            eprintln!(
                "warning: no --weights given: using generated He-initialized weights (seed {}); the outputs are not meaningful predictions",
                a.seed
            );
            (Weights::generate(&c.graph, a.seed), "generated weights".to_string())
        }
    };
    let input = match io::read_npy(&a.input) {
        Ok(arr) => arr,
        Err(e) => return io_error(e),
    };
    let input = match run::input_batch(&c.graph, &input, &a.input.display().to_string()) {
        Ok(t) => t,
        Err(d) => {
            eprint!("{}", diag::render_human(&c.sources, &[*d], std::io::stderr().is_terminal()));
            return ExitCode::from(1);
        }
    };
    let (graph, plan) = match run::prepare(&c.graph, weights, &source) {
        Ok(p) => p,
        Err(d) => {
            eprint!("{}", diag::render_human(&c.sources, &[*d], std::io::stderr().is_terminal()));
            return ExitCode::from(1);
        }
    };
    if a.dump_ir {
        out!("{}", plan.describe(&graph));
    }
    let threads = a.threads.unwrap_or_else(default_threads);
    let backend = match a.backend.build(plan, threads) {
        Ok((b, _)) => b,
        Err(e) => {
            eprintln!("error: {e}; `--backend interp` runs without it");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let outputs = backend.run(&[input]);
    eprintln!(
        "ran {} sample(s) through the {} back end in {:.1} ms",
        outputs.first().map_or(0, |o| o.shape[0]),
        backend.name(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let Some(out) = outputs.first() else { return ExitCode::SUCCESS };
    if let Some(path) = &a.output {
        if let Err(e) = io::write_npy(path, out) {
            return io_error(e);
        }
        outln!(
            "wrote {} output [{}] to {}",
            backend.name(),
            out.shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
            path.display()
        );
    }
    let labels: Vec<String> = match &a.labels {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => t.lines().map(str::to_string).collect(),
            Err(e) => return io_error(format!("cannot read `{}`: {e}", p.display())),
        },
        None => Vec::new(),
    };
    let truth: Option<Vec<i64>> = match &a.truth {
        Some(p) => match io::read_npy(p) {
            Ok(arr) => match arr.as_i64() {
                Some(v) => Some(v.to_vec()),
                None => return io_error(format!("`{}` must hold integer class indices", p.display())),
            },
            Err(e) => return io_error(e),
        },
        None => None,
    };
    let name = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    let best = run::top_k(out, a.top.max(1));
    if a.output.is_none() || a.truth.is_some() {
        for (i, row) in best.iter().enumerate() {
            let picks: Vec<String> = row.iter().map(|(c, s)| format!("{} ({s:.3})", name(*c))).collect();
            let mark = match truth.as_ref().and_then(|t| t.get(i)) {
                Some(&t) if t as usize == row[0].0 => "  ok".to_string(),
                Some(&t) => format!("  (truth: {})", name(t as usize)),
                None => String::new(),
            };
            outln!("{i:>4}: {}{mark}", picks.join(", "));
        }
    }
    if let Some(t) = &truth {
        let n = best.len().min(t.len());
        let correct = (0..n).filter(|&i| best[i][0].0 as i64 == t[i]).count();
        outln!("top-1 accuracy: {correct}/{n} = {:.2}%", 100.0 * correct as f64 / n.max(1) as f64);
    }
    ExitCode::SUCCESS
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn bench(a: &BenchArgs) -> ExitCode {
    let (file, batch, format) = (a.file.as_path(), a.batch, a.format);
    let c = match load(file, a.input_shape.clone()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        print_diagnostics(&c);
        return ExitCode::from(1);
    }
    let threads = a.threads.unwrap_or_else(default_threads);
    let flops = layer_table(&c.graph).total_flops;
    let (optimized, plan) = match run::prepare(&c.graph, Weights::generate(&c.graph, 0), "generated weights") {
        Ok(p) => p,
        Err(d) => {
            eprint!("{}", diag::render_human(&c.sources, &[*d], false));
            return ExitCode::from(1);
        }
    };
    let inputs = plan.sample_inputs(batch.max(1), 0);
    let peak = netc::kernels::machine_peak_gflops(threads);
    let budget =
        netc::bench::Budget { min_time: std::time::Duration::from_secs_f64(a.seconds.max(0.0)), ..Default::default() };
    let kinds = if a.backend.is_empty() { BackendKind::value_variants().to_vec() } else { a.backend.clone() };
    let mut results: Vec<BenchResult> = Vec::new();
    for k in &kinds {
        match k.build(plan.clone(), threads) {
            Ok((b, compile_ms)) => {
                results.push(netc::bench::bench(b.as_ref(), &inputs, flops, compile_ms, threads, peak, budget))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let layers = if a.profile {
        let table = layer_table(&optimized);
        // The table has a row per node, inputs included; the plan a step per non-input node.
        let flops: Vec<u64> = table.rows.iter().filter(|r| r.op != "input").map(|r| r.flops).collect();
        let kind = kinds[0];
        let short = netc::bench::Budget { min_time: budget.min_time / 4, ..budget };
        netc::bench::profile(
            &plan,
            &flops,
            &inputs,
            &|p| kind.build(p, threads).expect("the back end built the whole plan, so it builds its prefixes").0,
            short,
        )
    } else {
        Vec::new()
    };
    match format {
        Format::Json => {
            let out = serde_json::json!({
                "profile": layers,
                "file": file.display().to_string(),
                "batch": batch,
                "threads": threads,
                "flops_per_sample": flops,
                "peak_gflops": peak,
                "results": results,
            });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Human => {
            outln!(
                "{}: batch {batch}, {threads} thread(s), {} per sample, machine FMA peak {peak:.0} GFLOP/s",
                file.display(),
                netc::check::human_flops(flops)
            );
            outln!(
                "{:<8} {:>11} {:>12} {:>12} {:>10} {:>9} {:>6}",
                "backend",
                "compile ms",
                "median ms",
                "p90 ms",
                "img/s",
                "GFLOP/s",
                "peak"
            );
            for r in &results {
                outln!(
                    "{:<8} {:>11.1} {:>12.3} {:>12.3} {:>10.1} {:>9.1} {:>5.0}%",
                    r.backend,
                    r.compile_ms,
                    r.latency_ms_median,
                    r.latency_ms_p90,
                    r.images_per_s,
                    r.gflops,
                    r.peak_share * 100.0
                );
            }
            if !layers.is_empty() {
                let total: f64 = layers.iter().map(|l| l.ms).sum();
                outln!("\nper-layer profile ({} back end, batch {batch}):", results[0].backend);
                outln!("{:<24} {:<15} {:>9} {:>10} {:>9} {:>6}", "layer", "op", "MFLOPs", "ms", "GFLOP/s", "share");
                for l in &layers {
                    let gflops = if l.ms > 0.0 { l.flops as f64 * batch as f64 / (l.ms * 1e-3) / 1e9 } else { 0.0 };
                    outln!(
                        "{:<24} {:<15} {:>9.1} {:>10.3} {:>9.1} {:>5.1}%",
                        l.path,
                        l.op,
                        l.flops as f64 / 1e6,
                        l.ms,
                        gflops,
                        100.0 * l.ms / total.max(f64::MIN_POSITIVE)
                    );
                }
            }
        }
    }
    ExitCode::SUCCESS
}

fn explain(code: Option<&str>) -> ExitCode {
    match code {
        None => {
            for c in Code::ALL {
                outln!("{}  {}", c.as_str(), c.title());
            }
            ExitCode::SUCCESS
        }
        Some(name) => match lookup_code(name) {
            Some(c) => {
                out!("{}", c.explanation());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: no diagnostic code `{name}`; `netc explain` lists them all");
                ExitCode::from(2)
            }
        },
    }
}
