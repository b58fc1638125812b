//! Follow mode (`-f`) end to end: the real binary on real files in temp dirs (growth, rotation,
//! truncation, deletion, several files), on a live stdin pipe, with SIGINT and a closed stdout.
//! Every wait is for output from the child, with a generous deadline; none relies on a sleep.

use crate::util::{bin, root};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The longest any single wait for output may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// A running `egresslens -f` whose stdout is read line by line on a thread.
struct Follow {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// Lines of stderr as they come.
    stderr: Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Follow {
    fn spawn(args: &[&str], piped_stdin: bool) -> Follow {
        let mut child = Command::new(bin())
            .arg("-f")
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn egresslens -f");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = child.stderr.take().expect("stderr");
        let (etx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        Follow {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    /// Reads stderr until a line satisfies `pred`. Fails after [`DEADLINE`].
    fn wait_stderr(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.stderr_seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {what} within {DEADLINE:?}; stderr so far:\n{}",
                    self.stderr_seen.join("\n")
                ),
            }
        }
    }

    /// Reads output until a line satisfies `pred`; returns it. Fails after [`DEADLINE`].
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no output line with {what} within {DEADLINE:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the JSON line about egress `id` of `kind` (`egress`, `stall`).
    fn wait_json(&mut self, kind: &str, id: &str) -> Value {
        let needle = format!("\"egress_id\":\"{id}\"");
        let kind_tag = format!("\"kind\":\"{kind}\"");
        let line = self.wait_for(&format!("{kind} {id}"), |l| {
            l.contains(&needle) && l.contains(&kind_tag)
        });
        serde_json::from_str(&line).expect("one JSON object per line")
    }

    fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("piped stdin");
        stdin.write_all(text.as_bytes()).expect("write to child");
        stdin.flush().expect("flush");
    }

    /// Sends a signal (`INT`, `TERM`) with `kill`, as a user or a service manager would.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Closes stdin, waits for the exit (with the deadline); returns the code, the whole of
    /// stdout (lines already waited for included) and stderr.
    fn finish(mut self) -> (i32, Vec<String>, String) {
        self.stdin.take();
        let end = Instant::now() + DEADLINE;
        // The stdout thread ends when the child closes stdout, i.e. when it exits.
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "egresslens -f did not exit within {DEADLINE:?}; output:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
        let status = self.child.wait().expect("wait");
        // The stderr thread ends when the child closes stderr, at its exit.
        loop {
            match self.stderr.recv_timeout(DEADLINE) {
                Ok(line) => self.stderr_seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("stderr still open after the exit"),
            }
        }
        let stderr: String = self
            .stderr_seen
            .drain(..)
            .map(|l| format!("{l}\n"))
            .collect();
        (
            status.code().unwrap_or(-1),
            std::mem::take(&mut self.seen),
            stderr,
        )
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        // A failed test must not leave a follower running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A zap console line at second `s` of a fixed minute.
fn line(s: u32, msg: &str, id: &str, fields: &str) -> String {
    format!(
        "2026-11-25T10:{:02}:{:02}.000Z\tINFO\tegress\tinfo/io.go:268\t{msg}\t{{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"{id}\"{fields}}}\n",
        s / 60,
        s % 60
    )
}

/// Request validated, then aborted without a start signal: the origin failure.
fn aborted(id: &str, at: u32) -> String {
    line(
        at,
        "request validated",
        id,
        ", \"requestType\": \"room_composite\", \"room\": \"r\"",
    ) + &line(
        at + 34,
        "egress_aborted",
        id,
        ", \"error\": \"Start signal not received\", \"code\": 412, \"details\": \"End reason: StopEgress API\"",
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

fn lead_rule(v: &Value) -> &str {
    v["diagnoses"][0]["rule"].as_str().unwrap_or("")
}

#[test]
fn follow_explains_appended_failures_through_rotation_truncation_and_recreation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("egress.log");
    let log_s = log.to_str().expect("utf8 path");
    // The backlog holds one failure: its report tells that the follower is running.
    append(&log, &aborted("EG_AAAAAAAAAAA1", 0));
    let mut f = Follow::spawn(&["--format", "json", log_s], false);
    let v = f.wait_json("egress", "EG_AAAAAAAAAAA1");
    assert_eq!(lead_rule(&v), "start-signal-not-received");
    let mut latencies = Vec::new();

    // Appended: a partial line first, completed later.
    let text = aborted("EG_AAAAAAAAAAA2", 100);
    let (head, tail) = text.split_at(40);
    append(&log, head);
    append(&log, tail);
    let t = Instant::now();
    let v = f.wait_json("egress", "EG_AAAAAAAAAAA2");
    latencies.push(t.elapsed());
    assert_eq!(lead_rule(&v), "start-signal-not-received");
    assert_eq!(v["diagnoses"][0]["evidence"][0]["line"], 3);

    // Rotation: renamed away and re-created.
    std::fs::rename(&log, dir.path().join("egress.log.1")).expect("rotate");
    append(&log, &aborted("EG_AAAAAAAAAAA3", 200));
    let t = Instant::now();
    let v = f.wait_json("egress", "EG_AAAAAAAAAAA3");
    latencies.push(t.elapsed());
    // Line numbers restart with the new file.
    let ev = &v["diagnoses"][0]["evidence"];
    assert_eq!(ev[0]["line"], 1, "{v}");
    assert_eq!(ev[0]["source"], log_s);

    // copytruncate: the file shrinks and is written from its start. (The report of EG_..9
    // tells that the follower has read up to there; the rewritten file is shorter.)
    append(&log, &aborted("EG_AAAAAAAAAAA9", 300));
    f.wait_json("egress", "EG_AAAAAAAAAAA9");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(0)
        .expect("truncate");
    append(&log, &aborted("EG_AAAAAAAAAAA4", 400));
    let t = Instant::now();
    let v = f.wait_json("egress", "EG_AAAAAAAAAAA4");
    latencies.push(t.elapsed());
    assert_eq!(v["diagnoses"][0]["evidence"][0]["line"], 1, "{v}");

    // Deleted and re-created, shorter than before (so it is seen as new whether or not the
    // file system reuses the inode).
    std::fs::remove_file(&log).expect("rm");
    append(
        &log,
        &line(
            534,
            "egress_aborted",
            "EG_AAAAAAAAAAA5",
            ", \"error\": \"Start signal not received\", \"code\": 412",
        ),
    );
    let t = Instant::now();
    let v = f.wait_json("egress", "EG_AAAAAAAAAAA5");
    latencies.push(t.elapsed());
    assert_eq!(lead_rule(&v), "start-signal-not-received");
    eprintln!("report latencies after the write: {latencies:?}");
    for l in &latencies {
        // The contract is about a second; the bound is loose for loaded CI machines.
        assert!(*l < Duration::from_secs(10), "{latencies:?}");
    }

    // Ctrl-C: a closing summary, exit 1 (failures were found).
    f.signal("INT");
    let (code, rest, stderr) = f.finish();
    let summary = rest
        .iter()
        .find(|l| l.contains("\"kind\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary in {rest:?}"));
    let s: Value = serde_json::from_str(summary).expect("json");
    assert_eq!(s["summary"]["failed"], 6);
    assert_eq!(s["summary"]["in_progress"], 0);
    // The file started over three times; the summary names it once.
    assert_eq!(s["input"]["sources"], serde_json::json!([log_s]), "{s}");
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn follow_several_files_keeps_each_line_s_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    append(&a, &aborted("EG_BBBBBBBBBBB1", 0));
    append(&b, "");
    let (a_s, b_s) = (a.to_str().expect("utf8"), b.to_str().expect("utf8"));
    let mut f = Follow::spawn(&["--format", "json", a_s, b_s], false);
    let v = f.wait_json("egress", "EG_BBBBBBBBBBB1");
    assert_eq!(v["diagnoses"][0]["evidence"][0]["source"], a_s);
    append(&b, &aborted("EG_BBBBBBBBBBB2", 60));
    let v = f.wait_json("egress", "EG_BBBBBBBBBBB2");
    let ev = &v["diagnoses"][0]["evidence"];
    assert_eq!(ev[0]["source"], b_s, "{v}");
    assert_eq!(ev[1]["source"], b_s, "{v}");
    assert_eq!(ev[1]["line"], 2, "{v}");
    // SIGTERM (a service manager stopping it) ends the run like Ctrl-C.
    f.signal("TERM");
    let (code, rest, stderr) = f.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        rest.iter().any(|l| l.contains("\"kind\":\"summary\"")),
        "{rest:?}"
    );
}

#[test]
fn follow_stdin_reports_as_lines_arrive_and_flags_a_stall_before_the_abort() {
    let mut f = Follow::spawn(&["--format", "json", "--stall-after", "1s"], true);
    // A failure is reported while stdin stays open (no buffering until EOF), and a line
    // written in two pieces is read whole.
    let text = aborted("EG_CCCCCCCCCCC1", 0);
    let (head, tail) = text.split_at(30);
    f.write(head);
    f.write(tail);
    let v = f.wait_json("egress", "EG_CCCCCCCCCCC1");
    assert_eq!(lead_rule(&v), "start-signal-not-received");
    assert_eq!(v["diagnoses"][0]["evidence"][0]["source"], "<stdin>");

    // An egress that waits for its start signal is flagged while it waits ...
    f.write(&line(
        100,
        "request validated",
        "EG_CCCCCCCCCCC2",
        ", \"room\": \"stuck-room\"",
    ));
    let stall = f.wait_json("stall", "EG_CCCCCCCCCCC2");
    assert_eq!(lead_rule(&stall), "stalled-before-start");
    assert_eq!(stall["stall"]["kind"], "before_start");
    let cause = stall["diagnoses"][0]["cause"].as_str().unwrap_or("");
    assert!(cause.contains("ws_url"), "{cause}");
    // ... and reported again when it is aborted.
    f.write(&line(
        134,
        "egress_aborted",
        "EG_CCCCCCCCCCC2",
        ", \"error\": \"Start signal not received\", \"code\": 412",
    ));
    let v = f.wait_json("egress", "EG_CCCCCCCCCCC2");
    assert_eq!(lead_rule(&v), "start-signal-not-received");

    // A closed stdin ends the run normally, with the summary.
    let (code, rest, stderr) = f.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        rest.iter().any(|l| l.contains("\"kind\":\"summary\"")),
        "{rest:?}"
    );
    // `rest` is the whole output: the stall was reported once only.
    let stalls = rest
        .iter()
        .filter(|l| l.contains("\"kind\":\"stall\""))
        .count();
    assert_eq!(stalls, 1, "{rest:?}");
}

#[test]
fn follow_sigint_prints_a_summary_of_what_is_still_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("egress.log");
    // One egress completed (shown with --all: the follower is running once it is printed),
    // one still recording.
    append(
        &log,
        &(line(0, "request validated", "EG_DDDDDDDDDDD1", "")
            + &line(1, "pipeline playing", "EG_DDDDDDDDDDD1", "")
            + &line(9, "egress_complete", "EG_DDDDDDDDDDD1", "")
            + &line(
                10,
                "request validated",
                "EG_DDDDDDDDDDD2",
                ", \"room\": \"open-room\"",
            )
            + &line(11, "pipeline playing", "EG_DDDDDDDDDDD2", "")),
    );
    let mut f = Follow::spawn(&["--all", log.to_str().expect("utf8")], false);
    f.wait_for("the completed egress", |l| {
        l.contains("EG_DDDDDDDDDDD1") && l.contains("complete")
    });
    f.signal("INT");
    let (code, rest, stderr) = f.finish();
    let text = rest.join("\n");
    assert!(text.contains("egresslens: stopped after"), "{text}");
    assert!(text.contains("1 still open"), "{text}");
    assert!(text.contains("EG_DDDDDDDDDDD2 · room open-room"), "{text}");
    assert_eq!(code, 0, "nothing failed; stderr: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn follow_ends_quietly_when_stdout_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("egress.log");
    append(&log, &aborted("EG_EEEEEEEEEEE1", 0));
    let mut child = Command::new(bin())
        .args(["-f", "--format", "json", log.to_str().expect("utf8")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Like `| head -1`: read one line, then close the pipe.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        let _ = reader.read_line(&mut first);
        // Closed before the test goes on.
        drop(reader);
        let _ = tx.send(first);
    });
    let first = rx.recv_timeout(DEADLINE).expect("a first line");
    assert!(first.contains("EG_EEEEEEEEEEE1"), "{first}");
    // The next report meets the closed pipe.
    append(&log, &aborted("EG_EEEEEEEEEEE2", 60));
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = tx.send((status.ok().and_then(|s| s.code()), err));
    });
    let (code, stderr) = rx
        .recv_timeout(DEADLINE)
        .expect("egresslens exits after its stdout is closed");
    let _ = waiter.join();
    assert_eq!(code, Some(0));
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn follow_waits_for_a_file_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("notyet.log");
    let log_s = log.to_str().expect("utf8 path");
    let mut f = Follow::spawn(&["--format", "json", log_s], false);
    f.wait_stderr("the notice", |l| l.contains("does not exist yet"));
    append(&log, &aborted("EG_CCCCCCCCCCC1", 0));
    let v = f.wait_json("egress", "EG_CCCCCCCCCCC1");
    assert_eq!(lead_rule(&v), "start-signal-not-received");
    assert_eq!(v["diagnoses"][0]["evidence"][0]["line"], 1, "{v}");
    f.signal("INT");
    let (code, rest, stderr) = f.finish();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "egresslens: {log_s} does not exist yet; waiting for it to appear (Ctrl-C to stop)\n"
        )
    );
    let summary = rest
        .iter()
        .find(|l| l.contains("\"kind\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary in {rest:?}"));
    let s: Value = serde_json::from_str(summary).expect("json");
    assert_eq!(s["input"]["sources"], serde_json::json!([log_s]), "{s}");

    // Anything else that keeps a file from being opened is still an input error.
    let r = crate::util::run(&["-f", dir.path().to_str().expect("utf8")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
}
