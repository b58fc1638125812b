//! Turns raw lines into `Event`s. Detects the format of each line (zap JSON, zap console with
//! tabs or spaces, the pasted `"key": value` form, `EgressInfo` dumps, plain text) after
//! unwrapping container and log-store envelopes (docker json-file, CRI, journald, Loki,
//! Elasticsearch; their partial chunks joined first) and stripping collector prefixes, and joins continuation lines (Go stack traces, JSON wrapped
//! onto the next line, protobuf-text dumps) to the entry they belong to. It keeps no state
//! across entries beyond that join, and knows nothing about egress lifecycles or rules.

pub mod dump;
pub mod envelope;
mod flat;
pub mod grammar;
pub mod prefix;

use crate::event::{Event, FieldKey, FieldValue, Fields, Format, Level, Origin, Text, Ts};
use flat::Flat;
use serde_json::{Map, Value};

/// Most continuation lines joined to one entry; the rest are counted, not kept.
const MAX_JOINED_LINES: u32 = 64;
/// Most bytes of joined text kept for one entry.
const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// Most bytes of one line rebuilt from partial envelope chunks (docker splits at 16 KiB).
const MAX_CHUNKED_LINE: usize = crate::source::MAX_LINE;
/// Most streams rebuilding a line from chunks at once (stdout and stderr, a few containers).
const MAX_CHUNKED_STREAMS: usize = 8;

/// Finds `"handlerID"` (built once: building a finder costs more than a short search).
static HANDLER_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"handlerID\""));

/// Finds `"msg":"` in zap JSON lines.
static MSG_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"msg\":\""));

/// Per-run decoding counters, shown in the report footer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Bytes read, counting one byte per line end.
    pub bytes: u64,
    /// Entries decoded per format (indexed by `Format::index`).
    pub formats: [u64; 5],
    /// Lines joined to a previous entry (stack frames, wrapped JSON).
    pub continuation: u64,
    /// Lines longer than the cap and cut.
    pub truncated: u64,
    /// Lines that were not valid UTF-8 (kept lossily).
    pub invalid_utf8: u64,
    /// Lines holding NUL or other binary bytes.
    pub binary: u64,
    /// Blank lines and markdown fences.
    pub blank: u64,
    /// Entries no stage needs: counted, not passed on.
    pub skipped: u64,
    /// A skipped entry was written by an egress handler process (`handlerID`). Only whether
    /// any was is used (a hint for logs that hold nothing but handler lines), so a decoder
    /// stops looking once it has seen one.
    pub skipped_handler: bool,
    /// Lines that came in a container or log-store envelope (docker json-file, CRI, journald,
    /// Loki, Elasticsearch).
    pub enveloped: u64,
    /// Partial envelope chunks joined to the line they continue.
    pub chunks_joined: u64,
}

impl Stats {
    /// Adds another decoder's counters.
    pub fn merge(&mut self, o: &Stats) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        for (a, b) in self.formats.iter_mut().zip(o.formats) {
            *a += b;
        }
        self.continuation += o.continuation;
        self.truncated += o.truncated;
        self.invalid_utf8 += o.invalid_utf8;
        self.binary += o.binary;
        self.blank += o.blank;
        self.skipped += o.skipped;
        self.skipped_handler |= o.skipped_handler;
        self.enveloped += o.enveloped;
        self.chunks_joined += o.chunks_joined;
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Join {
    /// A normal entry: continuation lines (stack frames) may follow.
    Entry,
    /// A JSON object not yet closed: following lines are part of it.
    OpenJson,
    /// Protobuf-text dump lines.
    Proto,
}

struct Pending {
    /// The entry already decoded from its peek (usual console lines); `None`: decode `head`.
    decoded: Option<Event>,
    /// The line's head showed that the entry is needed (no need to ask the triage again).
    needed: bool,
    /// The line (capped), shared with the event it becomes: one allocation for both.
    head: crate::event::Shared,
    /// `head` with the lines of a wrapped JSON object or a protobuf dump joined to it (what
    /// is decoded); `None` while nothing is joined.
    joined: Option<String>,
    /// The entry as read, with continuation lines; `None` while it equals `head`.
    raw: Option<String>,
    origin: Origin,
    container: Option<String>,
    prefix_ts: Option<Ts>,
    extra_lines: u32,
    join: Join,
}

/// What an envelope said about the line inside it.
#[derive(Debug, Default, Clone)]
struct Meta {
    ts: Option<Ts>,
    container: Option<String>,
}

/// Partial envelope chunks of one line, waiting for the record that completes it.
struct Chunked {
    text: String,
    origin: Origin,
    meta: Meta,
    stream: Option<String>,
    kind: envelope::Kind,
}

/// The head of a structured line, found without decoding its fields: enough to decide
/// whether the line matters to any later stage.
#[derive(Debug, Clone, Copy)]
pub struct Peek<'a> {
    pub format: Format,
    pub level: Option<Level>,
    pub message: &'a str,
    /// The undecoded fields (console) or the whole object (JSON), for key lookups.
    pub fields: &'a str,
    /// For a console line of the usual shape (`ts LEVEL logger caller msg {json}`, no brace in
    /// the message): its time, logger and caller, so the decoder need not parse it again.
    head: Option<(Ts, &'a str, &'a str)>,
    /// For a zap JSON line that opens with zap's own header: that header, read once.
    zap: Option<flat::ZapHead<'a>>,
}

impl Peek<'_> {
    /// The logger and caller as the full decode reads them, when the peek knows them (zap's
    /// own header, or a console line of the usual shape).
    pub fn logger_caller(&self) -> Option<(&str, &str)> {
        if let Some(z) = &self.zap {
            return Some((z.logger, z.caller));
        }
        self.head.map(|(_, logger, caller)| (logger, caller))
    }

    /// Where in `fields` the keys after zap's own header start (`level`, `ts`, `logger`,
    /// `caller`, `msg`, read by the peek); 0 when there is no such header.
    pub fn after_head(&self) -> usize {
        self.zap.map_or(0, |z| z.end)
    }
}

/// What a line's head says of whether any later stage needs the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No stage needs it, whatever its fields hold: counted, not decoded.
    Skip,
    /// Some stage needs it, whatever its fields hold.
    Needed,
    /// Only its decoded entry can tell ([`Relevance::needed`] decides).
    Unsure,
}

