//! The verbs on resources, as the API server answers them: get, list (label and field
//! selectors, `limit`/`continue`), watch (from a resourceVersion, `410 Gone` when it is too
//! old), create, update, patch in all four types (server-side apply, JSON merge, JSON patch,
//! strategic merge), delete and deletecollection (propagation, preconditions), the `status` and
//! `scale` subresources, `dryRun=All`, `fieldManager`, `fieldValidation`, and `Status` error
//! bodies with the server's codes, reasons, details and causes.

use super::request::{Accept, Route, Target, query, route};
use super::{ApiServer, Body, discovery, json_response, status, table};
use crate::cluster::sim::api::{ChangeKind, ServedResource};
use crate::cluster::sim::{SimCluster, fields};
use crate::cluster::{ApiError, ApplyOptions, Cluster, DeleteOptions, Propagation};
use crate::object::ObjectKey;
use crate::object::selector::Selector;
use crate::util::Pointer;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

type Query = BTreeMap<String, String>;

/// Answers one request.
pub async fn dispatch(server: &ApiServer, req: Request<Bytes>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let q = query(parts.uri.query());
    let accept = Accept::parse(
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|h| h.to_str().ok()),
    );
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let get = parts.method == Method::GET;
    let ct = content_type(&parts.headers);
    let mut parts = parts;
    let mut body = body;
    if !body.is_empty() && ct == "application/vnd.kubernetes.protobuf" {
        match super::protobuf::decode(&body) {
            Ok(v) => {
                body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
                parts.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(e) => {
                return status(
                    400,
                    "BadRequest",
                    &format!("the protobuf body could not be decoded: {e}"),
                    None,
                );
            }
        }
    } else if !body.is_empty() && (ct.contains("protobuf") || ct.contains("cbor")) {
        return status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {ct})"
            ),
            None,
        );
    }
    match route(parts.uri.path()) {
        Route::Version if get => json_response(StatusCode::OK, &discovery::version()),
        Route::Health if get => {
            let mut r = Response::new(Body::full("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        Route::CoreVersions | Route::Groups if get => {
            let core = matches!(route(parts.uri.path()), Route::CoreVersions);
            let served = server.lock().served_resources();
            // Aggregated discovery when the client asks for it (kubectl and client-go do).
            match accept
                .wants_as("APIGroupDiscoveryList")
                .filter(|v| v == "v2" || v == "v2beta1")
            {
                Some(v) => {
                    let mut r =
                        json_response(StatusCode::OK, &discovery::aggregated(&served, core, &v));
                    if let Ok(h) = HeaderValue::from_str(&format!(
                        "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
                    )) {
                        r.headers_mut().insert(header::CONTENT_TYPE, h);
                    }
                    r
                }
                None if core => json_response(StatusCode::OK, &discovery::core_versions(&host)),
                None => json_response(StatusCode::OK, &discovery::group_list(&served)),
            }
        }
        Route::Group(g) if get => {
            let served = server.lock().served_resources();
            match discovery::group(&served, &g) {
                Some(v) => json_response(StatusCode::OK, &v),
                None => not_found_path(),
            }
        }
        Route::GroupVersion { group, version } if get => {
            let served = server.lock().served_resources();
            match discovery::resource_list(&served, &group, &version) {
                Some(v) => json_response(StatusCode::OK, &v),
                None => not_found_path(),
            }
        }
        Route::OpenApiV2 if get => {
            // kubectl asks for the protobuf form and reads it with gnostic; an empty message is
            // an empty document: no definitions, so clients validate nothing against it.
            if accept_header(&parts.headers).contains("protobuf") {
                let mut r = Response::new(Body::empty());
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    ),
                );
                r
            } else {
                json_response(
                    StatusCode::OK,
                    &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": crate::schema::catalog::kubernetes_version()}, "paths": {}, "definitions": {}}),
                )
            }
        }
        Route::OpenApiV3Index if get => {
            let served = server.lock().served_resources();
            json_response(StatusCode::OK, &super::openapi::index(&served))
        }
        Route::OpenApiV3 { group, version } if get => {
            let served = server.lock().served_resources();
            match super::openapi::document(&served, &group, &version) {
                Some(v) => json_response(StatusCode::OK, &v),
                None => not_found_path(),
            }
        }
        Route::Resource(t) => {
            let watching = get
                && t.name.is_none()
                && matches!(q.get("watch").map(String::as_str), Some("1" | "true"));
            if watching {
                watch(server, &t, &q).await
            } else {
                let mut sim = server.lock();
                resource(
                    &mut sim,
                    &parts.method,
                    &parts.headers,
                    &t,
                    &q,
                    &accept,
                    &body,
                )
            }
        }
        Route::Version
        | Route::Health
        | Route::CoreVersions
        | Route::Groups
        | Route::Group(_)
        | Route::GroupVersion { .. } => status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            None,
        ),
        _ => not_found_path(),
    }
}

