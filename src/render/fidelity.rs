//! Fidelity against the real thing: every directory of the corpus that `kubectl kustomize`
//! rendered (../shared/corpus/oracle) and every kustomize end-to-end case
//! (../shared/corpus/krusty), rendered by kiln and compared as sets of JSON-equal documents.
//! Used by a test and by `cargo xtask fidelity`.

use super::kustomize::{Kustomizer, LoadRestrictor};
use crate::source::SourceSet;
use crate::syntax::{self, Limits};
use crate::util::Pointer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// How one case went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// kiln rendered the same documents as kubectl.
    Equal,
    /// Both failed; kiln's diagnostic.
    BothFailed(String),
    /// Both rendered, differently.
    Different(String),
    /// kubectl rendered, kiln failed.
    KilnFailed(String),
    /// kubectl failed, kiln rendered.
    KubectlFailed(String),
}

#[derive(Clone, Debug)]
pub struct Case {
    pub set: String,
    pub name: String,
    pub outcome: Outcome,
    /// kubectl's error, when it failed.
    pub kubectl_error: Option<String>,
}

fn parse_stream(text: &str) -> Vec<Value> {
    syntax::parse(text, &Limits::default(), &|_| {
        crate::diag::Location::file("")
    })
    .documents
    .into_iter()
    .map(|d| d.value)
    .filter(|v| !v.is_null())
    .collect()
}

fn id_of(v: &Value) -> String {
    let s = |p: &str| v.at(p).and_then(Value::as_str).unwrap_or("");
    format!(
        "{}/{} {}/{}",
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name")
    )
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(xv), Some(yv)) => {
                        if let Some(d) = first_difference(xv, yv, &p) {
                            return Some(d);
                        }
                    }
                    (Some(xv), None) => {
                        return Some(format!("{p}: kiln has {xv}, kubectl has nothing"));
                    }
                    (None, Some(yv)) => {
                        return Some(format!("{p}: kiln has nothing, kubectl has {yv}"));
                    }
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (xv, yv))| first_difference(xv, yv, &format!("{path}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{path}: kiln has {a}, kubectl has {b}")),
    }
}

/// Compares two document sets; `None` when equal.
pub fn compare(kiln: &[Value], kubectl: &[Value]) -> Option<String> {
    let mut rest: Vec<&Value> = kubectl.iter().collect();
    let mut unmatched = Vec::new();
    for d in kiln {
        match rest.iter().position(|x| *x == d) {
            Some(i) => {
                rest.remove(i);
            }
            None => unmatched.push(d),
        }
    }
    if unmatched.is_empty() && rest.is_empty() {
        return None;
    }
    for d in &unmatched {
        if let Some(o) = rest.iter().find(|x| id_of(x) == id_of(d)) {
            return Some(format!(
                "{}: {}",
                id_of(d),
                first_difference(d, o, "").unwrap_or_default()
            ));
        }
    }
    let extra: Vec<String> = unmatched.iter().map(|d| id_of(d)).collect();
    let missing: Vec<String> = rest.iter().map(|d| id_of(d)).collect();
    Some(format!("kiln only: {extra:?}; kubectl only: {missing:?}"))
}

fn build(kz: &Kustomizer, dir: &str) -> Result<Vec<Value>, String> {
    kz.build(dir)
        .and_then(|b| {
            // Objects left unrendered (a remote base, Helm charts): kubectl fails the build.
            match b
                .notes
                .iter()
                .find(|d| d.severity == crate::diag::Severity::Error)
            {
                Some(d) => Err(super::kustomize::BuildError {
                    diagnostic: d.clone(),
                    missing: true,
                }),
                None => Ok(b),
            }
        })
        .map(|b| {
            b.resources
                .into_iter()
                .map(super::kustomize::resource::Resource::into_value)
                .collect()
        })
        .map_err(|e| {
            let d = e.diagnostic;
            let at = d.primary.as_ref().map(|p| match p.location.range {
                Some(r) => format!(" ({}:{})", p.location.path, r.line),
                None => format!(" ({})", p.location.path),
            });
            format!("[{}] {}{}", d.code, d.message, at.unwrap_or_default())
        })
}

fn outcome(kiln: Result<Vec<Value>, String>, kubectl: Result<Vec<Value>, String>) -> Outcome {
    match (kiln, kubectl) {
        (Ok(k), Ok(o)) => match compare(&k, &o) {
            None => Outcome::Equal,
            Some(d) => Outcome::Different(d),
        },
        (Err(e), Ok(_)) => Outcome::KilnFailed(e),
        (Ok(k), Err(_)) => Outcome::KubectlFailed(format!("kiln rendered {} documents", k.len())),
        (Err(e), Err(_)) => Outcome::BothFailed(e),
    }
}

/// Every directory of `corpus/oracle/*/results.json`.
pub fn oracle(shared: &Path) -> Vec<Case> {
    let oracle = shared.join("corpus/oracle");
    let mut repos: Vec<_> = std::fs::read_dir(&oracle)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    repos.sort();
    let mut out = Vec::new();
    for repo in repos {
        let name = repo
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(results) = std::fs::read_to_string(repo.join("results.json")) else {
            continue;
        };
        let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(&results) else {
            continue;
        };
        let Ok(set) = SourceSet::from_dir(
            &shared.join("corpus/repos").join(&name),
            "",
            crate::source::DEFAULT_MAX_FILE_BYTES,
        ) else {
            continue;
        };
        let kz = Kustomizer::new(&set, LoadRestrictor::RootOnly);
        for e in entries {
            let dir = e["dir"].as_str().unwrap_or("").to_string();
            let kubectl = if e["ok"].as_bool() == Some(true) {
                let file = repo.join(e["oracle"].as_str().unwrap_or(""));
                Ok(parse_stream(
                    &std::fs::read_to_string(file).unwrap_or_default(),
                ))
            } else {
                Err(e["error"].as_str().unwrap_or("").to_string())
            };
            let kubectl_error = kubectl.as_ref().err().cloned();
            out.push(Case {
                set: name.clone(),
                name: dir.clone(),
                outcome: outcome(build(&kz, &dir), kubectl),
                kubectl_error,
            });
        }
    }
    out
}