/// Which entries later stages need. An entry no stage needs is counted (`Stats::skipped`) and
/// not passed on, on every path. [`Relevance::needed`] decides on the decoded entry and is the
/// definition; [`Relevance::relevant`] decides from a line's head before decoding it (the batch
/// fast path) and may answer [`Verdict::Skip`] or [`Verdict::Needed`] only where `needed` would
/// say the same of the entry the line decodes to (a unit test and `tests/differential.rs` hold
/// the two to that).
pub trait Relevance: Send {
    /// The fast path's look at a structured line's head (and its undecoded fields).
    fn relevant(&mut self, peek: &Peek<'_>) -> Verdict;
    /// True when a later stage needs this entry.
    fn needed(&mut self, ev: &Event) -> bool;
    /// Field names that later stages read beyond the built-in ones (kept when decoding).
    fn field_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A line the fast path turned down, held back (as an entry would be) in case continuation
/// lines follow: then the plain path joins them to it, so it is decoded in full after all.
struct Held {
    origin: Origin,
    container: Option<String>,
    prefix_ts: Option<Ts>,
    format: Format,
    /// The line was written by an egress handler process (it has a `handlerID`).
    handler: bool,
}

/// A streaming decoder for one source. Feed lines with [`Decoder::push`]; entries come out
/// through the callback once the next entry starts (or at [`Decoder::finish`]).
#[derive(Default)]
pub struct Decoder {
    pending: Option<Pending>,
    /// Lines being rebuilt from partial envelope chunks, one per stream.
    chunked: Vec<Chunked>,
    /// Container for entries that name none (the input comes from one container).
    default_container: Option<String>,
    /// Which entries are passed on (all when `None`).
    triage: Option<Box<dyn Relevance>>,
    /// Lines are first judged from their head ([`Relevance::relevant`]), and those turned
    /// down are not decoded (the batch fast path).
    fast: bool,
    /// The last line, turned down from its head, with its text (for [`Decoder::revive`]).
    held: Option<Held>,
    held_text: String,
    /// Fields to keep when decoding (all when `None`).
    keep: Option<KeepFields>,
    /// The caller found no NUL byte in the lines it is feeding: no line needs the check.
    nul_free: bool,
    /// Counters so far.
    pub stats: Stats,
}

impl Decoder {
    /// A decoder with empty counters that decodes every line.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder that passes on only the entries `triage` finds needed, judging lines from
    /// their head first and decoding only those it cannot turn down (the batch fast path).
    pub fn with_triage(triage: Box<dyn Relevance>) -> Decoder {
        let keep = KeepFields::new(triage.field_names());
        Decoder {
            triage: Some(triage),
            fast: true,
            keep: Some(keep),
            ..Decoder::default()
        }
    }

    /// A decoder that decodes every line in full and passes on the entries `triage` finds
    /// needed (the plain path the fast one must equal).
    pub fn plain(triage: Box<dyn Relevance>) -> Decoder {
        Decoder {
            triage: Some(triage),
            ..Decoder::default()
        }
    }

    /// Entries that name no container get this one (the whole input comes from it).
    pub fn set_default_container(&mut self, c: Option<String>) {
        self.default_container = c;
    }

    /// Tells the decoder whether the lines fed next are known to hold no NUL byte (a caller
    /// with a block of lines checks the block at once instead of every line).
    pub fn set_nul_free(&mut self, yes: bool) {
        self.nul_free = yes;
    }

    /// Feeds one line (without its line end). `truncated` marks a line cut by the reader.
    pub fn push(
        &mut self,
        bytes: &[u8],
        origin: Origin,
        truncated: bool,
        out: &mut dyn FnMut(Event),
    ) {
        self.stats.lines += 1;
        self.stats.bytes += bytes.len() as u64 + 1;
        if truncated {
            self.stats.truncated += 1;
        }
        if !self.nul_free && memchr::memchr(0, bytes).is_some() {
            self.stats.binary += 1;
        }
        // Every line is checked: the SIMD check is several times faster than the standard one.
        let text = match simdutf8::basic::from_utf8(bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                self.stats.invalid_utf8 += 1;
                String::from_utf8_lossy(bytes)
            }
        };
        let Some(env) = envelope::unwrap(&text) else {
            self.flush_chunked(out);
            self.push_text(&text, origin, Meta::default(), out);
            return;
        };
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
    fn flush_chunked(&mut self, out: &mut dyn FnMut(Event)) {
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

    /// One line (unwrapped from its envelope, if any): prefixes, joining, triage.
    fn push_text(&mut self, text: &str, origin: Origin, meta: Meta, out: &mut dyn FnMut(Event)) {
        let (pfx, body) = prefix::strip(text);

        if self.held.is_some() && is_continuation(body) {
            self.revive();
        }
        if let Some(p) = self.pending.as_mut() {
            if p.join == Join::OpenJson && !starts_new_entry(body.trim()) {
                append(p, body.trim(), " ");
                self.stats.continuation += 1;
                if json_balance(p.text()) <= 0 || p.extra_lines >= MAX_JOINED_LINES {
                    self.flush(out);
                }
                return;
            }
            if p.join == Join::Proto && dump::proto_line(body).is_some() {
                append(p, body.trim(), "\n");
                self.stats.continuation += 1;
                return;
            }
            if p.join == Join::Entry
                && (is_continuation(body) || (p.extra_lines > 0 && is_bare_go_symbol(body)))
            {
                if p.extra_lines < MAX_JOINED_LINES {
                    let line = body.trim_end();
                    let raw = p.raw.get_or_insert_with(|| p.head.to_string());
                    raw.push('\n');
                    push_capped(raw, line);
                }
                p.extra_lines += 1;
                self.stats.continuation += 1;
                return;
            }
        }
        self.flush(out);

        let trimmed = trim(body);
        if trimmed.is_empty() || is_fence(trimmed) {
            self.stats.blank += 1;
            return;
        }
        // A line ending in `}` is taken as closed; only other lines are scanned for an
        // object that continues on the next line.
        let open_json = !trimmed.ends_with('}') && json_balance(json_part(trimmed)) > 0;
        // (A line starting with `{` looks like an entry: the dump check is skipped for it.)
        let join = if !trimmed.starts_with('{')
            && dump::proto_line(trimmed).is_some()
            && !looks_like_entry(trimmed)
        {
            Join::Proto
        } else if open_json {
            Join::OpenJson
        } else {
            Join::Entry
        };
        let mut decoded = None;
        let mut needed = false;
        // Only a whole line that starts an entry of its own may be turned down: one that lines
        // are joined to otherwise (a dump, an open object) is decoded as the plain path does.
        let small = trimmed.len() <= MAX_ENTRY_BYTES;
        if let (Some(triage), true, Join::Entry, true) =
            (self.triage.as_mut(), self.fast, join, small)
        {
            if let Some(peek) = peek(trimmed) {
                match triage.relevant(&peek) {
                    Verdict::Skip => {
                        let body = &peek.fields.as_bytes()[peek.after_head()..];
                        self.held_text.clear();
                        self.held_text.push_str(trimmed);
                        self.held = Some(Held {
                            origin,
                            container: pfx.container.map(str::to_string).or(meta.container),
                            prefix_ts: pfx.ts.or(meta.ts),
                            format: peek.format,
                            handler: !self.stats.skipped_handler
                                && HANDLER_KEY.find(body).is_some(),
                        });
                        return;
                    }
                    verdict => {
                        needed = verdict == Verdict::Needed;
                        decoded = decode_peeked(&peek, self.keep.as_ref());
                    }
                }
            }
        }
        let head = crate::event::Shared::from(capped(trimmed, MAX_ENTRY_BYTES));
        self.pending = Some(Pending {
            decoded: decoded.filter(|_| join == Join::Entry),
            needed,
            joined: None,
            raw: None,
            head,
            origin,
            container: pfx.container.map(str::to_string).or(meta.container),
            prefix_ts: pfx.ts.or(meta.ts),
            extra_lines: 0,
            join,
        });
    }

    /// Emits the entry still held back.
    pub fn finish(&mut self, out: &mut dyn FnMut(Event)) {
        self.flush_chunked(out);
        self.flush(out);
    }

    /// True when an entry is held back waiting for possible continuation lines (or a line
    /// for the rest of its partial chunks).
    pub fn has_pending(&self) -> bool {
        self.pending.is_some() || !self.chunked.is_empty()
    }

    /// The held line is continued by the next one: it becomes the entry the plain path would
    /// have made of it, to be decoded in full.
    fn revive(&mut self) {
        let Some(h) = self.held.take() else {
            return;
        };
        self.pending = Some(Pending {
            decoded: None,
            needed: false,
            joined: None,
            raw: None,
            head: crate::event::Shared::from(self.held_text.as_str()),
            origin: h.origin,
            container: h.container,
            prefix_ts: h.prefix_ts,
            extra_lines: 0,
            join: Join::Entry,
        });
    }

    /// Counts an entry no stage needs.
    fn skip(&mut self, format: Format, handler: bool) {
        self.stats.formats[format.index()] += 1;
        self.stats.skipped += 1;
        self.stats.skipped_handler |= handler;
    }

    fn flush(&mut self, out: &mut dyn FnMut(Event)) {
        if let Some(h) = self.held.take() {
            // (Nothing is pending while a line is held.)
            self.skip(h.format, h.handler);
            return;
        }
        let Some(p) = self.pending.take() else {
            return;
        };
        let mut ev = match p.decoded {
            Some(ev) => ev,
            None => decode_entry_keep(p.text(), p.join == Join::Proto, self.keep.as_ref()),
        };
        ev.raw = match p.raw {
            Some(raw) => raw.into(),
            None => p.head,
        };
        ev.origin = p.origin;
        ev.container = p.container.or_else(|| self.default_container.clone());
        ev.continuation_lines = p.extra_lines;
        if ev.ts.is_none() {
            ev.ts = p.prefix_ts;
        }
        let format = ev.format.unwrap_or(Format::Raw);
        if let (Some(triage), false) = (self.triage.as_mut(), p.needed) {
            if !triage.needed(&ev) {
                let handler = ev.fields.contains_key("handlerID");
                self.skip(format, handler);
                return;
            }
        }
        self.stats.formats[format.index()] += 1;
        out(ev);
    }
}

impl Pending {
    /// The text to decode: the line, with any joined lines.
    fn text(&self) -> &str {
        self.joined.as_deref().unwrap_or(&self.head)
    }
}

fn append(p: &mut Pending, line: &str, sep: &str) {
    p.extra_lines += 1;
    if p.text().len() < MAX_ENTRY_BYTES {
        let raw = p.raw.get_or_insert_with(|| p.head.to_string());
        raw.push('\n');
        push_capped(raw, line);
        let joined = p.joined.get_or_insert_with(|| p.head.to_string());
        joined.push_str(sep);
        push_capped(joined, line);
    }
}

fn push_capped(s: &mut String, add: &str) {
    push_capped_to(s, add, MAX_ENTRY_BYTES);
}

fn push_capped_to(s: &mut String, add: &str, cap: usize) {
    s.push_str(capped(add, cap.saturating_sub(s.len())));
}

/// The longest start of `s` that fits in `room` bytes, cut on a character boundary.
fn capped(s: &str, room: usize) -> &str {
    if s.len() <= room {
        return s;
    }
    let mut cut = room;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

fn is_fence(t: &str) -> bool {
    t.starts_with("```")
        && t[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ')
}

/// A line that clearly begins a new log entry, even inside an unclosed JSON object.
fn starts_new_entry(t: &str) -> bool {
    t.starts_with("{\"level\"") || grammar::ts_level(t).is_ok()
}

/// Does this line start a new entry of its own (timestamped, levelled or JSON)?
fn looks_like_entry(t: &str) -> bool {
    t.starts_with('{') || grammar::timestamp(t).is_ok() || level_first(t).is_some()
}

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
/// records' streams as [`Decoder::push`] does, erring towards "waiting": a line it cannot
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

/// A line that belongs to the entry before it: Go stack frames and goroutine headers,
/// Python traceback frames, indented file:line references.
pub fn is_continuation(body: &str) -> bool {
    let t = body.trim_start();
    // Continuations never start with a digit or a brace: entries (timestamps,
    // JSON) do. This keeps the common case cheap.
    match t.as_bytes().first() {
        None => return false,
        Some(c) if c.is_ascii_digit() || *c == b'{' => return false,
        _ => {}
    }
    if looks_like_entry(t) {
        return false;
    }
    let indented = body.starts_with([' ', '\t']);
    if indented
        && (t.contains(".go:")
            || t.starts_with("File \"")
            || t.starts_with("at ")
            || t.starts_with('/'))
    {
        return true;
    }
    if t.starts_with("goroutine ") && t.ends_with(':') {
        return true;
    }
    if t.starts_with("created by ") || t.starts_with("[signal ") {
        return true;
    }
    // A Go symbol: `github.com/livekit/egress/pkg/pipeline.(*Controller).OnError`, `main.main`,
    // `runtime.goexit()`, or a panic frame with arguments `pkg/x.(*T).F(0x0, {0x1, 0x2})`.
    let sym = t.split_whitespace().next().unwrap_or("");
    if let Some(open) = t.find('(') {
        let name = &t[..open];
        let go_name = !name.contains(' ')
            && name.contains('.')
            && (name.contains('/') || name.starts_with("main.") || name.starts_with("runtime."));
        if go_name && t.ends_with(')') && !t.contains(": ") {
            return true;
        }
    }
    sym == t
        && sym.contains('.')
        && !sym.ends_with('.')
        && !sym.ends_with(':')
        && sym
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"./_-*()[]{},".contains(&c))
        && (sym.contains('/') || sym.starts_with("main.") || sym.starts_with("runtime."))
}

/// A lone Go symbol such as `time.goFunc` (no package path): a stack frame only when it
/// follows other frames, so it is checked after the first continuation line.
fn is_bare_go_symbol(body: &str) -> bool {
    let t = body.trim();
    !t.is_empty()
        && !t.contains(' ')
        && t.contains('.')
        && t.as_bytes()[0].is_ascii_alphabetic()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"./_-*()[]{},".contains(&c))
}

/// The part of an entry that may hold JSON: the whole line, or its tail from the first `{`.
fn json_part(t: &str) -> &str {
    if t.starts_with('{') {
        return t;
    }
    match t.find(" {\"").or_else(|| t.find("\t{\"")) {
        Some(p) => &t[p + 1..],
        None => "",
    }
}

/// Open braces minus closing braces outside JSON strings; > 0 means the object continues.
fn json_balance(s: &str) -> i32 {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    for c in s.bytes() {
        if in_str {
            match c {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// The head of a zap console line with tab-separated columns, or of a zap JSON line, without
/// decoding its fields. `None` for every other shape (those are always decoded).
pub fn peek(t: &str) -> Option<Peek<'_>> {
    if let Some(zap) = flat::zap_head(t) {
        // zap's own header, read in one go: no search for the message key.
        return Some(Peek {
            format: Format::Json,
            level: Level::parse(zap.level),
            message: zap.msg,
            fields: t,
            head: None,
            zap: Some(zap),
        });
    }
    if let Some(rest) = t.strip_prefix("{\"level\":\"") {
        let end = memchr::memchr(b'"', rest.as_bytes())?;
        let level = Level::parse(&rest[..end]);
        let at = MSG_KEY.find(t.as_bytes())? + 7;
        let len = memchr::memchr2(b'"', b'\\', &t.as_bytes()[at..])?;
        if t.as_bytes()[at + len] == b'\\' {
            return None;
        }
        let message = &t[at..at + len];
        return Some(Peek {
            format: Format::Json,
            level,
            message,
            fields: t,
            head: None,
            zap: None,
        });
    }
    let first = t.as_bytes().first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    let (rest, (ts, level)) = grammar::ts_level(t).ok()?;
    // logger, message or caller, and up to two more columns (the last keeps its tabs).
    let (logger, after) = split_tab(rest);
    let (mut msg, after) = split_tab(after?);
    let (mut tail, after) = after.map_or(("", None), split_tab);
    let mut head = None;
    if grammar::is_caller(trim(msg)) {
        let caller = msg;
        msg = tail;
        tail = after.unwrap_or("");
        if after.is_some_and(|f| f.starts_with('{'))
            && !logger.starts_with('{')
            && memchr::memchr(b'{', msg.as_bytes()).is_none()
        {
            head = Some((ts, trim(logger), trim(caller)));
        }
    } else if after.is_some() {
        // No caller column and more tabs than columns: let the full decoder judge.
        return None;
    }
    if msg.starts_with('{') {
        return None;
    }
    Some(Peek {
        format: Format::Console,
        level: Some(level),
        message: trim(msg),
        fields: tail,
        head,
        zap: None,
    })
}

/// The entry a usual console line decodes to, built from its peek: what
/// [`decode_entry_keep`] returns for it, without parsing the line again. `None` when the peek
/// does not have the usual shape or its fields are not one JSON object.
fn decode_peeked(p: &Peek<'_>, keep: Option<&KeepFields>) -> Option<Event> {
    if let (Some(zap), Some(keep)) = (&p.zap, keep) {
        // A zap JSON line: read on from its header (what `decode_json` does for it).
        let mut ev = Event::default();
        return decode_zap(p.fields, Some(zap), keep, &mut ev).then_some(ev);
    }
    let (ts, logger, caller) = p.head?;
    let fields = parse_object(p.fields.trim_end(), keep)?;
    Some(Event {
        ts: Some(ts),
        level: p.level,
        logger: Some(intern(logger)),
        caller: Some(intern(caller)),
        message: intern(p.message),
        fields,
        format: Some(Format::Console),
        ..Event::default()
    })
}

/// Most texts kept process-wide by [`intern`], and the longest one.
const MAX_INTERNED: usize = 4096;
const MAX_INTERNED_LEN: usize = 128;

thread_local! {
    /// This thread's view of the interned texts (no lock on a hit).
    static INTERNED: std::cell::RefCell<crate::fastmap::FastSet<&'static str>> =
        std::cell::RefCell::new(crate::fastmap::FastSet::default());
    /// The interned texts this thread found last, by [`recent_slot`]: a hit costs one compare
    /// instead of a hash and a probe.
    static RECENT_INTERNED: std::cell::RefCell<[&'static str; RECENT_SLOTS]> =
        const { std::cell::RefCell::new([""; RECENT_SLOTS]) };
}

/// Slots of [`RECENT_INTERNED`].
const RECENT_SLOTS: usize = 512;

/// The [`RECENT_INTERNED`] slot of a text.
fn recent_slot(s: &[u8]) -> usize {
    crate::fastmap::quick_slot(s) % RECENT_SLOTS
}

/// Every interned text, shared by the decoding threads.
static SHARED_INTERNED: std::sync::LazyLock<
    std::sync::Mutex<crate::fastmap::FastSet<&'static str>>,
> = std::sync::LazyLock::new(Default::default);

/// `s` as a [`Text`]: loggers, callers and messages repeat on most lines, so the first
/// [`MAX_INTERNED`] short ones are stored once for the whole process (and never freed) and
/// events share them instead of allocating, copying and freeing a copy each. Later or longer
/// texts are copied. Bounded, so memory stays flat whatever the input.
pub fn intern(s: &str) -> Text {
    lookup_interned(s).map_or_else(|| Text::Owned(s.to_string()), Text::Borrowed)
}

/// [`intern`] for a text already owned: kept as it is when it is not interned.
fn intern_owned(s: String) -> Text {
    lookup_interned(&s).map_or(Text::Owned(s), Text::Borrowed)
}

fn lookup_interned(s: &str) -> Option<&'static str> {
    if s.len() > MAX_INTERNED_LEN {
        return None;
    }
    let slot = recent_slot(s.as_bytes());
    let recent = RECENT_INTERNED.with(|r| r.borrow()[slot]);
    if !s.is_empty() && crate::fastmap::same_bytes(recent.as_bytes(), s.as_bytes()) {
        return Some(recent);
    }
    let found = lookup_interned_set(s);
    if let Some(k) = found {
        RECENT_INTERNED.with(|r| r.borrow_mut()[slot] = k);
    }
    found
}

/// [`lookup_interned`] past the recent texts: this thread's set, then the shared one.
fn lookup_interned_set(s: &str) -> Option<&'static str> {
    INTERNED.with(|local| {
        let mut local = local.borrow_mut();
        if let Some(&k) = local.get(s) {
            return Some(k);
        }
        if local.len() >= MAX_INTERNED {
            return None;
        }
        let mut shared = SHARED_INTERNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let k = match shared.get(s) {
            Some(&k) => k,
            None if shared.len() < MAX_INTERNED => {
                let k: &'static str = Box::leak(s.to_string().into_boxed_str());
                shared.insert(k);
                k
            }
            None => return None,
        };
        local.insert(k);
        Some(k)
    })
}

/// `str::trim`, answering at once for the usual text that starts and ends with a printable
/// ASCII character.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if (b'!'..0x80).contains(&a) && (b'!'..0x80).contains(&z) => s,
        _ => s.trim(),
    }
}

/// The text before the first tab, and the text after it (`None` without a tab).
fn split_tab(s: &str) -> (&str, Option<&str>) {
    match memchr::memchr(b'\t', s.as_bytes()) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// `INFO egress_aborted ...`: a level word first, without a timestamp.
fn level_first(t: &str) -> Option<(Level, &str)> {
    let word_end = t.find([' ', '\t'])?;
    let word = &t[..word_end];
    if !word.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let lvl = Level::parse(word)?;
    Some((lvl, t[word_end..].trim_start()))
}

/// Decodes one (possibly joined) entry. `proto` marks joined protobuf-text dump lines.
pub fn decode_entry(text: &str, proto: bool) -> Event {
    decode_entry_keep(text, proto, None)
}

/// [`decode_entry`], keeping only the fields `keep` wants (all when `None`).
pub fn decode_entry_keep(text: &str, proto: bool, keep: Option<&KeepFields>) -> Event {
    let mut ev = Event::default();
    let mut t = trim(text);
    if t.starts_with('`') || t.ends_with('`') {
        t = t.trim_matches('`').trim();
    }
    if proto {
        if let Some(fields) = dump::proto_text(t) {
            return dump_event(ev, fields);
        }
    }
    if t.starts_with('{') {
        if decode_json(t, &mut ev, keep) {
            return ev;
        }
        if let Some(fields) = dump::go_struct(t) {
            return dump_event(ev, fields);
        }
    } else if let Ok((rest, (ts, lvl))) = grammar::ts_level(t) {
        ev.ts = Some(ts);
        ev.level = Some(lvl);
        decode_columns(rest, &mut ev, keep);
        return ev;
    } else if let Some((lvl, rest)) = level_first(t) {
        ev.level = Some(lvl);
        decode_columns(rest, &mut ev, keep);
        return ev;
    } else if let Some(fields) = dump::go_struct(t) {
        return dump_event(ev, fields);
    } else if dump::proto_line(t).is_some() {
        if let Some(fields) = dump::proto_text(t) {
            return dump_event(ev, fields);
        }
    }
    // `egress_failed {"egressID": ...}` or `egress_aborted "error": "..." "code": 412`: a
    // message and its fields, without time or level.
    if !t.starts_with('{') && (t.contains(" {\"") || grammar::find_pasted_start(t).is_some()) {
        let mut probe = Event::default();
        split_message(t, &mut probe);
        if !probe.fields.is_empty() && !probe.message.is_empty() {
            probe.format = Some(Format::Pasted);
            return probe;
        }
    }
    ev.format = Some(Format::Raw);
    ev.message = Text::Owned(t.to_string());
    if t.starts_with("panic:") || t.starts_with("fatal error:") {
        ev.level = Some(Level::Fatal);
    }
    ev
}

fn dump_event(mut ev: Event, fields: Fields) -> Event {
    ev.format = Some(Format::Dump);
    ev.message = Text::Borrowed("EgressInfo");
    ev.fields = fields;
    ev
}

/// A zap JSON line (or an `EgressInfo` JSON object). Returns false when `t` is not JSON.
fn decode_json(t: &str, ev: &mut Event, keep: Option<&KeepFields>) -> bool {
    // Only zap lines are parsed selectively; other objects (dumps, API replies) keep all.
    let zap = t.starts_with("{\"level\":");
    if let (true, Some(keep)) = (zap, keep) {
        if decode_zap(t, flat::zap_head(t).as_ref(), keep, ev) {
            return true;
        }
    }
    let filtered = if zap { parse_object(t, keep) } else { None };
    let mut obj = match filtered {
        Some(o) => o,
        None => {
            let mut stream = serde_json::Deserializer::from_str(t).into_iter::<Value>();
            let Some(Ok(Value::Object(obj))) = stream.next() else {
                return false;
            };
            obj.into()
        }
    };
    let has_zap = obj.contains_key("level") || obj.contains_key("msg");
    if !has_zap {
        if let Some(fields) = dump::json_object(&obj) {
            *ev = dump_event(std::mem::take(ev), fields);
            return true;
        }
        // Some other JSON object: keep its fields so rules can still look at them.
        ev.format = Some(Format::Json);
        ev.message = obj
            .get("message")
            .or_else(|| obj.get("error"))
            .and_then(FieldValue::text)
            .unwrap_or_default()
            .into();
        ev.fields = obj;
        return true;
    }
    let mut take = |key| obj.remove(key).map(FieldValue::into_json);
    let header = ZapHeader {
        level: take("level"),
        ts: take("ts"),
        logger: take("logger"),
        caller: take("caller"),
        msg: take("msg"),
    };
    // The stack is kept in raw text only.
    obj.remove("stacktrace");
    header.apply(ev, obj);
    true
}

/// The values of a zap JSON line's header keys, as found: owned `Value`s from serde_json, or
/// [`Flat`] values borrowed from the line by the flat reader (no allocation beyond the texts
/// the event keeps, and none for interned ones).
struct ZapHeader<V> {
    level: Option<V>,
    ts: Option<V>,
    logger: Option<V>,
    caller: Option<V>,
    msg: Option<V>,
}

impl<V> Default for ZapHeader<V> {
    fn default() -> Self {
        ZapHeader {
            level: None,
            ts: None,
            logger: None,
            caller: None,
            msg: None,
        }
    }
}

impl<V> ZapHeader<V> {
    /// Where the value of header key `key` goes; `None` for every other key.
    fn slot(&mut self, key: &str) -> Option<&mut Option<V>> {
        Some(match key {
            "level" => &mut self.level,
            "ts" => &mut self.ts,
            "logger" => &mut self.logger,
            "caller" => &mut self.caller,
            "msg" => &mut self.msg,
            _ => return None,
        })
    }
}

impl ZapHeader<Value> {
    /// Fills the event: header values of the wrong type are dropped.
    fn apply(self, ev: &mut Event, fields: Fields) {
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(intern_owned(s)),
            _ => None,
        };
        let level = match &self.level {
            Some(Value::String(l)) => Some(l.as_str()),
            _ => None,
        };
        let ts = self.ts.and_then(zap_ts);
        let (logger, caller, msg) = (text(self.logger), text(self.caller), text(self.msg));
        fill_zap_header(ev, level, ts, [logger, caller, msg], fields);
    }
}

/// Sets what a zap JSON header gives an event: its level word, time, logger, caller and
/// message (each `None` when absent or of the wrong type), and the kept fields.
fn fill_zap_header(
    ev: &mut Event,
    level: Option<&str>,
    ts: Option<Ts>,
    [logger, caller, msg]: [Option<Text>; 3],
    fields: Fields,
) {
    ev.format = Some(Format::Json);
    if let Some(l) = level {
        ev.level = Level::parse(l);
    }
    ev.ts = ts;
    if logger.is_some() {
        ev.logger = logger;
    }
    if caller.is_some() {
        ev.caller = caller;
    }
    if let Some(m) = msg {
        ev.message = m;
    }
    ev.fields = fields;
}

impl<'a> ZapHeader<Flat<'a>> {
    /// False when a header value is one serde_json refuses (a malformed nested value), so the
    /// line goes the general way and is judged the same.
    fn values_ok(&self) -> bool {
        [self.level, self.ts, self.logger, self.caller, self.msg]
            .iter()
            .all(|v| v.is_none_or(Flat::is_valid))
    }

    /// The time: `Err` for a number serde_json refuses.
    fn ts(&self) -> Result<Option<Ts>, ()> {
        Ok(match self.ts {
            Some(Flat::Num(n)) => {
                let f = flat::number(n).ok_or(())?;
                Some(Ts((f * 1_000_000.0).round() as i64))
            }
            Some(Flat::Str(s)) => grammar::timestamp(s).ok().map(|(_, ts)| ts),
            _ => None,
        })
    }

    /// What the serde reading makes of the same values, the time already read.
    fn apply(self, ev: &mut Event, ts: Option<Ts>, fields: Fields) {
        let text = |v: Option<Flat<'a>>| match v {
            Some(Flat::Str(s)) => Some(intern(s)),
            _ => None,
        };
        let level = match self.level {
            Some(Flat::Str(l)) => Some(l),
            _ => None,
        };
        let (logger, caller, msg) = (text(self.logger), text(self.caller), text(self.msg));
        fill_zap_header(ev, level, ts, [logger, caller, msg], fields);
    }
}

/// A zap JSON line, its fields filtered by `keep`: the header keys (`level`, `ts`, `logger`,
/// `caller`, `msg`) go straight into the event instead of through the field map. Produces what
/// the general path does (the last of duplicate keys wins; a header value of the wrong type
/// is dropped) and returns false, leaving `ev` alone, when `t` is not exactly one object.
fn decode_zap(
    t: &str,
    head: Option<&flat::ZapHead<'_>>,
    keep: &KeepFields,
    ev: &mut Event,
) -> bool {
    #[derive(Default)]
    struct Zap {
        fields: Fields,
        header: ZapHeader<Value>,
    }
    struct Seed<'k>(&'k KeepFields);
    impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
        type Value = Zap;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Zap, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Seed<'_> {
        type Value = Zap;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Zap, A::Error> {
            let mut z = Zap::default();
            while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                if let Some(slot) = z.header.slot(&k) {
                    *slot = Some(m.next_value()?);
                } else if k == "stacktrace" {
                    m.next_value::<serde::de::IgnoredAny>()?;
                } else if let Some((k, v)) = self.0.value(&k, &mut m)? {
                    z.fields.insert(k, v);
                }
            }
            Ok(z)
        }
    }
    // The usual flat line without escapes is read directly; anything else by serde_json.
    let mut header = ZapHeader::<Flat>::default();
    let mut fields = FlatFields::new();
    let mut values_ok = true;
    let mut each = |k, v| {
        if let Some(slot) = header.slot(k) {
            *slot = Some(v);
            return;
        }
        let key = keep.kept(k).filter(|_| k != "stacktrace");
        values_ok &= keep.keep_flat(key, k, v, &mut fields);
    };
    // Zap's own header order is read in one go; the keys after it as any others (a repeated
    // header key there wins, as the last of duplicate keys does).
    let mut micros = None;
    // A header whose time is not a number (an ISO string, say) is read the general way.
    let head = head.and_then(|h| Some((h, h.time()?)));
    let read = match head.and_then(|(h, m)| Some((h, m, flat::scan_after_head(t, h, &mut each)?))) {
        Some((head, head_micros, read)) => {
            let first = [
                (&mut header.level, head.level),
                (&mut header.logger, head.logger),
                (&mut header.caller, head.caller),
                (&mut header.msg, head.msg),
            ];
            for (slot, v) in first {
                slot.get_or_insert(Flat::Str(v));
            }
            if header.ts.is_none() {
                micros = head_micros;
                header.ts = Some(Flat::Num(head.ts));
            }
            read
        }
        None => flat::scan(t, &mut each),
    };
    let ts = match micros {
        Some(m) => Ok(Some(Ts(m))),
        None => header.ts(),
    };
    if let (true, true, true, Ok(ts)) = (read, values_ok, header.values_ok(), ts) {
        if header.level.is_none() && header.msg.is_none() {
            return false;
        }
        header.apply(ev, ts, fields.fields);
        return true;
    }
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(t);
    let Ok(z) = Seed(keep).deserialize(&mut de) else {
        return false;
    };
    if de.end().is_err() || (z.header.level.is_none() && z.header.msg.is_none()) {
        return false;
    }
    z.header.apply(ev, z.fields);
    true
}

