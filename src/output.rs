//! Output I/O: where a report goes (`-o FILE`, `-` or nothing for stdout) and how it gets
//! there without destroying anything. A regular file is replaced atomically through a
//! temporary file in its own directory, keeping its mode and owner, with symlinks followed to
//! the file they name; anything else (a device, a FIFO, a terminal) is opened and written as it
//! is; an output that is one of the inputs is refused before anything is read; once a file is
//! written, a line on a terminal's stderr says so. It formats nothing and reads no input.

use crate::error::{Error, Result};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Symlinks followed at most when resolving a dangling link (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// Where the report is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    /// The path as given (messages name it so).
    File(PathBuf),
}

impl Dest {
    /// `-o` as given: none or `-` is stdout.
    pub fn from_arg(output: Option<&Path>) -> Dest {
        match output {
            Some(p) if p.as_os_str() != "-" => Dest::File(p.to_path_buf()),
            _ => Dest::Stdout,
        }
    }

    /// How messages name it.
    pub fn name(&self) -> String {
        match self {
            Dest::Stdout => "<stdout>".into(),
            Dest::File(p) => p.display().to_string(),
        }
    }

    fn error(&self, source: io::Error) -> Error {
        Error::Output {
            path: self.name(),
            source,
        }
    }
}

/// An input the output must not be: standard input or a file.
#[derive(Debug, Clone, Copy)]
pub enum InputRef<'a> {
    Stdin,
    File(&'a Path),
}

/// Refuses (usage error, exit 2) an output that is one of the inputs: the same file (device
/// and inode, whatever the path or link leads there), or the same path when the output does
/// not exist yet. Only a regular file (or a file still to be created) is checked: writing to a
/// device, FIFO or terminal that is also read destroys nothing.
pub fn refuse_inputs<'a>(
    dest: &Dest,
    inputs: impl IntoIterator<Item = InputRef<'a>>,
) -> Result<()> {
    let (out_meta, out_path) = match dest {
        Dest::Stdout => (stdout_meta(), None),
        Dest::File(p) => (fs::metadata(p).ok(), Some(p.as_path())),
    };
    if out_meta.as_ref().is_some_and(|m| !m.is_file()) {
        return Ok(());
    }
    let out_id = out_meta.as_ref().and_then(identity);
    let out_resolved = out_path.map(resolve);
    for input in inputs {
        let (meta, path) = match input {
            InputRef::Stdin => (stdin_meta(), None),
            InputRef::File(p) => (fs::metadata(p).ok(), Some(p)),
        };
        let same = match (out_id, meta.as_ref().and_then(identity)) {
            (Some(o), Some(i)) => o == i,
            // Without a file behind both (the output is still to be created, or the platform
            // tells no identity): the same path is the same file.
            _ => match (&out_resolved, path) {
                (Some(o), Some(p)) => meta.is_none() == out_meta.is_none() && *o == resolve(p),
                _ => false,
            },
        };
        if same {
            let what = match input {
                InputRef::Stdin => "standard input".to_string(),
                InputRef::File(p) => format!("the input {}", p.display()),
            };
            return Err(Error::Usage(format!(
                "the output {} is also {what}: write the report to another file",
                dest.name()
            )));
        }
    }
    Ok(())
}

/// Writes a whole report: to stdout, atomically over a regular file, or straight into
/// anything else.
pub fn write(dest: &Dest, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    match dest {
        Dest::Stdout => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            body(&mut w).and_then(|_| w.flush())
        }
        Dest::File(path) => write_path(path, body),
    }
    .map_err(|e| dest.error(e))
}

