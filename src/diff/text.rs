//! Unified diffs of text, line by line (a longest common subsequence; objects are small), as
//! `diff -u` prints them without the file header: `@@ -a,b +c,d @@` hunks with context.

/// One line of an edit script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// Past this many line pairs the two texts are shown as all removed and all added.
const MAX_CELLS: usize = 4_000_000;

fn script(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        let mut out: Vec<(Op, usize, usize)> = (0..n).map(|i| (Op::Del, i, 0)).collect();
        out.extend((0..m).map(|j| (Op::Add, n, j)));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((Op::Same, i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            // Removed lines before added ones, as diff -u prints them.
            out.push((Op::Del, i, j));
            i += 1;
        } else {
            out.push((Op::Add, i, j));
            j += 1;
        }
    }
    out
}

/// A unified diff of `a` and `b` with `context` lines around each change; empty when equal.
pub fn unified(a: &str, b: &str, context: usize) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let ops = script(&la, &lb);
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (op, _, _))| *op != Op::Same)
        .map(|(k, _)| k)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    // Hunks: runs of changes closer than 2 * context, with context around.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &k in &changed {
        let start = k.saturating_sub(context);
        let end = (k + context + 1).min(ops.len());
        match hunks.last_mut() {
            Some(h) if start <= h.1 => h.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut out = String::new();
    for (start, end) in hunks {
        let slice = &ops[start..end];
        let a_start = slice.first().map(|o| o.1).unwrap_or(0);
        let b_start = slice.first().map(|o| o.2).unwrap_or(0);
        let a_len = slice.iter().filter(|o| o.0 != Op::Add).count();
        let b_len = slice.iter().filter(|o| o.0 != Op::Del).count();
        let pos = |s: usize, len: usize| if len == 0 { s } else { s + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            pos(a_start, a_len),
            pos(b_start, b_len)
        ));
        for &(op, i, j) in slice {
            match op {
                Op::Same => out.push_str(&format!(" {}\n", la[i])),
                Op::Del => out.push_str(&format!("-{}\n", la[i])),
                Op::Add => out.push_str(&format!("+{}\n", lb[j])),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_as_diff_u_prints_them() {
        let a = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let b = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\n";
        assert_eq!(
            unified(a, b, 2),
            "@@ -2,5 +2,5 @@\n b\n c\n-d\n+D\n e\n f\n@@ -8,2 +8,3 @@\n h\n i\n+j\n"
        );
        assert_eq!(unified("x\n", "x\n", 3), "");
        assert_eq!(unified("", "new\n", 3), "@@ -0,0 +1,1 @@\n+new\n");
    }
}
