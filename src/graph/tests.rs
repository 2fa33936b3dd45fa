//! Every edge rule and annotation format, as a table: objects in, edges (or findings) out.

use super::*;
use crate::load;
use crate::source::SourceSet;
use crate::syntax::Limits;

struct Built {
    edges: Vec<String>,
    findings: Vec<String>,
    waves: Vec<Vec<String>>,
}

fn build_yaml(yaml: &str) -> Built {
    let set = SourceSet::from_memory("t", &[("objects.yaml", yaml)]);
    let ids: Vec<_> = set.files().collect();
    let loaded = load::load_files(&set, &ids, &Limits::default());
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity != crate::diag::Severity::Error),
        "{:?}",
        loaded.diagnostics
    );
    let objects = loaded.objects;
    let mut input = Input::single(&objects);
    // Kinds the tests use that are cluster-scoped.
    input.cluster_scoped = objects
        .iter()
        .map(|o| {
            matches!(
                o.key.kind.as_str(),
                "Namespace"
                    | "ClusterRole"
                    | "ClusterRoleBinding"
                    | "StorageClass"
                    | "PriorityClass"
                    | "RuntimeClass"
                    | "IngressClass"
                    | "GatewayClass"
                    | "CustomResourceDefinition"
                    | "ValidatingWebhookConfiguration"
                    | "MutatingWebhookConfiguration"
                    | "APIService"
            )
        })
        .collect();
    let locate = |o: &Object, p: &str, k: bool| loaded.spans.locate(&set, &o.origin, p, k);
    let (g, diags) = build(&input, &locate);
    let name = |v: usize| node_name(&g, &objects, v);
    Built {
        edges: g
            .edges
            .iter()
            .map(|e| format!("{} -> {} ({})", name(e.from), name(e.to), e.rule.name()))
            .collect(),
        findings: diags
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.code,
                    d.primary
                        .as_ref()
                        .and_then(|p| p.location.range)
                        .map(|r| r.line)
                        .unwrap_or(0),
                    d.message
                )
            })
            .collect(),
        waves: g
            .waves
            .iter()
            .map(|w| w.iter().map(|&m| objects[m].key.to_string()).collect())
            .collect(),
    }
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n";

