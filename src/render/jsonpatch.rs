//! JSON Patch (RFC 6902) as kustomize applies it (evanphx/json-patch): `add`, `remove`,
//! `replace`, `move`, `copy`, `test`, with `-` for the end of an array. Errors say which
//! operation failed and why, in the library's words.

use crate::util::Pointer;
use serde_json::Value;

/// One operation, already decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub op: String,
    pub path: String,
    pub from: Option<String>,
    pub value: Option<Value>,
}

/// Decodes a patch document (a JSON array of operation objects).
pub fn decode(patch: &Value) -> Result<Vec<Operation>, String> {
    let Value::Array(items) = patch else {
        return Err("a JSON patch must be a list of operations".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(m) = item else {
                return Err(format!("operation {i} is not an object"));
            };
            let op = m
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("operation {i} has no `op`"))?;
            if !matches!(op, "add" | "remove" | "replace" | "move" | "copy" | "test") {
                return Err(format!(
                    "operation {i}: unexpected kind of operation `{op}`"
                ));
            }
            let path = m
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("operation {i} ({op}) has no `path`"))?;
            let from = m.get("from").and_then(Value::as_str).map(String::from);
            if matches!(op, "move" | "copy") && from.is_none() {
                return Err(format!("operation {i} ({op}) has no `from`"));
            }
            let value = m.get("value").cloned();
            if matches!(op, "add" | "replace" | "test") && !m.contains_key("value") {
                return Err(format!("operation {i} ({op}) has no `value`"));
            }
            Ok(Operation {
                op: op.to_string(),
                path: path.to_string(),
                from,
                value,
            })
        })
        .collect()
}

fn split(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    Ok(path[1..]
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn container<'v>(
    doc: &'v mut Value,
    parts: &[String],
    path: &str,
    op: &str,
) -> Result<&'v mut Value, String> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("{op} operation does not apply: doc is missing path: \"{path}\""))?;
    }
    Ok(cur)
}

fn index(a: &[Value], seg: &str, allow_end: bool, path: &str, op: &str) -> Result<usize, String> {
    if seg == "-" && allow_end {
        return Ok(a.len());
    }
    let i: usize = seg
        .parse()
        .map_err(|_| format!("{op} operation does not apply: invalid array index in \"{path}\""))?;
    let max = if allow_end {
        a.len()
    } else {
        a.len().saturating_sub(1)
    };
    if i > max || (!allow_end && a.is_empty()) {
        return Err(format!(
            "{op} operation does not apply: index out of range in \"{path}\""
        ));
    }
    Ok(i)
}

fn add(doc: &mut Value, path: &str, value: Value, op: &str) -> Result<(), String> {
    let parts = split(path)?;
    let Some((last, parent)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    match container(doc, parent, path, op)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(a, last, true, path, op)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "{op} operation does not apply: doc is missing path: \"{path}\""
        )),
    }
}

fn remove(doc: &mut Value, path: &str, op: &str) -> Result<Value, String> {
    let parts = split(path)?;
    let Some((last, parent)) = parts.split_last() else {
        return Err(format!(
            "{op} operation does not apply: cannot remove the whole document"
        ));
    };
    match container(doc, parent, path, op)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| {
            format!("{op} operation does not apply: doc is missing key: \"{path}\"")
        }),
        Value::Array(a) => {
            let i = index(a, last, false, path, op)?;
            Ok(a.remove(i))
        }
        _ => Err(format!(
            "{op} operation does not apply: doc is missing path: \"{path}\""
        )),
    }
}

fn get<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        Some(doc)
    } else {
        doc.at(path)
    }
}

