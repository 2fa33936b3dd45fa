//! kiln compiles a Git repository of Kubernetes configuration into validated objects, a
//! dependency graph, and a plan that it applies to a real or a simulated cluster.
//!
//! The pipeline (see ARCHITECTURE.md): [`source`] reads files from a directory or a Git
//! revision; [`syntax`] turns YAML into JSON values with exact spans; [`object`] finds the
//! Kubernetes objects in them; [`validate`] checks them against the API's schemas and rules.
//! Every stage returns its result together with [`diag::Diagnostic`]s; `Err` is kept for a
//! broken environment.

// A `Diagnostic` is deliberately the error value of several stage helpers.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod cli;
pub mod cluster;
pub mod diag;
pub mod diff;
pub mod graph;
pub mod load;
pub mod object;
pub mod pipeline;
pub mod plan;
pub mod render;
pub mod schema;
pub mod simulate;
pub mod source;
pub mod status;
pub mod syntax;
pub mod util;
pub mod validate;
