//! `kiln apply` and `kiln rollback`: apply PATH (or a saved plan, or PATH at an earlier
//! revision) to a real cluster, or any API server (`kiln sim serve` included), through the plan
//! and apply engine `kiln sim` runs: the whole input rendered and validated, a plan made
//! against the live cluster (a server-side dry run of every object), refused whole when any
//! object would fail, shown with the target context, confirmed (or `--yes`), then applied wave
//! by wave with readiness gates, a live progress display (or JSON events), and pruning of
//! kiln's inventory.
//!
//! A saved plan (`kiln plan --out FILE`) is applied unchanged: refused when it was made for
//! another cluster, when the live objects it planned for changed since (its live digest), or,
//! for its Secrets' values, when the repository it reads them from again changed.

use super::args::{
    self, ApplyArgs, ApplySettings, ClusterArgs, ClusterSettings, InputArgs, ReportArgs,
    ReportSettings, Target,
};
use super::events::Display;
use super::plan as planning;
use super::progress::Progress;
use super::{Failure, err, out};
use crate::cluster::kube::KubeCluster;
use crate::plan::Plan;
use std::io::IsTerminal;
use std::path::PathBuf;
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
    #[command(flatten)]
    apply: ApplyArgs,
}

/// `kiln rollback --to REV`.
#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    /// The revision to go back to (a branch, tag, sha, HEAD~1...): PATH as it was there is
    /// applied as a new plan, and what it lacks is pruned.
    #[arg(long, value_name = "REV")]
    to: String,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    namespace: args::NamespaceArgs,
    #[command(flatten)]
    apply: ApplyArgs,
}

enum Source {
    /// Render and plan now.
    Input {
        target: Box<Target>,
        ignore: Vec<crate::plan::IgnoreRule>,
    },
    /// A plan saved by `kiln plan --out`.
    Saved(PathBuf),
}

pub struct Settings {
    command: &'static str,
    source: Source,
    report: ReportSettings,
    cluster: ClusterSettings,
    apply: ApplySettings,
    /// For a rollback: the revision.
    label: String,
}

/// A saved plan given as the one PATH.
fn saved_plan(input: &InputArgs) -> Option<PathBuf> {
    let [path] = input.paths.as_slice() else {
        return None;
    };
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    crate::plan::is_saved(&text).then(|| path.clone())
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let apply = a.apply.settings()?;
    let source = match saved_plan(&a.input) {
        Some(path) => {
            let r = &a.input.render;
            if !r.flux.is_empty() || !r.sources.is_empty() || r.all || a.input.root.is_some() {
                return Err(Failure::Usage(format!(
                    "{} is a saved plan, applied as it was made: drop the input flags (--flux, --source, --all, --root)",
                    path.display()
                )));
            }
            if a.apply.force {
                return Err(Failure::Usage(format!(
                    "{} is a saved plan: --force is decided when the plan is made (`kiln plan --force`)",
                    path.display()
                )));
            }
            Source::Saved(path)
        }
        None => Source::Input {
            target: Box::new(planning::one_target(args::inputs(
                &a.input, &cfg, None, false,
            )?)?),
            ignore: cfg.ignore_differences.clone(),
        },
    };
    Ok(Settings {
        command: "apply",
        source,
        report,
        cluster: a.cluster.settings_in(&a.namespace)?,
        apply,
        label: "PATH".into(),
    })
}

pub fn rollback_settings(a: RollbackArgs) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let target = planning::one_target(args::inputs(&a.input, &cfg, Some(a.to.clone()), false)?)?;
    Ok(Settings {
        command: "rollback",
        source: Source::Input {
            target: Box::new(target),
            ignore: cfg.ignore_differences.clone(),
        },
        report,
        cluster: a.cluster.settings_in(&a.namespace)?,
        apply: a.apply.settings()?,
        label: a.to,
    })
}

/// Reads a saved plan and makes it whole: the target must be the cluster it was made for, and
/// its Secrets' values are read again from the repository it was made from.
fn load_saved(
    path: &std::path::Path,
    cluster: &mut KubeCluster,
    report: &ReportSettings,
    progress: &Progress,
) -> Result<(Plan, bool), ExitCode> {
    let refuse = |why: String| {
        err(&format!("kiln apply: {}: refused: {why}\n", path.display()));
        ExitCode::from(1)
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(&format!("kiln apply: {}: {e}\n", path.display()));
        ExitCode::from(2)
    })?;
    let mut loaded = crate::plan::load(&text).map_err(|e| {
        err(&format!("kiln apply: {}: {e}\n", path.display()));
        ExitCode::from(2)
    })?;
    let o = loaded.origin.clone();
    if o.server != cluster.server || o.context != cluster.context {
        return Err(refuse(format!(
            "it was made for {} ({}), and the kubeconfig now points at {} ({})",
            o.context, o.server, cluster.context, cluster.server
        )));
    }
    if !loaded.masked.is_empty() {
        progress.say("reading the repository again for the values of the plan's Secrets");
        let target = reread(&o).map_err(|e| {
            refuse(format!(
                "it writes Secrets, whose values a plan file never holds, and the repository it was made from cannot be read again: {e}"
            ))
        })?;
        let desired = planning::desired(&target, report, progress, "apply")?;
        if crate::plan::desired_digest(&desired.objects) != loaded.plan.desired_digest {
            return Err(refuse(
                "the repository changed since the plan was made; make a new plan".into(),
            ));
        }
        let keys = crate::plan::stored_keys_in(cluster, &desired.objects, &o.namespace);
        let objects: Vec<(crate::object::ObjectKey, serde_json::Value)> = keys
            .into_iter()
            .zip(&desired.objects)
            .map(|(k, o)| (k, crate::plan::labelled(&o.value, &loaded.plan.inventory)))
            .collect();
        crate::plan::restore_secrets(&mut loaded, &objects).map_err(refuse)?;
    }
    Ok((loaded.plan, o.force))
}

