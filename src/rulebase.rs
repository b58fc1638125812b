//! The rule base: loads `rules/*.toml` (embedded at build time, plus a user's `--rules DIR`),
//! validates every file and reports all problems at once, compiles each pattern once, tells
//! the correlator which patterns a line matches, and evaluates rules against a finished
//! egress or the node/input facts into ranked `Diagnosis` values. It must not read logs,
//! print, or know about output formats.

mod fields;
mod file;
mod marking;
mod patterns;

pub use file::parse_duration;

use crate::correlate::{Egress, Evidence, Global, Marks, Milestones, Status};
use crate::error::RuleError;
use crate::event::Event;
use patterns::PatternSet;
pub use regex::bytes::Regex;
use regex::bytes::RegexBuilder;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use fields::FieldConditions;
pub use marking::Marking;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/rules_embedded.rs"));
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// How sure a diagnosis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Possible,
    Likely,
    Certain,
}

impl Confidence {
    fn parse(s: &str) -> Option<Confidence> {
        Some(match s {
            "certain" => Confidence::Certain,
            "likely" => Confidence::Likely,
            "possible" => Confidence::Possible,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Possible => "possible",
            Confidence::Likely => "likely",
            Confidence::Certain => "certain",
        }
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One egress's timeline.
    Egress,
    /// Lines about a node or process, not tied to an egress.
    Node,
    /// Everything in the input.
    Input,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "egress" => Scope::Egress,
            "node" => Scope::Node,
            "input" => Scope::Input,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Egress => "egress",
            Scope::Node => "node",
            Scope::Input => "input",
        }
    }
}

/// How an egress that is still open has stalled (follow mode). A rule with `stall` in its
/// `[when]` describes such an egress while it waits; it never matches a finished one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum StallKind {
    /// Request received or validated, no start signal and no `pipeline playing` yet.
    BeforeStart,
    /// Recording started, but no line about the egress for a long time.
    Silent,
    /// `egress_ending` (EOS) without a final status.
    Ending,
}

impl StallKind {
    fn parse(s: &str) -> Option<StallKind> {
        Some(match s {
            "before_start" => StallKind::BeforeStart,
            "silent" => StallKind::Silent,
            "ending" => StallKind::Ending,
            _ => return None,
        })
    }

    /// Snake-case name, as in rule files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            StallKind::BeforeStart => "before_start",
            StallKind::Silent => "silent",
            StallKind::Ending => "ending",
        }
    }
}

/// Another rule that also matched, listed under the leading diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub rule: String,
    pub title: String,
    pub confidence: Confidence,
    pub cause: String,
}

/// One explanation of a failure (or a warning), with what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub scope: Scope,
    pub cause: String,
    pub fixes: Vec<String>,
    pub config: Option<String>,
    pub docs: Vec<String>,
    /// Lines the diagnosis rests on, in input order.
    pub evidence: Vec<Evidence>,
    /// Things whose absence the diagnosis rests on (e.g. no start signal line).
    pub absent: Vec<String>,
    /// What the log cannot tell, and how to find out.
    pub unknowns: Vec<String>,
    /// What a `--config` check says about this diagnosis (empty without `--config`).
    pub config_check: Vec<crate::config_check::Note>,
    /// Other rules that matched the same facts.
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone)]
enum StatusCond {
    Is(Status),
    AnyFailure,
    Open,
}

#[derive(Debug, Clone)]
struct Between {
    from: String,
    to: String,
    min: Option<f64>,
    max: Option<f64>,
}

/// A rule's `error` / `details` pattern: checked when the rule is loaded, compiled on first
/// use (to a forward lazy DFA: a yes/no question needs no more). Most runs never get to most
/// of them, and compiling them all was most of the start-up time of a paste.
#[derive(Debug, Clone)]
struct LazyRegex(Arc<patterns::Pattern>);

impl LazyRegex {
    fn new(src: &str) -> LazyRegex {
        LazyRegex(Arc::new(patterns::Pattern::new(src, REGEX_SIZE_LIMIT)))
    }

    fn is_match(&self, hay: &[u8]) -> bool {
        self.0.is_match_alone(hay)
    }
}

#[derive(Debug, Clone, Default)]
struct Cond {
    status: Vec<StatusCond>,
    error: Option<LazyRegex>,
    details: Option<LazyRegex>,
    code: Vec<i64>,
    request_type: Vec<String>,
    output_type: Vec<String>,
    seen: Vec<u16>,
    seen_any: Vec<u16>,
    not_seen: Vec<(u16, String)>,
    reached: Vec<String>,
    not_reached: Vec<String>,
    between: Vec<Between>,
    count: Vec<(u16, u32)>,
    server_only: Option<bool>,
    input_seen: Vec<u16>,
    input_not_seen: Vec<(u16, String)>,
    stall: Vec<StallKind>,
    /// The egress release that fixed what the rule describes (`fixed_in`).
    fixed_in: Option<Version>,
}

/// A release version, `1.14.1` or `v1.14.1` (a suffix such as `-rc1` is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(u64, u64, u64);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['-', '+', ' ']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts
            .next()
            .is_none()
            .then_some(Version(major, minor, patch))
    }
}

/// Whether a rule with `fixed_in` still applies to the input: unless every egress version the
/// input shows is that release or later (an input that shows none may well run an old one).
fn version_allows(c: &Cond, g: &Global) -> bool {
    let Some(fixed) = c.fixed_in else {
        return true;
    };
    g.versions.is_empty()
        || g.versions
            .iter()
            .any(|v| Version::parse(v).is_none_or(|v| v < fixed))
}

impl Cond {
    /// How many conditions the rule states: more conditions, more specific.
    fn weight(&self) -> usize {
        usize::from(!self.status.is_empty())
            + usize::from(self.error.is_some())
            + usize::from(self.details.is_some())
            + usize::from(!self.code.is_empty())
            + usize::from(!self.request_type.is_empty())
            + usize::from(!self.output_type.is_empty())
            + self.seen.len()
            + usize::from(!self.seen_any.is_empty())
            + self.not_seen.len()
            + self.reached.len()
            + self.not_reached.len()
            + 2 * self.between.len()
            + self.count.len()
            + usize::from(self.server_only.is_some())
            + self.input_seen.len()
            + self.input_not_seen.len()
            + usize::from(!self.stall.is_empty())
    }
}

