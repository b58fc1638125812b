//! The config doctor: loads egress.yaml, livekit.yaml and a docker-compose file, tells which
//! is which by content, and checks them alone and against each other for what breaks
//! recordings (egress-logs.md §5, §7). It returns findings as data (file, line, key,
//! severity, why, fix) and can attach them to log diagnoses; it never prints, never formats
//! and never decides exit codes. Secret values never enter a finding.

mod compose;
mod connect;
mod container;
mod links;
mod livekit;
mod net;
mod redis;
mod schema;
mod storage;
mod yaml;

#[cfg(test)]
mod tests;

pub use links::{annotate, Note, Verdict};
pub use yaml::{Node, Value};

use crate::error::{Error, Result};
pub use crate::rulebase::Severity;
use compose::Compose;
use std::path::{Path, PathBuf};

/// Which program a configuration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The egress service's own config (egress.yaml).
    Egress,
    /// livekit-server's config (livekit.yaml).
    Livekit,
    /// A docker-compose file.
    Compose,
}

impl Kind {
    /// Lowercase name, as accepted in `KIND=FILE`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Egress => "egress",
            Kind::Livekit => "livekit",
            Kind::Compose => "compose",
        }
    }

    /// The usual file name, for messages.
    pub fn file_label(self) -> &'static str {
        match self {
            Kind::Egress => "egress.yaml",
            Kind::Livekit => "livekit.yaml",
            Kind::Compose => "docker-compose.yaml",
        }
    }

    /// Parses `egress`, `livekit` (or `livekit-server`) and `compose` (or `docker-compose`).
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "egress" => Kind::Egress,
            "livekit" | "livekit-server" | "server" => Kind::Livekit,
            "compose" | "docker-compose" => Kind::Compose,
            _ => return None,
        })
    }
}

/// One file to check, with its kind when the user named it (`egress=cfg.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub kind: Option<Kind>,
}

impl InputFile {
    /// Reads `KIND=PATH` (only for the three kind names) or a plain path.
    pub fn from_arg(arg: &Path) -> InputFile {
        if let Some(s) = arg.to_str() {
            if let Some((k, p)) = s.split_once('=') {
                if let Some(kind) = Kind::parse(k) {
                    return InputFile {
                        path: PathBuf::from(p),
                        kind: Some(kind),
                    };
                }
            }
        }
        InputFile {
            path: arg.to_path_buf(),
            kind: None,
        }
    }
}

/// A loaded configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The name shown in findings (the path as given).
    pub name: String,
    pub kind: Kind,
    /// Why egresslens took it for that kind.
    pub detected_by: String,
    /// The top-level mapping (an empty mapping for an empty file).
    pub root: Node,
}

/// Every file of one check run, at most one of each kind.
#[derive(Debug, Clone, Default)]
pub struct ConfigSet {
    pub files: Vec<ConfigFile>,
}

impl ConfigSet {
    /// The file of a kind.
    pub fn get(&self, kind: Kind) -> Option<&ConfigFile> {
        self.files.iter().find(|f| f.kind == kind)
    }

    /// True when a file of this kind was given.
    pub fn has(&self, kind: Kind) -> bool {
        self.get(kind).is_some()
    }
}

/// One problem in a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable id of the check (`ws-url-localhost`), used to link log diagnoses to it.
    pub check: &'static str,
    pub file: String,
    /// 1-based line; `None` when the problem is a key that is missing.
    pub line: Option<usize>,
    /// Dotted key path (`storage.s3.force_path_style`, `services.egress.cpus`).
    pub key: String,
    pub severity: Severity,
    /// One line: what is wrong (`ws_url points at localhost`).
    pub title: String,
    /// Why it breaks recordings, and what the logs then show.
    pub message: String,
    /// What to change.
    pub fix: String,
}

impl Finding {
    /// `egress.yaml line 3` or `egress.yaml` when there is no line.
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{} line {l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The outcome of a check run.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The files checked, with their kind and why.
    pub files: Vec<(String, Kind, String)>,
    /// Findings in file order, then by line.
    pub findings: Vec<Finding>,
    /// What was assumed or could not be checked, and why.
    pub notes: Vec<String>,
}

impl CheckReport {
    /// How many findings have this severity.
    pub fn count(&self, sev: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == sev).count()
    }

    /// True when an error or a warning was found (exit code 1).
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
    }

    /// True when a file of this kind was checked.
    pub fn checked(&self, kind: Kind) -> bool {
        self.files.iter().any(|(_, k, _)| *k == kind)
    }
}

