//! The analysis engine: drives decode -> correlate -> rules over line readers (merging several
//! sources by timestamp) or over events pushed one at a time (follow mode), and collects the
//! results a report needs. It owns no I/O of its own beyond pulling lines from `source`
//! readers, and formats nothing.

use crate::correlate::{Correlator, Egress, Global, Status};
use crate::decode::{Decoder, Peek, Relevance, Stats, Verdict};
use crate::event::{Event, Format, Level, Origin, Ts};
use crate::rulebase::{
    Diagnosis, EgressSummary, Regex, Rule, RuleSet, Severity, StallKind, TextMatcher,
};
use crate::source::LineReader;
use aho_corasick::{packed, AhoCorasick, Input, MatchKind};
use std::collections::BTreeMap;

mod parallel;

pub use parallel::workers;

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
pub fn open_at_end(e: &Egress, newest: Option<Ts>, limits: &StallLimits) -> Option<OpenAtEnd> {
    if !e.open_at_end || e.status.is_terminal() {
        return None;
    }
    let kind = stall_kind(e);
    let since = match kind {
        Some(k) => stall_since(e, k),
        None => e.t.last,
    };
    let waited_secs = since.zip(newest).map(|(a, b)| a.secs_until(b).max(0.0));
    let limit_secs = kind.map(|k| limits.limit_secs(k));
    Some(OpenAtEnd {
        kind,
        waited_secs,
        limit_secs,
        stalled: matches!((waited_secs, limit_secs), (Some(w), Some(l)) if w >= l),
    })
}

/// One egress with its diagnoses and what the input cannot tell about it.
#[derive(Debug, Clone)]
pub struct EgressResult {
    pub egress: Egress,
    pub diagnoses: Vec<Diagnosis>,
    /// What is missing from the input to be sure.
    pub notes: Vec<String>,
    /// Set when the input ended while the egress was still open: how long it had waited.
    pub open: Option<OpenAtEnd>,
}

impl EgressResult {
    /// Worst severity among the diagnoses.
    pub fn severity(&self) -> Option<Severity> {
        self.diagnoses.iter().map(|d| d.severity).max()
    }

    /// True when this egress counts as a failure in the summary.
    pub fn is_failure(&self) -> bool {
        counts_as_failure(&self.egress, self.severity())
    }

    /// True for a failure or a warning: what the summary counts by cause (`by_rule`).
    pub fn is_problem(&self) -> bool {
        self.is_failure() || self.severity() == Some(Severity::Warning)
    }

    /// True when it was still open at the end of the input and had waited past its limit.
    pub fn is_stalled(&self) -> bool {
        self.open.is_some_and(|o| o.stalled)
    }
}

/// An egress counts as a failure when its status is one, or when a diagnosis of it is an error
/// (`severity`: the worst of its diagnoses).
fn counts_as_failure(e: &Egress, severity: Option<Severity>) -> bool {
    e.status.is_failure() || severity == Some(Severity::Error)
}

/// A failure or a warning.
fn is_problem(e: &Egress, severity: Option<Severity>) -> bool {
    counts_as_failure(e, severity) || severity == Some(Severity::Warning)
}

/// Counts for the summary line and the JSON `summary`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub egresses: u64,
    pub failed: u64,
    pub completed: u64,
    pub in_progress: u64,
    /// Egresses with a warning but no failure.
    pub warnings: u64,
    /// Of `in_progress`, those that had waited past their stall limit at the end of the input.
    pub stalled: u64,
}

/// The failures and warnings one leading rule explained, over the whole input.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub title: String,
    pub severity: Severity,
    pub count: u64,
    /// When the first and the last of them ended (or were last seen).
    pub first: Option<Ts>,
    pub last: Option<Ts>,
    /// The first egress it explained (its label); the report always details that one.
    pub example: String,
}

/// Everything a report shows.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub sources: Vec<String>,
    pub stats: Stats,
    pub summary: Summary,
    /// Egresses to show, in the order they ended.
    pub egresses: Vec<EgressResult>,
    /// Egresses with a failure or warning beyond [`MAX_REPORTED`].
    pub omitted: u64,
    /// How many failures and warnings each leading rule explained (the counts add up to
    /// `failed + warnings`; normal completions are not counted).
    pub by_rule: BTreeMap<String, u64>,
    /// The same by leading rule, with when and an example.
    pub causes: BTreeMap<String, Cause>,
    /// Node- and input-level findings.
    pub findings: Vec<Diagnosis>,
    /// Advice about the input itself (missing `2>&1`, no IDs, binary data ...).
    pub hints: Vec<String>,
    pub global: Global,
    /// With `--egress`: which of the IDs asked for the input holds, and which others.
    pub ids: IdCensus,
}

/// Most egress IDs besides those asked for that a hint lists.
pub const MAX_OTHER_IDS: usize = 10;
/// Most distinct other IDs counted (memory stays bounded on an endless input).
const MAX_COUNTED_IDS: usize = 1 << 16;

/// With an `--egress` filter, the egress IDs the input holds: those asked for that were found,
/// the first [`MAX_OTHER_IDS`] others and how many distinct ones there were (counted up to
/// [`MAX_COUNTED_IDS`]), and any that differ from one asked for only in case (a retyped ID).
#[derive(Debug, Clone, Default)]
pub struct IdCensus {
    pub found: Vec<String>,
    pub others: Vec<String>,
    pub other_count: u64,
    pub case_only: Vec<String>,
    counted: std::collections::HashSet<String>,
}

