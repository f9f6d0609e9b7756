//! Unified diffs of a file and its formatted text, for `netc fmt --check`.

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Above this many (changed lines before) x (changed lines after), the changed region is shown
/// as removed and added whole instead of through a longest common subsequence.
const MAX_TABLE: usize = 4_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep,
    Remove,
    Add,
}

/// The unified diff from `old` to `new` (empty when they are equal), both named `name`.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);
    // Each op with the line it shows and its line numbers (0-based) in `a` and `b` before it.
    let mut lines = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0, 0);
    for op in ops {
        let line = if op == Op::Add { b[j] } else { a[i] };
        lines.push((op, line, i, j));
        match op {
            Op::Keep => (i, j) = (i + 1, j + 1),
            Op::Remove => i += 1,
            Op::Add => j += 1,
        }
    }
    let changes: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != Op::Keep).collect();
    if changes.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {name}\n+++ {name}\n");
    let mut k = 0;
    while k < changes.len() {
        // A hunk takes the changes whose gaps are short enough to share context.
        let mut last = k;
        while last + 1 < changes.len() && changes[last + 1] - changes[last] <= 2 * CONTEXT + 1 {
            last += 1;
        }
        let start = changes[k].saturating_sub(CONTEXT);
        let end = (changes[last] + CONTEXT + 1).min(lines.len());
        let hunk = &lines[start..end];
        let count = |skip: Op| hunk.iter().filter(|l| l.0 != skip).count();
        let range = |first: usize, len: usize| match len {
            0 => format!("{first},0"),
            1 => format!("{}", first + 1),
            _ => format!("{},{len}", first + 1),
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(hunk[0].2, count(Op::Add)),
            range(hunk[0].3, count(Op::Remove))
        ));
        for (op, line, _, _) in hunk {
            out.push(match op {
                Op::Keep => ' ',
                Op::Remove => '-',
                Op::Add => '+',
            });
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k = last + 1;
    }
    out
}

/// The shortest edit script from `a` to `b`: lines kept, removed and added, in order (removals
/// before additions within a change).
fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops = vec![Op::Keep; prefix];
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) > MAX_TABLE {
        ops.extend(std::iter::repeat_n(Op::Remove, n).chain(std::iter::repeat_n(Op::Add, m)));
    } else {
        // lcs[i * (m + 1) + j]: the longest common subsequence of a_mid[i..] and b_mid[j..].
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * (m + 1) + j] = if a_mid[i] == b_mid[j] {
                    lcs[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                ops.push(Op::Keep);
                (i, j) = (i + 1, j + 1);
            } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
                ops.push(Op::Remove);
                i += 1;
            } else {
                ops.push(Op::Add);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Keep, suffix));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified_diff("f", "a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn hunks_with_context_and_line_numbers() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
        let new = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n";
        assert_eq!(
            unified_diff("f.net", old, new),
            "--- f.net\n+++ f.net\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n@@ -9,4 +9,3 @@\n 9\n 10\n 11\n-12\n"
        );
    }

    #[test]
    fn a_missing_final_newline_is_marked() {
        assert_eq!(unified_diff("f", "a", "a\n"), "--- f\n+++ f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n");
        assert_eq!(unified_diff("f", "", "a\n"), "--- f\n+++ f\n@@ -0,0 +1 @@\n+a\n");
    }
}
