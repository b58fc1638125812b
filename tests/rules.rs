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
