//! The apply engine: runs a [`Plan`] against `&mut dyn Cluster`, wave by wave. Each object is
//! applied with server-side apply as field manager `kiln` (taking ownership, as Flux does);
//! each wave waits until everything in it is Current by kstatus, with a timeout per object and
//! overall; a Failed or timed-out object skips everything that waits for it, and the report
//! says which. Prune runs last, dependents first, waiting for each deletion, and only when every
//! apply succeeded; it never touches an object outside the inventory. Re-running after an
//! interruption converges: every step is an idempotent apply or delete.
//!
//! Also here: drift (what an apply would change in live objects, with the manager that changed
//! each field) and its correction.

use crate::cluster::{ApiError, ApplyOptions, Cluster, DeleteOptions, Millis, Propagation, key_of};
use crate::object::ObjectKey;
use crate::plan::{self, Action, Inventory, Plan};
use crate::status::{self, Status};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// How to apply.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long one object may take to become Current.
    pub object_timeout: Millis,
    /// How long the whole apply may take.
    pub total_timeout: Millis,
    /// How often readiness is looked at.
    pub poll: Millis,
    pub prune: bool,
    /// Retries of a transient error (5xx, 429) per write.
    pub retries: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            object_timeout: 300_000,
            total_timeout: 3_600_000,
            poll: 2_000,
            prune: true,
            retries: 3,
        }
    }
}

/// What became of one object.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub object: String,
    pub action: Action,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The error that stopped it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failed or skipped objects it waited for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// Deleted and created again (`kustomize.toolkit.fluxcd.io/force: enabled`) because the
    /// API server refused the change in place with this error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
    /// Milliseconds from the start of the apply to its write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<Millis>,
    /// Milliseconds from the start of the apply to Current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_after: Option<Millis>,
}

impl Outcome {
    /// Where the object stands, in the words reports and scenarios share
    /// ([`crate::status::WORDS`]).
    pub fn word(&self) -> String {
        if !self.blocked_by.is_empty() {
            "Skipped".to_string()
        } else if self.error.is_some() && self.status == Status::NotFound {
            "Error".to_string()
        } else {
            self.status.to_string()
        }
    }

    /// A change not (yet) applied: NotFound, with the error that stopped it, if any.
    fn of(c: &plan::Change, error: Option<String>) -> Outcome {
        Outcome {
            object: c.object.clone(),
            action: c.action,
            status: Status::NotFound,
            message: String::new(),
            error,
            blocked_by: Vec::new(),
            applied_at: None,
            ready_after: None,
            replaced: None,
        }
    }
}

/// A pruned object, and when it was gone.
#[derive(Clone, Debug, Serialize)]
pub struct Pruned {
    pub object: String,
    /// Milliseconds from the start of the apply until it was gone (or until kiln stopped
    /// waiting).
    pub gone_after: Millis,
    /// False when it was still there (held by a finalizer) after the object timeout.
    pub gone: bool,
    /// The prune wave (from 1): a wave starts once the one before is gone.
    pub wave: usize,
}

/// The report of an apply.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub pruned: Vec<Pruned>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Prune did not run, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_skipped: Option<String>,
    /// Time the whole apply took.
    pub took: Millis,
    pub waves: usize,
}

impl Report {
    pub fn failed(&self) -> Vec<&Outcome> {
        self.outcomes
            .iter()
            .filter(|o| o.error.is_some() || o.status == Status::Failed || !o.blocked_by.is_empty())
            .collect()
    }

    pub fn by_status(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for o in &self.outcomes {
            *out.entry(o.word()).or_insert(0) += 1;
        }
        out
    }
}

fn write_with_retries<T>(
    cluster: &mut dyn Cluster,
    settings: &Settings,
    mut f: impl FnMut(&mut dyn Cluster) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut attempt = 0;
    loop {
        match f(cluster) {
            Err(e) if e.is_transient() && attempt < settings.retries => {
                attempt += 1;
                cluster.sleep(1_000 * u64::from(attempt));
            }
            other => return other,
        }
    }
}

