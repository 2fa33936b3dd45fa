//! Legacy `vars` (bound to an object at the level that declares them, resolved once at the end
//! into `$(VAR)` references at the `varReference` fields) and `replacements` (a source field
//! copied into target fields, in order).

use super::config::TransformerConfig;
use super::fieldspec::{Create, Gvk, walk_shared};
use super::resource::{ResId, ResMap, Resource, gvk_from};
use super::types::{Replacement, ReplacementOptions, Selector, Var};
use crate::object::selector::Selector as LabelSelector;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn var_gvk(v: &Var) -> Gvk {
    let o = &v.objref;
    if !o.api_version.is_empty() {
        gvk_from(&o.api_version, &o.kind)
    } else {
        Gvk {
            group: o.group.clone(),
            version: o.version.clone(),
            kind: o.kind.clone(),
        }
    }
}

/// Binds a level's vars to the objects they name (kustomize's `MergeVars`).
pub fn bind(m: &mut ResMap, vars: &[Var]) -> Result<(), String> {
    for v in vars {
        let target = ResId {
            gvk: var_gvk(v),
            name: v.objref.name.clone(),
            namespace: v.objref.namespace.clone(),
        };
        let exact = !target.namespace.is_empty() || super::resource::is_cluster_scoped(&target.gvk);
        let hits = m.by_any_id(|id| {
            if exact {
                id.same(&target)
            } else {
                id.same_gvkn(&target)
            }
        });
        if hits.len() > 1 {
            return Err(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                hits.len(),
                v.name
            ));
        }
        if let Some(&i) = hits.first() {
            m.list[i].ref_vars.push(v.name.clone());
        }
    }
    Ok(())
}

/// Splits a field path on `.`, keeping `[...]` segments whole and splitting `a[k=v]`.
pub fn split_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // `[a.b]` without `=` escapes dots in a map key; the brackets go.
    for seg in out.iter_mut() {
        if seg.starts_with('[') && seg.ends_with(']') && !seg.contains('=') {
            *seg = seg[1..seg.len() - 1].to_string();
        }
    }
    out
}

