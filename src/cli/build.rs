//! `kiln build`: print the rendered objects as YAML (or JSON), unit after unit, each unit in
//! apply order. A directory that holds a kustomization is built alone, as `kubectl kustomize
//! DIR` builds it; `--all` builds every kustomization root below it. Nothing is printed when
//! anything is in error: the diagnostics go to standard error and the exit status is 1.

use super::args::{self, InputArgs, ReportArgs, ReportSettings, RevArgs, Target};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::diag::Counts;
use crate::diag::render::{self, Summary};
use crate::pipeline::{self, Compiled};
use crate::render::UnitKind;
use crate::syntax::emit;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rev: RevArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format of the objects.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml, alias = "format")]
    output: Format,
}

/// How `kiln build` prints objects.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

pub struct Settings {
    targets: Vec<Target>,
    report: ReportSettings,
    format: Format,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    Ok(Settings {
        report: args::report(&a.report, &cfg, std::io::stderr().is_terminal())?,
        // JSON is for tools: its paths are relative to the repository root.
        targets: args::inputs(&a.input, &cfg, a.rev.rev, a.output == Format::Json)?,
        format: a.output,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress);
    let mut text = String::new();
    let many = s.targets.len() > 1;
    let mut clusters = Vec::new();
    let mut all = Vec::new();
    for t in &s.targets {
        match super::compile(t, &s.report, &progress) {
            Ok(c) => all.push(c),
            Err(code) => return code,
        }
    }
    if let Err(code) = super::check_source_mappings(&s.targets, all.iter().map(|(c, _)| c)) {
        return code;
    }
    for (t, (compiled, diags)) in s.targets.iter().zip(all) {
        let counts = Counts::of(&diags);
        let shown = s.report.visible(&diags);
        if !shown.is_empty() {
            err(&render::human(&shown, &compiled.sources, s.report.style()));
        }
        if counts.errors > 0 {
            let summary = Summary {
                files: compiled.files,
                objects: compiled.objects.len(),
                counts,
            };
            err(&format!(
                "{}; nothing printed\n",
                render::summary_line("build", &summary)
            ));
            return ExitCode::from(1);
        }
        if many && s.format == Format::Yaml {
            if !text.is_empty() {
                text.push_str("---\n");
            }
            text.push_str(&format!(
                "# cluster: {}\n",
                t.cluster.as_deref().unwrap_or(".")
            ));
        }
        match s.format {
            Format::Yaml => text.push_str(&build_yaml(&compiled)),
            Format::Json if many => clusters.push(serde_json::json!({
                "flux": t.cluster,
                "build": build_json_value(&compiled),
            })),
            Format::Json => text.push_str(&json_text(&build_json_value(&compiled))),
        }
        std::mem::forget(compiled);
    }
    if many && s.format == Format::Json {
        text = json_text(&serde_json::json!({ "clusters": clusters }));
    }
    out(&text);
    ExitCode::SUCCESS
}

/// The objects of a unit in apply order (the dependency graph's waves, each in Flux's
/// reconcile order).
fn unit_objects<'c>(
    c: &'c Compiled,
    rank: &[usize],
    u: &pipeline::UnitInfo,
) -> Vec<&'c crate::object::Object> {
    let mut idx: Vec<usize> = u.objects.clone().collect();
    idx.sort_by_key(|&i| (rank[i], i));
    idx.into_iter().map(|i| &c.objects[i]).collect()
}

/// One YAML stream; with several units, a comment line before each object says which unit
/// (directory, or Flux Kustomization) it belongs to.
fn build_yaml(c: &Compiled) -> String {
    let rank = c.graph.apply_rank();
    let mut text = String::new();
    let many = c.units.len() > 1
        || c.units
            .iter()
            .any(|u| matches!(u.kind, UnitKind::Flux { .. }));
    let mut first = true;
    for u in &c.units {
        for o in unit_objects(c, &rank, u) {
            if !first {
                text.push_str("---\n");
            }
            first = false;
            if many {
                text.push_str(&format!("# {}: {}\n", unit_label(u), unit_path(c, u)));
            }
            text.push_str(&emit::to_yaml(&o.value));
        }
    }
    text
}

/// Where a unit comes from: a directory of the input, or a chart on disk.
fn unit_path(c: &Compiled, u: &pipeline::UnitInfo) -> String {
    match u.kind {
        UnitKind::Helm { .. } => u.path.clone(),
        _ => c.sources.display(&u.path),
    }
}

fn unit_label(u: &pipeline::UnitInfo) -> String {
    match &u.kind {
        UnitKind::Flux { .. } | UnitKind::Helm { .. } => u.name.clone(),
        UnitKind::Kustomize => "kustomization".into(),
        UnitKind::Plain => "plain YAML".into(),
    }
}

/// One JSON document: a `List` of every object when there is a single unit, otherwise the units
/// with their objects.
fn json_text(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn build_json_value(c: &Compiled) -> serde_json::Value {
    let rank = c.graph.apply_rank();
    if c.units.len() == 1
        && c.units
            .iter()
            .all(|u| !matches!(u.kind, UnitKind::Flux { .. }))
    {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": unit_objects(c, &rank, &c.units[0]).iter().map(|o| &o.value).collect::<Vec<_>>(),
        })
    } else if c.units.is_empty() {
        serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": [] })
    } else {
        let units: Vec<_> = c
            .units
            .iter()
            .map(|u| {
                let mut entry = serde_json::json!({
                    "unit": u.name,
                    "kind": match u.kind { UnitKind::Flux { .. } => "flux", UnitKind::Helm { .. } => "helm", UnitKind::Kustomize => "kustomize", UnitKind::Plain => "plain" },
                    "path": unit_path(c, u),
                    "objects": unit_objects(c, &rank, u).iter().map(|o| &o.value).collect::<Vec<_>>(),
                });
                if !u.depends_on.is_empty() {
                    entry["dependsOn"] = serde_json::json!(u.depends_on.iter().map(|k| k.to_string()).collect::<Vec<_>>());
                }
                entry
            })
            .collect();
        serde_json::json!({ "units": units })
    }
}
