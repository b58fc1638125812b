//! Log sources end to end: `egresslens docker` and `egresslens kubectl` against stand-in
//! `docker` / `kubectl` executables (shell scripts put first on PATH) that replay recorded
//! output, and container / log-store envelope files (docker json-file, CRI, journald, Loki,
//! Elasticsearch) read as ordinary files.

use crate::util::{bin, root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs egresslens with `dir` first on PATH (or as the whole PATH when `only`).
fn run_with_path(dir: &Path, only: bool, args: &[&str]) -> Out {
    let path = if only {
        dir.display().to_string()
    } else {
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    };
    let o = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run egresslens");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Writes an executable shell script `name` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    p
}

/// A recorded `docker logs --timestamps` of an egress that aborted with 412: the service's
/// lines on stderr, a handler line on stdout.
fn recorded_egress(dir: &Path) -> PathBuf {
    let err = dir.join("egress.stderr");
    std::fs::write(
        &err,
        "2026-01-27T11:11:05.179000000Z 2026-01-27T11:11:05.179Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\", \"room\": \"test-local-recording\"}\n\
2026-01-27T11:11:39.782000000Z 2026-01-27T11:11:39.782Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"error\": \"Start signal not received\", \"code\": 412, \"details\": \"End reason: StopEgress API\"}\n",
    )
    .expect("write");
    let out = dir.join("egress.stdout");
    std::fs::write(
        &out,
        "2026-01-27T11:11:06.000000000Z 2026-01-27T11:11:06.000Z\tDEBUG\tegress\thandler/x.go:1\tchrome launched\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"handlerID\": \"EGH_x\"}\n",
    )
    .expect("write");
    err
}

fn fake_docker(dir: &Path) {
    recorded_egress(dir);
    let d = dir.display();
    script(
        dir,
        "docker",
        &format!(
            r#"echo "$@" >> "{d}/docker.args"
case "$1" in
  ps) printf 'lk-egress-1\tlivekit/egress:v1.9.0\nredis\tredis:7-alpine\nlk-server-1\tlivekit/livekit-server:v1.8\n' ;;
  logs)
    for a in "$@"; do last="$a"; done
    case "$last" in
      lk-egress-1|egress) cat "{d}/egress.stdout"; cat "{d}/egress.stderr" >&2 ;;
      lk-server-1) echo "2026-01-27T11:11:04.000000000Z 2026-01-27T11:11:04.000Z	INFO	livekit	service/server.go:1	starting LiveKit server" ;;
      *) echo "Error response from daemon: No such container: $last" >&2; exit 1 ;;
    esac ;;
  *) exit 64 ;;
esac"#
        ),
    );
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn docker_named_container_merges_both_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    fake_docker(dir.path());
    let out = run_with_path(dir.path(), false, &["docker", "--format", "json", "egress"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = json(&out);
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["input"]["sources"][0], "docker logs egress");
    assert_eq!(v["egresses"][0]["code"], 412);
    assert_eq!(
        v["egresses"][0]["diagnoses"][0]["rule"],
        "start-signal-not-received"
    );
    assert_eq!(v["nodes"]["containers"][0], "egress");
    // Both streams were read: the handler line on stdout counts too.
    assert_eq!(v["input"]["lines"], 3);
    let args = std::fs::read_to_string(dir.path().join("docker.args")).expect("args");
    assert_eq!(args.trim(), "logs --timestamps egress");
}

