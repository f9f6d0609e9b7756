//! `netc fmt`: rewrites a `.net` file in the one canonical style, keeping every comment.
//!
//! The file is parsed to its AST (with the comments the lexer of [`crate::syntax::trivia`] finds),
//! laid out as a [`doc::Doc`] by [`layout`] and printed in [`WIDTH`] columns. Formatting never
//! changes what a file means (the parsed AST is the same, spans aside) and formatting a formatted
//! file changes nothing. The rules are in the book's formatting chapter.

mod align;
mod diff;
mod doc;
mod layout;

use crate::diag::{Diagnostic, render_human};
use crate::source::SourceMap;
use crate::syntax::parse_file;
use diff::unified_diff;
use std::io::{Read, Write};
use std::path::PathBuf;

/// The line width the layout aims for.
pub const WIDTH: usize = 100;

/// `src` in the canonical style, or the syntax error (E0001) that keeps it from being formatted.
/// The diagnostic points into file 0.
pub fn format_source(src: &str) -> Result<String, Box<Diagnostic>> {
    let file = parse_file(0, src)?;
    Ok(align::align_trailing_comments(&doc::print(&layout::layout(src, &file, WIDTH), WIDTH)))
}

/// What `netc fmt` did: how many files (or standard inputs) were not formatted and changed (or,
/// with `--check`, would change), did not parse (left as they are), or could not be read or
/// written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub changed: usize,
    pub unparsed: usize,
    pub io_errors: usize,
}

/// Formats `src` (named `name` in messages): `Some` text when it changes, `None` when it is
/// formatted already, `Err` after writing its syntax error to `err`.
fn format_named(name: &str, src: &str, err: &mut dyn Write, color: bool) -> Result<Option<String>, ()> {
    match format_source(src) {
        Ok(formatted) => Ok((formatted != src).then_some(formatted)),
        Err(d) => {
            let mut sources = SourceMap::new();
            sources.add(name, src);
            let _ = write!(err, "{}", render_human(&sources, &[*d], color));
            Err(())
        }
    }
}

/// `netc fmt FILE...`: rewrites each file that is not formatted, or with `check` writes nothing
/// and prints the diff of each such file to `out`. Syntax errors and I/O errors go to `err`; a
/// file that does not parse is left as it is.
pub fn format_files(files: &[PathBuf], check: bool, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> Report {
    let mut report = Report::default();
    for path in files {
        let name = path.display().to_string();
        let src = match std::fs::read_to_string(path) {
            Ok(src) => src,
            Err(e) => {
                let _ = writeln!(err, "error: cannot read `{name}`: {e}");
                report.io_errors += 1;
                continue;
            }
        };
        match format_named(&name, &src, err, color) {
            Ok(Some(formatted)) => {
                report.changed += 1;
                if check {
                    let _ = write!(out, "{}", unified_diff(&name, &src, &formatted));
                } else if let Err(e) = std::fs::write(path, formatted) {
                    let _ = writeln!(err, "error: cannot write `{name}`: {e}");
                    report.io_errors += 1;
                }
            }
            Ok(None) => {}
            Err(()) => report.unparsed += 1,
        }
    }
    report
}

/// `netc fmt --stdin`: writes `input` formatted to `out`, or with `check` only the diff (if
/// any). A syntax error goes to `err`, and nothing to `out`.
pub fn format_stdin(
    input: &mut dyn Read,
    check: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> Report {
    let mut report = Report::default();
    let mut src = String::new();
    if let Err(e) = input.read_to_string(&mut src) {
        let _ = writeln!(err, "error: cannot read standard input: {e}");
        report.io_errors += 1;
        return report;
    }
    match format_named("<stdin>", &src, err, color) {
        Ok(formatted) => {
            report.changed += usize::from(formatted.is_some());
            let text = match (check, formatted) {
                (true, Some(formatted)) => unified_diff("<stdin>", &src, &formatted),
                (true, None) => String::new(),
                (false, formatted) => formatted.unwrap_or(src),
            };
            let _ = write!(out, "{text}");
        }
        Err(()) => report.unparsed += 1,
    }
    report
}