/// Writes the inventory parent with the kinds and namespaces it covers.
fn write_parent(
    cluster: &mut dyn Cluster,
    inventory: &Inventory,
    kinds: &BTreeSet<String>,
    namespaces: &BTreeSet<String>,
) -> Result<(), ApiError> {
    let extra: Vec<&String> = namespaces
        .iter()
        .filter(|n| **n != inventory.namespace && !n.is_empty())
        .collect();
    let parent = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": inventory.name,
            "namespace": inventory.namespace,
            "labels": {plan::APPLYSET_ID: inventory.id},
            "annotations": {
                plan::TOOLING: format!("kiln/{}", env!("CARGO_PKG_VERSION")),
                plan::CONTAINS_GROUP_KINDS: kinds.iter().cloned().collect::<Vec<_>>().join(","),
                plan::ADDITIONAL_NAMESPACES: extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
            },
        },
        "type": "Opaque",
    });
    cluster
        .apply(
            &parent,
            &ApplyOptions {
                manager: plan::MANAGER.into(),
                force: true,
                dry_run: false,
            },
        )
        .map(|_| ())
}

fn group_kind(key: &ObjectKey) -> String {
    if key.group.is_empty() {
        key.kind.clone()
    } else {
        format!("{}.{}", key.kind, key.group)
    }
}

fn parent_sets(
    cluster: &mut dyn Cluster,
    inventory: &Inventory,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let Ok(Some(p)) = cluster.get(&inventory.key()) else {
        return (BTreeSet::new(), BTreeSet::new());
    };
    let ann = |k: &str| {
        p.pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let split = |s: String| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
    };
    (
        split(ann(plan::CONTAINS_GROUP_KINDS)),
        split(ann(plan::ADDITIONAL_NAMESPACES)),
    )
}

/// The annotation that lets kiln (as Flux) delete and recreate an object whose change the API
/// server refuses (an immutable field).
pub const FORCE: &str = "kustomize.toolkit.fluxcd.io/force";

fn forced(v: &Value) -> bool {
    v.pointer(&format!(
        "/metadata/annotations/{}",
        FORCE.replace('/', "~1")
    ))
    .and_then(Value::as_str)
    .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
}

/// Deletes an object, waits until it is gone, and applies it again.
fn replace(
    cluster: &mut dyn Cluster,
    settings: &Settings,
    key: &ObjectKey,
    desired: &Value,
    options: &ApplyOptions,
) -> Result<Value, ApiError> {
    write_with_retries(cluster, settings, |cl| {
        cl.delete(
            key,
            &DeleteOptions {
                propagation: Propagation::Background,
                dry_run: false,
            },
        )
    })?;
    let since = cluster.now();
    while cluster.get(key)?.is_some() {
        if cluster.now() - since >= settings.object_timeout {
            return Err(ApiError::new(
                504,
                "Timeout",
                format!(
                    "{key} was deleted to be replaced but is still there after {} s",
                    (cluster.now() - since) / 1000
                ),
            ));
        }
        cluster.sleep(settings.poll);
    }
    write_with_retries(cluster, settings, |cl| cl.apply(desired, options))
}