/// The explanation part of a rule, with `{fact}` placeholders.
#[derive(Debug, Clone, Serialize)]
pub struct Explain {
    pub cause: String,
    pub fixes: Vec<String>,
    pub config: Option<String>,
    pub docs: Vec<String>,
    pub confidence: Confidence,
    pub unknowns: Vec<String>,
    /// Extraction-only patterns for placeholders (`[explain] capture`).
    pub capture: Vec<String>,
}

/// One embedded example of a rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTest {
    pub name: String,
    pub input: String,
    pub expect: Expect,
}

/// What a rule example expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// The rule fires.
    Match,
    /// The rule fires and leads (is the main diagnosis).
    Lead,
    /// The rule does not fire.
    NoMatch,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub scope: Scope,
    pub priority: i32,
    pub explain: Explain,
    pub tests: Vec<RuleTest>,
    /// File the rule came from (`rules/x.toml` or a user path).
    pub file: String,
    /// The whole rule file, for `rules show` (for built-in rules loaded to analyse logs: their
    /// lean JSON form, without examples).
    pub source_text: String,
    /// Status codes the rule is about (for `explain 412`).
    pub codes: Vec<i64>,
    /// Regex sources of error/details/seen conditions (for `explain TEXT`).
    pub texts: Vec<String>,
    /// Where the behaviour the rule describes is established: source files in public
    /// repositories (`owner/repo:path`) or issue / pull-request URLs.
    pub sources: Vec<String>,
    /// The rule's patterns that name capture groups (`(?P<bucket>[^/]+)`): each group is a
    /// placeholder (`{bucket}`), filled from the first evidence line the pattern matches.
    /// Compiled when the rule first explains something (start-up compiles none).
    captures: Vec<(String, std::sync::OnceLock<Option<regex::Regex>>)>,
    cond: Cond,
}

/// The patterns among `srcs` with named capture groups, to be compiled on first use.
fn capture_patterns<'a>(
    srcs: impl Iterator<Item = &'a String>,
) -> Vec<(String, std::sync::OnceLock<Option<regex::Regex>>)> {
    let mut out: Vec<(String, std::sync::OnceLock<Option<regex::Regex>>)> = Vec::new();
    for src in srcs {
        if !capture_names(src).is_empty() && !out.iter().any(|(s, _)| s == src) {
            out.push((src.clone(), std::sync::OnceLock::new()));
        }
    }
    out
}

/// The capture-group names a pattern declares, `(?P<name>` or `(?<name>` (read from its text,
/// without compiling it: an escaped `\(` is not a group).
pub(crate) fn capture_names(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'(' => {
                let rest = &src[i + 1..];
                let name_at = rest
                    .strip_prefix("?P<")
                    .or_else(|| rest.strip_prefix("?<"))
                    .filter(|r| !r.starts_with(['=', '!']));
                if let Some(r) = name_at {
                    if let Some(end) = r.find('>') {
                        let name = &r[..end];
                        if !name.is_empty()
                            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                        {
                            names.push(name.to_string());
                        }
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    names
}

impl Rule {
    /// The stalls this rule describes (empty for a rule about finished egresses).
    pub fn stall_kinds(&self) -> &[StallKind] {
        &self.cond.stall
    }

    /// True when the rule rests on a line not being seen: it can only be decided once the
    /// input has ended (follow mode reports such findings at the end).
    pub fn needs_absence(&self) -> bool {
        !self.cond.not_seen.is_empty()
    }
}

impl Rule {
    /// How specific the rule is: the number of conditions it states.
    pub fn weight(&self) -> usize {
        self.cond.weight()
    }

    /// How many conditions narrow the rule to a subset of the egresses with its outcome
    /// (request type, timing, lines seen): 0 for the general explanation of an error.
    pub fn narrowing(&self) -> usize {
        let c = &self.cond;
        usize::from(!c.request_type.is_empty())
            + usize::from(!c.output_type.is_empty())
            + c.between.len()
            + c.seen.len()
            + usize::from(!c.seen_any.is_empty())
            + c.input_seen.len()
            + c.input_not_seen.len()
            + c.reached.len()
            + usize::from(c.server_only.is_some())
    }
}

/// All rules, compiled, with the shared pattern sets used to mark lines.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    patterns: Vec<String>,
    msg_set: Arc<PatternSet>,
    msg_index: Vec<u16>,
    raw_set: PatternSet,
    raw_index: Vec<u16>,
    /// Field conditions.
    fields: Arc<FieldConditions>,
    /// Per status (indexed by `status as usize`), the egress rules its egresses are checked
    /// against at their end: the others are ruled out by their `status` or `stall` condition
    /// alone. In rule order.
    egress_rules: Vec<Vec<usize>>,
    /// Every rule's pasted final error texts, the longest prefix first.
    pasted: Vec<PastedError>,
}

/// What a rule pattern is matched against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PatternKind {
    /// The message text (the message, then the `error`, `reason`, `details` fields).
    Text,
    /// The raw text of plain-text lines, multi-line entries and warnings or errors.
    Raw,
    /// One field's value.
    Field(String),
}

/// A final error text a rule explains, as a user may paste it alone: a plain-text line that
/// starts with it becomes an egress with this outcome (`pasted_errors` in a rule file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastedError {
    /// Lower case; matched against the start of the text, lower-cased.
    pub prefix: String,
    pub status: Status,
    pub code: Option<i64>,
}

/// Field names a condition may give that are the entry's head, not its fields.
const HEAD_FIELDS: [&str; 3] = ["logger", "caller", "level"];

/// Whether a rule's field condition (`fields = { key = 're' }`) holds on an entry: the head's
/// logger, caller or level, or the field's value as text. The one definition the marks and the
/// batch triage share.
pub fn field_condition_holds(ev: &Event, key: &str, re: &Regex) -> bool {
    match key {
        "logger" => ev
            .logger
            .as_deref()
            .is_some_and(|v| re.is_match(v.as_bytes())),
        "caller" => ev
            .caller
            .as_deref()
            .is_some_and(|v| re.is_match(v.as_bytes())),
        "level" => ev.level.is_some_and(|l| re.is_match(l.as_str().as_bytes())),
        k => match ev.fields.get(k) {
            None => false,
            Some(v) => match v.as_str() {
                Some(s) => re.is_match(s.as_bytes()),
                None => v.text().is_some_and(|t| re.is_match(t.as_bytes())),
            },
        },
    }
}