/// What the API server answers for a path it does not serve at all.
fn not_found_path() -> Response<Body> {
    let mut r = Response::new(Body::full("404 page not found\n"));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn accept_header(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A resource the server does not serve: a `Status` when its group-version is served, the
/// plain `404 page not found` when not even that is (a CRD's group once the CRD is gone).
fn unserved(sim: &SimCluster, t: &Target) -> Response<Body> {
    let gv_served = sim
        .served_resources()
        .iter()
        .any(|r| r.group == t.group && r.version == t.version);
    if gv_served {
        resource_not_found()
    } else {
        not_found_path()
    }
}

fn resource_not_found() -> Response<Body> {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn bad_request(message: &str) -> Response<Body> {
    status(400, "BadRequest", message, None)
}

/// `plural.group "name"` at the start of a message: the details the server attaches.
fn named_details(message: &str) -> Option<Value> {
    let (resource, rest) = message.split_once(" \"")?;
    if resource.contains(' ') {
        return None;
    }
    let (name, _) = rest.split_once('"')?;
    let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
    let mut d = json!({"name": name, "kind": kind});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    Some(d)
}

/// The causes of an `Invalid` message (`The Kind "name" is invalid: field: message`, or one
/// `* field: message` line per cause).
fn invalid_details(message: &str, group: &str) -> Option<Value> {
    let rest = message.strip_prefix("The ")?;
    let (kind, rest) = rest.split_once(" \"")?;
    let (name, rest) = rest.split_once("\" is invalid:")?;
    let lines: Vec<&str> = if let Some(list) = rest.strip_prefix('\n') {
        list.lines().map(|l| l.trim_start_matches("* ")).collect()
    } else {
        vec![rest.trim_start()]
    };
    let causes: Vec<Value> = lines
        .iter()
        .map(|l| {
            let (field, msg) = l.split_once(": ").unwrap_or(("", l));
            let reason = if msg.starts_with("Required value") {
                "FieldValueRequired"
            } else if msg.starts_with("Forbidden") {
                "FieldValueForbidden"
            } else if msg.starts_with("Unsupported value") {
                "FieldValueNotSupported"
            } else if msg.starts_with("Duplicate value") {
                "FieldValueDuplicate"
            } else {
                "FieldValueInvalid"
            };
            json!({"reason": reason, "message": msg, "field": field})
        })
        .collect();
    let mut d = json!({"name": name, "kind": kind, "causes": causes});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    Some(d)
}

/// An error from the simulator as the API server sends it.
fn error(e: &ApiError, group: &str) -> Response<Body> {
    let details = match e.reason.as_str() {
        "Invalid" => invalid_details(&e.message, group),
        "NotFound" | "AlreadyExists" | "Conflict" | "Forbidden" => named_details(&e.message),
        _ => e.retry_after.map(|s| json!({"retryAfterSeconds": s})),
    };
    let mut r = status(e.code, &e.reason, &e.message, details);
    // As the API server answers a request it throttles.
    if let Some(s) = e.retry_after
        && let Ok(v) = http::HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    r
}

/// The field manager: `fieldManager`, else the client's name from its User-Agent (as the
/// API server derives it: `kubectl/v1.32.5 (linux/amd64) ...` is `kubectl`).
fn manager(q: &Query, headers: &HeaderMap) -> String {
    if let Some(m) = q.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.clone();
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = agent.split('/').next().unwrap_or("").trim();
    if name.is_empty() {
        "unknown".into()
    } else {
        name.chars().take(128).collect()
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decodes a body: JSON, or YAML for the YAML media types.
fn decode(body: &[u8], yaml: bool) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) if !yaml => Err(format!("json parse error: {e}")),
        Err(_) => {
            let text = std::str::from_utf8(body).map_err(|e| format!("yaml: {e}"))?;
            let parsed = crate::syntax::parse(text, &crate::syntax::Limits::default(), &|_| {
                crate::diag::Location::file("request")
            });
            if let Some(d) = parsed.diagnostics.first() {
                return Err(format!("yaml: {}", d.message));
            }
            let mut docs = parsed.documents.into_iter();
            match (docs.next(), docs.next()) {
                (Some(d), None) => Ok(d.value),
                (None, _) => Err("yaml: the body is empty".into()),
                _ => Err("yaml: the body has more than one document".into()),
            }
        }
    }
}

/// `dryRun`: absent, or `All`.
fn dry_run(q: &Query) -> Result<bool, Response<Body>> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(bad_request(&format!(
            "Invalid dry run value: {other} (supported values: All)"
        ))),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

fn field_validation(q: &Query) -> Result<FieldValidation, Response<Body>> {
    match q.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some(other) => Err(bad_request(&format!(
            "fieldValidation parameter unsupported: {other}, (supported values: Ignore, Warn, Strict)"
        ))),
    }
}

/// A field selector: `metadata.name=x,status.phase!=Running`.
#[derive(Clone, Debug, Default)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

/// The fields each kind can be selected by besides `metadata.name` and `metadata.namespace`.
fn selectable(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "Event") | ("events.k8s.io", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "Secret") => &["type"],
        ("", "Namespace") => &["status.phase"],
        ("", "Node") => &["spec.unschedulable"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    pub fn parse(s: &str, group: &str, kind: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            let field = field.trim();
            if !["metadata.name", "metadata.namespace"].contains(&field)
                && !selectable(group, kind).contains(&field)
            {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, v: &Value) -> bool {
        self.terms.iter().all(|(field, equal, want)| {
            let pointer: String = field.split('.').map(|p| format!("/{p}")).collect();
            let have = match v.at(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (have == *want) == *equal
        })
    }
}

/// What a list or watch selects.
struct Selection {
    namespace: Option<String>,
    labels: Selector,
    fields: FieldSelector,
}

impl Selection {
    fn new(r: &ServedResource, t: &Target, q: &Query) -> Result<Selection, Response<Body>> {
        let labels = Selector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
            .map_err(|e| bad_request(&format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(
            q.get("fieldSelector").map(String::as_str).unwrap_or(""),
            &r.group,
            &r.kind,
        )
        .map_err(|e| bad_request(&e))?;
        Ok(Selection {
            namespace: t.namespace.clone(),
            labels,
            fields,
        })
    }

    fn matches(&self, key: &ObjectKey, v: &Value) -> bool {
        self.namespace.as_ref().is_none_or(|n| &key.namespace == n)
            && self
                .labels
                .matches(v.at("/metadata/labels").and_then(Value::as_object))
            && self.fields.matches(v)
    }
}

/// The served resource a target names.
fn served(sim: &SimCluster, t: &Target) -> Option<ServedResource> {
    sim.served_resources()
        .into_iter()
        .find(|r| r.group == t.group && r.version == t.version && r.plural == t.plural)
}

fn key(r: &ServedResource, t: &Target, name: &str) -> ObjectKey {
    ObjectKey {
        group: r.group.clone(),
        kind: r.kind.clone(),
        namespace: if r.namespaced {
            t.namespace.clone().unwrap_or_default()
        } else {
            String::new()
        },
        name: name.to_string(),
    }
}

fn not_found(r: &ServedResource, name: &str) -> Response<Body> {
    error(
        &ApiError::not_found(format!("{} \"{name}\" not found", r.qualified())),
        &r.group,
    )
}

/// The object as this request's version shows it.
fn shown(mut v: Value, r: &ServedResource) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), json!(r.api_version()));
        m.insert("kind".into(), json!(r.kind));
    }
    v
}

fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - {}", Value::String(w.clone()));
        if let Ok(h) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("Warning", h);
        }
    }
    resp
}

