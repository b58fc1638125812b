//! Hostile input and safe output: nothing panics, nothing escapes into the terminal or the
//! markdown, secrets are masked, errors are clear.

use crate::util::run_stdin;

fn assert_clean_exit(r: &crate::util::Run) {
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn random_bytes_and_nul_do_not_crash() {
    let mut data = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push((x & 0xff) as u8);
    }
    let r = run_stdin(&[], &data);
    assert_clean_exit(&r);
    assert!(
        r.stdout.contains("does not look like a log"),
        "{}",
        r.stdout
    );
}

#[test]
fn huge_single_line_is_capped() {
    let mut data = b"{\"level\":\"info\",\"msg\":\"".to_vec();
    data.extend(std::iter::repeat_n(b'a', 20 << 20));
    data.extend_from_slice(b"\"}\n2026-01-27T11:11:39.782Z INFO egress_aborted \"error\": \"Start signal not received\" \"code\": 412\n");
    let r = run_stdin(&["--format", "json"], &data);
    assert_clean_exit(&r);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["input"]["truncated_lines"], 1);
    assert_eq!(v["egresses"][0]["status"], "aborted");
}

#[test]
fn deeply_nested_and_unterminated_json() {
    let mut data = "[".repeat(100_000).into_bytes();
    data.push(b'\n');
    data.extend("{\"level\":\"info\",\"msg\":{".repeat(10_000).as_bytes());
    data.push(b'\n');
    data.extend_from_slice(b"{\"level\":\"error\",\"msg\":\"cut\r\n");
    let r = run_stdin(&[], &data);
    assert_clean_exit(&r);
}

#[test]
fn ansi_and_osc_never_reach_the_terminal() {
    let line = "{\"level\":\"info\",\"ts\":1.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"error\":\"boom \\u001b[2J\\u001b]0;pwned\\u0007 \\u001b]8;;http://evil\\u001b\\\\click\\u001b]8;;\\u001b\\\\\",\"code\":500}\n";
    for fmt in ["table", "markdown", "json"] {
        let r = run_stdin(&["--format", fmt, "--color", "never"], line.as_bytes());
        assert_clean_exit(&r);
        assert!(!r.stdout.contains('\u{1b}'), "{fmt}: {:?}", r.stdout);
        assert!(!r.stdout.contains('\u{7}'), "{fmt}");
    }
}

#[test]
fn markdown_cannot_be_broken_by_log_text() {
    let err = "x | y ```` # Heading [link](http://evil) <script>alert(1)</script>";
    let line = format!(
        "{{\"level\":\"info\",\"ts\":1.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"room\":\"r|oom\\n# not a heading\",\"error\":{},\"code\":500}}\n",
        serde_json::to_string(err).expect("json")
    );
    let r = run_stdin(&["--format", "markdown"], line.as_bytes());
    assert_clean_exit(&r);
    let md = &r.stdout;
    let prose = outside_code(md);
    assert!(!prose.contains("<script>"), "HTML outside code: {prose}");
    assert!(
        !prose.contains("[link](http://evil)"),
        "link outside code: {prose}"
    );
    assert!(
        !md.lines().any(|l| l.starts_with("# not a heading")),
        "{md}"
    );
    assert!(!md.lines().any(|l| l.starts_with("# Heading")), "{md}");
    // Evidence fences are longer than the backtick run in the log text.
    assert!(md.contains("`````text"), "{md}");
    // Table rows keep their column count.
    for l in md.lines().filter(|l| l.starts_with("| EG_")) {
        let cells = l.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "{l}");
    }
}