/// The text message patterns are matched against: the message, then the `error`, `reason`
/// and `details` fields.
pub fn match_text(ev: &Event) -> std::borrow::Cow<'_, str> {
    // One pass over the (few) fields instead of four map lookups: this runs for every event.
    let mut extra: [Option<&str>; 4] = [None; 4];
    for (k, v) in ev.fields.iter() {
        let slot = match k {
            "error" => 0,
            "reason" => 1,
            "details" => 2,
            "endReason" => 3,
            _ => continue,
        };
        extra[slot] = v.as_str().filter(|v| !v.is_empty());
    }
    if extra.iter().all(Option::is_none) {
        return std::borrow::Cow::Borrowed(&ev.message);
    }
    let mut s = String::with_capacity(ev.message.len() + 32);
    s.push_str(&ev.message);
    for v in extra.into_iter().flatten() {
        s.push_str(" | ");
        s.push_str(v);
    }
    std::borrow::Cow::Owned(s)
}

/// Compiles a rule pattern: case-insensitive, ASCII classes (`\\w`, `\\b`, case folding),
/// matched on bytes. Unicode tables make compiling the rule base many times slower, and log
/// keywords are ASCII; non-ASCII literals still match as UTF-8.
fn regex(src: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(src)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Largest compiled program of one rule pattern (bytes).
const REGEX_SIZE_LIMIT: usize = 1 << 22;

/// Tells whether any message pattern of the rule base matches a text.
#[derive(Debug, Clone)]
pub struct TextMatcher(std::sync::Arc<PatternSet>);

impl TextMatcher {
    /// True when some message pattern matches `text`.
    pub fn any(&self, text: &str) -> bool {
        self.0.any(text.as_bytes())
    }
}

/// A built-in rule file up to its first `[[test]]` table.
fn without_tests(text: &str) -> &str {
    match text.find("\n[[test]]") {
        Some(at) => &text[..at + 1],
        None => text,
    }
}

/// Checks a pattern's syntax without compiling it (rule validation).
pub(crate) fn check_pattern(src: &str) -> Result<(), String> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .unicode(false)
        .utf8(false)
        .build()
        .parse(src)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl RuleSet {
    /// The built-in rules, plus those in `extra` (a user's directory). A user rule with a
    /// built-in id replaces it. Every problem in every file is returned together.
    pub fn load(extra: Option<&Path>) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::load_with(extra, false)
    }

    /// [`RuleSet::load`] for analysing logs: the built-in rules without their `[[test]]`
    /// examples (which always close a built-in file) and without checking their patterns
    /// again. Start-up is most of a paste's run time.
    pub fn load_for_analysis(extra: Option<&Path>) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::load_with(extra, true)
    }

    fn load_with(extra: Option<&Path>, lean: bool) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let user = match extra.map(read_dir_rules) {
            Some(Ok(user)) => user,
            Some(Err(e)) => {
                errors.push(e);
                Vec::new()
            }
            None => Vec::new(),
        };
        let builtin = embedded::EMBEDDED.iter().map(|(n, toml, json)| {
            let text = match (lean, json) {
                (true, Some(json)) => file::Text::LeanJson(json),
                (true, None) => file::Text::Toml(without_tests(toml)),
                (false, _) => file::Text::Toml(toml),
            };
            (format!("rules/{n}"), text, true)
        });
        let files: Vec<(String, file::Text, bool)> = builtin
            .chain(
                user.iter()
                    .map(|(n, t)| (n.clone(), file::Text::Toml(t), false)),
            )
            .collect();
        // (A user's directory may itself be called `rules/`: built-in is a flag, not a name.)
        let set = RuleSet::from_texts_checked(&files, |builtin| !lean || !builtin);
        match set {
            Ok(s) if errors.is_empty() => Ok(s),
            Ok(_) => Err(errors),
            Err(mut e) => {
                errors.append(&mut e);
                Err(errors)
            }
        }
    }

    /// Only the rules in `dir` (for `rules test DIR`).
    pub fn load_dir(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
        let files = read_dir_rules(dir).map_err(|e| vec![e])?;
        RuleSet::from_texts(&files)
    }

    /// Compiles rules from `(file name, TOML text)` pairs; later files replace earlier ones
    /// with the same id.
    pub fn from_texts(files: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
        let files: Vec<(String, file::Text, bool)> = files
            .iter()
            .map(|(n, t)| (n.clone(), file::Text::Toml(t), false))
            .collect();
        RuleSet::from_texts_checked(&files, |_| true)
    }

    /// [`RuleSet::from_texts`] over `(file name, text, built-in)`, checking the patterns of the
    /// files `check` accepts (by their built-in flag). A user's rule replaces the built-in one
    /// with its id; two rules of the same kind with one id are an error.
    fn from_texts_checked(
        files: &[(String, file::Text<'_>, bool)],
        check: impl Fn(bool) -> bool,
    ) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for (name, text, builtin) in files {
            match file::parse(name, text, check(*builtin)) {
                Ok(r) => parsed.push((r, *builtin, check(*builtin))),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut rules_src: Vec<file::Parsed> = Vec::new();
        let mut builtins: Vec<bool> = Vec::new();
        let mut checks: Vec<bool> = Vec::new();
        for (r, builtin, checked) in parsed {
            match by_id.get(&r.id) {
                Some(&i) if builtins[i] && !builtin => {
                    rules_src[i] = r;
                    builtins[i] = false;
                    checks[i] = checked;
                }
                Some(_) => errors.push(RuleError {
                    file: r.file.clone(),
                    field: "id".into(),
                    message: format!("duplicate rule id `{}`", r.id),
                }),
                None => {
                    by_id.insert(r.id.clone(), rules_src.len());
                    rules_src.push(r);
                    builtins.push(builtin);
                    checks.push(checked);
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every distinct pattern gets one index; its kind says what it is matched against.
        let mut patterns: Vec<String> = Vec::new();
        let mut kinds: Vec<PatternKind> = Vec::new();
        // Whether a file whose patterns are checked uses the pattern.
        let mut checked: Vec<bool> = Vec::new();
        let mut index: HashMap<(String, PatternKind), u16> = HashMap::new();
        let mut rules = Vec::new();
        let mut pasted = Vec::new();
        for (p, check) in rules_src.into_iter().zip(checks) {
            let mut intern_kind = |p: &str, kind: PatternKind| -> u16 {
                let i = *index
                    .entry((p.to_string(), kind.clone()))
                    .or_insert_with(|| {
                        patterns.push(p.to_string());
                        kinds.push(kind);
                        checked.push(false);
                        (patterns.len() - 1) as u16
                    });
                checked[i as usize] |= check;
                i
            };
            let mut cond = p.cond;
            let mut intern = |s: &str, raw: bool| {
                intern_kind(
                    s,
                    if raw {
                        PatternKind::Raw
                    } else {
                        PatternKind::Text
                    },
                )
            };
            cond.seen = p.seen.iter().map(|s| intern(s, false)).collect();
            cond.seen.extend(p.lines.iter().map(|s| intern(s, true)));
            cond.seen.extend(
                p.fields
                    .iter()
                    .map(|(k, v)| intern_kind(v, PatternKind::Field(k.clone()))),
            );
            let mut intern = |s: &str| intern_kind(s, PatternKind::Text);
            cond.seen_any = p.seen_any.iter().map(|s| intern(s)).collect();
            cond.not_seen = p.not_seen.iter().map(|s| (intern(s), s.clone())).collect();
            cond.count = p.count.iter().map(|(s, n)| (intern(s), *n)).collect();
            cond.input_seen = p.input_seen.iter().map(|s| intern(s)).collect();
            cond.input_not_seen = p
                .input_not_seen
                .iter()
                .map(|s| (intern(s), s.clone()))
                .collect();
            pasted.extend(p.pasted_errors.iter().cloned());
            let captures = capture_patterns(
                p.seen
                    .iter()
                    .chain(&p.lines)
                    .chain(&p.seen_any)
                    .chain(p.count.iter().map(|(s, _)| s))
                    .chain(&p.input_seen)
                    .chain(&p.texts)
                    .chain(&p.explain.capture),
            );
            rules.push(Rule {
                id: p.id,
                title: p.title,
                severity: p.severity,
                scope: p.scope,
                priority: p.priority,
                explain: p.explain,
                tests: p.tests,
                file: p.file,
                source_text: p.source_text,
                codes: cond
                    .code
                    .iter()
                    .copied()
                    .chain(p.pasted_errors.iter().filter_map(|e| e.code))
                    .collect(),
                texts: p.texts,
                sources: p.sources,
                captures,
                cond,
            });
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        // The message and raw-line patterns compile on first use; those of the files whose
        // patterns are checked (a user's rules, `rules test`) are compiled now, so that one
        // that cannot be is reported with the others.
        let build = |raw: bool| -> Result<(PatternSet, Vec<u16>), String> {
            let (srcs, idx): (Vec<&String>, Vec<u16>) = patterns
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    kinds[*i]
                        == if raw {
                            PatternKind::Raw
                        } else {
                            PatternKind::Text
                        }
                })
                .map(|(i, p)| (p, i as u16))
                .unzip();
            let set = PatternSet::new(&srcs);
            set.check(|i| checked[idx[i] as usize])?;
            Ok((set, idx))
        };
        let built = build(false).and_then(|m| Ok((m, build(true)?)));
        let ((msg_set, msg_index), (raw_set, raw_index)) = built.map_err(|e| {
            vec![RuleError {
                file: "rules".into(),
                field: "patterns".into(),
                message: format!("cannot compile a pattern: {e}"),
            }]
        })?;
        let msg_set = Arc::new(msg_set);
        let mut field_patterns = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            if let PatternKind::Field(key) = kind {
                let re = regex(&patterns[i]).map_err(|e| {
                    vec![RuleError {
                        file: "rules".into(),
                        field: "when.fields".into(),
                        message: format!("invalid regex: {e}"),
                    }]
                })?;
                field_patterns.push(fields::FieldPattern::new(key, &patterns[i], re, i as u16));
            }
        }
        let egress_rules = Status::ALL
            .iter()
            .map(|&status| {
                (0..rules.len())
                    .filter(|&i| {
                        let c = &rules[i].cond;
                        rules[i].scope == Scope::Egress
                            && c.stall.is_empty()
                            && status_allows(&c.status, status, true)
                    })
                    .collect()
            })
            .collect();
        // The longest prefix first: `session limit reached before start signal` before
        // `session limit reached`.
        pasted.sort_by_key(|p: &PastedError| std::cmp::Reverse(p.prefix.len()));
        pasted.dedup_by(|a, b| a.prefix == b.prefix);
        Ok(RuleSet {
            pasted,
            egress_rules,
            rules,
            patterns,
            fields: Arc::new(FieldConditions::new(field_patterns)),
            msg_set,
            msg_index,
            raw_set,
            raw_index,
        })
    }

    /// An owned, cheap-to-clone test for "does any message pattern match this text", and
    /// the field names that field conditions look at with their patterns (for the decoder's
    /// triage).
    pub fn text_matcher(&self) -> (TextMatcher, Vec<(String, Regex)>) {
        let fields = self
            .fields
            .patterns
            .iter()
            .map(|f| (f.key.clone(), f.re.clone()))
            .collect();
        (TextMatcher(Arc::clone(&self.msg_set)), fields)
    }

    /// The rules' field conditions, as the marks ask them (for the triage's definition of a
    /// needed entry).
    pub fn field_conditions(&self) -> Arc<FieldConditions> {
        Arc::clone(&self.fields)
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Rules whose error, details or message patterns match `text`, or whose title or id
    /// mentions it (for a text that is not a whole line of a log). A pattern that matches any
    /// word (`\S`, `.`) says nothing about the text and is left out.
    pub fn search(&self, text: &str) -> Vec<&Rule> {
        let lower = text.trim().to_lowercase();
        if lower.chars().count() < 3 {
            return Vec::new();
        }
        let specific = |re: &Regex| !re.is_match(b"") && !re.is_match(b"zzzq");
        let mut hits: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| {
                r.texts.iter().any(|src| {
                    regex(src).is_ok_and(|re| specific(&re) && re.is_match(text.as_bytes()))
                }) || r.id.contains(&lower)
                    || r.title.to_lowercase().contains(&lower)
            })
            .collect();
        hits.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.narrowing().cmp(&b.narrowing()))
                .then(a.cond.weight().cmp(&b.cond.weight()))
        });
        hits
    }

    /// A rule's explanation with generic words in place of an egress's facts.
    pub fn explain_rule(&self, r: &Rule) -> Diagnosis {
        let generic: Facts = fact_names(r.scope)
            .iter()
            .map(|n| {
                let v = match *n {
                    "egress_id" => "`EG_…`",
                    "room" => "`<room>`",
                    "request_type" => "<request type>",
                    "output_type" => "<output type>",
                    "waited" | "duration" | "active_for" | "span" => "<time>",
                    "end_reason" => "<end reason>",
                    "details" => "<details>",
                    "error" => "<error text>",
                    "code" => "<code>",
                    "status" => "<status>",
                    "node_id" => "<node>",
                    "version" => "<version>",
                    "egresses" | "failed" => "N",
                    _ => "<?>",
                };
                (*n, v.to_string())
            })
            .collect();
        build(r, &generic, &Egress::default(), &Marks::default(), true)
    }

    /// Number of distinct line patterns the rules use.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Ranked diagnoses for a finished egress: the most specific first, the others folded in
    /// as alternatives when they share its severity. Falls back to "unrecognised" for a
    /// failure no rule explains.
    pub fn diagnose_egress(&self, e: &Egress, g: &Global) -> Vec<Diagnosis> {
        let matched = self.matched_egress(e, g);
        // Most egresses end well and match nothing: their facts are never rendered.
        let facts = std::cell::OnceCell::new();
        let facts = || facts.get_or_init(|| egress_facts(e));
        let mut out = rank(matched, |r| {
            let mut d = build(r, facts(), e, &e.marks, false);
            for &i in &r.cond.input_seen {
                if let Some(m) = g.all_marks.get(i) {
                    if !d.evidence.iter().any(|x| x.origin == m.first.origin) {
                        d.evidence.push(m.first.clone());
                    }
                }
            }
            d.evidence.sort_by_key(|ev| ev.origin);
            for (_, src) in &r.cond.input_not_seen {
                d.absent
                    .push(format!("no line in the whole input matching `{src}`"));
            }
            d
        });
        if out.is_empty() {
            if let Some(d) = unrecognised(e, facts) {
                out.push(d);
            }
        }
        out
    }

    /// The egress rules whose conditions `e` meets (with the input-wide ones `g` decides).
    fn matched_egress(&self, e: &Egress, g: &Global) -> Vec<&Rule> {
        self.egress_rules[e.status as usize]
            .iter()
            .map(|&i| &self.rules[i])
            .filter(|r| egress_rule_applies(r, e, g))
            .collect()
    }

    /// What [`RuleSet::diagnose_egress`] would lead with, without writing any diagnosis: the
    /// leading rule's id and severity (the highest of all), `None` when it finds nothing. For
    /// counting the egresses a report has no room to show.
    pub fn verdict_egress(&self, e: &Egress, g: &Global) -> Option<(&str, Severity)> {
        let mut matched = self.matched_egress(e, g);
        sort_ranked(&mut matched);
        match matched.first() {
            Some(r) => Some((r.id.as_str(), r.severity)),
            None => unrecognised_applies(e).then_some(("unrecognised", Severity::Error)),
        }
    }

    /// Ranked diagnoses for an egress that is still open and has stalled (follow mode): the
    /// rules whose `stall` names `kind`, with `{waited}` set to how long it has stalled.
    /// `waited_secs` is `None` when the egress's lines carry no time (a pasted fragment).
    pub fn diagnose_stall(
        &self,
        e: &Egress,
        kind: StallKind,
        waited_secs: Option<f64>,
    ) -> Vec<Diagnosis> {
        let mut facts = egress_facts(e);
        if let (Some(w), Some(secs)) = (facts.iter_mut().find(|(k, _)| *k == "waited"), waited_secs)
        {
            w.1 = human_secs(secs);
        }
        let matched: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.scope == Scope::Egress && eval_egress(&r.cond, e, Some(kind)))
            .collect();
        rank(matched, |r| build(r, &facts, e, &e.marks, false))
    }

    /// Node- and input-level diagnoses from the facts gathered across the input.
    pub fn diagnose_global(&self, g: &Global, egresses: &EgressSummary) -> Vec<Diagnosis> {
        self.diagnose_global_except(g, egresses, &|_| false)
    }

    /// Like [`RuleSet::diagnose_global`], leaving out the rules `skip` names (follow mode: the
    /// findings already reported, and absence rules while the input goes on).
    pub fn diagnose_global_except(
        &self,
        g: &Global,
        egresses: &EgressSummary,
        skip: &dyn Fn(&Rule) -> bool,
    ) -> Vec<Diagnosis> {
        let facts = global_facts(g, egresses);
        let mut all = Vec::new();
        for scope in [Scope::Node, Scope::Input] {
            let marks = if scope == Scope::Node {
                &g.node_marks
            } else {
                &g.all_marks
            };
            let matched: Vec<&Rule> = self
                .rules
                .iter()
                .filter(|r| {
                    r.scope == scope
                        && !skip(r)
                        && eval_marks(&r.cond, marks)
                        && version_allows(&r.cond, g)
                })
                .collect();
            all.extend(matched.into_iter().map(|r| (r, marks)));
        }
        // Node and input findings are separate facts: each is its own finding, most severe
        // and most specific first (they are not alternatives of one another).
        let empty = Egress::default();
        all.sort_by(|(a, _), (b, _)| {
            b.severity
                .cmp(&a.severity)
                .then(b.priority.cmp(&a.priority))
                .then(b.cond.weight().cmp(&a.cond.weight()))
                .then(a.id.cmp(&b.id))
        });
        all.into_iter()
            .map(|(r, marks)| build(r, &facts, &empty, marks, false))
            .collect()
    }
}

