//! JSON values to YAML text, as kubectl prints them: block style, keys in sorted order,
//! sequences not indented under their key, and every string written so that Kubernetes'
//! YAML 1.1 reader gets the same string back (`"yes"`, `"0644"`, `"1e3"` are quoted).

use super::scalar;
use serde_json::Value;
use std::fmt::Write;

/// Writes one document (no `---`).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            write_scalar(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

/// Writes several documents separated by `---`.
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(d));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, ind: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            indent(out, ind);
        }
        write_string(out, k, ind, true);
        out.push(':');
        match v {
            Value::Object(mm) if !mm.is_empty() => {
                out.push('\n');
                indent(out, ind + 2);
                write_map(out, mm, ind + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                indent(out, ind);
                write_seq(out, a, ind);
            }
            other => {
                out.push(' ');
                write_scalar(out, other, ind + 2);
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], ind: usize) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            indent(out, ind);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, ind + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, ind + 2),
            other => {
                write_scalar(out, other, ind + 2);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s, ind, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
    debug_assert!(!is_block(v));
}

/// True when `s` can be written without quotes and still reads back as the same string.
fn plain_ok(s: &str, key: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") || s.ends_with(':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.chars().any(|c| c.is_control() || c == '\u{feff}')
    {
        return false;
    }
    if key && s.len() > 1000 {
        return false;
    }
    matches!(scalar::resolve_plain(s), Ok(Value::String(ref r)) if r == s)
}

fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.chars().any(|c| {
            c != '\n' && c.is_control()
                || c == '\u{feff}'
                || c == '\u{85}'
                || c == '\u{2028}'
                || c == '\u{2029}'
        })
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

fn write_string(out: &mut String, s: &str, ind: usize, key: bool) {
    if plain_ok(s, key) {
        out.push_str(s);
    } else if !key && literal_ok(s) {
        let trailing = s.len() - s.trim_end_matches('\n').len();
        out.push_str(match trailing {
            0 => "|-",
            1 => "|",
            _ => "|+",
        });
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, ind);
                out.push_str(line);
            }
        }
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                    let _ = write!(out, "\\u{:04X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Limits, parse};
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml(v);
        let parsed = parse(&text, &Limits::default(), &|_| {
            crate::diag::Location::file("x")
        });
        assert!(
            parsed.diagnostics.is_empty(),
            "{text}\n{:?}",
            parsed.diagnostics
        );
        parsed
            .documents
            .into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or(Value::Null)
    }

    #[test]
    fn strings_that_look_like_other_things_are_quoted() {
        let v = json!({
            "a": "yes", "b": "0644", "c": "1e3", "d": "", "e": "~", "f": "- x", "g": "a: b",
            "h": "multi\nline\n", "i": "tail\n\n", "j": "no newline\nend", "k": " lead", "l": "x #y",
            "m": "tab\tin", "n": "null", "o": "@at", "p": "ünï", "q": "trailing ", "r": "line \nspace",
            "s": ":colon", "t": "2001-12-14", "yes": 1, "": 2
        });
        assert_eq!(round_trip(&v), v);
    }

    #[test]
    fn layout_matches_kubectl() {
        let v = json!({"kind": "Deployment", "spec": {"containers": [{"name": "a", "args": ["x", "y", "z"]}], "empty": {}, "none": []}});
        assert_eq!(
            to_yaml(&v),
            "kind: Deployment\nspec:\n  containers:\n  - args:\n    - x\n    - \"y\"\n    - z\n    name: a\n  empty: {}\n  none: []\n"
        );
        assert_eq!(round_trip(&v), v);
        let nested = json!([[1, [2, 3]], {"a": [[]]}]);
        assert_eq!(round_trip(&nested), nested);
    }
}
