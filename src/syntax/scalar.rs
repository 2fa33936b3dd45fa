//! Plain-scalar resolution exactly as Kubernetes reads YAML: sigs.k8s.io/yaml on go-yaml v2,
//! that is YAML 1.1 (`yes`/`on`/`y` are booleans, `0644` is octal 420, `1_000` is 1000, `~` is
//! null, `0x1F` is 31), then converted to JSON (timestamps stay strings, integral floats become
//! integers, `.inf` and `.nan` cannot be represented).

use serde_json::{Number, Value};

/// Why a scalar cannot become a JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScalarError {
    /// `.inf`, `-.inf`, `.nan` and friends.
    NotJson,
}

/// go-yaml v2's resolve table: exact spellings that are booleans, null, or special floats.
fn table(s: &str) -> Option<Result<Value, ScalarError>> {
    Some(Ok(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Some(Err(ScalarError::NotJson)),
        _ => return None,
    }))
}

/// The spellings YAML 1.1 reads as booleans and YAML 1.2 (go-yaml v3) reads as strings.
pub fn is_yaml_1_1_only_boolean(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Resolves an untagged plain scalar.
pub fn resolve_plain(s: &str) -> Result<Value, ScalarError> {
    let Some(&first) = s.as_bytes().first() else {
        return Ok(Value::Null);
    };
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return Ok(Value::String(s.to_string())),
    };
    if let Some(v) = table(s) {
        return v;
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return Ok(float_value(f));
            }
        }
        b'D' => {
            let plain: String;
            let p = if s.contains('_') {
                plain = s.replace('_', "");
                plain.as_str()
            } else {
                s
            };
            if let Some(v) = go_parse_int(p) {
                return Ok(v);
            }
            if is_yaml_style_float(p)
                && let Some(f) = go_parse_float(p)
            {
                return Ok(float_value(f));
            }
        }
        _ => {}
    }
    Ok(Value::String(s.to_string()))
}

/// Resolves a scalar with an explicit core tag (`!!int` and friends). `Err(None)` is a type
/// mismatch, `Err(Some(e))` a value JSON cannot hold.
pub fn resolve_tagged(tag: &str, s: &str) -> Result<Value, Option<ScalarError>> {
    match tag {
        "str" | "timestamp" => Ok(Value::String(s.to_string())),
        "int" => match resolve_plain(s) {
            Ok(v @ Value::Number(_)) if v.is_i64() || v.is_u64() => Ok(v),
            _ => Err(None),
        },
        "float" => match resolve_plain(s) {
            Ok(v @ Value::Number(_)) => Ok(v),
            Err(e) => Err(Some(e)),
            _ => Err(None),
        },
        "bool" => match resolve_plain(s) {
            Ok(v @ Value::Bool(_)) => Ok(v),
            _ => Err(None),
        },
        "null" => match resolve_plain(s) {
            Ok(Value::Null) => Ok(Value::Null),
            _ => Err(None),
        },
        "binary" => {
            let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            match crate::util::base64_decode(&cleaned) {
                Some(bytes) => String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| None),
                None => Err(None),
            }
        }
        // Other core tags on scalars (`!!map`, `!!seq`) do not fit; custom tags are not core.
        _ => Err(None),
    }
}