/// Counts over the egresses of a run, for input-level templates.
#[derive(Debug, Clone, Copy, Default)]
pub struct EgressSummary {
    pub egresses: u64,
    pub failed: u64,
}

fn read_dir_rules(dir: &Path) -> Result<Vec<(String, String)>, RuleError> {
    let err = |m: String| RuleError {
        file: dir.display().to_string(),
        field: String::new(),
        message: m,
    };
    let rd =
        std::fs::read_dir(dir).map_err(|e| err(format!("cannot read rules directory: {e}")))?;
    let mut files = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    Ok(files)
}

/// How many other possible causes a diagnosis names.
const MAX_ALTERNATIVES: usize = 3;

/// Groups matched rules by severity and specificity: the most specific of the highest
/// severity leads; the rest of its severity become its alternatives; rules of other
/// severities stay separate diagnoses.
fn rank<'a>(
    mut matched: Vec<&'a Rule>,
    mut build: impl FnMut(&'a Rule) -> Diagnosis,
) -> Vec<Diagnosis> {
    sort_ranked(&mut matched);
    let mut out: Vec<Diagnosis> = Vec::new();
    for r in matched {
        let d = build(r);
        match out.iter_mut().find(|x| x.severity == d.severity) {
            // At most three alternatives: the likeliest others, never the catalogue.
            Some(lead) if lead.alternatives.len() >= MAX_ALTERNATIVES => {}
            Some(lead) => lead.alternatives.push(Alternative {
                rule: d.rule,
                title: d.title,
                confidence: d.confidence,
                cause: d.cause,
            }),
            None => out.push(d),
        }
    }
    out
}

