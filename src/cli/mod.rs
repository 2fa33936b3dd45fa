//! The command line: flags are parsed (clap), resolved into a [`Settings`] value before any work
//! starts, then one function per subcommand runs the library and prints. Exit status: 0 when no
//! error remains, 1 when findings include an error, 2 for a usage or environment error.
//!
//! No checks live here; this module only wires the stages and formats their results.

use crate::diag::render::{self, HumanStyle, Summary};
use crate::diag::{self, Code, Counts, Diagnostic, Policy, Severity};
use crate::pipeline::{self, Compiled, Input};
use crate::render::kustomize::LoadRestrictor;
use crate::render::{Mode, UnitKind, flux};
use crate::syntax::emit;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kiln",
    version,
    about = "Compile Kubernetes configuration into validated objects and a dependency graph",
    long_about = "kiln reads Kubernetes configuration from a directory or any Git revision, validates every \
                  object against the Kubernetes API's schemas (and the CRDs it finds), and reports problems \
                  with exact file, line and column."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate every object under PATH and report problems like a compiler.
    Check(CheckArgs),
    /// Print the objects under PATH as YAML, in apply order.
    Build(BuildArgs),
    /// Print the dependency graph of the objects under PATH: waves, edges and their reasons.
    Graph(GraphArgs),
    /// Apply PATH at each revision in turn to a simulated cluster, then roll back to the first:
    /// waves, readiness, failures and what they blocked, prune, rollback problems.
    Sim(SimArgs),
    /// Run scenario files against a simulated cluster and check their expectations.
    Test(TestArgs),
}

#[derive(Args, Debug)]
struct InputArgs {
    /// Directory (or single file) to read.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Read PATH as it is at this Git revision (a branch, tag, sha, HEAD~1...), without a checkout.
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    #[command(flatten)]
    render: RenderArgs,
}

/// How to read and render an input (shared by every command that reads one).
#[derive(Args, Debug)]
struct RenderArgs {
    /// A file or directory of CustomResourceDefinitions that supply schemas for custom resources.
    #[arg(long = "crds", value_name = "PATH")]
    crds: Vec<PathBuf>,
    /// Files larger than this many bytes are not read.
    #[arg(long, value_name = "BYTES", default_value_t = crate::source::DEFAULT_MAX_FILE_BYTES)]
    max_file_size: u64,
    /// Expand the Flux Kustomization tree that starts at this directory of PATH (the path the
    /// cluster's bootstrap Kustomization syncs, e.g. clusters/production).
    #[arg(long, value_name = "ENTRY")]
    flux: Option<String>,
    /// Map a Flux source to a directory of PATH: `GitRepository/NAMESPACE/NAME=DIR` or
    /// `NAMESPACE/NAME=DIR`. Without it every GitRepository is PATH itself.
    #[arg(long = "source", value_name = "REF=DIR", requires = "flux")]
    sources: Vec<String>,
    /// Fail when a `${VAR}` has no value and no default (Flux's strict substitution).
    #[arg(long, requires = "flux")]
    strict_substitute: bool,
    /// Which files kustomizations may read: kustomize's default `root-only`, or `none` (as Flux
    /// builds; files anywhere in PATH).
    #[arg(long, value_enum, default_value_t = Restrictor::RootOnly, conflicts_with = "flux")]
    load_restrictor: Restrictor,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Restrictor {
    RootOnly,
    None,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Turn a diagnostic code into an error; `warnings` turns every warning into an error.
    #[arg(long, value_name = "CODE")]
    deny: Vec<String>,
    /// Hide a diagnostic code.
    #[arg(long, value_name = "CODE")]
    allow: Vec<String>,
    /// Colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Also show informational notes (skipped Helm charts, non-Kubernetes YAML...).
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    output: CheckFormat,
}

#[derive(Args, Debug)]
struct BuildArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format of the objects.
    #[arg(long, value_enum, default_value_t = BuildFormat::Yaml)]
    output: BuildFormat,
}

#[derive(Args, Debug)]
struct GraphArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    format: GraphFormat,
    /// Explain why object A waits for object B: the chain of edges, each with its reason
    /// (objects as Kind/namespace/name or Kind/name).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    why: Vec<String>,
    /// Show only this object and its direct neighbours.
    #[arg(long, value_name = "OBJECT", conflicts_with = "why")]
    focus: Option<String>,
}

