//! kiln's integration tests: one binary. Each test feeds a fixture directory from `testdata/`
//! to the real `kiln` binary (or to the library, for the corpus) and compares the result with
//! an insta snapshot through [`support`].

mod apply;
mod check;
mod cli;
mod contract;
mod corpus;
mod diff;
mod generated;
mod git;
mod graph;
mod helm;
mod kube_client;
mod render;
mod scale;
mod serve;
mod simulate;
mod support;
