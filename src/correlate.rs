//! Groups events per egress ID and tracks each egress's lifecycle (request received,
//! validated, start signal, playing, active, ending, terminal status with error, code and
//! details), keeping capped evidence and the rule patterns each egress's lines matched.
//! Events about a process or node rather than an egress become node facts. An egress that
//! ended is handed out after a short grace (for late lines) and then dropped, so memory grows
//! only with the egresses still open. It must not evaluate rules or format output.

use crate::event::{
    find_egress_id, is_egress_id, Event, Level, Origin, Shared, Ts, EGRESS_ID_KEYS,
};
use crate::fastmap::FastMap;
use crate::rulebase::Marking;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};

/// Most lifecycle evidence lines kept per egress.
pub const MAX_TIMELINE: usize = 40;
/// Most warning/error evidence lines kept per egress (or for the node).
pub const MAX_PROBLEMS: usize = 16;
/// Longest evidence text kept, in bytes.
pub const MAX_EVIDENCE_TEXT: usize = 4096;
/// Ended egress IDs remembered so that their late lines do not open phantom egresses.
pub const RECENT_ENDED: usize = 4096;
/// Lines an ended egress waits for late lines (webhooks, metrics) before it is handed out.
pub const GRACE_LINES: u64 = 2000;

/// Lifecycle status, as in the JSON report contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Starting,
    Active,
    Ending,
    Complete,
    Failed,
    Aborted,
    LimitReached,
    #[default]
    Unknown,
}

impl Status {
    /// Every status, in declaration order (`status as usize` indexes this).
    pub const ALL: [Status; 8] = [
        Status::Starting,
        Status::Active,
        Status::Ending,
        Status::Complete,
        Status::Failed,
        Status::Aborted,
        Status::LimitReached,
        Status::Unknown,
    ];

    /// Parses `egress_aborted`, `EGRESS_ABORTED`, `aborted`, `limit_reached` ...
    pub fn parse(s: &str) -> Option<Status> {
        let l = s.trim().to_ascii_lowercase();
        let l = l
            .strip_prefix("egress_")
            .or_else(|| l.strip_prefix("egress "))
            .unwrap_or(&l);
        Some(match l {
            "starting" => Status::Starting,
            "active" => Status::Active,
            "ending" => Status::Ending,
            "complete" | "completed" => Status::Complete,
            "failed" => Status::Failed,
            "aborted" => Status::Aborted,
            "limit_reached" => Status::LimitReached,
            _ => return None,
        })
    }

    /// The contract name (`aborted`, `limit_reached` ...).
    pub fn name(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Active => "active",
            Status::Ending => "ending",
            Status::Complete => "complete",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::LimitReached => "limit_reached",
            Status::Unknown => "unknown",
        }
    }

    /// True for complete, failed, aborted and limit_reached.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Complete | Status::Failed | Status::Aborted | Status::LimitReached
        )
    }

    /// True for the terminal statuses that are not a normal completion.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::Aborted | Status::LimitReached
        )
    }
}

/// A line a diagnosis can cite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub origin: Origin,
    pub ts: Option<Ts>,
    pub level: Option<Level>,
    /// The line as read (shared with the event when it fits the cap).
    pub text: Shared,
}

impl Evidence {
    /// Evidence from an event, its text capped.
    pub fn of(ev: &Event) -> Evidence {
        if !ev.raw.is_empty() && ev.raw.len() <= MAX_EVIDENCE_TEXT {
            return Evidence {
                origin: ev.origin,
                ts: ev.ts,
                level: ev.level,
                text: Shared::clone(&ev.raw),
            };
        }
        let mut text = if ev.raw.is_empty() {
            ev.message.to_string()
        } else {
            ev.raw.to_string()
        };
        if text.len() > MAX_EVIDENCE_TEXT {
            let mut cut = MAX_EVIDENCE_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [...]");
        }
        Evidence {
            origin: ev.origin,
            ts: ev.ts,
            level: ev.level,
            text: text.into(),
        }
    }
}

/// How often a rule pattern matched, and the first line that did.
#[derive(Debug, Clone)]
pub struct Mark {
    pub count: u32,
    pub first: Evidence,
    pub last_ts: Option<Ts>,
}

/// Sparse set of pattern hits (pattern index -> mark).
#[derive(Debug, Clone, Default)]
pub struct Marks(Vec<(u16, Mark)>);

impl Marks {
    fn hit(&mut self, idx: u16, ev: &Event) {
        match self.0.iter_mut().find(|(i, _)| *i == idx) {
            Some((_, m)) => {
                m.count += 1;
                m.last_ts = ev.ts.or(m.last_ts);
            }
            None => self.0.push((
                idx,
                Mark {
                    count: 1,
                    first: Evidence::of(ev),
                    last_ts: ev.ts,
                },
            )),
        }
    }

