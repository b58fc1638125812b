//! Follow mode's wiring: `source::follow` (tail -F on files, live stdin) -> decode -> the
//! analysis engine -> report. Each egress is reported the moment it ends, an egress that
//! stalls while still open is flagged once per stall, node and input findings are reported
//! when they fire, and the output is flushed after every report. This module decides *when*
//! (quiet periods, stall clocks, eviction, the end of the run); it formats nothing itself (only
//! `report` does) and reads input only through `source`.

use crate::analyze::{
    plain_decoder, stall_kind, stall_since, EgressResult, Engine, Options, Stall, StallLimits,
};
use crate::cli::AnalyzeConfig;
use crate::decode::{Decoder, Stats};
use crate::error::{Error, Result, EXIT_FINDINGS, EXIT_OK};
use crate::event::{Event, Origin, Ts};
use crate::output::Dest;
use crate::report::{self, Style};
use crate::rulebase::{Diagnosis, RuleSet, Severity, StallKind};
use crate::source::follow::{TailEvent, TailOptions, Tailer, Waker};
use crate::source::{Input, Line};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Counts for follow mode's closing summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSummary {
    /// Egresses reported as they ended (or were evicted).
    pub egresses: u64,
    pub failed: u64,
    pub completed: u64,
    /// Egresses with a warning but no failure.
    pub warnings: u64,
    /// Stall warnings printed.
    pub stalls: u64,
    /// Node- and input-level findings printed.
    pub findings: u64,
    /// Of those, findings of warning or error severity.
    pub serious_findings: u64,
    /// Egresses evicted after a long silence, reported as incomplete.
    pub evicted: u64,
    /// Egresses still open at the end.
    pub open: u64,
    /// Decoding counters over the whole run.
    pub stats: Stats,
    /// Wall-clock seconds the run lasted.
    pub elapsed_secs: f64,
}

impl LiveSummary {
    /// True when anything found sets exit code 1: a failure, a warning, a stall, or a finding
    /// of warning severity or worse.
    pub fn has_findings(&self) -> bool {
        self.failed > 0 || self.warnings > 0 || self.stalls > 0 || self.serious_findings > 0
    }
}

/// Input quiet this long: the entry a decoder holds back for continuation lines, and the
/// ended egresses held for late lines, go out.
pub const QUIET: Duration = Duration::from_millis(250);
/// Ended egresses go out at least this often while the input keeps coming.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for input before the clocks are looked at again (and the polling period
/// where inotify is not available).
pub const TICK: Duration = Duration::from_millis(200);
/// Stall and finding checks run at most this often.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);
/// An open egress without a line for this long (log time, behind the newest line) is
/// reported as incomplete and dropped, so that memory stays bounded.
pub const EVICT_AFTER_SECS: f64 = 3600.0;
/// The stall limits, shared with batch runs (which count an egress stalled at the end of the
/// input): see [`StallLimits`].
pub use crate::analyze::{ENDING_AFTER_SECS, SILENT_FACTOR, SILENT_MIN_SECS};
/// Lines taken from an input at a time before the clocks are looked at again.
const BATCH: usize = 4096;
/// With several inputs, an input is read again once fewer than this many of its entries wait
/// to be merged (by timestamp) with the other inputs.
const MERGE_LOW: usize = 1024;
/// Egress IDs remembered after their report, so that a line arriving after the report does
/// not come out as a second, partial egress.
const RECENT: usize = 4096;
/// Lines between two eviction checks.
const EVICT_EVERY_LINES: u64 = 1 << 16;
/// Most source names; a file that starts over gets a new one (its line numbers restart)
/// until then.
const MAX_SOURCES: usize = 1024;

/// What follow mode needs from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Flag an egress still waiting for its start signal after this many seconds.
    pub stall_after_secs: f64,
    /// Report egresses that completed normally too.
    pub all: bool,
    /// Only these egress IDs (empty: all).
    pub egress_ids: Vec<String>,
    /// Only entries in this window (`--since`, `--until`); entries without a time are kept.
    pub since: Option<Ts>,
    pub until: Option<Ts>,
}

