//! The walk of one value against a compiled schema, with the API server's semantics: strict
//! fields (an undeclared field is unknown unless the schema preserves unknown fields), `null`
//! as absent, int-or-string, quantities, base64 `[]byte`, int32/int64 ranges, required fields,
//! list-type uniqueness as server-side apply enforces it, and the value validations CRDs use.
//!
//! It returns [`Finding`]s keyed by JSON pointer; turning them into located diagnostics is the
//! caller's job.

use crate::diag::Code;
use crate::schema::compiled::{
    Additional, Format, ListType, Node, NodeId, Schemas, T_ARRAY, T_BOOLEAN, T_INTEGER, T_NUMBER,
    T_OBJECT, T_STRING,
};
use serde_json::{Map, Number, Value};
use std::fmt::Write;

/// One problem in a value, before it has a source location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    /// JSON pointer of the offending node, relative to the object.
    pub pointer: String,
    /// Point at the node's key rather than its value.
    pub at_key: bool,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

/// A step of a path: a key of a mapping or an index of a list.
#[derive(Clone, Copy)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

pub struct Walker<'s, 'v> {
    schemas: &'s Schemas,
    path: Vec<Seg<'v>>,
    /// Top-level fields whose values must never appear in a message (a Secret's data).
    secret_fields: &'static [&'static str],
    pub findings: Vec<Finding>,
    /// Whether values holding `${VAR}` wait for substitution (false: they are final values).
    defer_variables: bool,
    /// How many values were left unchecked because they hold `${VAR}` substitution variables.
    pub deferred: usize,
    /// The first few of them, as the server would name their fields.
    pub deferred_at: Vec<String>,
    /// The kind of the object walked (the API server's rules for a type can depend on it).
    pub(super) kind: &'v str,
}

fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) if is_integer(n) => format!("an integer ({n})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let ell = if s.chars().count() > 40 { "…" } else { "" };
            format!("a string (\"{short}{ell}\")")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn expected(types: u8) -> String {
    let mut parts = Vec::new();
    for (bit, name) in [
        (T_OBJECT, "an object"),
        (T_ARRAY, "a list"),
        (T_STRING, "a string"),
        (T_INTEGER, "an integer"),
        (T_NUMBER, "a number"),
        (T_BOOLEAN, "a boolean"),
    ] {
        if types & bit != 0 {
            parts.push(name);
        }
    }
    parts.join(" or ")
}

fn type_ok(types: u8, v: &Value) -> bool {
    match v {
        Value::Object(_) => types & T_OBJECT != 0,
        Value::Array(_) => types & T_ARRAY != 0,
        Value::String(_) => types & T_STRING != 0,
        Value::Bool(_) => types & T_BOOLEAN != 0,
        Value::Number(n) => types & T_NUMBER != 0 || (types & T_INTEGER != 0 && is_integer(n)),
        Value::Null => true,
    }
}

impl<'s, 'v> Walker<'s, 'v> {
    pub fn new(schemas: &'s Schemas) -> Walker<'s, 'v> {
        Walker {
            schemas,
            path: Vec::new(),
            secret_fields: &[],
            findings: Vec::new(),
            deferred: 0,
            deferred_at: Vec::new(),
            defer_variables: true,
            kind: "",
        }
    }

    /// The kind of the object about to be walked.
    pub fn of_kind(mut self, kind: &'v str) -> Self {
        self.kind = kind;
        self
    }

    /// Whether `${VAR}` values are still to be substituted (and so not judged yet), or final.
    pub fn deferring_variables(mut self, defer: bool) -> Self {
        self.defer_variables = defer;
        self
    }

    /// Never quotes values under these top-level fields (`data`, `stringData` of a Secret).
    pub fn redacting(mut self, fields: &'static [&'static str]) -> Self {
        self.secret_fields = fields;
        self
    }

    fn secret(&self) -> bool {
        matches!(self.path.first(), Some(Seg::Key(k)) if self.secret_fields.contains(k))
    }

    /// A value as messages show it: described, and quoted unless it is secret.
    fn show(&self, v: &Value) -> String {
        if self.secret() {
            describe(v).split(" (").next().unwrap_or("").to_string()
        } else {
            describe(v)
        }
    }

    /// A string value as messages quote it.
    pub(super) fn quote(&self, s: &str) -> String {
        if self.secret() {
            "(redacted)".to_string()
        } else {
            format!("\"{}\"", s.chars().take(60).collect::<String>())
        }
    }

    /// Validates a whole object.
    pub fn check(&mut self, root: NodeId, v: &'v Value) {
        self.walk(root, v, false);
    }

    /// Validates the value of the top-level field `field` of an object.
    pub fn check_at(&mut self, field: &'v str, root: NodeId, v: &'v Value) {
        self.path.push(Seg::Key(field));
        self.walk(root, v, false);
        self.path.pop();
    }

    fn pointer(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            s.push('/');
            match seg {
                Seg::Key(k) => {
                    if k.contains(['~', '/']) {
                        s.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    } else {
                        s.push_str(k);
                    }
                }
                Seg::Index(i) => {
                    let _ = write!(s, "{i}");
                }
            }
        }
        s
    }

    /// The path as kubectl prints it: `spec.template.spec.containers[0].image`.
    fn dotted(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = write!(s, "[{i}]");
                }
            }
        }
        s
    }

    fn add(
        &mut self,
        code: Code,
        at_key: bool,
        message: String,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.findings.push(Finding {
            code,
            pointer: self.pointer(),
            at_key,
            message,
            label: label.into(),
            help,
        });
    }

    /// A finding at a node below the current one (`rel`, keys and indexes from here), worded
    /// as the API server words it: `spec.ports[1].name: Required value`.
    pub(super) fn report(
        &mut self,
        rel: &[Seg<'v>],
        code: Code,
        at_key: bool,
        what: &str,
        label: &str,
    ) {
        let depth = self.path.len();
        self.path.extend_from_slice(rel);
        let msg = format!("{}: {what}", self.dotted());
        self.add(code, at_key, msg, label, None);
        self.path.truncate(depth);
    }

    /// A finding at a node below the current one, with its whole message (for rules whose
    /// server path differs from the node's, as `data[key]` for a Secret's `stringData`).
    pub(super) fn report_as(
        &mut self,
        rel: &[Seg<'v>],
        code: Code,
        at_key: bool,
        message: String,
        label: &str,
    ) {
        let depth = self.path.len();
        self.path.extend_from_slice(rel);
        self.add(code, at_key, message, label, None);
        self.path.truncate(depth);
    }

    /// The current path with more after it (`spec` + `resources[storage]`).
    pub(super) fn here_with(&self, rest: &str) -> String {
        let here = self.dotted();
        if here.is_empty() {
            rest.to_string()
        } else if rest.starts_with('[') {
            format!("{here}{rest}")
        } else {
            format!("{here}.{rest}")
        }
    }

    /// Whether a value waits for Flux's substitution (and so is not judged yet).
    pub(super) fn pending(&self, v: &Value) -> bool {
        self.defer_variables
            && v.as_str()
                .is_some_and(crate::util::has_substitution_variable)
    }

    fn node(&self, id: NodeId) -> &'s Node {
        self.schemas.node(id)
    }

    fn walk(&mut self, id: NodeId, v: &'v Value, junctor: bool) {
        let n = self.node(id);
        // null is an absent field: a nil pointer to Go, pruned for a custom resource.
        if v.is_null() {
            return;
        }
        // Flux substitutes `${VAR}` in the text before the API server sees it: `replicas: ${N}`
        // becomes a number. Such a value cannot be judged before substitution.
        if let Value::String(s) = v
            && self.defer_variables
            && crate::util::has_substitution_variable(s)
        {
            self.deferred += 1;
            if self.deferred_at.len() < 5 {
                self.deferred_at.push(self.dotted());
            }
            return;
        }
        if n.int_or_string {
            match v {
                Value::String(_) => {}
                Value::Number(num) if is_integer(num) => {}
                other => {
                    let msg = format!(
                        "{}: expected an integer or a string, found {}",
                        self.dotted(),
                        self.show(other)
                    );
                    self.add(
                        Code::InvalidType,
                        false,
                        msg,
                        "not an integer or a string",
                        None,
                    );
                    return;
                }
            }
            self.value_checks(n, v, junctor);
            return;
        }
        if n.format == Format::Quantity && n.types == 0 {
            match v {
                Value::String(s) => {
                    if let Err(e) = parse_quantity(s) {
                        let msg =
                            format!("{}: Invalid value: {}: {e}", self.dotted(), self.quote(s));
                        self.add(
                            Code::InvalidFormat,
                            false,
                            msg,
                            "not a quantity",
                            Some(QUANTITY_HELP.into()),
                        );
                    }
                }
                Value::Number(_) => {}
                other => {
                    let msg = format!(
                        "{}: expected a quantity (a string or a number), found {}",
                        self.dotted(),
                        self.show(other)
                    );
                    self.add(Code::InvalidType, false, msg, "not a quantity", None);
                }
            }
            return;
        }
        if n.types != 0 && !type_ok(n.types, v) {
            let want = expected(n.types);
            let msg = format!("{}: expected {want}, found {}", self.dotted(), self.show(v));
            let help = match (v, n.types) {
                (Value::Bool(_), T_STRING) => Some(
                    "quote the value: Kubernetes reads YAML 1.1, where yes, no, on, off, y, n, true and false are booleans"
                        .to_string(),
                ),
                (Value::Number(_), T_STRING) => Some("quote the value so YAML reads it as a string".to_string()),
                (Value::String(s), T_INTEGER) if !self.secret() && s.trim().parse::<i64>().is_ok() => {
                    Some("remove the quotes so YAML reads it as a number".into())
                }
                (Value::String(s), T_BOOLEAN) if s == "true" || s == "false" => {
                    Some("remove the quotes so YAML reads it as a boolean".into())
                }
                _ => None,
            };
            let label = format!("{} here", describe(v).split(" (").next().unwrap_or(""));
            self.add(Code::InvalidType, false, msg, label, help);
            return;
        }
        match v {
            Value::Object(m) => self.object(n, m, junctor),
            Value::Array(a) => self.array(n, a, junctor),
            Value::String(s) => self.string(n, s),
            Value::Number(x) => self.number(n, x),
            _ => {}
        }
        self.value_checks(n, v, junctor);
    }

    fn object(&mut self, n: &'s Node, m: &'v Map<String, Value>, junctor: bool) {
        for (k, child) in m {
            self.path.push(Seg::Key(k));
            if let Some(pid) = n.property(k) {
                self.walk(pid, child, junctor);
            } else {
                match n.additional {
                    Additional::Schema(aid) => self.walk(aid, child, junctor),
                    Additional::Any => {}
                    Additional::Forbidden | Additional::Undeclared => {
                        if !n.preserve_unknown && !junctor {
                            let msg = format!("unknown field \"{}\"", self.dotted());
                            let label = match &n.name {
                                Some(name) => format!("not a field of {name}"),
                                None => "not declared in the schema".to_string(),
                            };
                            let help =
                                crate::util::suggest(k, n.properties.iter().map(|(p, _)| &**p))
                                    .map(|s| format!("did you mean `{s}`?"));
                            self.add(Code::UnknownField, true, msg, label, help);
                        }
                    }
                }
            }
            self.path.pop();
        }
        for r in &n.required {
            if m.get(&**r).is_none_or(Value::is_null) {
                let at = self.dotted();
                let full = if at.is_empty() {
                    r.to_string()
                } else {
                    format!("{at}.{r}")
                };
                let label = format!("`{r}` is missing here");
                self.add(
                    Code::MissingRequiredField,
                    true,
                    format!("{full}: Required value"),
                    label,
                    None,
                );
            }
        }
        if let Some(def) = n.definition.as_deref()
            && !junctor
        {
            super::server::check(def, m, self);
        }
        if let Some(c) = &n.checks {
            let len = m.len() as u64;
            if let Some(min) = c.min_properties.filter(|min| len < *min) {
                let msg = format!("{}: must have at least {min} properties", self.dotted());
                self.add(Code::InvalidValue, true, msg, "too few properties", None);
            }
            if let Some(max) = c.max_properties.filter(|max| len > *max) {
                let msg = format!("{}: must have at most {max} properties", self.dotted());
                self.add(Code::InvalidValue, true, msg, "too many properties", None);
            }
        }
    }

    fn array(&mut self, n: &'s Node, a: &'v [Value], junctor: bool) {
        if let Some(items) = n.items {
            for (i, item) in a.iter().enumerate() {
                self.path.push(Seg::Index(i));
                self.walk(items, item, junctor);
                self.path.pop();
            }
        }
        if junctor {
            return;
        }
        match &n.list_type {
            ListType::Map(keys) if !keys.is_empty() => {
                let mut seen: Vec<(Vec<Option<&Value>>, usize)> = Vec::new();
                for (i, item) in a.iter().enumerate() {
                    let key: Vec<Option<&Value>> =
                        keys.iter().map(|k| item.get(k.as_str())).collect();
                    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                        let repr = keys
                            .iter()
                            .zip(&key)
                            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                            .collect::<Vec<_>>()
                            .join(",");
                        let msg = format!("{}: duplicate entries for key [{repr}]", self.dotted());
                        let first = *first;
                        self.path.push(Seg::Index(i));
                        self.add(
                            Code::DuplicateListItem,
                            false,
                            msg,
                            format!("same key as item {first}"),
                            Some("server-side apply refuses a list whose items share a key; merge or rename them".into()),
                        );
                        self.path.pop();
                    } else {
                        seen.push((key, i));
                    }
                }
            }
            ListType::Set => self.duplicates(a, "duplicate entries in a set"),
            _ => {}
        }
        if let Some(c) = &n.checks {
            let len = a.len() as u64;
            if let Some(min) = c.min_items.filter(|min| len < *min) {
                let msg = format!("{}: must have at least {min} items", self.dotted());
                self.add(Code::InvalidValue, true, msg, "too few items", None);
            }
            if let Some(max) = c.max_items.filter(|max| len > *max) {
                let msg = format!("{}: must have at most {max} items", self.dotted());
                self.add(Code::InvalidValue, true, msg, "too many items", None);
            }
            if c.unique_items {
                self.duplicates(a, "items must be unique");
            }
        }
    }

    fn duplicates(&mut self, a: &'v [Value], what: &str) {
        for i in 1..a.len() {
            if let Some(first) = a[..i].iter().position(|x| *x == a[i]) {
                let msg = if self.secret() {
                    format!("{}: {what}", self.dotted())
                } else {
                    format!("{}: {what}: {}", self.dotted(), a[i])
                };
                self.path.push(Seg::Index(i));
                self.add(
                    Code::DuplicateListItem,
                    false,
                    msg,
                    format!("same as item {first}"),
                    None,
                );
                self.path.pop();
            }
        }
    }

    fn string(&mut self, n: &'s Node, s: &str) {
        let problem = match n.format {
            Format::Byte => {
                let cleaned: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
                crate::util::base64_decode(&cleaned).is_none().then(|| {
                    (
                        "not valid base64".to_string(),
                        Some("`data` of a Secret holds base64; put plain text under `stringData` instead".to_string()),
                    )
                })
            }
            Format::DateTime => {
                (!is_rfc3339(s)).then(|| ("not an RFC 3339 date-time".to_string(), None))
            }
            Format::Date => (!is_date(s)).then(|| ("not a date (YYYY-MM-DD)".to_string(), None)),
            Format::Uuid => (!is_uuid(s)).then(|| ("not a UUID".to_string(), None)),
            Format::Ipv4 => s
                .parse::<std::net::Ipv4Addr>()
                .is_err()
                .then(|| ("not an IPv4 address".to_string(), None)),
            Format::Ipv6 => s
                .parse::<std::net::Ipv6Addr>()
                .is_err()
                .then(|| ("not an IPv6 address".to_string(), None)),
            Format::Cidr => (!is_cidr(s)).then(|| ("not a CIDR".to_string(), None)),
            Format::Quantity => parse_quantity(s)
                .err()
                .map(|e| (e.to_string(), Some(QUANTITY_HELP.to_string()))),
            _ => None,
        };
        if let Some((what, help)) = problem {
            let shown = if n.format == Format::Byte {
                "(redacted)".to_string()
            } else {
                self.quote(s)
            };
            let msg = format!("{}: Invalid value: {shown}: {what}", self.dotted());
            self.add(Code::InvalidFormat, false, msg, what, help);
        }
    }

    fn number(&mut self, n: &'s Node, x: &Number) {
        let out_of = match n.format {
            Format::Int32 => match x.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => None,
                _ if is_integer(x) => Some("int32"),
                _ => None,
            },
            Format::Int64 => match (x.as_i64(), x.as_u64()) {
                (Some(_), _) => None,
                (None, Some(_)) => Some("int64"),
                _ if is_integer(x) => Some("int64"),
                _ => None,
            },
            _ => None,
        };
        if let Some(ty) = out_of {
            let msg = format!("{}: {x} does not fit in an {ty}", self.dotted());
            self.add(
                Code::InvalidFormat,
                false,
                msg,
                format!("out of {ty} range"),
                None,
            );
        }
    }

    fn value_checks(&mut self, n: &'s Node, v: &'v Value, junctor: bool) {
        let Some(c) = &n.checks else { return };
        let unset = c.empty_is_unset && v.as_str() == Some("");
        if !c.enum_values.is_empty() && !c.enum_values.contains(v) && !unset {
            let supported = c
                .enum_values
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let shown = if self.secret() {
                "(redacted)".to_string()
            } else {
                v.to_string()
            };
            let msg = format!(
                "{}: Unsupported value: {shown}: supported values: {supported}",
                self.dotted()
            );
            self.add(
                Code::InvalidValue,
                false,
                msg,
                "not one of the allowed values",
                None,
            );
        }
        if let Value::String(s) = v {
            if let Some(p) = &c.pattern
                && let Ok(re) = p.regex()
                && !re.is_match(s)
            {
                let msg = format!(
                    "{}: Invalid value: {}: should match '{}'",
                    self.dotted(),
                    self.quote(s),
                    p.source
                );
                self.add(
                    Code::InvalidValue,
                    false,
                    msg,
                    "does not match the pattern",
                    None,
                );
            }
            let len = s.chars().count() as u64;
            if let Some(min) = c.min_length.filter(|m| len < *m) {
                let msg = format!(
                    "{}: Invalid value: {}: should be at least {min} chars long",
                    self.dotted(),
                    self.quote(s)
                );
                self.add(Code::InvalidValue, false, msg, "too short", None);
            }
            if let Some(max) = c.max_length.filter(|m| len > *m) {
                let msg = format!(
                    "{}: Too long: may not be more than {max} bytes",
                    self.dotted()
                );
                self.add(Code::InvalidValue, false, msg, "too long", None);
            }
        }
        if let Some(f) = v.as_f64() {
            if let Some(min) = c.minimum
                && (f < min || (c.exclusive_minimum && f == min))
            {
                let cmp = if c.exclusive_minimum {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                let msg = format!(
                    "{}: Invalid value: {v}: should be {cmp} {min}",
                    self.dotted()
                );
                self.add(Code::InvalidValue, false, msg, "too small", None);
            }
            if let Some(max) = c.maximum
                && (f > max || (c.exclusive_maximum && f == max))
            {
                let cmp = if c.exclusive_maximum {
                    "less than"
                } else {
                    "less than or equal to"
                };
                let msg = format!(
                    "{}: Invalid value: {v}: should be {cmp} {max}",
                    self.dotted()
                );
                self.add(Code::InvalidValue, false, msg, "too large", None);
            }
            if let Some(m) = c.multiple_of.filter(|m| *m > 0.0) {
                let q = f / m;
                if (q - q.round()).abs() > 1e-9 {
                    let msg = format!(
                        "{}: Invalid value: {v}: should be a multiple of {m}",
                        self.dotted()
                    );
                    self.add(Code::InvalidValue, false, msg, "not a multiple", None);
                }
            }
        }
        let _ = junctor;
        for &sub in &c.all_of {
            self.walk(sub, v, true);
        }
        if !c.any_of.is_empty() {
            let mut first_failure = None;
            let matched = c.any_of.iter().any(|&sub| {
                let f = self.trial(sub, v);
                if f.is_empty() {
                    true
                } else {
                    first_failure.get_or_insert(f);
                    false
                }
            });
            if !matched {
                let detail = first_failure
                    .and_then(|f| f.into_iter().next())
                    .map(|f| f.message)
                    .unwrap_or_default();
                let msg = format!(
                    "{}: must match at least one of the schemas in anyOf ({detail})",
                    self.dotted()
                );
                self.add(
                    Code::InvalidValue,
                    false,
                    msg,
                    "matches no anyOf branch",
                    None,
                );
            }
        }
        if !c.one_of.is_empty() {
            let passing = c
                .one_of
                .iter()
                .filter(|&&sub| self.trial(sub, v).is_empty())
                .count();
            if passing != 1 {
                let msg = format!(
                    "{}: must match exactly one schema in oneOf, matches {passing}",
                    self.dotted()
                );
                self.add(Code::InvalidValue, false, msg, "oneOf mismatch", None);
            }
        }
        if let Some(not) = c.not
            && self.trial(not, v).is_empty()
        {
            let msg = format!("{}: must not match the schema in `not`", self.dotted());
            self.add(Code::InvalidValue, false, msg, "matches `not`", None);
        }
    }

    /// Validates against a subschema without recording: the findings it would make.
    fn trial(&mut self, id: NodeId, v: &'v Value) -> Vec<Finding> {
        let saved = std::mem::take(&mut self.findings);
        self.walk(id, v, true);
        std::mem::replace(&mut self.findings, saved)
    }
}

