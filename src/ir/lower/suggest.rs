//! Names that do not resolve: undefined tensors and parameters, unknown layers and blocks, and
//! the suggestions that go with them.

use super::Lowerer;
use super::scope::Frame;
use crate::diag::{Code, Diagnostic};
use crate::ops::BUILTINS;
use crate::syntax::ast;

/// Names longer than this get no "did you mean": no typo of a real name is that long, and the
/// edit distance would cost time quadratic in the length.
const MAX_SUGGEST_LEN: usize = 64;

impl<'p> Lowerer<'p> {
    /// Reports `name`, which resolves to nothing in `frame` (as a callee when `as_callee`).
    pub(super) fn undefined(&mut self, name: &ast::Ident, frame: &Frame, as_callee: bool) -> Option<()> {
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
        let mut candidates: Vec<&str> = BUILTINS.iter().map(|b| b.sig.name).collect();
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
}

/// The help for an unknown parameter name: the closest parameter, or the list of them.
pub(super) fn param_help(names: &[&str], given: &str) -> String {
    match closest(given, names) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => "it takes no parameters".to_string(),
        None => format!("its parameters are {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// The candidate closest to `name` by optimal-string-alignment distance (edits and adjacent
/// transpositions: `reul` -> `relu` is 1), if close enough to be a likely typo; ties go to the
/// alphabetically first.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let len = name.chars().count();
    if len > MAX_SUGGEST_LEN {
        return None;
    }
    let max = (len.max(3) / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for &c in candidates {
        // A length difference alone exceeds the bound: skip without computing the distance.
        if c.chars().count().abs_diff(len) > max {
            continue;
        }
        let d = strsim::osa_distance(name, c);
        if d <= max && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_typos_within_a_third_of_the_length() {
        assert_eq!(closest("reul", &["relu", "conv"]), Some("relu"));
        assert_eq!(closest("cnov", &["relu", "conv"]), Some("conv"));
        assert_eq!(closest("convolution", &["relu", "conv"]), None);
        assert_eq!(closest(&"x".repeat(100), &["relu"]), None);
    }
}
