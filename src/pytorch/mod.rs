//! `netc emit pytorch`: a checked network as standalone, readable PyTorch source that mirrors
//! the `.net` file: one `nn.Module` class per `block` the network uses (the prelude's and
//! imported ones included), its parameters the constructor's, and a `Network` class for the
//! file's top level; `forward` follows the file's order.
//!
//! Layers carry netc's names (see [`names`]), so `state_dict()` keys are netc's weight names.
//! Input channels are inferred, as in netc: layers with weights are PyTorch's lazy modules, and
//! a block whose layers read its input's shape (`channels(in)`) makes them in `build`, on its
//! first input; `Network`'s constructor runs one zero sample through, so every weight has its
//! shape once the network is constructed. What each op becomes is the op's own knowledge
//! (`crate::ops::torch`); this module writes the classes around it.

mod class;
mod expr;
mod names;

use crate::compile::Compilation;
use crate::ir::Op;
use crate::source::SourceMap;
use crate::syntax::ast::{self, BlockDef, ExprKind, Item, Stage};
use class::{Class, Param, py_name};
use expr::Want;
use names::{Counters, Place};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// What every class of one file sees: the blocks by name, their classes and which of their
/// parameters are tensors.
pub struct Context<'a> {
    pub sources: &'a SourceMap,
    pub blocks: HashMap<&'a str, &'a BlockDef>,
    pub classes: HashMap<&'a str, String>,
    pub tensor_params: HashMap<&'a str, Vec<bool>>,
}

/// The base of blocks whose layers depend on their input's shape.
const LAZY_BLOCK: &str = r#"
class LazyBlock(nn.Module):
    """A block whose layers depend on its input's shape (`channels(in)` in the .net file): `build`
    makes them from its first input, as PyTorch's lazy modules do. `Network`'s constructor runs a
    zero sample through the network, so they exist before training starts."""

    def __call__(self, *inputs):
        if not hasattr(self, "built"):
            self.build(*inputs)
            self.built = True
        return super().__call__(*inputs)
"#;

/// An input's `normalize(...)`.
const NORMALIZE: &str = r#"
def normalize(x, scale, mean, std):
    """An input's `normalize(scale, mean, std)`, per channel c: (x * scale - mean[c]) / std[c].
    `netc run` applies it to the raw values it is given; so does `Network.forward`: feed both the
    same raw data."""
    x = x if x.is_floating_point() else x.float()  # uint8 pixels
    mean = x.new_tensor(mean).view([-1] + [1] * (x.dim() - 2))
    std = x.new_tensor(std).view([-1] + [1] * (x.dim() - 2))
    return (x * scale - mean) / std
"#;

/// A network written in PyTorch.
pub struct Python {
    pub source: String,
    /// The classes of its blocks, in the order written (`Network` follows them).
    pub blocks: Vec<String>,
}

