//! Formats an `Analysis` as a terminal report (comfy-table), a markdown incident report or
//! JSON (`egresslens.report.v1`), and a config check (`check`, `egresslens.check.v1`). The only
//! module that formats output; it writes into a
//! `&mut dyn Write` and never reads input, runs rules or decides exit codes. Every piece of
//! log text goes through `safe` (controls stripped, secrets masked) before it is written.

pub mod check;
pub mod follow;
pub mod json;
pub mod markdown;
pub mod safe;
pub mod table;

use crate::analyze::Analysis;
use crate::correlate::{Egress, Evidence};
use crate::event::Format;
use crate::rulebase::human_secs;
use std::io::{self, Write};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Markdown,
    Json,
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
            format: OutputFormat::Table,
            color: false,
            redact: true,
            width: 100,
        }
    }
}

impl Style {
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

/// Writes the whole report in the chosen format.
pub fn write(a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    match style.format {
        OutputFormat::Table => table::write(a, style, w),
        OutputFormat::Markdown => markdown::write(a, style, w),
        OutputFormat::Json => json::write(a, style, w),
    }
}

/// Name of an egress for headings.
pub fn egress_label(e: &Egress) -> String {
    e.label()
}

/// `aborted (412) after 34.6 s` style outcome text.
pub fn outcome(e: &Egress) -> String {
    let mut s = e.status.name().to_string();
    if e.open_at_end && !e.status.is_terminal() {
        s = format!("{s}, no end in the log");
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
        parts.push(format!("{} without an end in the log", s.in_progress));
    }
    let nf = a.findings.len();
    if nf > 0 {
        parts.push(format!(
            "{nf} node/input finding{}",
            if nf == 1 { "" } else { "s" }
        ));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::wrote_line;

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
