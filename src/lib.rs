//! egresslens: explains LiveKit Egress failures from their logs.
//!
//! Pipeline, one module per stage: `source -> decode -> correlate -> rules -> report`,
//! wired together by `run`.

#![forbid(unsafe_code)]

pub mod analyze;
pub mod cli;
pub mod config_check;
pub mod correlate;
pub mod decode;
pub(crate) mod error;
pub mod event;
pub(crate) mod explain;
mod fastmap;
pub mod follow;
/// The log generator for benchmarks and tests: not part of the shipped binary (the
/// `generator` feature, on for the crate's own tests, benches and examples).
#[cfg(feature = "generator")]
pub mod generate;
pub(crate) mod output;
pub(crate) mod progress;
pub mod report;
pub mod rulebase;
pub(crate) mod rulecheck;
pub mod ruletest;
pub mod run;
pub mod source;

pub use run::run;
