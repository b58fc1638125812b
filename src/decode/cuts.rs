//! Where a source may be cut for parallel decoding: before a line across which the decoder
//! holds nothing back. It must not decode: it only recognises the shape of a line that starts
//! an entry.

use super::chunks::MAX_CHUNKED_STREAMS;
use super::{envelope, grammar, prefix};

/// True when `line` begins a new entry whatever came before it: a zap console line (timestamp
/// and level first) or a zap JSON line, with no envelope, prefix or leading space. The decoder
/// holds nothing back across such a line (no pending entry, continuation or envelope chunk
/// survives it), so a stream may be cut before it and the parts decoded apart.
pub fn starts_entry(line: &[u8]) -> bool {
    let Ok(t) = std::str::from_utf8(line) else {
        return false;
    };
    let shape = t.starts_with("{\"level\":")
        || t.as_bytes().first().is_some_and(u8::is_ascii_digit) && grammar::ts_level(t).is_ok();
    shape && prefix::strip(t).1.len() == t.len() && envelope::unwrap(t).is_none()
}

/// True when `line` is a complete Docker json-file or CRI record whose inner line
/// [`starts_entry`]: the decoder holds nothing back across it either, provided no partial
/// record of any stream is waiting for its rest (the reader tracks that with
/// [`envelope::record`]).
pub fn starts_enveloped_entry(line: &[u8]) -> bool {
    let Ok(t) = std::str::from_utf8(line) else {
        return false;
    };
    envelope::unwrap(t).is_some_and(|u| {
        matches!(u.kind, envelope::Kind::DockerJson | envelope::Kind::Cri)
            && !u.partial
            && starts_entry(u.line.as_bytes())
    })
}

/// Where an enveloped source (Docker json-file, CRI) may be cut, for a reader that splits it:
/// before a complete record whose line starts an entry, while no stream has a partial record
/// waiting for its rest (the decoder would hold that back across the cut). Follows the
/// records' streams as [`Decoder::push`](super::Decoder::push) does, erring towards "waiting": a line it cannot
/// read blocks cuts until the next cut made.
pub struct EnvelopeCuts {
    /// The source is enveloped (its first line is a record): every line is looked at.
    active: bool,
    /// Streams with a partial record waiting, and their envelope.
    waiting: Vec<(envelope::Kind, Vec<u8>)>,
    /// A line that is not a record this reads was seen: the decoder's state is unknown.
    unknown: bool,
}

impl EnvelopeCuts {
    /// A tracker for a source whose first line is `first_line`.
    pub fn new(first_line: &[u8]) -> EnvelopeCuts {
        EnvelopeCuts {
            active: envelope::record(first_line).is_some(),
            waiting: Vec::new(),
            unknown: false,
        }
    }

    /// Follows one line, in input order.
    pub fn see(&mut self, line: &[u8]) {
        if !self.active {
            return;
        }
        let Some(r) = envelope::record(line) else {
            self.unknown = true;
            return;
        };
        // A record of another envelope ends every partial line (as in the decoder).
        if self.waiting.iter().any(|(k, _)| *k != r.kind) {
            self.waiting.clear();
        }
        let at = self.waiting.iter().position(|(_, s)| s == r.stream);
        match (at, r.partial) {
            (Some(i), false) => {
                self.waiting.remove(i);
            }
            (None, true) => {
                self.waiting.push((r.kind, r.stream.to_vec()));
                // Past what the decoder keeps apart, it drops the oldest: no longer followed.
                self.unknown |= self.waiting.len() >= MAX_CHUNKED_STREAMS;
            }
            _ => {}
        }
    }

    /// True when the source may be cut before `line` (not yet seen).
    pub fn clean_before(&self, line: &[u8]) -> bool {
        self.active && !self.unknown && self.waiting.is_empty() && starts_enveloped_entry(line)
    }

    /// A cut was made: the decoder starts afresh after it.
    pub fn cut(&mut self) {
        self.waiting.clear();
        self.unknown = false;
    }
}
