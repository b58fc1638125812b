//! Formats an `Analysis` as a terminal report (comfy-table), a markdown incident report or
//! JSON (`egresslens.report.v1`), and a config check (`check`, `egresslens.check.v1`). The only
//! module that formats output; it writes into a
//! `&mut dyn Write` and never reads input, runs rules or decides exit codes. Every piece of
//! log text goes through `safe` (controls stripped, secrets masked) before it is written.
//!
//! Each output format is one module implementing [`Renderer`] (`table`, `markdown`, `json`);
//! [`OutputFormat::renderer`] is the one place a format is resolved to its implementation.
//! Adding a format: a module with a unit struct implementing [`Renderer`], a variant of
//! [`OutputFormat`] with its arm in [`OutputFormat::renderer`] and its entry in
//! [`OutputFormat::ALL`]; `--format` takes its names from there.

pub mod check;
pub mod follow;
pub mod json;
pub mod markdown;
pub mod mermaid;
pub mod safe;
pub mod table;

use crate::analyze::{Analysis, EgressResult, LiveSummary, OpenAtEnd, Stall};
use crate::config_check::CheckReport;
use crate::correlate::{Egress, Evidence};
use crate::event::Format;
use crate::rulebase::{human_secs, Diagnosis, Severity, StallKind};
use std::fmt;
use std::io::{self, Write};

/// An output format: everything egresslens prints in it, batch or follow mode, logs or configs.
/// Each implementation writes into a `&mut dyn Write` and passes every piece of log or file
/// text through [`Style::clean`] or [`Style::clean_line`] first.
pub trait Renderer: Sync {
    /// The name `--format` takes (`table`).
    fn name(&self) -> &'static str;

    /// True for a format meant to be read on a terminal: `--color auto` colours only it.
    fn for_terminal(&self) -> bool;

