//! The dependency graph of rendered objects: nodes are objects, an edge `A -> B` means "A must
//! exist and be ready before B", and every edge carries the rule that made it and where. The
//! graph gives waves (levels of the DAG, each in Flux's reconcile order), cycle reports that name
//! every member and every edge, and the explanation of why one object waits for another.
//!
//! Edges come from implicit rules ([`rules`]: namespaces, CRDs, what a pod template mounts or
//! reads, RBAC, classes, webhook backends) and from what users write ([`explicit`]: the
//! `config.kubernetes.io/depends-on` annotation, Flux `dependsOn` and the Flux Kustomization that
//! applies an object, Argo CD sync waves). References to objects that are not in the input are
//! warnings. Printing lives in [`render`]. Nothing here reads files or talks to a cluster.

pub mod explicit;
pub mod order;
pub mod render;
pub mod rules;

use crate::diag::{Code, Diagnostic, Location};
use crate::object::{Object, ObjectKey};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

/// The rule that made an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A namespaced object waits for its Namespace.
    Namespace,
    /// A custom resource waits for its CustomResourceDefinition.
    CustomResourceDefinition,
    /// A workload waits for what its pod template uses (ConfigMap, Secret, ServiceAccount, PVC).
    PodTemplate,
    /// A binding waits for the Role or ClusterRole it grants.
    RoleRef,
    /// A PVC or a StatefulSet claim template waits for its StorageClass.
    StorageClass,
    /// A workload waits for its PriorityClass or RuntimeClass.
    SchedulingClass,
    /// An Ingress or Gateway waits for its IngressClass or GatewayClass.
    RoutingClass,
    /// A webhook configuration or APIService waits for the Service it calls.
    WebhookService,
    /// ...and for the workloads behind that Service.
    WebhookBackend,
    /// A consumer of a Secret waits for the object that makes it (ExternalSecret, SealedSecret,
    /// cert-manager Certificate).
    SecretProducer,
    /// `config.kubernetes.io/depends-on`.
    DependsOn,
    /// Flux `dependsOn` (Kustomization, HelmRelease, and across the two).
    FluxDependsOn,
    /// A Flux Kustomization or HelmRelease waits for its source (GitRepository, OCIRepository,
    /// Bucket, HelmRepository, HelmChart) and for the ConfigMaps and Secrets its values and
    /// substitutions read.
    FluxSource,
    /// An object waits for the Flux Kustomization that applies it.
    FluxKustomization,
    /// Argo CD sync waves (or `helm.sh/hook-weight`) within one application.
    SyncWave,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Namespace => "namespace",
            Rule::CustomResourceDefinition => "crd",
            Rule::PodTemplate => "pod-template",
            Rule::RoleRef => "role-ref",
            Rule::StorageClass => "storage-class",
            Rule::SchedulingClass => "scheduling-class",
            Rule::RoutingClass => "routing-class",
            Rule::WebhookService => "webhook-service",
            Rule::WebhookBackend => "webhook-backend",
            Rule::SecretProducer => "secret-producer",
            Rule::DependsOn => "depends-on",
            Rule::FluxDependsOn => "flux-depends-on",
            Rule::FluxSource => "flux-source",
            Rule::FluxKustomization => "flux-kustomization",
            Rule::SyncWave => "sync-wave",
        }
    }

    /// Written by a user, rather than inferred from the objects.
    pub fn explicit(self) -> bool {
        matches!(self, Rule::DependsOn | Rule::FluxDependsOn | Rule::SyncWave)
    }

    pub const ALL: &'static [Rule] = &[
        Rule::Namespace,
        Rule::CustomResourceDefinition,
        Rule::PodTemplate,
        Rule::RoleRef,
        Rule::StorageClass,
        Rule::SchedulingClass,
        Rule::RoutingClass,
        Rule::WebhookService,
        Rule::WebhookBackend,
        Rule::SecretProducer,
        Rule::DependsOn,
        Rule::FluxDependsOn,
        Rule::FluxKustomization,
        Rule::SyncWave,
    ];
}

/// A node: an object of the input, or a barrier between two Argo CD sync waves of one unit
/// (so that waves cost edges linear in objects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Object(usize),
    WaveBarrier { unit: u32, wave: i64 },
}

/// "`from` must exist and be ready before `to`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub rule: Rule,
    /// What in the object makes the edge (`volume config`, `roleRef`, `dependsOn[0]`).
    pub detail: Cow<'static, str>,
    /// The object and JSON pointer where it is written.
    pub at: Option<(usize, Cow<'static, str>)>,
}

