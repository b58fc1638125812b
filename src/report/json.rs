//! The JSON report, schema `egresslens.report.v1` (fields may be added, never renamed or
//! removed), and the one-object-per-line form used in follow mode.
//!
//! The report's objects are typed views that borrow from the analysis (only cleaned texts are
//! copied), printed straight from those: no tree of JSON values is built and dropped. Their
//! fields are declared in alphabetical order, the order the reports have always printed keys
//! in (and the order a `serde_json::Value` map keeps, which follow mode's objects still go
//! through); `tests/generated.rs` checks it on a full report.

use super::follow::{distinct, stall_text};
use super::{check, Renderer, Style};
use crate::analyze::{Analysis, EgressResult, LiveSummary, Stall};
use crate::config_check::CheckReport;
use crate::correlate::Evidence;
use crate::event::{Format, Ts};
use crate::rulebase::Diagnosis;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

#[derive(Serialize)]
struct EvidenceJson<'a> {
    line: u64,
    source: &'a str,
    text: String,
    ts: Option<String>,
}

impl<'a> EvidenceJson<'a> {
    fn new(ev: &Evidence, sources: &'a [String], style: &Style) -> Self {
        EvidenceJson {
            line: ev.origin.line,
            source: sources
                .get(ev.origin.source as usize)
                .map_or("?", String::as_str),
            text: style.clean(&ev.text),
            ts: ev.ts.map(Ts::iso),
        }
    }
}

#[derive(Serialize)]
struct AlternativeJson<'a> {
    cause: String,
    confidence: crate::rulebase::Confidence,
    rule: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct ConfigNoteJson {
    check: Option<&'static str>,
    file: Option<String>,
    key: Option<String>,
    line: Option<usize>,
    severity: Option<crate::config_check::Severity>,
    text: String,
    verdict: &'static str,
}

/// A diagnosis as the report prints it (with `scope`).
#[derive(Serialize)]
struct DiagnosisJson<'a> {
    absent: &'a [String],
    alternatives: Vec<AlternativeJson<'a>>,
    cause: String,
    confidence: crate::rulebase::Confidence,
    config: &'a Option<String>,
    /// Only with `--config` (and a linked rule): reports without it stay as they were.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    config_check: Vec<ConfigNoteJson>,
    docs: &'a [String],
    evidence: Vec<EvidenceJson<'a>>,
    fixes: Vec<String>,
    rule: &'a str,
    scope: crate::rulebase::Scope,
    severity: crate::rulebase::Severity,
    title: &'a str,
    unknowns: Vec<String>,
}

impl<'a> DiagnosisJson<'a> {
    fn new(d: &'a Diagnosis, sources: &'a [String], style: &Style) -> Self {
        let clean_all = |v: &[String]| v.iter().map(|s| style.clean(s)).collect::<Vec<_>>();
        DiagnosisJson {
            absent: &d.absent,
            alternatives: d
                .alternatives
                .iter()
                .map(|a| AlternativeJson {
                    cause: style.clean(&a.cause),
                    confidence: a.confidence,
                    rule: &a.rule,
                    title: &a.title,
                })
                .collect(),
            cause: style.clean(&d.cause),
            confidence: d.confidence,
            config: &d.config,
            config_check: d
                .config_check
                .iter()
                .map(|n| {
                    let f = n.finding.as_ref();
                    ConfigNoteJson {
                        check: f.map(|f| f.check),
                        file: f.map(|f| style.clean(&f.file)),
                        key: f.map(|f| style.clean(&f.key)),
                        line: f.and_then(|f| f.line),
                        severity: f.map(|f| f.severity),
                        text: style.clean(&n.text),
                        verdict: n.verdict.name(),
                    }
                })
                .collect(),
            docs: &d.docs,
            evidence: d
                .evidence
                .iter()
                .map(|e| EvidenceJson::new(e, sources, style))
                .collect(),
            fixes: clean_all(&d.fixes),
            rule: &d.rule,
            scope: d.scope,
            severity: d.severity,
            title: &d.title,
            unknowns: clean_all(&d.unknowns),
        }
    }
}

#[derive(Serialize)]
struct MilestonesJson {
    active: Option<String>,
    ended: Option<String>,
    ending: Option<String>,
    playing: Option<String>,
    received: Option<String>,
    requested: Option<String>,
    start_signal: Option<String>,
    validated: Option<String>,
}

