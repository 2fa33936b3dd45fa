//! Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`),
//! which kubectl's typed clients send (`kubectl create namespace`, `create configmap`...),
//! decoded into the JSON the rest of the server reads. The field numbers come from the API's
//! own `generated.proto` files, as the table `schemas/kubernetes-v1.36/protobuf.txt`
//! (`cargo xtask protobuf`).
//!
//! Decoding only: responses are always JSON, which every client accepts. Fields a Go struct
//! would leave out of its JSON when empty (`omitempty`) are left out here too; a zero number
//! or `false` is kept only where it differs from leaving the field out (replica counts).

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../../schemas/kubernetes-v1.36/protobuf.txt");

#[derive(Debug)]
enum Ty {
    Scalar(String),
    Message(String),
}

#[derive(Debug)]
struct Field {
    name: String,
    ty: Ty,
    repeated: bool,
    /// Key and value types of a map field.
    map: Option<(Ty, Ty)>,
}

type Messages = HashMap<String, HashMap<u64, Field>>;

fn ty(s: &str) -> Ty {
    match s.strip_prefix('.') {
        Some(m) => Ty::Message(m.to_string()),
        None => Ty::Scalar(s.to_string()),
    }
}

fn table() -> &'static Messages {
    static T: OnceLock<Messages> = OnceLock::new();
    T.get_or_init(|| {
        let mut out: Messages = HashMap::new();
        let mut current: Option<String> = None;
        for line in TABLE.lines() {
            if let Some(name) = line.strip_prefix("M ") {
                current = Some(name.to_string());
                out.entry(name.to_string()).or_default();
                continue;
            }
            let mut words = line.split(' ');
            let (Some(num), Some(name), Some(t), Some(m)) =
                (words.next(), words.next(), words.next(), current.as_ref())
            else {
                continue;
            };
            let Ok(num) = num.parse::<u64>() else {
                continue;
            };
            let field = if let Some(kv) = t.strip_prefix("map:") {
                let (k, v) = kv.split_once(':').unwrap_or(("string", "string"));
                Field {
                    name: name.to_string(),
                    ty: Ty::Scalar(String::new()),
                    repeated: false,
                    map: Some((ty(k), ty(v))),
                }
            } else if let Some(t) = t.strip_prefix('*') {
                Field {
                    name: name.to_string(),
                    ty: ty(t),
                    repeated: true,
                    map: None,
                }
            } else {
                Field {
                    name: name.to_string(),
                    ty: ty(t),
                    repeated: false,
                    map: None,
                }
            };
            if let Some(fields) = out.get_mut(m) {
                fields.insert(num, field);
            }
        }
        out
    })
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let byte = *self.b.get(self.i).ok_or("truncated varint")?;
            self.i += 1;
            if shift >= 64 {
                return Err("varint too long".into());
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.i.checked_add(n).ok_or("length overflow")?;
        let s = self.b.get(self.i..end).ok_or("truncated field")?;
        self.i = end;
        Ok(s)
    }

    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// One raw field value.
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn fields(b: &[u8]) -> Result<Vec<(u64, Raw<'_>)>, String> {
    let mut r = Reader { b, i: 0 };
    let mut out = Vec::new();
    while !r.done() {
        let key = r.varint()?;
        let (num, wire) = (key >> 3, key & 7);
        let raw = match wire {
            0 => Raw::Varint(r.varint()?),
            1 => Raw::Fixed64(u64::from_le_bytes(
                r.take(8)?.try_into().map_err(|_| "bad fixed64")?,
            )),
            2 => {
                let n = usize::try_from(r.varint()?).map_err(|_| "length overflow")?;
                Raw::Bytes(r.take(n)?)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(
                r.take(4)?.try_into().map_err(|_| "bad fixed32")?,
            )),
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((num, raw));
    }
    Ok(out)
}

pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                s.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn scalar(t: &str, raw: &Raw) -> Result<Value, String> {
    Ok(match (t, raw) {
        ("string", Raw::Bytes(b)) => json!(String::from_utf8_lossy(b)),
        ("bytes", Raw::Bytes(b)) => json!(base64(b)),
        ("bool", Raw::Varint(v)) => json!(*v != 0),
        ("int32", Raw::Varint(v)) => json!(*v as i64 as i32),
        ("int64", Raw::Varint(v)) => json!(*v as i64),
        ("uint32" | "uint64", Raw::Varint(v)) => json!(*v),
        ("double", Raw::Fixed64(v)) => json!(f64::from_bits(*v)),
        ("float", Raw::Fixed32(v)) => json!(f32::from_bits(*v)),
        (t, _) => return Err(format!("a {t} field has the wrong wire type")),
    })
}

/// Seconds since the epoch as RFC 3339 (`None` for Go's zero time).
fn time(b: &[u8], micro: bool) -> Result<Value, String> {
    let mut seconds: i64 = 0;
    let mut nanos: i64 = 0;
    for (n, raw) in fields(b)? {
        match (n, raw) {
            (1, Raw::Varint(v)) => seconds = v as i64,
            (2, Raw::Varint(v)) => nanos = v as i64,
            _ => {}
        }
    }
    if seconds <= 0 {
        return Ok(Value::Null);
    }
    let base = crate::cluster::rfc3339(seconds as u64 * 1000);
    Ok(json!(if micro {
        format!("{}.{:06}Z", base.trim_end_matches('Z'), nanos / 1000)
    } else {
        base
    }))
}

fn message(b: &[u8], name: &str, depth: usize) -> Result<Value, String> {
    if depth > 64 {
        return Err("nested too deeply".into());
    }
    match name {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => return time(b, false),
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => return time(b, true),
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            let (mut kind, mut int, mut string) = (0u64, 0i64, String::new());
            for (n, raw) in fields(b)? {
                match (n, raw) {
                    (1, Raw::Varint(v)) => kind = v,
                    (2, Raw::Varint(v)) => int = v as i64 as i32 as i64,
                    (3, Raw::Bytes(s)) => string = String::from_utf8_lossy(s).into_owned(),
                    _ => {}
                }
            }
            return Ok(if kind == 1 { json!(string) } else { json!(int) });
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
            for (n, raw) in fields(b)? {
                if let (1, Raw::Bytes(s)) = (n, raw) {
                    return Ok(json!(String::from_utf8_lossy(s)));
                }
            }
            return Ok(json!("0"));
        }
        "k8s.io.apimachinery.pkg.runtime.RawExtension"
        | "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" => {
            for (n, raw) in fields(b)? {
                if let (1, Raw::Bytes(s)) = (n, raw) {
                    return serde_json::from_slice(s).map_err(|e| format!("embedded JSON: {e}"));
                }
            }
            return Ok(Value::Null);
        }
        _ => {}
    }
    let Some(def) = table().get(name) else {
        return Err(format!("unknown message {name}"));
    };
    let mut out = Map::new();
    for (n, raw) in fields(b)? {
        let Some(f) = def.get(&n) else { continue };
        if let Some((kt, vt)) = &f.map {
            let Raw::Bytes(entry) = raw else {
                return Err(format!("{}: a map entry has the wrong wire type", f.name));
            };
            let (mut k, mut v) = (Value::Null, Value::Null);
            for (en, eraw) in fields(entry)? {
                let t = if en == 1 { kt } else { vt };
                let val = match t {
                    Ty::Scalar(s) => scalar(s, &eraw)?,
                    Ty::Message(m) => match eraw {
                        Raw::Bytes(mb) => message(mb, m, depth + 1)?,
                        _ => return Err(format!("{}: bad map value", f.name)),
                    },
                };
                if en == 1 {
                    k = val;
                } else {
                    v = val;
                }
            }
            let key = match k {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if v.is_null() {
                v = match vt {
                    Ty::Scalar(s) if s == "string" || s == "bytes" => json!(""),
                    _ => json!({}),
                };
            }
            if let Some(m) = out
                .entry(f.name.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                m.insert(key, v);
            }
            continue;
        }
        let val = match &f.ty {
            Ty::Scalar(s) => scalar(s, &raw)?,
            Ty::Message(m) => match raw {
                Raw::Bytes(mb) => message(mb, m, depth + 1)?,
                _ => return Err(format!("{}: a message has the wrong wire type", f.name)),
            },
        };
        if f.repeated {
            if let Some(a) = out
                .entry(f.name.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                a.push(val);
            }
        } else {
            out.insert(f.name.clone(), val);
        }
    }
    // As Go's JSON leaves out empty values (omitempty).
    const ZERO_MATTERS: &[&str] = &["replicas", "completions", "parallelism", "backoffLimit"];
    out.retain(|k, v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0) || ZERO_MATTERS.contains(&k.as_str()),
        Value::Object(m) => !m.is_empty() || ["spec", "status", "metadata"].contains(&k.as_str()),
        Value::Array(a) => !a.is_empty(),
    });
    Ok(Value::Object(out))
}

