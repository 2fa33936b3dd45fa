//! `kiln test` scenarios: a YAML file of steps run against one simulated cluster (apply a
//! directory or a Git revision of it, wait, inject a fault, change a live object as another
//! field manager, scale, delete, look at drift, correct it, roll back) and expectations checked
//! along the way (statuses, failures and what they blocked, apply and prune order, drift, live
//! fields, events, rollback problems). The run gives a transcript a reviewer reads and a
//! snapshot test compares. The format is documented in the README.
//!
//! Parsing reports malformed files as `scenario-invalid` diagnostics with file, line and
//! column; running never fails on what the scenario finds, it records it.

use super::{Desired, Session, Step, StepKind, parse_duration, parse_fault, render_step, seconds};
use crate::apply::{Drift, Settings};
use crate::cluster::sim::{Fault, SimConfig};
use crate::cluster::{Cluster, DeleteOptions, Millis, Propagation};
use crate::diag::{Code, Diagnostic, Location, TextRange};
use crate::object::ObjectKey;
use crate::object::reference::{KindNames, ObjectRef};
use crate::pipeline::{self, Input};
use crate::plan::Inventory;
use crate::render::{Mode, flux};
use crate::status::{self, Status};
use crate::syntax::{Limits, SpanTree};
use crate::util::Pointer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Something at a line of the scenario file.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub enum Instruction {
    /// Apply a directory (relative to the scenario file), or a Git revision of it.
    Apply {
        dir: PathBuf,
        rev: Option<String>,
        label: String,
    },
    Rollback,
    Correct,
    Wait(Millis),
    Fault(Fault),
    /// Change a live object as another field manager (an Update, as `kubectl edit` does):
    /// JSON pointers to values, `null` removes.
    Edit {
        object: String,
        manager: String,
        set: Vec<(String, Value)>,
    },
    /// Set replicas through the scale subresource (as `kubectl scale` or an autoscaler does).
    Scale {
        object: String,
        replicas: i64,
        manager: String,
    },
    Delete {
        object: String,
        propagation: Propagation,
    },
    Drift,
    Expect(Vec<Located<Expectation>>),
}

/// A drift the scenario expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDrift {
    pub object: String,
    pub path: String,
    pub changed_by: Option<String>,
}

/// One thing a scenario expects.
#[derive(Clone, Debug)]
pub enum Expectation {
    /// The live object's kstatus.
    /// `status:`: a kstatus status of the live object, or `Skipped` / `Error` for its outcome
    /// in the last apply (the words `kiln sim` reports).
    Status(String, &'static str),
    /// The last apply failed this object, with an error or message containing the text.
    Failed(String, String),
    /// The last apply skipped this object because of exactly these.
    Blocked(String, Vec<String>),
    /// In the last apply, each object was Current before the next was applied.
    Order(Vec<String>),
    /// The last apply pruned exactly these, wave by wave (each wave gone before the next
    /// started; within a wave, any order).
    Pruned(Vec<Vec<String>>),
    /// Drift now is exactly this (empty: none).
    Drift(Vec<ExpectedDrift>),
    /// A live object's field (JSON pointer) has this value.
    Field(String, String, Value),
    Absent(String),
    Present(String),
    /// The cluster recorded an event of this reason for the object.
    Event(String, String),
    /// The last step's problems include one containing the text.
    Problem(String),
    NoProblems,
    /// What rolling back from the last step would meet includes this text.
    RollbackRisk(String),
    NoRollbackRisks,
    /// Whether the last apply left something broken.
    StepFailed(bool),
}

/// A parsed scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file, as the user named it.
    pub file: PathBuf,
    pub name: String,
    pub about: Option<String>,
    pub config: SimConfig,
    pub settings: Settings,
    pub inventory: Inventory,
    pub flux: Option<String>,
    pub sources: BTreeMap<String, String>,
    pub steps: Vec<Located<Instruction>>,
}

struct Parser<'a> {
    path: String,
    text: &'a str,
    spans: &'a SpanTree,
    diags: Vec<Diagnostic>,
    dir: PathBuf,
}

impl Parser<'_> {
    fn location(&self, pointer: &str) -> Location {
        let Some(found) = self.spans.find(pointer) else {
            return Location::file(&self.path);
        };
        let span = found.key.filter(|_| found.exact).unwrap_or(found.value);
        let (start, end) = (span.start as usize, span.end as usize);
        let (line, column) = line_col(self.text, start);
        let (end_line, end_column) = line_col(self.text, end);
        Location {
            path: self.path.clone(),
            range: Some(TextRange {
                start,
                end,
                line,
                column,
                end_line,
                end_column,
            }),
        }
    }

    fn line(&self, pointer: &str) -> usize {
        self.location(pointer).range.map(|r| r.line).unwrap_or(0)
    }

    fn error(&mut self, pointer: &str, message: impl Into<String>, label: &str) {
        let d = Diagnostic::new(Code::ScenarioInvalid, message)
            .at(self.location(pointer), label)
            .help("the scenario format is described in the README, section \"Scenarios\"");
        self.diags.push(d);
    }

    /// The keys of a mapping, refusing unknown ones.
    fn map<'v>(
        &mut self,
        v: &'v Value,
        pointer: &str,
        what: &str,
        allowed: &[&str],
    ) -> Option<&'v serde_json::Map<String, Value>> {
        let Some(m) = v.as_object() else {
            self.error(
                pointer,
                format!("{what} must be a mapping"),
                "expected a mapping",
            );
            return None;
        };
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                let p = format!("{pointer}/{}", escape(k));
                self.error(
                    &p,
                    format!(
                        "unknown field `{k}` in {what}; expected one of: {}",
                        allowed.join(", ")
                    ),
                    "unknown field",
                );
            }
        }
        Some(m)
    }

    fn string(&mut self, v: Option<&Value>, pointer: &str, what: &str) -> Option<String> {
        match v {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(
                    pointer,
                    format!("{what} must be a string"),
                    "expected a string",
                );
                None
            }
            None => {
                self.error(pointer, format!("{what} is required"), "missing here");
                None
            }
        }
    }

    fn duration(&mut self, v: &Value, pointer: &str, what: &str) -> Option<Millis> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.as_u64() == Some(0) => "0".into(),
            _ => {
                self.error(
                    pointer,
                    format!("{what} must be a duration such as 30s"),
                    "expected a duration",
                );
                return None;
            }
        };
        match parse_duration(&text) {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.error(pointer, format!("{what}: {e}"), "not a duration");
                None
            }
        }
    }

    fn object_list(&mut self, v: &Value, pointer: &str, what: &str) -> Vec<String> {
        match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => {
                self.error(
                    pointer,
                    format!("{what} must be a list of objects (Kind/namespace/name)"),
                    "expected a list of strings",
                );
                Vec::new()
            }
        }
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map(|i| before.len() - i)
        .unwrap_or(before.len() + 1);
    (line, column)
}

