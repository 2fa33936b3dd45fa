//! kustomize's builtin transformers, applied to a resource map with field specs: namespace,
//! name prefix and suffix, labels and annotations, images, replicas.

use super::config::{TransformerConfig, merge_all, merge_one};
use super::fieldspec::{Create, FieldSpec, Gvk, walk_shared};
use super::resource::{ResMap, Resource, is_cluster_scoped};
use super::types::{Image, Label, Replica};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn set_string(v: &str) -> impl FnMut(&mut Value) -> Result<(), String> + '_ {
    move |n: &mut Value| {
        *n = Value::String(v.to_string());
        Ok(())
    }
}

/// Applies `set` at every field spec that selects the resource's current kind.
fn apply_specs(
    r: &mut Resource,
    specs: &[FieldSpec],
    create_kind: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let gvk = r.gvk();
    for fs in specs {
        if fs.applies_to(&gvk) {
            walk_shared(&mut r.obj, &fs.segments(), fs.create, create_kind, set)?;
        }
    }
    Ok(())
}

/// The `namespace:` field.
pub fn namespace(m: &mut ResMap, ns: &str, tc: &TransformerConfig) -> Result<(), String> {
    if ns.is_empty() {
        return Ok(());
    }
    for i in 0..m.list.len() {
        if m.list[i].is_empty() {
            continue;
        }
        let r = &mut m.list[i];
        r.store_previous_id();
        let gvk = r.gvk();
        let api_version = r
            .obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut specs: Vec<FieldSpec> = tc
            .name_space
            .iter()
            .filter(|fs| {
                fs.path != "metadata/namespace"
                    && (api_version == "v1" || fs.path != "metadata/name")
            })
            .cloned()
            .collect();
        if !is_cluster_scoped(&gvk) && r.namespace() != ns {
            walk_shared(
                &mut r.obj,
                &["metadata".into(), "namespace".into()],
                true,
                Create::Scalar,
                &mut set_string(ns),
            )?;
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            specs.retain(|fs| fs.path != "subjects/namespace");
            let defaults = r
                .obj
                .get("subjects")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|x| x.get("name").and_then(Value::as_str) == Some("default"))
                });
            if let Some(Value::Array(subjects)) =
                defaults.then(|| r.obj_mut().get_mut("subjects")).flatten()
            {
                for s in subjects.iter_mut() {
                    if s.get("name").and_then(Value::as_str) == Some("default")
                        && let Some(o) = s.as_object_mut()
                    {
                        o.insert("namespace".into(), Value::String(ns.to_string()));
                    }
                }
            }
        }
        let mut setter = |n: &mut Value| {
            if n.is_object() || n.is_array() {
                return Err("namespace field specs must target scalar nodes".to_string());
            }
            *n = Value::String(ns.to_string());
            Ok(())
        };
        apply_specs(r, &specs, Create::Scalar, &mut setter)?;
        let id = m.list[i].cur_id();
        if m.list.iter().filter(|x| x.has_current_id(&id)).count() != 1 {
            return Err(format!(
                "namespace transformation produces ID conflict: {id}"
            ));
        }
    }
    Ok(())
}

fn skips_affix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// `namePrefix:` or `nameSuffix:`.
pub fn affix(m: &mut ResMap, affix: &str, suffix: bool, specs: &[FieldSpec]) -> Result<(), String> {
    if affix.is_empty() {
        return Ok(());
    }
    for r in m.list.iter_mut() {
        let org = r.org_id();
        if skips_affix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected_by(&fs.gvk()) {
                continue;
            }
            if fs.path == "metadata/name" {
                if suffix {
                    r.suffixes.push(affix.to_string());
                } else {
                    r.prefixes.push(affix.to_string());
                }
                r.store_previous_id();
            }
            let mut setter = |n: &mut Value| {
                if let Value::String(s) = n {
                    *s = if suffix {
                        format!("{s}{affix}")
                    } else {
                        format!("{affix}{s}")
                    };
                }
                Ok(())
            };
            walk_shared(
                &mut r.obj,
                &fs.segments(),
                fs.create,
                Create::Nothing,
                &mut setter,
            )?;
        }
    }
    Ok(())
}

fn set_entries(
    pairs: &BTreeMap<String, String>,
) -> impl FnMut(&mut Value) -> Result<(), String> + '_ {
    move |n: &mut Value| {
        if n.is_null() {
            *n = Value::Object(Map::new());
        }
        let Value::Object(m) = n else {
            return Err("expected a mapping node to set labels or annotations in".to_string());
        };
        for (k, v) in pairs {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        Ok(())
    }
}

