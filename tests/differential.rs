//! The differential harness: every input is run through every way egresslens can read it
//! (the batch path with the prefilter on and off, on one and several decoding workers, and
//! the follow engine driven with injected time) and the whole reports are compared. In the
//! spirit of ripgrep's `SearcherTester`: a fast path is only right when it says exactly what
//! the plain path says.
//!
//! Inputs: every rule example, every file under `samples/`, generated logs in four shapes
//! (console, JSON, Docker json-file, CRI), proptest-generated logs, and the divergences found
//! by hand (user rules on the logger and on multi-line entries).

use crate::util::root;
use egresslens::analyze::{run_readers_with, Analysis, EgressResult, Engine, Options, Stall};
use egresslens::follow::{Follower, Settings, Sink};
use egresslens::generate::{generate, Config as GenConfig, LogFormat};
use egresslens::report::{self, OutputFormat, Style};
use egresslens::rulebase::{Diagnosis, RuleSet};
use egresslens::source::{Line, LineReader};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What legitimately differs between strategies, named in one place:
/// - report fields, as JSON pointers: none (the same lines are found needed, and the others
///   counted as skipped, on every path);
/// - follow mode drops an open egress after `follow::EVICT_AFTER_SECS` of log time without a
///   line (bounded memory on endless input), which a batch run never does: the generated
///   inputs keep their egresses' lines closer together than that (see `line_strategy`).
const MAY_DIFFER: &[&str] = &[];

/// The batch strategies: (name, decoding workers, prefilter).
const BATCH: &[(&str, usize, bool)] = &[
    ("plain", 1, false),
    ("prefilter", 1, true),
    ("prefilter, 2 workers", 2, true),
    ("prefilter, 3 workers", 3, true),
    ("plain, 2 workers", 2, false),
];

fn style() -> Style {
    Style {
        format: OutputFormat::Json,
        color: false,
        redact: true,
        width: 100,
    }
}

fn options() -> Options {
    Options {
        all: true,
        ..Options::default()
    }
}

fn batch(rules: &RuleSet, data: &[u8], workers: usize, prefilter: bool) -> Analysis {
    let mut engine = Engine::new(rules, options(), vec!["<input>".into()]);
    let reader = LineReader::from_bytes(data.to_vec());
    let strategy = egresslens::analyze::Strategy { workers, prefilter };
    let stats = run_readers_with(
        &mut engine,
        vec![(0, reader)],
        strategy,
        &mut |_| {},
        &mut |_| {},
    )
    .expect("in-memory input reads");
    engine.finish(stats)
}

/// The whole JSON report, with the fields that may differ removed.
fn report_json(a: &Analysis) -> Value {
    let mut out = Vec::new();
    report::write(a, &style(), &mut out).expect("report writes to memory");
    let mut v: Value = serde_json::from_slice(&out).expect("the report is JSON");
    for p in MAY_DIFFER {
        let (parent, key) = p.rsplit_once('/').expect("pointer");
        if let Some(Value::Object(m)) = v.pointer_mut(parent) {
            m.remove(key);
        }
    }
    v
}

/// What the follow engine reported: each egress (ended, or open at the end) and each finding.
#[derive(Default)]
struct Collect {
    egresses: Vec<Value>,
    findings: Vec<Value>,
}

impl Sink for Collect {
    fn egress(&mut self, r: &EgressResult, sources: &[String]) {
        self.egresses
            .push(report::json::egress_value(r, sources, &style()));
    }
    fn stall(&mut self, _: &Stall, _: &[String]) {}
    fn finding(&mut self, d: &Diagnosis, sources: &[String]) {
        self.findings
            .push(report::json::diagnosis_value(d, sources, &style()));
    }
    fn summary(
        &mut self,
        _: &egresslens::analyze::LiveSummary,
        open: &[EgressResult],
        s: &[String],
    ) {
        for r in open {
            self.egresses
                .push(report::json::egress_value(r, s, &style()));
        }
    }
    fn failed(&self) -> bool {
        false
    }
}