/// Matched rules in the order diagnoses are ranked: severity, priority, how much of the
/// timeline the condition pins down, confidence, then id.
fn sort_ranked(matched: &mut [&Rule]) {
    matched.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.priority.cmp(&a.priority))
            .then(b.cond.weight().cmp(&a.cond.weight()))
            .then(b.explain.confidence.cmp(&a.explain.confidence))
            .then(a.id.cmp(&b.id))
    });
}

fn eval_marks(c: &Cond, marks: &Marks) -> bool {
    c.seen.iter().all(|&i| marks.count(i) > 0)
        && (c.seen_any.is_empty() || c.seen_any.iter().any(|&i| marks.count(i) > 0))
        && c.not_seen.iter().all(|(i, _)| marks.count(*i) == 0)
        && c.count.iter().all(|&(i, n)| marks.count(i) >= n)
}

/// Whether egress rule `r` applies to `e` when it has ended (with the input-wide conditions
/// `g` decides).
fn egress_rule_applies(r: &Rule, e: &Egress, g: &Global) -> bool {
    eval_egress(&r.cond, e, None)
        && version_allows(&r.cond, g)
        && r.cond.input_seen.iter().all(|&i| g.all_marks.count(i) > 0)
        && r.cond
            .input_not_seen
            .iter()
            .all(|(i, _)| g.all_marks.count(*i) == 0)
}