#[derive(Args, Debug)]
struct SimArgs {
    /// Directory to read (inside a Git repository when --rev is given).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// A Git revision to apply; repeat it to apply several in turn (then the first is applied
    /// again, as a rollback). Without it, PATH as it is on disk is applied once.
    #[arg(long = "rev", value_name = "REV")]
    revs: Vec<String>,
    #[command(flatten)]
    render: RenderArgs,
    /// Break something on purpose: `KIND/NAMESPACE/NAME=FAULT`, FAULT one of image-pull-backoff,
    /// crash-loop, delay:DURATION, fail-writes:N[:CODE], job-fails, never-binds (NAME may be `*`).
    #[arg(long = "fault", value_name = "OBJECT=FAULT")]
    faults: Vec<String>,
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
    #[arg(long, value_enum, default_value_t = SimFormat::Text)]
    format: SimFormat,
}

#[derive(Args, Debug)]
struct TestArgs {
    /// Scenario files, or directories of them (every `.yaml` file inside, recursively).
    #[arg(default_value = "scenarios")]
    scenarios: Vec<PathBuf>,
    /// Colour in human output of malformed scenarios.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// How `kiln sim` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimFormat {
    Text,
    Json,
}

/// How `kiln graph` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

/// What `kiln graph` shows.
#[derive(Clone, Debug)]
pub enum GraphView {
    Whole,
    Why(String, String),
    Focus(String),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How `kiln check` prints diagnostics.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    Github,
    Sarif,
}

/// How `kiln build` prints objects.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildFormat {
    Yaml,
    Json,
}

/// How diagnostics are filtered and shown.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub policy: Policy,
    pub color: bool,
    pub width: usize,
    pub show_info: bool,
}

/// Everything a command needs, resolved from flags and environment before work starts.
#[derive(Clone, Debug)]
pub enum Settings {
    Check {
        input: Input,
        report: ReportSettings,
        format: CheckFormat,
    },
    Build {
        input: Input,
        report: ReportSettings,
        format: BuildFormat,
    },
    Graph {
        input: Input,
        report: ReportSettings,
        format: GraphFormat,
        view: GraphView,
    },
    Sim(SimSettings),
    Test {
        scenarios: Vec<PathBuf>,
        color: bool,
    },
}

/// What `kiln sim` runs.
#[derive(Clone, Debug)]
pub struct SimSettings {
    /// The states to apply, each with its label.
    pub inputs: Vec<(String, Input)>,
    pub rollback: bool,
    pub config: crate::cluster::sim::SimConfig,
    pub faults: Vec<crate::cluster::sim::Fault>,
    pub apply: crate::apply::Settings,
    pub inventory: crate::plan::Inventory,
    pub format: SimFormat,
    /// How the input was named, for the report.
    pub path: String,
}

fn resolve_input(a: &InputArgs) -> Result<Input, String> {
    resolve_render(&a.path, a.rev.clone(), &a.render)
}

fn resolve_render(
    path: &std::path::Path,
    rev: Option<String>,
    a: &RenderArgs,
) -> Result<Input, String> {
    let mut input = Input::new(path);
    input.rev = rev;
    input.crds = a.crds.clone();
    input.max_file_bytes = a.max_file_size;
    input.mode = match &a.flux {
        Some(entry) => {
            let mut o = flux::Options::new(entry.trim_start_matches("./"));
            for m in &a.sources {
                let (reference, dir) = m.split_once('=').ok_or_else(|| {
                    format!(
                        "--source `{m}`: expected REF=DIR, e.g. GitRepository/flux-system/apps=apps"
                    )
                })?;
                let parts = reference.split('/').count();
                if !(parts == 2 || parts == 3) || reference.split('/').any(str::is_empty) {
                    return Err(format!(
                        "--source `{m}`: the reference is KIND/NAMESPACE/NAME or NAMESPACE/NAME"
                    ));
                }
                o.sources.insert(
                    reference.to_string(),
                    dir.trim_start_matches("./").to_string(),
                );
            }
            o.strict = a.strict_substitute;
            Mode::Flux(o)
        }
        None => Mode::Auto(match a.load_restrictor {
            Restrictor::RootOnly => LoadRestrictor::RootOnly,
            Restrictor::None => LoadRestrictor::None,
        }),
    };
    Ok(input)
}