/// The follow engine over `data`, a line at a time, with time injected: the lines come in
/// bursts with idle calls between them, as a tailed file would deliver them.
fn follow(rules: &RuleSet, data: &[u8]) -> Collect {
    let settings = Settings {
        // Stall warnings are reported apart from egresses (and not compared).
        stall_after_secs: 30.0,
        all: true,
        egress_ids: Vec::new(),
        since: None,
        until: None,
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut f = Follower::new(rules, settings, vec!["<input>".into()], now);
    let mut sink = Collect::default();
    let mut reader = LineReader::from_bytes(data.to_vec());
    let mut n = 0u64;
    while let Some(l) = reader.next_line().expect("in-memory input reads") {
        let line = Line {
            bytes: l.bytes,
            number: l.number,
            truncated: l.truncated,
        };
        f.line(0, line, now, &mut sink);
        n += 1;
        if n % 512 == 0 {
            now += Duration::from_millis(5);
            f.idle(now, &mut sink);
        }
    }
    now += Duration::from_millis(5);
    f.idle(now, &mut sink);
    let _ = f.finish(now + Duration::from_millis(5), &mut sink);
    sink
}

/// Egress entries keyed by label (ID, or their place among anonymous ones), for comparing
/// what was reported regardless of the order it came out in.
fn by_label(egresses: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for (i, e) in egresses.iter().enumerate() {
        let key = match e.get("egress_id").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => format!("(anonymous {i:05})"),
        };
        m.insert(key, e.clone());
    }
    m
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

/// Runs `data` through every strategy and returns what differs from the plain path.
fn differences(rules: &RuleSet, name: &str, data: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let plain = report_json(&batch(rules, data, 1, false));
    for &(strategy, workers, prefilter) in &BATCH[1..] {
        let other = report_json(&batch(rules, data, workers, prefilter));
        if other != plain {
            problems.push(format!(
                "{name}: {strategy} differs from plain: {}",
                first_difference(&plain, &other)
            ));
        }
    }
    let followed = follow(rules, data);
    let empty = Vec::new();
    let want_egresses = plain
        .get("egresses")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    // A batch report keeps at most `MAX_REPORTED` egresses; follow mode reports every one.
    if want_egresses.len() < egresslens::analyze::MAX_REPORTED {
        let (want, got) = (by_label(want_egresses), by_label(&followed.egresses));
        if want != got {
            problems.push(format!(
                "{name}: follow's egresses differ from plain: {}",
                first_difference(&serde_json::json!(want), &serde_json::json!(got))
            ));
        }
    }
    let want_findings = plain
        .get("findings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if sorted(want_findings.clone()) != sorted(followed.findings.clone()) {
        problems.push(format!(
            "{name}: follow's findings differ from plain: {}",
            first_difference(
                &Value::Array(sorted(want_findings)),
                &Value::Array(sorted(followed.findings))
            )
        ));
    }
    problems
}

/// The first place two JSON values differ, as a pointer and both values.
fn first_difference(a: &Value, b: &Value) -> String {
    fn walk(a: &Value, b: &Value, at: &str) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys()) {
                    let here = format!("{at}/{k}");
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => {
                            if let Some(d) = walk(p, q, &here) {
                                return Some(d);
                            }
                        }
                        (p, q) => return Some(format!("{here}: {p:?} vs {q:?}")),
                    }
                }
                None
            }
            (Value::Array(x), Value::Array(y)) => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    if let Some(d) = walk(p, q, &format!("{at}/{i}")) {
                        return Some(d);
                    }
                }
                (x.len() != y.len()).then(|| format!("{at}: {} vs {} items", x.len(), y.len()))
            }
            _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
        }
    }
    walk(a, b, "").unwrap_or_else(|| "(equal)".into())
}

fn built_in() -> RuleSet {
    RuleSet::load(None).expect("built-in rules load")
}