/// The PyTorch source of checked network `c` (from `file`, as named in the header), or what
/// could not be written.
pub fn to_python(c: &Compilation, file: &str) -> Result<Python, Vec<String>> {
    let files = &c.program.files;
    // Later files (the main file, after its imports and the prelude) shadow earlier ones.
    let mut blocks: HashMap<&str, &BlockDef> = HashMap::new();
    for (_, f) in files {
        for item in &f.items {
            if let Item::Block(b) = item {
                blocks.insert(&b.name.name, b);
            }
        }
    }
    let main = files
        .iter()
        .find(|(id, _)| *id == c.program.main)
        .map(|(_, f)| f)
        .ok_or_else(|| vec!["the program has no main file".to_string()])?;
    let used = used_blocks(main, &blocks);
    // Definition order: the prelude's, the imports', the file's.
    let order: Vec<&BlockDef> = files
        .iter()
        .flat_map(|(_, f)| f.items.iter())
        .filter_map(|i| match i {
            Item::Block(b) if used.contains(b.name.name.as_str()) && std::ptr::eq(blocks[b.name.name.as_str()], b) => {
                Some(b)
            }
            _ => None,
        })
        .collect();
    let mut tensor_params: HashMap<&str, Vec<bool>> =
        order.iter().map(|b| (b.name.name.as_str(), vec![false; b.params.len()])).collect();
    // A parameter passed on to a tensor parameter is one too: to a fixed point.
    for _ in 0..=order.len() {
        let next: HashMap<&str, Vec<bool>> =
            order.iter().map(|b| (b.name.name.as_str(), class::tensor_params(b, &tensor_params))).collect();
        if next == tensor_params {
            break;
        }
        tensor_params = next;
    }
    let mut classes = HashMap::new();
    let mut taken: HashSet<String> =
        ["Network", "LazyBlock", "Conv", "LayerNorm", "Scale", "StochasticDepth"].map(String::from).into();
    for b in &order {
        let name = camel(&b.name.name);
        let name = if taken.contains(&name) { format!("{name}Block") } else { name };
        taken.insert(name.clone());
        classes.insert(b.name.name.as_str(), name);
    }
    let cx = Context { sources: &c.sources, blocks, classes, tensor_params };
    let mut helpers: Vec<&'static str> = Vec::new();
    let mut bodies = Vec::new();
    let mut errors = Vec::new();
    for b in &order {
        match block_class(&cx, b, main_comments(c, b)) {
            Ok((text, h)) => {
                bodies.push(text);
                add_helpers(&mut helpers, &h);
            }
            Err(e) => errors.extend(e.into_iter().map(|e| format!("block `{}`: {e}", b.name.name))),
        }
    }
    match network_class(&cx, c, main) {
        Ok((text, h)) => {
            bodies.push(text);
            add_helpers(&mut helpers, &h);
        }
        Err(e) => errors.extend(e),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#""""`{file}` as PyTorch, written by `netc emit pytorch` (netc {version}).

One class per `block` the network uses, with the block's parameters, and `Network` for the
file's top level; `forward` follows the file. Layers have netc's names, so the keys of
`Network().state_dict()` are netc's weight names: after training,
`safetensors.torch.save_file(model.state_dict(), "w.safetensors")` writes weights that
`netc run {file} --weights w.safetensors` loads as they are.
""""#,
        version = env!("CARGO_PKG_VERSION"),
    );
    let uses_f = helpers.iter().chain(&bodies.iter().map(String::as_str).collect::<Vec<_>>()).any(|t| t.contains("F."));
    out.push_str("\nimport torch\n");
    if uses_f {
        out.push_str("import torch.nn.functional as F\n");
    }
    out.push_str("from torch import nn\n");
    for h in helpers {
        out.push('\n');
        out.push_str(h);
    }
    for b in bodies {
        out.push_str("\n\n");
        out.push_str(&b);
    }
    let blocks = order.iter().map(|b| cx.classes[b.name.name.as_str()].clone()).collect();
    Ok(Python { source: out, blocks })
}

fn add_helpers(all: &mut Vec<&'static str>, new: &[&'static str]) {
    for h in new {
        if !all.contains(h) {
            all.push(h);
        }
    }
}

/// `res_down` -> `ResDown`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next().map(|c| c.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The blocks the top level of `main` calls, directly or through other blocks.
fn used_blocks<'a>(main: &'a ast::File, blocks: &HashMap<&'a str, &'a BlockDef>) -> HashSet<&'a str> {
    let mut chains: Vec<&ast::Chain> = main
        .items
        .iter()
        .flat_map(|i| match i {
            Item::Let(l) => vec![&l.chain],
            Item::Output { chains, .. } => chains.iter().collect(),
            _ => vec![],
        })
        .collect();
    let mut used = HashSet::new();
    while let Some(chain) = chains.pop() {
        for stage in &chain.stages {
            match stage {
                Stage::Call(c) => {
                    if let Some((name, b)) = blocks.get_key_value(c.name.name.as_str())
                        && used.insert(*name)
                    {
                        chains.extend(b.lets.iter().map(|l| &l.chain));
                        chains.push(&b.body);
                    }
                }
                Stage::Repeat { body, .. } => chains.push(body),
                Stage::Residual { body, shortcut, .. } => {
                    chains.push(body);
                    chains.extend(shortcut);
                }
            }
        }
    }
    used
}

/// The comment lines right above block `b`, without their `#`.
fn main_comments(c: &Compilation, b: &BlockDef) -> Vec<String> {
    let Some((_, file)) = c.program.files.iter().find(|(id, _)| *id == b.span.file) else { return Vec::new() };
    let (block_line, _) = c.sources.line_col(b.span);
    let mut lines = Vec::new();
    let mut want = block_line;
    for comment in file.comments.iter().rev().filter(|cm| cm.span.end <= b.span.start) {
        let (line, col) = c.sources.line_col(comment.span);
        if line + 1 != want || col != 1 {
            break;
        }
        lines.push(comment.text.trim_start_matches(['#', '/']).trim().to_string());
        want = line;
    }
    lines.reverse();
    lines
}

/// The Python default of a parameter: its `.net` default when that is a constant.
fn literal(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) => true,
        ExprKind::Name(n) => crate::ops::sig::symbol(n).is_some(),
        ExprKind::List(items) => items.iter().all(literal),
        ExprKind::Neg(i) => literal(i),
        ExprKind::Binary(_, a, b) => literal(a) && literal(b),
        ExprKind::Call(..) => false,
    }
}

fn annotation(ty: Option<&str>) -> &'static str {
    match ty {
        Some("int") => ": int",
        Some("float") => ": float",
        Some("bool") => ": bool",
        Some("list") => ": list",
        _ => "",
    }
}

fn want_of(ty: Option<&str>) -> Want {
    match ty {
        Some("int") => Want::Int,
        Some("float") => Want::Float,
        _ => Want::Any,
    }
}

/// The class of block `b`, with the helpers it uses.
fn block_class(cx: &Context, b: &BlockDef, comments: Vec<String>) -> Result<(String, Vec<&'static str>), Vec<String>> {
    let tensors = &cx.tensor_params[b.name.name.as_str()];
    let mut class = None;
    for lazy in [false, true] {
        let params: Vec<Param> = b
            .params
            .iter()
            .zip(tensors)
            .map(|(p, &tensor)| Param {
                name: p.name.name.clone(),
                py: py_name(&p.name.name),
                ty: p.ty.as_ref().map(|t| t.name.clone()),
                tensor,
            })
            .collect();
        let mut inputs = vec![("in".to_string(), "x".to_string())];
        inputs.extend(params.iter().filter(|p| p.tensor).map(|p| (p.name.clone(), p.py.clone())));
        let mut c = Class::new(cx, params, &inputs, lazy);
        let mut counters = Counters::default();
        for l in &b.lets {
            let var = c.bind(&l.name.name);
            let out = c.chain(&l.chain, &mut counters, Some("x".into()), &var);
            if out != var {
                c.forward.push(format!("{var} = {out}"));
            }
        }
        let out = c.chain(&b.body, &mut counters, Some("x".into()), "out");
        c.forward.push(format!("return {out}"));
        if !c.needs_lazy || lazy {
            class = Some(c);
            break;
        }
    }
    let Some(mut c) = class else { return Err(vec!["no class could be written".into()]) };
    // Parameters' defaults: constants in the signature, the others computed from earlier
    // parameters in the constructor.
    let mut signature = vec!["self".to_string()];
    let mut fill = Vec::new();
    for (p, &tensor) in b.params.iter().zip(tensors) {
        if tensor {
            continue;
        }
        let py = py_name(&p.name.name);
        let ty = p.ty.as_ref().map(|t| t.name.as_str());
        let default = match &p.default {
            None => String::new(),
            Some(e) if literal(e) => format!(" = {}", c.expr(e, Place::Init, want_of(ty))),
            Some(e) => {
                fill.push(format!("if {py} is None:"));
                fill.push(format!("    {py} = {}", c.expr(e, Place::Init, want_of(ty))));
                " = None".to_string()
            }
        };
        let default = if annotation(ty).is_empty() { default.replace(" = ", "=") } else { default };
        signature.push(format!("{py}{}{default}", annotation(ty)));
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let tensor_args: String = c.params.iter().filter(|p| p.tensor).map(|p| format!(", {}", p.py)).collect();
    let stored: Vec<String> = c
        .params
        .iter()
        .filter(|p| !p.tensor && ((c.lazy && c.init_params.contains(&p.py)) || c.forward_params.contains(&p.py)))
        .map(|p| p.py.clone())
        .collect();
    let mut out = String::new();
    let base = if c.lazy { "LazyBlock" } else { "nn.Module" };
    let _ = writeln!(out, "class {}({base}):", cx.classes[b.name.name.as_str()]);
    let header =
        cx.sources.text(b.span).split('{').next().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let mut doc = vec![format!("`{header}`")];
    if !comments.is_empty() {
        doc.push(String::new());
        doc.extend(comments);
    }
    if c.lazy {
        doc.push(String::new());
        doc.push("Its layers depend on its input's shape: `build` makes them from the first input.".into());
    }
    write_doc(&mut out, &doc);
    let _ = writeln!(out, "\n    def __init__({}):", signature.join(", "));
    let _ = writeln!(out, "        super().__init__()");
    for f in &fill {
        let _ = writeln!(out, "        {f}");
    }
    if !stored.is_empty() {
        let _ = writeln!(
            out,
            "        {} = {}",
            stored.iter().map(|p| format!("self.{p}")).collect::<Vec<_>>().join(", "),
            stored.join(", ")
        );
    }
    if c.lazy {
        let _ = writeln!(out, "\n    def build(self, x{tensor_args}):");
        let unpack: Vec<&String> =
            c.params.iter().filter(|p| !p.tensor && c.init_params.contains(&p.py)).map(|p| &p.py).collect();
        if !unpack.is_empty() {
            let names: Vec<&str> = unpack.iter().map(|s| s.as_str()).collect();
            let attrs: Vec<String> = names.iter().map(|n| format!("self.{n}")).collect();
            let _ = writeln!(out, "        {} = {}", names.join(", "), attrs.join(", "));
        }
    }
    for l in &c.init.lines {
        let _ = writeln!(out, "        {l}");
    }
    let _ = writeln!(out, "\n    def forward(self, x{tensor_args}):");
    for l in &c.forward.lines {
        let _ = writeln!(out, "        {l}");
    }
    let helpers = std::mem::take(&mut c.helpers);
    let mut helpers = helpers;
    if c.lazy {
        helpers.insert(0, LAZY_BLOCK);
    }
    Ok((out, helpers))
}

fn write_doc(out: &mut String, lines: &[String]) {
    if lines.len() == 1 {
        let _ = writeln!(out, "    \"\"\"{}\"\"\"", lines[0]);
        return;
    }
    let _ = writeln!(out, "    \"\"\"{}", lines[0]);
    for l in &lines[1..] {
        if l.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {l}");
        }
    }
    let _ = writeln!(out, "    \"\"\"");
}

/// `Network`: the file's inputs, `let`s and outputs.
fn network_class(cx: &Context, c: &Compilation, main: &ast::File) -> Result<(String, Vec<&'static str>), Vec<String>> {
    let inputs: Vec<(String, Vec<usize>, Option<crate::ops::Normalize>)> = c
        .graph
        .inputs
        .iter()
        .filter_map(|&n| match &c.graph.g[n].op {
            Op::Input(i) => Some((i.name.clone(), i.dims.clone(), i.normalize.clone())),
            _ => None,
        })
        .collect();
    let vars: Vec<(String, String)> = inputs.iter().map(|(n, ..)| (n.clone(), py_name(n))).collect();
    let outputs: usize =
        main.items.iter().map(|i| if let Item::Output { chains, .. } = i { chains.len() } else { 0 }).sum();
    let mut class = None;
    for lazy in [false, true] {
        let mut k = Class::new(cx, Vec::new(), &vars, lazy);
        let mut counters = Counters::default();
        let mut results = Vec::new();
        for item in &main.items {
            match item {
                Item::Let(l) => {
                    let var = k.bind(&l.name.name);
                    let out = k.chain(&l.chain, &mut counters, None, &var);
                    if out != var {
                        k.forward.push(format!("{var} = {out}"));
                    }
                }
                Item::Output { chains, .. } => {
                    for chain in chains {
                        let target = if outputs == 1 { "out".to_string() } else { format!("out{}", results.len() + 1) };
                        results.push(k.chain(chain, &mut counters, None, &target));
                    }
                }
                _ => {}
            }
        }
        k.forward.push(format!("return {}", results.join(", ")));
        if !k.needs_lazy || lazy {
            class = Some(k);
            break;
        }
    }
    let Some(mut k) = class else { return Err(vec!["no class could be written".into()]) };
    if !k.errors.is_empty() {
        return Err(k.errors);
    }
    let mut helpers = std::mem::take(&mut k.helpers);
    let args: String = vars.iter().map(|(_, py)| format!(", {py}")).collect();
    let mut out = String::new();
    let _ = writeln!(out, "class Network({}):", if k.lazy { "LazyBlock" } else { "nn.Module" });
    let mut doc = vec!["The file's top level.".to_string(), String::new()];
    for (name, dims, norm) in &inputs {
        let shape: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        doc.push(format!("Input `{name}`: a batch of {} ([N, {}]).", shape.join("x"), shape.join(", ")));
        if norm.is_some() {
            doc.push(format!("`forward` normalizes `{name}` as netc does: give it the raw values."));
        }
    }
    write_doc(&mut out, &doc);
    let _ = writeln!(out, "\n    def __init__(self):");
    let _ = writeln!(out, "        super().__init__()");
    if k.lazy {
        helpers.insert(0, LAZY_BLOCK);
    } else {
        for l in &k.init.lines {
            let _ = writeln!(out, "        {l}");
        }
    }
    let zeros: Vec<String> = inputs
        .iter()
        .map(|(_, dims, _)| {
            let d: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("torch.zeros(1, {})", d.join(", "))
        })
        .collect();
    let _ = writeln!(out, "        with torch.no_grad():  # one zero sample gives the lazy layers their shapes");
    let _ = writeln!(out, "            self.eval()");
    let _ = writeln!(out, "            self({})", zeros.join(", "));
    let _ = writeln!(out, "            self.train()");
    if k.lazy {
        let _ = writeln!(out, "\n    def build(self{args}):");
        for l in &k.init.lines {
            let _ = writeln!(out, "        {l}");
        }
    }
    let _ = writeln!(out, "\n    def forward(self{args}):");
    for ((_, _, norm), (_, py)) in inputs.iter().zip(&vars) {
        if let Some(n) = norm {
            helpers.push(NORMALIZE);
            let list = |v: &[f32]| v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ");
            let _ =
                writeln!(out, "        {py} = normalize({py}, {:?}, [{}], [{}])", n.scale, list(&n.mean), list(&n.std));
        }
    }
    for l in &k.forward.lines {
        let _ = writeln!(out, "        {l}");
    }
    Ok((out, helpers))
}