/// Reads a value at a field path (`[k=v]` exact, numbers index lists, `-` the last element).
pub fn get_path<'v>(v: &'v Value, segs: &[String]) -> Option<&'v Value> {
    let mut cur = v;
    for s in segs {
        cur = match cur {
            Value::Object(m) => m.get(s.as_str())?,
            Value::Array(a) => {
                if let Some(sel) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                    let (k, want) = sel.split_once('=')?;
                    a.iter().find(|e| {
                        if k.is_empty() {
                            scalar_text(e).as_deref() == Some(want)
                        } else {
                            e.get(k).and_then(scalar_text).as_deref() == Some(want)
                        }
                    })?
                } else if s == "-" {
                    a.last()?
                } else {
                    a.get(s.parse::<usize>().ok()?)?
                }
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown references stay.
fn expand(input: &str, vars: &BTreeMap<String, Value>, used: &mut Vec<String>) -> String {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest[1..].find(')') {
                    Some(end) => {
                        let name = &rest[1..1 + end];
                        match vars.get(name) {
                            Some(v) => {
                                used.push(name.to_string());
                                out.push_str(&scalar_text(v).unwrap_or_else(|| v.to_string()));
                            }
                            None => out.push_str(&format!("$({name})")),
                        }
                        end + 2
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or_default();
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(input.get(checkpoint..).unwrap_or(""));
    out
}

fn expand_node(
    n: &mut Value,
    vars: &BTreeMap<String, Value>,
    used: &mut Vec<String>,
) -> Result<(), String> {
    match n {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("$(").and_then(|x| x.strip_suffix(')'))
                && let Some(v) = vars.get(name)
                && !v.is_string()
                && !name.contains('$')
            {
                used.push(name.to_string());
                *n = v.clone();
                return Ok(());
            }
            *s = expand(s, vars, used);
        }
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *s = expand(s, vars, used);
                }
            }
        }
        Value::Array(a) => {
            for v in a.iter_mut() {
                match v {
                    Value::String(s) => *s = expand(s, vars, used),
                    _ => return Err("invalid value type expect a string".into()),
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Resolves every var and substitutes `$(VAR)` at the var reference fields. Returns the names
/// of vars that were declared but never used.
pub fn resolve(
    m: &mut ResMap,
    vars: &[Var],
    tc: &TransformerConfig,
) -> Result<Vec<String>, String> {
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    let mut values = BTreeMap::new();
    for v in vars {
        let path = if v.fieldref.fieldpath.is_empty() {
            "metadata.name"
        } else {
            v.fieldref.fieldpath.as_str()
        };
        let holder = m.list.iter().find(|r| r.ref_vars.contains(&v.name));
        let Some(r) = holder else {
            return Err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.name
            ));
        };
        let value = get_path(&r.obj, &split_field_path(path)).ok_or_else(|| {
            format!(
                "field specified in var '{}' not found in corresponding resource",
                v.name
            )
        })?;
        values.insert(v.name.clone(), value.clone());
    }
    let mut used = Vec::new();
    for r in m.list.iter_mut() {
        let gvk = r.gvk();
        for fs in &tc.var_reference {
            if fs.applies_to(&gvk) {
                walk_shared(
                    &mut r.obj,
                    &fs.segments(),
                    false,
                    Create::Nothing,
                    &mut |n: &mut Value| expand_node(n, &values, &mut used),
                )?;
            }
        }
    }
    Ok(values
        .keys()
        .filter(|k| !used.contains(k))
        .cloned()
        .collect())
}

fn selected_by(r: &Resource, sel: &Selector) -> bool {
    r.all_ids().iter().any(|id| {
        (sel.name.is_empty() || sel.name == id.name)
            && (sel.namespace.is_empty()
                || ResId {
                    namespace: sel.namespace.clone(),
                    ..id.clone()
                }
                .effective_namespace()
                    == id.effective_namespace())
            && id.gvk.is_selected_by(&Gvk {
                group: sel.group.clone(),
                version: sel.version.clone(),
                kind: sel.kind.clone(),
            })
    })
}

fn label_selected(r: &Resource, sel: &Selector) -> Result<bool, String> {
    let labels = LabelSelector::parse(&sel.label_selector)?;
    let annotations = LabelSelector::parse(&sel.annotation_selector)?;
    Ok(labels.matches(r.labels()) && annotations.matches(r.annotations()))
}

fn set_target(
    target: &mut Value,
    value: &Value,
    options: Option<&ReplacementOptions>,
) -> Result<(), String> {
    let mut value = value.clone();
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty()) {
        let Some(current) = (if target.is_null() {
            Some(String::new())
        } else {
            scalar_text(target)
        }) else {
            return Err("delimiter option can only be used with scalar nodes".into());
        };
        let mut parts: Vec<String> = current
            .split(o.delimiter.as_str())
            .map(String::from)
            .collect();
        let v = scalar_text(&value).unwrap_or_default();
        if o.index < 0 {
            parts.insert(0, v);
        } else if o.index as usize >= parts.len() {
            parts.push(v);
        } else {
            parts[o.index as usize] = v;
        }
        value = Value::String(parts.join(&o.delimiter));
    }
    let text = scalar_text(&value);
    *target = match (&*target, text) {
        // A scalar target keeps its type; only its text changes.
        (Value::Number(_), Some(t)) => crate::syntax::scalar::resolve_plain(&t)
            .ok()
            .filter(Value::is_number)
            .unwrap_or(Value::String(t)),
        (Value::Bool(_), Some(t)) if t == "true" || t == "false" => Value::Bool(t == "true"),
        (Value::String(_), Some(t)) => Value::String(t),
        _ => value,
    };
    Ok(())
}

/// Walks a target field path, creating what is missing when asked; calls `set` on each match.
fn apply_path(
    v: &mut Value,
    segs: &[String],
    create: bool,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<bool, String> {
    let Some((s, rest)) = segs.split_first() else {
        set(v)?;
        return Ok(true);
    };
    match v {
        Value::Object(m) => {
            if !m.contains_key(s.as_str()) {
                if !create {
                    return Ok(false);
                }
                let fresh = if rest
                    .first()
                    .is_some_and(|n| n.starts_with('[') || n.parse::<usize>().is_ok())
                {
                    Value::Array(Vec::new())
                } else if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                };
                m.insert(s.clone(), fresh);
            }
            apply_path(m.get_mut(s.as_str()).expect("present"), rest, create, set)
        }
        Value::Array(a) => {
            if s == "*" {
                let mut any = false;
                for e in a.iter_mut() {
                    any |= apply_path(e, rest, create, set)?;
                }
                return Ok(any);
            }
            if let Some(sel) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                let (k, want) = sel.split_once('=').unwrap_or(("", sel));
                let re = regex::Regex::new(want).map_err(|e| e.to_string())?;
                let mut any = false;
                for e in a.iter_mut() {
                    let text = if k.is_empty() {
                        scalar_text(e)
                    } else {
                        e.get(k).and_then(scalar_text)
                    };
                    if text.is_some_and(|t| re.is_match(&t)) {
                        any |= apply_path(e, rest, create, set)?;
                    }
                }
                if !any && create && !k.is_empty() {
                    let mut fresh = Map::new();
                    fresh.insert(k.to_string(), Value::String(want.to_string()));
                    a.push(Value::Object(fresh));
                    let last = a.last_mut().expect("pushed");
                    return apply_path(last, rest, create, set);
                }
                return Ok(any);
            }
            let Ok(i) = s.parse::<usize>() else {
                return Ok(false);
            };
            if i == a.len() && create {
                a.push(if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                });
            }
            match a.get_mut(i) {
                Some(e) => apply_path(e, rest, create, set),
                None => Ok(false),
            }
        }
        Value::Null if create => {
            *v = Value::Object(Map::new());
            apply_path(v, segs, create, set)
        }
        _ => Ok(false),
    }
}