#[test]
fn implicit_rules() {
    let table: &[(&str, &str, &[&str])] = &[
        (
            "namespace",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n",
            &["Namespace/shop -> ConfigMap/shop/c (namespace)"],
        ),
        (
            "crd",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Cluster\n  versions: [{name: v1, served: true, storage: true}]\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            &["CustomResourceDefinition/widgets.example.com -> Widget/w (crd)"],
        ),
        (
            "pod template: every reference",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: vol, namespace: shop}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: shop}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: proj, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: env, namespace: shop}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: envfrom, namespace: shop}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: pull, namespace: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      serviceAccountName: sa\n      imagePullSecrets: [{name: pull}]\n      volumes:\n        - {name: a, configMap: {name: vol}}\n        - {name: b, secret: {secretName: sec}}\n        - {name: c, persistentVolumeClaim: {claimName: data}}\n        - {name: d, projected: {sources: [{configMap: {name: proj}}]}}\n      initContainers:\n        - name: init\n          env: [{name: X, valueFrom: {configMapKeyRef: {name: env, key: x}}}]\n      containers:\n        - name: web\n          envFrom: [{secretRef: {name: envfrom}}]\n",
            &[
                "ServiceAccount/shop/sa -> Deployment/shop/web (pod-template)",
                "ConfigMap/shop/vol -> Deployment/shop/web (pod-template)",
                "Secret/shop/sec -> Deployment/shop/web (pod-template)",
                "PersistentVolumeClaim/shop/data -> Deployment/shop/web (pod-template)",
                "ConfigMap/shop/proj -> Deployment/shop/web (pod-template)",
                "ConfigMap/shop/env -> Deployment/shop/web (pod-template)",
                "Secret/shop/envfrom -> Deployment/shop/web (pod-template)",
                "Secret/shop/pull -> Deployment/shop/web (pod-template)",
            ],
        ),
        (
            "cronjob template",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: shop}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: j, envFrom: [{configMapRef: {name: cfg}}]}]\n",
            &["ConfigMap/shop/cfg -> CronJob/shop/nightly (pod-template)"],
        ),
        (
            "role bindings",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: shop}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: shop}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr}\n",
            &[
                "Role/shop/r -> RoleBinding/shop/rb (role-ref)",
                "ClusterRole/cr -> ClusterRoleBinding/crb (role-ref)",
            ],
        ),
        (
            "storage classes",
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nprovisioner: x\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec: {storageClassName: fast}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n  template: {spec: {containers: [{name: db}]}}\n  volumeClaimTemplates: [{metadata: {name: d}, spec: {storageClassName: fast}}]\n",
            &[
                "StorageClass/fast -> PersistentVolumeClaim/shop/data (storage-class)",
                "StorageClass/fast -> StatefulSet/shop/db (storage-class)",
            ],
        ),
        (
            "priority and runtime classes",
            "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: shop}\nspec:\n  template: {spec: {priorityClassName: high, runtimeClassName: gvisor, containers: [{name: a}]}}\n",
            &[
                "PriorityClass/high -> DaemonSet/shop/agent (scheduling-class)",
                "RuntimeClass/gvisor -> DaemonSet/shop/agent (scheduling-class)",
            ],
        ),
        (
            "ingress and gateway classes",
            "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\nspec: {ingressClassName: nginx}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: envoy}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec: {gatewayClassName: envoy}\n",
            &[
                "IngressClass/nginx -> Ingress/shop/web (routing-class)",
                "GatewayClass/envoy -> Gateway/shop/gw (routing-class)",
            ],
        ),
        (
            "webhooks wait for their Service and its backends",
            "apiVersion: v1\nkind: Service\nmetadata: {name: hook, namespace: shop}\nspec: {selector: {app: hook}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hook, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: hook, tier: x}}\n    spec: {containers: [{name: h}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: o}]}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\nwebhooks: [{name: v.example.com, clientConfig: {service: {namespace: shop, name: hook}}}]\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.metrics.example.com}\nspec: {service: {namespace: shop, name: hook}}\n",
            &[
                "Service/shop/hook -> ValidatingWebhookConfiguration/v (webhook-service)",
                "Deployment/shop/hook -> ValidatingWebhookConfiguration/v (webhook-backend)",
                "Service/shop/hook -> APIService/v1.metrics.example.com (webhook-service)",
                "Deployment/shop/hook -> APIService/v1.metrics.example.com (webhook-backend)",
            ],
        ),
        (
            "secrets made by other objects",
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es, namespace: shop}\nspec: {target: {name: db-creds}}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: tls, namespace: shop}\nspec: {secretName: web-tls}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: w, envFrom: [{secretRef: {name: db-creds}}]}]\n      volumes: [{name: t, secret: {secretName: web-tls}}]\n",
            &[
                "ExternalSecret/shop/es -> Deployment/shop/web (secret-producer)",
                "Certificate/shop/tls -> Deployment/shop/web (secret-producer)",
            ],
        ),
    ];
    for (name, yaml, expected) in table {
        let got = build_yaml(&format!("{NS}{yaml}"));
        let edges: Vec<&String> = got
            .edges
            .iter()
            .filter(|e| !e.ends_with("(namespace)") || *name == "namespace")
            .collect();
        for want in *expected {
            assert!(
                edges.iter().any(|e| e == want),
                "{name}: missing `{want}` in {edges:#?}"
            );
        }
        let extra: Vec<&&String> = edges
            .iter()
            .filter(|e| !expected.contains(&e.as_str()))
            .collect();
        assert!(extra.is_empty(), "{name}: unexpected {extra:#?}");
        assert!(got.findings.is_empty(), "{name}: {:#?}", got.findings);
    }
}

#[test]
fn references_outside_the_input_are_warnings_once_per_target() {
    let got = build_yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: default}\nspec:\n  template:\n    spec:\n      serviceAccountName: default\n      priorityClassName: system-cluster-critical\n      containers: [{name: a, envFrom: [{configMapRef: {name: missing}}, {configMapRef: {name: maybe, optional: true}}]}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: default}\nspec:\n  template:\n    spec:\n      containers: [{name: b, envFrom: [{configMapRef: {name: missing}}]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admins}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n",
    );
    assert_eq!(
        got.findings,
        [
            "external-reference:9 ConfigMap/default/missing is not in the input; Deployment/default/a uses it (container a takes its environment from ConfigMap missing), and 1 more reference"
        ],
        "the default namespace, ServiceAccount and cluster roles, system priority classes and optional references are not reported"
    );
}

