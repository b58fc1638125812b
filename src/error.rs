//! The one error type and the documented exit codes. It owns how errors read, not where they print.

use std::path::PathBuf;

/// Exit code: no failure found.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one failure (or warning) diagnosed.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage, input or output error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: invalid rule files.
pub const EXIT_RULES: u8 = 3;

/// Everything that can stop a run. Messages are lowercase and carry their context.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Input {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: is a directory (pass the log files inside it)")]
    IsDirectory { path: String },
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid rule files:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<RuleError>),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read config {path}: {why}")]
    Config { path: PathBuf, why: String },
    #[error("{path}: line {line}: {why}")]
    ConfigSyntax {
        path: String,
        line: usize,
        why: String,
    },
}

impl Error {
    /// The exit code documented for this kind of error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Rules(_) => EXIT_RULES,
            _ => EXIT_ERROR,
        }
    }
}

/// One problem in one rule file: which file, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.message)
        }
    }
}

/// Result with the crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
