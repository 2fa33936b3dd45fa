//! Go's built-in template functions (text/template/funcs.go): `index`, `slice`, `len`, `not`,
//! the comparisons, `print`/`printf`/`println`, `html`, `js`, `urlquery`. (`and`, `or` and
//! `call` are evaluated by the executor, which needs their arguments unevaluated.)

use super::reg;
use crate::exec::{Exec, FuncMap, P};
use crate::gofmt;
use crate::value::Value;

pub fn register(m: &mut FuncMap) {
    reg(m, "index", &[P::Any], Some(P::Any), index);
    reg(m, "slice", &[P::Any], Some(P::Any), slice);
    reg(m, "len", &[P::Any], None, len);
    reg(m, "not", &[P::Any], None, |_, a| {
        Ok(Value::Bool(!a[0].truth()))
    });
    reg(m, "eq", &[P::Any], Some(P::Any), eq);
    reg(m, "ne", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(!eq_values(&a[0], &a[1])?))
    });
    reg(m, "lt", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(lt(&a[0], &a[1])?))
    });
    reg(m, "le", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(lt(&a[0], &a[1])? || eq_values(&a[0], &a[1])?))
    });
    reg(m, "gt", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(
            !(lt(&a[0], &a[1])? || eq_values(&a[0], &a[1])?),
        ))
    });
    reg(m, "ge", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(!lt(&a[0], &a[1])?))
    });
    reg(m, "print", &[], Some(P::Any), |x, a| {
        limited(x, gofmt::sprint(&a))
    });
    reg(m, "printf", &[P::Str], Some(P::Any), |x, a| {
        limited(x, gofmt::sprintf(super::s(&a[0]), &a[1..]))
    });
    reg(m, "println", &[], Some(P::Any), |x, a| {
        limited(x, gofmt::sprintln(&a))
    });
    reg(m, "html", &[], Some(P::Any), |_, a| {
        Ok(html_escape(&eval_args(&a)).into())
    });
    reg(m, "js", &[], Some(P::Any), |_, a| {
        Ok(js_escape(&eval_args(&a)).into())
    });
    reg(m, "urlquery", &[], Some(P::Any), |_, a| {
        Ok(query_escape(&eval_args(&a)).into())
    });
}

fn limited(x: &Exec, s: String) -> Result<Value, String> {
    if s.len() > x.limits().max_output {
        return Err(format!("result exceeds {} bytes", x.limits().max_output));
    }
    Ok(s.into())
}

/// Go's evalArgs: fmt.Sprint, with a nil argument printed as `<no value>`.
fn eval_args(a: &[Value]) -> String {
    if a.len() == 1
        && let Value::String(s) = &a[0]
    {
        return s.to_string();
    }
    let args: Vec<Value> = a
        .iter()
        .map(|v| {
            if v.is_nil() {
                Value::from("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    gofmt::sprint(&args)
}

fn index(_: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    let mut v = a[0].clone();
    for ix in &a[1..] {
        v = match &v {
            Value::List(_) | Value::String(_) | Value::Bytes(_) => {
                let x = match ix {
                    Value::Int(x) => x,
                    Value::Nil => return Err("cannot index slice/array with nil".into()),
                    _ => {
                        return Err(format!(
                            "cannot index slice/array with type {}",
                            ix.type_name()
                        ));
                    }
                };
                let len = match &v {
                    Value::List(l) => l.len(),
                    Value::String(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    _ => 0,
                };
                if *x < 0 || *x as usize >= len {
                    return Err(format!("index out of range: {x}"));
                }
                match &v {
                    Value::List(l) => l[*x as usize].clone(),
                    Value::String(s) => Value::Int(s.as_bytes()[*x as usize] as i64),
                    Value::Bytes(b) => Value::Int(b[*x as usize] as i64),
                    _ => Value::Nil,
                }
            }
            Value::Map(m) => match ix {
                Value::String(k) => m.borrow().get(k.as_ref()).cloned().unwrap_or_default(),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::Nil => return Err("index of untyped nil".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(v)
}

fn slice(_: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    let item = &a[0];
    let len = match item {
        Value::List(l) => l.len(),
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if a.len() > 4 {
        return Err(format!("too many slice indexes: {}", a.len() - 1));
    }
    if a.len() == 4 && matches!(item, Value::String(_)) {
        return Err("cannot 3-index slice a string".into());
    }
    let mut idx = [0usize, len, len];
    for (n, ix) in a[1..].iter().enumerate() {
        let Value::Int(x) = ix else {
            return Err(format!(
                "cannot index slice/array with type {}",
                ix.type_name()
            ));
        };
        if *x < 0 || *x as usize > len {
            return Err(format!("index out of range: {x}"));
        }
        idx[n] = *x as usize;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if a.len() == 4 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        Value::String(s) => {
            Value::str(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).as_ref())
        }
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

fn len(_: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Int(match &a[0] {
        Value::List(l) => l.len(),
        Value::Map(m) => m.borrow().len(),
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Object(o) => match &o.to_data() {
            Value::Map(m) => m.borrow().len(),
            Value::List(l) => l.len(),
            _ => return Err(format!("len of type {}", o.type_name())),
        },
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    } as i64))
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Invalid,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

fn eq(_: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for b in &a[1..] {
        if eq_values(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go's `eq` for two values (Go 1.18 and later: nil compares with anything).
pub fn eq_values(a: &Value, b: &Value) -> Result<bool, String> {
    if a.is_nil() || b.is_nil() {
        return Ok(a.is_nil() && b.is_nil());
    }
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if ka == Kind::Invalid || kb == Kind::Invalid {
            return Err(format!(
                "non-comparable types {}: {}, {}: {}",
                gofmt::sprint_value(a),
                a.type_name(),
                b.type_name(),
                gofmt::sprint_value(b)
            ));
        }
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::Map(_), _) | (_, Value::Map(_)) | (Value::List(_), _) | (_, Value::List(_)) => {
            return Err(format!(
                "non-comparable type {}: {}",
                gofmt::sprint_value(a),
                a.type_name()
            ));
        }
        _ => false,
    })
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Invalid || kb == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) >= 0x80 && !gofmt::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's url.QueryEscape.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
