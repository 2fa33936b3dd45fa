//! What `apply`, `rollback`, `drift --correct` and `delete` show while they change a cluster,
//! from the apply engine's [`Event`]s: on a terminal a live display (a line per thing that
//! happened, and one status line, redrawn, saying what the wave waits for and for how long);
//! elsewhere plain lines, with what is waited for repeated only when it changes or every 30
//! seconds; with `--output json` one JSON object per event on standard output.
//!
//! It decides nothing: the engine's events are shown as they come.

use super::args::OutputFormat;
use crate::apply::{Event, Pending};
use crate::cluster::Millis;
use crate::plan::Action;

/// How events are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A redrawn status line on a terminal.
    Live,
    /// Plain lines on standard error.
    Lines,
    /// JSON lines on standard output.
    Json,
    Off,
}

/// The display of one apply.
pub struct Display {
    mode: Mode,
    /// A status line is on screen (Live) and must be cleared before the next line.
    status: bool,
    /// What the last waiting line named (Lines), and when it was printed.
    last_pending: Vec<String>,
    last_wait: Millis,
    /// Objects written or waited for: only their readiness is news (text modes).
    watched: std::collections::BTreeSet<String>,
}

/// How long Lines mode stays quiet about an unchanged wait.
const REPEAT_WAIT: Millis = 30_000;

impl Display {
    /// `terminal`: standard error is a terminal; `quiet`: `-q`.
    pub fn new(output: OutputFormat, terminal: bool, quiet: bool) -> Display {
        let mode = match (output, terminal, quiet) {
            (OutputFormat::Json, _, _) => Mode::Json,
            (_, _, true) => Mode::Off,
            (_, true, _) => Mode::Live,
            _ => Mode::Lines,
        };
        Display {
            mode,
            status: false,
            last_pending: Vec::new(),
            last_wait: 0,
            watched: Default::default(),
        }
    }

    /// Whether the report and the plan are JSON too.
    pub fn json(&self) -> bool {
        self.mode == Mode::Json
    }

    /// Shows a JSON record that is not an engine event (the plan, the report).
    pub fn record(&mut self, kind: &str, value: serde_json::Value) {
        if self.mode == Mode::Json {
            let mut v = serde_json::json!({"event": kind});
            if let (Some(m), serde_json::Value::Object(rest)) = (v.as_object_mut(), value) {
                m.extend(rest);
            }
            super::out(&format!("{v}\n"));
        }
    }

    pub fn event(&mut self, e: Event) {
        match self.mode {
            Mode::Off => {}
            Mode::Json => {
                if let Ok(text) = serde_json::to_string(&e) {
                    super::out(&format!("{text}\n"));
                }
            }
            Mode::Live | Mode::Lines => {
                // Objects left as they were, and their readiness at once, are no news: a run
                // with nothing to change prints only its waves.
                match &e {
                    Event::Waiting {
                        wave,
                        pending,
                        elapsed,
                    } => {
                        for p in pending {
                            self.watched.insert(p.object.clone());
                        }
                        self.waiting(*wave, pending, *elapsed);
                        return;
                    }
                    Event::Applied {
                        action: Action::Unchanged,
                        ..
                    } => return,
                    Event::Applied { object, .. } => {
                        self.watched.insert(object.clone());
                    }
                    Event::Ready { object, .. } if !self.watched.contains(object) => return,
                    _ => {}
                }
                if let Some((elapsed, line)) = line(&e) {
                    self.clear();
                    super::err(&format!("{} {line}\n", stamp(elapsed)));
                }
            }
        }
    }

    /// Clears the status line, before a report follows.
    pub fn finish(&mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        if self.status {
            super::err("\r\x1b[2K");
            self.status = false;
        }
    }

