//! Go's `text/template` with Sprig and Helm's template functions, in Rust: the same parse, the
//! same output and the same error texts as Helm v4's engine, for charts rendered without Helm.
//!
//! - [`Templates`]: a set of named templates (Go's `*template.Template` and its associates);
//!   [`Templates::parse`] adds one text, [`Templates::execute`] runs one by name.
//! - [`funcs::helm_funcs`]: Helm v4's function map (Go built-ins, Sprig, Helm's own);
//!   [`funcs::go_funcs`] only Go's built-ins.
//! - [`Value`]: what templates see; maps are shared and mutable as Go's are.
//! - [`yaml`], [`json`]: Helm's `toYaml`/`fromYaml` and `toJson`/`fromJson`, usable directly.
//!
//! This crate knows nothing of charts, releases or Kubernetes; chart loading, values and the
//! release manifest belong to its callers.

pub mod encoding;
pub mod exec;
pub mod funcs;
pub mod gofmt;
mod hash;
pub mod json;
pub mod lex;
pub mod parse;
mod path;
pub mod semver;
pub mod time;
mod toml;
mod url;
pub mod value;
pub mod yaml;

pub use exec::{ExecError, Limits, Templates};
pub use parse::ParseError;
pub use value::{Map, Object, Value};

/// Helm's wording of a template execution error: `execution error at (FILE:LINE:COL): message`
/// when `required` or `fail` raised it, Go's own text otherwise.
pub fn helm_exec_error(go_error: &str) -> String {
    let tokens: Vec<&str> = go_error.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return go_error.to_string();
    }
    if let Some(start) = go_error.find(funcs::helm::WARN_START)
        && let Some(end) = go_error[start..].find(funcs::helm::WARN_END)
    {
        let msg = &go_error[start + funcs::helm::WARN_START.len()..start + end];
        return format!("execution error at ({}): {}", tokens[1], msg);
    }
    go_error.to_string()
}

/// Helm's wording of a parse error: `parse error at (FILE:LINE): message`.
pub fn helm_parse_error(file: &str, go_error: &str) -> String {
    let tokens: Vec<&str> = go_error.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({file}): {go_error}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// Runs `f` with at least a megabyte of stack left, growing the stack on the heap when it is
/// shorter: template calls, includes, nested values and nested expressions recurse, and the
/// limits (not the thread's stack) decide how deep they may go.
pub(crate) fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(1 << 20, 16 << 20, f)
}
