//! Renderers for a set of diagnostics: human (miette), JSON, GitHub workflow annotations, SARIF.
//!
//! A renderer only formats; it never filters, reorders or changes severities (the caller applies
//! [`super::Policy`] and [`super::normalise`] first). Human output needs the source text to
//! draw the offending line; it asks a [`SourceLookup`] for it by path.

use super::{Code, Counts, Diagnostic, Label, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;
use serde_json::json;
use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

/// Gives the text of a file by the path diagnostics use for it.
pub trait SourceLookup {
    fn source_text(&self, path: &str) -> Option<Arc<str>>;
}

impl SourceLookup for () {
    fn source_text(&self, _: &str) -> Option<Arc<str>> {
        None
    }
}

/// What was looked at, for the summary line and the JSON/SARIF envelope.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Output styles for the human renderer.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    pub color: bool,
    pub width: usize,
}

struct MietteView<'a> {
    diag: &'a Diagnostic,
    heading: String,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteRelated>,
}

struct MietteRelated {
    heading: String,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.heading)
    }
}
impl Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.heading)
    }
}
impl std::error::Error for MietteView<'_> {}

impl fmt::Debug for MietteRelated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.heading)
    }
}
impl Display for MietteRelated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.heading)
    }
}
impl std::error::Error for MietteRelated {}

fn miette_severity(s: Severity) -> miette::Severity {
    match s {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    }
}

impl miette::Diagnostic for MietteView<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette_severity(self.diag.severity))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

impl miette::Diagnostic for MietteRelated {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

fn labeled(label: &Label, primary: bool) -> Option<LabeledSpan> {
    let range = label.location.range?;
    let text = (!label.message.is_empty()).then(|| label.message.clone());
    let span = (range.start, range.end.saturating_sub(range.start));
    Some(if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    })
}

fn view<'a>(diag: &'a Diagnostic, sources: &dyn SourceLookup) -> MietteView<'a> {
    let mut heading = format!("[{}] {}", diag.code, diag.message);
    let mut labels = Vec::new();
    let mut source = None;
    let mut related = Vec::new();
    let primary_path = diag.primary.as_ref().map(|p| p.location.path.as_str());
    if let Some(primary) = &diag.primary {
        let text = if diag.sensitive {
            None
        } else {
            sources.source_text(&primary.location.path)
        };
        match (primary.location.range, text) {
            (Some(_), Some(text)) => {
                source = Some(NamedSource::new(&primary.location.path, text));
                labels.extend(labeled(primary, true));
            }
            (Some(r), None) => {
                let _ = write!(
                    heading,
                    "\n  at {}:{}:{}",
                    primary.location.path, r.line, r.column
                );
            }
            (None, _) => {
                let _ = write!(heading, "\n  in {}", primary.location.path);
            }
        }
    }
    for rel in &diag.related {
        let same_file = Some(rel.location.path.as_str()) == primary_path && source.is_some();
        if same_file && rel.location.range.is_some() {
            labels.extend(labeled(rel, false));
            continue;
        }
        let text = if diag.sensitive {
            None
        } else {
            sources.source_text(&rel.location.path)
        };
        let rel_heading = match rel.location.range {
            Some(r) => format!(
                "{} ({}:{}:{})",
                rel.message, rel.location.path, r.line, r.column
            ),
            None => format!("{} ({})", rel.message, rel.location.path),
        };
        let (src, lbls) = match (rel.location.range, text) {
            (Some(_), Some(text)) => (
                Some(NamedSource::new(&rel.location.path, text)),
                labeled(rel, true).into_iter().collect(),
            ),
            _ => (None, Vec::new()),
        };
        related.push(MietteRelated {
            heading: rel_heading,
            source: src,
            labels: lbls,
        });
    }
    MietteView {
        diag,
        heading,
        source,
        labels,
        related,
    }
}

/// Renders diagnostics for a terminal, each with the offending source line(s).
pub fn human(diags: &[Diagnostic], sources: &dyn SourceLookup, style: HumanStyle) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_show_related_as_nested(true)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diags {
        let v = view(d, sources);
        let mut one = String::new();
        if handler.render_report(&mut one, &v).is_err() {
            one = format!("{}: {}\n", d.code, d.message);
        }
        out.push_str(one.trim_end());
        out.push_str("\n\n");
    }
    out
}

/// The one-line summary printed after human output.
pub fn summary_line(command: &str, summary: &Summary) -> String {
    let c = summary.counts;
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "kiln {command}: {}, {} in {} from {}",
        plural(c.errors, "error"),
        plural(c.warnings, "warning"),
        plural(summary.objects, "object"),
        plural(summary.files, "file"),
    )
}

/// Machine-readable output: `{"diagnostics": [...], "summary": {...}}`.
pub fn json(diags: &[Diagnostic], summary: &Summary) -> String {
    let v = json!({ "diagnostics": diags, "summary": summary });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// One line per diagnostic, `path:line:col: severity[code]: message`, as compilers print them
/// for grep and editors' quickfix lists.
pub fn short(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let place = match &d.primary {
            Some(p) => match p.location.range {
                Some(r) => format!("{}:{}:{}: ", p.location.path, r.line, r.column),
                None => format!("{}: ", p.location.path),
            },
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{place}{}[{}]: {}",
            d.severity.as_str(),
            d.code,
            d.message.replace('\n', " ")
        );
    }
    out
}

