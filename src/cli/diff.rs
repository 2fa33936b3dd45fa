//! `kiln diff --base REV [--head REV] [PATH]`: what a change does, for a pull request. Both
//! revisions are read from Git (head defaults to the working tree), rendered, validated and
//! graphed; the objects are compared ([`crate::diff`]); the change is proved in the simulator
//! (base applied, then head, then base again) and the review printed for a person (`human`),
//! a pull-request comment (`markdown`, within GitHub's 65,536 characters: object diffs that do
//! not fit go to `--split DIR`), or a program (`json`).
//!
//! Half-built, and said so in `--help`: both revisions are rendered whole (not only the units
//! the changed files feed).

use super::args::{self, InputArgs, ReportArgs, ReportSettings, Target};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::diff::{NoiseRule, Review, Verdicts};
use crate::simulate::{Desired, Session, StepKind};
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// GitHub's limit on a comment's body.
pub const COMMENT_LIMIT: usize = 65_536;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The revision the change starts from (a branch, tag, sha, `origin/main`).
    #[arg(long, value_name = "REV", required_unless_present = "base_dir")]
    base: Option<String>,
    /// Compare with a second checkout of the repository instead of a revision (PATH is read
    /// at the same place inside DIR).
    #[arg(long, value_name = "DIR", conflicts_with = "base")]
    base_dir: Option<PathBuf>,
    /// The revision the change ends at (default: the working tree).
    #[arg(long, value_name = "REV")]
    head: Option<String>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// `human`, `markdown` (a pull-request comment), `json`, `github` (annotations) or
    /// `sarif` (the findings introduced).
    #[arg(long, short = 'o', value_enum, default_value = "human")]
    output: Format,
    /// Where object diffs that do not fit in one comment go, as numbered Markdown parts.
    #[arg(long, value_name = "DIR")]
    split: Option<PathBuf>,
    /// What makes the exit status 1: `findings` introduced (errors and warnings), failed
    /// `verdicts` of the simulator, `danger` notes; `none` for never.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "findings,verdicts"
    )]
    fail_on: Vec<FailOn>,
    /// Show the changes the default noise rules hide (a chart's version label, checksum
    /// annotations); their counts are always shown. The repository's own rules
    /// (`diffNoise` in `.kiln.yaml`) still apply.
    #[arg(long)]
    no_default_filters: bool,
    /// Skip the simulator's verdicts.
    #[arg(long)]
    no_verdicts: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Markdown,
    Json,
    /// GitHub Actions annotations on head's lines: findings introduced, danger notes,
    /// objects that fail in the simulator, and a notice on each changed object.
    Github,
    /// The findings introduced, as SARIF 2.1.0 (for code scanning).
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Findings,
    Verdicts,
    Danger,
    None,
}

pub struct Settings {
    /// (cluster label, base target, head target) per cluster of the input.
    pairs: Vec<(String, Target, Target)>,
    report: ReportSettings,
    output: Format,
    split: Option<PathBuf>,
    fail_on: Vec<FailOn>,
    noise: Vec<NoiseRule>,
    verdicts: bool,
    base: String,
    head: String,
    /// The Git work tree's top, to tell a shallow clone.
    root: Option<PathBuf>,
    /// `--base-dir`, made absolute: base's paths are shown relative to it.
    base_dir: Option<String>,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let report = args::report(&a.report, &cfg, std::io::stderr().is_terminal())?;
    if a.input.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(Failure::Usage(
            "kiln diff reads two revisions from Git; standard input has no history".into(),
        ));
    }
    let head = args::inputs(&a.input, &cfg, a.head.clone(), false)?;
    let base = match (&a.base, &a.base_dir) {
        (Some(rev), _) => args::inputs(&a.input, &cfg, Some(rev.clone()), false)?,
        (None, Some(dir)) => {
            if a.head.is_some() {
                return Err(Failure::Usage(
                    "--base-dir compares two directories: head is the working tree (drop --head)"
                        .into(),
                ));
            }
            args::inputs(&rebased(&a.input, dir)?, &cfg, None, false)?
        }
        (None, None) => return Err(Failure::Usage("give --base REV or --base-dir DIR".into())),
    };
    if base.len() != head.len() {
        return Err(Failure::Usage(
            "base and head have different Flux entry points; name them with --flux".into(),
        ));
    }
    // The Git work tree's top, found upwards from PATH.
    let start = a
        .input
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let root = std::fs::canonicalize(&start).ok().and_then(|p| {
        p.ancestors()
            .find(|d| d.join(".git").exists())
            .map(PathBuf::from)
    });
    let pairs = base
        .into_iter()
        .zip(head)
        .map(|(b, h)| {
            let label = h.cluster.clone().unwrap_or_else(|| "PATH".to_string());
            (label, b, h)
        })
        .collect();
    if a.split.is_some() && a.output != Format::Markdown {
        return Err(Failure::Usage("--split is for --output markdown".into()));
    }
    Ok(Settings {
        pairs,
        report,
        output: a.output,
        split: a.split,
        fail_on: a.fail_on,
        noise: if a.no_default_filters {
            cfg.diff_noise.clone()
        } else {
            NoiseRule::defaults()
                .into_iter()
                .chain(cfg.diff_noise.clone())
                .collect()
        },
        verdicts: !a.no_verdicts,
        base_dir: a.base_dir.as_ref().and_then(|d| {
            std::fs::canonicalize(d)
                .ok()
                .map(|d| format!("{}/", d.to_string_lossy()))
        }),
        base: match (a.base, &a.base_dir) {
            (Some(rev), _) => rev,
            (None, Some(dir)) => dir.display().to_string(),
            (None, None) => String::new(),
        },
        head: a.head.unwrap_or_else(|| "the working tree".to_string()),
        root,
    })
}

