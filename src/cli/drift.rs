//! `kiln drift`: where the live cluster differs from the repository, field by field, with the
//! field manager that changed each field (`kubectl-edit`, an operator, an autoscaler), and
//! objects the repository has that the cluster lacks. The repository's `ignoreDifferences`
//! (`.kiln.yaml`) are left out, as plans and applies leave them. Exit 0 when there is no
//! drift, 1 when there is (a CI gate), 2 when the cluster cannot be reached.
//!
//! `--correct` applies the repository's version of exactly the drifted objects (confirmed, or
//! `--yes`), with the apply's progress display; it never prunes.

use super::args::{
    self, ApplyArgs, ApplySettings, ClusterArgs, ClusterSettings, InputArgs, ReportArgs,
    ReportSettings, Target,
};
use super::plan as planning;
use super::progress::Progress;
use super::{Failure, err, out};
use crate::apply::Drift;
use crate::plan::Action;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    namespace: args::NamespaceArgs,
    /// Apply the repository's version of every drifted object (never pruning).
    #[arg(long)]
    correct: bool,
    #[command(flatten)]
    apply: ApplyArgs,
}

pub struct Settings {
    target: Target,
    report: ReportSettings,
    cluster: ClusterSettings,
    ignore: Vec<crate::plan::IgnoreRule>,
    correct: bool,
    apply: ApplySettings,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let target = planning::one_target(args::inputs(&a.input, &cfg, None, false)?)?;
    let mut apply = a.apply.settings()?;
    // Correcting drift restores objects; deleting what the repository lacks is apply's job.
    apply.engine.prune = false;
    Ok(Settings {
        target,
        report,
        cluster: a.cluster.settings_in(&a.namespace)?,
        ignore: cfg.ignore_differences.clone(),
        correct: a.correct,
        apply,
    })
}

/// Drift as a reviewer reads it.
fn text(drift: &[Drift]) -> String {
    use std::fmt::Write;
    let objects: std::collections::BTreeSet<&str> =
        drift.iter().map(|d| d.object.as_str()).collect();
    let mut s = String::new();
    if drift.is_empty() {
        s.push_str("no drift: the cluster is as the repository says\n");
        return s;
    }
    let _ = writeln!(
        s,
        "drift: {} object{} differ{} from the repository",
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        if objects.len() == 1 { "s" } else { "" }
    );
    let mut last = "";
    for d in drift {
        if d.object != last {
            let missing = d.path.is_empty();
            let _ = writeln!(
                s,
                "  {} {}{}",
                if missing { "+" } else { "~" },
                d.object,
                if missing {
                    " (missing from the cluster)"
                } else {
                    ""
                }
            );
            last = &d.object;
        }
        if d.path.is_empty() {
            continue;
        }
        let by = if d.changed_by.is_empty() {
            String::new()
        } else {
            format!("  (changed by {})", d.changed_by.join(", "))
        };
        let _ = writeln!(
            s,
            "      {}: {} (live) -> {} (repository){by}",
            d.path,
            d.live.as_deref().unwrap_or("(none)"),
            d.desired.as_deref().unwrap_or("(none)")
        );
    }
    s
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress && s.apply.output == args::OutputFormat::Text);
    let desired = match planning::desired(&s.target, &s.report, &progress, "drift") {
        Ok(d) => d,
        Err(code) => return code,
    };
    let mut cluster = match planning::connect(&s.cluster, "drift") {
        Ok(c) => c,
        Err(code) => return code,
    };
    progress.say("comparing the cluster with the repository");
    // Drift is what an apply would change, whoever owns the field now.
    let options = crate::plan::Options {
        force: true,
        ignore: s.ignore.clone(),
        ..Default::default()
    };
    let plan = match planning::make(&mut cluster, &desired, &s.cluster, &options, "drift") {
        Ok(p) => p,
        Err(code) => return code,
    };
    let drift = crate::apply::drift(&plan);
    let json = s.apply.output == args::OutputFormat::Json;
    if json {
        out(&format!(
            "{}\n",
            serde_json::json!({"event": "drift", "context": cluster.context,
                "server": cluster.server, "drift": drift})
        ));
    } else {
        out(&format!(
            "cluster: {} ({})\n{}",
            cluster.context,
            cluster.server,
            text(&drift)
        ));
    }
    if drift.is_empty() {
        return ExitCode::SUCCESS;
    }
    if !s.correct {
        return ExitCode::from(1);
    }
    // Only the drifted objects, in their waves; no prune.
    let drifted: std::collections::BTreeSet<&str> =
        drift.iter().map(|d| d.object.as_str()).collect();
    let mut correction = plan.clone();
    for wave in correction.waves.iter_mut() {
        wave.retain(|c| {
            drifted.contains(c.object.as_str())
                && matches!(c.action, Action::Create | Action::Update)
        });
    }
    correction.prune.clear();
    correction.live_digest = match crate::plan::live_digest(&mut cluster, &correction) {
        Ok(d) => d,
        Err(e) => {
            err(&format!("kiln drift: {e}\n"));
            return ExitCode::from(2);
        }
    };
    let mut apply = s.apply.clone();
    apply.engine.force = true;
    super::apply::run_plan(
        &mut cluster,
        &correction,
        &apply,
        &s.report,
        "drift",
        "correcting drift\n",
    )
}
