//! Text for the rule-base commands: `explain <CODE|TEXT>`, `rules list`, `rules show`,
//! `rules test`. `explain TEXT` reads the text as a pasted log, through the same analysis as
//! any log, so it names exactly the rules a run on that text would. Reads no input itself.

use crate::rulebase::{Expect, Rule, RuleSet};
use crate::ruletest::Outcome;
use std::fmt::Write as _;

/// What an HTTP-style status code means in LiveKit Egress (reference §3.1, §3.3, §4).
fn code_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "No code: the egress completed, or failed with a plain Go error (SDK connection errors, storage initialisation errors) that carries no psrpc code.",
        400 => "invalid_argument / malformed_request: the request or the egress configuration is invalid (missing or invalid field, bad URL, incompatible codec, page load or template error, upload failure).",
        401 => "unauthenticated: livekit-server rejected a token. For egress this means the egress api_key/api_secret do not match livekit-server's keys.",
        403 => "permission_denied: the egress was killed (CPU exhausted, OOM, server shutting down) or a feature is disabled. Any kill reports 403 with the killer's text.",
        404 => "not_found: egress, participant, track or room not found.",
        408 => "request timed out (twirp deadline_exceeded): usually StopEgress sent when no egress worker answers, e.g. the egress was SIGKILLed.",
        409 => "already_exists / aborted: a duplicate start for the same egress ID.",
        412 => "failed_precondition: egress_aborted. Almost always `Start signal not received` (the recording never started before it was stopped) or `Stop called before pipeline could start`; also StopEgress on an egress that already ended, or `output configuration does not support retry`.",
        413 => "Session limit reached: a session_limits duration or file size limit ended the egress (status EGRESS_LIMIT_REACHED).",
        429 => "resource_exhausted: too many requests.",
        500 => "internal: an internal egress error (pipeline, GStreamer, Chrome, handler crash or failure to start). A 500 reported by the handler makes the egress service shut itself down.",
        501 => "unimplemented.",
        502 => "upstream_server_error.",
        503 => "unavailable: no egress worker answered (`no response from servers`), not enough CPU, server shutting down, room connection lost, or an RTMP destination failed.",
        _ => return None,
    })
}

/// The answer to `egresslens explain QUERY`.
pub fn explain(set: &RuleSet, query: &str) -> String {
    let q = query.trim();
    let mut out = String::new();
    let code: Option<i64> = q.parse().ok();
    let rules: Vec<&Rule> = match code {
        Some(c) => {
            match code_meaning(c) {
                Some(m) => {
                    let _ = writeln!(out, "Code {c}: {m}\n");
                }
                None => {
                    let _ = writeln!(out, "Code {c} is not a status code LiveKit Egress uses.\n");
                }
            }
            // The most general rules first: they explain what the code means in most cases.
            let in_title = |r: &&Rule| {
                r.title
                    .split(|ch: char| !ch.is_ascii_digit())
                    .any(|w| w == q)
            };
            let mut v: Vec<&Rule> = set
                .rules
                .iter()
                .filter(|r| r.codes.contains(&c) || in_title(r))
                .collect();
            v.sort_by_key(|r| {
                (
                    std::cmp::Reverse(r.severity),
                    r.narrowing(),
                    r.weight(),
                    r.id.clone(),
                )
            });
            v
        }
        None => {
            let found = rules_for_paste(set, q);
            if found.is_empty() {
                set.search(q)
            } else {
                found
            }
        }
    };
    if rules.is_empty() {
        let _ = writeln!(
            out,
            "No rule matches \"{q}\". Try a shorter part of the error text, or run egresslens on the whole log (`docker logs egress 2>&1 | egresslens`)."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} rule{} match{}:\n",
        rules.len(),
        if rules.len() == 1 { "" } else { "s" },
        if rules.len() == 1 { "es" } else { "" }
    );
    for r in rules {
        let d = set.explain_rule(r);
        let _ = writeln!(
            out,
            "== {} [{}; rule {}]",
            d.title,
            d.severity.name(),
            d.rule
        );
        let _ = writeln!(out, "{}\n", d.cause);
        for (n, f) in d.fixes.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", n + 1, f);
        }
        if let Some(c) = &d.config {
            let _ = writeln!(out, "\n  config:");
            for l in c.lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
        if !d.docs.is_empty() {
            let _ = writeln!(out, "\n  docs: {}", d.docs.join("  "));
        }
        let _ = writeln!(out);
    }
    out
}