/// The input flags with each PATH read at the same place in `dir` (another checkout).
fn rebased(input: &InputArgs, dir: &std::path::Path) -> Result<InputArgs, String> {
    if !dir.is_dir() {
        return Err(format!("--base-dir {}: no such directory", dir.display()));
    }
    let top = |p: &std::path::Path| {
        std::fs::canonicalize(p).ok().and_then(|p| {
            p.ancestors()
                .find(|d| d.join(".git").exists())
                .map(PathBuf::from)
        })
    };
    let mut out = input.clone();
    let paths = if input.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        input.paths.clone()
    };
    out.paths = Vec::new();
    for p in paths {
        let abs = std::fs::canonicalize(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let root = top(&abs).ok_or_else(|| {
            format!(
                "--base-dir: {} is not in a Git work tree, so its place in {} is unknown",
                p.display(),
                dir.display()
            )
        })?;
        let rel = abs.strip_prefix(&root).unwrap_or(&abs);
        out.paths.push(dir.join(rel));
    }
    if let Some(r) = &input.root {
        let abs = std::fs::canonicalize(r).map_err(|e| format!("--root {}: {e}", r.display()))?;
        if let Some(root) = top(&abs) {
            out.root = Some(dir.join(abs.strip_prefix(&root).unwrap_or(&abs)));
        }
    }
    Ok(out)
}

/// Says how to fetch the base when the clone is shallow.
fn shallow_hint(root: Option<&PathBuf>, base: &str) {
    let shallow = root
        .map(|r| r.join(".git/shallow"))
        .is_some_and(|p| p.exists());
    if shallow {
        err(&format!(
            "kiln diff: this clone is shallow, and the base revision `{base}` is probably outside it: fetch its history (actions/checkout with `fetch-depth: 0`, or `git fetch --deepen=N origin`)\n"
        ));
    }
}

/// One line per object that failed, with its error.
fn failures(step: &crate::simulate::Step) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = &step.not_applied {
        out.push(format!("nothing applied: {why}"));
    }
    if let Some(r) = &step.report {
        for o in r.failed() {
            out.push(match (&o.error, o.blocked_by.is_empty()) {
                (Some(e), _) => format!("{}: {e}", o.object),
                (None, false) => format!(
                    "{}: skipped, waits for {}",
                    o.object,
                    o.blocked_by.join(", ")
                ),
                (None, true) => format!("{}: {} ({})", o.object, o.word(), o.message),
            });
        }
    }
    out
}

