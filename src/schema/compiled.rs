//! Compiled structural schemas: the built-in definitions of `schemas/` and the
//! `openAPIV3Schema`s of CustomResourceDefinitions, compiled on first use into one arena of
//! [`Node`]s that the validator walks and that strategic merge and server-side apply read
//! (list types, merge keys, patch strategies).
//!
//! Compilation is lazy: a definition package is parsed, and a definition compiled, only when an
//! object of a kind that needs it is validated.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

pub type NodeId = u32;

pub const T_OBJECT: u8 = 1;
pub const T_ARRAY: u8 = 2;
pub const T_STRING: u8 = 4;
pub const T_INTEGER: u8 = 8;
pub const T_NUMBER: u8 = 16;
pub const T_BOOLEAN: u8 = 32;

/// A format the validator checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    None,
    Int32,
    Int64,
    Byte,
    DateTime,
    Date,
    Quantity,
    Uuid,
    Ipv4,
    Ipv6,
    Cidr,
}

/// What an object node says about fields it does not declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Additional {
    /// Not said: undeclared fields are unknown (pruned by the API server, rejected by kubectl).
    Undeclared,
    /// `additionalProperties: false`.
    Forbidden,
    /// `additionalProperties: true`.
    Any,
    /// A map: every value has this schema.
    Schema(NodeId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// A lazily compiled `pattern`.
#[derive(Debug)]
pub struct Pattern {
    pub source: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl Pattern {
    fn new(source: String) -> Pattern {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The compiled expression, or why it does not compile.
    pub fn regex(&self) -> Result<&Regex, &str> {
        self.compiled
            .get_or_init(|| Regex::new(&self.source).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Value validations, rare enough to keep out of line.
#[derive(Debug, Default)]
pub struct Checks {
    pub enum_values: Vec<Value>,
    /// An empty string is an unset field, defaulted before validation (Go's zero value), not
    /// a value outside `enum_values`: for the enumerations kiln adds from the Go types.
    pub empty_is_unset: bool,
    pub pattern: Option<Pattern>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub all_of: Vec<NodeId>,
    pub any_of: Vec<NodeId>,
    pub one_of: Vec<NodeId>,
    pub not: Option<NodeId>,
}

/// One compiled schema node.
#[derive(Debug)]
pub struct Node {
    /// The definition's short name (`Container`) for messages, on definition roots.
    pub name: Option<Box<str>>,
    /// The definition's full name (`io.k8s.api.core.v1.Container`), on built-in definition
    /// roots: the API server's own rules for a type are keyed by it.
    pub definition: Option<Box<str>>,
    /// Allowed JSON types (`T_*` bits); 0 allows any.
    pub types: u8,
    pub format: Format,
    pub int_or_string: bool,
    pub nullable: bool,
    pub preserve_unknown: bool,
    pub embedded: bool,
    /// Sorted by name.
    pub properties: Vec<(Box<str>, NodeId)>,
    pub additional: Additional,
    pub items: Option<NodeId>,
    pub required: Vec<Box<str>>,
    pub list_type: ListType,
    pub patch_strategy: Option<Box<str>>,
    pub patch_merge_key: Option<Box<str>>,
    /// `x-kubernetes-map-type: atomic` (or `x-kubernetes-struct-type`): server-side apply
    /// owns the whole map as one field.
    pub atomic_map: bool,
    /// The schema's `default`, where it has one (list-map keys default from it).
    pub default: Option<Box<Value>>,
    pub checks: Option<Box<Checks>>,
}

impl Node {
    fn any() -> Node {
        Node {
            name: None,
            definition: None,
            types: 0,
            format: Format::None,
            int_or_string: false,
            nullable: false,
            preserve_unknown: true,
            embedded: false,
            properties: Vec::new(),
            additional: Additional::Undeclared,
            items: None,
            required: Vec::new(),
            list_type: ListType::Atomic,
            patch_strategy: None,
            patch_merge_key: None,
            atomic_map: false,
            default: None,
            checks: None,
        }
    }

    /// The schema of a declared property.
    pub fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }

    /// True when the node accepts undeclared fields without complaint.
    pub fn open(&self) -> bool {
        self.preserve_unknown || self.additional == Additional::Any
    }
}

/// Where a definition's JSON comes from.
pub trait DefinitionSource {
    /// The definitions of a Go package (`io.k8s.api.apps.v1`), as a JSON object text.
    fn package(&self, name: &str) -> Option<&'static str>;
}

/// The built-in definitions embedded in the binary.
pub struct Builtin;

impl DefinitionSource for Builtin {
    fn package(&self, name: &str) -> Option<&'static str> {
        super::builtin::PACKAGES
            .iter()
            .find(|(p, _)| *p == name)
            .map(|(_, text)| *text)
    }
}

pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The arena of compiled nodes.
pub struct Schemas {
    nodes: Vec<Node>,
    defs: HashMap<String, NodeId>,
    packages: HashMap<String, Option<Map<String, Value>>>,
    source: Box<dyn DefinitionSource + Send + Sync>,
}

impl Default for Schemas {
    fn default() -> Schemas {
        Schemas::new(Box::new(Builtin))
    }
}

fn as_u64(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

impl Schemas {
    pub fn new(source: Box<dyn DefinitionSource + Send + Sync>) -> Schemas {
        Schemas {
            nodes: Vec::new(),
            defs: HashMap::new(),
            packages: HashMap::new(),
            source,
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// How many nodes are compiled (for tests of laziness).
    pub fn compiled(&self) -> usize {
        self.nodes.len()
    }

    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        (self.nodes.len() - 1) as NodeId
    }

    /// The compiled node of a built-in definition, by full name.
    pub fn definition(&mut self, name: &str) -> NodeId {
        if let Some(id) = self.defs.get(name) {
            return *id;
        }
        let id = self.push(Node::any());
        self.defs.insert(name.to_string(), id);
        let (pkg, short) = match name.rfind('.') {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => ("", name),
        };
        if !self.packages.contains_key(pkg) {
            let parsed = self
                .source
                .package(pkg)
                .and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok());
            self.packages.insert(pkg.to_string(), parsed);
        }
        let body = self
            .packages
            .get(pkg)
            .and_then(|p| p.as_ref())
            .and_then(|p| p.get(short))
            .cloned();
        if let Some(body) = body {
            let mut node = self.build(&body, false);
            node.name = Some(short.into());
            node.definition = Some(name.into());
            self.nodes[id as usize] = node;
        }
        id
    }

    /// Compiles a schema value (a CRD's `openAPIV3Schema`, or a built-in definition body).
    pub fn compile(&mut self, v: &Value) -> NodeId {
        if let Some(Value::String(r)) = v.get("$ref") {
            let r = r.clone();
            return self.definition(&r);
        }
        let node = self.build(v, true);
        self.push(node)
    }

    /// Compiles a custom resource's root schema: `apiVersion`, `kind` and `metadata` are always
    /// there and `metadata` is always a full ObjectMeta, whatever the CRD declares.
    pub fn compile_resource_root(&mut self, v: &Value) -> NodeId {
        let id = self.compile(v);
        self.add_type_meta(id);
        id
    }

    fn add_type_meta(&mut self, id: NodeId) {
        let meta = self.definition(OBJECT_META);
        let string = self.push(Node {
            types: T_STRING,
            preserve_unknown: false,
            ..Node::any()
        });
        let node = &mut self.nodes[id as usize];
        for (name, nid) in [("apiVersion", string), ("kind", string), ("metadata", meta)] {
            match node.properties.binary_search_by(|(k, _)| (**k).cmp(name)) {
                Ok(i) => node.properties[i].1 = nid,
                Err(i) => node.properties.insert(i, (name.into(), nid)),
            }
        }
        if node.types == 0 {
            node.types = T_OBJECT;
        }
    }

    fn child(&mut self, v: &Value, crd: bool) -> NodeId {
        if let Some(Value::String(r)) = v.get("$ref")
            && !crd
        {
            let r = r.clone();
            return self.definition(&r);
        }
        let node = self.build(v, crd);
        let embedded = node.embedded;
        let id = self.push(node);
        if embedded {
            self.add_type_meta(id);
            let n = &mut self.nodes[id as usize];
            for field in ["apiVersion", "kind"] {
                if !n.required.iter().any(|r| &**r == field) {
                    n.required.push(field.into());
                }
            }
        }
        id
    }

    fn build(&mut self, v: &Value, crd: bool) -> Node {
        let Value::Object(m) = v else {
            return Node::any();
        };
        let mut n = Node::any();
        n.types = match m.get("type") {
            Some(Value::String(t)) => type_bit(t),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(type_bit)
                .fold(0, |a, b| a | b),
            _ => 0,
        };
        n.format = match m.get("format").and_then(Value::as_str) {
            Some("int32") => Format::Int32,
            Some("int64") => Format::Int64,
            Some("byte") => Format::Byte,
            Some("date-time") => Format::DateTime,
            Some("date") => Format::Date,
            Some("quantity") => Format::Quantity,
            Some("uuid") => Format::Uuid,
            Some("ipv4") => Format::Ipv4,
            Some("ipv6") => Format::Ipv6,
            Some("cidr") => Format::Cidr,
            _ => Format::None,
        };
        let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        n.int_or_string = flag("x-kubernetes-int-or-string");
        n.nullable = flag("nullable");
        n.embedded = flag("x-kubernetes-embedded-resource");
        let preserve = flag("x-kubernetes-preserve-unknown-fields");
        if let Some(Value::Object(props)) = m.get("properties") {
            let mut ps: Vec<(Box<str>, NodeId)> = Vec::with_capacity(props.len());
            for (k, pv) in props {
                let id = self.child(pv, crd);
                ps.push((k.as_str().into(), id));
            }
            ps.sort_by(|a, b| a.0.cmp(&b.0));
            n.properties = ps;
        }
        n.additional = match m.get("additionalProperties") {
            Some(Value::Bool(true)) => Additional::Any,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(s @ Value::Object(_)) => Additional::Schema(self.child(s, crd)),
            _ => Additional::Undeclared,
        };
        if let Some(items) = m.get("items")
            && items.is_object()
        {
            n.items = Some(self.child(items, crd));
        }
        // A node with no type and no structure accepts anything; a typed object node declares
        // its fields exhaustively unless it preserves unknown fields.
        n.preserve_unknown = preserve
            || (n.types == 0
                && n.properties.is_empty()
                && n.additional == Additional::Undeclared
                && !n.embedded);
        if let Some(Value::Array(req)) = m.get("required") {
            n.required = req
                .iter()
                .filter_map(Value::as_str)
                .map(Into::into)
                .collect();
        }
        n.list_type = match m.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                m.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|ks| {
                        ks.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        };
        n.patch_strategy = m
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .map(Into::into);
        n.patch_merge_key = m
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .map(Into::into);
        n.atomic_map = ["x-kubernetes-map-type", "x-kubernetes-struct-type"]
            .iter()
            .any(|k| m.get(*k).and_then(Value::as_str) == Some("atomic"));
        n.default = m.get("default").cloned().map(Box::new);

        let mut c = Checks::default();
        let mut any_check = false;
        if let Some(Value::Array(e)) = m.get("enum") {
            c.enum_values = e.clone();
            c.empty_is_unset = !crd && flag("x-kiln-empty-is-unset");
            any_check = true;
        }
        if let Some(Value::String(p)) = m.get("pattern") {
            c.pattern = Some(Pattern::new(p.clone()));
            any_check = true;
        }
        let num = |k: &str| m.get(k).and_then(Value::as_f64);
        c.min_length = as_u64(m.get("minLength"));
        c.max_length = as_u64(m.get("maxLength"));
        c.minimum = num("minimum");
        c.maximum = num("maximum");
        c.exclusive_minimum = flag("exclusiveMinimum");
        c.exclusive_maximum = flag("exclusiveMaximum");
        c.multiple_of = num("multipleOf");
        c.min_items = as_u64(m.get("minItems"));
        c.max_items = as_u64(m.get("maxItems"));
        c.unique_items = flag("uniqueItems");
        c.min_properties = as_u64(m.get("minProperties"));
        c.max_properties = as_u64(m.get("maxProperties"));
        any_check |= c.min_length.is_some()
            || c.max_length.is_some()
            || c.minimum.is_some()
            || c.maximum.is_some()
            || c.multiple_of.is_some()
            || c.min_items.is_some()
            || c.max_items.is_some()
            || c.unique_items
            || c.min_properties.is_some()
            || c.max_properties.is_some();
        for (key, list) in [("allOf", 0), ("anyOf", 1), ("oneOf", 2)] {
            if let Some(Value::Array(subs)) = m.get(key) {
                // Built-in `oneOf` only spells IntOrString / Quantity, already rewritten.
                if !crd {
                    continue;
                }
                let ids: Vec<NodeId> = subs.iter().map(|s| self.junctor(s)).collect();
                any_check |= !ids.is_empty();
                match list {
                    0 => c.all_of = ids,
                    1 => c.any_of = ids,
                    _ => c.one_of = ids,
                }
            }
        }
        if let Some(s @ Value::Object(_)) = m.get("not")
            && crd
        {
            c.not = Some(self.junctor(s));
            any_check = true;
        }
        if any_check {
            n.checks = Some(Box::new(c));
        }
        n
    }

    /// A schema under allOf/anyOf/oneOf/not: it constrains values but never prunes fields.
    fn junctor(&mut self, v: &Value) -> NodeId {
        let mut node = self.build(v, true);
        node.preserve_unknown = true;
        self.push(node)
    }
}

fn type_bit(t: &str) -> u8 {
    match t {
        "object" => T_OBJECT,
        "array" => T_ARRAY,
        "string" => T_STRING,
        "integer" => T_INTEGER,
        "number" => T_NUMBER,
        "boolean" => T_BOOLEAN,
        _ => 0,
    }
}