/// A float as encoding/json would write it and a later decode would read it: integral values
/// within range become integers.
pub fn float_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= i64::MIN as f64 && f < i64::MAX as f64 {
            return Value::Number(Number::from(f as i64));
        }
        if f >= 0.0 && f < u64::MAX as f64 {
            return Value::Number(Number::from(f as u64));
        }
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// strconv.ParseInt(s, 0, 64), falling back to ParseUint: an optional sign, then `0x`, `0o`,
/// `0b` or a leading `0` (octal), else decimal.
fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= (i64::MAX as u128) + 1 {
            return Some(Value::Number(Number::from(
                (magnitude as i128).wrapping_neg() as i64,
            )));
        }
        None
    } else if magnitude <= i64::MAX as u128 {
        Some(Value::Number(Number::from(magnitude as i64)))
    } else if magnitude <= u64::MAX as u128 {
        Some(Value::Number(Number::from(magnitude as u64)))
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// strconv.ParseFloat(s, 64) for the decimal forms YAML can produce; infinities and NaN
/// spelled the Go way (`inf`, `NaN`) are not floats JSON can hold, so they stay strings.
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Re-reads a folded block scalar (`>`) from its source the way go-yaml does. go-yaml follows
/// libyaml's folding, but a line break that leads from a normal line into a more-indented line
/// comes out doubled. `source` starts at the `>` indicator; `parent_indent` is the indentation
/// of the line holding it. `None` when the text is not a block scalar kiln can re-read.
pub fn fold_like_go_yaml(source: &str, parent_indent: usize) -> Option<String> {
    let mut lines = source.split('\n');
    let header = lines.next()?.trim_start();
    let rest = header.strip_prefix('>')?;
    let (mut chomp, mut explicit) = ('c', 0usize);
    for c in rest.chars() {
        match c {
            '-' => chomp = '-',
            '+' => chomp = '+',
            '1'..='9' => explicit = c as usize - '0' as usize,
            ' ' | '\t' | '\r' => {}
            '#' => break,
            _ => return None,
        }
    }
    let body: Vec<&str> = lines.map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let spaces = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let blank_line = |l: &str| l.trim_start_matches(' ').is_empty();
    let indent = if explicit > 0 {
        parent_indent + explicit
    } else {
        let first = body.iter().find(|l| !blank_line(l))?;
        let lead_max = body
            .iter()
            .take_while(|l| blank_line(l))
            .map(|l| l.len())
            .max()
            .unwrap_or(0);
        spaces(first).max(lead_max).max(parent_indent + 1)
    };
    let mut out = String::new();
    let (mut leading_break, mut trailing_breaks) = (String::new(), String::new());
    let mut leading_blank = false;
    let mut seen_content = false;
    for l in &body {
        if blank_line(l)
            && spaces(l) <= indent.max(l.len())
            && (!seen_content || spaces(l) <= indent)
        {
            trailing_breaks.push('\n');
            continue;
        }
        if spaces(l) < indent {
            break;
        }
        let content = &l[indent..];
        let trailing_blank = content.starts_with([' ', '\t']);
        if !leading_blank && !trailing_blank && leading_break == "\n" {
            if trailing_breaks.is_empty() {
                out.push(' ');
            }
        } else {
            out.push_str(&leading_break);
            if seen_content && !leading_blank && trailing_blank {
                out.push('\n');
            }
        }
        out.push_str(&trailing_breaks);
        trailing_breaks.clear();
        leading_blank = trailing_blank;
        out.push_str(content);
        leading_break = "\n".to_string();
        seen_content = true;
    }
    match chomp {
        '-' => {}
        '+' => {
            out.push_str(&leading_break);
            out.push_str(&trailing_breaks);
        }
        _ => out.push_str(&leading_break),
    }
    Some(out)
}

/// Turns a resolved key into the JSON object key sigs.k8s.io/yaml would use.
pub fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubernetes_yaml_1_1_quirks() {
        let cases = [
            ("on", json!(true)),
            ("yes", json!(true)),
            ("y", json!(true)),
            ("Off", json!(false)),
            ("NO", json!(false)),
            ("0755", json!(493)),
            ("0644", json!(420)),
            ("0o755", json!(493)),
            ("1_000", json!(1000)),
            ("0x1F", json!(31)),
            ("1e3", json!(1000)),
            ("2001-12-14", json!("2001-12-14")),
            ("~", json!(null)),
            ("null", json!(null)),
            ("1.10", json!(1.1)),
            ("+12", json!(12)),
            ("-12", json!(-12)),
            ("08", json!(8)),
            ("09.5", json!(9.5)),
            (".5", json!(0.5)),
            ("1.0", json!(1)),
            ("-0b101", json!(-5)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("1Gi", json!("1Gi")),
            ("500m", json!("500m")),
            ("1.2.3", json!("1.2.3")),
            ("v1", json!("v1")),
            ("nginx:1.27", json!("nginx:1.27")),
            ("-", json!("-")),
            ("+", json!("+")),
            (".", json!(".")),
            ("true_", json!("true_")),
            ("0x", json!("0x")),
            ("1e", json!("1e")),
            ("10.0.0.1", json!("10.0.0.1")),
            ("12:30", json!("12:30")),
        ];
        for (input, want) in cases {
            assert_eq!(resolve_plain(input), Ok(want), "{input}");
        }
        assert_eq!(resolve_plain(".inf"), Err(ScalarError::NotJson));
        assert_eq!(resolve_plain("-.Inf"), Err(ScalarError::NotJson));
        assert_eq!(resolve_plain(".NaN"), Err(ScalarError::NotJson));
    }

    #[test]
    fn tagged_scalars() {
        assert_eq!(resolve_tagged("str", "0644"), Ok(json!("0644")));
        assert_eq!(resolve_tagged("int", "0644"), Ok(json!(420)));
        assert_eq!(resolve_tagged("int", "abc"), Err(None));
        assert_eq!(resolve_tagged("bool", "yes"), Ok(json!(true)));
        assert_eq!(resolve_tagged("float", "3"), Ok(json!(3)));
        assert_eq!(resolve_tagged("binary", "aGVsbG8="), Ok(json!("hello")));
    }

    #[test]
    fn folded_scalars_fold_as_go_yaml() {
        // Results recorded from kubectl kustomize (go-yaml v3).
        assert_eq!(
            fold_like_go_yaml(">\n    a\n      b\n    c\n", 2).unwrap(),
            "a\n\n  b\nc\n"
        );
        assert_eq!(
            fold_like_go_yaml(">\n    a\n\n      b\n    c\n", 2).unwrap(),
            "a\n\n\n  b\nc\n"
        );
        assert_eq!(
            fold_like_go_yaml(">\n    a\n      b\n      c\n    d\n", 2).unwrap(),
            "a\n\n  b\n  c\nd\n"
        );
        assert_eq!(
            fold_like_go_yaml(">\n    a\n      b\n\n      c\n    d\n", 2).unwrap(),
            "a\n\n  b\n\n  c\nd\n"
        );
        assert_eq!(fold_like_go_yaml(">-\n    a\n    b\n", 2).unwrap(), "a b");
        assert_eq!(
            fold_like_go_yaml(">-\n    x(c,\n      c.i\n    )\n", 2).unwrap(),
            "x(c,\n\n  c.i\n)"
        );
    }

    #[test]
    fn keys_become_strings() {
        assert_eq!(key_string(&json!(true)), Some("true".into()));
        assert_eq!(key_string(&json!(80)), Some("80".into()));
        assert_eq!(key_string(&json!(null)), None);
    }
}
