//! Kubernetes objects: [`Object`] (the JSON value plus where it came from), its identity
//! [`ObjectKey`] `{ group, kind, namespace, name }` (the API version is not part of identity),
//! [`Gvk`], and the rules that turn a parsed document into objects: `apiVersion`/`kind`/`name`
//! present, `kind: List` and `*List` documents expanded into their items, and the same object
//! defined twice reported with both places.
//!
//! No I/O and no schema knowledge here: `load` feeds documents in, `validate` checks the result.

pub mod reference;
pub mod selector;

use crate::diag::{Code, Diagnostic, Location};
use crate::source::{FileId, SourceSet, Span};
use crate::syntax::SpanTree;
use crate::util::Pointer;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// A group, version and kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits `apiVersion` (`apps/v1`, `v1`) into group and version.
    pub fn from_api_version(api_version: &str, kind: &str) -> Option<Gvk> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        if version.is_empty()
            || version.contains('/')
            || (api_version.contains('/') && group.is_empty())
        {
            return None;
        }
        Some(Gvk {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        })
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The identity of an object in a cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    /// Flux's notation: `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Where an object was defined: a document of a file, and the pointer of the object inside the
/// document (empty, or `/items/3` for an item of a `List`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: FileId,
    pub document: u32,
    pub pointer: String,
}

/// One Kubernetes object.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub key: ObjectKey,
    pub api_version: String,
    pub value: Value,
    pub origin: Origin,
}

impl Object {
    pub fn gvk(&self) -> Option<Gvk> {
        Gvk::from_api_version(&self.api_version, &self.key.kind)
    }

    pub fn labels(&self) -> Option<&serde_json::Map<String, Value>> {
        self.value.get("metadata")?.get("labels")?.as_object()
    }

    pub fn annotations(&self) -> Option<&serde_json::Map<String, Value>> {
        self.value.get("metadata")?.get("annotations")?.as_object()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations()?.get(key)?.as_str()
    }
}

/// The span trees of every document objects came from, so that any finding on any object can
/// be placed at its exact line and column.
#[derive(Default)]
pub struct SpanStore {
    trees: HashMap<(FileId, u32), SpanTree>,
}

impl SpanStore {
    pub fn insert(&mut self, file: FileId, document: u32, tree: SpanTree) {
        self.trees.insert((file, document), tree);
    }

    /// Adds the trees of another store (a file read twice keeps one tree: they are the same).
    pub fn extend(&mut self, other: SpanStore) {
        for (k, v) in other.trees {
            self.trees.entry(k).or_insert(v);
        }
    }

    /// The span tree of a document.
    pub fn tree(&self, file: FileId, document: u32) -> Option<&SpanTree> {
        self.trees.get(&(file, document))
    }

    /// The exact span of a node of an object, if known.
    pub fn span(&self, origin: &Origin, pointer: &str, prefer_key: bool) -> Option<(Span, bool)> {
        let tree = self.trees.get(&(origin.file, origin.document))?;
        let full = format!("{}{}", origin.pointer, pointer);
        let found = tree.find(&full)?;
        let span = if prefer_key || !found.exact {
            found.key.unwrap_or(found.value)
        } else {
            found.value
        };
        Some((span, found.exact))
    }

    /// The location of a node of an object, clipped to one line; the file alone if unknown.
    pub fn locate(
        &self,
        sources: &SourceSet,
        origin: &Origin,
        pointer: &str,
        prefer_key: bool,
    ) -> Location {
        match self.span(origin, pointer, prefer_key) {
            Some((span, _)) => {
                let span = match sources.text(origin.file) {
                    Ok(text) => clip_to_line(text, span),
                    Err(_) => span,
                };
                sources.location(origin.file, span)
            }
            None => sources.file_location(origin.file),
        }
    }
}

/// A span cut at its first line break, so labels stay on one line.
pub fn clip_to_line(text: &str, span: Span) -> Span {
    let (s, e) = (span.start as usize, (span.end as usize).min(text.len()));
    if s >= e {
        return span;
    }
    let end = text[s..e].find('\n').map(|i| s + i).unwrap_or(e);
    let end = s + text[s..end].trim_end().len();
    Span::new(s, end.max(s))
}

