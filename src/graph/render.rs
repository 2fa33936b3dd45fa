//! The graph printed: text (waves, each object with what it waits for and why), Graphviz DOT,
//! Mermaid (renders in a GitHub comment), JSON; the chain of edges that makes one object wait
//! for another (`--why`), and an object's neighbourhood (`--focus`).

use super::{DependencyGraph, Edge, Node, node_name};
use crate::object::{Object, ObjectKey};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

/// Where an edge is written, as `file:line`.
pub type Place<'a> = &'a dyn Fn(&Edge) -> Option<String>;

/// The object a reference names (`Deployment/shop/web`, `deploy/web` with a namespace,
/// `deployment.apps/web`...); no match or several is an error naming the nearest.
pub fn find(
    objects: &[Object],
    kinds: &crate::object::reference::KindNames,
    text: &str,
    namespace: Option<&str>,
) -> Result<usize, String> {
    let r =
        crate::object::reference::ObjectRef::parse(text, namespace).map_err(|e| e.to_string())?;
    let key = r
        .resolve(objects.iter().map(|o| &o.key), kinds)
        .map_err(|e| e.to_string())?;
    objects
        .iter()
        .position(|o| &o.key == key)
        .ok_or_else(|| format!("`{text}` matches no object"))
}

fn counts_by_rule(g: &DependencyGraph) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in &g.edges {
        *out.entry(e.rule.name()).or_insert(0) += 1;
    }
    out
}

/// A one-line summary: objects, edges by rule, waves, cycles.
pub fn summary(g: &DependencyGraph, objects: &[Object]) -> String {
    let rules: Vec<String> = counts_by_rule(g)
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    format!(
        "{} objects, {} edges ({}), {} waves{}",
        objects.len(),
        g.edges.len(),
        if rules.is_empty() {
            "none".to_string()
        } else {
            rules.join(", ")
        },
        g.waves.len(),
        match g.cycles.len() {
            0 => String::new(),
            1 => ", 1 cycle".to_string(),
            n => format!(", {n} cycles"),
        }
    )
}

/// The objects a node stands for, when it waits for something: a barrier stands for what it
/// gathers.
fn dependency_names(g: &DependencyGraph, objects: &[Object], v: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &e in &g.incoming[v] {
        let edge = &g.edges[e];
        match g.nodes[edge.from] {
            Node::Object(_) => out.push((
                node_name(g, objects, edge.from),
                format!("{}: {}", edge.rule.name(), edge.detail),
            )),
            Node::WaveBarrier { wave, .. } => {
                let n = g.incoming[edge.from].len();
                let what = if n == 1 {
                    "the object".to_string()
                } else {
                    format!("the {n} objects")
                };
                out.push((
                    format!("{what} of sync wave {wave}"),
                    format!("{}: {}", edge.rule.name(), edge.detail),
                ));
            }
        }
    }
    out
}

