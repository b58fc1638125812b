//! Unit tests of follow mode's wiring, driven with simulated time: quiet flushes, stall clocks,
//! live findings, restarts and bounded memory. They do no I/O and never sleep.

use super::*;
use crate::source::Line;

/// Records what follow mode reports, as short tags.
#[derive(Default)]
struct Collect {
    events: Vec<String>,
    egresses: u64,
    summary: Option<(LiveSummary, Vec<String>)>,
}

impl Sink for Collect {
    fn egress(&mut self, r: &EgressResult, _: &[String]) {
        self.egresses += 1;
        self.events.push(format!(
            "egress {} {}{}",
            r.egress.label(),
            r.egress.status.name(),
            r.diagnoses
                .first()
                .map_or(String::new(), |d| format!(" {}", d.rule))
        ));
    }
    fn stall(&mut self, s: &Stall, _: &[String]) {
        self.events.push(format!(
            "stall {} {} {}",
            s.result.egress.label(),
            s.kind.name(),
            s.result
                .diagnoses
                .first()
                .map_or("-".to_string(), |d| d.rule.clone())
        ));
    }
    fn finding(&mut self, d: &Diagnosis, _: &[String]) {
        self.events.push(format!("finding {}", d.rule));
    }
    fn summary(&mut self, s: &LiveSummary, open: &[EgressResult], _: &[String]) {
        let open = open.iter().map(|r| r.egress.label()).collect();
        self.summary = Some((s.clone(), open));
    }
    fn failed(&self) -> bool {
        false
    }
}

fn rules() -> RuleSet {
    RuleSet::load(None).expect("built-in rules load")
}

fn settings(stall_after_secs: f64) -> Settings {
    Settings {
        stall_after_secs,
        all: false,
        egress_ids: Vec::new(),
        since: None,
        until: None,
    }
}

/// A zap JSON line at `secs` seconds after an arbitrary epoch.
fn zap(secs: f64, msg: &str, id: &str, extra: &str) -> String {
    format!(
        r#"{{"level":"info","ts":{},"logger":"egress","caller":"x.go:1","msg":"{msg}","nodeID":"NE_8vQm3KpXz2Lr","egressID":"{id}"{extra}}}"#,
        1_764_000_000.0 + secs
    )
}

struct Feed<'r> {
    f: Follower<'r>,
    sink: Collect,
    t0: Instant,
    line_no: u64,
}

impl<'r> Feed<'r> {
    fn new(rules: &'r RuleSet, s: Settings) -> Feed<'r> {
        let t0 = Instant::now();
        Feed {
            f: Follower::new(rules, s, vec!["egress.log".into()], t0),
            sink: Collect::default(),
            t0,
            line_no: 0,
        }
    }

    fn at(&self, secs: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs)
    }

    /// Feeds a line at wall-clock `secs`.
    fn line(&mut self, secs: f64, text: &str) {
        self.line_no += 1;
        let now = self.at(secs);
        self.f.line(
            0,
            Line {
                bytes: text.as_bytes(),
                number: self.line_no,
                truncated: false,
            },
            now,
            &mut self.sink,
        );
    }

    fn idle(&mut self, secs: f64) {
        let now = self.at(secs);
        self.f.idle(now, &mut self.sink);
    }

    /// Ends the run at wall-clock `secs`.
    fn finish(self, secs: f64) -> (LiveSummary, Collect) {
        let now = self.at(secs);
        let mut sink = self.sink;
        let s = self.f.finish(now, &mut sink);
        (s, sink)
    }
}

const A: &str = "EG_AAAAAAAAAAAA";
const B: &str = "EG_BBBBBBBBBBBB";

