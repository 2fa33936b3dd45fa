//! TOML for Helm's `toToml` (BurntSushi/toml's encoder layout: keys sorted, plain values
//! before tables, tables as `[a.b]`, lists of tables as `[[a]]`) and `fromToml` (on the
//! `toml` crate, numbers as Go sees them: integers int64, floats float64).

use crate::value::{Map, Value};

pub fn to_toml(v: &Value) -> Result<String, String> {
    let data = v.to_data();
    let Value::Map(m) = &data else {
        return Err("toml: top-level values must be Go maps or structs".into());
    };
    let mut out = String::new();
    table(&mut out, &m.borrow(), &[], 0)?;
    Ok(out)
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(l) if !l.is_empty() && l.iter().all(is_table))
}

fn value(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Nil => return Err("toml: cannot encode a nil value".into()),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 {
                    "inf".into()
                } else {
                    "-inf".into()
                }
            } else if f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                crate::gofmt::format_float(*f, 'f', None)
                    .trim_end_matches('0')
                    .to_string()
            }
        }
        Value::String(s) => quote(s),
        Value::List(l) => {
            let items: Result<Vec<String>, String> = l.iter().map(value).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Map(m) => {
            let m = m.borrow();
            let items: Result<Vec<String>, String> = m
                .iter()
                .map(|(k, v)| Ok(format!("{} = {}", key(k), value(v)?)))
                .collect();
            format!("{{{}}}", items?.join(", "))
        }
        other => quote(&crate::gofmt::sprint_value(other)),
    })
}

fn table(out: &mut String, m: &Map, path: &[String], depth: usize) -> Result<(), String> {
    let indent = "  ".repeat(depth);
    for (k, v) in m {
        if v.is_nil() || is_table(v) || is_table_array(v) {
            continue;
        }
        out.push_str(&format!("{indent}{} = {}\n", key(k), value(v)?));
    }
    for (k, v) in m {
        let mut p = path.to_vec();
        p.push(key(k));
        match v {
            Value::Map(sub) => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{}[{}]\n", "  ".repeat(depth), p.join(".")));
                table(out, &sub.borrow(), &p, depth + 1)?;
            }
            v if is_table_array(v) => {
                for item in v.as_list().unwrap_or_default() {
                    if let Value::Map(sub) = item {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{}[[{}]]\n", "  ".repeat(depth), p.join(".")));
                        table(out, &sub.borrow(), &p, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn from_toml(s: &str) -> Result<Value, String> {
    let t: toml::Table = s
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    Ok(convert(&toml::Value::Table(t)))
}

fn convert(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::list(a.iter().map(convert).collect()),
        toml::Value::Table(t) => {
            Value::map(t.iter().map(|(k, v)| (k.clone(), convert(v))).collect())
        }
    }
}
