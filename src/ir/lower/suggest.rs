//! Names that do not resolve: undefined tensors and parameters, unknown layers and blocks, and
//! the suggestions that go with them.

use super::Lowerer;
use super::scope::Frame;
use crate::diag::{Applicability, Code, Diagnostic, Suggestion};
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
        let mut d = if as_callee {
            let d = Diagnostic::error(
                Code::UnknownCallee,
                format!("unknown layer or block `{}`", name.name),
                name.span,
                "not a built-in layer or a defined block",
            );
            self.unknown_callee(d, name)
        } else {
            let mut candidates: Vec<&str> = BUILTINS.iter().map(|b| b.sig.name).collect();
            candidates.extend(self.blocks.keys().copied());
            candidates.extend(frame.tensors.keys().map(String::as_str));
            candidates.extend(frame.params.keys().map(String::as_str));
            let d = Diagnostic::error(
                Code::Undefined,
                format!("undefined name `{}`", name.name),
                name.span,
                "not defined here",
            );
            match closest(&name.name, &candidates).first() {
                Some(s) => typo_fix(d, name, s),
                None => d.with_help(
                    "tensors must be defined with `let` before use; parameters are those of the enclosing block",
                ),
            }
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

impl Lowerer<'_> {
    /// The help of E0002 for `name`: the built-in of that meaning under netc's name (`linear` is
    /// `dense`), the layers and blocks of a similar name (saying what each computes, since a
    /// typo's neighbour is a different layer), the layers nearest in meaning to one netc does
    /// not have, or that it has none, and how to define it.
    fn unknown_callee(&self, d: Diagnostic, ident: &ast::Ident) -> Diagnostic {
        let name = ident.name.as_str();
        let lower = name.to_lowercase();
        if let Some(b) = BUILTINS.iter().find(|b| b.sig.aliases.contains(&lower.as_str()) || b.sig.name == lower) {
            // The same layer under netc's name; its arguments may still differ (the help shows them).
            return d.with_fix(
                format!("netc calls this layer `{}`: `{}`", b.sig.name, b.sig.render()),
                Suggestion::replace(ident.span, b.sig.name, Applicability::MachineApplicable),
            );
        }
        let describe = |n: &str| match crate::ops::builtin(n) {
            Some(b) => format!("`{n}` ({})", b.sig.summary),
            None => format!("block `{n}`"),
        };
        let define = format!("define it as a block (`block {name}(...) {{ ... }}`) or import the file that does");
        if let Some(m) = MISSING.iter().find(|m| m.names.contains(&lower.as_str())) {
            let list: Vec<String> = m.nearest.iter().map(|n| describe(n)).collect();
            let nearest = match list.len() {
                0 => String::new(),
                1 => format!("; the nearest is {}", list[0]),
                _ => format!("; the nearest are {}", list.join(", ")),
            };
            return d.with_note(format!("netc has no {} layer{nearest}", m.what)).with_help(define);
        }
        let mut candidates: Vec<&str> = BUILTINS.iter().map(|b| b.sig.name).collect();
        candidates.extend(self.blocks.keys().copied());
        match closest(name, &candidates)[..] {
            [] => d.with_note(format!("netc has no layer `{name}`")).with_help(define),
            [only] => {
                let d = typo_fix(d, ident, only);
                match crate::ops::builtin(only) {
                    Some(b) => d.with_note(format!("`{only}` computes {}", b.sig.summary)),
                    None => d,
                }
            }
            ref near => {
                let list: Vec<String> = near.iter().map(|n| describe(n)).collect();
                d.with_help(format!("the layers with the closest names are {}", list.join(", ")))
            }
        }
    }
}

/// Layers netc does not have, by the names other frameworks give them: what they are, and the
/// built-ins nearest in meaning.
struct Missing {
    names: &'static [&'static str],
    what: &'static str,
    nearest: &'static [&'static str],
}

const MISSING: &[Missing] = &[
    Missing { names: &["prelu", "rrelu"], what: "learned-slope ReLU", nearest: &["leaky_relu"] },
    Missing {
        names: &["elu", "selu", "celu", "mish", "softplus", "softsign", "gelu_new", "quick_gelu"],
        what: "such activation",
        nearest: &["silu", "gelu", "leaky_relu"],
    },
    Missing {
        names: &[
            "groupnorm",
            "group_norm",
            "instancenorm",
            "instance_norm",
            "instancenorm2d",
            "localresponsenorm",
            "lrn",
        ],
        what: "group, instance or local-response normalization",
        nearest: &["batchnorm", "layernorm"],
    },
    Missing {
        names: &["pixel_shuffle", "pixelshuffle", "depth_to_space", "space_to_depth", "pixel_unshuffle"],
        what: "pixel shuffle",
        nearest: &["upsample", "conv_transpose"],
    },
    Missing {
        names: &[
            "lstm",
            "gru",
            "rnn",
            "attention",
            "multihead_attention",
            "self_attention",
            "transformer",
            "embedding",
        ],
        what: "recurrent, attention or embedding",
        nearest: &[],
    },
    Missing {
        names: &["maxunpool", "max_unpool2d", "unpool"],
        what: "unpooling",
        nearest: &["upsample", "conv_transpose"],
    },
    Missing { names: &["logsoftmax", "log_softmax", "softmin"], what: "log-softmax", nearest: &["softmax"] },
];

/// The help for an unknown parameter name: the closest parameter (as a fix), or the list of them.
pub(super) fn param_help(d: Diagnostic, names: &[&str], given: &ast::Ident) -> Diagnostic {
    match closest(&given.name, names).first() {
        Some(s) => typo_fix(d, given, s),
        None if names.is_empty() => d.with_help("it takes no parameters"),
        None => d.with_help(format!(
            "its parameters are {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// "did you mean `near`?", with the rename as a fix. The nearest name is a guess (and a
/// different layer or tensor computes something else), so the fix is not applied blind.
pub(super) fn typo_fix(d: Diagnostic, name: &ast::Ident, near: &str) -> Diagnostic {
    d.with_fix(format!("did you mean `{near}`?"), Suggestion::replace(name.span, near, Applicability::MaybeIncorrect))
}

/// Suggestions shown at most.
const MAX_SUGGESTIONS: usize = 3;

/// The candidates close to `name` by optimal-string-alignment distance (edits and adjacent
/// transpositions: `reul` -> `relu` is 1) that are likely typos of it, closest first (ties
/// alphabetically), at most [`MAX_SUGGESTIONS`].
pub(super) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Vec<&'a str> {
    let len = name.chars().count();
    if len > MAX_SUGGEST_LEN {
        return Vec::new();
    }
    let max = (len.max(3) / 3).max(1);
    let mut near: Vec<(usize, &str)> = candidates
        .iter()
        // A length difference alone exceeds the bound: skip without computing the distance.
        .filter(|c| c.chars().count().abs_diff(len) <= max)
        .map(|&c| (strsim::osa_distance(name, c), c))
        .filter(|&(d, _)| d <= max)
        .collect();
    near.sort_unstable();
    near.dedup();
    near.into_iter().take(MAX_SUGGESTIONS).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_typos_within_a_third_of_the_length() {
        assert_eq!(closest("reul", &["relu", "conv"]), ["relu"]);
        assert_eq!(closest("cnov", &["relu", "conv"]), ["conv"]);
        assert_eq!(closest("relu7", &["relu6", "relu", "conv"]), ["relu", "relu6"]);
        assert!(closest("convolution", &["relu", "conv"]).is_empty());
        assert!(closest(&"x".repeat(100), &["relu"]).is_empty());
    }
}