    /// The whole report of a batch analysis.
    fn write_report(&self, a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()>;

    /// The `check-config` report.
    fn write_check(&self, r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()>;

    /// Follow mode: an egress that has ended (or was given up after a long silence).
    fn write_egress(
        &self,
        r: &EgressResult,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()>;

    /// Follow mode: a stall warning for an egress that is still open.
    fn write_stall(
        &self,
        s: &Stall,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()>;

    /// Follow mode: a node- or input-level finding, when it fires.
    fn write_finding(
        &self,
        d: &Diagnosis,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()>;

    /// Follow mode: the closing summary, counts over the run and the egresses still open.
    /// `sources` may name a file once per start (rotation); the summary names each once.
    fn write_summary(
        &self,
        s: &LiveSummary,
        open: &[EgressResult],
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()>;
}

/// Output format: which [`Renderer`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Markdown,
    Json,
}

impl OutputFormat {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [OutputFormat; 3] = [
        OutputFormat::Table,
        OutputFormat::Markdown,
        OutputFormat::Json,
    ];

    /// The format's implementation: the one place a format is resolved.
    pub fn renderer(self) -> &'static dyn Renderer {
        match self {
            OutputFormat::Table => &table::TableRenderer,
            OutputFormat::Markdown => &markdown::MarkdownRenderer,
            OutputFormat::Json => &json::JsonRenderer,
        }
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        self.renderer().name()
    }

    /// The format `--format` names `name`.
    pub fn from_name(name: &str) -> Option<OutputFormat> {
        OutputFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: OutputFormat,
    pub color: bool,
    pub redact: bool,
    /// Text width for wrapping in the terminal report.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            format: OutputFormat::default(),
            color: false,
            redact: true,
            width: 100,
        }
    }
}

impl Style {
    /// The implementation of the chosen format.
    pub fn renderer(&self) -> &'static dyn Renderer {
        self.format.renderer()
    }

    /// Log text made safe for output: controls stripped, secrets masked unless disabled.
    pub fn clean(&self, s: &str) -> String {
        let s = safe::strip_controls(s);
        if self.redact {
            safe::redact(&s).into_owned()
        } else {
            s.into_owned()
        }
    }

    /// One-line version of [`Style::clean`], shortened to `max` characters.
    pub fn clean_line(&self, s: &str, max: usize) -> String {
        let c = self.clean(s).replace('\n', " ");
        shorten(&c, max)
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Writes the whole report in the chosen format ([`Renderer::write_report`]).
pub fn write(a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    style.renderer().write_report(a, style, w)
}

/// Name of an egress for headings.
pub fn egress_label(e: &Egress) -> String {
    e.label()
}

/// `aborted (412) after 34.6 s` style outcome text.
pub fn outcome(e: &Egress) -> String {
    let mut s = e.status.name().to_string();
    if e.open_at_end && !e.status.is_terminal() {
        s = format!("{s}, end not in the log");
    }
    if let Some(c) = e.code.filter(|c| *c != 0) {
        s.push_str(&format!(" ({c})"));
    }
    if let Some(secs) =
        e.t.get("start")
            .zip(e.t.ended)
            .map(|(a, b)| a.secs_until(b))
    {
        s.push_str(&format!(" after {}", human_secs(secs)));
    }
    s
}

/// The outcome of a result: [`outcome`], and for an egress still open at the end of the input
/// how long it had been waiting then (`starting, stalled: no start signal for 44 min 10 s`).
pub fn outcome_of(r: &EgressResult) -> String {
    let e = &r.egress;
    let Some(o) = r.open else {
        return outcome(e);
    };
    let status = e.status.name();
    match (o.stalled, waiting(&o)) {
        (true, Some(w)) => format!("{status}, stalled: {w}"),
        (false, Some(w)) => format!("{status}, end not in the log ({w})"),
        (_, None) => outcome(e),
    }
}

/// What an open egress had been waiting for at the end of the input, and how long
/// (`no start signal for 44 min 10 s`); `None` without timestamps or under a second.
pub fn waiting(o: &OpenAtEnd) -> Option<String> {
    let w = o.waited_secs.filter(|w| *w >= 1.0)?;
    let w = human_secs(w);
    Some(match o.kind {
        Some(StallKind::BeforeStart) => format!("no start signal for {w}"),
        Some(StallKind::Ending) => format!("ending for {w}"),
        Some(StallKind::Silent) | None => format!("no line for {w}"),
    })
}

/// The node or input finding that explains the line an egress no rule explained rests on (a
/// panic in its handler that an input rule knows): the report points from the egress to it,
/// so the two are read as one diagnosis.
pub(crate) fn explained_by_finding<'a>(
    r: &EgressResult,
    findings: &'a [crate::rulebase::Diagnosis],
) -> Option<&'a crate::rulebase::Diagnosis> {
    let [only] = r.diagnoses.as_slice() else {
        return None;
    };
    if only.rule != "unrecognised" {
        return None;
    }
    findings.iter().find(|d| {
        d.severity >= crate::rulebase::Severity::Warning
            && d.evidence
                .iter()
                .any(|ev| only.evidence.iter().any(|x| x.origin == ev.origin))
    })
}

/// The sentence a report gives an egress still open at the end of the input: what it was
/// waiting for since when, and whether that is past the stall limit.
pub fn open_sentence(o: &OpenAtEnd) -> String {
    let since = match o.kind {
        Some(StallKind::BeforeStart) => "since its request, without a start signal",
        Some(StallKind::Ending) => "since `egress_ending`, without a final status",
        Some(StallKind::Silent) => "since its last line, after it started recording",
        None => "since its last line",
    };
    let Some(w) = o.waited_secs else {
        return "Its end is not in the log, and the input shows no time passing (no timestamps, or all of one instant): how long it had waited is not known.".into();
    };
    if w < 1.0 && !o.stalled {
        return match o.kind {
            Some(StallKind::BeforeStart) => {
                "Its end is not in the log: the log ends right after its request."
            }
            Some(StallKind::Ending) => {
                "Its end is not in the log: the log ends right after `egress_ending`."
            }
            _ => "Its end is not in the log: it logged up to the log's last line.",
        }
        .into();
    }
    let mut s = format!(
        "At the last line of the log it had been waiting {} {since}",
        human_secs(w)
    );
    match o.limit_secs {
        Some(l) if o.stalled => s.push_str(&format!(
            ": stalled, past the {} after which follow mode flags this stage{}.",
            human_secs(l),
            match o.kind {
                Some(StallKind::BeforeStart) => " (`--stall-after`)",
                Some(StallKind::Silent) => " (10 × `--stall-after`, at least 15 min)",
                _ => "",
            }
        )),
        Some(l) => s.push_str(&format!(
            "; under the {} stall limit for this stage, so its end is simply not in the log yet.",
            human_secs(l)
        )),
        None => s.push_str("; its end is not in the log."),
    }
    s
}

/// The mark of a result: its worst diagnosis, a neutral `◌` for an egress still open at the end
/// of the input (its outcome is not known), `✔` for one that completed.
pub fn mark_of(r: &EgressResult) -> &'static str {
    match r.severity() {
        None if r.open.is_some() => "◌",
        s => table::mark(s),
    }
}

/// The egresses of a report in the order an incident report details them: the failures and
/// warnings first, the earliest of each cause in the order of the causes' counts and then the
/// others by time; then the egresses still open (stalled ones first); then the rest (normal
/// completions, with `--all`), by time.
pub fn report_order(a: &Analysis) -> Vec<&EgressResult> {
    fn lead(r: &EgressResult) -> Option<&str> {
        r.diagnoses.first().map(|d| d.rule.as_str())
    }
    let at = |r: &EgressResult| {
        let t = &r.egress.t;
        (t.ended.or(t.last).or(t.first), t.first)
    };
    let mut problems: Vec<&EgressResult> = a.egresses.iter().filter(|r| r.is_problem()).collect();
    problems.sort_by_key(|r| at(r));
    let mut out: Vec<&EgressResult> = Vec::with_capacity(a.egresses.len());
    let mut taken = vec![false; problems.len()];
    for (rule, _) in a.causes_by_count() {
        if let Some(i) = problems.iter().position(|r| lead(r) == Some(rule)) {
            if !taken[i] {
                taken[i] = true;
                out.push(problems[i]);
            }
        }
    }
    out.extend(
        problems
            .iter()
            .zip(&taken)
            .filter(|(_, t)| !**t)
            .map(|(r, _)| *r),
    );
    let mut open: Vec<&EgressResult> = a
        .egresses
        .iter()
        .filter(|r| !r.is_problem() && r.open.is_some())
        .collect();
    open.sort_by_key(|r| (!r.is_stalled(), at(r)));
    out.extend(open);
    let mut rest: Vec<&EgressResult> = a
        .egresses
        .iter()
        .filter(|r| !r.is_problem() && r.open.is_none())
        .collect();
    rest.sort_by_key(|r| at(r));
    out.extend(rest);
    out
}

/// `file:line` for evidence.
pub fn location(sources: &[String], ev: &Evidence) -> String {
    let src = sources
        .get(ev.origin.source as usize)
        .map_or("?", String::as_str);
    format!("{src}:{}", ev.origin.line)
}

/// Footer: lines read, by format, raw, and other counters.
pub fn footer(a: &Analysis) -> String {
    let st = &a.stats;
    let mut parts: Vec<String> = Format::ALL
        .iter()
        .filter(|f| st.formats[f.index()] > 0 && **f != Format::Raw)
        .map(|f| format!("{} {}", st.formats[f.index()], f.name()))
        .collect();
    if st.continuation > 0 {
        parts.push(format!("{} continuation", st.continuation));
    }
    let raw = st.formats[Format::Raw.index()];
    let mut s = format!(
        "{} lines ({}) read from {}: {}; {} left raw",
        st.lines,
        human_bytes(st.bytes),
        a.sources.join(", "),
        if parts.is_empty() {
            "none decoded".to_string()
        } else {
            parts.join(", ")
        },
        raw
    );
    for (n, what) in [
        (st.invalid_utf8, "not valid UTF-8"),
        (st.binary, "with binary bytes"),
        (st.truncated, "cut for length"),
    ] {
        if n > 0 {
            s.push_str(&format!("; {n} {what}"));
        }
    }
    s
}

/// `12.3 MB` style sizes.
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GiB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Said on stderr when stdin is a terminal, so that a run waiting for typed or pasted input
/// does not look hung.
pub fn write_stdin_notice(w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "egresslens: reading from stdin (pipe a log in, or pass FILE; Ctrl-D to end)"
    )
}

