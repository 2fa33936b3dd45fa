//! `kiln explain CODE`: the catalogue entry of a diagnostic code (what it means, its default
//! severity, the stage that reports it, and how `--allow`, `--deny` and `--accept-unrendered`
//! treat it); `--list` prints every code.

use super::{Failure, out};
use crate::diag::Code;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The code, as diagnostics print it (`unknown-field`).
    #[arg(value_name = "CODE", required_unless_present = "list")]
    code: Option<String>,
    /// List every code with its default severity and meaning.
    #[arg(long, conflicts_with = "code")]
    list: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

pub struct Settings {
    codes: Vec<Code>,
    list: bool,
    format: Format,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    let codes = match &a.code {
        Some(c) => vec![c.parse::<Code>()?],
        None => Code::ALL.to_vec(),
    };
    Ok(Settings {
        codes,
        list: a.list,
        format: a.output,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let text = match s.format {
        Format::Markdown => crate::diag::catalogue_markdown_of(&s.codes),
        Format::Json => {
            let v: Vec<_> = s
                .codes
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "code": c.as_str(),
                        "severity": c.default_severity().as_str(),
                        "stage": c.stage(),
                        "summary": c.summary(),
                        "unrendered": c.means_unrendered(),
                    })
                })
                .collect();
            let mut t = serde_json::to_string_pretty(&v).unwrap_or_default();
            t.push('\n');
            t
        }
        Format::Human if s.list => {
            let width = s.codes.iter().map(|c| c.as_str().len()).max().unwrap_or(0);
            s.codes
                .iter()
                .map(|c| {
                    format!(
                        "{:width$}  {:7}  {}\n",
                        c.as_str(),
                        c.default_severity().as_str(),
                        c.summary()
                    )
                })
                .collect()
        }
        Format::Human => s.codes.iter().map(|c| c.explain()).collect(),
    };
    out(&text);
    ExitCode::SUCCESS
}
