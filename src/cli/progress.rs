//! Progress on standard error for work that takes more than a second (large inputs, long
//! simulations): a line per stage once a second has passed, so quick runs print nothing and
//! standard output stays data. Off with `-q`, when standard error is not a terminal (unless
//! `-v`), and for machine output that owns standard error.

use std::time::{Duration, Instant};

/// A progress reporter for one command.
pub struct Progress {
    enabled: bool,
    start: Instant,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            start: Instant::now(),
        }
    }

    /// Says that a stage starts, if the command has been running for more than a second.
    pub fn say(&self, what: &str) {
        let elapsed = self.start.elapsed();
        if self.enabled && elapsed >= Duration::from_secs(1) {
            super::err(&format!("kiln: [{:.1}s] {what}\n", elapsed.as_secs_f64()));
        }
    }
}
