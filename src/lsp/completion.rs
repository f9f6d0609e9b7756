//! Completion and signature help, from the text before the cursor (so they work while the line
//! being typed does not parse): built-in layers and blocks in scope as snippets with their
//! required parameters; inside a call's parentheses its named arguments; inside `add(...)` and
//! `concat(...)` the tensors in scope.

use super::files::Files;
use super::hover::block_signature;
use crate::ops::BUILTINS;
use crate::ops::sig::Default as ParamDefault;
use crate::syntax::ast::{BlockDef, Item};
use crate::tensor::fmt_shape;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, Documentation, InsertTextFormat, ParameterInformation,
    ParameterLabel, Position, SignatureHelp, SignatureInformation,
};

/// How far back the cursor's enclosing call is looked for.
const MAX_LOOKBACK: usize = 4096;

/// The call whose parentheses enclose `offset`: its callee and the arguments before the cursor.
struct OpenCall<'a> {
    callee: &'a str,
    /// The text from after `(` to the cursor.
    args: &'a str,
}

fn open_call(text: &str, offset: usize) -> Option<OpenCall<'_>> {
    let before = &text[..offset];
    let floor = before.len().saturating_sub(MAX_LOOKBACK);
    let mut depth = 0usize;
    for (i, c) in before.char_indices().rev() {
        if i < floor {
            return None;
        }
        match c {
            ')' | ']' => depth += 1,
            '[' => depth = depth.saturating_sub(1),
            '(' if depth == 0 => {
                let head = before[..i].trim_end();
                let callee = &head[word_start(head)..];
                return (!callee.is_empty()).then_some(OpenCall { callee, args: &before[i + 1..] });
            }
            '(' => depth -= 1,
            '{' | '}' => return None,
            _ => {}
        }
    }
    None
}