/// Where a Markdown report stops listing findings, well under GitHub's 65,536-character limit
/// for a comment.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// A Markdown report for a pull-request comment: the summary, then a table of findings (as
/// many as fit in a comment, then how many more there are).
pub fn markdown(diags: &[Diagnostic], summary: &Summary) -> String {
    let c = summary.counts;
    let mut out = format!(
        "### kiln check: {}\n\n{} error{}, {} warning{} in {} object{} from {} file{}.\n",
        if c.errors == 0 { "passed" } else { "failed" },
        c.errors,
        if c.errors == 1 { "" } else { "s" },
        c.warnings,
        if c.warnings == 1 { "" } else { "s" },
        summary.objects,
        if summary.objects == 1 { "" } else { "s" },
        summary.files,
        if summary.files == 1 { "" } else { "s" },
    );
    if !diags.is_empty() {
        out.push_str("\n| | where | code | message |\n|---|---|---|---|\n");
        // One cell holds at most 1,000 characters, so one huge message cannot break the limit.
        let cell = |s: &str| {
            let mut t: String = s.chars().take(1_000).collect();
            if t.len() < s.len() {
                t.push('…');
            }
            t.replace('|', "\\|").replace('\n', "<br>")
        };
        for (i, d) in diags.iter().enumerate() {
            // A pull-request comment holds 65,536 characters: the rest is counted, not cut.
            if out.len() > MARKDOWN_LIMIT {
                let _ = writeln!(
                    out,
                    "\n{} more finding{} not shown here; `kiln check -o json` (or `-o sarif`) has them all.",
                    diags.len() - i,
                    if diags.len() - i == 1 { "" } else { "s" }
                );
                break;
            }
            let icon = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let place = match &d.primary {
                Some(p) => match p.location.range {
                    Some(r) => format!("`{}:{}:{}`", p.location.path, r.line, r.column),
                    None => format!("`{}`", p.location.path),
                },
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| {icon} | {} | `{}` | {} |",
                cell(&place),
                d.code,
                cell(&d.message)
            );
        }
    }
    out
}

pub fn gh_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn gh_escape_property(s: &str) -> String {
    gh_escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands (`::error file=...,line=...::message`), one per line.
pub fn github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(p) = &d.primary {
            props.push(format!("file={}", gh_escape_property(&p.location.path)));
            if let Some(r) = p.location.range {
                props.push(format!("line={}", r.line));
                props.push(format!("endLine={}", r.end_line));
                if r.line == r.end_line {
                    props.push(format!("col={}", r.column));
                    props.push(format!("endColumn={}", r.end_column));
                } else {
                    props.push(format!("col={}", r.column));
                }
            }
        }
        props.push(format!(
            "title={}",
            gh_escape_property(&format!("kiln {}", d.code))
        ));
        let mut msg = d.message.clone();
        if let Some(p) = &d.primary
            && !p.message.is_empty()
            && p.message != d.message
        {
            let _ = write!(msg, ": {}", p.message);
        }
        for r in &d.related {
            let _ = match r.location.range {
                Some(rr) => write!(
                    msg,
                    "\n{} ({}:{}:{})",
                    r.message, r.location.path, rr.line, rr.column
                ),
                None => write!(msg, "\n{} ({})", r.message, r.location.path),
            };
        }
        if let Some(h) = &d.help {
            let _ = write!(msg, "\nhelp: {h}");
        }
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            gh_escape_data(&msg)
        );
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encodes a path for a URI (RFC 3986): unreserved characters and `/` stay.
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn sarif_location(label: &Label) -> serde_json::Value {
    let mut phys = json!({ "artifactLocation": {
        "uri": percent_encode_path(&label.location.path),
        "uriBaseId": "SRCROOT",
    } });
    if let Some(r) = label.location.range {
        phys["region"] = json!({
            "startLine": r.line,
            "startColumn": r.column,
            "endLine": r.end_line,
            "endColumn": r.end_column,
            "byteOffset": r.start,
            "byteLength": r.end - r.start,
        });
    }
    let mut loc = json!({ "physicalLocation": phys });
    if !label.message.is_empty() {
        loc["message"] = json!({ "text": label.message });
    }
    loc
}

/// SARIF 2.1.0, as GitHub code scanning and other review tools read it. Paths are relative to
/// `SRCROOT`, the repository root (`root_uri`, a `file://` URI ending in `/`).
pub fn sarif(diags: &[Diagnostic], root_uri: Option<&str>) -> String {
    let rules: Vec<_> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.summary() },
                "defaultConfiguration": { "level": sarif_level(c.default_severity()) },
                "properties": { "stage": c.stage() },
            })
        })
        .collect();
    let results: Vec<_> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                let _ = write!(text, "\nhelp: {h}");
            }
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": sarif_level(d.severity),
                "message": { "text": text },
            });
            if let Some(p) = &d.primary {
                r["locations"] = json!([sarif_location(p)]);
            }
            if !d.related.is_empty() {
                let rel: Vec<_> = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut v = sarif_location(l);
                        v["id"] = json!(i);
                        v
                    })
                    .collect();
                r["relatedLocations"] = json!(rel);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kiln",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": match root_uri {
                Some(u) => json!({ "SRCROOT": { "uri": u } }),
                None => json!({ "SRCROOT": { "description": { "text": "the repository root" } } }),
            },
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
