//! The streaming [`Engine`]: events in, finished egresses diagnosed and counted into an
//! [`Analysis`]. It must not read input or decode lines (see `readers`), nor format anything.

use super::hints::{hints, notes_for};
use super::result::{counts_as_failure, is_problem, Analysis, Cause, EgressResult};
use super::stall::{open_at_end, OpenAtEnd, Stall, StallLimits};
use crate::correlate::{Correlator, Egress, Global, Status};
use crate::decode::Stats;
use crate::event::{Event, Ts};
use crate::rulebase::{Diagnosis, EgressSummary, Rule, RuleSet, Severity, StallKind};

/// Most egress results kept for the report; beyond it only counts are kept (flat memory).
pub const MAX_REPORTED: usize = 500;

/// What to keep.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep egresses that completed normally too.
    pub all: bool,
    /// Only these egress IDs (empty: all).
    pub egress_ids: Vec<String>,
    /// Follow mode: results go to `done` and are not kept for a final report, so memory stays
    /// flat on endless input (only the counts are kept).
    pub stream: bool,
    /// Only entries at or after this time (`--since`); entries without a time are kept.
    pub since: Option<Ts>,
    /// Only entries before this time (`--until`); entries without a time are kept.
    pub until: Option<Ts>,
    /// When an egress still open at the end of the input counts as stalled (`--stall-after`).
    pub stall_limits: StallLimits,
}

/// Streaming engine: push events in, get finished egresses diagnosed.
pub struct Engine<'r> {
    rules: &'r RuleSet,
    pub(super) corr: Correlator<'r>,
    opts: Options,
    out: Analysis,
    /// Entries left out by `--since` / `--until`.
    outside_window: u64,
}

