//! `netc fmt`: the arguments, and the exit status of what [`crate::fmt`] reports.

use super::{FAILURE, IO_ERROR, SUCCESS, Streams};
use crate::fmt::{Report, format_files, format_stdin};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct FmtArgs {
    /// The `.net` files to rewrite in place.
    #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
    files: Vec<PathBuf>,
    /// Write nothing: print a diff of each file that is not formatted, exit 1 if there is one.
    #[arg(long)]
    check: bool,
    /// Format standard input to standard output.
    #[arg(long)]
    stdin: bool,
}

pub fn fmt(a: &FmtArgs, streams: &mut Streams) -> u8 {
    let report = if a.stdin {
        format_stdin(&mut std::io::stdin().lock(), a.check, streams.out, streams.err, streams.color)
    } else {
        format_files(&a.files, a.check, streams.out, streams.err, streams.color)
    };
    match report {
        Report { io_errors: 1.., .. } => IO_ERROR,
        Report { unparsed: 1.., .. } => FAILURE,
        Report { changed: 1.., .. } if a.check => FAILURE,
        _ => SUCCESS,
    }
}
