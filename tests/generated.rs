//! Correctness at scale: logs from the project's generator, with thousands of interleaved
//! egresses, must come out with every egress's true final status, error and code, through the
//! library and through the binary. No timing is measured here (see benches/ for that).

use crate::util::{assert_keys_sorted, run_stdin};
use egresslens::analyze::{analyze_bytes, run_readers, Analysis, Engine, Options};
use egresslens::generate::{generate, Config, LogFormat, Truth};
use egresslens::rulebase::RuleSet;
use egresslens::source::LineReader;
use std::collections::HashMap;

/// What the report says about one egress.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    status: String,
    code: Option<i64>,
    error: Option<String>,
    request_type: Option<String>,
    room: Option<String>,
    open_at_end: bool,
}

fn make(format: LogFormat, size: u64, seed: u64, server_lines: bool) -> (Vec<u8>, Truth) {
    let mut cfg = Config::new(format, size);
    cfg.seed = seed;
    cfg.concurrency = 250;
    cfg.noise = 1;
    cfg.server_lines = server_lines;
    let mut data = Vec::with_capacity(size as usize + (1 << 20));
    let truth = generate(&mut data, &cfg).expect("generate into memory");
    assert!(
        truth.counts.egresses >= 1000,
        "only {} egresses",
        truth.counts.egresses
    );
    assert!(
        truth.counts.peak_open >= 200,
        "peak {}",
        truth.counts.peak_open
    );
    (data, truth)
}

/// Runs the engine over `data`, seeing every egress as it is concluded (the analysis itself
/// keeps only the first `MAX_REPORTED`).
fn analyze_all(rules: &RuleSet, data: &[u8]) -> (Analysis, HashMap<String, Seen>) {
    let opts = Options {
        all: true,
        ..Options::default()
    };
    let mut engine = Engine::new(rules, opts, vec!["<generated>".into()]);
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut dups = Vec::new();
    let mut record = |r: &egresslens::analyze::EgressResult| {
        let e = &r.egress;
        let Some(id) = e.id.clone() else {
            dups.push("an anonymous egress".to_string());
            return;
        };
        let s = Seen {
            status: e.status.name().to_string(),
            code: e.code,
            error: e.error.clone(),
            request_type: e.request_type.clone(),
            room: e.room.clone(),
            open_at_end: e.open_at_end,
        };
        if seen.insert(id.clone(), s).is_some() {
            dups.push(id);
        }
    };
    let reader = LineReader::from_bytes(data.to_vec());
    let stats =
        run_readers(&mut engine, vec![(0, reader)], &mut |_| {}, &mut record).expect("read");
    // Every generated egress has ended: hand out those still in their grace period.
    engine.flush_ended(&mut record);
    let analysis = engine.finish(stats);
    assert!(dups.is_empty(), "reported twice or anonymous: {dups:?}");
    (analysis, seen)
}

fn mismatches(truth: &Truth, seen: &HashMap<String, Seen>) -> Vec<String> {
    let mut bad = Vec::new();
    for t in &truth.egresses {
        let Some(s) = seen.get(&t.egress_id) else {
            bad.push(format!("{}: not reported", t.egress_id));
            continue;
        };
        let want_error = (!t.error().is_empty()).then(|| t.error().to_string());
        if s.status != t.status()
            || s.code != Some(t.code())
            || s.error != want_error
            || s.request_type.as_deref() != Some(t.request_type)
            || s.room != t.room
            || s.open_at_end
        {
            bad.push(format!(
                "{}: want {} {} {:?} {} {:?}, got {:?}",
                t.egress_id,
                t.status(),
                t.code(),
                t.error(),
                t.request_type,
                t.room,
                s
            ));
        }
    }
    bad
}