impl IdCensus {
    /// Counts the ID of an egress that ended, given the IDs asked for.
    fn note(&mut self, id: &str, wanted: &[String]) {
        if wanted.iter().any(|w| w == id) {
            if !self.found.iter().any(|f| f == id) {
                self.found.push(id.to_string());
            }
            return;
        }
        if wanted.iter().any(|w| w.eq_ignore_ascii_case(id))
            && self.case_only.len() < MAX_OTHER_IDS
            && !self.case_only.iter().any(|c| c == id)
        {
            self.case_only.push(id.to_string());
        }
        if self.counted.contains(id) || self.counted.len() >= MAX_COUNTED_IDS {
            return;
        }
        self.counted.insert(id.to_string());
        self.other_count += 1;
        if self.others.len() < MAX_OTHER_IDS {
            self.others.push(id.to_string());
        }
    }

    /// The hint for `--egress` IDs the input does not hold: which, and the IDs it holds.
    pub fn hint(&self, wanted: &[String]) -> Option<String> {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !self.found.contains(w))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return None;
        }
        let mut h = format!("No egress {} in the input (--egress).", missing.join(", "));
        if !self.case_only.is_empty() {
            h.push_str(&format!(
                " Egress IDs are case-sensitive: the input has {}.",
                self.case_only.join(", ")
            ));
        }
        if self.others.is_empty() {
            if self.found.is_empty() {
                h.push_str(" Its lines name no egress ID at all.");
            }
            return Some(h);
        }
        let more = self.other_count.saturating_sub(self.others.len() as u64);
        h.push_str(&format!(
            " {} present: {}",
            if self.found.is_empty() {
                "Egress IDs"
            } else {
                "Other egress IDs"
            },
            self.others.join(", ")
        ));
        if self.counted.len() >= MAX_COUNTED_IDS {
            h.push_str(&format!(" and at least {more} more"));
        } else if more > 0 {
            h.push_str(&format!(" and {more} more"));
        }
        h.push('.');
        Some(h)
    }
}

impl Analysis {
    /// True when any failure or warning was diagnosed, or an egress had stalled when the input
    /// ended (exit code 1).
    pub fn has_findings(&self) -> bool {
        self.summary.failed > 0
            || self.summary.warnings > 0
            || self.summary.stalled > 0
            || self.omitted > 0
            || self
                .findings
                .iter()
                .any(|d| d.severity >= Severity::Warning)
    }

    /// True when the input holds lines forwarded from the egress handler process but none from
    /// the egress service, which writes every status line: how the egresses ended is unknown
    /// (`docker logs egress` without `2>&1`).
    pub fn only_handler_lines(&self) -> bool {
        (self.global.handler_lines > 0 || self.stats.skipped_handler)
            && self.global.service_lines == 0
    }

