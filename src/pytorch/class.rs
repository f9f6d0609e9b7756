//! One Python class: a `block` definition, or the file's top level. Its body is written twice
//! at once, in the order of the `.net` source: the constructor makes each layer under netc's
//! name, `forward` applies it. Layers get the names netc's lowering gives them (counters per
//! callee and scope, `as` labels, `shortcut1` scopes), so the module's `state_dict()` keys are
//! netc's weight names.

use super::Context;
use super::expr::Want;
use super::names::{Count, Counters, Name, Place};
use crate::ops::sig::Ty;
use crate::ops::torch::TorchArgs;
use crate::ops::{self, Entry};
use crate::source::Span;
use crate::syntax::ast::{Arg, BlockDef, Call, Chain, ExprKind, Stage};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A parameter of a block class.
pub struct Param {
    /// Its `.net` name, and its Python one (`lambda` becomes `lambda_`).
    pub name: String,
    pub py: String,
    /// Its declared type.
    pub ty: Option<String>,
    /// Whether it is a tensor: then an argument of `forward`, not of the constructor.
    pub tensor: bool,
}

/// Python source lines at an indentation.
#[derive(Default)]
pub struct Lines {
    pub lines: Vec<String>,
    indent: usize,
}

impl Lines {
    pub fn push(&mut self, line: impl AsRef<str>) {
        self.lines.push(format!("{}{}", "    ".repeat(self.indent), line.as_ref()));
    }
}

/// The scope layers are named in: a block instance (or the top level), or a residual's
/// shortcut. `owner` holds its layers: `self`, `self.shortcut1`, or a local alias in a loop.
struct Scope {
    init_owner: String,
    forward_owner: String,
    counters: Counters,
}

/// A class being written.
pub struct Class<'a> {
    pub cx: &'a Context<'a>,
    pub params: Vec<Param>,
    /// Parameters `forward` reads (from `self`), and those the constructor's layers read.
    pub forward_params: BTreeSet<String>,
    pub init_params: BTreeSet<String>,
    /// The tensors in scope: `.net` name to Python variable (`in` is the block's input).
    tensors: HashMap<String, String>,
    /// The `.net` names of the tensors `build` receives.
    inputs: HashSet<String>,
    /// Layers are made in `build`, from the first input (`channels(in)` is known there).
    pub lazy: bool,
    /// A layer's arguments read a tensor's shape: the class must be lazy.
    pub needs_lazy: bool,
    pub init: Lines,
    pub forward: Lines,
    /// Python names in use in the class's functions.
    taken: HashSet<String>,
    pub errors: Vec<String>,
    pub helpers: Vec<&'static str>,
    /// Loops open around the code being written.
    depth: usize,
}

/// Words a `.net` name cannot be in Python: keywords, the names of the emitted file, and
/// attributes of `nn.Module` a parameter stored on `self` would hide.
const RESERVED: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "self",
    "torch",
    "nn",
    "F",
    "x",
    "out",
    "range",
    "getattr",
    "setattr",
    "super",
    "training",
    "forward",
    "build",
    "built",
    "normalize",
];

/// `name` as a Python identifier.
pub fn py_name(name: &str) -> String {
    if RESERVED.contains(&name) { format!("{name}_") } else { name.to_string() }
}

