//! Diagnostics as plain data: a stable kebab-case [`Code`], a [`Severity`], a message, a primary
//! [`Label`] with an exact source location, related labels and a help text.
//!
//! Every stage of kiln reports problems in its input by returning diagnostics next to its result;
//! this module only defines what a diagnostic is and how a set of them is rendered (the
//! [`render`] submodule: human via miette, JSON, GitHub workflow annotations, SARIF). It never
//! decides what is wrong with an input: the checks live in the stages that own them.

mod codes;
pub mod render;

pub use codes::{Code, catalogue_markdown, catalogue_markdown_of};

use serde::Serialize;

/// How bad a finding is. The order is the order of importance: errors first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A range of source text: byte offsets plus the 1-based line and column (in characters) of its
/// start and end, so that every renderer can use whichever it needs without the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A place: a file (as the user names it) and, when known, a range inside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<TextRange>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            range: None,
        }
    }
}

/// A location with a short message saying what is there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    pub location: Location,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Label {
    pub fn new(location: Location, message: impl Into<String>) -> Label {
        Label {
            location,
            message: message.into(),
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<Label>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The location holds a secret value: renderers must not print its source text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            primary: None,
            related: Vec::new(),
            help: None,
            sensitive: false,
        }
    }

    pub fn at(mut self, location: Location, label: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label::new(location, label));
        self
    }

    pub fn related(mut self, location: Location, label: impl Into<String>) -> Diagnostic {
        self.related.push(Label::new(location, label));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    pub fn path(&self) -> Option<&str> {
        self.primary.as_ref().map(|l| l.location.path.as_str())
    }

    /// The stable order in which diagnostics are printed: by file, position, code, message.
    pub fn sort_key(&self) -> impl Ord + '_ {
        let loc = self.primary.as_ref().map(|l| &l.location);
        (
            loc.map(|l| l.path.as_str()).unwrap_or(""),
            loc.and_then(|l| l.range.map(|r| (r.start, r.end)))
                .unwrap_or((0, 0)),
            self.code,
            self.message.as_str(),
        )
    }
}

/// Sorts diagnostics into their stable print order and drops exact repeats.
pub fn normalise(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup();
}

/// Counts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of(diags: &[Diagnostic]) -> Counts {
        let mut c = Counts::default();
        for d in diags {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}

/// What the user asked to do with codes: `--allow CODE` hides warnings and notes of a code
/// (never an error), `--deny CODE` makes it an error, `--deny warnings` makes every warning an
/// error, and `--accept-unrendered CODE` accepts objects left unrendered for that reason (a
/// remote base, a failed generator, a source kiln cannot read) as a warning instead of an error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow: Vec<Code>,
    pub deny: Vec<Code>,
    pub deny_warnings: bool,
    pub accept_unrendered: Vec<Code>,
}

impl Policy {
    pub fn apply(&self, diags: &mut Vec<Diagnostic>) {
        for d in diags.iter_mut() {
            if d.severity == Severity::Error && self.accept_unrendered.contains(&d.code) {
                d.severity = Severity::Warning;
                d.message.push_str(" (accepted with --accept-unrendered)");
            }
        }
        // A code both allowed and denied (a flag over `.kiln.yaml`) is denied: never hidden.
        diags.retain(|d| {
            d.severity == Severity::Error
                || !self.allow.contains(&d.code)
                || self.deny.contains(&d.code)
        });
        for d in diags.iter_mut() {
            if self.deny.contains(&d.code)
                || (self.deny_warnings && d.severity == Severity::Warning)
            {
                d.severity = Severity::Error;
            }
        }
    }

    /// Adds a user's `--allow CODE`: refused for codes that are errors, which no flag hides.
    pub fn allow_code(&mut self, text: &str) -> Result<(), String> {
        let code: Code = text.parse()?;
        if code.default_severity() == Severity::Error {
            let hint = if code.means_unrendered() {
                format!(
                    "; to accept objects left unrendered for this reason, use --accept-unrendered {code}"
                )
            } else {
                String::new()
            };
            return Err(format!(
                "--allow {code}: `{code}` is an error, and --allow hides only warnings and notes{hint}"
            ));
        }
        self.allow.push(code);
        Ok(())
    }

    /// Adds a user's `--deny CODE` or `--deny warnings`.
    pub fn deny_code(&mut self, text: &str) -> Result<(), String> {
        if text == "warnings" {
            self.deny_warnings = true;
        } else {
            self.deny.push(text.parse()?);
        }
        Ok(())
    }

    /// Adds a user's `--accept-unrendered CODE`: only codes that mean objects were not rendered.
    pub fn accept_unrendered_code(&mut self, text: &str) -> Result<(), String> {
        let code: Code = text.parse()?;
        if !code.means_unrendered() {
            let which: Vec<&str> = Code::ALL
                .iter()
                .filter(|c| c.means_unrendered())
                .map(|c| c.as_str())
                .collect();
            return Err(format!(
                "--accept-unrendered {code}: `{code}` does not mean objects were left unrendered; it takes {}",
                which.join(", ")
            ));
        }
        self.accept_unrendered.push(code);
        Ok(())
    }
}
