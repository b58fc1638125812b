//! A structured line's head read without decoding its fields ([`peek`]), and the triage
//! interface the decoder asks of it ([`Relevance`], [`Verdict`]). It must not decide what is
//! needed: that is the triage's (`analyze::Triage`).

use super::entry::{split_tab, trim};
use super::{flat, grammar};
use crate::event::{Event, Format, Level, Ts};

/// Finds `"msg":"` in zap JSON lines.
pub(super) static MSG_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"msg\":\""));

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
    pub(super) head: Option<(Ts, &'a str, &'a str)>,
    /// For a zap JSON line that opens with zap's own header: that header, read once.
    pub(super) zap: Option<flat::ZapHead<'a>>,
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
