//! The canonical layout of a parsed file as a [`Doc`], with its comments put back.
//!
//! The AST is walked in source order while a cursor walks the comments: at each place a comment
//! may sit (before or after an item, a statement, a stage, an argument; after an opening bracket;
//! before a closing one; at the end of the file) the comments written there are taken. A comment
//! written on the line of the code before it stays at the end of that line; one on its own line
//! stays on its own line, before what followed it. A comment in a place the layout has no slot for
//! (inside an expression, between a keyword and a name) moves to the next slot, on its own line.
//! The book's formatting chapter states the rules of the layout.

use super::doc::{Doc, GroupId, fits_flat};
use crate::source::Span;
use crate::syntax::ast::*;

/// Columns of one indentation level.
const INDENT: usize = 4;

/// The layout of `file` (parsed from `src`) for lines of `width` columns.
pub fn layout(src: &str, file: &File, width: usize) -> Doc {
    let mut l = Layout { src, comments: &file.comments, width, next: 0, groups: 0 };
    let items: Vec<Statement> = file.items.iter().map(Statement::Item).collect();
    let mut docs = l.statements(&items, src.len());
    if !docs.is_empty() {
        docs.push(Doc::HardLine);
    }
    Doc::Concat(docs)
}

struct Layout<'a> {
    src: &'a str,
    comments: &'a [Comment],
    width: usize,
    /// The first comment not placed yet.
    next: usize,
    /// Groups numbered so far.
    groups: GroupId,
}

/// What stands on lines of its own, with blank lines kept between: an item, or a statement of a
/// block body.
#[derive(Clone, Copy)]
enum Statement<'a> {
    Item(&'a Item),
    Let(&'a Let),
    Chain(&'a Chain),
}

impl Statement<'_> {
    fn span(self) -> Span {
        match self {
            Statement::Item(Item::Import { span, .. } | Item::Output { span, .. }) => *span,
            Statement::Item(Item::Input(i)) => i.span,
            Statement::Item(Item::Block(b)) => b.span,
            Statement::Item(Item::Let(l)) | Statement::Let(l) => l.span,
            Statement::Chain(c) => c.span,
        }
    }

    /// Where the statement's own content starts: comments before this point (including those
    /// between `let x =` or `output` and the chain) are printed above the statement.
    fn head(self) -> usize {
        match self {
            Statement::Item(Item::Let(l)) | Statement::Let(l) => l.chain.span.start,
            Statement::Item(Item::Output { chains, span }) => chains.first().map_or(span.start, |c| c.span.start),
            _ => self.span().start,
        }
    }

    fn is_block(self) -> bool {
        matches!(self, Statement::Item(Item::Block(_)))
    }
}

/// The text of a trailing comment, two spaces after the code.
fn trailing_doc(comment: Option<&Comment>) -> Doc {
    comment.map_or(Doc::Concat(Vec::new()), |c| Doc::LineSuffix(format!("  {}", c.text)))
}

/// Binding strength of an expression: operands that bind less tightly than their operator need
/// parentheses.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(BinOp::Add | BinOp::Sub, ..) => 1,
        ExprKind::Binary(BinOp::Mul | BinOp::Div, ..) => 2,
        _ => 3,
    }
}

fn is_number(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Int(_) | ExprKind::Float(_))
}

