//! Unit tests of the analysis engine: the triage's head verdicts against the definition of
//! needed, verdicts, stall limits and clocks, hints and the `--egress` census. In memory only.

use super::triage::Triage;
use super::*;
use crate::decode::{peek, Decoder, Relevance, Verdict};
use crate::event::Origin;
use crate::generate::{generate, Config, LogFormat};
use crate::rulebase::{RuleSet, StallKind};
use std::collections::BTreeMap;

fn relevant(t: &mut Triage, line: &str) -> bool {
    let p = peek(line).expect("a structured line");
    t.relevant(&p) != Verdict::Skip
}

/// The fast path's verdict from a line's head never contradicts the definition on the
/// entry it decodes to: a line turned down is not needed, one found needed is.
#[test]
fn head_verdicts_agree_with_the_definition() {
    let rules = RuleSet::load(None).expect("built-in rules");
    let mut t = Triage::new(&rules);
    let mut exact = Triage::new(&rules);
    let mut seen = [0usize; 3];
    for format in [LogFormat::Console, LogFormat::Json] {
        let mut cfg = Config::new(format, 2 << 20);
        cfg.server_lines = true;
        let mut data = Vec::new();
        generate(&mut data, &cfg).expect("generate");
        let text = String::from_utf8_lossy(&data);
        for line in text.lines() {
            let Some(p) = peek(line) else { continue };
            let verdict = t.relevant(&p);
            let needed = exact.is_needed(&crate::decode::decode_entry(line, false));
            match verdict {
                Verdict::Skip => assert!(!needed, "turned down but needed: {line}"),
                Verdict::Needed => assert!(needed, "found needed but is not: {line}"),
                Verdict::Unsure => {}
            }
            seen[verdict as usize] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
}

#[test]
fn a_long_lived_triage_decides_as_a_fresh_one() {
    // Messages that share the recent-message table's slots, wanted and not, asked over
    // and over: the remembered verdicts must stay each message's own.
    let rules = RuleSet::load(None).expect("built-in rules");
    let mut messages: Vec<String> = [
        "request received",
        "request validated",
        "hw resources usage",
        "cpu check",
        "video input queue stats",
        "handler launched",
        "waiting for start signal",
        "egress_active",
        "chrome: START_RECORDING",
        "appwriter stats ",
    ]
    .iter()
    .map(|m| m.to_string())
    .collect();
    messages.extend((0..600).map(|i| format!("chatter {i}")));
    let line = |m: &str| {
        format!(
            r#"{{"level":"info","ts":1.5,"logger":"egress","caller":"a.go:1","msg":"{m}","nodeID":"N"}}"#
        )
    };
    let mut long_lived = Triage::new(&rules);
    for round in 0..3 {
        for m in &messages {
            let fresh = relevant(&mut Triage::new(&rules), &line(m));
            assert_eq!(
                relevant(&mut long_lived, &line(m)),
                fresh,
                "round {round}: {m}"
            );
        }
    }
}

#[test]
fn triage_finds_wanted_keys_only_where_they_are_keys() {
    let rules = RuleSet::load(None).expect("built-in rules");
    let mut t = Triage::new(&rules);
    let line = |fields: &str| {
        format!(r#"{{"level":"debug","ts":1.5,"msg":"some chatter","nodeID":"N"{fields}}}"#)
    };
    // No wanted key, a wanted name only as a value or inside a longer key: skipped.
    for fields in [
        "",
        r#","x":"error""#,
        r#","lasterror":"x","errors":1"#,
        r#","clusterID":"""#,
    ] {
        assert!(!relevant(&mut t, &line(fields)), "{fields}");
    }
    // Keys of a nested value, or in escaped text, are not the line's fields: the decoded
    // entry shows it is not needed.
    let mut exact = Triage::new(&rules);
    for fields in [
        r#","note":"said \"error\": x""#,
        r#","stats":{"error":1,"a":[{"x":"y"}]},"room":"outer""#,
    ] {
        let ev = crate::decode::decode_entry(&line(fields), false);
        assert!(!exact.is_needed(&ev), "{fields}");
    }
    // A problem key anywhere, or a rule's field with a matching value: kept.
    for fields in [
        r#","error":"boom""#,
        r#","a":1,"details":"x""#,
        r#","endReason":"x""#,
        r#","clusterID":"c1""#,
        r#","clusterID":"","url":"http://x/?url=ws%3A%2F%2Flocalhost%3A7880""#,
    ] {
        assert!(relevant(&mut t, &line(fields)), "{fields}");
    }
    // The verdict on a repeated value is remembered, not stuck.
    assert!(!relevant(&mut t, &line(r#","clusterID":"""#)));
    assert!(relevant(&mut t, &line(r#","clusterID":"c2""#)));
    // Console lines: the keys of the trailing object.
    let console = "2026-01-27T11:00:00.000Z\tDEBUG\tegress\tserver/x.go:1\tsome chatter\t";
    assert!(!relevant(&mut t, &format!(r#"{console}{{"nodeID": "N"}}"#)));
    assert!(relevant(
        &mut t,
        &format!(r#"{console}{{"nodeID": "N", "reason": "x"}}"#)
    ));
}

/// The lean verdict that counts egresses beyond a full report is exactly what the full
/// diagnosis leads with, on every egress of a generated log with every outcome.
#[test]
fn verdict_equals_the_leading_diagnosis() {
    let rules = RuleSet::load(None).expect("built-in rules");
    for format in [LogFormat::Json, LogFormat::Console] {
        let mut cfg = Config::new(format, 3 << 20);
        cfg.seed = 11;
        cfg.server_lines = true;
        let mut data = Vec::new();
        generate(&mut data, &cfg).expect("generate into memory");
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let mut engine = Engine::new(&rules, opts, vec!["<generated>".into()]);
        let mut egresses = Vec::new();
        let mut dec = Decoder::new();
        let mut events = Vec::new();
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            let origin = Origin {
                source: 0,
                line: i as u64 + 1,
            };
            dec.push(line, origin, false, &mut |e| events.push(e));
        }
        dec.finish(&mut |e| events.push(e));
        for ev in &events {
            engine.push(ev, &mut |r| egresses.push(r.egress.clone()));
        }
        let g = engine.corr.global.clone();
        let mut rules_seen = BTreeMap::new();
        for e in &egresses {
            let full = rules.diagnose_egress(e, &g);
            let lead = full.first().map(|d| (d.rule.as_str(), d.severity));
            assert_eq!(rules.verdict_egress(e, &g), lead, "{:?}", e.id);
            if let Some((rule, _)) = lead {
                *rules_seen.entry(rule.to_string()).or_insert(0) += 1;
            }
        }
        assert!(egresses.len() > 100, "{} egresses", egresses.len());
        assert!(rules_seen.len() >= 5, "{rules_seen:?}");
    }
}

/// The batch stall limits are follow mode's, and their default is the command line's.
#[test]
fn stall_limits_are_the_command_lines() {
    let crate::cli::Parsed::Run(config) = crate::cli::parse(["egresslens", "x.log"]) else {
        panic!("parses");
    };
    let crate::cli::Config::Analyze(a) = *config else {
        panic!("an analysis");
    };
    let limits = StallLimits::default();
    assert_eq!(a.stall_after_secs, limits.stall_after_secs);
    assert_eq!(limits.limit_secs(StallKind::BeforeStart), 30.0);
    assert_eq!(limits.limit_secs(StallKind::Silent), SILENT_MIN_SECS);
    assert_eq!(limits.limit_secs(StallKind::Ending), ENDING_AFTER_SECS);
    let slow = StallLimits {
        stall_after_secs: 600.0,
    };
    assert_eq!(slow.limit_secs(StallKind::Silent), 6000.0);
}

/// `by_rule` and the causes count failures and warnings only: a normal completion a rule
/// describes is neither counted nor shown without `--all`.
#[test]
fn normal_completions_are_not_problems() {
    let rules = RuleSet::load(None).expect("built-in rules");
    let log = concat!(
        r#"{"level":"info","ts":1,"msg":"egress_failed","egressID":"EG_R1aaaaaaaaaa","error":"Connection refused: Could not connect to RTMP stream rtmp://h/live2/k","code":503,"details":"End reason: Failure"}"#,
        "\n",
        r#"{"level":"info","ts":2,"msg":"egress_complete","egressID":"EG_C1aaaaaaaaaa","error":"","code":0,"details":"End reason: Source closed"}"#,
        "\n",
        r#"{"level":"info","ts":3,"msg":"egress_limit_reached","egressID":"EG_L1aaaaaaaaaa","error":"Session limit reached","code":413,"details":"End reason: Limit reached"}"#,
        "\n",
    );
    for all in [false, true] {
        let opts = Options {
            all,
            ..Options::default()
        };
        let a = analyze_bytes(&rules, log.as_bytes(), opts);
        let s = a.summary;
        assert_eq!((s.egresses, s.completed), (3, 1), "{s:?}");
        assert_eq!(
            a.by_rule.values().sum::<u64>(),
            s.failed + s.warnings,
            "{:?}",
            a.by_rule
        );
        assert!(
            !a.by_rule.contains_key("room-closed-normal-end"),
            "{:?}",
            a.by_rule
        );
        assert_eq!(
            a.by_rule.keys().collect::<Vec<_>>(),
            a.causes.keys().collect::<Vec<_>>()
        );
        let shown: Vec<String> = a.egresses.iter().map(|r| r.egress.label()).collect();
        assert_eq!(
            shown.contains(&"EG_C1aaaaaaaaaa".to_string()),
            all,
            "{shown:?}"
        );
    }
}

/// An egress open at the end is measured at the input's newest line, by its stall.
#[test]
fn open_egresses_are_measured_at_the_end() {
    let rules = RuleSet::load(None).expect("built-in rules");
    let log = concat!(
        r#"{"level":"info","ts":100,"msg":"request received","egressID":"EG_B1aaaaaaaaaa"}"#,
        "\n",
        r#"{"level":"info","ts":100,"msg":"request received","egressID":"EG_E1aaaaaaaaaa"}"#,
        "\n",
        r#"{"level":"info","ts":150,"msg":"egress_ending","egressID":"EG_E1aaaaaaaaaa","error":"","code":0,"details":"End reason: StopEgress API"}"#,
        "\n",
        r#"{"level":"info","ts":200,"msg":"egress_complete","egressID":"EG_D1aaaaaaaaaa","error":"","code":0,"details":"End reason: StopEgress API"}"#,
        "\n",
    );
    let a = analyze_bytes(&rules, log.as_bytes(), Options::default());
    let open = |id: &str| {
        a.egresses
            .iter()
            .find(|r| r.egress.label() == id)
            .and_then(|r| r.open)
    };
    let b = open("EG_B1aaaaaaaaaa").expect("open");
    assert_eq!(b.kind, Some(StallKind::BeforeStart));
    assert_eq!((b.waited_secs, b.stalled), (Some(100.0), true));
    let e = open("EG_E1aaaaaaaaaa").expect("open");
    assert_eq!(e.kind, Some(StallKind::Ending));
    assert_eq!((e.waited_secs, e.stalled), (Some(50.0), false));
    assert_eq!((a.summary.in_progress, a.summary.stalled), (2, 1));
    assert!(a.has_findings(), "a stalled egress sets exit code 1");
}

/// Turned-down lines from a handler process, and nothing from the service, bring the hint
/// about `2>&1`; the same lines without `handlerID` do not.
#[test]
fn skipped_handler_lines_alone_bring_the_stderr_hint() {
    let rules = RuleSet::load(None).expect("built-in rules");
    let line = |handler: &str| {
        format!(
            "{{\"level\":\"info\",\"ts\":1795593624.03,\"logger\":\"egress\",\"caller\":\"pipeline/controller.go:266\",\"msg\":\"audio qos stats\",\"nodeID\":\"NE_x\",{handler}\"egressID\":\"EG_cDFrnr7qKBCp\",\"audioBuffersDropped\":5}}\n"
        )
    };
    // A line from neither process, so that the input is not empty of events.
    let stderr_hint = |text: String| {
        let text = text + "plain text from another program\n";
        let a = analyze_bytes(&rules, text.as_bytes(), Options::default());
        assert_eq!(a.stats.skipped, 2, "the triage skips these lines");
        a.hints
            .iter()
            .any(|h| h.contains("forwarded from the egress handler"))
    };
    assert!(stderr_hint(
        line("\"handlerID\":\"EGH_whTxDBCi4M2a\",").repeat(2)
    ));
    assert!(!stderr_hint(line("").repeat(2)));
}

#[test]
fn egress_filter_hint_names_what_the_input_holds() {
    let wanted = vec!["EG_nope".to_string(), "EG_aaaaaaaaaaaa".to_string()];
    let mut c = IdCensus::default();
    assert_eq!(
        c.hint(&wanted).as_deref(),
        Some("No egress EG_nope, EG_aaaaaaaaaaaa in the input (--egress). Its lines name no egress ID at all.")
    );
    c.note("EG_aaaaaaaaaaaa", &wanted);
    for i in 0..MAX_OTHER_IDS + 3 {
        // Each ID counts once, however often it ends.
        c.note(&format!("EG_other{i:07}"), &wanted);
        c.note(&format!("EG_other{i:07}"), &wanted);
    }
    c.note("eg_NOPE", &wanted);
    let h = c.hint(&wanted).expect("EG_nope is missing");
    assert!(
        h.starts_with("No egress EG_nope in the input (--egress)."),
        "{h}"
    );
    assert!(h.contains("case-sensitive: the input has eg_NOPE."), "{h}");
    assert!(
        h.contains("Other egress IDs present: EG_other0000000, "),
        "{h}"
    );
    assert!(h.ends_with("EG_other0000009 and 4 more."), "{h}");
    assert_eq!(c.other_count, MAX_OTHER_IDS as u64 + 4);
    assert!(!h.contains("EG_aaaaaaaaaaaa"), "{h}");
    c.note("EG_nope", &wanted);
    assert_eq!(c.hint(&wanted), None);
}