    fn waiting(&mut self, wave: usize, pending: &[Pending], elapsed: Millis) {
        let text = waiting_text(pending);
        match self.mode {
            Mode::Live => {
                // One line, cut to a terminal's usual width.
                let mut line = format!("{} wave {wave}: {text}", stamp(elapsed));
                if line.chars().count() > 119 {
                    line = line.chars().take(118).collect::<String>() + "…";
                }
                super::err(&format!("\r\x1b[2K{line}"));
                self.status = true;
            }
            _ => {
                let names: Vec<String> = pending.iter().map(|p| p.object.clone()).collect();
                if names != self.last_pending || elapsed >= self.last_wait + REPEAT_WAIT {
                    super::err(&format!("{} wave {wave}: {text}\n", stamp(elapsed)));
                    self.last_pending = names;
                    self.last_wait = elapsed;
                }
            }
        }
    }
}

fn stamp(elapsed: Millis) -> String {
    format!("[{:>6.1}s]", elapsed as f64 / 1000.0)
}

/// `waiting for Deployment/default/web (InProgress: 1 of 3 replicas ready, 12 s) and 2 more`.
fn waiting_text(pending: &[Pending]) -> String {
    let Some(first) = pending.first() else {
        return String::new();
    };
    let why = if first.message.is_empty() {
        format!("{}", first.status)
    } else {
        format!("{}: {}", first.status, first.message)
    };
    let more = match pending.len() {
        1 => String::new(),
        2 => " and 1 more".to_string(),
        n => format!(" and {} more", n - 1),
    };
    format!(
        "waiting for {} ({why}, {} s){more}",
        first.object,
        first.waited / 1000
    )
}

/// The line for an event (not `Waiting`), and when it happened.
fn line(e: &Event) -> Option<(Millis, String)> {
    Some(match e {
        Event::Wave {
            wave,
            waves,
            objects,
            elapsed,
        } => (
            *elapsed,
            format!(
                "wave {wave}/{waves}: {objects} object{}",
                if *objects == 1 { "" } else { "s" }
            ),
        ),
        Event::TakenOver {
            object,
            from,
            elapsed,
        } => (
            *elapsed,
            format!("took over {object} from {}", from.join(", ")),
        ),
        Event::Applied {
            object,
            action,
            replaced,
            elapsed,
        } => {
            let verb = match (action, replaced) {
                (_, true) => "replaced (deleted and created again)",
                (Action::Create, _) => "created",
                (Action::Update, _) => "updated",
                _ => "unchanged",
            };
            (*elapsed, format!("{verb} {object}"))
        }
        Event::Retrying {
            object,
            error,
            wait,
            elapsed,
        } => (
            *elapsed,
            format!(
                "{object}: {error}; trying again in {:.1} s",
                *wait as f64 / 1000.0
            ),
        ),
        Event::Waiting { .. } => return None,
        Event::Ready { object, elapsed } => (*elapsed, format!("ready {object}")),
        Event::Failed {
            object,
            error,
            elapsed,
        } => (*elapsed, format!("failed {object}: {error}")),
        Event::Skipped {
            object,
            blocked_by,
            elapsed,
        } => (
            *elapsed,
            format!("skipped {object}: it waits for {}", blocked_by.join(", ")),
        ),
        Event::Deleting {
            object, elapsed, ..
        } => (*elapsed, format!("deleting {object}")),
        Event::Gone { object, elapsed } => (*elapsed, format!("deleted {object}")),
        Event::PruneSkipped { reason, elapsed } => (*elapsed, format!("prune skipped: {reason}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    #[test]
    fn waiting_names_the_first_object_and_counts_the_rest() {
        let p = |name: &str| Pending {
            object: name.into(),
            status: Status::InProgress,
            message: "1 of 3 replicas ready".into(),
            waited: 12_400,
        };
        assert_eq!(
            waiting_text(&[p("Deployment/default/web"), p("a"), p("b")]),
            "waiting for Deployment/default/web (InProgress: 1 of 3 replicas ready, 12 s) and 2 more"
        );
        let (at, text) = line(&Event::Skipped {
            object: "Deployment/default/api".into(),
            blocked_by: vec!["Job/default/migrate".into()],
            elapsed: 61_250,
        })
        .unwrap();
        assert_eq!(
            format!("{} {text}", stamp(at)),
            "[  61.2s] skipped Deployment/default/api: it waits for Job/default/migrate"
        );
    }
}
