//! A document of text and possible line breaks, and the printer that lays it out in a width: the
//! groups of Wadler's "prettier printer", printed the way prettier's printer does (a group is
//! flat when it fits on the rest of its line, otherwise its line breaks are taken).

use std::collections::HashMap;

/// Identifies a group, for an [`Doc::IfBroken`] that depends on it.
pub type GroupId = usize;

pub enum Doc {
    Text(String),
    /// A space, or a line break when its group is broken.
    Line,
    /// Nothing, or a line break when its group is broken.
    SoftLine,
    /// Always a line break; every group around it is broken.
    HardLine,
    /// Line breaks inside are indented by this many more columns.
    Nest(usize, Box<Doc>),
    /// Printed flat when it fits on the rest of the line and contains no hard line break (nor a
    /// trailing comment), otherwise broken. `broken` is decided when the group is built.
    Group {
        id: Option<GroupId>,
        broken: bool,
        doc: Box<Doc>,
    },
    /// `broken` when `group` (or, without one, the enclosing group) is broken, else `flat`.
    IfBroken {
        group: Option<GroupId>,
        broken: Box<Doc>,
        flat: Box<Doc>,
    },
    /// Printed at the end of the line, just before the next line break: a trailing comment. Like
    /// a hard line break, it breaks the groups around it.
    LineSuffix(String),
    Concat(Vec<Doc>),
}

impl Doc {
    pub fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    pub fn nest(indent: usize, doc: Doc) -> Doc {
        Doc::Nest(indent, Box::new(doc))
    }

    /// A group, broken when `expand` is set or when it holds a hard line break.
    pub fn group(id: Option<GroupId>, expand: bool, doc: Doc) -> Doc {
        let broken = expand || doc.forces_break();
        Doc::Group { id, broken, doc: Box::new(doc) }
    }

    pub fn if_broken(group: Option<GroupId>, broken: Doc, flat: Doc) -> Doc {
        Doc::IfBroken { group, broken: Box::new(broken), flat: Box::new(flat) }
    }

    /// True when the document holds a hard line break, a trailing comment or a broken group
    /// (looking into both sides of every [`Doc::IfBroken`]).
    fn forces_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::LineSuffix(_) => true,
            Doc::Text(_) | Doc::Line | Doc::SoftLine => false,
            Doc::Group { broken, .. } => *broken,
            Doc::Nest(_, d) => d.forces_break(),
            Doc::IfBroken { broken, flat, .. } => broken.forces_break() || flat.forces_break(),
            Doc::Concat(docs) => docs.iter().any(Doc::forces_break),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// A document still to print, with the indentation and mode it is printed in.
type Command<'a> = (usize, Mode, &'a Doc);

/// Lays `doc` out in `width` columns. Lines carry no trailing blanks.
pub fn print(doc: &Doc, width: usize) -> String {
    let mut out = String::new();
    let mut column = 0usize;
    let mut suffixes: Vec<&str> = Vec::new();
    let mut modes: HashMap<GroupId, Mode> = HashMap::new();
    let mut stack: Vec<Command> = vec![(0, Mode::Break, doc)];
    let end_line = |out: &mut String, suffixes: &mut Vec<&str>| {
        out.truncate(out.trim_end_matches(' ').len());
        out.extend(suffixes.drain(..));
    };
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                column += s.chars().count();
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(doc, Doc::Line) {
                    out.push(' ');
                    column += 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                end_line(&mut out, &mut suffixes);
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
            }
            Doc::Nest(more, d) => stack.push((indent + more, mode, d)),
            Doc::Group { id, broken, doc } => {
                let flat = !*broken
                    && (mode == Mode::Flat
                        || fits(width.saturating_sub(column), (indent, Mode::Flat, doc), &stack, &modes));
                let mode = if flat { Mode::Flat } else { Mode::Break };
                if let Some(id) = id {
                    modes.insert(*id, mode);
                }
                stack.push((indent, mode, doc));
            }
            Doc::IfBroken { group, broken, flat } => {
                let chosen = group.and_then(|g| modes.get(&g).copied()).unwrap_or(mode);
                stack.push((indent, mode, if chosen == Mode::Break { broken } else { flat }));
            }
            Doc::LineSuffix(s) => suffixes.push(s),
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (indent, mode, d))),
        }
    }
    end_line(&mut out, &mut suffixes);
    out
}

/// Whether `doc`, printed at the start of a line, stays on that line in `width` columns.
pub fn fits_flat(doc: &Doc, width: usize) -> bool {
    !doc.forces_break() && fits(width, (0, Mode::Flat, doc), &[], &HashMap::new())
}

/// Whether `next`, then what `rest` prints up to its next line break, fits in `width` columns.
fn fits(width: usize, next: Command, rest: &[Command], modes: &HashMap<GroupId, Mode>) -> bool {
    let mut width = width as isize;
    let mut todo = vec![next];
    let mut rest = rest.iter().rev();
    loop {
        let Some((indent, mode, doc)) = todo.pop().or_else(|| rest.next().copied()) else { return true };
        match doc {
            Doc::Text(s) => width -= s.chars().count() as isize,
            Doc::Line if mode == Mode::Flat => width -= 1,
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => return true,
            Doc::Nest(_, d) => todo.push((indent, mode, d)),
            Doc::Group { broken, doc, .. } => todo.push((indent, if *broken { Mode::Break } else { mode }, doc)),
            Doc::IfBroken { group, broken, flat } => {
                // A group not printed yet (the one being measured) counts as flat.
                let chosen = group.map_or(mode, |g| modes.get(&g).copied().unwrap_or(Mode::Flat));
                todo.push((indent, mode, if chosen == Mode::Break { broken } else { flat }));
            }
            Doc::LineSuffix(_) => {}
            Doc::Concat(docs) => todo.extend(docs.iter().rev().map(|d| (indent, mode, d))),
        }
        if width < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::text(","));
                inner.push(Doc::Line);
            }
            inner.push(Doc::text(*a));
        }
        inner.push(Doc::if_broken(None, Doc::text(","), Doc::text("")));
        Doc::group(
            None,
            false,
            Doc::Concat(vec![Doc::text("f("), Doc::nest(4, Doc::Concat(inner)), Doc::SoftLine, Doc::text(")")]),
        )
    }

    #[test]
    fn a_group_breaks_only_when_it_does_not_fit() {
        assert_eq!(print(&call(&["a", "b"]), 8), "f(a, b)");
        assert_eq!(print(&call(&["a", "b"]), 6), "f(\n    a,\n    b,\n)");
    }

    #[test]
    fn trailing_comments_end_their_line_and_break_their_group() {
        let doc = Doc::group(
            None,
            false,
            Doc::Concat(vec![
                Doc::text("a"),
                Doc::LineSuffix("  # c".into()),
                Doc::text(","),
                Doc::Line,
                Doc::text("b"),
            ]),
        );
        assert_eq!(print(&doc, 80), "a,  # c\nb");
    }

    #[test]
    fn if_broken_follows_the_group_it_names() {
        let inner = Doc::group(Some(7), false, Doc::Concat(vec![Doc::text("xxxx"), Doc::SoftLine, Doc::text("y")]));
        let doc = Doc::Concat(vec![inner, Doc::if_broken(Some(7), Doc::text("!"), Doc::text("?"))]);
        assert_eq!(print(&doc, 10), "xxxxy?");
        assert_eq!(print(&doc, 4), "xxxx\ny!");
    }
}