/// Reads a scenario file. Problems come back as diagnostics (and no scenario).
pub fn parse(file: &Path) -> Result<Scenario, Vec<Diagnostic>> {
    let path = file.to_string_lossy().into_owned();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![
                Diagnostic::new(Code::ScenarioInvalid, format!("cannot read {path}: {e}"))
                    .at(Location::file(&path), "here"),
            ]);
        }
    };
    let parsed = crate::syntax::parse(&text, &Limits::default(), &|span| {
        let (line, column) = line_col(&text, span.start as usize);
        let (end_line, end_column) = line_col(&text, span.end as usize);
        Location {
            path: path.clone(),
            range: Some(TextRange {
                start: span.start as usize,
                end: span.end as usize,
                line,
                column,
                end_line,
                end_column,
            }),
        }
    });
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    let Some(doc) = parsed.documents.into_iter().next() else {
        return Err(vec![
            Diagnostic::new(Code::ScenarioInvalid, format!("{path} is empty"))
                .at(Location::file(&path), "no steps"),
        ]);
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut p = Parser {
        path: path.clone(),
        text: &text,
        spans: &doc.spans,
        diags: Vec::new(),
        dir,
    };
    let scenario = parse_scenario(&mut p, &doc.value, file);
    match scenario {
        Some(s) if p.diags.is_empty() => Ok(s),
        _ => Err(p.diags),
    }
}

fn parse_scenario(p: &mut Parser, v: &Value, file: &Path) -> Option<Scenario> {
    let top = p.map(
        v,
        "",
        "a scenario",
        &["name", "about", "cluster", "apply", "render", "steps"],
    )?;
    let name = match top.get("name") {
        Some(_) => p
            .string(top.get("name"), "/name", "`name`")
            .unwrap_or_default(),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let about = top
        .get("about")
        .and_then(|a| p.string(Some(a), "/about", "`about`"));
    let mut config = SimConfig::default();
    if let Some(c) = top.get("cluster") {
        let fields = [
            "seed",
            "nodes",
            "tick",
            "crdEstablish",
            "podReady",
            "jobComplete",
            "pvcBind",
            "namespaceFinalize",
            "loadBalancer",
            "storageClasses",
        ];
        if let Some(m) = p.map(c, "/cluster", "`cluster`", &fields) {
            for (k, val) in m {
                let ptr = format!("/cluster/{k}");
                match k.as_str() {
                    "seed" | "nodes" => match val.as_u64() {
                        Some(n) if k == "seed" => config.seed = n,
                        Some(n) => config.nodes = n.min(1000) as u32,
                        None => p.error(
                            &ptr,
                            format!("`{k}` must be a whole number"),
                            "expected a number",
                        ),
                    },
                    "storageClasses" => {
                        config.storage_classes = p.object_list(val, &ptr, "`storageClasses`")
                    }
                    _ => {
                        if let Some(ms) = p.duration(val, &ptr, &format!("`{k}`")) {
                            match k.as_str() {
                                "tick" => config.tick = ms.max(1),
                                "crdEstablish" => config.crd_establish = ms,
                                "podReady" => config.pod_ready = ms,
                                "jobComplete" => config.job_complete = ms,
                                "pvcBind" => config.pvc_bind = ms,
                                "namespaceFinalize" => config.namespace_finalize = ms,
                                _ => config.load_balancer = ms,
                            }
                        }
                    }
                }
            }
        }
    }
    let mut settings = Settings::default();
    let mut inventory = Inventory::secret("default", "kiln");
    if let Some(a) = top.get("apply")
        && let Some(m) = p.map(
            a,
            "/apply",
            "`apply`",
            &[
                "timeout",
                "totalTimeout",
                "poll",
                "prune",
                "retries",
                "inventory",
            ],
        )
    {
        for (k, val) in m {
            let ptr = format!("/apply/{k}");
            match k.as_str() {
                "prune" => match val.as_bool() {
                    Some(b) => settings.prune = b,
                    None => p.error(&ptr, "`prune` must be true or false", "expected a boolean"),
                },
                "retries" => match val.as_u64() {
                    Some(n) => settings.retries = n.min(100) as u32,
                    None => p.error(
                        &ptr,
                        "`retries` must be a whole number",
                        "expected a number",
                    ),
                },
                "inventory" => {
                    if let Some(s) = p.string(Some(val), &ptr, "`inventory`") {
                        match s.split_once('/') {
                            Some((ns, name))
                                if !ns.is_empty() && !name.is_empty() && !name.contains('/') =>
                            {
                                inventory = Inventory::secret(ns, name)
                            }
                            _ => p.error(
                                &ptr,
                                "`inventory` is NAMESPACE/NAME (the ApplySet parent Secret)",
                                "expected NAMESPACE/NAME",
                            ),
                        }
                    }
                }
                _ => {
                    if let Some(ms) = p.duration(val, &ptr, &format!("`{k}`")) {
                        match k.as_str() {
                            "timeout" => settings.object_timeout = ms,
                            "totalTimeout" => settings.total_timeout = ms,
                            _ => settings.poll = ms.max(1),
                        }
                    }
                }
            }
        }
    }
    let (mut flux_entry, mut sources) = (None, BTreeMap::new());
    if let Some(r) = top.get("render")
        && let Some(m) = p.map(r, "/render", "`render`", &["flux", "sources"])
    {
        if let Some(f) = m.get("flux") {
            flux_entry = p.string(Some(f), "/render/flux", "`flux`");
        }
        if let Some(s) = m.get("sources") {
            match s.as_object() {
                Some(map) if map.values().all(Value::is_string) => {
                    sources = map
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect();
                }
                _ => p.error(
                    "/render/sources",
                    "`sources` maps a Flux source (KIND/NAMESPACE/NAME) to a directory",
                    "expected a mapping of strings",
                ),
            }
        }
    }
    let mut steps = Vec::new();
    match top.get("steps").and_then(Value::as_array) {
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                let ptr = format!("/steps/{i}");
                if let Some(step) = parse_step(p, item, &ptr) {
                    steps.push(Located {
                        line: p.line(&ptr),
                        value: step,
                    });
                }
            }
        }
        None => p.error("/steps", "a scenario needs `steps`, a list", "no steps"),
    }
    Some(Scenario {
        file: file.to_path_buf(),
        name,
        about,
        config,
        settings,
        inventory,
        flux: flux_entry,
        sources,
        steps,
    })
}

