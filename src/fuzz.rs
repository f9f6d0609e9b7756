//! The bodies of the cargo-fuzz targets in `fuzz/`, one function per target, kept in the
//! library so that `tests/fuzz_corpus.rs` replays the committed corpus through the very same
//! code with a plain `cargo test`.
//!
//! Each function takes arbitrary bytes and panics only when netc has a bug: a reader that
//! panics, an array whose length disagrees with its shape, or a file that reads back
//! differently after netc's own writer re-encodes it.

use crate::io::{self, Array, ArrayData};
use crate::tensor::Tensor;
use std::collections::BTreeMap;

/// Longer inputs are skipped, so that runs spend their time on many small files (millions of
/// executions) rather than on a few large ones; every reader's limits are exercised well below.
pub const MAX_INPUT: usize = 1 << 20;

/// The `max_bytes` the `.npz` target passes: as much as an archive of [`MAX_INPUT`] bytes holds
/// without compression, and small enough that inflating whatever the fuzzer builds stays fast.
pub const MAX_NPZ_BYTES: u64 = MAX_INPUT as u64;

/// `.npy`: parse; a parsed array re-encoded by netc's writer reads back bit for bit; the
/// streaming reader of `netc run` (`NpyReader`, on the bytes as a file) accepts exactly the
/// files the parser accepts, with the same shape, and its rows are the parsed values.
pub fn npy(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let file = sandbox().join("fuzz.npy");
    std::fs::write(&file, data).expect("the sandbox folder is writable");
    let streamed = io::NpyReader::open(&file);
    let parsed = io::parse_npy(data, "fuzz.npy");
    assert_eq!(streamed.is_ok(), parsed.is_ok(), "the streaming reader and the parser disagree on a file");
    if let (Ok(reader), Ok(array)) = (streamed, &parsed) {
        assert_eq!(reader.shape, array.shape);
        let rows = reader.rows(0, array.shape.first().copied().unwrap_or(1)).expect("every row of a valid file reads");
        assert!(encode_npy(&rows) == encode_npy(array), "streamed rows differ from the file's values");
    }
    if let Ok(array) = parsed {
        assert_consistent(&array);
        let bytes = encode_npy(&array);
        let again = io::parse_npy(&bytes, "re-encoded.npy").expect("netc reads the .npy files it writes");
        assert!(encode_npy(&again) == bytes, "an .npy array changed in a write/read round trip");
    }
}

/// `.npz`: parse with [`MAX_NPZ_BYTES`]; every member read is a consistent array.
pub fn npz(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok(arrays) = io::parse_npz(data, "fuzz.npz", MAX_NPZ_BYTES) {
        arrays.iter().for_each(|(_, array)| assert_consistent(array));
    }
}

/// `.safetensors`: parse; the tensors (as `f32`) and metadata re-encoded by netc's writer read
/// back bit for bit.
pub fn safetensors(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok((arrays, metadata)) = io::parse_safetensors(data, "fuzz.safetensors") {
        arrays.iter().for_each(|(_, array)| assert_consistent(array));
        let tensors: Vec<(String, Tensor)> = arrays.iter().map(|(n, a)| (n.clone(), a.to_f32_tensor())).collect();
        let bytes = io::safetensors::encode("re-encoded.safetensors", &tensors, &metadata)
            .expect("netc writes every set of tensors it reads");
        let (again, again_metadata) =
            io::parse_safetensors(&bytes, "re-encoded.safetensors").expect("netc reads the files it writes");
        assert!(again_metadata == metadata, "safetensors metadata changed in a write/read round trip");
        assert!(by_name_bits(&arrays) == by_name_bits(&again), "a tensor changed in a write/read round trip");
    }
}

/// An array's element count agrees with its shape.
fn assert_consistent(array: &Array) {
    let elements = array.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert!(elements == Some(array.len()), "shape {:?} but {} elements", array.shape, array.len());
}

