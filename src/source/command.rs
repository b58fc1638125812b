//! Input I/O from external commands: runs `docker logs` / `kubectl logs` (and `docker ps` to
//! find the containers) and yields the child's stdout and stderr merged line by line as a byte
//! stream for a `LineReader`. It owns spawning, reading and reaping the children; it must not
//! interpret log lines or know that egresses exist.
//!
//! The child's stderr carries both the container's stderr and the command's own complaints
//! (`Cannot connect to the Docker daemon ...`), which only the exit status tells apart: a line
//! on stderr is held back until the next line arrives, the child exits, or [`HOLD`] passes,
//! so that a command failing with a message is reported as an error with that message, not as
//! a log line read.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// Lines queued from one child before its reader threads wait (back-pressure).
const QUEUE: usize = 256;
/// Longest piece of a line handed over at a time (the line reader caps lines itself).
const MAX_PIECE: usize = super::MAX_LINE;
/// How long the last line on the child's stderr waits for the child to exit (a failing
/// `docker` or `kubectl` exits within milliseconds of saying why) before it is read as a log
/// line.
pub const HOLD: Duration = Duration::from_millis(300);

/// A command whose output is a log: program, arguments, and how reports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Name in reports, e.g. `docker logs egress`.
    pub name: String,
    /// The container or pod selection the output comes from (for events' `container`).
    pub container: Option<String>,
}

/// Image names that mark a container as an egress or a livekit-server.
pub const DOCKER_IMAGES: [&str; 2] = ["livekit/egress", "livekit/livekit-server"];
/// Pods selected by `egresslens kubectl` when no `-l` is given (the LiveKit Helm charts' labels).
pub const DEFAULT_SELECTOR: &str = "app.kubernetes.io/name in (egress,livekit-server)";

/// `docker logs --timestamps [-f] [--since T] [--until T] NAME` for each container.
pub fn docker_logs(
    containers: &[String],
    follow: bool,
    since: Option<&str>,
    until: Option<&str>,
) -> Vec<CommandSpec> {
    containers
        .iter()
        .map(|c| {
            let mut args = vec!["logs".to_string(), "--timestamps".to_string()];
            if follow {
                args.push("--follow".into());
            }
            if let Some(s) = since {
                args.push(format!("--since={s}"));
            }
            if let Some(u) = until {
                args.push(format!("--until={u}"));
            }
            args.push(c.clone());
            CommandSpec {
                program: "docker".into(),
                args,
                name: format!("docker logs {c}"),
                container: Some(c.clone()),
            }
        })
        .collect()
}

/// `kubectl logs --prefix --all-containers --timestamps -l SELECTOR [-n NS] [-f]`.
pub fn kubectl_logs(
    namespace: Option<&str>,
    selector: &str,
    follow: bool,
    since: Option<&str>,
) -> CommandSpec {
    let mut args: Vec<String> = [
        "logs",
        "--prefix",
        "--all-containers",
        "--timestamps",
        // With a selector kubectl shows only the last 10 lines of each pod by default.
        "--tail=-1",
        "--max-log-requests=50",
        "--ignore-errors",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("-l".into());
    args.push(selector.to_string());
    if let Some(ns) = namespace {
        args.push("-n".into());
        args.push(ns.to_string());
    }
    if follow {
        args.push("--follow".into());
    }
    if let Some(s) = since {
        // kubectl takes a duration with --since and a time with --since-time.
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) && s.contains('-') {
            args.push(format!("--since-time={s}"));
        } else {
            args.push(format!("--since={s}"));
        }
    }
    let name = match namespace {
        Some(ns) => format!("kubectl logs -n {ns} -l {selector}"),
        None => format!("kubectl logs -l {selector}"),
    };
    CommandSpec {
        program: "kubectl".into(),
        args,
        name,
        container: None,
    }
}

