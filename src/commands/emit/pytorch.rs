//! `netc emit pytorch FILE -o model.py`: the network as PyTorch source.

use super::super::{FAILURE, SUCCESS, Streams, compile};
use crate::ir::LowerOptions;
use crate::pytorch::to_python;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PytorchArgs {
    /// The `.net` file.
    pub file: PathBuf,
    /// The Python file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub(super) fn emit(a: &PytorchArgs, s: &mut Streams) -> u8 {
    let c = match compile(&a.file, &LowerOptions::default(), s) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        s.diagnostics(&c, &c.diagnostics);
        return FAILURE;
    }
    let python = match to_python(&c, &a.file.display().to_string()) {
        Ok(python) => python,
        Err(errors) => {
            return s.io_error(format!(
                "`{}` cannot be written in PyTorch:\n  {}",
                a.file.display(),
                errors.join("\n  ")
            ));
        }
    };
    if let Err(e) = std::fs::write(&a.output, &python.source) {
        return s.io_error(format!("cannot write `{}`: {e}", a.output.display()));
    }
    let blocks = match python.blocks.len() {
        0 => String::new(),
        n => format!(" and {n} block class{} ({})", if n == 1 { "" } else { "es" }, python.blocks.join(", ")),
    };
    let _ = writeln!(s.out, "wrote {}: class `Network`{blocks}", a.output.display());
    SUCCESS
}