/// Applies the request's field validation to an object; the warnings to send.
fn validate_fields(
    sim: &mut SimCluster,
    r: &ServedResource,
    object: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, Response<Body>> {
    let root = sim.schema_root(&r.group, &r.version, &r.kind);
    let schema = fields::Schema {
        schemas: Some(&sim.catalog().schemas),
        node: root,
    };
    let unknown = fields::drop_undeclared(object, schema);
    if unknown.is_empty() || mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let named: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if mode == FieldValidation::Strict {
        return Err(bad_request(&format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
            named.join(", "),
            kind = r.kind,
            v = r.version,
        )));
    }
    Ok(named)
}

/// Fills in and checks the identity of an object in a request body against the path.
fn identify(
    object: &mut Value,
    r: &ServedResource,
    t: &Target,
    name: Option<&str>,
) -> Result<(), Response<Body>> {
    if !object.is_object() {
        return Err(bad_request("the body of the request is not an object"));
    }
    let api = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if (!api.is_empty() && api != r.api_version()) || (!kind.is_empty() && kind != r.kind) {
        return Err(bad_request(&format!(
            "the API version in the data ({api}) does not match the expected API version ({})",
            r.api_version()
        )));
    }
    object["apiVersion"] = json!(r.api_version());
    object["kind"] = json!(r.kind);
    let meta = super::super::sim::meta_mut(object);
    if r.namespaced {
        let wanted = t.namespace.clone().unwrap_or_default();
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != wanted => {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                meta.insert("namespace".into(), json!(wanted));
            }
        }
    }
    if let Some(name) = name {
        match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != name => {
                return Err(bad_request(
                    "the name of the object and the name on the request do not match",
                ));
            }
            _ => {
                meta.insert("name".into(), json!(name));
            }
        }
    }
    Ok(())
}

