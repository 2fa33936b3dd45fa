//! The command line. Each subcommand is a module of its own (`check`, `build`, `graph`, `sim`,
//! `test`, `explain`, `completion`) that turns its flags into a settings value before any work
//! starts, then runs the library and prints. The flags every command that reads an input shares
//! (PATH, `--rev`, `--flux`, `--source`, `--crds`, ...) and the reporting flags (`--allow`,
//! `--deny`, `-q`, `-v`, `--color`) are defined once in [`args`] and flattened into each;
//! `.kiln.yaml` ([`config`]) supplies their defaults for a repository.
//!
//! Exit status: 0 when no error remains, 1 when findings include an error, 2 for a usage or
//! environment error. Nothing here panics on a closed pipe: every write goes through [`out`]
//! and [`err`], which treat a closed stream as the end of output.
//!
//! No checks live here; this module only wires the stages and formats their results.

#[cfg(feature = "kube")]
mod apply;
mod args;
mod build;
mod check;
mod completion;
mod config;
#[cfg(feature = "kube")]
mod delete;
mod diff;
#[cfg(feature = "kube")]
mod drift;
#[cfg(feature = "kube")]
mod events;
mod explain;
mod graph;
mod helm;
#[cfg(feature = "kube")]
mod plan;
mod progress;
#[cfg(feature = "serve")]
mod serve;
mod sim;
#[cfg(feature = "kube")]
mod status;
mod test;

use crate::util::Pointer;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// `kiln --version`: kiln's version and commit, and the versions of what it matches.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KILN_COMMIT"),
    ")\nKubernetes schemas v1.36; kustomize v5.5 (as kubectl v1.32 embeds it); Flux v2.7"
);

#[derive(Parser, Debug)]
#[command(
    name = "kiln",
    version = VERSION,
    about = "Compile Kubernetes configuration into validated objects and a dependency graph",
    long_about = "kiln reads Kubernetes configuration (plain YAML, Kustomize, Flux) from files, \
                  directories, standard input or any Git revision, validates every object against \
                  the Kubernetes API's schemas (and the CRDs it finds), orders it into a dependency \
                  graph, and applies it to a simulated cluster. Problems are reported like a \
                  compiler's: file, line, column and a stable code (`kiln explain CODE`).",
    after_help = "Exit status: 0 no errors; 1 errors found (or a simulation or scenario failed); \
                  2 usage or environment error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate every object under PATH and report problems like a compiler.
    Check(check::Args),
    /// Print the objects under PATH as YAML, in apply order.
    Build(build::Args),
    /// Print the dependency graph of the objects under PATH: waves, edges and their reasons.
    Graph(graph::Args),
    /// Apply PATH at each revision in turn to a simulated cluster, then roll back to the first:
    /// waves, readiness, failures and what they blocked, prune, rollback problems.
    Sim(sim::Args),
    /// Run scenario files against a simulated cluster and check their expectations.
    Test(test::Args),
    /// What a change does, for a pull request: two revisions compared object by object,
    /// proved in the simulator (applied, then rolled back), as text, a Markdown comment or
    /// JSON, GitHub annotations or SARIF. Half-built: both revisions are rendered whole.
    Diff(Box<diff::Args>),
    /// What `kiln apply` would change on a cluster: a server-side dry run of every object
    /// against the live state, field by field; `--out FILE` saves it for `kiln apply FILE`.
    #[cfg(feature = "kube")]
    Plan(Box<plan::Args>),
    /// Apply PATH (or a plan saved by `kiln plan --out`) to a cluster: plan against the live
    /// state, refuse it whole if any object would fail, confirm, apply in dependency order
    /// with readiness gates and a live progress display, prune kiln's inventory.
    #[cfg(feature = "kube")]
    Apply(Box<apply::Args>),
    /// Where the live cluster differs from the repository, field by field, with who changed
    /// each field; `--correct` applies the repository's version of what drifted.
    #[cfg(feature = "kube")]
    Drift(Box<drift::Args>),
    /// Apply PATH as it was at an earlier revision (`--to REV`) as a new plan, pruning what
    /// that revision lacks.
    #[cfg(feature = "kube")]
    Rollback(Box<apply::RollbackArgs>),
    /// What kiln's inventory owns on a cluster, and each object's kstatus (exit 0 when all
    /// are Current).
    #[cfg(feature = "kube")]
    Status(status::Args),
    /// Delete everything kiln's inventory owns on a cluster, dependents first, then the
    /// inventory itself.
    #[cfg(feature = "kube")]
    Delete(delete::Args),
    /// Helm charts without Helm: `kiln helm template [NAME] CHART` prints what `helm template`
    /// prints, rendered natively (Go templates, Sprig, Helm's functions, values, subcharts).
    Helm(helm::Args),
    /// Print the catalogue entry of a diagnostic code (or every code with --list).
    Explain(explain::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    Completion(completion::Args),
}

