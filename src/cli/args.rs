//! The flags several commands share, defined once and flattened into each: what to read
//! ([`InputArgs`]: PATHs, `--root`, the rendering flags, `.kiln.yaml`) and how to report
//! ([`ReportArgs`]: `--allow`, `--deny`, `--accept-unrendered`, `-q`, `-v`, `--color`), and
//! their resolution into settings before any work starts.

use super::Failure;
use super::config::{self, Config};
use crate::diag::Policy;
use crate::diag::render::{self, HumanStyle};
use crate::pipeline::Input;
use crate::render::kustomize::LoadRestrictor;
use crate::render::{Discovery, Mode, PlainUnits, flux};
use clap::ValueEnum;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// What to read and how to render it (every command that reads an input).
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Files and directories to read (several may be given; `-` reads standard input).
    /// Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The directory kustomizations may reach into with `../` (default: the Git work tree
    /// holding PATH; outside one, what PATH's kustomizations reach).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Read settings from FILE instead of the `.kiln.yaml` found from PATH upwards.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore `.kiln.yaml`.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// One Git revision to read (`check`, `build`, `graph`; `sim` takes several).
#[derive(clap::Args, Debug, Clone)]
pub struct RevArgs {
    /// Read PATH as it is at this Git revision (a branch, tag, sha, HEAD~1...), without a
    /// checkout; nothing is read from the working tree.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

/// How to render an input.
#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// Expand the Flux Kustomization tree that starts at this directory of PATH (the path the
    /// cluster's bootstrap Kustomization syncs, e.g. clusters/production). Repeat it to check
    /// several clusters, each as one scope.
    #[arg(long, value_name = "ENTRY")]
    pub flux: Vec<String>,
    /// Map a Flux source to a directory of PATH: `GitRepository/NAMESPACE/NAME=DIR` or
    /// `NAMESPACE/NAME=DIR`. Without it every GitRepository is PATH itself.
    #[arg(long = "source", value_name = "REF=DIR")]
    pub sources: Vec<String>,
    /// Fail when a `${VAR}` has no value and no default (Flux's strict substitution).
    #[arg(long)]
    pub strict_substitute: bool,
    /// A file or directory of CustomResourceDefinitions that supply schemas for custom resources.
    #[arg(long = "crds", value_name = "PATH")]
    pub crds: Vec<PathBuf>,
    /// A directory of vendored Helm charts (`NAME-VERSION/` folders or `NAME-VERSION.tgz`, as
    /// `helm pull` leaves them): the Flux HelmReleases whose chart is there are rendered.
    /// Nothing is fetched.
    #[arg(long = "charts", value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// Which files kustomizations may read: kustomize's default `root-only`, or `none` (as Flux
    /// builds; files anywhere under the root).
    #[arg(long, value_enum, value_name = "MODE")]
    pub load_restrictor: Option<Restrictor>,
    /// Render every kustomization root under PATH, also when PATH holds a kustomization itself
    /// (which, without it, is built alone, as `kubectl kustomize PATH` builds it).
    #[arg(long)]
    pub all: bool,
    /// How plain YAML files form units: `root` (all one unit) or `directory` (one per
    /// directory, so sibling directories may hold the same object).
    #[arg(long, value_enum, value_name = "HOW")]
    pub units: Option<UnitsArg>,
    /// Leave out paths matching this gitignore-style pattern (relative to the root).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Files larger than this many bytes are not read [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restrictor {
    RootOnly,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitsArg {
    Root,
    Directory,
}

/// Which cluster, and which of kiln's inventories on it (`apply`, `status`, `delete`).
#[cfg(feature = "kube")]
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// The kubeconfig to use (default: `KUBECONFIG`, then `~/.kube/config`, then the
    /// in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The ApplySet parent Secret that records what kiln applied.
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "default/kiln")]
    pub inventory: String,
}