    /// The causes by count, most frequent first (ties by rule id).
    pub fn causes_by_count(&self) -> Vec<(&str, &Cause)> {
        let mut v: Vec<(&str, &Cause)> = self.causes.iter().map(|(k, c)| (k.as_str(), c)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// Source name for an origin.
    pub fn source_name(&self, o: Origin) -> &str {
        self.sources
            .get(o.source as usize)
            .map_or("?", String::as_str)
    }
}

/// Which lines later stages need, and the batch fast path's judge of them from their head.
/// Needed ([`Triage::needed`], the definition): warnings and errors, plain text, dumps and
/// multi-line entries, lines with an error-like field or a field a rule's condition holds on,
/// lifecycle and liveness messages, and messages some rule pattern matches. Built from what
/// the rule base compiled and what the correlator declares it reads.
pub struct Triage {
    text: TextMatcher,
    /// Field conditions of the rules: (field name, pattern).
    fields: Vec<(String, Regex)>,
    /// What each of `finder`'s patterns is, in their order.
    keys: Vec<KeyRole>,
    /// Finds the keys as written in a fields object, `"key":`, in one pass. `None` only when
    /// the automaton could not be built: then every line is decoded.
    finder: Option<KeyFinder>,
    /// Per pattern in `fields`: the last value it was matched against and the verdict (field
    /// values such as `"clusterID": ""` repeat on every line).
    memo: Vec<Option<(Vec<u8>, bool)>>,
    cache: crate::fastmap::FastMap<String, bool>,
    /// The messages decided last, with their verdicts: most lines are found here with one
    /// compare, before `cache`.
    recent: crate::fastmap::RecentTexts<bool>,
    /// Some wanted key is one of zap's header keys, so the search must cover the header too.
    header_keys: bool,
    /// Field conditions on the entry's head (`level`, `logger`, `caller`), indices into
    /// `fields`: matched against what the peek read of the head, as the full decode sets it.
    head: Vec<usize>,
}

/// What a key [`Triage`] looks for means.
#[derive(Debug, Clone, Default)]
struct KeyRole {
    /// An error-like field: the line is needed.
    problem: bool,
    /// Its value is checked against these field conditions (indices into `Triage::fields`).
    fields: Vec<usize>,
}

/// Keys of a line's head that field conditions may name; the decoder does not keep them as
/// fields but as the event's level, logger and caller.
const HEAD_KEYS: [&str; 3] = ["level", "logger", "caller"];

/// [`Triage`]'s search for the wanted keys: SIMD (Teddy) where the CPU has it, else an
/// Aho-Corasick automaton; both report the leftmost match first.
enum KeyFinder {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl KeyFinder {
    /// The first key at or after `at` in `hay`: its pattern index and where it ends.
    fn find(&self, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        let m = match self {
            KeyFinder::Packed(s) => s.find_in(hay, aho_corasick::Span::from(at..hay.len())),
            KeyFinder::Automaton(a) => a.find(Input::new(hay).range(at..)),
        }?;
        Some((m.pattern().as_usize(), m.end()))
    }
}

/// Longest field value [`Triage`] remembers its verdict for (longer ones are rarely repeated).
const MEMO_VALUE: usize = 64;

/// Slots of [`Triage`]'s table of recent messages.
const RECENT_MESSAGES: usize = 256;

/// Fields whose presence makes a line needed.
const PROBLEM_KEYS: [&str; 4] = ["error", "reason", "details", "endReason"];

impl Triage {
    /// A triage for the rules in `rules`.
    pub fn new(rules: &RuleSet) -> Triage {
        let (text, fields) = rules.text_matcher();
        let mut names: Vec<String> = Vec::new();
        let mut keys: Vec<KeyRole> = Vec::new();
        fn role<'k>(
            names: &mut Vec<String>,
            keys: &'k mut Vec<KeyRole>,
            name: &str,
        ) -> &'k mut KeyRole {
            let i = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.to_string());
                keys.push(KeyRole::default());
                keys.len() - 1
            });
            &mut keys[i]
        }
        for k in PROBLEM_KEYS {
            role(&mut names, &mut keys, k).problem = true;
        }
        for (i, (k, _)) in fields.iter().enumerate() {
            if !k.is_empty() && !HEAD_KEYS.contains(&k.as_str()) {
                role(&mut names, &mut keys, k).fields.push(i);
            }
        }
        let patterns: Vec<Vec<u8>> = names
            .iter()
            .map(|k| [&b"\""[..], k.as_bytes(), &b"\":"[..]].concat())
            .collect();
        // A key holds no quote, so two of these patterns never overlap and the leftmost
        // matches are all the keys' occurrences.
        let finder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&patterns)
            .build()
            .map(KeyFinder::Packed)
            .or_else(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&patterns)
                    .ok()
                    .map(KeyFinder::Automaton)
            });
        let header_keys = fields
            .iter()
            .any(|(k, _)| matches!(k.as_str(), "ts" | "msg"));
        let head = fields
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| HEAD_KEYS.contains(&k.as_str()))
            .map(|(i, _)| i)
            .collect();
        Triage {
            header_keys,
            head,
            memo: vec![None; fields.len()],
            text,
            fields,
            keys,
            finder,
            cache: crate::fastmap::FastMap::default(),
            recent: crate::fastmap::RecentTexts::new(RECENT_MESSAGES),
        }
    }
}

impl Triage {
    /// Whether lines with this message are needed for the message alone (lifecycle steps the
    /// correlator acts on, messages a rule pattern matches); remembered per message.
    fn message_wanted(&mut self, message: &str) -> bool {
        if let Some(&verdict) = self.recent.get(message) {
            return verdict;
        }
        let wanted = match self.cache.get(message) {
            Some(&v) => v,
            None => {
                let v = crate::correlate::wants_message(message) || self.text.any(message);
                if self.cache.len() < 8192 {
                    self.cache.insert(message.to_string(), v);
                }
                v
            }
        };
        if let Some(slot) = self.recent.remember(message) {
            *slot = wanted;
        }
        wanted
    }
}

impl Triage {
    /// The definition: an entry is needed when it is not a plain structured line below WARN
    /// (plain text, dumps, stack traces and warnings always are), or it has an error-like
    /// field, or a rule's field condition holds on it, or its message is wanted.
    fn is_needed(&mut self, ev: &Event) -> bool {
        if ev.level.is_none_or(|l| l >= Level::Warn)
            || ev.continuation_lines > 0
            || !matches!(ev.format, Some(Format::Json | Format::Console))
        {
            return true;
        }
        if ev.fields.iter().any(|(k, _)| PROBLEM_KEYS.contains(&k)) {
            return true;
        }
        if self
            .fields
            .iter()
            .any(|(key, re)| crate::rulebase::field_condition_holds(ev, key, re))
        {
            return true;
        }
        self.message_wanted(&ev.message)
    }
}

