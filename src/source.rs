//! Input I/O: opens stdin, files (gzip detected by its magic bytes) and the output of commands
//! (`docker logs`, `kubectl logs`) and yields raw lines with their line numbers, in large
//! blocks, without interpreting their content. The only stage that reads input; it knows
//! nothing about egress.

pub mod command;
pub mod follow;

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest line kept whole; the rest of a longer line is skipped and the line marked truncated.
pub const MAX_LINE: usize = 1 << 20;
/// Bytes asked of the input per read. Small enough that the block stays in the core's cache
/// while its lines are cut and copied on (1 MiB blocks, evicted by the decoding threads before
/// they were used, made whole runs about 10 % slower on the two-core machine).
const BLOCK: usize = 1 << 16;
/// Buffer in front of a file or stdin, only for the gzip magic bytes: the line reader's own
/// large reads then go to the file directly instead of being copied through it.
const SNIFF: usize = 64;

/// What to read: standard input, a file, or the output of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    Command(command::CommandSpec),
}

impl Input {
    /// Builds the inputs from command-line operands (`-` or none means stdin).
    pub fn from_args(files: &[PathBuf]) -> Vec<Input> {
        if files.is_empty() {
            return vec![Input::Stdin];
        }
        files
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(p.clone())
                }
            })
            .collect()
    }

    /// How the input is named in reports.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
            Input::Command(c) => c.name.clone(),
        }
    }

    /// True for stdin when it is a terminal: someone is to type or paste the log.
    pub fn is_interactive(&self) -> bool {
        matches!(self, Input::Stdin) && io::IsTerminal::is_terminal(&io::stdin())
    }

    /// The container or pod the whole input comes from, when the input itself tells.
    pub fn container(&self) -> Option<&str> {
        match self {
            Input::Command(c) => c.container.as_deref(),
            _ => None,
        }
    }

    /// Size in bytes when known (files), for progress display.
    pub fn len_hint(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Command(_) => None,
        }
    }

    /// Opens the input, decompressing gzip transparently.
    pub fn open(&self) -> Result<LineReader> {
        match self {
            Input::Stdin => LineReader::from_buffered(BufReader::with_capacity(SNIFF, io::stdin())),
            Input::File(path) => open_file(path),
            Input::Command(spec) => command::ChildStream::spawn(spec)
                .map(|s| LineReader::new(Box::new(s)).with_label(spec.container.clone())),
        }
        .map_err(|source| Error::Input {
            path: self.name(),
            source,
        })
    }
}

fn open_file(path: &Path) -> io::Result<LineReader> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory (pass the log files inside it)",
        ));
    }
    let file = File::open(path)?;
    LineReader::from_buffered(BufReader::with_capacity(SNIFF, file))
}

/// One line as read: its bytes (without `\n` or `\r\n`) and its 1-based number.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub number: u64,
    /// The line was longer than [`MAX_LINE`] and was cut.
    pub truncated: bool,
}

/// Splits a byte stream into lines, reading in large blocks and never holding more than one
/// block plus one (capped) line in memory.
pub struct LineReader {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    skipping: bool,
    line_no: u64,
    bytes: u64,
    /// When set, an unterminated last line at end of data is held back (follow mode).
    hold_partial: bool,
    /// The container the whole stream comes from, when known.
    label: Option<String>,
}