/// How `apply`, `rollback` and `drift --correct` change a cluster.
#[cfg(feature = "kube")]
#[derive(clap::Args, Debug, Clone)]
pub struct ApplyArgs {
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (for CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long one object may take to become Current (as Flux's `timeout`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    /// Never delete what the inventory has and the input lacks.
    #[arg(long)]
    pub no_prune: bool,
    /// Take fields other field managers own (without it, a conflict stops the object, and
    /// the report names the managers and fields).
    #[arg(long)]
    pub force: bool,
    /// Delete and create again any object whose change the API server refuses in place (an
    /// immutable field); without it only objects annotated
    /// `kustomize.toolkit.fluxcd.io/force: enabled` are.
    #[arg(long)]
    pub force_recreate: bool,
    /// Writes in flight at once within a wave (never across a dependency edge).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// `text`: the plan, a live progress display on standard error (plain lines when it is
    /// not a terminal) and the report; `json`: one JSON event per line on standard output.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: OutputFormat,
}

#[cfg(feature = "kube")]
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// [`ApplyArgs`] checked.
#[cfg(feature = "kube")]
#[derive(Clone, Debug)]
pub struct ApplySettings {
    pub dry_run: bool,
    pub yes: bool,
    pub output: OutputFormat,
    pub engine: crate::apply::Settings,
}

#[cfg(feature = "kube")]
impl ApplyArgs {
    pub fn settings(&self) -> Result<ApplySettings, String> {
        let timeout = crate::simulate::parse_duration(&self.timeout)
            .map_err(|e| format!("--timeout: {e}"))?;
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(format!(
                "--concurrency {}: give a number from 1 to 256",
                self.concurrency
            ));
        }
        Ok(ApplySettings {
            dry_run: self.dry_run,
            yes: self.yes,
            output: self.output,
            engine: crate::apply::Settings {
                object_timeout: timeout,
                prune: !self.no_prune,
                force: self.force,
                force_recreate: self.force_recreate,
                concurrency: self.concurrency,
                ..Default::default()
            },
        })
    }
}

/// Where namespaced objects that name no namespace go (`plan`, `apply`, `drift`, `rollback`).
#[cfg(feature = "kube")]
#[derive(clap::Args, Debug, Clone)]
pub struct NamespaceArgs {
    /// The namespace for namespaced objects that name none (default: the kubeconfig
    /// context's namespace, else `default`), as `kubectl apply -n`.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// [`ClusterArgs`] checked: where to connect, and the inventory.
#[cfg(feature = "kube")]
pub struct ClusterSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub inventory: crate::plan::Inventory,
    /// `-n`, where the command takes it.
    pub namespace: Option<String>,
}

#[cfg(feature = "kube")]
impl ClusterArgs {
    pub fn settings(&self) -> Result<ClusterSettings, String> {
        Ok(ClusterSettings {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            inventory: inventory(&self.inventory)?,
            namespace: None,
        })
    }

    /// With `-n`: checked as a namespace name.
    pub fn settings_in(&self, n: &NamespaceArgs) -> Result<ClusterSettings, String> {
        if let Some(ns) = &n.namespace {
            let ok = !ns.is_empty()
                && ns.len() <= 63
                && ns
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !ns.starts_with('-')
                && !ns.ends_with('-');
            if !ok {
                return Err(format!(
                    "-n {ns}: a namespace is a DNS label (lowercase letters, digits and '-', at most 63)"
                ));
            }
        }
        Ok(ClusterSettings {
            namespace: n.namespace.clone(),
            ..self.settings()?
        })
    }
}

#[cfg(feature = "kube")]
impl ClusterSettings {
    /// Connects, or says why not (a line for `kiln COMMAND: ...`).
    pub fn connect(&self) -> Result<crate::cluster::kube::KubeCluster, String> {
        crate::cluster::kube::KubeCluster::connect(
            self.kubeconfig.as_deref(),
            self.context.as_deref(),
        )
    }
}

/// Asks a person before a command changes a cluster: `Err(exit code)` when the answer is not
/// yes (1), or when nobody can answer (a non-terminal without `--yes`: 2). `verb` is what the
/// command does (`apply`, `delete`), `dry_run` what `--dry-run` does instead (`plan`, `look`).
#[cfg(feature = "kube")]
pub fn confirm(
    command: &str,
    verb: &str,
    dry_run: &str,
    question: &str,
) -> Result<(), std::process::ExitCode> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        super::err(&format!(
            "kiln {command}: not asking on a non-terminal: pass --yes to {verb} without confirmation, or --dry-run to only {dry_run}\n"
        ));
        return Err(std::process::ExitCode::from(2));
    }
    super::err(&format!("{question}? [y/N] "));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        super::err(&format!("kiln {command}: nothing changed\n"));
        Err(std::process::ExitCode::from(1))
    }
}

