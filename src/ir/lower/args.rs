//! Matching a call's arguments to the callee's parameters: positional and named arguments,
//! types, ranges and defaults, for blocks and built-in layers alike.

use super::blocks::signature;
use super::eval::Value;
use super::scope::{Frame, Tensor};
use super::{Lowerer, a_or_an};
use crate::diag::{Applicability, Code, Diagnostic, Suggestion};
use crate::ops::Operand;
use crate::ops::sig::{Args, Default, Signature, Ty, Value as Const};
use crate::source::Span;
use crate::syntax::ast::{self, Arg, BlockDef, ExprKind};
use std::collections::{HashMap, HashSet};

/// A block or built-in layer, as argument matching sees it.
struct Callee<'a> {
    /// "block `vgg`" or "`conv`".
    what: String,
    params: &'a [&'a str],
    signature: String,
    defined_at: Option<Span>,
}

/// A built-in call's arguments: the constants, matched to the signature, and the tensors.
pub(super) struct BuiltinArgs {
    pub args: Args,
    pub tensors: Vec<Tensor>,
    pub operands: Vec<Operand>,
}

impl<'p> Lowerer<'p> {
    /// Matches argument `a` of a call to its parameter (by name, or by position counting in
    /// `positional`), reporting unknown names, extra arguments and parameters given twice.
    /// `given` collects the indices of parameters that received an argument.
    fn match_arg(
        &mut self,
        callee: &Callee,
        a: &Arg,
        n_args: usize,
        positional: &mut usize,
        given: &mut HashSet<usize>,
    ) -> Option<usize> {
        let defined_here = |d: Diagnostic| match callee.defined_at {
            Some(def) => d.with_label(def, format!("{} is defined here", callee.what.trim_start_matches("block "))),
            None => d,
        };
        let index = match &a.name {
            Some(n) => match callee.params.iter().position(|p| *p == n.name) {
                Some(i) => i,
                None => {
                    let d = Diagnostic::error(
                        Code::BadArguments,
                        format!("{} has no parameter `{}`", callee.what, n.name),
                        n.span,
                        "unknown parameter",
                    );
                    self.diags.push(super::suggest::param_help(defined_here(d), callee.params, n));
                    return None;
                }
            },
            None => {
                *positional += 1;
                if *positional > callee.params.len() {
                    let d = Diagnostic::error(
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
                    self.diags.push(defined_here(d).with_help(format!("call it as `{}`", callee.signature)));
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

    /// The parameter values of a call of `block`: its arguments, then the defaults of the rest.
    pub(super) fn bind_block_args(
        &mut self,
        block: &BlockDef,
        call: &ast::Call,
        args: &[Arg],
        frame: &Frame,
    ) -> Option<HashMap<String, Value>> {
        let mut values: HashMap<String, Value> = HashMap::new();
        // Parameters given an argument, even one that failed: those are not also "missing".
        let mut given = HashSet::new();
        let mut ok = true;
        let mut positional = 0;
        let names: Vec<&str> = block.params.iter().map(|p| p.name.name.as_str()).collect();
        let callee = Callee {
            what: format!("block `{}`", block.name.name),
            params: &names,
            signature: signature(block),
            defined_at: Some(block.name.span),
        };
        for a in args {
            let v = self.eval(&a.value, frame);
            let Some(index) = self.match_arg(&callee, a, args.len(), &mut positional, &mut given) else {
                ok = false;
                continue;
            };
            let param = &block.params[index];
            let Some(v) = v else {
                ok = false;
                continue;
            };
            let ty = param.ty.as_ref().and_then(|t| Ty::from_name(&t.name));
            match (ty, v) {
                (Some(ty), Value::Const(c)) => match c.coerce(ty) {
                    Ok(c) => {
                        values.insert(param.name.name.clone(), Value::Const(c));
                    }
                    Err(c) => {
                        self.block_type_error(block, param, a, ty, c.kind());
                        ok = false;
                    }
                },
                (Some(ty), v @ Value::Tensor(_)) => {
                    self.block_type_error(block, param, a, ty, v.kind());
                    ok = false;
                }
                (None, v) => {
                    values.insert(param.name.name.clone(), v);
                }
            }
        }
        // Defaults are evaluated in the block's own scope, so they may refer to earlier parameters.
        let mut scope = Frame::new(None, HashMap::new(), None);
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

    fn block_type_error(&mut self, block: &BlockDef, param: &ast::Param, a: &Arg, ty: Ty, found: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::BadValue,
                format!(
                    "`{}` expects {} for `{}`, found {}",
                    block.name.name,
                    a_or_an(ty.name()),
                    param.name.name,
                    a_or_an(found)
                ),
                a.value.span,
                format!("expected {}", ty.name()),
            )
            .with_label(param.span, "parameter declared here"),
        );
    }

    /// Matches the arguments of a call of the built-in `sig` (and, for one that takes tensors,
    /// the current tensor `cur`): every parameter of the result has a value of its type and range.
    pub(super) fn builtin_args(
        &mut self,
        sig: &Signature,
        call: &ast::Call,
        args: &[Arg],
        frame: &Frame,
        cur: Option<Tensor>,
    ) -> Option<BuiltinArgs> {
        let mut vals: HashMap<&'static str, Const> = HashMap::new();
        let mut spans: HashMap<&'static str, Span> = HashMap::new();
        // Parameters given an argument, even one that failed: those are not also "missing".
        let mut given = HashSet::new();
        let mut tensors: Vec<Tensor> = Vec::new();
        let mut operands: Vec<Operand> = Vec::new();
        let mut ok = true;
        let mut positional = 0;
        if sig.variadic_tensors
            && let Some(c) = cur
        {
            tensors.push(c);
            operands.push(Operand { span: c.span, name: None, written: c.span });
        }
        let names = sig.param_names();
        let callee =
            Callee { what: format!("`{}`", sig.name), params: &names, signature: sig.render(), defined_at: None };
        for a in args {
            if sig.variadic_tensors {
                ok &= self.tensor_arg(sig, a, frame, &mut tensors, &mut operands);
                continue;
            }
            let Some(index) = self.match_arg(&callee, a, args.len(), &mut positional, &mut given) else {
                ok = false;
                continue;
            };
            let param = &sig.params[index];
            // A mode is a word: one that is none of the modes is reported as such, not as an
            // undefined name.
            if let (Ty::Mode(words), ExprKind::Name(word)) = (param.ty, &a.value.kind)
                && !words.contains(&word.as_str())
                && !frame.params.contains_key(word)
            {
                let list: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                let d = Diagnostic::error(
                    Code::BadValue,
                    format!("`{}` of `{}` is `{word}`, which is not one of its modes", param.name, sig.name),
                    a.value.span,
                    "unknown mode",
                );
                let help = format!("`{}` is {}", param.name, list.join(" or "));
                // The nearest mode is a guess, and each mode computes something else.
                self.diags.push(match super::suggest::closest(word, words).first() {
                    Some(near) => {
                        d.with_fix(help, Suggestion::replace(a.value.span, *near, Applicability::MaybeIncorrect))
                    }
                    None => d.with_help(help),
                });
                ok = false;
                continue;
            }
            match self.eval(&a.value, frame) {
                Some(Value::Const(c)) => match c.coerce(param.ty) {
                    Ok(v) => match param.check(sig.name, &v) {
                        Ok(()) => {
                            vals.insert(param.name, v);
                            spans.insert(param.name, a.value.span);
                        }
                        Err((msg, label, help)) => {
                            self.diags
                                .push(Diagnostic::error(Code::BadValue, msg, a.value.span, label).with_help(help));
                            ok = false;
                        }
                    },
                    Err(c) => {
                        self.builtin_type_error(sig, param.name, param.ty, a, c.kind());
                        ok = false;
                    }
                },
                Some(v @ Value::Tensor(_)) => {
                    self.builtin_type_error(sig, param.name, param.ty, a, v.kind());
                    ok = false;
                }
                None => ok = false,
            }
        }
        for (i, p) in sig.params.iter().enumerate() {
            if given.contains(&i) {
                continue;
            }
            let v = match p.default {
                Default::Required => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("`{}` needs `{}`", sig.name, p.name),
                            call.span,
                            format!("missing `{}`", p.name),
                        )
                        .with_help(format!("call it as `{}`", sig.render())),
                    );
                    ok = false;
                    continue;
                }
                Default::Int(i) => Const::Int(i),
                Default::Float(f) => Const::Float(f),
                Default::Bool(v) => Const::Bool(v),
                Default::Sym(w) => Const::Sym(w),
                Default::SameAs(other) => match vals.get(other) {
                    Some(v) => v.clone(),
                    None => continue,
                },
                Default::Absent => continue,
            };
            vals.insert(p.name, v);
        }
        ok.then_some(BuiltinArgs { args: Args { call: call.span, values: vals, spans }, tensors, operands })
    }

    /// One tensor argument of `add` / `concat`; false if it is not one (reported).
    fn tensor_arg(
        &mut self,
        sig: &Signature,
        a: &Arg,
        frame: &Frame,
        tensors: &mut Vec<Tensor>,
        operands: &mut Vec<Operand>,
    ) -> bool {
        if let Some(n) = &a.name {
            self.diags.push(Diagnostic::error(
                Code::BadArguments,
                format!("`{}` takes only tensors, not `{} = ...`", sig.name, n.name),
                a.span,
                "named argument",
            ));
            return false;
        }
        match self.eval(&a.value, frame) {
            Some(Value::Tensor(t)) => {
                tensors.push(t);
                let name = match &a.value.kind {
                    ExprKind::Name(n) => Some(n.clone()),
                    _ => None,
                };
                operands.push(Operand { span: t.span, name, written: a.value.span });
                true
            }
            Some(v) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("`{}` expects tensors, found {}", sig.name, a_or_an(v.kind())),
                        a.value.span,
                        "not a tensor",
                    )
                    .with_help(format!("pass tensor names: `{}(y, x)`", sig.name)),
                );
                false
            }
            None => false,
        }
    }

    fn builtin_type_error(&mut self, sig: &Signature, param: &str, ty: Ty, a: &Arg, found: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::BadValue,
                format!("`{}` expects {} for `{param}`, found {}", sig.name, a_or_an(ty.name()), a_or_an(found)),
                a.value.span,
                format!("expected {}", ty.name()),
            )
            .with_help(format!("call it as `{}`", sig.render())),
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
