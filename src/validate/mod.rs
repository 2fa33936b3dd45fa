//! Validation of objects: each against its kind's schema (built-in from `schemas/`, or the
//! `openAPIV3Schema` of a CRD found in the input) with the API server's semantics, then kiln's
//! object rules (names, namespaces, labels, annotations). The codes it reports are in the
//! catalogue of `diag`.
//!
//! It never orders or changes objects; it only reports.

pub mod rules;
pub mod server;
pub mod walk;

pub use crate::schema::{Catalog, Resolution, Resource};

use crate::diag::{Code, Diagnostic, Location};
use crate::object::{Gvk, Object};
use std::collections::BTreeMap;
use walk::{Finding, Walker};

/// The fields of a Secret whose values are never shown.
pub const SECRET_FIELDS: &[&str] = &["data", "stringData"];

/// A located byte range: display path, start, end.
pub type PathRange = (String, usize, usize);

/// Marks diagnostics that point into a Secret's `data` or `stringData` as sensitive, so that no
/// renderer prints the source line that holds the secret value.
pub fn mark_sensitive(
    diags: &mut [Diagnostic],
    objects: &[Object],
    range_of: &dyn Fn(&Object, &str) -> Option<PathRange>,
) {
    let mut ranges = Vec::new();
    for o in objects {
        if o.key.group.is_empty() && o.key.kind == "Secret" {
            for f in SECRET_FIELDS {
                if o.value.get(*f).is_some() {
                    ranges.extend(range_of(o, &format!("/{f}")));
                }
            }
        }
    }
    if ranges.is_empty() {
        return;
    }
    for d in diags.iter_mut() {
        let inside = |l: &crate::diag::Label| {
            l.location.range.is_some_and(|r| {
                ranges
                    .iter()
                    .any(|(p, s, e)| *p == l.location.path && r.start >= *s && r.start < *e)
            })
        };
        if d.primary.as_ref().is_some_and(inside) || d.related.iter().any(inside) {
            d.sensitive = true;
        }
    }
}

/// Adds the kinds of every CustomResourceDefinition among `objects` to the catalogue.
pub fn add_crds(
    catalog: &mut Catalog,
    objects: &[Object],
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for o in objects {
        if o.key.group == "apiextensions.k8s.io" && o.key.kind == "CustomResourceDefinition" {
            diags.extend(
                catalog
                    .add_crd(&o.value, &|p| locate(o, p, true))
                    .into_iter()
                    .map(|mut d| {
                        d.message = format!("{}: {}", o.key, d.message);
                        d
                    }),
            );
        }
    }
    diags
}