/// The rules a run on `text`, read as a pasted log, diagnoses it with: each egress's leading
/// rule and its alternatives, and the node and input findings, in that order, once each (the
/// catch-all `unrecognised` left out: it says no rule knows the text).
fn rules_for_paste<'s>(set: &'s RuleSet, text: &str) -> Vec<&'s Rule> {
    let opts = crate::analyze::Options {
        all: true,
        ..crate::analyze::Options::default()
    };
    let a = crate::analyze::analyze_bytes(set, text.as_bytes(), opts);
    let mut ids: Vec<&str> = Vec::new();
    for r in &a.egresses {
        for d in &r.diagnoses {
            ids.push(&d.rule);
            ids.extend(d.alternatives.iter().map(|alt| alt.rule.as_str()));
        }
    }
    ids.extend(a.findings.iter().map(|d| d.rule.as_str()));
    let mut out: Vec<&Rule> = Vec::new();
    for id in ids {
        if let Some(r) = set.get(id) {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    out
}

/// `rules list`.
pub fn list(set: &RuleSet) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(vec!["Rule", "Scope", "Severity", "Title"]);
    for r in &set.rules {
        t.add_row(vec![
            r.id.as_str(),
            r.scope.name(),
            r.severity.name(),
            r.title.as_str(),
        ]);
    }
    format!("{t}\n{} rules\n", set.rules.len())
}

/// `rules show ID`.
pub fn show(r: &Rule) -> String {
    format!("# {}\n{}", r.file, r.source_text)
}

/// `rules test` summary.
pub fn test_report(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in outcomes {
        let expect = match o.expect {
            Expect::Match => "match",
            Expect::Lead => "lead",
            Expect::NoMatch => "no-match",
        };
        let _ = writeln!(
            out,
            "{} {} / {} (expect {expect}){}",
            if o.passed { "ok  " } else { "FAIL" },
            o.rule,
            o.example,
            if o.passed {
                String::new()
            } else {
                format!(": led by {}", o.got)
            }
        );
    }
    let rules: std::collections::BTreeSet<&str> =
        outcomes.iter().map(|o| o.rule.as_str()).collect();
    let _ = writeln!(
        out,
        "\n{} examples of {} rules: {} passed, {} failed",
        outcomes.len(),
        rules.len(),
        outcomes.len() - failed.len(),
        failed.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::load(None).expect("built-in rules load")
    }

    /// `explain` names the rules a run on the same text names, and nothing for text no rule
    /// knows (no rule answers every query).
    #[test]
    fn explain_answers_signatures_and_only_those() {
        let set = rules();
        for nothing in ["banana", "hello world", "ok"] {
            let out = explain(&set, nothing);
            assert!(out.starts_with("No rule matches"), "{nothing}: {out}");
        }
        for (query, rule) in [
            ("Start signal not received", "start-signal-not-received"),
            ("NOAUTH Authentication required.", "redis-noauth"),
        ] {
            let out = explain(&set, query);
            assert!(out.contains(&format!("rule {rule}]")), "{query}: {out}");
            assert!(
                !out.contains("rule egress-cluster-id-set]"),
                "{query}: {out}"
            );
        }
        // Codes: the rules that give the code, or say it in their title.
        for (code, rule) in [
            ("413", "session-limit-reached"),
            ("401", "sdk-join-unauthorized"),
        ] {
            let out = explain(&set, code);
            assert!(out.contains(&format!("rule {rule}]")), "{code}: {out}");
        }
    }
}