/// Objects that wait on each other.
#[derive(Clone, Debug)]
pub struct Cycle {
    /// Object indexes of every member.
    pub members: Vec<usize>,
    /// Edges (indexes into [`DependencyGraph::edges`]) of one closed path through the members.
    pub path: Vec<usize>,
}

/// What the graph is built from.
pub struct Input<'a> {
    pub objects: &'a [Object],
    /// Objects that can refer to one another share a scope (one cluster); alternative overlays
    /// are different scopes.
    pub scopes: Vec<u32>,
    /// The unit (an application, a Flux Kustomization) of each object, for sync waves.
    pub units: Vec<u32>,
    /// Whether each object's kind is cluster-scoped (no namespace edge).
    pub cluster_scoped: Vec<bool>,
    /// Objects applied by another object of the input (a Flux Kustomization): its key, and the
    /// range of objects it applies.
    pub owned: Vec<(ObjectKey, Range<usize>)>,
    /// Objects the cluster provides (a repository's `clusterProvided`): references to them are
    /// not reported as missing.
    pub provided: Option<&'a dyn Fn(&ObjectKey) -> bool>,
}

impl<'a> Input<'a> {
    /// One scope and one unit for everything; scope from the namespace field alone.
    pub fn single(objects: &'a [Object]) -> Input<'a> {
        Input {
            objects,
            scopes: vec![0; objects.len()],
            units: vec![0; objects.len()],
            cluster_scoped: objects.iter().map(|o| o.key.namespace.is_empty()).collect(),
            owned: Vec::new(),
            provided: None,
        }
    }
}

/// The compiled graph.
#[derive(Clone, Debug, Default)]
pub struct DependencyGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Object indexes per wave, in apply order.
    pub waves: Vec<Vec<usize>>,
    /// The wave of each object; `None` for cycle members and what waits on them.
    pub wave_of: Vec<Option<usize>>,
    pub cycles: Vec<Cycle>,
    /// Objects not ordered because they wait (directly or not) on a cycle.
    pub blocked: Vec<usize>,
    /// For each node, the edges that end there.
    pub incoming: Vec<Vec<usize>>,
    /// For each node, the edges that start there.
    pub outgoing: Vec<Vec<usize>>,
}

impl DependencyGraph {
    /// Each object's position in apply order (waves one after the other); objects that cannot
    /// be ordered come last.
    pub fn apply_rank(&self) -> Vec<usize> {
        let mut rank = vec![usize::MAX; self.wave_of.len()];
        let mut next = 0;
        for w in &self.waves {
            for &m in w {
                rank[m] = next;
                next += 1;
            }
        }
        rank
    }
}

/// Finds objects by identity within a scope.
pub struct Index<'a> {
    objects: &'a [Object],
    scopes: &'a [u32],
    by_key: HashMap<(u32, &'a str, &'a str, &'a str, &'a str), usize, crate::util::FxBuild>,
}

impl<'a> Index<'a> {
    pub fn new(objects: &'a [Object], scopes: &'a [u32]) -> Index<'a> {
        let mut by_key =
            HashMap::with_capacity_and_hasher(objects.len(), crate::util::FxBuild::default());
        for (i, o) in objects.iter().enumerate() {
            let k = &o.key;
            by_key
                .entry((
                    scopes[i],
                    k.group.as_str(),
                    k.kind.as_str(),
                    k.namespace.as_str(),
                    k.name.as_str(),
                ))
                .or_insert(i);
        }
        Index {
            objects,
            scopes,
            by_key,
        }
    }

    /// The object `group/kind namespace/name` in the scope of object `from`.
    pub fn find(
        &self,
        from: usize,
        group: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<usize> {
        self.by_key
            .get(&(self.scopes[from], group, kind, namespace, name))
            .copied()
    }

    pub fn object(&self, i: usize) -> &'a Object {
        &self.objects[i]
    }
}

/// A reference to an object that is not in the input.
#[derive(Clone, Debug)]
pub struct External {
    pub scope: u32,
    pub target: ObjectKey,
    /// The referring object and the pointer of the reference.
    pub from: usize,
    pub pointer: String,
    pub what: String,
    /// Written by the user (`depends-on`, `dependsOn`), not inferred.
    pub explicit: bool,
}

/// Collects edges and findings while rules run.
pub struct Builder<'a> {
    pub index: Index<'a>,
    pub input: &'a Input<'a>,
    pub edges: Vec<Edge>,
    pub externals: Vec<External>,
    pub diagnostics: Vec<Diagnostic>,
    pub barriers: Vec<(u32, i64)>,
    locate: &'a dyn Fn(&Object, &str, bool) -> Location,
}