/// What the object stage found in one document.
pub struct Extracted {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
}

fn str_at<'v>(v: &'v Value, ptr: &str) -> Option<&'v str> {
    v.at(ptr).and_then(Value::as_str)
}

fn is_list_kind(v: &Value) -> bool {
    let kind = str_at(v, "/kind").unwrap_or("");
    kind.ends_with("List") && v.get("items").is_some()
}

/// Turns one parsed document (its index in the file and its value) into objects.
/// `locate(pointer, prefer_key)` places findings in the document.
pub fn extract(
    index: u32,
    value: Value,
    file: FileId,
    locate: &dyn Fn(&str, bool) -> Location,
) -> Extracted {
    let mut objects = Vec::new();
    let mut diagnostics = Vec::new();
    match value {
        Value::Object(_) if is_list_kind(&value) => {
            let Value::Object(mut map) = value else {
                unreachable!()
            };
            match map.remove("items") {
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let pointer = format!("/items/{i}");
                        let origin = Origin {
                            file,
                            document: index,
                            pointer: pointer.clone(),
                        };
                        let sub = |p: &str, k: bool| locate(&format!("{pointer}{p}"), k);
                        one(item, origin, &sub, &mut objects, &mut diagnostics);
                    }
                }
                Some(Value::Null) => {}
                _ => diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidList,
                        "`items` of a List must be a list of objects",
                    )
                    .at(locate("/items", true), "not a list"),
                ),
            }
        }
        value => one(
            value,
            Origin {
                file,
                document: index,
                pointer: String::new(),
            },
            locate,
            &mut objects,
            &mut diagnostics,
        ),
    }
    Extracted {
        objects,
        diagnostics,
    }
}