/// Reads, parses and classifies the files. An unreadable file, a YAML syntax error, a file
/// whose kind cannot be told, or two files of one kind are errors (exit code 2).
pub fn load(inputs: &[InputFile]) -> Result<ConfigSet> {
    let mut set = ConfigSet::default();
    for input in inputs {
        let name = input.path.display().to_string();
        if input.path.is_dir() {
            return Err(Error::IsDirectory { path: name });
        }
        let bytes = std::fs::read(&input.path).map_err(|source| Error::Input {
            path: name.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Config {
            path: input.path.clone(),
            why: "not UTF-8 text".into(),
        })?;
        let file = parse_file(&name, &text, input.kind)?;
        if let Some(prev) = set.get(file.kind) {
            return Err(Error::Usage(format!(
                "two {} files given ({} and {}): check one set at a time",
                file.kind.name(),
                prev.name,
                file.name
            )));
        }
        set.files.push(file);
    }
    // Report egress.yaml first, then livekit.yaml, then compose, whatever the argument order.
    set.files.sort_by_key(|f| f.kind);
    if !set.has(Kind::Egress) {
        if let Some(body) = set.get(Kind::Compose).and_then(compose::config_body) {
            set.files.push(body);
        }
    }
    Ok(set)
}

/// Parses one file's text and decides its kind (`kind` when given).
pub fn parse_file(name: &str, text: &str, kind: Option<Kind>) -> Result<ConfigFile> {
    let root = yaml::parse(text)
        .map_err(|e| Error::ConfigSyntax {
            path: name.to_string(),
            line: e.line,
            why: format!("{} (column {})", e.message, e.col),
        })?
        .unwrap_or(Node {
            line: 1,
            value: Value::Map(Vec::new()),
        });
    if !root.is_map() {
        return Err(Error::ConfigSyntax {
            path: name.to_string(),
            line: root.line,
            why: format!(
                "the top level is {}, not a mapping of keys, so this is not an egress, livekit-server or compose file",
                yaml::type_name(&root.value)
            ),
        });
    }
    let (kind, detected_by) = match kind {
        Some(k) => (k, "named on the command line".to_string()),
        None => detect(&root, name).ok_or_else(|| Error::Config {
            path: PathBuf::from(name),
            why: "cannot tell whether this is an egress, livekit-server or docker-compose file; name it, e.g. `egress=".to_string()
                + name
                + "`",
        })?,
    };
    Ok(ConfigFile {
        name: name.to_string(),
        kind,
        detected_by,
        root,
    })
}

const EGRESS_MARKS: &[&str] = &[
    "ws_url",
    "api_key",
    "api_secret",
    "template_base",
    "template_port",
    "storage",
    "backup",
    "health_port",
    "cpu_cost",
    "insecure",
    "enable_chrome_sandbox",
    "session_limits",
    "cluster_id",
    "s3",
    "azure",
    "gcp",
    "alioss",
    "backup_storage",
    "debug_handler_port",
    "chrome_flags",
];
const LIVEKIT_MARKS: &[&str] = &[
    "keys",
    "key_file",
    "rtc",
    "port",
    "turn",
    "room",
    "webhook",
    "bind_addresses",
    "node_selector",
    "limit",
    "signal_relay",
    "ingress",
    "audio",
    "video",
    "development",
];

/// Tells a file's kind from its top-level keys, then its name.
fn detect(root: &Node, name: &str) -> Option<(Kind, String)> {
    if root.get("services").is_some_and(Node::is_map) {
        return Some((Kind::Compose, "has `services:`".into()));
    }
    let keys: Vec<&str> = root.entries().iter().map(|e| e.key.as_str()).collect();
    let hits = |marks: &[&str]| -> Vec<String> {
        keys.iter()
            .filter(|k| marks.contains(k))
            .map(|k| format!("`{k}`"))
            .collect()
    };
    let eg = hits(EGRESS_MARKS);
    let lk = hits(LIVEKIT_MARKS);
    let by = |v: &[String]| format!("has {}", v.join(", "));
    if eg.len() > lk.len() {
        return Some((Kind::Egress, by(&eg)));
    }
    if lk.len() > eg.len() {
        return Some((Kind::Livekit, by(&lk)));
    }
    let base = Path::new(name)
        .file_name()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if base.contains("compose") {
        return Some((Kind::Compose, "file name".into()));
    }
    if base.contains("egress") {
        return Some((Kind::Egress, "file name".into()));
    }
    if base.contains("livekit") {
        return Some((Kind::Livekit, "file name".into()));
    }
    None
}

/// Where a setting was read: file, line and dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
}

/// A setting's text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub text: String,
    pub loc: Loc,
}

/// How the egress container reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    /// A bridge network (compose default); `localhost` is the container.
    Bridge,
    /// `network_mode: host`: `localhost` is the host, service names do not resolve.
    Host,
    /// No compose file: a container is assumed.
    Assumed,
}

/// Everything a check may look at.
pub(crate) struct Ctx<'a> {
    pub egress: Option<&'a ConfigFile>,
    pub livekit: Option<livekit::Livekit>,
    pub compose: Option<Compose>,
}

