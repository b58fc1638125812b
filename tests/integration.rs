//! Integration tests: run the real binary on samples and field cases.

mod util;

mod catalogue;
mod cli;
mod config;
mod differential;
mod follow;
mod generated;
mod golden;
mod hostile;
mod incident;
mod open_egresses;
mod output;
mod props;
mod rules;
mod shapes;
mod sources;
