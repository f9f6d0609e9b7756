//! Hover: a layer call's shapes, parameters and FLOPs; a block call's instance totals with the
//! block's signature and the comment above it; a tensor's shape; a block parameter.

use super::analysis::{Analysis, Target};
use super::files::Files;
use crate::check::{human_flops, layer_cost, thousands};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::BlockDef;
use crate::tensor::fmt_shape;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};
use petgraph::stable_graph::NodeIndex;

/// Instances listed at most in a hover.
const MAX_INSTANCES: usize = 4;

pub fn hover(files: &Files, pos: Position) -> Option<Hover> {
    let doc = files.doc;
    let a = &doc.analysis;
    let offset = doc.lines.offset(&doc.text, pos);
    let occ = a.occurrence_at(offset)?;
    let value = match (&occ.target, occ.call) {
        (Target::Builtin(name), Some(call)) => layer_call(a, name, call),
        (Target::Block(def), Some(call)) => {
            let b = a.block_def(*def)?;
            format!("{}\n\n---\n\n{}", block_call(a, call).trim_end(), block_doc(&a.compilation.sources, b))
        }
        (Target::Block(def), None) => block_doc(&a.compilation.sources, a.block_def(*def)?),
        (Target::Name(def), _) => name(a, *def)?,
        (Target::File(path), _) => format!("import of `{}`", path.display()),
        (Target::Builtin(_), None) => return None,
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(doc.lines.range(&doc.text, occ.span.start, occ.span.end)),
    })
}

/// `conv` at `call`: each instance's path, input and output shapes, parameters and FLOPs.
fn layer_call(a: &Analysis, name: &str, call: Span) -> String {
    let g = a.graph();
    let instances: Vec<NodeIndex> = a.instances(call).into_iter().flatten().collect();
    let sig = crate::ops::builtin(name).map(|b| b.sig);
    let mut out = format!("```netc\n{}\n```\n", sig.map_or(name.to_string(), |s| s.render()));
    if let Some(s) = sig {
        out.push_str(&format!("{}\n", s.summary));
    }
    if instances.is_empty() {
        out.push_str("\nnot checked (an earlier error)\n");
    }
    for &n in instances.iter().take(MAX_INSTANCES) {
        let node = &g.g[n];
        let inputs = g.input_shapes(n);
        let ins: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
        let cost = layer_cost(g, n);
        out.push_str(&format!(
            "\n`{}` ({}): {} → {}, {} params, {}\n",
            g.path(n),
            node.op.name(),
            if ins.is_empty() { "-".to_string() } else { ins.join(" + ") },
            fmt_shape(&node.shape),
            thousands(cost.params),
            human_flops(cost.flops)
        ));
    }
    more(&mut out, instances.len());
    out
}

/// A block call's instances: each one's input and output shapes, layers, parameters and FLOPs.
fn block_call(a: &Analysis, call: Span) -> String {
    let g = a.graph();
    let instances = a.instances(call);
    let mut out = String::new();
    if instances.is_empty() {
        out.push_str("not checked (an earlier error)\n");
    }
    for nodes in instances.iter().take(MAX_INSTANCES) {
        let (Some(&first), Some(&last)) = (nodes.first(), nodes.last()) else { continue };
        let (mut params, mut flops) = (0u64, 0u64);
        for &n in nodes {
            let c = layer_cost(g, n);
            params = params.saturating_add(c.params);
            flops = flops.saturating_add(c.flops);
        }
        let instance = g.path(last);
        let instance = instance.rsplit_once('.').map_or(instance.as_str(), |(scope, _)| scope);
        let inputs: Vec<String> = g.input_shapes(first).iter().map(|s| fmt_shape(s)).collect();
        out.push_str(&format!(
            "instance `{instance}`: {} → {}, {} layers, {} params, {}\n\n",
            inputs.join(" + "),
            fmt_shape(&g.g[last].shape),
            nodes.len(),
            thousands(params),
            human_flops(flops)
        ));
    }
    more(&mut out, instances.len());
    out
}

fn more(out: &mut String, n: usize) {
    if n > MAX_INSTANCES {
        out.push_str(&format!("\n… and {} more instances\n", n - MAX_INSTANCES));
    }
}

/// A block's signature as written, and the comment lines right above its definition.
pub fn block_doc(sources: &SourceMap, b: &BlockDef) -> String {
    let mut out = format!("```netc\n{}\n```\n", block_signature(sources, b));
    let comment = comment_above(sources.source(b.span.file), b.span.start);
    if !comment.is_empty() {
        out.push('\n');
        out.push_str(&comment);
        out.push('\n');
    }
    out
}

/// `block vgg(c: int, convs: int = 2)`: the definition up to its body.
pub fn block_signature(sources: &SourceMap, b: &BlockDef) -> String {
    let src = sources.source(b.span.file);
    let head = &src[b.span.start..b.span.end.min(src.len())];
    let head = head.find('{').map_or(head, |i| &head[..i]);
    head.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The comment lines (`#` or `//`) right above the line `offset` is on, without their markers.
fn comment_above(src: &str, offset: usize) -> String {
    let line_start = src[..offset.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&str> = Vec::new();
    for line in src[..line_start].lines().rev() {
        let t = line.trim();
        let Some(text) = t.strip_prefix('#').or_else(|| t.strip_prefix("//")) else { break };
        lines.push(text.strip_prefix(' ').unwrap_or(text));
    }
    lines.reverse();
    lines.join("\n")
}

/// A tensor's shape(s), or a block parameter.
fn name(a: &Analysis, def: Span) -> Option<String> {
    let text = a.compilation.sources.text(def).to_string();
    match a.tensor_stage.get(&def) {
        Some(&stage) => {
            let shapes: Vec<String> = a.stage_shapes(stage).iter().map(|s| format!("`{}`", fmt_shape(s))).collect();
            let shape =
                if shapes.is_empty() { "not checked (an earlier error)".to_string() } else { shapes.join(" or ") };
            Some(format!("tensor `{text}`: {shape}"))
        }
        None => Some(format!("block parameter `{text}`")),
    }
}