/// Applies a plan.
pub fn apply(
    cluster: &mut dyn Cluster,
    plan: &Plan,
    settings: &Settings,
) -> Result<Report, ApiError> {
    // A plan is applied only to the state it was computed against.
    let now = plan::live_digest(cluster, plan)?;
    if now != plan.live_digest {
        return Err(ApiError::new(
            409,
            "StalePlan",
            "the cluster changed since the plan was made (objects it would change or delete are not as they were); make a new plan",
        ));
    }
    let start = cluster.now();
    let inv = &plan.inventory;
    // 1. The parent covers what it covered and what this plan adds (prune must still find the
    //    old members if this run is interrupted).
    let (old_kinds, old_ns) = parent_sets(cluster, inv);
    let new_kinds: BTreeSet<String> = plan
        .waves
        .iter()
        .flatten()
        .map(|c| group_kind(&c.key))
        .collect();
    let new_ns: BTreeSet<String> = plan
        .waves
        .iter()
        .flatten()
        .map(|c| c.key.namespace.clone())
        .filter(|n| !n.is_empty())
        .collect();
    write_parent(
        cluster,
        inv,
        &old_kinds.union(&new_kinds).cloned().collect(),
        &old_ns.union(&new_ns).cloned().collect(),
    )?;
    // 2. Waves.
    let mut outcomes: BTreeMap<ObjectKey, Outcome> = BTreeMap::new();
    let mut bad: BTreeSet<String> = BTreeSet::new();
    let mut order: Vec<ObjectKey> = Vec::new();
    for wave in &plan.waves {
        // (the plan's key, the key the server stored it under, when it was written)
        let mut waiting: Vec<(ObjectKey, ObjectKey, Millis)> = Vec::new();
        for c in wave {
            order.push(c.key.clone());
            if let Some(reason) = &c.refused {
                bad.insert(c.object.clone());
                outcomes.insert(c.key.clone(), Outcome::of(c, Some(reason.clone())));
                continue;
            }
            let blocked: Vec<String> = c
                .after
                .iter()
                .filter(|a| bad.contains(*a))
                .cloned()
                .collect();
            if !blocked.is_empty() {
                bad.insert(c.object.clone());
                let skipped = Outcome {
                    message: "not applied: a dependency failed".into(),
                    blocked_by: blocked,
                    ..Outcome::of(c, None)
                };
                outcomes.insert(c.key.clone(), skipped);
                continue;
            }
            let Some(desired) = &c.desired else { continue };
            let options = ApplyOptions {
                manager: plan::MANAGER.into(),
                force: true,
                dry_run: false,
            };
            let mut result =
                write_with_retries(cluster, settings, |cl| cl.apply(desired, &options));
            let mut replaced = None;
            // Flux's force: an object the API server refuses to change in place is replaced.
            if let Err(e) = &result
                && e.code == 422
                && forced(desired)
                && (e.message.contains("field is immutable") || e.message.contains("Forbidden"))
            {
                replaced = Some(plan::mask_secret_values(&e.message, desired));
                result = replace(cluster, settings, &c.key, desired, &options);
            }
            match result {
                Ok(stored) => {
                    // A cluster-scoped object given a namespace is stored without it.
                    let live_key = if stored.is_object() {
                        key_of(&stored)
                    } else {
                        c.key.clone()
                    };
                    waiting.push((c.key.clone(), live_key, cluster.now()));
                    let at = cluster.now() - start;
                    let applied = Outcome {
                        status: Status::InProgress,
                        applied_at: Some(at),
                        replaced,
                        ..Outcome::of(c, None)
                    };
                    outcomes.insert(c.key.clone(), applied);
                }
                Err(e) => {
                    bad.insert(c.object.clone());
                    let shown = match &c.desired {
                        Some(d) => plan::mask_secret_values(&e.to_string(), d),
                        None => e.to_string(),
                    };
                    outcomes.insert(c.key.clone(), Outcome::of(c, Some(shown)));
                }
            }
        }
        // Wait for the wave.
        loop {
            let mut pending = 0;
            for (k, live_key, since) in &waiting {
                let o = outcomes.get_mut(k).expect("applied");
                if matches!(o.status, Status::Current | Status::Failed) || o.error.is_some() {
                    continue;
                }
                let live = cluster.get(live_key).ok().flatten();
                let r = status::compute(live.as_ref());
                o.status = r.status;
                o.message = r.message;
                match r.status {
                    Status::Current => o.ready_after = Some(cluster.now() - start),
                    Status::Failed => {
                        bad.insert(o.object.clone());
                    }
                    _ => {
                        if cluster.now() - since >= settings.object_timeout
                            || cluster.now() - start >= settings.total_timeout
                        {
                            o.error = Some(format!(
                                "timed out after {} s waiting to be Current ({})",
                                (cluster.now() - since) / 1000,
                                o.message
                            ));
                            bad.insert(o.object.clone());
                        } else {
                            pending += 1;
                        }
                    }
                }
            }
            if pending == 0 {
                break;
            }
            cluster.sleep(settings.poll);
        }
    }
    // 3. Prune, only when everything applied.
    let mut pruned = Vec::new();
    let mut kept = Vec::new();
    let failures = outcomes
        .values()
        .filter(|o| o.error.is_some() || o.status == Status::Failed || !o.blocked_by.is_empty())
        .count();
    let prune_skipped = if !settings.prune {
        Some("prune is off".to_string())
    } else if failures > 0 {
        Some(format!(
            "{failures} object{} did not become ready",
            if failures == 1 { "" } else { "s" }
        ))
    } else {
        None
    };
    if prune_skipped.is_none() {
        for (w, wave) in plan.prune.iter().enumerate() {
            let mut deleting: Vec<&plan::Change> = Vec::new();
            for c in wave {
                if c.action == Action::Keep {
                    kept.push(format!("{} ({})", c.object, c.why));
                    continue;
                }
                // Only what the inventory still lists.
                let live = cluster.get(&c.key).ok().flatten();
                let member = live.as_ref().is_some_and(|l| {
                    l.pointer(&format!(
                        "/metadata/labels/{}",
                        plan::PART_OF.replace('/', "~1")
                    ))
                    .and_then(Value::as_str)
                        == Some(inv.id.as_str())
                });
                if !member {
                    continue;
                }
                write_with_retries(cluster, settings, |cl| {
                    cl.delete(
                        &c.key,
                        &DeleteOptions {
                            propagation: Propagation::Background,
                            dry_run: false,
                        },
                    )
                })?;
                deleting.push(c);
            }
            // The wave is gone before the next starts.
            let since = cluster.now();
            loop {
                let mut still = Vec::new();
                for c in deleting {
                    if cluster.get(&c.key).ok().flatten().is_some() {
                        still.push(c);
                    } else {
                        pruned.push(Pruned {
                            object: c.object.clone(),
                            gone_after: cluster.now() - start,
                            gone: true,
                            wave: w + 1,
                        });
                    }
                }
                deleting = still;
                if deleting.is_empty() {
                    break;
                }
                if cluster.now() - since >= settings.object_timeout {
                    for c in &deleting {
                        pruned.push(Pruned {
                            object: c.object.clone(),
                            gone_after: cluster.now() - start,
                            gone: false,
                            wave: w + 1,
                        });
                    }
                    break;
                }
                cluster.sleep(settings.poll);
            }
        }
        // 4. The parent now covers exactly this plan.
        write_parent(cluster, inv, &new_kinds, &new_ns)?;
    }
    let took = cluster.now() - start;
    let outcomes = order
        .into_iter()
        .filter_map(|k| outcomes.remove(&k))
        .collect();
    Ok(Report {
        outcomes,
        pruned,
        kept,
        prune_skipped,
        took,
        waves: plan.waves.len(),
    })
}