/// Checks every egress through the engine; with `one_call`, also through `analyze_bytes`
/// (a second full run, so only one test does it to keep debug-build tests quick).
fn check_library(format: LogFormat, seed: u64, server_lines: bool, one_call: bool) {
    let rules = RuleSet::load(None).expect("built-in rules load");
    let (data, truth) = make(format, 6 << 20, seed, server_lines);
    let c = &truth.counts;

    let (analysis, seen) = analyze_all(&rules, &data);
    let bad = mismatches(&truth, &seen);
    assert!(
        bad.is_empty(),
        "{} of {} egresses wrong ({format:?}, seed {seed}); first ones:\n{}",
        bad.len(),
        c.egresses,
        bad[..bad.len().min(10)].join("\n")
    );
    assert_eq!(seen.len() as u64, c.egresses, "egresses reported");

    let s = analysis.summary;
    assert_eq!(s.egresses, c.egresses, "summary.egresses");
    assert_eq!(s.failed, c.failed(), "summary.failed");
    assert_eq!(s.completed, c.complete(), "summary.completed");
    assert_eq!(s.in_progress, 0, "summary.in_progress");
    assert_eq!(analysis.stats.lines, c.lines, "lines read");
    assert_eq!(analysis.stats.bytes, c.bytes, "bytes read");

    if !one_call {
        return;
    }
    // The one-call API gives the same summary, and the egresses it keeps are right too.
    let opts = Options {
        all: true,
        ..Options::default()
    };
    let a = analyze_bytes(&rules, &data, opts);
    assert_eq!(a.summary, analysis.summary);
    assert_eq!(
        a.egresses.len(),
        egresslens::analyze::MAX_REPORTED.min(usize::try_from(c.egresses).unwrap_or(usize::MAX))
    );
    let by_id: HashMap<&str, &egresslens::generate::Expected> = truth
        .egresses
        .iter()
        .map(|e| (e.egress_id.as_str(), e))
        .collect();
    for r in &a.egresses {
        let id = r.egress.id.as_deref().expect("egress ID");
        let t = by_id.get(id).expect("a generated egress");
        assert_eq!(r.egress.status.name(), t.status(), "{id}");
        assert_eq!(r.egress.code, Some(t.code()), "{id}");
        assert_eq!(r.is_failure(), t.outcome.is_failure(), "{id}");
    }
}

#[test]
fn generated_console_log_every_egress_right() {
    check_library(LogFormat::Console, 11, false, false);
}

#[test]
fn generated_json_log_every_egress_right() {
    check_library(LogFormat::Json, 12, false, true);
}

#[test]
fn generated_log_with_livekit_server_lines_every_egress_right() {
    check_library(LogFormat::Console, 13, true, false);
}

