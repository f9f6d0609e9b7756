//! Chains, stages and calls: the part of lowering that creates nodes.

use super::eval::Value;
use super::scope::{Frame, Tensor};
use super::{Lowerer, MAX_CALL_DEPTH, MAX_REPEAT, a_or_an};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Op, Operand, ScopeId, SkipKind};
use crate::ops::sig::Value as Const;
use crate::ops::{self, Add, Entry};
use crate::source::Span;
use crate::syntax::ast::{self, Arg, Chain, Stage};
use petgraph::stable_graph::NodeIndex;

impl<'p> Lowerer<'p> {
    /// Lowers a chain. `implicit` is the tensor a chain starting with a layer call applies to.
    pub(super) fn chain(&mut self, chain: &Chain, frame: &mut Frame, implicit: Option<Tensor>) -> Option<Tensor> {
        let mut stages = chain.stages.iter();
        let first = stages.next()?;
        if !self.spend(1, first.span()) {
            return None;
        }
        let mut cur = self.head(first, frame, implicit);
        for stage in stages {
            if self.overflowed || !self.spend(1, stage.span()) {
                return None;
            }
            cur = match cur {
                Some(t) => self.stage(stage, frame, Some(t)),
                // An earlier stage failed: this one is still lowered, from a placeholder, for
                // errors of its own (its arguments, the body of a block it calls); its result is
                // dropped, and nothing it makes has a shape, so it reports no follow-up error.
                None => {
                    let placeholder = self.placeholder();
                    self.stage(stage, frame, Some(placeholder));
                    None
                }
            };
        }
        cur
    }

    /// The tensor that stands for a failed one while the rest of a chain is lowered for its own
    /// errors: a node without a shape, made once.
    fn placeholder(&mut self) -> Tensor {
        let node = *self.placeholder.get_or_insert_with(|| {
            let op = Op::Identity(crate::ops::Identity {});
            self.graph.add(crate::ir::Node::new(op, "<failed>".into(), None, Span::default()), &[])
        });
        Tensor { node, span: Span::default() }
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
            if ops::builtin(&call.name.name).is_some_and(|b| b.sig.variadic_tensors) {
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
                self.graph.inputs.first().map(|&n| self.graph.g[n].name.clone()).unwrap_or_else(|| "x".into());
            self.diags.push(
                Diagnostic::error(Code::NetworkInterface, msg, stage.span(), "nothing flows into this")
                    .with_help(format!("start the chain from a tensor: `{first_input} -> {}`", stage_hint(stage))),
            );
            return None;
        }
        self.stage(stage, frame, implicit)
    }