fn resolve_report(a: &ReportArgs, stream_is_terminal: bool) -> Result<ReportSettings, String> {
    let mut policy = Policy::default();
    for d in &a.deny {
        if d == "warnings" {
            policy.deny_warnings = true;
        } else {
            policy.deny.push(d.parse::<Code>()?);
        }
    }
    for code in &a.allow {
        policy.allow.push(code.parse::<Code>()?);
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match a.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_terminal && !no_color,
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    Ok(ReportSettings {
        policy,
        color,
        width,
        show_info: a.verbose,
    })
}

fn resolve_sim(a: &SimArgs) -> Result<SimSettings, String> {
    let inputs = if a.revs.is_empty() {
        vec![(
            "working tree".to_string(),
            resolve_render(&a.path, None, &a.render)?,
        )]
    } else {
        a.revs
            .iter()
            .map(|r| {
                Ok((
                    r.clone(),
                    resolve_render(&a.path, Some(r.clone()), &a.render)?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?
    };
    let faults = a
        .faults
        .iter()
        .map(|f| {
            let (target, what) = f.split_once('=').ok_or_else(|| {
                format!(
                    "--fault `{f}`: write OBJECT=FAULT, e.g. Deployment/shop/web=image-pull-backoff"
                )
            })?;
            crate::simulate::parse_fault(target, what).map_err(|e| format!("--fault: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let timeout =
        crate::simulate::parse_duration(&a.timeout).map_err(|e| format!("--timeout: {e}"))?;
    let (ns, name) = a
        .inventory
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| format!("--inventory `{}`: write NAMESPACE/NAME", a.inventory))?;
    Ok(SimSettings {
        inputs,
        rollback: !a.no_rollback && a.revs.len() > 1,
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
        format: a.format,
        path: a.path.to_string_lossy().into_owned(),
    })
}

fn resolve(cli: Cli) -> Result<Settings, String> {
    Ok(match cli.command {
        Command::Check(a) => Settings::Check {
            input: resolve_input(&a.input)?,
            report: resolve_report(&a.report, std::io::stdout().is_terminal())?,
            format: a.output,
        },
        Command::Build(a) => Settings::Build {
            input: resolve_input(&a.input)?,
            report: resolve_report(&a.report, std::io::stderr().is_terminal())?,
            format: a.output,
        },
        Command::Graph(a) => Settings::Graph {
            input: resolve_input(&a.input)?,
            report: resolve_report(&a.report, std::io::stderr().is_terminal())?,
            format: a.format,
            view: match (a.why.as_slice(), a.focus) {
                ([x, y], _) => GraphView::Why(x.clone(), y.clone()),
                (_, Some(f)) => GraphView::Focus(f),
                _ => GraphView::Whole,
            },
        },
        Command::Sim(a) => Settings::Sim(resolve_sim(&a)?),
        Command::Test(a) => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            Settings::Test {
                scenarios: a.scenarios,
                color: match a.color {
                    ColorChoice::Always => true,
                    ColorChoice::Never => false,
                    ColorChoice::Auto => std::io::stdout().is_terminal() && !no_color,
                },
            }
        }
    })
}

/// Runs kiln with the process arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs kiln with the given arguments (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let settings = match resolve(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kiln: {e}");
            return ExitCode::from(2);
        }
    };
    match settings {
        Settings::Check {
            input,
            report,
            format,
        } => check(&input, &report, format),
        Settings::Build {
            input,
            report,
            format,
        } => build(&input, &report, format),
        Settings::Graph {
            input,
            report,
            format,
            view,
        } => graph(&input, &report, format, &view),
        Settings::Sim(s) => sim(&s),
        Settings::Test { scenarios, color } => test(&scenarios, color),
    }
}

/// `kiln sim`: every input applied in turn to one simulated cluster, then the first again.
fn sim(s: &SimSettings) -> ExitCode {
    use crate::simulate::{Desired, Session, StepKind};
    let mut session = Session::new(s.config.clone(), s.inventory.clone(), s.apply.clone());
    for f in &s.faults {
        session.sim.inject(f.clone());
    }
    let mut steps = Vec::new();
    for (label, input) in &s.inputs {
        let compiled = match pipeline::compile(input) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("kiln: {e}");
                return ExitCode::from(2);
            }
        };
        steps.push(session.apply(
            Desired::from_compiled(compiled, label.clone()),
            StepKind::Apply,
        ));
    }
    if s.rollback {
        steps.extend(session.rollback());
    }
    let failed = steps.iter().filter(|st| st.failed()).count();
    let text = match s.format {
        SimFormat::Json => {
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
        SimFormat::Text => {
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
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Scenario files named by the arguments: files as given, directories searched for `.yaml`.
fn scenario_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for a in args {
        if a.is_dir() {
            // Only the top level: directories below hold the states scenarios apply.
            let mut entries: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|e| format!("{}: {e}", a.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            entries.sort();
            if entries.is_empty() {
                walk(a, &mut entries).map_err(|e| format!("{}: {e}", a.display()))?;
            }
            files.extend(entries);
        } else if a.is_file() {
            files.push(a.clone());
        } else {
            return Err(format!(
                "{}: no such scenario file or directory",
                a.display()
            ));
        }
    }
    Ok(files)
}

/// Scenario text for malformed-scenario diagnostics.
struct ScenarioFiles(Vec<(String, std::sync::Arc<str>)>);

impl render::SourceLookup for ScenarioFiles {
    fn source_text(&self, path: &str) -> Option<std::sync::Arc<str>> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
    }
}

/// `kiln test`: runs scenarios; exit 1 when a check fails or a scenario is malformed.
fn test(args: &[PathBuf], color: bool) -> ExitCode {
    let files = match scenario_files(args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("kiln: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    let mut text = String::new();
    for f in &files {
        match crate::simulate::scenario::parse(f) {
            Ok(s) => {
                let outcome = crate::simulate::scenario::run(&s);
                text.push_str(&outcome.transcript);
                text.push('\n');
                if outcome.failed == 0 {
                    passed += 1
                } else {
                    failed += 1
                }
            }
            Err(diags) => {
                invalid += 1;
                let shown = f.to_string_lossy().into_owned();
                let source = std::fs::read_to_string(f).unwrap_or_default();
                let lookup = ScenarioFiles(vec![(shown, source.into())]);
                text.push_str(&render::human(
                    &diags,
                    &lookup,
                    HumanStyle { color, width: 100 },
                ));
            }
        }
    }
    text.push_str(&format!(
        "kiln test: {} scenario{}: {passed} passed, {failed} failed{}\n",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if invalid > 0 {
            format!(", {invalid} malformed")
        } else {
            String::new()
        }
    ));
    out(&text);
    if failed + invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes to stdout, treating a closed pipe (`kiln build | head`) as the end of output.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn visible(diags: &[Diagnostic], report: &ReportSettings) -> Vec<Diagnostic> {
    diags
        .iter()
        .filter(|d| report.show_info || d.severity != Severity::Info)
        .cloned()
        .collect()
}

fn exit_for(counts: Counts) -> ExitCode {
    if counts.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(input: &Input, report: &ReportSettings, format: CheckFormat) -> ExitCode {
    let compiled = match pipeline::compile(input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiln: {e}");
            return ExitCode::from(2);
        }
    };
    let mut diags = compiled.diagnostics.clone();
    report.policy.apply(&mut diags);
    diag::normalise(&mut diags);
    let counts = Counts::of(&diags);
    let summary = Summary {
        files: compiled.files,
        objects: compiled.objects.len(),
        counts,
    };
    let text = match format {
        CheckFormat::Human => {
            let shown = visible(&diags, report);
            let mut s = render::human(
                &shown,
                &compiled.sources,
                HumanStyle {
                    color: report.color,
                    width: report.width,
                },
            );
            s.push_str(&render::summary_line("check", &summary));
            s.push('\n');
            s
        }
        CheckFormat::Json => render::json(&diags, &summary),
        CheckFormat::Github => render::github(&visible(&diags, report)),
        CheckFormat::Sarif => render::sarif(&diags),
    };
    out(&text);
    // The process ends here: freeing every parsed value would only cost time.
    std::mem::forget(compiled);
    exit_for(counts)
}

/// Compiles the input and prints its diagnostics on stderr, for commands whose stdout is data.
fn compile_reporting(
    input: &Input,
    report: &ReportSettings,
) -> Result<(Compiled, Counts), ExitCode> {
    let compiled = match pipeline::compile(input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiln: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let mut diags = compiled.diagnostics.clone();
    report.policy.apply(&mut diags);
    diag::normalise(&mut diags);
    let counts = Counts::of(&diags);
    let shown = visible(&diags, report);
    if !shown.is_empty() {
        eprint!(
            "{}",
            render::human(
                &shown,
                &compiled.sources,
                HumanStyle {
                    color: report.color,
                    width: report.width
                }
            )
        );
    }
    Ok((compiled, counts))
}

fn build(input: &Input, report: &ReportSettings, format: BuildFormat) -> ExitCode {
    let (compiled, counts) = match compile_reporting(input, report) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if counts.errors > 0 {
        let summary = Summary {
            files: compiled.files,
            objects: compiled.objects.len(),
            counts,
        };
        eprintln!(
            "{}; nothing printed",
            render::summary_line("build", &summary)
        );
        return ExitCode::from(1);
    }
    let text = match format {
        BuildFormat::Yaml => build_yaml(&compiled),
        BuildFormat::Json => build_json(&compiled),
    };
    out(&text);
    std::mem::forget(compiled);
    ExitCode::SUCCESS
}

/// The objects of a unit in apply order (the dependency graph's waves, each in Flux's
/// reconcile order).
fn unit_objects<'c>(c: &'c Compiled, u: &pipeline::UnitInfo) -> Vec<&'c crate::object::Object> {
    let rank = c.graph.apply_rank();
    let mut idx: Vec<usize> = u.objects.clone().collect();
    idx.sort_by_key(|&i| (rank[i], i));
    idx.into_iter().map(|i| &c.objects[i]).collect()
}

/// One YAML stream; with several units, a comment line before each object says which unit
/// (directory, or Flux Kustomization) it belongs to.
fn build_yaml(c: &Compiled) -> String {
    let mut text = String::new();
    let many = c.units.len() > 1
        || c.units
            .iter()
            .any(|u| matches!(u.kind, UnitKind::Flux { .. }));
    let mut first = true;
    for u in &c.units {
        for o in unit_objects(c, u) {
            if !first {
                text.push_str("---\n");
            }
            first = false;
            if many {
                text.push_str(&format!(
                    "# {}: {}\n",
                    unit_label(u),
                    c.sources.display(&u.path)
                ));
            }
            text.push_str(&emit::to_yaml(&o.value));
        }
    }
    text
}

fn unit_label(u: &pipeline::UnitInfo) -> String {
    match &u.kind {
        UnitKind::Flux { .. } => u.name.clone(),
        UnitKind::Kustomize => "kustomization".into(),
        UnitKind::Plain => "plain YAML".into(),
    }
}

/// One JSON document: a `List` of every object when there is a single unit, otherwise the units
/// with their objects.
fn build_json(c: &Compiled) -> String {
    let value = if c.units.len() == 1
        && c.units
            .iter()
            .all(|u| !matches!(u.kind, UnitKind::Flux { .. }))
    {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": unit_objects(c, &c.units[0]).iter().map(|o| &o.value).collect::<Vec<_>>(),
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
                    "kind": match u.kind { UnitKind::Flux { .. } => "flux", UnitKind::Kustomize => "kustomize", UnitKind::Plain => "plain" },
                    "path": c.sources.display(&u.path),
                    "objects": unit_objects(c, u).iter().map(|o| &o.value).collect::<Vec<_>>(),
                });
                if !u.depends_on.is_empty() {
                    entry["dependsOn"] = serde_json::json!(u.depends_on.iter().map(|k| k.to_string()).collect::<Vec<_>>());
                }
                entry
            })
            .collect();
        serde_json::json!({ "units": units })
    };
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

fn graph(
    input: &Input,
    report: &ReportSettings,
    format: GraphFormat,
    view: &GraphView,
) -> ExitCode {
    let (compiled, counts) = match compile_reporting(input, report) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let g = &compiled.graph;
    let objects = &compiled.objects;
    let place = |e: &crate::graph::Edge| -> Option<String> {
        let (i, ptr) = e.at.as_ref()?;
        let loc = compiled.locate(&objects[*i], ptr, true);
        Some(match loc.range {
            Some(r) => format!("{}:{}", loc.path, r.line),
            None => loc.path,
        })
    };
    let text = match view {
        GraphView::Why(a, b) => {
            let found = crate::graph::render::find(objects, a)
                .and_then(|x| Ok((x, crate::graph::render::find(objects, b)?)));
            match found {
                Ok((x, y)) => crate::graph::render::why_text(g, objects, x, y, &place),
                Err(e) => {
                    eprintln!("kiln: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        GraphView::Whole | GraphView::Focus(_) => {
            let only = match view {
                GraphView::Focus(f) => match crate::graph::render::find(objects, f) {
                    Ok(x) => Some(crate::graph::render::neighbourhood(g, x)),
                    Err(e) => {
                        eprintln!("kiln: {e}");
                        return ExitCode::from(2);
                    }
                },
                _ => None,
            };
            match format {
                GraphFormat::Text => {
                    let mut s = format!(
                        "kiln graph: {}\n",
                        crate::graph::render::summary(g, objects)
                    );
                    s.push_str(&crate::graph::render::text(g, objects, only.as_ref()));
                    s
                }
                GraphFormat::Dot => crate::graph::render::dot(g, objects, only.as_ref()),
                GraphFormat::Mermaid => crate::graph::render::mermaid(g, objects, only.as_ref()),
                GraphFormat::Json => crate::graph::render::json(g, objects, &place, only.as_ref()),
            }
        }
    };
    out(&text);
    std::mem::forget(compiled);
    exit_for(counts)
}