/// Applies operations in order; the document is left unchanged when any operation fails.
pub fn apply(doc: &Value, ops: &[Operation]) -> Result<Value, String> {
    let mut out = doc.clone();
    for o in ops {
        match o.op.as_str() {
            "add" => add(
                &mut out,
                &o.path,
                o.value.clone().unwrap_or(Value::Null),
                "add",
            )?,
            "remove" => {
                remove(&mut out, &o.path, "remove")?;
            }
            "replace" => {
                // evanphx/json-patch v4, which kustomize uses: a missing key of an object is
                // simply set; a missing array index or parent is an error.
                let parent_is_object = o
                    .path
                    .rfind('/')
                    .is_some_and(|i| get(&out, &o.path[..i]).is_some_and(Value::is_object));
                if get(&out, &o.path).is_none() && !parent_is_object {
                    return Err(format!(
                        "replace operation does not apply: doc is missing key: {}",
                        o.path
                    ));
                }
                if o.path.is_empty() {
                    out = o.value.clone().unwrap_or(Value::Null);
                } else {
                    if get(&out, &o.path).is_some() {
                        remove(&mut out, &o.path, "replace")?;
                    }
                    add(
                        &mut out,
                        &o.path,
                        o.value.clone().unwrap_or(Value::Null),
                        "replace",
                    )?;
                }
            }
            "move" => {
                let from = o.from.as_deref().unwrap_or("");
                let v = remove(&mut out, from, "move")?;
                add(&mut out, &o.path, v, "move")?;
            }
            "copy" => {
                let from = o.from.as_deref().unwrap_or("");
                let v = get(&out, from).cloned().ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: \"{from}\"")
                })?;
                add(&mut out, &o.path, v, "copy")?;
            }
            "test" => {
                let want = o.value.clone().unwrap_or(Value::Null);
                if get(&out, &o.path) != Some(&want) {
                    return Err(format!("testing value {} failed: test failed", o.path));
                }
            }
            other => return Err(format!("unexpected kind of operation `{other}`")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: Value) -> Result<Value, String> {
        apply(&doc, &decode(&patch)?)
    }

    #[test]
    fn rfc_6902_operations() {
        let doc = json!({"a": {"b": [1, 2]}, "c": "x"});
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/-", "value": 3}])
            )
            .unwrap(),
            json!({"a": {"b": [1, 2, 3]}, "c": "x"})
        );
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/0", "value": 0}])
            )
            .unwrap()["a"]["b"],
            json!([0, 1, 2])
        );
        assert_eq!(
            run(doc.clone(), json!([{"op": "remove", "path": "/c"}])).unwrap(),
            json!({"a": {"b": [1, 2]}})
        );
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "replace", "path": "/c", "value": "y"}])
            )
            .unwrap()["c"],
            json!("y")
        );
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "move", "from": "/c", "path": "/d"}])
            )
            .unwrap(),
            json!({"a": {"b": [1, 2]}, "d": "x"})
        );
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "copy", "from": "/a/b/1", "path": "/e"}])
            )
            .unwrap()["e"],
            json!(2)
        );
        assert!(
            run(
                doc.clone(),
                json!([{"op": "test", "path": "/c", "value": "x"}])
            )
            .is_ok()
        );
        assert!(
            run(
                doc.clone(),
                json!([{"op": "test", "path": "/c", "value": "z"}])
            )
            .is_err()
        );
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "replace", "path": "/missing", "value": 1}])
            )
            .unwrap()["missing"],
            json!(1)
        );
        assert!(
            run(
                doc.clone(),
                json!([{"op": "replace", "path": "/a/b/7", "value": 1}])
            )
            .is_err()
        );
        assert!(run(doc.clone(), json!([{"op": "remove", "path": "/a/b/5"}])).is_err());
        assert!(
            run(
                doc.clone(),
                json!([{"op": "add", "path": "/x/y", "value": 1}])
            )
            .is_err()
        );
        assert!(run(doc, json!([{"op": "jump", "path": "/c"}])).is_err());
    }

    #[test]
    fn escaped_pointers() {
        let doc = json!({"metadata": {"annotations": {"a/b": "1"}}});
        let out = run(
            doc,
            json!([{"op": "replace", "path": "/metadata/annotations/a~1b", "value": "2"}]),
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"]["a/b"], json!("2"));
    }
}
