//! Which config checks bear on which log diagnoses, as data (rule-id fragments -> check-id
//! prefixes), and the step that adds a `config_check` note to each diagnosis of an analysis
//! saying whether the configuration confirms it. It adds notes only; it changes no
//! diagnosis, severity or exit code, and formats nothing.

use super::{CheckReport, Finding, Kind, Severity};
use crate::analyze::Analysis;
use crate::rulebase::Diagnosis;

/// Links rules to the config checks that can confirm them.
struct Link {
    /// A rule matches when its id contains one of these fragments.
    rules: &'static [&'static str],
    /// Check ids (prefixes) that confirm such a diagnosis.
    checks: &'static [&'static str],
    /// What the checks look at, for the "nothing found" note.
    topic: &'static str,
    /// Files the checks need to say anything.
    needs: &'static [Kind],
}

/// The mapping. Add a line here when a rule gains a config counterpart.
const LINKS: &[Link] = &[
    Link {
        rules: &[
            "start-signal",
            "ws-url",
            "signal-connection",
            "signal-connect",
            "could-not-connect",
            "websocket-url",
            "room-join",
        ],
        checks: &[
            "ws-url-",
            "insecure-",
            "template-base-",
            "api-key-",
            "api-secret-",
            "host-unknown-service",
        ],
        topic: "ws_url, insecure, template_base, api_key/api_secret",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &[
            "key-mismatch",
            "invalid-api-key",
            "unauthorized",
            "api-key",
            "api-secret",
            "invalid-token",
            "missing-credentials",
            "credentials-missing",
            "keys-rejected",
            "api-credentials",
        ],
        checks: &["api-key-", "api-secret-"],
        topic: "api_key/api_secret against livekit-server's keys",
        needs: &[Kind::Egress, Kind::Livekit],
    },
    Link {
        rules: &[
            "redis",
            "no-response",
            "no-worker",
            "not-connected",
            "no-egress",
            "unreachable-worker",
            "workers-not-reached",
            "no-requests",
            "livekit-unreachable",
            "io-create",
            "io-client",
        ],
        checks: &[
            "redis-",
            "livekit-redis-",
            "cluster-id",
            "cpus-too-few",
            "host-unknown-service",
        ],
        topic: "redis (egress and livekit-server), cluster_id, CPUs",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &["cluster"],
        checks: &["cluster-id"],
        topic: "cluster_id",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &["s3", "upload", "storage", "bucket", "minio", "path-style"],
        checks: &["s3-", "storage-", "backup-", "ignored-key"],
        topic: "storage (endpoint, force_path_style, region, bucket, backup)",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &["chrome", "sandbox"],
        checks: &["chrome-sandbox", "cpus-too-few"],
        topic: "enable_chrome_sandbox and the container's seccomp profile and CPUs",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &["cpu", "capacity", "pulse"],
        checks: &["cpus-too-few"],
        topic: "the container's CPU limit against cpu_cost",
        needs: &[Kind::Compose],
    },
    Link {
        rules: &["template", "page-load"],
        checks: &["template-base-", "port-conflict"],
        topic: "template_base and template_port",
        needs: &[Kind::Egress],
    },
    Link {
        rules: &[
            "missing-config",
            "config-parse",
            "parse-config",
            "bad-config",
        ],
        checks: &["compose-config-", "type-error", "duration-as-number"],
        topic: "how the config reaches egress, and its types",
        needs: &[Kind::Egress],
    },
];

/// Whether the configuration confirms a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A config finding explains the failure.
    Confirms,
    /// The checked settings look right: the cause is probably elsewhere.
    NotFound,
}

impl Verdict {
    /// Lowercase name (JSON).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Confirms => "confirms",
            Verdict::NotFound => "not_found",
        }
    }
}

/// One `config_check` line under a diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub verdict: Verdict,
    /// The sentence to show.
    pub text: String,
    /// The finding it rests on (none for `NotFound`).
    pub finding: Option<Finding>,
}

