//! Implicit edges: what the objects themselves say about order. A namespaced object waits for
//! its Namespace, a custom resource for its CRD, a workload for the ConfigMaps, Secrets,
//! ServiceAccount, PVCs, PriorityClass and RuntimeClass its pod template uses, a binding for its
//! role, a PVC for its StorageClass, an Ingress or Gateway for its class, a webhook
//! configuration or APIService for the Service it calls and the workloads behind it. A Secret
//! made by another object (ExternalSecret, SealedSecret, cert-manager Certificate) makes its
//! consumers wait for that object.
//!
//! A reference to an object that is not in the input is recorded as external (optional
//! references excepted); [`super::external_reports`] turns those into warnings.

use super::{Builder, Rule};
use crate::object::ObjectKey;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// The value at a pointer without escapes (`/spec/template/spec`), walked without parsing.
pub fn at<'v>(v: &'v Value, ptr: &str) -> Option<&'v Value> {
    let mut cur = v;
    for seg in ptr.split('/').skip(1) {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn s<'v>(v: &'v Value, ptr: &str) -> Option<&'v str> {
    at(v, ptr).and_then(Value::as_str).filter(|x| !x.is_empty())
}

/// An object referred to, borrowed from the referring object until it turns out missing.
#[derive(Clone, Copy)]
struct Target<'x> {
    group: &'x str,
    kind: &'x str,
    namespace: &'x str,
    name: &'x str,
}

impl Target<'_> {
    fn owned(&self) -> ObjectKey {
        ObjectKey {
            group: self.group.into(),
            kind: self.kind.into(),
            namespace: self.namespace.into(),
            name: self.name.into(),
        }
    }
}

fn key<'x>(group: &'x str, kind: &'x str, namespace: &'x str, name: &'x str) -> Target<'x> {
    Target {
        group,
        kind,
        namespace,
        name,
    }
}

/// The JSON pointer of a workload's pod spec, if it has one.
pub fn pod_spec_pointer(kind: &str, group: &str, v: &Value) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        ("", "ReplicationController") | ("apps", _) | ("batch", _) => Some("/spec/template/spec"),
        // Other built-in kinds have no pod template; custom resources may (Argo Rollouts...).
        (g, _) if g.is_empty() || !g.contains('.') || g.ends_with(".k8s.io") => None,
        _ if at(v, "/spec/template/spec/containers").is_some_and(Value::is_array) => {
            Some("/spec/template/spec")
        }
        _ => None,
    }
}

/// Producers of Secrets: (scope, namespace, secret name) -> producer.
fn secret_producers(b: &Builder) -> HashMap<(u32, String, String), usize> {
    let mut out = HashMap::new();
    for (i, o) in b.input.objects.iter().enumerate() {
        let ns = o.key.namespace.clone();
        let name = match (o.key.group.as_str(), o.key.kind.as_str()) {
            ("external-secrets.io", "ExternalSecret") => s(&o.value, "/spec/target/name")
                .unwrap_or(&o.key.name)
                .to_string(),
            ("bitnami.com", "SealedSecret") => s(&o.value, "/spec/template/metadata/name")
                .unwrap_or(&o.key.name)
                .to_string(),
            ("cert-manager.io", "Certificate") => match s(&o.value, "/spec/secretName") {
                Some(n) => n.to_string(),
                None => continue,
            },
            _ => continue,
        };
        out.entry((b.input.scopes[i], ns, name)).or_insert(i);
    }
    out
}

struct Refs<'b, 'a> {
    b: &'b mut Builder<'a>,
    producers: HashMap<(u32, String, String), usize>,
    /// Objects with a pod template, by scope and namespace, with the pointer of their pod labels.
    workloads: HashMap<(u32, String), Vec<(usize, String)>>,
}

