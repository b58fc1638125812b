//! egresslens: explains LiveKit Egress failures from their logs.
//!
//! Pipeline, one module per stage: `source -> decode -> correlate -> rules -> report`,
//! wired together by `run`.

pub mod error;
pub mod event;
pub mod source;
pub mod decode;
pub mod correlate;