/// Notes for one rule id.
pub fn notes_for(rule: &str, report: &CheckReport) -> Vec<Note> {
    let links: Vec<&Link> = LINKS
        .iter()
        .filter(|l| l.rules.iter().any(|r| rule.contains(r)))
        .collect();
    if links.is_empty() {
        return Vec::new();
    }
    let mut notes = Vec::new();
    for f in &report.findings {
        if f.severity < Severity::Warning && f.check != "ws-url-docker-host" {
            continue;
        }
        let hit = links
            .iter()
            .any(|l| l.checks.iter().any(|c| f.check.starts_with(c)));
        if hit && !notes.iter().any(|n: &Note| n.finding.as_ref() == Some(f)) {
            notes.push(Note {
                verdict: Verdict::Confirms,
                text: format!(
                    "{} ({}): {}; this {} the diagnosis.",
                    f.place(),
                    f.key,
                    f.title,
                    if f.severity == Severity::Info {
                        "may explain"
                    } else {
                        "confirms"
                    }
                ),
                finding: Some(f.clone()),
            });
        }
    }
    if notes.is_empty() {
        let topics: Vec<&str> = links.iter().map(|l| l.topic).collect();
        let files: Vec<&str> = report.files.iter().map(|(n, _, _)| n.as_str()).collect();
        let missing: Vec<&str> = links
            .iter()
            .flat_map(|l| l.needs.iter())
            .filter(|k| !report.checked(**k))
            .map(|k| k.file_label())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut text = format!(
            "The config check of {} found nothing wrong with {}, so the configuration does not confirm this diagnosis: look at the other causes.",
            files.join(", "),
            topics.join("; ")
        );
        if !missing.is_empty() {
            text.push_str(&format!(
                " ({} not given, so part of this was not checked.)",
                missing.join(", ")
            ));
        }
        notes.push(Note {
            verdict: Verdict::NotFound,
            text,
            finding: None,
        });
    }
    notes
}

fn annotate_one(d: &mut Diagnosis, report: &CheckReport) {
    d.config_check = notes_for(&d.rule, report);
}

/// Adds `config_check` notes to every diagnosis of the analysis, and a hint naming the
/// config problems when there are any.
pub fn annotate(a: &mut Analysis, report: &CheckReport) {
    for r in &mut a.egresses {
        for d in &mut r.diagnoses {
            annotate_one(d, report);
        }
    }
    for d in &mut a.findings {
        annotate_one(d, report);
    }
    let problems = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .count();
    if problems > 0 {
        let files: Vec<&str> = report.files.iter().map(|(n, _, _)| n.as_str()).collect();
        a.hints.push(format!(
            "The config check found {problems} problem{} in {}: run `egresslens check-config {}` for the full list.",
            if problems == 1 { "" } else { "s" },
            files.join(", "),
            files.join(" ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: &'static str, sev: Severity) -> Finding {
        Finding {
            check,
            file: "egress.yaml".into(),
            line: Some(3),
            key: "ws_url".into(),
            severity: sev,
            title:
                "`ws_url: ws://localhost:7880` is not reachable from inside the egress container"
                    .into(),
            message: String::new(),
            fix: String::new(),
        }
    }

    fn report(findings: Vec<Finding>) -> CheckReport {
        CheckReport {
            files: vec![("egress.yaml".into(), Kind::Egress, String::new())],
            findings,
            notes: Vec::new(),
        }
    }

    #[test]
    fn confirms_with_a_linked_finding() {
        let n = notes_for(
            "start-signal-not-received",
            &report(vec![finding("ws-url-localhost", Severity::Error)]),
        );
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].verdict, Verdict::Confirms);
        assert!(
            n[0].text
                .starts_with("egress.yaml line 3 (ws_url): `ws_url: ws://localhost:7880`"),
            "{}",
            n[0].text
        );
        assert!(n[0].text.contains("confirms the diagnosis"));
    }

    #[test]
    fn says_when_nothing_is_found() {
        let n = notes_for(
            "start-signal-not-received",
            &report(vec![finding("s3-path-style-missing", Severity::Error)]),
        );
        assert_eq!(n[0].verdict, Verdict::NotFound);
        assert!(
            n[0].text.contains("found nothing wrong with ws_url"),
            "{}",
            n[0].text
        );
        let n = notes_for("api-key-mismatch", &report(Vec::new()));
        assert!(
            n[0].text.contains("livekit.yaml not given"),
            "{}",
            n[0].text
        );
    }

    #[test]
    fn unrelated_rules_get_no_note() {
        assert!(notes_for(
            "session-limit-reached",
            &report(vec![finding("ws-url-localhost", Severity::Error)])
        )
        .is_empty());
        assert!(notes_for("unrecognised", &report(Vec::new())).is_empty());
    }

    #[test]
    fn info_findings_do_not_confirm() {
        let n = notes_for(
            "start-signal-not-received",
            &report(vec![finding("template-base-default", Severity::Info)]),
        );
        assert_eq!(n[0].verdict, Verdict::NotFound);
    }
}
