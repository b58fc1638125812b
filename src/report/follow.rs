//! Follow mode's output, one piece at a time as things happen: an egress that ended, a stall
//! warning for an egress that is still open, a node or input finding, and the closing summary.
//! Each format's [`Renderer`](super::Renderer) writes the pieces (terminal blocks, markdown
//! sections, or one JSON object per line); this module is their entry point and holds the words
//! the formats share. It writes into a `&mut dyn Write`; flushing after each piece is the
//! caller's.

use super::{footer, outcome, Style};
use crate::analyze::{Analysis, EgressResult, LiveSummary, Stall};
use crate::rulebase::{human_secs, Diagnosis, StallKind};
use std::io::{self, Write};

/// Most open egresses listed one by one in the closing summary (JSON lists them all).
pub(super) const MAX_OPEN_LISTED: usize = 50;

/// An egress that has ended (or was given up after a long silence).
pub fn write_egress(
    r: &EgressResult,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    style.renderer().write_egress(r, sources, style, w)
}

/// A stall warning for an egress that is still open.
pub fn write_stall(
    s: &Stall,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    style.renderer().write_stall(s, sources, style, w)
}

/// A node- or input-level finding, when it fires.
pub fn write_finding(
    d: &Diagnosis,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    style.renderer().write_finding(d, sources, style, w)
}

/// The closing summary: counts over the run and the egresses still open.
pub fn write_summary(
    s: &LiveSummary,
    open: &[EgressResult],
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    style.renderer().write_summary(s, open, sources, style, w)
}

/// Said once on stderr for a followed file that does not exist yet.
pub fn write_waiting(name: &str, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "egresslens: {} does not exist yet; waiting for it to appear (Ctrl-C to stop)",
        style.clean_line(name, 400)
    )
}

/// Source names with each named once, in the order first seen: a followed file that starts
/// over (rotated, truncated) has a source entry per start, for its line numbers.
pub(super) fn distinct(sources: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The report footer (lines read, by format) over a follow run, each source named once.
pub(super) fn summary_footer(s: &LiveSummary, sources: &[String]) -> String {
    footer(&Analysis {
        sources: distinct(sources),
        stats: s.stats.clone(),
        ..Analysis::default()
    })
}

/// What a stall looks like, in words.
pub(super) fn stall_text(s: &Stall) -> String {
    let waited = human_secs(s.waited_secs);
    match s.kind {
        StallKind::BeforeStart => format!("no start signal after {waited}, still waiting"),
        StallKind::Silent => format!("no line for {waited}, still open"),
        StallKind::Ending => format!("still ending {waited} after `egress_ending`"),
    }
}

/// The closing summary in words: `stopped after 5 min 00 s · 3 egresses ended · ...`.
pub(super) fn summary_text(s: &LiveSummary) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        format!("stopped after {}", human_secs(s.elapsed_secs)),
        plural(s.egresses, "egress ended", "egresses ended"),
    ];
    for (n, what) in [
        (s.failed, "failed"),
        (s.warnings, "with warnings"),
        (s.completed, "completed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if s.evicted > 0 {
        parts.push(format!("{} given up after a long silence", s.evicted));
    }
    if s.stalls > 0 {
        parts.push(plural(s.stalls, "stall warning", "stall warnings"));
    }
    if s.findings > 0 {
        parts.push(plural(
            s.findings,
            "node/input finding",
            "node/input findings",
        ));
    }
    parts.push(format!("{} still open", s.open));
    parts.join(" · ")
}

/// One egress still open at the end of a follow run, in a line.
pub(super) fn open_line(r: &EgressResult) -> String {
    let e = &r.egress;
    let mut line = e.label();
    if let Some(room) = &e.room {
        line.push_str(&format!(" · room {room}"));
    }
    if let Some(t) = &e.request_type {
        line.push_str(&format!(" · {t}"));
    }
    line.push_str(&format!(" · {}", outcome(e)));
    if let Some(last) = e.t.last {
        line.push_str(&format!(" · last line {}", last.iso()));
    }
    if let Some(d) = r.diagnoses.first() {
        line.push_str(&format!(" · {}", d.title));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::OutputFormat;
    use serde_json::{json, Value};

    #[test]
    fn the_summary_names_a_restarted_file_once() {
        // A file followed through two rotations has a source entry per start.
        let sources: Vec<String> = ["egress.log", "egress.log", "livekit.log", "egress.log"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = LiveSummary::default();
        for format in [OutputFormat::Table, OutputFormat::Markdown] {
            let style = Style {
                format,
                ..Style::default()
            };
            let mut out = Vec::new();
            write_summary(&s, &[], &sources, &style, &mut out).expect("write");
            let text = String::from_utf8(out).expect("utf8");
            assert!(
                text.contains("read from egress.log, livekit.log:"),
                "{format:?}: {text}"
            );
        }
        let style = Style {
            format: OutputFormat::Json,
            ..Style::default()
        };
        let mut out = Vec::new();
        write_summary(&s, &[], &sources, &style, &mut out).expect("write");
        let v: Value = serde_json::from_slice(&out).expect("one JSON line");
        assert_eq!(v["input"]["sources"], json!(["egress.log", "livekit.log"]));
    }
}