/// An egress as the report prints it.
#[derive(Serialize)]
struct EgressJson<'a> {
    code: Option<i64>,
    details: Option<String>,
    diagnoses: Vec<DiagnosisJson<'a>>,
    duration_s: Option<f64>,
    egress_id: &'a Option<String>,
    ended_at: Option<String>,
    error: Option<String>,
    first_seen: Option<String>,
    handler_id: &'a Option<String>,
    last_seen: Option<String>,
    lines: u64,
    milestones: MilestonesJson,
    node_id: &'a Option<String>,
    notes: &'a [String],
    open_at_end: bool,
    output_type: &'a Option<String>,
    request_type: &'a Option<String>,
    room: Option<String>,
    source_type: &'a Option<String>,
    /// Still open at the end of the input: the stall it was in (`before_start`, `silent`,
    /// `ending`), or null.
    stall: Option<crate::rulebase::StallKind>,
    /// Still open and had waited past the stall limit at the end of the input.
    stalled: bool,
    started_at: Option<String>,
    status: crate::correlate::Status,
    /// Still open: seconds it had been waiting at the input's last line (since the request
    /// before the start signal, since `egress_ending`, or since its own last line), or null.
    waited_s: Option<f64>,
}

impl<'a> EgressJson<'a> {
    fn new(r: &'a EgressResult, sources: &'a [String], style: &Style) -> Self {
        let e = &r.egress;
        let s = |v: &Option<String>| v.as_ref().map(|x| style.clean(x));
        let iso = |t: Option<Ts>| t.map(Ts::iso);
        let start = e.t.get("start").or(e.t.first);
        EgressJson {
            code: e.code,
            details: s(&e.details),
            diagnoses: r
                .diagnoses
                .iter()
                .map(|d| DiagnosisJson::new(d, sources, style))
                .collect(),
            duration_s: start
                .zip(e.t.ended)
                .map(|(a, b)| (a.secs_until(b) * 1000.0).round() / 1000.0),
            egress_id: &e.id,
            ended_at: iso(e.t.ended),
            error: s(&e.error),
            first_seen: iso(e.t.first),
            handler_id: &e.handler_id,
            last_seen: iso(e.t.last),
            lines: e.lines,
            milestones: MilestonesJson {
                active: iso(e.t.active),
                ended: iso(e.t.ended),
                ending: iso(e.t.ending),
                playing: iso(e.t.playing),
                received: iso(e.t.received),
                requested: iso(e.t.requested),
                start_signal: iso(e.t.start_signal),
                validated: iso(e.t.validated),
            },
            node_id: &e.node_id,
            notes: &r.notes,
            open_at_end: e.open_at_end,
            output_type: &e.output_type,
            request_type: &e.request_type,
            room: s(&e.room),
            source_type: &e.source_type,
            stall: r.open.and_then(|o| o.kind),
            stalled: r.is_stalled(),
            started_at: iso(start),
            status: e.status,
            waited_s: r
                .open
                .and_then(|o| o.waited_secs)
                .map(|w| (w * 1000.0).round() / 1000.0),
        }
    }
}

/// `--format json`: for scripts and CI jobs; in follow mode one object per line, its `kind`
/// (`egress`, `stall`, `finding`, `summary`) telling which.
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn name(&self) -> &'static str {
        "json"
    }

    fn for_terminal(&self) -> bool {
        false
    }

    fn write_report(&self, a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
        write(a, style, w)
    }

    fn write_check(&self, r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
        check::json(r, style, w)
    }

    fn write_egress(
        &self,
        r: &EgressResult,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        json_line(w, &with_kind(egress_value(r, sources, style), "egress"))
    }

    fn write_stall(
        &self,
        s: &Stall,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        let mut v = with_kind(egress_value(&s.result, sources, style), "stall");
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

    fn write_finding(
        &self,
        d: &Diagnosis,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        json_line(w, &with_kind(diagnosis_value(d, sources, style), "finding"))
    }

    fn write_summary(
        &self,
        s: &LiveSummary,
        open: &[EgressResult],
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        for r in open {
            json_line(w, &with_kind(egress_value(r, sources, style), "egress"))?;
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
                    "sources": distinct(sources).iter().map(|x| style.clean(x)).collect::<Vec<_>>(),
                    "lines": st.lines,
                    "bytes": st.bytes,
                    "raw_lines": st.formats[Format::Raw.index()],
                    "formats": formats,
                },
                "elapsed_s": (s.elapsed_secs * 10.0).round() / 10.0,
            }),
        )
    }
}

/// One follow-mode object on a line of its own.
fn json_line(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    writeln!(w, "{}", serde_json::to_string(v).map_err(io::Error::other)?)
}

/// `v` with its follow-mode `kind`.
fn with_kind(mut v: Value, kind: &str) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), json!(kind));
    }
    v
}

/// A diagnosis as a JSON value (follow mode adds to it).
pub fn diagnosis_value(d: &Diagnosis, sources: &[String], style: &Style) -> Value {
    to_value(&DiagnosisJson::new(d, sources, style))
}

/// An egress as a JSON value (follow mode adds to it).
pub fn egress_value(r: &EgressResult, sources: &[String], style: &Style) -> Value {
    to_value(&EgressJson::new(r, sources, style))
}

