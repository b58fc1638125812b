//! Command-line contract: inputs, exit codes, output files, formats, errors.

use crate::util::{root, run, run_env, run_on_terminal, run_stdin};

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

#[test]
fn a_terminal_on_stdin_is_told_that_stdin_is_read() {
    let line = "2026-01-27T11:11:39.782Z INFO egress_aborted \"error\": \"Start signal not received\" \"code\": 412\n";
    let Some(r) = run_on_terminal(&["--quiet"], &[], line) else {
        eprintln!("skipped: util-linux `script` cannot give this test a terminal here");
        return;
    };
    assert_eq!(r.code, 1, "{}", r.stdout);
    let notice = "egresslens: reading from stdin (pipe a log in, or pass FILE; Ctrl-D to end)";
    let lines: Vec<&str> = r.stdout.lines().map(|l| l.trim_end_matches('\r')).collect();
    // Said before anything is typed, once; then the typed line (echoed) and the summary.
    assert_eq!(lines.first(), Some(&notice), "{lines:?}");
    assert_eq!(lines.iter().filter(|l| **l == notice).count(), 1);
    assert_eq!(lines.last(), Some(&"1 egress · 1 failed"), "{lines:?}");
    // A pipe or a file on stdin is not told anything.
    let r = run_stdin(&["--quiet"], line.as_bytes());
    assert_eq!(r.stderr, "");
}

#[test]
fn term_dumb_gets_no_colour() {
    let Some(plain) = run_on_terminal(&[ORIGIN], &[("TERM", "dumb")], "") else {
        eprintln!("skipped: util-linux `script` cannot give this test a terminal here");
        return;
    };
    assert_eq!(plain.code, 1);
    assert!(
        plain.stdout.contains("Recording never started"),
        "{}",
        plain.stdout
    );
    assert!(!plain.stdout.contains('\u{1b}'), "{:?}", plain.stdout);
    // The same terminal otherwise gets colours, and --color always still does on a dumb one.
    let coloured = run_on_terminal(&[ORIGIN], &[("TERM", "xterm")], "").expect("terminal");
    assert!(coloured.stdout.contains("\u{1b}["), "{:?}", coloured.stdout);
    let asked =
        run_on_terminal(&["--color", "always", ORIGIN], &[("TERM", "dumb")], "").expect("terminal");
    assert!(asked.stdout.contains("\u{1b}["), "{:?}", asked.stdout);
    // No styled help either.
    let help = run_on_terminal(&["--help"], &[("TERM", "dumb")], "").expect("terminal");
    assert!(help.stdout.contains("Usage:"), "{}", help.stdout);
    assert!(!help.stdout.contains('\u{1b}'), "{:?}", help.stdout);
}

/// The lines of the table (between its top and bottom borders).
fn table_lines(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.starts_with('┌'))
        .take_while(|l| !l.starts_with('└'))
        .collect()
}

#[test]
fn the_table_honours_columns_and_keeps_egress_ids_whole() {
    let log = "samples/console-mixed.log";
    let ids = ["EG_k3Xw9PqLm2Zd", "EG_T8hJ4nWq6YcE"];
    for columns in ["60", "72", "90", "130"] {
        let r = run_env(&[log], &[("COLUMNS", columns)]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let width: usize = columns.parse().expect("number");
        let lines = table_lines(&r.stdout);
        assert!(!lines.is_empty(), "{}", r.stdout);
        let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= width, "COLUMNS={columns}: {widest}\n{}", r.stdout);
        // Narrow tables fill the width; the widest one is as wide as its content needs.
        if width < 100 {
            assert_eq!(widest, width, "COLUMNS={columns}\n{}", r.stdout);
        } else {
            assert!(widest > 100, "COLUMNS={columns}: {widest}\n{}", r.stdout);
        }
        for id in ids {
            assert!(
                lines.iter().any(|l| l.contains(id)),
                "COLUMNS={columns}: {id} broken in\n{}",
                lines.join("\n")
            );
        }
    }
    // Without COLUMNS, a pipe gets 100 columns.
    let r = run(&[log]);
    let widest = table_lines(&r.stdout)
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!((90..=100).contains(&widest), "{widest}\n{}", r.stdout);
}

