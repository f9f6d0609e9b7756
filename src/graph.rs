//! `netc graph`: a checked network as a diagram, in Graphviz DOT or Mermaid.
//!
//! One node per layer, or, at a chosen depth, one per block instance nested that deep; the
//! block instances above that depth are drawn as clusters around their layers, and residual
//! shortcuts as dashed clusters. Edges carry the shape of the tensor they hold; the skip path
//! of a residual (its shortcut, or the identity) is dashed and red, and the add that closes it
//! is an orange ellipse, as are the other layers that merge tensors (`add`, `mul`, `concat`).
//! SVG is Graphviz's rendering of the DOT text ([`svg`]).

use crate::ir::{Graph, Op, ScopeId, SkipKind};
use crate::source::SourceMap;
use crate::tensor::fmt_shape;
use petgraph::stable_graph::NodeIndex;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};

/// The colour of skip paths.
const SKIP_COLOR: &str = "#d62728";
/// The fill of layers that merge tensors.
const MERGE_FILL: &str = "#ffe3c2";
/// The fill of inputs and outputs.
const IO_FILL: &str = "#dbe9f6";

/// The longest call a box shows as written, in characters.
const MAX_CALL: usize = 48;

/// What a box of the diagram stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Input,
    Layer,
    /// A layer that merges tensors: `add` (a residual's or written), `mul`, `concat`.
    Merge,
    /// A block instance drawn as one box.
    Block,
    Output,
}

#[derive(Clone, Debug)]
struct Vertex {
    id: String,
    /// Lines of the label.
    label: Vec<String>,
    kind: Kind,
    /// The innermost cluster the box is drawn in.
    cluster: Option<ScopeId>,
}

#[derive(Clone, Debug)]
struct Edge {
    from: usize,
    to: usize,
    /// The shape of the tensor, `64x56x56`.
    label: String,
    /// On a residual's skip path.
    skip: bool,
}

#[derive(Clone, Debug)]
struct Cluster {
    label: String,
    parent: Option<ScopeId>,
    /// A residual's shortcut (drawn dashed) rather than a block instance.
    shortcut: bool,
}

/// The boxes and the clusters directly inside each cluster (`None`: the top level).
type Members = HashMap<Option<ScopeId>, (Vec<usize>, Vec<usize>)>;

/// A network laid out as boxes, clusters and edges, ready to be written as DOT or Mermaid.
#[derive(Clone, Debug)]
pub struct Diagram {
    boxes: Vec<Vertex>,
    edges: Vec<Edge>,
    /// The drawn clusters, in order of first appearance.
    clusters: Vec<(ScopeId, Cluster)>,
}

/// What one layer becomes: itself, or the block instance it is folded into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stand {
    Layer(NodeIndex),
    Instance(ScopeId),
}

/// The call of a layer or block named `name` as written, on one line and without its label:
/// `basic(64)` for `basic(64) as stage1`.
fn written(sources: &SourceMap, span: crate::source::Span, name: &str) -> String {
    let text = sources.text(span).split_whitespace().collect::<Vec<_>>().join(" ");
    match text.strip_suffix(&format!(" as {name}")) {
        Some(call) => call.to_string(),
        None => text,
    }
}