/// The verbs on a resource path (all but watch).
fn resource(
    sim: &mut SimCluster,
    method: &Method,
    headers: &HeaderMap,
    t: &Target,
    q: &Query,
    accept: &Accept,
    body: &[u8],
) -> Response<Body> {
    let Some(r) = served(sim, t) else {
        return unserved(sim, t);
    };
    if !r.namespaced && t.namespace.is_some() {
        return resource_not_found();
    }
    if let Some(sub) = &t.subresource
        && !r.subresources.contains(sub)
    {
        return resource_not_found();
    }
    let dry = match dry_run(q) {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    let manager = manager(q, headers);
    let name = t.name.as_deref();
    let sub = t.subresource.as_deref();
    match (method.as_str(), name, sub) {
        ("GET", None, None) => list(sim, &r, t, q, accept),
        ("GET", Some(n), None | Some("status")) => get(sim, &r, t, n, accept),
        ("GET", Some(n), Some("scale")) => match scale_of(sim, &key(&r, t, n)) {
            Some(s) => json_response(StatusCode::OK, &s),
            None => not_found(&r, n),
        },
        ("POST", None, None) => create(sim, &r, t, q, headers, body, &manager, dry),
        ("PUT", Some(n), sub) => update(sim, &r, t, n, sub, q, headers, body, &manager, dry),
        ("PATCH", Some(n), sub) => patch(sim, &r, t, n, sub, q, headers, body, &manager, dry),
        ("DELETE", Some(n), None) => delete(sim, &r, t, n, q, body, dry),
        ("DELETE", None, None) => delete_collection(sim, &r, t, q, body, dry),
        _ => status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            None,
        ),
    }
}