fn spawn_error(program: &str, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        let hint = match program {
            "docker" => "install the Docker CLI, or pipe `docker logs NAME 2>&1` into egresslens",
            "kubectl" => "install kubectl, or pipe `kubectl logs ...` into egresslens",
            _ => "check PATH",
        };
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{program}` not found on PATH: {hint}"),
        )
    } else {
        io::Error::new(e.kind(), format!("cannot run `{program}`: {e}"))
    }
}

/// Containers whose image names an egress or a livekit-server, by `docker ps` (`-a` also
/// lists stopped ones, e.g. an egress that exited at start-up). Returns their names.
pub fn find_docker_containers(include_stopped: bool) -> io::Result<Vec<String>> {
    let mut cmd = Command::new("docker");
    cmd.arg("ps");
    if include_stopped {
        cmd.arg("-a");
    }
    cmd.args(["--format", "{{.Names}}\t{{.Image}}"]);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("docker", e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        // The input is named `docker ps` in the error already: docker's own words say why.
        let why = why.trim();
        return Err(io::Error::other(if why.is_empty() {
            format!("`docker ps` failed ({})", out.status)
        } else {
            why.to_string()
        }));
    }
    Ok(parse_docker_ps(&String::from_utf8_lossy(&out.stdout)))
}

/// Names from `docker ps --format '{{.Names}}\t{{.Image}}'` whose image is a LiveKit one.
pub fn parse_docker_ps(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (name, image) = l.split_once('\t')?;
            let name = name.trim();
            (!name.is_empty() && DOCKER_IMAGES.iter().any(|i| image.contains(i)))
                .then(|| name.to_string())
        })
        .collect()
}

/// A command that failed: its name and why (the last line it wrote to stderr, or its exit
/// status). Carried inside the `io::Error` a [`ChildStream`] read returns.
#[derive(Debug)]
pub struct CommandFailed {
    pub name: String,
    pub why: String,
}

impl std::fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for CommandFailed {}

/// The name of the command an input error comes from, when a command failed.
pub fn failed_command(e: &io::Error) -> Option<&str> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<CommandFailed>())
        .map(|c| c.name.as_str())
}

/// A line from one of the child's pipes.
struct Piece {
    bytes: Vec<u8>,
    stderr: bool,
}

/// A running child whose stdout and stderr come out merged, whole lines at a time.
pub struct ChildStream {
    child: Child,
    rx: Receiver<Piece>,
    chunk: Vec<u8>,
    at: usize,
    name: String,
    /// The last line from stderr, not handed out yet, and until when it waits for the exit.
    held: Option<(Vec<u8>, Instant)>,
    /// A line that arrived after the held one (handed out right after it).
    next: Option<Vec<u8>>,
    ended: bool,
}

impl ChildStream {
    /// Starts the command with both output streams piped and read on their own threads.
    pub fn spawn(spec: &CommandSpec) -> io::Result<ChildStream> {
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(&spec.program, e))?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        if let Some(out) = child.stdout.take() {
            pump(out, tx.clone(), false)?;
        }
        if let Some(err) = child.stderr.take() {
            pump(err, tx, true)?;
        }
        Ok(ChildStream {
            child,
            rx,
            chunk: Vec::new(),
            at: 0,
            name: spec.name.clone(),
            held: None,
            next: None,
            ended: false,
        })
    }

    /// Called once both streams have ended: a child that failed is an input error, with the
    /// held stderr line as its reason; one that succeeded hands the held line out.
    fn reap(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.ended = true;
        let status = self.child.wait()?;
        let held = self.held.take().map(|(line, _)| line);
        if status.success() {
            return Ok(held);
        }
        let why = held
            .map(|l| String::from_utf8_lossy(&l).trim().to_string())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| format!("`{}` failed ({status})", self.name));
        Err(io::Error::other(CommandFailed {
            name: self.name.clone(),
            why,
        }))
    }

    /// The next line to hand out, `None` at the end.
    fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(line) = self.next.take() {
                return Ok(Some(line));
            }
            if self.ended {
                return Ok(None);
            }
            let got = match &self.held {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some((_, until)) => self
                    .rx
                    .recv_timeout(until.saturating_duration_since(Instant::now())),
            };
            match got {
                Ok(piece) => {
                    let held = self.held.take();
                    if piece.stderr {
                        self.held = Some((piece.bytes, Instant::now() + HOLD));
                    } else if held.is_some() {
                        self.next = Some(piece.bytes);
                    } else {
                        return Ok(Some(piece.bytes));
                    }
                    // A line after the held one: the child goes on, so that line was log.
                    if let Some((line, _)) = held {
                        return Ok(Some(line));
                    }
                }
                // Still running after the wait: the held line is log.
                Err(RecvTimeoutError::Timeout) => {
                    if let Some((line, _)) = self.held.take() {
                        return Ok(Some(line));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return self.reap(),
            }
        }
    }
}

impl Read for ChildStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.next_line()? {
                Some(line) => {
                    self.chunk = line;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for ChildStream {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads one of the child's pipes on its own thread and hands over whole lines (a line longer
/// than [`MAX_PIECE`] is cut into pieces), so lines of the two streams never interleave.
fn pump<R: Read + Send + 'static>(r: R, tx: SyncSender<Piece>, stderr: bool) -> io::Result<()> {
    std::thread::Builder::new()
        .name("egresslens-child".into())
        .spawn(move || {
            let mut r = BufReader::with_capacity(64 * 1024, r);
            let mut line = Vec::new();
            loop {
                let (done, used) = match r.fill_buf() {
                    Ok([]) => break,
                    Ok(buf) => match memchr::memchr(b'\n', buf) {
                        Some(i) => {
                            line.extend_from_slice(&buf[..=i]);
                            (true, i + 1)
                        }
                        None => {
                            line.extend_from_slice(buf);
                            (line.len() >= MAX_PIECE, buf.len())
                        }
                    },
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                r.consume(used);
                if done {
                    if line.last() != Some(&b'\n') {
                        line.push(b'\n');
                    }
                    let bytes = std::mem::take(&mut line);
                    if tx.send(Piece { bytes, stderr }).is_err() {
                        return;
                    }
                }
            }
            if !line.is_empty() {
                line.push(b'\n');
                let _ = tx.send(Piece {
                    bytes: line,
                    stderr,
                });
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_ps_filter() {
        let out = "egress\tlivekit/egress:v1.9.0\nlk\tlivekit/livekit-server:latest\nredis\tredis:7\n\tlivekit/egress\n";
        assert_eq!(parse_docker_ps(out), vec!["egress", "lk"]);
    }

    #[test]
    fn command_lines() {
        let d = docker_logs(&["egress".into()], true, Some("2h"), None);
        assert_eq!(
            d[0].args,
            vec!["logs", "--timestamps", "--follow", "--since=2h", "egress"]
        );
        assert_eq!(d[0].name, "docker logs egress");
        let k = kubectl_logs(
            Some("lk"),
            "app=egress",
            false,
            Some("2026-01-27T11:00:00Z"),
        );
        assert!(k.args.contains(&"--prefix".to_string()));
        assert!(k.args.contains(&"--tail=-1".to_string()));
        assert!(k
            .args
            .ends_with(&["--since-time=2026-01-27T11:00:00Z".to_string()]));
        assert_eq!(k.name, "kubectl logs -n lk -l app=egress");
    }

    #[cfg(unix)]
    #[test]
    fn merges_both_streams_and_reports_failure() {
        let spec = CommandSpec {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "echo out1; echo err1 >&2; echo out2; printf tail".into(),
            ],
            name: "sh".into(),
            container: None,
        };
        let mut s = ChildStream::spawn(&spec).expect("spawn");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, vec!["err1", "out1", "out2", "tail"]);

        let fail = CommandSpec {
            args: vec![
                "-c".into(),
                "echo 'no such container: x' >&2; exit 1".into(),
            ],
            ..spec
        };
        let mut s = ChildStream::spawn(&fail).expect("spawn");
        let mut text = String::new();
        let err = s.read_to_string(&mut text).expect_err("fails");
        assert!(err.to_string().contains("no such container"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_command_s_message_is_its_error_not_a_log_line() {
        let sh = |script: &str| CommandSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            name: "docker logs egress".into(),
            container: None,
        };
        // The daemon is down: the message alone, as the error, with the command's name.
        let mut s = ChildStream::spawn(&sh(
            "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1",
        ))
        .expect("spawn");
        let mut text = String::new();
        let err = s.read_to_string(&mut text).expect_err("fails");
        assert_eq!(text, "");
        assert_eq!(
            err.to_string(),
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        );
        assert_eq!(failed_command(&err), Some("docker logs egress"));

        // Log lines on stderr before a failure later on are log lines; the last one is why.
        let mut s = ChildStream::spawn(&sh(
            "echo 'log one' >&2; echo 'log two' >&2; sleep 1; echo 'error from daemon in stream' >&2; exit 1",
        ))
        .expect("spawn");
        let mut text = String::new();
        let err = s.read_to_string(&mut text).expect_err("fails");
        assert_eq!(text, "log one\nlog two\n");
        assert_eq!(err.to_string(), "error from daemon in stream");

        // A child that succeeds hands out its last stderr line too, and one that fails
        // silently is named with its status.
        let mut s = ChildStream::spawn(&sh("echo out; echo 'last' >&2")).expect("spawn");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, vec!["last", "out"]);
        let mut s = ChildStream::spawn(&sh("exit 3")).expect("spawn");
        let err = s.read_to_string(&mut String::new()).expect_err("fails");
        assert!(
            err.to_string().contains("`docker logs egress` failed"),
            "{err}"
        );
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let spec = CommandSpec {
            program: "egresslens-no-such-program".into(),
            args: vec![],
            name: "x".into(),
            container: None,
        };
        let err = ChildStream::spawn(&spec).err().expect("fails");
        assert!(err.to_string().contains("not found on PATH"), "{err}");
    }
}