/// Whether `name` is the generated name of an `op` layer (`conv3` for `conv`): the box then
/// shows the name alone.
fn generated(name: &str, op: &str) -> bool {
    name.strip_prefix(op).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Lays out a checked graph (whose sources are `sources`); with `depth`, each block instance
/// nested that deep (1: called at the top level) is one box.
pub fn diagram(graph: &Graph, sources: &SourceMap, depth: Option<usize>) -> Diagram {
    let stand = |n: NodeIndex| match depth.and_then(|d| graph.instance_at_depth(n, d)) {
        Some(s) => Stand::Instance(s),
        None => Stand::Layer(n),
    };
    let call_text = |s: ScopeId| {
        let scope = &graph.scopes[s as usize];
        scope.call.as_ref().map(|(block, span)| {
            let text = written(sources, *span, &scope.name);
            if text.is_empty() { block.clone() } else { text }
        })
    };
    let mut d = Diagram { boxes: Vec::new(), edges: Vec::new(), clusters: Vec::new() };
    let mut index: HashMap<Stand, usize> = HashMap::new();
    let mut drawn_clusters: HashSet<ScopeId> = HashSet::new();
    let order = graph.topo_order();
    for &n in &order {
        let st = stand(n);
        if index.contains_key(&st) {
            continue;
        }
        let node = &graph.g[n];
        let (label, kind, cluster) = match st {
            Stand::Instance(s) => {
                let scope = &graph.scopes[s as usize];
                let call = call_text(s).unwrap_or_default();
                (vec![scope.name.clone(), call], Kind::Block, scope.parent)
            }
            Stand::Layer(_) => {
                let kind = match &node.op {
                    Op::Input(_) => Kind::Input,
                    Op::Add(_) | Op::Mul(_) | Op::Concat(_) => Kind::Merge,
                    _ => Kind::Layer,
                };
                // A layer shows the call as written (`conv(c, 3)`) when it fits on a line.
                let call = written(sources, node.span, &node.name);
                let op = match kind {
                    Kind::Layer if !call.is_empty() && call.chars().count() <= MAX_CALL => call,
                    _ => node.op.name(),
                };
                let label =
                    if generated(&node.name, &op) { vec![node.name.clone()] } else { vec![node.name.clone(), op] };
                (label, kind, node.scope)
            }
        };
        // Every enclosing scope of a drawn box is a drawn cluster.
        if let Some(c) = cluster {
            for s in graph.scope_chain(c) {
                if drawn_clusters.insert(s) {
                    let scope = &graph.scopes[s as usize];
                    let label = match call_text(s) {
                        Some(call) => format!("{}: {call}", scope.name),
                        None => scope.name.clone(),
                    };
                    let shortcut = scope.call.is_none();
                    d.clusters.push((s, Cluster { label, parent: scope.parent, shortcut }));
                }
            }
        }
        index.insert(st, d.boxes.len());
        d.boxes.push(Vertex { id: format!("n{}", d.boxes.len()), label, kind, cluster });
    }
    // Whether a layer lies on a shortcut path: in a scope that is not a block instance.
    let in_shortcut = |n: NodeIndex| {
        graph.g[n].scope.is_some_and(|s| graph.scope_chain(s).iter().any(|&s| graph.scopes[s as usize].call.is_none()))
    };
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    for &n in &order {
        let to = index[&stand(n)];
        let residual = matches!(graph.g[n].skip, Some(SkipKind::Residual { .. }));
        for (i, src) in graph.inputs_of(n).into_iter().enumerate() {
            let from = index[&stand(src)];
            if from == to {
                continue;
            }
            let skip = (residual && i == 0) || in_shortcut(n);
            match seen.get(&(from, to)) {
                // Two tensors between the same boxes (a block's body and its shortcut): one
                // edge, plain unless both are skips.
                Some(&e) => d.edges[e].skip &= skip,
                None => {
                    seen.insert((from, to), d.edges.len());
                    d.edges.push(Edge { from, to, label: fmt_shape(&graph.g[src].shape), skip });
                }
            }
        }
    }
    for (k, o) in graph.outputs.iter().enumerate() {
        let from = index[&stand(o.node)];
        let label =
            if graph.outputs.len() == 1 { vec!["output".into()] } else { vec!["output".into(), o.name.clone()] };
        let to = d.boxes.len();
        d.boxes.push(Vertex { id: format!("out{k}"), label, kind: Kind::Output, cluster: None });
        d.edges.push(Edge { from, to, label: fmt_shape(&graph.g[o.node].shape), skip: false });
    }
    d
}

/// A DOT string literal's contents.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Mermaid label's contents (inside double quotes).
fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

impl Diagram {
    /// The boxes and clusters directly inside each cluster (`None`: the top level), in order.
    fn members(&self) -> Members {
        let mut m = Members::new();
        for (b, v) in self.boxes.iter().enumerate() {
            m.entry(v.cluster).or_default().0.push(b);
        }
        for (c, (_, cl)) in self.clusters.iter().enumerate() {
            m.entry(cl.parent).or_default().1.push(c);
        }
        m
    }

    /// Graphviz DOT: clusters are `subgraph cluster_<scope>`.
    pub fn dot(&self) -> String {
        let mut out = String::from("digraph netc {\n");
        out.push_str("  rankdir=TB;\n");
        out.push_str(
            "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n",
        );
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        out.push_str("  graph [fontname=\"Helvetica\", fontsize=10];\n");
        self.dot_members(&self.members(), None, 1, &mut out);
        for e in &self.edges {
            let (from, to) = (&self.boxes[e.from].id, &self.boxes[e.to].id);
            let style = if e.skip {
                format!(", style=dashed, color=\"{SKIP_COLOR}\", fontcolor=\"{SKIP_COLOR}\"")
            } else {
                String::new()
            };
            out.push_str(&format!("  {from} -> {to} [label=\"{}\"{style}];\n", dot_escape(&e.label)));
        }
        out.push_str("}\n");
        out
    }

    fn dot_members(&self, members: &Members, cluster: Option<ScopeId>, level: usize, out: &mut String) {
        let pad = "  ".repeat(level);
        let Some((boxes, clusters)) = members.get(&cluster) else { return };
        for &b in boxes {
            let b = &self.boxes[b];
            let label = b.label.iter().map(|l| dot_escape(l)).collect::<Vec<_>>().join("\\n");
            let attrs = match b.kind {
                Kind::Layer => String::new(),
                Kind::Input | Kind::Output => format!(", fillcolor=\"{IO_FILL}\""),
                Kind::Merge => format!(", shape=ellipse, fillcolor=\"{MERGE_FILL}\""),
                Kind::Block => ", penwidth=2".to_string(),
            };
            out.push_str(&format!("{pad}{} [label=\"{label}\"{attrs}];\n", b.id));
        }
        for &c in clusters {
            let (scope, cl) = &self.clusters[c];
            out.push_str(&format!("{pad}subgraph cluster_{scope} {{\n"));
            out.push_str(&format!("{pad}  label=\"{}\";\n", dot_escape(&cl.label)));
            if cl.shortcut {
                out.push_str(&format!("{pad}  style=\"dashed,rounded\";\n{pad}  color=\"{SKIP_COLOR}\";\n"));
            } else {
                out.push_str(&format!("{pad}  style=rounded;\n{pad}  color=gray50;\n"));
            }
            self.dot_members(members, Some(*scope), level + 1, out);
            out.push_str(&format!("{pad}}}\n"));
        }
    }

    /// A Mermaid flowchart: clusters are `subgraph`s, skip edges dotted and red.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart TB\n");
        self.mermaid_members(&self.members(), None, 1, &mut out);
        let mut skips = Vec::new();
        for (k, e) in self.edges.iter().enumerate() {
            let (from, to) = (&self.boxes[e.from].id, &self.boxes[e.to].id);
            let arrow = if e.skip { "-.->" } else { "-->" };
            out.push_str(&format!("  {from} {arrow}|\"{}\"| {to}\n", mermaid_escape(&e.label)));
            if e.skip {
                skips.push(k.to_string());
            }
        }
        out.push_str(&format!("  classDef merge fill:{MERGE_FILL}\n  classDef io fill:{IO_FILL}\n"));
        let of = |kinds: &[Kind]| {
            self.boxes.iter().filter(|b| kinds.contains(&b.kind)).map(|b| b.id.as_str()).collect::<Vec<_>>().join(",")
        };
        for (class, kinds) in [("merge", &[Kind::Merge][..]), ("io", &[Kind::Input, Kind::Output][..])] {
            let ids = of(kinds);
            if !ids.is_empty() {
                out.push_str(&format!("  class {ids} {class}\n"));
            }
        }
        if !skips.is_empty() {
            out.push_str(&format!("  linkStyle {} stroke:{SKIP_COLOR},color:{SKIP_COLOR}\n", skips.join(",")));
        }
        out
    }

    fn mermaid_members(&self, members: &Members, cluster: Option<ScopeId>, level: usize, out: &mut String) {
        let pad = "  ".repeat(level);
        let Some((boxes, clusters)) = members.get(&cluster) else { return };
        for &b in boxes {
            let b = &self.boxes[b];
            let label = b.label.iter().map(|l| mermaid_escape(l)).collect::<Vec<_>>().join("<br/>");
            let (open, close) = match b.kind {
                Kind::Merge => ("([", "])"),
                Kind::Block => ("[[", "]]"),
                _ => ("[", "]"),
            };
            out.push_str(&format!("{pad}{}{open}\"{label}\"{close}\n", b.id));
        }
        for &c in clusters {
            let (scope, cl) = &self.clusters[c];
            out.push_str(&format!("{pad}subgraph s{scope}[\"{}\"]\n", mermaid_escape(&cl.label)));
            self.mermaid_members(members, Some(*scope), level + 1, out);
            out.push_str(&format!("{pad}end\n"));
            if cl.shortcut {
                out.push_str(&format!("{pad}style s{scope} stroke:{SKIP_COLOR},stroke-dasharray:4\n"));
            }
        }
    }
}