/// zap's `ts`: seconds since the epoch as a number, or an ISO 8601 string.
fn zap_ts(v: Value) -> Option<Ts> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| Ts((f * 1_000_000.0).round() as i64)),
        Value::String(s) => grammar::timestamp(&s).ok().map(|(_, ts)| ts),
        _ => None,
    }
}

/// The columns after `ts LEVEL`: logger, optional caller, message, then a JSON object or
/// pasted `"key": value` pairs.
fn decode_columns(rest: &str, ev: &mut Event, keep: Option<&KeepFields>) {
    ev.format = Some(Format::Console);
    let rest = rest.trim_end();
    if let (c0, Some(after)) = split_tab(rest) {
        // The first two columns and the rest (which may hold more tabs), with their offsets.
        let (c1, c2) = split_tab(after);
        let n = if c2.is_some() { 3 } else { 2 };
        let cols = [c0, c1, c2.unwrap_or("")];
        let starts = [0, cols[0].len() + 1, cols[0].len() + cols[1].len() + 2];
        let mut i = 0;
        if n >= 2 && !cols[0].starts_with('{') && !cols[1].starts_with('{') || n >= 3 {
            ev.logger = Some(intern(cols[0].trim()));
            i = 1;
        }
        if i < n && i < 2 && grammar::is_caller(cols[i].trim()) {
            ev.caller = Some(intern(cols[i].trim()));
            i += 1;
        }
        let tail = if i < n { &rest[starts[i]..] } else { "" };
        split_message_keep(tail, ev, keep);
        return;
    }
    // Tabs turned into runs of spaces: use token shapes to find logger and caller.
    let mut s = rest;
    let mut tokens = s.splitn(3, char::is_whitespace);
    let first = tokens.next().unwrap_or("");
    let second = s[first.len()..].trim_start();
    let second_tok = second.split(char::is_whitespace).next().unwrap_or("");
    if grammar::is_caller(second_tok) && !first.is_empty() {
        ev.logger = Some(intern(first));
        ev.caller = Some(intern(second_tok));
        s = second[second_tok.len()..].trim_start();
    } else if grammar::is_logger(first) {
        ev.logger = Some(intern(first));
        s = second;
    } else if grammar::is_caller(first) {
        ev.caller = Some(intern(first));
        s = second;
    }
    split_message_keep(s, ev, keep);
}

