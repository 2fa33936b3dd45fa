//! Server-side apply: who owns which field ([`Managed`]), applying a manager's configuration
//! (conflicts with other managers' fields unless forced, fields the manager stopped applying
//! removed when nobody else owns them, the configuration merged by the schema), and updates by
//! other managers taking over the fields they change.

use super::fields::{self, FieldSet, Path, Schema};
use super::strip_meta_for_fields;
use crate::cluster::{ApiError, Millis, rfc3339};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

/// One managedFields entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Managed {
    pub manager: String,
    pub operation: Operation,
    /// `""`, or `status`, `scale`.
    pub subresource: String,
    pub api_version: String,
    pub fields: FieldSet,
    pub time: Millis,
}

impl Managed {
    /// As `metadata.managedFields` shows it, with `fieldsV1` written as the paths a conflict
    /// names (kiln's reports read this form; kubectl's wire format is another stage's concern).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": match self.operation { Operation::Apply => "Apply", Operation::Update => "Update" },
            "apiVersion": self.api_version,
            "time": rfc3339(self.time),
            "fields": self.fields.iter().map(|p| fields::Display(p).to_string()).collect::<Vec<_>>(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    fn same_identity(&self, manager: &str, operation: Operation, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    /// How a conflict names this manager: `"mgr"`, `"kubectl" with subresource "scale" using
    /// apps/v1`, `"hpa" using apps/v1` (Update managers name their API version).
    fn conflict_name(&self) -> String {
        let mut s = format!("\"{}\"", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource \"{}\"", self.subresource));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// The result of an apply.
pub struct Applied {
    pub object: Value,
    pub managed: Vec<Managed>,
}

fn conflict_message(conflicts: &[(String, Path)]) -> String {
    let n = conflicts.len();
    let managers: std::collections::BTreeSet<&str> =
        conflicts.iter().map(|(m, _)| m.as_str()).collect();
    if n == 1 {
        let (m, p) = &conflicts[0];
        return format!(
            "Apply failed with 1 conflict: conflict with {m}: {}",
            fields::Display(p)
        );
    }
    let mut s = format!("Apply failed with {n} conflicts: ");
    if managers.len() == 1 {
        s.push_str(&format!("conflicts with {}:", conflicts[0].0));
        for (_, p) in conflicts {
            s.push_str(&format!("\n- {}", fields::Display(p)));
        }
    } else {
        let parts: Vec<String> = conflicts
            .iter()
            .map(|(m, p)| format!("conflict with {m}: {}", fields::Display(p)))
            .collect();
        s.push_str(&parts.join("\n"));
    }
    s
}

/// Applies `config` as `manager` over `live` (Null when creating).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    previous: &[Managed],
    live: &Value,
    config: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    now: Millis,
    schema: Schema,
) -> Result<Applied, ApiError> {
    let cfg = strip_meta_for_fields(config);
    let applied = fields::field_set(&cfg, schema);
    let live_fields = strip_meta_for_fields(live);
    // The object as this configuration would leave it, before removals.
    let merged_cfg = fields::merge(&live_fields, &cfg, schema);
    let changed = fields::changed(&live_fields, &merged_cfg, schema);
    let mut managed: Vec<Managed> = previous.to_vec();
    // Conflicts: fields another manager owns whose value this apply changes.
    let mut conflicts: Vec<(String, Path)> = Vec::new();
    for m in managed
        .iter()
        .filter(|m| !m.same_identity(manager, Operation::Apply, ""))
    {
        for p in m.fields.iter() {
            if applied.contains(p) && changed.contains(p) {
                conflicts.push((m.conflict_name(), p.clone()));
            }
        }
    }
    conflicts.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    conflicts.dedup();
    if !conflicts.is_empty() {
        if !force {
            return Err(ApiError::conflict(conflict_message(&conflicts)));
        }
        // Forced: the others lose the fields.
        for m in managed
            .iter_mut()
            .filter(|m| !m.same_identity(manager, Operation::Apply, ""))
        {
            m.fields.retain(|p| !conflicts.iter().any(|(_, c)| c == p));
        }
    }
    // Fields this manager applied before and no longer does, that nobody else owns, go.
    let before: FieldSet = managed
        .iter()
        .find(|m| m.same_identity(manager, Operation::Apply, ""))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    let others: FieldSet = managed
        .iter()
        .filter(|m| !m.same_identity(manager, Operation::Apply, ""))
        .flat_map(|m| m.fields.iter().cloned())
        .collect();
    let mut object = if live.is_null() {
        json!({})
    } else {
        live.clone()
    };
    let dropped: Vec<&Path> = before
        .iter()
        .filter(|p| {
            !applied.iter().any(|a| fields::under(a, p))
                && !others.iter().any(|o| fields::under(o, p))
        })
        .collect();
    // An item still holding fields others own stays (without this manager's fields), and
    // keeps its key fields: they are its identity. Shallowest first: a removed item takes
    // its fields with it.
    let mut dropped: Vec<&Path> = dropped.into_iter().filter(|p| !is_key_field(p)).collect();
    dropped.sort_by_key(|p| p.len());
    for p in dropped {
        fields::remove(&mut object, p, schema);
    }
    let mut object = fields::merge(&object, config, schema);
    // Maps emptied by removals disappear, as they do from a typed object.
    prune_empty(&mut object, 0);
    // Ownership: this manager's Apply entry is exactly what it applied.
    managed.retain(|m| !m.same_identity(manager, Operation::Apply, ""));
    let entry = Managed {
        manager: manager.into(),
        operation: Operation::Apply,
        subresource: String::new(),
        api_version: api_version.into(),
        fields: applied.clone(),
        time: now,
    };
    let keep_time = previous
        .iter()
        .find(|m| m.same_identity(manager, Operation::Apply, ""))
        .filter(|m| m.fields == applied)
        .map(|m| m.time);
    managed.push(Managed {
        time: keep_time.unwrap_or(now),
        ..entry
    });
    managed.retain(|m| !m.fields.is_empty());
    managed.sort_by(|a, b| {
        (a.operation, &a.manager, &a.subresource).cmp(&(b.operation, &b.manager, &b.subresource))
    });
    Ok(Applied { object, managed })
}

/// A key field of an associative list's item (`containers[name="a"].name`).
fn is_key_field(p: &Path) -> bool {
    match p.as_slice() {
        [.., fields::Seg::Key(kv), fields::Seg::Field(f)] => kv.iter().any(|(k, _)| k == f),
        _ => false,
    }
}

fn prune_empty(v: &mut Value, depth: usize) {
    if let Value::Object(m) = v {
        for c in m.values_mut() {
            prune_empty(c, depth + 1);
        }
        if depth >= 1 {
            m.retain(|k, c| {
                !(c.as_object().is_some_and(|o| o.is_empty())
                    && k != "securityContext"
                    && k != "resources"
                    && k != "emptyDir")
            });
        }
    }
}

/// An Update by `manager`: it takes the fields whose values it changed.
#[allow(clippy::too_many_arguments)]
pub fn update(
    previous: &[Managed],
    before: &Value,
    after: &Value,
    manager: &str,
    subresource: &str,
    api_version: &str,
    now: Millis,
    schema: Schema,
) -> Vec<Managed> {
    let changed = fields::changed(
        &strip_meta_for_fields(before),
        &strip_meta_for_fields(after),
        schema,
    );
    let present = fields::field_set(&strip_meta_for_fields(after), schema);
    let mut managed: Vec<Managed> = previous.to_vec();
    for m in managed.iter_mut() {
        m.fields.retain(|p| !changed.contains(p));
    }
    let mut mine: FieldSet = changed
        .into_iter()
        .filter(|p| present.contains(p))
        .collect();
    // Maps the update created are its own too (`f:status: {".": {}}`).
    let before_maps = fields::map_nodes(&strip_meta_for_fields(before), schema);
    mine.extend(
        fields::map_nodes(&strip_meta_for_fields(after), schema)
            .into_iter()
            .filter(|p| !before_maps.contains(p)),
    );
    match managed
        .iter_mut()
        .find(|m| m.same_identity(manager, Operation::Update, subresource))
    {
        Some(m) => {
            m.fields.extend(mine);
            m.time = now;
        }
        None => managed.push(Managed {
            manager: manager.into(),
            operation: Operation::Update,
            subresource: subresource.into(),
            api_version: api_version.into(),
            fields: mine,
            time: now,
        }),
    }
    managed.retain(|m| !m.fields.is_empty());
    managed.sort_by(|a, b| {
        (a.operation, &a.manager, &a.subresource).cmp(&(b.operation, &b.manager, &b.subresource))
    });
    managed
}

/// Drops owned paths that no longer exist in the object.
pub fn prune_missing(managed: Vec<Managed>, object: &Value, schema: Schema) -> Vec<Managed> {
    let obj = strip_meta_for_fields(object);
    managed
        .into_iter()
        .map(|mut m| {
            // `stringData` is never stored, yet its appliers keep owning it (as on a real server).
            m.fields.retain(|p| {
                fields::get(&obj, p, schema).is_some()
                    || p.first() == Some(&fields::Seg::Field("stringData".into()))
            });
            m
        })
        .filter(|m| !m.fields.is_empty())
        .collect()
}