/// The input of `kiln plan ARGS...` run in `cwd`, as it was when the plan was made.
fn reread(o: &crate::plan::Origin) -> Result<Target, String> {
    #[derive(clap::Parser)]
    struct Again {
        #[command(subcommand)]
        command: AgainCommand,
    }
    #[derive(clap::Subcommand)]
    enum AgainCommand {
        Plan(planning::Args),
    }
    std::env::set_current_dir(&o.cwd).map_err(|e| format!("{}: {e}", o.cwd))?;
    let parsed = <Again as clap::Parser>::try_parse_from(
        std::iter::once("kiln".to_string()).chain(o.args.iter().cloned()),
    )
    .map_err(|e| format!("`kiln {}`: {}", o.args.join(" "), e.kind()))?;
    let AgainCommand::Plan(a) = parsed.command;
    match planning::settings(a) {
        Ok(s) => Ok(s.into_target()),
        Err(Failure::Usage(e)) => Err(e),
        Err(Failure::Reported) => Err(".kiln.yaml is not valid (see above)".into()),
    }
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress && s.apply.output == args::OutputFormat::Text);
    let mut apply = s.apply.clone();
    let (mut cluster, plan) = match &s.source {
        Source::Input { target, ignore } => {
            let desired = match planning::desired(target, &s.report, &progress, s.command) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let mut cluster = match planning::connect(&s.cluster, s.command) {
                Ok(c) => c,
                Err(code) => return code,
            };
            progress.say("planning against the cluster");
            let options = crate::plan::Options {
                force: apply.engine.force,
                ignore: ignore.clone(),
                concurrency: apply.engine.concurrency,
                ..Default::default()
            };
            match planning::make(&mut cluster, &desired, &s.cluster, &options, s.command) {
                Ok(p) => (cluster, p),
                Err(code) => return code,
            }
        }
        Source::Saved(path) => {
            let mut cluster = match planning::connect(&s.cluster, s.command) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match load_saved(path, &mut cluster, &s.report, &progress) {
                Ok((plan, force)) => {
                    apply.engine.force = force;
                    (cluster, plan)
                }
                Err(code) => return code,
            }
        }
    };
    let heading = match s.command {
        "rollback" => format!("rolling back to {}\n", s.label),
        _ => String::new(),
    };
    run_plan(&mut cluster, &plan, &apply, &s.report, s.command, &heading)
}

/// Shows a plan, refuses it when any object would fail, confirms, applies it with the
/// progress display, and reports (`drift --correct` shares it).
pub fn run_plan(
    cluster: &mut KubeCluster,
    plan: &Plan,
    apply: &ApplySettings,
    report: &ReportSettings,
    command: &str,
    heading: &str,
) -> ExitCode {
    let mut display = Display::new(
        apply.output,
        std::io::stderr().is_terminal(),
        report.level == 0,
    );
    if display.json() {
        display.record(
            "plan",
            serde_json::json!({"context": cluster.context, "server": cluster.server, "plan": plan}),
        );
    } else {
        out(&format!("{heading}{}", planning::text(plan, cluster)));
    }
    // Validate the whole set before the first write: one failure, nothing written.
    let failing = planning::failing(plan);
    if !failing.is_empty() {
        err(&format!(
            "kiln {command}: nothing applied: {} object{} would fail (see the plan): {}\n",
            failing.len(),
            if failing.len() == 1 { "" } else { "s" },
            failing.join(", ")
        ));
        return ExitCode::from(1);
    }
    let writes = planning::writes(plan);
    if apply.dry_run {
        if !display.json() {
            out("dry run: nothing changed\n");
        }
        return ExitCode::SUCCESS;
    }
    if writes == 0 {
        // Nothing to change, yet an earlier run may have been stopped before its objects were
        // ready: look at readiness as an apply does.
        if !display.json() {
            out("nothing to change; checking that every object is Current\n");
        }
    } else if !apply.yes {
        let question = format!(
            "{command} {writes} change{} to {} ({})",
            if writes == 1 { "" } else { "s" },
            cluster.context,
            cluster.server
        );
        if let Err(code) = args::confirm(command, command, "plan", &question) {
            return code;
        }
    }
    let result =
        crate::apply::apply_observed(cluster, plan, &apply.engine, &mut |e| display.event(e));
    display.finish();
    let report_ = match result {
        Ok(r) => r,
        Err(e) if e.reason == "StalePlan" => {
            err(&format!("kiln {command}: refused: {}\n", e.message));
            return ExitCode::from(1);
        }
        Err(e) => {
            err(&format!("kiln {command}: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let failed = !report_.failed().is_empty() || !report_.prune_failures().is_empty();
    if display.json() {
        display.record(
            "report",
            serde_json::json!({"statuses": report_.by_status(), "report": report_}),
        );
    } else {
        let step = crate::simulate::Step {
            kind: crate::simulate::StepKind::Apply,
            label: "PATH".into(),
            errors: 0,
            warnings: 0,
            not_applied: None,
            plan: plan.counts(),
            statuses: report_.by_status(),
            report: Some(report_),
            assumed: Vec::new(),
            problems: Vec::new(),
            rollback: Vec::new(),
            rollback_to: None,
            clock: 0,
        };
        let mut text = String::new();
        crate::simulate::render_step_timed(1, &step, false, &mut text);
        out(&text);
    }
    super::exit_for(usize::from(failed))
}
