//! `check-config` and `--config`: the real binary on the sample config sets in
//! samples/config/<set>/, its formats, exit codes, errors, secrecy and the link from log
//! diagnoses to config findings.

use crate::util::{assert_keys_sorted, root, run};
use serde_json::Value;

const ORIGIN_LOG: &str = "samples/origin-412.log";

fn set(name: &str) -> Vec<String> {
    let dir = root().join("samples/config").join(name);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("sample set")
        .flatten()
        .map(|e| format!("samples/config/{name}/{}", e.file_name().to_string_lossy()))
        .collect();
    files.sort();
    files
}

fn check(args: &[&str], files: &[String]) -> crate::util::Run {
    let mut all: Vec<&str> = vec!["check-config"];
    all.extend_from_slice(args);
    all.extend(files.iter().map(String::as_str));
    run(&all)
}

fn json(files: &[String]) -> (i32, Value) {
    let r = check(&["--format", "json"], files);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("json: {e}\n{}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

fn checks(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["check"].as_str().expect("check").to_string())
        .collect()
}

#[test]
fn origin_config_table_names_lines_keys_and_fixes() {
    let r = check(&[], &set("origin"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    for term in [
        "1 error, 1 warning",
        "egress.yaml:5",
        "log_level",
        "logging:",
        "level: debug",
        "egress.yaml:9",
        "template_base",
        "livekit-server's signalling port",
        "Start signal not received",
        "assumes egress runs in a container",
    ] {
        assert!(
            r.stdout.contains(term),
            "missing {term:?} in:\n{}",
            r.stdout
        );
    }
}

#[test]
fn json_contract() {
    let (code, v) = json(&set("origin"));
    assert_eq!(code, 1);
    assert_eq!(v["schema"], "egresslens.check.v1");
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["warnings"], 1);
    assert_eq!(v["files"][0]["kind"], "egress");
    let f = &v["findings"][0];
    for key in [
        "file", "line", "key", "severity", "message", "fix", "check", "title",
    ] {
        assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
    }
    assert_eq!(f["file"], "samples/config/origin/egress.yaml");
    assert_eq!(f["line"], 5);
    assert_eq!(f["key"], "log_level");
    assert_eq!(f["severity"], "warning");
    assert_eq!(v["findings"][1]["check"], "template-base-livekit");
    assert_eq!(v["findings"][1]["severity"], "error");
    assert!(v["notes"].is_array());
}

#[test]
fn markdown_report() {
    let r = check(&["--format", "markdown"], &set("origin"));
    assert_eq!(r.code, 1);
    assert!(r
        .stdout
        .starts_with("# Egress config check: 1 error, 1 warning"));
    assert!(r.stdout.contains("| Severity | Where | Key | Problem |"));
    assert!(r.stdout.contains("## error: "));
    assert!(
        r.stdout.contains("```yaml\nlogging:\n  level: debug\n```"),
        "{}",
        r.stdout
    );
}

#[test]
fn good_sets_are_clean_in_every_format() {
    for name in ["good", "good-host-network"] {
        let files = set(name);
        let (code, v) = json(&files);
        assert_eq!(code, 0, "{name}: {v}");
        assert!(
            v["findings"].as_array().expect("array").is_empty(),
            "{name}: {v}"
        );
        assert_eq!(v["files"].as_array().expect("files").len(), 3);
        let r = check(&[], &files);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("no problems found"), "{}", r.stdout);
        let r = check(&["--format", "markdown"], &files);
        assert_eq!(r.code, 0);
        assert!(r
            .stdout
            .starts_with("# Egress config check: no problems found"));
    }
}

#[test]
fn bad_sets_find_their_problems() {
    let cases: &[(&str, &[&str])] = &[
        (
            "localhost",
            &["ws-url-localhost", "redis-address-localhost"],
        ),
        ("key-mismatch", &["api-key-unknown"]),
        ("server-without-redis", &["livekit-redis-missing"]),
        (
            "minio",
            &[
                "s3-endpoint-localhost",
                "s3-path-style-missing",
                "s3-region-missing",
                "backup-missing",
            ],
        ),
        (
            "sandbox-cpus",
            &[
                "cluster-id-set",
                "chrome-sandbox-seccomp",
                "cpus-too-few",
                "compose-config-not-mounted",
            ],
        ),
        (
            "typos",
            &[
                "ignored-key",
                "misspelled-key",
                "type-error",
                "duration-as-number",
                "ws-url-tls",
                "api-key-placeholder",
                "template-base-port",
                "redis-address-empty",
            ],
        ),
        (
            "inline-body",
            &["ws-url-localhost", "livekit-redis-missing"],
        ),
    ];
    for (name, want) in cases {
        let (code, v) = json(&set(name));
        assert_eq!(code, 1, "{name}");
        let got = checks(&v);
        for w in *want {
            assert!(got.iter().any(|g| g == w), "{name}: no {w} in {got:?}");
        }
    }
}

#[test]
fn inline_body_findings_point_into_the_compose_file() {
    let (_, v) = json(&set("inline-body"));
    let f = v["findings"]
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["check"] == "ws-url-localhost")
        .expect("finding");
    assert_eq!(f["file"], "samples/config/inline-body/docker-compose.yaml");
    assert_eq!(f["line"], 14);
}