impl<'a> Layout<'a> {
    /// Takes the comments that start before `pos`.
    fn leading(&mut self, pos: usize) -> &'a [Comment] {
        let rest = &self.comments[self.next..];
        let n = rest.partition_point(|c| c.span.start < pos);
        self.next += n;
        &rest[..n]
    }

    /// Takes the comment written after `after` on the same line, before `before`.
    fn trailing(&mut self, after: usize, before: usize) -> Option<&'a Comment> {
        let c = self.comments.get(self.next)?;
        let same_line = c.span.start >= after && c.span.start < before && !self.src[after..c.span.start].contains('\n');
        same_line.then(|| {
            self.next += 1;
            c
        })
    }

    /// True when the source has an empty line just before `pos`.
    fn blank_before(&self, pos: usize) -> bool {
        let before = &self.src[..pos];
        let gap = &before[before.trim_end().len()..];
        gap.matches('\n').count() > 1
    }

    /// The offset of the first `ch` at or after `from` that is not in a comment (the bracket that
    /// closes or opens a construct; the source is known to parse).
    fn find(&self, from: usize, ch: u8) -> usize {
        let bytes = self.src.as_bytes();
        let mut comments = self.comments[self.comments.partition_point(|c| c.span.start < from)..].iter().peekable();
        let mut i = from;
        while i < bytes.len() {
            if let Some(c) = comments.next_if(|c| c.span.start == i) {
                i = c.span.end;
                continue;
            }
            if bytes[i] == ch {
                return i;
            }
            i += 1;
        }
        bytes.len()
    }

    fn new_group(&mut self) -> GroupId {
        self.groups += 1;
        self.groups
    }

    /// Statements (and the comments around them) one per line, with at most one blank line where
    /// the source has blank lines and always one between two block definitions unless both fit on
    /// one line; `end` is where the enclosing construct ends (comments before it that remain are
    /// printed last).
    fn statements(&mut self, statements: &[Statement], end: usize) -> Vec<Doc> {
        let mut docs = Vec::new();
        let separate = |docs: &mut Vec<Doc>, blank: bool| {
            if !docs.is_empty() {
                docs.push(Doc::HardLine);
                if blank {
                    docs.push(Doc::HardLine);
                }
            }
        };
        // Whether the statement before is a block definition on one line (`Some(true)`) or on
        // several (`Some(false)`).
        let mut previous_block = None;
        for (i, s) in statements.iter().enumerate() {
            let comments = self.leading(s.head());
            let doc = self.statement(*s);
            let block = s.is_block().then(|| fits_flat(&doc, self.width));
            let mut between_blocks = matches!((previous_block, block), (Some(a), Some(b)) if !(a && b));
            for c in comments {
                separate(&mut docs, between_blocks || self.blank_before(c.span.start));
                docs.push(Doc::text(&c.text));
                between_blocks = false;
            }
            let span = s.span();
            separate(&mut docs, between_blocks || self.blank_before(span.start));
            docs.push(doc);
            let next = statements.get(i + 1).map_or(end, |n| n.span().start);
            docs.push(trailing_doc(self.trailing(span.end, next)));
            previous_block = block;
        }
        for c in self.leading(end) {
            separate(&mut docs, self.blank_before(c.span.start));
            docs.push(Doc::text(&c.text));
        }
        docs
    }

    fn statement(&mut self, s: Statement) -> Doc {
        match s {
            Statement::Item(Item::Import { path, .. }) => Doc::text(format!("import \"{path}\"")),
            Statement::Item(Item::Input(input)) => self.input(input),
            Statement::Item(Item::Block(b)) => self.block(b),
            Statement::Item(Item::Let(l)) | Statement::Let(l) => {
                let head = format!("let {} = ", l.name.name);
                let offset = head.len();
                Doc::Concat(vec![Doc::text(head), self.chain(&l.chain, Some(offset))])
            }
            Statement::Item(Item::Output { chains, .. }) => self.output(chains),
            Statement::Chain(c) => self.chain(c, None),
        }
    }

    fn input(&mut self, input: &InputDecl) -> Doc {
        let shape = &self.src[input.shape_span.range()];
        let shape = if shape.starts_with('[') {
            let dims: Vec<&str> = input.dims.iter().map(|(_, span)| &self.src[span.range()]).collect();
            format!("[{}]", dims.join(", "))
        } else {
            shape.to_string()
        };
        let mut docs = vec![Doc::text(format!("input {}: {shape}", input.name.name))];
        if let Some((args, span)) = &input.normalize {
            let open = self.find(span.start, b'(');
            docs.push(Doc::text(" normalize"));
            docs.push(self.bracketed(["(", ")"], open, span.end - 1, args, |a| a.span, Self::arg));
        }
        Doc::Concat(docs)
    }

    fn block(&mut self, b: &BlockDef) -> Doc {
        let open = self.find(b.name.span.end, b'(');
        let close = self.find(b.params.last().map_or(open + 1, |p| p.span.end), b')');
        let params = self.bracketed(["(", ")"], open, close, &b.params, |p| p.span, Self::param);
        let open = self.find(close, b'{');
        let mut statements: Vec<Statement> = b.lets.iter().map(Statement::Let).collect();
        statements.push(Statement::Chain(&b.body));
        let (_, body) = self.body(open, &statements, b.span.end - 1);
        Doc::Concat(vec![Doc::text(format!("block {}", b.name.name)), params, Doc::text(" "), body])
    }

    fn param(&mut self, p: &Param) -> Doc {
        let mut docs = vec![Doc::text(&p.name.name)];
        if let Some(ty) = &p.ty {
            docs.push(Doc::text(format!(": {}", ty.name)));
        }
        if let Some(default) = &p.default {
            docs.push(Doc::text(" = "));
            docs.push(self.expr(default));
        }
        Doc::Concat(docs)
    }

    /// `{ statements }` from the `{` at `open` to the `}` at `close`: on one line when it holds a
    /// single chain that fits and the source has no line break after the `{`, else one
    /// statement per line.
    fn body(&mut self, open: usize, statements: &[Statement], close: usize) -> (GroupId, Doc) {
        let first = statements.first().map_or(close, |s| s.span().start);
        let expand = statements.len() > 1 || self.src[open..first].contains('\n');
        let after_open = trailing_doc(self.trailing(open + 1, first));
        let inner = self.statements(statements, close);
        let id = self.new_group();
        let doc = Doc::Concat(vec![
            Doc::text("{"),
            after_open,
            Doc::nest(INDENT, Doc::Concat(vec![Doc::Line, Doc::Concat(inner)])),
            Doc::Line,
            Doc::text("}"),
        ]);
        (id, Doc::group(Some(id), expand, doc))
    }

    fn output(&mut self, chains: &[Chain]) -> Doc {
        let mut docs = vec![Doc::text("output ")];
        let mut rest = Vec::new();
        for (i, chain) in chains.iter().enumerate() {
            if i == 0 {
                docs.push(self.chain(chain, Some("output ".len())));
                continue;
            }
            let previous = &chains[i - 1];
            rest.push(Doc::text(","));
            rest.push(trailing_doc(self.trailing(previous.span.end, chain.span.start)));
            rest.push(Doc::Line);
            for c in self.leading(chain.span.start) {
                rest.push(Doc::text(&c.text));
                rest.push(Doc::HardLine);
            }
            rest.push(self.chain(chain, None));
        }
        docs.push(Doc::nest(INDENT, Doc::Concat(rest)));
        Doc::group(None, false, Doc::Concat(docs))
    }

    /// A chain. A line break the source has between two stages is kept (before the `->`); the
    /// stages between kept breaks stay on one line when they fit, else go one per line.
    /// Continuation lines are one level deeper than the line the chain starts on. `head` is the
    /// column of the first stage from the line's indentation (`None`: it starts the line).
    fn chain(&mut self, chain: &Chain, head: Option<usize>) -> Doc {
        // Each run of stages the source has on one line: its leading comments and its stages.
        let mut runs: Vec<(&[Comment], Vec<Doc>, Doc)> = Vec::new();
        for (i, stage) in chain.stages.iter().enumerate() {
            let span = stage.span();
            if i == 0 {
                let doc = self.stage(stage, head);
                runs.push((&[], vec![doc], Doc::Concat(Vec::new())));
            } else {
                let previous_end = chain.stages[i - 1].span().end;
                let comments = self.leading(span.start);
                let doc = self.stage(stage, Some("-> ".len()));
                match runs.last_mut() {
                    Some(run) if comments.is_empty() && !self.src[previous_end..span.start].contains('\n') => {
                        run.1.push(doc)
                    }
                    _ => runs.push((comments, vec![doc], Doc::Concat(Vec::new()))),
                }
            }
            if let (Some(next), Some(run)) = (chain.stages.get(i + 1), runs.last_mut()) {
                run.2 = trailing_doc(self.trailing(span.end, next.span().start));
            }
        }
        let mut first_line = Vec::new();
        let mut lines = Vec::new();
        for (k, (comments, stages, trailing)) in runs.into_iter().enumerate() {
            let mut run = Vec::new();
            for (i, stage) in stages.into_iter().enumerate() {
                if i > 0 {
                    run.push(Doc::Line);
                }
                if i > 0 || k > 0 {
                    run.push(Doc::text("-> "));
                }
                run.push(stage);
            }
            let (docs, run) = match k {
                // The first run's line breaks are the continuation lines.
                0 => (&mut first_line, Doc::Concat(vec![run.remove(0), Doc::nest(INDENT, Doc::Concat(run))])),
                _ => (&mut lines, Doc::Concat(run)),
            };
            if k > 0 {
                docs.push(Doc::HardLine);
            }
            for c in comments {
                docs.push(Doc::text(&c.text));
                docs.push(Doc::HardLine);
            }
            docs.push(Doc::group(None, false, run));
            docs.push(trailing);
        }
        Doc::Concat(vec![Doc::Concat(first_line), Doc::nest(INDENT, Doc::Concat(lines))])
    }

    /// One stage; `column` is where it starts from the line's indentation (`None`: it starts the line).
    fn stage(&mut self, stage: &Stage, column: Option<usize>) -> Doc {
        match stage {
            Stage::Call(c) => self.call(c),
            Stage::Repeat { count, body, .. } => {
                let count_doc = self.expr(count);
                let open = self.find(count.span.end, b'{');
                let close = self.find(body.span.end, b'}');
                let (_, body) = self.body(open, &[Statement::Chain(body)], close);
                Doc::Concat(vec![Doc::text("repeat "), count_doc, Doc::text(" "), body])
            }
            Stage::Residual { body, shortcut, span, .. } => {
                let open = self.find(span.start, b'{');
                let close = self.find(body.span.end, b'}');
                let (id, body) = self.body(open, &[Statement::Chain(body)], close);
                let mut docs = vec![Doc::text("residual "), body];
                if let Some(shortcut) = shortcut {
                    let open = self.find(close + 1, b'{');
                    // `shortcut` goes under `residual`, or one level deeper when `residual`
                    // starts its line; after the body's `}` when the body is broken.
                    // A comment after the body's `}` ends that line, whatever the body's layout.
                    let hang = column.unwrap_or(INDENT);
                    let after_body = self.trailing(close + 1, open);
                    let separator = if after_body.is_some() {
                        Doc::nest(hang, Doc::HardLine)
                    } else {
                        let line = if self.src[close..open].contains('\n') { Doc::HardLine } else { Doc::Line };
                        Doc::if_broken(Some(id), Doc::text(" "), Doc::nest(hang, line))
                    };
                    docs.push(trailing_doc(after_body));
                    docs.push(separator);
                    let close = self.find(shortcut.span.end, b'}');
                    let (_, shortcut) = self.body(open, &[Statement::Chain(shortcut)], close);
                    docs.push(Doc::text("shortcut "));
                    docs.push(shortcut);
                }
                Doc::group(None, false, Doc::Concat(docs))
            }
        }
    }

    fn call(&mut self, c: &Call) -> Doc {
        let mut docs = vec![Doc::text(&c.name.name)];
        if let Some(args) = &c.args {
            let open = self.find(c.name.span.end, b'(');
            let close = self.find(args.last().map_or(open + 1, |a| a.span.end), b')');
            docs.push(self.bracketed(["(", ")"], open, close, args, |a| a.span, Self::arg));
        }
        if let Some(label) = &c.label {
            docs.push(Doc::text(format!(" as {}", label.name)));
        }
        Doc::Concat(docs)
    }

    fn arg(&mut self, a: &Arg) -> Doc {
        let value = self.expr(&a.value);
        match &a.name {
            Some(name) => Doc::Concat(vec![Doc::text(format!("{} = ", name.name)), value]),
            None => value,
        }
    }

    /// `(a, b)` or `[a, b]` between the brackets at `open` and `close`: on one line when it fits
    /// and holds no comment, else one element per line with a trailing comma.
    fn bracketed<T>(
        &mut self,
        brackets: [&str; 2],
        open: usize,
        close: usize,
        elements: &[T],
        span: fn(&T) -> Span,
        element: fn(&mut Self, &T) -> Doc,
    ) -> Doc {
        let start = |i: usize| elements.get(i).map_or(close, |e| span(e).start);
        let after_open = trailing_doc(self.trailing(open + 1, start(0)));
        let mut inner = vec![Doc::SoftLine];
        for (i, e) in elements.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::Line);
            }
            for c in self.leading(span(e).start) {
                inner.push(Doc::text(&c.text));
                inner.push(Doc::HardLine);
            }
            inner.push(element(self, e));
            inner.push(if i + 1 < elements.len() {
                Doc::text(",")
            } else {
                Doc::if_broken(None, Doc::text(","), Doc::text(""))
            });
            inner.push(trailing_doc(self.trailing(span(e).end, start(i + 1))));
        }
        let dangling = self.leading(close);
        for (k, c) in dangling.iter().enumerate() {
            if k > 0 || !elements.is_empty() {
                inner.push(Doc::HardLine);
            }
            inner.push(Doc::text(&c.text));
        }
        Doc::group(
            None,
            !dangling.is_empty(),
            Doc::Concat(vec![
                Doc::text(brackets[0]),
                after_open,
                Doc::nest(INDENT, Doc::Concat(inner)),
                Doc::SoftLine,
                Doc::text(brackets[1]),
            ]),
        )
    }

    /// An expression with a space around each operator (but `1/255`: a fraction of two number
    /// literals is written as one constant) and parentheses only where they are needed.
    fn expr(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) => Doc::text(&self.src[e.span.range()]),
            ExprKind::Bool(b) => Doc::text(b.to_string()),
            ExprKind::Name(n) => Doc::text(n),
            ExprKind::List(items) => {
                self.bracketed(["[", "]"], e.span.start, e.span.end - 1, items, |e| e.span, Self::expr)
            }
            ExprKind::Call(name, args) => {
                let open = self.find(name.span.end, b'(');
                let close = self.find(args.last().map_or(open + 1, |a| a.span.end), b')');
                let args = self.bracketed(["(", ")"], open, close, args, |e| e.span, Self::expr);
                Doc::Concat(vec![Doc::text(&name.name), args])
            }
            // `- -x` rather than `--x` (and not `-(-x)`: parentheses the source does not have
            // could nest deeper than the parser allows).
            ExprKind::Neg(x) => {
                let sign = if matches!(x.kind, ExprKind::Neg(_)) { "- " } else { "-" };
                Doc::Concat(vec![Doc::text(sign), self.operand(x, precedence(x) < 3)])
            }
            ExprKind::Binary(op, l, r) => {
                let p = precedence(e);
                let symbol = if *op == BinOp::Div && is_number(l) && is_number(r) {
                    "/".to_string()
                } else {
                    format!(" {} ", op.symbol())
                };
                Doc::Concat(vec![
                    self.operand(l, precedence(l) < p),
                    Doc::text(symbol),
                    self.operand(r, precedence(r) <= p),
                ])
            }
        }
    }

    fn operand(&mut self, e: &Expr, parenthesize: bool) -> Doc {
        let doc = self.expr(e);
        if parenthesize { Doc::Concat(vec![Doc::text("("), doc, Doc::text(")")]) } else { doc }
    }
}
