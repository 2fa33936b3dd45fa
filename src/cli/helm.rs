//! `kiln helm template [NAME] CHART`: a chart rendered natively, printed as `helm template`
//! prints it, with Helm's own flags, so the two can be held side by side; `-o json` gives the
//! documents as JSON for tools. Failures are diagnostics with the template's file, line and
//! column, and Helm's wording.

use super::{Failure, err, out};
use crate::diag::render::{self, HumanStyle, SourceLookup};
use crate::diag::{Code, Diagnostic, Location, TextRange};
use crate::render::helm::{self, HelmErrorKind, ReleaseOptions, strvals};
use clap::ValueEnum;
use gotmpl::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: HelmCommand,
}

#[derive(clap::Subcommand, Debug)]
enum HelmCommand {
    /// Render a chart as `helm template` does, without Helm: [NAME] CHART, where CHART is a
    /// chart directory or a `.tgz` archive.
    ///
    /// Charts are not fetched from repositories or registries (`helm pull` leaves an archive).
    /// Half-built: Sprig's key and certificate functions (genCA, genPrivateKey,
    /// genSelfSignedCert, genSignedCert), derivePassword, bcrypt and
    /// htpasswd fail with a message saying they are not built; dateInZone knows UTC only.
    Template(TemplateArgs),
}

#[derive(clap::Args, Debug)]
struct TemplateArgs {
    /// The release name (Helm's default: release-name), then the chart; or just the chart.
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    args: Vec<String>,
    /// Values files, merged in order (later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Values on the command line: a.b=c,list[0]=x (true, false, null and integers typed).
    #[arg(long = "set", value_name = "VALUES")]
    set: Vec<String>,
    /// As --set, every value a string.
    #[arg(long = "set-string", value_name = "VALUES")]
    set_string: Vec<String>,
    /// As --set, every value JSON: a.b={"x":1}.
    #[arg(long = "set-json", value_name = "VALUES")]
    set_json: Vec<String>,
    /// The release namespace (.Release.Namespace).
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    namespace: String,
    /// The Kubernetes version of .Capabilities.
    #[arg(long = "kube-version", default_value = "v1.36.0")]
    kube_version: String,
    /// More API versions for .Capabilities.APIVersions (group/version or group/version/Kind).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    api_versions: Vec<String>,
    /// Also print the chart's crds/ files.
    #[arg(long = "include-crds")]
    include_crds: bool,
    /// Leave test hooks out.
    #[arg(long = "skip-tests")]
    skip_tests: bool,
    /// Only the documents of these templates (paths as in `# Source:`; globs allowed).
    #[arg(short = 's', long = "show-only")]
    show_only: Vec<String>,
    /// Render as an upgrade (.Release.IsUpgrade).
    #[arg(long = "is-upgrade")]
    is_upgrade: bool,
    /// Output: Helm's YAML stream, or JSON documents for tools.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    output: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
}

pub struct Settings {
    chart: PathBuf,
    values_files: Vec<PathBuf>,
    sets: Vec<(String, strvals::Mode)>,
    opts: ReleaseOptions,
    format: Format,
    color: bool,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let HelmCommand::Template(t) = a.command;
    let (name, chart) = match t.args.as_slice() {
        [chart] => ("release-name".to_string(), chart.clone()),
        [name, chart] => (name.clone(), chart.clone()),
        _ => return Err(Failure::Usage("expected [NAME] CHART".into())),
    };
    if chart.contains("://") || chart.starts_with("oci:") {
        return Err(Failure::Usage(format!(
            "{chart}: charts from repositories and registries are not fetched by `kiln helm template`; pass a chart directory or a .tgz archive (`helm pull` leaves one)"
        )));
    }
    let mut sets = Vec::new();
    sets.extend(t.set_json.into_iter().map(|s| (s, strvals::Mode::Json)));
    sets.extend(t.set.into_iter().map(|s| (s, strvals::Mode::Typed)));
    sets.extend(t.set_string.into_iter().map(|s| (s, strvals::Mode::String)));
    Ok(Settings {
        chart: PathBuf::from(chart),
        values_files: t.values,
        sets,
        opts: ReleaseOptions {
            name,
            namespace: t.namespace,
            kube_version: t.kube_version,
            api_versions: t.api_versions,
            include_crds: t.include_crds,
            skip_tests: t.skip_tests,
            show_only: t.show_only,
            is_upgrade: t.is_upgrade,
            ..ReleaseOptions::default()
        },
        format: t.output,
        color: std::io::stderr().is_terminal(),
    })
}