/// Where follow mode's reports go, one at a time.
pub trait Sink {
    /// An egress that ended (or was given up after a long silence).
    fn egress(&mut self, r: &EgressResult, sources: &[String]);
    /// An open egress that has stalled.
    fn stall(&mut self, s: &Stall, sources: &[String]);
    /// A node or input finding.
    fn finding(&mut self, d: &Diagnosis, sources: &[String]);
    /// The closing summary, with the egresses still open.
    fn summary(&mut self, s: &LiveSummary, open: &[EgressResult], sources: &[String]);
    /// True once output has failed (closed pipe ...): the run should stop.
    fn failed(&self) -> bool;
}

/// How long one stall clock has run.
struct Watch {
    kind: StallKind,
    /// When the clock was (re)started here, and how long it had already run in log time
    /// (an egress from a file's backlog has waited since before we saw it).
    seen_at: Instant,
    lag_secs: f64,
    lines: u64,
    /// Stall kinds already reported (one bit each).
    flagged: u8,
}

impl Watch {
    fn waited(&self, now: Instant) -> f64 {
        self.lag_secs + now.saturating_duration_since(self.seen_at).as_secs_f64()
    }
}

fn bit(k: StallKind) -> u8 {
    match k {
        StallKind::BeforeStart => 1,
        StallKind::Silent => 2,
        StallKind::Ending => 4,
    }
}

/// Follow mode's state apart from the engine, so that the engine's callbacks can use it.
struct State {
    sources: Vec<String>,
    settings: Settings,
    watches: HashMap<Option<String>, Watch>,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
    reported_rules: HashSet<String>,
    summary: LiveSummary,
    /// At the end of the run: egresses still open are listed, not reported one by one.
    finishing: bool,
    open_at_end: Vec<EgressResult>,
}

impl State {
    fn remember(&mut self, id: &str) {
        if self.recent_set.insert(id.to_string()) {
            self.recent.push_back(id.to_string());
            if self.recent.len() > RECENT {
                if let Some(old) = self.recent.pop_front() {
                    self.recent_set.remove(&old);
                }
            }
        }
    }

    /// Lines about an egress that was reported already, arriving after its report (a webhook,
    /// a late livekit-server line): they make up no egress of their own.
    fn is_leftover(&self, r: &EgressResult) -> bool {
        !r.egress.t.reached("start")
            && r.egress
                .id
                .as_ref()
                .is_some_and(|id| self.recent_set.contains(id))
    }

    fn done(&mut self, r: &EgressResult, sink: &mut dyn Sink) {
        self.watches.remove(&r.egress.id);
        if self.is_leftover(r) {
            return;
        }
        if let Some(id) = &r.egress.id {
            self.remember(id);
        }
        let s = &mut self.summary;
        if r.is_failure() {
            s.failed += 1;
        } else if r.severity() == Some(Severity::Warning) {
            s.warnings += 1;
        }
        if self.finishing && r.egress.open_at_end {
            self.open_at_end.push(r.clone());
            return;
        }
        s.egresses += 1;
        if r.egress.status == crate::correlate::Status::Complete && !r.is_failure() {
            s.completed += 1;
        }
        if r.egress.open_at_end {
            s.evicted += 1;
        }
        let show =
            self.settings.all || r.is_failure() || !r.diagnoses.is_empty() || r.egress.open_at_end;
        if show {
            sink.egress(r, &self.sources);
        }
    }
}

/// Follow mode after the source: a decoder per input, the engine, stall clocks and findings.
/// Time comes in as arguments, so that it can be driven without waiting.
pub struct Follower<'r> {
    engine: Engine<'r>,
    decoders: Vec<Decoder>,
    retired: Stats,
    names: Vec<String>,
    source_of: Vec<u32>,
    last_line: Vec<Option<Instant>>,
    /// Several inputs: decoded entries waiting to be merged by timestamp, the last timestamp
    /// released from each input, and whether each input has handed out all it holds now.
    queues: Vec<VecDeque<Event>>,
    last_ts: Vec<Option<Ts>>,
    caught_up: Vec<bool>,
    any_line_at: Instant,
    last_flush: Instant,
    last_check: Option<Instant>,
    checked_events: u64,
    lines_since_evict: u64,
    started: Instant,
    scratch: Vec<Event>,
    st: State,
}