#[test]
fn an_ended_failure_is_reported_once_the_input_is_quiet() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(30.0));
    feed.line(0.0, &zap(0.0, "request validated", A, r#","room":"r1""#));
    feed.line(
        0.5,
        &zap(
            34.0,
            "egress_aborted",
            A,
            r#","error":"Start signal not received","code":412,"details":"End reason: StopEgress API""#,
        ),
    );
    feed.idle(0.6);
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
    feed.idle(0.5 + QUIET.as_secs_f64());
    assert_eq!(
        feed.sink.events,
        vec![format!("egress {A} aborted start-signal-not-received")]
    );
    // A late line about the same egress (webhook) is not a second egress.
    feed.line(
        1.0,
        &zap(
            34.1,
            "sent webhook",
            A,
            r#","status":"EGRESS_ABORTED","error":"Start signal not received""#,
        ),
    );
    feed.idle(2.0);
    let (summary, sink) = feed.finish(3.0);
    assert_eq!(sink.egresses, 1, "{:?}", sink.events);
    assert_eq!((summary.egresses, summary.failed, summary.open), (1, 1, 0));
    assert!(summary.has_findings());
}

#[test]
fn an_egress_waiting_for_its_start_signal_is_flagged_once_then_reported_when_it_ends() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(30.0));
    feed.line(0.0, &zap(0.0, "request received", A, ""));
    feed.line(0.0, &zap(0.01, "request validated", A, r#","room":"r1""#));
    feed.idle(1.0);
    feed.idle(29.0);
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
    feed.idle(30.5);
    assert_eq!(
        feed.sink.events,
        vec![format!("stall {A} before_start stalled-before-start")]
    );
    feed.idle(45.0);
    feed.idle(60.0);
    assert_eq!(feed.sink.events.len(), 1, "flagged once");
    feed.line(
        61.0,
        &zap(
            61.0,
            "egress_aborted",
            A,
            r#","error":"Start signal not received","code":412"#,
        ),
    );
    feed.idle(62.0);
    assert_eq!(
        feed.sink.events.last().map(String::as_str),
        Some(format!("egress {A} aborted start-signal-not-received").as_str())
    );
    let (summary, _) = feed.finish(63.0);
    assert_eq!(summary.stalls, 1);
}

#[test]
fn a_backlog_egress_is_measured_in_log_time() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(30.0));
    // Read from a file's backlog within a few milliseconds: validated at log time 0, and the
    // newest line is 40 s later, so it has waited 40 s already.
    feed.line(0.0, &zap(0.0, "request validated", A, ""));
    feed.line(0.001, &zap(40.0, "request received", B, ""));
    feed.idle(0.3);
    assert_eq!(
        feed.sink.events,
        vec![format!("stall {A} before_start stalled-before-start")]
    );
}

#[test]
fn start_signal_stops_the_before_start_clock() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(30.0));
    feed.line(0.0, &zap(0.0, "request validated", A, ""));
    feed.idle(1.0);
    feed.line(5.0, &zap(5.0, "chrome: START_RECORDING", A, ""));
    feed.idle(31.0);
    feed.idle(100.0);
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
}

#[test]
fn silent_and_ending_stalls() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(1.0));
    feed.line(0.0, &zap(0.0, "request validated", A, ""));
    feed.line(0.0, &zap(0.5, "pipeline playing", A, ""));
    feed.line(0.0, &zap(0.5, "request validated", B, ""));
    feed.line(0.0, &zap(0.6, "pipeline playing", B, ""));
    feed.idle(1.0);
    // B logs on (the monitor's resource line, which every running egress gets); A goes
    // quiet. The limit is 10 × 1 s, raised to the 15-minute floor.
    let silent = SILENT_MIN_SECS;
    let mut t = 1.0;
    while t + 60.0 < silent {
        t += 60.0;
        feed.line(t, &zap(t, "hw resources usage", B, ""));
        feed.idle(t + 0.5);
    }
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
    feed.line(silent, &zap(silent, "hw resources usage", B, ""));
    feed.idle(silent + 0.6);
    assert_eq!(
        feed.sink.events,
        vec![format!("stall {A} silent stalled-silent")]
    );
    let end = silent + 1.0;
    feed.line(
        end,
        &zap(
            end,
            "egress_ending",
            B,
            r#","details":"End reason: StopEgress API""#,
        ),
    );
    feed.idle(end + 0.5);
    feed.idle(end + ENDING_AFTER_SECS - 1.0);
    assert_eq!(feed.sink.events.len(), 1, "{:?}", feed.sink.events);
    feed.idle(end + ENDING_AFTER_SECS + 0.5);
    assert_eq!(
        feed.sink.events.last().map(String::as_str),
        Some(format!("stall {B} ending stalled-ending").as_str())
    );
    // Both still open at the end: listed in the summary.
    let (_, sink) = feed.finish(end + 100.0);
    let (s, open) = sink.summary.expect("summary");
    assert_eq!(s.open, 2);
    assert_eq!(s.stalls, 2);
    assert_eq!(open.len(), 2);
}