/// Reads files for diagnostics' source lines.
struct Disk;

impl SourceLookup for Disk {
    fn source_text(&self, path: &str) -> Option<Arc<str>> {
        std::fs::read_to_string(path).ok().map(Arc::from)
    }
}

fn report(diags: &[Diagnostic], color: bool) -> ExitCode {
    err(&render::human(
        diags,
        &Disk,
        HumanStyle { color, width: 100 },
    ));
    ExitCode::from(1)
}

/// A location in a file from a 1-based line and 0-based column.
fn location_at(path: &Path, line: usize, col: usize) -> Location {
    let shown = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(path) else {
        return Location::file(shown);
    };
    let start_of_line: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let start = (start_of_line + col).min(text.len());
    let end = text[start..]
        .find(['\n', ' ', '}'])
        .map(|i| start + i.max(1))
        .unwrap_or(text.len())
        .min(text.len());
    Location {
        path: shown,
        range: Some(TextRange {
            start,
            end,
            line,
            column: col + 1,
            end_line: line,
            end_column: col + 1 + (end - start),
        }),
    }
}

/// The file behind Helm's template name (`chart/charts/sub/templates/x.yaml`).
fn template_file(chart_dir: &Path, name: &str) -> Option<PathBuf> {
    let (_, rest) = name.split_once('/')?;
    let p = chart_dir.join(rest);
    p.is_file().then_some(p)
}

/// Turns Helm's error into a diagnostic, placed at the template line Helm names.
fn diagnostic(chart_dir: &Path, e: &helm::HelmError) -> Diagnostic {
    let code = match e.kind {
        HelmErrorKind::ReleaseName | HelmErrorKind::Schema => Code::HelmValuesInvalid,
        HelmErrorKind::KubeVersion | HelmErrorKind::Chart => Code::HelmChartInvalid,
        HelmErrorKind::Parse | HelmErrorKind::Execute | HelmErrorKind::ManifestYaml => {
            Code::HelmTemplateFailed
        }
    };
    let mut d = Diagnostic::new(code, e.message.clone());
    // "execution error at (NAME:LINE:COL): ..." and "template: NAME:LINE:COL: ...".
    let place = e
        .message
        .split_once(" at (")
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(p, _)| p.to_string())
        .or_else(|| {
            e.message
                .strip_prefix("template: ")
                .and_then(|r| r.split(": ").next())
                .map(str::to_string)
        });
    if let Some(place) = place {
        let mut parts = place.rsplitn(3, ':');
        let (col, line, name) = (parts.next(), parts.next(), parts.next());
        let (name, line, col) = match (name, line, col) {
            (Some(n), Some(l), Some(c)) => (n, l.parse().ok(), c.parse().ok()),
            (None, Some(n), Some(l)) => (n, l.parse().ok(), Some(0)),
            _ => (place.as_str(), None, None),
        };
        if let (Some(file), Some(line)) = (template_file(chart_dir, name), line) {
            d = d.at(location_at(&file, line, col.unwrap_or(0)), "here");
        }
    } else if e.kind == HelmErrorKind::ManifestYaml
        && let Some(name) = e
            .message
            .strip_prefix("YAML parse error on ")
            .and_then(|r| r.split(':').next())
        && let Some(file) = template_file(chart_dir, name)
    {
        d = d.at(Location::file(file.display().to_string()), "renders this");
    }
    if d.primary.is_none() {
        d = d.at(
            Location::file(chart_dir.display().to_string()),
            "this chart",
        );
    }
    d
}

pub fn run(s: Settings) -> ExitCode {
    // Template recursion is bounded by the engine's limits; give it a stack with room.
    match std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || render_release(s))
        .map(|h| h.join())
    {
        Ok(Ok(code)) => code,
        _ => {
            err("kiln: error: the renderer stopped unexpectedly\n");
            ExitCode::from(2)
        }
    }
}