/// Runs replacements in order.
pub fn replace(m: &mut ResMap, replacements: &[Replacement]) -> Result<(), String> {
    for r in replacements {
        let (Some(source), Some(targets)) = (&r.source, &r.targets) else {
            return Err("replacements must specify a source and at least one target".into());
        };
        let sel = Selector {
            group: source.group.clone(),
            version: source.version.clone(),
            kind: source.kind.clone(),
            name: source.name.clone(),
            namespace: source.namespace.clone(),
            ..Selector::default()
        };
        let hits: Vec<usize> = (0..m.list.len())
            .filter(|&i| selected_by(&m.list[i], &sel))
            .collect();
        let describe = || {
            format!(
                "{}.{}.{}/{}",
                source.kind, source.version, source.group, source.name
            )
        };
        let i = match hits.as_slice() {
            [i] => *i,
            [] => return Err(format!("nothing selected by {}", describe())),
            _ => return Err(format!("multiple matches for selector {}", describe())),
        };
        let path = if source.field_path.is_empty() {
            "metadata.name"
        } else {
            source.field_path.as_str()
        };
        let mut value = get_path(&m.list[i].obj, &split_field_path(path))
            .filter(|v| !v.is_null())
            .cloned()
            .ok_or_else(|| {
                format!(
                    "fieldPath `{path}` is missing for replacement source {}",
                    describe()
                )
            })?;
        if let Some(o) = source.options.as_ref().filter(|o| !o.delimiter.is_empty()) {
            let text = scalar_text(&value).unwrap_or_default();
            let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
            let idx = usize::try_from(o.index).ok().filter(|i| *i < parts.len());
            let Some(idx) = idx else {
                return Err(format!(
                    "options.index {} is out of bounds for value {text}",
                    o.index
                ));
            };
            value = Value::String(parts[idx].to_string());
        }
        for t in targets {
            let Some(select) = &t.select else {
                return Err("a replacement target needs `select`".into());
            };
            for res in m.list.iter_mut() {
                if !label_selected(res, select)? || !selected_by(res, select) {
                    continue;
                }
                let mut rejected = false;
                for rej in &t.reject {
                    let has_id = !(rej.group.is_empty()
                        && rej.version.is_empty()
                        && rej.kind.is_empty()
                        && rej.name.is_empty()
                        && rej.namespace.is_empty());
                    let by_labels =
                        !(rej.label_selector.is_empty() && rej.annotation_selector.is_empty());
                    if (by_labels && label_selected(res, rej)?) || (has_id && selected_by(res, rej))
                    {
                        rejected = true;
                    }
                }
                if rejected {
                    continue;
                }
                let paths = if t.field_paths.is_empty() {
                    vec!["metadata.name".to_string()]
                } else {
                    t.field_paths.clone()
                };
                let create = t.options.as_ref().is_some_and(|o| o.create);
                for fp in &paths {
                    let segs = split_field_path(fp);
                    let found = apply_path(res.obj_mut(), &segs, create, &mut |n: &mut Value| {
                        set_target(n, &value, t.options.as_ref())
                    })?;
                    if !found {
                        let what = if create {
                            "unable to find or create field"
                        } else {
                            "unable to find field"
                        };
                        return Err(format!("{what} \"{fp}\" in replacement target"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dollar_paren_expansion() {
        let vars: BTreeMap<String, Value> =
            [("A".to_string(), json!("x")), ("N".to_string(), json!(3))].into();
        let mut used = Vec::new();
        assert_eq!(
            expand("$(A)-$(B)-$$(A)-$x", &vars, &mut used),
            "x-$(B)-$(A)-$x"
        );
        let mut n = json!("$(N)");
        expand_node(&mut n, &vars, &mut used).unwrap();
        assert_eq!(n, json!(3));
    }

    #[test]
    fn field_paths() {
        assert_eq!(
            split_field_path("spec.containers.[name=app].image"),
            ["spec", "containers", "[name=app]", "image"]
        );
        assert_eq!(
            split_field_path("spec.containers[name=a.b].image"),
            ["spec", "containers", "[name=a.b]", "image"]
        );
        let v = json!({"spec": {"containers": [{"name": "app", "image": "x"}]}});
        assert_eq!(
            get_path(&v, &split_field_path("spec.containers.[name=app].image")),
            Some(&json!("x"))
        );
        assert_eq!(
            get_path(&v, &split_field_path("spec.containers.0.name")),
            Some(&json!("app"))
        );
    }
}
