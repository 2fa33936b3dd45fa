//! `kiln plan`: what `kiln apply` would do to a cluster, computed and shown, and (with `--out
//! FILE`) saved, to be applied unchanged by `kiln apply FILE` or refused there as stale. Also
//! the steps every command that changes a cluster shares: the desired state read and refused
//! when anything in it failed to render or validate, the connection, the plan against the live
//! state.
//!
//! A plan file holds every object it applies except the values of Secrets (only their hashes,
//! as plans show them); applying it reads those again from the repository, from where and with
//! the arguments the plan was made, and refuses when they changed.

use super::args::{
    self, ClusterArgs, ClusterSettings, InputArgs, ReportArgs, ReportSettings, Target,
};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::cluster::kube::KubeCluster;
use crate::diag::render;
use crate::plan::{Action, Plan};
use crate::simulate::Desired;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rev: args::RevArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    namespace: args::NamespaceArgs,
    /// Plan to take fields other field managers own (as `kiln apply --force`); without it a
    /// conflict is shown as a change that would fail.
    #[arg(long)]
    force: bool,
    /// Save the plan to FILE, for `kiln apply FILE` (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// `text` for a reviewer, or `json`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    output: args::OutputFormat,
}

pub struct Settings {
    target: Target,
    report: ReportSettings,
    cluster: ClusterSettings,
    options: crate::plan::Options,
    out: Option<PathBuf>,
    output: args::OutputFormat,
}

/// The only target of an input: a cluster is one cluster.
pub fn one_target(mut targets: Vec<Target>) -> Result<Target, Failure> {
    if targets.len() > 1 {
        let names: Vec<String> = targets.iter().filter_map(|t| t.cluster.clone()).collect();
        return Err(Failure::Usage(format!(
            "several Flux entry points ({}); a cluster is one cluster: choose one with --flux ENTRY",
            names.join(", ")
        )));
    }
    Ok(targets.remove(0))
}

impl Settings {
    /// The input the plan reads.
    pub fn into_target(self) -> Target {
        self.target
    }
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let target = one_target(args::inputs(&a.input, &cfg, a.rev.rev.clone(), false)?)?;
    if let Some(out) = &a.out
        && a.input.paths.iter().any(|p| p.as_os_str() == "-")
    {
        return Err(Failure::Usage(format!(
            "--out {}: a plan read from standard input cannot be saved (applying it reads the repository again for Secret values); give a PATH",
            out.display()
        )));
    }
    Ok(Settings {
        target,
        report,
        cluster: a.cluster.settings_in(&a.namespace)?,
        options: crate::plan::Options {
            force: a.force,
            ignore: cfg.ignore_differences.clone(),
            ..Default::default()
        },
        out: a.out,
        output: a.output,
    })
}

/// The desired state of a target, its diagnostics shown; `Err(exit code)` when anything in
/// it failed to render or validate (a CI gate never changes a cluster from input it did not
/// fully check).
pub fn desired(
    target: &Target,
    report: &ReportSettings,
    progress: &Progress,
    command: &str,
) -> Result<Desired, ExitCode> {
    let (mut compiled, diags) = super::compile(target, report, progress)?;
    let shown = report.visible(&diags);
    if !shown.is_empty() {
        err(&render::human(&shown, &compiled.sources, report.style()));
    }
    compiled.diagnostics = diags;
    let desired = Desired::from_compiled(compiled, "PATH");
    if let Some(reason) = &desired.unusable {
        err(&format!(
            "kiln {command}: nothing done: the input does not render: {reason}\n"
        ));
        return Err(ExitCode::from(1));
    }
    if !desired.held.is_empty() {
        err(&format!(
            "kiln {command}: nothing done: {} object{} failed to render or validate (see above)\n",
            desired.held.len(),
            if desired.held.len() == 1 { "" } else { "s" }
        ));
        return Err(ExitCode::from(1));
    }
    Ok(desired)
}

