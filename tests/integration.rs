//! Integration tests: run the real binary on samples and field cases.

mod util;

mod cli;
mod generated;
mod golden;
mod rules;