impl LineReader {
    fn from_buffered<R: Read + Send + 'static>(mut r: BufReader<R>) -> io::Result<LineReader> {
        let gz = {
            let head = r.fill_buf()?;
            head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
        };
        let inner: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(r))
        } else {
            Box::new(r)
        };
        Ok(LineReader::new(inner))
    }

    /// A reader over any byte stream (no gzip detection).
    pub fn new(inner: Box<dyn Read + Send>) -> LineReader {
        LineReader {
            inner,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            skipping: false,
            line_no: 0,
            bytes: 0,
            hold_partial: false,
            label: None,
        }
    }

    /// Names the container the whole stream comes from.
    pub fn with_label(mut self, label: Option<String>) -> LineReader {
        self.label = label;
        self
    }

    /// The container the whole stream comes from, when known.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// A reader over bytes in memory (tests, pastes).
    pub fn from_bytes(data: Vec<u8>) -> LineReader {
        LineReader::new(Box::new(io::Cursor::new(data)))
    }

    /// Hold back an unterminated last line instead of returning it at end of data, so that a
    /// followed file's partial line is completed by a later read.
    pub fn set_hold_partial(&mut self, hold: bool) {
        self.hold_partial = hold;
    }

    /// Bytes consumed from the underlying stream (after decompression).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Clears the end-of-data flag so that a followed stream is read again.
    pub fn resume(&mut self) {
        self.eof = false;
    }

    /// True once the underlying stream reported end of data.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Replaces the stream (after rotation or truncation), dropping any partial line.
    pub fn replace(&mut self, inner: Box<dyn Read + Send>) {
        self.inner = inner;
        self.start = 0;
        self.end = 0;
        self.eof = false;
        self.skipping = false;
    }

    /// The next line, `None` at end of data.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(nl) = memchr::memchr(b'\n', window) {
                let line_start = self.start;
                self.start += nl + 1;
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                self.line_no += 1;
                return Ok(Some(self.make_line(line_start, line_start + nl, false)));
            }
            if self.skipping {
                // Still inside an overlong line: drop what we have.
                self.start = 0;
                self.end = 0;
            } else if self.end - self.start >= MAX_LINE {
                let line_start = self.start;
                self.start = self.end;
                self.skipping = true;
                self.line_no += 1;
                return Ok(Some(self.make_line(
                    line_start,
                    line_start + MAX_LINE,
                    true,
                )));
            }
            if self.eof {
                if self.start < self.end && !self.hold_partial && !self.skipping {
                    let line_start = self.start;
                    self.start = self.end;
                    self.line_no += 1;
                    return Ok(Some(self.make_line(line_start, self.end, false)));
                }
                return Ok(None);
            }
            self.fill()?;
        }
    }

    fn make_line(&self, from: usize, to: usize, truncated: bool) -> Line<'_> {
        let mut bytes = &self.buf[from..to];
        if let [rest @ .., b'\r'] = bytes {
            bytes = rest;
        }
        Line {
            bytes,
            number: self.line_no,
            truncated,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_LINE + BLOCK);
            self.buf.resize(grown.max(self.end + BLOCK / 4), 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.bytes += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut r = LineReader::from_bytes(data.to_vec());
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.bytes.to_vec(), l.truncated));
        }
        out
    }

    #[test]
    fn splits_lines_and_crlf() {
        let got = lines(b"a\r\nb\n\nc");
        let texts: Vec<_> = got.iter().map(|(b, _)| b.clone()).collect();
        assert_eq!(
            texts,
            vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn caps_overlong_lines() {
        let mut data = vec![b'x'; MAX_LINE * 3 + 7];
        data.extend_from_slice(b"\nshort\n");
        let got = lines(&data);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), MAX_LINE);
        assert!(got[0].1);
        assert_eq!(got[1].0, b"short");
        assert!(!got[1].1);
    }

    #[test]
    fn reads_gzip() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"one\ntwo\n").unwrap();
        let gz = enc.finish().unwrap();
        let mut r = LineReader::from_buffered(BufReader::new(io::Cursor::new(gz))).unwrap();
        let mut n = 0;
        while r.next_line().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }

    #[test]
    fn holds_partial_line_when_following() {
        let mut r = LineReader::from_bytes(b"done\npart".to_vec());
        r.set_hold_partial(true);
        assert_eq!(r.next_line().unwrap().unwrap().bytes, b"done");
        assert!(r.next_line().unwrap().is_none());
    }
}
