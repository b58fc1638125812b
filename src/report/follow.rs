//! Follow mode's output, one piece at a time as things happen: an egress that ended, a stall
//! warning for an egress that is still open, a node or input finding, and the closing summary.
//! Terminal blocks, markdown sections, or one JSON object per line (`kind` tells which; an
//! egress has the report's egress shape, a finding the report's diagnosis shape with
//! `scope`). It writes into a `&mut dyn Write`; flushing after each piece is the caller's.

use super::{footer, json, markdown, outcome, table, OutputFormat, Style};
use crate::analyze::{Analysis, EgressResult, Stall};
use crate::event::Format;
use crate::follow::LiveSummary;
use crate::rulebase::{human_secs, Diagnosis, StallKind};
use serde_json::{json, Value};
use std::io::{self, Write};

/// Most open egresses listed one by one in the closing summary (JSON lists them all).
const MAX_OPEN_LISTED: usize = 50;

fn json_line(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    writeln!(w, "{}", serde_json::to_string(v).map_err(io::Error::other)?)
}

fn with_kind(mut v: Value, kind: &str) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), json!(kind));
    }
    v
}

/// An egress that has ended (or was given up after a long silence).
pub fn write_egress(
    r: &EgressResult,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match style.format {
        OutputFormat::Json => json_line(
            w,
            &with_kind(json::egress_value(r, sources, style), "egress"),
        ),
        OutputFormat::Markdown => markdown::write_egress(r, sources, style, w),
        OutputFormat::Table => table::write_egress(r, sources, style, w),
    }
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
fn distinct(sources: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// What a stall looks like, in words.
fn stall_text(s: &Stall) -> String {
    let waited = human_secs(s.waited_secs);
    match s.kind {
        StallKind::BeforeStart => format!("no start signal after {waited}, still waiting"),
        StallKind::Silent => format!("no line for {waited}, still open"),
        StallKind::Ending => format!("still ending {waited} after `egress_ending`"),
    }
}

/// A stall warning for an egress that is still open.
pub fn write_stall(
    s: &Stall,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    let r = &s.result;
    let e = &r.egress;
    match style.format {
        OutputFormat::Json => {
            let mut v = with_kind(json::egress_value(r, sources, style), "stall");
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "stall".into(),
                    json!({
                        "kind": s.kind.name(),
                        "waited_s": (s.waited_secs * 10.0).round() / 10.0,
                        "text": stall_text(s),
                    }),
                );
            }
            json_line(w, &v)
        }
        OutputFormat::Markdown => {
            writeln!(
                w,
                "## Stalled: egress `{}`: {}\n",
                markdown::md_code(&style.clean(&e.label())),
                crate::report::safe::md_prose(&style.clean(&stall_text(s)))
            )?;
            if r.diagnoses.is_empty() {
                writeln!(w, "No rule describes this stall.\n")?;
            }
            for d in &r.diagnoses {
                markdown::write_diagnosis(d, sources, style, w, "###")?;
            }
            Ok(())
        }
        OutputFormat::Table => {
            let p = table::Paint(style.color);
            let mut head = format!("▲ stalled: {}", e.label());
            if let Some(room) = &e.room {
                head.push_str(&format!(" · room {room}"));
            }
            if let Some(t) = &e.request_type {
                head.push_str(&format!(" · {t}"));
            }
            head.push_str(&format!(" · {}", stall_text(s)));
            writeln!(w)?;
            writeln!(
                w,
                "{}",
                p.sev(
                    crate::rulebase::Severity::Warning,
                    &style.clean_line(&head, 400)
                )
            )?;
            if r.diagnoses.is_empty() {
                writeln!(w, "  No rule describes this stall.")?;
            }
            for d in &r.diagnoses {
                table::write_diagnosis(d, sources, style, w, "  ")?;
            }
            Ok(())
        }
    }
}

/// A node- or input-level finding, when it fires.
pub fn write_finding(
    d: &Diagnosis,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match style.format {
        OutputFormat::Json => json_line(
            w,
            &with_kind(json::diagnosis_value(d, sources, style), "finding"),
        ),
        OutputFormat::Markdown => {
            writeln!(w, "## Finding ({})\n", d.scope.name())?;
            markdown::write_diagnosis(d, sources, style, w, "###")
        }
        OutputFormat::Table => {
            let p = table::Paint(style.color);
            writeln!(w)?;
            writeln!(w, "{}", p.bold(&format!("{} finding", d.scope.name())))?;
            table::write_diagnosis(d, sources, style, w, "  ")
        }
    }
}

fn summary_text(s: &LiveSummary) -> String {
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

fn open_line(r: &EgressResult) -> String {
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

/// The closing summary: counts over the run and the egresses still open.
pub fn write_summary(
    s: &LiveSummary,
    open: &[EgressResult],
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    let names = distinct(sources);
    let input = Analysis {
        sources: names.clone(),
        stats: s.stats.clone(),
        ..Analysis::default()
    };
    match style.format {
        OutputFormat::Json => {
            for r in open {
                json_line(
                    w,
                    &with_kind(json::egress_value(r, sources, style), "egress"),
                )?;
            }
            let st = &s.stats;
            let formats: serde_json::Map<String, Value> = Format::ALL
                .iter()
                .map(|f| (f.name().to_string(), json!(st.formats[f.index()])))
                .collect();
            json_line(
                w,
                &json!({
                    "kind": "summary",
                    "schema": "egresslens.follow.v1",
                    "summary": {
                        "egresses": s.egresses,
                        "failed": s.failed,
                        "completed": s.completed,
                        "in_progress": s.open,
                        "warnings": s.warnings,
                        "stalls": s.stalls,
                        "findings": s.findings,
                        "evicted": s.evicted,
                    },
                    "input": {
                        "sources": names.iter().map(|x| style.clean(x)).collect::<Vec<_>>(),
                        "lines": st.lines,
                        "bytes": st.bytes,
                        "raw_lines": st.formats[Format::Raw.index()],
                        "formats": formats,
                    },
                    "elapsed_s": (s.elapsed_secs * 10.0).round() / 10.0,
                }),
            )
        }
        OutputFormat::Markdown => {
            writeln!(w, "## Follow summary\n")?;
            writeln!(
                w,
                "{}\n",
                crate::report::safe::md_prose(&style.clean(&summary_text(s)))
            )?;
            if !open.is_empty() {
                writeln!(w, "Still open:\n")?;
                for r in open.iter().take(MAX_OPEN_LISTED) {
                    writeln!(
                        w,
                        "- {}",
                        crate::report::safe::md_prose(&style.clean(&open_line(r)))
                    )?;
                }
                if open.len() > MAX_OPEN_LISTED {
                    writeln!(w, "- and {} more", open.len() - MAX_OPEN_LISTED)?;
                }
                writeln!(w)?;
            }
            writeln!(
                w,
                "---\n\n{}",
                crate::report::safe::md_prose(&style.clean(&footer(&input)))
            )
        }
        OutputFormat::Table => {
            let p = table::Paint(style.color);
            writeln!(w)?;
            writeln!(
                w,
                "{} {}",
                p.bold("egresslens:"),
                style.clean_line(&summary_text(s), 1000)
            )?;
            for r in open.iter().take(MAX_OPEN_LISTED) {
                writeln!(w, "  ◌ {}", style.clean_line(&open_line(r), 400))?;
            }
            if open.len() > MAX_OPEN_LISTED {
                writeln!(w, "  and {} more still open", open.len() - MAX_OPEN_LISTED)?;
            }
            writeln!(w, "{}", p.dim(&style.clean(&footer(&input))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