/// Why Graphviz could not make an SVG.
#[derive(Debug)]
pub enum SvgError {
    /// The program could not be started (`std::io::ErrorKind::NotFound`: not installed).
    Start(String, std::io::Error),
    /// It ran and failed.
    Failed(String, String),
}

impl std::fmt::Display for SvgError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            SvgError::Start(program, e) if e.kind() == std::io::ErrorKind::NotFound => write!(
                f,
                "cannot make an SVG: Graphviz's `{program}` program is not installed; install the `graphviz` \
                 package (`apt-get install graphviz` on Debian and Ubuntu), or write DOT with `--format dot` \
                 and render it with any Graphviz viewer"
            ),
            SvgError::Start(program, e) => write!(
                f,
                "cannot make an SVG: Graphviz's `{program}` could not be started ({e}); write DOT with \
                 `--format dot` instead"
            ),
            SvgError::Failed(program, stderr) => {
                write!(f, "cannot make an SVG: Graphviz's `{program}` failed: {}", stderr.trim())
            }
        }
    }
}

/// The SVG Graphviz's `program` (normally `dot`) draws of `dot` text, run as a subprocess.
pub fn svg(dot: &str, program: &str) -> Result<Vec<u8>, SvgError> {
    let mut child = Command::new(program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SvgError::Start(program.to_string(), e))?;
    // Graphviz reads all of its input before writing; a failed write shows as its exit status.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(dot.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| SvgError::Start(program.to_string(), e))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(SvgError::Failed(program.to_string(), String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}
