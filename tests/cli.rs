//! Command-line contract: inputs, exit codes, output files, formats, errors.

use crate::util::{root, run, run_stdin};

const ORIGIN: &str = "samples/origin-412.log";

#[test]
fn origin_on_stdin_names_start_signal_ws_url_and_fix() {
    let input = std::fs::read(root().join(ORIGIN)).expect("sample");
    let r = run_stdin(&[], &input);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let out = r.stdout.to_lowercase();
    for term in [
        "start signal",
        "ws_url",
        "inside the egress container",
        "ws://livekit:7880",
    ] {
        assert!(out.contains(term), "missing {term:?} in:\n{}", r.stdout);
    }
}

#[test]
fn origin_json_contract() {
    let r = run(&["--format", "json", ORIGIN]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["schema"], "egresslens.report.v1");
    assert_eq!(v["summary"]["failed"], 1);
    let e = &v["egresses"][0];
    assert_eq!(e["status"], "aborted");
    assert_eq!(e["code"], 412);
    assert!(e["egress_id"].is_null());
    assert_eq!(e["diagnoses"][0]["rule"], "start-signal-not-received");
    for key in [
        "rule",
        "title",
        "severity",
        "confidence",
        "cause",
        "fixes",
        "config",
        "docs",
        "evidence",
    ] {
        assert!(
            e["diagnoses"][0].get(key).is_some(),
            "diagnosis lacks {key}"
        );
    }
    let ev = &e["diagnoses"][0]["evidence"][0];
    assert_eq!(ev["source"], ORIGIN);
    assert_eq!(ev["line"], 1);
    for key in ["sources", "lines", "bytes", "raw_lines", "formats"] {
        assert!(v["input"].get(key).is_some(), "input lacks {key}");
    }
    for key in ["egresses", "failed", "completed", "in_progress"] {
        assert!(v["summary"].get(key).is_some(), "summary lacks {key}");
    }
    assert!(v["findings"].is_array());
}

#[test]
fn exit_zero_flag() {
    let r = run(&["--exit-zero", ORIGIN]);
    assert_eq!(r.code, 0);
}

#[test]
fn empty_input_says_so_and_exits_0() {
    let r = run_stdin(&[], b"");
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("No log lines"), "{}", r.stdout);
}

#[test]
fn missing_file_is_error_2() {
    let r = run(&["no/such/file.log"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: no/such/file.log:"),
        "{}",
        r.stderr
    );
}

#[test]
fn directory_is_error_2() {
    let r = run(&["samples"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("directory"), "{}", r.stderr);
}

#[test]
fn bad_option_value_is_error_2() {
    let r = run(&["--format", "xml", ORIGIN]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("xml"));
}

#[test]
fn output_file_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("incident.md");
    let r = run(&[
        "--format",
        "markdown",
        "-o",
        out.to_str().expect("utf8"),
        ORIGIN,
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let text = std::fs::read_to_string(&out).expect("report");
    assert!(text.starts_with("# Egress incident report"));
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn unwritable_output_is_error_2() {
    let r = run(&["-o", "/nonexistent-dir/x/report.md", ORIGIN]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: cannot write /nonexistent-dir/x/report.md"),
        "{}",
        r.stderr
    );
}

#[test]
fn gzip_input_is_read() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let gz = dir.path().join("egress.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(root().join(ORIGIN)).expect("sample"))
        .expect("gz");
    std::fs::write(&gz, enc.finish().expect("gz")).expect("write");
    let r = run(&[gz.to_str().expect("utf8")]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("Start signal"));
}

#[test]
fn egress_filter_and_all() {
    let log = "{\"level\":\"info\",\"ts\":1.0,\"msg\":\"egress_complete\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"error\":\"\",\"code\":0}\n{\"level\":\"info\",\"ts\":2.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_bbbbbbbbbbbb\",\"error\":\"boom\",\"code\":500}\n";
    let r = run_stdin(&["--format", "json"], log.as_bytes());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["egresses"].as_array().expect("array").len(), 1);
    let r = run_stdin(&["--format", "json", "--all"], log.as_bytes());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["egresses"].as_array().expect("array").len(), 2);
    let r = run_stdin(
        &["--format", "json", "--egress", "EG_aaaaaaaaaaaa"],
        log.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["summary"]["failed"], 0);
    assert_eq!(r.code, 0);
}

#[test]
fn several_files_and_dash_for_stdin() {
    let input = std::fs::read(root().join(ORIGIN)).expect("sample");
    let r = run_stdin(&["-", ORIGIN], &input);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("<stdin>"), "{}", r.stdout);
}

#[test]
fn explain_412_tells_what_to_do() {
    let r = run(&["explain", "412"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Start signal not received"));
    assert!(r.stdout.contains("ws_url"));
}

#[test]
fn rules_list_and_show() {
    let r = run(&["rules", "list"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("start-signal-not-received"));
    let r = run(&["rules", "show", "start-signal-not-received"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("[when]"));
    let r = run(&["rules", "show", "nope"]);
    assert_eq!(r.code, 2);
}

#[test]
fn colour_only_when_asked() {
    let r = run(&[ORIGIN]);
    assert!(!r.stdout.contains('\u{1b}'));
    let r = run(&["--color", "always", ORIGIN]);
    assert!(r.stdout.contains('\u{1b}'));
}

#[test]
fn help_to_a_pipe_is_plain_text() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Usage:"));
    assert!(!r.stdout.contains('\u{1b}'), "{:?}", &r.stdout[..80]);
}