impl Refs<'_, '_> {
    /// `to` waits for `group/kind namespace/name`, found at `pointer` of `to`.
    fn need(
        &mut self,
        to: usize,
        target: Target,
        rule: Rule,
        pointer: impl Into<Cow<'static, str>>,
        what: impl Into<Cow<'static, str>>,
        optional: bool,
    ) {
        let (pointer, what) = (pointer.into(), what.into());
        match self
            .b
            .index
            .find(to, target.group, target.kind, target.namespace, target.name)
        {
            Some(from) if from != to => self.b.edge(from, to, rule, what, Some((to, pointer))),
            Some(_) => {}
            None => {
                if target.group.is_empty() && target.kind == "Secret" {
                    let scope = self.b.input.scopes[to];
                    if let Some(&p) = self.producers.get(&(
                        scope,
                        target.namespace.to_string(),
                        target.name.to_string(),
                    )) {
                        let made = format!(
                            "{what}; {} makes Secret {}",
                            self.b.input.objects[p].key, target.name
                        );
                        self.b
                            .edge(p, to, Rule::SecretProducer, made, Some((to, pointer)));
                        return;
                    }
                }
                if !optional {
                    self.b.external(to, target.owned(), &pointer, what, false);
                }
            }
        }
    }
}

/// Adds every implicit edge.
pub fn infer(b: &mut Builder) {
    let producers = secret_producers(b);
    let objects = b.input.objects;
    // CRDs by the group and kind they serve.
    let mut crds: HashMap<(u32, &str, &str), usize> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if o.key.kind == "CustomResourceDefinition"
            && o.key.group == "apiextensions.k8s.io"
            && let (Some(g), Some(k)) =
                (s(&o.value, "/spec/group"), s(&o.value, "/spec/names/kind"))
        {
            crds.entry((b.input.scopes[i], g, k)).or_insert(i);
        }
    }
    let pod_specs: Vec<Option<&'static str>> = objects
        .iter()
        .map(|o| pod_spec_pointer(&o.key.kind, &o.key.group, &o.value))
        .collect();
    let mut workloads: HashMap<(u32, String), Vec<(usize, String)>> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if let Some(spec) = pod_specs[i] {
            let labels = format!(
                "{}/metadata/labels",
                spec.strip_suffix("/spec").unwrap_or(spec)
            );
            workloads
                .entry((b.input.scopes[i], o.key.namespace.clone()))
                .or_default()
                .push((i, labels));
        }
    }
    let mut r = Refs {
        b,
        producers,
        workloads,
    };
    for (i, o) in objects.iter().enumerate() {
        let ns = o.key.namespace.as_str();
        let v = &o.value;
        // Namespace.
        if !r.b.input.cluster_scoped[i] && !ns.is_empty() {
            r.need(
                i,
                key("", "Namespace", "", ns),
                Rule::Namespace,
                "/metadata/namespace",
                "in this namespace",
                false,
            );
        }
        // CRD (a missing CRD is `no-crd-schema`'s business, not an external reference).
        if let Some(&crd) = crds.get(&(
            r.b.input.scopes[i],
            o.key.group.as_str(),
            o.key.kind.as_str(),
        )) {
            r.b.edge(
                crd,
                i,
                Rule::CustomResourceDefinition,
                "defines its kind",
                Some((i, "/kind".into())),
            );
        }
        if let Some(spec) = pod_specs[i] {
            pod_template(&mut r, i, spec);
        }
        match (o.key.group.as_str(), o.key.kind.as_str()) {
            ("apps", "StatefulSet") => {
                for (j, t) in at(v, "/spec/volumeClaimTemplates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(class) = s(t, "/spec/storageClassName") {
                        let p = format!("/spec/volumeClaimTemplates/{j}/spec/storageClassName");
                        r.need(
                            i,
                            key("storage.k8s.io", "StorageClass", "", class),
                            Rule::StorageClass,
                            p,
                            format!("claim template uses StorageClass {class}"),
                            false,
                        );
                    }
                }
            }
            ("", "PersistentVolumeClaim") => {
                if let Some(class) = s(v, "/spec/storageClassName") {
                    r.need(
                        i,
                        key("storage.k8s.io", "StorageClass", "", class),
                        Rule::StorageClass,
                        "/spec/storageClassName",
                        format!("uses StorageClass {class}"),
                        false,
                    );
                }
            }
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                let kind = s(v, "/roleRef/kind").unwrap_or("");
                if let Some(name) = s(v, "/roleRef/name") {
                    let target = match kind {
                        "Role" => Some(key("rbac.authorization.k8s.io", "Role", ns, name)),
                        "ClusterRole" => {
                            Some(key("rbac.authorization.k8s.io", "ClusterRole", "", name))
                        }
                        _ => None,
                    };
                    if let Some(t) = target {
                        r.need(
                            i,
                            t,
                            Rule::RoleRef,
                            "/roleRef/name",
                            format!("grants {kind} {name}"),
                            false,
                        );
                    }
                }
            }
            ("networking.k8s.io" | "extensions", "Ingress") => {
                if let Some(class) = s(v, "/spec/ingressClassName") {
                    r.need(
                        i,
                        key("networking.k8s.io", "IngressClass", "", class),
                        Rule::RoutingClass,
                        "/spec/ingressClassName",
                        format!("uses IngressClass {class}"),
                        false,
                    );
                }
            }
            ("gateway.networking.k8s.io", "Gateway") => {
                if let Some(class) = s(v, "/spec/gatewayClassName") {
                    r.need(
                        i,
                        key("gateway.networking.k8s.io", "GatewayClass", "", class),
                        Rule::RoutingClass,
                        "/spec/gatewayClassName",
                        format!("uses GatewayClass {class}"),
                        false,
                    );
                }
            }
            (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
            ) => {
                for (j, w) in at(v, "/webhooks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let (Some(sns), Some(sname)) = (
                        s(w, "/clientConfig/service/namespace"),
                        s(w, "/clientConfig/service/name"),
                    ) {
                        let p = format!("/webhooks/{j}/clientConfig/service");
                        webhook_service(&mut r, i, sns, sname, &p);
                    }
                }
            }
            ("apiregistration.k8s.io", "APIService") => {
                if let (Some(sns), Some(sname)) =
                    (s(v, "/spec/service/namespace"), s(v, "/spec/service/name"))
                {
                    webhook_service(&mut r, i, sns, sname, "/spec/service");
                }
            }
            _ => {}
        }
    }
}

