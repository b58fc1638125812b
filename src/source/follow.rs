//! Follow mode's input side, like `tail -F`: keeps reading stdin and files as they grow, through
//! rotation (rename and re-creation), copytruncate (the file shrinks: read it from the start
//! again), and deletion and re-creation; a file that does not exist yet is waited for. It wakes on `notify` events from the files' parent
//! directories (so a re-created file is seen), filtered by canonical path, and polls on every
//! wait as well, so following works where inotify is unavailable or its limits are exhausted.
//! Stdin is read on its own thread and handed over as it arrives. It yields raw lines with
//! their input index and tells when an input starts over or ends; it must not interpret line
//! contents or know that egresses exist.

use super::{Input, Line, LineReader, BLOCK};
use std::fs::{self, File, Metadata};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

/// Bytes handed over from the stdin thread at a time.
const STDIN_CHUNK: usize = 64 * 1024;
/// Chunks the stdin thread may read ahead of the consumer (back-pressure beyond that).
const STDIN_QUEUE: usize = 16;
/// Restarts (rotation, truncation) handled for one file in one `poll`.
const MAX_RESTARTS_PER_POLL: usize = 4;

/// What happened on one input, in order.
#[derive(Debug)]
pub enum TailEvent<'a> {
    /// A complete line (or, at a restart or the end, the unterminated rest of the last one).
    Line(Line<'a>),
    /// The input starts over from its first line: the file was replaced or truncated.
    Restart(Restart),
    /// The input has ended for good (stdin closed).
    Closed,
}

/// Why a followed file starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Another file now has the name: rotated (renamed away and re-created) or deleted and
    /// re-created. The old file was read to its end first.
    Replaced,
    /// The file shrank below what was already read (copytruncate): read from its start again.
    Truncated,
}

/// An I/O error on one input.
#[derive(Debug)]
pub struct TailError {
    /// Index of the input in the list given to [`Tailer::open`].
    pub input: usize,
    pub source: io::Error,
}

/// How to follow.
#[derive(Debug, Clone, Copy)]
pub struct TailOptions {
    /// Watch the files' directories with `notify` (inotify on Linux). Without it, or when it
    /// cannot be set up, changes are found by polling on every [`Tailer::wait`].
    pub watch: bool,
    /// Most lines handed out per input in one [`Tailer::poll`], so that a large backlog does not
    /// keep the caller from its other duties.
    pub batch: usize,
}

impl Default for TailOptions {
    fn default() -> Self {
        TailOptions {
            watch: true,
            batch: 16 * 1024,
        }
    }
}

/// What one [`Tailer::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Polled {
    /// Lines handed out.
    pub lines: u64,
    /// Some input has more data ready: poll again before waiting.
    pub more: bool,
}

/// Wakes a [`Tailer::wait`] from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct Waker(SyncSender<()>);

impl Waker {
    /// Ends the current or next wait early.
    pub fn wake(&self) {
        // A full channel already holds a wake-up: nothing is lost.
        let _ = self.0.try_send(());
    }
}

/// Follows several inputs at once.
pub struct Tailer {
    inputs: Vec<Tail>,
    wake_rx: Receiver<()>,
    wake_tx: SyncSender<()>,
    // Kept alive for its watches; dropped with the tailer.
    _watcher: Option<notify::RecommendedWatcher>,
    watched_dirs: usize,
}

enum Tail {
    Stdin(StdinTail),
    File(FileTail),
}

struct StdinTail {
    reader: LineReader,
    closed: Arc<AtomicBool>,
    done: bool,
}

struct FileTail {
    path: PathBuf,
    reader: LineReader,
    /// Identity of the open file (device, inode), to tell a replaced file from the same one.
    id: Option<(u64, u64)>,
    /// Bytes read from the open file so far (before decompression), to notice truncation.
    pos: Arc<AtomicU64>,
    /// The name was seen without a file since the open file was opened.
    gone: bool,
    /// No file had the name yet: nothing was opened, and the first file to appear is read from
    /// its start as the input's beginning (not as a restart).
    waiting: bool,
}

