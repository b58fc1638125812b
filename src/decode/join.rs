//! The streaming [`Decoder`]: lines in, entries out. Joins continuation lines (Go stack
//! traces, JSON wrapped onto the next line, protobuf-text dumps) to the entry they belong to,
//! runs the fast path's triage on each line's head, and counts what it read ([`Stats`]). It
//! must not decide what a line means: entries are decoded by `entry`, envelopes unwrapped by
//! `envelope` and their partial chunks rebuilt by `chunks`.

use super::chunks::{Chunked, Meta};
use super::entry::{decode_entry_keep, decode_peeked, level_first, trim};
use super::keep::KeepFields;
use super::peek::{peek, Relevance, Verdict};
use super::{dump, envelope, grammar, prefix};
use crate::event::{Event, Format, Origin, Ts};

/// Most continuation lines joined to one entry; the rest are counted, not kept.
pub(super) const MAX_JOINED_LINES: u32 = 64;
/// Most bytes of joined text kept for one entry.
pub(super) const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Finds `"handlerID"` (built once: building a finder costs more than a short search).
pub(super) static HANDLER_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"handlerID\""));

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
pub(super) enum Join {
    /// A normal entry: continuation lines (stack frames) may follow.
    Entry,
    /// A JSON object not yet closed: following lines are part of it.
    OpenJson,
    /// Protobuf-text dump lines.
    Proto,
    /// The rows of one entry of a table (`lk egress list`): its first row, and rows that
    /// continue its cells.
    Table,
}

pub(super) struct Pending {
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
    /// Nested messages open in a protobuf-text dump (`file {` ... `}`).
    depth: u8,
}

