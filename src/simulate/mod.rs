//! Rehearsals on the simulated cluster: a [`Session`] holds one [`SimCluster`] and an
//! inventory, and applies desired states to it one after another (Git revisions, directories),
//! each as a new plan, exactly as the apply engine would apply them to a real cluster. Each step
//! gives a [`Step`]: the plan's counts, the apply report, objects per final status, the virtual
//! time to converge, what its prune takes with it, and what rolling back to the state before
//! would meet (an object the API server refuses to change back, asked with a server dry-run; a
//! CRD whose removal deletes stored objects).
//!
//! `kiln sim` and `kiln test` (scenarios, [`scenario`]) run on this. It does not render or
//! validate (the pipeline does) and does not decide readiness (kstatus does).

pub mod scenario;

use crate::apply::{self, Drift, Report, Settings};
use crate::cluster::sim::{SimCluster, SimConfig};
use crate::cluster::{Cluster, Millis, key_of};
use crate::diag::{Diagnostic, Severity};
use crate::graph::DependencyGraph;
use crate::object::{Object, ObjectKey};
use crate::pipeline::Compiled;
use crate::plan::{self, Action, Inventory, Plan};
use crate::util::Pointer;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// A desired state: validated objects and their graph, with what must not be applied.
pub struct Desired {
    /// How reports name it (a revision, a directory).
    pub label: String,
    pub objects: Vec<Object>,
    pub graph: DependencyGraph,
    /// Objects whose repository copy is broken (by index), with the reason: not applied, and
    /// what waits for them is skipped.
    pub held: BTreeMap<usize, String>,
    /// An error no object can be blamed for: nothing is applied.
    pub unusable: Option<String>,
    pub errors: usize,
    pub warnings: usize,
}

fn code_and_message(d: &Diagnostic) -> String {
    format!("[{}] {}", d.code.as_str(), d.message)
}

impl Desired {
    /// The desired state of a compiled input. Every error is blamed on the object it is in, or
    /// on the Flux Kustomization whose build it broke; the rest make the input unusable.
    pub fn from_compiled(c: Compiled, label: impl Into<String>) -> Desired {
        let mut held: BTreeMap<usize, String> = BTreeMap::new();
        let mut unusable = None;
        let by_name: BTreeMap<String, usize> = c
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key.to_string(), i))
            .collect();
        // Where each object's document is.
        let documents: Vec<Option<(String, usize, usize)>> = c
            .objects
            .iter()
            .map(|o| {
                let (span, _) = c.spans.span(&o.origin, "", false)?;
                Some((
                    c.sources.display_path(o.origin.file),
                    span.start as usize,
                    span.end as usize,
                ))
            })
            .collect();
        let (mut errors, mut warnings) = (0, 0);
        for d in &c.diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                _ => continue,
            }
            if d.severity != Severity::Error {
                continue;
            }
            let built = d
                .related
                .iter()
                .find_map(|l| l.message.strip_prefix("while building "))
                .and_then(|k| by_name.get(k));
            if let Some(&i) = built {
                held.entry(i)
                    .or_insert_with(|| format!("not rendered: {}", code_and_message(d)));
                continue;
            }
            let at = d
                .primary
                .as_ref()
                .and_then(|p| Some((p.location.path.clone(), p.location.range.as_ref()?.start)));
            let mut blamed = false;
            if let Some((path, offset)) = at {
                for (i, doc) in documents.iter().enumerate() {
                    if let Some((p, start, end)) = doc
                        && *p == path
                        && (*start..=*end).contains(&offset)
                    {
                        held.entry(i).or_insert_with(|| {
                            format!("invalid in the repository: {}", code_and_message(d))
                        });
                        blamed = true;
                    }
                }
            }
            if !blamed && unusable.is_none() {
                unusable = Some(code_and_message(d));
            }
        }
        Desired {
            label: label.into(),
            objects: c.objects,
            graph: c.graph,
            held,
            unusable,
            errors,
            warnings,
        }
    }
}

/// Whether a step applied a new state, or went back to an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Apply,
    Rollback,
    /// Drift correction: the current state applied again.
    Correct,
}

