//! Runs the egresslens binary and captures what it prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_egresslens"))
}

/// The project root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn collect(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs with arguments (from the project root) and no stdin.
pub fn run(args: &[&str]) -> Run {
    let o = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .output()
        .expect("run egresslens");
    collect(o)
}

/// Runs with arguments and these environment variables set (and no stdin).
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let o = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run egresslens");
    collect(o)
}

/// Runs with arguments in `dir` (paths relative to it), stdin from `stdin` (none: empty).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<std::fs::File>) -> Run {
    let o = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
        .output()
        .expect("run egresslens");
    collect(o)
}

/// Runs `egresslens ARGS` on a pseudo-terminal (stdin, stdout and stderr all on it) through
/// util-linux `script`, typing `input` (after a moment, as a person would) and then Ctrl-D.
/// Returns what the terminal showed (the typed input echoed, lines ending in `\r\n`), or
/// `None` where `script` cannot run here.
pub fn run_on_terminal(args: &[&str], env: &[(&str, &str)], input: &str) -> Option<Run> {
    let mut cmdline = shell_quote(&bin().display().to_string());
    for a in args {
        cmdline.push(' ');
        cmdline.push_str(&shell_quote(a));
    }
    let mut child = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let text = input.to_string();
    let writer = std::thread::spawn(move || {
        // Typed once the program is up; Ctrl-D ends the input.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = stdin.write_all(text.as_bytes());
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = stdin.write_all(b"\x04");
    });
    let o = child.wait_with_output().ok()?;
    let _ = writer.join();
    let r = collect(o);
    // `script` missing a terminal (no /dev/ptmx) or not util-linux's.
    if r.code < 0 || r.stderr.contains("script:") {
        return None;
    }
    Some(r)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs with `input` on stdin.
pub fn run_stdin(args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn egresslens");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let o = child.wait_with_output().expect("wait");
    let _ = writer.join();
    collect(o)
}

/// Compares `actual` with the golden file, or writes it when `UPDATE_GOLDEN=1`.
pub fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}: run `UPDATE_GOLDEN=1 cargo test` and review it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(n, (a, b))| format!("line {}:\n  expected: {a}\n  actual:   {b}", n + 1))
            .collect();
        panic!(
            "{} differs from the output (run `UPDATE_GOLDEN=1 cargo test` to accept):\n{}\n(expected {} lines, got {})",
            path.display(),
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// Asserts that every object of a pretty-printed JSON report lists its keys in sorted order,
/// the order reports have printed since the first release (scripts may diff them). Reads the
/// text as `serde_json`'s pretty printer writes it: one key per line, two spaces per level.
pub fn assert_keys_sorted(json: &str) {
    // Per open object, by indent: the last key seen.
    let mut last: Vec<(usize, String)> = Vec::new();
    for line in json.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        if let Some(rest) = text.strip_prefix('"') {
            let end = rest.find('"').unwrap_or(rest.len());
            let key = &rest[..end];
            if rest[end..].starts_with("\": ") && !key.contains('\\') {
                last.retain(|(i, _)| *i <= indent);
                match last.last_mut() {
                    Some((i, prev)) if *i == indent => {
                        assert!(prev.as_str() < key, "key {key:?} after {prev:?}");
                        *prev = key.to_string();
                    }
                    _ => last.push((indent, key.to_string())),
                }
            }
        }
        // A new object: its keys start afresh, one level deeper.
        if text.ends_with('{') {
            last.retain(|(i, _)| *i <= indent);
        }
    }
}