impl<'a> Class<'a> {
    /// A class for a block with `params`, reading `inputs` (`.net` names to Python variables).
    pub fn new(cx: &'a Context<'a>, params: Vec<Param>, inputs: &[(String, String)], lazy: bool) -> Class<'a> {
        let mut taken: HashSet<String> = params.iter().map(|p| p.py.clone()).collect();
        taken.extend(inputs.iter().map(|(_, py)| py.clone()));
        Class {
            cx,
            params,
            forward_params: BTreeSet::new(),
            init_params: BTreeSet::new(),
            tensors: inputs.iter().cloned().collect(),
            inputs: inputs.iter().map(|(n, _)| n.clone()).collect(),
            lazy,
            needs_lazy: false,
            init: Lines::default(),
            forward: Lines::default(),
            taken,
            errors: Vec::new(),
            helpers: Vec::new(),
            depth: 0,
        }
    }

    /// A fresh Python variable named like `base`.
    fn fresh(&mut self, base: &str) -> String {
        let name = std::iter::once(base.to_string())
            .chain((2..).map(|i| format!("{base}{i}")))
            .find(|n| !self.taken.contains(n) && !RESERVED.contains(&n.as_str()))
            .unwrap_or_default();
        self.taken.insert(name.clone());
        name
    }

    /// Binds `.net` tensor `name` (a `let`) to a Python variable.
    pub fn bind(&mut self, name: &str) -> String {
        let py = py_name(name);
        let py = if self.taken.contains(&py) { self.fresh(&py) } else { py };
        self.taken.insert(py.clone());
        self.tensors.insert(name.to_string(), py.clone());
        py
    }

    /// The Python variable of tensor `name`.
    pub fn tensor(&self, name: &str) -> String {
        self.tensors.get(name).cloned().unwrap_or_else(|| py_name(name))
    }

    /// A tensor whose shape an expression reads: in the constructor, only a lazy class's
    /// inputs have one.
    pub fn shape_of(&mut self, name: &str, place: Place) -> String {
        if place == Place::Init {
            let input = self.inputs.contains(name);
            if !self.lazy {
                self.needs_lazy = true;
            } else if !input {
                return self.unsupported_name(name);
            }
        }
        self.tensor(name)
    }

    fn unsupported_name(&mut self, name: &str) -> String {
        self.errors.push(format!(
            "the shape of `let` tensor `{name}` in a layer's arguments: PyTorch makes the layers before any tensor is computed; use the shape of `in` (or of a tensor parameter) instead"
        ));
        "None".into()
    }

    pub fn unsupported(&mut self, span: Span, what: &str) -> String {
        let (line, col) = self.cx.sources.line_col(span);
        self.errors.push(format!("{}:{line}:{col}: {what}", self.cx.sources.name(span.file)));
        "None".into()
    }

    /// Writes `chain` (starting from `start`, the implicit input, if any) into variable
    /// `target`, naming its layers with the `counters` of the class's scope; returns the
    /// variable holding its value.
    pub fn chain(&mut self, chain: &Chain, counters: &mut Counters, start: Option<String>, target: &str) -> String {
        let mut scope =
            Scope { init_owner: "self".into(), forward_owner: "self".into(), counters: std::mem::take(counters) };
        let out = self.chain_in(chain, &mut scope, start, target);
        *counters = scope.counters;
        out
    }

    fn is_tensor_head(&self, stage: &Stage) -> Option<String> {
        match stage {
            Stage::Call(c) if c.args.is_none() && c.label.is_none() => {
                (c.name.name == "in" || self.tensors.contains_key(&c.name.name)).then(|| self.tensor(&c.name.name))
            }
            _ => None,
        }
    }

    fn chain_in(&mut self, chain: &Chain, scope: &mut Scope, start: Option<String>, target: &str) -> String {
        let mut stages = chain.stages.iter().peekable();
        let mut cur = start;
        if let Some(first) = stages.peek() {
            if let Some(t) = self.is_tensor_head(first) {
                cur = Some(t);
                stages.next();
            } else if let Stage::Call(c) = first
                && ops::builtin(&c.name.name).is_some_and(|b| b.sig.variadic_tensors)
            {
                cur = None;
            }
        }
        let mut cur = cur.unwrap_or_default();
        let mut first = true;
        for stage in stages {
            let input = (!first || !cur.is_empty()).then(|| cur.clone());
            cur = self.stage(stage, scope, input, target);
            first = false;
        }
        cur
    }

    fn stage(&mut self, stage: &Stage, scope: &mut Scope, cur: Option<String>, target: &str) -> String {
        match stage {
            Stage::Call(call) => self.call(call, scope, cur, target),
            Stage::Repeat { count, body, .. } => {
                let cur = cur.unwrap_or_default();
                if cur != target {
                    self.forward.push(format!("{target} = {cur}"));
                }
                let var = self.loop_var();
                let n = Count::expr(
                    &self.expr(count, Place::Init, Want::Int),
                    &self.expr(count, Place::Forward, Want::Int),
                );
                let per = self.count_calls(body);
                let start = per.keys().map(|c| (c.clone(), scope.counters.get(c))).collect::<Vec<_>>();
                let iteration = Count::expr(&var, &var);
                for (callee, base) in &start {
                    scope.counters.set(callee, base.add(&iteration.mul(&per[callee])));
                }
                self.init.push(format!("for {var} in range({}):", n.render(Place::Init)));
                self.forward.push(format!("for {var} in range({}):", n.render(Place::Forward)));
                let init_before = self.init.lines.len();
                self.init.indent += 1;
                self.forward.indent += 1;
                self.depth += 1;
                self.chain_in(body, scope, Some(target.to_string()), target);
                self.depth -= 1;
                self.init.indent -= 1;
                self.forward.indent -= 1;
                if self.init.lines.len() == init_before {
                    self.init.lines.pop();
                }
                for (callee, base) in &start {
                    scope.counters.set(callee, base.add(&n.mul(&per[callee])));
                }
                target.to_string()
            }
            Stage::Residual { body, shortcut, .. } => {
                let cur = cur.unwrap_or_default();
                let skip = self.fresh("skip");
                self.forward.push(format!("{skip} = {cur}"));
                let body_out = self.chain_in(body, scope, Some(cur), target);
                if let Some(sc) = shortcut {
                    let name = scope.counters.next("shortcut");
                    let mut sub = match &name {
                        Name::Fixed(_) => {
                            self.init.push(name.set(&scope.init_owner, "nn.Module()"));
                            let owner = name.get(&scope.init_owner, Place::Init);
                            Scope {
                                init_owner: owner,
                                forward_owner: name.get(&scope.forward_owner, Place::Forward),
                                counters: Counters::default(),
                            }
                        }
                        Name::Counted { .. } => {
                            let alias = self.fresh("shortcut");
                            self.init.push(format!("{alias} = nn.Module()"));
                            self.init.push(name.set(&scope.init_owner, &alias));
                            self.forward.push(format!("{alias} = {}", name.get(&scope.forward_owner, Place::Forward)));
                            Scope { init_owner: alias.clone(), forward_owner: alias, counters: Counters::default() }
                        }
                    };
                    self.chain_in(sc, &mut sub, Some(skip.clone()), &skip);
                }
                scope.counters.next("add");
                self.forward.push(format!("{target} = {skip} + {body_out}"));
                target.to_string()
            }
        }
    }

    /// The variable of a loop at the current depth: `i`, `j`, `k`, ...
    fn loop_var(&self) -> String {
        let base = ["i", "j", "k"].get(self.depth).map_or(format!("i{}", self.depth), |v| v.to_string());
        std::iter::successors(Some(base), |v| Some(format!("{v}_")))
            .find(|v| !self.taken.contains(v))
            .unwrap_or_default()
    }

    /// How many unlabelled calls of each callee one pass of `chain` makes in its scope.
    fn count_calls(&mut self, chain: &Chain) -> HashMap<String, Count> {
        let mut counts: HashMap<String, Count> = HashMap::new();
        let bump = |counts: &mut HashMap<String, Count>, callee: &str, by: &Count| {
            let c = counts.entry(callee.to_string()).or_default();
            *c = c.add(by);
        };
        for (i, stage) in chain.stages.iter().enumerate() {
            if i == 0 && self.is_tensor_head(stage).is_some() {
                continue;
            }
            match stage {
                Stage::Call(c) if c.label.is_none() => bump(&mut counts, &c.name.name, &Count::constant(1)),
                Stage::Call(_) => {}
                Stage::Repeat { count, body, .. } => {
                    let n = Count::expr(
                        &self.expr(count, Place::Init, Want::Int),
                        &self.expr(count, Place::Forward, Want::Int),
                    );
                    for (callee, per) in self.count_calls(body) {
                        bump(&mut counts, &callee, &n.mul(&per));
                    }
                }
                Stage::Residual { body, shortcut, .. } => {
                    for (callee, per) in self.count_calls(body) {
                        bump(&mut counts, &callee, &per);
                    }
                    if shortcut.is_some() {
                        bump(&mut counts, "shortcut", &Count::constant(1));
                    }
                    bump(&mut counts, "add", &Count::constant(1));
                }
            }
        }
        counts
    }

    fn call(&mut self, call: &Call, scope: &mut Scope, cur: Option<String>, target: &str) -> String {
        let name = match &call.label {
            Some(l) => Name::Fixed(l.name.clone()),
            None => scope.counters.next(&call.name.name),
        };
        let args: &[Arg] = call.args.as_deref().unwrap_or(&[]);
        if let Some(entry) = ops::builtin(&call.name.name) {
            return self.builtin(entry, args, &name, scope, cur, target);
        }
        let Some(&block) = self.cx.blocks.get(call.name.name.as_str()) else {
            return self.unsupported(call.span, &format!("`{}` is not a layer or block", call.name.name));
        };
        let tensors = &self.cx.tensor_params[block.name.name.as_str()];
        let mut ctor: Vec<String> = Vec::new();
        let mut inputs: Vec<(usize, String)> = Vec::new();
        let mut positional = 0;
        for a in args {
            let index = match &a.name {
                Some(n) => block.params.iter().position(|p| p.name.name == n.name).unwrap_or(0),
                None => {
                    positional += 1;
                    positional - 1
                }
            };
            if tensors[index] {
                inputs.push((index, self.expr(&a.value, Place::Forward, Want::Any)));
                continue;
            }
            let param = &block.params[index];
            let want = match param.ty.as_ref().map(|t| t.name.as_str()) {
                Some("int") => Want::Int,
                Some("float") => Want::Float,
                _ => Want::Any,
            };
            let value = self.expr(&a.value, Place::Init, want);
            ctor.push(match &a.name {
                Some(n) => format!("{}={value}", py_name(&n.name)),
                None => value,
            });
        }
        let class = &self.cx.classes[block.name.name.as_str()];
        self.init.push(name.set(&scope.init_owner, &format!("{class}({})", ctor.join(", "))));
        inputs.sort();
        let operands: Vec<String> = cur.into_iter().chain(inputs.into_iter().map(|(_, v)| v)).collect::<Vec<_>>();
        self.forward.push(format!(
            "{target} = {}({})",
            name.get(&scope.forward_owner, Place::Forward),
            operands.join(", ")
        ));
        target.to_string()
    }

    fn builtin(
        &mut self,
        entry: &Entry,
        args: &[Arg],
        name: &Name,
        scope: &mut Scope,
        cur: Option<String>,
        target: &str,
    ) -> String {
        let sig = entry.sig;
        let mut inputs: Vec<String> = cur.into_iter().collect();
        let mut given: Vec<Option<&Arg>> = vec![None; sig.params.len()];
        let mut positional = 0;
        for a in args {
            if sig.variadic_tensors {
                inputs.push(self.expr(&a.value, Place::Forward, Want::Any));
                continue;
            }
            let index = match &a.name {
                Some(n) => sig.params.iter().position(|p| p.name == n.name).unwrap_or(0),
                None => {
                    positional += 1;
                    positional - 1
                }
            };
            given[index] = Some(a);
        }
        // A form first sees placeholders, to learn which arguments it writes out; then those
        // as Python in the place it writes them (a slice's bounds in `forward`, a conv's in the
        // constructor), so that only what is used is read there.
        let placeholders = TorchArgs {
            sig,
            given: given.iter().enumerate().map(|(i, g)| g.map(|_| placeholder(i))).collect(),
            positional,
        };
        let args_for = |class: &mut Class, probe: &str, place: Place| -> TorchArgs {
            let given = given
                .iter()
                .zip(sig.params)
                .enumerate()
                .map(|(i, (g, p))| {
                    let a = (*g)?;
                    if !probe.contains(&placeholder(i)) {
                        return Some(placeholder(i));
                    }
                    let want = match p.ty {
                        Ty::Int | Ty::Pair | Ty::Pad => Want::Int,
                        Ty::Float => Want::Float,
                        _ => Want::Any,
                    };
                    Some(class.expr(&a.value, place, want))
                })
                .collect();
            TorchArgs { sig, given, positional }
        };
        let module = (entry.torch.module)(&placeholders).and_then(|probe| {
            let args = args_for(self, &probe, Place::Init);
            (entry.torch.module)(&args)
        });
        let layer = match module {
            Some(m) => {
                for h in entry.torch.helpers {
                    if !self.helpers.contains(h) {
                        self.helpers.push(h);
                    }
                }
                self.init.push(name.set(&scope.init_owner, &m));
                name.get(&scope.forward_owner, Place::Forward)
            }
            None => String::new(),
        };
        let probe = (entry.torch.forward)(&placeholders, &layer, &inputs);
        let args = args_for(self, &probe, Place::Forward);
        let forward = (entry.torch.forward)(&args, &layer, &inputs);
        self.forward.push(format!("{target} = {forward}"));
        target.to_string()
    }
}

