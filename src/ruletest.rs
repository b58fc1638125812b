//! Runs the examples embedded in rule files through the whole analysis and checks that each
//! rule fires (or leads, or stays silent) as its examples say. Used by `egresslens rules
//! test` and by `cargo test`.

use crate::analyze::{analyze_bytes, stalls_at_end, Analysis, Options, Stall};
use crate::rulebase::{Expect, RuleSet};

/// The result of one example.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rule: String,
    pub example: String,
    pub expect: Expect,
    pub passed: bool,
    /// What actually led, for failure messages.
    pub got: String,
}

/// Rules that fired in an analysis: (rule id, led).
pub fn fired(a: &Analysis) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let diags = a
        .egresses
        .iter()
        .flat_map(|r| r.diagnoses.iter().enumerate().map(|(i, d)| (i == 0, d)))
        .chain(a.findings.iter().map(|d| (true, d)));
    for (lead, d) in diags {
        out.push((d.rule.clone(), lead));
        for alt in &d.alternatives {
            out.push((alt.rule.clone(), false));
        }
    }
    out
}

/// Rules that described stalls: (rule id, led).
pub fn fired_stalls(stalls: &[Stall]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for s in stalls {
        for (i, d) in s.result.diagnoses.iter().enumerate() {
            out.push((d.rule.clone(), i == 0));
            for alt in &d.alternatives {
                out.push((alt.rule.clone(), false));
            }
        }
    }
    out
}

/// Runs the examples of the rules whose ids are in `only` (all when `None`), analysing each
/// example against the whole `set`.
pub fn run(set: &RuleSet, only: Option<&[String]>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for rule in &set.rules {
        if only.is_some_and(|ids| !ids.contains(&rule.id)) {
            continue;
        }
        for t in &rule.tests {
            let f = if rule.stall_kinds().is_empty() {
                let a = analyze_bytes(
                    set,
                    t.input.as_bytes(),
                    Options {
                        all: true,
                        ..Options::default()
                    },
                );
                fired(&a)
            } else {
                // A stall rule describes an egress that is still open: check the egresses the
                // example leaves open as follow mode would once they have stalled.
                fired_stalls(&stalls_at_end(set, t.input.as_bytes()))
            };
            let hit = f.iter().any(|(r, _)| *r == rule.id);
            let led = f.iter().any(|(r, lead)| *r == rule.id && *lead);
            let passed = match t.expect {
                Expect::Match => hit,
                Expect::Lead => led,
                Expect::NoMatch => !hit,
            };
            let got = f
                .iter()
                .filter(|(_, lead)| *lead)
                .map(|(r, _)| r.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            out.push(Outcome {
                rule: rule.id.clone(),
                example: t.name.clone(),
                expect: t.expect,
                passed,
                got: if got.is_empty() {
                    "nothing".into()
                } else {
                    got
                },
            });
        }
    }
    out
}