/// Whether a rule's `status` condition admits an egress with `status` (`open_at_end`: the
/// egress was still open when the input ended).
fn status_allows(cond: &[StatusCond], status: Status, open_at_end: bool) -> bool {
    cond.is_empty()
        || cond.iter().any(|s| match s {
            StatusCond::Is(s) => status == *s,
            StatusCond::AnyFailure => status.is_failure(),
            StatusCond::Open => open_at_end && !status.is_terminal(),
        })
}

/// Evaluates an egress rule. `stall` is set when follow mode checks an open egress that has
/// stalled: then only the rules naming that stall apply, and they apply to nothing else.
fn eval_egress(c: &Cond, e: &Egress, stall: Option<StallKind>) -> bool {
    match stall {
        Some(k) if !c.stall.contains(&k) => return false,
        None if !c.stall.is_empty() => return false,
        _ => {}
    }
    if !status_allows(&c.status, e.status, e.open_at_end) {
        return false;
    }
    // A code that the input does not show (a paste, a legacy line) does not rule a rule out.
    if !c.code.is_empty() && e.code.is_some_and(|x| !c.code.contains(&x)) {
        return false;
    }
    let in_list = |list: &Vec<String>, v: &Option<String>| {
        list.is_empty()
            || v.as_deref()
                .is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
    };
    if !in_list(&c.request_type, &e.request_type) || !in_list(&c.output_type, &e.output_type) {
        return false;
    }
    if !c.reached.iter().all(|m| e.t.reached(m)) || !c.not_reached.iter().all(|m| !e.t.reached(m)) {
        return false;
    }
    for b in &c.between {
        let Some(secs) = e.between(&b.from, &b.to) else {
            return false;
        };
        if b.min.is_some_and(|m| secs < m) || b.max.is_some_and(|m| secs > m) {
            return false;
        }
    }
    if let Some(server_only) = c.server_only {
        if server_only != (e.egress_lines == 0 && e.server_lines > 0) {
            return false;
        }
    }
    // The text patterns last: they are the dearest checks, compiled on first use.
    let text_ok = |re: &Option<LazyRegex>, v: &Option<String>| {
        re.as_ref()
            .is_none_or(|re| v.as_deref().is_some_and(|v| re.is_match(v.as_bytes())))
    };
    eval_marks(c, &e.marks) && text_ok(&c.error, &e.error) && text_ok(&c.details, &e.details)
}

