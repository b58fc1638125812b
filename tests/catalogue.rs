//! The failure catalogue: every failure mode of the reference (egress-logs.md §7, modes 1-40)
//! has a realistic sample `samples/catalogue/NN-<rule>.log` on which `<rule>` leads.

use egresslens::analyze::{analyze_bytes, Options};
use egresslens::rulebase::RuleSet;

#[test]
fn every_mode_has_a_sample_on_which_its_rule_leads() {
    let rules = RuleSet::load(None).expect("rules");
    let dir = crate::util::root().join("samples/catalogue");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("samples/catalogue")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    entries.sort();
    let mut modes = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for path in entries {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let Some((num, rule)) = name.split_once('-') else {
            problems.push(format!("{name}: name is not NN-<rule>"));
            continue;
        };
        let n: u32 = num.parse().expect("two-digit mode number");
        modes.insert(n);
        if rules.get(rule).is_none() {
            problems.push(format!("{name}: no rule `{rule}`"));
            continue;
        }
        let data = std::fs::read(&path).expect("read sample");
        // `--all`: a normal completion (mode 40) is shown only then.
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let a = analyze_bytes(&rules, &data, opts);
        let leads: Vec<&str> = a
            .egresses
            .iter()
            .filter_map(|r| r.diagnoses.first())
            .chain(a.findings.iter())
            .map(|d| d.rule.as_str())
            .collect();
        if !leads.contains(&rule) {
            problems.push(format!(
                "{name}: `{rule}` does not lead (leading: {leads:?})"
            ));
        }
        let evidence_ok = a
            .egresses
            .iter()
            .flat_map(|r| r.diagnoses.iter())
            .chain(a.findings.iter())
            .filter(|d| d.rule == rule)
            .all(|d| !d.evidence.is_empty() && !d.fixes.is_empty());
        if !evidence_ok {
            problems.push(format!("{name}: `{rule}` has no evidence or no fix"));
        }
    }
    let missing: Vec<u32> = (1..=40).filter(|n| !modes.contains(n)).collect();
    if !missing.is_empty() {
        problems.push(format!("no sample for modes {missing:?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