const STEPS: &[&str] = &[
    "apply", "rollback", "correct", "wait", "fault", "edit", "scale", "delete", "drift", "expect",
];

fn parse_step(p: &mut Parser, item: &Value, ptr: &str) -> Option<Instruction> {
    let m = p.map(item, ptr, "a step", STEPS)?;
    if m.len() != 1 {
        p.error(
            ptr,
            format!("a step has exactly one of: {}", STEPS.join(", ")),
            "one step per list item",
        );
        return None;
    }
    let (kind, body) = m.iter().next()?;
    if !STEPS.contains(&kind.as_str()) {
        // Already reported as an unknown field.
        return None;
    }
    let bp = format!("{ptr}/{kind}");
    let object = |p: &mut Parser, m: &serde_json::Map<String, Value>| {
        p.string(m.get("object"), &format!("{bp}/object"), "`object`")
    };
    Some(match kind.as_str() {
        "apply" => {
            let (dir, rev) = match body {
                Value::String(s) => (s.clone(), None),
                other => {
                    let m = p.map(other, &bp, "`apply`", &["path", "rev"])?;
                    let dir = p.string(m.get("path"), &format!("{bp}/path"), "`path`")?;
                    let rev = m
                        .get("rev")
                        .and_then(|r| p.string(Some(r), &format!("{bp}/rev"), "`rev`"));
                    (dir, rev)
                }
            };
            let full = p.dir.join(&dir);
            if !full.exists() {
                p.error(
                    &bp,
                    format!("`{dir}` does not exist (paths are relative to the scenario file)"),
                    "no such directory",
                );
                return None;
            }
            let label = match &rev {
                Some(r) => format!("{dir}@{r}"),
                None => dir.clone(),
            };
            Instruction::Apply {
                dir: full,
                rev,
                label,
            }
        }
        "rollback" | "correct" | "drift" => {
            if !(body.is_null() || body.as_object().is_some_and(|m| m.is_empty())) {
                p.error(
                    &bp,
                    format!("`{kind}` takes no settings (write `{kind}: {{}}`)"),
                    "unexpected value",
                );
            }
            match kind.as_str() {
                "rollback" => Instruction::Rollback,
                "correct" => Instruction::Correct,
                _ => Instruction::Drift,
            }
        }
        "wait" => Instruction::Wait(p.duration(body, &bp, "`wait`")?),
        "fault" => {
            let m = p.map(body, &bp, "`fault`", &["object", "fault"])?;
            let target = object(p, m)?;
            let what = p.string(m.get("fault"), &format!("{bp}/fault"), "`fault`")?;
            match parse_fault(&target, &what) {
                Ok(f) => Instruction::Fault(f),
                Err(e) => {
                    p.error(&bp, e, "not a fault");
                    return None;
                }
            }
        }
        "edit" => {
            let m = p.map(body, &bp, "`edit`", &["object", "manager", "set"])?;
            let target = object(p, m)?;
            let manager = m
                .get("manager")
                .and_then(|v| p.string(Some(v), &format!("{bp}/manager"), "`manager`"))
                .unwrap_or_else(|| "kubectl-edit".into());
            let set = match m.get("set").and_then(Value::as_object) {
                Some(s) if !s.is_empty() && s.keys().all(|k| k.starts_with('/')) => {
                    s.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                }
                _ => {
                    p.error(
                        &format!("{bp}/set"),
                        "`set` maps JSON pointers (/spec/replicas) to new values (null removes)",
                        "expected a mapping of pointers",
                    );
                    return None;
                }
            };
            Instruction::Edit {
                object: target,
                manager,
                set,
            }
        }
        "scale" => {
            let m = p.map(body, &bp, "`scale`", &["object", "replicas", "manager"])?;
            let target = object(p, m)?;
            let Some(replicas) = m
                .get("replicas")
                .and_then(Value::as_i64)
                .filter(|n| *n >= 0)
            else {
                p.error(
                    &format!("{bp}/replicas"),
                    "`replicas` must be a whole number",
                    "expected a number",
                );
                return None;
            };
            let manager = m
                .get("manager")
                .and_then(|v| p.string(Some(v), &format!("{bp}/manager"), "`manager`"))
                .unwrap_or_else(|| "kubectl".into());
            Instruction::Scale {
                object: target,
                replicas,
                manager,
            }
        }
        "delete" => {
            let m = p.map(body, &bp, "`delete`", &["object", "propagation"])?;
            let target = object(p, m)?;
            let propagation = match m.get("propagation").and_then(Value::as_str) {
                None | Some("background") => Propagation::Background,
                Some("foreground") => Propagation::Foreground,
                Some("orphan") => Propagation::Orphan,
                Some(other) => {
                    p.error(
                        &format!("{bp}/propagation"),
                        format!("`{other}` is not a propagation: background, foreground or orphan"),
                        "unknown",
                    );
                    return None;
                }
            };
            Instruction::Delete {
                object: target,
                propagation,
            }
        }
        _ => Instruction::Expect(parse_expect(p, body, &bp)?),
    })
}