    /// The mark of a pattern, if any line matched it.
    pub fn get(&self, idx: u16) -> Option<&Mark> {
        self.0.iter().find(|(i, _)| *i == idx).map(|(_, m)| m)
    }

    /// Number of lines that matched a pattern.
    pub fn count(&self, idx: u16) -> u32 {
        self.get(idx).map_or(0, |m| m.count)
    }
}

/// Tells which rule patterns an event matches; implemented by the rule base, which keeps what
/// it already found in a [`Marking`] the correlator holds and hands back with each question.
pub trait Marker {
    /// Appends the indices of the rule patterns `ev` marks (message, raw-line and field
    /// patterns).
    fn marks(&self, state: &mut Marking, ev: &Event, out: &mut Vec<u16>);
    /// The outcome of a final error text pasted on its own (lower-cased, without a leading
    /// `error:`), when a rule knows it: its status and code.
    fn pasted_error(&self, text: &str) -> Option<(Status, Option<i64>)>;
}

/// A marker that marks nothing (for tests and tools that need no rules).
pub struct NoMarks;

impl Marker for NoMarks {
    fn marks(&self, _: &mut Marking, _: &Event, _: &mut Vec<u16>) {}
    fn pasted_error(&self, _: &str) -> Option<(Status, Option<i64>)> {
        None
    }
}

/// When each lifecycle step was first seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milestones {
    pub first: Option<Ts>,
    pub requested: Option<Ts>,
    pub received: Option<Ts>,
    pub validated: Option<Ts>,
    pub start_signal: Option<Ts>,
    pub playing: Option<Ts>,
    /// livekit-server logged `API Egress.StopEgress` for this egress.
    pub stop_requested: Option<Ts>,
    pub active: Option<Ts>,
    pub ending: Option<Ts>,
    pub ended: Option<Ts>,
    pub last: Option<Ts>,
    /// The milestones reached, one bit per [`Milestones::NAMES`] entry, whether or not the
    /// line that reached it had a time (a pasted fragment often has none).
    pub seen: u16,
}

impl Milestones {
    /// A milestone by name (`received`, `validated`, `start_signal`, `playing`, `active`,
    /// `ending`, `ended`, `first`, `last`, `requested`, `start` = first of requested/received/validated).
    pub fn get(&self, name: &str) -> Option<Ts> {
        match name {
            "first" => self.first,
            "requested" => self.requested,
            "received" => self.received,
            "validated" => self.validated,
            "start_signal" => self.start_signal,
            "playing" => self.playing,
            "stop_requested" => self.stop_requested,
            "active" => self.active,
            "ending" => self.ending,
            "ended" => self.ended,
            "last" => self.last,
            "start" => self.requested.or(self.received).or(self.validated),
            _ => None,
        }
    }

    /// Was the milestone reached (with or without a time)? `start`: any of requested,
    /// received or validated.
    pub fn reached(&self, name: &str) -> bool {
        if name == "start" {
            return ["requested", "received", "validated"]
                .iter()
                .any(|m| self.reached(m));
        }
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.seen & (1 << i) != 0)
    }

    /// Records that the milestone at `index` of [`Milestones::NAMES`] was reached, at `ts`
    /// when the line had a time (the first time is kept).
    fn reach(&mut self, index: usize, ts: Option<Ts>) {
        self.seen |= 1 << index;
        let slot = match index {
            Self::REQUESTED => &mut self.requested,
            Self::RECEIVED => &mut self.received,
            Self::VALIDATED => &mut self.validated,
            Self::START_SIGNAL => &mut self.start_signal,
            Self::PLAYING => &mut self.playing,
            Self::STOP_REQUESTED => &mut self.stop_requested,
            Self::ACTIVE => &mut self.active,
            Self::ENDING => &mut self.ending,
            _ => return,
        };
        if slot.is_none() {
            *slot = ts;
        }
    }

    const FIRST: usize = 0;
    const REQUESTED: usize = 1;
    const RECEIVED: usize = 2;
    const VALIDATED: usize = 3;
    const START_SIGNAL: usize = 4;
    const PLAYING: usize = 5;
    const STOP_REQUESTED: usize = 6;
    const ACTIVE: usize = 7;
    const ENDING: usize = 8;
    const ENDED: usize = 9;
    const LAST: usize = 10;

    /// Names accepted by [`Milestones::get`].
    pub const NAMES: [&'static str; 12] = [
        "first",
        "requested",
        "received",
        "validated",
        "start_signal",
        "playing",
        "stop_requested",
        "active",
        "ending",
        "ended",
        "last",
        "start",
    ];
}