impl<'r> Follower<'r> {
    /// A follower over inputs named `names` (index = input index).
    pub fn new(
        rules: &'r RuleSet,
        settings: Settings,
        names: Vec<String>,
        now: Instant,
    ) -> Follower<'r> {
        let opts = Options {
            all: settings.all,
            egress_ids: settings.egress_ids.clone(),
            stream: true,
            since: settings.since,
            until: settings.until,
            stall_limits: StallLimits {
                stall_after_secs: settings.stall_after_secs,
            },
        };
        let n = names.len();
        Follower {
            engine: Engine::new(rules, opts, names.clone()),
            decoders: (0..n).map(|_| plain_decoder(rules)).collect(),
            retired: Stats::default(),
            source_of: (0..n as u32).collect(),
            last_line: vec![None; n],
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            last_ts: vec![None; n],
            caught_up: vec![false; n],
            any_line_at: now,
            last_flush: now,
            last_check: None,
            checked_events: 0,
            lines_since_evict: 0,
            started: now,
            scratch: Vec::new(),
            st: State {
                sources: names.clone(),
                settings,
                watches: HashMap::new(),
                recent: VecDeque::new(),
                recent_set: HashSet::new(),
                reported_rules: HashSet::new(),
                summary: LiveSummary::default(),
                finishing: false,
                open_at_end: Vec::new(),
            },
            names,
        }
    }

    /// Entries of input `input` that name no container get `c` (the input is one container's
    /// log, e.g. `docker logs NAME`).
    pub fn set_container(&mut self, input: usize, c: Option<String>) {
        if let Some(d) = self.decoders.get_mut(input) {
            d.set_default_container(c);
        }
    }

    /// The engine (for its counters: `held`, `kept`, `global().peak_open`).
    pub fn engine(&self) -> &Engine<'r> {
        &self.engine
    }

    /// Egresses follow mode itself keeps track of (stall clocks and recently reported IDs).
    pub fn tracked(&self) -> usize {
        self.st.watches.len() + self.st.recent.len()
    }

    /// Counts so far.
    pub fn summary(&self) -> &LiveSummary {
        &self.st.summary
    }

    /// Hands the entries just decoded from `input` on: to the engine at once with one input,
    /// else to the input's merge queue.
    fn push_events(&mut self, input: usize, sink: &mut dyn Sink) {
        let mut evs = std::mem::take(&mut self.scratch);
        if self.queues.len() > 1 {
            if let Some(q) = self.queues.get_mut(input) {
                q.extend(evs.drain(..));
            }
        }
        for ev in evs.drain(..) {
            let st = &mut self.st;
            self.engine.push(&ev, &mut |r| st.done(r, sink));
        }
        self.scratch = evs;
    }

    /// With several inputs: true when input `i` should be read (few of its entries wait).
    pub fn wants_more(&self, i: usize) -> bool {
        self.queues.len() <= 1 || self.queues.get(i).is_some_and(|q| q.len() < MERGE_LOW)
    }

    /// Tells whether input `i` has handed out everything it holds now (then an empty queue
    /// of it does not hold the merge back).
    pub fn set_caught_up(&mut self, i: usize, caught_up: bool) {
        if let Some(c) = self.caught_up.get_mut(i) {
            *c = caught_up;
        }
    }

    /// With several inputs: passes the queued entries to the engine in timestamp order (an
    /// entry without one keeps its place after its input's previous entry), as far as every
    /// input that may hold earlier entries has some queued.
    pub fn release(&mut self, sink: &mut dyn Sink) {
        if self.queues.len() <= 1 {
            return;
        }
        loop {
            let blocked = self
                .queues
                .iter()
                .zip(&self.caught_up)
                .any(|(q, caught_up)| q.is_empty() && !caught_up);
            if blocked {
                return;
            }
            let pick = self
                .queues
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.front().map(|e| (i, e.ts.or(self.last_ts[i]))))
                .min_by_key(|&(i, ts)| (ts.map_or(i64::MIN, |t| t.0), i))
                .map(|(i, _)| i);
            let Some(i) = pick else {
                return;
            };
            let Some(ev) = self.queues[i].pop_front() else {
                return;
            };
            if ev.ts.is_some() {
                self.last_ts[i] = ev.ts;
            }
            let st = &mut self.st;
            self.engine.push(&ev, &mut |r| st.done(r, sink));
        }
    }

    /// One line from input `input`.
    pub fn line(&mut self, input: usize, line: Line<'_>, now: Instant, sink: &mut dyn Sink) {
        let Some(dec) = self.decoders.get_mut(input) else {
            return;
        };
        let origin = Origin {
            source: self.source_of[input],
            line: line.number,
        };
        let scratch = &mut self.scratch;
        dec.push(line.bytes, origin, line.truncated, &mut |e| scratch.push(e));
        self.push_events(input, sink);
        self.last_line[input] = Some(now);
        self.any_line_at = now;
        self.lines_since_evict += 1;
        if self.lines_since_evict >= EVICT_EVERY_LINES {
            self.evict(sink);
        }
    }

    fn finish_decoder(&mut self, input: usize, sink: &mut dyn Sink) {
        let Some(dec) = self.decoders.get_mut(input) else {
            return;
        };
        let scratch = &mut self.scratch;
        dec.finish(&mut |e| scratch.push(e));
        self.push_events(input, sink);
    }

    /// Input `input` starts over (rotated, re-created or truncated file): its line numbers
    /// restart, so its lines get a new source name.
    pub fn restart(&mut self, input: usize, sink: &mut dyn Sink) {
        self.finish_decoder(input, sink);
        if let Some(dec) = self.decoders.get_mut(input) {
            self.retired.merge(&dec.stats);
            *dec = plain_decoder(self.engine.rules());
        }
        if self.st.sources.len() < MAX_SOURCES {
            if let Some(name) = self.names.get(input) {
                self.source_of[input] = self.engine.add_source(name.clone());
                self.st.sources.push(name.clone());
            }
        }
    }

    /// Input `input` has ended.
    pub fn closed(&mut self, input: usize, sink: &mut dyn Sink) {
        self.finish_decoder(input, sink);
        self.last_line[input] = None;
        self.set_caught_up(input, true);
    }

    /// How long the caller may wait for input before calling [`Follower::idle`] again.
    pub fn next_wait(&self, now: Instant) -> Duration {
        self.last_line
            .iter()
            .flatten()
            .map(|t| (*t + QUIET).saturating_duration_since(now))
            .fold(TICK, Duration::min)
            .max(Duration::from_millis(10))
    }

    /// Called whenever the input has been read up to what is available: hands out what waited
    /// for a quiet moment, and runs the stall, finding and eviction checks when due.
    pub fn idle(&mut self, now: Instant, sink: &mut dyn Sink) {
        for i in 0..self.decoders.len() {
            if let Some(t) = self.last_line[i] {
                if now.saturating_duration_since(t) >= QUIET {
                    self.finish_decoder(i, sink);
                    self.last_line[i] = None;
                }
            }
        }
        self.release(sink);
        if now.saturating_duration_since(self.any_line_at) >= QUIET
            || now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY
        {
            let st = &mut self.st;
            self.engine.flush_ended(&mut |r| st.done(r, sink));
            self.last_flush = now;
        }
        let due = self
            .last_check
            .is_none_or(|t| now.saturating_duration_since(t) >= CHECK_EVERY);
        if due {
            self.last_check = Some(now);
            self.evict(sink);
            self.check_stalls(now, sink);
            self.check_findings(false, sink);
        }
    }

    /// Reports open egresses without a line for [`EVICT_AFTER_SECS`] of log time as
    /// incomplete, and drops them.
    fn evict(&mut self, sink: &mut dyn Sink) {
        self.lines_since_evict = 0;
        if let Some(newest) = self.engine.newest() {
            let cutoff = Ts(newest.0 - (EVICT_AFTER_SECS * 1e6) as i64);
            let st = &mut self.st;
            self.engine.evict_idle(cutoff, &mut |r| st.done(r, sink));
        }
    }

    fn check_stalls(&mut self, now: Instant, sink: &mut dyn Sink) {
        let newest = self.engine.newest();
        let limits = StallLimits {
            stall_after_secs: self.st.settings.stall_after_secs,
        };
        let mut found: Vec<Stall> = Vec::new();
        let mut open = 0usize;
        for e in self.engine.open_egresses() {
            open += 1;
            if !self.engine.wants(e) {
                continue;
            }
            let Some(kind) = stall_kind(e) else {
                continue;
            };
            // How far behind the newest line the clock started: a backlog's egress has been
            // waiting since before we read it.
            let lag = stall_since(e, kind)
                .zip(newest)
                .map_or(0.0, |(since, n)| since.secs_until(n).max(0.0));
            // The newest line came in at `any_line_at`; the clock started `lag` before it.
            if !self.st.watches.contains_key(&e.id) {
                self.st.watches.insert(
                    e.id.clone(),
                    Watch {
                        kind,
                        seen_at: self.any_line_at,
                        lag_secs: lag,
                        lines: e.lines,
                        flagged: 0,
                    },
                );
            }
            let Some(w) = self.st.watches.get_mut(&e.id) else {
                continue;
            };
            if w.kind != kind || (kind == StallKind::Silent && w.lines != e.lines) {
                w.kind = kind;
                w.seen_at = self.any_line_at;
                w.lag_secs = lag;
            }
            w.lines = e.lines;
            let limit = limits.limit_secs(kind);
            let waited = w.waited(now);
            if waited >= limit && w.flagged & bit(kind) == 0 {
                w.flagged |= bit(kind);
                let is_leftover = !e.t.reached("start")
                    && e.id
                        .as_ref()
                        .is_some_and(|id| self.st.recent_set.contains(id));
                if !is_leftover {
                    found.push(self.engine.diagnose_stall(e, kind, waited));
                }
            }
        }
        // Clocks of egresses that left without a report (filtered out): drop them.
        if self.st.watches.len() > 2 * open + 64 {
            let ids: HashSet<Option<String>> =
                self.engine.open_egresses().map(|e| e.id.clone()).collect();
            self.st.watches.retain(|k, _| ids.contains(k));
        }
        for s in found {
            self.st.summary.stalls += 1;
            sink.stall(&s, &self.st.sources);
        }
    }

    /// Reports the node and input findings that have newly fired. Rules resting on a line
    /// not being seen wait for the end of the input (`at_end`).
    fn check_findings(&mut self, at_end: bool, sink: &mut dyn Sink) {
        let events = self.engine.global().events;
        if events == self.checked_events && !at_end {
            return;
        }
        self.checked_events = events;
        let reported = &self.st.reported_rules;
        let found = self
            .engine
            .findings_now(&|r| reported.contains(&r.id) || (!at_end && r.needs_absence()));
        for d in found {
            self.st.reported_rules.insert(d.rule.clone());
            for alt in &d.alternatives {
                self.st.reported_rules.insert(alt.rule.clone());
            }
            self.st.summary.findings += 1;
            if d.severity >= Severity::Warning {
                self.st.summary.serious_findings += 1;
            }
            sink.finding(&d, &self.st.sources);
        }
    }

    /// Ends the run: hands out what is held back, reports the last findings and the closing
    /// summary with the egresses still open, and returns the counts.
    pub fn finish(mut self, now: Instant, sink: &mut dyn Sink) -> LiveSummary {
        for i in 0..self.decoders.len() {
            self.finish_decoder(i, sink);
            self.set_caught_up(i, true);
        }
        self.release(sink);
        {
            let st = &mut self.st;
            self.engine.flush_ended(&mut |r| st.done(r, sink));
        }
        self.check_findings(true, sink);
        if self.st.summary.findings == 0 {
            if let Some(d) = self.engine.rules().unrecognised_input(self.engine.global()) {
                self.st.summary.findings += 1;
                self.st.summary.serious_findings += 1;
                sink.finding(&d, &self.st.sources);
            }
        }
        let mut stats = self.retired.clone();
        for d in &self.decoders {
            stats.merge(&d.stats);
        }
        self.st.finishing = true;
        let st = &mut self.st;
        let _ = self
            .engine
            .finish_with(stats.clone(), &mut |r| st.done(r, sink));
        st.summary.open = st.open_at_end.len() as u64;
        st.summary.stats = stats;
        st.summary.elapsed_secs = now.saturating_duration_since(self.started).as_secs_f64();
        sink.summary(&st.summary, &st.open_at_end, &st.sources);
        st.summary.clone()
    }
}