/// Every case of `corpus/krusty` whose kubectl verdict is `match` or `reordered-match`.
pub fn krusty(shared: &Path) -> Vec<Case> {
    let root = shared.join("corpus/krusty");
    let Ok(results) = std::fs::read_to_string(root.join("results.json")) else {
        return Vec::new();
    };
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(&results) else {
        return Vec::new();
    };
    let mut verdicts: BTreeMap<String, Value> = BTreeMap::new();
    for e in entries {
        verdicts.insert(e["case"].as_str().unwrap_or("").to_string(), e);
    }
    let mut out = Vec::new();
    for (name, e) in verdicts {
        let verdict = e["verdict"].as_str().unwrap_or("");
        if !(verdict.starts_with("match") || verdict.starts_with("reordered-match")) {
            continue;
        }
        let dir = root.join(&name);
        let Ok(case) = std::fs::read_to_string(dir.join("case.json")) else {
            continue;
        };
        let case: Value = serde_json::from_str(&case).unwrap_or_default();
        let run_dir = case["run_dir"]
            .as_str()
            .unwrap_or("tree")
            .trim_start_matches("tree")
            .trim_start_matches('/')
            .to_string();
        let restrictor = if case["kubectl_flags"].as_array().is_some_and(|f| {
            f.iter().any(|x| {
                x.as_str()
                    .is_some_and(|s| s.contains("LoadRestrictionsNone"))
            })
        }) {
            LoadRestrictor::None
        } else {
            LoadRestrictor::RootOnly
        };
        let Ok(set) =
            SourceSet::from_dir(&dir.join("tree"), "", crate::source::DEFAULT_MAX_FILE_BYTES)
        else {
            continue;
        };
        let kz = Kustomizer::new(&set, restrictor);
        let kubectl = if e["ok"].as_bool() == Some(true) {
            Ok(parse_stream(
                &std::fs::read_to_string(dir.join("expected.yaml")).unwrap_or_default(),
            ))
        } else {
            Err(e["error"].as_str().unwrap_or("").to_string())
        };
        let kubectl_error = kubectl.as_ref().err().cloned();
        out.push(Case {
            set: "krusty".into(),
            name,
            outcome: outcome(build(&kz, &run_dir), kubectl),
            kubectl_error,
        });
    }
    out
}

/// A table of outcomes per set, and the cases that are not equal.
pub fn report(cases: &[Case]) -> String {
    let mut per: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for c in cases {
        let row = per.entry(&c.set).or_default();
        let i = match c.outcome {
            Outcome::Equal => 0,
            Outcome::BothFailed(_) => 1,
            Outcome::Different(_) => 2,
            Outcome::KilnFailed(_) => 3,
            Outcome::KubectlFailed(_) => 4,
        };
        row[i] += 1;
    }
    let mut s = String::from(
        "| set | equal | both failed | different | kiln failed | kubectl failed |\n|---|---|---|---|---|---|\n",
    );
    for (set, r) in &per {
        s.push_str(&format!(
            "| {set} | {} | {} | {} | {} | {} |\n",
            r[0], r[1], r[2], r[3], r[4]
        ));
    }
    for c in cases {
        let detail = match &c.outcome {
            Outcome::Different(d) => format!("different: {d}"),
            Outcome::KilnFailed(e) => format!("kiln failed: {e}"),
            Outcome::KubectlFailed(e) => format!(
                "kubectl failed ({}), {e}",
                c.kubectl_error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
            _ => continue,
        };
        s.push_str(&format!("{} {}: {detail}\n", c.set, c.name));
    }
    let both: Vec<&Case> = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::BothFailed(_)))
        .collect();
    if !both.is_empty() {
        s.push_str("\nBoth failed (why kubectl failed | kiln's diagnostic):\n");
        for c in both {
            let Outcome::BothFailed(kiln) = &c.outcome else {
                continue;
            };
            let why = failure_reason(c.kubectl_error.as_deref().unwrap_or(""), kiln);
            let kiln: String = kiln
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(140)
                .collect();
            s.push_str(&format!("- {} {}: {why} | {kiln}\n", c.set, c.name));
        }
    }
    s
}

/// Why a case fails, in a few words, from kubectl's error and kiln's diagnostic (kubectl's
/// recorded errors are often cut short): offline limits, a file the corpus leaves out, or an
/// input that is broken.
pub fn failure_reason(kubectl: &str, kiln: &str) -> &'static str {
    let e = kubectl.to_ascii_lowercase();
    if kiln.starts_with("[not-rendered-offline]")
        || e.contains("dial tcp")
        || e.contains("no such host")
    {
        if kiln.contains("plugin") || e.contains("plugin") {
            "plugin or KRM function"
        } else if kiln.contains("helm") {
            "Helm chart"
        } else {
            "remote base (network)"
        }
    } else if [".py`", ".sh`", ".tar.gz`", ".py]", ".sh]", ".tar.gz]"]
        .iter()
        .any(|x| kiln.contains(x))
    {
        "a script or archive the corpus leaves out"
    } else {
        "broken input"
    }
}