impl<'r> Engine<'r> {
    /// A new engine over `rules`.
    pub fn new(rules: &'r RuleSet, opts: Options, sources: Vec<String>) -> Engine<'r> {
        Engine {
            rules,
            corr: Correlator::new(rules),
            opts,
            out: Analysis {
                sources,
                ..Analysis::default()
            },
            outside_window: 0,
        }
    }

    /// Egresses held in memory right now (open or in their grace period).
    pub fn held(&self) -> usize {
        self.corr.held()
    }

    /// Results kept for the final report right now.
    pub fn kept(&self) -> usize {
        self.out.egresses.len()
    }

    /// Adds a source name (follow mode discovers files late) and returns its index.
    pub fn add_source(&mut self, name: String) -> u32 {
        self.out.sources.push(name);
        (self.out.sources.len() - 1) as u32
    }

    /// The source names so far.
    pub fn sources(&self) -> &[String] {
        &self.out.sources
    }

    /// Takes one event; `done` sees each egress result as soon as it is final.
    pub fn push(&mut self, ev: &Event, done: &mut dyn FnMut(&EgressResult)) {
        if let Some(ts) = ev.ts {
            if self.opts.since.is_some_and(|s| ts < s) || self.opts.until.is_some_and(|u| ts >= u) {
                self.outside_window += 1;
                return;
            }
        }
        let mut finished = Vec::new();
        self.corr.push(ev, &mut |e| finished.push(e));
        for e in finished {
            self.conclude(e, done);
        }
    }

    /// Hands out ended egresses without waiting for late lines (follow mode when idle).
    pub fn flush_ended(&mut self, done: &mut dyn FnMut(&EgressResult)) {
        let mut finished = Vec::new();
        self.corr.flush_ended(&mut |e| finished.push(e));
        for e in finished {
            self.conclude(e, done);
        }
    }

    /// Open egresses (for stall warnings).
    pub fn open_egresses(&self) -> impl Iterator<Item = &Egress> {
        self.corr.open_egresses()
    }

    /// The newest log timestamp seen so far.
    pub fn newest(&self) -> Option<Ts> {
        self.corr.global.last
    }

    /// Node and input facts so far (`peak_open`, line counts ...).
    pub fn global(&self) -> &Global {
        &self.corr.global
    }

    /// True when the `--egress` filter lets this egress through.
    pub fn wants(&self, e: &Egress) -> bool {
        self.opts.egress_ids.is_empty()
            || e.id
                .as_ref()
                .is_some_and(|id| self.opts.egress_ids.iter().any(|w| w == id))
    }

    /// An open egress that has stalled, with the rules that describe its stall.
    pub fn diagnose_stall(&self, e: &Egress, kind: StallKind, waited_secs: f64) -> Stall {
        Stall {
            kind,
            waited_secs,
            result: EgressResult {
                egress: e.clone(),
                diagnoses: self.rules.diagnose_stall(e, kind, Some(waited_secs)),
                notes: Vec::new(),
                open: None,
            },
        }
    }

    /// Node- and input-level findings on the facts so far, leaving out the rules `skip` names.
    pub fn findings_now(&self, skip: &dyn Fn(&Rule) -> bool) -> Vec<Diagnosis> {
        let summary = EgressSummary {
            egresses: self.out.summary.egresses,
            failed: self.out.summary.failed,
        };
        self.rules
            .diagnose_global_except(&self.corr.global, &summary, skip)
    }

    /// Evicts egresses idle since before `cutoff`, reporting them as incomplete.
    pub fn evict_idle(&mut self, cutoff: Ts, done: &mut dyn FnMut(&EgressResult)) {
        for e in self.corr.evict_idle(cutoff) {
            self.conclude(e, done);
        }
    }

    /// The rule set in use.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    fn conclude(&mut self, e: Egress, done: &mut dyn FnMut(&EgressResult)) {
        if let (false, Some(id)) = (self.opts.egress_ids.is_empty(), e.id.as_deref()) {
            self.out.ids.note(id, &self.opts.egress_ids);
        }
        if !self.wants(&e) {
            return;
        }
        let g = &self.corr.global;
        let open = open_at_end(&e, g.first, g.last, &self.opts.stall_limits);
        // A batch report that is full only counts the rest: their diagnoses are ranked but not
        // written (most of the work of concluding an egress on a large input). The first
        // failure or warning of each cause is still kept, so that every cause has an example.
        if !self.opts.stream && !self.opts.all && self.out.egresses.len() >= MAX_REPORTED {
            let verdict = self.rules.verdict_egress(&e, &self.corr.global);
            let new_cause = verdict.is_some_and(|(rule, severity)| {
                is_problem(&e, Some(severity)) && !self.out.causes.contains_key(rule)
            });
            if !new_cause {
                if let (true, true) = self.count(&e, verdict, None, open) {
                    self.out.omitted += 1;
                }
                return;
            }
        }
        let mut diagnoses = self.rules.diagnose_egress(&e, &self.corr.global);
        // An egress still open when the input ends, past its stall limit and explained by no
        // rule, is diagnosed by where it stopped (the stall rules follow mode flags it with),
        // as no more than possible: the log ends there, and what came next is not in it.
        if let (true, Some(o)) = (diagnoses.is_empty(), &open) {
            if let (Some(kind), true) = (o.kind, o.stalled) {
                diagnoses = self.rules.diagnose_stall(&e, kind, o.waited_secs);
                let how_long = match o.waited_secs {
                    Some(w) => format!("{} into this wait", crate::rulebase::human_secs(w)),
                    None => {
                        "and its lines carry no time, so how long it had waited is not known".into()
                    }
                };
                for d in &mut diagnoses {
                    d.confidence = d.confidence.min(crate::rulebase::Confidence::Possible);
                    d.unknowns.insert(
                        0,
                        format!(
                            "The log ends while this egress is still open, {how_long}: whether it went on, failed or was stopped afterwards is not in the log."
                        ),
                    );
                }
            }
        }
        let notes = notes_for(&e);
        let r = EgressResult {
            egress: e,
            diagnoses,
            notes,
            open,
        };
        let lead = r.diagnoses.first().map(|d| (d.rule.as_str(), d.severity));
        let new_cause =
            lead.is_some_and(|(rule, _)| r.is_problem() && !self.out.causes.contains_key(rule));
        let title = r.diagnoses.first().map(|d| d.title.as_str());
        let (keep, notable) = self.count(&r.egress, lead, title, open);
        done(&r);
        if keep && !self.opts.stream {
            if self.out.egresses.len() < MAX_REPORTED || new_cause {
                self.out.egresses.push(r);
            } else if notable {
                self.out.omitted += 1;
            }
        }
    }