/// `array` as netc's writer encodes its element type.
fn encode_npy(array: &Array) -> Vec<u8> {
    let (descr, bytes): (&str, Vec<u8>) = match &array.data {
        ArrayData::F32(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ArrayData::U8(v) => ("|u1", v.clone()),
        ArrayData::I64(v) => ("<i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    io::npy::encode(descr, &array.shape, &bytes)
}

/// Arrays as `f32` tensors, by name, with their values as bits so that NaNs compare equal.
fn by_name_bits(arrays: &[(String, Array)]) -> BTreeMap<&str, (Vec<usize>, Vec<u32>)> {
    arrays
        .iter()
        .map(|(name, a)| {
            (name.as_str(), (a.shape.clone(), a.to_f32_tensor().data.iter().map(|x| x.to_bits()).collect()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The compiler's targets. Their inputs are `.net` text; a few header lines choose options.

/// Longest `.net` input the compiler targets take: enough for any network a test writes, small
/// enough for a million executions in minutes.
pub const MAX_SOURCE: usize = 16 << 10;

/// Most layers, and most multiply-adds per sample, of a network the `pipeline` target runs: tiny
/// networks, so that each execution compiles and runs in about a millisecond.
pub const MAX_PIPELINE_LAYERS: usize = 64;
pub const MAX_PIPELINE_FLOPS: u64 = 1 << 20;

/// A compiler target's input, split into its parts:
///
/// ```text
/// %shape 3x8x8          (optional: netc check --input-shape 3x8x8)
/// <the main file>
/// %file lib.netlib      (optional, repeated: another file of the sandbox folder)
/// <its text>
/// ```
///
/// Inputs that are not UTF-8 are text with replacement characters, as an editor would show them.
pub struct Case {
    pub input_shape: Option<Vec<usize>>,
    pub main: String,
    pub files: Vec<(String, String)>,
}

impl Case {
    pub fn parse(data: &[u8]) -> Case {
        let text = String::from_utf8_lossy(data);
        let mut rest: &str = &text;
        let mut input_shape = None;
        if let Some(header) = rest.strip_prefix("%shape ") {
            let (line, after) = header.split_once('\n').unwrap_or((header, ""));
            input_shape = crate::tensor::parse_shape(line).ok().filter(|s| s.iter().all(|&d| d <= 1 << 12));
            rest = after;
        }
        let mut parts = rest.split("\n%file ");
        let main = parts.next().unwrap_or_default().to_string();
        let files = parts
            .filter_map(|part| {
                let (name, body) = part.split_once('\n').unwrap_or((part, ""));
                // A plain file name, so that every file stays in the sandbox folder.
                let plain = !name.is_empty()
                    && name.len() <= 32
                    && !name.starts_with('.')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                plain.then(|| (name.to_string(), body.to_string()))
            })
            .collect();
        Case { input_shape, main, files }
    }

    /// Writes the files into a sandbox folder of this thread (emptied first) and checks the
    /// main file there: imports reach the sandbox's files, and nothing outside it.
    pub fn compile(&self) -> crate::compile::Compilation {
        let dir = sandbox();
        WRITTEN.with_borrow_mut(|written| {
            written.drain(..).for_each(|name| drop(std::fs::remove_file(dir.join(name))));
            for (name, body) in &self.files {
                std::fs::write(dir.join(name), body).expect("the sandbox folder is writable");
                written.push(name.clone());
            }
        });
        let options = crate::ir::LowerOptions { input_shape: self.input_shape.clone(), import_dirs: Vec::new() };
        let main = dir.join("main.net");
        crate::compile::compile_source(&main.display().to_string(), self.main.clone(), &dir, &options)
    }
}

thread_local! {
    /// The files this thread's last case wrote into its sandbox, removed before the next.
    static WRITTEN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// This thread's sandbox folder for imports, created once (one per thread, so that the replay
/// tests, which run in parallel, do not empty each other's).
fn sandbox() -> std::path::PathBuf {
    thread_local! {
        static DIR: std::path::PathBuf = {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("netc-fuzz-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("the temporary folder is writable");
            dir
        };
    }
    DIR.with(Clone::clone)
}

/// `netc check`: parse, load imports from the sandbox, lower, infer shapes; then everything the
/// command shows: the diagnostics as text and JSON, their machine-applicable fixes applied, and
/// on success the layer table and the graph's JSON. Checks that a network without errors has a
/// consistent IR (with the `verify` checks of debug builds, as cargo-fuzz builds are).
pub fn check(data: &[u8]) {
    if data.len() > MAX_SOURCE {
        return;
    }
    let c = Case::parse(data).compile();
    render(&c);
    if !c.has_errors() {
        c.graph.verify().expect("a network that checks has a consistent IR");
    }
}

/// Everything `netc check` prints for `c`, and its fixes applied to the sources in memory.
fn render(c: &crate::compile::Compilation) {
    use crate::diag::{Applicability, apply_edits, edits_by_file, render_human};
    let text = render_human(&c.sources, &c.diagnostics, false);
    assert!(c.diagnostics.is_empty() || !text.is_empty(), "diagnostics render as text");
    for d in &c.diagnostics {
        crate::diag::to_json(&c.sources, d);
    }
    let safe = c
        .diagnostics
        .iter()
        .filter_map(|d| d.suggestion.as_ref())
        .filter(|s| s.applicability == Applicability::MachineApplicable);
    for (file, edits) in edits_by_file(&c.sources, safe) {
        apply_edits(c.sources.source(file), &edits);
    }
    if !c.has_errors() {
        crate::check::layer_table(&c.graph).render();
        crate::check::graph_json(&c.graph, 1);
    }
}

/// `netc fmt`: a file that formats formats the same way again (idempotence), and means what it
/// meant: the formatted text checks to the same layers, ops and shapes, or fails with the same
/// error codes.
pub fn fmt(data: &[u8]) {
    if data.len() > MAX_SOURCE {
        return;
    }
    let case = Case::parse(data);
    let Ok(formatted) = crate::fmt::format_source(&case.main) else { return };
    let again = crate::fmt::format_source(&formatted).expect("formatted text parses");
    assert!(again == formatted, "formatting is not idempotent:\n--- once\n{formatted}\n--- twice\n{again}");
    let before = case.compile();
    let after = Case { main: formatted, ..case }.compile();
    assert!(meaning(&before) == meaning(&after), "formatting changed what the file means");
}

/// What a compilation means, without source positions: its error codes, or its layers.
fn meaning(c: &crate::compile::Compilation) -> Vec<String> {
    if c.has_errors() {
        let mut codes: Vec<String> = c.diagnostics.iter().map(|d| d.code.as_str().to_string()).collect();
        codes.sort();
        return codes;
    }
    let g = &c.graph;
    g.topo_order()
        .into_iter()
        .map(|n| format!("{} {} {:?} {}", g.path(n), g.g[n].op.name(), g.g[n].shape, g.g[n].op.attrs()))
        .collect()
}

/// The whole pipeline on tiny networks: check, generate weights, optimize, plan, run on the
/// interpreter and on the JIT; both give the same outputs (within the tolerance the JIT tests
/// use for unnormalized networks), and the interpreter agrees before and after optimization.
pub fn pipeline(data: &[u8]) {
    if data.len() > MAX_SOURCE {
        return;
    }
    let c = Case::parse(data).compile();
    if c.has_errors() || !tiny(&c.graph) {
        return;
    }
    use crate::backend::Backend;
    use crate::backend::interp::Interpreter;
    use crate::backend::jit::JitBackend;
    let weights = crate::weights::Weights::generate(&c.graph, 1);
    let unoptimized = crate::plan::Plan::new(&c.graph, &weights);
    let (_, plan) = crate::run::prepare(&c.graph, weights, "generated").expect("generated weights fit the network");
    let inputs = plan.sample_inputs(2, 3);
    let reference = Interpreter::new(unoptimized, 1).run(&inputs);
    let interp = Interpreter::new(plan.clone(), 1).run(&inputs);
    let jit = JitBackend::compile(&plan, 1).expect("the JIT compiles every plan").run(&inputs);
    assert_agree("optimized interpreter", &reference, &interp);
    assert_agree("JIT", &reference, &jit);
}

/// Whether `graph` is small enough for the `pipeline` target.
fn tiny(graph: &crate::ir::Graph) -> bool {
    let table = crate::check::layer_table(graph);
    table.rows.len() <= MAX_PIPELINE_LAYERS
        && table.total_flops <= MAX_PIPELINE_FLOPS
        && graph.g.node_weights().all(|n| n.shape.iter().product::<usize>() <= 1 << 16)
}

/// Relative tolerance of [`pipeline`]'s comparisons: summation orders differ between kernels
/// (and fusion folds batch norms into weights), so results agree to a few float32 roundings of
/// the largest value, amplified by normalizations.
const PIPELINE_TOLERANCE: f64 = 1e-3;

/// `got` equals `reference` within [`PIPELINE_TOLERANCE`]. Outputs whose reference is not
/// finite or is huge (float32 overflow depends on summation order) are not compared; a
/// non-finite value where the reference is finite is a bug.
fn assert_agree(what: &str, reference: &[Tensor], got: &[Tensor]) {
    assert_eq!(reference.len(), got.len(), "{what}: number of outputs");
    for (r, g) in reference.iter().zip(got) {
        assert_eq!(r.shape, g.shape, "{what}: output shape");
        if r.data.iter().any(|v| !v.is_finite() || v.abs() > 1e30) {
            continue;
        }
        assert!(g.data.iter().all(|v| v.is_finite()), "{what}: non-finite output where the interpreter's is finite");
        let err = crate::run::relative_error(r, g);
        assert!(err <= PIPELINE_TOLERANCE, "{what}: relative error {err:e} against the unoptimized interpreter");
    }
}

/// The tiny networks the `weights` target binds weight files to (chosen by the input's first
/// byte): every kind of weight netc has (conv, dense, batch norm, layer norm, scale).
const WEIGHTS_NETWORKS: [&str; 3] = [
    "input x: 2x4x4\noutput x -> conv(3, 3) -> relu -> flatten -> dense(2)\n",
    "input x: 2x4x4\noutput x -> conv(2, 1, bias = false) -> batchnorm -> residual { conv(2, 3) } -> global_avgpool -> flatten -> dense(3)\n",
    "input x: 4x2x2\noutput x -> layernorm -> scale -> conv(4, 1, groups = 4) -> flatten\n",
];

/// `.safetensors` with weight binding: the file read, its tensors validated against one of
/// [`WEIGHTS_NETWORKS`] (`netc run --weights`); when they fit, the network runs with them.
pub fn weights(data: &[u8]) {
    let Some((&which, file)) = data.split_first() else { return };
    if file.len() > MAX_INPUT {
        return;
    }
    let Ok((arrays, _)) = io::parse_safetensors(file, "fuzz.safetensors") else { return };
    let source = WEIGHTS_NETWORKS[which as usize % WEIGHTS_NETWORKS.len()];
    let c = crate::compile::compile_source(
        "weights.net",
        source.to_string(),
        std::path::Path::new("."),
        &Default::default(),
    );
    assert!(!c.has_errors(), "the weights target's networks check");
    let weights = crate::weights::Weights::new(arrays.iter().map(|(n, a)| (n.clone(), a.to_f32_tensor())));
    if let Ok((_, plan)) = crate::run::prepare(&c.graph, weights, "fuzz.safetensors") {
        use crate::backend::Backend;
        let inputs = plan.sample_inputs(1, 0);
        let out = crate::backend::interp::Interpreter::new(plan.clone(), 1).run(&inputs);
        let shape = &c.graph.g[c.graph.outputs[0].node].shape;
        assert_eq!(out[0].shape[1..], shape[..], "the output has the checked shape");
    }
}

/// `.onnx` import: decoding and importing never panic; an imported network that checks takes
/// the imported weights (their names and shapes are the network's).
pub fn onnx(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(model) = crate::onnx::decode_model(data) else { return };
    let Ok(imported) = crate::onnx::import(&model, "fuzz.onnx") else { return };
    let c = crate::compile::compile_source(
        "imported.net",
        imported.source.clone(),
        std::path::Path::new("."),
        &Default::default(),
    );
    render(&c);
    if !c.has_errors()
        && let Err(d) = imported.weights.validate(&c.graph, "imported weights")
    {
        panic!("imported weights do not fit the imported network: {}\n{}", d.message, imported.source);
    }
}

/// The language server: the input (as in [`check`], without `%file` parts) is opened as a
/// document, then every request netc answers is made at positions taken from its first bytes
/// (anywhere, past the end of a line or of the file included), then the document changes to
/// its first half and is closed. No request may panic.
pub fn lsp(data: &[u8]) {
    if data.len() > MAX_SOURCE {
        return;
    }
    let (at, text) = data.split_at(data.len().min(4));
    let text = String::from_utf8_lossy(text).into_owned();
    let lines = text.lines().count() as u32 + 1;
    let byte = |i: usize| at.get(i).map_or(0, |&b| u32::from(b));
    let position = |i: usize| (byte(i) % lines, byte(i + 1));
    crate::lsp::exercise(&text, [position(0), position(2)]);
}