fn get(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    name: &str,
    accept: &Accept,
) -> Response<Body> {
    let k = key(r, t, name);
    let v = match Cluster::get(sim, &k) {
        Ok(Some(v)) => shown(v, r),
        Ok(None) => return not_found(r, name),
        Err(e) => return error(&e, &r.group),
    };
    if accept.wants_as("Table").is_some() {
        let meta = json!({"resourceVersion": v.at("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)});
        return json_response(StatusCode::OK, &table::table(r, &[v], sim.time(), meta));
    }
    json_response(StatusCode::OK, &v)
}

/// Objects a list selects, in key order, with the cluster's resourceVersion.
fn selected(sim: &SimCluster, r: &ServedResource, sel: &Selection) -> Vec<(ObjectKey, Value)> {
    // A range of the store (keys sort by group, kind, namespace, name), not a scan.
    sim.stored_of(&r.group, &r.kind, sel.namespace.as_deref())
        .filter(|(k, s)| sel.matches(k, &s.object))
        .map(|(k, _)| (k.clone(), shown(sim.render(k), r)))
        .collect()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn list(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    q: &Query,
    accept: &Accept,
) -> Response<Body> {
    let sel = match Selection::new(r, t, q) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let mut items = selected(sim, r, &sel);
    // `continue`: the key after which to resume, as `namespace/name`.
    if let Some(token) = q.get("continue").filter(|c| !c.is_empty()) {
        let Some(after) = unhex(token) else {
            return bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            );
        };
        items.retain(|(k, _)| format!("{}/{}", k.namespace, k.name) > after);
    }
    let mut meta = json!({"resourceVersion": sim.resource_version().to_string()});
    if let Some(limit) = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        && items.len() > limit
    {
        let rest = items.len() - limit;
        items.truncate(limit);
        if let Some((k, _)) = items.last() {
            meta["continue"] = json!(hex(&format!("{}/{}", k.namespace, k.name)));
            meta["remainingItemCount"] = json!(rest);
        }
    }
    let objects: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    if accept.wants_as("Table").is_some() {
        return json_response(StatusCode::OK, &table::table(r, &objects, sim.time(), meta));
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", r.kind),
            "apiVersion": r.api_version(),
            "metadata": meta,
            "items": objects,
        }),
    )
}

#[allow(clippy::too_many_arguments)]
fn create(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
    body: &[u8],
    manager: &str,
    dry: bool,
) -> Response<Body> {
    let mut object = match decode(body, content_type(headers).contains("yaml")) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("couldn't get version/kind; {e}")),
    };
    if let Err(resp) = identify(&mut object, r, t, None) {
        return resp;
    }
    let mode = match field_validation(q) {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    let warnings = match validate_fields(sim, r, &mut object, mode) {
        Ok(w) => w,
        Err(resp) => return resp,
    };
    match sim.create(object, manager, dry) {
        Ok(v) => with_warnings(json_response(StatusCode::CREATED, &shown(v, r)), &warnings),
        Err(e) => error(&e, &r.group),
    }
}

#[allow(clippy::too_many_arguments)]
fn update(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    name: &str,
    sub: Option<&str>,
    q: &Query,
    headers: &HeaderMap,
    body: &[u8],
    manager: &str,
    dry: bool,
) -> Response<Body> {
    let object = match decode(body, content_type(headers).contains("yaml")) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("couldn't get version/kind; {e}")),
    };
    if sub == Some("scale") {
        let replicas = object.at("/spec/replicas").and_then(Value::as_i64);
        return set_scale(sim, r, &key(r, t, name), replicas, manager, dry);
    }
    store(sim, r, t, name, sub, q, object, manager, dry)
}

