//! A progress line on standard error for commands that take a while (`netc run` on a data set,
//! `netc bench`): redrawn in place at most ten times a second, shown only once the command has
//! run for `delay`, cleared when done. Nothing at all when standard error is not a terminal, so
//! logs and pipes stay clean.

use super::Streams;
use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress<'a> {
    err: &'a mut dyn Write,
    terminal: bool,
    started: Instant,
    delay: Duration,
    shown: Option<Instant>,
}

impl<'a> Progress<'a> {
    pub fn new(s: &'a mut Streams, delay: Duration) -> Progress<'a> {
        Progress { terminal: s.color, err: &mut *s.err, started: Instant::now(), delay, shown: None }
    }

    /// Time since the progress began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Redraws the line with `line()` when it is due.
    pub fn update(&mut self, line: impl FnOnce() -> String) {
        let due =
            self.shown.map_or(self.started.elapsed() >= self.delay, |t| t.elapsed() >= Duration::from_millis(100));
        if self.terminal && due {
            self.shown = Some(Instant::now());
            let _ = write!(self.err, "\r\x1b[K{}", line());
            let _ = self.err.flush();
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if self.shown.is_some() {
            let _ = write!(self.err, "\r\x1b[K");
        }
    }
}

/// A bar of `width` characters `done` of `total` full: `[=======>    ]`.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let full = (done * width).checked_div(total).unwrap_or(width).min(width);
    let head = if full < width { ">" } else { "" };
    format!("[{}{head}{}]", "=".repeat(full), " ".repeat(width - full - head.len()))
}
