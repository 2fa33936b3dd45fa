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
use crate::util::Pointer;
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
    /// Retries of a transient error (429, 5xx) per write, waiting as the server asks
    /// (`Retry-After`) or doubling from one second.
    pub retries: u32,
    /// Take fields other managers own; without it a conflict stops the object and names the
    /// managers and fields.
    pub force: bool,
    /// Delete and create again any object whose change the API server refuses in place (an
    /// immutable field); without it only objects annotated
    /// `kustomize.toolkit.fluxcd.io/force: enabled` are.
    pub force_recreate: bool,
    /// Writes in flight at once within a wave (never across a dependency edge).
    pub concurrency: usize,
}

impl Default for Settings {
    /// As Flux's kustomize-controller applies: forcing conflicts.
    fn default() -> Settings {
        Settings {
            object_timeout: 300_000,
            total_timeout: 3_600_000,
            poll: 2_000,
            prune: true,
            retries: 3,
            force: true,
            force_recreate: false,
            concurrency: 8,
        }
    }
}

/// Something that happened while applying, as it happened (the progress display and
/// `--output json` read these). `elapsed` is milliseconds since the apply started.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    /// A wave starts: `objects` to apply (or wait for).
    #[serde(rename_all = "camelCase")]
    Wave {
        wave: usize,
        waves: usize,
        objects: usize,
        elapsed: Millis,
    },
    /// Fields `kubectl apply` (client-side) managed became kiln's.
    #[serde(rename_all = "camelCase")]
    TakenOver {
        object: String,
        from: Vec<String>,
        elapsed: Millis,
    },
    /// Written (or, `unchanged`, left as it was).
    #[serde(rename_all = "camelCase")]
    Applied {
        object: String,
        action: Action,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        replaced: bool,
        elapsed: Millis,
    },
    /// A transient error; the write is tried again after `wait` milliseconds.
    #[serde(rename_all = "camelCase")]
    Retrying {
        object: String,
        error: String,
        wait: Millis,
        elapsed: Millis,
    },
    /// What the wave still waits for, each poll.
    #[serde(rename_all = "camelCase")]
    Waiting {
        wave: usize,
        pending: Vec<Pending>,
        elapsed: Millis,
    },
    #[serde(rename_all = "camelCase")]
    Ready { object: String, elapsed: Millis },
    #[serde(rename_all = "camelCase")]
    Failed {
        object: String,
        error: String,
        elapsed: Millis,
    },
    /// Not applied: something it waits for failed.
    #[serde(rename_all = "camelCase")]
    Skipped {
        object: String,
        blocked_by: Vec<String>,
        elapsed: Millis,
    },
    #[serde(rename_all = "camelCase")]
    Deleting {
        object: String,
        wave: usize,
        elapsed: Millis,
    },
    #[serde(rename_all = "camelCase")]
    Gone { object: String, elapsed: Millis },
    #[serde(rename_all = "camelCase")]
    PruneSkipped { reason: String, elapsed: Millis },
}

/// An object a wave waits for, and where it stands.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub object: String,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Milliseconds since it was written.
    pub waited: Millis,
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
    /// The server refused the delete: the object stays, and stays in the inventory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// Prunes the server refused.
    pub fn prune_failures(&self) -> Vec<&Pruned> {
        self.pruned.iter().filter(|p| p.error.is_some()).collect()
    }

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

/// How long to wait before try `attempt` (from 1) after `e`: what the server asked for, else
/// doubling from one second; never more than a minute.
fn backoff(e: &ApiError, attempt: u32) -> Millis {
    let doubling = 1_000u64 << (attempt.saturating_sub(1)).min(5);
    e.retry_after
        .map(|s| s.saturating_mul(1_000))
        .unwrap_or(doubling)
        .min(60_000)
}

fn write_with_retries<T>(
    cluster: &mut dyn Cluster,
    settings: &Settings,
    mut f: impl FnMut(&mut dyn Cluster) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let first = f(cluster);
    retry_after_error(cluster, settings, first, &mut |_, _, _| {}, &mut f)
}

