//! Lowering (elaboration): AST -> flat IR graph. Every block call is expanded with its
//! arguments bound, `repeat` is unrolled, and each node gets its stable dotted path.
//! Errors are collected, not fatal: a failed stage yields no tensor and later stages that
//! depend on it are skipped silently, so each independent error is reported once.
//!
//! One concern per file, each an `impl Lowerer` of its own: the block table (`blocks`), scopes
//! and tensor names (`scope`), the evaluator of constant expressions (`eval`), matching a call's
//! arguments to parameters (`args`), chains, stages and calls (`chain`), the input's
//! `normalize(...)` (`normalize`), and the diagnostics for names that do not resolve (`suggest`).

mod args;
mod blocks;
mod chain;
mod eval;
mod normalize;
mod scope;
mod suggest;

use super::{Graph, Node, Op, Operand, Output, ScopeId, SkipKind};
use crate::diag::{Code, Diagnostic};
use crate::ops::Input;
use crate::ops::sig::MAX_DIM;
use crate::source::Span;
use crate::syntax::Program;
use crate::syntax::ast::{self, BlockDef, Item, Stage};
use petgraph::stable_graph::NodeIndex;
use scope::{Frame, Tensor};
use std::collections::HashMap;

/// Options that change how a program is loaded and lowered.
#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    /// Replaces the declared shape of the (single) input: `--input-shape 3x64x64`.
    pub input_shape: Option<Vec<usize>>,
    /// Folders imports may come from besides the main file's: `--import-dir DIR`.
    pub import_dirs: Vec<std::path::PathBuf>,
}

/// Most IR nodes a network may expand to.
pub const MAX_NODES: usize = 1_000_000;
/// Largest count a single `repeat` accepts.
pub const MAX_REPEAT: i64 = 100_000;
/// Deepest nesting of block calls.
pub const MAX_CALL_DEPTH: usize = 128;
/// Most expansion work (stages lowered, block calls, repeat iterations, layers made): about
/// a second of lowering.
pub const MAX_WORK: u64 = 5_000_000;

struct Lowerer<'p> {
    blocks: HashMap<&'p str, &'p BlockDef>,
    graph: Graph,
    diags: Vec<Diagnostic>,
    /// Diagnostics of shape inference: each is about one node, so none is a repeat.
    shape_diags: Vec<Diagnostic>,
    /// Blocks being expanded, innermost last: detects recursion.
    stack: Vec<(&'p str, Span)>,
    /// Work done expanding (stages, calls, repeat iterations, layers), bounded by [`MAX_WORK`]
    /// so that no program expands for long, whatever it is made of.
    work: u64,
    /// The placeholder node that stands for failed tensors (see `chain`), once made.
    placeholder: Option<NodeIndex>,
    overflowed: bool,
    /// Imported files that failed to load (their blocks are missing).
    unloaded: &'p [String],
    /// Unresolved names that got a "did you mean" search, bounded (see `suggest.rs`).
    searched: usize,
}

/// Lowers a parsed program to the IR. Returns the graph (possibly partial) and all diagnostics.
pub fn lower(program: &Program, options: &LowerOptions) -> (Graph, Vec<Diagnostic>) {
    let mut l = Lowerer {
        blocks: HashMap::new(),
        graph: Graph::default(),
        diags: Vec::new(),
        shape_diags: Vec::new(),
        stack: Vec::new(),
        work: 0,
        placeholder: None,
        overflowed: false,
        unloaded: &program.unloaded,
        searched: 0,
    };
    l.collect_blocks(program);
    let main = program.files.iter().find(|(id, _)| *id == program.main).map(|(_, f)| f);
    if let Some(main) = main {
        l.top_level(main, program, options);
    }
    dedup(&mut l.diags);
    l.diags.append(&mut l.shape_diags);
    (l.graph, l.diags)
}

/// Drops repeated diagnostics (a block body error is found once per expansion).
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.primary.span, d.message.clone())));
}

impl<'p> Lowerer<'p> {
    /// Counts `units` of expansion work done at `span`; false (after reporting it once) when the
    /// program has expanded too long, after which lowering stops.
    fn spend(&mut self, units: u64, span: Span) -> bool {
        self.work += units;
        if self.work <= MAX_WORK {
            return true;
        }
        if !self.overflowed {
            self.overflowed = true;
            self.diags.push(
                Diagnostic::error(
                    Code::TooLarge,
                    format!("the network takes more than {MAX_WORK} steps to expand"),
                    span,
                    "limit reached while expanding this",
                )
                .with_note(
                    "every stage, block call, `repeat` iteration and layer counts, whether or not it makes a layer",
                )
                .with_help("lower the `repeat` counts, or call fewer nested blocks"),
            );
        }
        false
    }

    fn top_level(&mut self, main: &'p ast::File, program: &Program, options: &LowerOptions) {
        let mut frame = Frame::new(None, HashMap::new(), None);
        let input_decls: Vec<&ast::InputDecl> =
            main.items.iter().filter_map(|i| if let Item::Input(d) = i { Some(d) } else { None }).collect();
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
                            let name = match &c.stages[..] {
                                [Stage::Call(call)] => call.name.name.clone(),
                                _ => self.graph.path(t.node),
                            };
                            let taken = |n: &str| self.graph.outputs.iter().any(|o| o.name == n);
                            let name = if taken(&name) {
                                (2..).map(|i| format!("{name}_{i}")).find(|n| !taken(n)).unwrap_or(name)
                            } else {
                                name
                            };
                            self.graph.outputs.push(Output { node: t.node, span: c.span, name });
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
        let op = Op::Input(Input { name: path.clone(), dims, normalize });
        let node = self.graph.add(Node::new(op, path, None, decl.span), &[]);
        self.graph.infer_shape(node, &mut self.shape_diags);
        self.graph.inputs.push(node);
        self.bind(frame, &decl.name, Some(Tensor { node, span: decl.span }), decl.span);
    }

    /// Adds a node for `op` (written at `span`) fed by `inputs` (whose origins are `operands`,
    /// for ops with several) and infers its shape, unless the network has grown past
    /// [`MAX_NODES`] (reported once).
    fn new_node(
        &mut self,
        op: Op,
        (scope, name): (Option<ScopeId>, String),
        span: Span,
        inputs: &[NodeIndex],
        operands: Vec<Operand>,
        skip: Option<SkipKind>,
    ) -> Option<NodeIndex> {
        if !self.spend(1, span) {
            return None;
        }
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
        let mut node = Node::new(op, name, scope, span);
        (node.operands, node.skip) = (operands, skip);
        let n = self.graph.add(node, inputs);
        self.graph.infer_shape(n, &mut self.shape_diags);
        Some(n)
    }
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Import { span, .. } | Item::Output { span, .. } => *span,
        Item::Input(d) => d.span,
        Item::Block(b) => b.span,
        Item::Let(l) => l.span,
    }
}

/// `an int`, `a float`.
fn a_or_an(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}