/// Which fields of a structured line to keep. The fast path keeps only the fields some stage
/// reads (the ID, lifecycle and error fields, plus those named by rules); everything else is
/// skipped while parsing, without building values for it.
#[derive(Debug, Clone)]
pub struct KeepFields {
    /// The built-in names, the egress ID keys and `extra` as events store them (a shared static
    /// for the built-in ones, so keeping a field allocates nothing for its name), each with its
    /// bit (see [`Kept`]), in [`KEEP_SLOTS`] buckets by [`keep_slot`]: most keys of a line land
    /// in an empty bucket.
    slots: Vec<Vec<(FieldKey, u128)>>,
    /// A rule names `request`: keep the whole request dump, not only its room name.
    whole_request: bool,
}

/// A kept field's name as events store it, and its bit among the names [`KeepFields`] keeps
/// (0 past the 128th).
struct Kept {
    key: FieldKey,
    bit: u128,
}

/// Fields read by a flat scan, with the kept names already among them as bits: a name not yet
/// seen on the line is added without looking for it first.
struct FlatFields {
    fields: Fields,
    seen: u128,
}

impl FlatFields {
    fn new() -> FlatFields {
        FlatFields {
            fields: Fields::with_capacity(8),
            seen: 0,
        }
    }

    /// Sets a kept field (the last value of a repeated name wins, as in a JSON object map).
    #[inline(always)]
    fn set(&mut self, kept: Kept, value: FieldValue) {
        if kept.bit != 0 && self.seen & kept.bit == 0 {
            self.seen |= kept.bit;
            self.fields.push_new(kept.key, value);
        } else {
            self.fields.insert(kept.key, value);
        }
    }
}