/// Everything known about one egress.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// `None` for the anonymous egress of lifecycle lines that carry no ID.
    pub id: Option<String>,
    pub room: Option<String>,
    pub request_type: Option<String>,
    pub output_type: Option<String>,
    pub source_type: Option<String>,
    pub node_id: Option<String>,
    pub handler_id: Option<String>,
    pub status: Status,
    pub error: Option<String>,
    pub code: Option<i64>,
    pub details: Option<String>,
    pub t: Milestones,
    /// The line that set the terminal status.
    pub terminal: Option<Evidence>,
    /// Lifecycle lines in order (capped).
    pub timeline: Vec<Evidence>,
    /// Warning and error lines (capped).
    pub problems: Vec<Evidence>,
    /// Warning/error lines beyond the cap.
    pub problems_dropped: u64,
    pub marks: Marks,
    /// Lines attributed to this egress.
    pub lines: u64,
    /// Lines from livekit-server about this egress.
    pub server_lines: u64,
    /// Lines from the egress (service or handler) about this egress.
    pub egress_lines: u64,
    /// The input ended while the egress was still open.
    pub open_at_end: bool,
}

impl Egress {
    /// Display name: the egress ID, or a note for the anonymous egress.
    pub fn label(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| "(no egress ID)".to_string())
    }

    /// Seconds between two milestones, when both are known.
    pub fn between(&self, from: &str, to: &str) -> Option<f64> {
        Some(self.t.get(from)?.secs_until(self.t.get(to)?))
    }

    fn push_timeline(&mut self, ev: &Event) {
        if self.timeline.len() < MAX_TIMELINE {
            self.timeline.push(Evidence::of(ev));
        }
    }

    /// Like `set_if_empty`, computing the value only when the slot needs one.
    fn fill(slot: &mut Option<String>, v: impl FnOnce() -> Option<String>) {
        if slot
            .as_deref()
            .is_none_or(|s| s.is_empty() || s == "unknown")
        {
            Egress::set_if_empty(slot, v());
        }
    }

    fn set_if_empty(slot: &mut Option<String>, v: Option<String>) {
        if slot
            .as_deref()
            .is_none_or(|s| s.is_empty() || s == "unknown")
        {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                *slot = Some(v);
            }
        }
    }
}

/// Facts about the node(s) and the input as a whole, from lines not tied to one egress.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Pattern hits on lines without an egress ID.
    pub node_marks: Marks,
    /// Pattern hits on every line.
    pub all_marks: Marks,
    pub versions: BTreeSet<String>,
    pub node_ids: BTreeSet<String>,
    pub containers: BTreeSet<String>,
    /// Warning/error lines not tied to an egress (capped).
    pub problems: Vec<Evidence>,
    pub problems_dropped: u64,
    pub first: Option<Ts>,
    pub last: Option<Ts>,
    pub events: u64,
    /// Lines written by a handler subprocess (context has `handlerID` first) that were passed
    /// on; the decoders note skipped ones (`decode::Stats::skipped_handler`).
    pub handler_lines: u64,
    /// Lines written by the egress service itself.
    pub service_lines: u64,
    /// Lines from livekit-server.
    pub server_lines: u64,
    /// Egresses seen in all.
    pub egresses: u64,
    /// Most egresses open at once.
    pub peak_open: usize,
    /// Lines about an egress that had already been reported (dropped).
    pub late_lines: u64,
    /// Plain-text lines that read like an egress's final error (a pasted webhook or API
    /// reply), with the plain lines that followed them; used only when the input holds no
    /// egress at all.
    pub orphan_errors: Vec<Evidence>,
}

/// A plain-text line as a pasted final error: lower-cased, without quotes or a leading
/// `error:`, for [`Marker::pasted_error`].
fn pasted_error_text(text: &str) -> String {
    let mut t = text
        .trim()
        .trim_start_matches(['"', '\''])
        .to_ascii_lowercase();
    // What an SDK or the CLI puts in front of the egress's own error: `error:`, and the twirp
    // wrapper `twirp error <code>:` (the reply relays the error the egress returned).
    loop {
        let rest = if let Some(rest) = t.strip_prefix("error:") {
            rest
        } else if let Some(rest) = t
            .strip_prefix("twirp error ")
            .and_then(|r| r.split_once(':'))
            .filter(|(code, _)| code.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
            .map(|(_, rest)| rest)
        {
            rest
        } else {
            return t;
        };
        t = rest.trim_start().to_string();
    }
}

/// What kind of lifecycle step an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ApiStart,
    ApiStop,
    Received,
    Validated,
    /// `waiting for start signal`: validated, if nothing said so before.
    Waiting,
    StartSignal,
    Playing,
    Status(Status),
    Other,
}

