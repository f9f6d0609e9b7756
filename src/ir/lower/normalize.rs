//! An input's `normalize(scale = ..., mean = ..., std = ...)`.

use super::Lowerer;
use super::eval::Value;
use super::scope::Frame;
use crate::diag::{Code, Diagnostic};
use crate::ops::Normalize;
use crate::ops::sig::Value as Const;
use crate::syntax::ast::Arg;
use std::collections::HashMap;

impl<'p> Lowerer<'p> {
    pub(super) fn normalize(&mut self, args: &[Arg], channels: usize) -> Option<Normalize> {
        let frame = Frame::new(None, HashMap::new(), None);
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
            let which = name.name.as_str();
            let per_channel = match (which, &v) {
                ("scale", Value::Const(c)) if c.as_f64().is_some() => {
                    out.scale = c.as_f64().unwrap_or_default() as f32;
                    continue;
                }
                ("mean" | "std", Value::Const(Const::List(items))) => {
                    let nums: Option<Vec<f32>> = items.iter().map(|v| v.as_f64().map(|f| f as f32)).collect();
                    match nums {
                        Some(n) if n.len() == channels => Some(n),
                        _ => {
                            self.diags.push(Diagnostic::error(
                                Code::BadValue,
                                format!("`{which}` must list {channels} numbers, one per input channel"),
                                a.value.span,
                                format!("expected {channels} numbers"),
                            ));
                            ok = false;
                            continue;
                        }
                    }
                }
                ("mean" | "std", Value::Const(c)) if c.as_f64().is_some() => {
                    Some(vec![c.as_f64().unwrap_or_default() as f32; channels])
                }
                ("scale" | "mean" | "std", v) => {
                    self.diags.push(Diagnostic::error(
                        Code::BadValue,
                        format!("`{which}` cannot be a {}", v.kind()),
                        a.value.span,
                        "wrong type",
                    ));
                    ok = false;
                    continue;
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadArguments,
                            format!("`normalize` has no parameter `{which}`"),
                            name.span,
                            "unknown parameter",
                        )
                        .with_help("`normalize` takes `scale`, `mean` and `std`"),
                    );
                    ok = false;
                    continue;
                }
            };
            let Some(values) = per_channel else { continue };
            if which == "std" && values.contains(&0.0) {
                let list = matches!(v, Value::Const(Const::List(_)));
                self.diags.push(
                    Diagnostic::error(
                        Code::BadValue,
                        if list { "`std` contains a zero" } else { "`std` is zero" },
                        a.value.span,
                        "would divide by zero",
                    )
                    .with_help("a standard deviation divides the input: use the data's, e.g. `std = 0.25`"),
                );
                ok = false;
            } else if which == "mean" {
                out.mean = values;
            } else {
                out.std = values;
            }
        }
        ok.then_some(out)
    }
}
