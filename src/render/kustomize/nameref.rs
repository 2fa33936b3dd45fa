//! The name-reference fix-up kustomize runs once at the end of a build: every field that names
//! another object (a ConfigMap in a volume, a Service in an Ingress backend, a ServiceAccount in
//! a binding's subjects...) follows that object's renames (prefix, suffix, hash, namespace).

use super::config::TransformerConfig;
use super::fieldspec::{Create, Gvk, walk_shared};
use super::resource::{ResMap, Resource, is_cluster_scoped};
use serde_json::Value;

/// kustomize's `SameEndingSubSlice`.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    let diff = long.len() - short.len();
    short.iter().enumerate().all(|(i, s)| long[i + diff] == *s)
}

fn affixes_match(a: &Resource, b: &Resource, either: bool) -> bool {
    let p = same_ending(&a.prefixes, &b.prefixes);
    let s = same_ending(&a.suffixes, &b.suffixes);
    if either { p || s } else { p && s }
}

struct Ref<'a> {
    list: &'a [Resource],
    referrer: usize,
    target: Gvk,
    role_ref: Option<(String, String)>,
}

impl Ref<'_> {
    fn candidates(&self) -> Result<Vec<usize>, String> {
        let r = &self.list[self.referrer];
        let rid = r.cur_id();
        if is_cluster_scoped(&rid.gvk) {
            return Ok((0..self.list.len())
                .filter(|&i| !self.list[i].prev.is_empty())
                .collect());
        }
        let mut namespaces = vec![rid.effective_namespace().to_string()];
        if rid.gvk.kind == "RoleBinding"
            && let Some(Value::Array(subjects)) = r.obj.get("subjects")
        {
            for s in subjects {
                if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                    match s.get("namespace") {
                        Some(Value::String(ns)) if !ns.is_empty() => {
                            namespaces.push(ns.to_string())
                        }
                        None => {}
                        Some(_) => {
                            return Err(format!(
                                "Invalid Input: namespace is blank for resource \"{rid}\""
                            ));
                        }
                    }
                }
            }
        }
        Ok((0..self.list.len())
            .filter(|&i| !self.list[i].prev.is_empty())
            .filter(|&i| {
                let id = self.list[i].cur_id();
                is_cluster_scoped(&id.gvk)
                    || namespaces.iter().any(|n| n == id.effective_namespace())
            })
            .collect())
    }

    fn select(&self, old: &str, mut cands: Vec<usize>) -> Result<Option<usize>, String> {
        let list = self.list;
        cands.retain(|&i| list[i].prev.iter().any(|p| p.name == old));
        cands.retain(|&i| {
            list[i]
                .prev
                .iter()
                .any(|p| p.gvk.is_selected_by(&self.target))
        });
        if let Some((group, kind)) = &self.role_ref {
            cands.retain(|&i| {
                list[i]
                    .prev
                    .iter()
                    .any(|p| &p.gvk.group == group && &p.gvk.kind == kind)
            });
        }
        let referrer = &list[self.referrer];
        let rid = referrer.cur_id();
        if !is_cluster_scoped(&rid.gvk) {
            cands.retain(|&i| {
                let id = list[i].cur_id();
                id.effective_namespace() == rid.effective_namespace()
                    || is_cluster_scoped(&id.gvk)
                    || id.gvk.kind == "ServiceAccount"
            });
        }
        if cands.len() == 1 {
            return Ok(Some(cands[0]));
        }
        cands.retain(|&i| affixes_match(&list[i], referrer, true));
        if cands.len() > 1 {
            cands.retain(|&i| affixes_match(&list[i], referrer, false));
        }
        match cands.len() {
            0 => Ok(None),
            1 => Ok(Some(cands[0])),
            _ => {
                let first = list[cands[0]].cur_id();
                if cands.iter().all(|&i| list[i].cur_id() == first) {
                    Ok(Some(cands[0]))
                } else {
                    let ids: Vec<String> = cands
                        .iter()
                        .map(|&i| list[i].cur_id().to_string())
                        .collect();
                    Err(format!(
                        "found multiple possible referrals: [{}]",
                        ids.join(" ")
                    ))
                }
            }
        }
    }

    /// The new value of one node at the end of a referrer path.
    fn rewrite(&self, node: &mut Value, cands: &[usize]) -> Result<(), String> {
        match node {
            Value::String(old) => {
                if let Some(t) = self.select(old, cands.to_vec())? {
                    let name = self.list[t].name();
                    if name != old {
                        *old = name.to_string();
                    }
                }
                Ok(())
            }
            Value::Object(m) => {
                let Some(Value::String(old)) = m.get("name").cloned() else {
                    return Err("path config error; no 'name' field in node".into());
                };
                let mut c = cands.to_vec();
                if let Some(Value::String(ns)) = m.get("namespace") {
                    let by_org: Vec<usize> = c
                        .iter()
                        .copied()
                        .filter(|&i| self.list[i].org_id().effective_namespace() == effective(ns))
                        .collect();
                    c = if !by_org.is_empty() {
                        by_org
                    } else {
                        c.into_iter()
                            .filter(|&i| {
                                self.list[i].cur_id().effective_namespace() == effective(ns)
                            })
                            .collect()
                    };
                }
                if let Some(t) = self.select(&old, c)? {
                    let target = &self.list[t];
                    m.insert("name".into(), Value::String(target.name().to_string()));
                    if !target.namespace().is_empty() {
                        m.insert(
                            "namespace".into(),
                            Value::String(target.namespace().to_string()),
                        );
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                for it in items {
                    if it.is_string() || it.is_object() {
                        self.rewrite(it, cands)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn effective(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

/// Rewrites every name reference in the map.
pub fn fix(m: &mut ResMap, tc: &TransformerConfig) -> Result<(), String> {
    for back in &tc.name_reference {
        let target = back.gvk();
        for fs in &back.field_specs {
            let segs = fs.segments();
            let role_ref_path = fs.path.ends_with("roleRef/name");
            for i in 0..m.list.len() {
                if !m.list[i].org_id().gvk.is_selected_by(&fs.gvk()) {
                    continue;
                }
                let mut found = Vec::new();
                super::fieldspec::collect(&m.list[i].obj, &segs, &mut found);
                if found.is_empty() {
                    continue;
                }
                let role_ref = role_ref_path.then(|| {
                    let rr = m.list[i].obj.get("roleRef");
                    let s = |k| {
                        rr.and_then(|r| r.get(k))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    (s("apiGroup"), s("kind"))
                });
                // Compute on a copy of the referrer, so candidates can be read from the map.
                let mut obj = m.list[i].obj.clone();
                {
                    let r = Ref {
                        list: &m.list,
                        referrer: i,
                        target: target.clone(),
                        role_ref,
                    };
                    let cands: std::cell::OnceCell<Result<Vec<usize>, String>> =
                        std::cell::OnceCell::new();
                    walk_shared(
                        &mut obj,
                        &segs,
                        false,
                        Create::Nothing,
                        &mut |n: &mut Value| {
                            let c = cands
                                .get_or_init(|| r.candidates())
                                .as_ref()
                                .map_err(Clone::clone)?;
                            r.rewrite(n, c)
                        },
                    )?;
                }
                m.list[i].obj = obj;
            }
        }
    }
    Ok(())
}
