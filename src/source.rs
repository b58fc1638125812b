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
        // The first bytes say whether the stream is gzip or starts with a byte-order mark; a
        // read may return fewer than are needed to tell.
        let mut head = Vec::with_capacity(3);
        while head.len() < 3 {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(3 - head.len());
            head.extend_from_slice(&buf[..n]);
            r.consume(n);
        }
        let gz = head.starts_with(&[0x1f, 0x8b]);
        let bom = if gz { Bom::None } else { Bom::of(&head) };
        let rest = io::Cursor::new(head.split_off(bom.len().min(head.len()))).chain(r);
        let inner: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(rest))
        } else {
            bom.text_of(rest)
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

    /// A reader over bytes in memory (tests, pastes); a byte-order mark is read as files'
    /// are.
    pub fn from_bytes(data: Vec<u8>) -> LineReader {
        let bom = Bom::of(&data);
        let mut cursor = io::Cursor::new(data);
        cursor.set_position(bom.len() as u64);
        LineReader::new(bom.text_of(cursor))
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

/// The byte-order mark a text stream starts with. Windows tools write them: PowerShell's `>`
/// writes UTF-16LE with a mark, Notepad and `Out-File -Encoding utf8` UTF-8 with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    None,
    Utf8,
    Utf16 { little_endian: bool },
}

impl Bom {
    fn of(head: &[u8]) -> Bom {
        match head {
            [0xEF, 0xBB, 0xBF, ..] => Bom::Utf8,
            [0xFF, 0xFE, ..] => Bom::Utf16 {
                little_endian: true,
            },
            [0xFE, 0xFF, ..] => Bom::Utf16 {
                little_endian: false,
            },
            _ => Bom::None,
        }
    }

    /// The stream after the mark, as UTF-8 text.
    fn text_of<R: Read + Send + 'static>(self, r: R) -> Box<dyn Read + Send> {
        match self {
            Bom::Utf16 { little_endian } => Box::new(Utf16Reader::new(r, little_endian)),
            Bom::None | Bom::Utf8 => Box::new(r),
        }
    }

    /// Its length in bytes.
    fn len(self) -> usize {
        match self {
            Bom::None => 0,
            Bom::Utf8 => 3,
            Bom::Utf16 { .. } => 2,
        }
    }
}

/// Reads a UTF-16 stream (after its byte-order mark) as UTF-8. Unpaired surrogates and a
/// dangling odd byte become U+FFFD, as a lossy decode makes of any invalid text.
struct Utf16Reader<R> {
    inner: R,
    little_endian: bool,
    /// Decoded text not yet handed out, from `at`.
    out: Vec<u8>,
    at: usize,
    /// A byte of a code unit whose other byte has not been read yet.
    odd: Option<u8>,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
    raw: Vec<u8>,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, little_endian: bool) -> Utf16Reader<R> {
        Utf16Reader {
            inner,
            little_endian,
            out: Vec::new(),
            at: 0,
            odd: None,
            high: None,
            raw: vec![0; BLOCK],
            eof: false,
        }
    }

    fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    /// Decodes one code unit.
    fn unit(&mut self, u: u16) {
        match (self.high.take(), u) {
            (Some(h), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push_char(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            (Some(_), _) => self.push_char(char::REPLACEMENT_CHARACTER),
            (None, _) => {}
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => self.push_char(char::REPLACEMENT_CHARACTER),
            _ => {
                self.push_char(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER))
            }
        }
    }

    /// Reads and decodes the next block (or finishes at the end of the stream).
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        let n = loop {
            match self.inner.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
            if self.high.take().is_some() || self.odd.take().is_some() {
                self.push_char(char::REPLACEMENT_CHARACTER);
            }
            return Ok(());
        }
        let raw = std::mem::take(&mut self.raw);
        let mut bytes = raw[..n].iter().copied();
        loop {
            let first = match self.odd.take() {
                Some(b) => b,
                None => match bytes.next() {
                    Some(b) => b,
                    None => break,
                },
            };
            let Some(second) = bytes.next() else {
                self.odd = Some(first);
                break;
            };
            let u = if self.little_endian {
                u16::from_le_bytes([first, second])
            } else {
                u16::from_be_bytes([first, second])
            };
            self.unit(u);
        }
        self.raw = raw;
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PowerShell's `>` (UTF-16LE with a mark, CRLF), UTF-16BE, and UTF-8 with a mark all read
    /// as the same lines, the first line whole; a character outside the BMP survives.
    #[test]
    fn byte_order_marks_are_read() {
        // A reader that hands out one byte per call.
        struct Slow(io::Cursor<Vec<u8>>);
        impl Read for Slow {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        let text =
            "2026-01-27T11:11:05.179Z INFO egress request validated \u{1F3A5}\r\nsecond line\r\n";
        let want = lines(text.replace("\r\n", "\n").as_bytes());
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice(text.as_bytes());
        for data in [&le, &be, &utf8] {
            assert_eq!(lines(data), want);
        }
        // Through a file as well (the buffered path), read one byte at a time underneath.
        let mut r = LineReader::from_buffered(BufReader::new(Slow(io::Cursor::new(le.clone()))))
            .expect("reader");
        let mut got = Vec::new();
        while let Some(l) = r.next_line().expect("line") {
            got.push((l.bytes.to_vec(), l.truncated));
        }
        assert_eq!(got, want);
        // An unpaired surrogate and an odd trailing byte are replaced, not fatal.
        let mut bad = vec![0xFF, 0xFE];
        for u in [0x61u16, 0xD800, 0x62] {
            bad.extend_from_slice(&u.to_le_bytes());
        }
        bad.push(0x63);
        assert_eq!(
            lines(&bad),
            vec![("a\u{FFFD}b\u{FFFD}".as_bytes().to_vec(), false)]
        );
    }

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
