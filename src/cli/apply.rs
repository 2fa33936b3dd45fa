//! `kiln apply`: apply PATH to a real cluster (or any API server, `kiln sim serve` included)
//! through the same plan and apply engine `kiln sim` runs: the whole input rendered and
//! validated, a plan made against the live cluster (a server-side dry run of every object),
//! shown with the target context, confirmed (or `--yes`), then applied wave by wave with
//! readiness gates and pruning of kiln's inventory.
//!
//! Half-built, and said so in `--help`: no saved plans (`kiln plan --out`), no `drift`,
//! `rollback`, `status` or `delete` commands, no live progress display or JSON event stream,
//! no parallel writes within a wave (`--concurrency`), no take-over of client-side-applied
//! fields.

use super::args::{
    self, ClusterArgs, ClusterSettings, InputArgs, ReportArgs, ReportSettings, Target,
};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::diag::render;
use crate::simulate::Desired;
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
    /// Show the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply without asking (for CI).
    #[arg(long, short = 'y')]
    yes: bool,
    /// How long one object may take to become Current (as Flux's `timeout`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    timeout: String,
    /// Never delete what the inventory has and the input lacks.
    #[arg(long)]
    no_prune: bool,
}

pub struct Settings {
    target: Target,
    report: ReportSettings,
    cluster: ClusterSettings,
    dry_run: bool,
    yes: bool,
    apply: crate::apply::Settings,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let mut targets = args::inputs(&a.input, &cfg, None, false)?;
    if targets.len() > 1 {
        let names: Vec<String> = targets.iter().filter_map(|t| t.cluster.clone()).collect();
        return Err(Failure::Usage(format!(
            "several Flux entry points ({}); a cluster is one cluster: choose one with --flux ENTRY",
            names.join(", ")
        )));
    }
    let timeout =
        crate::simulate::parse_duration(&a.timeout).map_err(|e| format!("--timeout: {e}"))?;
    Ok(Settings {
        target: targets.remove(0),
        report,
        cluster: a.cluster.settings()?,
        dry_run: a.dry_run,
        yes: a.yes,
        apply: crate::apply::Settings {
            object_timeout: timeout,
            prune: !a.no_prune,
            ..Default::default()
        },
    })
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress);
    let (mut compiled, diags) = match super::compile(&s.target, &s.report, &progress) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let shown = s.report.visible(&diags);
    if !shown.is_empty() {
        err(&render::human(&shown, &compiled.sources, s.report.style()));
    }
    compiled.diagnostics = diags;
    let desired = Desired::from_compiled(compiled, "PATH");
    // A CI gate never passes on input it did not fully check: nothing is written when
    // anything failed to render or validate.
    if let Some(reason) = &desired.unusable {
        err(&format!(
            "kiln apply: nothing applied: the input does not render: {reason}\n"
        ));
        return ExitCode::from(1);
    }
    if !desired.held.is_empty() {
        err(&format!(
            "kiln apply: nothing applied: {} object{} failed to render or validate (see above)\n",
            desired.held.len(),
            if desired.held.len() == 1 { "" } else { "s" }
        ));
        return ExitCode::from(1);
    }
    let mut cluster = match s.cluster.connect() {
        Ok(c) => c,
        Err(e) => {
            err(&format!("kiln apply: {e}\n"));
            return ExitCode::from(2);
        }
    };
    progress.say("planning against the cluster");
    let plan = match crate::plan::plan(
        &mut cluster,
        &desired.objects,
        &desired.graph,
        &s.cluster.inventory,
        &desired.held,
    ) {
        Ok(p) => p,
        Err(e) => {
            err(&format!(
                "kiln apply: the cluster at {} refused the plan: {e}\n",
                cluster.server
            ));
            return ExitCode::from(1);
        }
    };
    out(&format!(
        "cluster: {} ({})\n{}",
        cluster.context,
        cluster.server,
        crate::plan::render_text(&plan)
    ));
    let counts = plan.counts();
    let writes: usize = counts
        .iter()
        .filter(|(a, _)| {
            matches!(
                a,
                crate::plan::Action::Create
                    | crate::plan::Action::Update
                    | crate::plan::Action::Delete
            )
        })
        .map(|(_, n)| n)
        .sum();
    if s.dry_run {
        out("dry run: nothing changed\n");
        return ExitCode::SUCCESS;
    }
    if writes == 0 {
        // Nothing to change, yet an earlier run may have been stopped before its objects were
        // ready: look at readiness as an apply does (its server-side applies change nothing).
        out("nothing to change; checking that every object is Current\n");
    } else if !s.yes {
        let question = format!(
            "apply {writes} change{} to {} ({})",
            if writes == 1 { "" } else { "s" },
            cluster.context,
            cluster.server
        );
        if let Err(code) = args::confirm("apply", "apply", "plan", &question) {
            return code;
        }
    }
    progress.say("applying");
    let report = match crate::apply::apply(&mut cluster, &plan, &s.apply) {
        Ok(r) => r,
        Err(e) => {
            err(&format!("kiln apply: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let step = crate::simulate::Step {
        kind: crate::simulate::StepKind::Apply,
        label: "PATH".into(),
        errors: desired.errors,
        warnings: desired.warnings,
        not_applied: None,
        plan: counts,
        statuses: report.by_status(),
        report: Some(report),
        assumed: Vec::new(),
        problems: Vec::new(),
        rollback: Vec::new(),
        rollback_to: None,
        clock: 0,
    };
    let mut text = String::new();
    crate::simulate::render_step_timed(1, &step, false, &mut text);
    out(&text);
    super::exit_for(usize::from(step.failed()))
}
