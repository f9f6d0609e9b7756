//! The block table: every `block` definition of the program by name, with the checks that need
//! only the definitions (names defined twice, names of built-ins, parameter lists).

use super::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::ops::{self, sig::Ty};
use crate::source::Span;
use crate::syntax::Program;
use crate::syntax::ast::{BlockDef, Item};
use std::collections::HashMap;

impl<'p> Lowerer<'p> {
    /// Fills the block table. Later files (imports before the main file) shadow earlier ones (the
    /// prelude); within one file a name may be defined once.
    pub(super) fn collect_blocks(&mut self, program: &'p Program) {
        for (_, ast) in &program.files {
            let mut here: HashMap<&str, Span> = HashMap::new();
            for item in &ast.items {
                let Item::Block(b) = item else { continue };
                if let Some(first) = here.get(b.name.name.as_str()) {
                    self.diags.push(
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
                if ops::builtin(&b.name.name).is_some() {
                    self.diags.push(
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
                self.blocks.insert(&b.name.name, b);
                self.check_block_params(b);
            }
        }
    }

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

    pub(super) fn is_callable(&self, name: &str) -> bool {
        ops::builtin(name).is_some() || self.blocks.contains_key(name)
    }
}

/// A block's signature for help texts: `vgg(c, convs = ...)`.
pub(super) fn signature(b: &BlockDef) -> String {
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