/// Sets key/value pairs (labels or annotations) at the given field specs of every resource.
pub fn set_pairs(
    m: &mut ResMap,
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in m.list.iter_mut() {
        apply_specs(r, specs, Create::Map, &mut set_entries(pairs))?;
    }
    Ok(())
}

/// The field specs one `labels:` entry uses.
pub fn label_specs(label: &Label, tc: &TransformerConfig) -> Result<Vec<FieldSpec>, String> {
    let mut fss = label.fields.clone();
    merge_all(&mut fss, &tc.labels)?;
    if label.include_selectors {
        merge_all(&mut fss, &tc.common_labels)?;
    } else {
        if label.include_templates {
            merge_all(&mut fss, &tc.template_labels)?;
        }
        merge_one(
            &mut fss,
            FieldSpec {
                path: "metadata/labels".into(),
                create: true,
                ..FieldSpec::default()
            },
        )?;
    }
    Ok(fss)
}

/// `image.Split`: name, tag and digest of an image reference.
fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|i| *i > 0).unwrap_or(0);
    let search = &image[slash..];
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (None, Some(d)) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) if d < c => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
    }
}

fn update_image(value: &str, img: &Image, matcher: &regex::Regex) -> Option<String> {
    if !matcher.is_match(value) {
        return None;
    }
    let (mut name, mut tag, mut digest) = split_image(value);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest = img.digest.clone();
    } else if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    Some(name)
}

/// True when [`legacy_images`] would change something.
fn legacy_images_change(v: &Value, img: &Image, matcher: &regex::Regex) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, child)| {
            ((k == "containers" || k == "initContainers")
                && child.as_array().into_iter().flatten().any(|c| {
                    c.get("image")
                        .and_then(Value::as_str)
                        .is_some_and(|s| update_image(s, img, matcher).is_some())
                }))
                || legacy_images_change(child, img, matcher)
        }),
        Value::Array(a) => a.iter().any(|x| legacy_images_change(x, img, matcher)),
        _ => false,
    }
}

fn legacy_images(v: &mut Value, img: &Image, matcher: &regex::Regex) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if (k == "containers" || k == "initContainers") && child.is_array() {
                    for c in child.as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(s)) = c.get_mut("image")
                            && let Some(new) = update_image(s, img, matcher)
                        {
                            *s = new;
                        }
                    }
                }
                legacy_images(child, img, matcher);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| legacy_images(x, img, matcher)),
        _ => {}
    }
}

/// One `images:` entry.
pub fn images(m: &mut ResMap, img: &Image, specs: &[FieldSpec]) -> Result<(), String> {
    let pattern = format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
        img.name
    );
    let Ok(matcher) = regex::Regex::new(&pattern) else {
        return Err(format!("invalid image name `{}`", img.name));
    };
    for r in m.list.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        if legacy_images_change(&r.obj, img, &matcher) {
            legacy_images(r.obj_mut(), img, &matcher);
        }
        let mut setter = |n: &mut Value| {
            if let Value::String(s) = n
                && let Some(new) = update_image(s, img, &matcher)
            {
                *s = new;
            }
            Ok(())
        };
        apply_specs(r, specs, Create::Nothing, &mut setter)?;
    }
    Ok(())
}

/// One `replicas:` entry.
pub fn replicas(m: &mut ResMap, rep: &Replica, specs: &[FieldSpec]) -> Result<(), String> {
    let mut found = false;
    for fs in specs {
        let sel = fs.gvk();
        let hits = m.by_any_id(|id| id.name == rep.name && id.gvk.is_selected_by(&sel));
        found |= !hits.is_empty();
        for i in hits {
            let count = rep.count;
            walk_shared(
                &mut m.list[i].obj,
                &fs.segments(),
                fs.create,
                Create::Scalar,
                &mut |n: &mut Value| {
                    *n = Value::from(count);
                    Ok(())
                },
            )?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs
            .iter()
            .map(|fs| {
                let or = |s: &str, d: &str| {
                    if s.is_empty() {
                        d.to_string()
                    } else {
                        s.to_string()
                    }
                };
                format!(
                    "{}.{}.{}",
                    or(&fs.kind, "[noKind]"),
                    or(&fs.version, "[noVer]"),
                    or(&fs.group, "[noGrp]")
                )
            })
            .collect();
        return Err(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            rep.name,
            gvks.join(" ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_like_kustomize() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("nginx:1.2"),
            ("nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            split_image("reg:5000/app:v1"),
            ("reg:5000/app".into(), "v1".into(), "".into())
        );
        assert_eq!(
            split_image("app@sha256:abc"),
            ("app".into(), "".into(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("app:1@sha256:abc"),
            ("app".into(), "1".into(), "sha256:abc".into())
        );
    }
}