/// The references of a pod spec at `spec` in object `i`.
fn pod_template(r: &mut Refs, i: usize, spec: &str) {
    let input = r.b.input;
    let o = &input.objects[i];
    let ns = o.key.namespace.as_str();
    let Some(pod) = at(&o.value, spec) else {
        return;
    };
    let optional = |v: &Value| v.get("optional").and_then(Value::as_bool).unwrap_or(false);
    let mut wants: Vec<(Target, Rule, String, String, bool)> = Vec::new();
    let sa = s(pod, "/serviceAccountName")
        .map(|n| (n, "serviceAccountName"))
        .or_else(|| s(pod, "/serviceAccount").map(|n| (n, "serviceAccount")));
    if let Some((name, field)) = sa {
        wants.push((
            key("", "ServiceAccount", ns, name),
            Rule::PodTemplate,
            format!("{spec}/{field}"),
            format!("runs as ServiceAccount {name}"),
            false,
        ));
    }
    for (j, vol) in pod
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let vname = vol.get("name").and_then(Value::as_str).unwrap_or("");
        let base = format!("{spec}/volumes/{j}");
        if let Some(n) = s(vol, "/configMap/name") {
            wants.push((
                key("", "ConfigMap", ns, n),
                Rule::PodTemplate,
                format!("{base}/configMap/name"),
                format!("volume {vname} mounts ConfigMap {n}"),
                optional(&vol["configMap"]),
            ));
        }
        if let Some(n) = s(vol, "/secret/secretName") {
            wants.push((
                key("", "Secret", ns, n),
                Rule::PodTemplate,
                format!("{base}/secret/secretName"),
                format!("volume {vname} mounts Secret {n}"),
                optional(&vol["secret"]),
            ));
        }
        if let Some(n) = s(vol, "/persistentVolumeClaim/claimName") {
            wants.push((
                key("", "PersistentVolumeClaim", ns, n),
                Rule::PodTemplate,
                format!("{base}/persistentVolumeClaim/claimName"),
                format!("volume {vname} mounts PersistentVolumeClaim {n}"),
                false,
            ));
        }
        for (k, src) in at(vol, "/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (field, kind) in [("configMap", "ConfigMap"), ("secret", "Secret")] {
                if let Some(n) = src
                    .get(field)
                    .and_then(|x| x.get("name"))
                    .and_then(Value::as_str)
                    .filter(|x| !x.is_empty())
                {
                    wants.push((
                        key("", kind, ns, n),
                        Rule::PodTemplate,
                        format!("{base}/projected/sources/{k}/{field}/name"),
                        format!("volume {vname} projects {kind} {n}"),
                        optional(&src[field]),
                    ));
                }
            }
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for (c, container) in pod
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let cname = container.get("name").and_then(Value::as_str).unwrap_or("");
            let base = format!("{spec}/{list}/{c}");
            for (e, env) in container
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let ename = env.get("name").and_then(Value::as_str).unwrap_or("");
                for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")]
                {
                    if let Some(r2) = at(env, &format!("/valueFrom/{field}"))
                        && let Some(n) = r2
                            .get("name")
                            .and_then(Value::as_str)
                            .filter(|x| !x.is_empty())
                    {
                        wants.push((
                            key("", kind, ns, n),
                            Rule::PodTemplate,
                            format!("{base}/env/{e}/valueFrom/{field}/name"),
                            format!("container {cname} reads {ename} from {kind} {n}"),
                            optional(r2),
                        ));
                    }
                }
            }
            for (e, env) in container
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                    if let Some(r2) = env.get(field)
                        && let Some(n) = r2
                            .get("name")
                            .and_then(Value::as_str)
                            .filter(|x| !x.is_empty())
                    {
                        wants.push((
                            key("", kind, ns, n),
                            Rule::PodTemplate,
                            format!("{base}/envFrom/{e}/{field}/name"),
                            format!("container {cname} takes its environment from {kind} {n}"),
                            optional(r2),
                        ));
                    }
                }
            }
        }
    }
    for (j, ps) in pod
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(n) = ps
            .get("name")
            .and_then(Value::as_str)
            .filter(|x| !x.is_empty())
        {
            wants.push((
                key("", "Secret", ns, n),
                Rule::PodTemplate,
                format!("{spec}/imagePullSecrets/{j}/name"),
                format!("pulls images with Secret {n}"),
                false,
            ));
        }
    }
    if let Some(n) = s(pod, "/priorityClassName") {
        wants.push((
            key("scheduling.k8s.io", "PriorityClass", "", n),
            Rule::SchedulingClass,
            format!("{spec}/priorityClassName"),
            format!("uses PriorityClass {n}"),
            false,
        ));
    }
    if let Some(n) = s(pod, "/runtimeClassName") {
        wants.push((
            key("node.k8s.io", "RuntimeClass", "", n),
            Rule::SchedulingClass,
            format!("{spec}/runtimeClassName"),
            format!("uses RuntimeClass {n}"),
            false,
        ));
    }
    for (target, rule, pointer, what, opt) in wants {
        r.need(i, target, rule, pointer, what, opt);
    }
}

/// A webhook configuration or APIService `i` calls Service `ns/name`: it waits for the Service
/// and for the workloads that serve it.
fn webhook_service(r: &mut Refs, i: usize, ns: &str, name: &str, pointer: &str) {
    r.need(
        i,
        key("", "Service", ns, name),
        Rule::WebhookService,
        pointer.to_string(),
        format!("calls Service {ns}/{name}"),
        false,
    );
    let Some(svc) = r.b.index.find(i, "", "Service", ns, name) else {
        return;
    };
    let Some(selector) = at(&r.b.input.objects[svc].value, "/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .cloned()
    else {
        return;
    };
    let scope = r.b.input.scopes[i];
    let objects = r.b.input.objects;
    let backends: Vec<usize> = r
        .workloads
        .get(&(scope, ns.to_string()))
        .into_iter()
        .flatten()
        .filter(|(w, labels)| {
            *w != i
                && at(&objects[*w].value, labels)
                    .and_then(Value::as_object)
                    .is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
        })
        .map(|(w, _)| *w)
        .collect();
    for w in backends {
        r.b.edge(
            w,
            i,
            Rule::WebhookBackend,
            format!("serves Service {ns}/{name}, which it calls"),
            Some((i, pointer.to_string().into())),
        );
    }
}