/// Writes each report through `report::follow` and flushes it at once.
struct WriterSink<'s> {
    w: Box<dyn Write>,
    style: &'s Style,
    error: Option<io::Error>,
    /// `--quiet`: only the closing summary is written.
    quiet: bool,
    /// `--quiet -o FILE`: the file gets every report, stdout the closing summary.
    summary_to: Option<Box<dyn Write>>,
    /// Writing that summary to stdout failed.
    summary_error: Option<io::Error>,
}

impl WriterSink<'_> {
    fn emit(&mut self, f: impl FnOnce(&mut dyn Write, &Style) -> io::Result<()>) {
        if self.error.is_some() {
            return;
        }
        let r = f(&mut *self.w, self.style).and_then(|_| self.w.flush());
        if let Err(e) = r {
            self.error = Some(e);
        }
    }
}

impl Sink for WriterSink<'_> {
    fn egress(&mut self, r: &EgressResult, sources: &[String]) {
        if self.quiet {
            return;
        }
        self.emit(|w, s| report::follow::write_egress(r, sources, s, w));
    }
    fn stall(&mut self, st: &Stall, sources: &[String]) {
        if self.quiet {
            return;
        }
        self.emit(|w, s| report::follow::write_stall(st, sources, s, w));
    }
    fn finding(&mut self, d: &Diagnosis, sources: &[String]) {
        if self.quiet {
            return;
        }
        self.emit(|w, s| report::follow::write_finding(d, sources, s, w));
    }
    fn summary(&mut self, sum: &LiveSummary, open: &[EgressResult], sources: &[String]) {
        self.emit(|w, s| report::follow::write_summary(sum, open, sources, s, w));
        if let Some(w) = self.summary_to.as_mut() {
            let r = report::follow::write_summary(sum, open, sources, self.style, &mut **w)
                .and_then(|_| w.flush());
            if let Err(e) = r {
                self.summary_error = Some(e);
            }
        }
    }
    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Set by SIGINT, SIGTERM or SIGHUP.
