//! Lowering (elaboration): AST -> flat IR graph. Every block call is expanded with its
//! arguments bound, `repeat` is unrolled, and each node gets its stable dotted path.
//! Errors are collected, not fatal: a failed stage yields no tensor and later stages that
//! depend on it are skipped silently, so each independent error is reported once.

use super::builtins::{self, Builtin, Default, Ty};
use super::{Graph, Node, Normalize, Op, Operand, Output, SkipKind};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{self, Arg, BinOp, BlockDef, Chain, Expr, ExprKind, Item, Stage};
use crate::source::Span;
use crate::syntax::Program;
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;

/// Options that change how a program is lowered.
#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    /// Replaces the declared shape of the (single) input: `--input-shape 3x64x64`.
    pub input_shape: Option<Vec<usize>>,
}

/// Most IR nodes a network may expand to.
pub const MAX_NODES: usize = 1_000_000;
/// Largest count a single `repeat` accepts.
pub const MAX_REPEAT: i64 = 100_000;
/// Deepest nesting of block calls.
pub const MAX_CALL_DEPTH: usize = 128;
/// Largest dimension accepted anywhere (channels, sizes, kernel).
pub const MAX_DIM: i64 = 1 << 24;

/// A block or built-in layer, as argument matching sees it.
struct Callee<'a> {
    /// "block `vgg`" or "`conv`".
    what: String,
    params: &'a [&'a str],
    signature: String,
    defined_at: Option<Span>,
}

/// A compile-time value: a parameter, an argument, or a tensor reference.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `same` or `valid`.
    Sym(&'static str),
    List(Vec<Value>),
    Tensor(Tensor),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Sym(_) => "padding mode",
            Value::List(_) => "list",
            Value::Tensor(_) => "tensor",
        }
    }
}

/// A tensor during lowering: its node and where the expression that produced it was written.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tensor {
    node: NodeIndex,
    span: Span,
}

struct TensorVar {
    /// `None` when the defining chain failed to lower.
    tensor: Option<Tensor>,
    def_span: Span,
    used: std::cell::Cell<bool>,
}

/// One block instance (or the top level) being expanded.
struct Frame {
    params: HashMap<String, Value>,
    tensors: HashMap<String, TensorVar>,
    /// Names bound in the order written, for the unused-tensor warning.
    order: Vec<String>,
    prefix: String,
    counters: HashMap<String, usize>,
    /// Layer names taken in this scope, with the span of the `as` label that chose each one
    /// (`None` for automatic names). Names become weight names, so they must be unique.
    names: HashMap<String, Option<Span>>,
    /// The block's input (`in`), or `None` at the top level.
    input: Option<Tensor>,
    /// `let` names of this scope not yet defined, with where they will be: reading one is E0011.
    pending: HashMap<String, Span>,
}

impl Frame {
    fn new(prefix: String, params: HashMap<String, Value>, input: Option<Tensor>) -> Frame {
        Frame {
            params,
            tensors: HashMap::new(),
            order: Vec::new(),
            prefix,
            counters: HashMap::new(),
            names: HashMap::new(),
            input,
            pending: HashMap::new(),
        }
    }

    /// The next automatic name for `callee` in this scope that no layer has yet: `conv1`, `conv2`, ...
    fn auto_name(&mut self, callee: &str) -> String {
        let n = self.counters.entry(callee.to_string()).or_insert(0);
        loop {
            *n += 1;
            let name = format!("{callee}{n}");
            if !self.names.contains_key(&name) {
                self.names.insert(name.clone(), None);
                return name;
            }
        }
    }
}

struct Lowerer<'p> {
    blocks: HashMap<&'p str, &'p BlockDef>,
    graph: Graph,
    diags: Vec<Diagnostic>,
    /// Blocks being expanded, innermost last: detects recursion.
    stack: Vec<(&'p str, Span)>,
    overflowed: bool,
    /// Imported files that failed to load (their blocks are missing).
    unloaded: &'p [String],
}

/// Lowers a parsed program to the IR. Returns the graph (possibly partial) and all diagnostics.
pub fn lower(program: &Program, options: &LowerOptions) -> (Graph, Vec<Diagnostic>) {
    let mut l = Lowerer {
        blocks: HashMap::new(),
        graph: Graph::default(),
        diags: Vec::new(),
        stack: Vec::new(),
        overflowed: false,
        unloaded: &program.unloaded,
    };
    // Blocks: later files (imports before the main file) shadow earlier ones (the prelude);
    // within one file a name may be defined once.
    for (_, ast) in &program.files {
        let mut here: HashMap<&str, Span> = HashMap::new();
        for item in &ast.items {
            if let Item::Block(b) = item {
                if let Some(first) = here.get(b.name.name.as_str()) {
                    l.diags.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!("block `{}` is defined twice", b.name.name),
                            b.name.span,
                            "defined again here",
                        )
                        .with_label(*first, "first defined here")
                        .with_help("rename one of the blocks"),
                    );
                    continue;
                }
                if builtins::builtin(&b.name.name).is_some() {
                    l.diags.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!("block `{}` has the name of a built-in layer", b.name.name),
                            b.name.span,
                            "built-in name",
                        )
                        .with_help(format!("rename the block, e.g. `my_{}`", b.name.name)),
                    );
                    continue;
                }
                here.insert(&b.name.name, b.name.span);
                l.blocks.insert(&b.name.name, b);
                l.check_block_params(b);
            }
        }
    }
    let main = program.files.iter().find(|(id, _)| *id == program.main).map(|(_, f)| f);
    if let Some(main) = main {
        l.top_level(main, program, options);
    }
    dedup(&mut l.diags);
    (l.graph, l.diags)
}

/// Drops repeated diagnostics (a block body error is found once per expansion).
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.primary.span, d.message.clone())));
}

