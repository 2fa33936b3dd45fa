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
    Ok(Settings {
        input,
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

/// Writes a file whole or not at all (a temporary file beside it, then renamed).
fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kiln".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
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
            match write_whole(&path, &kubeconfig(address)) {
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
        if let Err(e) = write_whole(path, &text) {
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