/// Buckets of [`KeepFields`].
const KEEP_SLOTS: usize = 128;

/// The [`KeepFields`] bucket of a key: from its length and its first and last bytes.
fn keep_slot(key: &[u8]) -> usize {
    match (key.first(), key.last()) {
        (Some(&a), Some(&z)) => {
            (key.len() * 5 + usize::from(a) * 3 + usize::from(z) * 11) % KEEP_SLOTS
        }
        _ => 0,
    }
}

/// Fields the correlator, the rule texts and the report read (besides the egress ID keys).
const KNOWN_FIELDS: &[&str] = &[
    "level",
    "ts",
    "logger",
    "caller",
    "msg",
    "nodeID",
    "handlerID",
    "clusterID",
    "room",
    "room_name",
    "roomName",
    "requestType",
    "outputType",
    "sourceType",
    "request",
    "error",
    "code",
    "details",
    "reason",
    "endReason",
    "status",
    "version",
    "url",
    "event",
    "method",
    "apiKey",
    "path",
    "trackID",
    "element",
    "name",
    "signal",
    "cpu",
    "requests",
    "retries",
    "duration",
];

impl KeepFields {
    /// The built-in fields plus `extra` (field names from rule conditions).
    pub fn new(extra: Vec<String>) -> KeepFields {
        let builtin = KNOWN_FIELDS.iter().chain(&crate::event::EGRESS_ID_KEYS);
        let whole_request = extra.iter().any(|k| k == "request");
        let mut slots: Vec<Vec<(FieldKey, u128)>> = vec![Vec::new(); KEEP_SLOTS];
        let names = builtin
            .map(|k| FieldKey::Borrowed(k))
            .chain(extra.into_iter().map(FieldKey::Owned));
        let mut n: u32 = 0;
        for k in names {
            let slot = &mut slots[keep_slot(k.as_bytes())];
            if !slot.iter().any(|(s, _)| *s == k) {
                slot.push((k, 1u128.checked_shl(n).unwrap_or(0)));
                n += 1;
            }
        }
        KeepFields {
            slots,
            whole_request,
        }
    }