#[test]
fn generated_log_binary_json_summary() {
    let (data, truth) = make(LogFormat::Json, 6 << 20, 14, false);
    let c = &truth.counts;
    let r = run_stdin(&["--format", "json", "--all"], &data);
    assert_eq!(
        r.code, 1,
        "failures found means exit 1; stderr: {}",
        r.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON report");
    let s = &v["summary"];
    assert_eq!(s["egresses"], c.egresses);
    assert_eq!(s["failed"], c.failed());
    assert_eq!(s["completed"], c.complete());
    assert_eq!(s["in_progress"], 0);
    assert_eq!(v["input"]["lines"], c.lines);
    assert_eq!(v["input"]["formats"]["json"], c.lines);
    let by_id: HashMap<&str, &egresslens::generate::Expected> = truth
        .egresses
        .iter()
        .map(|e| (e.egress_id.as_str(), e))
        .collect();
    let listed = v["egresses"].as_array().expect("egresses");
    assert!(!listed.is_empty());
    for e in listed {
        let id = e["egress_id"].as_str().expect("egress_id");
        let t = by_id.get(id).expect("a generated egress");
        assert_eq!(e["status"], t.status(), "{id}");
        assert_eq!(e["code"], t.code(), "{id}");
        assert_eq!(e["request_type"], t.request_type, "{id}");
    }
}

/// Regression: a line about an egress that comes more than `GRACE_LINES` after its terminal
/// status (e.g. the pulse reaper's `unloaded orphaned pulse sink` 30 s later on a busy node)
/// must not open a second, phantom egress.
#[test]
fn late_line_after_grace_does_not_open_a_second_egress() {
    let ctx = r#""nodeID": "NE_8vQm3KpXz2Lr", "clusterID": """#;
    let mut log = format!(
        "2026-11-25T08:00:01.000Z\tINFO\tegress\tinfo/io.go:268\tegress_complete\t{{{ctx}, \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"track\", \"outputType\": \"file\", \"error\": \"\", \"code\": 0, \"details\": \"End reason: StopEgress API\"}}\n"
    );
    for _ in 0..egresslens::correlate::GRACE_LINES {
        log.push_str(&format!(
            "2026-11-25T08:00:02.000Z\tDEBUG\tegress\tstats/monitor.go:194\tcpu check\t{{{ctx}, \"canAccept\": true}}\n"
        ));
    }
    log.push_str(&format!(
        "2026-11-25T08:00:31.000Z\tINFO\tegress\tstats/pulse_reaper.go:71\tunloaded orphaned pulse sink\t{{{ctx}, \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"module\": \"23\"}}\n"
    ));
    let rules = RuleSet::load(None).expect("rules");
    let a = analyze_bytes(
        &rules,
        log.as_bytes(),
        Options {
            all: true,
            ..Options::default()
        },
    );
    assert_eq!(a.summary.egresses, 1, "{:?}", a.summary);
    assert_eq!(a.summary.in_progress, 0, "{:?}", a.summary);
}

/// Regression: a Go stack frame whose symbol has no `/` and is not `main.`/`runtime.` (zap's
/// stack for a `time.AfterFunc` callback ends in `time.goFunc`) is joined to its ERROR entry.
#[test]
fn stack_frames_without_a_slash_are_joined() {
    let log = "2026-11-25T08:00:01.034Z\tERROR\tegress\tpipeline/controller.go:587\tcontroller onError invoked\t{\"egressID\": \"EG_uFjfRb8Uop35\", \"error\": \"pipeline frozen\"}\ngithub.com/livekit/egress/pkg/pipeline.(*Controller).OnError\n\t/workspace/pkg/pipeline/controller.go:587\ntime.goFunc\n\t/usr/local/go/src/time/sleep.go:215\nruntime.goexit\n\t/usr/local/go/src/runtime/asm_amd64.s:1700\n";
    let rules = RuleSet::load(None).expect("rules");
    let a = analyze_bytes(&rules, log.as_bytes(), Options::default());
    assert_eq!(a.stats.formats[egresslens::event::Format::Raw.index()], 0);
    assert_eq!(a.stats.continuation, 6);
}

/// The fast path (triage skipping lines no stage needs, selective field parsing, one source
/// cut into chunks decoded on several threads) must reach the same verdict for every egress,
/// and count the same lines, as the plain sequential path that decodes every line in full.
/// Enveloped forms (Docker json-file, CRI) are cut where no stream waits for the rest of a
/// partial record; the generated ones hold partial records, some interleaved with the other
/// stream's.
#[test]
fn fast_path_equals_sequential_path() {
    use egresslens::analyze::run_readers_with;
    use egresslens::decode::Decoder;
    use egresslens::event::Origin;
    type Verdicts = HashMap<String, (String, Option<i64>, Vec<String>)>;
    let rules = RuleSet::load(None).expect("rules");
    let (console, _) = make(LogFormat::Console, 8 << 20, 7, true);
    let (json, _) = make(LogFormat::Json, 8 << 20, 7, true);
    // The console log again, each line wrapped as docker's json-file driver stores it, and
    // the JSON log as CRI files hold it; every other line comes in two partial records with
    // a whole line of the other stream between them, where the source must not be cut.
    let (mut docker, mut cri) = (Vec::new(), Vec::new());
    for (form, log, out) in [(0, &console, &mut docker), (1, &json, &mut cri)] {
        let mut lines = log[..3 << 20].split(|&b| b == b'\n').enumerate().peekable();
        while let Some((i, line)) = lines.next() {
            let text = String::from_utf8_lossy(line);
            let cut = if i % 2 == 0 { text.len() / 2 } else { 0 };
            let cut = (0..=cut)
                .rev()
                .find(|&c| text.is_char_boundary(c))
                .unwrap_or(0);
            let (head, tail) = text.split_at(cut);
            let mut records = Vec::new();
            if !head.is_empty() {
                records.push(("stderr", head.to_string(), true));
                if let Some((_, next)) = lines.next() {
                    records.push(("stdout", String::from_utf8_lossy(next).into_owned(), false));
                }
            }
            records.push(("stderr", tail.to_string(), false));
            for (stream, part, partial) in records {
                let rec = if form == 0 {
                    let log = if partial { part } else { format!("{part}\n") };
                    serde_json::json!({"log": log, "stream": stream, "time": "2026-11-25T08:00:00.000000000Z"}).to_string()
                } else {
                    let tag = if partial { "P" } else { "F" };
                    format!("2026-11-25T08:00:00.000000000Z {stream} {tag} {part}")
                };
                out.extend_from_slice(rec.as_bytes());
                out.push(b'\n');
            }
        }
    }
    // The JSON log with a line of binary junk (NUL bytes) now and then.
    let mut binary = Vec::new();
    for (i, line) in json.split_inclusive(|&b| b == b'\n').enumerate() {
        if i % 997 == 0 {
            binary.extend_from_slice(b"\0\0junk\0 from a core dump\n");
        }
        binary.extend_from_slice(line);
    }
    for (name, data) in [
        ("console", &console),
        ("json", &json),
        ("docker", &docker),
        ("cri", &cri),
        ("binary", &binary),
    ] {
        let verdicts = |workers: Option<usize>| -> (Verdicts, [u64; 5]) {
            let opts = Options {
                all: true,
                ..Options::default()
            };
            let mut engine = Engine::new(&rules, opts, vec!["<generated>".into()]);
            let mut out = HashMap::new();
            let mut record = |r: &egresslens::analyze::EgressResult| {
                let rules: Vec<String> = r.diagnoses.iter().map(|d| d.rule.clone()).collect();
                out.insert(
                    r.egress.label(),
                    (r.egress.status.name().to_string(), r.egress.code, rules),
                );
            };
            let stats = if let Some(workers) = workers {
                let reader = LineReader::from_bytes(data.clone());
                run_readers_with(
                    &mut engine,
                    vec![(0, reader)],
                    egresslens::analyze::Strategy {
                        workers,
                        prefilter: true,
                    },
                    &mut |_| {},
                    &mut record,
                )
                .expect("run")
            } else {
                let mut dec = Decoder::new();
                let mut reader = LineReader::from_bytes(data.clone());
                let mut events = Vec::new();
                while let Some(l) = reader.next_line().expect("read") {
                    let o = Origin {
                        source: 0,
                        line: l.number,
                    };
                    dec.push(l.bytes, o, l.truncated, &mut |e| events.push(e));
                }
                dec.finish(&mut |e| events.push(e));
                for ev in events {
                    engine.push(&ev, &mut record);
                }
                dec.stats.clone()
            };
            let _ = engine.finish_with(egresslens::decode::Stats::default(), &mut record);
            let counts = [
                stats.lines,
                stats.continuation,
                stats.binary,
                stats.enveloped,
                stats.chunks_joined,
            ];
            (out, counts)
        };
        let (slow, counts) = verdicts(None);
        assert!(slow.len() > 100, "{name}: {} egresses", slow.len());
        assert_eq!(counts[2] > 0, name == "binary", "{name}: {counts:?}");
        let enveloped = matches!(name, "docker" | "cri");
        assert_eq!(counts[4] > 1000, enveloped, "{name}: {counts:?}");
        for workers in [1, 2, 3] {
            let (fast, fast_counts) = verdicts(Some(workers));
            assert_eq!(fast.len(), slow.len(), "{name}, {workers} workers");
            for (id, v) in &slow {
                assert_eq!(fast.get(id), Some(v), "{name}, {workers} workers: {id}");
            }
            assert_eq!(fast_counts, counts, "{name}, {workers} workers");
        }
    }
}

/// The JSON report of a generated log (every outcome, diagnoses with alternatives) prints
/// every object's keys in sorted order, as reports always have.
#[test]
fn json_report_keys_stay_sorted() {
    let (data, _) = make(LogFormat::Json, 8 << 20, 5, true);
    let r = run_stdin(&["--format", "json"], &data);
    assert!(
        r.stdout.contains("\"alternatives\": [\n"),
        "no diagnosis with alternatives to check"
    );
    assert_keys_sorted(&r.stdout);
    // The checker itself notices keys out of order.
    let swapped = "{\n  \"b\": 1,\n  \"a\": {\n    \"z\": 1\n  }\n}";
    assert!(std::panic::catch_unwind(|| assert_keys_sorted(swapped)).is_err());
    assert_keys_sorted("[\n  {\n    \"b\": 1\n  },\n  {\n    \"a\": {\n      \"z\": 1,\n      \"zz\": 2\n    },\n    \"b\": \"x\\\": y\"\n  }\n]");
}
