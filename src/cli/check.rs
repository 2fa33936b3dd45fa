//! `kiln check`: validate everything under PATH (every cluster of `.kiln.yaml` or `--flux`,
//! each as one scope) and report problems like a compiler. Exit 1 when an error remains.

use super::args::{self, InputArgs, ReportArgs, ReportSettings, RevArgs, Target};
use super::progress::Progress;
use super::{Failure, out};
use crate::diag::render::{self, Summary};
use crate::diag::{Counts, Diagnostic};
use clap::ValueEnum;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rev: RevArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format: `short` is one line per problem (`path:line:col: severity[code]:
    /// message`) for grep and editors.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
}

/// How `kiln check` prints diagnostics.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Short,
    Json,
    Github,
    Sarif,
    Markdown,
}

impl Format {
    /// Machine formats name files relative to the repository root, whatever the current
    /// directory.
    fn machine(self) -> bool {
        !matches!(self, Format::Human | Format::Markdown)
    }
}

/// Everything `kiln check` needs, resolved before work starts.
pub struct Settings {
    targets: Vec<Target>,
    report: ReportSettings,
    format: Format,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stdout().is_terminal())?;
    Ok(Settings {
        targets: args::inputs(&a.input, &cfg, a.rev.rev, a.output.machine())?,
        report,
        format: a.output,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress && s.format == Format::Human);
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut summary = Summary::default();
    let mut per_cluster = Vec::new();
    let mut sources = Vec::new();
    let mut root_uri = None;
    for t in &s.targets {
        let (compiled, diags) = match super::compile(t, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let counts = Counts::of(&diags);
        if let Some(c) = &t.cluster {
            per_cluster.push((c.clone(), compiled.files, compiled.objects.len(), counts));
        }
        summary.files = summary.files.max(compiled.files);
        summary.objects += compiled.objects.len();
        root_uri = root_uri.or_else(|| root_uri_of(&compiled.sources));
        all.extend(diags);
        sources.push(compiled);
    }
    if let Err(code) = super::check_source_mappings(&s.targets, &sources) {
        return code;
    }
    crate::diag::normalise(&mut all);
    summary.counts = Counts::of(&all);
    let lookup = Sources(&sources);
    let text = match s.format {
        Format::Human => {
            let mut t = render::human(&s.report.visible(&all), &lookup, s.report.style());
            for (cluster, files, objects, counts) in &per_cluster {
                if per_cluster.len() > 1 {
                    t.push_str(&render::summary_line(
                        &format!("check --flux {cluster}"),
                        &Summary {
                            files: *files,
                            objects: *objects,
                            counts: *counts,
                        },
                    ));
                    t.push('\n');
                }
            }
            // `-q`: nothing at all when nothing is wrong.
            if s.report.level >= 1 || summary.counts.errors > 0 {
                t.push_str(&render::summary_line("check", &summary));
                t.push('\n');
            }
            t
        }
        Format::Short => render::short(&s.report.visible(&all)),
        Format::Json => {
            if per_cluster.len() > 1 {
                let clusters: Vec<_> = per_cluster
                    .iter()
                    .map(|(c, files, objects, counts)| {
                        serde_json::json!({"flux": c, "summary": Summary { files: *files, objects: *objects, counts: *counts }})
                    })
                    .collect();
                let v = serde_json::json!({ "diagnostics": all, "summary": summary, "clusters": clusters });
                let mut t = serde_json::to_string_pretty(&v).unwrap_or_default();
                t.push('\n');
                t
            } else {
                render::json(&all, &summary)
            }
        }
        Format::Github => render::github(&s.report.visible(&all)),
        Format::Sarif => render::sarif(&all, root_uri.as_deref()),
        Format::Markdown => render::markdown(&s.report.visible(&all), &summary),
    };
    out(&text);
    // The process ends here: freeing every parsed value and the graph would only cost time.
    std::mem::forget(sources);
    super::exit_for(summary.counts.errors)
}

/// The `file://` URI of the directory paths are relative to, for SARIF's `originalUriBaseIds`.
pub(super) fn root_uri_of(sources: &crate::source::SourceSet) -> Option<String> {
    let dir = match sources.origin() {
        crate::source::Origin::Directory { root } => root.clone(),
        crate::source::Origin::Git { repository, .. } => repository.clone(),
    };
    let abs = std::fs::canonicalize(&dir).ok()?;
    Some(format!(
        "file://{}/",
        render::percent_encode_path(&abs.to_string_lossy())
    ))
}

/// Source text from the inputs compiled (one per cluster).
struct Sources<'a>(&'a [crate::pipeline::Compiled]);

impl render::SourceLookup for Sources<'_> {
    fn source_text(&self, path: &str) -> Option<std::sync::Arc<str>> {
        self.0.iter().find_map(|c| c.sources.source_text(path))
    }
}