#[test]
fn egress_filter_applies_to_stalls() {
    let rules = rules();
    let mut s = settings(1.0);
    s.egress_ids = vec![B.to_string()];
    let mut feed = Feed::new(&rules, s);
    feed.line(0.0, &zap(0.0, "request validated", A, ""));
    feed.idle(5.0);
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
}

#[test]
fn node_findings_are_reported_when_they_fire_and_absence_waits_for_the_end() {
    let node_rule = |id: &str, when: &str| {
        (
            format!("rules/{id}.toml"),
            format!(
                r#"id = "{id}"
title = "t {id}"
severity = "warning"
scope = "node"
[when]
{when}
[explain]
cause = "c"
fixes = ["f"]
confidence = "likely"
[[test]]
input = "x"
expect = "match"
[[test]]
input = "y"
expect = "no-match"
"#
            ),
        )
    };
    let rules = RuleSet::from_texts(&[
        node_rule("redis-down", "seen = ['redis connection refused']"),
        node_rule(
            "no-ready",
            "seen = ['starting service']\nnot_seen = ['service ready']",
        ),
    ])
    .expect("rules");
    let mut feed = Feed::new(&rules, settings(30.0));
    feed.line(
        0.0,
        r#"{"level":"info","ts":1764000000,"logger":"egress","msg":"starting service","version":"1.9.0"}"#,
    );
    feed.idle(1.0);
    assert!(feed.sink.events.is_empty(), "{:?}", feed.sink.events);
    feed.line(
        2.0,
        r#"{"level":"error","ts":1764000002,"logger":"egress","msg":"redis connection refused"}"#,
    );
    feed.idle(3.0);
    feed.line(
        4.0,
        r#"{"level":"error","ts":1764000004,"logger":"egress","msg":"redis connection refused"}"#,
    );
    feed.idle(5.0);
    assert_eq!(feed.sink.events, vec!["finding redis-down"]);
    let (s, sink) = feed.finish(6.0);
    assert_eq!(sink.events, vec!["finding redis-down", "finding no-ready"]);
    assert_eq!((s.findings, s.serious_findings), (2, 2));
}