/// What one step did.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub label: String,
    /// Render and validation findings of the desired state.
    pub errors: usize,
    pub warnings: usize,
    /// Why nothing was applied, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<String>,
    /// Plan counts: create, update, unchanged, delete, keep.
    pub plan: BTreeMap<Action, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// Objects per final status (Current, InProgress, Failed, Skipped, Error).
    pub statuses: BTreeMap<String, usize>,
    /// What the cluster was given because the input presumes it: kinds served without their
    /// CRD (installed by Helm, by a bootstrap), namespaces that exist without being defined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
    /// What this step met beyond failures: CRDs it prunes, with the stored objects that go
    /// with them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What rolling back from this step to the state before would meet: objects the API
    /// server refuses to change back (immutable fields), CRDs whose removal deletes stored
    /// objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<String>,
    /// The state a rollback from this step goes back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<String>,
    /// The cluster's clock after the step, from the session's start.
    pub clock: Millis,
}

impl Step {
    /// Whether the step left something broken.
    pub fn failed(&self) -> bool {
        self.not_applied.is_some()
            || self
                .report
                .as_ref()
                .is_some_and(|r| !r.failed().is_empty() || !r.prune_failures().is_empty())
    }
}

/// One simulated cluster and what was applied to it.
pub struct Session {
    pub sim: SimCluster,
    pub inventory: Inventory,
    pub settings: Settings,
    /// Every state applied, in order (the first is what a rollback goes back to).
    pub history: Vec<Desired>,
    assumed: BTreeSet<(String, String)>,
    start: Millis,
}

impl Session {
    pub fn new(config: SimConfig, inventory: Inventory, settings: Settings) -> Session {
        let mut sim = SimCluster::new(config);
        let start = sim.now();
        Session {
            sim,
            inventory,
            settings,
            history: Vec::new(),
            assumed: BTreeSet::new(),
            start,
        }
    }

    /// The state applied last.
    pub fn current(&self) -> Option<&Desired> {
        self.history.last()
    }