static STOP: AtomicBool = AtomicBool::new(false);
/// Wakes the running follow loop when a signal comes.
static WAKER: Mutex<Option<Waker>> = Mutex::new(None);
static HANDLER: Once = Once::new();

/// Makes SIGINT/SIGTERM/SIGHUP end the run with its summary; a second one exits at once.
fn install_signal_handler(waker: Waker) {
    if let Ok(mut slot) = WAKER.lock() {
        *slot = Some(waker);
    }
    STOP.store(false, Ordering::SeqCst);
    HANDLER.call_once(|| {
        // Without a handler (it cannot be installed) the default action still ends the
        // process; only the summary is lost.
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                // Asked twice: the summary is taking too long (a blocked output?).
                std::process::exit(130);
            }
            if let Ok(slot) = WAKER.lock() {
                if let Some(w) = slot.as_ref() {
                    w.wake();
                }
            }
        });
    });
}

/// Runs follow mode until every input has ended (stdin closed), a signal stops it, or the
/// output is closed (then quietly, exit 0). Reports go to `dest`, opened once and written as
/// they come.
pub fn run(
    a: &AnalyzeConfig,
    dest: &Dest,
    rules: &RuleSet,
    style: &Style,
    inputs: Vec<Input>,
) -> Result<u8> {
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let input_error = |e: crate::source::follow::TailError| Error::Input {
        path: names.get(e.input).cloned().unwrap_or_default(),
        source: e.source,
    };
    let mut tailer = Tailer::open(&inputs, TailOptions::default()).map_err(input_error)?;
    for i in tailer.waiting() {
        if let Some(name) = names.get(i) {
            let _ = report::follow::write_waiting(name, style, &mut io::stderr());
        }
    }
    let out = crate::output::open_stream(dest)?;
    install_signal_handler(tailer.waker());
    let to_file = *dest != Dest::Stdout;
    let mut sink = WriterSink {
        w: out,
        style,
        error: None,
        quiet: a.quiet && !to_file,
        summary_to: (a.quiet && to_file)
            .then(|| Box::new(io::BufWriter::new(io::stdout())) as Box<dyn Write>),
        summary_error: None,
    };
    let settings = Settings {
        stall_after_secs: a.stall_after_secs,
        all: a.all,
        egress_ids: a.egress_ids.clone(),
        since: a.since.as_ref().map(|b| b.at),
        until: a.until.as_ref().map(|b| b.at),
    };
    let mut f = Follower::new(rules, settings, names.clone(), Instant::now());
    for (i, input) in inputs.iter().enumerate() {
        f.set_container(i, input.container().map(str::to_string));
    }
    let mut failure: Option<Error> = None;
    let mut read_any = false;
    loop {
        if STOP.load(Ordering::SeqCst) || sink.failed() {
            break;
        }
        let now = Instant::now();
        let mut more = false;
        for i in 0..tailer.inputs() {
            if !f.wants_more(i) {
                // Its queue waits for another input's earlier entries: come back at once.
                more = true;
                continue;
            }
            let polled = tailer.poll_input(i, BATCH, &mut |i, ev| match ev {
                TailEvent::Line(line) => {
                    read_any = true;
                    f.line(i, line, now, &mut sink)
                }
                TailEvent::Restart(_) => f.restart(i, &mut sink),
                TailEvent::Closed => f.closed(i, &mut sink),
            });
            match polled {
                Ok(p) => {
                    f.set_caught_up(i, !p.more);
                    more |= p.more;
                }
                Err(e) => {
                    failure = Some(input_error(e));
                    break;
                }
            }
        }
        if failure.is_some() {
            break;
        }
        f.release(&mut sink);
        let now = Instant::now();
        f.idle(now, &mut sink);
        if tailer.all_closed() || sink.failed() {
            break;
        }
        if !more {
            tailer.wait(f.next_wait(now));
        }
    }
    if let Some(e) = &sink.error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(EXIT_OK);
        }
    }
    // An input that failed before giving a line (`docker logs` without a daemon): the error
    // alone says it; a summary of nothing would only hide it.
    if !read_any {
        if let Some(e) = failure.take() {
            return Err(e);
        }
    }
    if sink.error.is_none() {
        let now = Instant::now();
        tailer.drain_partial(&mut |i, ev| {
            if let TailEvent::Line(line) = ev {
                f.line(i, line, now, &mut sink);
            }
        });
    }
    let summary = f.finish(Instant::now(), &mut sink);
    if let Some(e) = sink.error.take() {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(EXIT_OK);
        }
        return Err(Error::Output {
            path: dest.name(),
            source: e,
        });
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(e) = sink.summary_error.take() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(Error::Output {
                path: "<stdout>".into(),
                source: e,
            });
        }
    }
    if !a.quiet {
        crate::output::tell_written(dest, || {
            report::wrote_line(&dest.name(), summary.failed, summary.warnings)
        });
    }
    Ok(if summary.has_findings() && !a.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests;