#[test]
fn a_restarted_input_gets_a_new_source_and_keeps_its_pending_entry() {
    let rules = rules();
    let mut feed = Feed::new(&rules, settings(30.0));
    feed.line(0.0, &zap(0.0, "request validated", A, ""));
    feed.f.restart(0, &mut feed.sink);
    assert_eq!(feed.f.engine().sources(), ["egress.log", "egress.log"]);
    feed.line_no = 0;
    feed.line(
        0.1,
        &zap(1.0, "egress_failed", A, r#","error":"boom","code":500"#),
    );
    feed.idle(1.0);
    assert_eq!(
        feed.sink.events,
        vec![format!("egress {A} failed unrecognised")]
    );
}

/// Memory stays flat on endless input: ended egresses are reported and dropped, and egresses
/// that never end are given up after an hour of log time. The state is checked through the
/// counters the code exposes, not through timing.
#[test]
fn state_stays_bounded_over_hundreds_of_thousands_of_egresses() {
    const N: u64 = 200_000;
    let rules = rules();
    // No stall warnings here (their clocks still run): this test is about memory.
    let mut feed = Feed::new(&rules, settings(1e9));
    let mut max_held = 0;
    let mut max_tracked = 0;
    for i in 0..N {
        let id = format!("EG_{i:012}");
        // Log time: one new egress every 50 ms; wall clock: 1 ms per egress.
        let log = i as f64 * 0.05;
        let wall = i as f64 * 0.001;
        // Short lines keep this test fast in debug builds.
        let short = |secs: f64, msg: &str, extra: &str| {
            format!(
                r#"{{"ts":{},"msg":"{msg}","egressID":"{id}"{extra}}}"#,
                1_764_000_000.0 + secs
            )
        };
        match i % 10 {
            // One in ten never ends (a lost log line, a killed node).
            0 => feed.line(wall, &short(log, "request validated", "")),
            5 => {
                feed.line(wall, &short(log, "request validated", ""));
                let failed = short(log + 0.02, "egress_failed", r#","error":"boom""#);
                feed.line(wall, &failed);
            }
            // Most show only their end.
            _ => feed.line(wall, &short(log, "egress_complete", "")),
        }
        if i % 5000 == 4999 {
            feed.idle(wall + 0.0005);
            max_held = max_held.max(feed.f.engine().held());
            max_tracked = max_tracked.max(feed.f.tracked());
            assert_eq!(feed.f.engine().kept(), 0, "results are not kept");
        }
    }
    let engine = feed.f.engine();
    // Never-ending egresses: an hour of log time at one per 500 ms is 7200 (plus 500 between
    // two eviction checks); ended ones wait for late lines at most GRACE_LINES lines.
    let bound = (EVICT_AFTER_SECS / 0.5) as usize + crate::correlate::GRACE_LINES as usize + 1000;
    assert!(max_held <= bound, "held {max_held} > {bound}");
    assert!(
        engine.global().peak_open <= bound,
        "peak_open {} > {bound}",
        engine.global().peak_open
    );
    assert!(max_tracked <= RECENT + bound, "tracked {max_tracked}");
    let (s, sink) = feed.finish(N as f64 * 0.001 + 1.0);
    // Egresses older than an hour at the end of the log were given up and reported.
    assert!(s.evicted > 10_000, "evicted {}", s.evicted);
    assert!(s.open <= bound as u64, "open {}", s.open);
    assert_eq!(s.egresses + s.open, N);
    assert_eq!(s.failed, N / 10);
    assert_eq!(s.completed, N * 8 / 10);
    assert!(sink.events.len() as u64 >= s.failed + s.evicted);
}

#[test]
fn several_inputs_are_merged_by_timestamp() {
    let rules = rules();
    let mut s = settings(30.0);
    s.all = true;
    let t0 = Instant::now();
    let mut f = Follower::new(&rules, s, vec!["a.log".into(), "b.log".into()], t0);
    let mut sink = Collect::default();
    // Lines without egress IDs (a pasted log): their order decides which request an end
    // belongs to. a.log holds both requests, b.log both ends.
    let l = |s: &str| format!("2026-11-25T10:00:{s}.000Z INFO egress {s}");
    // (The last line of each is held back by its decoder, waiting for continuation lines.)
    let a = [
        l("00").replace(" 00", " request validated"),
        l("40").replace(" 40", " request validated"),
        l("59").replace(" 59", " cpu check"),
    ];
    let b = [
        l("34").replace(
            " 34",
            " egress_aborted \"error\": \"Start signal not received\"",
        ),
        l("50").replace(" 50", " egress_complete"),
        l("58").replace(" 58", " cpu check"),
    ];
    let mut feed = |f: &mut Follower<'_>, input: usize, lines: &[String]| {
        for (n, text) in lines.iter().enumerate() {
            let line = Line {
                bytes: text.as_bytes(),
                number: n as u64 + 1,
                truncated: false,
            };
            f.line(input, line, t0, &mut sink);
        }
    };
    feed(&mut f, 0, &a);
    f.set_caught_up(0, true);
    // b.log has not been read yet: nothing of a.log may go ahead of it.
    f.release(&mut Collect::default());
    assert_eq!(f.engine().global().events, 0);
    feed(&mut f, 1, &b);
    f.set_caught_up(1, true);
    let (summary, sink) = {
        let mut sink = Collect::default();
        f.release(&mut sink);
        let s = f.finish(t0 + Duration::from_secs(1), &mut sink);
        (s, sink)
    };
    assert_eq!(
        sink.events,
        vec![
            "egress (no egress ID) aborted start-signal-not-received",
            "egress (no egress ID) complete"
        ]
    );
    assert_eq!(summary.open, 0);
}
