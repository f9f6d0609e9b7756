//! Trailing comments of consecutive lines start in one column.

use crate::syntax::trivia;

/// `text` (formatted, so a trailing comment follows its code after two spaces) with the trailing
/// comments of each run of consecutive lines that have one moved to a common column: two spaces
/// after the longest code of the run.
pub fn align_trailing_comments(text: &str) -> String {
    let comments = trivia::comments(0, text);
    let mut comments = comments.iter().peekable();
    // Each line split into its code and its trailing comment, if it has one.
    let mut lines: Vec<(&str, Option<&str>)> = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let split = comments.next_if(|c| c.span.start < end).and_then(|c| {
            let code = text[start..c.span.start].trim_end();
            (!code.trim_start().is_empty()).then_some((code, c.text.as_str()))
        });
        lines.push(split.map_or((line.trim_end_matches('\n'), None), |(code, c)| (code, Some(c))));
        start = end;
    }
    let mut out = String::with_capacity(text.len());
    for run in lines.chunk_by(|a, b| a.1.is_some() && b.1.is_some()) {
        let column = run.iter().map(|(code, _)| code.chars().count()).max().unwrap_or(0) + 2;
        for (code, comment) in run {
            out.push_str(code);
            if let Some(comment) = comment {
                out.extend(std::iter::repeat_n(' ', column - code.chars().count()));
                out.push_str(comment);
            }
            out.push('\n');
        }
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_trailing_comments_share_a_column() {
        let text = "a  # one\nlonger code  # two\n# own line\nb\nc  // three\n";
        assert_eq!(
            align_trailing_comments(text),
            "a            # one\nlonger code  # two\n# own line\nb\nc  // three\n"
        );
        assert_eq!(align_trailing_comments("import \"#\"  # x"), "import \"#\"  # x");
    }
}