impl Tailer {
    /// Opens every input: a file is followed through rotation and re-creation, and one that
    /// does not exist yet is waited for (as `tail -F` does; see [`Tailer::waiting`]); stdin is
    /// read on its own thread. Any other error opening a file (a directory, no permission)
    /// fails here.
    pub fn open(inputs: &[Input], opts: TailOptions) -> Result<Tailer, TailError> {
        let (wake_tx, wake_rx) = mpsc::sync_channel(1);
        let mut tails = Vec::with_capacity(inputs.len());
        let mut files = Vec::new();
        let mut stdin_taken = false;
        for (i, input) in inputs.iter().enumerate() {
            let err = |source| TailError { input: i, source };
            match input {
                Input::Stdin => {
                    if stdin_taken {
                        return Err(err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "stdin given twice",
                        )));
                    }
                    stdin_taken = true;
                    tails.push(Tail::Stdin(spawn_stdin(wake_tx.clone()).map_err(err)?));
                }
                Input::Command(spec) => {
                    let child = super::command::ChildStream::spawn(spec).map_err(err)?;
                    tails.push(Tail::Stdin(
                        spawn_stream("egresslens-command", child, wake_tx.clone()).map_err(err)?,
                    ));
                }
                Input::File(path) => {
                    let tail = match open_followed(path) {
                        Ok((reader, id, pos)) => FileTail {
                            path: path.clone(),
                            reader,
                            id,
                            pos,
                            gone: false,
                            waiting: false,
                        },
                        Err(e) if e.kind() == io::ErrorKind::NotFound => FileTail {
                            path: path.clone(),
                            reader: LineReader::from_bytes(Vec::new()),
                            id: None,
                            pos: Arc::new(AtomicU64::new(0)),
                            gone: true,
                            waiting: true,
                        },
                        Err(e) => return Err(err(e)),
                    };
                    files.push(path.clone());
                    tails.push(Tail::File(tail));
                }
            }
        }
        let (watcher, watched_dirs) = if opts.watch && !files.is_empty() {
            watch_dirs(&files, wake_tx.clone())
        } else {
            (None, 0)
        };
        Ok(Tailer {
            inputs: tails,
            wake_rx,
            wake_tx,
            _watcher: watcher,
            watched_dirs,
        })
    }

    /// A handle that wakes [`Tailer::wait`] from another thread.
    pub fn waker(&self) -> Waker {
        Waker(self.wake_tx.clone())
    }

    /// The inputs that are files not there yet, waited for (their index in the list given to
    /// [`Tailer::open`]).
    pub fn waiting(&self) -> Vec<usize> {
        self.inputs
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t, Tail::File(f) if f.waiting))
            .map(|(i, _)| i)
            .collect()
    }

    /// Directories watched through `notify` (0: polling only).
    pub fn watched_dirs(&self) -> usize {
        self.watched_dirs
    }

    /// True when every input has ended (only stdin ends; files are followed until stopped).
    pub fn all_closed(&self) -> bool {
        self.inputs.iter().all(|t| match t {
            Tail::Stdin(s) => s.done,
            Tail::File(_) => false,
        })
    }

    /// Hands out what every input holds now, at most `batch` lines per input, then checks each
    /// file for rotation, truncation and re-creation.
    pub fn poll(
        &mut self,
        batch: usize,
        f: &mut dyn FnMut(usize, TailEvent<'_>),
    ) -> Result<Polled, TailError> {
        let mut polled = Polled::default();
        for i in 0..self.inputs.len() {
            let p = self.poll_input(i, batch, f)?;
            polled.lines += p.lines;
            polled.more |= p.more;
        }
        Ok(polled)
    }

    /// Like [`Tailer::poll`] for input `i` alone (a caller merging inputs reads each as it
    /// needs).
    pub fn poll_input(
        &mut self,
        i: usize,
        batch: usize,
        f: &mut dyn FnMut(usize, TailEvent<'_>),
    ) -> Result<Polled, TailError> {
        let Some(tail) = self.inputs.get_mut(i) else {
            return Ok(Polled::default());
        };
        let (lines, more) = match tail {
            Tail::Stdin(s) => poll_stdin(s, i, batch, f),
            Tail::File(t) => poll_file(t, i, batch, f),
        }
        .map_err(|source| TailError { input: i, source })?;
        Ok(Polled { lines, more })
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Waits until a watched file changes, stdin has data, [`Waker::wake`] is called, or
    /// `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let _ = self.wake_rx.recv_timeout(timeout);
        while self.wake_rx.try_recv().is_ok() {}
    }

    /// Hands out the unterminated last line of every input (at the end of the run).
    pub fn drain_partial(&mut self, f: &mut dyn FnMut(usize, TailEvent<'_>)) {
        for (i, tail) in self.inputs.iter_mut().enumerate() {
            let reader = match tail {
                Tail::Stdin(s) => &mut s.reader,
                Tail::File(t) => &mut t.reader,
            };
            let _ = drain_all(reader, i, f);
        }
    }
}

/// Reads a reader to its current end, partial last line included.
fn drain_all(
    reader: &mut LineReader,
    i: usize,
    f: &mut dyn FnMut(usize, TailEvent<'_>),
) -> io::Result<u64> {
    reader.set_hold_partial(false);
    reader.resume();
    let mut n = 0;
    while let Some(line) = reader.next_line()? {
        f(i, TailEvent::Line(line));
        n += 1;
    }
    reader.set_hold_partial(true);
    Ok(n)
}

/// Reads up to `batch` lines; `more` when the batch ran out before the data did.
fn read_lines(
    reader: &mut LineReader,
    i: usize,
    batch: usize,
    f: &mut dyn FnMut(usize, TailEvent<'_>),
) -> io::Result<(u64, bool)> {
    reader.resume();
    let mut n = 0u64;
    while n < batch as u64 {
        match reader.next_line()? {
            Some(line) => {
                f(i, TailEvent::Line(line));
                n += 1;
            }
            None => return Ok((n, false)),
        }
    }
    Ok((n, true))
}

fn poll_stdin(
    s: &mut StdinTail,
    i: usize,
    batch: usize,
    f: &mut dyn FnMut(usize, TailEvent<'_>),
) -> io::Result<(u64, bool)> {
    if s.done {
        return Ok((0, false));
    }
    let (mut n, more) = read_lines(&mut s.reader, i, batch, f)?;
    if !more && s.closed.load(Ordering::Acquire) {
        // Everything sent before the end has been read: hand out the last, unterminated line.
        n += drain_all(&mut s.reader, i, f)?;
        s.done = true;
        f(i, TailEvent::Closed);
    }
    Ok((n, more))
}

/// What the name of a followed file refers to now.
enum Check {
    /// The same file, not shrunk.
    Same,
    /// The same file, shorter than what was read.
    Truncated,
    /// Another file has the name.
    Replaced,
    /// No file has the name (deleted, or renamed away and not yet re-created).
    Gone,
}

fn check(t: &FileTail) -> Check {
    let meta = match fs::metadata(&t.path) {
        Ok(m) if !m.is_dir() => m,
        // Missing, unreadable for now, or a directory in its place: keep what is open and
        // look again on the next poll.
        _ => return Check::Gone,
    };
    let id = file_id(&meta);
    if t.gone || (id.is_some() && t.id.is_some() && id != t.id) {
        Check::Replaced
    } else if meta.len() < t.pos.load(Ordering::Relaxed) {
        Check::Truncated
    } else {
        Check::Same
    }
}

fn poll_file(
    t: &mut FileTail,
    i: usize,
    batch: usize,
    f: &mut dyn FnMut(usize, TailEvent<'_>),
) -> io::Result<(u64, bool)> {
    let mut total = 0u64;
    for _ in 0..MAX_RESTARTS_PER_POLL {
        let (n, more) = read_lines(
            &mut t.reader,
            i,
            batch.saturating_sub(usize::try_from(total).unwrap_or(usize::MAX)),
            f,
        )?;
        total += n;
        if more {
            return Ok((total, true));
        }
        // At the end of what the open file holds: where does the name point now?
        match check(t) {
            Check::Same => return Ok((total, false)),
            Check::Gone => {
                t.gone = true;
                return Ok((total, false));
            }
            c @ (Check::Truncated | Check::Replaced) => {
                // copytruncate (what is left of a partial line was cut away) or rotation and
                // re-creation: start again on the file now at the path.
                let restart = if matches!(c, Check::Truncated) {
                    Restart::Truncated
                } else {
                    Restart::Replaced
                };
                let Ok((reader, id, pos)) = open_followed(&t.path) else {
                    t.gone = true;
                    return Ok((total, false));
                };
                // Lines the writer added to the old file before it let go of it come first.
                total += drain_all(&mut t.reader, i, f)?;
                t.reader = reader;
                t.id = id;
                t.pos = pos;
                t.gone = false;
                // The first file to appear under a waited-for name is where the input begins.
                if !std::mem::take(&mut t.waiting) {
                    f(i, TailEvent::Restart(restart));
                }
            }
        }
    }
    Ok((total, true))
}

/// Counts the bytes read from a file (before any decompression).
struct Counted {
    file: File,
    pos: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Opened = (LineReader, Option<(u64, u64)>, Arc<AtomicU64>);

/// Opens a file to follow from its start: a reader that holds back an unterminated last line,
/// the file's identity taken from the open handle, and its byte counter.
fn open_followed(path: &Path) -> io::Result<Opened> {
    let meta = fs::metadata(path)?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory (pass the log files inside it)",
        ));
    }
    let file = File::open(path)?;
    let id = file.metadata().ok().as_ref().and_then(file_id);
    let pos = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        file,
        pos: Arc::clone(&pos),
    };
    let mut reader = LineReader::from_buffered(BufReader::with_capacity(BLOCK, counted))?;
    reader.set_hold_partial(true);
    Ok((reader, id, pos))
}

#[cfg(unix)]
fn file_id(m: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> Option<(u64, u64)> {
    None
}

/// Hands the chunks read by the stdin thread to a [`LineReader`]: `Ok(0)` when none is
/// waiting (the reader then holds its partial line and is resumed later).
struct ChunkReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    closed: Arc<AtomicBool>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.rx.try_recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(TryRecvError::Empty) => return Ok(0),
                Err(TryRecvError::Disconnected) => {
                    self.closed.store(true, Ordering::Release);
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Starts the thread that reads stdin as data arrives (gzip detected by its magic bytes).
fn spawn_stdin(wake: SyncSender<()>) -> io::Result<StdinTail> {
    spawn_stream("egresslens-stdin", io::stdin(), wake)
}

/// Starts the thread that reads a stream (stdin, a command's output) as data arrives.
fn spawn_stream<R: Read + Send + 'static>(
    name: &str,
    source: R,
    wake: SyncSender<()>,
) -> io::Result<StdinTail> {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(STDIN_QUEUE);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut buffered = BufReader::with_capacity(STDIN_CHUNK, source);
            let gz = match buffered.fill_buf() {
                Ok(head) => head.starts_with(&[0x1f, 0x8b]),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    let _ = wake.try_send(());
                    return;
                }
            };
            let mut src: Box<dyn Read> = if gz {
                Box::new(flate2::read::MultiGzDecoder::new(buffered))
            } else {
                Box::new(buffered)
            };
            let mut buf = vec![0u8; STDIN_CHUNK];
            loop {
                match src.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Ok(buf[..n].to_vec())).is_err() {
                            break;
                        }
                        let _ = wake.try_send(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
            // Dropping the sender tells the reader that stdin has ended.
            drop(tx);
            let _ = wake.try_send(());
        })?;
    let closed = Arc::new(AtomicBool::new(false));
    let mut reader = LineReader::new(Box::new(ChunkReader {
        rx,
        chunk: Vec::new(),
        at: 0,
        closed: Arc::clone(&closed),
    }));
    reader.set_hold_partial(true);
    Ok(StdinTail {
        reader,
        closed,
        done: false,
    })
}

/// Watches the parent directory of every file (so that rotation and re-creation are seen),
/// waking the tailer for events on the files' canonical paths only. Returns the watcher and
/// how many directories it watches; `None` when inotify cannot be had (the caller polls).
fn watch_dirs(
    files: &[PathBuf],
    wake: SyncSender<()>,
) -> (Option<notify::RecommendedWatcher>, usize) {
    use notify::Watcher;
    let mut targets: Vec<PathBuf> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut add = |path: &Path| {
        let Some(name) = path.file_name() else { return };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let Ok(dir) = fs::canonicalize(parent) else {
            return;
        };
        targets.push(dir.join(name));
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    };
    for path in files {
        add(path);
        // A symlinked log: its target's directory tells when the target is written.
        if let Ok(real) = fs::canonicalize(path) {
            add(&real);
        }
    }
    let targets = Arc::new(targets);
    let handler = move |res: notify::Result<notify::Event>| {
        let relevant = match &res {
            Ok(ev) => ev.need_rescan() || ev.paths.iter().any(|p| targets.contains(p)),
            // An error (e.g. the event queue overflowed): look at every file.
            Err(_) => true,
        };
        if relevant {
            let _ = wake.try_send(());
        }
    };
    let Ok(mut watcher) = notify::recommended_watcher(handler) else {
        return (None, 0);
    };
    let watched = dirs
        .iter()
        .filter(|d| {
            watcher
                .watch(d, notify::RecursiveMode::NonRecursive)
                .is_ok()
        })
        .count();
    if watched == 0 {
        return (None, 0);
    }
    (Some(watcher), watched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Instant;

    /// Collected events of one input: lines as strings, restarts as markers.
    fn collect(t: &mut Tailer) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let p = t
                .poll(1000, &mut |_, ev| match ev {
                    TailEvent::Line(l) => {
                        out.push(format!("{}:{}", l.number, String::from_utf8_lossy(l.bytes)))
                    }
                    TailEvent::Restart(r) => out.push(format!("<{r:?}>")),
                    TailEvent::Closed => out.push("<closed>".into()),
                })
                .expect("poll");
            if !p.more {
                return out;
            }
        }
    }

    /// Polls until `want` appears among the collected events (or 10 s pass).
    fn until(t: &mut Tailer, seen: &mut Vec<String>, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.iter().any(|s| s == want) {
            assert!(
                Instant::now() < deadline,
                "never saw {want:?}; saw {seen:?}"
            );
            t.wait(Duration::from_millis(50));
            seen.extend(collect(t));
        }
    }

    fn append(path: &Path, text: &str) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .expect("open");
        f.write_all(text.as_bytes()).expect("write");
    }

    fn tail(path: &Path, watch: bool) -> Tailer {
        Tailer::open(
            &[Input::File(path.to_path_buf())],
            TailOptions {
                watch,
                ..TailOptions::default()
            },
        )
        .expect("open")
    }

    fn follows_growth_rotation_and_truncation(watch: bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("egress.log");
        append(&path, "one\ntwo\npar");
        let mut t = tail(&path, watch);
        if watch {
            assert_eq!(t.watched_dirs(), 1);
        }
        let mut seen = collect(&mut t);
        assert_eq!(seen, vec!["1:one", "2:two"]);
        // The partial line is completed later.
        append(&path, "tial\nthree\n");
        until(&mut t, &mut seen, "4:three");
        assert!(seen.contains(&"3:partial".to_string()), "{seen:?}");

        // Rotation: rename away, write a last line to the old file, re-create.
        let rotated = dir.path().join("egress.log.1");
        fs::rename(&path, &rotated).expect("rename");
        append(&rotated, "late in old\n");
        append(&path, "new one\n");
        until(&mut t, &mut seen, "1:new one");
        let late = seen.iter().position(|s| s == "5:late in old");
        let restart = seen.iter().position(|s| s == "<Replaced>");
        assert!(late.is_some() && late < restart, "{seen:?}");

        // copytruncate: the file shrinks, then grows again from its start.
        append(&path, "new two\n");
        until(&mut t, &mut seen, "2:new two");
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open")
            .set_len(0)
            .expect("truncate");
        append(&path, "after\n");
        until(&mut t, &mut seen, "<Truncated>");
        until(&mut t, &mut seen, "1:after");

        // Deletion, then re-creation.
        fs::remove_file(&path).expect("rm");
        seen.extend(collect(&mut t));
        append(&path, "reborn\n");
        until(&mut t, &mut seen, "1:reborn");
        assert_eq!(seen.last().map(String::as_str), Some("1:reborn"));
    }

    #[test]
    fn follow_with_notify() {
        follows_growth_rotation_and_truncation(true);
    }

    #[test]
    fn follow_by_polling_only() {
        follows_growth_rotation_and_truncation(false);
    }

    #[test]
    fn several_files_keep_their_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.log");
        append(&a, "a1\n");
        append(&b, "b1\n");
        let mut t = Tailer::open(
            &[Input::File(a.clone()), Input::File(b.clone())],
            TailOptions::default(),
        )
        .expect("open");
        let mut got = Vec::new();
        let poll = |t: &mut Tailer, got: &mut Vec<(usize, String)>| {
            t.poll(100, &mut |i, ev| {
                if let TailEvent::Line(l) = ev {
                    got.push((i, String::from_utf8_lossy(l.bytes).into_owned()));
                }
            })
            .expect("poll");
        };
        poll(&mut t, &mut got);
        append(&b, "b2\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.len() < 3 {
            assert!(Instant::now() < deadline, "{got:?}");
            t.wait(Duration::from_millis(50));
            poll(&mut t, &mut got);
        }
        assert_eq!(
            got,
            vec![(0, "a1".into()), (1, "b1".into()), (1, "b2".into())]
        );
        assert!(!t.all_closed());
    }

    #[test]
    fn batch_limits_each_poll() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.log");
        append(&path, &"x\n".repeat(25));
        let mut t = tail(&path, false);
        let mut n = 0;
        let p = t.poll(10, &mut |_, _| n += 1).expect("poll");
        assert_eq!((n, p.more), (10, true));
        let mut rest = 0;
        while t.poll(10, &mut |_, _| rest += 1).expect("poll").more {}
        assert_eq!(rest, 15);
    }

    #[test]
    fn a_missing_file_is_waited_for_and_a_directory_fails_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        for watch in [true, false] {
            let path = dir.path().join(format!("later-{watch}.log"));
            let mut t = tail(&path, watch);
            assert_eq!(t.waiting(), vec![0]);
            let mut seen = collect(&mut t);
            assert!(seen.is_empty(), "{seen:?}");
            append(&path, "first\nsecond\n");
            until(&mut t, &mut seen, "2:second");
            // The file's appearance is where the input begins, not a restart.
            assert_eq!(seen, vec!["1:first", "2:second"]);
            assert!(t.waiting().is_empty());
            // From then on it is followed as any other file.
            fs::remove_file(&path).expect("rm");
            seen.extend(collect(&mut t));
            append(&path, "again\n");
            until(&mut t, &mut seen, "1:again");
            assert!(seen.contains(&"<Replaced>".to_string()), "{seen:?}");
        }
        // In a directory that does not exist yet either.
        let deep = dir.path().join("not-yet").join("egress.log");
        let mut t = tail(&deep, true);
        assert_eq!(t.waiting(), vec![0]);
        fs::create_dir(dir.path().join("not-yet")).expect("mkdir");
        append(&deep, "deep\n");
        let mut seen = Vec::new();
        until(&mut t, &mut seen, "1:deep");

        let err = Tailer::open(
            &[Input::File(dir.path().to_path_buf())],
            TailOptions::default(),
        )
        .err()
        .expect("directory fails");
        assert_eq!(err.input, 0);
        assert_eq!(err.source.kind(), io::ErrorKind::IsADirectory);
    }

    #[test]
    fn chunk_reader_holds_partial_lines_until_completed() {
        let (tx, rx) = mpsc::sync_channel(4);
        let closed = Arc::new(AtomicBool::new(false));
        let mut r = LineReader::new(Box::new(ChunkReader {
            rx,
            chunk: Vec::new(),
            at: 0,
            closed: Arc::clone(&closed),
        }));
        r.set_hold_partial(true);
        tx.send(Ok(b"a\nb".to_vec())).expect("send");
        let mut got = Vec::new();
        let mut s = StdinTail {
            reader: r,
            closed,
            done: false,
        };
        let mut f = |_: usize, ev: TailEvent<'_>| match ev {
            TailEvent::Line(l) => got.push(String::from_utf8_lossy(l.bytes).into_owned()),
            TailEvent::Closed => got.push("<closed>".into()),
            TailEvent::Restart(_) => {}
        };
        poll_stdin(&mut s, 0, 100, &mut f).expect("poll");
        tx.send(Ok(b"c\nd".to_vec())).expect("send");
        poll_stdin(&mut s, 0, 100, &mut f).expect("poll");
        drop(tx);
        poll_stdin(&mut s, 0, 100, &mut f).expect("poll");
        assert!(s.done);
        assert_eq!(got, vec!["a", "bc", "d", "<closed>"]);
    }
}