/// The end of an update or a patch: the body checked against the path, its fields against
/// the schema (`fieldValidation`), then stored as an Update by `manager`.
#[allow(clippy::too_many_arguments)]
fn store(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    name: &str,
    sub: Option<&str>,
    q: &Query,
    mut object: Value,
    manager: &str,
    dry: bool,
) -> Response<Body> {
    if let Err(resp) = identify(&mut object, r, t, Some(name)) {
        return resp;
    }
    let mode = match field_validation(q) {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    let warnings = match validate_fields(sim, r, &mut object, mode) {
        Ok(w) => w,
        Err(resp) => return resp,
    };
    match sim.update(object, manager, sub.unwrap_or(""), dry) {
        Ok(v) => with_warnings(json_response(StatusCode::OK, &shown(v, r)), &warnings),
        Err(e) => error(&e, &r.group),
    }
}

/// A JSON merge patch (RFC 7386).
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn patch(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    name: &str,
    sub: Option<&str>,
    q: &Query,
    headers: &HeaderMap,
    body: &[u8],
    manager: &str,
    dry: bool,
) -> Response<Body> {
    let ct = content_type(headers);
    let k = key(r, t, name);
    if ct == "application/apply-patch+yaml" {
        let mut object = match decode(body, true) {
            Ok(v) => v,
            Err(e) => return bad_request(&format!("error decoding YAML: {e}")),
        };
        if sub.is_some() {
            return status(
                415,
                "UnsupportedMediaType",
                "server-side apply of a subresource is not served by the simulated cluster",
                None,
            );
        }
        if let Err(resp) = identify(&mut object, r, t, Some(name)) {
            return resp;
        }
        if q.get("fieldManager").is_none_or(|m| m.is_empty()) {
            return error(
                &ApiError::invalid(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ),
                "meta.k8s.io",
            );
        }
        let existed = sim.objects().any(|(key, _)| key == &k);
        let options = ApplyOptions {
            manager: manager.to_string(),
            force: q.get("force").map(String::as_str) == Some("true"),
            dry_run: dry,
        };
        return match Cluster::apply(sim, &object, &options) {
            Ok(v) => json_response(
                if existed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                },
                &shown(v, r),
            ),
            Err(e) => error(&e, &r.group),
        };
    }
    const PATCH_TYPES: &[&str] = &[
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
    ];
    if !PATCH_TYPES.contains(&ct.as_str()) {
        return status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"
            ),
            None,
        );
    }
    let patch_doc = match decode(body, false) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("error decoding patch: {e}")),
    };
    let base = if sub == Some("scale") {
        scale_of(sim, &k)
    } else {
        Cluster::get(sim, &k).ok().flatten()
    };
    let Some(mut base) = base else {
        return not_found(r, name);
    };
    if let Some(m) = base.at_mut("/metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let patched = match ct.as_str() {
        "application/merge-patch+json" => {
            merge_patch(&mut base, &patch_doc);
            base
        }
        "application/json-patch+json" => {
            let ops = match crate::render::jsonpatch::decode(&patch_doc) {
                Ok(o) => o,
                Err(e) => return bad_request(&e),
            };
            match crate::render::jsonpatch::apply(&base, &ops) {
                Ok(v) => v,
                Err(e) => {
                    return status(422, "Invalid", &e, None);
                }
            }
        }
        "application/strategic-merge-patch+json" => {
            if r.custom {
                return status(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    None,
                );
            }
            let root = sim.schema_root(&r.group, &r.version, &r.kind);
            match crate::render::kustomize::smp::merge(
                &base,
                &patch_doc,
                root,
                Some(&sim.catalog().schemas),
                &[],
            ) {
                Ok(Some(v)) => v,
                Ok(None) => json!({}),
                Err(e) => return bad_request(&e),
            }
        }
        _ => {
            return status(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"
                ),
                None,
            );
        }
    };
    if sub == Some("scale") {
        let replicas = patched.at("/spec/replicas").and_then(Value::as_i64);
        return set_scale(sim, r, &k, replicas, manager, dry);
    }
    store(sim, r, t, name, sub, q, patched, manager, dry)
}

