//! `kiln sim serve`: a simulated cluster behind the Kubernetes REST API. It applies PATH (if
//! given) as `kiln sim` would, writes a kubeconfig whose context talks to it, and serves on a
//! loopback address until interrupted, the cluster's clock following the wall clock. With
//! `--state FILE` the cluster is loaded from FILE at start (a state saved before, or what
//! `kubectl get -A -o yaml` printed) and saved to it on exit.

use super::args::{self, InputArgs, ReportArgs, ReportSettings, Target};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::cluster::serve::{ApiServer, Clock};
use crate::cluster::sim::{SimCluster, SimConfig};
use crate::diag::render;
use crate::simulate::{Desired, Session, StepKind};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// The loopback address and port to serve on (port 0: any free port).
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the kubeconfig whose context talks to the simulated cluster (default:
    /// `kiln-sim-PORT.kubeconfig` in the temporary directory; its path is printed).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Load the cluster from FILE at start (a saved state, or the `List` that
    /// `kubectl get -A -o yaml` prints) and save it there on exit.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Run the cluster's clock this many times faster than the wall clock.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    time_scale: f64,
    /// Seed of the simulated cluster (generated names, uids).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Nodes of the simulated cluster; with 0 no Pod is ever scheduled (as on a cluster with
    /// no nodes: Pods stay Pending).
    #[arg(long, value_name = "N", default_value_t = 3)]
    nodes: u32,
    /// Give the cluster what DIR expects it to have already, as `kiln sim` assumes it: the
    /// custom kinds DIR uses that no CRD in it defines (Flux's, an operator's), the namespaces
    /// it uses without defining, the StorageClasses its claims name; without applying DIR.
    /// A cluster ready for `kiln apply DIR` to be tried against. Rendered with the input flags.
    #[arg(long, value_name = "DIR")]
    assume_for: Option<PathBuf>,
    /// Make writes of objects fail, or their Pods misbehave: `KIND/NAMESPACE/NAME=FAULT`
    /// (`*` for any namespace or name), FAULT as `kiln sim --fault` takes it
    /// (`fail-writes:2:429`, `image-pull-backoff`, `crash-loop`, `delay:30s`...).
    #[arg(long = "fault", value_name = "OBJECT=FAULT")]
    faults: Vec<String>,
}

pub struct Settings {
    /// What to apply first, if anything.
    input: Option<Target>,
    report: ReportSettings,
    listen: SocketAddr,
    kubeconfig: Option<PathBuf>,
    state: Option<PathBuf>,
    scale: f64,
    seed: u64,
    nodes: u32,
    /// What to give the cluster before anything is applied.
    assume_for: Option<Target>,
    faults: Vec<crate::cluster::sim::Fault>,
}

/// `KIND/NAMESPACE/NAME=FAULT`.
fn fault(text: &str) -> Result<crate::cluster::sim::Fault, String> {
    let usage = || {
        format!(
            "--fault `{text}`: write KIND/NAMESPACE/NAME=FAULT, e.g. ConfigMap/*/*=fail-writes:2:429"
        )
    };
    let (target, what) = text.split_once('=').ok_or_else(usage)?;
    let parts: Vec<&str> = target.split('/').collect();
    let (kind, namespace, name) = match parts.as_slice() {
        [k, n, m] if !k.is_empty() && !n.is_empty() && !m.is_empty() => (*k, *n, *m),
        [k, m] if !k.is_empty() && !m.is_empty() => (*k, "", *m),
        _ => return Err(usage()),
    };
    Ok(crate::cluster::sim::Fault {
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        fault: crate::simulate::parse_fault_kind(what).map_err(|e| format!("--fault: {e}"))?,
    })
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    if !a.listen.ip().is_loopback() {
        return Err(Failure::Usage(format!(
            "--listen {}: the simulated cluster has no authentication; serve it on a loopback address (127.0.0.1 or [::1])",
            a.listen
        )));
    }
    if !(a.time_scale.is_finite() && a.time_scale > 0.0 && a.time_scale <= 10_000.0) {
        return Err(Failure::Usage(format!(
            "--time-scale {}: give a number above 0 and at most 10000",
            a.time_scale
        )));
    }
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    let input = if a.input.paths.is_empty() {
        None
    } else {
        let mut targets = args::inputs(&a.input, &cfg, None, false)?;
        if targets.len() > 1 {
            let names: Vec<String> = targets.iter().filter_map(|t| t.cluster.clone()).collect();
            return Err(Failure::Usage(format!(
                "several Flux entry points ({}); a simulated cluster is one cluster: choose one with --flux ENTRY",
                names.join(", ")
            )));
        }
        Some(targets.remove(0))
    };
    let assume_for = match &a.assume_for {
        Some(dir) => {
            let mut again = a.input.clone();
            again.paths = vec![dir.clone()];
            let mut targets = args::inputs(&again, &cfg, None, false)?;
            Some(targets.remove(0))
        }
        None => None,
    };
    let faults = a
        .faults
        .iter()
        .map(|f| fault(f))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Settings {
        input,
        assume_for,
        faults,
        report,
        listen: a.listen,
        kubeconfig: a.kubeconfig,
        state: a.state,
        scale: a.time_scale,
        seed: a.seed,
        nodes: a.nodes,
    })
}

/// A kubeconfig whose current context talks to `address`.
pub fn kubeconfig(address: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kiln-sim\n  cluster:\n    server: http://{address}\ncontexts:\n- name: kiln-sim\n  context:\n    cluster: kiln-sim\n    user: kiln-sim\n    namespace: default\ncurrent-context: kiln-sim\nusers:\n- name: kiln-sim\n  user: {{}}\n"
    )
}