const QUANTITY_HELP: &str =
    "a quantity is a number with an optional suffix: 100m, 0.5, 128Mi, 1Gi, 2G, 1e3";

/// resource.ParseQuantity's acceptance, with its error texts.
pub fn parse_quantity(s: &str) -> Result<(), &'static str> {
    const WRONG: &str = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    if s.is_empty() {
        return Err(WRONG);
    }
    let b = s.as_bytes();
    let mut pos = 0;
    if b[0] == b'+' || b[0] == b'-' {
        pos = 1;
    }
    let digits = |pos: &mut usize| {
        while *pos < b.len() && b[*pos].is_ascii_digit() {
            *pos += 1;
        }
    };
    digits(&mut pos);
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        digits(&mut pos);
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    digits(&mut pos);
    if pos != b.len() {
        return Err(WRONG);
    }
    let suffix = &s[suffix_start..];
    let ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || {
        let rest = suffix.strip_prefix(['e', 'E']).unwrap_or("");
        let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit())
    };
    if ok {
        Ok(())
    } else {
        Err("unable to parse quantity's suffix")
    }
}

fn two(b: &[u8], i: usize) -> bool {
    b.len() >= i + 2 && b[i].is_ascii_digit() && b[i + 1].is_ascii_digit()
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && two(b, 0)
        && two(b, 2)
        && b[4] == b'-'
        && two(b, 5)
        && b[7] == b'-'
        && two(b, 8)
}

