//! Turns raw lines into `Event`s. Detects the format of each line (zap JSON, zap console with
//! tabs or spaces, the pasted `"key": value` form, `EgressInfo` dumps, plain text) after
//! unwrapping container and log-store envelopes (docker json-file, CRI, journald, Loki,
//! Elasticsearch; their partial chunks joined first) and stripping collector prefixes, and joins
//! continuation lines (Go stack traces, JSON wrapped onto the next line, protobuf-text dumps) to
//! the entry they belong to. It keeps no state across entries beyond that join, and knows
//! nothing about egress lifecycles or rules.
//!
//! Where things are:
//! - `join`: the streaming [`Decoder`] (lines in, entries out), continuation lines, [`Stats`];
//! - `chunks`: partial envelope records rebuilt into lines (part of the `Decoder`);
//! - `cuts`: where a source may be cut for parallel decoding ([`starts_entry`], [`EnvelopeCuts`]);
//! - `peek`: a line's head without decoding it ([`peek`]) and the triage interface ([`Relevance`]);
//! - `entry`: one entry's text to an `Event` (format detection, console columns);
//! - `zap`: zap JSON objects (flat scan, serde fallback);
//! - `keep`: which fields are kept ([`KeepFields`]);
//! - `intern`: shared texts for loggers, callers and messages ([`intern`]);
//! - `envelope`, `prefix`, `grammar`, `flat`, `dump`: envelopes, collector prefixes, the console
//!   and pasted grammars, the flat JSON scan, protobuf-text and Go-struct dumps.

mod chunks;
mod cuts;
pub(crate) mod dump;
mod entry;
pub(crate) mod envelope;
mod flat;
pub(crate) mod grammar;
mod intern;
mod join;
mod keep;
mod peek;
pub(crate) mod prefix;
mod zap;

pub use cuts::{starts_entry, starts_enveloped_entry, EnvelopeCuts};
#[cfg(test)]
pub(crate) use entry::decode_entry;
pub use join::{Decoder, Stats};
#[cfg(test)]
pub(crate) use peek::peek;
pub use peek::{Peek, Relevance, Verdict};

#[cfg(test)]
mod tests;