/// `--inventory NAMESPACE/NAME`.
#[cfg(feature = "kube")]
pub fn inventory(text: &str) -> Result<crate::plan::Inventory, String> {
    let (ns, name) = text
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| format!("--inventory `{text}`: write NAMESPACE/NAME"))?;
    Ok(crate::plan::Inventory::secret(ns, name))
}

/// How to report (every command that prints diagnostics).
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Turn a diagnostic code into an error; `warnings` turns every warning into an error.
    #[arg(long, value_name = "CODE")]
    pub deny: Vec<String>,
    /// Hide the warnings and notes of a code (errors are never hidden).
    #[arg(long, value_name = "CODE")]
    pub allow: Vec<String>,
    /// Accept objects left unrendered for this reason (not-rendered-offline, generator-failed,
    /// flux-source-unavailable): a warning instead of an error.
    #[arg(long, value_name = "CODE")]
    pub accept_unrendered: Vec<String>,
    /// Colour in human output (`auto`: when the stream is a terminal, `NO_COLOR` is unset and
    /// `TERM` is not `dumb`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Say more: informational notes and progress.
    #[arg(long, short, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only: no warnings, notes or progress.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How diagnostics are filtered and shown.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub policy: Policy,
    pub color: bool,
    pub width: usize,
    /// 0 quiet (errors only), 1 normal, 2 verbose (notes and progress), 3 more.
    pub level: u8,
    /// Progress lines on standard error for work that takes more than a second.
    pub progress: bool,
}

impl ReportSettings {
    pub fn style(&self) -> HumanStyle {
        HumanStyle {
            color: self.color,
            width: self.width,
        }
    }

    /// The diagnostics a human sees at this verbosity.
    pub fn visible(&self, diags: &[crate::diag::Diagnostic]) -> Vec<crate::diag::Diagnostic> {
        use crate::diag::Severity;
        diags
            .iter()
            .filter(|d| match d.severity {
                Severity::Error => true,
                Severity::Warning => self.level >= 1,
                Severity::Info => self.level >= 2,
            })
            .cloned()
            .collect()
    }
}

/// Whether colour is wanted on a stream.
pub fn color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_terminal && !no_color && !dumb,
    }
}

/// Resolves the reporting flags, with `.kiln.yaml`'s lists added.
pub fn report(
    a: &ReportArgs,
    cfg: &Config,
    stream_is_terminal: bool,
) -> Result<ReportSettings, String> {
    let mut policy = Policy::default();
    for d in cfg.deny.iter().chain(&a.deny) {
        policy.deny_code(d)?;
    }
    for c in cfg.allow.iter().chain(&a.allow) {
        policy.allow_code(c)?;
    }
    for c in cfg.accept_unrendered.iter().chain(&a.accept_unrendered) {
        policy.accept_unrendered_code(c)?;
    }
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let level = if a.quiet { 0 } else { 1 + a.verbose };
    Ok(ReportSettings {
        policy,
        color: color(a.color, stream_is_terminal),
        width,
        level,
        progress: level >= 2 || (level == 1 && std::io::stderr().is_terminal()),
    })
}