fn render_release(s: Settings) -> ExitCode {
    let values = Value::map(Default::default());
    for f in &s.values_files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                return report(
                    &[Diagnostic::new(
                        Code::HelmValuesInvalid,
                        format!("cannot read the values file: {e}"),
                    )
                    .at(Location::file(f.display().to_string()), "here")],
                    s.color,
                );
            }
        };
        match gotmpl::yaml::from_yaml(&text) {
            Ok(v @ Value::Map(_)) => strvals::merge_maps(&values, &v),
            Ok(Value::Nil) => {}
            Ok(_) => {
                return report(
                    &[Diagnostic::new(
                        Code::HelmValuesInvalid,
                        "a values file must hold a mapping",
                    )
                    .at(Location::file(f.display().to_string()), "here")],
                    s.color,
                );
            }
            Err(e) => {
                // go-yaml's "yaml: line N: ..." places the error.
                let line = e
                    .split("line ")
                    .nth(1)
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.trim().parse::<usize>().ok());
                let at = match line {
                    Some(l) => location_at(f, l, 0),
                    None => Location::file(f.display().to_string()),
                };
                return report(
                    &[Diagnostic::new(Code::HelmValuesInvalid, e).at(at, "here")],
                    s.color,
                );
            }
        }
    }
    for (text, mode) in &s.sets {
        if let Err(e) = strvals::parse_into(text, &values, *mode) {
            let flag = match mode {
                strvals::Mode::Typed => "--set",
                strvals::Mode::String => "--set-string",
                strvals::Mode::Json => "--set-json",
            };
            err(&format!(
                "kiln: error[helm-values-invalid]: failed parsing {flag} data: {e}\n"
            ));
            return ExitCode::from(1);
        }
    }
    let chart = match helm::chart::load(&s.chart) {
        Ok(c) => c,
        Err(e) => {
            return report(
                &[Diagnostic::new(Code::HelmChartInvalid, e.message)
                    .at(Location::file(e.path), "this chart")],
                s.color,
            );
        }
    };
    let catalog = crate::schema::catalog::Catalog::builtin();
    let api = helm::default_api_versions(&catalog);
    let result = helm::render(chart, &values, &s.opts, &api).map(|r| {
        (
            helm::template_output(&r, &s.opts),
            r.manifests,
            r.hooks,
            r.warnings,
            r.not_reproducible,
        )
    });
    match result {
        Err(e) => report(&[diagnostic(&s.chart, &e)], s.color),
        Ok((text, manifests, hooks, warnings, not_reproducible)) => {
            let mut notes: Vec<Diagnostic> = warnings
                .iter()
                .map(|w| {
                    Diagnostic::new(Code::HelmValuesInvalid, w.clone())
                        .severity(crate::diag::Severity::Warning)
                })
                .collect();
            if !not_reproducible.is_empty() {
                notes.push(Diagnostic::new(
                    Code::HelmNotReproducible,
                    format!(
                        "the chart uses {}: kiln's output repeats (seeded from the release name and namespace), Helm's changes on every run",
                        not_reproducible.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !notes.is_empty() {
                err(&render::human(
                    &notes,
                    &(),
                    HumanStyle {
                        color: s.color,
                        width: 100,
                    },
                ));
            }
            match s.format {
                Format::Yaml => out(&text),
                Format::Json => out(&json_documents(&manifests, &hooks, &s.opts)),
            }
            ExitCode::SUCCESS
        }
    }
}

fn json_documents(
    manifests: &[helm::manifest::Manifest],
    hooks: &[helm::manifest::Manifest],
    opts: &ReleaseOptions,
) -> String {
    let mut docs = Vec::new();
    for m in manifests
        .iter()
        .chain(hooks.iter().filter(|h| !(opts.skip_tests && h.is_test())))
    {
        if !opts.show_only.is_empty()
            && !opts
                .show_only
                .iter()
                .any(|p| p == &m.path || helm::chart::glob_match(p, &m.path, false))
        {
            continue;
        }
        let Ok(obj) = gotmpl::yaml::from_yaml(&format!("{}\n", m.content)) else {
            continue;
        };
        if obj.is_nil() {
            continue;
        }
        let mut entry = gotmpl::Map::new();
        entry.insert("source".into(), Value::from(m.path.as_str()));
        if !m.hook_events.is_empty() {
            entry.insert(
                "hook".into(),
                Value::list(
                    m.hook_events
                        .iter()
                        .map(|e| Value::from(e.as_str()))
                        .collect(),
                ),
            );
        }
        entry.insert("object".into(), obj);
        docs.push(Value::map(entry));
    }
    let mut s = gotmpl::json::to_pretty_json(&Value::list(docs), false).unwrap_or_default();
    s.push('\n');
    s
}