/// The objects of a state file: a `List` (or several YAML documents of objects).
fn read_state(path: &std::path::Path) -> Result<Vec<serde_json::Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--state {}: cannot read it: {e}", path.display()))?;
    // Where the first problem is, as a line and column of FILE.
    let where_at = std::cell::Cell::new(None);
    let parsed = crate::syntax::parse(&text, &crate::syntax::Limits::default(), &|span| {
        if where_at.get().is_none() {
            let start = (span.start as usize).min(text.len());
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            where_at.set(Some((line, column)));
        }
        crate::diag::Location::file(path.display().to_string())
    });
    if let Some(d) = parsed.diagnostics.first() {
        let at = where_at
            .get()
            .map(|(l, c)| format!(" (line {l}, column {c})"))
            .unwrap_or_default();
        return Err(format!(
            "--state {}: not a list of objects: {}{at}",
            path.display(),
            d.message
        ));
    }
    let mut objects = Vec::new();
    for d in parsed.documents {
        match d.value.get("items").and_then(serde_json::Value::as_array) {
            Some(items)
                if d.value
                    .get("kind")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                objects.extend(items.iter().cloned())
            }
            _ if d.value.is_null() => {}
            _ => objects.push(d.value),
        }
    }
    Ok(objects)
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn run(s: Settings) -> ExitCode {
    let config = SimConfig {
        seed: s.seed,
        nodes: s.nodes,
        start: now_millis(),
        // As long as a real namespace takes to go (the recorded scenarios: about 5 s), so
        // that a client sees it Terminating.
        namespace_finalize: 5_000,
        ..Default::default()
    };
    let mut sim = SimCluster::new(config.clone());
    if let Some(path) = s.state.as_ref().filter(|p| p.exists()) {
        let objects = match read_state(path) {
            Ok(o) => o,
            Err(e) => {
                err(&format!("kiln: {e}\n"));
                return ExitCode::from(2);
            }
        };
        let problems = sim.restore(objects);
        if !problems.is_empty() {
            err(&format!(
                "kiln: --state {}: {} item{} not loaded:\n{}",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems
                    .iter()
                    .map(|p| format!("  {p}\n"))
                    .collect::<String>()
            ));
            return ExitCode::from(2);
        }
    }
    if let Some(target) = &s.assume_for {
        let progress = Progress::new(s.report.progress);
        let (compiled, _) = match super::compile(target, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let mut session = Session::new(
            config.clone(),
            crate::plan::Inventory::secret("default", "kiln"),
            Default::default(),
        );
        session.sim = sim;
        let assumed = session.assume(&Desired::from_compiled(compiled, "DIR"));
        sim = std::mem::replace(&mut session.sim, SimCluster::new(config.clone()));
        err(&format!(
            "kiln sim serve: {} thing{} {} expects the cluster to have: {}\n",
            assumed.len(),
            if assumed.len() == 1 { "" } else { "s" },
            target.input.display,
            assumed.join(", ")
        ));
    }
    for f in &s.faults {
        sim.inject(f.clone());
    }
    let mut failed = false;
    if let Some(target) = &s.input {
        let progress = Progress::new(s.report.progress);
        let (mut compiled, diags) = match super::compile(target, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let shown = s.report.visible(&diags);
        if !shown.is_empty() {
            err(&render::human(&shown, &compiled.sources, s.report.style()));
        }
        compiled.diagnostics = diags;
        let mut session = Session::new(
            config.clone(),
            crate::plan::Inventory::secret("default", "kiln"),
            Default::default(),
        );
        session.sim = sim;
        let step = session.apply(Desired::from_compiled(compiled, "PATH"), StepKind::Apply);
        let mut text = String::new();
        crate::simulate::render_step(1, &step, &mut text);
        err(&text);
        failed = step.failed();
        sim = std::mem::replace(&mut session.sim, SimCluster::new(config));
    }
    let server = ApiServer::new(sim, Clock::Wall { scale: s.scale });
    let kubeconfig_path = s.kubeconfig.clone();
    let mut written: Option<PathBuf> = None;
    let result = crate::cluster::serve::run(
        server.clone(),
        s.listen,
        |address| {
            let path = kubeconfig_path.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("kiln-sim-{}.kubeconfig", address.port()))
            });
            match super::write_whole(&path, &kubeconfig(address)) {
                Ok(()) => {
                    out(&format!(
                        "kiln sim serve: a simulated Kubernetes {} cluster on http://{address}{}\nkubeconfig: {}\ntry: kubectl --kubeconfig {} get namespaces\nCtrl-C stops it{}.\n",
                        crate::schema::catalog::kubernetes_version(),
                        if failed {
                            " (applying PATH failed: see above)"
                        } else {
                            ""
                        },
                        path.display(),
                        path.display(),
                        if s.state.is_some() {
                            " and saves its state"
                        } else {
                            ""
                        },
                    ));
                    written = Some(path);
                }
                Err(e) => err(&format!(
                    "kiln: cannot write the kubeconfig {}: {e}\n",
                    path.display()
                )),
            }
        },
        std::future::pending(),
    );
    if let Err(e) = result {
        err(&format!("kiln: cannot serve on {}: {e}\n", s.listen));
        return ExitCode::from(2);
    }
    if written.is_none() {
        return ExitCode::from(2);
    }
    if let Some(path) = &s.state {
        let Some(sim) = server.into_sim() else {
            err("kiln: the cluster is still in use; its state was not saved\n");
            return ExitCode::from(2);
        };
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": sim.dump()});
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        if let Err(e) = super::write_whole(path, &text) {
            err(&format!(
                "kiln: cannot save the state to {}: {e}\n",
                path.display()
            ));
            return ExitCode::from(2);
        }
        err(&format!("kiln: state saved to {}\n", path.display()));
    }
    ExitCode::SUCCESS
}