fn one(
    value: Value,
    origin: Origin,
    locate: &dyn Fn(&str, bool) -> Location,
    objects: &mut Vec<Object>,
    diags: &mut Vec<Diagnostic>,
) {
    // A list of mappings none of which is a Kubernetes object is some other tool's YAML (an
    // Ansible playbook, a task list): a note, not an error. A list of objects is an error: the
    // API takes them only in a `kind: List`.
    if let Value::Array(items) = &value
        && !items.is_empty()
        && items.iter().all(|i| {
            i.as_object()
                .is_some_and(|m| !m.contains_key("apiVersion") && !m.contains_key("kind"))
        })
    {
        diags.push(
            Diagnostic::new(
                Code::NotKubernetes,
                "this document is a list of mappings without apiVersion or kind (an Ansible playbook, a task list...); not read as Kubernetes objects",
            )
            .at(locate("", false), ""),
        );
        return;
    }
    let Value::Object(map) = &value else {
        let what = match value {
            Value::Array(_) => "a sequence",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            _ => "empty",
        };
        diags.push(
            Diagnostic::new(
                Code::NotAnObject,
                format!("this document is {what}, not a Kubernetes object"),
            )
            .at(
                locate("", false),
                "expected a mapping with apiVersion, kind and metadata",
            ),
        );
        return;
    };
    let api_version = map.get("apiVersion");
    let kind = map.get("kind");
    if api_version.is_none() && kind.is_none() {
        diags.push(
            Diagnostic::new(
                Code::NotKubernetes,
                "document has neither apiVersion nor kind; not read as a Kubernetes object",
            )
            .at(locate("", false), ""),
        );
        return;
    }
    let mut ok = true;
    let kind_str = match kind {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        Some(_) => {
            diags.push(
                Diagnostic::new(Code::MissingKind, "`kind` must be a non-empty string")
                    .at(locate("/kind", false), "here"),
            );
            ok = false;
            String::new()
        }
        None => {
            diags.push(
                Diagnostic::new(Code::MissingKind, "object has no `kind`")
                    .at(locate("/apiVersion", true), "apiVersion without kind"),
            );
            ok = false;
            String::new()
        }
    };
    let api_str = match api_version {
        Some(Value::String(a)) if !a.is_empty() => {
            if Gvk::from_api_version(a, "").is_none() {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidApiVersion,
                        format!("apiVersion `{a}` is not `version` or `group/version`"),
                    )
                    .at(locate("/apiVersion", false), "malformed"),
                );
                ok = false;
            }
            a.clone()
        }
        Some(_) => {
            diags.push(
                Diagnostic::new(
                    Code::MissingApiVersion,
                    "`apiVersion` must be a non-empty string",
                )
                .at(locate("/apiVersion", false), "here"),
            );
            ok = false;
            String::new()
        }
        None => {
            diags.push(
                Diagnostic::new(
                    Code::MissingApiVersion,
                    format!("object of kind `{kind_str}` has no `apiVersion`"),
                )
                .at(locate("/kind", true), "kind without apiVersion"),
            );
            ok = false;
            String::new()
        }
    };
    if !ok {
        return;
    }
    let meta = map.get("metadata");
    match meta {
        None | Some(Value::Object(_)) => {}
        Some(_) => {
            diags.push(
                Diagnostic::new(Code::InvalidMetadata, "`metadata` must be a mapping")
                    .at(locate("/metadata", false), "not a mapping"),
            );
            return;
        }
    }
    let field = |f: &str| meta.and_then(|m| m.get(f));
    let mut name = String::new();
    match field("name") {
        Some(Value::String(n)) if !n.is_empty() => name = n.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            let hook = value
                .at("/metadata/annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| {
                    a.contains_key("argocd.argoproj.io/hook") || a.contains_key("helm.sh/hook")
                });
            let generated =
                matches!(field("generateName"), Some(Value::String(g)) if !g.is_empty());
            if generated && let Some(Value::String(g)) = field("generateName") {
                // Named by the server on create: shown as `Job/default/migrate-*`.
                name = format!("{g}*");
            }
            if !(generated && hook) {
                let mut d = Diagnostic::new(
                    Code::MissingName,
                    format!("{kind_str} has no metadata.name"),
                )
                .at(
                    locate(if meta.is_some() { "/metadata" } else { "/kind" }, true),
                    "name missing",
                );
                if generated {
                    d = d.help("generateName makes a new object on every apply; only Argo CD and Helm hooks can use it");
                }
                diags.push(d);
            }
        }
        Some(other) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidMetadata,
                    format!("metadata.name must be a string, not {other}"),
                )
                .at(locate("/metadata/name", false), "not a string")
                .help("quote the name"),
            );
            return;
        }
    }
    let namespace = match field("namespace") {
        Some(Value::String(n)) => n.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidMetadata,
                    format!("metadata.namespace must be a string, not {other}"),
                )
                .at(locate("/metadata/namespace", false), "not a string"),
            );
            return;
        }
    };
    let group = api_str
        .split_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    objects.push(Object {
        key: ObjectKey {
            group,
            kind: kind_str,
            namespace,
            name,
        },
        api_version: api_str,
        value,
        origin,
    });
}

/// Reports objects defined more than once (same key), naming both places.
pub fn duplicates(objects: &[Object], locate: &dyn Fn(&Object) -> Location) -> Vec<Diagnostic> {
    // Looked up, never iterated: a hash map keeps this linear for large inputs.
    let mut first: HashMap<&ObjectKey, usize> = HashMap::with_capacity(objects.len());
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if o.key.name.is_empty() || o.key.name.ends_with('*') {
            continue;
        }
        match first.get(&o.key) {
            Some(&j) => out.push(
                Diagnostic::new(
                    Code::DuplicateObject,
                    format!("{} is defined more than once", o.key),
                )
                .at(locate(o), "defined again here")
                .related(locate(&objects[j]), "first defined here")
                .help("one object can only have one desired state; remove or rename one of them"),
            ),
            None => {
                first.insert(&o.key, i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert_eq!(
            Gvk::from_api_version("apps/v1", "Deployment")
                .unwrap()
                .group,
            "apps"
        );
        assert_eq!(Gvk::from_api_version("v1", "Pod").unwrap().group, "");
        assert!(Gvk::from_api_version("a/b/c", "X").is_none());
        assert!(Gvk::from_api_version("/v1", "X").is_none());
        assert!(Gvk::from_api_version("apps/", "X").is_none());
    }

    #[test]
    fn keys_display_like_flux() {
        let k = ObjectKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "web".into(),
            name: "api".into(),
        };
        assert_eq!(k.to_string(), "Deployment/web/api");
    }
}