    /// The key to store for field `key`, `None` when it is not kept.
    fn key(&self, key: &str) -> Option<FieldKey> {
        self.kept(key).map(|k| k.key)
    }

    /// [`KeepFields::key`] with the name's bit.
    #[inline(always)]
    fn kept(&self, key: &str) -> Option<Kept> {
        let (k, bit) = self.slots[keep_slot(key.as_bytes())]
            .iter()
            .find(|(k, _)| crate::fastmap::same_bytes(k.as_bytes(), key.as_bytes()))?;
        Some(Kept {
            key: k.clone(),
            bit: *bit,
        })
    }

    /// Field `key` with its value if it is kept (`None`: skipped without building it). A
    /// `request` dump, which only its room name is read from, keeps only that name:
    /// `{"RoomComposite": {"room_name": "x"}}`.
    fn value<'de, A: serde::de::MapAccess<'de>>(
        &self,
        key: &str,
        m: &mut A,
    ) -> Result<Option<(FieldKey, Value)>, A::Error> {
        let Some(k) = self.key(key) else {
            m.next_value::<serde::de::IgnoredAny>()?;
            return Ok(None);
        };
        if key == "request" && !self.whole_request {
            return m.next_value::<RoomOnly>().map(|r| Some((k, r.0)));
        }
        m.next_value().map(|v| Some((k, v)))
    }

