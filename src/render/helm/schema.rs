//! `values.schema.json` checks as Helm v4 runs them before rendering (santhosh-tekuri's
//! jsonschema, drafts 7 to 2020-12): each chart's schema against that chart's coalesced values,
//! subcharts with their own section, and the error tree worded as Helm prints it
//! (`- at '/replicas': minimum: got 0, want 1`, nested causes indented).
//!
//! `$ref`s resolve inside the chart tree: relative references against the referring schema's
//! `$id`, absolute URLs by the `$id` of any `.json` file of the chart or its subcharts (the
//! content a chart's remote references serve). Nothing is fetched; a reference that resolves
//! nowhere is an error. `format` is not asserted, as Helm's validator does not by default.

use super::chart::Chart;
use gotmpl::Value;
use serde_json::Value as J;
use std::collections::{BTreeSet, HashMap};

/// Validates the values of the chart and of each subchart against their schemas; the error
/// is Helm's text. References that resolve nowhere are not checked and are returned as
/// warnings (Helm would fetch them).
pub fn validate_chart(chart: &Chart, values: &Value) -> Result<Vec<String>, String> {
    let mut docs = HashMap::new();
    for data in &chart.json_documents {
        add_document(data, &mut docs);
    }
    index_documents(chart, &mut docs);
    let mut out = String::new();
    let mut unresolved = BTreeSet::new();
    validate_rec(chart, values, &docs, &mut out, &mut unresolved);
    if out.is_empty() {
        return Ok(unresolved.into_iter().map(|u| format!("values.schema.json: $ref {u} is not in the chart and was not fetched; values it describes are not checked")).collect());
    }
    Err(format!(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
    ))
}

fn add_document(data: &[u8], docs: &mut HashMap<String, J>) {
    if let Ok(j) = serde_json::from_slice::<J>(data)
        && let Some(id) = j.get("$id").and_then(J::as_str)
    {
        let id = strip_fragment(id).to_string();
        index_nested(&j, &id, docs);
        docs.insert(id, j);
    }
}

fn validate_rec(
    chart: &Chart,
    values: &Value,
    docs: &HashMap<String, J>,
    out: &mut String,
    unresolved: &mut BTreeSet<String>,
) {
    if let Some(schema) = &chart.schema {
        let text = match serde_json::from_slice::<J>(schema) {
            Ok(j) => {
                let base = j
                    .get("$id")
                    .and_then(J::as_str)
                    .unwrap_or("file:///values.schema.json")
                    .to_string();
                let mut v = Validator {
                    docs,
                    depth: 0,
                    unresolved: BTreeSet::new(),
                };
                let r = v.validate(values, &j, &base, "").map(|e| render_tree(&e));
                unresolved.extend(v.unresolved);
                r
            }
            Err(e) => Some(format!("- at '': values.schema.json is not JSON: {e}\n")),
        };
        if let Some(t) = text {
            out.push_str(&format!("{}:\n{t}", chart.name));
        }
    }
    for sub in &chart.subcharts {
        let sv = match values.get(&sub.name) {
            Some(v @ Value::Map(_)) => v,
            _ => Value::map(Default::default()),
        };
        validate_rec(sub, &sv, docs, out, unresolved);
    }
}

/// Every JSON document of the chart tree with an `$id`, by that id (and by any nested `$id`).
fn index_documents(chart: &Chart, docs: &mut HashMap<String, J>) {
    let files = chart
        .files
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .chain(chart.schema.as_deref().map(|s| ("values.schema.json", s)));
    for (path, data) in files {
        if path.ends_with(".json") {
            add_document(data, docs);
        }
    }
    for sub in &chart.subcharts {
        index_documents(sub, docs);
    }
}

fn index_nested(j: &J, base: &str, docs: &mut HashMap<String, J>) {
    match j {
        J::Object(m) => {
            for (k, v) in m {
                if k == "enum" || k == "const" {
                    continue;
                }
                if let Some(id) = v.get("$id").and_then(J::as_str) {
                    let url = join(base, id);
                    docs.entry(strip_fragment(&url).to_string())
                        .or_insert_with(|| v.clone());
                    index_nested(v, &url, docs);
                } else {
                    index_nested(v, base, docs);
                }
            }
        }
        J::Array(a) => a.iter().for_each(|v| index_nested(v, base, docs)),
        _ => {}
    }
}

