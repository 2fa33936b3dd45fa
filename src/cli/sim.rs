//! `kiln sim`: apply PATH at each revision in turn to one simulated cluster, then the first
//! again (a rollback), and report waves, readiness, failures and what they blocked, prune, and
//! rollback problems. Exit 1 when a step failed.

use super::args::{self, InputArgs, ReportArgs, ReportSettings, Target};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::cluster::sim::{Fault, FaultKind};
use crate::diag::render;
use crate::object::reference::ObjectRef;
use crate::simulate::{Desired, Session, StepKind};
use clap::ValueEnum;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[cfg(feature = "serve")]
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    input: InputArgs,
    /// A Git revision to apply; repeat it to apply several in turn (then the first is applied
    /// again, as a rollback). Without it, PATH as it is on disk is applied once.
    #[arg(long = "rev", value_name = "REV")]
    revs: Vec<String>,
    #[command(flatten)]
    report: ReportArgs,
    /// Break something on purpose: `OBJECT=FAULT`, OBJECT as kubectl or Flux write it
    /// (Deployment/shop/web, deploy/web with -n; `*` in the name matches several), FAULT one of
    /// image-pull-backoff, crash-loop, delay:DURATION, fail-writes:N[:CODE], job-fails,
    /// never-binds.
    #[arg(long = "fault", value_name = "OBJECT=FAULT")]
    faults: Vec<String>,
    /// The namespace of object references written without one.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// How long one object may take to become Current (as Flux's `timeout`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    timeout: String,
    /// The ApplySet parent Secret that records what kiln applied.
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "default/kiln")]
    inventory: String,
    /// Seed of the simulated cluster (generated names, uids).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Do not apply the first revision again at the end.
    #[arg(long)]
    no_rollback: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
}

/// What `kiln sim` does besides simulating a rollout.
#[cfg(feature = "serve")]
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serve a simulated cluster (PATH applied, if given) over the Kubernetes REST API, for
    /// kubectl and any client, until interrupted.
    Serve(Box<super::serve::Args>),
}

/// How `kiln sim` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    #[value(alias = "text")]
    Human,
    Json,
}