/// Tries `f` again while `result` is a transient error and retries are left; `on_retry` hears
/// of each wait (the error, the wait, the time now).
fn retry_after_error<T>(
    cluster: &mut dyn Cluster,
    settings: &Settings,
    mut result: Result<T, ApiError>,
    on_retry: &mut dyn FnMut(&ApiError, Millis, Millis),
    f: &mut dyn FnMut(&mut dyn Cluster) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut attempt = 0;
    loop {
        match result {
            Err(e) if e.is_transient() && attempt < settings.retries => {
                attempt += 1;
                let wait = backoff(&e, attempt);
                on_retry(&e, wait, cluster.now());
                cluster.sleep(wait);
                result = f(cluster);
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
        p.at(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
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
    v.at(&format!(
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
                ..Default::default()
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
    apply_observed(cluster, plan, settings, &mut |_| {})
}

/// Why an object failed, with Secret values taken out of the server's words.
fn shown_error(e: &ApiError, c: &plan::Change) -> String {
    match &c.desired {
        Some(d) => plan::mask_secret_values(&e.to_string(), d),
        None => e.to_string(),
    }
}

/// Moves `kubectl apply`'s (client-side) fields to kiln before the object is applied, so a
/// field the repository no longer sets is removed. The live object is read for its
/// resourceVersion; a change in between is a conflict, tried again once.
fn take_over(cluster: &mut dyn Cluster, c: &plan::Change) -> Result<bool, ApiError> {
    let managers: Vec<&str> = c.take_over.iter().map(String::as_str).collect();
    let mut tries = 0;
    loop {
        let Some(live) = cluster.get(&c.key)? else {
            return Ok(false);
        };
        let rv = live
            .at("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match cluster.take_over(&c.key, &rv, &managers, plan::MANAGER) {
            Err(e) if e.code == 409 && tries == 0 => tries += 1,
            other => return other,
        }
    }
}

/// Applies a plan, telling `observe` what happens as it happens.
pub fn apply_observed(
    cluster: &mut dyn Cluster,
    plan: &Plan,
    settings: &Settings,
    observe: &mut dyn FnMut(Event),
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
    write_with_retries(cluster, settings, |cl| {
        write_parent(
            cl,
            inv,
            &old_kinds.union(&new_kinds).cloned().collect(),
            &old_ns.union(&new_ns).cloned().collect(),
        )
    })?;
    let options = ApplyOptions {
        manager: plan::MANAGER.into(),
        force: settings.force,
        dry_run: false,
    };
    // 2. Waves.
    let mut outcomes: BTreeMap<ObjectKey, Outcome> = BTreeMap::new();
    let mut bad: BTreeSet<String> = BTreeSet::new();
    let mut order: Vec<ObjectKey> = Vec::new();
    let waves = plan.waves.len();
    for (w, wave) in plan.waves.iter().enumerate() {
        let elapsed = |cl: &mut dyn Cluster| cl.now() - start;
        observe(Event::Wave {
            wave: w + 1,
            waves,
            objects: wave.len(),
            elapsed: elapsed(cluster),
        });
        // (the plan's key, the key the server stored it under, when it was written)
        let mut waiting: Vec<(ObjectKey, ObjectKey, Millis)> = Vec::new();
        let mut writes: Vec<&plan::Change> = Vec::new();
        for c in wave {
            order.push(c.key.clone());
            if let Some(reason) = &c.refused {
                bad.insert(c.object.clone());
                outcomes.insert(c.key.clone(), Outcome::of(c, Some(reason.clone())));
                observe(Event::Failed {
                    object: c.object.clone(),
                    error: reason.clone(),
                    elapsed: elapsed(cluster),
                });
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
                observe(Event::Skipped {
                    object: c.object.clone(),
                    blocked_by: blocked.clone(),
                    elapsed: elapsed(cluster),
                });
                let skipped = Outcome {
                    message: "not applied: a dependency failed".into(),
                    blocked_by: blocked,
                    ..Outcome::of(c, None)
                };
                outcomes.insert(c.key.clone(), skipped);
                continue;
            }
            if c.desired.is_none() {
                continue;
            }
            if !c.take_over.is_empty() {
                match take_over(cluster, c) {
                    Ok(true) => observe(Event::TakenOver {
                        object: c.object.clone(),
                        from: c.take_over.clone(),
                        elapsed: elapsed(cluster),
                    }),
                    Ok(false) => {}
                    Err(e) => {
                        let shown = shown_error(&e, c);
                        bad.insert(c.object.clone());
                        observe(Event::Failed {
                            object: c.object.clone(),
                            error: shown.clone(),
                            elapsed: elapsed(cluster),
                        });
                        outcomes.insert(c.key.clone(), Outcome::of(c, Some(shown)));
                        continue;
                    }
                }
            }
            if c.action == Action::Unchanged && c.take_over.is_empty() {
                // Nothing to write; an earlier run may still have left it short of ready.
                observe(Event::Applied {
                    object: c.object.clone(),
                    action: c.action,
                    replaced: false,
                    elapsed: elapsed(cluster),
                });
                // The plan's keys are the stored ones (scopes from discovery).
                waiting.push((c.key.clone(), c.key.clone(), cluster.now()));
                outcomes.insert(
                    c.key.clone(),
                    Outcome {
                        status: Status::InProgress,
                        ..Outcome::of(c, None)
                    },
                );
                continue;
            }
            writes.push(c);
        }
        // The wave's writes, `concurrency` in flight at once.
        let objects: Vec<&Value> = writes.iter().filter_map(|c| c.desired.as_ref()).collect();
        let results = cluster.apply_all(&objects, &options, settings.concurrency);
        for (c, result) in writes.into_iter().zip(results) {
            let desired = c.desired.as_ref().expect("writes have objects");
            let mut result = retry_after_error(
                cluster,
                settings,
                result,
                &mut |e, wait, now| {
                    observe(Event::Retrying {
                        object: c.object.clone(),
                        error: shown_error(e, c),
                        wait,
                        elapsed: now - start,
                    })
                },
                &mut |cl| cl.apply(desired, &options),
            );
            let mut replaced = None;
            // Flux's force: an object the API server refuses to change in place is replaced.
            if let Err(e) = &result
                && e.code == 422
                && (settings.force_recreate || forced(desired))
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
                    observe(Event::Applied {
                        object: c.object.clone(),
                        action: c.action,
                        replaced: replaced.is_some(),
                        elapsed: at,
                    });
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
                    let shown = shown_error(&e, c);
                    observe(Event::Failed {
                        object: c.object.clone(),
                        error: shown.clone(),
                        elapsed: cluster.now() - start,
                    });
                    outcomes.insert(c.key.clone(), Outcome::of(c, Some(shown)));
                }
            }
        }
        // Wait for the wave (what is still waited for read `concurrency` at a time).
        loop {
            let mut pending = Vec::new();
            let open: Vec<&(ObjectKey, ObjectKey, Millis)> = waiting
                .iter()
                .filter(|(k, _, _)| {
                    let o = &outcomes[k];
                    !(matches!(o.status, Status::Current | Status::Failed) || o.error.is_some())
                })
                .collect();
            let keys: Vec<&ObjectKey> = open.iter().map(|(_, live_key, _)| live_key).collect();
            let lives = cluster.get_all(&keys, settings.concurrency);
            for ((k, _, since), live) in open.into_iter().zip(lives) {
                let o = outcomes.get_mut(k).expect("applied");
                let live = live.ok().flatten();
                let r = status::compute(live.as_ref());
                o.status = r.status;
                o.message = r.message;
                let elapsed = cluster.now() - start;
                match r.status {
                    Status::Current => {
                        o.ready_after = Some(elapsed);
                        observe(Event::Ready {
                            object: o.object.clone(),
                            elapsed,
                        });
                    }
                    Status::Failed => {
                        bad.insert(o.object.clone());
                        observe(Event::Failed {
                            object: o.object.clone(),
                            error: o.message.clone(),
                            elapsed,
                        });
                    }
                    _ => {
                        if cluster.now() - since >= settings.object_timeout
                            || cluster.now() - start >= settings.total_timeout
                        {
                            let error = format!(
                                "timed out after {} s waiting to be Current ({})",
                                (cluster.now() - since) / 1000,
                                o.message
                            );
                            observe(Event::Failed {
                                object: o.object.clone(),
                                error: error.clone(),
                                elapsed,
                            });
                            o.error = Some(error);
                            bad.insert(o.object.clone());
                        } else {
                            pending.push(Pending {
                                object: o.object.clone(),
                                status: o.status,
                                message: o.message.clone(),
                                waited: cluster.now() - since,
                            });
                        }
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            observe(Event::Waiting {
                wave: w + 1,
                pending,
                elapsed: cluster.now() - start,
            });
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
    if let Some(reason) = &prune_skipped
        && plan
            .prune
            .iter()
            .flatten()
            .any(|c| c.action == Action::Delete)
    {
        observe(Event::PruneSkipped {
            reason: reason.clone(),
            elapsed: cluster.now() - start,
        });
    }
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
                    l.at(&format!(
                        "/metadata/labels/{}",
                        plan::PART_OF.replace('/', "~1")
                    ))
                    .and_then(Value::as_str)
                        == Some(inv.id.as_str())
                });
                if !member {
                    continue;
                }
                observe(Event::Deleting {
                    object: c.object.clone(),
                    wave: w + 1,
                    elapsed: cluster.now() - start,
                });
                // Only the object read above: not one created again under its name since.
                let uid = live
                    .as_ref()
                    .and_then(|l| l.at("/metadata/uid"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let deleted = write_with_retries(cluster, settings, |cl| {
                    cl.delete(
                        &c.key,
                        &DeleteOptions {
                            propagation: Propagation::Background,
                            uid: uid.clone(),
                            ..Default::default()
                        },
                    )
                });
                match deleted {
                    Ok(_) => deleting.push(c),
                    Err(e) => {
                        observe(Event::Failed {
                            object: c.object.clone(),
                            error: e.to_string(),
                            elapsed: cluster.now() - start,
                        });
                        pruned.push(Pruned {
                            object: c.object.clone(),
                            gone_after: cluster.now() - start,
                            gone: false,
                            wave: w + 1,
                            error: Some(e.to_string()),
                        });
                    }
                }
            }
            // The wave is gone before the next starts.
            let since = cluster.now();
            loop {
                let mut still = Vec::new();
                for c in deleting {
                    if cluster.get(&c.key).ok().flatten().is_some() {
                        still.push(c);
                    } else {
                        observe(Event::Gone {
                            object: c.object.clone(),
                            elapsed: cluster.now() - start,
                        });
                        pruned.push(Pruned {
                            object: c.object.clone(),
                            gone_after: cluster.now() - start,
                            gone: true,
                            wave: w + 1,
                            error: None,
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
                            error: None,
                        });
                    }
                    break;
                }
                cluster.sleep(settings.poll);
            }
        }
        // 4. The parent now covers exactly this plan, unless a delete failed: then it keeps
        //    covering what it did, so that the next run still finds the object to prune.
        if pruned.iter().all(|p| p.error.is_none()) {
            write_with_retries(cluster, settings, |cl| {
                write_parent(cl, inv, &new_kinds, &new_ns)
            })?;
        }
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

/// Drift of every desired object, read from a plan made against the live state: what a new
/// apply would change, with the managers that own each changed field now. Objects missing from
/// the cluster are drift too.
pub fn drift(plan: &Plan) -> Vec<Drift> {
    let mut out = Vec::new();
    for c in plan.waves.iter().flatten() {
        if c.desired.is_none() {
            continue;
        }
        match c.action {
            Action::Create => out.push(Drift {
                object: c.object.clone(),
                path: String::new(),
                live: None,
                desired: Some("(the object)".into()),
                changed_by: Vec::new(),
            }),
            Action::Update => {
                for f in &c.fields {
                    out.push(Drift {
                        object: c.object.clone(),
                        path: f.path.clone(),
                        live: f.before.clone(),
                        desired: f.after.clone(),
                        changed_by: f.owners.clone(),
                    });
                }
            }
            _ => {}
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
                o.value.at("/spec/group")?.as_str()?.to_string(),
                o.value.at("/spec/names/kind")?.as_str()?.to_string(),
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