/// Connects to the cluster the flags name.
pub fn connect(cluster: &ClusterSettings, command: &str) -> Result<KubeCluster, ExitCode> {
    cluster.connect().map_err(|e| {
        err(&format!("kiln {command}: {e}\n"));
        ExitCode::from(2)
    })
}

/// The plan of `desired` against the live cluster.
pub fn make(
    cluster: &mut KubeCluster,
    desired: &Desired,
    settings: &ClusterSettings,
    options: &crate::plan::Options,
    command: &str,
) -> Result<Plan, ExitCode> {
    let mut options = options.clone();
    options.namespace = namespace(settings, cluster);
    crate::plan::plan_with(
        cluster,
        &desired.objects,
        &desired.graph,
        &settings.inventory,
        &desired.held,
        &options,
    )
    .map_err(|e| {
        err(&format!(
            "kiln {command}: the cluster at {} refused the plan: {e}\n",
            cluster.server
        ));
        ExitCode::from(1)
    })
}

/// Where namespaced objects that name none go: `-n`, else the context's namespace.
pub fn namespace(settings: &ClusterSettings, cluster: &KubeCluster) -> String {
    settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.namespace.clone())
}

/// The changes a plan makes (creates, updates, deletes, take-overs).
pub fn writes(plan: &Plan) -> usize {
    plan.changes()
        .filter(|c| {
            matches!(c.action, Action::Create | Action::Update | Action::Delete)
                || !c.take_over.is_empty()
        })
        .count()
}

/// The objects whose changes the server refused in a dry run, or that are held back.
pub fn failing(plan: &Plan) -> Vec<String> {
    plan.changes()
        .filter(|c| c.error.is_some() || c.refused.is_some())
        .map(|c| c.object.clone())
        .collect()
}

/// The plan as text: the target and the changes.
pub fn text(plan: &Plan, cluster: &KubeCluster) -> String {
    format!(
        "cluster: {} ({})\n{}",
        cluster.context,
        cluster.server,
        crate::plan::render_text(plan)
    )
}

/// What `kiln plan` records so that `kiln apply FILE` can read the repository again.
pub fn origin(cluster: &KubeCluster, force: bool, namespace: String) -> crate::plan::Origin {
    crate::plan::Origin {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        force,
        namespace,
        cwd: std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default(),
        args: std::env::args().skip(1).collect(),
    }
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress);
    let desired = match desired(&s.target, &s.report, &progress, "plan") {
        Ok(d) => d,
        Err(code) => return code,
    };
    let mut cluster = match connect(&s.cluster, "plan") {
        Ok(c) => c,
        Err(code) => return code,
    };
    progress.say("planning against the cluster");
    let plan = match make(&mut cluster, &desired, &s.cluster, &s.options, "plan") {
        Ok(p) => p,
        Err(code) => return code,
    };
    match s.output {
        args::OutputFormat::Json => {
            let v = serde_json::json!({
                "context": cluster.context,
                "server": cluster.server,
                "plan": plan,
            });
            out(&format!("{v}\n"));
        }
        args::OutputFormat::Text => out(&text(&plan, &cluster)),
    }
    let failing = failing(&plan);
    if let Some(path) = &s.out {
        if !failing.is_empty() {
            err(&format!(
                "kiln plan: not saved to {}: {} object{} would fail: {}\n",
                path.display(),
                failing.len(),
                if failing.len() == 1 { "" } else { "s" },
                failing.join(", ")
            ));
            return ExitCode::from(1);
        }
        let ns = namespace(&s.cluster, &cluster);
        let text = crate::plan::save(&plan, &origin(&cluster, s.options.force, ns));
        if let Err(e) = super::write_whole(path, &text) {
            err(&format!(
                "kiln plan: cannot write {}: {e}\n",
                path.display()
            ));
            return ExitCode::from(2);
        }
        err(&format!(
            "kiln plan: saved to {}; apply it with `kiln apply {}`\n",
            path.display(),
            path.display()
        ));
    }
    super::exit_for(failing.len())
}