#[test]
fn docker_finds_livekit_containers() {
    let dir = tempfile::tempdir().expect("tempdir");
    fake_docker(dir.path());
    let out = run_with_path(
        dir.path(),
        false,
        &[
            "docker",
            "--format",
            "json",
            "--since",
            "2026-01-27T11:00:00Z",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = json(&out);
    let sources: Vec<&str> = v["input"]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        sources,
        vec!["docker logs lk-egress-1", "docker logs lk-server-1"]
    );
    assert_eq!(v["summary"]["failed"], 1);
    let args = std::fs::read_to_string(dir.path().join("docker.args")).expect("args");
    assert!(args.contains("ps -a --format"), "{args}");
    assert!(
        args.contains("logs --timestamps --since=2026-01-27T11:00:00.000Z lk-egress-1"),
        "{args}"
    );
}

#[test]
fn docker_follow_reports_as_the_stream_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    fake_docker(dir.path());
    let out = run_with_path(dir.path(), false, &["docker", "-f", "egress"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("EG_Rj7Yh2WbN5cT"), "{}", out.stdout);
    let args = std::fs::read_to_string(dir.path().join("docker.args")).expect("args");
    assert_eq!(args.trim(), "logs --timestamps --follow egress");
}

#[test]
fn docker_errors_are_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    fake_docker(dir.path());
    let out = run_with_path(dir.path(), false, &["docker", "nope"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("No such container: nope"),
        "{}",
        out.stderr
    );

    let empty = tempfile::tempdir().expect("tempdir");
    let out = run_with_path(empty.path(), true, &["docker", "egress"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("`docker` not found"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
    let out = run_with_path(empty.path(), true, &["docker"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`docker` not found"), "{}", out.stderr);
}

#[test]
fn docker_without_a_daemon_is_an_error_not_a_log_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let why = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
    script(dir.path(), "docker", &format!("echo '{why}' >&2\nexit 1"));
    for args in [
        &["docker", "-f", "egress"][..],
        &["docker", "egress"],
        &["docker", "--format", "json", "-f", "egress"],
    ] {
        let out = run_with_path(dir.path(), false, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!("error: docker logs egress: {why}\n"),
            "{args:?}"
        );
        // Nothing was read: no report, no summary of an empty input.
        assert_eq!(out.stdout, "", "{args:?}");
    }
    let out = run_with_path(dir.path(), false, &["docker"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr, format!("error: docker ps: {why}\n"));
}

#[test]
fn kubectl_reads_every_matching_pod() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("pods.log"),
        "[pod/egress-0/egress] 2026-01-27T11:11:05.179000000Z 2026-01-27T11:11:05.179Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"room\": \"r\"}\n\
[pod/egress-1/egress] 2026-01-27T11:11:06.000000000Z missing config\n\
[pod/egress-0/egress] 2026-01-27T11:11:39.782000000Z 2026-01-27T11:11:39.782Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"error\": \"Start signal not received\", \"code\": 412}\n",
    )
    .expect("write");
    script(
        dir.path(),
        "kubectl",
        &format!(r#"echo "$@" > "{d}/kubectl.args"; cat "{d}/pods.log""#),
    );
    let out = run_with_path(
        dir.path(),
        false,
        &[
            "kubectl",
            "-n",
            "livekit",
            "-l",
            "app=egress",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = json(&out);
    assert_eq!(v["summary"]["failed"], 1);
    let containers = v["nodes"]["containers"].to_string();
    assert!(containers.contains("pod/egress-0/egress"), "{containers}");
    assert!(containers.contains("pod/egress-1/egress"), "{containers}");
    let args = std::fs::read_to_string(dir.path().join("kubectl.args")).expect("args");
    for want in [
        "logs",
        "--prefix",
        "--all-containers",
        "--timestamps",
        "--tail=-1",
        "-l app=egress",
        "-n livekit",
    ] {
        assert!(args.contains(want), "{want} in {args}");
    }
    let empty = tempfile::tempdir().expect("tempdir");
    let out = run_with_path(empty.path(), true, &["kubectl"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`kubectl` not found"), "{}", out.stderr);
}

/// The origin case's two lines as zap console lines.
const ORIGIN: [&str; 2] = [
    "2026-01-27T11:11:05.179Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\", \"room\": \"test-local-recording\"}",
    "2026-01-27T11:11:39.782Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"error\": \"Start signal not received\", \"code\": 412, \"details\": \"End reason: StopEgress API\"}",
];

fn diagnose_file(name: &str, text: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    let out = run_with_path(
        dir.path(),
        false,
        &["--format", "json", p.to_str().expect("utf-8 path")],
    );
    assert_eq!(out.code, 1, "{name}: {}", out.stderr);
    let v = json(&out);
    assert_eq!(
        v["egresses"][0]["diagnoses"][0]["rule"], "start-signal-not-received",
        "{name}"
    );
    assert_eq!(v["egresses"][0]["code"], 412, "{name}");
    v
}

#[test]
fn docker_json_file_with_split_records() {
    let mut lines = Vec::new();
    let (a, b) = ORIGIN[1].split_at(50);
    lines.push(serde_json::json!({"log": format!("{}\n", ORIGIN[0]), "stream": "stderr", "time": "2026-01-27T11:11:05.18Z"}));
    lines
        .push(serde_json::json!({"log": a, "stream": "stderr", "time": "2026-01-27T11:11:39.79Z"}));
    lines.push(serde_json::json!({"log": format!("{b}\n"), "stream": "stderr", "time": "2026-01-27T11:11:39.79Z"}));
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    let v = diagnose_file("abc-json.log", &text.join("\n"));
    assert_eq!(v["input"]["enveloped_lines"], 3);
    assert_eq!(v["input"]["chunks_joined"], 1);
}

#[test]
fn cri_file_with_partial_records() {
    let (a, b) = ORIGIN[1].split_at(60);
    let text = format!(
        "2026-01-27T11:11:05.180Z stderr F {}\n2026-01-27T11:11:39.790Z stderr P {a}\n2026-01-27T11:11:39.790Z stderr F {b}\n",
        ORIGIN[0]
    );
    diagnose_file("0.log", &text);
}

#[test]
fn journald_loki_and_elastic_exports() {
    let journald: Vec<String> = ORIGIN
        .iter()
        .map(|l| {
            serde_json::json!({"__CURSOR": "s=1", "__REALTIME_TIMESTAMP": "1769512265179000", "MESSAGE": l, "CONTAINER_NAME": "egress"}).to_string()
        })
        .collect();
    let v = diagnose_file("journal.json", &journald.join("\n"));
    assert_eq!(v["nodes"]["containers"][0], "egress");

    let loki: Vec<String> = ORIGIN
        .iter()
        .map(|l| {
            serde_json::json!({"labels": {"pod": "egress-0", "container": "egress"}, "line": l, "timestamp": "2026-01-27T11:11:05Z"}).to_string()
        })
        .collect();
    let v = diagnose_file("loki.jsonl", &loki.join("\n"));
    assert_eq!(v["nodes"]["containers"][0], "pod/egress-0/egress");

    let es: Vec<String> = ORIGIN
        .iter()
        .map(|l| {
            serde_json::json!({"_index": "logs", "_id": "x", "_source": {"@timestamp": "2026-01-27T11:11:05Z", "message": l, "kubernetes": {"pod_name": "egress-1", "container_name": "egress"}}}).to_string()
        })
        .collect();
    let v = diagnose_file("hits.ndjson", &es.join("\n"));
    assert_eq!(v["nodes"]["containers"][0], "pod/egress-1/egress");
}

#[test]
fn since_until_and_quiet() {
    let out = run_with_path(
        Path::new("/nonexistent"),
        false,
        &["--quiet", "samples/origin-412.log"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("1 failed"), "{}", out.stdout);

    // The abort line is after --until: only the validated request is left.
    let out = run_with_path(
        Path::new("/nonexistent"),
        false,
        &[
            "--format",
            "json",
            "--until",
            "2026-01-27T11:11:30Z",
            "samples/origin-412.log",
        ],
    );
    let v = json(&out);
    assert_eq!(v["summary"]["failed"], 0, "{}", out.stdout);
    assert!(v["hints"]
        .to_string()
        .contains("outside the --since/--until window"));

    let out = run_with_path(
        Path::new("/nonexistent"),
        false,
        &[
            "--since",
            "1h",
            "--format",
            "json",
            "samples/origin-412.log",
        ],
    );
    assert_eq!(json(&out)["summary"]["egresses"], 0);
    let out = run_with_path(Path::new("/nonexistent"), false, &["--since", "later"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run_with_path(Path::new("/nonexistent"), false, &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("egresslens"), "{shell}");
    }
    let out = run_with_path(Path::new("/nonexistent"), false, &["man"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.starts_with(".ie") || out.stdout.contains(".TH"),
        "{}",
        out.stdout
    );
}

/// A log saved by PowerShell's `>` (UTF-16LE with a byte-order mark, CRLF line ends) or with a
/// UTF-8 byte-order mark gives the report the plain file gives (its first line included).
#[test]
fn windows_encodings_give_the_same_report() {
    let plain = std::fs::read_to_string(crate::util::root().join("samples/origin-412.log"))
        .expect("sample");
    let dir = tempfile::tempdir().expect("temp dir");
    let crlf = plain.replace('\n', "\r\n");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in crlf.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(plain.as_bytes());
    let want = crate::util::run(&["--format", "json", "samples/origin-412.log"]);
    let body = |out: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(out).expect("json report");
        v["input"] = serde_json::Value::Null;
        v
    };
    for (name, data) in [("utf16.log", utf16), ("bom.log", utf8)] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        let path = path.to_str().expect("utf8 path");
        let got = crate::util::run(&["--format", "json", path]);
        assert_eq!(got.code, want.code, "{name}: {}", got.stderr);
        // (The evidence names its source file.)
        let same_source = got.stdout.replace(path, "samples/origin-412.log");
        assert_eq!(body(&same_source), body(&want.stdout), "{name}");
    }
}
