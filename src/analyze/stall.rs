//! Stalls: which stall an open egress is in ([`stall_kind`]), since when ([`stall_since`]),
//! how long it may wait ([`StallLimits`]), and how long it had waited when the input ended
//! ([`open_at_end`]). It must not decide what the stall means (the `stall` rules do).

use super::engine::{Engine, Options};
use super::readers::run_readers;
use super::result::EgressResult;
use crate::correlate::{Egress, Status};
use crate::event::Ts;
use crate::rulebase::{RuleSet, StallKind};
use crate::source::LineReader;

/// An egress that has started recording is flagged after `SILENT_FACTOR × --stall-after`
/// without a line, and never before [`SILENT_MIN_SECS`].
pub const SILENT_FACTOR: f64 = 10.0;
/// Recent egress versions log `hw resources usage` for a recording egress every 10 minutes, so
/// a healthy recording may be quiet that long: a silence is flagged after 15 minutes at least.
pub const SILENT_MIN_SECS: f64 = 900.0;
/// An egress still ending this long after `egress_ending` is flagged (the egress itself
/// gives up after 30 s with `pipeline frozen`).
pub const ENDING_AFTER_SECS: f64 = 60.0;

/// How long an open egress may wait in each stall before it counts as stalled: follow mode
/// flags it then, and a batch run counts an egress that had waited longer at the end of the
/// input as stalled (exit code 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StallLimits {
    /// `--stall-after`: the wait for the start signal; the silence limit is derived from it.
    pub stall_after_secs: f64,
}

impl Default for StallLimits {
    /// The command line's default, `--stall-after 30s`.
    fn default() -> Self {
        StallLimits {
            stall_after_secs: 30.0,
        }
    }
}

impl StallLimits {
    /// Seconds an egress may wait in `kind` before it counts as stalled.
    pub fn limit_secs(&self, kind: StallKind) -> f64 {
        match kind {
            StallKind::BeforeStart => self.stall_after_secs,
            StallKind::Silent => (self.stall_after_secs * SILENT_FACTOR).max(SILENT_MIN_SECS),
            StallKind::Ending => ENDING_AFTER_SECS,
        }
    }
}

/// An egress still open (no terminal status) when the input ended, measured at the input's
/// newest line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenAtEnd {
    /// The stall it was in ([`stall_kind`]); `None` when its lines tell no stage (no request,
    /// no start): then the wait is counted from its last line and never judged.
    pub kind: Option<StallKind>,
    /// Seconds from the start of its stall clock ([`stall_since`]; its last line when `kind`
    /// is `None`) to the newest line of the input; `None` without timestamps.
    pub waited_secs: Option<f64>,
    /// The limit for `kind` ([`StallLimits::limit_secs`]).
    pub limit_secs: Option<f64>,
    /// It had waited past the limit.
    pub stalled: bool,
}

/// How long `e`, still open when the input ended, had been waiting at `newest` (the input's
/// newest line); `None` for an egress with a terminal status or not open at the end.
/// `oldest` and `newest` are the input's first and last times: an input that shows a single
/// instant (or none) is a snapshot, in which how long anything waited is not known.
pub fn open_at_end(
    e: &Egress,
    oldest: Option<Ts>,
    newest: Option<Ts>,
    limits: &StallLimits,
) -> Option<OpenAtEnd> {
    if !e.open_at_end || e.status.is_terminal() {
        return None;
    }
    let kind = stall_kind(e);
    let since = match kind {
        Some(k) => stall_since(e, k),
        None => e.t.last,
    };
    let snapshot = oldest == newest;
    let waited_secs = since
        .zip(newest)
        .filter(|_| !snapshot)
        .map(|(a, b)| a.secs_until(b).max(0.0));
    let limit_secs = kind.map(|k| limits.limit_secs(k));
    Some(OpenAtEnd {
        kind,
        waited_secs,
        limit_secs,
        // A snapshot (a pasted fragment, its lines without time or all of one instant) that
        // stops where an egress stalls (`waiting for start signal`, a request and nothing
        // after it): what was pasted as stuck is taken as stalled, its wait unknown.
        stalled: match (waited_secs, limit_secs) {
            (Some(w), Some(l)) => w >= l,
            (None, Some(_)) => snapshot,
            _ => false,
        },
    })
}

/// An open egress flagged by follow mode as stalled, with the rules that describe the stall.
#[derive(Debug, Clone)]
pub struct Stall {
    pub kind: StallKind,
    /// How long it has stalled: since the request (before start), since its last line (silent)
    /// or since `egress_ending` (ending).
    pub waited_secs: f64,
    pub result: EgressResult,
}

/// The stall an open egress could be in, by its milestones: ending (EOS without a final
/// status), silent (recording started), or before start (request received or validated, no
/// start signal and no `pipeline playing`). `None` for an ended egress or one with no request.
pub fn stall_kind(e: &Egress) -> Option<StallKind> {
    if e.status.is_terminal() {
        return None;
    }
    if e.status == Status::Ending || e.t.reached("ending") {
        return Some(StallKind::Ending);
    }
    if ["start_signal", "playing", "active"]
        .iter()
        .any(|m| e.t.reached(m))
        || e.status == Status::Active
    {
        return Some(StallKind::Silent);
    }
    if e.t.reached("received") || e.t.reached("validated") {
        return Some(StallKind::BeforeStart);
    }
    None
}

/// When the clock of a stall starts: the request, the last line, or `egress_ending`.
pub fn stall_since(e: &Egress, kind: StallKind) -> Option<Ts> {
    match kind {
        StallKind::BeforeStart => e.t.received.or(e.t.validated),
        StallKind::Silent => e.t.last,
        StallKind::Ending => e.t.ending,
    }
}

/// The stalls of the egresses still open at the end of `data`, each measured in log time up to
/// the newest line (rule examples for `stall` rules; no threshold applies).
pub fn stalls_at_end(rules: &RuleSet, data: &[u8]) -> Vec<Stall> {
    let mut engine = Engine::new(
        rules,
        Options {
            stream: true,
            ..Options::default()
        },
        vec!["<input>".into()],
    );
    let reader = LineReader::from_bytes(data.to_vec());
    let _ = run_readers(&mut engine, vec![(0, reader)], &mut |_| {}, &mut |_| {});
    let newest = engine.newest();
    let mut out: Vec<Stall> = engine
        .open_egresses()
        .filter_map(|e| {
            let kind = stall_kind(e)?;
            let waited = stall_since(e, kind)
                .zip(newest)
                .map_or(0.0, |(a, b)| a.secs_until(b).max(0.0));
            Some(engine.diagnose_stall(e, kind, waited))
        })
        .collect();
    out.sort_by_key(|s| (s.result.egress.t.first, s.result.egress.id.clone()));
    out
}