/// Base, then head, then base again, on one simulated cluster.
fn verdicts(base: crate::pipeline::Compiled, head: crate::pipeline::Compiled) -> Verdicts {
    let mut session = Session::new(
        crate::cluster::sim::SimConfig::default(),
        crate::plan::Inventory::secret("default", "kiln"),
        crate::apply::Settings::default(),
    );
    let (bd, hd) = (
        Desired::from_compiled(base, "base"),
        Desired::from_compiled(head, "head"),
    );
    let base_values: std::collections::BTreeMap<
        String,
        (crate::object::ObjectKey, serde_json::Value),
    > = {
        let keys = crate::plan::stored_keys(&mut session.sim, &bd.objects);
        keys.into_iter()
            .zip(&bd.objects)
            .map(|(k, o)| (k.to_string(), (k, o.value.clone())))
            .collect()
    };
    let s1 = session.apply(bd, StepKind::Apply);
    let live = |s: &Session| -> std::collections::BTreeSet<String> {
        s.sim
            .dump()
            .iter()
            .map(|v| crate::cluster::key_of(v).to_string())
            .collect()
    };
    let before = live(&session);
    let head_keys: std::collections::BTreeSet<String> = {
        let keys = crate::plan::stored_keys(&mut session.sim, &hd.objects);
        keys.iter().map(|k| k.to_string()).collect()
    };
    let s2 = session.apply(hd, StepKind::Apply);
    let after = live(&session);
    let pruned: Vec<String> = s2
        .report
        .as_ref()
        .map(|r| r.pruned.iter().map(|p| p.object.clone()).collect())
        .unwrap_or_default();
    let cascaded: Vec<String> = base_values
        .keys()
        .filter(|k| before.contains(*k) && !after.contains(*k))
        .filter(|k| !pruned.contains(k) && !head_keys.contains(*k))
        .cloned()
        .collect();
    let data_loss: Vec<String> = pruned
        .iter()
        .chain(&cascaded)
        .filter_map(|k| {
            let (key, v) = base_values.get(k)?;
            crate::diff::holds_data(key, v).then(|| k.clone())
        })
        .collect();
    let s3 = session.rollback();
    Verdicts {
        base_failures: failures(&s1),
        converges: !s2.failed(),
        failures: failures(&s2),
        pruned,
        cascaded,
        data_loss,
        rollback_converges: s3.as_ref().is_none_or(|s| !s.failed()),
        rollback_failures: s3.as_ref().map(failures).unwrap_or_default(),
    }
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress);
    let mut reviews: Vec<(String, Review)> = Vec::new();
    for (label, base_target, head_target) in &s.pairs {
        let (mut base, bdiags) = match super::compile(base_target, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => {
                shallow_hint(s.root.as_ref(), &s.base);
                return code;
            }
        };
        let (mut head, hdiags) = match super::compile(head_target, &s.report, &progress) {
            Ok(c) => c,
            Err(code) => return code,
        };
        base.diagnostics = bdiags;
        head.diagnostics = hdiags;
        progress.say("comparing the revisions");
        let mut review = crate::diff::review(&base, &mut head, s.noise.clone());
        // Base read from another checkout: its places as in the repository.
        if let Some(prefix) = &s.base_dir {
            let strip = |p: &mut String| {
                if let Some(rest) = p.strip_prefix(prefix.as_str()) {
                    *p = rest.to_string();
                }
            };
            for o in review.objects.iter_mut() {
                if let Some(l) = o.origin.as_mut() {
                    strip(&mut l.path);
                }
            }
            for l in review.origins.values_mut() {
                strip(&mut l.path);
            }
            for f in review.fixed.iter_mut() {
                if let Some(l) = f.location.as_mut() {
                    strip(l);
                }
            }
        }
        if s.verdicts {
            progress.say("applying base, head and base again in the simulator");
            let secrets = crate::diff::secret_values(base.objects.iter().chain(&head.objects));
            let mut v = verdicts(base, head);
            for list in [
                &mut v.base_failures,
                &mut v.failures,
                &mut v.rollback_failures,
            ] {
                for line in list.iter_mut() {
                    *line = crate::diff::scrub(line, &secrets);
                }
            }
            review.verdicts = Some(v);
        }
        reviews.push((label.clone(), review));
    }
    let failed = reviews.iter().any(|(_, r)| {
        s.fail_on.iter().any(|f| match f {
            FailOn::Findings => !r.introduced.is_empty(),
            FailOn::Verdicts => r.verdicts.as_ref().is_some_and(|v| !v.ok()),
            FailOn::Danger => !r.dangers.is_empty(),
            FailOn::None => false,
        })
    });
    let title = format!("{} → {}", s.base, s.head);
    match s.output {
        Format::Json => {
            let v = serde_json::json!({
                "base": s.base,
                "head": s.head,
                "clusters": reviews.iter().map(|(l, r)| serde_json::json!({"cluster": l, "review": r})).collect::<Vec<_>>(),
                "failed": failed,
            });
            out(&format!("{v:#}\n"));
        }
        Format::Human => out(&render::human(&title, &reviews)),
        Format::Github => out(&render::github(&reviews)),
        Format::Sarif => {
            let all: Vec<crate::diag::Diagnostic> = reviews
                .iter()
                .flat_map(|(_, r)| r.introduced_diagnostics.iter().cloned())
                .collect();
            out(&crate::diag::render::sarif(&all, None));
        }
        Format::Markdown => {
            let (main, parts) =
                render::markdown(&title, &reviews, COMMENT_LIMIT, s.split.is_some());
            if let Some(dir) = &s.split {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    err(&format!("kiln diff: --split {}: {e}\n", dir.display()));
                    return ExitCode::from(2);
                }
                for (i, part) in parts.iter().enumerate() {
                    let path = dir.join(format!("kiln-diff-{}.md", i + 2));
                    if let Err(e) = super::write_whole(&path, part) {
                        err(&format!(
                            "kiln diff: cannot write {}: {e}\n",
                            path.display()
                        ));
                        return ExitCode::from(2);
                    }
                }
                let first = dir.join("kiln-diff-1.md");
                if let Err(e) = super::write_whole(&first, &main) {
                    err(&format!(
                        "kiln diff: cannot write {}: {e}\n",
                        first.display()
                    ));
                    return ExitCode::from(2);
                }
            }
            out(&main);
        }
    }
    super::exit_for(usize::from(failed))
}

