//! netc's cache folder: `$XDG_CACHE_HOME/netc/`, else `~/.cache/netc/`, else `netc/` in the
//! temporary folder. What is cached there can always be made again (the prelude's copy for
//! editors, the machine's measured FMA peak).

use std::path::PathBuf;

/// The cache folder, created; `None` when it cannot be.
pub fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join("netc");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}
