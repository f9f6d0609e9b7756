//! `netc explain [CODE]`: the diagnostics catalogue.

use super::{IO_ERROR, SUCCESS, Streams};
use crate::diag::{Code, lookup_code};

pub(super) fn explain(code: Option<&str>, s: &mut Streams) -> u8 {
    match code {
        None => {
            for c in Code::ALL {
                let _ = writeln!(s.out, "{}  {}", c.as_str(), c.title());
            }
            SUCCESS
        }
        Some(name) => match lookup_code(name) {
            Some(c) => {
                let _ = write!(s.out, "{}", c.explanation());
                SUCCESS
            }
            None => {
                let _ = writeln!(s.err, "error: no diagnostic code `{name}`; `netc explain` lists them all");
                IO_ERROR
            }
        },
    }
}
