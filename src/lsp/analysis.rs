//! One open document: its text, its check (whose diagnostics the editor shows), and the analysis
//! positions resolve against: which name at an offset refers to what, and the IR nodes each
//! stage of a chain made (for shapes). A file that does not parse is analysed with the items
//! that do not parse blanked out (same byte offsets), so the rest keeps hover, hints and
//! completion.

use super::position::LineIndex;
use crate::compile::{Compilation, compile_source};
use crate::diag::Code;
use crate::ir::{Graph, LowerOptions, ScopeId};
use crate::source::Span;
use crate::syntax::ast::{self, BlockDef, Chain, Expr, ExprKind, Item, Stage};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Rounds of blanking a failing item out before giving up on analysing a file.
const MAX_BLANKED_ITEMS: usize = 8;

/// What a name written in the main file refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A block, by the span of its name where it is defined (any file of the program).
    Block(Span),
    /// A built-in layer.
    Builtin(&'static str),
    /// A tensor (`input`, `let`) or a block parameter, by the span of its defining name.
    Name(Span),
    /// The file an `import` names.
    File(PathBuf),
}

/// One name written in the main file and what it refers to.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub span: Span,
    pub target: Target,
    pub is_def: bool,
    /// For the callee of a call, the call's span.
    pub call: Option<Span>,
}

/// The analysis of one version of a document.
pub struct Analysis {
    pub compilation: Rc<Compilation>,
    /// Every name of the main file, in source order.
    pub occurrences: Vec<Occurrence>,
    /// The IR nodes made where a span is written: a layer call's node(s) (one group each), a
    /// block call's instances (one group of nodes each), a residual's add.
    nodes: HashMap<Span, Vec<(u64, NodeIndex)>>,
    /// For each tensor (by its defining name), the stage whose output it is.
    pub tensor_stage: HashMap<Span, Span>,
    /// The stage-output key of every stage of the main file: the span the nodes are under.
    stage_key: HashMap<Span, Span>,
}

/// An open document.
pub struct Document {
    pub text: String,
    pub lines: LineIndex,
    /// The check of `text` as `netc check` does it.
    pub check: Rc<Compilation>,
    /// What positions resolve against (see the module's documentation).
    pub analysis: Analysis,
}

impl Document {
    /// Checks and analyses `text`, the contents of `path`.
    pub fn new(path: &Path, text: String, options: &LowerOptions) -> Document {
        let check = Rc::new(compile(path, text.clone(), options));
        let mut analysed = Rc::clone(&check);
        let mut blanked = text.clone();
        for _ in 0..MAX_BLANKED_ITEMS {
            let Some(at) = syntax_error_at(&analysed) else { break };
            blank_item(&mut blanked, at);
            analysed = Rc::new(compile(path, blanked.clone(), options));
        }
        let analysis = Analysis::new(analysed);
        Document { lines: LineIndex::new(&text), text, check, analysis }
    }
}

fn compile(path: &Path, text: String, options: &LowerOptions) -> Compilation {
    let dir = path.parent().unwrap_or(Path::new("."));
    compile_source(&path.display().to_string(), text, dir, options)
}

/// Where the main file's syntax error is, if it has one.
fn syntax_error_at(c: &Compilation) -> Option<usize> {
    let main = c.program.main;
    c.diagnostics.iter().find(|d| d.code == Code::Syntax && d.primary.span.file == main).map(|d| d.primary.span.start)
}