fn step_of(ev: &Event) -> Step {
    let m: &str = &ev.message;
    match m {
        "request received" => return Step::Received,
        "request validated" => return Step::Validated,
        // (`chrome log: START_RECORDING` in releases before 1.6, web/source.go.)
        "chrome: START_RECORDING" | "chrome log: START_RECORDING" => return Step::StartSignal,
        "pipeline playing" => return Step::Playing,
        "egress completed" => return Step::Status(Status::Complete),
        "egress failed" => return Step::Status(Status::Failed),
        // A pasted start request: the request was made (what became of it is in the lines
        // after it, if any).
        crate::decode::dump::PASTED_REQUEST => return Step::Received,
        // The controller waits for the page's start signal once its pipeline is built: the
        // request was validated (with a pasted fragment, that line is all there is).
        "waiting for start signal" => return Step::Waiting,
        "EgressInfo" => {
            if let Some(s) = ev.field_str("status").and_then(|s| Status::parse(&s)) {
                return Step::Status(s);
            }
            if ev.field_str("error").is_some_and(|e| !e.is_empty()) {
                return Step::Status(if ev.field_i64("code") == Some(412) {
                    Status::Aborted
                } else {
                    Status::Failed
                });
            }
            return Step::Other;
        }
        "egress updated" | "sent webhook" => {
            return ev
                .field_str("status")
                .and_then(|s| Status::parse(&s))
                .map_or(Step::Other, Step::Status);
        }
        _ => {}
    }
    if let Some(rest) = m.strip_prefix("egress_") {
        if let Some(s) = Status::parse(rest) {
            return Step::Status(s);
        }
    }
    if let Some(method) = m.strip_prefix("API Egress.") {
        if method.starts_with("Start") {
            return Step::ApiStart;
        }
        if method == "StopEgress" {
            return Step::ApiStop;
        }
    }
    Step::Other
}

/// Lines a running egress writes on a schedule, which show it is alive: a recording that goes
/// quiet longer than these come is stalled (follow mode's silence clock, and an open egress at
/// the end of the input, are measured from its last line). Reference §2.1: the monitor logs
/// `hw resources usage` for every egress every 10 minutes (`pkg/stats/monitor.go:683`).
pub const LIVENESS_MESSAGES: [&str; 1] = ["hw resources usage"];

/// True for messages the correlator acts on by their text alone: lifecycle steps, status
/// lines, livekit-server API calls and webhooks, the service start banner, and the lines that
/// show a running egress is alive ([`LIVENESS_MESSAGES`]).
pub fn wants_message(m: &str) -> bool {
    let ev = Event {
        message: m.to_string().into(),
        ..Event::default()
    };
    !matches!(step_of(&ev), Step::Other)
        || matches!(
            m,
            "starting service"
                | "sent webhook"
                | "egress updated"
                | "EgressInfo"
                | "handling request"
        )
        || m.starts_with("API Egress.")
        || LIVENESS_MESSAGES.contains(&m)
}

/// A Go panic or fatal runtime error (its first line; the stack is joined to it).
fn is_panic(ev: &Event) -> bool {
    ev.level == Some(Level::Fatal)
        && (ev.message.starts_with("panic:") || ev.message.starts_with("fatal error:"))
}

fn is_server_event(ev: &Event) -> bool {
    ev.logger
        .as_deref()
        .is_some_and(|l| l.starts_with("livekit"))
}

/// The egress ID an event is about: its ID fields, livekit-server's `participant`, or free text.
pub fn egress_id_of(ev: &Event) -> Option<&str> {
    for key in EGRESS_ID_KEYS {
        if let Some(v) = ev.fields.get(key).and_then(|v| v.as_str()) {
            if is_egress_id(v) {
                return Some(v);
            }
        }
    }
    find_egress_id(&ev.message).or_else(|| {
        ev.fields
            .get("error")
            .and_then(|v| v.as_str())
            .and_then(find_egress_id)
    })
}

/// An egress ID as a map key, inline: IDs are 15 bytes (`EG_` and 12 alphanumerics, see
/// `is_egress_id`); the last byte holds the length, so any text up to 15 bytes keys exactly.
/// (`egress_id_of` only returns such IDs; longer texts would share a key when their first 15
/// bytes and length agree.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct IdKey([u8; 16]);

impl IdKey {
    fn of(id: &str) -> IdKey {
        let b = id.as_bytes();
        let n = b.len().min(15);
        let mut k = [0u8; 16];
        k[..n].copy_from_slice(&b[..n]);
        k[15] = u8::try_from(b.len()).unwrap_or(u8::MAX);
        IdKey(k)
    }
}