/// time.RFC3339 as Go parses it (fractional seconds allowed).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !is_date(&s[..10]) || !(b[10] == b'T' || b[10] == b't') {
        return false;
    }
    if !(two(b, 11) && b[13] == b':' && two(b, 14) && b[16] == b':' && two(b, 17)) {
        return false;
    }
    let mut i = 19;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] | [b'z'] => true,
        [sign, _, _, b':', _, _] if *sign == b'+' || *sign == b'-' => {
            two(b, i + 1) && two(b, i + 4)
        }
        _ => false,
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    if ip.parse::<std::net::Ipv4Addr>().is_ok() {
        bits <= 32
    } else {
        ip.parse::<std::net::Ipv6Addr>().is_ok() && bits <= 128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_the_api_server_parses_them() {
        for ok in [
            "1", "100m", "0.5", "1Gi", "128Mi", "2G", "1e3", "1E-3", "+1", "-1", "1.", ".5", "5n",
            "1u", "0",
        ] {
            assert_eq!(parse_quantity(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1Gb", "1 Gi", "abc", "1.5.5", "1Gi1", "--1", "1e", "GB"] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_quantity("1Gi1"),
            Err("unable to parse quantity's suffix")
        );
        assert!(
            parse_quantity("1Gb")
                .unwrap_err()
                .starts_with("quantities must match")
        );
    }

    #[test]
    fn date_times() {
        assert!(is_rfc3339("2024-01-02T03:04:05Z"));
        assert!(is_rfc3339("2024-01-02T03:04:05.123+02:00"));
        assert!(!is_rfc3339("2024-01-02 03:04:05Z"));
        assert!(!is_rfc3339("yesterday"));
    }
}