#[test]
fn depends_on_annotation() {
    let got = build_yaml(&format!(
        "{NS}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  namespace: shop\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/shop/ConfigMap/first, /Namespace/gone\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: shop\n  annotations:\n    config.kubernetes.io/depends-on: apps/Deployment\n"
    ));
    assert!(
        got.edges
            .contains(&"ConfigMap/shop/first -> ConfigMap/shop/second (depends-on)".to_string()),
        "{:#?}",
        got.edges
    );
    assert_eq!(got.findings.len(), 2, "{:#?}", got.findings);
    assert!(got.findings[0].starts_with("invalid-depends-on:26 ConfigMap/shop/bad: invalid config.kubernetes.io/depends-on annotation: expected 3 or 5 fields, found 2"), "{}", got.findings[0]);
    assert!(
        got.findings[1]
            .starts_with("missing-dependency:18 ConfigMap/shop/second depends on Namespace/gone"),
        "{}",
        got.findings[1]
    );
}

#[test]
fn flux_depends_on_between_and_across_kinds() {
    let ks = |name: &str, deps: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  dependsOn: [{deps}]\n---\n"
        )
    };
    let hr = |name: &str, deps: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  dependsOn: [{deps}]\n---\n"
        )
    };
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: flux-system}}\n---\n{}{}{}{}{}",
        ks("infra", ""),
        ks("apps", "{name: infra}"),
        hr("cert-manager", ""),
        hr("issuer", "{name: cert-manager}"),
        ks(
            "certs",
            "{name: cert-manager}, {name: nowhere, namespace: other}"
        )
    );
    let got = build_yaml(&yaml);
    for want in [
        "Kustomization/flux-system/infra -> Kustomization/flux-system/apps (flux-depends-on)",
        "HelmRelease/flux-system/cert-manager -> HelmRelease/flux-system/issuer (flux-depends-on)",
        "HelmRelease/flux-system/cert-manager -> Kustomization/flux-system/certs (flux-depends-on)",
    ] {
        assert!(
            got.edges.iter().any(|e| e == want),
            "missing {want}: {:#?}",
            got.edges
        );
    }
    assert!(
        got.findings
            .iter()
            .any(|f| f.starts_with("cross-kind-dependency:")),
        "{:#?}",
        got.findings
    );
    assert!(
        got.findings
            .iter()
            .any(|f| f.contains("missing-dependency") && f.contains("Kustomization/other/nowhere")),
        "{:#?}",
        got.findings
    );
}

#[test]
fn sync_waves_order_one_application() {
    let cm = |name: &str, ann: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\n  annotations: {{{ann}}}\n---\n"
        )
    };
    let yaml = format!(
        "{NS}{}{}{}{}{}",
        cm("late", "argocd.argoproj.io/sync-wave: \"2\""),
        cm("early", "argocd.argoproj.io/sync-wave: \"-1\""),
        cm("plain", ""),
        cm("hook", "helm.sh/hook-weight: \"2\""),
        cm("broken", "argocd.argoproj.io/sync-wave: \"soon\"")
    );
    let got = build_yaml(&yaml);
    let names: Vec<Vec<String>> = got
        .waves
        .iter()
        .map(|w| {
            w.iter()
                .filter(|k| k.starts_with("ConfigMap"))
                .cloned()
                .collect()
        })
        .filter(|w: &Vec<String>| !w.is_empty())
        .collect();
    assert_eq!(
        names,
        [
            vec!["ConfigMap/shop/early".to_string()],
            vec![
                "ConfigMap/shop/broken".into(),
                "ConfigMap/shop/plain".into()
            ],
            vec!["ConfigMap/shop/hook".into(), "ConfigMap/shop/late".into()]
        ]
    );
    assert!(
        got.findings
            .iter()
            .any(|f| f.starts_with("invalid-sync-wave:") && f.contains("`soon`")),
        "{:#?}",
        got.findings
    );
}

#[test]
fn cycles_are_reported_whole_with_every_edge() {
    let got = build_yaml(&format!(
        "{NS}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/shop/ConfigMap/b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: shop\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/shop/ConfigMap/a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: shop\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/shop/ConfigMap/b\n"
    ));
    assert_eq!(got.findings.len(), 2, "{:#?}", got.findings);
    assert!(
        got.findings[0].contains(
            "2 objects wait on each other: ConfigMap/shop/a -> ConfigMap/shop/b -> ConfigMap/shop/a"
        ),
        "{}",
        got.findings[0]
    );
    assert!(
        got.findings[1].contains(
            "1 object waits on a dependency cycle and cannot be ordered: ConfigMap/shop/after"
        ),
        "{}",
        got.findings[1]
    );
    assert!(
        got.waves.iter().flatten().all(|k| !k.contains("ConfigMap")),
        "nothing of the cycle is ordered: {:?}",
        got.waves
    );
}