/// The proto package of a Kubernetes API group's messages, matched by its last two parts
/// (`apps.v1`, `rbac.v1`, `core.v1`).
fn find_message(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let short = match group {
        "" => "core",
        "meta.k8s.io" => "meta",
        g => g.split('.').next().unwrap_or(g),
    };
    let suffix = format!(".{short}.{version}.{kind}");
    let mut hits: Vec<&String> = table().keys().filter(|k| k.ends_with(&suffix)).collect();
    hits.sort();
    hits.first().map(|s| s.to_string())
}

/// Decodes a protobuf request body (`k8s\0` then a `runtime.Unknown` envelope) into JSON.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or("the body does not start with the Kubernetes protobuf magic number")?;
    let (mut api, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, v) in fields(rest)? {
        match (n, v) {
            (1, Raw::Bytes(tm)) => {
                for (tn, tv) in fields(tm)? {
                    if let Raw::Bytes(s) = tv {
                        match tn {
                            1 => api = String::from_utf8_lossy(s).into_owned(),
                            2 => kind = String::from_utf8_lossy(s).into_owned(),
                            _ => {}
                        }
                    }
                }
            }
            (2, Raw::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let name = find_message(&api, &kind)
        .ok_or_else(|| format!("no protobuf message for {api}, Kind={kind}"))?;
    let mut v = message(raw, &name, 0)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), json!(api));
        m.insert("kind".into(), json!(kind));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_from_kubectl_create_decodes() {
        // `kubectl create namespace t1` as kubectl v1.32 sends it.
        let mut body = b"k8s\0".to_vec();
        let type_meta = [b"\x0a\x02v1".as_slice(), b"\x12\x09Namespace"].concat();
        let meta = b"\x0a\x02t1\x12\x00\x1a\x00";
        let ns = [
            b"\x0a".as_slice(),
            &[meta.len() as u8],
            meta,
            b"\x12\x00\x1a\x02\x0a\x00",
        ]
        .concat();
        body.extend([b"\x0a".as_slice(), &[type_meta.len() as u8], &type_meta].concat());
        body.extend([b"\x12".as_slice(), &[ns.len() as u8], &ns].concat());
        assert_eq!(
            decode(&body).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t1"}, "spec": {}, "status": {}})
        );
        assert!(decode(b"k8s\0\x0a\xff").is_err());
        assert!(decode(b"{}").is_err());
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