/// Opens the output for a stream of reports (follow mode), written as they come: stdout, or
/// the file opened in place (a regular file truncated, keeping its mode and owner; a device or
/// FIFO as it is).
pub fn open_stream(dest: &Dest) -> Result<Box<dyn Write>> {
    match dest {
        Dest::Stdout => Ok(Box::new(BufWriter::new(io::stdout()))),
        Dest::File(path) => {
            let open = || -> io::Result<Box<dyn Write>> {
                let meta = fs::metadata(path).ok();
                if meta.as_ref().is_some_and(Metadata::is_dir) {
                    return Err(is_a_directory());
                }
                if let Some(w) = meta.as_ref().filter(|m| m.is_file()).and_then(std_stream) {
                    return Ok(w);
                }
                let regular = meta.as_ref().is_none_or(Metadata::is_file);
                let f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(regular)
                    .open(path)?;
                Ok(Box::new(f))
            };
            let w = open().map_err(|e| dest.error(e))?;
            Ok(Box::new(BufWriter::new(w)))
        }
    }
}

/// After a report is written to a file, one line on stderr saying so (`line`, formatted by
/// `report`), when a person is there to read it.
pub fn tell_written(dest: &Dest, line: impl FnOnce() -> String) {
    if *dest != Dest::Stdout && io::stderr().is_terminal() {
        let _ = writeln!(io::stderr(), "{}", line());
    }
}

fn is_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "is a directory")
}

fn write_path(path: &Path, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(is_a_directory()),
        Ok(m) if m.is_file() => match std_stream(&m) {
            Some(s) => write_through(s, body),
            None => {
                // The file a symlink names is the one replaced, in its own directory.
                let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                replace(&real, Some(&m), body)
            }
        },
        Ok(_) => write_through(OpenOptions::new().write(true).open(path)?, body),
        Err(e) if e.kind() == io::ErrorKind::NotFound => replace(&link_target(path), None, body),
        Err(e) => Err(e),
    }
}

fn write_through(
    w: impl Write,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    body(&mut w)?;
    w.flush()
}

/// The standard stream a regular file is open as (`-o /dev/stdout` with stdout redirected to a
/// file, `/proc/self/fd/2` ...): written through that descriptor, so that `>>` still appends
/// and nothing is renamed over the file the shell opened.
fn std_stream(m: &Metadata) -> Option<Box<dyn Write>> {
    let id = identity(m)?;
    if stdout_meta().as_ref().and_then(identity) == Some(id) {
        Some(Box::new(io::stdout()))
    } else if stderr_meta().as_ref().and_then(identity) == Some(id) {
        Some(Box::new(io::stderr()))
    } else {
        None
    }
}