#[test]
fn secrets_never_appear_in_any_format() {
    let secrets = [
        "minio-super-secret-password",
        "0ld-rotated-secret-that-livekit-no-longer-has-0001",
        "current-egress-secret-value-00000000000000000002",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAIOSFODNN7EXAMPLE",
    ];
    for name in ["minio", "key-mismatch", "typos"] {
        for fmt in ["table", "markdown", "json"] {
            let r = check(&["--format", fmt], &set(name));
            for s in secrets {
                assert!(
                    !r.stdout.contains(s),
                    "{name}/{fmt} shows a secret:\n{}",
                    r.stdout
                );
            }
        }
    }
}

#[test]
fn syntax_error_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("egress.yaml");
    std::fs::write(
        &p,
        "api_key: k\nws_url: ws://livekit:7880\nredis:\n  address: [redis:6379\n",
    )
    .expect("write");
    let r = run(&["check-config", p.to_str().expect("utf8")]);
    assert_eq!(r.code, 2);
    let prefix = format!("error: {}: line ", p.display());
    assert!(r.stderr.starts_with(&prefix), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    // Duplicate keys are rejected by egress's parser too.
    std::fs::write(&p, "api_key: a\napi_key: b\n").expect("write");
    let r = run(&["check-config", p.to_str().expect("utf8")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
}

#[test]
fn unknown_kind_missing_file_and_override() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("settings.yaml");
    std::fs::write(&p, "redis:\n  address: localhost:6379\n").expect("write");
    let path = p.to_str().expect("utf8");
    let r = run(&["check-config", path]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("egress="), "{}", r.stderr);
    let r = run(&[
        "check-config",
        "--format",
        "json",
        &format!("egress={path}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["files"][0]["detected_by"], "named on the command line");
    assert!(checks(&v).contains(&"redis-address-localhost".to_string()));
    let r = run(&["check-config", "no/such/egress.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: no/such/egress.yaml:"),
        "{}",
        r.stderr
    );
    let r = run(&["check-config"]);
    assert_eq!(r.code, 2);
}

#[test]
fn output_file_is_atomic_and_exit_zero_works() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("check.json");
    let mut args = vec![
        "--format".to_string(),
        "json".into(),
        "-o".into(),
        out.to_str().expect("utf8").into(),
    ];
    args.extend(set("origin"));
    let argv: Vec<&str> = std::iter::once("check-config")
        .chain(args.iter().map(String::as_str))
        .collect();
    let r = run(&argv);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    assert_eq!(v["schema"], "egresslens.check.v1");
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    let r = check(&["--exit-zero"], &set("origin"));
    assert_eq!(r.code, 0);
}

#[test]
fn colour_and_control_characters() {
    let r = check(&[], &set("origin"));
    assert!(!r.stdout.contains('\u{1b}'));
    let r = check(&["--color", "always"], &set("origin"));
    assert!(r.stdout.contains('\u{1b}'));
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("egress.yaml");
    std::fs::write(
        &p,
        "ws_url: ws://livekit:7880\n\"\\e]0;pwned\\a\\e[31mevil_key\": 1\n",
    )
    .expect("write");
    for fmt in ["table", "markdown", "json"] {
        let r = run(&["check-config", "--format", fmt, p.to_str().expect("utf8")]);
        assert!(
            !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'),
            "{fmt}: {:?}",
            r.stdout
        );
        assert!(r.stdout.contains("evil_key"), "{fmt}");
    }
}

#[test]
fn config_confirms_a_log_diagnosis_in_every_format() {
    let cfg = "samples/config/origin/egress.yaml";
    let r = run(&["--config", cfg, ORIGIN_LOG]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("Config check"), "{}", r.stdout);
    assert!(r.stdout.contains("line 9 (template_base)"), "{}", r.stdout);
    assert!(r.stdout.contains("confirms the diagnosis"));
    assert!(
        r.stdout.contains("check-config"),
        "hint missing:\n{}",
        r.stdout
    );
    let r = run(&["--format", "markdown", "--config", cfg, ORIGIN_LOG]);
    assert!(r.stdout.contains("**Config check**"), "{}", r.stdout);
    assert!(r.stdout.contains("confirms the diagnosis"));
    let r = run(&["--format", "json", "--config", cfg, ORIGIN_LOG]);
    assert_keys_sorted(&r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["schema"], "egresslens.report.v1");
    let d = &v["egresses"][0]["diagnoses"][0];
    assert_eq!(d["rule"], "start-signal-not-received");
    let notes = d["config_check"].as_array().expect("config_check");
    let n = notes
        .iter()
        .find(|n| n["check"] == "template-base-livekit")
        .expect("note");
    assert_eq!(n["verdict"], "confirms");
    assert_eq!(n["file"], cfg);
    assert_eq!(n["line"], 9);
    assert_eq!(n["key"], "template_base");
    // Without --config the report is unchanged: no `config_check` field.
    let r = run(&["--format", "json", ORIGIN_LOG]);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert!(v["egresses"][0]["diagnoses"][0]
        .get("config_check")
        .is_none());
}

#[test]
fn localhost_config_confirms_ws_url() {
    let files = set("localhost");
    let mut args = vec!["--format", "json"];
    for f in &files {
        args.push("--config");
        args.push(f);
    }
    args.push(ORIGIN_LOG);
    let r = run(&args);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    let notes = v["egresses"][0]["diagnoses"][0]["config_check"]
        .as_array()
        .expect("notes")
        .clone();
    let ws = notes
        .iter()
        .find(|n| n["check"] == "ws-url-localhost")
        .expect("ws note");
    assert_eq!(ws["line"], 4);
    assert!(ws["text"]
        .as_str()
        .expect("text")
        .contains("ws://localhost:7880"));
}

#[test]
fn good_config_does_not_confirm() {
    let files = set("good");
    let mut args = vec!["--format", "json"];
    for f in &files {
        args.push("--config");
        args.push(f);
    }
    args.push(ORIGIN_LOG);
    let r = run(&args);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    let n = &v["egresses"][0]["diagnoses"][0]["config_check"][0];
    assert_eq!(n["verdict"], "not_found");
    assert!(n["text"]
        .as_str()
        .expect("text")
        .contains("found nothing wrong with ws_url"));
}

#[test]
fn config_flag_errors() {
    let r = run(&["--config", "no/such.yaml", ORIGIN_LOG]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: no/such.yaml"), "{}", r.stderr);
    let r = run(&[
        "-f",
        "--config",
        "samples/config/origin/egress.yaml",
        ORIGIN_LOG,
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--follow"), "{}", r.stderr);
}