/// Reads `.kiln.yaml` for these input flags: `--config FILE`, or the file found from the first
/// PATH upwards, unless `--no-config`. A malformed file is printed and stops the command.
pub fn load_config(a: &InputArgs) -> Result<Config, Failure> {
    if a.no_config {
        return Ok(Config::default());
    }
    let found = match &a.config {
        Some(f) => {
            if !f.is_file() {
                return Err(Failure::Usage(format!(
                    "--config {}: no such file",
                    f.display()
                )));
            }
            Some(f.clone())
        }
        None => {
            let start = a
                .paths
                .iter()
                .find(|p| p.as_os_str() != "-")
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            config::find(&start)
        }
    };
    let Some(path) = found else {
        return Ok(Config::default());
    };
    match config::load(&path) {
        Ok(c) => Ok(c),
        Err((diags, set)) => {
            let text = render::human(
                &diags,
                &set,
                HumanStyle {
                    color: color(ColorChoice::Auto, std::io::stderr().is_terminal()),
                    width: 100,
                },
            );
            super::err(&text);
            super::err(&format!(
                "kiln: {} is not valid; nothing was checked\n",
                diags.first().and_then(|d| d.path()).unwrap_or(".kiln.yaml")
            ));
            Err(Failure::Reported)
        }
    }
}

/// One input to compile: a cluster (a Flux entry point) or the whole of PATH.
#[derive(Clone, Debug)]
pub struct Target {
    /// The Flux entry point, when there is one.
    pub cluster: Option<String>,
    /// The entry point was found in the repository (`flux bootstrap`'s layout), not given.
    pub detected: bool,
    pub input: Input,
}