#[test]
fn an_explicit_edge_against_an_inferred_one_is_named() {
    // The Namespace is made to wait for an object inside it.
    let got = build_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/shop/ConfigMap/c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n",
    );
    let cycle = got
        .findings
        .iter()
        .find(|f| f.starts_with("dependency-cycle"))
        .expect("a cycle");
    assert!(
        cycle.contains("Namespace/shop -> ConfigMap/shop/c -> Namespace/shop")
            || cycle.contains("ConfigMap/shop/c -> Namespace/shop -> ConfigMap/shop/c"),
        "{cycle}"
    );
}

/// A small deterministic generator, for the property below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_objects(rng: &mut Rng) -> String {
    let mut docs = Vec::new();
    let namespaces = 1 + rng.below(3);
    for n in 0..namespaces {
        docs.push(format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}}}\n"
        ));
    }
    let count = 5 + rng.below(30);
    for i in 0..count {
        let ns = rng.below(namespaces);
        match rng.below(4) {
            0 => docs.push(format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: ns{ns}}}\n")),
            1 => docs.push(format!("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: s{i}, namespace: ns{ns}}}\n")),
            2 => {
                let cm = rng.below(count);
                let sa = rng.below(count);
                docs.push(format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{i}, namespace: ns{ns}}}\nspec:\n  template:\n    spec:\n      serviceAccountName: s{sa}\n      containers: [{{name: c, envFrom: [{{configMapRef: {{name: c{cm}, optional: true}}}}]}}]\n"
                ))
            }
            _ => {
                // An explicit dependency on an earlier object only: the input stays acyclic.
                let on = rng.below(i.max(1));
                docs.push(format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: ns{ns}\n  annotations:\n    config.kubernetes.io/depends-on: /namespaces/ns{ns}/ConfigMap/c{on}\n"
                ))
            }
        }
    }
    // Shuffle the documents.
    for i in (1..docs.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        docs.swap(i, j);
    }
    docs.join("---\n")
}

#[test]
fn property_edges_go_forward_and_order_is_stable_under_permutation() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200 {
        let yaml = random_objects(&mut rng);
        let set = SourceSet::from_memory("t", &[("o.yaml", &yaml)]);
        let ids: Vec<_> = set.files().collect();
        let loaded = load::load_files(&set, &ids, &Limits::default());
        let objects = loaded.objects;
        let locate = |o: &Object, p: &str, k: bool| loaded.spans.locate(&set, &o.origin, p, k);
        let (g, _) = build(&Input::single(&objects), &locate);
        // Every edge between objects goes from an earlier wave to a later one.
        for e in &g.edges {
            if let (Node::Object(a), Node::Object(b)) = (&g.nodes[e.from], &g.nodes[e.to])
                && let (Some(wa), Some(wb)) = (g.wave_of[*a], g.wave_of[*b])
            {
                assert!(
                    wa < wb,
                    "{} (wave {wa}) -> {} (wave {wb})",
                    objects[*a].key,
                    objects[*b].key
                );
            }
        }
        let order: Vec<String> = g
            .waves
            .iter()
            .flatten()
            .map(|&m| objects[m].key.to_string())
            .collect();
        // The same input, documents reversed: the same order.
        let reversed: Vec<&str> = yaml
            .split("---\n")
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let yaml2 = reversed.join("---\n");
        let set2 = SourceSet::from_memory("t", &[("o.yaml", &yaml2)]);
        let ids2: Vec<_> = set2.files().collect();
        let loaded2 = load::load_files(&set2, &ids2, &Limits::default());
        let locate2 = |o: &Object, p: &str, k: bool| loaded2.spans.locate(&set2, &o.origin, p, k);
        let (g2, _) = build(&Input::single(&loaded2.objects), &locate2);
        let order2: Vec<String> = g2
            .waves
            .iter()
            .flatten()
            .map(|&m| loaded2.objects[m].key.to_string())
            .collect();
        assert_eq!(order, order2);
        // And again: the same run, the same result.
        let (g3, _) = build(&Input::single(&objects), &locate);
        assert_eq!(g.waves, g3.waves);
        assert_eq!(g.edges, g3.edges);
    }
}
