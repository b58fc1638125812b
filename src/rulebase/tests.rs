use super::*;

fn rule(id: &str, body: &str) -> (String, String) {
    (format!("rules/{id}.toml"), format!("id = \"{id}\"\n{body}"))
}

const EXPLAIN: &str = "[explain]\ncause = \"c {room}\"\nfixes = [\"f\"]\nconfidence = \"likely\"\n[[test]]\ninput = \"x\"\nexpect = \"match\"\n[[test]]\ninput = \"y\"\nexpect = \"no-match\"\n";

#[test]
fn all_errors_reported_with_file_and_field() {
    let files = vec![
        rule("bad-one", &format!("title = \"t\"\nseverity = \"fatal\"\n[when]\nstatus = [\"nope\"]\nerror = \"(\"\n{EXPLAIN}")),
        rule("bad-two", "title = \"t\"\nseverity = \"error\"\nunknown_key = 1\n"),
        ("rules/other-name.toml".to_string(), format!("id = \"mismatch\"\ntitle = \"t\"\nseverity = \"error\"\n[when]\ncode = [1]\n{EXPLAIN}")),
    ];
    let errs = RuleSet::from_texts(&files).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter().any(|e| e.contains("bad-one.toml: severity")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|e| e.contains("bad-one.toml: when.status")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|e| e.contains("bad-one.toml: when.error")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("bad-two.toml") && e.contains("unknown_key")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|e| e.contains("other-name.toml: id")),
        "{text:?}"
    );
}

#[test]
fn unknown_placeholder_is_an_error() {
    let files = vec![rule(
        "p",
        "title = \"t\"\nseverity = \"error\"\n[when]\ncode = [1]\n[explain]\ncause = \"{nope}\"\nfixes = [\"f\"]\nconfidence = \"likely\"\n[[test]]\ninput = \"x\"\nexpect = \"match\"\n[[test]]\ninput = \"y\"\nexpect = \"no-match\"\n",
    )];
    let errs = RuleSet::from_texts(&files).unwrap_err();
    assert!(errs[0].to_string().contains("unknown placeholder"));
}

#[test]
fn durations() {
    assert_eq!(file::parse_duration("10s"), Some(10.0));
    assert_eq!(file::parse_duration("500ms"), Some(0.5));
    assert_eq!(file::parse_duration("2m"), Some(120.0));
    assert_eq!(file::parse_duration("x"), None);
}

#[test]
fn render_templates() {
    let facts: Facts = vec![("room", "`r`".into())];
    assert_eq!(
        render("in {room} {count} {x} {", &facts, Some(3), &[]),
        "in `r` 3 {x} {"
    );
    // Captured values fill their placeholders; facts come first; `{{x}}` stays literal.
    let caught = vec![("x".to_string(), "`10.0.0.1:6379`".to_string())];
    assert_eq!(
        render("{x} in {room}, {{x}}", &facts, None, &caught),
        "`10.0.0.1:6379` in `r`, {x}"
    );
}

#[test]
fn capture_names_are_read_from_patterns() {
    assert_eq!(
        capture_names(r"dial tcp (?P<redis_address>\S+): (?<why>.+)"),
        vec!["redis_address".to_string(), "why".to_string()]
    );
    assert!(capture_names("no groups (here)").is_empty());
}

#[test]
fn human_durations() {
    assert_eq!(human_secs(0.25), "250 ms");
    assert_eq!(human_secs(34.6), "34.6 s");
    assert_eq!(human_secs(125.0), "2 min 05 s");
}

#[test]
fn builtin_rules_load() {
    let set = RuleSet::load(None).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(!set.rules.is_empty());
}

/// The lean rule set used for analysis (built-in examples cut, patterns not checked again)
/// holds the same rules and reaches the same verdicts as the full one.
#[test]
fn lean_rules_equal_full_rules() {
    let full = RuleSet::load(None).expect("full rules");
    let lean = RuleSet::load_for_analysis(None).expect("lean rules");
    let ids = |s: &RuleSet| s.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&full), ids(&lean));
    let mut checked = 0;
    for r in &full.rules {
        for t in &r.tests {
            let verdict = |set: &RuleSet| {
                let a = crate::analyze::analyze_bytes(set, t.input.as_bytes(), Default::default());
                let leads: Vec<_> = a
                    .egresses
                    .iter()
                    .map(|e| {
                        e.diagnoses
                            .iter()
                            .map(|d| d.rule.clone())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let findings: Vec<_> = a.findings.iter().map(|d| d.rule.clone()).collect();
                (leads, findings)
            };
            assert_eq!(verdict(&full), verdict(&lean), "{} / {}", r.id, t.name);
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} examples");
}

/// The rules an egress is checked against at its end (only those its status admits) are all
/// the rules it meets: on every rule example, and on each example's egresses with every other
/// status, open at the end or not.
#[test]
fn rules_by_status_leave_out_no_matching_rule() {
    // `Status::ALL` lists every status at its own index (this match stops compiling when a
    // status is added, as a reminder to list it).
    for (i, s) in Status::ALL.iter().enumerate() {
        match s {
            Status::Starting
            | Status::Active
            | Status::Ending
            | Status::Complete
            | Status::Failed
            | Status::Aborted
            | Status::LimitReached
            | Status::Unknown => assert_eq!(*s as usize, i),
        }
    }
    let set = RuleSet::load(None).expect("built-in rules");
    let every_rule = |e: &Egress, g: &Global| -> Vec<&str> {
        set.rules
            .iter()
            .filter(|r| r.scope == Scope::Egress && egress_rule_applies(r, e, g))
            .map(|r| r.id.as_str())
            .collect()
    };
    let mut checked = 0;
    let mut matched = 0;
    for r in &set.rules {
        for t in &r.tests {
            let a = crate::analyze::analyze_bytes(&set, t.input.as_bytes(), Default::default());
            for res in &a.egresses {
                for status in Status::ALL {
                    for open_at_end in [false, true] {
                        let mut e = res.egress.clone();
                        e.status = status;
                        e.open_at_end = open_at_end;
                        let by_status: Vec<&str> = set
                            .matched_egress(&e, &a.global)
                            .iter()
                            .map(|r| r.id.as_str())
                            .collect();
                        let all = every_rule(&e, &a.global);
                        assert_eq!(by_status, all, "{} / {} as {status:?}", r.id, t.name);
                        matched += all.len();
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(
        checked > 1000 && matched > 100,
        "{checked} egresses, {matched} matches"
    );
}

#[test]
fn release_versions_are_read_and_ordered() {
    use super::Version;
    assert_eq!(Version::parse("v1.14.1"), Some(Version(1, 14, 1)));
    assert_eq!(Version::parse("1.8"), Some(Version(1, 8, 0)));
    assert_eq!(Version::parse("1.9.0-rc1"), Some(Version(1, 9, 0)));
    assert!(Version::parse("1.13.0") < Version::parse("1.14.0"));
    assert!(Version::parse("1.8.5") < Version::parse("1.10.0"));
    for bad in ["", "latest", "1.x", "1.2.3.4"] {
        assert_eq!(Version::parse(bad), None, "{bad}");
    }
}