    fn stage(&mut self, stage: &Stage, frame: &mut Frame, cur: Option<Tensor>) -> Option<Tensor> {
        match stage {
            Stage::Call(call) => {
                if call.args.is_none() && (frame.tensors.contains_key(&call.name.name) || call.name.name == "in") {
                    let n = &call.name.name;
                    self.diags.push(
                        Diagnostic::error(Code::WrongRole, format!("tensor `{n}` used as a layer"), call.name.span, "a tensor cannot be applied to another tensor")
                            .with_help(format!("to combine tensors use `add({n})` or `concat({n})`; to name this point of the chain, end it here and write `let {n} = ...`")),
                    );
                    return None;
                }
                self.call(call, frame, cur)
            }
            Stage::Repeat { count, body, .. } => {
                let n = match self.eval(count, frame) {
                    Some(Value::Const(Const::Int(n))) if (0..=MAX_REPEAT).contains(&n) => n,
                    Some(Value::Const(Const::Int(n))) => {
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
                // From the placeholder, one iteration shows the body's errors.
                let n = if cur.is_some_and(|t| Some(t.node) == self.placeholder) { n.min(1) } else { n };
                let mut t = cur;
                for _ in 0..n {
                    if !self.spend(1, count.span) {
                        return None;
                    }
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
                        let name = self.auto_name(frame, "shortcut", *keyword)?;
                        let scope = self.scope(name, frame.scope, None);
                        let mut sub = Frame::new(scope, frame.params.clone(), frame.input);
                        let t = self.chain(sc, &mut sub, Some(cur))?;
                        Tensor { node: t.node, span: sc.span }
                    }
                    None => cur,
                };
                let name = self.auto_name(frame, "add", *keyword)?;
                let path = (frame.scope, name);
                let operands = vec![
                    Operand { span: short.span, name: None, written: shortcut.as_ref().map_or(*span, |sc| sc.span) },
                    Operand { span: body.span, name: None, written: body.span },
                ];
                let skip = Some(SkipKind::Residual { has_shortcut: shortcut.is_some() });
                let add = Op::Add(Add { relu: false });
                let node = self.new_node(add, path, *keyword, &[short.node, body_out.node], operands, skip)?;
                Some(Tensor { node, span: *span })
            }
        }
    }

    /// The next automatic name of `callee` in `frame` (for a layer written at `span`), or `None`
    /// after reporting the earlier label that took it.
    fn auto_name(&mut self, frame: &mut Frame, callee: &str, span: Span) -> Option<String> {
        let (name, label) = match frame.auto_name(callee) {
            Ok(name) => return Some(name),
            Err(taken) => taken,
        };
        self.diags.push(
            Diagnostic::error(
                Code::Duplicate,
                format!("the label `{name}` is the automatic name of a later layer"),
                label,
                "label given here",
            )
            .with_label(span, format!("this `{callee}` is automatically named `{name}`"))
            .with_help("layer names become weight names and must be unique in their block; choose another label, e.g. one without a number at the end"),
        );
        None
    }

    /// The name a call's layer gets in its scope: its label, checked for clashes, or the next
    /// automatic name.
    fn layer_name(&mut self, call: &ast::Call, frame: &mut Frame) -> Option<String> {
        let Some(l) = &call.label else { return self.auto_name(frame, &call.name.name, call.span) };
        match frame.names.insert(l.name.clone(), Some(l.span)) {
            None => Some(l.name.clone()),
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
                None
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
                None
            }
        }
    }

    fn call(&mut self, call: &ast::Call, frame: &mut Frame, cur: Option<Tensor>) -> Option<Tensor> {
        if !self.spend(1, call.span) {
            return None;
        }
        let label = self.layer_name(call, frame)?;
        let args: &[Arg] = call.args.as_deref().unwrap_or(&[]);
        if let Some(b) = ops::builtin(&call.name.name) {
            let path = (frame.scope, label);
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
        let scope = self.scope(label, frame.scope, Some((block.name.name.clone(), call.span)));
        let mut sub = Frame::new(scope, params, Some(cur));
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

    /// A call of a built-in layer: its arguments matched, its op built by the registry.
    fn builtin_call(
        &mut self,
        entry: &Entry,
        call: &ast::Call,
        args: &[Arg],
        frame: &mut Frame,
        cur: Option<Tensor>,
        path: (Option<ScopeId>, String),
    ) -> Option<Tensor> {
        let sig = entry.sig;
        let matched = self.builtin_args(sig, call, args, frame, cur)?;
        if sig.variadic_tensors && matched.tensors.len() < 2 {
            self.diags.push(
                Diagnostic::error(
                    Code::BadArguments,
                    format!("`{}` needs at least two tensors, found {}", sig.name, matched.tensors.len()),
                    call.span,
                    "too few tensors",
                )
                .with_help(format!("`{}(y, x)`, or inside a chain `y -> {}(x)`", sig.name, sig.name)),
            );
            return None;
        }
        let op = match (entry.build)(&matched.args) {
            Ok(op) => op,
            Err(d) => {
                self.diags.push(*d);
                return None;
            }
        };
        let inputs: Vec<NodeIndex> =
            if sig.variadic_tensors { matched.tensors.iter().map(|t| t.node).collect() } else { vec![cur?.node] };
        let skip = matches!(op, Op::Add(_)).then_some(SkipKind::Explicit);
        let node = self.new_node(op, path, call.span, &inputs, matched.operands, skip)?;
        Some(Tensor { node, span: call.span })
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
