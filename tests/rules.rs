//! Every rule file loads, and every rule's embedded examples behave as they say.

use egresslens::correlate::{Marker, Status};
use egresslens::rulebase::RuleSet;

#[test]
fn every_rule_file_loads() {
    if let Err(errors) = RuleSet::load(None) {
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        panic!("invalid rule files:\n{}", text.join("\n"));
    }
}

#[test]
fn every_rule_example_passes() {
    let set = RuleSet::load(None).expect("rules load");
    let outcomes = egresslens::ruletest::run(&set, None);
    assert!(!outcomes.is_empty());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| {
            format!(
                "{} / {} (expect {:?}): led by {}",
                o.rule, o.example, o.expect, o.got
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "rule examples failed:\n{}",
        failed.join("\n")
    );
}

#[test]
fn rules_test_command_passes() {
    let r = crate::util::run(&["rules", "test"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("0 failed"));
}

#[test]
fn invalid_user_rules_exit_3_with_every_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.toml"),
        "id = \"b\"\ntitle = \"t\"\nseverity = \"bad\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("c.toml"), "not toml [").expect("write");
    let r = crate::util::run(&[
        "--rules",
        dir.path().to_str().expect("utf8"),
        "samples/origin-412.log",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: invalid rule files"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("a.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("c.toml"), "{}", r.stderr);
}

#[test]
fn user_rule_replaces_builtin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(crate::util::root().join("rules/start-signal-not-received.toml"))
            .expect("read");
    let text = text.replace(
        "title = \"Recording never started: no start signal before the stop\"",
        "title = \"Local override title\"",
    );
    std::fs::write(dir.path().join("start-signal-not-received.toml"), text).expect("write");
    let r = crate::util::run(&[
        "--rules",
        dir.path().to_str().expect("utf8"),
        "samples/origin-412.log",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("Local override title"), "{}", r.stdout);
}

#[test]
fn rules_test_dir_lists_every_problem_of_every_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A.toml: the parser's first stop is the missing title; the rest used to go unsaid.
    std::fs::write(
        dir.path().join("a.toml"),
        "id = \"A\"\nseverity = \"fatal\"\ncolour = \"red\"\n[when]\nstatus = \"failed\"\n[explain]\ncause = \"x\"\nconfidence = \"likely\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.toml"),
        "id = \"b\"\ntitle = \"t\"\nseverity = \"bad\"\n[explain]\ncause = \"x\"\nfixes = []\nconfidence = \"sure\"\n",
    )
    .expect("write");
    let d = dir.path().to_str().expect("utf8");
    let a = dir.path().join("a.toml").display().to_string();
    let b = dir.path().join("b.toml").display().to_string();
    let expected = [
        format!("{a}: line 1: missing field `title`"),
        format!("{a}: line 3: unknown field `colour`"),
        format!("{a}: line 5: invalid type: string \"failed\", expected a sequence"),
        format!("{a}: line 6: missing field `fixes`"),
        format!("{a}: id: `A` must equal the file name `a`"),
        format!("{a}: severity: `fatal` is not one of error, warning, info"),
        format!("{b}: severity: `bad` is not one of error, warning, info"),
        format!("{b}: explain.confidence: `sure` is not one of certain, likely, possible"),
        format!("{b}: explain.fixes: give at least one fix"),
    ];
    // Before or after the subcommand, `rules test DIR` or `--rules DIR rules test`.
    for args in [
        vec!["rules", "test", d],
        vec!["--rules", d, "rules", "test"],
        vec!["rules", "test", "--rules", d],
        vec!["--rules", d, "samples/origin-412.log"],
    ] {
        let r = crate::util::run(&args);
        assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("error: invalid rule files:\n"),
            "{}",
            r.stderr
        );
        for want in &expected {
            assert!(
                r.stderr
                    .lines()
                    .any(|l| l.trim_start().starts_with(want.as_str())),
                "{args:?}: {want:?} missing from\n{}",
                r.stderr
            );
        }
        // Each file's problems together, files in order.
        let files: Vec<&str> = r
            .stderr
            .lines()
            .skip(1)
            .filter_map(|l| l.trim_start().split(": ").next())
            .filter(|f| f.ends_with(".toml"))
            .collect();
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted, "{}", r.stderr);
    }
}