/// A field whose live value is not what the repository applies.
#[derive(Clone, Debug, Serialize)]
pub struct Drift {
    pub object: String,
    pub path: String,
    pub live: Option<String>,
    pub desired: Option<String>,
    /// The managers that own the field live (who changed it).
    pub changed_by: Vec<String>,
}

/// Drift of every desired object: what a new apply would change. Objects missing from the
/// cluster are drift too.
pub fn drift(cluster: &mut dyn Cluster, plan: &Plan) -> Vec<Drift> {
    let mut out = Vec::new();
    for c in plan.waves.iter().flatten() {
        let Some(desired) = &c.desired else { continue };
        let live = cluster.get(&c.key).ok().flatten();
        let Some(live) = live else {
            out.push(Drift {
                object: c.object.clone(),
                path: String::new(),
                live: None,
                desired: Some("(the object)".into()),
                changed_by: Vec::new(),
            });
            continue;
        };
        let Ok(next) = cluster.apply(
            desired,
            &ApplyOptions {
                manager: plan::MANAGER.into(),
                force: true,
                dry_run: true,
            },
        ) else {
            continue;
        };
        for f in plan::diff(&c.key, &live, &next) {
            let managers: Vec<String> = live
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|m| m.get("manager").and_then(Value::as_str) != Some(plan::MANAGER))
                .filter(|m| {
                    m.get("fields").and_then(Value::as_array).is_some_and(|fs| {
                        fs.iter()
                            .any(|x| x.as_str().is_some_and(|s| f.path.starts_with(s)))
                    })
                })
                .filter_map(|m| m.get("manager").and_then(Value::as_str).map(str::to_string))
                .collect();
            out.push(Drift {
                object: c.object.clone(),
                path: f.path,
                live: f.before,
                desired: f.after,
                changed_by: managers,
            });
        }
    }
    out
}

/// Kinds the input uses whose CRDs it does not hold: a cluster must already serve them.
pub fn kinds_without_crds(objects: &[crate::object::Object]) -> Vec<(String, String, bool)> {
    let defined: BTreeSet<(String, String)> = objects
        .iter()
        .filter(|o| o.key.kind == "CustomResourceDefinition")
        .filter_map(|o| {
            Some((
                o.value.pointer("/spec/group")?.as_str()?.to_string(),
                o.value.pointer("/spec/names/kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let builtin = crate::schema::catalog::Catalog::builtin();
    let mut out: BTreeMap<(String, String), bool> = BTreeMap::new();
    for o in objects {
        let k = &o.key;
        if defined.contains(&(k.group.clone(), k.kind.clone()))
            || builtin.namespaced(&k.group, &k.kind).is_some()
        {
            continue;
        }
        out.entry((o.api_version.clone(), k.kind.clone()))
            .or_insert(!k.namespace.is_empty());
    }
    out.into_iter().map(|((a, k), n)| (a, k, n)).collect()
}

/// The live object for a key, if any (for reports).
pub fn live(cluster: &mut dyn Cluster, v: &Value) -> Option<Value> {
    cluster.get(&key_of(v)).ok().flatten()
}