/// The correlation state machine. Feed events with [`Correlator::push`]; egresses come out
/// once they have ended (after a grace of [`GRACE_LINES`]) and at [`Correlator::finish`].
pub struct Correlator<'m> {
    marker: &'m dyn Marker,
    /// Open egresses by ID. Keys are inline and values boxed, so a lookup's probe stays in a
    /// compact table instead of striding over whole egresses and key strings.
    open: FastMap<IdKey, Box<Egress>>,
    anon: Option<Egress>,
    closing: VecDeque<(u64, Egress)>,
    /// IDs in `closing`, to route late lines.
    closing_ids: FastMap<IdKey, usize>,
    closing_base: usize,
    seq: u64,
    scratch: Vec<u16>,
    /// The last line was part of an orphan error text.
    orphan_open: bool,
    /// What the marker found so far (its caches), handed back with each question.
    marking: Marking,
    /// IDs of the egresses handed out most recently (bounded by [`RECENT_ENDED`]).
    recent: VecDeque<IdKey>,
    recent_set: crate::fastmap::FastSet<IdKey>,
    /// The `nodeID` of the last line that had one (already among the node IDs, or past their
    /// cap).
    last_node: String,
    /// Node and input facts.
    pub global: Global,
}

impl<'m> Correlator<'m> {
    /// A correlator that records the patterns `marker` reports.
    pub fn new(marker: &'m dyn Marker) -> Correlator<'m> {
        Correlator {
            marker,
            open: FastMap::default(),
            anon: None,
            closing: VecDeque::new(),
            closing_ids: FastMap::default(),
            closing_base: 0,
            seq: 0,
            scratch: Vec::new(),
            orphan_open: false,
            marking: Marking::default(),
            recent: VecDeque::new(),
            recent_set: crate::fastmap::FastSet::default(),
            last_node: String::new(),
            global: Global::default(),
        }
    }

    /// Egresses currently held (open, anonymous or in their grace period).
    pub fn held(&self) -> usize {
        self.open.len() + usize::from(self.anon.is_some()) + self.closing.len()
    }

    /// The open egresses (for stall checks).
    pub fn open_egresses(&self) -> impl Iterator<Item = &Egress> {
        self.open.values().map(|e| &**e).chain(self.anon.iter())
    }

    /// Takes one event; calls `out` with every egress that has finished.
    pub fn push(&mut self, ev: &Event, out: &mut dyn FnMut(Egress)) {
        self.seq += 1;
        let g = &mut self.global;
        g.events += 1;
        if let Some(ts) = ev.ts {
            g.first = Some(g.first.map_or(ts, |f| f.min(ts)));
            g.last = Some(g.last.map_or(ts, |l| l.max(ts)));
        }
        if let Some(c) = &ev.container {
            if g.containers.len() < 64 && !g.containers.contains(c) {
                g.containers.insert(c.clone());
            }
        }
        let server = is_server_event(ev);
        if server {
            g.server_lines += 1;
        } else if ev.fields.contains_key("handlerID") {
            // The service's wrapper re-logs raw handler output from logging/handler.go.
            if ev
                .caller
                .as_deref()
                .is_some_and(|c| c.starts_with("logging/handler.go"))
            {
                g.service_lines += 1;
            } else {
                g.handler_lines += 1;
            }
        } else if ev
            .logger
            .as_deref()
            .is_some_and(|l| l.starts_with("egress"))
        {
            g.service_lines += 1;
        }
        if let Some(node) = ev.fields.get("nodeID").and_then(|v| v.as_str()) {
            // Most lines come from the node of the line before.
            if !crate::fastmap::same_bytes(node.as_bytes(), self.last_node.as_bytes()) {
                if g.node_ids.len() < 256 && !g.node_ids.contains(node) {
                    g.node_ids.insert(node.to_string());
                }
                self.last_node.clear();
                self.last_node.push_str(node);
            }
        }
        if ev.message == "starting service" {
            if let Some(v) = ev.field_str("version") {
                g.versions.insert(v);
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.marker.marks(&mut self.marking, ev, &mut scratch);
        for &i in &scratch {
            self.global.all_marks.hit(i, ev);
        }

        let step = step_of(ev);
        let id = egress_id_of(ev);
        let lifecycle = !matches!(step, Step::Other | Step::ApiStop);
        match id {
            Some(id) => {
                // Open, in its grace period, handed out, or new: one of these at most (an ID
                // leaves `open` for `closing`, `closing` for `recent_set`, and a handed-out ID
                // never opens again), looked up in the order most lines need.
                let key = IdKey::of(id);
                if let Some(e) = self.open.get_mut(&key) {
                    apply(e, ev, step, &scratch, server);
                    if e.status.is_terminal() {
                        if let Some(done) = self.open.remove(&key) {
                            self.close(*done);
                        }
                    }
                } else if let Some(&pos) = self.closing_ids.get(&key) {
                    if let Some((_, e)) = self.closing.get_mut(pos - self.closing_base) {
                        apply(e, ev, step, &scratch, server);
                    }
                } else if self.recent_set.contains(&key) {
                    // A late line about an egress already handed out (the pulse reaper, a
                    // webhook): it must not open a second, phantom egress.
                    self.global.late_lines += 1;
                } else {
                    self.global.egresses += 1;
                    let mut e = Box::new(Egress {
                        id: Some(id.to_string()),
                        ..Egress::default()
                    });
                    apply(&mut e, ev, step, &scratch, server);
                    if e.status.is_terminal() {
                        self.close(*e);
                    } else {
                        self.open.insert(key, e);
                    }
                }
            }
            None if lifecycle => {
                // Lifecycle lines without any ID: the anonymous egress. A new request after a
                // finished one starts another.
                let restart = matches!(step, Step::Received | Step::Validated | Step::ApiStart)
                    && self
                        .anon
                        .as_ref()
                        .is_some_and(|a| a.status.is_terminal() || a.t.reached("validated"));
                if restart {
                    if let Some(done) = self.anon.take() {
                        self.close(done);
                    }
                }
                let e = self.anon.get_or_insert_with(|| {
                    self.global.egresses += 1;
                    Egress::default()
                });
                apply(e, ev, step, &scratch, server);
            }
            None if is_panic(ev) && self.anon.is_none() && self.open.len() == 1 => {
                // A panic with no ID while exactly one egress is open: the process that
                // panicked was serving it (a handler runs one egress), so the crash is on its
                // timeline, where the rules for it look. With several open it stays the node's.
                if let Some(e) = self.open.values_mut().next() {
                    apply(e, ev, step, &scratch, server);
                }
            }
            None => {
                for &i in &scratch {
                    self.global.node_marks.hit(i, ev);
                }
                self.collect_orphan(ev);
                if is_problem(ev) {
                    if self.global.problems.len() < MAX_PROBLEMS {
                        self.global.problems.push(Evidence::of(ev));
                    } else {
                        self.global.problems_dropped += 1;
                    }
                }
            }
        }
        self.scratch = scratch;
        self.global.peak_open = self.global.peak_open.max(self.held());
        self.release(false, out);
    }

    /// Remembers a handed-out egress ID (bounded), so late lines about it are recognised.
    fn remember_ended(&mut self, id: &str) {
        let key = IdKey::of(id);
        if self.recent_set.insert(key) {
            self.recent.push_back(key);
            if self.recent.len() > RECENT_ENDED {
                if let Some(old) = self.recent.pop_front() {
                    self.recent_set.remove(&old);
                }
            }
        }
    }

    /// Keeps plain-text final error texts (and the plain lines that continue them) aside.
    fn collect_orphan(&mut self, ev: &Event) {
        let raw = ev.format == Some(crate::event::Format::Raw);
        let orphans = &mut self.global.orphan_errors;
        if raw
            && self
                .marker
                .pasted_error(&pasted_error_text(&ev.message))
                .is_some()
        {
            if orphans.len() < 8 {
                orphans.push(Evidence::of(ev));
                self.orphan_open = true;
            }
            return;
        }
        if raw && self.orphan_open {
            if let Some(last) = orphans.last_mut() {
                if last.text.len() < MAX_EVIDENCE_TEXT {
                    last.text = format!("{}\n{}", last.text, ev.message).into();
                }
                return;
            }
        }
        self.orphan_open = false;
    }

    fn close(&mut self, e: Egress) {
        if let Some(id) = &e.id {
            self.closing_ids
                .insert(IdKey::of(id), self.closing_base + self.closing.len());
        }
        self.closing.push_back((self.seq + GRACE_LINES, e));
    }

    /// Hands out every ended egress whose grace has passed (all of them when `all`).
    fn release(&mut self, all: bool, out: &mut dyn FnMut(Egress)) {
        while let Some((deadline, _)) = self.closing.front() {
            if !all && *deadline > self.seq {
                break;
            }
            let Some((_, e)) = self.closing.pop_front() else {
                break;
            };
            self.closing_base += 1;
            if let Some(id) = &e.id {
                self.closing_ids.remove(&IdKey::of(id));
                self.remember_ended(id);
            }
            out(e);
        }
    }

    /// Hands out the ended egresses now, without waiting for their grace (follow mode, when
    /// the input is idle).
    pub fn flush_ended(&mut self, out: &mut dyn FnMut(Egress)) {
        self.release(true, out);
    }

    /// Removes and returns open egresses whose last line is older than `cutoff` (follow mode
    /// eviction of egresses that never ended).
    pub fn evict_idle(&mut self, cutoff: Ts) -> Vec<Egress> {
        let stale: Vec<IdKey> = self
            .open
            .iter()
            .filter(|(_, e)| e.t.last.is_some_and(|l| l < cutoff))
            .map(|(k, _)| *k)
            .collect();
        stale
            .into_iter()
            .filter_map(|k| self.open.remove(&k))
            .map(|mut e| {
                e.open_at_end = true;
                *e
            })
            .collect()
    }

    /// An anonymous egress from a pasted final error text, when the input has no egress.
    fn orphan_egress(&self) -> Option<Egress> {
        let first = self.global.orphan_errors.first()?;
        let (status, code) = self.marker.pasted_error(&pasted_error_text(&first.text))?;
        let text = first.text.trim();
        let text = text
            .strip_prefix("error:")
            .or_else(|| text.strip_prefix("Error:"))
            .unwrap_or(text)
            .trim()
            .trim_matches('"');
        let mut e = Egress {
            status,
            error: Some(text.to_string()),
            code,
            terminal: Some(first.clone()),
            lines: 1,
            egress_lines: 1,
            ..Egress::default()
        };
        e.t.ended = first.ts;
        e.t.first = first.ts;
        e.t.last = first.ts;
        e.t.seen = 1 << Milestones::FIRST | 1 << Milestones::ENDED | 1 << Milestones::LAST;
        // The error text is all there is: mark it with the patterns it matches.
        let ev = Event {
            message: text.to_string().into(),
            raw: first.text.clone(),
            origin: first.origin,
            ts: first.ts,
            format: Some(crate::event::Format::Raw),
            ..Event::default()
        };
        // (Once per run, so without the caches.)
        let mut idx = Vec::new();
        self.marker.marks(&mut Marking::default(), &ev, &mut idx);
        for i in idx {
            e.marks.hit(i, &ev);
        }
        Some(e)
    }

    /// Ends the input: every egress still held comes out, open ones marked `open_at_end`.
    pub fn finish(&mut self, out: &mut dyn FnMut(Egress)) {
        self.release(true, out);
        let mut rest: Vec<Egress> = self.open.drain().map(|(_, e)| *e).collect();
        rest.extend(self.anon.take());
        if self.global.egresses == 0 {
            if let Some(e) = self.orphan_egress() {
                self.global.egresses += 1;
                rest.push(e);
            }
        }
        rest.sort_by_key(|e| (e.t.first, e.id.clone()));
        for mut e in rest {
            if !e.status.is_terminal() {
                e.open_at_end = true;
            }
            out(e);
        }
    }
}

fn is_problem(ev: &Event) -> bool {
    match ev.level {
        Some(l) => l >= Level::Warn,
        None => {
            let m = ev.message.to_ascii_lowercase();
            m.contains("error") || m.contains("fail") || m.contains("panic") || m.contains("unable")
        }
    }
}

/// Applies one event to an egress.
fn apply(e: &mut Egress, ev: &Event, step: Step, marks: &[u16], server: bool) {
    e.lines += 1;
    if server {
        e.server_lines += 1;
    } else {
        e.egress_lines += 1;
    }
    if let Some(ts) = ev.ts {
        e.t.first = Some(e.t.first.map_or(ts, |f| f.min(ts)));
        e.t.last = Some(e.t.last.map_or(ts, |l| l.max(ts)));
    }
    e.t.seen |= 1 << Milestones::FIRST | 1 << Milestones::LAST;
    for &i in marks {
        e.marks.hit(i, ev);
    }
    if !server {
        Egress::fill(&mut e.node_id, || ev.field_str("nodeID"));
    }
    Egress::fill(&mut e.handler_id, || ev.field_str("handlerID"));
    Egress::fill(&mut e.room, || {
        ev.first_field(&["room", "room_name", "roomName"])
    });
    Egress::fill(&mut e.request_type, || ev.field_str("requestType"));
    Egress::fill(&mut e.output_type, || ev.field_str("outputType"));
    Egress::fill(&mut e.source_type, || ev.field_str("sourceType"));
    let ts = ev.ts;
    match step {
        Step::ApiStart => {
            e.t.reach(Milestones::REQUESTED, ts);
            if e.request_type.is_none() {
                e.request_type = ev
                    .message
                    .strip_prefix("API Egress.Start")
                    .and_then(|m| m.strip_suffix("Egress"))
                    .and_then(request_type_of_method);
            }
            e.push_timeline(ev);
            let err = ev.error_text();
            if !err.is_empty() && !e.status.is_terminal() {
                // livekit-server logs the call when it returns: the request failed (it never
                // reached a worker, or the worker refused it). It came in `duration` earlier,
                // which is how long the caller waited (12 s for `no response from servers`).
                if let (Some(end), Some(took)) = (
                    ts,
                    ev.field_str("duration").and_then(|d| go_duration_secs(&d)),
                ) {
                    let start = Ts(end.0 - (took * 1e6).round() as i64);
                    e.t.requested = Some(e.t.requested.map_or(start, |r| r.min(start)));
                    e.t.first = Some(e.t.first.map_or(start, |f| f.min(start)));
                }
                e.status = Status::Failed;
                e.error = Some(err);
                e.code = ev.field_i64("status");
                e.t.ended = ts;
                e.t.seen |= 1 << Milestones::ENDED;
                e.terminal = Some(Evidence::of(ev));
            } else if e.status == Status::Unknown {
                e.status = Status::Starting;
            }
        }
        Step::ApiStop => {
            e.t.reach(Milestones::STOP_REQUESTED, ts);
            e.push_timeline(ev);
        }
        Step::Received => {
            e.t.reach(Milestones::RECEIVED, ts);
            e.push_timeline(ev);
            if e.status == Status::Unknown {
                e.status = Status::Starting;
            }
        }
        Step::Validated => {
            e.t.reach(Milestones::VALIDATED, ts);
            e.push_timeline(ev);
            if e.status == Status::Unknown {
                e.status = Status::Starting;
            }
            if e.room.is_none() {
                e.room = room_from_request(ev);
            }
        }
        Step::Waiting => {
            if !e.t.reached("validated") {
                e.t.reach(Milestones::VALIDATED, ts);
            }
            e.push_timeline(ev);
            if e.status == Status::Unknown {
                e.status = Status::Starting;
            }
        }
        Step::StartSignal => {
            e.t.reach(Milestones::START_SIGNAL, ts);
            e.push_timeline(ev);
        }
        Step::Playing => {
            e.t.reach(Milestones::PLAYING, ts);
            e.push_timeline(ev);
        }
        Step::Status(s) => {
            let from_server = server || ev.message == "sent webhook";
            if e.status.is_terminal() {
                // A second terminal report (webhook, livekit-server) only fills gaps.
                fill_outcome(e, ev);
                if !from_server {
                    e.push_timeline(ev);
                }
                return;
            }
            e.push_timeline(ev);
            match s {
                Status::Active => e.t.reach(Milestones::ACTIVE, ts),
                Status::Ending => e.t.reach(Milestones::ENDING, ts),
                _ => {}
            }
            e.status = s;
            if s.is_terminal() {
                e.t.ended = ts.or(e.t.last);
                e.t.seen |= 1 << Milestones::ENDED;
                e.terminal = Some(Evidence::of(ev));
                fill_outcome(e, ev);
            }
        }
        Step::Other => {}
    }
    if is_problem(ev) && !matches!(step, Step::Status(_)) {
        if e.problems.len() < MAX_PROBLEMS {
            e.problems.push(Evidence::of(ev));
        } else {
            e.problems_dropped += 1;
        }
    }
}

/// Seconds in a Go `time.Duration` as zap writes it: a number of seconds (JSON encoder) or
/// Go's text (`12.04s`, `0.2ms`, `850µs`, `1m2.5s`, `1h0m3s`; console encoder). `None` for
/// anything else.
fn go_duration_secs(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    if let Ok(secs) = rest.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let (unit, len) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .iter()
        .find(|(u, _)| rest.starts_with(u))
        .map(|(u, f)| (*f, u.len()))?;
        total += value * unit;
        rest = &rest[len..];
    }
    Some(total)
}

fn fill_outcome(e: &mut Egress, ev: &Event) {
    Egress::set_if_empty(&mut e.error, ev.field_str("error"));
    Egress::set_if_empty(&mut e.details, ev.field_str("details"));
    if e.code.is_none_or(|c| c == 0) {
        if let Some(c) = ev.field_i64("code").filter(|c| *c != 0) {
            e.code = Some(c);
        } else if e.code.is_none() {
            e.code = ev.field_i64("code");
        }
    }
}

fn request_type_of_method(m: &str) -> Option<String> {
    Some(
        match m {
            "RoomComposite" => "room_composite",
            "Web" => "web",
            "Participant" => "participant",
            "TrackComposite" => "track_composite",
            "Track" => "track",
            // `StartEgress` (the unified method) does not say; `request validated` will.
            _ => return None,
        }
        .to_string(),
    )
}

/// The room name inside a `request` dump (`{"RoomComposite":{"room_name":"x"}}`).
fn room_from_request(ev: &Event) -> Option<String> {
    let req = ev.fields.get("request")?;
    let inner = req.as_json()?.as_object()?.values().next()?;
    inner
        .get("room_name")
        .or_else(|| inner.get("roomName"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests;
