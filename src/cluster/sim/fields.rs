//! Field sets, as server-side apply tracks ownership: every leaf a manager sets, every item of
//! an associative list (keyed by its `x-kubernetes-list-map-keys`, or the patch merge key of a
//! built-in type), every value of a set list. Atomic lists and maps are leaves. Paths print as
//! the API server prints them in conflicts: `.spec.template.spec.containers[name="a"].image`.
//!
//! Also here: the structured merge of an applied configuration into a live object, and the
//! removal of fields a manager stopped applying.

use crate::schema::{Additional, ListType, NodeId, Schemas};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Field(String),
    /// An item of an associative list by its keys: `(key, value as JSON)`.
    Key(Vec<(String, String)>),
    /// A value of a set list, as JSON.
    Value(String),
    /// An item of an atomic list, by position (only in error paths).
    Index(usize),
}

pub type Path = Vec<Seg>;
pub type FieldSet = BTreeSet<Path>;

/// A path as the API server prints it.
pub struct Display<'a>(pub &'a Path);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.0 {
            match s {
                Seg::Field(n) => write!(f, ".{n}")?,
                Seg::Key(kv) => {
                    f.write_str("[")?;
                    for (i, (k, v)) in kv.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{k}={v}")?;
                    }
                    f.write_str("]")?;
                }
                Seg::Value(v) => write!(f, "[={v}]")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// How a list merges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// Schema navigation for the merge (absent schema: maps granular, lists atomic).
#[derive(Clone, Copy)]
pub struct Schema<'s> {
    pub schemas: Option<&'s Schemas>,
    pub node: Option<NodeId>,
}

impl<'s> Schema<'s> {
    pub fn none() -> Schema<'static> {
        Schema {
            schemas: None,
            node: None,
        }
    }

    fn child(self, name: &str) -> Schema<'s> {
        let node = self.schemas.zip(self.node).and_then(|(s, id)| {
            let n = s.node(id);
            n.property(name).or(match n.additional {
                Additional::Schema(a) => Some(a),
                _ => None,
            })
        });
        Schema {
            schemas: self.schemas,
            node,
        }
    }

    fn items(self) -> Schema<'s> {
        let node = self
            .schemas
            .zip(self.node)
            .and_then(|(s, id)| s.node(id).items);
        Schema {
            schemas: self.schemas,
            node,
        }
    }

    fn list_kind(self) -> ListKind {
        let Some((s, id)) = self.schemas.zip(self.node) else {
            return ListKind::Atomic;
        };
        let n = s.node(id);
        match &n.list_type {
            ListType::Map(keys) if !keys.is_empty() => ListKind::Map(keys.clone()),
            ListType::Set => ListKind::Set,
            _ => match (&n.patch_merge_key, n.patch_strategy.as_deref()) {
                // Built-in types: `patchStrategy: merge` with a merge key is an associative list.
                (Some(k), Some(ps)) if ps.contains("merge") => ListKind::Map(vec![k.to_string()]),
                (None, Some(ps)) if ps.contains("merge") => ListKind::Set,
                _ => ListKind::Atomic,
            },
        }
    }

    /// Whether a map is atomic (`x-kubernetes-map-type: atomic`, or a schema-less value of an
    /// object declared without properties that preserves nothing). Maps are granular otherwise.
    fn atomic_map(self) -> bool {
        self.schemas
            .zip(self.node)
            .is_some_and(|(s, id)| s.node(id).atomic_map)
    }

    /// The schema default of a field of this object node.
    fn default_of(self, field: &str) -> Option<&'s Value> {
        let (s, id) = self.schemas.zip(self.node)?;
        let child = s.node(id).property(field)?;
        s.node(child).default.as_deref()
    }
}