fn parse_expect(p: &mut Parser, body: &Value, bp: &str) -> Option<Vec<Located<Expectation>>> {
    let kinds = [
        "status",
        "failed",
        "blocked",
        "order",
        "pruned",
        "drift",
        "fields",
        "absent",
        "present",
        "events",
        "problems",
        "rollback",
        "stepFailed",
    ];
    let m = p.map(body, bp, "`expect`", &kinds)?;
    let mut out = Vec::new();
    for (k, v) in m {
        let ptr = format!("{bp}/{k}");
        let line = p.line(&ptr);
        let mut push = |e: Expectation| out.push(Located { line, value: e });
        match k.as_str() {
            "status" => {
                for (obj, s) in v.as_object().into_iter().flatten() {
                    match s.as_str().and_then(status::word) {
                        Some(st) => push(Expectation::Status(obj.clone(), st)),
                        None => p.error(&format!("{ptr}/{}", escape(obj)), format!("a status is one of {}", status::WORDS.join(", ")), "unknown status"),
                    }
                }
                if !v.is_object() {
                    p.error(&ptr, "`status` maps objects to statuses", "expected a mapping");
                }
            }
            "failed" => match v.as_object() {
                Some(map) => {
                    for (obj, s) in map {
                        push(Expectation::Failed(obj.clone(), s.as_str().unwrap_or("").to_string()));
                    }
                }
                None => p.error(&ptr, "`failed` maps objects to a part of their error", "expected a mapping"),
            },
            "blocked" => match v.as_object() {
                Some(map) => {
                    for (obj, by) in map {
                        let by = p.object_list(by, &format!("{ptr}/{}", escape(obj)), "what blocked it");
                        push(Expectation::Blocked(obj.clone(), by));
                    }
                }
                None => p.error(&ptr, "`blocked` maps objects to the failed objects they waited for", "expected a mapping"),
            },
            "order" => push(Expectation::Order(p.object_list(v, &ptr, "`order`"))),
            "pruned" => {
                let mut waves = Vec::new();
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    match item {
                        Value::String(s) => waves.push(vec![s.clone()]),
                        other => waves.push(p.object_list(other, &format!("{ptr}/{i}"), "a prune wave")),
                    }
                }
                if !v.is_array() {
                    p.error(&ptr, "`pruned` is a list of prune waves: an object, or a list of objects deleted together", "expected a list");
                }
                push(Expectation::Pruned(waves));
            }
            "absent" => {
                for o in p.object_list(v, &ptr, "`absent`") {
                    push(Expectation::Absent(o));
                }
            }
            "present" => {
                for o in p.object_list(v, &ptr, "`present`") {
                    push(Expectation::Present(o));
                }
            }
            "drift" => {
                let mut drifts = Vec::new();
                for (i, d) in v.as_array().into_iter().flatten().enumerate() {
                    let dp = format!("{ptr}/{i}");
                    let Some(dm) = p.map(d, &dp, "a drift", &["object", "path", "changedBy"]) else { continue };
                    let (Some(object), Some(path)) = (p.string(dm.get("object"), &format!("{dp}/object"), "`object`"), p.string(dm.get("path"), &format!("{dp}/path"), "`path`")) else { continue };
                    let changed_by = dm.get("changedBy").and_then(|c| p.string(Some(c), &format!("{dp}/changedBy"), "`changedBy`"));
                    drifts.push(ExpectedDrift { object, path, changed_by });
                }
                if !v.is_array() {
                    p.error(&ptr, "`drift` is a list of {object, path, changedBy} (empty: no drift)", "expected a list");
                }
                push(Expectation::Drift(drifts));
            }
            "fields" => match v.as_object() {
                Some(map) => {
                    for (obj, fields) in map {
                        match fields.as_object() {
                            Some(f) if f.keys().all(|k| k.starts_with('/')) => {
                                for (pointer, value) in f {
                                    push(Expectation::Field(obj.clone(), pointer.clone(), value.clone()));
                                }
                            }
                            _ => p.error(&format!("{ptr}/{}", escape(obj)), "fields map JSON pointers (/spec/replicas) to values", "expected a mapping of pointers"),
                        }
                    }
                }
                None => p.error(&ptr, "`fields` maps objects to {pointer: value}", "expected a mapping"),
            },
            "events" => {
                for (i, e) in v.as_array().into_iter().flatten().enumerate() {
                    let ep = format!("{ptr}/{i}");
                    let Some(em) = p.map(e, &ep, "an event", &["object", "reason"]) else { continue };
                    if let (Some(o), Some(r)) = (p.string(em.get("object"), &format!("{ep}/object"), "`object`"), p.string(em.get("reason"), &format!("{ep}/reason"), "`reason`")) {
                        push(Expectation::Event(o, r));
                    }
                }
                if !v.is_array() {
                    p.error(&ptr, "`events` is a list of {object, reason}", "expected a list");
                }
            }
            "problems" => match v.as_array() {
                Some(items) if items.is_empty() => push(Expectation::NoProblems),
                Some(items) => {
                    for s in items {
                        push(Expectation::Problem(s.as_str().unwrap_or("").to_string()));
                    }
                }
                None => p.error(&ptr, "`problems` is a list of texts the last step's problems contain (empty: none)", "expected a list"),
            },
            "rollback" => match v.as_array() {
                Some(items) if items.is_empty() => push(Expectation::NoRollbackRisks),
                Some(items) => {
                    for s in items {
                        push(Expectation::RollbackRisk(s.as_str().unwrap_or("").to_string()));
                    }
                }
                None => p.error(&ptr, "`rollback` is a list of texts what rolling back would meet contains (empty: nothing)", "expected a list"),
            },
            _ => match v.as_bool() {
                Some(b) => push(Expectation::StepFailed(b)),
                None => p.error(&ptr, "`stepFailed` must be true or false", "expected a boolean"),
            },
        }
    }
    Some(out)
}