/// `--quiet`: the summary line alone, whatever the format.
pub fn write_quiet(a: &Analysis, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "{}", summary_line(a))
}

/// The line said on a terminal after `-o FILE`: `wrote incident.md: 3 failures` (`no failure`
/// when none; warnings added when there are some).
pub fn wrote_line(path: &str, failed: u64, warnings: u64) -> String {
    let mut s = format!("wrote {}: ", safe::strip_controls(path).replace('\n', " "));
    match failed {
        0 => s.push_str("no failure"),
        1 => s.push_str("1 failure"),
        n => s.push_str(&format!("{n} failures")),
    }
    if warnings > 0 {
        s.push_str(&format!(
            ", {warnings} warning{}",
            if warnings == 1 { "" } else { "s" }
        ));
    }
    s
}

/// The one-line summary: counts of egresses by outcome.
pub fn summary_line(a: &Analysis) -> String {
    let s = &a.summary;
    let mut parts = vec![format!(
        "{} egress{}",
        s.egresses,
        if s.egresses == 1 { "" } else { "es" }
    )];
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if s.warnings > 0 {
        parts.push(format!("{} with warnings", s.warnings));
    }
    if s.completed > 0 {
        parts.push(format!("{} completed", s.completed));
    }
    if s.in_progress > 0 {
        let mut open = format!("{} without an end in the log", s.in_progress);
        if s.stalled > 0 {
            open.push_str(&if s.stalled < s.in_progress {
                format!(", {} of them stalled", s.stalled)
            } else if s.stalled == 1 {
                ", stalled".to_string()
            } else {
                ", all stalled".to_string()
            });
        }
        parts.push(open);
    }
    let nf = a.findings.len();
    if nf > 0 {
        parts.push(format!(
            "{nf} node/input finding{}",
            if nf == 1 { "" } else { "s" }
        ));
    }
    if outcome_unknown(a) {
        parts.push("outcome unknown: only handler lines, none from the egress service".into());
    }
    parts.join(" · ")
}