fn placeholder(i: usize) -> String {
    format!("\u{1}{i}\u{1}")
}

/// Per parameter of `block`, whether it is a tensor: read as a chain's start, an operand of
/// `add`/`mul`/`concat`, in a shape function, or passed to a tensor parameter of a block it
/// calls (`known` holds the blocks decided so far).
pub fn tensor_params(block: &BlockDef, known: &HashMap<&str, Vec<bool>>) -> Vec<bool> {
    let mut used = HashSet::new();
    let chains = block.lets.iter().map(|l| &l.chain).chain(std::iter::once(&block.body));
    for c in chains {
        tensor_uses(c, known, &mut used);
    }
    block.params.iter().map(|p| used.contains(p.name.name.as_str())).collect()
}

fn tensor_uses<'b>(chain: &'b Chain, known: &HashMap<&str, Vec<bool>>, used: &mut HashSet<&'b str>) {
    let names_in = |e: &'b crate::syntax::ast::Expr, used: &mut HashSet<&'b str>| {
        if let ExprKind::Call(_, args) = &e.kind {
            for a in args {
                if let ExprKind::Name(n) = &a.kind {
                    used.insert(n);
                }
            }
        }
    };
    for (i, stage) in chain.stages.iter().enumerate() {
        match stage {
            Stage::Call(c) => {
                if i == 0 && c.args.is_none() && c.label.is_none() {
                    used.insert(&c.name.name);
                }
                let variadic = ops::builtin(&c.name.name).is_some_and(|b| b.sig.variadic_tensors);
                let callee = known.get(c.name.name.as_str());
                for (j, a) in c.args.iter().flatten().enumerate() {
                    visit(&a.value, &mut |e| names_in(e, used));
                    let to_tensor =
                        variadic || callee.is_some_and(|t| t.get(j).copied().unwrap_or(false) && a.name.is_none());
                    if let (true, ExprKind::Name(n)) = (to_tensor, &a.value.kind) {
                        used.insert(n);
                    }
                }
            }
            Stage::Repeat { count, body, .. } => {
                visit(count, &mut |e| names_in(e, used));
                tensor_uses(body, known, used);
            }
            Stage::Residual { body, shortcut, .. } => {
                tensor_uses(body, known, used);
                if let Some(s) = shortcut {
                    tensor_uses(s, known, used);
                }
            }
        }
    }
}

/// Calls `f` on `e` and every expression inside it.
fn visit<'b>(e: &'b crate::syntax::ast::Expr, f: &mut impl FnMut(&'b crate::syntax::ast::Expr)) {
    f(e);
    match &e.kind {
        ExprKind::List(items) | ExprKind::Call(_, items) => items.iter().for_each(|i| visit(i, f)),
        ExprKind::Neg(i) => visit(i, f),
        ExprKind::Binary(_, a, b) => {
            visit(a, f);
            visit(b, f);
        }
        _ => {}
    }
}
