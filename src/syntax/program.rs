//! Loading a program: the prelude, the user's file and, transitively, the files it imports.

use super::ast::{File, Item};
use super::parse_file;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The prelude's source, compiled in.
pub const PRELUDE: &str = include_str!("../../grammar/prelude.net");

/// The prelude's name in diagnostics, and its file in every program's [`SourceMap`] (it is
/// loaded first).
pub const PRELUDE_NAME: &str = "<prelude>";
pub const PRELUDE_FILE: FileId = 0;

/// Every parsed file of a program. `files[0]` is the prelude; the main file comes last,
/// after the files it imports (so later definitions shadow earlier ones).
#[derive(Default)]
pub struct Program {
    pub files: Vec<(FileId, File)>,
    pub main: FileId,
    /// Imported files that could not be read or parsed (as named in diagnostics): the blocks
    /// they define are missing.
    pub unloaded: Vec<String>,
}

/// Largest source file netc reads, the main file or an import (a `.net` file of this size is
/// already hundreds of thousands of layers).
pub const MAX_SOURCE_BYTES: u64 = 4 << 20;

/// Reads a source file: a regular file (not a device or a pipe, which could be read forever) of
/// at most [`MAX_SOURCE_BYTES`] of UTF-8 text. The error says why not, to follow "cannot read
/// `FILE`: ".
pub fn read_source(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_string());
    }
    let too_large =
        |n: u64| format!("it has {n} bytes, more than the {MAX_SOURCE_BYTES} netc reads from a source file");
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // The file may grow while it is read: never take more than the limit.
    file.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| format!("it is not UTF-8 text (byte {} is not)", e.utf8_error().valid_up_to()))
}

/// Files being loaded (an import of one of these is a cycle) and files already loaded.
#[derive(Default)]
struct Seen {
    /// The folders imports may come from (canonical): the main file's and the allowed ones.
    roots: Vec<PathBuf>,
    in_progress: HashSet<PathBuf>,
    done: HashSet<PathBuf>,
    /// The chain of imports being loaded, outermost first: each file, its name as shown in
    /// diagnostics, and the import that brought it in (none for the main file).
    chain: Vec<(PathBuf, String, Option<Span>)>,
}

/// The prelude, parsed once per process: it is every program's first file, and parsing it was
/// 90 % of the time of checking a small network (712 against 57 us per check once cached; the
/// language server checks on every keystroke).
fn prelude_ast() -> &'static Result<File, Box<Diagnostic>> {
    static AST: std::sync::OnceLock<Result<File, Box<Diagnostic>>> = std::sync::OnceLock::new();
    AST.get_or_init(|| parse_file(PRELUDE_FILE, PRELUDE))
}

/// Imports nested deeper than this are reported rather than followed.
const MAX_IMPORT_DEPTH: usize = 32;

/// Loads `main_source` (named `main_name`, resolving imports relative to `main_dir`). Imports
/// must be in `main_dir` (or below it) or in one of `import_dirs`. Files that fail to parse are
/// skipped after reporting, so independent errors still surface.
pub fn load_program(
    sources: &mut SourceMap,
    main_name: &str,
    main_source: String,
    main_dir: &Path,
    import_dirs: &[PathBuf],
) -> (Program, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut program = Program::default();
    let prelude = sources.add(PRELUDE_NAME, PRELUDE);
    debug_assert_eq!(prelude, PRELUDE_FILE, "the prelude is a program's first file");
    match prelude_ast() {
        Ok(f) => program.files.push((prelude, f.clone())),
        Err(d) => diags.push((**d).clone()),
    }
    let main = sources.add(main_name, main_source);
    program.main = main;
    let mut seen = Seen::default();
    let main_dir = if main_dir.as_os_str().is_empty() { Path::new(".") } else { main_dir };
    seen.roots = std::iter::once(main_dir)
        .chain(import_dirs.iter().map(PathBuf::as_path))
        .filter_map(|d| d.canonicalize().ok())
        .collect();
    if let Ok(p) = Path::new(main_name).canonicalize() {
        seen.in_progress.insert(p.clone());
        seen.chain.push((p, main_name.to_string(), None));
    }
    load_file(sources, main, main_dir, &mut seen, 0, &mut program, &mut diags);
    (program, diags)
}

