//! The crate's layering (book: "Contributing", "How the code is layered"): each top-level module
//! of `src/` has a rank, and may use only modules of lower rank, so data flows one way and no
//! import runs back up. Test modules (`#[cfg(test)]` and everything after it) are exempt.

use std::collections::BTreeMap;
use std::path::Path;

/// Every top-level module with its rank; a module may use modules of strictly lower rank.
const RANKS: &[(&str, usize)] = &[
    // Vocabulary and leaves: spans and sources, tensors, the numeric kernels.
    ("source", 0),
    ("cache", 0),
    ("tensor", 0),
    ("kernels", 0),
    // Diagnostics; tensor files.
    ("diag", 1),
    ("io", 1),
    // The front end; the operations.
    ("syntax", 2),
    ("ops", 2),
    // The IR and its lowering; formatting of source text.
    ("ir", 3),
    ("fmt", 3),
    // Checking; weights for a checked graph.
    ("check", 4),
    ("graph", 4),
    ("weights", 4),
    // Text to checked IR in one call; optimization.
    ("compile", 5),
    ("passes", 5),
    ("plan", 6),
    ("onnx", 6),
    ("pytorch", 6),
    ("backend", 7),
    ("run", 8),
    ("bench", 8),
    // The language server: below the command line, which starts it.
    ("lsp", 8),
    // The command line and tools built on everything.
    ("commands", 9),
    ("fuzz", 9),
];

fn rank(module: &str) -> Option<usize> {
    RANKS.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

/// The top-level modules `text` refers to as `crate::<module>` (in paths and in `use crate::{a, b}`).
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                found.push(name);
            }
        } else {
            found.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_module_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = BTreeMap::new();
    let mut checked = 0;
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let own = rank(&module).unwrap_or_else(|| panic!("module `{module}` has no rank in tests/layering.rs"));
        let text = std::fs::read_to_string(&file).expect("readable");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for used in uses(code) {
            if used == module {
                continue;
            }
            let r = rank(&used).unwrap_or_else(|| panic!("{} uses `crate::{used}`, which has no rank", rel.display()));
            if r >= own {
                violations.entry(rel.display().to_string()).or_insert_with(Vec::new).push(used);
            }
        }
        checked += 1;
    }
    assert!(checked > 50, "only {checked} files checked");
    assert!(violations.is_empty(), "imports that run up the layering (file: modules):\n{violations:#?}");
}

#[test]
fn the_parser_of_uses_finds_groups_and_paths() {
    assert_eq!(uses("use crate::diag::{Code, Diagnostic};\nuse crate::{ir, ops::Op};"), ["diag", "ir", "ops"]);
    assert_eq!(uses("let x = crate::check::layer_table(g);"), ["check"]);
}