impl Relevance for Triage {
    fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|(k, _)| k.clone()).collect()
    }

    fn needed(&mut self, ev: &Event) -> bool {
        self.is_needed(ev)
    }

    fn relevant(&mut self, p: &Peek<'_>) -> Verdict {
        let Some(level) = p.level.filter(|&l| l < Level::Warn) else {
            return Verdict::Needed;
        };
        for &i in &self.head {
            let (key, re) = &self.fields[i];
            let value = match key.as_str() {
                "level" => level.as_str(),
                k => match p.logger_caller() {
                    Some((logger, _)) if k == "logger" => logger,
                    Some((_, caller)) => caller,
                    None => return Verdict::Unsure,
                },
            };
            if re.is_match(value.as_bytes()) {
                return Verdict::Needed;
            }
        }
        // A message already known to be wanted decides without looking at the fields.
        let cached = match self.recent.get(p.message) {
            Some(&verdict) => Some(verdict),
            None => {
                let known = self.cache.get(p.message).copied();
                if let Some(v) = known {
                    if let Some(slot) = self.recent.remember(p.message) {
                        *slot = v;
                    }
                }
                known
            }
        };
        if cached == Some(true) {
            return Verdict::Needed;
        }
        let Some(finder) = &self.finder else {
            return Verdict::Unsure;
        };
        // One pass over the fields for the wanted keys, written `"key":`. A key found may sit
        // in a nested value, and a value is matched as written (a JSON string without its
        // quotes, or the bare scalar): then the decoded entry decides.
        let f = p.fields.as_bytes();
        let mut at = if self.header_keys { 0 } else { p.after_head() };
        while let Some((pattern, end)) = finder.find(f, at) {
            at = end;
            let role = &self.keys[pattern];
            if role.problem {
                return Verdict::Unsure;
            }
            let Some(v) = json_value_at(&f[end..]) else {
                return Verdict::Unsure;
            };
            for &i in &role.fields {
                let hit = match &self.memo[i] {
                    Some((last, hit)) if crate::fastmap::same_bytes(last, v) => *hit,
                    _ => {
                        let hit = self.fields[i].1.is_match(v);
                        if v.len() <= MEMO_VALUE {
                            self.memo[i] = Some((v.to_vec(), hit));
                        }
                        hit
                    }
                };
                if hit {
                    return Verdict::Unsure;
                }
            }
        }
        let wanted = match cached {
            Some(known) => known,
            None => self.message_wanted(p.message),
        };
        if wanted {
            Verdict::Needed
        } else {
            Verdict::Skip
        }
    }
}

/// The raw text of the JSON value after `": "` (string contents without quotes, or the bare
/// scalar); `None` when it cannot be told cheaply (escapes, objects).
fn json_value_at(after_key: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < after_key.len() && (after_key[i] == b' ' || after_key[i] == b':') {
        i += 1;
    }
    let rest = &after_key[i..];
    if let Some(body) = rest.strip_prefix(b"\"") {
        let end = memchr::memchr2(b'"', b'\\', body)?;
        return (body[end] == b'"').then_some(&body[..end]);
    }
    let end = rest
        .iter()
        .position(|c| matches!(c, b',' | b'}' | b' '))
        .unwrap_or(rest.len());
    (!rest.starts_with(b"{") && !rest.starts_with(b"[")).then_some(&rest[..end])
}