/// The `autoscaling/v1` Scale of an object.
fn scale_of(sim: &mut SimCluster, k: &ObjectKey) -> Option<Value> {
    let v = Cluster::get(sim, k).ok().flatten()?;
    let meta = v.get("metadata").cloned().unwrap_or(json!({}));
    let mut m = json!({});
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(x) = meta.get(f) {
            m[f] = x.clone();
        }
    }
    let selector: Vec<String> = v
        .at("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    Some(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": m,
        "spec": {"replicas": v.at("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": v.at("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector.join(","),
        },
    }))
}

fn set_scale(
    sim: &mut SimCluster,
    r: &ServedResource,
    k: &ObjectKey,
    replicas: Option<i64>,
    manager: &str,
    dry: bool,
) -> Response<Body> {
    let Some(n) = replicas else {
        return error(
            &ApiError::invalid(format!(
                "The Scale \"{}\" is invalid: spec.replicas: Required value",
                k.name
            )),
            "autoscaling",
        );
    };
    if n < 0 {
        return error(
            &ApiError::invalid(format!(
                "The Scale \"{}\" is invalid: spec.replicas: Invalid value: {n}: must be greater than or equal to 0",
                k.name
            )),
            "autoscaling",
        );
    }
    if !dry
        && let Err(e) = sim.update_as(k, manager, "scale", &|o: &mut Value| {
            o["spec"]["replicas"] = json!(n)
        })
    {
        return error(&e, &r.group);
    }
    match scale_of(sim, k) {
        Some(mut s) => {
            s["spec"]["replicas"] = json!(n);
            json_response(StatusCode::OK, &s)
        }
        None => not_found(r, &k.name),
    }
}

/// Delete options, from the body (`DeleteOptions`) and the query.
fn delete_options(q: &Query, body: &[u8], dry: bool) -> Result<DeleteOptions, Response<Body>> {
    let opts = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        decode(body, false)
            .map_err(|e| bad_request(&format!("couldn't decode DeleteOptions: {e}")))?
    };
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| q.get("propagationPolicy").cloned());
    let orphan = opts
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| q.get("orphanDependents").map(|v| v == "true"));
    let propagation = match (policy.as_deref(), orphan) {
        (Some("Foreground"), _) => Propagation::Foreground,
        (Some("Orphan"), _) | (None, Some(true)) => Propagation::Orphan,
        (Some("Background") | None, _) => Propagation::Background,
        (Some(other), _) => {
            return Err(error(
                &ApiError::invalid(format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                )),
                "meta.k8s.io",
            ));
        }
    };
    let dry = dry
        || opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x == "All"));
    let pre = |f: &str| {
        opts.at(&format!("/preconditions/{f}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(DeleteOptions {
        propagation,
        dry_run: dry,
        uid: pre("uid"),
        resource_version: pre("resourceVersion"),
    })
}

fn delete(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    name: &str,
    q: &Query,
    body: &[u8],
    dry: bool,
) -> Response<Body> {
    let options = match delete_options(q, body, dry) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    let k = key(r, t, name);
    let Some((_, uid)) = sim.identity(&k) else {
        return not_found(r, name);
    };
    let before = Cluster::get(sim, &k).ok().flatten().unwrap_or(Value::Null);
    if let Err(e) = Cluster::delete(sim, &k, &options) {
        return error(&e, &r.group);
    }
    if options.dry_run {
        return json_response(StatusCode::OK, &shown(before, r));
    }
    match Cluster::get(sim, &k).ok().flatten() {
        Some(still) => json_response(StatusCode::OK, &shown(still, r)),
        None => {
            let mut details = json!({"name": name, "kind": r.plural, "uid": uid});
            if !r.group.is_empty() {
                details["group"] = json!(r.group);
            }
            json_response(
                StatusCode::OK,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
            )
        }
    }
}

