//! Every rule file loads, and every rule's embedded examples behave as they say.

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
    use egresslens::correlate::{Marker, Status};
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