/// Streaming engine: push events in, get finished egresses diagnosed.
pub struct Engine<'r> {
    rules: &'r RuleSet,
    corr: Correlator<'r>,
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
                diagnoses: self.rules.diagnose_stall(e, kind, waited_secs),
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
        let open = open_at_end(&e, self.corr.global.last, &self.opts.stall_limits);
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
        let diagnoses = self.rules.diagnose_egress(&e, &self.corr.global);
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
    if e.status == Status::Ending || e.t.ending.is_some() {
        return Some(StallKind::Ending);
    }
    if e.t.start_signal.or(e.t.playing).or(e.t.active).is_some() || e.status == Status::Active {
        return Some(StallKind::Silent);
    }
    if e.t.received.or(e.t.validated).is_some() {
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

/// What the input cannot tell about one egress.
fn notes_for(e: &Egress) -> Vec<String> {
    let mut n = Vec::new();
    if e.id.is_none() {
        n.push("No egress ID in the input, so these lines were grouped as one egress. Pass the full `docker logs egress 2>&1` output to follow each egress by its ID.".into());
    }
    if e.t.received.is_none() && e.t.validated.is_none() && e.t.requested.is_none() {
        n.push("The request lines (`request received` / `request validated`) are not in the input: the log starts later or was filtered, so the request type and the time from request to end are unknown.".into());
    }
    if e.open_at_end && !e.status.is_terminal() {
        n.push("No terminal status (`egress_complete`, `egress_failed`, `egress_aborted` ...) appears: the egress was still running when the input ends, or the log was cut.".into());
    }
    if e.egress_lines == 0 && e.server_lines > 0 {
        n.push("Only livekit-server lines mention this egress; add the egress service's own log (`docker logs egress 2>&1`) to see why it failed there.".into());
    }
    if e.problems_dropped > 0 {
        n.push(format!(
            "{} more warning/error lines for this egress are not shown.",
            e.problems_dropped
        ));
    }
    n
}

/// Advice about the input as a whole.
fn hints(a: &Analysis) -> Vec<String> {
    let mut h = Vec::new();
    let st = &a.stats;
    // (Lines may all have been read and found needed by no stage: that is not an empty input.)
    if st.lines == st.blank {
        h.push("No log lines in the input. Pipe the egress log in (`docker logs egress 2>&1 | egresslens`) or pass log files.".into());
        return h;
    }
    if st.binary > 0 && st.binary * 4 >= st.lines {
        h.push(format!(
            "{} of {} lines hold binary data: this does not look like a log. Was a binary or a compressed archive other than gzip passed by mistake?",
            st.binary, st.lines
        ));
    }
    if a.only_handler_lines() {
        h.push("Only lines forwarded from the egress handler process are present, none from the egress service itself (which writes its status lines to stderr). Run `docker logs egress 2>&1 | egresslens`: without `2>&1` the service's lines are lost.".into());
    }
    // (With `--egress`, the hint about the IDs says what the input holds.)
    if a.summary.egresses == 0 && a.findings.is_empty() && a.ids.other_count == 0 {
        h.push(
            "No egress activity found in the input (no request, status or egress ID lines).".into(),
        );
    }
    if st.truncated > 0 {
        h.push(format!(
            "{} overlong lines were cut at {} bytes.",
            st.truncated,
            crate::source::MAX_LINE
        ));
    }
    h
}

/// Events decoded from one source, sent from its decoding thread in batches.
struct Batch {
    events: Vec<Event>,
    /// Bytes read from the source so far.
    read: u64,
    /// The source's counters, in the last batch only.
    stats: Option<Stats>,
}

/// Events per batch handed from a decoding thread to the correlating thread.
const BATCH: usize = 2048;

/// Reads and decodes one source on its own thread, sending event batches until the end.
fn decode_source(
    idx: u32,
    mut reader: LineReader,
    mut dec: Decoder,
    tx: std::sync::mpsc::SyncSender<std::io::Result<Batch>>,
) {
    dec.set_default_container(reader.label().map(str::to_string));
    let mut events = Vec::with_capacity(BATCH);
    loop {
        match reader.next_line() {
            Ok(Some(line)) => {
                let origin = Origin {
                    source: idx,
                    line: line.number,
                };
                dec.push(line.bytes, origin, line.truncated, &mut |e| events.push(e));
                if events.len() >= BATCH {
                    let batch = Batch {
                        events: std::mem::replace(&mut events, Vec::with_capacity(BATCH)),
                        read: reader.bytes_read(),
                        stats: None,
                    };
                    if tx.send(Ok(batch)).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    dec.finish(&mut |e| events.push(e));
    let _ = tx.send(Ok(Batch {
        events,
        read: reader.bytes_read(),
        stats: Some(dec.stats.clone()),
    }));
}

/// Pulls events from several sources, merged by timestamp (events without a timestamp keep
/// their place after the previous event of their source), while this thread correlates and
/// diagnoses. Several sources are each read and decoded on a thread of their own; a single
/// source is cut into chunks decoded on [`workers`] threads (see `analyze::parallel`).
pub fn run_readers(
    engine: &mut Engine<'_>,
    readers: Vec<(u32, LineReader)>,
    progress: &mut dyn FnMut(u64),
    done: &mut dyn FnMut(&EgressResult),
) -> std::io::Result<Stats> {
    run_readers_with(engine, readers, Strategy::default(), progress, done)
}

/// How the batch path reads: decoding threads for a single source, and whether lines that no
/// stage needs are skipped before decoding (the [`Triage`]). Every strategy gives the same
/// report; `tests/differential.rs` holds them to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// Decoding threads for a single source (one: a decoding thread per source).
    pub workers: usize,
    /// Skip the lines the triage finds irrelevant (off: decode every line).
    pub prefilter: bool,
}

impl Default for Strategy {
    fn default() -> Strategy {
        Strategy {
            workers: workers(),
            prefilter: true,
        }
    }
}

impl Strategy {
    /// A decoder for one source (or one worker) under this strategy: both pass on the entries
    /// the [`Triage`] finds needed; with the prefilter, lines are judged from their head first
    /// and those turned down are never decoded.
    pub fn decoder(&self, rules: &RuleSet) -> Decoder {
        let triage = Box::new(Triage::new(rules));
        if self.prefilter {
            Decoder::with_triage(triage)
        } else {
            Decoder::plain(triage)
        }
    }
}

/// The decoder of the plain path (follow mode, `--no-prefilter`): every line decoded in full,
/// the entries the [`Triage`] finds needed passed on.
pub fn plain_decoder(rules: &RuleSet) -> Decoder {
    Strategy {
        workers: 1,
        prefilter: false,
    }
    .decoder(rules)
}

/// [`run_readers`] with a chosen [`Strategy`]. The events reach the engine in the same order
/// whatever the strategy.
pub fn run_readers_with(
    engine: &mut Engine<'_>,
    mut readers: Vec<(u32, LineReader)>,
    strategy: Strategy,
    progress: &mut dyn FnMut(u64),
    done: &mut dyn FnMut(&EgressResult),
) -> std::io::Result<Stats> {
    let rules = engine.rules();
    if readers.len() == 1 && strategy.workers > 1 {
        if let Some((idx, reader)) = readers.pop() {
            return parallel::decode_parallel(
                reader,
                idx,
                strategy.workers,
                &|| strategy.decoder(rules),
                progress,
                &mut |ev| engine.push(ev, done),
            );
        }
    }
    struct Src {
        rx: std::sync::mpsc::Receiver<std::io::Result<Batch>>,
        queue: std::collections::VecDeque<Event>,
        last_ts: Option<Ts>,
        eof: bool,
        reported: u64,
        stats: Stats,
    }
    // Fill one source's queue with at least one event (or reach its end).
    fn fill(s: &mut Src, progress: &mut dyn FnMut(u64)) -> std::io::Result<()> {
        while s.queue.is_empty() && !s.eof {
            match s.rx.recv() {
                Ok(Ok(batch)) => {
                    s.queue.extend(batch.events);
                    progress(batch.read.saturating_sub(s.reported));
                    s.reported = batch.read;
                    if let Some(st) = batch.stats {
                        s.stats = st;
                        s.eof = true;
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => s.eof = true,
            }
        }
        Ok(())
    }
    std::thread::scope(|scope| {
        let mut srcs: Vec<Src> = Vec::new();
        for (idx, reader) in readers {
            let (tx, rx) = std::sync::mpsc::sync_channel(4);
            let dec = strategy.decoder(rules);
            scope.spawn(move || decode_source(idx, reader, dec, tx));
            srcs.push(Src {
                rx,
                queue: Default::default(),
                last_ts: None,
                eof: false,
                reported: 0,
                stats: Stats::default(),
            });
        }
        if srcs.len() == 1 {
            let s = &mut srcs[0];
            loop {
                fill(s, progress)?;
                if s.queue.is_empty() {
                    break;
                }
                while let Some(ev) = s.queue.pop_front() {
                    engine.push(&ev, done);
                }
            }
        } else {
            loop {
                for s in srcs.iter_mut() {
                    fill(s, progress)?;
                }
                // The head with the earliest (effective) timestamp goes first.
                let pick = srcs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.queue.front().map(|e| (i, e.ts.or(s.last_ts))))
                    .min_by_key(|&(i, ts)| (ts.map_or(i64::MIN, |t| t.0), i))
                    .map(|(i, _)| i);
                let Some(i) = pick else { break };
                let s = &mut srcs[i];
                if let Some(ev) = s.queue.pop_front() {
                    if ev.ts.is_some() {
                        s.last_ts = ev.ts;
                    }
                    engine.push(&ev, done);
                }
            }
        }
        let mut stats = Stats::default();
        for s in &srcs {
            stats.merge(&s.stats);
        }
        Ok(stats)
    })
}

/// Analyses bytes in memory (rule examples, tests, pastes).
pub fn analyze_bytes(rules: &RuleSet, data: &[u8], opts: Options) -> Analysis {
    let mut engine = Engine::new(rules, opts, vec!["<input>".into()]);
    let reader = LineReader::from_bytes(data.to_vec());
    let stats =
        run_readers(&mut engine, vec![(0, reader)], &mut |_| {}, &mut |_| {}).unwrap_or_default();
    engine.finish(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::peek;
    use crate::generate::{generate, Config, LogFormat};

    fn relevant(t: &mut Triage, line: &str) -> bool {
        let p = peek(line).expect("a structured line");
        t.relevant(&p) != Verdict::Skip
    }

    /// The fast path's verdict from a line's head never contradicts the definition on the
    /// entry it decodes to: a line turned down is not needed, one found needed is.
    #[test]
    fn head_verdicts_agree_with_the_definition() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let mut t = Triage::new(&rules);
        let mut exact = Triage::new(&rules);
        let mut seen = [0usize; 3];
        for format in [LogFormat::Console, LogFormat::Json] {
            let mut cfg = Config::new(format, 2 << 20);
            cfg.server_lines = true;
            let mut data = Vec::new();
            generate(&mut data, &cfg).expect("generate");
            let text = String::from_utf8_lossy(&data);
            for line in text.lines() {
                let Some(p) = peek(line) else { continue };
                let verdict = t.relevant(&p);
                let needed = exact.is_needed(&crate::decode::decode_entry(line, false));
                match verdict {
                    Verdict::Skip => assert!(!needed, "turned down but needed: {line}"),
                    Verdict::Needed => assert!(needed, "found needed but is not: {line}"),
                    Verdict::Unsure => {}
                }
                seen[verdict as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }

    #[test]
    fn a_long_lived_triage_decides_as_a_fresh_one() {
        // Messages that share the recent-message table's slots, wanted and not, asked over
        // and over: the remembered verdicts must stay each message's own.
        let rules = RuleSet::load(None).expect("built-in rules");
        let mut messages: Vec<String> = [
            "request received",
            "request validated",
            "hw resources usage",
            "cpu check",
            "video input queue stats",
            "handler launched",
            "waiting for start signal",
            "egress_active",
            "chrome: START_RECORDING",
            "appwriter stats ",
        ]
        .iter()
        .map(|m| m.to_string())
        .collect();
        messages.extend((0..600).map(|i| format!("chatter {i}")));
        let line = |m: &str| {
            format!(
                r#"{{"level":"info","ts":1.5,"logger":"egress","caller":"a.go:1","msg":"{m}","nodeID":"N"}}"#
            )
        };
        let mut long_lived = Triage::new(&rules);
        for round in 0..3 {
            for m in &messages {
                let fresh = relevant(&mut Triage::new(&rules), &line(m));
                assert_eq!(
                    relevant(&mut long_lived, &line(m)),
                    fresh,
                    "round {round}: {m}"
                );
            }
        }
    }

    #[test]
    fn triage_finds_wanted_keys_only_where_they_are_keys() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let mut t = Triage::new(&rules);
        let line = |fields: &str| {
            format!(r#"{{"level":"debug","ts":1.5,"msg":"some chatter","nodeID":"N"{fields}}}"#)
        };
        // No wanted key, a wanted name only as a value or inside a longer key: skipped.
        for fields in [
            "",
            r#","x":"error""#,
            r#","lasterror":"x","errors":1"#,
            r#","clusterID":"""#,
        ] {
            assert!(!relevant(&mut t, &line(fields)), "{fields}");
        }
        // Keys of a nested value, or in escaped text, are not the line's fields: the decoded
        // entry shows it is not needed.
        let mut exact = Triage::new(&rules);
        for fields in [
            r#","note":"said \"error\": x""#,
            r#","stats":{"error":1,"a":[{"x":"y"}]},"room":"outer""#,
        ] {
            let ev = crate::decode::decode_entry(&line(fields), false);
            assert!(!exact.is_needed(&ev), "{fields}");
        }
        // A problem key anywhere, or a rule's field with a matching value: kept.
        for fields in [
            r#","error":"boom""#,
            r#","a":1,"details":"x""#,
            r#","endReason":"x""#,
            r#","clusterID":"c1""#,
            r#","clusterID":"","url":"http://x/?url=ws%3A%2F%2Flocalhost%3A7880""#,
        ] {
            assert!(relevant(&mut t, &line(fields)), "{fields}");
        }
        // The verdict on a repeated value is remembered, not stuck.
        assert!(!relevant(&mut t, &line(r#","clusterID":"""#)));
        assert!(relevant(&mut t, &line(r#","clusterID":"c2""#)));
        // Console lines: the keys of the trailing object.
        let console = "2026-01-27T11:00:00.000Z\tDEBUG\tegress\tserver/x.go:1\tsome chatter\t";
        assert!(!relevant(&mut t, &format!(r#"{console}{{"nodeID": "N"}}"#)));
        assert!(relevant(
            &mut t,
            &format!(r#"{console}{{"nodeID": "N", "reason": "x"}}"#)
        ));
    }

    /// The lean verdict that counts egresses beyond a full report is exactly what the full
    /// diagnosis leads with, on every egress of a generated log with every outcome.
    #[test]
    fn verdict_equals_the_leading_diagnosis() {
        let rules = RuleSet::load(None).expect("built-in rules");
        for format in [LogFormat::Json, LogFormat::Console] {
            let mut cfg = Config::new(format, 3 << 20);
            cfg.seed = 11;
            cfg.server_lines = true;
            let mut data = Vec::new();
            generate(&mut data, &cfg).expect("generate into memory");
            let opts = Options {
                all: true,
                ..Options::default()
            };
            let mut engine = Engine::new(&rules, opts, vec!["<generated>".into()]);
            let mut egresses = Vec::new();
            let mut dec = Decoder::new();
            let mut events = Vec::new();
            for (i, line) in data.split(|&b| b == b'\n').enumerate() {
                let origin = Origin {
                    source: 0,
                    line: i as u64 + 1,
                };
                dec.push(line, origin, false, &mut |e| events.push(e));
            }
            dec.finish(&mut |e| events.push(e));
            for ev in &events {
                engine.push(ev, &mut |r| egresses.push(r.egress.clone()));
            }
            let g = engine.corr.global.clone();
            let mut rules_seen = BTreeMap::new();
            for e in &egresses {
                let full = rules.diagnose_egress(e, &g);
                let lead = full.first().map(|d| (d.rule.as_str(), d.severity));
                assert_eq!(rules.verdict_egress(e, &g), lead, "{:?}", e.id);
                if let Some((rule, _)) = lead {
                    *rules_seen.entry(rule.to_string()).or_insert(0) += 1;
                }
            }
            assert!(egresses.len() > 100, "{} egresses", egresses.len());
            assert!(rules_seen.len() >= 5, "{rules_seen:?}");
        }
    }

    /// The batch stall limits are follow mode's, and their default is the command line's.
    #[test]
    fn stall_limits_are_the_command_lines() {
        let crate::cli::Parsed::Run(config) = crate::cli::parse(["egresslens", "x.log"]) else {
            panic!("parses");
        };
        let crate::cli::Config::Analyze(a) = *config else {
            panic!("an analysis");
        };
        let limits = StallLimits::default();
        assert_eq!(a.stall_after_secs, limits.stall_after_secs);
        assert_eq!(limits.limit_secs(StallKind::BeforeStart), 30.0);
        assert_eq!(limits.limit_secs(StallKind::Silent), SILENT_MIN_SECS);
        assert_eq!(limits.limit_secs(StallKind::Ending), ENDING_AFTER_SECS);
        let slow = StallLimits {
            stall_after_secs: 600.0,
        };
        assert_eq!(slow.limit_secs(StallKind::Silent), 6000.0);
    }

    /// `by_rule` and the causes count failures and warnings only: a normal completion a rule
    /// describes is neither counted nor shown without `--all`.
    #[test]
    fn normal_completions_are_not_problems() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let log = concat!(
            r#"{"level":"info","ts":1,"msg":"egress_failed","egressID":"EG_R1aaaaaaaaaa","error":"Connection refused: Could not connect to RTMP stream rtmp://h/live2/k","code":503,"details":"End reason: Failure"}"#,
            "\n",
            r#"{"level":"info","ts":2,"msg":"egress_complete","egressID":"EG_C1aaaaaaaaaa","error":"","code":0,"details":"End reason: Source closed"}"#,
            "\n",
            r#"{"level":"info","ts":3,"msg":"egress_limit_reached","egressID":"EG_L1aaaaaaaaaa","error":"Session limit reached","code":413,"details":"End reason: Limit reached"}"#,
            "\n",
        );
        for all in [false, true] {
            let opts = Options {
                all,
                ..Options::default()
            };
            let a = analyze_bytes(&rules, log.as_bytes(), opts);
            let s = a.summary;
            assert_eq!((s.egresses, s.completed), (3, 1), "{s:?}");
            assert_eq!(
                a.by_rule.values().sum::<u64>(),
                s.failed + s.warnings,
                "{:?}",
                a.by_rule
            );
            assert!(
                !a.by_rule.contains_key("room-closed-normal-end"),
                "{:?}",
                a.by_rule
            );
            assert_eq!(
                a.by_rule.keys().collect::<Vec<_>>(),
                a.causes.keys().collect::<Vec<_>>()
            );
            let shown: Vec<String> = a.egresses.iter().map(|r| r.egress.label()).collect();
            assert_eq!(
                shown.contains(&"EG_C1aaaaaaaaaa".to_string()),
                all,
                "{shown:?}"
            );
        }
    }

    /// An egress open at the end is measured at the input's newest line, by its stall.
    #[test]
    fn open_egresses_are_measured_at_the_end() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let log = concat!(
            r#"{"level":"info","ts":100,"msg":"request received","egressID":"EG_B1aaaaaaaaaa"}"#,
            "\n",
            r#"{"level":"info","ts":100,"msg":"request received","egressID":"EG_E1aaaaaaaaaa"}"#,
            "\n",
            r#"{"level":"info","ts":150,"msg":"egress_ending","egressID":"EG_E1aaaaaaaaaa","error":"","code":0,"details":"End reason: StopEgress API"}"#,
            "\n",
            r#"{"level":"info","ts":200,"msg":"egress_complete","egressID":"EG_D1aaaaaaaaaa","error":"","code":0,"details":"End reason: StopEgress API"}"#,
            "\n",
        );
        let a = analyze_bytes(&rules, log.as_bytes(), Options::default());
        let open = |id: &str| {
            a.egresses
                .iter()
                .find(|r| r.egress.label() == id)
                .and_then(|r| r.open)
        };
        let b = open("EG_B1aaaaaaaaaa").expect("open");
        assert_eq!(b.kind, Some(StallKind::BeforeStart));
        assert_eq!((b.waited_secs, b.stalled), (Some(100.0), true));
        let e = open("EG_E1aaaaaaaaaa").expect("open");
        assert_eq!(e.kind, Some(StallKind::Ending));
        assert_eq!((e.waited_secs, e.stalled), (Some(50.0), false));
        assert_eq!((a.summary.in_progress, a.summary.stalled), (2, 1));
        assert!(a.has_findings(), "a stalled egress sets exit code 1");
    }

    /// Turned-down lines from a handler process, and nothing from the service, bring the hint
    /// about `2>&1`; the same lines without `handlerID` do not.
    #[test]
    fn skipped_handler_lines_alone_bring_the_stderr_hint() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let line = |handler: &str| {
            format!(
                "{{\"level\":\"info\",\"ts\":1795593624.03,\"logger\":\"egress\",\"caller\":\"pipeline/controller.go:266\",\"msg\":\"audio qos stats\",\"nodeID\":\"NE_x\",{handler}\"egressID\":\"EG_cDFrnr7qKBCp\",\"audioBuffersDropped\":5}}\n"
            )
        };
        // A line from neither process, so that the input is not empty of events.
        let stderr_hint = |text: String| {
            let text = text + "plain text from another program\n";
            let a = analyze_bytes(&rules, text.as_bytes(), Options::default());
            assert_eq!(a.stats.skipped, 2, "the triage skips these lines");
            a.hints
                .iter()
                .any(|h| h.contains("forwarded from the egress handler"))
        };
        assert!(stderr_hint(
            line("\"handlerID\":\"EGH_whTxDBCi4M2a\",").repeat(2)
        ));
        assert!(!stderr_hint(line("").repeat(2)));
    }

    #[test]
    fn egress_filter_hint_names_what_the_input_holds() {
        let wanted = vec!["EG_nope".to_string(), "EG_aaaaaaaaaaaa".to_string()];
        let mut c = IdCensus::default();
        assert_eq!(
            c.hint(&wanted).as_deref(),
            Some("No egress EG_nope, EG_aaaaaaaaaaaa in the input (--egress). Its lines name no egress ID at all.")
        );
        c.note("EG_aaaaaaaaaaaa", &wanted);
        for i in 0..MAX_OTHER_IDS + 3 {
            // Each ID counts once, however often it ends.
            c.note(&format!("EG_other{i:07}"), &wanted);
            c.note(&format!("EG_other{i:07}"), &wanted);
        }
        c.note("eg_NOPE", &wanted);
        let h = c.hint(&wanted).expect("EG_nope is missing");
        assert!(
            h.starts_with("No egress EG_nope in the input (--egress)."),
            "{h}"
        );
        assert!(h.contains("case-sensitive: the input has eg_NOPE."), "{h}");
        assert!(
            h.contains("Other egress IDs present: EG_other0000000, "),
            "{h}"
        );
        assert!(h.ends_with("EG_other0000009 and 4 more."), "{h}");
        assert_eq!(c.other_count, MAX_OTHER_IDS as u64 + 4);
        assert!(!h.contains("EG_aaaaaaaaaaaa"), "{h}");
        c.note("EG_nope", &wanted);
        assert_eq!(c.hint(&wanted), None);
    }
}