#[test]
fn a_missing_rules_directory_is_an_input_error() {
    for args in [
        &["rules", "test", "no-such-rules-dir"][..],
        &["--rules", "no-such-rules-dir", "rules", "list"],
        &["--rules", "no-such-rules-dir", "samples/origin-412.log"],
        &["explain", "--rules", "no-such-rules-dir", "412"],
    ] {
        let r = crate::util::run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr,
            "error: no-such-rules-dir: cannot read the rules directory: No such file or directory (os error 2)\n",
            "{args:?}"
        );
    }
    let r = crate::util::run(&["rules", "test", "samples/origin-412.log"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
}

/// A pasted final error text is rule data: a user's rule teaches egresslens a new one (it
/// then becomes an egress failure with the rule's status), and the built-in table still
/// answers the texts it knew (longest prefix first).
#[test]
fn pasted_errors_come_from_the_rules_and_user_rules_extend_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = r#"id = "widget-exploded"
title = "The widget exploded"
severity = "error"
scope = "egress"
pasted_errors = [{ prefix = "widget exploded", status = "failed", code = 500 }]

[when]
status = ["failed"]
error = '(?i)widget exploded'

[explain]
cause = "The widget exploded ({error})."
fixes = ["Replace the widget."]
confidence = "likely"

[[test]]
input = '''
Widget exploded at noon
'''
expect = "lead"

[[test]]
input = '''
Gadget exploded at noon
'''
expect = "no-match"
"#;
    std::fs::write(dir.path().join("widget-exploded.toml"), rule).expect("write rule");
    let log = dir.path().join("paste.log");
    std::fs::write(&log, "Widget exploded at noon\n").expect("write log");
    let rules = dir.path().to_str().expect("utf8 path");
    let log = log.to_str().expect("utf8 path");
    let without = crate::util::run(&["--format", "json", log]);
    assert!(
        !without.stdout.contains("widget-exploded"),
        "{}",
        without.stdout
    );
    let with = crate::util::run(&["--rules", rules, "--format", "json", log]);
    assert_eq!(with.code, 1, "{}", with.stderr);
    let v: serde_json::Value = serde_json::from_str(&with.stdout).expect("json report");
    let e = &v["egresses"][0];
    assert_eq!(e["status"], "failed");
    assert_eq!(e["code"], 500);
    assert_eq!(e["diagnoses"][0]["rule"], "widget-exploded");
    let tested = crate::util::run(&["rules", "test", rules]);
    assert_eq!(tested.code, 0, "{}", tested.stdout);

    // Built-in: the longer `session limit reached before start signal` wins.
    let set = RuleSet::load(None).expect("rules load");
    assert_eq!(
        set.pasted_error("session limit reached before start signal"),
        Some((Status::Aborted, Some(412)))
    );
    assert_eq!(
        set.pasted_error("session limit reached"),
        Some((Status::LimitReached, Some(413)))
    );
    assert_eq!(set.pasted_error("banana"), None);
}

/// A user's rules directory may itself be called `rules/` (a checkout of this repository's
/// own rules, edited): its rules replace the built-in ones of the same id instead of being
/// taken for duplicates.
#[test]
fn a_rules_directory_named_rules_replaces_the_built_in_ones() {
    let listed = crate::util::run(&["rules", "test", "rules/"]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    let run = crate::util::run(&["--rules", "rules/", "samples/origin-412.log"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("duplicate"), "{}", run.stderr);
}

/// A rule quotes what its patterns caught: the address redis was dialled at, the storage
/// endpoint an upload could not reach; a generic explanation names the placeholder instead.
#[test]
fn named_captures_quote_the_evidence() {
    let log = "2026-01-01T00:00:00.000Z\tINFO\tegress\tredis/redis.go:12\tconnecting to redis\t{\"addr\": \"localhost:6379\"}\n2026-01-01T00:00:00.100Z\tERROR\tegress\tserver/main.go:80\tunable to connect to redis: dial tcp 10.1.2.3:6380: connect: connection refused\n";
    let r = crate::util::run_stdin(&["--format", "json"], log.as_bytes());
    assert!(
        r.stdout.contains("the address it tried is `10.1.2.3:6380`"),
        "{}",
        r.stdout
    );
    let log = "2026-01-01T00:00:05.000Z\tINFO\tegress\tinfo/io.go:268\tegress_failed\t{\"egressID\": \"EG_Cap7Wq2Lz8Nk\", \"outputType\": \"file\", \"error\": \"S3 upload failed: operation error S3: PutObject, https response error: Put \\\"http://minio.internal:9000/rec/a.mp4?x-id=PutObject\\\": dial tcp: lookup minio.internal on 127.0.0.11:53: no such host\"}\n";
    let r = crate::util::run_stdin(&["--format", "json"], log.as_bytes());
    assert!(
        r.stdout.contains("(`http://minio.internal:9000`)"),
        "{}",
        r.stdout
    );
    let r = crate::util::run(&["explain", "unable to connect to redis"]);
    assert!(r.stdout.contains("<redis_address>"), "{}", r.stdout);
}

/// A web egress that got 412 is told about its page, with the page's URL from the request
/// line, and not about a room with nobody publishing.
#[test]
fn a_web_egress_412_names_its_page() {
    let log = "2026-05-02T09:00:00.102Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"egressID\": \"EG_Web4Wq8Lz2Nk\", \"requestType\": \"web\", \"outputType\": \"file\", \"url\": \"https://app.example.com/record?room=abc\"}\n2026-05-02T09:00:32.500Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\t{\"egressID\": \"EG_Web4Wq8Lz2Nk\", \"error\": \"Start signal not received\", \"code\": 412, \"details\": \"End reason: Source closed\"}\n";
    let r = crate::util::run_stdin(&[], log.as_bytes());
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("web-page-no-start-signal"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("https://app.example.com/record?room=abc"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("Make sure a participant is publishing"),
        "{}",
        r.stdout
    );
}
