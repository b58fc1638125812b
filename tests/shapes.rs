//! The shape matrix: every real paste in `samples/field-cases/` must be diagnosed the same
//! when it reaches egresslens the way logs are shipped: as a Docker json-file log, a CRI
//! (containerd) file, `kubectl logs --prefix`, `docker compose` output, with CRLF line ends
//! and with tabs turned into spaces (as a chat or an editor does). "The same" is the whole
//! diagnosis: each egress's status, error, code and rules in order, the node and input
//! findings, and the exit code.

use crate::util::root;
use egresslens::analyze::{run_readers_with, Engine, Options, Strategy};
use egresslens::report::{self, OutputFormat, Style};
use egresslens::rulebase::RuleSet;
use egresslens::source::LineReader;
use serde_json::Value;
use std::fs;

/// One way a log is shipped: its name and how a line of the paste is written in it.
type Shape = (&'static str, fn(&str) -> String);

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn docker_json_file(line: &str) -> String {
    format!(
        r#"{{"log":{},"stream":"stderr","time":"2026-12-04T10:00:00.000000000Z"}}"#,
        json_string(&format!("{line}\n"))
    )
}

fn cri(line: &str) -> String {
    format!("2026-12-04T10:00:00.000000000Z stderr F {line}")
}

fn kubectl_prefix(line: &str) -> String {
    format!("[pod/egress-7d9f8b6c5-x2x4k/egress] {line}")
}

fn compose(line: &str) -> String {
    format!("egress-1  | {line}")
}

fn crlf(line: &str) -> String {
    format!("{line}\r")
}

fn tabs_to_spaces(line: &str) -> String {
    line.replace('\t', "    ")
}

const SHAPES: &[Shape] = &[
    ("docker json-file", docker_json_file),
    ("CRI", cri),
    ("kubectl --prefix", kubectl_prefix),
    ("docker compose", compose),
    ("CRLF", crlf),
    ("tabs as spaces", tabs_to_spaces),
];

/// What a report concludes, without what legitimately follows from the shape (line counts,
/// formats, containers, timestamps the envelope adds).
fn diagnosis(rules: &RuleSet, data: &[u8]) -> Value {
    let mut engine = Engine::new(rules, Options::default(), vec!["<input>".into()]);
    let reader = LineReader::from_bytes(data.to_vec());
    let stats = run_readers_with(
        &mut engine,
        vec![(0, reader)],
        Strategy::default(),
        &mut |_| {},
        &mut |_| {},
    )
    .expect("in-memory input reads");
    let analysis = engine.finish(stats);
    let style = Style {
        format: OutputFormat::Json,
        color: false,
        redact: true,
        width: 100,
    };
    let mut out = Vec::new();
    report::write(&analysis, &style, &mut out).expect("report writes to memory");
    let r: Value = serde_json::from_slice(&out).expect("the report is JSON");
    let rules_of = |ds: &Value| -> Vec<Value> {
        ds.as_array()
            .map(|a| a.iter().map(|d| d["rule"].clone()).collect())
            .unwrap_or_default()
    };
    let egresses: Vec<Value> = r["egresses"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    serde_json::json!({
                        "egress_id": e["egress_id"],
                        "room": e["room"],
                        "status": e["status"],
                        "error": e["error"],
                        "code": e["code"],
                        "rules": rules_of(&e["diagnoses"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "egresses": egresses,
        "findings": rules_of(&r["findings"]),
        "failed": r["summary"]["failed"],
        "exit_failure": analysis.has_findings(),
    })
}

#[test]
fn every_field_case_is_diagnosed_the_same_in_every_shape() {
    let rules = RuleSet::load(None).expect("built-in rules load");
    let mut cases: Vec<_> = fs::read_dir(root().join("samples/field-cases"))
        .expect("samples/field-cases")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("input.log").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let text = fs::read_to_string(case.join("input.log")).expect("input.log is UTF-8");
        let want = diagnosis(&rules, text.as_bytes());
        for (name, wrap) in SHAPES {
            let mut shaped: String = text.lines().map(|l| wrap(l) + "\n").collect();
            if shaped.is_empty() {
                shaped.push('\n');
            }
            let got = diagnosis(&rules, shaped.as_bytes());
            if got != want {
                wrong.push(format!(
                    "{} as {name}:\n  plain: {want}\n  {name}: {got}",
                    case.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} (case, shape) pairs differ:\n{}",
        wrong.len(),
        cases.len() * SHAPES.len(),
        wrong.join("\n")
    );
}