/// What `kiln sim` runs.
pub struct Settings {
    /// The states to apply, each with its label.
    inputs: Vec<(String, Target)>,
    rollback: bool,
    config: crate::cluster::sim::SimConfig,
    /// Faults as written (references are resolved once the inputs are rendered).
    faults: Vec<(ObjectRef, FaultKind)>,
    apply: crate::apply::Settings,
    inventory: crate::plan::Inventory,
    report: ReportSettings,
    format: Format,
    /// How the input was named, for the report.
    path: String,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let mut inputs = Vec::new();
    let revs: Vec<Option<String>> = if a.revs.is_empty() {
        vec![None]
    } else {
        a.revs.iter().cloned().map(Some).collect()
    };
    for rev in revs {
        let mut targets = args::inputs(&a.input, &cfg, rev.clone(), a.output == Format::Json)?;
        if targets.len() > 1 {
            let names: Vec<String> = targets.iter().filter_map(|t| t.cluster.clone()).collect();
            return Err(Failure::Usage(format!(
                "several Flux entry points ({}); a simulated cluster is one cluster: choose one with --flux ENTRY",
                names.join(", ")
            )));
        }
        let label = rev.unwrap_or_else(|| "working tree".to_string());
        inputs.push((label, targets.remove(0)));
    }
    let faults = a
        .faults
        .iter()
        .map(|f| {
            let (target, what) = f.split_once('=').ok_or_else(|| {
                format!(
                    "--fault `{f}`: write OBJECT=FAULT, e.g. Deployment/shop/web=image-pull-backoff"
                )
            })?;
            let r = ObjectRef::parse(target, a.namespace.as_deref())
                .map_err(|e| format!("--fault: {e}"))?;
            let kind =
                crate::simulate::parse_fault_kind(what).map_err(|e| format!("--fault: {e}"))?;
            Ok((r, kind))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let timeout =
        crate::simulate::parse_duration(&a.timeout).map_err(|e| format!("--timeout: {e}"))?;
    let (ns, name) = a
        .inventory
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| format!("--inventory `{}`: write NAMESPACE/NAME", a.inventory))?;
    let path = a
        .input
        .paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Settings {
        rollback: !a.no_rollback && a.revs.len() > 1,
        inputs,
        config: crate::cluster::sim::SimConfig {
            seed: a.seed,
            ..Default::default()
        },
        faults,
        apply: crate::apply::Settings {
            object_timeout: timeout,
            ..Default::default()
        },
        inventory: crate::plan::Inventory::secret(ns, name),
        report,
        format: a.output,
        path: if path.is_empty() { ".".into() } else { path },
    })
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress && s.format == Format::Human);
    // Every state is rendered first, so that a fault naming nothing is refused before any work.
    let mut desired = Vec::new();
    for (label, target) in &s.inputs {
        let (mut compiled, diags) = match super::compile(target, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => return code,
        };
        if s.report.level >= 2 {
            let shown = s.report.visible(&diags);
            if !shown.is_empty() {
                err(&render::human(&shown, &compiled.sources, s.report.style()));
            }
        }
        compiled.diagnostics = diags;
        desired.push((label.clone(), compiled));
    }
    let targets: Vec<Target> = s.inputs.iter().map(|(_, t)| t.clone()).collect();
    if let Err(code) = super::check_source_mappings(&targets, desired.iter().map(|(_, c)| c)) {
        return code;
    }
    let faults = match resolve_faults(&s.faults, &desired) {
        Ok(f) => f,
        Err(e) => {
            err(&format!("kiln: {e}\n"));
            return ExitCode::from(2);
        }
    };
    let mut session = Session::new(s.config.clone(), s.inventory.clone(), s.apply.clone());
    for f in faults {
        session.sim.inject(f);
    }
    let mut steps = Vec::new();
    for (label, compiled) in desired {
        progress.say(&format!("applying {label} to the simulated cluster"));
        steps.push(session.apply(
            Desired::from_compiled(compiled, label.clone()),
            StepKind::Apply,
        ));
    }
    if s.rollback {
        progress.say("rolling back");
        steps.extend(session.rollback());
    }
    let failed = steps.iter().filter(|st| st.failed()).count();
    let text = match s.format {
        Format::Json => {
            let v = serde_json::json!({
                "path": s.path,
                "seed": s.config.seed,
                "inventory": s.inventory,
                "steps": steps,
                "failedSteps": failed,
            });
            let mut t = serde_json::to_string_pretty(&v).unwrap_or_default();
            t.push('\n');
            t
        }
        Format::Human => {
            let labels: Vec<&str> = s.inputs.iter().map(|(l, _)| l.as_str()).collect();
            let mut t = format!(
                "kiln sim: {} ({}{}) on a simulated cluster (seed {})\n",
                s.path,
                labels.join(", "),
                if s.rollback {
                    format!(", then back to {}", labels[0])
                } else {
                    String::new()
                },
                s.config.seed
            );
            for (i, st) in steps.iter().enumerate() {
                crate::simulate::render_step(i + 1, st, &mut t);
            }
            t.push_str(&format!(
                "result: {} step{}, {}; virtual time {}\n",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" },
                if failed == 0 {
                    "all converged".to_string()
                } else {
                    format!("{failed} failed")
                },
                crate::simulate::seconds(steps.last().map(|st| st.clock).unwrap_or(0))
            ));
            t
        }
    };
    out(&text);
    // The process ends here: freeing the simulated cluster's objects would only cost time.
    std::mem::forget(session);
    std::mem::forget(steps);
    super::exit_for(failed)
}

/// Each `--fault` reference against the objects of every state to apply: one fault per object
/// it names; a reference that names none is an error with the nearest objects.
fn resolve_faults(
    faults: &[(ObjectRef, FaultKind)],
    desired: &[(String, crate::pipeline::Compiled)],
) -> Result<Vec<Fault>, String> {
    let Some((_, first)) = desired.first() else {
        return Ok(Vec::new());
    };
    let kinds = first.kind_names();
    let keys: std::collections::BTreeSet<&crate::object::ObjectKey> = desired
        .iter()
        .flat_map(|(_, c)| c.objects.iter().map(|o| &o.key))
        .collect();
    let mut out = Vec::new();
    for (r, kind) in faults {
        let hits = r
            .resolve_all(keys.iter().copied(), &kinds)
            .map_err(|e| format!("--fault: {e}"))?;
        for k in hits {
            out.push(Fault {
                kind: k.kind.clone(),
                namespace: k.namespace.clone(),
                name: k.name.clone(),
                fault: kind.clone(),
            });
        }
    }
    Ok(out)
}
