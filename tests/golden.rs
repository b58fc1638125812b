//! Golden tests: the report for every sample and field case, and the terms each field case's
//! diagnosis must contain.

use crate::util::{golden, root, run};
use std::path::PathBuf;

fn field_cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("samples/field-cases"))
        .expect("samples/field-cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input.log").exists())
        .collect();
    v.sort();
    v
}

fn expect_terms(case: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(case.join("case.toml")).expect("case.toml");
    let v: toml::Value = toml::from_str(&text).expect("case.toml parses");
    v.get("expect_terms")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

/// A case whose `case.toml` says `diagnosed = false`: collected from a real thread, but no
/// rule explains it yet (its golden report is still kept, so a change shows).
fn pending(case: &std::path::Path) -> bool {
    let text = std::fs::read_to_string(case.join("case.toml")).expect("case.toml");
    let v: toml::Value = toml::from_str(&text).expect("case.toml parses");
    v.get("diagnosed").and_then(toml::Value::as_bool) == Some(false)
}

#[test]
fn field_cases_are_diagnosed_with_their_terms() {
    let cases = field_cases();
    assert!(cases.len() >= 6);
    let mut problems = Vec::new();
    for case in cases.into_iter().filter(|c| !pending(c)) {
        let rel = case.strip_prefix(root()).expect("rel").join("input.log");
        let rel = rel.to_str().expect("utf8");
        let r = run(&["--format", "markdown", rel]);
        let out = r.stdout.to_lowercase();
        if r.code != 1 {
            problems.push(format!("{rel}: exit {} (want 1)", r.code));
        }
        let missing: Vec<String> = expect_terms(&case)
            .into_iter()
            .filter(|t| !out.contains(t.as_str()))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("{rel}: report lacks {missing:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn golden_reports() {
    let mut inputs: Vec<String> = field_cases()
        .iter()
        .map(|c| {
            c.strip_prefix(root())
                .expect("rel")
                .join("input.log")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut samples: Vec<String> = std::fs::read_dir(root().join("samples"))
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log" || x == "gz"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("rel")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    samples.sort();
    inputs.extend(samples);
    for input in inputs {
        let name = input.replace(['/', '.'], "_");
        for (fmt, ext) in [("table", "txt"), ("markdown", "md"), ("json", "json")] {
            let r = run(&["--format", fmt, &input]);
            assert!(r.stderr.is_empty(), "{input}: stderr: {}", r.stderr);
            golden(
                &root().join(format!("tests/golden/{name}.{ext}")),
                &r.stdout,
            );
        }
    }
}