/// A report object as a value: these hold only strings, numbers and maps with string keys,
/// which always convert.
fn to_value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[derive(Serialize)]
struct InputJson {
    binary_lines: u64,
    blank_lines: u64,
    bytes: u64,
    chunks_joined: u64,
    enveloped_lines: u64,
    formats: BTreeMap<&'static str, u64>,
    invalid_utf8_lines: u64,
    lines: u64,
    raw_lines: u64,
    skipped_lines: u64,
    sources: Vec<String>,
    truncated_lines: u64,
}

/// The failures and warnings of one leading rule over the whole input.
#[derive(Serialize)]
struct CauseJson<'a> {
    count: u64,
    example: String,
    first: Option<String>,
    last: Option<String>,
    rule: &'a str,
    severity: crate::rulebase::Severity,
    title: &'a str,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    /// Failures and warnings by leading rule: the counts add up to `failed + warnings`.
    by_rule: &'a BTreeMap<String, u64>,
    /// The same, most frequent first, with when the first and last ended and an example.
    causes: Vec<CauseJson<'a>>,
    completed: u64,
    egresses: u64,
    failed: u64,
    in_progress: u64,
    not_shown: u64,
    /// No failure found, but the input holds only the handler's lines: how the egresses
    /// ended is not in it.
    outcome_unknown: bool,
    /// Of `in_progress`, those that had waited past their stall limit.
    stalled: u64,
    warnings: u64,
}

#[derive(Serialize)]
struct NodesJson<'a> {
    containers: &'a BTreeSet<String>,
    node_ids: &'a BTreeSet<String>,
    versions: &'a BTreeSet<String>,
}

/// The whole report.
#[derive(Serialize)]
struct ReportJson<'a> {
    egresses: Vec<EgressJson<'a>>,
    findings: Vec<DiagnosisJson<'a>>,
    hints: &'a [String],
    input: InputJson,
    nodes: NodesJson<'a>,
    schema: &'static str,
    summary: SummaryJson<'a>,
    version: &'static str,
}

impl<'a> ReportJson<'a> {
    fn new(a: &'a Analysis, style: &Style) -> Self {
        let st = &a.stats;
        let mut formats: BTreeMap<&'static str, u64> = Format::ALL
            .iter()
            .map(|f| (f.name(), st.formats[f.index()]))
            .collect();
        formats.insert("continuation", st.continuation);
        ReportJson {
            egresses: a
                .egresses
                .iter()
                .map(|r| EgressJson::new(r, &a.sources, style))
                .collect(),
            findings: a
                .findings
                .iter()
                .map(|d| DiagnosisJson::new(d, &a.sources, style))
                .collect(),
            hints: &a.hints,
            input: InputJson {
                binary_lines: st.binary,
                blank_lines: st.blank,
                bytes: st.bytes,
                chunks_joined: st.chunks_joined,
                enveloped_lines: st.enveloped,
                formats,
                invalid_utf8_lines: st.invalid_utf8,
                lines: st.lines,
                raw_lines: st.formats[Format::Raw.index()],
                skipped_lines: st.skipped,
                sources: a.sources.iter().map(|s| style.clean(s)).collect(),
                truncated_lines: st.truncated,
            },
            nodes: NodesJson {
                containers: &a.global.containers,
                node_ids: &a.global.node_ids,
                versions: &a.global.versions,
            },
            schema: "egresslens.report.v1",
            summary: SummaryJson {
                by_rule: &a.by_rule,
                causes: a
                    .causes_by_count()
                    .into_iter()
                    .map(|(rule, c)| CauseJson {
                        count: c.count,
                        example: style.clean(&c.example),
                        first: c.first.map(Ts::iso),
                        last: c.last.map(Ts::iso),
                        rule,
                        severity: c.severity,
                        title: &c.title,
                    })
                    .collect(),
                completed: a.summary.completed,
                egresses: a.summary.egresses,
                failed: a.summary.failed,
                in_progress: a.summary.in_progress,
                not_shown: a.omitted,
                outcome_unknown: crate::report::outcome_unknown(a),
                stalled: a.summary.stalled,
                warnings: a.summary.warnings,
            },
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Writes the report as pretty JSON.
fn write(a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    // The pretty printer writes token by token: through a buffer of its own type each token
    // is a copy, where through `dyn Write` it would be a call.
    let mut buf = io::BufWriter::with_capacity(64 * 1024, w);
    // `io::Error::from` gives back the writer's own error (a closed pipe stays `BrokenPipe`).
    serde_json::to_writer_pretty(&mut buf, &ReportJson::new(a, style)).map_err(io::Error::from)?;
    writeln!(buf)?;
    buf.flush()
}
