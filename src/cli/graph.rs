//! `kiln graph`: the dependency graph of the objects under PATH: waves in apply order with the
//! reason for every edge (human), Graphviz, Mermaid or JSON; `--why A B` the chain of edges
//! that makes A wait for B; `--focus OBJECT` its neighbourhood. Pictures of large inputs are
//! grouped (`--group-by`), by default above a few hundred objects.

use super::args::{self, InputArgs, ReportArgs, ReportSettings, RevArgs, Target};
use super::progress::Progress;
use super::{Failure, err, out};
use crate::diag::Counts;
use crate::diag::render;
use crate::graph::render as draw;
use crate::pipeline::Compiled;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Above this many objects, DOT and Mermaid group objects unless `--group-by none`.
pub const GROUP_ABOVE: usize = 300;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rev: RevArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
    /// Explain why object A waits for object B: the chain of edges, each with its reason.
    /// Objects as kubectl or Flux write them: Kind/namespace/name, deploy/web (with -n),
    /// deployment.apps/web.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    why: Vec<String>,
    /// Show only this object and its direct neighbours.
    #[arg(long, value_name = "OBJECT", conflicts_with = "why")]
    focus: Option<String>,
    /// The namespace of object references written without one (`deploy/web -n shop`).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Collapse objects into one node per unit, namespace or kind (DOT and Mermaid), with
    /// edge counts; the default above 300 objects is `unit` (`none` draws every object).
    #[arg(long, value_enum, value_name = "BY")]
    group_by: Option<GroupBy>,
}

/// How `kiln graph` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    #[value(alias = "text")]
    Human,
    Dot,
    Mermaid,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    None,
    Unit,
    Namespace,
    Kind,
}

/// What `kiln graph` shows.
#[derive(Clone, Debug)]
pub enum View {
    Whole,
    Why(String, String),
    Focus(String),
}

pub struct Settings {
    target: Target,
    report: ReportSettings,
    format: Format,
    view: View,
    namespace: Option<String>,
    group_by: Option<GroupBy>,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let cfg = args::load_config(&a.input)?;
    let mut targets = args::inputs(&a.input, &cfg, a.rev.rev, a.output == Format::Json)?;
    if targets.len() > 1 {
        let names: Vec<String> = targets.iter().filter_map(|t| t.cluster.clone()).collect();
        return Err(Failure::Usage(format!(
            "several Flux entry points ({}); graph one at a time with --flux ENTRY",
            names.join(", ")
        )));
    }
    if a.group_by.is_some() && !matches!(a.output, Format::Dot | Format::Mermaid) {
        return Err(Failure::Usage(
            "--group-by draws pictures: use it with -o dot or -o mermaid".into(),
        ));
    }
    Ok(Settings {
        target: targets.remove(0),
        report: args::report(&a.report, &cfg, std::io::stderr().is_terminal())?,
        format: a.output,
        view: match (a.why.as_slice(), a.focus) {
            ([x, y], _) => View::Why(x.clone(), y.clone()),
            (_, Some(f)) => View::Focus(f),
            _ => View::Whole,
        },
        namespace: a.namespace,
        group_by: a.group_by,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let progress = Progress::new(s.report.progress);
    let (compiled, diags) = match super::compile(&s.target, &s.report, &progress) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = super::check_source_mappings(std::slice::from_ref(&s.target), [&compiled]) {
        return code;
    }
    let shown = s.report.visible(&diags);
    if !shown.is_empty() {
        err(&render::human(&shown, &compiled.sources, s.report.style()));
    }
    let counts = Counts::of(&diags);
    let text = match draw_graph(&compiled, &s) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("kiln: {e}\n"));
            return ExitCode::from(2);
        }
    };
    out(&text);
    std::mem::forget(compiled);
    super::exit_for(counts.errors)
}

fn draw_graph(compiled: &Compiled, s: &Settings) -> Result<String, String> {
    let g = &compiled.graph;
    let objects = &compiled.objects;
    let kinds = compiled.kind_names();
    let ns = s.namespace.as_deref();
    let place = |e: &crate::graph::Edge| -> Option<String> {
        let (i, ptr) = e.at.as_ref()?;
        let loc = compiled.locate(&objects[*i], ptr, true);
        Some(match loc.range {
            Some(r) => format!("{}:{}", loc.path, r.line),
            None => loc.path,
        })
    };
    let only = match &s.view {
        View::Why(a, b) => {
            let x = draw::find(objects, &kinds, a, ns)?;
            let y = draw::find(objects, &kinds, b, ns)?;
            return Ok(draw::why_text(g, objects, x, y, &place));
        }
        View::Focus(f) => Some(draw::neighbourhood(g, draw::find(objects, &kinds, f, ns)?)),
        View::Whole => None,
    };
    let picture = matches!(s.format, Format::Dot | Format::Mermaid);
    let group_by = match s.group_by {
        Some(g) => g,
        None if picture && only.is_none() && objects.len() > GROUP_ABOVE => {
            err(&format!(
                "kiln: {} objects are too many to draw one by one; grouped by unit (--group-by none draws every object)\n",
                objects.len()
            ));
            GroupBy::Unit
        }
        None => GroupBy::None,
    };
    if picture && group_by != GroupBy::None {
        let (of, names) = groups(compiled, group_by);
        let what = match group_by {
            GroupBy::Unit => "unit",
            GroupBy::Namespace => "namespace",
            _ => "kind",
        };
        let groups = draw::Groups {
            of: &of,
            names: &names,
            what,
        };
        return Ok(match s.format {
            Format::Dot => draw::dot_grouped(g, &groups),
            _ => draw::mermaid_grouped(g, &groups),
        });
    }
    Ok(match s.format {
        Format::Human => {
            let mut t = format!("kiln graph: {}\n", draw::summary(g, objects));
            t.push_str(&draw::text(g, objects, only.as_ref()));
            t
        }
        Format::Dot => draw::dot(g, objects, only.as_ref()),
        Format::Mermaid => draw::mermaid(g, objects, only.as_ref()),
        Format::Json => draw::json(g, objects, &place, only.as_ref()),
    })
}

/// The group of each object, and the groups' names, in order of first appearance.
fn groups(c: &Compiled, by: GroupBy) -> (Vec<usize>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut of = Vec::with_capacity(c.objects.len());
    let mut unit_of = vec![0usize; c.objects.len()];
    for (u, info) in c.units.iter().enumerate() {
        for i in info.objects.clone() {
            unit_of[i] = u;
        }
    }
    for (i, o) in c.objects.iter().enumerate() {
        let name = match by {
            GroupBy::Unit => c
                .units
                .get(unit_of[i])
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            GroupBy::Namespace if o.key.namespace.is_empty() => "(cluster-scoped)".to_string(),
            GroupBy::Namespace => o.key.namespace.clone(),
            _ if o.key.group.is_empty() => o.key.kind.clone(),
            _ => format!("{}.{}", o.key.kind, o.key.group),
        };
        let id = *index.entry(name.clone()).or_insert_with(|| {
            names.push(name);
            names.len() - 1
        });
        of.push(id);
    }
    (of, names)
}
