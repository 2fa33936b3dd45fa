//! Progress on standard error for work that takes more than a second (large inputs, long
//! simulations): a line per stage once a second has passed, so quick runs print nothing and
//! standard output stays data. Off with `-q`, when standard error is not a terminal (unless
//! `-v`), and for machine output that owns standard error.

use std::time::{Duration, Instant};

/// How long a command runs before it says what it is doing.
const AFTER: Duration = Duration::from_secs(1);

/// A progress reporter for one command.
pub struct Progress {
    enabled: bool,
    start: Instant,
    after: Duration,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            start: Instant::now(),
            after: AFTER,
        }
    }

    /// Says that a stage starts, if the command has been running for more than a second.
    pub fn say(&self, what: &str) {
        if let Some(line) = self.line(what) {
            super::err(&line);
        }
    }

    /// The line to print for a stage, if any.
    fn line(&self, what: &str) -> Option<String> {
        let elapsed = self.start.elapsed();
        (self.enabled && elapsed >= self.after)
            .then(|| format!("kiln: [{:.1}s] {what}\n", elapsed.as_secs_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_until_a_second_has_passed_and_never_when_off() {
        let mut p = Progress::new(true);
        assert_eq!(p.line("reading"), None, "a quick command says nothing");
        p.after = Duration::ZERO;
        let line = p
            .line("applying v2")
            .expect("a long command says what it does");
        assert!(
            line.starts_with("kiln: [") && line.ends_with("s] applying v2\n"),
            "{line}"
        );
        p.enabled = false;
        assert_eq!(p.line("applying v2"), None, "-q, or not a terminal");
    }
}