impl<'a> Builder<'a> {
    pub fn edge(
        &mut self,
        from: usize,
        to: usize,
        rule: Rule,
        detail: impl Into<Cow<'static, str>>,
        at: Option<(usize, Cow<'static, str>)>,
    ) {
        self.edges.push(Edge {
            from,
            to,
            rule,
            detail: detail.into(),
            at,
        });
    }

    pub fn external(
        &mut self,
        from: usize,
        target: ObjectKey,
        pointer: &str,
        what: impl Into<String>,
        explicit: bool,
    ) {
        self.externals.push(External {
            scope: self.input.scopes[from],
            target,
            from,
            pointer: pointer.to_string(),
            what: what.into(),
            explicit,
        });
    }

    pub fn locate(&self, i: usize, pointer: &str, key: bool) -> Location {
        (self.locate)(&self.input.objects[i], pointer, key)
    }

    /// A node standing between two sync waves of a unit.
    pub fn barrier(&mut self, unit: u32, wave: i64) -> usize {
        let n = self.input.objects.len();
        if let Some(i) = self.barriers.iter().position(|b| *b == (unit, wave)) {
            return n + i;
        }
        self.barriers.push((unit, wave));
        n + self.barriers.len() - 1
    }
}

/// Builds the graph of `input`; `locate(object, pointer, prefer_key)` places findings.
pub fn build(
    input: &Input,
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> (DependencyGraph, Vec<Diagnostic>) {
    let mut b = Builder {
        index: Index::new(input.objects, &input.scopes),
        input,
        edges: Vec::new(),
        externals: Vec::new(),
        diagnostics: Vec::new(),
        barriers: Vec::new(),
        locate,
    };
    rules::infer(&mut b);
    explicit::annotations(&mut b);
    explicit::flux(&mut b);
    explicit::flux_sources(&mut b);
    explicit::sync_waves(&mut b);
    let mut diagnostics = std::mem::take(&mut b.diagnostics);
    diagnostics.extend(external_reports(&b));
    let mut nodes: Vec<Node> = (0..input.objects.len()).map(Node::Object).collect();
    nodes.extend(b.barriers.iter().map(|(unit, wave)| Node::WaveBarrier {
        unit: *unit,
        wave: *wave,
    }));
    let mut edges = b.edges;
    // One edge per (from, to, rule, detail), in a deterministic order.
    edges.sort_by(|x, y| (x.from, x.to, x.rule, &x.detail).cmp(&(y.from, y.to, y.rule, &y.detail)));
    edges.dedup_by(|x, y| (x.from, x.to, x.rule, &x.detail) == (y.from, y.to, y.rule, &y.detail));
    let mut g = DependencyGraph {
        nodes,
        edges,
        ..DependencyGraph::default()
    };
    g.incoming = vec![Vec::new(); g.nodes.len()];
    g.outgoing = vec![Vec::new(); g.nodes.len()];
    for (i, e) in g.edges.iter().enumerate() {
        g.incoming[e.to].push(i);
        g.outgoing[e.from].push(i);
    }
    order_waves(&mut g, input.objects);
    diagnostics.extend(cycle_reports(&g, input.objects, locate));
    (g, diagnostics)
}

/// SCCs, then levels by longest path (barriers weigh nothing); cycle members and what waits on
/// them are left out of every wave.
fn order_waves(g: &mut DependencyGraph, objects: &[Object]) {
    let n = g.nodes.len();
    let mut pg: DiGraph<(), ()> = DiGraph::with_capacity(n, g.edges.len());
    for _ in 0..n {
        pg.add_node(());
    }
    for e in &g.edges {
        pg.add_edge(NodeIndex::new(e.from), NodeIndex::new(e.to), ());
    }
    let mut stuck = vec![false; n];
    for scc in petgraph::algo::kosaraju_scc(&pg) {
        let self_loop = scc.len() == 1
            && g.outgoing[scc[0].index()]
                .iter()
                .any(|&e| g.edges[e].to == scc[0].index());
        if scc.len() > 1 || self_loop {
            let members: BTreeSet<usize> = scc.iter().map(|x| x.index()).collect();
            for &m in &members {
                stuck[m] = true;
            }
            let path = cycle_path(g, &members);
            let objects_only: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&m| matches!(g.nodes[m], Node::Object(_)))
                .collect();
            g.cycles.push(Cycle {
                members: objects_only,
                path,
            });
        }
    }
    g.cycles.sort_by(|a, b| a.members.cmp(&b.members));
    // Kahn's algorithm: levels for everything not stuck and not downstream of a cycle.
    let mut indegree: Vec<usize> = (0..n).map(|v| g.incoming[v].len()).collect();
    let mut level: Vec<usize> = vec![0; n];
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&v| indegree[v] == 0 && !stuck[v]).collect();
    let mut done = vec![false; n];
    while let Some(v) = queue.pop_front() {
        done[v] = true;
        let weight = usize::from(matches!(g.nodes[v], Node::Object(_)));
        for &e in &g.outgoing[v] {
            let w = g.edges[e].to;
            level[w] = level[w].max(level[v] + weight);
            indegree[w] -= 1;
            if indegree[w] == 0 && !stuck[w] {
                queue.push_back(w);
            }
        }
    }
    let objects_n = objects.len();
    g.wave_of = vec![None; objects_n];
    let mut by_level: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for v in 0..objects_n {
        if done[v] {
            by_level.entry(level[v]).or_default().push(v);
        } else if !stuck[v] {
            g.blocked.push(v);
        }
    }
    for (_, mut members) in by_level {
        members.sort_by_cached_key(|&a| (order::flux_key(&objects[a].key), a));
        let w = g.waves.len();
        for &m in &members {
            g.wave_of[m] = Some(w);
        }
        g.waves.push(members);
    }
}

