//! kiln's type system: the kinds it knows and their compiled structural schemas. The built-in
//! Kubernetes API (generated into `schemas/` from the OpenAPI v3 documents by `openapi`, and
//! embedded by `builtin`) and the CustomResourceDefinitions of the input, in one [`Catalog`]:
//! scope, plural, subresources, served versions, and the schema of each kind as an arena of
//! [`compiled::Node`]s with list types, merge keys and patch strategies.
//!
//! Everything that needs to know what a kind looks like reads it here: rendering (strategic
//! merge keys), validation (the structural walk) and the simulated cluster (server-side apply's
//! field sets, defaults). It judges nothing itself: what is wrong with an object is for
//! `validate` to say.

pub mod builtin;
pub mod catalog;
pub mod compiled;
pub mod enums;
pub mod openapi;

pub use catalog::{Catalog, Resolution, Resource, kubernetes_version};
pub use compiled::{Additional, ListType, Node, NodeId, Schemas};
