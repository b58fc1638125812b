//! `-o` never destroys anything: `-` is stdout, devices and FIFOs are written as they are,
//! symlinks are followed, an existing file keeps its mode and owner, an output that is an input
//! is refused before anything is read. A closed stdout is quiet in every format.

use crate::util::{bin, root, run_in};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

const ORIGIN: &str = "samples/origin-412.log";

/// A temporary directory holding a copy of the origin sample as `egress.log`.
fn with_log() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tmp");
    let log = fs::read(root().join(ORIGIN)).expect("sample");
    fs::write(dir.path().join("egress.log"), &log).expect("copy");
    (dir, log)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn output_dash_is_stdout() {
    let (dir, _) = with_log();
    let r = run_in(
        dir.path(),
        &["-o", "-", "--format", "json", "egress.log"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json on stdout");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(names(dir.path()), ["egress.log"], "a file was created");
}

#[test]
fn output_that_is_an_input_is_refused_and_the_input_kept() {
    let (dir, log) = with_log();
    let d = dir.path();
    fs::hard_link(d.join("egress.log"), d.join("hard.log")).expect("hard link");
    std::os::unix::fs::symlink("egress.log", d.join("sym.log")).expect("symlink");
    let cases: &[&[&str]] = &[
        &["-o", "egress.log", "egress.log"],
        &["-o", "./egress.log", "egress.log"],
        &[
            "--format",
            "markdown",
            "-o",
            "egress.log",
            "other.log",
            "egress.log",
        ],
        &["-o", "hard.log", "egress.log"],
        &["-o", "sym.log", "egress.log"],
        &["-o", "egress.log", "sym.log"],
        &["-f", "-o", "egress.log", "egress.log"],
        &["-o", "egress.log", "--config", "egress.log", "-"],
        &["check-config", "-o", "egress.log", "egress.log"],
    ];
    for args in cases {
        let r = run_in(d, args, None);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("error: the output ") && r.stderr.contains("is also"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(
            fs::read(d.join("egress.log")).expect("log"),
            log,
            "{args:?}"
        );
    }
    // Standard input redirected from the file.
    let stdin = fs::File::open(d.join("egress.log")).expect("open");
    let r = run_in(d, &["-o", "egress.log"], Some(stdin));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("standard input"), "{}", r.stderr);
    assert_eq!(fs::read(d.join("egress.log")).expect("log"), log);
    // Refused before anything is read: a missing input is not what stops the run.
    let r = run_in(d, &["-o", "nope.log", "nope.log"], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is also the input nope.log"),
        "{}",
        r.stderr
    );
    assert_eq!(names(d), ["egress.log", "hard.log", "sym.log"]);
}

#[test]
fn output_fifo_is_written_not_replaced() {
    let (dir, _) = with_log();
    let fifo = dir.path().join("report.fifo");
    match Command::new("mkfifo").arg(&fifo).status() {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("skipped: cannot make a FIFO with mkfifo ({other:?})");
            return;
        }
    }
    let reader_path = fifo.clone();
    // Opening for reading blocks until egresslens opens it for writing.
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        fs::File::open(&reader_path)
            .and_then(|mut f| f.read_to_string(&mut s))
            .map(|_| s)
    });
    let r = run_in(
        dir.path(),
        &["--format", "markdown", "-o", "report.fifo", "egress.log"],
        None,
    );
    // Checked before joining: a FIFO replaced by a file leaves the reader blocked for good.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let ft = fs::symlink_metadata(&fifo).expect("stat").file_type();
    assert!(ft.is_fifo(), "the FIFO was replaced by {ft:?}");
    let got = reader.join().expect("reader").expect("read fifo");
    assert!(got.starts_with("# Egress incident report"), "{got}");
    assert_eq!(names(dir.path()), ["egress.log", "report.fifo"]);
}