impl<'p> Lowerer<'p> {
    fn check_block_params(&mut self, b: &BlockDef) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &b.params {
            if let Some(first) = seen.insert(&p.name.name, p.name.span) {
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("parameter `{}` is declared twice", p.name.name),
                        p.name.span,
                        "declared again here",
                    )
                    .with_label(first, "first declared here"),
                );
            }
            if let Some(ty) = &p.ty
                && Ty::from_name(&ty.name).is_none()
            {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("unknown parameter type `{}`", ty.name),
                        ty.span,
                        "not a type",
                    )
                    .with_help("parameter types are `int`, `float`, `bool`, `pad` and `list`"),
                );
            }
        }
    }

    fn top_level(&mut self, main: &'p ast::File, program: &Program, options: &LowerOptions) {
        let mut frame = Frame::new(String::new(), HashMap::new(), None);
        let mut input_decls = Vec::new();
        for item in &main.items {
            if let Item::Input(decl) = item {
                input_decls.push(decl);
            }
        }
        if input_decls.len() != 1 && options.input_shape.is_some() {
            let span = input_decls.first().map_or(Span { file: program.main, start: 0, end: 0 }, |d| d.span);
            self.diags.push(Diagnostic::error(
                Code::NetworkInterface,
                "`--input-shape` needs a network with exactly one input",
                span,
                format!("this network declares {} inputs", input_decls.len()),
            ));
        }
        let mut any_output = false;
        Self::declare_lets(
            &mut frame,
            main.items.iter().filter_map(|i| if let Item::Let(l) = i { Some(l) } else { None }),
        );
        for item in &main.items {
            match item {
                Item::Input(decl) => {
                    self.input(decl, &mut frame, options.input_shape.as_deref().filter(|_| input_decls.len() == 1))
                }
                Item::Let(l) => self.let_stmt(l, &mut frame),
                Item::Output { chains, .. } => {
                    any_output = true;
                    for c in chains {
                        if let Some(t) = self.chain(c, &mut frame, None) {
                            self.graph.outputs.push(Output { node: t.node, span: c.span });
                        }
                    }
                }
                Item::Import { .. } | Item::Block(_) => {}
            }
        }
        let file_span = Span { file: program.main, start: 0, end: 0 };
        if input_decls.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    Code::NetworkInterface,
                    "the network declares no input",
                    file_span,
                    "no `input` in this file",
                )
                .with_help("declare the input's shape (channels x height x width): `input x: 3x224x224`"),
            );
        }
        if !any_output && !self.overflowed {
            let span = main.items.last().map_or(file_span, item_span);
            self.diags.push(
                Diagnostic::error(
                    Code::NetworkInterface,
                    "the network has no `output`",
                    span,
                    "the file ends without an `output` statement",
                )
                .with_help("name what the network computes, e.g. `output x -> vgg(64) -> global_avgpool -> dense(10)`"),
            );
        }
        self.warn_unused(&frame);
    }

    fn input(&mut self, decl: &ast::InputDecl, frame: &mut Frame, override_shape: Option<&[usize]>) {
        let mut dims = Vec::new();
        for (d, span) in &decl.dims {
            if *d == 0 || *d > MAX_DIM as u64 {
                self.diags.push(Diagnostic::error(
                    Code::NetworkInterface,
                    format!("input dimension {d} is out of range"),
                    *span,
                    format!("must be between 1 and {MAX_DIM}"),
                ));
                // Bind the name as failed so that its uses are skipped, not reported as undefined.
                self.bind(frame, &decl.name, None, decl.span);
                return;
            }
            dims.push(*d as usize);
        }
        if let Some(s) = override_shape {
            dims = s.to_vec();
        }
        if dims.len() != 3 && dims.len() != 1 {
            self.diags.push(
                Diagnostic::error(
                    Code::NetworkInterface,
                    format!("input `{}` has {} dimensions", decl.name.name, dims.len()),
                    decl.shape_span,
                    "expected CxHxW (or a single feature count)",
                )
                .with_help("write the per-sample shape without the batch, e.g. `3x224x224`"),
            );
            self.bind(frame, &decl.name, None, decl.span);
            return;
        }
        let normalize = decl.normalize.as_ref().and_then(|(args, _)| self.normalize(args, dims[0]));
        let path = decl.name.name.clone();
        let node = self.graph.add(Node::new(Op::Input { name: path.clone(), dims, normalize }, path, decl.span), &[]);
        self.graph.inputs.push(node);
        self.bind(frame, &decl.name, Some(Tensor { node, span: decl.span }), decl.span);
    }

    fn normalize(&mut self, args: &[Arg], channels: usize) -> Option<Normalize> {
        let frame = Frame::new(String::new(), HashMap::new(), None);
        let mut out = Normalize { scale: 1.0, mean: vec![0.0; channels], std: vec![1.0; channels] };
        let mut ok = true;
        for a in args {
            let Some(name) = &a.name else {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadArguments,
                        "`normalize` takes named arguments only",
                        a.span,
                        "unnamed argument",
                    )
                    .with_help("write `normalize(scale = 1/255, mean = [...], std = [...])`"),
                );
                ok = false;
                continue;
            };
            let Some(v) = self.eval(&a.value, &frame) else {
                ok = false;
                continue;
            };
            match (name.name.as_str(), v) {
                ("scale", Value::Int(i)) => out.scale = i as f32,
                ("scale", Value::Float(f)) => out.scale = f as f32,
                (which @ ("mean" | "std"), Value::List(items)) => {
                    let nums: Option<Vec<f32>> = items
                        .iter()
                        .map(|v| match v {
                            Value::Int(i) => Some(*i as f32),
                            Value::Float(f) => Some(*f as f32),
                            _ => None,
                        })
                        .collect();
                    match nums {
                        Some(n) if n.len() == channels => {
                            if which == "std" && n.contains(&0.0) {
                                self.diags.push(Diagnostic::error(
                                    Code::BadValue,
                                    "`std` contains a zero",
                                    a.value.span,
                                    "would divide by zero",
                                ));
                                ok = false;
                            } else if which == "mean" {
                                out.mean = n;
                            } else {
                                out.std = n;
                            }
                        }
                        _ => {
                            self.diags.push(Diagnostic::error(
                                Code::BadValue,
                                format!("`{which}` must list {channels} numbers, one per input channel"),
                                a.value.span,
                                format!("expected {channels} numbers"),
                            ));
                            ok = false;
                        }
                    }
                }
                (which @ ("mean" | "std"), Value::Int(i)) => {
                    let v = vec![i as f32; channels];
                    if which == "mean" { out.mean = v } else { out.std = v }
                }
                (which @ ("mean" | "std"), Value::Float(f)) => {
                    let v = vec![f as f32; channels];
                    if which == "mean" { out.mean = v } else { out.std = v }
                }
                ("scale" | "mean" | "std", v) => {
                    self.diags.push(Diagnostic::error(
                        Code::BadValue,
                        format!("`{}` cannot be a {}", name.name, v.kind()),
                        a.value.span,
                        "wrong type",
                    ));
                    ok = false;
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("`normalize` has no parameter `{}`", name.name),
                            name.span,
                            "unknown parameter",
                        )
                        .with_help("`normalize` takes `scale`, `mean` and `std`"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn bind(&mut self, frame: &mut Frame, name: &ast::Ident, tensor: Option<Tensor>, def_span: Span) {
        if name.name == "in" {
            self.diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    "`in` is the block's input and cannot be rebound",
                    name.span,
                    "reserved name",
                )
                .with_help("choose another name"),
            );
            return;
        }
        if let Some(prev) = frame.tensors.get(&name.name) {
            self.diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("tensor `{}` is defined twice", name.name),
                    name.span,
                    "defined again here",
                )
                .with_label(prev.def_span, "first defined here")
                .with_help(format!("give the new tensor another name, e.g. `{}2`", name.name)),
            );
            return;
        }
        if self.blocks.contains_key(name.name.as_str()) || builtins::builtin(&name.name).is_some() {
            self.diags.push(
                Diagnostic::error(
                    Code::WrongRole,
                    format!("tensor name `{}` is already the name of a layer or block", name.name),
                    name.span,
                    "ambiguous name",
                )
                .with_help(format!("rename the tensor, e.g. `{}_out`", name.name)),
            );
            return;
        }
        frame.order.push(name.name.clone());
        frame.tensors.insert(name.name.clone(), TensorVar { tensor, def_span, used: std::cell::Cell::new(false) });
    }

    fn let_stmt(&mut self, l: &ast::Let, frame: &mut Frame) {
        let t = self.chain(&l.chain, frame, frame.input);
        frame.pending.remove(&l.name.name);
        self.bind(frame, &l.name, t, l.name.span);
    }

    /// Records the `let` names of a scope before lowering it, so early reads are reported as such.
    fn declare_lets<'a>(frame: &mut Frame, lets: impl Iterator<Item = &'a ast::Let>) {
        for l in lets {
            frame.pending.entry(l.name.name.clone()).or_insert(l.name.span);
        }
    }

    fn warn_unused(&mut self, frame: &Frame) {
        for name in &frame.order {
            let v = &frame.tensors[name];
            if !v.used.get() && v.tensor.is_some() && !v.tensor.is_some_and(|t| self.graph.is_output(t.node)) {
                self.diags.push(
                    Diagnostic::warning(
                        Code::UnusedTensor,
                        format!("tensor `{name}` is never used"),
                        v.def_span,
                        "computed here but never read",
                    )
                    .with_help(if frame.input.is_some() {
                        // Inside a block there is no `output`: the block's result is its last chain.
                        format!("use it in the block's chain (e.g. `-> add({name})`) or remove the binding")
                    } else {
                        format!("use it (e.g. `output {name}`) or remove the binding")
                    }),
                );
            }
        }
    }

    fn new_node(&mut self, op: Op, path: String, span: Span, inputs: &[NodeIndex]) -> Option<NodeIndex> {
        if self.graph.g.node_count() >= MAX_NODES {
            if !self.overflowed {
                self.overflowed = true;
                self.diags.push(
                    Diagnostic::error(
                        Code::TooLarge,
                        format!("the network expands to more than {MAX_NODES} layers"),
                        span,
                        "limit reached while expanding this",
                    )
                    .with_help("lower the `repeat` counts"),
                );
            }
            return None;
        }
        let mut node = Node::new(op, path, span);
        node.calls = self.stack.iter().map(|&(name, call)| (name.to_string(), call)).collect();
        Some(self.graph.add(node, inputs))
    }

    /// Lowers a chain. `implicit` is the tensor a chain starting with a layer call applies to.
    fn chain(&mut self, chain: &Chain, frame: &mut Frame, implicit: Option<Tensor>) -> Option<Tensor> {
        let mut stages = chain.stages.iter();
        let first = stages.next()?;
        let mut cur = self.head(first, frame, implicit);
        let mut ok = cur.is_some() || self.head_is_failed_tensor(first, frame);
        for stage in stages {
            if self.overflowed {
                return None;
            }
            let next = self.stage(stage, frame, cur);
            if ok && cur.is_some() {
                cur = next;
            } else {
                cur = None;
            }
            ok = ok && cur.is_some();
        }
        cur
    }

    fn head_is_failed_tensor(&self, first: &Stage, frame: &Frame) -> bool {
        matches!(first, Stage::Call(c) if c.args.is_none() && frame.tensors.contains_key(&c.name.name))
    }

    /// The first stage of a chain: a tensor name, `in`, a multi-input op, or a layer applied to `implicit`.
    fn head(&mut self, stage: &Stage, frame: &mut Frame, implicit: Option<Tensor>) -> Option<Tensor> {
        if let Stage::Call(call) = stage {
            if call.args.is_none()
                && call.label.is_none()
                && let Some(t) = self.tensor_ref(&call.name, frame)
            {
                return t;
            }
            if let Some(b) = builtins::builtin(&call.name.name)
                && b.variadic_tensors
            {
                return self.call(call, frame, None);
            }
        }
        if implicit.is_none() {
            let msg = match stage {
                Stage::Call(c) if self.is_callable(&c.name.name) => {
                    format!("`{}` has no input: a top-level chain must start from a tensor", c.name.name)
                }
                Stage::Call(c) => {
                    return self.undefined(&c.name, frame, c.args.is_some()).and(None);
                }
                _ => "this chain has no input: a top-level chain must start from a tensor".to_string(),
            };
            let first_input =
                self.graph.inputs.first().map(|&n| self.graph.g[n].path.clone()).unwrap_or_else(|| "x".into());
            self.diags.push(
                Diagnostic::error(Code::NetworkInterface, msg, stage.span(), "nothing flows into this")
                    .with_help(format!("start the chain from a tensor: `{first_input} -> {}`", stage_hint(stage))),
            );
            return None;
        }
        self.stage(stage, frame, implicit)
    }

    /// Resolves a bare name used as a tensor. `None` if it is not a tensor name at all;
    /// `Some(None)` if it names a tensor whose definition failed.
    fn tensor_ref(&mut self, name: &ast::Ident, frame: &mut Frame) -> Option<Option<Tensor>> {
        if name.name == "in" {
            if let Some(t) = frame.input {
                return Some(Some(Tensor { node: t.node, span: name.span }));
            }
            self.diags.push(
                Diagnostic::error(
                    Code::Undefined,
                    "`in` is only defined inside a block",
                    name.span,
                    "no block input here",
                )
                .with_help("at the top level, start chains from an input or a `let` tensor"),
            );
            return Some(None);
        }
        let v = frame.tensors.get(&name.name)?;
        v.used.set(true);
        Some(v.tensor.map(|t| Tensor { node: t.node, span: v.def_span }))
    }

    fn is_callable(&self, name: &str) -> bool {
        builtins::builtin(name).is_some() || self.blocks.contains_key(name)
    }

    fn stage(&mut self, stage: &Stage, frame: &mut Frame, cur: Option<Tensor>) -> Option<Tensor> {
        match stage {
            Stage::Call(call) => {
                if call.args.is_none() && (frame.tensors.contains_key(&call.name.name) || call.name.name == "in") {
                    self.diags.push(
                        Diagnostic::error(Code::WrongRole, format!("tensor `{}` used as a layer", call.name.name), call.name.span, "a tensor cannot be applied to another tensor")
                            .with_help(format!("to combine tensors use `add({})` or `concat({})`; to name this point of the chain, end it here and write `let {} = ...`", call.name.name, call.name.name, call.name.name)),
                    );
                    return None;
                }
                self.call(call, frame, cur)
            }
            Stage::Repeat { count, body, .. } => {
                let n = match self.eval(count, frame) {
                    Some(Value::Int(n)) if (0..=MAX_REPEAT).contains(&n) => n,
                    Some(Value::Int(n)) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::TooLarge,
                                format!("repeat count {n} is out of range"),
                                count.span,
                                format!("must be between 0 and {MAX_REPEAT}"),
                            )
                            .with_help("networks this deep cannot be checked or run; use a smaller count"),
                        );
                        return None;
                    }
                    Some(v) => {
                        self.diags.push(Diagnostic::error(
                            Code::BadValue,
                            format!("repeat count must be an int, found {}", a_or_an(v.kind())),
                            count.span,
                            "expected an int",
                        ));
                        return None;
                    }
                    None => return None,
                };
                let mut t = cur;
                for _ in 0..n {
                    t = self.chain(body, frame, t);
                    t?;
                }
                t
            }
            Stage::Residual { body, shortcut, span, keyword } => {
                let cur = cur?;
                let body_out = self.chain(body, frame, Some(cur))?;
                let short = match shortcut {
                    Some(sc) => {
                        let name = frame.auto_name("shortcut");
                        let prefix = format!("{}{}.", frame.prefix, name);
                        let mut sub = Frame::new(prefix, frame.params.clone(), frame.input);
                        let t = self.chain(sc, &mut sub, Some(cur))?;
                        Tensor { node: t.node, span: sc.span }
                    }
                    None => cur,
                };
                let name = frame.auto_name("add");
                let path = format!("{}{name}", frame.prefix);
                let node = self.new_node(Op::Add { relu: false }, path, *keyword, &[short.node, body_out.node])?;
                let n = &mut self.graph.g[node];
                n.operands = vec![Operand { span: short.span, name: None }, Operand { span: body.span, name: None }];
                n.skip = Some(SkipKind::Residual { has_shortcut: shortcut.is_some() });
                Some(Tensor { node, span: *span })
            }
        }
    }

    fn undefined(&mut self, name: &ast::Ident, frame: &Frame, as_callee: bool) -> Option<()> {
        if let Some(def) = frame.pending.get(&name.name) {
            let d = if def.start <= name.span.start {
                Diagnostic::error(Code::Cycle, format!("tensor `{}` is used in its own definition", name.name), name.span, "read here while being defined")
                    .with_label(*def, "defined here")
                    .with_note("networks are acyclic: a tensor can only be read after the `let` that defines it")
                    .with_help("start the chain from an earlier tensor (the value before this layer), not from the one being defined")
            } else {
                Diagnostic::error(
                    Code::Cycle,
                    format!("tensor `{}` is used before it is defined", name.name),
                    name.span,
                    "read here",
                )
                .with_label(*def, "defined later here")
                .with_note("networks are acyclic: a tensor can only be read after the `let` that defines it")
                .with_help(format!("move `let {} = ...` above this line", name.name))
            };
            self.diags.push(d);
            return None;
        }
        let mut candidates: Vec<&str> = builtins::BUILTINS.iter().map(|b| b.name).collect();
        candidates.extend(self.blocks.keys().copied());
        if !as_callee {
            candidates.extend(frame.tensors.keys().map(String::as_str));
            candidates.extend(frame.params.keys().map(String::as_str));
        }
        let suggestion = closest(&name.name, &candidates);
        let mut d = if as_callee {
            Diagnostic::error(
                Code::UnknownCallee,
                format!("unknown layer or block `{}`", name.name),
                name.span,
                "not a built-in layer or a defined block",
            )
        } else {
            Diagnostic::error(Code::Undefined, format!("undefined name `{}`", name.name), name.span, "not defined here")
        };
        d = match suggestion {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if as_callee => d.with_help(format!(
                "define it: `block {}(c: int) {{ conv(c, 3) -> relu }}`, or import the file that does",
                name.name
            )),
            None => d.with_help(
                "tensors must be defined with `let` before use; parameters are those of the enclosing block",
            ),
        };
        if as_callee && !self.unloaded.is_empty() {
            let files: Vec<String> = self.unloaded.iter().map(|f| format!("`{f}`")).collect();
            d = d.with_note(format!(
                "{} could not be loaded (see its error): a block defined there is unknown until that is fixed",
                files.join(", ")
            ));
        }
        self.diags.push(d);
        None
    }

    fn call(&mut self, call: &ast::Call, frame: &mut Frame, cur: Option<Tensor>) -> Option<Tensor> {
        let label = match &call.label {
            Some(l) => {
                match frame.names.insert(l.name.clone(), Some(l.span)) {
                    None => {}
                    Some(Some(prev)) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!("the name `{}` is given to two layers", l.name),
                                l.span,
                                "used again here",
                            )
                            .with_label(prev, "first used here")
                            .with_help("layer names become weight names and must be unique in their block"),
                        );
                        return None;
                    }
                    Some(None) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!("the name `{}` is already the automatic name of an earlier layer", l.name),
                                l.span,
                                "name taken",
                            )
                            .with_help(format!(
                                "layer names become weight names and must be unique in their block; choose another, e.g. `{}_out`",
                                l.name
                            )),
                        );
                        return None;
                    }
                }
                l.name.clone()
            }
            None => frame.auto_name(&call.name.name),
        };
        let path = format!("{}{}", frame.prefix, label);
        let args: &[Arg] = call.args.as_deref().unwrap_or(&[]);
        if let Some(b) = builtins::builtin(&call.name.name) {
            return self.builtin_call(b, call, args, frame, cur, path);
        }
        let Some(&block) = self.blocks.get(call.name.name.as_str()) else {
            self.undefined(&call.name, frame, true);
            // Still evaluate the arguments to surface their own errors.
            for a in args {
                self.eval(&a.value, frame);
            }
            return None;
        };
        if let Some((_, first)) = self.stack.iter().find(|(n, _)| *n == block.name.name) {
            let cycle: Vec<&str> =
                self.stack.iter().skip_while(|(n, _)| *n != block.name.name).map(|(n, _)| *n).collect();
            self.diags.push(
                Diagnostic::error(
                    Code::RecursiveBlock,
                    format!("block `{}` calls itself", block.name.name),
                    call.name.span,
                    "recursive call",
                )
                .with_label(*first, "while expanding this call")
                .with_note(format!("call chain: {} -> {}", cycle.join(" -> "), block.name.name))
                .with_help(
                    "blocks are expanded at compile time and cannot recurse; use `repeat n { ... }` for repetition",
                ),
            );
            return None;
        }
        if self.stack.len() >= MAX_CALL_DEPTH {
            self.diags.push(Diagnostic::error(
                Code::TooLarge,
                format!("block calls nested more than {MAX_CALL_DEPTH} deep"),
                call.span,
                "too deep",
            ));
            return None;
        }
        let params = self.bind_block_args(block, call, args, frame)?;
        let cur = cur?;
        let mut sub = Frame::new(format!("{path}."), params, Some(cur));
        self.stack.push((&block.name.name, call.span));
        Self::declare_lets(&mut sub, block.lets.iter());
        for l in &block.lets {
            self.let_stmt(l, &mut sub);
        }
        let out = self.chain(&block.body, &mut sub, Some(cur));
        self.stack.pop();
        self.warn_unused(&sub);
        out.map(|t| Tensor { node: t.node, span: call.span })
    }

    /// Matches argument `a` of a call to its parameter (by name, or by position counting in
    /// `positional`), reporting unknown names, extra arguments and parameters given twice.
    /// `given` collects the indices of parameters that received an argument.
    fn match_arg(
        &mut self,
        callee: &Callee,
        a: &Arg,
        n_args: usize,
        positional: &mut usize,
        given: &mut std::collections::HashSet<usize>,
    ) -> Option<usize> {
        let index = match &a.name {
            Some(n) => match callee.params.iter().position(|p| *p == n.name) {
                Some(i) => i,
                None => {
                    let mut d = Diagnostic::error(
                        Code::BadArguments,
                        format!("{} has no parameter `{}`", callee.what, n.name),
                        n.span,
                        "unknown parameter",
                    );
                    if let Some(def) = callee.defined_at {
                        d = d.with_label(def, format!("{} is defined here", callee.what.trim_start_matches("block ")));
                    }
                    self.diags.push(d.with_help(param_help(callee.params, &n.name)));
                    return None;
                }
            },
            None => {
                *positional += 1;
                if *positional > callee.params.len() {
                    let mut d = Diagnostic::error(
                        Code::BadArguments,
                        format!(
                            "{} takes {} argument{} but {} {} given",
                            callee.what,
                            callee.params.len(),
                            plural(callee.params.len()),
                            n_args,
                            if n_args == 1 { "was" } else { "were" }
                        ),
                        a.span,
                        "extra argument",
                    );
                    if let Some(def) = callee.defined_at {
                        d = d.with_label(def, format!("{} is defined here", callee.what.trim_start_matches("block ")));
                    }
                    self.diags.push(d.with_help(format!("call it as `{}`", callee.signature)));
                    return None;
                }
                *positional - 1
            }
        };
        if !given.insert(index) {
            self.diags.push(Diagnostic::error(
                Code::BadArguments,
                format!("parameter `{}` is given twice", callee.params[index]),
                a.span,
                "given again here",
            ));
            return None;
        }
        Some(index)
    }

    fn bind_block_args(
        &mut self,
        block: &BlockDef,
        call: &ast::Call,
        args: &[Arg],
        frame: &Frame,
    ) -> Option<HashMap<String, Value>> {
        let mut values: HashMap<String, Value> = HashMap::new();
        // Parameters given an argument, even one that failed: those are not also "missing".
        let mut given: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            let v = self.eval(&a.value, frame);
            let names: Vec<&str> = block.params.iter().map(|p| p.name.name.as_str()).collect();
            let callee = Callee {
                what: format!("block `{}`", block.name.name),
                params: &names,
                signature: signature(block),
                defined_at: Some(block.name.span),
            };
            let Some(index) = self.match_arg(&callee, a, args.len(), &mut positional, &mut given) else {
                ok = false;
                continue;
            };
            let param = &block.params[index];
            let Some(v) = v else {
                ok = false;
                continue;
            };
            if let Some(ty) = param.ty.as_ref().and_then(|t| Ty::from_name(&t.name)) {
                match coerce(v, ty) {
                    Ok(v) => {
                        values.insert(p_name(param), v);
                    }
                    Err(v) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadValue,
                                format!(
                                    "`{}` expects {} for `{}`, found {}",
                                    block.name.name,
                                    a_or_an(ty.name()),
                                    param.name.name,
                                    a_or_an(v.kind())
                                ),
                                a.value.span,
                                format!("expected {}", ty.name()),
                            )
                            .with_label(param.span, "parameter declared here"),
                        );
                        ok = false;
                    }
                }
            } else {
                values.insert(p_name(param), v);
            }
        }
        // Defaults are evaluated in the block's own scope, so they may refer to earlier parameters.
        let mut scope = Frame::new(String::new(), HashMap::new(), None);
        for (i, p) in block.params.iter().enumerate() {
            if let Some(v) = values.get(&p.name.name) {
                scope.params.insert(p.name.name.clone(), v.clone());
                continue;
            }
            if given.contains(&i) {
                continue;
            }
            match &p.default {
                Some(e) => {
                    if let Some(v) = self.eval(e, &scope) {
                        scope.params.insert(p.name.name.clone(), v.clone());
                        values.insert(p.name.name.clone(), v);
                    } else {
                        ok = false;
                    }
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("missing argument `{}` in call to `{}`", p.name.name, block.name.name),
                            call.span,
                            format!("`{}` has no default", p.name.name),
                        )
                        .with_label(p.span, "parameter declared here")
                        .with_help(format!("call it as `{}`", signature(block))),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(values)
    }

    fn builtin_call(
        &mut self,
        b: &Builtin,
        call: &ast::Call,
        args: &[Arg],
        frame: &mut Frame,
        cur: Option<Tensor>,
        path: String,
    ) -> Option<Tensor> {
        let mut vals: HashMap<&'static str, Value> = HashMap::new();
        // Parameters given an argument, even one that failed: those are not also "missing".
        let mut given: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut tensors: Vec<Tensor> = Vec::new();
        let mut operands: Vec<Operand> = Vec::new();
        let mut ok = true;
        let mut positional = 0;
        if b.variadic_tensors
            && let Some(c) = cur
        {
            tensors.push(c);
            operands.push(Operand { span: c.span, name: None });
        }
        for a in args {
            if b.variadic_tensors {
                if let Some(n) = &a.name {
                    self.diags.push(Diagnostic::error(
                        Code::BadArguments,
                        format!("`{}` takes only tensors, not `{} = ...`", b.name, n.name),
                        a.span,
                        "named argument",
                    ));
                    ok = false;
                    continue;
                }
                match self.eval(&a.value, frame) {
                    Some(Value::Tensor(t)) => {
                        tensors.push(t);
                        let name = match &a.value.kind {
                            ExprKind::Name(n) => Some(n.clone()),
                            _ => None,
                        };
                        operands.push(Operand { span: t.span, name });
                    }
                    Some(v) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadValue,
                                format!("`{}` expects tensors, found {}", b.name, a_or_an(v.kind())),
                                a.value.span,
                                "not a tensor",
                            )
                            .with_help(format!("pass tensor names: `{}(y, x)`", b.name)),
                        );
                        ok = false;
                    }
                    None => ok = false,
                }
                continue;
            }
            let names: Vec<&str> = b.params.iter().map(|p| p.name).collect();
            let callee = Callee {
                what: format!("`{}`", b.name),
                params: &names,
                signature: builtin_signature(b),
                defined_at: None,
            };
            let Some(index) = self.match_arg(&callee, a, args.len(), &mut positional, &mut given) else {
                ok = false;
                continue;
            };
            let param = &b.params[index];
            match self.eval(&a.value, frame).map(|v| coerce(v, param.ty)) {
                Some(Ok(v)) => {
                    if let Err(msg) = check_range(b.name, param.name, &v) {
                        self.diags.push(Diagnostic::error(Code::BadValue, msg.0, a.value.span, msg.1).with_help(msg.2));
                        ok = false;
                    } else {
                        vals.insert(param.name, v);
                    }
                }
                Some(Err(v)) => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadValue,
                            format!(
                                "`{}` expects {} for `{}`, found {}",
                                b.name,
                                a_or_an(param.ty.name()),
                                param.name,
                                a_or_an(v.kind())
                            ),
                            a.value.span,
                            format!("expected {}", param.ty.name()),
                        )
                        .with_help(format!("call it as `{}`", builtin_signature(b))),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        for (i, p) in b.params.iter().enumerate() {
            if given.contains(&i) {
                continue;
            }
            let v = match p.default {
                Default::Required => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("`{}` needs `{}`", b.name, p.name),
                            call.span,
                            format!("missing `{}`", p.name),
                        )
                        .with_help(format!("call it as `{}`", builtin_signature(b))),
                    );
                    ok = false;
                    continue;
                }
                Default::Int(i) => Value::Int(i),
                Default::Float(f) => Value::Float(f),
                Default::Bool(v) => Value::Bool(v),
                Default::Same => Value::Sym("same"),
                Default::SameAs(other) => match vals.get(other) {
                    Some(v) => v.clone(),
                    None => continue,
                },
                Default::Absent => continue,
            };
            vals.insert(p.name, v);
        }
        if !ok {
            return None;
        }
        let int = |k: &str| match vals.get(k) {
            Some(Value::Int(i)) => *i as usize,
            _ => 0,
        };
        let boolean = |k: &str| matches!(vals.get(k), Some(Value::Bool(true)));
        let op = match b.name {
            "conv" => {
                let kernel = int("kernel");
                let pad = match vals.get("pad") {
                    Some(Value::Sym("same")) => {
                        if kernel % 2 == 0 {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadValue,
                                    format!("`same` padding needs an odd kernel, found {kernel}"),
                                    call.span,
                                    "even kernel with `same` padding",
                                )
                                .with_help(format!(
                                    "use an odd kernel (`conv({}, {})`) or explicit padding (`pad = {}`)",
                                    int("out"),
                                    kernel + 1,
                                    kernel / 2
                                )),
                            );
                            return None;
                        }
                        kernel / 2
                    }
                    Some(Value::Sym(_)) => 0,
                    _ => int("pad"),
                };
                Op::Conv {
                    out_c: int("out"),
                    kernel,
                    stride: int("stride"),
                    pad,
                    bias: boolean("bias"),
                    residual: false,
                    relu: false,
                }
            }
            "relu" => Op::Relu,
            "maxpool" => Op::MaxPool { kernel: int("kernel"), stride: int("stride"), pad: int("pad") },
            "avgpool" => Op::AvgPool { kernel: int("kernel"), stride: int("stride"), pad: int("pad") },
            "global_avgpool" => Op::GlobalAvgPool,
            "global_maxpool" => Op::GlobalMaxPool,
            "batchnorm" => Op::BatchNorm {
                eps: match vals.get("eps") {
                    Some(Value::Float(f)) => *f as f32,
                    _ => 1e-5,
                },
            },
            "add" | "concat" => {
                if tensors.len() < 2 {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("`{}` needs at least two tensors, found {}", b.name, tensors.len()),
                            call.span,
                            "too few tensors",
                        )
                        .with_help(format!("`{}(y, x)`, or inside a chain `y -> {}(x)`", b.name, b.name)),
                    );
                    return None;
                }
                if b.name == "add" { Op::Add { relu: false } } else { Op::Concat }
            }
            "flatten" => Op::Flatten,
            "dense" => Op::Dense {
                out: int("out"),
                bias: boolean("bias"),
                relu: false,
                in_features: vals.contains_key("in_features").then(|| int("in_features")),
            },
            "softmax" => Op::Softmax,
            _ => Op::Identity,
        };
        let inputs: Vec<NodeIndex> =
            if b.variadic_tensors { tensors.iter().map(|t| t.node).collect() } else { vec![cur?.node] };
        let node = self.new_node(op, path, call.span, &inputs)?;
        if b.variadic_tensors {
            let n = &mut self.graph.g[node];
            n.operands = operands;
            if b.name == "add" {
                n.skip = Some(SkipKind::Explicit);
            }
        }
        Some(Tensor { node, span: call.span })
    }

    /// Evaluates a compile-time expression. Errors are reported and give `None`.
    fn eval(&mut self, e: &Expr, frame: &Frame) -> Option<Value> {
        match &e.kind {
            ExprKind::Int(i) => Some(Value::Int(*i)),
            ExprKind::Float(f) if f.is_finite() => Some(Value::Float(*f)),
            ExprKind::Float(_) => {
                self.diags.push(Diagnostic::error(Code::BadValue, "number is too large", e.span, "out of range"));
                None
            }
            ExprKind::Bool(b) => Some(Value::Bool(*b)),
            ExprKind::List(items) => {
                items.iter().map(|i| self.eval(i, frame)).collect::<Option<Vec<_>>>().map(Value::List)
            }
            ExprKind::Name(n) => {
                if let Some(v) = frame.params.get(n) {
                    return Some(v.clone());
                }
                match n.as_str() {
                    "same" => return Some(Value::Sym("same")),
                    "valid" => return Some(Value::Sym("valid")),
                    _ => {}
                }
                let ident = ast::Ident { name: n.clone(), span: e.span };
                // Tensor references are resolved against a mutable frame elsewhere; here we only read.
                if n == "in" {
                    return match frame.input {
                        Some(t) => Some(Value::Tensor(Tensor { node: t.node, span: e.span })),
                        None => {
                            self.diags.push(Diagnostic::error(
                                Code::Undefined,
                                "`in` is only defined inside a block",
                                e.span,
                                "no block input here",
                            ));
                            None
                        }
                    };
                }
                if let Some(v) = frame.tensors.get(n) {
                    v.used.set(true);
                    return v.tensor.map(|t| Value::Tensor(Tensor { node: t.node, span: v.def_span }));
                }
                self.undefined(&ident, frame, false);
                None
            }
            ExprKind::Neg(inner) => match self.eval(inner, frame)? {
                Value::Int(i) => Some(Value::Int(i.checked_neg().unwrap_or(i64::MAX))),
                Value::Float(f) => Some(Value::Float(-f)),
                v => {
                    self.diags.push(Diagnostic::error(
                        Code::BadValue,
                        format!("cannot negate {}", a_or_an(v.kind())),
                        e.span,
                        "not a number",
                    ));
                    None
                }
            },
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.eval(a, frame)?, self.eval(b, frame)?);
                let r = match (x, y) {
                    (Value::Int(x), Value::Int(y)) => match op {
                        BinOp::Add => x.checked_add(y).map(Value::Int),
                        BinOp::Sub => x.checked_sub(y).map(Value::Int),
                        BinOp::Mul => x.checked_mul(y).map(Value::Int),
                        BinOp::Div if y == 0 => {
                            self.diags.push(Diagnostic::error(
                                Code::BadValue,
                                "division by zero",
                                e.span,
                                "divides by zero",
                            ));
                            return None;
                        }
                        // Integer division: `1/255` would be 0, so an inexact quotient becomes a float.
                        BinOp::Div if x % y != 0 => Some(Value::Float(x as f64 / y as f64)),
                        BinOp::Div => Some(Value::Int(x / y)),
                    },
                    (x @ (Value::Int(_) | Value::Float(_)), y @ (Value::Int(_) | Value::Float(_))) => {
                        let (x, y) = (as_f64(&x), as_f64(&y));
                        let r = match op {
                            BinOp::Add => x + y,
                            BinOp::Sub => x - y,
                            BinOp::Mul => x * y,
                            BinOp::Div => x / y,
                        };
                        r.is_finite().then_some(Value::Float(r))
                    }
                    (x, y) => {
                        self.diags.push(Diagnostic::error(
                            Code::BadValue,
                            format!(
                                "cannot apply `{}` to {} and {}",
                                op.symbol(),
                                a_or_an(x.kind()),
                                a_or_an(y.kind())
                            ),
                            e.span,
                            "arithmetic needs numbers",
                        ));
                        return None;
                    }
                };
                if r.is_none() {
                    self.diags.push(Diagnostic::error(
                        Code::BadValue,
                        "arithmetic overflow",
                        e.span,
                        "result out of range",
                    ));
                }
                r
            }
        }
    }
}

