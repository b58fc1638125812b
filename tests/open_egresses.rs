//! An egress still open when a batch input ends is never shown as fine: it gets the neutral
//! mark, how long it had been waiting at the log's last line, and exit code 1 once that is past
//! its stall limit; a log of handler lines alone says that its outcome is unknown.

use crate::util::run_stdin;

const CTX: &str = r#""nodeID": "NE_8vQm3KpXz2Lr", "clusterID": """#;

fn line(ts: &str, caller: &str, msg: &str, fields: &str) -> String {
    format!("2025-08-21T{ts}Z\tINFO\tegress\t{caller}\t{msg}\t{{{CTX}{fields}}}\n")
}

/// Three egresses left open by the log's end (10:59:40): one waiting 44 min for its start
/// signal, one 15 min in `egress_ending`, one recording whose last line is 20 min old; and one
/// requested 10 s before the end.
fn stuck_log() -> String {
    let before_start = r#", "egressID": "EG_Wait7Yh2WbN5""#;
    let ending = r#", "egressID": "EG_End7Yh2WbN5c""#;
    let silent = r#", "egressID": "EG_Quiet7Yh2WbN""#;
    let fresh = r#", "egressID": "EG_Fresh7Yh2WbN""#;
    [
        line("10:15:32.123", "server/server_rpc.go:66", "request received", before_start),
        line("10:15:32.130", "server/server_rpc.go:76", "request validated", &format!(r#"{before_start}, "requestType": "room_composite", "outputType": "file", "room": "my-room""#)),
        line("10:16:00.000", "server/server_rpc.go:76", "request validated", &format!(r#"{ending}, "requestType": "room_composite", "outputType": "file", "room": "other""#)),
        line("10:16:05.000", "pipeline/watch.go:275", "pipeline playing", &format!(r#"{ending}, "handlerID": "EGH_4TfG9sWq2Hbn""#)),
        line("10:20:00.000", "server/server_rpc.go:76", "request validated", &format!(r#"{silent}, "requestType": "track", "outputType": "file", "room": "quiet""#)),
        line("10:20:03.000", "pipeline/watch.go:275", "pipeline playing", &format!(r#"{silent}, "handlerID": "EGH_5TfG9sWq2Hbn""#)),
        line("10:39:40.000", "info/io.go:268", "egress_active", &format!(r#"{silent}, "requestType": "track", "outputType": "file", "error": "", "code": 0, "details": """#)),
        line("10:44:00.000", "info/io.go:268", "egress_ending", &format!(r#"{ending}, "requestType": "room_composite", "outputType": "file", "error": "", "code": 0, "details": "End reason: StopEgress API""#)),
        line("10:59:30.000", "server/server_rpc.go:66", "request received", fresh),
        line("10:59:40.000", "stats/monitor.go:194", "cpu check", r#", "canAccept": true"#),
    ]
    .concat()
}

fn json(args: &[&str], log: &str) -> (i32, serde_json::Value) {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let r = run_stdin(&a, log.as_bytes());
    let v = serde_json::from_str(&r.stdout).expect("a JSON report");
    (r.code, v)
}

fn egress<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["egresses"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["egress_id"] == id))
        .unwrap_or_else(|| panic!("{id} not in the report"))
}

#[test]
fn stalled_egresses_get_the_neutral_mark_their_wait_and_exit_1() {
    let log = stuck_log();
    let r = run_stdin(&[], log.as_bytes());
    assert_eq!(r.code, 1, "stalled egresses are findings\n{}", r.stdout);
    assert!(
        !r.stdout.contains('✔'),
        "nothing here completed:\n{}",
        r.stdout
    );
    assert!(
        r.stdout
            .starts_with("egresslens: 4 egresses · 3 with warnings · 4 without an end in the log, 3 of them stalled"),
        "{}",
        r.stdout
    );
    // The stalled ones are diagnosed by their stall (a warning, ▲); the one still within its
    // limit keeps the neutral mark.
    for (id, mark, says) in [
        (
            "EG_Wait7Yh2WbN5",
            "▲",
            "stalled: no start signal for 44 min 07 s",
        ),
        ("EG_End7Yh2WbN5c", "▲", "stalled: ending for 15 min 40 s"),
        ("EG_Quiet7Yh2WbN", "▲", "stalled: no line for 20 min 00 s"),
        (
            "EG_Fresh7Yh2WbN",
            "◌",
            "end not in the log (no start signal for 10.0 s)",
        ),
    ] {
        let head = format!("{mark} {id} ");
        let block = r
            .stdout
            .split("\n\n")
            .find(|b| b.starts_with(&head))
            .unwrap_or_else(|| panic!("no block for {id} with the neutral mark:\n{}", r.stdout));
        assert!(block.contains(says), "{id}: {block}");
    }

    let (code, v) = json(&[], &log);
    assert_eq!(code, 1);
    let s = &v["summary"];
    assert_eq!(
        (s["in_progress"].as_u64(), s["stalled"].as_u64()),
        (Some(4), Some(3))
    );
    for (id, stall, stalled, waited) in [
        ("EG_Wait7Yh2WbN5", "before_start", true, 2647.877),
        ("EG_End7Yh2WbN5c", "ending", true, 940.0),
        ("EG_Quiet7Yh2WbN", "silent", true, 1200.0),
        ("EG_Fresh7Yh2WbN", "before_start", false, 10.0),
    ] {
        let e = egress(&v, id);
        assert_eq!(e["open_at_end"], true, "{id}");
        assert_eq!(e["stall"], stall, "{id}");
        assert_eq!(e["stalled"], stalled, "{id}");
        assert_eq!(e["waited_s"].as_f64(), Some(waited), "{id}");
        // Diagnosed by where it stopped, no surer than possible, saying the log ends there.
        let d = &e["diagnoses"][0];
        if stalled {
            assert_eq!(
                d["rule"],
                format!("stalled-{}", stall.replace('_', "-")),
                "{id}"
            );
            assert_eq!(d["confidence"], "possible", "{id}");
            assert!(
                d["unknowns"][0]
                    .as_str()
                    .is_some_and(|u| u.contains("The log ends")),
                "{id}: {d}"
            );
        } else {
            assert!(d.is_null(), "{id}: {d}");
        }
    }

    let md = run_stdin(&["--format", "markdown"], log.as_bytes());
    assert_eq!(md.code, 1);
    assert!(
        md.stdout
            .starts_with("# Egress incident report: 3 stalled egresses\n"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| ▲ | EG\\_Wait7Yh2WbN5 |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("- **Open at the end of the log:** At the last line of the log it had been waiting 44 min 07 s since its request"),
        "{}",
        md.stdout
    );
    // `--exit-zero` still holds.
    assert_eq!(run_stdin(&["--exit-zero"], log.as_bytes()).code, 0);
}

/// The limits are follow mode's: `--stall-after` moves the start-signal one and the silence one
/// (10 × it, at least 15 min); the ending one is fixed at a minute.
#[test]
fn stall_after_sets_the_batch_limits_too() {
    let log = stuck_log();
    let (code, v) = json(&["--stall-after", "50m"], &log);
    assert_eq!(code, 1, "still ending for 15 min");
    assert_eq!(v["summary"]["stalled"], 1);
    assert_eq!(egress(&v, "EG_End7Yh2WbN5c")["stalled"], true);
    assert_eq!(egress(&v, "EG_Wait7Yh2WbN5")["stalled"], false);
    assert_eq!(egress(&v, "EG_Quiet7Yh2WbN")["stalled"], false);
    let (_, v) = json(&["--stall-after", "5s"], &log);
    assert_eq!(egress(&v, "EG_Fresh7Yh2WbN")["stalled"], true, "10 s > 5 s");
}

/// An egress whose end is simply not in the log (a short wait) is neutral, not fine, and not a
/// finding.
#[test]
fn an_egress_whose_end_is_not_in_the_log_is_neutral_and_exit_0() {
    let log = [
        line("10:15:32.130", "server/server_rpc.go:76", "request validated", r#", "egressID": "EG_Rj7Yh2WbN5cT", "requestType": "room_composite", "outputType": "file", "room": "my-room""#),
        line("10:15:34.000", "source/web.go:324", "chrome: START_RECORDING", r#", "handlerID": "EGH_4TfG9sWq2Hbn", "egressID": "EG_Rj7Yh2WbN5cT""#),
        line("10:15:35.000", "pipeline/watch.go:275", "pipeline playing", r#", "handlerID": "EGH_4TfG9sWq2Hbn", "egressID": "EG_Rj7Yh2WbN5cT""#),
        line("10:16:35.000", "stats/monitor.go:194", "cpu check", r#", "canAccept": true"#),
    ]
    .concat();
    let r = run_stdin(&[], log.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains('✔'), "{}", r.stdout);
    assert!(
        r.stdout.contains("◌ EG_Rj7Yh2WbN5cT · room my-room · room_composite · starting, end not in the log (no line for 1 min 00 s)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("under the 15 min 00 s stall limit"),
        "{}",
        r.stdout
    );
    let md = run_stdin(&["--format", "markdown"], log.as_bytes());
    assert!(
        md.stdout.starts_with(
            "# Egress incident report: no failure found, 1 without an end in the log\n"
        ),
        "{}",
        md.stdout
    );
}

/// Handler lines alone (`docker logs egress` without `2>&1`): no tick, no "no failure found";
/// the headline says the outcome is unknown. Exit 0 as the contract says (no failure found).
#[test]
fn handler_lines_alone_are_an_unknown_outcome_not_a_success() {
    let log = [
        line(
            "10:15:34.402",
            "source/web.go:324",
            "chrome: START_RECORDING",
            r#", "handlerID": "EGH_4TfG9sWq2Hbn", "egressID": "EG_Rj7Yh2WbN5cT""#,
        ),
        line(
            "10:15:35.402",
            "pipeline/watch.go:275",
            "pipeline playing",
            r#", "handlerID": "EGH_4TfG9sWq2Hbn", "egressID": "EG_Rj7Yh2WbN5cT""#,
        ),
    ]
    .concat();
    let r = run_stdin(&[], log.as_bytes());
    assert_eq!(r.code, 0);
    let head = r.stdout.lines().next().unwrap_or_default();
    assert!(head.contains("outcome unknown"), "{head}");
    assert!(!r.stdout.contains('✔'), "{}", r.stdout);
    assert!(r.stdout.contains("2>&1"), "the hint stays: {}", r.stdout);
    let q = run_stdin(&["--quiet"], log.as_bytes());
    assert!(q.stdout.contains("outcome unknown"), "{}", q.stdout);
    let md = run_stdin(&["--format", "markdown"], log.as_bytes());
    assert!(
        md.stdout
            .starts_with("# Egress incident report: outcome unknown (only handler lines)\n"),
        "{}",
        md.stdout
    );
    assert!(!md.stdout.contains("no failure found"), "{}", md.stdout);
    let (_, v) = json(&[], &log);
    assert_eq!(v["summary"]["outcome_unknown"], true);
    assert_eq!(v["summary"]["failed"], 0);
    // A log with the service's lines is not unknown.
    let (_, v) = json(&[], &stuck_log());
    assert_eq!(v["summary"]["outcome_unknown"], false);
}