fn to_diagnostic(
    obj: &Object,
    f: Finding,
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> Diagnostic {
    let mut d = Diagnostic::new(f.code, format!("{}: {}", obj.key, f.message))
        .at(locate(obj, &f.pointer, f.at_key), f.label);
    if let Some(h) = f.help {
        d = d.help(h);
    }
    d
}

/// Validates every object. `locate(object, pointer, prefer_key)` gives the source location of a
/// node of an object.
pub fn validate(
    objects: &[Object],
    catalog: &mut Catalog,
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> Vec<Diagnostic> {
    validate_with(objects, catalog, locate, &|_| true, &|_| false)
}

/// [`validate`], saying which objects may still go through Flux's post-build substitution, and
/// which are checked for shape only (encrypted: their values cannot be read offline):
/// their `${VAR}` values are not judged yet. In the others such values are final.
pub fn validate_with(
    objects: &[Object],
    catalog: &mut Catalog,
    locate: &dyn Fn(&Object, &str, bool) -> Location,
    pending_substitution: &dyn Fn(&Object) -> bool,
    shape_only: &dyn Fn(&Object) -> bool,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut no_schema: BTreeMap<Gvk, Vec<usize>> = BTreeMap::new();
    let meta = catalog
        .schemas
        .definition(crate::schema::compiled::OBJECT_META);
    for (i, obj) in objects.iter().enumerate() {
        let Some(gvk) = obj.gvk() else { continue };
        let resolution = match catalog.resolve(&gvk.group, &gvk.version, &gvk.kind) {
            Resolution::Found(r) => Ok(r.clone()),
            Resolution::UnknownVersion { served } => {
                Err((Code::UnknownApiVersion, Some(served), None))
            }
            Resolution::Moved { served } => Err((Code::UnknownApiVersion, Some(served), None)),
            Resolution::UnknownKind { suggestion } => Err((Code::UnknownKind, None, suggestion)),
            Resolution::NoSchema => {
                no_schema.entry(gvk.clone()).or_default().push(i);
                Err((Code::NoCrdSchema, None, None))
            }
        };
        let mut findings = Vec::new();
        let namespaced = match resolution {
            Ok(resource) => {
                // An encrypted object (SOPS) is judged by its kind, name and namespace only.
                match catalog.root(&resource).filter(|_| !shape_only(obj)) {
                    Some(root) => {
                        let mut w = Walker::new(&catalog.schemas)
                            .deferring_variables(pending_substitution(obj))
                            .of_kind(&obj.key.kind);
                        if obj.key.group.is_empty() && obj.key.kind == "Secret" {
                            w = w.redacting(SECRET_FIELDS);
                        }
                        w.check(root, &obj.value);
                        if w.deferred > 0 {
                            let n = w.deferred;
                            let more = n - w.deferred_at.len();
                            diags.push(
                                Diagnostic::new(
                                    Code::UnsubstitutedVariable,
                                    format!(
                                        "{}: {n} value{} hold{} ${{VAR}} substitution variables and {} checked only after substitution: {}{}",
                                        obj.key,
                                        if n == 1 { "" } else { "s" },
                                        if n == 1 { "s" } else { "" },
                                        if n == 1 { "is" } else { "are" },
                                        w.deferred_at.join(", "),
                                        if more > 0 { format!(" and {more} more") } else { String::new() },
                                    ),
                                )
                                .at(locate(obj, "/metadata/name", false), ""),
                            );
                        }
                        findings.extend(w.findings);
                    }
                    None => findings.extend(check_metadata(&catalog.schemas, meta, obj)),
                }
                Some(resource.namespaced)
            }
            Err((code, served, suggestion)) => {
                if code != Code::NoCrdSchema {
                    let gv = gvk.api_version();
                    let unknown_kind = code == Code::UnknownKind;
                    let mut d = Diagnostic::new(
                        code,
                        format!(
                            "{}: no matches for kind \"{}\" in version \"{gv}\"",
                            obj.key, gvk.kind
                        ),
                    )
                    .at(
                        locate(
                            obj,
                            if unknown_kind { "/kind" } else { "/apiVersion" },
                            false,
                        ),
                        if unknown_kind {
                            "unknown kind"
                        } else {
                            "version not served"
                        },
                    );
                    if let Some(served) = served {
                        let who = if catalog.is_builtin_group(&gvk.group) {
                            format!("Kubernetes {}", crate::schema::kubernetes_version())
                        } else {
                            "its CustomResourceDefinition".to_string()
                        };
                        d = d.help(format!(
                            "{who} serves {} in: {}",
                            gvk.kind,
                            served.join(", ")
                        ));
                    } else if let Some(s) = suggestion {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else if !catalog.is_builtin_group(&gvk.group) {
                        let kinds = catalog.kinds_in_group(&gvk.group);
                        d = d.help(format!(
                            "the CustomResourceDefinitions in the input define, in {}: {}",
                            gvk.group,
                            kinds.join(", ")
                        ));
                    }
                    diags.push(d);
                }
                findings.extend(check_metadata(&catalog.schemas, meta, obj));
                catalog.namespaced(&gvk.group, &gvk.kind)
            }
        };
        findings.extend(rules::check(
            &obj.value,
            &gvk.group,
            &gvk.version,
            &gvk.kind,
            namespaced,
        ));
        diags.extend(findings.into_iter().map(|f| to_diagnostic(obj, f, locate)));
    }
    for (gvk, idx) in no_schema {
        let first = &objects[idx[0]];
        let count = idx.len();
        let objects_word = if count == 1 {
            "object".to_string()
        } else {
            format!("{count} objects")
        };
        let mut d = Diagnostic::new(
            Code::NoCrdSchema,
            format!(
                "no CustomResourceDefinition for {} ({}) in the input: {objects_word} not validated against a schema",
                gvk.kind,
                gvk.api_version()
            ),
        )
        .at(locate(first, "/kind", false), "no schema for this kind")
        .help("add the CRD to the input, or point kiln at it with --crds PATH");
        for &j in idx.iter().skip(1).take(2) {
            d = d.related(locate(&objects[j], "/kind", false), "also here");
        }
        diags.push(d);
    }
    diags
}

/// Validates only `metadata`, for objects whose kind has no schema.
fn check_metadata(
    schemas: &crate::schema::Schemas,
    meta: crate::schema::NodeId,
    obj: &Object,
) -> Vec<Finding> {
    let Some(m) = obj.value.get("metadata") else {
        return Vec::new();
    };
    let mut w = Walker::new(schemas);
    w.check_at("metadata", meta, m);
    w.findings
}