/// One closed path through the members of a strongly connected component: the shortest cycle
/// through its first member.
fn cycle_path(g: &DependencyGraph, members: &BTreeSet<usize>) -> Vec<usize> {
    let Some(&start) = members.iter().next() else {
        return Vec::new();
    };
    // Breadth-first from `start` along edges inside the component, back to `start`.
    let mut came_by: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    while let Some(v) = queue.pop_front() {
        for &e in &g.outgoing[v] {
            let w = g.edges[e].to;
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![e];
                let mut cur = v;
                while cur != start {
                    let back = came_by[&cur];
                    path.push(back);
                    cur = g.edges[back].from;
                }
                path.reverse();
                return path;
            }
            if seen.insert(w) {
                came_by.insert(w, e);
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

/// The display name of a node.
pub fn node_name(g: &DependencyGraph, objects: &[Object], v: usize) -> String {
    match &g.nodes[v] {
        Node::Object(i) => objects[*i].key.to_string(),
        Node::WaveBarrier { wave, .. } => format!("(end of sync wave {wave})"),
    }
}

fn cycle_reports(
    g: &DependencyGraph,
    objects: &[Object],
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in &g.cycles {
        let Some(&first) = c.members.first() else {
            continue;
        };
        let chain: Vec<String> = c
            .path
            .iter()
            .map(|&e| node_name(g, objects, g.edges[e].from))
            .chain(
                c.path
                    .first()
                    .map(|&e| node_name(g, objects, g.edges[e].from)),
            )
            .collect();
        let mut d = Diagnostic::new(
            Code::DependencyCycle,
            format!(
                "{} objects wait on each other: {}",
                c.members.len(),
                chain.join(" -> ")
            ),
        )
        .at(
            locate(&objects[first], "/metadata/name", false),
            "in a dependency cycle",
        );
        for &e in &c.path {
            let edge = &g.edges[e];
            let what = format!(
                "{} before {}: {} ({})",
                node_name(g, objects, edge.from),
                node_name(g, objects, edge.to),
                edge.detail,
                edge.rule.name()
            );
            let at = match &edge.at {
                Some((i, ptr)) => locate(&objects[*i], ptr, true),
                None => match g.nodes[edge.to] {
                    Node::Object(i) => locate(&objects[i], "/metadata/name", false),
                    Node::WaveBarrier { .. } => continue,
                },
            };
            d = d.related(at, what);
        }
        let explicit: Vec<&Edge> = c
            .path
            .iter()
            .map(|&e| &g.edges[e])
            .filter(|e| e.rule.explicit())
            .collect();
        let inferred: Vec<&Edge> = c
            .path
            .iter()
            .map(|&e| &g.edges[e])
            .filter(|e| !e.rule.explicit())
            .collect();
        let help = match (explicit.is_empty(), inferred.is_empty()) {
            (false, false) => format!(
                "the explicit {} contradicts what kiln infers ({}); nothing in this cycle, nor what waits on it, can be applied: remove or reverse the explicit dependency",
                explicit.iter().map(|e| format!("`{}` ({} before {})", e.rule.name(), node_name(g, objects, e.from), node_name(g, objects, e.to))).collect::<Vec<_>>().join(", "),
                inferred.iter().map(|e| e.rule.name()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", "),
            ),
            (false, true) => "the dependencies written in these objects form a loop; Flux and cli-utils would wait forever: remove one".to_string(),
            _ => "nothing in this cycle, nor what waits on it, can be applied".to_string(),
        };
        out.push(d.help(help));
    }
    if !g.blocked.is_empty() {
        let names: Vec<String> = g
            .blocked
            .iter()
            .take(5)
            .map(|&i| objects[i].key.to_string())
            .collect();
        let more = g.blocked.len().saturating_sub(5);
        let first = g.blocked[0];
        out.push(
            Diagnostic::new(
                Code::DependencyCycle,
                format!(
                    "{} {} on a dependency cycle and cannot be ordered: {}{}",
                    g.blocked.len(),
                    if g.blocked.len() == 1 {
                        "object waits"
                    } else {
                        "objects wait"
                    },
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )
            .at(
                locate(&objects[first], "/metadata/name", false),
                "waits on a cycle",
            ),
        );
    }
    out
}

/// Names every cluster has, whose absence from the input is not worth a warning.
fn always_there(t: &ObjectKey) -> bool {
    match (t.group.as_str(), t.kind.as_str()) {
        ("", "Namespace") => matches!(
            t.name.as_str(),
            "default" | "kube-system" | "kube-public" | "kube-node-lease"
        ),
        ("", "ServiceAccount") => t.name == "default",
        ("rbac.authorization.k8s.io", "ClusterRole") => {
            matches!(t.name.as_str(), "cluster-admin" | "admin" | "edit" | "view")
                || t.name.starts_with("system:")
        }
        ("scheduling.k8s.io", "PriorityClass") => matches!(
            t.name.as_str(),
            "system-cluster-critical" | "system-node-critical"
        ),
        _ => false,
    }
}

/// Kinds a cluster usually provides rather than a repository.
fn cluster_provided(t: &ObjectKey) -> bool {
    matches!(
        (t.group.as_str(), t.kind.as_str()),
        ("storage.k8s.io", "StorageClass")
            | ("networking.k8s.io", "IngressClass")
            | ("gateway.networking.k8s.io", "GatewayClass")
            | ("node.k8s.io", "RuntimeClass")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("snapshot.storage.k8s.io", "VolumeSnapshotClass")
    )
}

/// One warning per missing object and scope, with the first place that refers to it.
fn external_reports(b: &Builder) -> Vec<Diagnostic> {
    let mut grouped: BTreeMap<(bool, u32, ObjectKey), Vec<&External>> = BTreeMap::new();
    for e in &b.externals {
        if !e.explicit && always_there(&e.target) {
            continue;
        }
        if b.input.provided.is_some_and(|p| p(&e.target)) {
            continue;
        }
        grouped
            .entry((e.explicit, e.scope, e.target.clone()))
            .or_default()
            .push(e);
    }
    let mut out = Vec::new();
    for ((explicit, _, target), refs) in grouped {
        let first = refs[0];
        let by = b.input.objects[first.from].key.to_string();
        let others = refs.len() - 1;
        let code = match (
            explicit,
            target.group.is_empty() && target.kind == "Namespace",
        ) {
            (true, _) => Code::MissingDependency,
            (false, true) => Code::ExternalNamespace,
            (false, false) => Code::ExternalReference,
        };
        let message = if explicit {
            format!("{by} depends on {target}, which is not in the input")
        } else {
            format!(
                "{target} is not in the input; {by} uses it ({}){}",
                first.what,
                if others > 0 {
                    format!(
                        ", and {others} more reference{}",
                        if others == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            )
        };
        let mut d = Diagnostic::new(code, message).at(
            b.locate(first.from, &first.pointer, false),
            "refers to an object not in the input",
        );
        // Classes are what a cluster offers (its storage, ingress and gateway controllers,
        // runtimes, priorities), rarely what a repository defines: a note, not a warning.
        if !explicit && cluster_provided(&target) {
            d = d.severity(crate::diag::Severity::Info);
        }
        for r in refs.iter().skip(1).take(3) {
            d = d.related(
                b.locate(r.from, &r.pointer, false),
                format!("also used by {}", b.input.objects[r.from].key),
            );
        }
        d = d.help(if explicit {
            "add the object to the input, or correct the reference: a dependency that never appears is waited for forever".to_string()
        } else {
            "created outside this input (by hand, a Helm chart, an operator)? then this is expected; otherwise add it or correct the name".to_string()
        });
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests;
