//! `kiln test`: run scenario files (steps against one simulated cluster, expectations checked
//! along the way) and print a transcript of each. Exit 1 when a check fails or a scenario file
//! is malformed (each mistake a `scenario-invalid` diagnostic with line and column).

use super::args::{self, ColorChoice};
use super::{Failure, err, out};
use crate::diag::render::{self, HumanStyle};
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files, or directories of them (every `.yaml` file inside).
    #[arg(default_value = "scenarios", value_name = "SCENARIO")]
    scenarios: Vec<PathBuf>,
    /// Colour in human output of malformed scenarios.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Output format: the transcripts, or JSON (each scenario's counts and transcript).
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

pub struct Settings {
    files: Vec<PathBuf>,
    color: bool,
    format: Format,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let files = scenario_files(&a.scenarios)?;
    if files.is_empty() {
        let named: Vec<String> = a
            .scenarios
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(Failure::Usage(format!(
            "no scenario files (`.yaml`) in {}; nothing to test",
            named.join(", ")
        )));
    }
    Ok(Settings {
        files,
        color: args::color(a.color, std::io::stdout().is_terminal()),
        format: a.output,
    })
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

/// Runs the scenarios; exit 1 when a check fails or a scenario is malformed.
pub fn run(s: Settings) -> ExitCode {
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    let mut text = String::new();
    let mut results = Vec::new();
    for f in &s.files {
        let shown = f.to_string_lossy().into_owned();
        match crate::simulate::scenario::parse(f) {
            Ok(sc) => {
                let outcome = crate::simulate::scenario::run(&sc);
                text.push_str(&outcome.transcript);
                text.push('\n');
                results.push(serde_json::json!({
                    "file": shown,
                    "passed": outcome.failed == 0,
                    "checksPassed": outcome.passed,
                    "checksFailed": outcome.failed,
                    "transcript": outcome.transcript,
                }));
                if outcome.failed == 0 {
                    passed += 1
                } else {
                    failed += 1
                }
            }
            Err(diags) => {
                invalid += 1;
                let source = std::fs::read_to_string(f).unwrap_or_default();
                let lookup = ScenarioFiles(vec![(shown.clone(), source.into())]);
                text.push_str(&render::human(
                    &diags,
                    &lookup,
                    HumanStyle {
                        color: s.color,
                        width: 100,
                    },
                ));
                results.push(serde_json::json!({
                    "file": shown,
                    "passed": false,
                    "malformed": diags,
                }));
            }
        }
    }
    let summary = format!(
        "kiln test: {} scenario{}: {passed} passed, {failed} failed{}\n",
        s.files.len(),
        if s.files.len() == 1 { "" } else { "s" },
        if invalid > 0 {
            format!(", {invalid} malformed")
        } else {
            String::new()
        }
    );
    match s.format {
        Format::Human => {
            text.push_str(&summary);
            out(&text);
        }
        Format::Json => {
            let v = serde_json::json!({
                "scenarios": results,
                "passed": passed,
                "failed": failed,
                "malformed": invalid,
            });
            let mut t = serde_json::to_string_pretty(&v).unwrap_or_default();
            t.push('\n');
            out(&t);
            err(&summary);
        }
    }
    super::exit_for(failed + invalid)
}
