//! The analysis engine: drives decode -> correlate -> rules over line readers (merging several
//! sources by timestamp) or over events pushed one at a time (follow mode), and collects the
//! results a report needs. It owns no I/O of its own beyond pulling lines from `source`
//! readers, and formats nothing.

//!
//! Where things are:
//! - `engine`: the streaming [`Engine`] (events in, diagnosed egresses out) and its [`Options`];
//! - `result`: what a report reads ([`Analysis`], [`EgressResult`], [`Summary`], [`Cause`]);
//! - `triage`: which entries are needed, and the batch fast path's verdict from a line's head
//!   ([`Triage`]);
//! - `readers`: the batch driver over line readers and the timestamp merge ([`run_readers`],
//!   [`Strategy`]); `parallel`: one source cut into chunks decoded on several threads;
//! - `stall`: stall kinds, clocks and limits ([`stall_kind`], [`StallLimits`], [`open_at_end`]);
//! - `hints`: advice about the input and notes about one egress.

mod engine;
mod hints;
mod parallel;
mod readers;
mod result;
mod stall;
mod triage;

pub use engine::{Engine, Options, MAX_REPORTED};
pub use parallel::workers;
pub(crate) use readers::plain_decoder;
pub use readers::{analyze_bytes, run_readers, run_readers_with, Strategy};
pub use result::{Analysis, Cause, EgressResult, IdCensus, Summary, MAX_OTHER_IDS};
pub use stall::{
    open_at_end, stall_kind, stall_since, stalls_at_end, OpenAtEnd, Stall, StallLimits,
    ENDING_AFTER_SECS, SILENT_FACTOR, SILENT_MIN_SECS,
};

/// Follow mode's closing counts live with follow mode; named here too, where the public API
/// (and `tests/differential.rs`) has always found them.
pub use crate::follow::LiveSummary;

#[cfg(test)]
mod tests;