/// The review as text.
pub mod render {
    use crate::diff::{Change, Review};
    use std::fmt::Write;

    fn sign(c: &Change) -> &'static str {
        match c {
            Change::Added => "+",
            Change::Removed => "-",
            Change::Changed => "~",
            Change::Renamed { .. } => ">",
        }
    }

    fn verdict_line(r: &Review) -> String {
        let [a, c, d] = r.totals();
        let mut parts = vec![format!("{a} added, {c} changed, {d} removed")];
        if !r.introduced.is_empty() {
            parts.push(format!(
                "{} finding{} introduced",
                r.introduced.len(),
                if r.introduced.len() == 1 { "" } else { "s" }
            ));
        }
        if !r.fixed.is_empty() {
            parts.push(format!("{} fixed", r.fixed.len()));
        }
        if let Some(v) = &r.verdicts {
            let new = v.new_failures().len();
            parts.push(match (v.converges, v.rollback_converges) {
                (true, true) => "applies and rolls back cleanly in the simulator".to_string(),
                _ if new == 0 => "fails in the simulator as base already does".to_string(),
                (false, _) => format!(
                    "does not converge in the simulator ({new} new failure{})",
                    if new == 1 { "" } else { "s" }
                ),
                (true, false) => "applies, but the rollback does not converge".to_string(),
            });
        }
        if !r.dangers.is_empty() {
            parts.push(format!(
                "{} danger note{}",
                r.dangers.len(),
                if r.dangers.len() == 1 { "" } else { "s" }
            ));
        }
        parts.join("; ")
    }

    fn ok(r: &Review) -> bool {
        r.introduced.is_empty() && r.verdicts.as_ref().is_none_or(|v| v.ok())
    }

    /// The summary sections (everything but the object diffs), Markdown.
    fn summary(s: &mut String, label: &str, r: &Review, several: bool) {
        if several {
            let _ = writeln!(s, "### Cluster `{label}`\n");
        }
        let _ = writeln!(
            s,
            "{} **{}**\n",
            if ok(r) { "✅" } else { "❌" },
            verdict_line(r)
        );
        if !r.units.is_empty() {
            s.push_str("| unit | added | changed | removed |\n|---|---:|---:|---:|\n");
            for (u, [a, c, d]) in &r.units {
                let _ = writeln!(s, "| `{u}` | {a} | {c} | {d} |");
            }
            s.push('\n');
        }
        if !r.images.is_empty() {
            s.push_str("**Images**\n\n");
            for i in &r.images {
                let _ = writeln!(
                    s,
                    "- `{}` {}: `{}` → `{}`",
                    i.object,
                    i.container,
                    i.before.as_deref().unwrap_or("(none)"),
                    i.after.as_deref().unwrap_or("(none)")
                );
            }
            s.push('\n');
        }
        for (title, list) in [
            ("Findings introduced", &r.introduced),
            ("Findings fixed", &r.fixed),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "**{title}**\n");
            for f in list {
                let _ = writeln!(
                    s,
                    "- {} `{}` {}{}",
                    f.severity,
                    f.code,
                    f.message,
                    f.location
                        .as_ref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                );
            }
            s.push('\n');
        }
        if let Some(v) = &r.verdicts {
            s.push_str("**In the simulator** (base applied, then head, then base again)\n\n");
            let _ = writeln!(
                s,
                "- head {}",
                if v.converges {
                    "converges"
                } else {
                    "does not converge"
                }
            );
            for f in &v.failures {
                let _ = writeln!(s, "  - {f}");
            }
            if !v.pruned.is_empty() {
                let _ = writeln!(s, "- pruned: {}", v.pruned.join(", "));
            }
            if !v.cascaded.is_empty() {
                let _ = writeln!(
                    s,
                    "- deleted with their owner or namespace: {}",
                    v.cascaded.join(", ")
                );
            }
            if !v.data_loss.is_empty() {
                let _ = writeln!(
                    s,
                    "- ⚠️ data-bearing objects deleted: {}",
                    v.data_loss.join(", ")
                );
            }
            let _ = writeln!(
                s,
                "- rollback to base {}",
                if v.rollback_converges {
                    "converges"
                } else {
                    "does not converge"
                }
            );
            for f in &v.rollback_failures {
                let _ = writeln!(s, "  - {f}");
            }
            if !v.base_failures.is_empty() {
                let _ = writeln!(s, "- base itself does not apply cleanly:");
                for f in &v.base_failures {
                    let _ = writeln!(s, "  - {f}");
                }
            }
            s.push('\n');
        }
        if !r.dangers.is_empty() {
            s.push_str("**Danger**\n\n");
            for d in &r.dangers {
                let _ = writeln!(s, "- ⚠️ `{}`: {}", d.object, d.what);
            }
            s.push('\n');
        }
        let g = &r.graph;
        if !(g.edges_added.is_empty()
            && g.edges_removed.is_empty()
            && g.new_cycles.is_empty()
            && g.moved.is_empty())
        {
            s.push_str("**Dependency graph**\n\n");
            for c in &g.new_cycles {
                let _ = writeln!(s, "- new cycle: {c}");
            }
            for e in &g.edges_added {
                let _ = writeln!(s, "- edge added: {e}");
            }
            for e in &g.edges_removed {
                let _ = writeln!(s, "- edge removed: {e}");
            }
            for (o, a, b) in &g.moved {
                let _ = writeln!(s, "- `{o}` moves from wave {a} to wave {b}");
            }
            s.push('\n');
        }
        let hidden: Vec<String> = r
            .noise
            .iter()
            .filter(|n| n.hidden > 0)
            .map(|n| format!("{} ({})", n.name, n.hidden))
            .collect();
        if !hidden.is_empty() {
            let _ = writeln!(
                s,
                "_Objects whose only changes are hidden by noise rules: {} (`--no-default-filters` shows them)._\n",
                hidden.join(", ")
            );
        }
    }

    /// One object's section, Markdown (collapsed).
    fn object(o: &crate::diff::ObjectDiff, max: usize) -> String {
        let at = o
            .origin
            .as_ref()
            .map(|l| match &l.range {
                Some(r) => format!(" — {}:{}", l.path, r.line),
                None => format!(" — {}", l.path),
            })
            .unwrap_or_default();
        let mut renamed = match &o.change {
            Change::Renamed { from } => format!(" (renamed from `{from}`)"),
            _ => String::new(),
        };
        if let Some(from) = &o.moved_from {
            renamed.push_str(&format!(" (moves from `{from}` to `{}`)", o.unit));
        }
        let mut diff = o.diff.clone();
        if diff.len() > max {
            let cut = diff
                .char_indices()
                .take_while(|(i, _)| *i < max)
                .last()
                .map(|(i, _)| i)
                .unwrap_or(0);
            let rest = diff[cut..].lines().count();
            diff.truncate(cut);
            diff.push_str(&format!("\n… ({rest} more lines)\n"));
        }
        format!(
            "<details><summary><code>{} {}</code>{renamed}{at}</summary>\n\n```diff\n{}```\n</details>\n\n",
            sign(&o.change),
            o.object,
            diff
        )
    }

    /// The Markdown of a review within `limit` characters: the summary always, then object
    /// diffs while they fit; the rest as parts (when `split`) or counted in a note.
    pub fn markdown(
        title: &str,
        reviews: &[(String, Review)],
        limit: usize,
        split: bool,
    ) -> (String, Vec<String>) {
        let mut head = format!("## kiln diff: {title}\n\n");
        let several = reviews.len() > 1;
        if let Some(line) = shared_changes(reviews) {
            let _ = writeln!(head, "_{line}_\n");
        }
        let mut sections: Vec<String> = Vec::new();
        for (label, r) in reviews {
            summary(&mut head, label, r, several);
            for o in &r.objects {
                sections.push(object(o, limit / 4));
            }
        }
        if !sections.is_empty() {
            head.push_str("### Objects\n\n");
        }
        // Room for the note that says where the rest is.
        let room = limit.saturating_sub(400);
        let mut main = head;
        let mut rest: Vec<String> = Vec::new();
        for sec in sections {
            if rest.is_empty() && main.len() + sec.len() <= room {
                main.push_str(&sec);
            } else {
                rest.push(sec);
            }
        }
        let mut parts: Vec<String> = Vec::new();
        if !rest.is_empty() {
            if split {
                let mut part = String::new();
                for sec in &rest {
                    if !part.is_empty() && part.len() + sec.len() > room {
                        parts.push(std::mem::take(&mut part));
                    }
                    part.push_str(sec);
                }
                if !part.is_empty() {
                    parts.push(part);
                }
                let _ = writeln!(
                    main,
                    "_{} more object diff{} in {} more part{} (`--split`): kiln-diff-2.md{}._",
                    rest.len(),
                    if rest.len() == 1 { "" } else { "s" },
                    parts.len(),
                    if parts.len() == 1 { "" } else { "s" },
                    if parts.len() > 1 {
                        format!(" to kiln-diff-{}.md", parts.len() + 1)
                    } else {
                        String::new()
                    }
                );
            } else {
                let _ = writeln!(
                    main,
                    "_{} more object diff{} not shown: the comment would pass GitHub's {limit} characters (`--split DIR` writes them as parts)._",
                    rest.len(),
                    if rest.len() == 1 { "" } else { "s" }
                );
            }
        }
        (main, parts)
    }

    /// One GitHub Actions workflow command.
    fn annotation(
        level: &str,
        at: Option<&crate::diag::Location>,
        title: &str,
        message: &str,
    ) -> String {
        use crate::diag::render::{gh_escape_data, gh_escape_property};
        let mut props = Vec::new();
        if let Some(l) = at {
            props.push(format!("file={}", gh_escape_property(&l.path)));
            if let Some(r) = &l.range {
                props.push(format!("line={}", r.line));
            }
        }
        props.push(format!("title={}", gh_escape_property(title)));
        format!(
            "::{level} {}::{}\n",
            props.join(","),
            gh_escape_data(message)
        )
    }

    /// GitHub Actions annotations for the review.
    pub fn github(reviews: &[(String, Review)]) -> String {
        let mut s = String::new();
        for (_, r) in reviews {
            s.push_str(&crate::diag::render::github(&r.introduced_diagnostics));
            for d in &r.dangers {
                s.push_str(&annotation(
                    "warning",
                    d.origin(r),
                    "kiln diff: danger",
                    &format!("{}: {}", d.object, d.what),
                ));
            }
            if let Some(v) = &r.verdicts {
                for f in v.new_failures() {
                    let object = f.split_once(": ").map(|(o, _)| o).unwrap_or(f);
                    s.push_str(&annotation(
                        "error",
                        r.origins.get(object),
                        "kiln diff: fails in the simulator",
                        f,
                    ));
                }
            }
            // Removed objects have no line in head to annotate.
            for o in r.objects.iter().filter(|o| o.change != Change::Removed) {
                let what = match &o.change {
                    Change::Added => "added".to_string(),
                    Change::Removed => "removed".to_string(),
                    Change::Changed => format!(
                        "changed: {}{}",
                        o.fields.join(", "),
                        o.moved_from
                            .as_ref()
                            .map(|f| format!(" (moves from {f} to {})", o.unit))
                            .unwrap_or_default()
                    ),
                    Change::Renamed { from } => format!("renamed from {from}"),
                };
                s.push_str(&annotation(
                    "notice",
                    o.origin.as_ref(),
                    "kiln diff",
                    &format!("{} {what}", o.object),
                ));
            }
        }
        s
    }

    /// With several clusters: how many object changes land the same on several of them.
    pub fn shared_changes(reviews: &[(String, Review)]) -> Option<String> {
        if reviews.len() < 2 {
            return None;
        }
        let mut by_change: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
        for (label, r) in reviews {
            for o in &r.objects {
                by_change
                    .entry((&o.object, &o.diff))
                    .or_default()
                    .push(label);
            }
        }
        let mut groups: std::collections::BTreeMap<Vec<&str>, usize> = Default::default();
        for clusters in by_change.values().filter(|c| c.len() > 1) {
            *groups.entry(clusters.clone()).or_default() += 1;
        }
        if groups.is_empty() {
            return None;
        }
        Some(
            groups
                .iter()
                .map(|(clusters, n)| {
                    format!(
                        "the same change to {n} object{} lands on {}",
                        if *n == 1 { "" } else { "s" },
                        clusters.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// The review for a terminal.
    pub fn human(title: &str, reviews: &[(String, Review)]) -> String {
        let mut s = format!("kiln diff: {title}\n");
        if let Some(line) = shared_changes(reviews) {
            let _ = writeln!(s, "{line}");
        }
        for (label, r) in reviews {
            if reviews.len() > 1 {
                let _ = writeln!(s, "\ncluster {label}");
            }
            let _ = writeln!(
                s,
                "{} {}",
                if ok(r) { "ok:" } else { "FAIL:" },
                verdict_line(r)
            );
            let mut md = String::new();
            summary(&mut md, label, r, false);
            // The summary's Markdown, read plainly: drop the table rules and emphasis.
            for line in md.lines().skip(2) {
                if line.starts_with("|---") {
                    continue;
                }
                let _ = writeln!(s, "{}", line.replace("**", "").replace('`', ""));
            }
            for o in &r.objects {
                let at = o
                    .origin
                    .as_ref()
                    .map(|l| match &l.range {
                        Some(x) => format!("  ({}:{})", l.path, x.line),
                        None => format!("  ({})", l.path),
                    })
                    .unwrap_or_default();
                let _ = writeln!(s, "{} {}{at}", sign(&o.change), o.object);
                for line in o.diff.lines() {
                    let _ = writeln!(s, "    {line}");
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::diff::{Change, ObjectDiff, Review};

    fn review(objects: &[(&str, &str)]) -> Review {
        Review {
            units: Default::default(),
            objects: objects
                .iter()
                .map(|(o, d)| ObjectDiff {
                    object: o.to_string(),
                    change: Change::Changed,
                    unit: "apps".into(),
                    moved_from: None,
                    origin: None,
                    fields: Vec::new(),
                    diff: d.to_string(),
                })
                .collect(),
            images: Vec::new(),
            introduced: Vec::new(),
            fixed: Vec::new(),
            dangers: Vec::new(),
            graph: Default::default(),
            noise: Vec::new(),
            verdicts: None,
            introduced_diagnostics: Vec::new(),
            origins: Default::default(),
        }
    }

    #[test]
    fn the_same_change_on_several_clusters_is_said_once() {
        let reviews = vec![
            (
                "production".to_string(),
                review(&[("ConfigMap/a/x", "-1\n+2\n"), ("ConfigMap/a/y", "-a\n+b\n")]),
            ),
            (
                "staging".to_string(),
                review(&[("ConfigMap/a/x", "-1\n+2\n"), ("ConfigMap/a/y", "-a\n+c\n")]),
            ),
        ];
        assert_eq!(
            super::render::shared_changes(&reviews).as_deref(),
            Some("the same change to 1 object lands on production, staging")
        );
        assert_eq!(super::render::shared_changes(&reviews[..1]), None);
    }
}