    /// Counts a concluded egress in the summary, given its leading diagnosis (rule and
    /// severity, the highest of its diagnoses; its title when written) and how long it had
    /// waited if still open. Returns whether a report would show it, and whether it is notable
    /// (a failure or a warning: counted by cause, and as omitted when there is no room).
    /// Normal completions are shown only with `--all`, whatever rule describes them.
    fn count(
        &mut self,
        e: &Egress,
        lead: Option<(&str, Severity)>,
        title: Option<&str>,
        open: Option<OpenAtEnd>,
    ) -> (bool, bool) {
        let severity = lead.map(|(_, s)| s);
        let failure = counts_as_failure(e, severity);
        let s = &mut self.out.summary;
        s.egresses += 1;
        if failure {
            s.failed += 1;
        } else if e.status == Status::Complete {
            s.completed += 1;
        } else if e.open_at_end {
            s.in_progress += 1;
            if open.is_some_and(|o| o.stalled) {
                s.stalled += 1;
            }
        }
        let warning = !failure && severity == Some(Severity::Warning);
        if warning {
            s.warnings += 1;
        }
        let notable = failure || warning;
        if let Some((rule, severity)) = lead.filter(|_| notable) {
            *self.out.by_rule.entry(rule.to_string()).or_default() += 1;
            let at = e.t.ended.or(e.t.last);
            let rules = self.rules;
            let c = self
                .out
                .causes
                .entry(rule.to_string())
                .or_insert_with(|| Cause {
                    title: title
                        .map(str::to_string)
                        .or_else(|| rules.get(rule).map(|r| r.title.clone()))
                        .unwrap_or_else(|| rule.to_string()),
                    severity,
                    count: 0,
                    first: at,
                    last: at,
                    example: e.label(),
                });
            c.count += 1;
            c.first = match (c.first, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.last = c.last.max(at);
        }
        let keep = notable || self.opts.all || e.open_at_end;
        (keep, notable)
    }

    /// Ends the input and builds the analysis.
    pub fn finish(self, stats: Stats) -> Analysis {
        self.finish_with(stats, &mut |_| {})
    }

    /// Ends the input, handing each egress still held to `done`, and builds the analysis.
    pub fn finish_with(mut self, stats: Stats, done: &mut dyn FnMut(&EgressResult)) -> Analysis {
        let mut finished = Vec::new();
        self.corr.finish(&mut |e| finished.push(e));
        for e in finished {
            self.conclude(e, done);
        }
        let summary = EgressSummary {
            egresses: self.out.summary.egresses,
            failed: self.out.summary.failed,
        };
        self.out.global = self.corr.global.clone();
        self.out.findings = self.rules.diagnose_global(&self.out.global, &summary);
        if self.out.findings.is_empty() {
            self.out
                .findings
                .extend(self.rules.unrecognised_input(&self.out.global));
        }
        self.out.stats = stats;
        self.out.hints = hints(&self.out);
        self.out
            .hints
            .extend(self.out.ids.hint(&self.opts.egress_ids));
        if self.outside_window > 0 {
            self.out.hints.push(format!(
                "{} entries outside the --since/--until window were left out.",
                self.outside_window
            ));
        }
        self.out
    }
}