#[test]
fn help_examples_wrap_under_their_example_at_columns() {
    for args in [
        &["--help"][..],
        &["kubectl", "--help"],
        &["docker", "--help"],
    ] {
        let r = run_env(args, &[("COLUMNS", "60")]);
        assert_eq!(r.code, 0);
        let examples: Vec<&str> = r
            .stdout
            .lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(!examples.is_empty(), "{}", r.stdout);
        for l in &examples {
            assert!(l.chars().count() <= 60, "{args:?}: {l:?}");
            let indent = l.len() - l.trim_start().len();
            // A command at column 2, everything else (descriptions, a long command's rest)
            // indented further.
            assert!(
                (indent == 2
                    && ["egresslens", "docker logs"]
                        .iter()
                        .any(|c| l.trim_start().starts_with(c)))
                    || indent >= 6,
                "{args:?}: {l:?}"
            );
        }
    }
}

#[test]
fn an_egress_id_not_in_the_log_is_said_with_the_ids_present() {
    let r = run(&["--egress", "EG_nope", "samples/console-mixed.log"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("hint: No egress EG_nope in the input (--egress). Egress IDs present:"),
        "{}",
        r.stdout
    );
    for id in ["EG_k3Xw9PqLm2Zd", "EG_T8hJ4nWq6YcE", "EG_Rj7Yh2WbN5cT"] {
        assert!(r.stdout.contains(id), "{id}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("No egress activity"), "{}", r.stdout);
    let r = run(&[
        "--format",
        "json",
        "--egress",
        "EG_nope",
        "--egress",
        "EG_k3Xw9PqLm2Zd",
        "samples/console-mixed.log",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["summary"]["failed"], 1);
    let hints = v["hints"].to_string();
    assert!(hints.contains("No egress EG_nope in the input"), "{hints}");
    assert!(
        hints.contains("Other egress IDs present: EG_T8hJ4nWq6YcE, EG_Rj7Yh2WbN5cT."),
        "{hints}"
    );
    // Every ID asked for was found: no hint.
    let r = run(&[
        "--format",
        "json",
        "--egress",
        "EG_k3Xw9PqLm2Zd",
        "samples/console-mixed.log",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["hints"], serde_json::json!([]), "{}", r.stdout);
}

#[test]
fn a_masked_stream_key_keeps_the_text_around_it() {
    let log = "{\"level\":\"error\",\"ts\":1769512265.1,\"msg\":\"egress_failed\",\"egressID\":\"EG_abcdefghijkl\",\"error\":\"rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop: connection refused\"}\n";
    for format in ["table", "markdown", "json"] {
        let r = run_stdin(&["--format", format], log.as_bytes());
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(!r.stdout.contains("abcd-efgh"), "{format}: {}", r.stdout);
        assert!(
            r.stdout.contains("live2/[redacted]: connection refused"),
            "{format}: {}",
            r.stdout
        );
    }
}

/// Never silent: an input with no egress whose errors no rule knows is reported as an
/// unrecognised finding quoting its first error (exit 1); routine warnings alone, and a
/// healthy log, still exit 0.
#[test]
fn unknown_errors_without_an_egress_are_reported_not_silent() {
    let r = crate::util::run_stdin(
        &["--format", "json"],
        b"2026-01-27T11:00:00.000Z\tERROR\tegress\tx/y.go:1\tthe widget broke\t{\"nodeID\": \"NE_x\"}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json report");
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "unrecognised");
    assert!(
        f["cause"]
            .as_str()
            .is_some_and(|c| c.contains("the widget broke")),
        "{f}"
    );
    let warn = crate::util::run_stdin(
        &[],
        b"2026-01-27T11:00:00.000Z\tWARN\tegress\tx/y.go:1\tslow disk\t{\"nodeID\": \"NE_x\"}\n",
    );
    assert_eq!(warn.code, 0, "{}", warn.stdout);
    let healthy = crate::util::run(&["samples/catalogue/40-room-closed-normal-end.log"]);
    assert_eq!(healthy.code, 0, "{}", healthy.stdout);
}
