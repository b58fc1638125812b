//! The JSON report, schema `egresslens.report.v1` (fields may be added, never renamed or
//! removed), and the one-object-per-line form used in follow mode.

use super::Style;
use crate::analyze::{Analysis, EgressResult};
use crate::correlate::Evidence;
use crate::event::Format;
use crate::rulebase::Diagnosis;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

fn evidence(ev: &Evidence, sources: &[String], style: &Style) -> Value {
    json!({
        "source": sources.get(ev.origin.source as usize).map_or("?", String::as_str),
        "line": ev.origin.line,
        "ts": ev.ts.map(|t| t.iso()),
        "text": style.clean(&ev.text),
    })
}

/// A diagnosis as JSON (with `scope`).
pub fn diagnosis_value(d: &Diagnosis, sources: &[String], style: &Style) -> Value {
    let mut v = json!({
        "rule": d.rule,
        "title": d.title,
        "severity": d.severity,
        "confidence": d.confidence,
        "scope": d.scope,
        "cause": style.clean(&d.cause),
        "fixes": d.fixes.iter().map(|f| style.clean(f)).collect::<Vec<_>>(),
        "config": d.config,
        "docs": d.docs,
        "evidence": d.evidence.iter().map(|e| evidence(e, sources, style)).collect::<Vec<_>>(),
        "absent": d.absent,
        "unknowns": d.unknowns.iter().map(|u| style.clean(u)).collect::<Vec<_>>(),
        "alternatives": d.alternatives.iter().map(|a| json!({
            "rule": a.rule, "title": a.title, "confidence": a.confidence, "cause": style.clean(&a.cause),
        })).collect::<Vec<_>>(),
    });
    // Only with `--config` (and a linked rule): reports without it stay as they were.
    if !d.config_check.is_empty() {
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "config_check".into(),
                d.config_check
                    .iter()
                    .map(|n| {
                        json!({
                            "verdict": n.verdict.name(),
                            "text": style.clean(&n.text),
                            "check": n.finding.as_ref().map(|f| f.check),
                            "file": n.finding.as_ref().map(|f| style.clean(&f.file)),
                            "line": n.finding.as_ref().and_then(|f| f.line),
                            "key": n.finding.as_ref().map(|f| style.clean(&f.key)),
                            "severity": n.finding.as_ref().map(|f| f.severity),
                        })
                    })
                    .collect(),
            );
        }
    }
    v
}

/// An egress as JSON.
pub fn egress_value(r: &EgressResult, sources: &[String], style: &Style) -> Value {
    let e = &r.egress;
    let s = |v: &Option<String>| v.as_ref().map(|x| style.clean(x));
    json!({
        "egress_id": e.id,
        "room": s(&e.room),
        "request_type": e.request_type,
        "output_type": e.output_type,
        "source_type": e.source_type,
        "node_id": e.node_id,
        "handler_id": e.handler_id,
        "status": e.status,
        "error": s(&e.error),
        "code": e.code,
        "details": s(&e.details),
        "started_at": e.t.get("start").or(e.t.first).map(|t| t.iso()),
        "ended_at": e.t.ended.map(|t| t.iso()),
        "duration_s": e.t.get("start").or(e.t.first).zip(e.t.ended).map(|(a, b)| (a.secs_until(b) * 1000.0).round() / 1000.0),
        "first_seen": e.t.first.map(|t| t.iso()),
        "last_seen": e.t.last.map(|t| t.iso()),
        "milestones": {
            "requested": e.t.requested.map(|t| t.iso()),
            "received": e.t.received.map(|t| t.iso()),
            "validated": e.t.validated.map(|t| t.iso()),
            "start_signal": e.t.start_signal.map(|t| t.iso()),
            "playing": e.t.playing.map(|t| t.iso()),
            "active": e.t.active.map(|t| t.iso()),
            "ending": e.t.ending.map(|t| t.iso()),
            "ended": e.t.ended.map(|t| t.iso()),
        },
        "open_at_end": e.open_at_end,
        "lines": e.lines,
        "diagnoses": r.diagnoses.iter().map(|d| diagnosis_value(d, sources, style)).collect::<Vec<_>>(),
        "notes": r.notes,
    })
}

/// The whole report as a JSON value.
pub fn report_value(a: &Analysis, style: &Style) -> Value {
    let st = &a.stats;
    let mut formats = Map::new();
    for f in Format::ALL {
        formats.insert(f.name().to_string(), json!(st.formats[f.index()]));
    }
    formats.insert("continuation".into(), json!(st.continuation));
    json!({
        "schema": "egresslens.report.v1",
        "version": env!("CARGO_PKG_VERSION"),
        "input": {
            "sources": a.sources.iter().map(|s| style.clean(s)).collect::<Vec<_>>(),
            "lines": st.lines,
            "bytes": st.bytes,
            "raw_lines": st.formats[Format::Raw.index()],
            "formats": formats,
            "invalid_utf8_lines": st.invalid_utf8,
            "binary_lines": st.binary,
            "truncated_lines": st.truncated,
            "blank_lines": st.blank,
            "skipped_lines": st.skipped,
            "enveloped_lines": st.enveloped,
            "chunks_joined": st.chunks_joined,
        },
        "summary": {
            "egresses": a.summary.egresses,
            "failed": a.summary.failed,
            "completed": a.summary.completed,
            "in_progress": a.summary.in_progress,
            "warnings": a.summary.warnings,
            "not_shown": a.omitted,
            "by_rule": a.by_rule,
        },
        "egresses": a.egresses.iter().map(|r| egress_value(r, &a.sources, style)).collect::<Vec<_>>(),
        "findings": a.findings.iter().map(|d| diagnosis_value(d, &a.sources, style)).collect::<Vec<_>>(),
        "hints": a.hints,
        "nodes": {
            "node_ids": a.global.node_ids,
            "versions": a.global.versions,
            "containers": a.global.containers,
        },
    })
}

/// Writes the report as pretty JSON.
pub fn write(a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    let v = report_value(a, style);
    // The pretty printer writes token by token: through a buffer of its own type each token
    // is a copy, where through `dyn Write` it would be a call.
    let mut buf = io::BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut buf, &v).map_err(io::Error::other)?;
    writeln!(buf)?;
    buf.flush()
}