/// Human duration: `850 ms`, `34.6 s`, `2 min 05 s`, `1 h 02 min`.
pub fn human_secs(s: f64) -> String {
    if s < 0.0 {
        return format!("-{}", human_secs(-s));
    }
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {:02} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{} h {:02} min",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

type Facts = Vec<(&'static str, String)>;

fn egress_facts(e: &Egress) -> Facts {
    let unknown = || "unknown".to_string();
    let waited =
        e.t.get("start")
            .zip(e.t.ended.or(e.t.last))
            .map(|(a, b)| human_secs(a.secs_until(b)))
            .unwrap_or_else(unknown);
    let end_reason = e
        .details
        .as_deref()
        .map(|d| {
            d.trim_start_matches("End reason: ")
                .trim_start_matches("end reason: ")
                .to_string()
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "end reason not given".into());
    vec![
        (
            "egress_id",
            e.id.clone().unwrap_or_else(|| "(no egress ID)".into()),
        ),
        (
            "room",
            e.room
                .clone()
                .map_or("(not in the log)".into(), |r| format!("`{r}`")),
        ),
        (
            "request_type",
            e.request_type
                .clone()
                .unwrap_or_else(|| "request type not in the log".into()),
        ),
        (
            "output_type",
            e.output_type
                .clone()
                .unwrap_or_else(|| "output type not in the log".into()),
        ),
        ("status", e.status.name().to_string()),
        (
            "error",
            e.error
                .clone()
                .filter(|x| !x.is_empty())
                .unwrap_or_else(|| "(none)".into()),
        ),
        ("code", e.code.map_or_else(unknown, |c| c.to_string())),
        (
            "details",
            e.details
                .clone()
                .filter(|x| !x.is_empty())
                .unwrap_or_else(|| "no end reason given".into()),
        ),
        ("end_reason", end_reason),
        ("waited", waited),
        ("node_id", e.node_id.clone().unwrap_or_else(unknown)),
        (
            "duration",
            e.t.first
                .zip(e.t.last)
                .map(|(a, b)| human_secs(a.secs_until(b)))
                .unwrap_or_else(|| "an unknown time".into()),
        ),
        (
            "active_for",
            e.t.active
                .or(e.t.playing)
                .zip(e.t.ended.or(e.t.last))
                .map(|(a, b)| human_secs(a.secs_until(b)))
                .unwrap_or_else(|| "an unknown time".into()),
        ),
    ]
}

fn global_facts(g: &Global, s: &EgressSummary) -> Facts {
    let list = |set: &std::collections::BTreeSet<String>| {
        if set.is_empty() {
            "unknown".to_string()
        } else {
            set.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    vec![
        ("version", list(&g.versions)),
        ("node_id", list(&g.node_ids)),
        ("egresses", s.egresses.to_string()),
        ("failed", s.failed.to_string()),
        (
            "span",
            g.first
                .zip(g.last)
                .map(|(a, b)| human_secs(a.secs_until(b)))
                .unwrap_or_else(|| "unknown".into()),
        ),
    ]
}

/// Names a template may use, per scope.
pub fn fact_names(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::Egress => &[
            "egress_id",
            "room",
            "request_type",
            "output_type",
            "status",
            "error",
            "code",
            "details",
            "end_reason",
            "waited",
            "node_id",
            "duration",
            "active_for",
            "count",
        ],
        Scope::Node | Scope::Input => {
            &["version", "node_id", "egresses", "failed", "span", "count"]
        }
    }
}

/// Fills `{name}` placeholders from `facts`; `{count}` is the number of lines that matched
/// the rule's first `seen` pattern.
fn render(t: &str, facts: &Facts, count: Option<u32>, caught: &[(String, String)]) -> String {
    let is_name = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_lowercase() || c == b'_');
    let mut out = String::with_capacity(t.len() + 32);
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let at = &rest[open..];
        // `{{name}}` is the literal text `{name}`; other `{{...}}` (Go templates in docker
        // commands) stay as written.
        if let Some(inner) = at.strip_prefix("{{") {
            match inner.find("}}") {
                Some(close) if is_name(&inner[..close]) => {
                    out.push('{');
                    out.push_str(&inner[..close]);
                    out.push('}');
                    rest = &inner[close + 2..];
                }
                Some(close) => {
                    out.push_str(&at[..close + 4]);
                    rest = &inner[close + 2..];
                }
                None => {
                    out.push_str("{{");
                    rest = inner;
                }
            }
            continue;
        }
        let after = &at[1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                let name = &after[..close];
                if name == "count" {
                    match count {
                        Some(n) => out.push_str(&n.to_string()),
                        None => out.push('N'),
                    }
                } else if let Some((_, v)) = facts.iter().find(|(k, _)| *k == name) {
                    out.push_str(v);
                } else if let Some((_, v)) = caught.iter().find(|(k, _)| k == name) {
                    out.push_str(v);
                } else {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn build(r: &Rule, facts: &Facts, e: &Egress, marks: &Marks, generic: bool) -> Diagnosis {
    let count = r
        .cond
        .seen
        .first()
        .or_else(|| r.cond.count.first().map(|(i, _)| i))
        .or_else(|| r.cond.seen_any.first())
        .map_or(0, |&i| marks.count(i));
    let count = (!generic).then_some(count);
    let ex = &r.explain;
    let mut evidence: Vec<Evidence> = Vec::new();
    let add = |evidence: &mut Vec<Evidence>, ev: &Evidence| {
        if !evidence.iter().any(|x| x.origin == ev.origin) {
            evidence.push(ev.clone());
        }
    };
    if r.scope == Scope::Egress {
        for ev in &e.timeline {
            if ev.text.contains("request validated")
                || ev.text.contains("request received")
                || ev.text.contains("API Egress.Start")
            {
                add(&mut evidence, ev);
                break;
            }
        }
    }
    for &i in r
        .cond
        .seen
        .iter()
        .chain(&r.cond.seen_any)
        .chain(r.cond.count.iter().map(|(i, _)| i))
    {
        if let Some(m) = marks.get(i) {
            add(&mut evidence, &m.first);
        }
    }
    if let Some(t) = &e.terminal {
        add(&mut evidence, t);
    }
    if r.scope == Scope::Egress && evidence.len() < 2 {
        for p in e.problems.iter().take(3) {
            add(&mut evidence, p);
        }
    }
    evidence.sort_by_key(|ev| ev.origin);
    let mut absent: Vec<String> = r
        .cond
        .not_seen
        .iter()
        .map(|(_, src)| format!("no line matching `{src}`"))
        .collect();
    for m in &r.cond.not_reached {
        absent.push(format!("no {} step", m.replace('_', " ")));
    }
    let caught = caught_values(r, &evidence, e, generic);
    let render = |t: &str| render(t, facts, count, &caught);
    Diagnosis {
        rule: r.id.clone(),
        title: r.title.clone(),
        severity: r.severity,
        confidence: ex.confidence,
        scope: r.scope,
        cause: render(&ex.cause),
        fixes: ex.fixes.iter().map(|f| render(f)).collect(),
        config: ex.config.clone(),
        docs: ex.docs.clone(),
        evidence,
        absent,
        unknowns: ex.unknowns.iter().map(|u| render(u)).collect(),
        alternatives: Vec::new(),
        config_check: Vec::new(),
    }
}

/// The values of a rule's named capture groups: each pattern's groups from the first of
/// the evidence lines (then the egress's final error and details) it matches. A group no line
/// filled says so; in a generic explanation (`explain`, `rules show`) each is `<name>`.
fn caught_values(
    r: &Rule,
    evidence: &[Evidence],
    e: &Egress,
    generic: bool,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let texts: Vec<&str> = evidence
        .iter()
        .map(|ev| &*ev.text)
        .chain(e.error.as_deref())
        .chain(e.details.as_deref())
        .collect();
    for (src, compiled) in &r.captures {
        let compiled = compiled.get_or_init(|| {
            regex::RegexBuilder::new(src)
                .case_insensitive(true)
                .build()
                .ok()
        });
        let Some(re) = compiled else {
            continue;
        };
        let caps = (!generic)
            .then(|| texts.iter().find_map(|t| re.captures(t)))
            .flatten();
        for name in re.capture_names().flatten() {
            let found = caps
                .as_ref()
                .and_then(|c| c.name(name))
                .map(|m| format!("`{}`", m.as_str().trim()));
            match out.iter_mut().find(|(k, _)| k == name) {
                // A group an earlier pattern left unfilled takes a later pattern's value.
                Some(slot) => {
                    if let (Some(v), true) = (found, slot.1 == NOT_CAUGHT) {
                        slot.1 = v;
                    }
                }
                None => {
                    let value = found.unwrap_or_else(|| match generic {
                        true => format!("<{name}>"),
                        false => NOT_CAUGHT.to_string(),
                    });
                    out.push((name.to_string(), value));
                }
            }
        }
    }
    out
}

/// What a placeholder of a capture group says when no evidence line filled it.
const NOT_CAUGHT: &str = "(not in the log)";

/// True when `e`, if no rule explains it, is a failure to report as unrecognised: it failed,
/// or it logged errors and never ended.
fn unrecognised_applies(e: &Egress) -> bool {
    let errors_without_end = !e.status.is_terminal()
        && e.problems
            .iter()
            .any(|p| p.level.is_some_and(|l| l >= crate::event::Level::Error));
    e.status.is_failure() || errors_without_end
}

impl RuleSet {
    /// The finding for an input that holds no egress at all and that no rule explains, but
    /// that has errors in it: its ERROR lines, panics and plain lines with failure wording,
    /// quoted, with what to look at next. `None` when the input has an egress (or a pasted
    /// final error that becomes one), or only warnings: routine warnings are no failure.
    /// Batch runs ask at the end when no finding fired; follow mode asks at the end of its
    /// run when it has reported none.
    pub fn unrecognised_input(&self, g: &Global) -> Option<Diagnosis> {
        if g.egresses > 0 || !g.orphan_errors.is_empty() {
            return None;
        }
        let errors: Vec<&Evidence> = g
            .problems
            .iter()
            .filter(|p| p.level.is_none_or(|l| l >= crate::event::Level::Error))
            .collect();
        let first = errors.first()?;
        let line = first.text.lines().next().unwrap_or("").trim();
        let quoted: String = match line.char_indices().nth(200) {
            Some((at, _)) => format!("{}…", &line[..at]),
            None => line.to_string(),
        };
        let more = match errors.len() + g.problems_dropped as usize {
            1 => String::new(),
            n => format!(" ({n} such lines in all; the first ones are below)"),
        };
        Some(Diagnosis {
            rule: "unrecognised".into(),
            title: "Errors that no rule recognises, and no egress in the input".into(),
            severity: Severity::Error,
            confidence: Confidence::Possible,
            scope: Scope::Input,
            cause: format!(
                "The input shows no egress (no request, status or egress ID line), and no rule in the rule base explains its errors. The first: \"{quoted}\"{more}. egresslens cannot tell from these lines alone which egress or request they belong to, or whether they are the cause of a failed recording."
            ),
            fixes: vec![
                "Look the text up: `egresslens explain \"<the error text>\"`; if it is a storage, RTMP or redis error, the component it names is the one to check first.".into(),
                "Give egresslens the whole log around the error: `docker logs egress 2>&1 | egresslens` (and livekit-server's log for API errors), so the error can be tied to its egress and its request.".into(),
                "If you know the cause, add a rule with `--rules DIR` (see rules/README.md) so the next run explains it.".into(),
            ],
            config: None,
            docs: vec!["https://github.com/livekit/egress/issues".into()],
            evidence: errors.into_iter().take(6).cloned().collect(),
            absent: Vec::new(),
            unknowns: vec![
                "Which egress, room or request these lines are about: the input names none.".into(),
            ],
            alternatives: Vec::new(),
            config_check: Vec::new(),
        })
    }
}

/// The diagnosis for a failure (or an egress with errors) that no rule explains.
fn unrecognised<'f>(e: &Egress, facts: impl FnOnce() -> &'f Facts) -> Option<Diagnosis> {
    if !unrecognised_applies(e) {
        return None;
    }
    let mut evidence: Vec<Evidence> = e.problems.iter().take(6).cloned().collect();
    if let Some(t) = &e.terminal {
        evidence.push(t.clone());
    }
    evidence.sort_by_key(|ev| ev.origin);
    let facts = facts();
    let get = |k: &str| {
        facts
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let cause = if e.status.is_failure() {
        format!(
            "{} ended `{}` with error \"{}\" (code {}, {}). No rule in the rule base explains this error; the lines below are what the log shows about it.",
            get("egress_id"),
            e.status.name(),
            get("error"),
            get("code"),
            get("details"),
        )
    } else {
        format!(
            "{} logged errors but no terminal status appears in the input. No rule in the rule base explains these errors.",
            get("egress_id")
        )
    };
    Some(Diagnosis {
        rule: "unrecognised".into(),
        title: "Failure not recognised by any rule".into(),
        severity: Severity::Error,
        confidence: Confidence::Possible,
        scope: Scope::Egress,
        cause,
        fixes: vec![
            "Read the evidence lines below: the first ERROR line usually names the failing component.".into(),
            "Run `egresslens explain \"<error text>\"` to look the text up in the rule base.".into(),
            "If the cause is known to you, add a rule with `--rules DIR` (see rules/README.md) so the next run explains it.".into(),
        ],
        config: None,
        docs: vec!["https://github.com/livekit/egress/issues".into()],
        evidence,
        absent: Vec::new(),
        unknowns: vec!["Debug-level lines (`logging.level: debug` in egress.yaml) often show the step that failed.".into()],
        alternatives: Vec::new(),
        config_check: Vec::new(),
    })
}

/// Milestone names valid in `reached`, `not_reached` and `between`.
pub fn milestone_names() -> &'static [&'static str] {
    &Milestones::NAMES
}

#[cfg(test)]
mod tests;