    /// Serves the kinds the desired state uses without defining (Flux's, a Helm chart's), and
    /// creates the namespaces it uses without defining (made by a bootstrap, by hand): what a
    /// cluster the repository is meant for already has. Reports say what was assumed.
    pub fn assume(&mut self, desired: &Desired) -> Vec<String> {
        let mut now = self.assume_kinds(desired);
        let defined: BTreeSet<&str> = desired
            .objects
            .iter()
            .filter(|o| o.key.group.is_empty() && o.key.kind == "Namespace")
            .map(|o| o.key.name.as_str())
            .collect();
        let used: BTreeSet<&str> = desired
            .objects
            .iter()
            .map(|o| o.key.namespace.as_str())
            .filter(|n| !n.is_empty() && !defined.contains(n))
            .collect();
        for ns in used {
            let v = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            if self.assume_object(&v) {
                now.push(format!("Namespace/{ns} (existing, not in the input)"));
            }
        }
        // StorageClasses claims name that the input does not define (a Helm chart's, the
        // cloud's): claims bind through them as they would on that cluster.
        let classes: BTreeSet<&str> = desired
            .objects
            .iter()
            .filter(|o| o.key.group == "storage.k8s.io" && o.key.kind == "StorageClass")
            .map(|o| o.key.name.as_str())
            .collect();
        let claimed: BTreeSet<&str> = desired
            .objects
            .iter()
            .filter_map(|o| match (o.key.group.as_str(), o.key.kind.as_str()) {
                ("", "PersistentVolumeClaim") => {
                    o.value.at("/spec/storageClassName").and_then(Value::as_str)
                }
                _ => None,
            })
            .chain(
                desired
                    .objects
                    .iter()
                    .filter(|o| o.key.group == "apps" && o.key.kind == "StatefulSet")
                    .flat_map(|o| {
                        o.value
                            .at("/spec/volumeClaimTemplates")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t.at("/spec/storageClassName").and_then(Value::as_str))
                    }),
            )
            .filter(|c| !c.is_empty() && !classes.contains(c))
            .collect();
        for class in claimed {
            if self.sim.config.storage_classes.iter().any(|c| c == class) {
                continue;
            }
            let v = serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": class}, "provisioner": "sim.kiln.dev/assumed"});
            if self.assume_object(&v) {
                now.push(format!("StorageClass/{class} (existing, not in the input)"));
            }
        }
        now
    }

    /// Creates an object the cluster is assumed to have, unless it has it; whether it did.
    fn assume_object(&mut self, v: &Value) -> bool {
        if self.sim.get(&key_of(v)).ok().flatten().is_some() {
            return false;
        }
        let options = crate::cluster::ApplyOptions {
            manager: "kiln-sim-assumed".into(),
            force: true,
            dry_run: false,
        };
        self.sim.apply(v, &options).is_ok()
    }

    fn assume_kinds(&mut self, desired: &Desired) -> Vec<String> {
        let mut now = Vec::new();
        for (api, kind, namespaced) in apply::kinds_without_crds(&desired.objects) {
            if self.sim.resource(&api, &kind).is_some() {
                continue;
            }
            self.sim.assume_kind(&api, &kind, namespaced);
            if self.assumed.insert((api.clone(), kind.clone())) {
                now.push(format!("{kind} ({api}) served, without a CRD in the input"));
            }
        }
        now
    }

    /// CRDs that are in `from` and not in `to` whose removal deletes the objects stored of
    /// their kind, as a sentence each.
    fn crd_removals(&mut self, from: &[Object], to: &[Object], to_label: &str) -> Vec<String> {
        let after: BTreeSet<&ObjectKey> = to.iter().map(|o| &o.key).collect();
        let mut out = Vec::new();
        for old in from {
            let key = &old.key;
            if key.kind != "CustomResourceDefinition"
                || after.contains(key)
                || plan::prune_disabled(&old.value).is_some()
            {
                continue;
            }
            let group = old
                .value
                .at("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = old
                .value
                .at("/spec/names/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            let stored: Vec<ObjectKey> = self
                .sim
                .objects()
                .map(|(k, _)| k)
                .filter(|k| k.group == group && k.kind == kind)
                .cloned()
                .collect();
            if !stored.is_empty() {
                let names: Vec<String> = stored.iter().take(3).map(ToString::to_string).collect();
                let more = if stored.len() > 3 {
                    format!(" and {} more", stored.len() - 3)
                } else {
                    String::new()
                };
                out.push(format!(
                    "{key} is not in {to_label}: pruning it deletes the {} stored {kind} object{} with it ({}{more})",
                    stored.len(),
                    if stored.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ));
            }
        }
        out
    }

    /// What going back from the live state to `previous` would meet: objects the API server
    /// would refuse to change back (asked with a server dry-run, so the answer is the
    /// server's own), CRDs added since whose removal deletes stored objects.
    fn rollback_risks(&mut self, previous: &Desired, current: &Desired) -> Vec<String> {
        let mut out = Vec::new();
        let now: BTreeMap<&ObjectKey, &Value> =
            current.objects.iter().map(|o| (&o.key, &o.value)).collect();
        let keys = plan::stored_keys(&mut self.sim, &previous.objects);
        for (i, (o, key)) in previous.objects.iter().zip(&keys).enumerate() {
            // Only what changed between the two states can fail to change back; what the
            // previous state could not render is not applied by a rollback either.
            if now.get(&o.key).is_none_or(|v| **v == o.value) || previous.held.contains_key(&i) {
                continue;
            }
            let want = plan::labelled(&o.value, &self.inventory);
            let options = crate::cluster::ApplyOptions {
                manager: plan::MANAGER.into(),
                force: true,
                dry_run: true,
            };
            if let Err(e) = self.sim.apply(&want, &options)
                && e.code == 422
            {
                out.push(format!("{key}: {}", indent_rest(&e.message)));
            }
        }
        let (cur, prev) = (current.objects.clone(), previous.objects.clone());
        out.extend(self.crd_removals(&cur, &prev, &previous.label));
        out
    }

    /// Applies a desired state as a new plan (a rollback is the same with an earlier state).
    pub fn apply(&mut self, desired: Desired, kind: StepKind) -> Step {
        let assumed = self.assume(&desired);
        // What this step's prune will take with it.
        let problems = match self.history.last().map(|p| p.objects.clone()) {
            Some(prev) if kind != StepKind::Correct => {
                self.crd_removals(&prev, &desired.objects, &desired.label)
            }
            _ => Vec::new(),
        };
        let mut step = Step {
            kind,
            label: desired.label.clone(),
            errors: desired.errors,
            warnings: desired.warnings,
            not_applied: None,
            plan: BTreeMap::new(),
            report: None,
            statuses: BTreeMap::new(),
            assumed,
            problems,
            rollback: Vec::new(),
            rollback_to: None,
            clock: 0,
        };
        if let Some(reason) = &desired.unusable {
            step.not_applied = Some(format!("{} does not render: {reason}", desired.label));
        } else {
            match self.plan(&desired) {
                Err(e) => step.not_applied = Some(format!("the cluster refused the plan: {e}")),
                Ok(plan) => {
                    step.plan = plan.counts();
                    let mut settings = self.settings.clone();
                    // Prune never runs when a part of the desired state failed to render or
                    // validate: its live objects would look removed.
                    if !desired.held.is_empty() {
                        settings.prune = false;
                    }
                    match apply::apply(&mut self.sim, &plan, &settings) {
                        Ok(mut report) => {
                            if !desired.held.is_empty() && self.settings.prune {
                                report.prune_skipped = Some(format!(
                                    "{} object{} failed to render or validate",
                                    desired.held.len(),
                                    if desired.held.len() == 1 { "" } else { "s" }
                                ));
                            }
                            step.statuses = report.by_status();
                            step.report = Some(report);
                        }
                        Err(e) => step.not_applied = Some(format!("the cluster failed: {e}")),
                    }
                }
            }
        }
        if kind == StepKind::Apply
            && step.not_applied.is_none()
            && let Some(previous) = self.history.last().map(|p| Desired {
                label: p.label.clone(),
                objects: p.objects.clone(),
                graph: DependencyGraph::default(),
                held: p.held.clone(),
                unusable: None,
                errors: 0,
                warnings: 0,
            })
        {
            step.rollback = self.rollback_risks(&previous, &desired);
            step.rollback_to = Some(previous.label);
        }
        step.clock = self.sim.now() - self.start;
        self.history.push(desired);
        step
    }

    /// The plan of a desired state against the cluster now.
    pub fn plan(&mut self, desired: &Desired) -> Result<Plan, crate::cluster::ApiError> {
        plan::plan(
            &mut self.sim,
            &desired.objects,
            &desired.graph,
            &self.inventory,
            &desired.held,
        )
    }

    /// Applies the first state again.
    pub fn rollback(&mut self) -> Option<Step> {
        let first = self.history.first()?;
        let again = Desired {
            label: first.label.clone(),
            objects: first.objects.clone(),
            graph: first.graph.clone(),
            held: first.held.clone(),
            unusable: first.unusable.clone(),
            errors: first.errors,
            warnings: first.warnings,
        };
        Some(self.apply(again, StepKind::Rollback))
    }

    /// Drift of the current state: what applying it again would change, and who changed it.
    pub fn drift(&mut self) -> Vec<Drift> {
        let Some(current) = self.history.last() else {
            return Vec::new();
        };
        let held = current.held.clone();
        let (objects, graph) = (current.objects.clone(), current.graph.clone());
        match plan::plan(&mut self.sim, &objects, &graph, &self.inventory, &held) {
            Ok(p) => apply::drift(&p),
            Err(_) => Vec::new(),
        }
    }

    /// Re-applies the current state (drift correction).
    pub fn correct(&mut self) -> Option<Step> {
        let current = self.history.last()?;
        let again = Desired {
            label: current.label.clone(),
            objects: current.objects.clone(),
            graph: current.graph.clone(),
            held: current.held.clone(),
            unusable: current.unusable.clone(),
            errors: current.errors,
            warnings: current.warnings,
        };
        // A correction is not a new state in the history.
        let step = self.apply(again, StepKind::Correct);
        self.history.pop();
        Some(step)
    }
}

/// A duration as Go and Flux write it: `500ms`, `30s`, `5m`, `1h30m`, `2.5s`.
pub fn parse_duration(s: &str) -> Result<Millis, String> {
    let bad = || format!("`{s}` is not a duration (write 500ms, 30s, 5m or 1h30m)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Ok(total.round() as Millis)
}

/// A fault on objects: `target` is `Kind/namespace/name` or `Kind/name` (cluster-scoped), the
/// namespace and name may be `*`; `what` is `image-pull-backoff`, `crash-loop`, `delay:30s`,
/// `fail-writes:N` (503, transient) or `fail-writes:N:CODE`, `job-fails`, `never-binds`.
pub fn parse_fault(target: &str, what: &str) -> Result<crate::cluster::sim::Fault, String> {
    let parts: Vec<&str> = target.split('/').collect();
    let (kind, namespace, name) = match parts.as_slice() {
        [k, n] => (*k, "", *n),
        [k, ns, n] => (*k, *ns, *n),
        _ => {
            return Err(format!(
                "`{target}`: write the object as Kind/namespace/name or Kind/name"
            ));
        }
    };
    if kind.is_empty() || name.is_empty() {
        return Err(format!(
            "`{target}`: write the object as Kind/namespace/name or Kind/name"
        ));
    }
    Ok(crate::cluster::sim::Fault {
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        fault: parse_fault_kind(what)?,
    })
}

/// What a fault does: `image-pull-backoff`, `crash-loop`, `delay:30s`, `fail-writes:N[:CODE]`,
/// `job-fails`, `never-binds`.
pub fn parse_fault_kind(what: &str) -> Result<crate::cluster::sim::FaultKind, String> {
    use crate::cluster::sim::FaultKind;
    let (head, arg) = what
        .split_once(':')
        .map(|(h, a)| (h, Some(a)))
        .unwrap_or((what, None));
    let fault = match (head, arg) {
        ("image-pull-backoff", None) => FaultKind::ImagePullBackOff,
        ("crash-loop", None) => FaultKind::CrashLoop,
        ("job-fails", None) => FaultKind::JobFails,
        ("never-binds", None) => FaultKind::NeverBinds,
        ("delay", Some(d)) => FaultKind::Delay(parse_duration(d)?),
        ("fail-writes", Some(a)) => {
            let (times, code) = a
                .split_once(':')
                .map(|(t, c)| (t, Some(c)))
                .unwrap_or((a, None));
            let times: u32 = times
                .parse()
                .map_err(|_| format!("`{what}`: fail-writes:N needs a count"))?;
            let code: u16 = match code {
                Some(c) => c
                    .parse()
                    .ok()
                    .filter(|c| (400..600).contains(c))
                    .ok_or_else(|| format!("`{what}`: the status code is 400 to 599"))?,
                None => 503,
            };
            FaultKind::FailWrites { times, code }
        }
        _ => {
            return Err(format!(
                "`{what}` is not a fault: image-pull-backoff, crash-loop, delay:DURATION, fail-writes:N[:CODE], job-fails or never-binds"
            ));
        }
    };
    Ok(fault)
}

/// Seconds, as reports print virtual time (`2.5 s`).
pub fn seconds(ms: Millis) -> String {
    let (whole, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        format!("{whole} s")
    } else {
        format!("{whole}.{} s", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// A step as a reviewer reads it (times in the simulator's virtual time).
pub fn render_step(n: usize, step: &Step, out: &mut String) {
    render_step_timed(n, step, true, out);
}

/// A step as a reviewer reads it; `virtual_time` says whose clock its times are on.
pub fn render_step_timed(n: usize, step: &Step, virtual_time: bool, out: &mut String) {
    let what = match step.kind {
        StepKind::Apply => format!("apply {}", step.label),
        StepKind::Rollback => format!("rollback to {}", step.label),
        StepKind::Correct => format!("correct drift ({})", step.label),
    };
    let _ = writeln!(out, "step {n}: {what}");
    if step.errors + step.warnings > 0 {
        let _ = writeln!(
            out,
            "  findings: {} error{}, {} warning{} (see `kiln check`)",
            step.errors,
            plural(step.errors),
            step.warnings,
            plural(step.warnings)
        );
    }
    for k in &step.assumed {
        let _ = writeln!(out, "  assumed: {k}");
    }
    if let Some(r) = &step.not_applied {
        let _ = writeln!(out, "  not applied: {r}");
    }
    if let Some(report) = &step.report {
        let count = |a: Action| step.plan.get(&a).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "  plan: {} to create, {} to update, {} unchanged, {} to delete",
            count(Action::Create),
            count(Action::Update),
            count(Action::Unchanged),
            count(Action::Delete)
        );
        let statuses: Vec<String> = step
            .statuses
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = writeln!(
            out,
            "  {} wave{}, {} in {}{}",
            report.waves,
            plural(report.waves),
            statuses.join(", "),
            seconds(report.took),
            if virtual_time { " (virtual)" } else { "" }
        );
        for o in report
            .outcomes
            .iter()
            .filter(|o| o.error.is_some() || o.status == crate::status::Status::Failed)
        {
            let why = o.error.clone().unwrap_or_else(|| o.message.clone());
            let _ = writeln!(out, "  failed: {}: {}", o.object, indent_rest(&why));
            let blocked: Vec<&str> = report
                .outcomes
                .iter()
                .filter(|b| b.blocked_by.contains(&o.object))
                .map(|b| b.object.as_str())
                .collect();
            if !blocked.is_empty() {
                let _ = writeln!(out, "    blocked: {}", blocked.join(", "));
            }
        }
        for o in report.outcomes.iter().filter(|o| o.replaced.is_some()) {
            let why = o.replaced.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "  replaced: {} (force enabled; refused in place: {})",
                o.object,
                indent_rest(why)
            );
        }
        for o in report
            .outcomes
            .iter()
            .filter(|o| o.error.is_none() && o.status == crate::status::Status::InProgress)
        {
            let _ = writeln!(out, "  not ready: {}: {}", o.object, o.message);
        }
        for p in &report.pruned {
            if let Some(e) = &p.error {
                let _ = writeln!(
                    out,
                    "  prune failed: {} (prune wave {}): {e}; it stays in the inventory",
                    p.object, p.wave
                );
            } else if p.gone {
                let _ = writeln!(
                    out,
                    "  pruned: {} (prune wave {}, gone after {})",
                    p.object,
                    p.wave,
                    seconds(p.gone_after)
                );
            } else {
                let _ = writeln!(
                    out,
                    "  pruned: {} (prune wave {}, deleted, still terminating after {})",
                    p.object,
                    p.wave,
                    seconds(p.gone_after)
                );
            }
        }
        for k in &report.kept {
            let _ = writeln!(out, "  kept: {k}");
        }
        if let Some(why) = &report.prune_skipped {
            let _ = writeln!(out, "  prune skipped: {why}");
        }
    }
    for p in &step.problems {
        let _ = writeln!(out, "  problem: {}", indent_rest(p));
    }
    if let Some(to) = &step.rollback_to {
        if step.rollback.is_empty() {
            let _ = writeln!(out, "  rollback to {to}: no problem found");
        }
        for p in &step.rollback {
            let _ = writeln!(
                out,
                "  rollback to {to} would fail or lose data: {}",
                indent_rest(p)
            );
        }
    }
}

fn indent_rest(s: &str) -> String {
    s.replace('\n', "\n      ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ApplyOptions;
    use crate::pipeline::{self, Input};
    use crate::status::Status;

    fn desired(dir: &std::path::Path, label: &str) -> Desired {
        Desired::from_compiled(pipeline::compile(&Input::new(dir)).unwrap(), label)
    }

    fn write(dir: &std::path::Path, files: &[(&str, &str)]) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
    const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n";
    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: shop\ndata:\n  a: b\n";

    fn tmp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("kiln-simulate-{name}-{}", std::process::id()))
    }

    fn session() -> Session {
        Session::new(
            SimConfig::default(),
            Inventory::secret("default", "kiln"),
            Settings::default(),
        )
    }

    #[test]
    fn apply_converges_then_prunes_what_left_the_repository() {
        let (a, b) = (tmp("prune-a"), tmp("prune-b"));
        write(&a, &[("ns.yaml", NS), ("web.yaml", WEB), ("cm.yaml", CM)]);
        write(&b, &[("ns.yaml", NS), ("web.yaml", WEB)]);
        let mut s = session();
        let step = s.apply(desired(&a, "a"), StepKind::Apply);
        assert!(!step.failed(), "{step:?}");
        assert_eq!(step.statuses.get("Current"), Some(&3));
        // The members carry the ApplySet label; the parent lists their kinds.
        let cm = s
            .sim
            .get(&ObjectKey {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: "shop".into(),
                name: "old".into(),
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            cm["metadata"]["labels"][plan::PART_OF],
            s.inventory.id.as_str()
        );
        let parent = s.sim.get(&s.inventory.key()).unwrap().unwrap();
        assert_eq!(
            parent["metadata"]["annotations"][plan::CONTAINS_GROUP_KINDS],
            "ConfigMap,Deployment.apps,Namespace"
        );
        let step = s.apply(desired(&b, "b"), StepKind::Apply);
        let report = step.report.as_ref().unwrap();
        assert_eq!(
            report
                .pruned
                .iter()
                .map(|p| p.object.as_str())
                .collect::<Vec<_>>(),
            ["ConfigMap/shop/old"]
        );
        assert_eq!(step.plan.get(&Action::Unchanged), Some(&2));
        let parent = s.sim.get(&s.inventory.key()).unwrap().unwrap();
        assert_eq!(
            parent["metadata"]["annotations"][plan::CONTAINS_GROUP_KINDS],
            "Deployment.apps,Namespace"
        );
        // Going back brings it back.
        let step = s.rollback().unwrap();
        assert_eq!(step.plan.get(&Action::Create), Some(&1));
        assert!(!step.failed());
    }

    #[test]
    fn prune_never_touches_objects_outside_the_inventory() {
        let a = tmp("outside");
        write(&a, &[("ns.yaml", NS)]);
        let mut s = session();
        s.apply(desired(&a, "a"), StepKind::Apply);
        // Someone else's object in the same namespace, and one labelled for another ApplySet.
        s.sim.apply(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "shop"}}), &ApplyOptions { manager: "helm".into(), ..Default::default() }).unwrap();
        s.sim.apply(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-set", "namespace": "shop", "labels": {plan::PART_OF: "applyset-other-v1"}}}), &ApplyOptions { manager: "kubectl".into(), ..Default::default() }).unwrap();
        let step = s.apply(desired(&a, "a"), StepKind::Apply);
        assert!(step.report.unwrap().pruned.is_empty());
        assert_eq!(
            s.sim
                .list("v1", "ConfigMap", Some("shop"), "")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_broken_object_is_held_back_and_blocks_its_dependents_and_prune() {
        let (a, b) = (tmp("held-a"), tmp("held-b"));
        write(&a, &[("ns.yaml", NS), ("web.yaml", WEB), ("cm.yaml", CM)]);
        // The namespace is broken in b: everything in it waits for it.
        write(
            &b,
            &[
                (
                    "ns.yaml",
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    bad: [1]\n",
                ),
                ("web.yaml", WEB),
            ],
        );
        let mut s = session();
        s.apply(desired(&a, "a"), StepKind::Apply);
        let step = s.apply(desired(&b, "b"), StepKind::Apply);
        assert!(step.failed());
        let report = step.report.as_ref().unwrap();
        let ns = report
            .outcomes
            .iter()
            .find(|o| o.object == "Namespace/shop")
            .unwrap();
        assert!(
            ns.error
                .as_deref()
                .unwrap()
                .starts_with("invalid in the repository:"),
            "{ns:?}"
        );
        let web = report
            .outcomes
            .iter()
            .find(|o| o.object == "Deployment/shop/web")
            .unwrap();
        assert_eq!(web.blocked_by, ["Namespace/shop"]);
        assert!(report.pruned.is_empty());
        assert!(report.prune_skipped.is_some());
        assert!(
            s.sim
                .get(&ObjectKey {
                    group: String::new(),
                    kind: "ConfigMap".into(),
                    namespace: "shop".into(),
                    name: "old".into()
                })
                .unwrap()
                .is_some()
        );
    }

    /// What a run leaves that matters: every object (without server-set metadata, times and
    /// generated names' randomness), by key.
    fn end_state(s: &Session) -> BTreeMap<ObjectKey, Value> {
        s.sim
            .objects()
            .filter(|(k, _)| !matches!(k.kind.as_str(), "Pod" | "ReplicaSet"))
            .map(|(k, stored)| {
                let mut v = plan::comparable(&stored.object);
                if let Some(m) = v.at_mut("/metadata").and_then(Value::as_object_mut) {
                    m.remove("annotations");
                }
                (k.clone(), v)
            })
            .collect()
    }

    #[test]
    fn re_running_after_an_interruption_converges_to_the_same_end_state() {
        use crate::cluster::sim::{Fault, FaultKind};
        let (a, b) = (tmp("resume-a"), tmp("resume-b"));
        write(&a, &[("ns.yaml", NS), ("web.yaml", WEB), ("cm.yaml", CM)]);
        write(
            &b,
            &[
                ("ns.yaml", NS),
                ("web.yaml", &WEB.replace("nginx:1.27", "nginx:1.28")),
            ],
        );
        let mut clean = session();
        clean.apply(desired(&a, "a"), StepKind::Apply);
        assert!(!clean.apply(desired(&b, "b"), StepKind::Apply).failed());
        let want = end_state(&clean);
        // Interrupted while applying (a server error on the Deployment), then while pruning
        // (a server error deleting the ConfigMap): each time the same apply again finishes it.
        for (kind, name) in [("Deployment", "web"), ("ConfigMap", "old")] {
            let mut s = session();
            s.apply(desired(&a, "a"), StepKind::Apply);
            s.sim.inject(Fault {
                kind: kind.into(),
                namespace: "shop".into(),
                name: name.into(),
                fault: FaultKind::FailWrites {
                    times: 1,
                    code: 500,
                },
            });
            let broken = s.apply(desired(&b, "b"), StepKind::Apply);
            assert!(broken.failed(), "{kind}: {broken:?}");
            let again = s.apply(desired(&b, "b"), StepKind::Apply);
            assert!(!again.failed(), "{kind}: {again:?}");
            assert_eq!(end_state(&s), want, "{kind}");
        }
    }

    #[test]
    fn transient_errors_are_retried() {
        use crate::cluster::sim::{Fault, FaultKind};
        let a = tmp("retry");
        write(&a, &[("ns.yaml", NS), ("cm.yaml", CM)]);
        let mut s = session();
        s.sim.inject(Fault {
            kind: "ConfigMap".into(),
            namespace: "shop".into(),
            name: "old".into(),
            fault: FaultKind::FailWrites {
                times: 2,
                code: 503,
            },
        });
        let step = s.apply(desired(&a, "a"), StepKind::Apply);
        assert!(!step.failed(), "{step:?}");
    }

    #[test]
    fn a_stale_plan_is_refused() {
        let a = tmp("stale");
        write(&a, &[("ns.yaml", NS), ("cm.yaml", CM)]);
        let mut s = session();
        s.apply(desired(&a, "a"), StepKind::Apply);
        let d = desired(&a, "a");
        let p = s.plan(&d).unwrap();
        // Someone changes a planned object after the plan was made.
        let key = ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "shop".into(),
            name: "old".into(),
        };
        s.sim
            .update_as(&key, "kubectl-edit", "", &|v| {
                v["data"]["a"] = serde_json::json!("changed")
            })
            .unwrap();
        let e = apply::apply(&mut s.sim, &p, &Settings::default()).unwrap_err();
        assert_eq!(e.reason, "StalePlan");
        assert!(e.message.contains("changed since the plan was made"), "{e}");
    }

    #[test]
    fn rollback_problems_name_immutable_fields_and_orphaned_custom_resources() {
        let (a, b) = (tmp("problem-a"), tmp("problem-b"));
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n";
        let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  size: 1\n";
        write(&a, &[("ns.yaml", NS), ("web.yaml", WEB)]);
        write(
            &b,
            &[
                ("ns.yaml", NS),
                ("web.yaml", &WEB.replace("app: web", "app: web-v2")),
                ("crd.yaml", crd),
                ("widget.yaml", widget),
            ],
        );
        let mut s = session();
        s.apply(desired(&a, "a"), StepKind::Apply);
        let step = s.apply(desired(&b, "b"), StepKind::Apply);
        // Forward: the selector change is refused by the server.
        let web = step
            .report
            .as_ref()
            .unwrap()
            .outcomes
            .iter()
            .find(|o| o.object == "Deployment/shop/web")
            .unwrap()
            .clone();
        assert!(web.error.unwrap().contains("field is immutable"));
        // The Deployment was not changed, so going back meets no selector problem; the CRD
        // added since would take its Widget with it.
        assert_eq!(step.rollback.len(), 1, "{:?}", step.rollback);
        assert!(
            step.rollback[0].contains("pruning it deletes the 1 stored Widget object"),
            "{:?}",
            step.rollback
        );
        let step = s.rollback().unwrap();
        assert!(
            step.problems
                .iter()
                .any(|p| p.contains("pruning it deletes the 1 stored Widget object")),
            "{:?}",
            step.problems
        );
        assert!(s.sim.objects().all(|(k, _)| k.kind != "Widget"));
        let status = crate::status::compute(
            s.sim
                .get(&ObjectKey {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    namespace: "shop".into(),
                    name: "web".into(),
                })
                .unwrap()
                .as_ref(),
        );
        assert_eq!(status.status, Status::Current);
    }
}
