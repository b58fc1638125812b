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

/// The texts the pattern tests run on: every rule example (whole, line by line, and for a
/// JSON line its message with its error-like fields, as the marks see it, and each of those
/// fields alone), and the lines of
/// the files under `samples/`.
fn pattern_haystacks(set: &RuleSet) -> Vec<String> {
    let mut out = Vec::new();
    let add_lines = |text: &str, out: &mut Vec<String>| {
        for line in text.lines() {
            out.push(line.to_string());
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(line) {
                let mut t = o
                    .get("msg")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string();
                for k in ["error", "reason", "details", "endReason"] {
                    if let Some(v) = o.get(k).and_then(|v| v.as_str()) {
                        t.push_str(" | ");
                        t.push_str(v);
                        out.push(v.to_string());
                    }
                }
                out.push(t);
            }
        }
    };
    for r in &set.rules {
        for t in &r.tests {
            out.push(t.input.clone());
            add_lines(&t.input, &mut out);
        }
    }
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples"
    ))];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "log") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            add_lines(&text, &mut out);
        }
    }
    out
}

/// What one combined pattern set (every pattern in one automaton, every match reported)
/// says matches: the reference for the prefiltered sets.
fn reference_set(srcs: &[&str]) -> regex_automata::meta::Regex {
    regex_automata::meta::Builder::new()
        .configure(
            regex_automata::meta::Config::new()
                .match_kind(regex_automata::MatchKind::All)
                .auto_prefilter(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                .nfa_size_limit(Some(1 << 26)),
        )
        .syntax(
            regex_automata::util::syntax::Config::new()
                .case_insensitive(true)
                .unicode(false)
                .utf8(false),
        )
        .build_many(srcs)
        .expect("reference set")
}

fn reference_matches(re: &regex_automata::meta::Regex, hay: &[u8]) -> Vec<usize> {
    let mut set = regex_automata::PatternSet::new(re.pattern_len());
    re.which_overlapping_matches(&regex_automata::Input::new(hay), &mut set);
    set.iter().map(|p| p.as_usize()).collect()
}

fn prefiltered_matches(set: &patterns::PatternSet, hay: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    set.matches(hay, |i| out.push(i));
    out
}

/// The built-in rule base's message and raw-line sets, each with its reference.
fn sets_and_references(set: &RuleSet) -> Vec<(&patterns::PatternSet, regex_automata::meta::Regex)> {
    let srcs = |index: &[u16]| -> Vec<&str> {
        index
            .iter()
            .map(|&i| set.patterns[i as usize].as_str())
            .collect()
    };
    vec![
        (&*set.msg_set, reference_set(&srcs(&set.msg_index))),
        (&set.raw_set, reference_set(&srcs(&set.raw_index))),
    ]
}

/// The literal prefilter changes nothing: on every rule example and sample line, the message
/// and raw-line sets name exactly the patterns one combined set names, and `any` agrees.
#[test]
fn prefiltered_sets_equal_one_combined_set() {
    let set = RuleSet::load(None).expect("built-in rules");
    let hays = pattern_haystacks(&set);
    assert!(hays.len() > 1000, "{} texts", hays.len());
    let mut hits = 0;
    for (prefiltered, reference) in sets_and_references(&set) {
        for hay in &hays {
            let want = reference_matches(&reference, hay.as_bytes());
            assert_eq!(
                prefiltered_matches(prefiltered, hay.as_bytes()),
                want,
                "{hay:?}"
            );
            assert_eq!(prefiltered.any(hay.as_bytes()), !want.is_empty(), "{hay:?}");
            hits += want.len();
        }
    }
    assert!(hits > 500, "{hits} matches");
}

/// Most patterns have a literal to look for (else the prefilter saves little), and every
/// literal is one that pattern's matches contain.
#[test]
fn most_patterns_have_required_literals() {
    let set = RuleSet::load(None).expect("built-in rules");
    let srcs: Vec<&String> = set.patterns.iter().collect();
    let with = srcs
        .iter()
        .filter(|s| patterns::required_literals(s).is_some())
        .count();
    assert!(with * 10 >= srcs.len() * 9, "{with} of {}", srcs.len());
    for (src, lits) in [
        (
            "^failed to upload segment",
            vec!["failed to upload segment"],
        ),
        (r"\bOOMKilled\b", vec!["oomkilled"]),
        ("[Tt]oo many open files", vec!["too many open files"]),
        (
            r"^API Egress\.Start\w* \| no servers available",
            vec![" | no servers available"],
        ),
        (
            "(Liveness|Readiness|Startup) probe (failed|errored)",
            vec![" probe "],
        ),
        ("(GstFileSink|filesink).*Could not", vec!["could not"]),
        ("(ab|cd)x", vec![]),
        ("a?b?c?", vec![]),
        ("(?i)abc|", vec![]),
    ] {
        let got = patterns::required_literals(src).unwrap_or_default();
        let want: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        assert_eq!(got, want, "{src}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// On random texts made of pieces of the rule base's own patterns and examples, in any
    /// case, the prefiltered sets still name exactly what one combined set names.
    #[test]
    fn prefiltered_sets_equal_one_combined_set_on_random_texts(
        picks in proptest::collection::vec((0usize..1_000_000, 0usize..64, 0usize..64, 0u8..8), 1..10)
    ) {
        use std::sync::OnceLock;
        static WORDS: OnceLock<(RuleSet, Vec<String>, Vec<regex_automata::meta::Regex>)> =
            OnceLock::new();
        let (set, words, references) = WORDS.get_or_init(|| {
            let set = RuleSet::load(None).expect("built-in rules");
            let mut words: Vec<String> = set.patterns.clone();
            for r in &set.rules {
                for t in &r.tests {
                    words.extend(t.input.split_whitespace().map(str::to_string));
                }
            }
            let references = sets_and_references(&set).into_iter().map(|(_, r)| r).collect();
            (set, words, references)
        });
        let mut text = String::new();
        for (w, from, len, how) in picks {
            let w = &words[w % words.len()];
            let chars: Vec<char> = w.chars().collect();
            let from = from % (chars.len() + 1);
            let piece: String = chars[from..(from + len).min(chars.len())].iter().collect();
            let piece = match how {
                0 => piece.to_uppercase(),
                1 => piece.to_lowercase(),
                _ => piece,
            };
            text.push_str(&piece);
            text.push_str([" ", "", " | ", ": ", "\n", "_", " ", ""][how as usize]);
        }
        for (prefiltered, reference) in [&*set.msg_set, &set.raw_set].into_iter().zip(references) {
            let want = reference_matches(reference, text.as_bytes());
            proptest::prop_assert_eq!(prefiltered_matches(prefiltered, text.as_bytes()), want, "{:?}", text);
        }
    }
}

/// A rule's `error` and `details` patterns, compiled to forward lazy DFAs, say what the plain
/// regex of the same pattern says, on every rule example and sample line.
#[test]
fn lazy_patterns_equal_the_plain_regex() {
    let set = RuleSet::load(None).expect("built-in rules");
    let hays = pattern_haystacks(&set);
    let mut checked = 0;
    let mut hits = 0;
    for r in &set.rules {
        for (lazy, src) in [(&r.cond.error, "error"), (&r.cond.details, "details")] {
            let Some(lazy) = lazy else { continue };
            let plain = regex(&lazy.0.src).unwrap_or_else(|e| panic!("{} {src}: {e}", r.id));
            for hay in &hays {
                let want = plain.is_match(hay.as_bytes());
                assert_eq!(
                    lazy.is_match(hay.as_bytes()),
                    want,
                    "{} {src} on {hay:?}",
                    r.id
                );
                hits += usize::from(want);
                checked += 1;
            }
        }
    }
    assert!(
        checked > 10_000 && hits > 50,
        "{checked} checks, {hits} matches"
    );
}

/// The field conditions asked in one pass over an entry's fields (by the marks and the
/// triage) give the definition's answer, `field_condition_holds`, condition by condition:
/// on every line of the rule examples and samples, decoded, and on nested values with and
/// without the words a condition needs, escapes included.
#[test]
fn field_conditions_equal_their_definition() {
    use crate::event::{Event, FieldValue};
    // (`x = 'nbase'` holds on `{"a":"\nbase"}` only as printed, with its escape.)
    let user = RuleSet::from_texts(&[rule(
        "nested",
        &format!("title = \"t\"\nseverity = \"error\"\n[when]\nfields = {{ request = 'custom_base_url', level = 'warn', clusterID = '\\S', n = 'rue', x = 'nbase' }}\n{EXPLAIN}"),
    )])
    .expect("test rule");
    let builtin = RuleSet::load(None).expect("built-in rules");
    let mut events: Vec<Event> = pattern_haystacks(&builtin)
        .iter()
        .map(|l| crate::decode::decode_entry(l, false))
        .collect();
    for value in [
        r#"{"custom_base_url":"x"}"#,
        r#"{"a":"Custom_Base_URL here"}"#,
        r#"{"a":{"b":["x","custom_base_url"]}}"#,
        r#"{"a":"custom\nbase_url"}"#,
        r#"{"a":"\nbase"}"#,
        r#"{"a\"custom_base_url":1}"#,
        r#"{"a":"\u0063ustom_base_url"}"#,
        r#"{"a":"no such word","n":1e5,"t":true}"#,
        r#"["custom_","base_url"]"#,
        r#"{"t":true}"#,
        r#"[true,null,1.5]"#,
        r#"{}"#,
    ] {
        let json: serde_json::Value = serde_json::from_str(value).expect("test value");
        for key in ["request", "n", "clusterID", "x"] {
            let mut ev = Event::default();
            ev.fields.insert(key, FieldValue::from(json.clone()));
            events.push(ev);
        }
    }
    let mut holds = 0;
    for set in [&builtin, &user] {
        let conds = set.field_conditions();
        for ev in &events {
            let mut marks = Vec::new();
            conds.marks(ev, &mut marks);
            let want: Vec<u16> = conds
                .patterns
                .iter()
                .filter(|p| field_condition_holds(ev, &p.key, &p.re))
                .map(|p| p.idx)
                .collect();
            assert_eq!(marks, want, "{:?} {:?}", ev.raw, ev.fields);
            assert_eq!(conds.any(ev), !want.is_empty());
            holds += want.len();
        }
    }
    assert!(holds > 20, "{holds} conditions held");
}