fn strip_fragment(u: &str) -> &str {
    u.split('#').next().unwrap_or(u)
}

/// RFC 3986 reference resolution, enough for schema `$ref`s.
fn join(base: &str, r: &str) -> String {
    if r.contains("://") || r.starts_with("urn:") {
        return r.to_string();
    }
    let base_doc = strip_fragment(base);
    if r.starts_with('#') {
        return format!("{base_doc}{r}");
    }
    if let Some(rest) = r.strip_prefix('/') {
        let origin = base_doc
            .find("://")
            .and_then(|i| base_doc[i + 3..].find('/').map(|j| &base_doc[..i + 3 + j]))
            .unwrap_or(base_doc);
        return format!("{origin}/{rest}");
    }
    let dir = match base_doc.rfind('/') {
        Some(i) => &base_doc[..=i],
        None => "",
    };
    let mut parts: Vec<&str> = dir.trim_end_matches('/').split('/').collect();
    let (path, frag) = match r.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (r, None),
    };
    for seg in path.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

struct Error {
    loc: String,
    msg: String,
    causes: Vec<Error>,
}

fn render_tree(e: &Error) -> String {
    let mut out = String::new();
    // A root that only groups is not printed itself: its causes are the list.
    if e.msg == "validation failed" && e.loc.is_empty() {
        for c in &e.causes {
            write_tree(c, 0, &mut out);
        }
    } else {
        write_tree(e, 0, &mut out);
    }
    out
}

fn write_tree(e: &Error, depth: usize, out: &mut String) {
    out.push_str(&format!(
        "{}- at '{}': {}\n",
        "  ".repeat(depth),
        e.loc,
        e.msg
    ));
    for c in &e.causes {
        write_tree(c, depth + 1, out);
    }
}