impl Ctx<'_> {
    /// The compose service that runs egress.
    pub fn egress_service(&self) -> Option<&compose::Service> {
        self.compose
            .as_ref()
            .and_then(|c| c.role(compose::Role::Egress))
    }

    /// How the egress container is networked.
    pub fn network(&self) -> Network {
        match (&self.compose, self.egress_service()) {
            (Some(_), Some(s)) if s.host_network() => Network::Host,
            (Some(_), Some(_)) => Network::Bridge,
            _ => Network::Assumed,
        }
    }

    /// An egress setting: egress.yaml wins over the compose environment variable `env`
    /// (egress reads the environment first, then YAML). An explicit empty string in YAML
    /// overrides the variable with nothing; a bare `key:` (null) leaves it alone.
    pub fn egress_setting(&self, key: &str, env: Option<&str>) -> Option<Setting> {
        if let Some(f) = self.egress {
            if let Some(e) = f.root.entry(key) {
                if let Some(text) = e.value.text() {
                    if text.trim().is_empty() {
                        return None;
                    }
                    return Some(Setting {
                        text,
                        loc: Loc {
                            file: f.name.clone(),
                            line: Some(e.line),
                            key: key.to_string(),
                        },
                    });
                }
            }
        }
        let env = env?;
        let c = self.compose.as_ref()?;
        let s = c.role(compose::Role::Egress)?;
        let v = s.env(env)?;
        let text = v.value.clone().filter(|t| !t.trim().is_empty())?;
        Some(Setting {
            text,
            loc: Loc {
                file: c.file.clone(),
                line: Some(v.line),
                key: format!("services.{}.environment.{env}", s.name),
            },
        })
    }

    /// When egress.yaml sets `key` to an empty string while the compose environment sets
    /// `env`: the sentence saying the YAML wins.
    pub fn empty_override(&self, key: &str, env: &str) -> Option<String> {
        let f = self.egress?;
        let e = f.root.entry(key)?;
        let empty = matches!(&e.value.value, Value::Str(t) if t.trim().is_empty());
        let s = self.egress_service()?;
        let set = s
            .env(env)
            .and_then(|v| v.value.as_ref())
            .is_some_and(|v| !v.trim().is_empty());
        (empty && set).then(|| {
            format!(
                " {} line {} sets `{key}` to an empty string, which replaces {env} from the environment: egress applies the YAML after the environment.",
                f.name, e.line
            )
        })
    }

    /// Location of an egress.yaml key (the file alone when it is missing).
    pub fn egress_loc(&self, path: &[&str]) -> Loc {
        match self.egress {
            Some(f) => Loc {
                file: f.name.clone(),
                line: f.root.entry_at(path).map(|e| e.line),
                key: path.join("."),
            },
            None => Loc {
                file: Kind::Egress.file_label().into(),
                line: None,
                key: path.join("."),
            },
        }
    }
}

/// Collects findings and notes.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

impl Out {
    /// Adds a finding at `loc`.
    pub fn add(
        &mut self,
        check: &'static str,
        severity: Severity,
        loc: &Loc,
        title: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            check,
            file: loc.file.clone(),
            line: loc.line,
            key: loc.key.clone(),
            severity,
            title: title.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Adds a note about what was assumed or not checked.
    pub fn note(&mut self, text: impl Into<String>) {
        let t = text.into();
        if !self.notes.contains(&t) {
            self.notes.push(t);
        }
    }
}

/// Runs every check over the set.
pub fn check(set: &ConfigSet) -> CheckReport {
    let ctx = Ctx {
        egress: set.get(Kind::Egress),
        livekit: set.get(Kind::Livekit).map(livekit::Livekit::read),
        compose: set.get(Kind::Compose).map(Compose::read),
    };
    let mut out = Out::default();
    if ctx.egress.is_none() {
        out.note("No egress config given (egress.yaml): only the compose and livekit-server files were checked.");
    }
    if ctx.compose.is_none() {
        out.note("No docker-compose file given: egresslens assumes egress runs in a container (as the livekit/egress image does) on a Docker bridge network, where `localhost` is the container itself.");
    } else if ctx.egress_service().is_none() {
        out.note("The compose file has no service running the livekit/egress image (or named egress): container checks (CPUs, sandbox, mounts) were skipped.");
    }
    if ctx.livekit.is_none() {
        out.note("No livekit-server config given (livekit.yaml): api_key/api_secret, redis and the signalling port were not compared with the server's.");
    }
    if let Some(f) = ctx.egress {
        schema::check(f, &mut out);
    }
    connect::check(&ctx, &mut out);
    redis::check(&ctx, &mut out);
    storage::check(&ctx, &mut out);
    container::check(&ctx, &mut out);
    let order: Vec<&str> = set.files.iter().map(|f| f.name.as_str()).collect();
    out.findings.sort_by_key(|f| {
        (
            order
                .iter()
                .position(|n| *n == f.file)
                .unwrap_or(usize::MAX),
            f.line.unwrap_or(0),
            std::cmp::Reverse(f.severity),
        )
    });
    out.findings.dedup();
    CheckReport {
        files: set
            .files
            .iter()
            .map(|f| (f.name.clone(), f.kind, f.detected_by.clone()))
            .collect(),
        findings: out.findings,
        notes: out.notes,
    }
}

/// Loads and checks in one step.
pub fn run(inputs: &[InputFile]) -> Result<(ConfigSet, CheckReport)> {
    let set = load(inputs)?;
    let report = check(&set);
    Ok((set, report))
}

/// Levenshtein distance between two short strings.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