impl OpenCall<'_> {
    /// The arguments before the cursor, split at top-level commas (the last is being typed).
    fn arguments(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let (mut depth, mut start) = (0i32, 0);
        for (i, c) in self.args.char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(&self.args[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(&self.args[start..]);
        out
    }

    /// The name of the argument being typed, when it is written `name = ...`.
    fn named(&self) -> Option<&str> {
        let last = *self.arguments().last()?;
        let (name, _) = last.split_once('=')?;
        let name = name.trim();
        (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
    }
}

/// Where the name at the end of `text` starts (its length when it ends with no name).
fn word_start(text: &str) -> usize {
    let name = |c: char| c.is_alphanumeric() || c == '_';
    text.char_indices().rev().find(|&(_, c)| !name(c)).map_or(0, |(i, c)| i + c.len_utf8())
}

/// The word being typed before `offset`.
fn prefix(text: &str, offset: usize) -> &str {
    let before = &text[..offset];
    &before[word_start(before)..]
}

pub fn complete(files: &Files, pos: Position) -> Option<CompletionResponse> {
    let doc = files.doc;
    let offset = doc.lines.offset(&doc.text, pos);
    let word = prefix(&doc.text, offset);
    let mut items = match open_call(&doc.text, offset) {
        Some(call) if call.named().is_none() => match crate::ops::builtin(call.callee) {
            Some(b) if b.sig.variadic_tensors => tensors(files, offset),
            Some(b) => {
                let rendered = inside_parens(&b.sig.render());
                b.sig.params.iter().zip(rendered).map(|(p, text)| argument(p.name, text)).collect()
            }
            None => match files.doc.analysis.blocks().into_iter().find(|b| b.name.name == call.callee) {
                Some(b) => b.params.iter().map(|p| argument(&p.name.name, "block parameter".into())).collect(),
                None => Vec::new(),
            },
        },
        // A named argument's value: nothing to offer.
        Some(_) => Vec::new(),
        None => {
            let mut items = layers(files);
            if !doc.text[..offset - word.len()].trim_end().ends_with("->") {
                items.extend(tensors(files, offset));
            }
            items
        }
    };
    items.retain(|i| i.label.starts_with(word));
    Some(CompletionResponse::Array(items))
}

fn argument(name: &str, detail: String) -> CompletionItem {
    CompletionItem {
        label: name.to_string(),
        kind: Some(CompletionItemKind::FIELD),
        detail: Some(detail),
        insert_text: Some(format!("{name} = ")),
        ..CompletionItem::default()
    }
}

/// Built-in layers and the blocks in scope, as snippets with their required parameters.
fn layers(files: &Files) -> Vec<CompletionItem> {
    let snippet = |name: &str, required: Vec<&str>| {
        if required.is_empty() {
            return name.to_string();
        }
        let ps: Vec<String> = required.iter().enumerate().map(|(i, p)| format!("${{{}:{p}}}", i + 1)).collect();
        format!("{name}({})", ps.join(", "))
    };
    let mut items: Vec<CompletionItem> = BUILTINS
        .iter()
        .map(|b| {
            let required: Vec<&str> = if b.sig.variadic_tensors {
                vec!["a"]
            } else {
                b.sig.params.iter().filter(|p| matches!(p.default, ParamDefault::Required)).map(|p| p.name).collect()
            };
            CompletionItem {
                label: b.sig.name.to_string(),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(b.sig.render()),
                documentation: Some(Documentation::String(b.sig.summary.to_string())),
                insert_text: Some(snippet(b.sig.name, required)),
                insert_text_format: Some(InsertTextFormat::SNIPPET),
                ..CompletionItem::default()
            }
        })
        .collect();
    let a = &files.doc.analysis;
    for b in a.blocks() {
        let required: Vec<&str> =
            b.params.iter().filter(|p| p.default.is_none()).map(|p| p.name.name.as_str()).collect();
        items.push(CompletionItem {
            label: b.name.name.clone(),
            kind: Some(CompletionItemKind::MODULE),
            detail: Some(block_signature(&a.compilation.sources, b)),
            insert_text: Some(snippet(&b.name.name, required)),
            insert_text_format: Some(InsertTextFormat::SNIPPET),
            ..CompletionItem::default()
        });
    }
    items
}

/// The tensors a chain at `offset` can read: in a block, its `let`s and `in`; at the top level,
/// the inputs and the `let`s above.
fn tensors(files: &Files, offset: usize) -> Vec<CompletionItem> {
    let a = &files.doc.analysis;
    let Some(main) = a.main_file() else { return Vec::new() };
    let mut names: Vec<(String, Option<String>)> = Vec::new();
    let shape = |stage| a.stage_shapes(stage).first().map(|s| fmt_shape(s));
    let block: Option<&BlockDef> = main.items.iter().find_map(|i| match i {
        Item::Block(b) if b.span.start <= offset && offset <= b.span.end => Some(b),
        _ => None,
    });
    match block {
        Some(b) => {
            names.push(("in".to_string(), Some("the block's input".to_string())));
            for l in b.lets.iter().filter(|l| l.span.end <= offset) {
                names.push((l.name.name.clone(), l.chain.stages.last().and_then(|s| shape(s.span()))));
            }
        }
        None => {
            for item in &main.items {
                match item {
                    Item::Input(d) if d.span.end <= offset => names.push((d.name.name.clone(), shape(d.span))),
                    Item::Let(l) if l.span.end <= offset => {
                        names.push((l.name.name.clone(), l.chain.stages.last().and_then(|s| shape(s.span()))))
                    }
                    _ => {}
                }
            }
        }
    }
    names
        .into_iter()
        .map(|(label, detail)| CompletionItem {
            label,
            kind: Some(CompletionItemKind::VARIABLE),
            detail,
            ..CompletionItem::default()
        })
        .collect()
}

pub fn signature_help(files: &Files, pos: Position) -> Option<SignatureHelp> {
    let doc = files.doc;
    let offset = doc.lines.offset(&doc.text, pos);
    let call = open_call(&doc.text, offset)?;
    let (label, params): (String, Vec<String>) = match crate::ops::builtin(call.callee) {
        Some(b) => {
            let label = b.sig.render();
            let params = inside_parens(&label);
            (label, params)
        }
        None => {
            let a = &doc.analysis;
            let b = a.blocks().into_iter().find(|b| b.name.name == call.callee)?;
            let label = block_signature(&a.compilation.sources, b);
            let label = label.strip_prefix("block ").unwrap_or(&label).to_string();
            let params = inside_parens(&label);
            (label, params)
        }
    };
    let active = match call.named() {
        Some(name) => params.iter().position(|p| p.split([' ', ':', '=']).next() == Some(name)),
        None => Some(call.arguments().len() - 1),
    }
    .map(|i| i.min(params.len().saturating_sub(1)) as u32);
    let parameters = params
        .into_iter()
        .map(|p| ParameterInformation { label: ParameterLabel::Simple(p), documentation: None })
        .collect();
    Some(SignatureHelp {
        signatures: vec![SignatureInformation {
            label,
            documentation: None,
            parameters: Some(parameters),
            active_parameter: active,
        }],
        active_signature: Some(0),
        active_parameter: active,
    })
}

/// `a, b = 2` of `f(a, b = 2)`, split at top-level commas.
fn inside_parens(label: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (label.find('('), label.rfind(')')) else { return Vec::new() };
    let call = OpenCall { callee: "", args: &label[open + 1..close] };
    call.arguments().into_iter().map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_enclosing_call_and_the_argument_being_typed() {
        let text = "output x -> conv(64, f(1, 2), stri";
        let call = open_call(text, text.len()).unwrap();
        assert_eq!(call.callee, "conv");
        assert_eq!(call.arguments().len(), 3);
        assert_eq!(call.named(), None);
        let text = "let y = add(a, b) -> dense(10, bias = ";
        let call = open_call(text, text.len()).unwrap();
        assert_eq!((call.callee, call.named()), ("dense", Some("bias")));
        assert!(open_call("block b() { conv(1) -> ", 22).is_none());
    }

    /// Found by the `lsp` fuzz target: a word after a multi-byte character that is not part of
    /// a name (here U+FFFD, 3 bytes) was sliced inside that character.
    #[test]
    fn words_after_multibyte_characters() {
        assert_eq!(prefix("let \u{FFFD}", "let \u{FFFD}".len()), "");
        assert_eq!(prefix("let \u{FFFD}ab", "let \u{FFFD}ab".len()), "ab");
        assert_eq!(prefix("x -> 𝔸(conv", "x -> 𝔸(conv".len()), "conv");
        let text = "x -> \u{FFFD}conv(";
        assert_eq!(open_call(text, text.len()).map(|c| c.callee), Some("conv"));
    }
}