/// Writes `path` through a temporary file renamed over it. `old`: the file being replaced,
/// whose mode and owner the new one takes.
fn replace(
    path: &Path,
    old: Option<&Metadata>,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let (tmp, file) = match create_temp(dir, &name, old.is_some()) {
        Ok(t) => t,
        // A file we may write in a directory we may not: written in place, not atomically.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && old.is_some() => {
            let f = OpenOptions::new().write(true).truncate(true).open(path)?;
            return write_through(f, body);
        }
        Err(e) => return Err(e),
    };
    let result = (|| {
        let mut w = BufWriter::new(file);
        body(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        if let Some(m) = old {
            keep_owner_and_mode(&file, m)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A new file beside the target, never an existing one. `private`: readable by its owner only
/// until it takes the old file's mode (which may be stricter than the umask's default).
fn create_temp(dir: &Path, name: &str, private: bool) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..64 {
        let tmp = dir.join(format!(".{name}.egresslens-{pid}-{n}.tmp"));
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        set_private(&mut o, private);
        match o.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

#[cfg(unix)]
fn set_private(o: &mut OpenOptions, private: bool) {
    use std::os::unix::fs::OpenOptionsExt;
    if private {
        o.mode(0o600);
    }
}

#[cfg(not(unix))]
fn set_private(_: &mut OpenOptions, _: bool) {}

/// Gives the new file the old one's owner (when allowed: root, or a group the user is in) and
/// mode (after the owner: a change of owner clears set-id bits).
#[cfg(unix)]
fn keep_owner_and_mode(file: &File, old: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
    let cur = file.metadata()?;
    if cur.uid() != old.uid() || cur.gid() != old.gid() {
        match fchown(file, Some(old.uid()), Some(old.gid())) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if cur.gid() != old.gid() {
                    let _ = fchown(file, None, Some(old.gid()));
                }
            }
            Err(e) => return Err(e),
        }
    }
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_owner_and_mode(file: &File, old: &Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}

/// The path a dangling symlink leads to (the file to create), or `path` itself.
fn link_target(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let is_link = fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        match fs::read_link(&p) {
            Ok(t) if t.is_absolute() => p = t,
            Ok(t) => p = p.parent().unwrap_or(Path::new("")).join(t),
            Err(_) => break,
        }
    }
    p
}

/// A path in a form two names of one file share: links followed, the directory canonical.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(path) {
        return c;
    }
    let p = link_target(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (fs::canonicalize(dir), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p,
    }
}

#[cfg(unix)]
fn identity(m: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(unix)]
fn fd_meta(fd: std::os::fd::BorrowedFd<'_>) -> Option<Metadata> {
    let owned = fd.try_clone_to_owned().ok()?;
    File::from(owned).metadata().ok()
}

#[cfg(unix)]
fn stdin_meta() -> Option<Metadata> {
    use std::os::fd::AsFd;
    fd_meta(io::stdin().as_fd())
}

#[cfg(unix)]
fn stdout_meta() -> Option<Metadata> {
    use std::os::fd::AsFd;
    fd_meta(io::stdout().as_fd())
}

#[cfg(unix)]
fn stderr_meta() -> Option<Metadata> {
    use std::os::fd::AsFd;
    fd_meta(io::stderr().as_fd())
}

#[cfg(not(unix))]
fn stdin_meta() -> Option<Metadata> {
    None
}

#[cfg(not(unix))]
fn stderr_meta() -> Option<Metadata> {
    None
}

#[cfg(not(unix))]
fn stdout_meta() -> Option<Metadata> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &'static str) -> impl FnOnce(&mut dyn Write) -> io::Result<()> {
        move |w: &mut dyn Write| w.write_all(text.as_bytes())
    }

    #[test]
    fn dash_and_nothing_are_stdout() {
        assert_eq!(Dest::from_arg(None), Dest::Stdout);
        assert_eq!(Dest::from_arg(Some(Path::new("-"))), Dest::Stdout);
        assert_eq!(
            Dest::from_arg(Some(Path::new("./-"))),
            Dest::File(PathBuf::from("./-"))
        );
    }

    #[test]
    fn new_file_is_created_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("r.md");
        write(&Dest::File(out.clone()), body("report\n")).expect("write");
        assert_eq!(fs::read_to_string(&out).expect("read"), "report\n");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn failed_body_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("r.md");
        fs::write(&out, "old").expect("write");
        let r = write(&Dest::File(out.clone()), |w: &mut dyn Write| {
            w.write_all(b"half")?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read_to_string(&out).expect("read"), "old");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = write(&Dest::File(dir.path().to_path_buf()), body("x"));
        assert!(r.is_err());
        assert!(open_stream(&Dest::File(dir.path().to_path_buf())).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().expect("tmp");
        let link = dir.path().join("latest.md");
        std::os::unix::fs::symlink("reports/r.md", &link).expect("symlink");
        fs::create_dir(dir.path().join("reports")).expect("mkdir");
        write(&Dest::File(link.clone()), body("new")).expect("write");
        assert!(fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_to_string(dir.path().join("reports/r.md")).expect("read"),
            "new"
        );
    }

    #[test]
    fn same_path_not_yet_existing_is_an_input() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("egress.log");
        let b = dir.path().join(".").join("egress.log");
        let r = refuse_inputs(&Dest::File(a.clone()), [InputRef::File(&b)]);
        assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
        let other = dir.path().join("other.log");
        assert!(refuse_inputs(&Dest::File(a), [InputRef::File(&other)]).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_link_to_an_input_is_that_input() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("egress.log");
        let b = dir.path().join("copy.log");
        fs::write(&a, "line\n").expect("write");
        fs::hard_link(&a, &b).expect("link");
        let r = refuse_inputs(&Dest::File(b), [InputRef::File(&a)]);
        assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
    }
}