/// The command-line definition, for completions, the man page and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Runs kiln with the process's arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs kiln with `args` (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // clap's own text: usage errors on stderr (exit 2), help and version on stdout.
            let text = if e.use_stderr() {
                usage_error_text(&e)
            } else {
                e.render().to_string()
            };
            if e.use_stderr() {
                err(&text);
                return ExitCode::from(2);
            }
            out(&text);
            return ExitCode::SUCCESS;
        }
    };
    let result = match cli.command {
        Command::Check(a) => check::settings(a).map(check::run),
        Command::Build(a) => build::settings(a).map(build::run),
        Command::Helm(a) => helm::settings(a).map(helm::run),
        Command::Graph(a) => graph::settings(a).map(graph::run),
        #[cfg(feature = "serve")]
        Command::Sim(sim::Args {
            command: Some(sim::Command::Serve(a)),
            ..
        }) => serve::settings(*a).map(serve::run),
        Command::Sim(a) => sim::settings(a).map(sim::run),
        Command::Test(a) => test::settings(a).map(test::run),
        Command::Diff(a) => diff::settings(*a).map(diff::run),
        #[cfg(feature = "kube")]
        Command::Plan(a) => plan::settings(*a).map(plan::run),
        #[cfg(feature = "kube")]
        Command::Apply(a) => apply::settings(*a).map(apply::run),
        #[cfg(feature = "kube")]
        Command::Drift(a) => drift::settings(*a).map(drift::run),
        #[cfg(feature = "kube")]
        Command::Rollback(a) => apply::rollback_settings(*a).map(apply::run),
        #[cfg(feature = "kube")]
        Command::Status(a) => status::settings(a).map(status::run),
        #[cfg(feature = "kube")]
        Command::Delete(a) => delete::settings(a).map(delete::run),
        Command::Explain(a) => explain::settings(a).map(explain::run),
        Command::Completion(a) => Ok(completion::run(a)),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(e)) => {
            err(&format!("kiln: {e}\n"));
            ExitCode::from(2)
        }
        Err(Failure::Reported) => ExitCode::from(2),
    }
}

/// Writes a file whole or not at all (a temporary file beside it, then renamed).
pub(crate) fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
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

/// Why a command could not start: a usage problem (one line), or one already reported (a
/// malformed `.kiln.yaml`, with its diagnostics printed).
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Reported,
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure::Usage(s)
    }
}

/// clap's usage error as one clear first line (`kiln: error: ...`), then its hint and usage.
fn usage_error_text(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let first = lines
        .next()
        .unwrap_or("error")
        .trim_start_matches("error: ")
        .to_string();
    let mut text = format!("kiln: {first}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text
}

/// Writes to stdout, treating a closed pipe (`kiln build | head`) as the end of output.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes to stderr; a closed stderr is not an error either.
pub(crate) fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Exit status 1 when errors remain, 0 otherwise.
fn exit_for(errors: usize) -> ExitCode {
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// An environment error while running (an unreadable path, an unknown revision): exit 2.
fn environment_error(e: impl std::fmt::Display) -> ExitCode {
    err(&format!("kiln: {e}\n"));
    ExitCode::from(2)
}

/// Compiles one input and applies the user's policy to its diagnostics (sorted, deduplicated).
fn compile(
    target: &args::Target,
    report: &args::ReportSettings,
    progress: &progress::Progress,
) -> Result<(crate::pipeline::Compiled, Vec<crate::diag::Diagnostic>), ExitCode> {
    if target.detected
        && report.level >= 1
        && let Some(c) = &target.cluster
    {
        err(&format!(
            "kiln: checking the Flux cluster {c} (found {c}/flux-system/gotk-sync.yaml); pin it in .kiln.yaml with `flux: [{c}]`, or choose with --flux\n"
        ));
    }
    progress.say(&match &target.cluster {
        Some(c) => format!("rendering the Flux tree of {c}"),
        None => format!("reading {}", target.input.display),
    });
    let compiled = crate::pipeline::compile(&target.input).map_err(environment_error)?;
    progress.say(&format!(
        "{} objects from {} files rendered, validated and ordered",
        compiled.objects.len(),
        compiled.files
    ));
    let mut diags = compiled.diagnostics.clone();
    report.policy.apply(&mut diags);
    crate::diag::normalise(&mut diags);
    Ok((compiled, diags))
}

/// A `--source` mapping that no Flux Kustomization of any cluster uses is a mistake (a typo
/// would otherwise leave the tree silently unrendered): exit 2, naming the sources in use. The
/// keys are matched as the renderer matches them: `KIND/NAMESPACE/NAME` or `NAMESPACE/NAME`.
fn check_source_mappings<'c>(
    targets: &[args::Target],
    compiled: impl IntoIterator<Item = &'c crate::pipeline::Compiled>,
) -> Result<(), ExitCode> {
    let mapped: std::collections::BTreeSet<&String> = targets
        .iter()
        .filter_map(|t| match &t.input.mode {
            crate::render::Mode::Flux(o) => Some(o.sources.keys()),
            _ => None,
        })
        .flatten()
        .collect();
    if mapped.is_empty() {
        return Ok(());
    }
    let mut used = std::collections::BTreeSet::new();
    for c in compiled {
        for ob in &c.objects {
            if !crate::render::flux::is_flux_kustomization(&ob.api_version, &ob.key.kind) {
                continue;
            }
            let Some(r) = ob.value.at("/spec/sourceRef") else {
                continue;
            };
            let kind = r.get("kind").and_then(|v| v.as_str()).unwrap_or("");
            let name = r.get("name").and_then(|v| v.as_str()).unwrap_or("");
            let ns = r
                .get("namespace")
                .and_then(|v| v.as_str())
                .filter(|n| !n.is_empty())
                .unwrap_or(&ob.key.namespace);
            used.insert(format!("{kind}/{ns}/{name}"));
            used.insert(format!("{ns}/{name}"));
        }
    }
    for key in mapped {
        if used.contains(key.as_str()) {
            continue;
        }
        let mut near: Vec<&String> = used
            .iter()
            .filter(|u| u.split('/').count() == key.split('/').count())
            .collect();
        near.sort_by_key(|u| crate::object::reference::distance(u, key));
        near.truncate(3);
        let near: Vec<String> = near.iter().map(|u| format!("`{u}`")).collect();
        return Err(environment_error(format!(
            "--source {key}: no Flux Kustomization uses this source{}",
            if near.is_empty() {
                String::new()
            } else {
                format!("; sources in use: {}", near.join(", "))
            }
        )));
    }
    Ok(())
}
