//! Field specs: where a transformer acts. A spec names a group/version/kind (empty means any)
//! and a `/`-separated path (`\/` escapes a slash in a key); sequences on the way are walked
//! element by element with the same remaining path; `create: true` creates what is missing
//! (intermediate maps, and a leaf of the kind the transformer asks for); `[]` on a segment is a
//! hint that it is a sequence, which is never created.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Group, version and kind, with empty fields as wildcards when used as a selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// From an object's `apiVersion` and `kind`.
    pub fn of(obj: &Value) -> Gvk {
        let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let (group, version) = split_api_version(api);
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        }
    }

    /// kustomize's `IsSelected`: every non-empty field of the selector must be equal.
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`).
pub fn split_api_version(api: &str) -> (&str, &str) {
    match api.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api),
    }
}

/// One field spec. Unknown keys are ignored, as kustomize ignores them in plugin configurations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }

    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk())
    }

    /// The path split into keys, honouring `\/`.
    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// kustomize's PathSplitter: split on `/`, joining a segment that ends in `\` with the next.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, part) in path.split('/').enumerate() {
        if i > 0
            && let Some(last) = out.last_mut()
            && let Some(stripped) = last.strip_suffix('\\')
        {
            *last = format!("{stripped}/{part}");
            continue;
        }
        out.push(part.to_string());
    }
    if out.first().is_some_and(String::is_empty) && out.len() > 1 {
        out.remove(0);
    }
    out
}

/// What a transformer creates at the end of a path when the spec says `create`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Map,
    Scalar,
}

fn empty(kind: Create) -> Value {
    match kind {
        Create::Map => Value::Object(Map::new()),
        Create::Scalar => Value::String(String::new()),
        Create::Nothing => Value::Null,
    }
}

/// Walks `obj` along `segs` and calls `set` on every node reached at the end of the path.
pub fn walk(
    obj: &mut Value,
    segs: &[String],
    create: bool,
    create_kind: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        return set(obj);
    };
    match obj {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, segs, create, create_kind, set)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            let creating = create && create_kind != Create::Nothing && !is_seq;
            let kind = if is_seq || !creating {
                None
            } else if rest.is_empty() {
                Some(create_kind)
            } else {
                Some(Create::Map)
            };
            if !m.contains_key(name) {
                match kind {
                    Some(k) => {
                        m.insert(name.to_string(), empty(k));
                    }
                    None => return Ok(()),
                }
            }
            let field = m.get_mut(name).expect("present");
            if field.is_null() {
                if is_seq {
                    *field = Value::Array(Vec::new());
                } else if let Some(k) = kind {
                    *field = empty(k);
                }
            }
            walk(field, rest, create, create_kind, set)
        }
        _ => Err(format!("expected sequence or mapping node at `{first}`")),
    }
}

/// [`walk`] on a shared object: it is copied only when the walk will change it (the path
/// exists, or may be created).
pub fn walk_shared(
    obj: &mut std::rc::Rc<Value>,
    segs: &[String],
    create: bool,
    create_kind: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    if (create && create_kind != Create::Nothing) || touches(obj, segs) {
        walk(std::rc::Rc::make_mut(obj), segs, create, create_kind, set)
    } else {
        Ok(())
    }
}

/// True when [`walk`] without creating would do anything to `obj`: reach a node at the end of
/// the path, fail on the way, or replace a null list.
fn touches(obj: &Value, segs: &[String]) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return true;
    };
    match obj {
        Value::Null => false,
        Value::Array(items) => items.iter().any(|i| touches(i, segs)),
        Value::Object(m) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            match m.get(name) {
                _ if name.is_empty() => true,
                None => false,
                Some(Value::Null) if is_seq => true,
                Some(f) => touches(f, rest),
            }
        }
        _ => true,
    }
}

/// Reads every value at the end of a path (no creation).
pub fn collect<'v>(obj: &'v Value, segs: &[String], out: &mut Vec<&'v Value>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(obj);
        return;
    };
    match obj {
        Value::Array(items) => items.iter().for_each(|i| collect(i, segs, out)),
        Value::Object(m) => {
            let name = first.strip_suffix("[]").unwrap_or(first);
            if let Some(f) = m.get(name) {
                collect(f, rest, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_with_escapes() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            ["metadata", "annotations", "a.io/b"]
        );
        assert_eq!(
            split_path("spec/containers[]/image"),
            ["spec", "containers[]", "image"]
        );
    }

    #[test]
    fn walk_creates_and_traverses_sequences() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let segs = split_path("spec/containers[]/image");
        walk(&mut v, &segs, true, Create::Scalar, &mut |n| {
            *n = json!(format!("{}:1", n.as_str().unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(v["spec"]["containers"][1]["image"], json!("b:1"));
        let mut m = json!({"metadata": {}});
        walk(
            &mut m,
            &split_path("spec/template/metadata/labels"),
            true,
            Create::Map,
            &mut |n| {
                n.as_object_mut().unwrap().insert("a".into(), json!("b"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(m["spec"]["template"]["metadata"]["labels"]["a"], json!("b"));
        let mut untouched = json!({"metadata": {}});
        walk(
            &mut untouched,
            &split_path("spec/selector/matchLabels"),
            false,
            Create::Map,
            &mut |_| Ok(()),
        )
        .unwrap();
        assert_eq!(untouched, json!({"metadata": {}}));
    }
}