#[test]
fn secrets_are_masked_in_every_format_unless_no_redact() {
    let line = "{\"level\":\"debug\",\"ts\":1.0,\"msg\":\"launching chrome\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"url\":\"http://localhost:7980/?url=ws%3A%2F%2Flivekit%3A7880&token=eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6e319.c2lnbmF0dXJl\"}\n{\"level\":\"error\",\"ts\":2.0,\"msg\":\"controller onError invoked\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"error\":\"Failed to connect: rtmp://live.example.com/app/sk_live_9f8e7d6c5b4a secret=hunter2hunter2\"}\n{\"level\":\"info\",\"ts\":3.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"error\":\"Failed to connect: rtmp://live.example.com/app/sk_live_9f8e7d6c5b4a\",\"code\":503}\n";
    for fmt in ["table", "markdown", "json"] {
        let r = run_stdin(&["--format", fmt], line.as_bytes());
        assert_clean_exit(&r);
        for secret in ["eyJ2aWRlbyI6e319", "sk_live_9f8e7d6c5b4a", "hunter2hunter2"] {
            assert!(
                !r.stdout.contains(secret),
                "{fmt} leaks {secret}:\n{}",
                r.stdout
            );
        }
        assert!(r.stdout.contains("[redacted]"), "{fmt}");
        let r = run_stdin(&["--format", fmt, "--no-redact"], line.as_bytes());
        assert!(
            r.stdout.contains("sk_live_9f8e7d6c5b4a"),
            "{fmt} --no-redact"
        );
    }
}

#[test]
fn closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut data = String::new();
    for i in 0..20_000 {
        data.push_str(&format!(
            "{{\"level\":\"info\",\"ts\":{i}.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_{i:012}\",\"error\":\"boom\",\"code\":500}}\n"
        ));
    }
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("many.log");
    std::fs::write(&path, data).expect("write");
    let mut child = Command::new(crate::util::bin())
        .args(["--all", path.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    let _ = out.read(&mut first);
    drop(out);
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{:?}",
        o.status
    );
}

#[test]
fn truncated_log_says_what_is_missing() {
    let r = run_stdin(
        &[],
        b"{\"level\":\"info\",\"ts\":5.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"error\":\"pipeline frozen\",\"code\":500}\n{\"level\":\"info\",\"ts\":6.0,\"msg\":\"request validated\",\"egressID\":\"EG_bbbbbbbbbbbb\",\"requestType\":\"web\"}\n",
    );
    assert_clean_exit(&r);
    assert!(r.stdout.contains("request lines"), "{}", r.stdout);
    assert!(r.stdout.contains("No terminal status"), "{}", r.stdout);
}

#[test]
fn handler_only_lines_hint_at_2_and_1() {
    let line = "2025-08-21T10:15:34.402Z\tINFO\tegress\tsource/web.go:324\tchrome: START_RECORDING\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"handlerID\": \"EGH_4TfG9sWq2Hbn\", \"clusterID\": \"\", \"egressID\": \"EG_Rj7Yh2WbN5cT\"}\n";
    let r = run_stdin(&[], line.as_bytes());
    assert_clean_exit(&r);
    assert!(r.stdout.contains("2>&1"), "{}", r.stdout);
}

#[test]
fn wide_characters_keep_the_table() {
    let line = "{\"level\":\"info\",\"ts\":1.0,\"msg\":\"egress_failed\",\"egressID\":\"EG_aaaaaaaaaaaa\",\"room\":\"会議室🎥会議室🎥会議室🎥会議室🎥会議室🎥\",\"error\":\"失敗しました\",\"code\":500}\n";
    let r = run_stdin(&[], line.as_bytes());
    assert_clean_exit(&r);
    assert!(r.stdout.contains("会議室"));
}

/// The markdown with fenced blocks and inline code spans removed: what renders as markup.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(f) = &fence {
            if t.starts_with(f.as_str()) && t.trim_end() == f.as_str() {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            fence = Some(t.chars().take_while(|c| *c == '`').collect());
            continue;
        }
        // Drop inline code spans: a run of N backticks up to the next run of N backticks.
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '`' {
                let mut n = 0;
                while i + n < chars.len() && chars[i + n] == '`' {
                    n += 1;
                }
                let mut j = i + n;
                let mut closed = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let mut m = 0;
                        while j + m < chars.len() && chars[j + m] == '`' {
                            m += 1;
                        }
                        if m == n {
                            closed = Some(j + m);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match closed {
                    Some(end) => i = end,
                    None => {
                        out.extend(&chars[i..i + n]);
                        i += n;
                    }
                }
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out.push('\n');
    }
    out
}