fn p_name(p: &ast::Param) -> String {
    p.name.name.clone()
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// Converts a value to a parameter type where that is lossless; returns the value back if not.
fn coerce(v: Value, ty: Ty) -> Result<Value, Value> {
    match (ty, v) {
        (Ty::Int, v @ Value::Int(_)) => Ok(v),
        (Ty::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (Ty::Float, v @ Value::Float(_)) => Ok(v),
        (Ty::Bool, v @ Value::Bool(_)) => Ok(v),
        (Ty::Pad, v @ (Value::Int(_) | Value::Sym(_))) => Ok(v),
        (Ty::FloatList, v @ Value::List(_)) => Ok(v),
        (_, v) => Err(v),
    }
}

/// Range checks for built-in arguments: (message, label, help) on failure.
fn check_range(layer: &str, param: &str, v: &Value) -> Result<(), (String, String, String)> {
    let Value::Int(i) = v else {
        if let Value::Float(f) = v
            && param == "eps"
            && *f <= 0.0
        {
            return Err((
                format!("`{layer}` needs a positive `eps`"),
                "must be > 0".into(),
                "the usual value is `eps = 1e-5`".into(),
            ));
        }
        return Ok(());
    };
    let min = if param == "pad" { 0 } else { 1 };
    if *i < min || *i > MAX_DIM {
        return Err((
            format!("`{param}` of `{layer}` is {i}, out of range"),
            format!("must be between {min} and {MAX_DIM}"),
            match param {
                "out" => format!("a layer needs at least one output, e.g. `{layer}(64)`"),
                "stride" => "stride 1 keeps the size, 2 halves it".into(),
                _ => format!("use a value between {min} and {MAX_DIM}"),
            },
        ));
    }
    Ok(())
}

/// `an int`, `a float`.
fn a_or_an(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn signature(b: &BlockDef) -> String {
    let ps: Vec<String> = b
        .params
        .iter()
        .map(|p| match &p.default {
            Some(_) => format!("{} = ...", p.name.name),
            None => p.name.name.clone(),
        })
        .collect();
    format!("{}({})", b.name.name, ps.join(", "))
}

/// `conv(out, kernel = 3, stride = 1, pad = same, bias = true)`
pub fn builtin_signature(b: &Builtin) -> String {
    if b.variadic_tensors {
        return format!("{}(a, b, ...)", b.name);
    }
    if b.params.is_empty() {
        return b.name.to_string();
    }
    let ps: Vec<String> = b
        .params
        .iter()
        .map(|p| match p.default {
            Default::Required => p.name.to_string(),
            Default::Int(i) => format!("{} = {i}", p.name),
            Default::Float(f) => format!("{} = {f:e}", p.name),
            Default::Bool(v) => format!("{} = {v}", p.name),
            Default::Same => format!("{} = same", p.name),
            Default::SameAs(o) => format!("{} = {o}", p.name),
            Default::Absent => format!("{} = (unchecked)", p.name),
        })
        .collect();
    format!("{}({})", b.name, ps.join(", "))
}

fn param_help(names: &[&str], given: &str) -> String {
    match closest(given, names) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => "it takes no parameters".to_string(),
        None => format!("its parameters are {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// The candidate closest to `name` by edit distance, if close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for &c in candidates {
        let d = edit_distance(name, c);
        if d <= (name.len().max(3) / 3).max(1) && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance: edits plus adjacent transpositions (`reul` -> `relu` is 1).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Import { span, .. } | Item::Output { span, .. } => *span,
        Item::Input(d) => d.span,
        Item::Block(b) => b.span,
        Item::Let(l) => l.span,
    }
}

/// A short rendering of a stage for help texts: `conv(...)`.
fn stage_hint(stage: &Stage) -> String {
    match stage {
        Stage::Call(c) => format!("{}(...)", c.name.name),
        Stage::Repeat { .. } => "repeat ...".into(),
        Stage::Residual { .. } => "residual { ... }".into(),
    }
}