/// A line the fast path turned down, held back (as an entry would be) in case continuation
/// lines follow: then the plain path joins them to it, so it is decoded in full after all.
pub(super) struct Held {
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
    pub(super) chunked: Vec<Chunked>,
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
    /// The column names of the table being read (`| EGRESSID | STATUS | ... |`).
    table: Option<Vec<String>>,
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
        self.push_enveloped(env, origin, out);
    }

    /// One line (unwrapped from its envelope, if any): prefixes, joining, triage.
    pub(super) fn push_text(
        &mut self,
        text: &str,
        origin: Origin,
        meta: Meta,
        out: &mut dyn FnMut(Event),
    ) {
        let (pfx, body) = prefix::strip(text);

        // Indented `"key": value` lines under a text entry, or such lines at the start of
        // their own under an entry that is only such lines (fields copied out of braces).
        let field_line = is_field_line(body)
            || (body.starts_with('"')
                && self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.head.starts_with('"'))
                && grammar::find_pasted_start(body) == Some(0));
        if self.held.is_some()
            && (is_continuation(body)
                || (field_line && !self.held_text.starts_with('{'))
                || fields_on_next_line(&self.held_text, body))
        {
            self.revive();
        }
        if body.starts_with(['|', '+']) && self.table_line(body, origin, out) {
            return;
        }
        if let Some(p) = self.pending.as_mut() {
            if p.join == Join::Entry
                && p.joined.is_none()
                && p.head.starts_with("Traceback (most recent call last)")
                && !body.trim().is_empty()
                && p.extra_lines < MAX_JOINED_LINES
            {
                // A Python traceback: its frames and source lines are indented; the first line
                // that is not is the exception, which the entry is decoded as (the raw text
                // keeps the whole traceback).
                let raw = p.raw.get_or_insert_with(|| p.head.to_string());
                raw.push('\n');
                push_capped(raw, body.trim_end());
                p.extra_lines += 1;
                self.stats.continuation += 1;
                if !body.starts_with([' ', '\t']) {
                    p.decoded = None;
                    p.joined = Some(body.trim().to_string());
                }
                return;
            }
            if p.join == Join::Entry && p.extra_lines == 0 && fields_on_next_line(&p.head, body) {
                // `… INFO egress request validated` with its JSON object on the line below (a
                // paste that broke the line, a logger that printed the context apart): the
                // object is the entry's fields.
                p.decoded = None;
                append(p, body.trim_end(), body.trim(), " ");
                self.stats.continuation += 1;
                if json_balance(body) > 0 {
                    p.join = Join::OpenJson;
                }
                return;
            }
            if p.join == Join::Entry && is_panic(&p.head) && body.trim().is_empty() {
                // Go prints a blank line between a panic's message and each goroutine's
                // stack: the dump stays one entry (a following entry still ends it).
                self.stats.blank += 1;
                return;
            }
            if field_line
                && matches!(p.join, Join::Entry | Join::Proto)
                && !p.head.starts_with('{')
                && p.extra_lines < MAX_JOINED_LINES
            {
                // Read with the line it belongs to, as the one-line pasted form is; the raw
                // text keeps the line as written.
                p.decoded = None;
                append(p, body.trim_end(), body.trim(), " ");
                self.stats.continuation += 1;
                return;
            }
            if p.join == Join::OpenJson && !starts_new_entry(body.trim()) {
                append(p, body.trim(), body.trim(), " ");
                self.stats.continuation += 1;
                if json_balance(p.text()) <= 0 || p.extra_lines >= MAX_JOINED_LINES {
                    self.flush(out);
                }
                return;
            }
            let opens = p.join == Join::Proto && dump::proto_block_open(body);
            if p.join == Join::Proto
                && (opens
                    || dump::proto_line(body).is_some()
                    || (p.depth > 0 && dump::proto_inner_line(body)))
            {
                if opens {
                    p.depth = p.depth.saturating_add(1);
                } else if body.trim() == "}" {
                    p.depth = p.depth.saturating_sub(1);
                }
                append(p, body.trim(), body.trim(), "\n");
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
        let proto_block = !trimmed.starts_with('{') && dump::proto_block_open(trimmed);
        let join = if !trimmed.starts_with('{')
            && (dump::proto_line(trimmed).is_some() || proto_block)
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
            depth: u8::from(proto_block),
        });
    }

    /// A line of a table of egresses: its borders and header are read (no entries), each
    /// row that names an egress starts an entry, and rows with an empty first cell continue
    /// it. False for a line that is not part of such a table.
    fn table_line(&mut self, body: &str, origin: Origin, out: &mut dyn FnMut(Event)) -> bool {
        if dump::table_border(body) {
            if self.table.is_some() {
                self.flush(out);
                self.stats.blank += 1;
                return true;
            }
            return false;
        }
        if let Some(header) = dump::table_header(body) {
            self.flush(out);
            self.table = Some(header);
            self.stats.blank += 1;
            return true;
        }
        let Some(cells) = self.table.as_ref().and(dump::table_cells(body)) else {
            return false;
        };
        let line = body.trim();
        if let Some(p) = self.pending.as_mut().filter(|p| p.join == Join::Table) {
            if cells.first().is_some_and(|c| c.is_empty()) {
                append(p, line, line, "\n");
                self.stats.continuation += 1;
                return true;
            }
        }
        self.flush(out);
        self.pending = Some(Pending {
            decoded: None,
            needed: false,
            joined: None,
            raw: None,
            head: crate::event::Shared::from(capped(line, MAX_ENTRY_BYTES)),
            origin,
            container: None,
            prefix_ts: None,
            extra_lines: 0,
            join: Join::Table,
            depth: 0,
        });
        true
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
            depth: 0,
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
        let Some(mut p) = self.pending.take() else {
            return;
        };
        let table = self.table.as_deref().filter(|_| p.join == Join::Table);
        let row = table.and_then(|header| dump::table_row(header, p.text()));
        let mut ev = match (p.decoded.take(), row) {
            (Some(ev), _) => ev,
            (None, Some(fields)) => super::entry::dump_event(Event::default(), fields),
            (None, None) => decode_entry_keep(p.text(), p.join == Join::Proto, self.keep.as_ref()),
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

/// Joins a line to the pending entry: `as_read` to its raw text, `line` (after `sep`) to the
/// text it is decoded from.
pub(super) fn append(p: &mut Pending, as_read: &str, line: &str, sep: &str) {
    p.extra_lines += 1;
    if p.text().len() < MAX_ENTRY_BYTES {
        let raw = p.raw.get_or_insert_with(|| p.head.to_string());
        raw.push('\n');
        push_capped(raw, as_read);
        let joined = p.joined.get_or_insert_with(|| p.head.to_string());
        joined.push_str(sep);
        push_capped(joined, line);
    }
}

pub(super) fn push_capped(s: &mut String, add: &str) {
    push_capped_to(s, add, MAX_ENTRY_BYTES);
}

pub(super) fn push_capped_to(s: &mut String, add: &str, cap: usize) {
    s.push_str(capped(add, cap.saturating_sub(s.len())));
}

/// The longest start of `s` that fits in `room` bytes, cut on a character boundary.
pub(super) fn capped(s: &str, room: usize) -> &str {
    if s.len() <= room {
        return s;
    }
    let mut cut = room;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

pub(super) fn is_fence(t: &str) -> bool {
    t.starts_with("```")
        && t[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ')
}

/// A line that clearly begins a new log entry, even inside an unclosed JSON object.
pub(super) fn starts_new_entry(t: &str) -> bool {
    t.starts_with("{\"level\"") || grammar::ts_level(t).is_ok()
}

/// Does this line start a new entry of its own (timestamped, levelled or JSON)?
pub(super) fn looks_like_entry(t: &str) -> bool {
    t.starts_with('{') || grammar::timestamp(t).is_ok() || level_first(t).is_some()
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

/// An indented `"key": value` line: a field of the text entry above it, the way a paste lists
/// an entry's fields one per line under its message (as the origin incident was pasted).
fn is_field_line(body: &str) -> bool {
    body.starts_with([' ', '\t']) && grammar::find_pasted_start(body.trim_start()) == Some(0)
}

/// A JSON object line that holds the fields of the console entry above it: the entry has a
/// time and level, no fields of its own, and the object is no log entry itself (no zap
/// `level`, `msg` or `ts`).
fn fields_on_next_line(head: &str, body: &str) -> bool {
    let t = body.trim_start();
    (t.starts_with("{\"") || t.trim_end() == "{")
        && !head.ends_with('}')
        && !head.contains(" {\"")
        && !head.contains("\t{\"")
        && !["\"level\"", "\"msg\"", "\"ts\"", "\"time\""]
            .iter()
            .any(|k| t.contains(k))
        && grammar::ts_level(head).is_ok()
}

/// The first line of a Go panic or fatal runtime error.
fn is_panic(head: &str) -> bool {
    head.starts_with("panic:") || head.starts_with("fatal error:")
}

/// A lone Go symbol such as `time.goFunc` (no package path): a stack frame only when it
/// follows other frames, so it is checked after the first continuation line.
pub(super) fn is_bare_go_symbol(body: &str) -> bool {
    let t = body.trim();
    !t.is_empty()
        && !t.contains(' ')
        && t.contains('.')
        && t.as_bytes()[0].is_ascii_alphabetic()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"./_-*()[]{},".contains(&c))
}

/// The part of an entry that may hold JSON: the whole line, or its tail from the first `{`.
pub(super) fn json_part(t: &str) -> &str {
    if t.starts_with('{') {
        return t;
    }
    match t.find(" {\"").or_else(|| t.find("\t{\"")) {
        Some(p) => &t[p + 1..],
        None => "",
    }
}

/// A JSON object cut off before its end (a paste that stops mid-line, a line cut by a log
/// shipper's size limit), closed where it stops: the open string ended, a dangling key or
/// comma dropped, the open objects and arrays closed. `None` when `s` is not cut JSON.
pub(super) fn close_cut_json(s: &str) -> Option<String> {
    let mut stack = Vec::new();
    let mut mismatched = false;
    let (in_str, esc) = json_structure(s, |c| match c {
        b'{' => stack.push(b'}'),
        b'[' => stack.push(b']'),
        _ => mismatched |= stack.pop() != Some(c),
    });
    if mismatched || stack.is_empty() || !s.starts_with('{') {
        return None;
    }
    let mut out = s.to_string();
    if in_str {
        if esc {
            out.pop();
        }
        out.push('"');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    match out.as_bytes().last() {
        Some(b',') => {
            out.pop();
        }
        Some(b':') => out.push_str("null"),
        _ => {}
    }
    while let Some(c) = stack.pop() {
        out.push(char::from(c));
    }
    Some(out)
}

/// Open braces minus closing braces outside JSON strings; > 0 means the object continues.
pub(super) fn json_balance(s: &str) -> i32 {
    let mut depth = 0i32;
    json_structure(s, |c| match c {
        b'{' | b'[' => depth += 1,
        _ => depth -= 1,
    });
    depth
}

/// Walks `s` as JSON text, calling `brace` with each `{ } [ ]` outside strings. Returns
/// whether it ended inside a string, and right after a backslash there.
fn json_structure(s: &str, mut brace: impl FnMut(u8)) -> (bool, bool) {
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
            b'{' | b'}' | b'[' | b']' => brace(c),
            _ => {}
        }
    }
    (in_str, esc)
}
