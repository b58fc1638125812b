//! Envelope chunks rebuilt into lines: Docker json-file and CRI split long lines into
//! partial records, one stream at a time. Part of [`Decoder`]; it must not look inside the
//! rebuilt line (that is the joining and decoding of the lines it yields).

use super::envelope;
use super::join::{push_capped_to, Decoder};
use crate::event::{Event, Origin, Ts};

/// Most bytes of one line rebuilt from partial envelope chunks (docker splits at 16 KiB).
pub(super) const MAX_CHUNKED_LINE: usize = crate::source::MAX_LINE;
/// Most streams rebuilding a line from chunks at once (stdout and stderr, a few containers).
pub(super) const MAX_CHUNKED_STREAMS: usize = 8;

/// What an envelope said about the line inside it.
#[derive(Debug, Default, Clone)]
pub(super) struct Meta {
    pub(super) ts: Option<Ts>,
    pub(super) container: Option<String>,
}

/// Partial envelope chunks of one line, waiting for the record that completes it.
pub(super) struct Chunked {
    text: String,
    origin: Origin,
    meta: Meta,
    stream: Option<String>,
    kind: envelope::Kind,
}

impl Decoder {
    /// A line that came in an envelope: its partial chunks are rebuilt into the line, one
    /// line per stream, before the line goes on.
    pub(super) fn push_enveloped(
        &mut self,
        env: envelope::Unwrapped<'_>,
        origin: Origin,
        out: &mut dyn FnMut(Event),
    ) {
        self.stats.enveloped += 1;
        let meta = Meta {
            ts: env.ts,
            container: env.container,
        };
        // Chunks of another kind of envelope end every line being rebuilt.
        if self.chunked.iter().any(|c| c.kind != env.kind) {
            self.flush_chunked(out);
        }
        // Streams (stdout, stderr, containers) interleave: each rebuilds its own line.
        let at = self.chunked.iter().position(|c| c.stream == env.stream);
        match at {
            Some(i) => {
                let c = &mut self.chunked[i];
                if c.text.len() < MAX_CHUNKED_LINE
                    && env.line.len() > MAX_CHUNKED_LINE - c.text.len()
                {
                    self.stats.truncated += 1;
                }
                push_capped_to(&mut c.text, &env.line, MAX_CHUNKED_LINE);
                self.stats.chunks_joined += 1;
                if env.partial {
                    return;
                }
                let c = self.chunked.remove(i);
                let meta = Meta {
                    ts: c.meta.ts.or(meta.ts),
                    container: c.meta.container.or(meta.container),
                };
                self.push_lines(&c.text, c.origin, meta, out);
            }
            None if env.partial => {
                if self.chunked.len() >= MAX_CHUNKED_STREAMS {
                    let c = self.chunked.remove(0);
                    self.push_lines(&c.text, c.origin, c.meta, out);
                }
                let mut text = String::with_capacity(env.line.len() * 2);
                push_capped_to(&mut text, &env.line, MAX_CHUNKED_LINE);
                self.chunked.push(Chunked {
                    text,
                    origin,
                    meta,
                    stream: env.stream,
                    kind: env.kind,
                });
            }
            None => self.push_lines(&env.line, origin, meta, out),
        }
    }

    /// Emits the line rebuilt from partial chunks so far, as it is.
    pub(super) fn flush_chunked(&mut self, out: &mut dyn FnMut(Event)) {
        if self.chunked.is_empty() {
            return;
        }
        for c in std::mem::take(&mut self.chunked) {
            self.push_lines(&c.text, c.origin, c.meta, out);
        }
    }

    /// An envelope's inner text, which may hold several lines (journald, Loki).
    fn push_lines(&mut self, text: &str, origin: Origin, meta: Meta, out: &mut dyn FnMut(Event)) {
        if memchr::memchr(b'\n', text.as_bytes()).is_none() {
            self.push_text(text, origin, meta, out);
            return;
        }
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            self.push_text(line, origin, meta.clone(), out);
        }
    }
}