struct Validator<'a> {
    docs: &'a HashMap<String, J>,
    depth: usize,
    /// References that resolve nowhere: their subschemas pass.
    unresolved: BTreeSet<String>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() => "integer",
        Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) | Value::Bytes(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn fmt_num(f: f64) -> String {
    gotmpl::gofmt::format_float(f, 'g', None)
}

fn quote_json(j: &J) -> String {
    match j {
        J::String(s) => format!("'{s}'"),
        J::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Equality of a template value and a schema value, as JSON.
fn equal(v: &Value, j: &J) -> bool {
    match (v, j) {
        (Value::Nil, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => a.as_ref() == b,
        (Value::Int(_) | Value::Float(_), J::Number(n)) => num(v) == n.as_f64(),
        (Value::List(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y))
        }
        (Value::Map(a), J::Object(b)) => {
            let a = a.borrow();
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| equal(x, y)))
        }
        _ => false,
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// What a successful validation evaluated at this instance location (for `unevaluated*`).
#[derive(Default)]
struct Evaluated {
    props: BTreeSet<String>,
    all_props: bool,
    items: usize,
    all_items: bool,
}

impl Evaluated {
    fn absorb(&mut self, o: Evaluated) {
        self.props.extend(o.props);
        self.all_props |= o.all_props;
        self.items = self.items.max(o.items);
        self.all_items |= o.all_items;
    }
}

impl Validator<'_> {
    fn validate(&mut self, v: &Value, s: &J, base: &str, loc: &str) -> Option<Error> {
        self.validate_eval(v, s, base, loc).err()
    }

    /// `additionalProperties` or `unevaluatedProperties` over the properties left: `false`
    /// names them, a schema checks each.
    #[allow(clippy::too_many_arguments)]
    fn extra_properties(
        &mut self,
        what: &str,
        schema: &J,
        m: &gotmpl::Map,
        extra: &[&String],
        base: &str,
        loc: &str,
        errors: &mut Vec<Error>,
    ) {
        if schema == &J::Bool(false) {
            if !extra.is_empty() {
                let names = extra
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let noun = if extra.len() == 1 {
                    "property"
                } else {
                    "properties"
                };
                errors.push(Error {
                    loc: loc.to_string(),
                    msg: format!("{what} {noun} {names} not allowed"),
                    causes: Vec::new(),
                });
            }
            return;
        }
        for k in extra {
            if let Some(e) = self.validate(
                &m[k.as_str()],
                schema,
                base,
                &format!("{loc}/{}", pointer_escape(k)),
            ) {
                errors.push(e);
            }
        }
    }

    fn resolve(&self, base: &str, r: &str) -> Option<(String, J)> {
        let url = join(base, r);
        let (doc, frag) = match url.split_once('#') {
            Some((d, f)) => (d.to_string(), f.to_string()),
            None => (url.clone(), String::new()),
        };
        let root = self.docs.get(&doc)?;
        let target = if frag.is_empty() {
            root
        } else if frag.starts_with('/') {
            let decoded = frag.replace("%25", "%").replace("%22", "\"");
            root.pointer(&decoded)?
        } else {
            find_anchor(root, &frag)?
        };
        Some((doc, target.clone()))
    }

    fn validate_eval(
        &mut self,
        v: &Value,
        s: &J,
        base: &str,
        loc: &str,
    ) -> Result<Evaluated, Error> {
        let err = |msg: String| Error {
            loc: loc.to_string(),
            msg,
            causes: Vec::new(),
        };
        let s = match s {
            J::Bool(true) => return Ok(Evaluated::default()),
            J::Bool(false) => return Err(err("false schema".into())),
            J::Object(o) => o,
            _ => return Ok(Evaluated::default()),
        };
        self.depth += 1;
        if self.depth > 200 {
            self.depth -= 1;
            return Err(err(
                "schema nesting exceeds 200 levels (a reference cycle?)".into(),
            ));
        }
        let base_owned;
        let base = match s.get("$id").and_then(J::as_str) {
            Some(id) => {
                base_owned = join(base, id);
                base_owned.as_str()
            }
            None => base,
        };
        let mut errors: Vec<Error> = Vec::new();
        let mut ev = Evaluated::default();

        if let Some(r) = s.get("$ref").and_then(J::as_str) {
            match self.resolve(base, r) {
                Some((doc, target)) => match self.validate_eval(v, &target, &doc, loc) {
                    Ok(e) => ev.absorb(e),
                    Err(e) => errors.push(e),
                },
                None => {
                    self.unresolved.insert(join(base, r));
                }
            }
        }
        if let Some(t) = s.get("type") {
            let want: Vec<&str> = match t {
                J::String(x) => vec![x.as_str()],
                J::Array(a) => a.iter().filter_map(J::as_str).collect(),
                _ => Vec::new(),
            };
            let got = json_type(v);
            let ok = want
                .iter()
                .any(|w| *w == got || (*w == "number" && got == "integer"));
            if !want.is_empty() && !ok {
                errors.push(err(format!("got {got}, want {}", want.join(" or "))));
            }
        }
        if let Some(J::Array(e)) = s.get("enum")
            && !e.iter().any(|x| equal(v, x))
        {
            let msg = if e.len() == 1 {
                format!("value must be {}", quote_json(&e[0]))
            } else {
                format!(
                    "value must be one of {}",
                    e.iter().map(quote_json).collect::<Vec<_>>().join(", ")
                )
            };
            errors.push(err(msg));
        }
        if let Some(c) = s.get("const")
            && !equal(v, c)
        {
            errors.push(err(format!("value must be {}", quote_json(c))));
        }
        if let Some(x) = num(v) {
            // (keyword, fails when) for the bounds of a number.
            type Fails = fn(f64, f64) -> bool;
            let bounds: [(&str, Fails); 4] = [
                ("minimum", |x, m| x < m),
                ("maximum", |x, m| x > m),
                ("exclusiveMinimum", |x, m| x <= m),
                ("exclusiveMaximum", |x, m| x >= m),
            ];
            for (kw, fails) in bounds {
                if let Some(m) = s.get(kw).and_then(J::as_f64)
                    && fails(x, m)
                {
                    errors.push(err(format!(
                        "{kw}: got {}, want {}",
                        fmt_num(x),
                        fmt_num(m)
                    )));
                }
            }
            if let Some(m) = s.get("multipleOf").and_then(J::as_f64)
                && m != 0.0
                && (x / m).fract() != 0.0
            {
                errors.push(err(format!("{} not multipleOf {}", fmt_num(x), fmt_num(m))));
            }
        }
        if let Value::String(st) = v {
            count_bounds(s, "Length", st.chars().count() as u64, &mut errors, &err);
            if let Some(p) = s.get("pattern").and_then(J::as_str)
                && let Ok(re) = regex::Regex::new(p)
                && !re.is_match(st)
            {
                errors.push(err(format!("'{st}' does not match pattern '{p}'")));
            }
        }
        if let Value::List(items) = v {
            count_bounds(s, "Items", items.len() as u64, &mut errors, &err);
            if s.get("uniqueItems") == Some(&J::Bool(true)) {
                'outer: for i in 0..items.len() {
                    for j in i + 1..items.len() {
                        if items[i].deep_eq(&items[j]) {
                            errors.push(err(format!("items at {i} and {j} are equal")));
                            break 'outer;
                        }
                    }
                }
            }
            let prefix: Vec<J> = match (s.get("prefixItems"), s.get("items")) {
                (Some(J::Array(p)), _) => p.clone(),
                (None, Some(J::Array(p))) => p.clone(),
                _ => Vec::new(),
            };
            for (i, (item, sch)) in items.iter().zip(prefix.iter()).enumerate() {
                if let Some(e) = self.validate(item, sch, base, &format!("{loc}/{i}")) {
                    errors.push(e);
                }
            }
            ev.items = ev.items.max(prefix.len().min(items.len()));
            let rest_schema = match (s.get("prefixItems"), s.get("items")) {
                (Some(_), Some(i)) => Some(i),
                (None, Some(J::Array(_))) => s.get("additionalItems"),
                (None, Some(i)) => Some(i),
                _ => None,
            };
            if let Some(rs) = rest_schema {
                for (i, item) in items.iter().enumerate().skip(prefix.len()) {
                    if let Some(e) = self.validate(item, rs, base, &format!("{loc}/{i}")) {
                        errors.push(e);
                    }
                }
                ev.all_items = true;
            }
        }
        if let Value::Map(m) = v {
            let m = m.borrow().clone();
            count_bounds(s, "Properties", m.len() as u64, &mut errors, &err);
            if let Some(J::Array(req)) = s.get("required") {
                let missing: Vec<String> = req
                    .iter()
                    .filter_map(J::as_str)
                    .filter(|k| !m.contains_key(*k))
                    .map(|k| format!("'{k}'"))
                    .collect();
                match missing.len() {
                    0 => {}
                    1 => errors.push(err(format!("missing property {}", missing[0]))),
                    _ => errors.push(err(format!("missing properties {}", missing.join(", ")))),
                }
            }
            let props = s.get("properties").and_then(J::as_object);
            if let Some(props) = props {
                for (k, sch) in props {
                    if let Some(val) = m.get(k) {
                        ev.props.insert(k.clone());
                        if let Some(e) =
                            self.validate(val, sch, base, &format!("{loc}/{}", pointer_escape(k)))
                        {
                            errors.push(e);
                        }
                    }
                }
            }
            let mut pattern_matched = BTreeSet::new();
            if let Some(J::Object(pp)) = s.get("patternProperties") {
                for (p, sch) in pp {
                    let Ok(re) = regex::Regex::new(p) else {
                        continue;
                    };
                    for (k, val) in &m {
                        if re.is_match(k) {
                            pattern_matched.insert(k.clone());
                            ev.props.insert(k.clone());
                            if let Some(e) = self.validate(
                                val,
                                sch,
                                base,
                                &format!("{loc}/{}", pointer_escape(k)),
                            ) {
                                errors.push(e);
                            }
                        }
                    }
                }
            }
            if let Some(ap) = s.get("additionalProperties") {
                let extra: Vec<&String> = m
                    .keys()
                    .filter(|k| {
                        !props.is_some_and(|p| p.contains_key(*k)) && !pattern_matched.contains(*k)
                    })
                    .collect();
                self.extra_properties("additional", ap, &m, &extra, base, loc, &mut errors);
                ev.all_props = true;
            }
            if let Some(J::Object(deps)) = s.get("dependentRequired").or(s.get("dependencies")) {
                for (k, d) in deps {
                    if !m.contains_key(k) {
                        continue;
                    }
                    match d {
                        J::Array(req) => {
                            let missing: Vec<String> = req
                                .iter()
                                .filter_map(J::as_str)
                                .filter(|r| !m.contains_key(*r))
                                .map(|r| format!("'{r}'"))
                                .collect();
                            if !missing.is_empty() {
                                errors.push(err(format!(
                                    "properties {} required, if '{k}' exists",
                                    missing.join(", ")
                                )));
                            }
                        }
                        sch => {
                            if let Some(e) = self.validate(v, sch, base, loc) {
                                errors.push(e);
                            }
                        }
                    }
                }
            }
        }
        if let Some(J::Array(all)) = s.get("allOf") {
            let mut causes = Vec::new();
            for sub in all {
                match self.validate_eval(v, sub, base, loc) {
                    Ok(e) => ev.absorb(e),
                    Err(e) => causes.push(e),
                }
            }
            if !causes.is_empty() {
                errors.push(Error {
                    loc: loc.into(),
                    msg: "'allOf' failed".into(),
                    causes,
                });
            }
        }
        if let Some(J::Array(any)) = s.get("anyOf") {
            let mut causes = Vec::new();
            let mut matched = false;
            for sub in any {
                match self.validate_eval(v, sub, base, loc) {
                    Ok(e) => {
                        matched = true;
                        ev.absorb(e);
                    }
                    Err(e) => causes.push(e),
                }
            }
            if !matched {
                errors.push(Error {
                    loc: loc.into(),
                    msg: "'anyOf' failed, none matched".into(),
                    causes,
                });
            }
        }
        if let Some(J::Array(one)) = s.get("oneOf") {
            let mut causes = Vec::new();
            let mut matched = Vec::new();
            for (i, sub) in one.iter().enumerate() {
                match self.validate_eval(v, sub, base, loc) {
                    Ok(e) => {
                        matched.push(i);
                        ev.absorb(e);
                    }
                    Err(e) => causes.push(e),
                }
            }
            match matched.len() {
                0 => errors.push(Error {
                    loc: loc.into(),
                    msg: "'oneOf' failed, none matched".into(),
                    causes,
                }),
                1 => {}
                _ => errors.push(err(format!(
                    "'oneOf' failed, subschemas {} matched",
                    matched
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        if let Some(not) = s.get("not")
            && self.validate(v, not, base, loc).is_none()
        {
            errors.push(err("'not' failed".into()));
        }
        if let Some(cond) = s.get("if") {
            let branch = match self.validate_eval(v, cond, base, loc) {
                Ok(e) => {
                    ev.absorb(e);
                    s.get("then")
                }
                Err(_) => s.get("else"),
            };
            if let Some(b) = branch {
                match self.validate_eval(v, b, base, loc) {
                    Ok(e) => ev.absorb(e),
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty()
            && let (Some(u), Value::Map(m)) = (s.get("unevaluatedProperties"), v)
            && !ev.all_props
        {
            let m = m.borrow().clone();
            let extra: Vec<&String> = m.keys().filter(|k| !ev.props.contains(*k)).collect();
            self.extra_properties("unevaluated", u, &m, &extra, base, loc, &mut errors);
            ev.all_props = true;
        }
        if errors.is_empty()
            && let (Some(u), Value::List(items)) = (s.get("unevaluatedItems"), v)
            && !ev.all_items
        {
            for (i, item) in items.iter().enumerate().skip(ev.items) {
                if let Some(e) = self.validate(item, u, base, &format!("{loc}/{i}")) {
                    errors.push(e);
                }
            }
            ev.all_items = true;
        }
        self.depth -= 1;
        match errors.len() {
            0 => Ok(ev),
            1 => Err(errors.pop().unwrap()),
            _ => Err(Error {
                loc: loc.into(),
                msg: "validation failed".into(),
                causes: errors,
            }),
        }
    }
}

/// `minLength`/`maxLength`, `minItems`/`maxItems`, `minProperties`/`maxProperties`.
fn count_bounds(
    s: &serde_json::Map<String, J>,
    what: &str,
    n: u64,
    errors: &mut Vec<Error>,
    err: &dyn Fn(String) -> Error,
) {
    if let Some(m) = s.get(&format!("min{what}")).and_then(J::as_u64)
        && n < m
    {
        errors.push(err(format!("min{what}: got {n}, want {m}")));
    }
    if let Some(m) = s.get(&format!("max{what}")).and_then(J::as_u64)
        && n > m
    {
        errors.push(err(format!("max{what}: got {n}, want {m}")));
    }
}

fn find_anchor<'a>(j: &'a J, name: &str) -> Option<&'a J> {
    match j {
        J::Object(m) => {
            if m.get("$anchor").and_then(J::as_str) == Some(name) {
                return Some(j);
            }
            m.values().find_map(|v| find_anchor(v, name))
        }
        J::Array(a) => a.iter().find_map(|v| find_anchor(v, name)),
        _ => None,
    }
}
