//! Template functions: Go's built-ins ([`builtins`]), Sprig v3 ([`sprig`]) and Helm's own
//! ([`helm`]), each with the Go signature the executor checks arguments against.
//!
//! [`helm_funcs`] is Helm v4's function map: every function `helm template` offers, with
//! those that need a cluster or the network answering as `helm template` does offline.

pub mod builtins;
pub mod helm;
pub mod sprig;

use crate::exec::{Func, FuncImpl, FuncMap, P};
use crate::value::Value;

/// Registers `f` under `name` with fixed parameters and an optional variadic tail.
pub(crate) fn reg(
    m: &mut FuncMap,
    name: &'static str,
    params: &'static [P],
    variadic: Option<P>,
    f: FuncImpl,
) {
    m.insert(
        name,
        Func {
            params,
            variadic,
            f,
        },
    );
}

/// Go's built-in template functions only.
pub fn go_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    builtins::register(&mut m);
    m
}

/// Helm v4's function map: Go's built-ins, Sprig (less `env` and `expandenv`), and Helm's
/// own functions.
pub fn helm_funcs() -> FuncMap {
    let mut m = go_funcs();
    sprig::register(&mut m);
    helm::register(&mut m);
    m
}

/// Sprig's `strval`: strings as they are, everything else as `%v` prints it.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        v => crate::gofmt::sprint_value(v),
    }
}

/// spf13/cast's ToInt64 (what Sprig's `int`, `int64` and arithmetic use): numbers truncate,
/// strings parse (base prefixes allowed, `1.0` accepted), anything else is 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                0
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => *b as i64,
        Value::String(s) => parse_go_int(&trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

fn trim_zero_decimal(s: &str) -> String {
    // cast's trimZeroDecimal: "1.0" and "1.00" -> "1"; anything else unchanged.
    if let Some((int, frac)) = s.split_once('.')
        && !int.is_empty()
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
    {
        return int.to_string();
    }
    s.to_string()
}

/// Go's strconv.ParseInt(s, 0, 64): sign, base prefixes, underscores between digits.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h, true)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o, true)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() {
        return None;
    }
    if digits.contains('_') {
        if !prefixed && radix == 10 {
            return None;
        }
        if digits.starts_with('_') && radix != 8 || digits.ends_with('_') || digits.contains("__") {
            return None;
        }
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let u = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if u > i64::MAX as u64 + 1 {
            return None;
        }
        Some((u as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(u).ok()
    }
}

/// spf13/cast's ToFloat64.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => s.parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A list argument as Sprig reads one (any slice); `None` when it is not a list.
pub fn as_list(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.as_ref().clone()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(*x as i64)).collect()),
        _ => None,
    }
}

/// Sprig's `strslice`: a list of strings from any list (nils dropped), or the value itself.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        v => vec![strval(v)],
    }
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub(crate) fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}