/// True when nothing was found but the input cannot tell how the egresses ended: it holds
/// only the handler's lines (the service's status lines went to a stream that was not read).
pub fn outcome_unknown(a: &Analysis) -> bool {
    a.summary.failed == 0 && a.only_handler_lines()
}

/// The headline of a report: what was found, never "no failure" when the input cannot tell.
pub fn headline(a: &Analysis) -> String {
    let s = &a.summary;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let serious_findings = a.findings.iter().any(|d| d.severity >= Severity::Warning);
    // (A stalled egress is diagnosed with a warning: the stall says more than "warnings".)
    if s.failed > 0 {
        plural(s.failed, "egress failure", "egress failures")
    } else if s.stalled > 0 && s.warnings <= s.stalled && a.omitted == 0 && !serious_findings {
        plural(s.stalled, "stalled egress", "stalled egresses")
    } else if s.warnings > 0 || a.omitted > 0 || serious_findings {
        "warnings".to_string()
    } else if outcome_unknown(a) {
        "outcome unknown (only handler lines)".to_string()
    } else if s.in_progress > 0 {
        format!(
            "no failure found, {} without an end in the log",
            s.in_progress
        )
    } else {
        "no failure found".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{analyze_bytes, Options};
    use crate::event::Ts;
    use crate::rulebase::RuleSet;

    fn aborted(ts: u32, id: &str) -> String {
        format!(
            r#"{{"level":"info","ts":{ts},"logger":"egress","msg":"egress_aborted","egressID":"{id}","error":"Start signal not received","code":412,"details":"End reason: StopEgress API"}}"#
        )
    }
    fn refused(ts: u32, id: &str) -> String {
        format!(
            r#"{{"level":"info","ts":{ts},"logger":"egress","msg":"egress_failed","egressID":"{id}","error":"Connection refused: Could not connect to RTMP stream rtmp://a.rtmp.youtube.com/live2/xxxx","code":503,"details":"End reason: Failure"}}"#
        )
    }
    fn closed(ts: u32, id: &str) -> String {
        format!(
            r#"{{"level":"info","ts":{ts},"logger":"egress","msg":"egress_complete","egressID":"{id}","error":"","code":0,"details":"End reason: Source closed"}}"#
        )
    }
    fn requested(ts: u32, id: &str) -> String {
        format!(
            r#"{{"level":"info","ts":{ts},"logger":"egress","msg":"request received","egressID":"{id}"}}"#
        )
    }

    /// Failures first (the earliest of each cause, most frequent cause first, then the others
    /// by time), then the open egresses (stalled first), then normal completions (`--all`).
    #[test]
    fn incident_order_leads_with_one_failure_per_cause() {
        let log = [
            refused(1, "EG_R1aaaaaaaaaa"),
            requested(2, "EG_O1aaaaaaaaaa"),
            closed(2, "EG_C1aaaaaaaaaa"),
            aborted(3, "EG_S1aaaaaaaaaa"),
            refused(4, "EG_R2aaaaaaaaaa"),
            aborted(5, "EG_S2aaaaaaaaaa"),
            aborted(6, "EG_S3aaaaaaaaaa"),
            requested(70, "EG_O2aaaaaaaaaa"),
            requested(99, "EG_O3aaaaaaaaaa"),
        ]
        .join("\n");
        let rules = RuleSet::load(None).expect("built-in rules");
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let a = analyze_bytes(&rules, log.as_bytes(), opts);
        let order: Vec<String> = report_order(&a).iter().map(|r| r.egress.label()).collect();
        assert_eq!(
            order,
            [
                "EG_S1aaaaaaaaaa",
                "EG_R1aaaaaaaaaa",
                // EG_O1 had waited 97 s (past the 30 s limit) when the log ended: diagnosed by
                // the stall it is in, a cause of its own, so its first example comes here.
                "EG_O1aaaaaaaaaa",
                "EG_R2aaaaaaaaaa",
                "EG_S2aaaaaaaaaa",
                "EG_S3aaaaaaaaaa",
                // Open, not past a limit: EG_O2 29 s, EG_O3 0 s.
                "EG_O2aaaaaaaaaa",
                "EG_O3aaaaaaaaaa",
                "EG_C1aaaaaaaaaa",
            ]
        );
        let marks: Vec<&str> = report_order(&a).iter().map(|r| mark_of(r)).collect();
        assert_eq!(marks, ["✖", "✖", "▲", "✖", "✖", "✖", "◌", "◌", "ℹ"]);
        assert_eq!(a.summary.stalled, 1);
        // The causes: counts of failures and warnings (the stall), most frequent first.
        let causes: Vec<(&str, u64)> = a
            .causes_by_count()
            .iter()
            .map(|(r, c)| (*r, c.count))
            .collect();
        assert_eq!(
            causes,
            [
                ("start-signal-not-received", 3),
                ("rtmp-destination-refused", 2),
                ("stalled-before-start", 1)
            ]
        );
        let c = &a.causes["start-signal-not-received"];
        assert_eq!(
            (c.first, c.last),
            (Some(Ts(3_000_000)), Some(Ts(6_000_000)))
        );
        assert_eq!(c.example, "EG_S1aaaaaaaaaa");
        assert_eq!(headline(&a), "5 egress failures");
    }

    #[test]
    fn open_egresses_say_what_they_waited_for() {
        let o = |kind, waited: f64, stalled| OpenAtEnd {
            kind,
            waited_secs: Some(waited),
            limit_secs: kind.map(|_| 30.0),
            stalled,
        };
        assert_eq!(
            waiting(&o(Some(StallKind::BeforeStart), 2647.9, true)).as_deref(),
            Some("no start signal for 44 min 07 s")
        );
        assert_eq!(
            waiting(&o(Some(StallKind::Ending), 61.0, true)).as_deref(),
            Some("ending for 1 min 01 s")
        );
        assert_eq!(waiting(&o(None, 0.2, false)), None);
        let s = open_sentence(&o(Some(StallKind::BeforeStart), 2647.9, true));
        assert!(s.contains("44 min 07 s since its request"), "{s}");
        assert!(s.contains("stalled, past the 30.0 s"), "{s}");
        let s = open_sentence(&o(Some(StallKind::Silent), 12.0, false));
        assert!(s.contains("under the 30.0 s stall limit"), "{s}");
    }

    /// Each format resolves to its own implementation, named, and `--format`'s names lead back
    /// to it.
    #[test]
    fn every_format_has_a_renderer_of_its_own() {
        let names: Vec<&str> = OutputFormat::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["table", "markdown", "json"]);
        for f in OutputFormat::ALL {
            assert_eq!(OutputFormat::from_name(f.name()), Some(f));
            assert_eq!(f.to_string(), f.name());
            assert_eq!(f.renderer().for_terminal(), f == OutputFormat::Table);
        }
        assert_eq!(OutputFormat::from_name("xml"), None);
        assert_eq!(OutputFormat::default(), OutputFormat::Table);
    }

    #[test]
    fn wrote_line_counts_failures_in_words() {
        assert_eq!(wrote_line("r.md", 0, 0), "wrote r.md: no failure");
        assert_eq!(wrote_line("r.md", 1, 0), "wrote r.md: 1 failure");
        assert_eq!(
            wrote_line("incident.md", 3, 0),
            "wrote incident.md: 3 failures"
        );
        assert_eq!(
            wrote_line("r.md", 0, 2),
            "wrote r.md: no failure, 2 warnings"
        );
        assert_eq!(
            wrote_line("a\u{1b}[31mb", 1, 1),
            "wrote ab: 1 failure, 1 warning"
        );
    }
}