#[test]
fn output_device_node_is_written_not_replaced() {
    if !is_root() {
        eprintln!("skipped: only root can make a device node (mknod)");
        return;
    }
    let (dir, _) = with_log();
    let null = dir.path().join("null");
    // The same device as /dev/null, in a directory of the test's own.
    match Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
    {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("skipped: mknod failed here (no CAP_MKNOD?): {other:?}");
            return;
        }
    }
    for format in ["table", "json"] {
        let r = run_in(
            dir.path(),
            &["--format", format, "-o", "null", "egress.log"],
            None,
        );
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        let m = fs::symlink_metadata(&null).expect("stat");
        assert!(m.file_type().is_char_device(), "replaced by {m:?}");
        assert_eq!(m.rdev(), fs::metadata("/dev/null").expect("stat").rdev());
    }
    assert_eq!(names(dir.path()), ["egress.log", "null"]);
}

#[test]
fn output_symlink_is_followed_to_its_file() {
    let (dir, _) = with_log();
    let d = dir.path();
    fs::create_dir(d.join("reports")).expect("mkdir");
    fs::write(d.join("reports/r.md"), "old report\n").expect("write");
    std::os::unix::fs::symlink("reports/r.md", d.join("latest.md")).expect("symlink");
    let r = run_in(
        d,
        &["--format", "markdown", "-o", "latest.md", "egress.log"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let link = fs::symlink_metadata(d.join("latest.md")).expect("stat");
    assert!(link.file_type().is_symlink(), "the link became {link:?}");
    let text = fs::read_to_string(d.join("reports/r.md")).expect("read");
    assert!(text.starts_with("# Egress incident report"), "{text}");
    // The temporary file went beside the target and is gone.
    assert_eq!(names(d), ["egress.log", "latest.md", "reports"]);
    assert_eq!(names(&d.join("reports")), ["r.md"]);
    // A link to a file not there yet creates the file.
    std::os::unix::fs::symlink("reports/new.md", d.join("new.md")).expect("symlink");
    let r = run_in(d, &["-o", "new.md", "egress.log"], None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(fs::symlink_metadata(d.join("new.md"))
        .expect("stat")
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(d.join("reports/new.md"))
        .expect("read")
        .contains("Start signal"));
}

#[test]
fn output_file_keeps_its_mode_and_owner() {
    let (dir, _) = with_log();
    let out = dir.path().join("r.md");
    fs::write(&out, "old\n").expect("write");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o600)).expect("chmod");
    let owner = if is_root() {
        // Someone else's file, as root writes it in containers and CI.
        std::os::unix::fs::chown(&out, Some(65534), Some(65534)).expect("chown");
        Some((65534, 65534))
    } else {
        eprintln!("owner not checked: only root can give a file to another user");
        None
    };
    let r = run_in(
        dir.path(),
        &["--format", "markdown", "-o", "r.md", "egress.log"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = fs::metadata(&out).expect("stat");
    assert_eq!(m.mode() & 0o7777, 0o600);
    if let Some(o) = owner {
        assert_eq!((m.uid(), m.gid()), o);
    }
    assert!(fs::read_to_string(&out)
        .expect("read")
        .starts_with("# Egress incident report"));
    assert_eq!(names(dir.path()), ["egress.log", "r.md"]);
}

#[test]
fn quiet_with_output_file_writes_the_whole_report() {
    let (dir, _) = with_log();
    let r = run_in(
        dir.path(),
        &[
            "--quiet",
            "-o",
            "r.md",
            "--format",
            "markdown",
            "egress.log",
        ],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "1 egress · 1 failed\n");
    let text = fs::read_to_string(dir.path().join("r.md")).expect("report");
    assert!(text.starts_with("# Egress incident report"), "{text}");
    assert!(text.contains("### Root cause"), "{text}");
    // Without -o, --quiet is still the summary line alone.
    let r = run_in(
        dir.path(),
        &["--quiet", "--format", "markdown", "egress.log"],
        None,
    );
    assert_eq!(r.stdout, "1 egress · 1 failed\n");
}

#[test]
fn written_file_is_said_on_a_terminal_only() {
    let (dir, _) = with_log();
    let r = run_in(dir.path(), &["-o", "r.md", "egress.log"], None);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "", "stderr is not a terminal here");
    // util-linux `script` runs the command on a pseudo-terminal.
    let cmd = format!(
        "'{}' --format markdown -o incident.md egress.log",
        bin().display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output();
    match o {
        Ok(o) if o.status.code() == Some(1) => {
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(out.trim_end(), "wrote incident.md: 1 failure", "{out:?}");
        }
        other => eprintln!("terminal case skipped: no util-linux `script` ({other:?})"),
    }
}

/// Runs with stdout a pipe closed after its first line.
fn closed_after_first_line(args: &[&str], log: &Path) -> (i32, String) {
    let mut child = Command::new(bin())
        .args(args)
        .arg(log)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("read");
    // The reader is dropped here: the rest of the report meets a closed pipe.
    assert!(!first.is_empty(), "{args:?}: nothing printed");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).expect("stderr");
    }
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), err)
}