/// Whether the line starting at byte `i` of `text` starts an item.
fn starts_item(text: &str, i: usize) -> bool {
    let rest = &text[i..];
    ["import", "input", "block", "let", "output"]
        .iter()
        .any(|k| rest.starts_with(k) && !rest[k.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Replaces the item around byte `at` (from the line starting it to the next line that starts
/// one) with spaces, keeping line breaks and byte offsets.
fn blank_item(text: &mut String, at: usize) {
    let at = at.min(text.len());
    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let start = line_starts.iter().rev().copied().find(|&s| s <= at && starts_item(text, s)).unwrap_or(0);
    let end = line_starts.iter().copied().find(|&s| s > at && starts_item(text, s)).unwrap_or(text.len());
    let blank: String =
        text[start..end].chars().map(|c| if c == '\n' { "\n".to_string() } else { " ".repeat(c.len_utf8()) }).collect();
    text.replace_range(start..end, &blank);
}

impl Analysis {
    fn new(compilation: Rc<Compilation>) -> Analysis {
        let nodes = node_index(&compilation.graph);
        let mut a = Analysis {
            compilation: Rc::clone(&compilation),
            occurrences: Vec::new(),
            nodes,
            tensor_stage: HashMap::new(),
            stage_key: HashMap::new(),
        };
        let program = &compilation.program;
        let mut blocks: HashMap<&str, Span> = HashMap::new();
        for (_, file) in &program.files {
            for item in &file.items {
                if let Item::Block(b) = item {
                    blocks.insert(&b.name.name, b.name.span);
                }
            }
        }
        if let Some((_, main)) = program.files.iter().find(|(id, _)| *id == program.main) {
            let dir = PathBuf::from(compilation.sources.name(program.main));
            let dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
            Walker { a: &mut a, blocks: &blocks }.file(main, &dir);
        }
        a
    }

    /// The definition of the block whose name is at `name` (in any file of the program).
    pub fn block_def(&self, name: Span) -> Option<&BlockDef> {
        self.compilation.program.files.iter().filter(|(id, _)| *id == name.file).find_map(|(_, f)| {
            f.items.iter().find_map(|i| match i {
                Item::Block(b) if b.name.span == name => Some(b),
                _ => None,
            })
        })
    }

    /// Every block the main file can call, by name (later files shadow earlier ones).
    pub fn blocks(&self) -> Vec<&BlockDef> {
        let mut out: Vec<&BlockDef> = Vec::new();
        for (_, f) in &self.compilation.program.files {
            for item in &f.items {
                if let Item::Block(b) = item {
                    out.retain(|o| o.name.name != b.name.name);
                    out.push(b);
                }
            }
        }
        out
    }

    /// The main file's syntax tree.
    pub fn main_file(&self) -> Option<&ast::File> {
        let p = &self.compilation.program;
        p.files.iter().find(|(id, _)| *id == p.main).map(|(_, f)| f)
    }

    pub fn graph(&self) -> &Graph {
        &self.compilation.graph
    }

    /// The name written at `offset` of the main file.
    pub fn occurrence_at(&self, offset: usize) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| o.span.start <= offset && offset <= o.span.end)
    }

    /// The node groups (instances) made where `span` is written, each as its nodes in order.
    pub fn instances(&self, span: Span) -> Vec<Vec<NodeIndex>> {
        let mut groups: Vec<(u64, Vec<NodeIndex>)> = Vec::new();
        for &(g, n) in self.nodes.get(&span).map(Vec::as_slice).unwrap_or_default() {
            match groups.iter_mut().find(|(k, _)| *k == g) {
                Some((_, v)) => v.push(n),
                None => groups.push((g, vec![n])),
            }
        }
        groups
            .into_iter()
            .map(|(_, mut v)| {
                v.sort();
                v
            })
            .collect()
    }

    /// The distinct output shapes of a stage (one per instance of the code it is in; empty
    /// when it made nothing, such as a tensor name or a failed stage).
    pub fn stage_shapes(&self, stage: Span) -> Vec<Vec<usize>> {
        let Some(&key) = self.stage_key.get(&stage) else { return Vec::new() };
        let mut shapes: Vec<Vec<usize>> = Vec::new();
        for group in self.instances(key) {
            let Some(&last) = group.last() else { continue };
            let shape = &self.graph().g[last].shape;
            if !shape.is_empty() && !shapes.contains(shape) {
                shapes.push(shape.clone());
            }
        }
        shapes
    }
}

/// The nodes under each span (see [`Analysis::nodes`]): a node under its own span (a group of
/// its own), and under the call span of each block instance it is in (the instance's group).
fn node_index(graph: &Graph) -> HashMap<Span, Vec<(u64, NodeIndex)>> {
    let mut index: HashMap<Span, Vec<(u64, NodeIndex)>> = HashMap::new();
    // Groups of single nodes are numbered after the scopes.
    let single = graph.scopes.len() as u64;
    for n in graph.g.node_indices() {
        let node = &graph.g[n];
        index.entry(node.span).or_default().push((single + n.index() as u64, n));
        let mut scope: Option<ScopeId> = node.scope;
        while let Some(s) = scope {
            let sc = &graph.scopes[s as usize];
            if let Some((_, call)) = &sc.call {
                index.entry(*call).or_default().push((s as u64, n));
            }
            scope = sc.parent;
        }
    }
    index
}

/// Walks the main file, recording every name and what it refers to.
struct Walker<'a, 'b> {
    a: &'a mut Analysis,
    blocks: &'b HashMap<&'b str, Span>,
}

type Env = HashMap<String, Span>;

impl Walker<'_, '_> {
    fn add(&mut self, span: Span, target: Target, is_def: bool) {
        self.a.occurrences.push(Occurrence { span, target, is_def, call: None });
    }

    fn add_callee(&mut self, call: &ast::Call, target: Target) {
        self.a.occurrences.push(Occurrence { span: call.name.span, target, is_def: false, call: Some(call.span) });
    }

    fn file(&mut self, f: &ast::File, dir: &Path) {
        let mut env = Env::new();
        for item in &f.items {
            match item {
                Item::Input(d) => {
                    env.insert(d.name.name.clone(), d.name.span);
                    self.a.tensor_stage.insert(d.name.span, d.span);
                    self.a.stage_key.insert(d.span, d.span);
                }
                Item::Let(l) => {
                    env.insert(l.name.name.clone(), l.name.span);
                }
                _ => {}
            }
        }
        for item in &f.items {
            match item {
                Item::Import { path, span } => self.add(*span, Target::File(dir.join(path)), false),
                Item::Input(d) => self.add(d.name.span, Target::Name(d.name.span), true),
                Item::Block(b) => self.block(b),
                Item::Let(l) => self.let_stmt(l, &env),
                Item::Output { chains, .. } => chains.iter().for_each(|c| self.chain(c, &env)),
            }
        }
        self.a.occurrences.sort_by_key(|o| o.span.start);
    }

    fn let_stmt(&mut self, l: &ast::Let, env: &Env) {
        self.add(l.name.span, Target::Name(l.name.span), true);
        if let Some(last) = l.chain.stages.last() {
            self.a.tensor_stage.insert(l.name.span, last.span());
        }
        self.chain(&l.chain, env);
    }

    fn block(&mut self, b: &BlockDef) {
        self.add(b.name.span, Target::Block(b.name.span), true);
        let mut env = Env::new();
        for p in &b.params {
            self.add(p.name.span, Target::Name(p.name.span), true);
            env.insert(p.name.name.clone(), p.name.span);
        }
        for l in &b.lets {
            env.insert(l.name.name.clone(), l.name.span);
        }
        for p in &b.params {
            if let Some(d) = &p.default {
                self.expr(d, &env);
            }
        }
        for l in &b.lets {
            self.let_stmt(l, &env);
        }
        self.chain(&b.body, &env);
    }

    fn chain(&mut self, c: &Chain, env: &Env) {
        for (i, stage) in c.stages.iter().enumerate() {
            match stage {
                Stage::Call(call) => {
                    let name = &call.name;
                    if i == 0 && call.args.is_none() && call.label.is_none() && env.contains_key(&name.name) {
                        self.add(name.span, Target::Name(env[&name.name]), false);
                        continue;
                    }
                    self.a.stage_key.insert(call.span, call.span);
                    if let Some(&def) = self.blocks.get(name.name.as_str()) {
                        self.add_callee(call, Target::Block(def));
                    } else if let Some(b) = crate::ops::builtin(&name.name) {
                        self.add_callee(call, Target::Builtin(b.sig.name));
                    }
                    for arg in call.args.iter().flatten() {
                        self.expr(&arg.value, env);
                    }
                }
                Stage::Repeat { count, body, span } => {
                    self.expr(count, env);
                    self.chain(body, env);
                    if let Some(last) = body.stages.last().and_then(|s| self.a.stage_key.get(&s.span()).copied()) {
                        self.a.stage_key.insert(*span, last);
                    }
                }
                Stage::Residual { body, shortcut, span, keyword } => {
                    self.a.stage_key.insert(*span, *keyword);
                    self.chain(body, env);
                    if let Some(s) = shortcut {
                        self.chain(s, env);
                    }
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, env: &Env) {
        match &e.kind {
            ExprKind::Name(n) => {
                if let Some(&def) = env.get(n) {
                    self.add(e.span, Target::Name(def), false);
                }
            }
            ExprKind::List(items) => items.iter().for_each(|x| self.expr(x, env)),
            ExprKind::Neg(x) => self.expr(x, env),
            ExprKind::Binary(_, l, r) => {
                self.expr(l, env);
                self.expr(r, env);
            }
            ExprKind::Call(_, args) => args.iter().for_each(|x| self.expr(x, env)),
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanking_keeps_offsets_and_lines() {
        let mut text = "input x: 3x8x8\nlet y = x -> é(\n  1)\noutput y\n".to_string();
        let len = text.len();
        let at = text.find('(').unwrap();
        blank_item(&mut text, at);
        assert_eq!(text.len(), len);
        assert_eq!(text.lines().nth(1).unwrap().trim(), "");
        assert_eq!(text.lines().nth(3).unwrap(), "output y");
    }
}