/// The result of running a scenario.
pub struct Outcome {
    /// What happened, step by step, with every check.
    pub transcript: String,
    pub passed: usize,
    pub failed: usize,
}

struct Runner<'s> {
    scenario: &'s Scenario,
    session: Session,
    out: String,
    n: usize,
    last: Option<Step>,
    passed: usize,
    failed: usize,
    /// Faults whose object did not exist when they were injected: (line, object).
    unchecked_faults: Vec<(usize, String)>,
}

impl Runner<'_> {
    fn check(&mut self, ok: bool, text: String) {
        if ok {
            self.passed += 1;
            let _ = writeln!(self.out, "  ok: {text}");
        } else {
            self.failed += 1;
            let _ = writeln!(self.out, "  FAILED: {text}");
        }
    }

    /// A live object, or one of the desired states, by a reference as kubectl or Flux write
    /// it (`Kind/namespace/name`, `Kind.group/...`, `deploy/name`...). A reference that names
    /// nothing (or several) says which objects are nearest.
    fn find(&self, text: &str) -> Result<ObjectKey, String> {
        let r = ObjectRef::parse(text, None).map_err(|e| e.to_string())?;
        let kinds = KindNames::builtin();
        let live: Vec<ObjectKey> = self.session.sim.objects().map(|(k, _)| k.clone()).collect();
        if let Ok(k) = r.resolve(live.iter(), &kinds) {
            return Ok(k.clone());
        }
        let known: BTreeSet<ObjectKey> = live
            .into_iter()
            .chain(
                self.session
                    .history
                    .iter()
                    .flat_map(|d| d.objects.iter().map(|o| o.key.clone())),
            )
            .collect();
        r.resolve(known.iter(), &kinds)
            .cloned()
            .map_err(|e| e.to_string())
    }

    fn resolve(&self, text: &str) -> Option<ObjectKey> {
        self.find(text).ok()
    }

    fn live(&mut self, text: &str) -> Option<Value> {
        let key = self.resolve(text)?;
        self.session.sim.get(&key).ok().flatten()
    }

    fn compile(&self, dir: &Path, rev: &Option<String>, label: &str) -> Result<Desired, String> {
        let mut input = Input::new(dir);
        input.display = label.to_string();
        input.rev = rev.clone();
        if let Some(entry) = &self.scenario.flux {
            let mut o = flux::Options::new(entry.trim_start_matches("./"));
            o.sources = self.scenario.sources.clone();
            input.mode = Mode::Flux(o);
        }
        let compiled = pipeline::compile(&input).map_err(|e| e.to_string())?;
        Ok(Desired::from_compiled(compiled, label))
    }

    fn step_header(&mut self, line: usize, text: &str) {
        self.n += 1;
        let _ = writeln!(self.out, "step {} (line {line}): {text}", self.n);
    }

    fn record(&mut self, step: Step) {
        let mut s = String::new();
        render_step(self.n, &step, &mut s);
        // The header is already written.
        let body = s.split_once('\n').map(|(_, b)| b).unwrap_or("");
        self.out.push_str(body);
        self.last = Some(step);
    }

    fn run_step(&mut self, line: usize, step: &Instruction) {
        match step {
            Instruction::Apply { dir, rev, label } => {
                self.step_header(line, &format!("apply {label}"));
                match self.compile(dir, rev, label) {
                    Ok(desired) => {
                        let step = self.session.apply(desired, StepKind::Apply);
                        self.record(step);
                    }
                    Err(e) => self.check(false, format!("{label} cannot be read: {e}")),
                }
            }
            Instruction::Rollback => {
                let to = self
                    .session
                    .history
                    .first()
                    .map(|d| d.label.clone())
                    .unwrap_or_default();
                self.step_header(line, &format!("rollback to {to}"));
                match self.session.rollback() {
                    Some(step) => self.record(step),
                    None => self.check(
                        false,
                        "nothing was applied before: nothing to roll back to".into(),
                    ),
                }
            }
            Instruction::Correct => {
                self.step_header(line, "correct drift");
                match self.session.correct() {
                    Some(step) => self.record(step),
                    None => self.check(
                        false,
                        "nothing was applied before: nothing to correct".into(),
                    ),
                }
            }
            Instruction::Wait(ms) => {
                self.session.sim.sleep(*ms);
                let clock = self.session.sim.now() - self.session.sim.config.start;
                self.step_header(
                    line,
                    &format!("wait {} (clock {})", seconds(*ms), seconds(clock)),
                );
            }
            Instruction::Fault(f) => {
                let target = if f.namespace.is_empty() {
                    format!("{}/{}", f.kind, f.name)
                } else {
                    format!("{}/{}/{}", f.kind, f.namespace, f.name)
                };
                self.step_header(line, &format!("fault {target}: {}", f.fault));
                let mut f = f.clone();
                match self.find(&target) {
                    Ok(k) if !f.name.contains('*') => f.kind = k.kind,
                    // Not there yet (faults usually come before the apply): checked at the end.
                    _ => self.unchecked_faults.push((line, target.clone())),
                }
                self.session.sim.inject(f);
            }
            Instruction::Edit {
                object,
                manager,
                set,
            } => {
                let shown: Vec<String> = set.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                self.step_header(
                    line,
                    &format!("edit {object} as {manager}: {}", shown.join(", ")),
                );
                let key = match self.find(object) {
                    Ok(k) => k,
                    Err(e) => {
                        self.check(false, e);
                        return;
                    }
                };
                let set = set.clone();
                let r = self.session.sim.update_as(&key, manager, "", &|v| {
                    for (p, val) in &set {
                        set_pointer(v, p, val.clone());
                    }
                });
                if let Err(e) = r {
                    let _ = writeln!(self.out, "  refused: {e}");
                }
            }
            Instruction::Scale {
                object,
                replicas,
                manager,
            } => {
                self.step_header(line, &format!("scale {object} to {replicas} as {manager}"));
                let key = match self.find(object) {
                    Ok(k) => k,
                    Err(e) => {
                        self.check(false, e);
                        return;
                    }
                };
                let n = *replicas;
                if let Err(e) = self.session.sim.update_as(&key, manager, "scale", &|v| {
                    set_pointer(v, "/spec/replicas", Value::from(n))
                }) {
                    let _ = writeln!(self.out, "  refused: {e}");
                }
            }
            Instruction::Delete {
                object,
                propagation,
            } => {
                self.step_header(line, &format!("delete {object}"));
                let key = match self.find(object) {
                    Ok(k) => k,
                    Err(e) => {
                        self.check(false, e);
                        return;
                    }
                };
                if let Err(e) = self.session.sim.delete(
                    &key,
                    &DeleteOptions {
                        propagation: *propagation,
                        ..Default::default()
                    },
                ) {
                    let _ = writeln!(self.out, "  refused: {e}");
                }
            }
            Instruction::Drift => {
                self.step_header(line, "drift");
                let drift = self.session.drift();
                render_drift(&drift, &mut self.out);
            }
            Instruction::Expect(expectations) => {
                let _ = writeln!(self.out, "expect (line {line})");
                for e in expectations {
                    self.expect(&e.value);
                }
            }
        }
    }

    fn outcome(&self, object: &str) -> Option<crate::apply::Outcome> {
        // As written, or resolved as a reference (`job/shop/smoke-test`).
        let name = self
            .find(object)
            .map(|k| k.to_string())
            .unwrap_or_else(|_| object.to_string());
        self.last
            .as_ref()?
            .report
            .as_ref()?
            .outcomes
            .iter()
            .find(|o| o.object == object || o.object == name)
            .cloned()
    }

    fn expect(&mut self, e: &Expectation) {
        match e {
            Expectation::Status(obj, want) => {
                let (have, message) = if matches!(*want, "Skipped" | "Error") {
                    match self.outcome(obj) {
                        Some(o) => (
                            o.word(),
                            o.error.clone().unwrap_or_else(|| o.message.clone()),
                        ),
                        None => ("not in the last apply".to_string(), String::new()),
                    }
                } else {
                    let live = self.live(obj);
                    let r = status::compute(live.as_ref());
                    (r.status.to_string(), r.message)
                };
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", message.lines().next().unwrap_or(""))
                };
                self.check(
                    have == *want,
                    format!(
                        "{obj} is {have}{}",
                        if have == *want {
                            String::new()
                        } else {
                            format!(", expected {want}{detail}")
                        }
                    ),
                );
            }
            Expectation::Failed(obj, part) => match self.outcome(obj) {
                Some(o) => {
                    let why = o.error.clone().unwrap_or_else(|| o.message.clone());
                    let failed = o.error.is_some() || o.status == Status::Failed;
                    let ok = failed && why.contains(part.as_str());
                    let first = why.lines().next().unwrap_or("");
                    self.check(
                        ok,
                        if ok {
                            format!("{obj} failed: {first}")
                        } else if failed {
                            format!("{obj} failed with `{first}`, expected it to mention `{part}`")
                        } else {
                            format!("{obj} did not fail ({})", o.status)
                        },
                    );
                }
                None => self.check(false, format!("{obj} was not in the last apply")),
            },
            Expectation::Blocked(obj, by) => match self.outcome(obj) {
                Some(o) => {
                    let got: BTreeSet<&String> = o.blocked_by.iter().collect();
                    let want: BTreeSet<&String> = by.iter().collect();
                    self.check(
                        got == want,
                        format!(
                            "{obj} was skipped, blocked by {}{}",
                            if o.blocked_by.is_empty() {
                                "nothing".into()
                            } else {
                                o.blocked_by.join(", ")
                            },
                            if got == want {
                                String::new()
                            } else {
                                format!(", expected {}", by.join(", "))
                            }
                        ),
                    );
                }
                None => self.check(false, format!("{obj} was not in the last apply")),
            },
            Expectation::Order(objects) => {
                for pair in objects.windows(2) {
                    let (a, b) = (self.outcome(&pair[0]), self.outcome(&pair[1]));
                    match (a.and_then(|a| a.ready_after), b.and_then(|b| b.applied_at)) {
                        (Some(ready), Some(applied)) => self.check(ready <= applied, format!("{} was Current at {} and {} applied at {}", pair[0], seconds(ready), pair[1], seconds(applied))),
                        _ => self.check(false, format!("{} never became Current, or {} was never applied, in the last apply", pair[0], pair[1])),
                    }
                }
            }
            Expectation::Pruned(want) => {
                // Waves without a deletion do not count.
                let mut got: Vec<BTreeSet<String>> = Vec::new();
                let mut wave = 0;
                for p in self
                    .last
                    .as_ref()
                    .and_then(|s| s.report.as_ref())
                    .map(|r| r.pruned.clone())
                    .unwrap_or_default()
                {
                    if p.wave != wave || got.is_empty() {
                        got.push(BTreeSet::new());
                        wave = p.wave;
                    }
                    if let Some(w) = got.last_mut() {
                        w.insert(p.object);
                    }
                }
                let want_sets: Vec<BTreeSet<String>> =
                    want.iter().map(|w| w.iter().cloned().collect()).collect();
                let show = |waves: &[BTreeSet<String>]| {
                    if waves.is_empty() {
                        "nothing".to_string()
                    } else {
                        waves
                            .iter()
                            .map(|w| {
                                format!("[{}]", w.iter().cloned().collect::<Vec<_>>().join(", "))
                            })
                            .collect::<Vec<_>>()
                            .join(" then ")
                    }
                };
                let ok = got == want_sets;
                self.check(
                    ok,
                    format!(
                        "pruned: {}{}",
                        show(&got),
                        if ok {
                            String::new()
                        } else {
                            format!("; expected {}", show(&want_sets))
                        }
                    ),
                );
            }
            Expectation::Drift(want) => {
                let got = self.session.drift();
                let shown = |d: &Drift| format!("{} {}", d.object, d.path);
                let got_set: BTreeSet<(String, String)> = got
                    .iter()
                    .map(|d| (d.object.clone(), d.path.clone()))
                    .collect();
                let want_set: BTreeSet<(String, String)> = want
                    .iter()
                    .map(|d| (d.object.clone(), d.path.clone()))
                    .collect();
                let mut ok = got_set == want_set;
                for w in want {
                    if let Some(by) = &w.changed_by {
                        ok &= got.iter().any(|d| {
                            d.object == w.object && d.path == w.path && d.changed_by.contains(by)
                        });
                    }
                }
                let text = if got.is_empty() {
                    "no drift".to_string()
                } else {
                    got.iter()
                        .map(|d| {
                            if d.changed_by.is_empty() {
                                shown(d)
                            } else {
                                format!("{} (changed by {})", shown(d), d.changed_by.join(", "))
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                let expected = if want.is_empty() {
                    "no drift".to_string()
                } else {
                    want.iter()
                        .map(|d| format!("{} {}", d.object, d.path))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                self.check(
                    ok,
                    if ok {
                        format!("drift: {text}")
                    } else {
                        format!("drift: {text}; expected {expected}")
                    },
                );
            }
            Expectation::Field(obj, pointer, want) => {
                let got = self.live(obj).and_then(|v| v.at(pointer).cloned());
                let shown = got
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_else(|| "(absent)".into());
                let ok = got.as_ref() == Some(want) || (want.is_null() && got.is_none());
                self.check(
                    ok,
                    format!(
                        "{obj} {pointer} is {shown}{}",
                        if ok {
                            String::new()
                        } else {
                            format!(", expected {want}")
                        }
                    ),
                );
            }
            Expectation::Absent(obj) => {
                let live = self.live(obj).is_some();
                self.check(
                    !live,
                    format!(
                        "{obj} is {}",
                        if live {
                            "still there, expected it gone"
                        } else {
                            "absent"
                        }
                    ),
                );
            }
            Expectation::Present(obj) => {
                let live = self.live(obj).is_some();
                self.check(
                    live,
                    format!(
                        "{obj} is {}",
                        if live {
                            "present"
                        } else {
                            "absent, expected it there"
                        }
                    ),
                );
            }
            Expectation::Event(obj, reason) => {
                let found = self
                    .session
                    .sim
                    .events
                    .iter()
                    .find(|e| e.object.to_string() == *obj && e.reason == *reason)
                    .map(|e| e.time);
                match found {
                    Some(t) => self.check(
                        true,
                        format!(
                            "{obj}: event {reason} at {}",
                            seconds(t - self.session.sim.config.start)
                        ),
                    ),
                    None => self.check(false, format!("{obj}: no event {reason}")),
                }
            }
            Expectation::Problem(part) => {
                let problems = self
                    .last
                    .as_ref()
                    .map(|s| s.problems.clone())
                    .unwrap_or_default();
                let hit = problems.iter().find(|p| p.contains(part.as_str()));
                self.check(
                    hit.is_some(),
                    match hit {
                        Some(p) => format!("problem: {}", p.lines().next().unwrap_or("")),
                        None => format!("no problem mentions `{part}`"),
                    },
                );
            }
            Expectation::NoProblems => {
                let n = self.last.as_ref().map(|s| s.problems.len()).unwrap_or(0);
                self.check(
                    n == 0,
                    if n == 0 {
                        "no problems".into()
                    } else {
                        format!(
                            "{n} problem{}, expected none",
                            if n == 1 { "" } else { "s" }
                        )
                    },
                );
            }
            Expectation::RollbackRisk(part) => {
                let risks = self
                    .last
                    .as_ref()
                    .map(|s| s.rollback.clone())
                    .unwrap_or_default();
                let hit = risks.iter().find(|p| p.contains(part.as_str()));
                self.check(
                    hit.is_some(),
                    match hit {
                        Some(p) => {
                            format!("rollback would meet: {}", p.lines().next().unwrap_or(""))
                        }
                        None => format!("nothing a rollback would meet mentions `{part}`"),
                    },
                );
            }
            Expectation::NoRollbackRisks => {
                let n = self.last.as_ref().map(|s| s.rollback.len()).unwrap_or(0);
                self.check(
                    n == 0,
                    if n == 0 {
                        "a rollback would meet no problem".into()
                    } else {
                        format!(
                            "a rollback would meet {n} problem{}, expected none",
                            if n == 1 { "" } else { "s" }
                        )
                    },
                );
            }
            Expectation::StepFailed(want) => {
                let got = self.last.as_ref().is_some_and(Step::failed);
                self.check(
                    got == *want,
                    format!(
                        "the last step {}{}",
                        if got { "failed" } else { "succeeded" },
                        if got == *want {
                            String::new()
                        } else {
                            format!(
                                ", expected it to {}",
                                if *want { "fail" } else { "succeed" }
                            )
                        }
                    ),
                );
            }
        }
    }
}

/// Sets (or with `null` removes) the value at a JSON pointer, creating maps on the way.
fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let segs: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut cur = v;
    for s in parents {
        let next = match cur {
            Value::Object(m) => m
                .entry(s.clone())
                .or_insert_with(|| Value::Object(Default::default())),
            Value::Array(a) => match s.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(x) => x,
                None => return,
            },
            _ => return,
        };
        cur = next;
    }
    match cur {
        Value::Object(m) if value.is_null() => {
            m.remove(last);
        }
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// Drift as a reviewer reads it.
pub fn render_drift(drift: &[Drift], out: &mut String) {
    if drift.is_empty() {
        let _ = writeln!(out, "  no drift");
    }
    for d in drift {
        let by = if d.changed_by.is_empty() {
            String::new()
        } else {
            format!(" (changed by {})", d.changed_by.join(", "))
        };
        if d.path.is_empty() {
            let _ = writeln!(out, "  {}: missing from the cluster", d.object);
        } else {
            let _ = writeln!(
                out,
                "  {} {}: live {}, desired {}{by}",
                d.object,
                d.path,
                d.live.as_deref().unwrap_or("(none)"),
                d.desired.as_deref().unwrap_or("(none)")
            );
        }
    }
}

/// Runs a scenario.
pub fn run(scenario: &Scenario) -> Outcome {
    let session = Session::new(
        scenario.config.clone(),
        scenario.inventory.clone(),
        scenario.settings.clone(),
    );
    let mut r = Runner {
        scenario,
        session,
        out: String::new(),
        n: 0,
        last: None,
        passed: 0,
        failed: 0,
        unchecked_faults: Vec::new(),
    };
    let _ = writeln!(
        r.out,
        "scenario: {} ({})",
        scenario.name,
        scenario.file.to_string_lossy()
    );
    if let Some(about) = &scenario.about {
        for l in about.trim_end().lines() {
            let _ = writeln!(r.out, "  {l}");
        }
    }
    for s in &scenario.steps {
        r.run_step(s.line, &s.value);
    }
    // A fault whose object never existed is a typo, not a test.
    for (line, target) in std::mem::take(&mut r.unchecked_faults) {
        if let Err(e) = r.find(&target) {
            let _ = writeln!(r.out, "fault (line {line})");
            r.check(false, format!("the fault's object: {e}"));
        }
    }
    let (passed, failed) = (r.passed, r.failed);
    let _ = writeln!(
        r.out,
        "result: {}, {} of {} check{} passed",
        if failed == 0 { "passed" } else { "FAILED" },
        passed,
        passed + failed,
        if passed + failed == 1 { "" } else { "s" }
    );
    Outcome {
        transcript: r.out,
        passed,
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kiln-scenario-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("v1")).unwrap();
        let file = dir.join("s.yaml");
        std::fs::write(&file, text).unwrap();
        file
    }

    #[test]
    fn malformed_scenarios_are_diagnostics_with_lines() {
        let file = write(
            "bad",
            "name: x\nsteps:\n  - apply: v1\n  - wiat: 3s\n  - wait: soon\n  - apply: missing\n  - expect:\n      status: {Deployment/a/b: Ready}\n",
        );
        let diags = parse(&file).unwrap_err();
        let shown: Vec<(usize, String)> = diags
            .iter()
            .map(|d| {
                (
                    d.primary
                        .as_ref()
                        .unwrap()
                        .location
                        .range
                        .as_ref()
                        .unwrap()
                        .line,
                    d.message.clone(),
                )
            })
            .collect();
        assert_eq!(shown[0].0, 4);
        assert!(
            shown[0].1.starts_with("unknown field `wiat` in a step"),
            "{shown:?}"
        );
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert_eq!(shown[1].0, 5);
        assert!(shown[1].1.contains("`soon` is not a duration"), "{shown:?}");
        assert_eq!(shown[2].0, 6);
        assert!(shown[2].1.contains("`missing` does not exist"), "{shown:?}");
        assert_eq!(shown[3].0, 8);
        assert!(diags.iter().all(|d| d.code == Code::ScenarioInvalid));
    }

    #[test]
    fn durations_and_faults() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("2.5s").unwrap(), 2_500);
        assert_eq!(parse_duration("500ms").unwrap(), 500);
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_fault("Deployment/shop/web", "fail-writes:2:500").is_ok());
        assert!(parse_fault("Deployment", "crash-loop").is_err());
        assert!(parse_fault("Deployment/a/b", "explode").is_err());
    }

    #[test]
    fn pointers_set_and_remove() {
        let mut v = serde_json::json!({"spec": {"replicas": 1, "containers": [{"image": "a"}]}});
        set_pointer(&mut v, "/spec/replicas", Value::from(3));
        set_pointer(&mut v, "/spec/containers/0/image", Value::from("b"));
        set_pointer(&mut v, "/metadata/labels/x", Value::from("y"));
        set_pointer(&mut v, "/spec/paused", Value::Null);
        assert_eq!(
            v,
            serde_json::json!({"spec": {"replicas": 3, "containers": [{"image": "b"}]}, "metadata": {"labels": {"x": "y"}}})
        );
    }
}