/// Waves in apply order, each object with what it waits for.
pub fn text(g: &DependencyGraph, objects: &[Object], only: Option<&BTreeSet<usize>>) -> String {
    let mut s = String::new();
    for (w, members) in g.waves.iter().enumerate() {
        let shown: Vec<usize> = members
            .iter()
            .copied()
            .filter(|m| only.is_none_or(|o| o.contains(m)))
            .collect();
        if shown.is_empty() {
            continue;
        }
        let _ = writeln!(s, "wave {}", w + 1);
        for m in shown {
            let _ = writeln!(s, "  {}", objects[m].key);
            for (name, why) in dependency_names(g, objects, m) {
                let _ = writeln!(s, "      after {name}  ({why})");
            }
        }
    }
    let unordered: Vec<usize> = g
        .cycles
        .iter()
        .flat_map(|c| c.members.iter().copied())
        .chain(g.blocked.iter().copied())
        .filter(|m| only.is_none_or(|o| o.contains(m)))
        .collect();
    if !unordered.is_empty() {
        let _ = writeln!(s, "not ordered (a dependency cycle)");
        for m in unordered {
            let _ = writeln!(s, "  {}", objects[m].key);
        }
    }
    s
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn node_set(g: &DependencyGraph, only: Option<&BTreeSet<usize>>) -> Vec<usize> {
    (0..g.nodes.len())
        .filter(|v| only.is_none_or(|o| o.contains(v)))
        .collect()
}

/// Graphviz: one cluster per wave, edges labelled with their rule.
pub fn dot(g: &DependencyGraph, objects: &[Object], only: Option<&BTreeSet<usize>>) -> String {
    let mut s = String::from(
        "digraph kiln {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n  edge [fontsize=9];\n",
    );
    let nodes = node_set(g, only);
    let keep: BTreeSet<usize> = nodes.iter().copied().collect();
    for (w, members) in g.waves.iter().enumerate() {
        let shown: Vec<&usize> = members.iter().filter(|m| keep.contains(m)).collect();
        if shown.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "  subgraph cluster_wave{} {{\n    label=\"wave {}\";",
            w + 1,
            w + 1
        );
        for m in shown {
            let _ = writeln!(
                s,
                "    n{m} [label=\"{}\"];",
                dot_escape(&objects[*m].key.to_string())
            );
        }
        s.push_str("  }\n");
    }
    for &v in &nodes {
        let in_wave = matches!(g.nodes[v], Node::Object(i) if g.wave_of[i].is_some());
        if !in_wave {
            let style = if matches!(g.nodes[v], Node::WaveBarrier { .. }) {
                ", shape=point"
            } else {
                ", color=red"
            };
            let _ = writeln!(
                s,
                "  n{v} [label=\"{}\"{style}];",
                dot_escape(&node_name(g, objects, v))
            );
        }
    }
    for e in &g.edges {
        if keep.contains(&e.from) && keep.contains(&e.to) {
            let _ = writeln!(
                s,
                "  n{} -> n{} [label=\"{}\"];",
                e.from,
                e.to,
                e.rule.name()
            );
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid flowchart, left to right.
pub fn mermaid(g: &DependencyGraph, objects: &[Object], only: Option<&BTreeSet<usize>>) -> String {
    let mut s = String::from("flowchart LR\n");
    let nodes = node_set(g, only);
    let keep: BTreeSet<usize> = nodes.iter().copied().collect();
    for &v in &nodes {
        let label = node_name(g, objects, v).replace('"', "#quot;");
        match g.nodes[v] {
            Node::Object(_) => {
                let _ = writeln!(s, "  n{v}[\"{label}\"]");
            }
            Node::WaveBarrier { .. } => {
                let _ = writeln!(s, "  n{v}((\" \"))");
            }
        }
    }
    for e in &g.edges {
        if keep.contains(&e.from) && keep.contains(&e.to) {
            let _ = writeln!(s, "  n{} -->|{}| n{}", e.from, e.rule.name(), e.to);
        }
    }
    s
}

fn key_json(k: &ObjectKey) -> Value {
    json!({ "group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name })
}

/// Everything as data.
pub fn json(
    g: &DependencyGraph,
    objects: &[Object],
    place: Place,
    only: Option<&BTreeSet<usize>>,
) -> String {
    let keep: BTreeSet<usize> = node_set(g, only).into_iter().collect();
    let nodes: Vec<Value> = keep
        .iter()
        .map(|&v| match g.nodes[v] {
            Node::Object(i) => json!({ "id": v, "object": key_json(&objects[i].key), "display": objects[i].key.to_string(), "wave": g.wave_of[i].map(|w| w + 1) }),
            Node::WaveBarrier { unit, wave } => json!({ "id": v, "barrier": { "unit": unit, "syncWave": wave } }),
        })
        .collect();
    let edges: Vec<Value> = g
        .edges
        .iter()
        .filter(|e| keep.contains(&e.from) && keep.contains(&e.to))
        .map(|e| {
            let mut v = json!({ "from": e.from, "to": e.to, "rule": e.rule.name(), "explicit": e.rule.explicit(), "detail": e.detail });
            if let Some(p) = place(e) {
                v["at"] = json!(p);
            }
            v
        })
        .collect();
    let waves: Vec<Vec<String>> = g
        .waves
        .iter()
        .map(|w| {
            w.iter()
                .filter(|m| keep.contains(m))
                .map(|&m| objects[m].key.to_string())
                .collect()
        })
        .collect();
    let cycles: Vec<Value> = g
        .cycles
        .iter()
        .map(|c| json!({ "members": c.members.iter().map(|&m| objects[m].key.to_string()).collect::<Vec<_>>(), "edges": c.path }))
        .collect();
    let value = json!({
        "summary": { "objects": objects.len(), "edges": g.edges.len(), "waves": g.waves.len(), "cycles": g.cycles.len(), "edgesByRule": counts_by_rule(g) },
        "nodes": nodes,
        "edges": edges,
        "waves": waves,
        "cycles": cycles,
        "blocked": g.blocked.iter().map(|&m| objects[m].key.to_string()).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// The edges that make `a` wait for `b`, from `b` to `a`; `None` if `a` does not wait for `b`.
pub fn why(g: &DependencyGraph, a: usize, b: usize) -> Option<Vec<usize>> {
    // Breadth-first from b along edges; the first path that reaches a is the shortest.
    let mut came_by: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([b]);
    let mut seen = BTreeSet::from([b]);
    while let Some(v) = queue.pop_front() {
        if v == a {
            let mut path = Vec::new();
            let mut cur = a;
            while cur != b {
                let e = came_by[&cur];
                path.push(e);
                cur = g.edges[e].from;
            }
            path.reverse();
            return Some(path);
        }
        for &e in &g.outgoing[v] {
            let w = g.edges[e].to;
            if seen.insert(w) {
                came_by.insert(w, e);
                queue.push_back(w);
            }
        }
    }
    None
}

/// `--why A B` as text.
pub fn why_text(
    g: &DependencyGraph,
    objects: &[Object],
    a: usize,
    b: usize,
    place: Place,
) -> String {
    let (an, bn) = (objects[a].key.to_string(), objects[b].key.to_string());
    match why(g, a, b) {
        None => match why(g, b, a) {
            Some(_) => {
                format!("{an} does not wait for {bn}; {bn} waits for {an} (try --why {bn} {an})\n")
            }
            None => format!("{an} does not wait for {bn}: no chain of dependencies joins them\n"),
        },
        Some(path) => {
            let mut s = format!("{an} waits for {bn}:\n");
            for &e in &path {
                let edge = &g.edges[e];
                let at = place(edge).map(|p| format!(" at {p}")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {} before {}\n      {}: {}{at}",
                    node_name(g, objects, edge.from),
                    node_name(g, objects, edge.to),
                    edge.rule.name(),
                    edge.detail
                );
            }
            s
        }
    }
}

/// An object and its direct neighbours.
pub fn neighbourhood(g: &DependencyGraph, v: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::from([v]);
    for &e in &g.incoming[v] {
        out.insert(g.edges[e].from);
    }
    for &e in &g.outgoing[v] {
        out.insert(g.edges[e].to);
    }
    // A barrier neighbour brings the objects on its other side.
    let barriers: Vec<usize> = out
        .iter()
        .copied()
        .filter(|&n| matches!(g.nodes[n], Node::WaveBarrier { .. }))
        .collect();
    for bn in barriers {
        for &e in g.incoming[bn].iter().chain(&g.outgoing[bn]) {
            out.insert(g.edges[e].from);
            out.insert(g.edges[e].to);
        }
    }
    out
}

/// Collapses objects into groups (units, namespaces, kinds): a node per group with its object
/// count, an edge per pair of groups with the number of object edges between them. For
/// pictures of large inputs, which are unreadable (and refused by Mermaid) object by object.
pub struct Groups<'a> {
    /// The group of each object.
    pub of: &'a [usize],
    /// The name of each group.
    pub names: &'a [String],
    /// What a group is (`unit`, `namespace`, `kind`), for labels.
    pub what: &'a str,
}

fn group_edges(
    g: &DependencyGraph,
    groups: &Groups,
) -> std::collections::BTreeMap<(usize, usize), usize> {
    // A barrier stands for the groups of what it gathers.
    let mut memo: Vec<Option<BTreeSet<usize>>> = vec![None; g.nodes.len()];
    fn sources(
        g: &DependencyGraph,
        groups: &Groups,
        v: usize,
        memo: &mut Vec<Option<BTreeSet<usize>>>,
        depth: usize,
    ) -> BTreeSet<usize> {
        if let Some(s) = &memo[v] {
            return s.clone();
        }
        let out = match g.nodes[v] {
            Node::Object(i) => BTreeSet::from([groups.of[i]]),
            Node::WaveBarrier { .. } => {
                let mut s = BTreeSet::new();
                if depth < 64 {
                    for &e in &g.incoming[v] {
                        s.extend(sources(g, groups, g.edges[e].from, memo, depth + 1));
                    }
                }
                s
            }
        };
        memo[v] = Some(out.clone());
        out
    }
    let mut out = std::collections::BTreeMap::new();
    for e in &g.edges {
        let Node::Object(to) = g.nodes[e.to] else {
            continue;
        };
        for from in sources(g, groups, e.from, &mut memo, 0) {
            let to = groups.of[to];
            if from != to {
                *out.entry((from, to)).or_insert(0) += 1;
            }
        }
    }
    out
}

fn group_sizes(groups: &Groups) -> Vec<usize> {
    let mut n = vec![0; groups.names.len()];
    for &x in groups.of {
        n[x] += 1;
    }
    n
}

/// Graphviz of the groups.
pub fn dot_grouped(g: &DependencyGraph, groups: &Groups) -> String {
    let mut s = format!(
        "digraph kiln {{\n  // objects grouped by {}\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n  edge [fontsize=9];\n",
        groups.what
    );
    for (i, (name, n)) in groups.names.iter().zip(group_sizes(groups)).enumerate() {
        let _ = writeln!(
            s,
            "  g{i} [label=\"{}: {} ({n} object{})\"];",
            groups.what,
            dot_escape(name),
            if n == 1 { "" } else { "s" }
        );
    }
    for ((a, b), n) in group_edges(g, groups) {
        let _ = writeln!(s, "  g{a} -> g{b} [label=\"{n}\"];");
    }
    s.push_str("}\n");
    s
}

/// Mermaid of the groups.
pub fn mermaid_grouped(g: &DependencyGraph, groups: &Groups) -> String {
    let mut s = format!("%% objects grouped by {}\nflowchart LR\n", groups.what);
    for (i, (name, n)) in groups.names.iter().zip(group_sizes(groups)).enumerate() {
        let _ = writeln!(
            s,
            "  g{i}[\"{}: {} ({n} object{})\"]",
            groups.what,
            name.replace('"', "#quot;"),
            if n == 1 { "" } else { "s" }
        );
    }
    for ((a, b), n) in group_edges(g, groups) {
        let _ = writeln!(s, "  g{a} -->|{n}| g{b}");
    }
    s
}