#[test]
fn closed_stdout_is_quiet_in_every_format() {
    use egresslens::generate::{generate, Config, LogFormat};
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("gen.log");
    let mut data = Vec::new();
    // Enough egresses that every report is several times a pipe's buffer.
    generate(&mut data, &Config::new(LogFormat::Console, 2 << 20)).expect("generate");
    fs::write(&log, &data).expect("write");
    let mut codes = Vec::new();
    for format in ["table", "markdown", "json"] {
        let (code, err) = closed_after_first_line(&["--all", "--format", format], &log);
        assert!(!err.contains("error"), "{format}: {err}");
        codes.push(code);
    }
    assert!(codes.iter().all(|c| *c == codes[0]), "{codes:?}");
    assert_eq!(codes[0], 0, "a closed stdout ends the run as `head` wants");
}

#[test]
fn follow_writes_to_dash_and_quiet_keeps_the_file_whole() {
    let (dir, _) = with_log();
    let d = dir.path();
    let stdin = || fs::File::open(d.join("egress.log")).expect("open");
    let r = run_in(d, &["-f", "-o", "-"], Some(stdin()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("Start signal not received"),
        "{}",
        r.stdout
    );
    assert_eq!(names(d), ["egress.log"], "a file was created");
    // The file gets every report; stdout only the closing summary.
    let r = run_in(d, &["-f", "--quiet", "-o", "live.txt"], Some(stdin()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let text = fs::read_to_string(d.join("live.txt")).expect("report");
    assert!(text.contains("Start signal not received"), "{text}");
    assert!(!r.stdout.contains("Start signal"), "{}", r.stdout);
    assert!(
        r.stdout.contains("1 egress ended · 1 failed"),
        "{}",
        r.stdout
    );
}

#[test]
fn output_naming_stdout_keeps_its_redirection() {
    // `-o /dev/stdout` with stdout appended to a file (`>> all.txt`): the report is appended
    // through the descriptor, the file neither replaced nor cut. Tried through /proc/self/fd/1,
    // which /dev/stdout names on Linux, so that nothing in the real /dev is ever in play.
    if !Path::new("/proc/self/fd/1").exists() {
        eprintln!("skipped: no /proc/self/fd here");
        return;
    }
    let (dir, _) = with_log();
    let all = dir.path().join("all.txt");
    fs::write(&all, "earlier report\n").expect("write");
    let out = fs::OpenOptions::new()
        .append(true)
        .open(&all)
        .expect("open");
    let status = Command::new(bin())
        .args(["--format", "json", "-o", "/proc/self/fd/1", "egress.log"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(1));
    let text = fs::read_to_string(&all).expect("read");
    let rest = text
        .strip_prefix("earlier report\n")
        .expect("the earlier lines kept");
    let v: serde_json::Value = serde_json::from_str(rest).expect("json appended");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(names(dir.path()), ["all.txt", "egress.log"]);
}