    /// Keeps field `name` (its kept key `key`; `None` when it is not kept) with the value the
    /// flat scan read, as [`KeepFields::value`] would build it. False when serde_json would
    /// refuse the value, kept or not: the line then goes the general way.
    #[inline(always)]
    fn keep_flat(&self, key: Option<Kept>, name: &str, v: Flat<'_>, out: &mut FlatFields) -> bool {
        let Some(key) = key else {
            return v.is_valid();
        };
        let value = if name == "request" && !self.whole_request {
            match v {
                Flat::Str(_) => v.to_field(),
                Flat::Nested(t) => serde_json::from_str::<RoomOnly>(t)
                    .ok()
                    .map(|r| FieldValue::from(r.0)),
                other => other.is_valid().then_some(FieldValue::Json(Value::Null)),
            }
        } else {
            v.to_field()
        };
        value.map(|v| out.set(key, v)).is_some()
    }
}

/// A request dump reduced to what the correlator reads: for each object inside it, only the
/// `room_name` / `roomName` strings; anything else is skipped without building it.
struct RoomOnly(Value);

impl<'de> serde::Deserialize<'de> for RoomOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Depth 0: the request (`{"Kind": {...}}`); depth 1: the kind's object.
        struct V(u8);
        impl<'de> serde::de::DeserializeSeed<'de> for V {
            type Value = Value;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a request dump")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
                let mut out = Map::new();
                while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                    if self.0 == 0 {
                        out.insert(k.into_owned(), m.next_value_seed(V(1))?);
                    } else if k == "room_name" || k == "roomName" {
                        let v: Value = m.next_value()?;
                        if v.is_string() {
                            out.insert(k.into_owned(), v);
                        }
                    } else {
                        m.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Value::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Value::Null)
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
        }
        use serde::de::DeserializeSeed;
        V(0).deserialize(d).map(RoomOnly)
    }
}