fn delete_collection(
    sim: &mut SimCluster,
    r: &ServedResource,
    t: &Target,
    q: &Query,
    body: &[u8],
    dry: bool,
) -> Response<Body> {
    let options = match delete_options(q, body, dry) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    let sel = match Selection::new(r, t, q) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let items = selected(sim, r, &sel);
    for (k, _) in &items {
        if let Err(e) = Cluster::delete(sim, k, &options) {
            return error(&e, &r.group);
        }
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", r.kind),
            "apiVersion": r.api_version(),
            "metadata": {"resourceVersion": sim.resource_version().to_string()},
            "items": items.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }),
    )
}

fn event(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// A watch: the changes after `resourceVersion` (or the current objects first, when it is
/// empty or `0`, or `sendInitialEvents=true`), then every change as it happens, until
/// `timeoutSeconds` or the client goes.
async fn watch(server: &ApiServer, t: &Target, q: &Query) -> Response<Body> {
    let mut changed = server.subscribe();
    let (r, sel, mut since, first) = {
        let sim = server.lock();
        let Some(r) = served(&sim, t) else {
            return unserved(&sim, t);
        };
        let sel = match Selection::new(&r, t, q) {
            Ok(s) => s,
            Err(resp) => return resp,
        };
        let rv = q.get("resourceVersion").map(String::as_str).unwrap_or("");
        let initial = q.get("sendInitialEvents").map(String::as_str) == Some("true");
        let mut first = Vec::new();
        let mut since;
        if rv.is_empty() || rv == "0" || initial {
            for (_, v) in selected(&sim, &r, &sel) {
                first.push(event("ADDED", &v));
            }
            since = sim.resource_version();
            if initial {
                first.push(event(
                    "BOOKMARK",
                    &json!({
                        "kind": r.kind,
                        "apiVersion": r.api_version(),
                        "metadata": {
                            "resourceVersion": since.to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    }),
                ));
            }
        } else {
            let Ok(n) = rv.parse::<u64>() else {
                return error(
                    &ApiError::invalid(format!(
                        "The ListOptions \"\" is invalid: resourceVersion: Invalid value: \"{rv}\": must be a valid resourceVersion"
                    )),
                    "meta.k8s.io",
                );
            };
            since = n;
            let journal = sim.journal();
            if let Some(Err(oldest)) = journal.map(|j| j.since(n).map(|_| ())) {
                first.push(event(
                    "ERROR",
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure",
                        "message": format!("too old resource version: {n} ({oldest})"),
                        "reason": "Expired", "code": 410,
                    }),
                ));
                since = u64::MAX;
            }
        }
        (r, sel, since, first)
    };
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800);
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let server = server.clone();
    tokio::spawn(async move {
        for b in first {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        if since == u64::MAX {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        loop {
            let batch: Vec<Bytes> = {
                let sim = server.lock();
                let Some(journal) = sim.journal() else { return };
                let Ok(changes) = journal.since(since) else {
                    return;
                };
                let mut out = Vec::new();
                for c in changes {
                    since = c.rv;
                    if c.key.group == r.group
                        && c.key.kind == r.kind
                        && sel.matches(&c.key, &c.object)
                    {
                        let kind = match c.kind {
                            ChangeKind::Added => "ADDED",
                            ChangeKind::Modified => "MODIFIED",
                            ChangeKind::Deleted => "DELETED",
                        };
                        out.push(event(kind, &shown(c.object.clone(), &r)));
                    }
                }
                out
            };
            for b in batch {
                if tx.send(b).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                res = changed.changed() => if res.is_err() { return },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let mut resp = Response::new(Body::Stream(rx));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