/// Resolves the input flags (plus `.kiln.yaml`) into one input per Flux entry point (or one
/// input when there is none). `rev` reads a Git revision; `root_relative` makes every path in
/// diagnostics relative to the root (machine output).
pub fn inputs(
    a: &InputArgs,
    cfg: &Config,
    rev: Option<String>,
    root_relative: bool,
) -> Result<Vec<Target>, String> {
    let r = &a.render;
    let mut paths: Vec<PathBuf> = a.paths.clone();
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let stdin_count = paths.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        return Err("`-` (standard input) may be given once".into());
    }
    let stdin = if stdin_count == 1 {
        if std::io::stdin().is_terminal() {
            return Err(
                "`-` reads manifests from standard input, but it is a terminal; pipe YAML in"
                    .into(),
            );
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Some(std::sync::Arc::<str>::from(text))
    } else {
        None
    };
    let files: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    if a.root.is_some() && rev.is_some() {
        return Err(
            "--root sets the root of a working tree; with --rev the root is the Git repository"
                .into(),
        );
    }
    if stdin.is_some() && rev.is_some() {
        return Err(
            "--rev reads a Git revision; it cannot be combined with `-` (standard input)".into(),
        );
    }
    let first = files.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let mut input = Input::new(&first);
    input.display = first.to_string_lossy().into_owned();
    input.also = files.iter().skip(1).cloned().collect();
    input.stdin_only = files.is_empty();
    input.stdin = stdin;
    input.rev = rev;
    input.root = a.root.clone();
    input.root_relative = root_relative;
    input.exclude = cfg.exclude.iter().chain(&r.exclude).cloned().collect();
    input.max_file_bytes = r
        .max_file_size
        .or(cfg.max_file_size)
        .unwrap_or(crate::source::DEFAULT_MAX_FILE_BYTES);
    input.crds = cfg
        .crds
        .iter()
        .map(|c| cfg.dir.join(c))
        .chain(r.crds.iter().cloned())
        .collect();
    input.provided = cfg.cluster_provided.clone();
    let restrictor = match r.load_restrictor.or(match cfg.load_restrictor.as_deref() {
        Some("none") => Some(Restrictor::None),
        Some(_) => Some(Restrictor::RootOnly),
        None => None,
    }) {
        Some(Restrictor::None) => LoadRestrictor::None,
        _ => LoadRestrictor::RootOnly,
    };
    let units = match r.units.or(match cfg.units.as_deref() {
        Some("directory") => Some(UnitsArg::Directory),
        Some(_) => Some(UnitsArg::Root),
        None => None,
    }) {
        Some(UnitsArg::Directory) => PlainUnits::Directory,
        _ => PlainUnits::Root,
    };
    // Flux entry points: the flags, else the configuration's (relative to its directory).
    let base = if first.is_dir() {
        first.clone()
    } else {
        first.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let mut entries: Vec<String> = if !r.flux.is_empty() {
        r.flux
            .iter()
            .map(|e| e.trim_start_matches("./").to_string())
            .collect()
    } else {
        cfg.flux.iter().map(|e| cfg.relative_to(e, &base)).collect()
    };
    // Nothing said: the clusters `flux bootstrap` laid out below the one directory named are
    // checked as Flux reconciles them, each as one scope.
    let mut detected = false;
    if entries.is_empty()
        && !r.all
        && input.rev.is_none()
        && a.paths.len() <= 1
        && first.is_dir()
        && !input.stdin_only
    {
        entries = flux_clusters(&first);
        detected = !entries.is_empty();
    }
    if entries.is_empty() {
        if !r.sources.is_empty() {
            return Err(
                "--source maps Flux sources; it needs --flux ENTRY (or `flux:` in .kiln.yaml)"
                    .into(),
            );
        }
        if r.strict_substitute {
            return Err("--strict-substitute applies to Flux trees; it needs --flux ENTRY".into());
        }
        if !r.charts.is_empty() {
            return Err("--charts renders the charts of Flux HelmReleases; it needs --flux ENTRY (or `flux:` in .kiln.yaml)".into());
        }
        input.mode = Mode::Auto(Discovery {
            restrictor,
            all: r.all || cfg.all.unwrap_or(false),
            plain_units: units,
        });
        return Ok(vec![Target {
            cluster: None,
            detected: false,
            input,
        }]);
    }
    if r.load_restrictor.is_some() {
        return Err("--load-restrictor applies without --flux; Flux trees are built as Flux builds them (no restriction)".into());
    }
    let mut sources = std::collections::BTreeMap::new();
    for (reference, dir) in &cfg.sources {
        sources.insert(reference.clone(), cfg.relative_to(dir, &base));
    }
    for m in &r.sources {
        let (reference, dir) = m.split_once('=').ok_or_else(|| {
            format!("--source `{m}`: expected REF=DIR, e.g. GitRepository/flux-system/apps=apps")
        })?;
        sources.insert(
            reference.to_string(),
            dir.trim_start_matches("./").to_string(),
        );
    }
    for reference in sources.keys() {
        let parts = reference.split('/').count();
        if !(parts == 2 || parts == 3) || reference.split('/').any(str::is_empty) {
            return Err(format!(
                "--source `{reference}`: the reference is KIND/NAMESPACE/NAME or NAMESPACE/NAME"
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for entry in entries {
        if !seen.insert(entry.clone()) {
            continue;
        }
        let mut o = flux::Options::new(&entry);
        o.sources = sources.clone();
        o.strict = r.strict_substitute || cfg.strict_substitute.unwrap_or(false);
        o.charts = cfg
            .charts
            .iter()
            .map(|c| cfg.dir.join(c))
            .chain(r.charts.iter().cloned())
            .collect();
        let mut i = input.clone();
        i.mode = Mode::Flux(o);
        out.push(Target {
            cluster: Some(entry),
            detected,
            input: i,
        });
    }
    Ok(out)
}

/// The Flux clusters below `dir` in `flux bootstrap`'s layout: every directory holding
/// `flux-system/gotk-sync.yaml` is the path a cluster syncs (relative to `dir`; `.` for `dir`
/// itself). Hidden directories are not searched, nor deeper than six levels.
pub fn flux_clusters(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
        if depth > 6 {
            return;
        }
        if dir.join("flux-system").join("gotk-sync.yaml").is_file() {
            out.push(if rel.is_empty() {
                ".".into()
            } else {
                rel.to_string()
            });
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "node_modules" && n != "flux-system")
            .collect();
        subdirs.sort();
        for n in subdirs {
            let child = if rel.is_empty() {
                n.clone()
            } else {
                format!("{rel}/{n}")
            };
            walk(&dir.join(&n), &child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(dir, "", 0, &mut out);
    out
}