/// A JSON object key, borrowed from the input when it has no escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses a whole JSON object keeping only the fields `keep` wants; `None` when `t` is not
/// exactly one object (trailing text other than whitespace is refused).
fn parse_object(t: &str, keep: Option<&KeepFields>) -> Option<Fields> {
    let Some(keep) = keep else {
        return match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(o)) => Some(o.into()),
            _ => None,
        };
    };
    // The usual flat object without escapes is read directly; anything else by serde_json.
    let mut flat = FlatFields::new();
    let mut values_ok = true;
    let read = flat::scan(t, |k, v| {
        values_ok &= keep.keep_flat(keep.kept(k), k, v, &mut flat);
    });
    if read && values_ok {
        return Some(flat.fields);
    }
    struct Seed<'k>(&'k KeepFields);
    impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
        type Value = Fields;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Seed<'_> {
        type Value = Fields;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Fields::with_capacity(8);
            while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                if let Some((k, v)) = self.0.value(&k, &mut m)? {
                    out.insert(k, v);
                }
            }
            Ok(out)
        }
    }
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(t);
    let map = Seed(keep).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(map)
}

/// Splits `msg {json}` or `msg "k": v ...` into message and fields.
fn split_message(s: &str, ev: &mut Event) {
    split_message_keep(s, ev, None);
}

/// [`split_message`], keeping only the fields `keep` wants from a JSON tail.
fn split_message_keep(s: &str, ev: &mut Event, keep: Option<&KeepFields>) {
    // A trailing JSON object: try each ` {` from the left until one parses to the end.
    let b = s.as_bytes();
    let mut from = 0;
    let mut tries = 0;
    while let Some(p) = memchr::memchr(b'{', &b[from..]) {
        let at = from + p;
        from = at + 1;
        if at > 0 && !b[at - 1].is_ascii_whitespace() {
            continue;
        }
        tries += 1;
        if tries > 4 {
            break;
        }
        let tail = s[at..].trim_end();
        if let Some(obj) = parse_object(tail, keep) {
            ev.message = intern(s[..at].trim());
            ev.fields = obj;
            return;
        }
    }
    if let Some(at) = grammar::find_pasted_start(s) {
        let msg = s[..at].trim();
        let mut fields = Fields::new();
        grammar::pasted_pairs(&s[at..], &mut fields);
        if !fields.is_empty() {
            ev.format = Some(Format::Pasted);
            ev.message = intern(msg);
            ev.fields = fields;
            return;
        }
    }
    ev.message = intern(s.trim());
}

#[cfg(test)]
mod tests;