fn load_file(
    sources: &mut SourceMap,
    file: FileId,
    dir: &Path,
    seen: &mut Seen,
    depth: usize,
    program: &mut Program,
    diags: &mut Vec<Diagnostic>,
) {
    let ast = match parse_file(file, sources.source(file)) {
        Ok(ast) => ast,
        Err(d) => {
            diags.push(*d);
            if file != program.main {
                program.unloaded.push(sources.name(file).to_string());
            }
            return;
        }
    };
    for item in &ast.items {
        if let Item::Import { path, span } = item
            && let Some((id, canonical)) = open_import(sources, path, *span, dir, seen, depth, program, diags)
        {
            // The imported file's own imports resolve against its folder, spelt as the user
            // spelt it (not canonicalized) so that diagnostics show relative paths.
            let full = dir.join(path);
            let sub_dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
            seen.chain.push((canonical.clone(), full.display().to_string(), Some(*span)));
            load_file(sources, id, &sub_dir, seen, depth + 1, program, diags);
            seen.chain.pop();
            seen.in_progress.remove(&canonical);
            seen.done.insert(canonical);
        }
    }
    program.files.push((file, ast));
}

#[allow(clippy::too_many_arguments)]
fn open_import(
    sources: &mut SourceMap,
    path: &str,
    span: Span,
    dir: &Path,
    seen: &mut Seen,
    depth: usize,
    program: &mut Program,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, PathBuf)> {
    let full = dir.join(path);
    open_checked(sources, path, span, &full, seen, depth, diags).unwrap_or_else(|()| {
        program.unloaded.push(full.display().to_string());
        None
    })
}

/// Opens the file an import names: `Ok(Some)` for a file to load, `Ok(None)` for one loaded
/// or being loaded already (a cycle is reported), `Err` when it cannot be loaded (too deep,
/// missing, unreadable; reported).
fn open_checked(
    sources: &mut SourceMap,
    path: &str,
    span: Span,
    full: &Path,
    seen: &mut Seen,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<(FileId, PathBuf)>, ()> {
    if depth >= MAX_IMPORT_DEPTH {
        diags.push(Diagnostic::error(
            Code::Import,
            format!("imports nested more than {MAX_IMPORT_DEPTH} deep"),
            span,
            "this import is too deep",
        ));
        return Err(());
    }
    let canonical = match full.canonicalize() {
        Ok(c) => c,
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::Import, format!("cannot import `{path}`: {e}"), span, "imported here")
                    .with_note(format!("looked for {}", full.display()))
                    .with_help("import paths are relative to the importing file's folder"),
            );
            return Err(());
        }
    };
    if !seen.roots.iter().any(|root| canonical.starts_with(root)) {
        let folder = canonical.parent().unwrap_or(&canonical).display().to_string();
        let roots: Vec<String> = seen.roots.iter().map(|r| format!("`{}`", r.display())).collect();
        diags.push(
            Diagnostic::error(
                Code::Import,
                format!("cannot import `{path}`: it is outside the project folder"),
                span,
                "imported here",
            )
            .with_note(format!("`{path}` is {}; imports may come from {}", canonical.display(), roots.join(", ")))
            .with_help(format!(
                "imports are confined to the folder of the file being checked and its subfolders: move the file there, or allow its folder with `--import-dir {folder}`"
            )),
        );
        return Err(());
    }
    if seen.done.contains(&canonical) {
        return Ok(None);
    }
    if !seen.in_progress.insert(canonical.clone()) {
        diags.push(cycle(&seen.chain, &canonical, path, span));
        return Ok(None);
    }
    match read_source(&canonical) {
        Ok(text) => {
            let id = sources.add(full.display().to_string(), text);
            Ok(Some((id, canonical)))
        }
        Err(e) => {
            seen.in_progress.remove(&canonical);
            diags.push(Diagnostic::error(Code::Import, format!("cannot import `{path}`: {e}"), span, "imported here"));
            Err(())
        }
    }
}

/// The diagnostic for an import of `canonical` (written `path`, at `span`) while `chain` is
/// being loaded: the cycle's files in order, each import on the way labelled.
fn cycle(chain: &[(PathBuf, String, Option<Span>)], canonical: &Path, path: &str, span: Span) -> Diagnostic {
    let start = chain.iter().position(|(p, _, _)| p == canonical).unwrap_or(0);
    let files: Vec<&str> = chain[start..].iter().map(|(_, name, _)| name.as_str()).collect();
    let mut d = Diagnostic::error(
        Code::Import,
        format!("import cycle: `{path}` is already being imported"),
        span,
        format!("imports `{}` again", files[0]),
    );
    for (k, (_, name, import)) in chain.iter().enumerate().skip(start + 1) {
        if let Some(import) = import {
            d = d.with_label(*import, format!("`{}` imports `{name}`", chain[k - 1].1));
        }
    }
    let help = if files.len() == 1 {
        "remove the import: a file's own blocks are visible in it without one"
    } else {
        "move the shared blocks into a third file that both import"
    };
    d.with_note(format!("the cycle: {} -> {}", files.join(" -> "), files[0])).with_help(help)
}
