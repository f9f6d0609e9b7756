//! Scopes: the top level and each block instance being expanded, with their parameters, tensor
//! names and layer names.

use super::Lowerer;
use super::eval::Value;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Scope, ScopeId};
use crate::ops;
use crate::source::Span;
use crate::syntax::ast;
use petgraph::stable_graph::NodeIndex;
use std::cell::Cell;
use std::collections::HashMap;

/// A tensor during lowering: its node and where the expression that produced it was written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Tensor {
    pub node: NodeIndex,
    pub span: Span,
}

pub(super) struct TensorVar {
    /// `None` when the defining chain failed to lower.
    pub tensor: Option<Tensor>,
    pub def_span: Span,
    pub used: Cell<bool>,
}

/// One block instance (or the top level) being expanded.
pub(super) struct Frame {
    pub params: HashMap<String, Value>,
    pub tensors: HashMap<String, TensorVar>,
    /// Names bound in the order written, for the unused-tensor warning.
    order: Vec<String>,
    /// Where the scope's layers go: `None` at the top level.
    pub scope: Option<ScopeId>,
    counters: HashMap<String, usize>,
    /// Layer names taken in this scope, with the span of the `as` label that chose each one
    /// (`None` for automatic names). Names become weight names, so they must be unique.
    pub names: HashMap<String, Option<Span>>,
    /// The block's input (`in`), or `None` at the top level.
    pub input: Option<Tensor>,
    /// `let` names of this scope not yet defined, with where they will be: reading one is E0011.
    pub pending: HashMap<String, Span>,
}

impl Frame {
    pub fn new(scope: Option<ScopeId>, params: HashMap<String, Value>, input: Option<Tensor>) -> Frame {
        Frame {
            params,
            tensors: HashMap::new(),
            order: Vec::new(),
            scope,
            counters: HashMap::new(),
            names: HashMap::new(),
            input,
            pending: HashMap::new(),
        }
    }

    /// The automatic name of `callee`'s next call in this scope: `conv1`, `conv2`, ..., with an
    /// `_` before the count when the callee's name ends in a digit (`relu6_1`), so that automatic
    /// names never collide. `Err` with the name and the span of the earlier label that took it.
    pub fn auto_name(&mut self, callee: &str) -> Result<String, (String, Span)> {
        let n = self.counters.entry(callee.to_string()).or_insert(0);
        *n += 1;
        let sep = if callee.ends_with(|c: char| c.is_ascii_digit()) { "_" } else { "" };
        let name = format!("{callee}{sep}{n}");
        match self.names.insert(name.clone(), None) {
            Some(Some(label)) => Err((name, label)),
            _ => Ok(name),
        }
    }
}

impl<'p> Lowerer<'p> {
    /// A new scope `name` in `parent`: a block instance (`call` is its block and call) or a
    /// shortcut.
    pub(super) fn scope(
        &mut self,
        name: String,
        parent: Option<ScopeId>,
        call: Option<(String, Span)>,
    ) -> Option<ScopeId> {
        let id = self.graph.scopes.len() as ScopeId;
        self.graph.scopes.push(Scope { name, parent, call });
        Some(id)
    }

    pub(super) fn bind(&mut self, frame: &mut Frame, name: &ast::Ident, tensor: Option<Tensor>, def_span: Span) {
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
        if self.blocks.contains_key(name.name.as_str()) || ops::builtin(&name.name).is_some() {
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
        frame.tensors.insert(name.name.clone(), TensorVar { tensor, def_span, used: Cell::new(false) });
    }

    pub(super) fn let_stmt(&mut self, l: &ast::Let, frame: &mut Frame) {
        let t = self.chain(&l.chain, frame, frame.input);
        frame.pending.remove(&l.name.name);
        self.bind(frame, &l.name, t, l.name.span);
    }

    /// Records the `let` names of a scope before lowering it, so early reads are reported as such.
    pub(super) fn declare_lets<'a>(frame: &mut Frame, lets: impl Iterator<Item = &'a ast::Let>) {
        for l in lets {
            frame.pending.entry(l.name.name.clone()).or_insert(l.name.span);
        }
    }

    pub(super) fn warn_unused(&mut self, frame: &Frame) {
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

    /// Resolves a bare name used as a tensor. `None` if it is not a tensor name at all;
    /// `Some(None)` if it names a tensor whose definition failed.
    pub(super) fn tensor_ref(&mut self, name: &ast::Ident, frame: &mut Frame) -> Option<Option<Tensor>> {
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
}