/// Every file under `dir` (recursively) that holds a log: `.log`, `.txt` and `.gz`.
fn logs_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            logs_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "log" || x == "txt" || x == "gz")
        {
            out.push(p);
        }
    }
}

fn read_input(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).expect("sample reads");
    if p.extension().is_some_and(|x| x == "gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gzip sample");
        out
    } else {
        raw
    }
}

#[test]
fn every_rule_example_reads_the_same_every_way() {
    let rules = built_in();
    let mut problems = Vec::new();
    let mut n = 0;
    for r in &rules.rules {
        for t in &r.tests {
            n += 1;
            let name = format!("{} example {:?}", r.id, t.name);
            problems.extend(differences(&rules, &name, t.input.as_bytes()));
        }
    }
    assert!(n > 150, "{n} rule examples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_sample_reads_the_same_every_way() {
    let rules = built_in();
    let mut files = Vec::new();
    logs_under(&root().join("samples"), &mut files);
    assert!(files.len() > 60, "{} samples", files.len());
    let mut problems = Vec::new();
    for f in &files {
        let name = f.strip_prefix(root()).unwrap_or(f).display().to_string();
        problems.extend(differences(&rules, &name, &read_input(f)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A generated log in one of the four shapes users feed in.
fn generated(format: LogFormat, envelope: Option<&str>, seed: u64) -> Vec<u8> {
    let mut cfg = GenConfig::new(format, 600 << 10);
    cfg.seed = seed;
    cfg.concurrency = 40;
    cfg.server_lines = true;
    let mut log = Vec::new();
    generate(&mut log, &cfg).expect("generator writes to memory");
    let Some(kind) = envelope else {
        return log;
    };
    let mut out = Vec::new();
    for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let text = String::from_utf8_lossy(line);
        let rec = if kind == "docker" {
            serde_json::json!({"log": format!("{text}\n"), "stream": "stderr", "time": "2026-11-25T08:00:00.000000000Z"}).to_string()
        } else {
            format!("2026-11-25T08:00:00.000000000Z stderr F {text}")
        };
        out.extend_from_slice(rec.as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn generated_logs_read_the_same_every_way() {
    let rules = built_in();
    let mut problems = Vec::new();
    for (name, format, envelope) in [
        ("console", LogFormat::Console, None),
        ("json", LogFormat::Json, None),
        ("docker json-file", LogFormat::Console, Some("docker")),
        ("cri", LogFormat::Json, Some("cri")),
    ] {
        let data = generated(format, envelope, 11);
        problems.extend(differences(&rules, name, &data));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// User rules of the kinds `rules/README.md` advertises: a field condition on the logger and
/// a raw-line pattern, which the prefilter once ignored (batch reported nothing where follow
/// reported the finding).
fn user_rules() -> (tempfile::TempDir, RuleSet) {
    let dir = tempfile::tempdir().expect("temp dir");
    let logger = r#"id = "custom-logger"
title = "A line of the custom.thing logger"
severity = "warning"
scope = "input"

[when]
fields = { logger = '^custom\.thing$' }

[explain]
cause = "The custom.thing logger wrote a line."
fixes = ["Look at what custom.thing is doing."]
confidence = "possible"

[[test]]
name = "an INFO line of that logger"
input = '''
2026-11-24T15:00:01.004Z	INFO	custom.thing	x/y.go:1	hello	{"nodeID": "NE_Rk2Wq7Zn4Lxp"}
'''
expect = "match"

[[test]]
name = "another logger"
input = '''
2026-11-24T15:00:01.004Z	INFO	custom.other	x/y.go:1	hello	{"nodeID": "NE_Rk2Wq7Zn4Lxp"}
'''
expect = "no-match"
"#;
    let line = r#"id = "custom-frame"
title = "A stack frame of the widget package"
severity = "warning"
scope = "input"

[when]
line = ['widget\.\(\*Spinner\)']

[explain]
cause = "A widget spinner shows in a multi-line entry."
fixes = ["Look at the widget."]
confidence = "possible"

[[test]]
name = "an INFO entry with joined frames"
input = '''
2026-11-24T15:00:01.004Z	INFO	egress	x/y.go:1	spinning	{"nodeID": "NE_Rk2Wq7Zn4Lxp"}
github.com/acme/widget.(*Spinner).Spin
	/src/widget/spin.go:12
'''
expect = "match"

[[test]]
name = "the frame as a message only"
input = '''
2026-11-24T15:00:01.004Z	INFO	egress	x/y.go:1	spinning	{"nodeID": "NE_Rk2Wq7Zn4Lxp"}
'''
expect = "no-match"
"#;
    std::fs::write(dir.path().join("custom-logger.toml"), logger).expect("write rule");
    std::fs::write(dir.path().join("custom-frame.toml"), line).expect("write rule");
    let set = RuleSet::load(Some(dir.path())).expect("user rules load");
    (dir, set)
}

#[test]
fn user_rules_on_the_logger_and_on_frames_read_the_same_every_way() {
    let (_dir, rules) = user_rules();
    let mut problems = Vec::new();
    for id in ["custom-logger", "custom-frame"] {
        let rule = rules.get(id).expect("user rule loaded");
        for t in &rule.tests {
            let name = format!("{id} example {:?}", t.name);
            problems.extend(differences(&rules, &name, t.input.as_bytes()));
            // And the batch path (prefilter on, as the CLI runs) gives the example's answer.
            let a = batch(&rules, t.input.as_bytes(), 1, true);
            let found = a.findings.iter().any(|d| d.rule == id);
            let want = t.expect == egresslens::rulebase::Expect::Match;
            if found != want {
                problems.push(format!("{name}: batch found it: {found}, expected {want}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn lines_all_turned_down_are_not_an_empty_input() {
    let rules = built_in();
    let text = "{\"level\":\"info\",\"ts\":1795593624.03,\"logger\":\"egress\",\"caller\":\"a.go:1\",\"msg\":\"audio qos stats\",\"nodeID\":\"NE_x\"}\n{\"level\":\"info\",\"ts\":1795593625.03,\"logger\":\"egress\",\"caller\":\"a.go:1\",\"msg\":\"audio qos stats\",\"nodeID\":\"NE_x\"}\n";
    for prefilter in [true, false] {
        let a = batch(&rules, text.as_bytes(), 1, prefilter);
        assert!(
            !a.hints.iter().any(|h| h.contains("No log lines")),
            "prefilter {prefilter}: {:?}",
            a.hints
        );
        assert!(
            a.hints.iter().any(|h| h.contains("No egress activity")),
            "prefilter {prefilter}: {:?}",
            a.hints
        );
    }
    assert!(differences(&rules, "two turned-down lines", text.as_bytes()).is_empty());
}

/// The pasted shapes the decoder joins across lines (fields on the line below a header that
/// the fast path would turn down, a table, a protobuf dump, a traceback, a panic with a blank
/// line, a cut JSON line) read the same on every path.
#[test]
fn pasted_shapes_read_the_same_every_way() {
    let rules = built_in();
    let cases: &[(&str, &str)] = &[
        ("routine header, fields below", "2026-01-27T11:11:39.000Z\tDEBUG\tegress\tstats/monitor.go:1\taudio qos stats\n{\"egressID\": \"EG_Nx7Wq2Lz8Nkb\", \"nodeID\": \"NE_x\"}\n2026-01-27T11:11:39.782Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\n{\"egressID\": \"EG_Nx7Wq2Lz8Nkb\", \"error\": \"Start signal not received\", \"code\": 412}\n"),
        ("lk egress list table", "+-----------------+---------------+--------+\n|    EGRESSID     |    STATUS     | ERROR  |\n+-----------------+---------------+--------+\n| EG_GAu9Hau6stad | EGRESS_FAILED | rename |\n|                 |               | failed |\n+-----------------+---------------+--------+\n"),
        ("protobuf dump", "file {\n  filename: \"a.mp4\"\n}\nerror: \"Start signal not received\"\nerror_code: 412\n"),
        ("traceback", "Traceback (most recent call last):\n  File \"rec.py\", line 12, in <module>\n    x()\nlivekit.api.twirp_client.TwirpError: TwirpError(code=unavailable, message=no response from servers, status=503)\n"),
        ("panic with a blank line", "2026-01-27T11:11:39.000Z\tINFO\tegress\tservice/handler.go:1\thandling request\t{\"egressID\": \"EG_aT2Jmgw7nVbY\"}\npanic: runtime error: invalid memory address or nil pointer dereference\n\ngoroutine 1 [running]:\ngithub.com/livekit/egress/pkg/pipeline.(*Pipeline).removeSink(0xc0)\n\t/workspace/pkg/pipeline/pipeline.go:1\n"),
        ("cut JSON", "{\"level\":\"error\",\"ts\":1.5,\"msg\":\"egress_failed\",\"egressID\":\"EG_5tt6i8YwRirv\",\"error\":\"S3 upload fa"),
    ];
    let mut problems = Vec::new();
    for (name, text) in cases {
        problems.extend(differences(&rules, name, text.as_bytes()));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One line of a random log: a lifecycle step, a routine line, a problem, a stack frame ...
fn line_strategy() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec![
        "EG_cDFrnr7qKBCp",
        "EG_Zx4Nq8Wr2Tmp",
        "EG_Mw2Lp7Kq9Xzt",
    ]);
    let msg = prop::sample::select(vec![
        "request received",
        "request validated",
        "chrome: START_RECORDING",
        "pipeline playing",
        "egress_active",
        "egress_ending",
        "egress_complete",
        "egress_aborted",
        "egress_failed",
        "audio qos stats",
        "hw resources usage",
        "upload progress",
        "Start signal not received",
    ]);
    let level = prop::sample::select(vec!["info", "info", "info", "debug", "warn", "error"]);
    let extra = prop::sample::select(vec![
        "",
        r#","room":"daily-sync""#,
        r#","error":"Start signal not received","code":412"#,
        r#","handlerID":"EGH_whTxDBCi4M2a""#,
        r#","clusterID":"""#,
        r#","nodeID":"NE_Other0000000""#,
    ]);
    (0u8..8, id, msg, level, extra, 0u32..3_000, any::<bool>()).prop_map(
        |(kind, id, msg, level, extra, t, console)| match kind {
            0 => "github.com/livekit/egress/pkg/pipeline.(*Controller).Run".to_string(),
            1 => "\t/workspace/pkg/pipeline/controller.go:266".to_string(),
            2 => "plain text from another program".to_string(),
            _ if console => {
                let ts = chrono::DateTime::from_timestamp(1_764_000_000 + i64::from(t), 0)
                    .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_default();
                format!(
                    "{ts}\t{}\tegress\tpipeline/controller.go:1\t{msg}\t{{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"{id}\"{}}}",
                    level.to_uppercase(),
                    extra.replace("\":", "\": ")
                )
            }
            _ => format!(
                "{{\"level\":\"{level}\",\"ts\":{}.5,\"logger\":\"egress\",\"caller\":\"pipeline/controller.go:1\",\"msg\":\"{msg}\",\"nodeID\":\"NE_8vQm3KpXz2Lr\",\"egressID\":\"{id}\"{extra}}}",
                1_764_000_000 + t
            ),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_logs_read_the_same_every_way(lines in prop::collection::vec(line_strategy(), 1..60)) {
        let rules = built_in();
        let text = lines.join("\n") + "\n";
        let problems = differences(&rules, "random log", text.as_bytes());
        prop_assert!(problems.is_empty(), "{}\n--- input\n{}", problems.join("\n"), text);
    }
}