/// The key of an associative list's item: its key fields, a missing one taken from the schema
/// default (`protocol: TCP` for ports) as the API server does.
fn key_of(item: &Value, keys: &[String], item_schema: Schema) -> Option<Vec<(String, String)>> {
    let m = item.as_object()?;
    let mut out = Vec::new();
    for k in keys {
        if let Some(v) = m.get(k).or_else(|| item_schema.default_of(k)) {
            out.push((k.clone(), v.to_string()));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn json(v: &Value) -> String {
    v.to_string()
}

/// The fields a configuration sets.
pub fn field_set(v: &Value, schema: Schema) -> FieldSet {
    let mut out = FieldSet::new();
    let mut path = Vec::new();
    collect(v, schema, &mut path, &mut out);
    out
}

fn collect(v: &Value, schema: Schema, path: &mut Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() && !schema.atomic_map() => {
            for (k, c) in m {
                path.push(Seg::Field(k.clone()));
                collect(c, schema.child(k), path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match schema.list_kind() {
            ListKind::Map(keys) => {
                for it in items {
                    match key_of(it, &keys, schema.items()) {
                        Some(k) => {
                            path.push(Seg::Key(k));
                            out.insert(path.clone());
                            collect(it, schema.items(), path, out);
                            path.pop();
                        }
                        None => {
                            out.insert(path.clone());
                        }
                    }
                }
            }
            ListKind::Set => {
                for it in items {
                    path.push(Seg::Value(json(it)));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone());
            }
        },
        _ if path.is_empty() => {}
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Fields of `v` its schema does not declare, as server-side apply refuses them (`field not
/// declared in schema`). Nothing is reported where the schema is unknown or open.
pub fn undeclared(v: &Value, schema: Schema) -> Vec<Path> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk_undeclared(v, schema, &mut path, &mut out);
    out
}

fn walk_undeclared(v: &Value, schema: Schema, path: &mut Path, out: &mut Vec<Path>) {
    let Some((s, id)) = schema.schemas.zip(schema.node) else {
        return;
    };
    let node = s.node(id);
    match v {
        Value::Object(m) if !node.open() => {
            for (k, c) in m {
                path.push(Seg::Field(k.clone()));
                let known = node.property(k).is_some()
                    || matches!(node.additional, Additional::Schema(_) | Additional::Any);
                if known {
                    walk_undeclared(c, schema.child(k), path, out);
                } else {
                    out.push(path.clone());
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let keys = match schema.list_kind() {
                ListKind::Map(keys) => Some(keys),
                _ => None,
            };
            for (i, it) in items.iter().enumerate() {
                let seg = match keys.as_ref().and_then(|k| key_of(it, k, schema.items())) {
                    Some(k) => Seg::Key(k),
                    None => Seg::Index(i),
                };
                path.push(seg);
                walk_undeclared(it, schema.items(), path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Removes the fields of `v` its schema does not declare, naming each as strict decoding
/// names it (`spec.template.spec.containers[0].imagePullPolcy`), in document order.
pub fn drop_undeclared(v: &mut Value, schema: Schema) -> Vec<String> {
    fn walk(v: &mut Value, schema: Schema, path: &str, out: &mut Vec<String>) {
        let Some((s, id)) = schema.schemas.zip(schema.node) else {
            return;
        };
        let node = s.node(id);
        match v {
            Value::Object(m) if !node.open() => {
                let known = |k: &str| {
                    node.property(k).is_some()
                        || matches!(node.additional, Additional::Schema(_) | Additional::Any)
                };
                let unknown: Vec<String> = m.keys().filter(|k| !known(k)).cloned().collect();
                for k in m.keys() {
                    if !known(k) {
                        out.push(if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        });
                    }
                }
                for k in unknown {
                    m.remove(&k);
                }
                for (k, c) in m.iter_mut() {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(c, schema.child(k), &p, out);
                }
            }
            Value::Array(items) => {
                for (i, it) in items.iter_mut().enumerate() {
                    walk(it, schema.items(), &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, schema, "", &mut out);
    out
}

/// Paths of the granular maps inside `v` (not the root): an Update that creates one owns it.
pub fn map_nodes(v: &Value, schema: Schema) -> FieldSet {
    fn walk(v: &Value, schema: Schema, path: &mut Path, out: &mut FieldSet) {
        match v {
            Value::Object(m) if !schema.atomic_map() => {
                if !path.is_empty() && !matches!(path.last(), Some(Seg::Key(_))) {
                    out.insert(path.clone());
                }
                for (k, c) in m {
                    path.push(Seg::Field(k.clone()));
                    walk(c, schema.child(k), path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                if let ListKind::Map(keys) = schema.list_kind() {
                    for it in items {
                        if let Some(k) = key_of(it, &keys, schema.items()) {
                            path.push(Seg::Key(k));
                            walk(it, schema.items(), path, out);
                            path.pop();
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = FieldSet::new();
    walk(v, schema, &mut Vec::new(), &mut out);
    out
}

fn find_item(items: &[Value], key: &[(String, String)], item_schema: Schema) -> Option<usize> {
    let names: Vec<String> = key.iter().map(|(k, _)| k.clone()).collect();
    items
        .iter()
        .position(|it| key_of(it, &names, item_schema).as_deref() == Some(key))
}

/// The value at a path, if present.
pub fn get<'v>(v: &'v Value, path: &[Seg], schema: Schema) -> Option<&'v Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    match (first, v) {
        (Seg::Field(n), Value::Object(m)) => get(m.get(n)?, rest, schema.child(n)),
        (Seg::Key(k), Value::Array(items)) => get(
            &items[find_item(items, k, schema.items())?],
            rest,
            schema.items(),
        ),
        (Seg::Value(j), Value::Array(items)) => items
            .iter()
            .find(|it| &json(it) == j)
            .and_then(|it| get(it, rest, schema.items())),
        _ => None,
    }
}

/// Removes the node at a path (a map entry, a list item); empty parents are left in place.
pub fn remove(v: &mut Value, path: &[Seg], schema: Schema) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match (first, v) {
        (Seg::Field(n), Value::Object(m)) => {
            if rest.is_empty() {
                m.remove(n);
            } else if let Some(c) = m.get_mut(n) {
                remove(c, rest, schema.child(n));
            }
        }
        (Seg::Key(k), Value::Array(items)) => {
            if let Some(i) = find_item(items, k, schema.items()) {
                if rest.is_empty() {
                    items.remove(i);
                } else {
                    remove(&mut items[i], rest, schema.items());
                }
            }
        }
        (Seg::Value(j), Value::Array(items)) if rest.is_empty() => {
            items.retain(|it| &json(it) != j);
        }
        _ => {}
    }
}

/// Merges `config` into `live` the way server-side apply does: maps field by field,
/// associative lists item by item (live order kept, new items after), set lists by value,
/// everything else replaced.
pub fn merge(live: &Value, config: &Value, schema: Schema) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !schema.atomic_map() => {
            let mut out: Map<String, Value> = l.clone();
            for (k, cv) in c {
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, cv, schema.child(k)),
                    None => cv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match schema.list_kind() {
            ListKind::Map(keys) => {
                let mut out: Vec<Value> = l.clone();
                for it in c {
                    match key_of(it, &keys, schema.items())
                        .and_then(|k| find_item(&out, &k, schema.items()))
                    {
                        Some(i) => out[i] = merge(&out[i], it, schema.items()),
                        None => out.push(it.clone()),
                    }
                }
                Value::Array(out)
            }
            ListKind::Set => {
                let mut out = l.clone();
                for it in c {
                    if !out.contains(it) {
                        out.push(it.clone());
                    }
                }
                Value::Array(out)
            }
            ListKind::Atomic => config.clone(),
        },
        _ => config.clone(),
    }
}

/// Leaves (as field-set paths) whose values differ between two objects, including paths
/// present in only one of them.
pub fn changed(before: &Value, after: &Value, schema: Schema) -> FieldSet {
    let mut out = FieldSet::new();
    changed_below(Some(before), Some(after), schema, &mut Vec::new(), &mut out);
    out
}

/// `changed` below `path`: equal subtrees are skipped whole, a subtree on one side only is
/// changed everywhere, maps are walked key by key, and anything else (lists, scalars, atomic
/// maps) is compared path by path as the field sets name them.
fn changed_below(
    before: Option<&Value>,
    after: Option<&Value>,
    schema: Schema,
    path: &mut Path,
    out: &mut FieldSet,
) {
    match (before, after) {
        (Some(x), Some(y)) if x == y => {}
        (None, None) => {}
        (Some(v), None) | (None, Some(v)) => collect(v, schema, path, out),
        // A whole object against nothing (a creation): every path of the object.
        (Some(Value::Null), Some(v)) | (Some(v), Some(Value::Null)) if path.is_empty() => {
            collect(v, schema, path, out)
        }
        (Some(Value::Object(x)), Some(Value::Object(y)))
            if !x.is_empty() && !y.is_empty() && !schema.atomic_map() =>
        {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                path.push(Seg::Field(k.clone()));
                changed_below(x.get(k), y.get(k), schema.child(k), path, out);
                path.pop();
            }
        }
        (Some(x), Some(y)) => {
            let (mut a, mut b) = (FieldSet::new(), FieldSet::new());
            collect(x, schema, path, &mut a);
            collect(y, schema, path, &mut b);
            let depth = path.len();
            for p in a.union(&b) {
                let rel = &p[depth..];
                let (x, y) = (get(x, rel, schema), get(y, rel, schema));
                // An item of a list changes by coming or going; its fields change on their own.
                let differs = if matches!(p.last(), Some(Seg::Key(_))) {
                    x.is_some() != y.is_some()
                } else {
                    x != y
                };
                if differs {
                    out.insert(p.clone());
                }
            }
        }
    }
}

/// Whether a path is `prefix` or below it.
pub fn under(path: &[Seg], prefix: &[Seg]) -> bool {
    path.len() >= prefix.len() && path[..prefix.len()] == *prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_print_as_the_server_prints_them() {
        let p = vec![
            Seg::Field("spec".into()),
            Seg::Field("containers".into()),
            Seg::Key(vec![("name".into(), "\"a\"".into())]),
            Seg::Field("image".into()),
        ];
        assert_eq!(
            Display(&p).to_string(),
            ".spec.containers[name=\"a\"].image"
        );
    }

    #[test]
    fn schemaless_maps_merge_and_lists_replace() {
        let live = json!({"a": 1, "b": {"c": 2}, "l": [1, 2]});
        let cfg = json!({"b": {"d": 3}, "l": [3]});
        assert_eq!(
            merge(&live, &cfg, Schema::none()),
            json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [3]})
        );
        let fs = field_set(&cfg, Schema::none());
        let shown: Vec<String> = fs.iter().map(|p| Display(p).to_string()).collect();
        assert_eq!(shown, [".b.d", ".l"]);
    }

    /// `changed` as first written: both field sets whole, then every path looked up on both
    /// sides. The walk that skips equal subtrees must answer the same.
    fn changed_by_paths(before: &Value, after: &Value, schema: Schema) -> FieldSet {
        let (a, b) = (field_set(before, schema), field_set(after, schema));
        a.union(&b)
            .filter(|p| {
                let (x, y) = (get(before, p, schema), get(after, p, schema));
                if matches!(p.last(), Some(Seg::Key(_))) {
                    x.is_some() != y.is_some()
                } else {
                    x != y
                }
            })
            .cloned()
            .collect()
    }

    #[test]
    fn changed_skips_equal_subtrees_and_answers_as_every_path_compared() {
        let mut catalog = crate::schema::catalog::Catalog::builtin();
        let root = match catalog.resolve("apps", "v1", "Deployment") {
            crate::schema::catalog::Resolution::Found(r) => catalog.root(&r.clone()),
            _ => None,
        };
        let schema = Schema {
            schemas: Some(&catalog.schemas),
            node: root,
        };
        let base = json!({
            "metadata": {"labels": {"app": "a"}, "annotations": {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": {
                    "containers": [
                        {"name": "app", "image": "a:1", "ports": [{"containerPort": 80}],
                         "env": [{"name": "X", "value": "1"}], "args": ["-v"]},
                        {"name": "side", "image": "s:1"}],
                    "tolerations": [{"key": "k", "operator": "Exists"}]}}},
            "status": {"replicas": 2}
        });
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<Edit> = vec![
            Box::new(|_| {}),
            Box::new(|v| v["spec"]["replicas"] = json!(3)),
            Box::new(|v| v["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2")),
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            Box::new(|v| v["spec"]["template"]["spec"]["containers"][1]["name"] = json!("other")),
            Box::new(|v| v["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-q"])),
            Box::new(|v| v["spec"]["template"]["spec"]["containers"][0]["env"] = json!([])),
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] =
                    json!("UDP")
            }),
            Box::new(|v| v["spec"]["template"]["spec"]["tolerations"] = json!([{"key": "j"}])),
            Box::new(|v| v["metadata"]["annotations"] = json!({"a": "b"})),
            Box::new(|v| v["metadata"] = json!({})),
            Box::new(|v| v["spec"] = json!("not an object")),
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("status");
            }),
            Box::new(|v| *v = Value::Null),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut after = base.clone();
            edit(&mut after);
            for (x, y) in [(&base, &after), (&after, &base)] {
                for s in [schema, Schema::none()] {
                    assert_eq!(changed(x, y, s), changed_by_paths(x, y, s), "edit {i}");
                }
            }
        }
    }
}
