//! The command line: clap definitions and their conversion into a plain `Config`. It must
//! not open files, read logs or print anything but clap's own messages; no clap type leaves
//! this module.

use crate::config_check::InputFile;
use crate::report::OutputFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  docker logs egress 2>&1 | egresslens          explain the failures in a container's log
  egresslens -f /var/log/egress.log             follow a log file and explain failures as they happen
  egresslens --format markdown -o incident.md egress.log livekit.log
                                                 write an incident report from both services' logs
  egresslens --format json egress.log.gz        machine-readable report; exit code 1 when failures are found
  egresslens --config egress.yaml egress.log    say for each diagnosis whether egress.yaml confirms it
  egresslens check-config egress.yaml livekit.yaml docker-compose.yaml
                                                 find what in the configuration breaks recordings
  egresslens explain 412                        what a status code means and how to fix it
  egresslens rules list                         the rules egresslens knows

Exit codes: 0 no failure found, 1 failures diagnosed, 2 usage/input/output error, 3 invalid rule files.";

const CHECK_EXAMPLES: &str = "Examples:
  egresslens check-config egress.yaml
  egresslens check-config egress.yaml livekit.yaml docker-compose.yaml
  egresslens check-config egress=conf/base.yaml livekit=conf/server.yaml
  egresslens check-config --format json -o check.json egress.yaml

Which file is which is told by content (`ws_url`/`api_key`/`storage` = egress, `keys`/`rtc`/`port` =
livekit-server, `services` = compose); name it with KIND=FILE (egress, livekit, compose) when needed.

Exit codes: 0 nothing wrong, 1 an error or warning found, 2 unreadable file or YAML syntax error.";

#[derive(Parser, Debug)]
#[command(
    name = "egresslens",
    version,
    about = "Explains LiveKit Egress failures from their logs: root cause, evidence and fix.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    analyze: AnalyzeArgs,
}

#[derive(Args, Debug, Default)]
struct AnalyzeArgs {
    /// Log files to analyse (stdin when none, or "-"); .gz files are read transparently.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Keep reading (tail -F): explain each egress as it ends, flag egresses stalled before start.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report to FILE instead of stdout (written atomically).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also list egresses that completed normally.
    #[arg(long)]
    all: bool,
    /// Only these egress IDs (repeatable).
    #[arg(long = "egress", value_name = "ID")]
    egress: Vec<String>,
    /// Extra rule files; a rule with a built-in id replaces it.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// When to use colours (NO_COLOR is honoured).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Show tokens, secrets and stream keys unmasked.
    #[arg(long)]
    no_redact: bool,
    /// Exit 0 even when failures are found.
    #[arg(long)]
    exit_zero: bool,
    /// In follow mode, warn about an egress still waiting for its start signal after this long.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    stall_after: String,
    /// Config file (egress.yaml, livekit.yaml, docker-compose.yaml; KIND=FILE to name the kind):
    /// each diagnosis says whether the configuration confirms it (repeatable).
    #[arg(long = "config", value_name = "FILE")]
    config: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// What a status code, error text or end reason means, and how to fix it.
    Explain {
        /// A code (412, 413, 403, 500, 503 ...) or an error text.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Extra rule files.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Check egress.yaml (and livekit.yaml, docker-compose.yaml) for what breaks recordings.
    #[command(name = "check-config", after_help = CHECK_EXAMPLES)]
    CheckConfig {
        /// Config files; KIND=FILE (egress, livekit, compose) names a file's kind.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Table)]
        format: FormatArg,
        /// Write the report to FILE instead of stdout (written atomically).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// When to use colours (NO_COLOR is honoured).
        #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
        color: ColorArg,
        /// Show secrets unmasked in quoted values (secret keys are never quoted).
        #[arg(long)]
        no_redact: bool,
        /// Exit 0 even when problems are found.
        #[arg(long)]
        exit_zero: bool,
    },
    /// List, show or test the rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
        /// Extra rule files.
        #[arg(long, value_name = "DIR", global = true)]
        rules: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// List every rule.
    List,
    /// Show one rule's file.
    Show {
        /// Rule id.
        id: String,
    },
    /// Run every rule's embedded examples (built-in, or those in DIR).
    Test {
        /// A directory of rule files to test instead of the built-in rules.
        dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum FormatArg {
    #[default]
    Table,
    Markdown,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> OutputFormat {
        match f {
            FormatArg::Table => OutputFormat::Table,
            FormatArg::Markdown => OutputFormat::Markdown,
            FormatArg::Json => OutputFormat::Json,
        }
    }
}

impl From<ColorArg> for ColorChoice {
    fn from(c: ColorArg) -> ColorChoice {
        match c {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Settings for analysing logs.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    pub files: Vec<PathBuf>,
    pub follow: bool,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
    pub all: bool,
    pub egress_ids: Vec<String>,
    pub rules_dir: Option<PathBuf>,
    pub color: ColorChoice,
    pub redact: bool,
    pub exit_zero: bool,
    pub stall_after_secs: f64,
    /// Config files to check diagnoses against (`--config`).
    pub configs: Vec<InputFile>,
}

/// Settings for `check-config`.
#[derive(Debug, Clone)]
pub struct CheckConfigConfig {
    pub files: Vec<InputFile>,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
    pub color: ColorChoice,
    pub redact: bool,
    pub exit_zero: bool,
}

/// What to do.
#[derive(Debug, Clone)]
pub enum Config {
    Analyze(AnalyzeConfig),
    Explain {
        query: String,
        rules_dir: Option<PathBuf>,
    },
    RulesList {
        rules_dir: Option<PathBuf>,
    },
    RulesShow {
        id: String,
        rules_dir: Option<PathBuf>,
    },
    RulesTest {
        dir: Option<PathBuf>,
    },
    CheckConfig(CheckConfigConfig),
}

/// The outcome of parsing: a config, or clap's own output (help, version, usage error).
pub enum Parsed {
    Run(Config),
    /// Text for stdout (help/version) and exit 0, or for stderr and exit 2.
    Exit {
        text: String,
        error: bool,
    },
}

/// Parses the command line.
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let error = e.use_stderr();
            let text = if error {
                e.render().to_string()
            } else {
                e.render().ansi().to_string()
            };
            return Parsed::Exit { text, error };
        }
    };
    let config = match cli.command {
        Some(Command::Explain { query, rules }) => Config::Explain {
            query: query.join(" "),
            rules_dir: rules,
        },
        Some(Command::CheckConfig {
            files,
            format,
            output,
            color,
            no_redact,
            exit_zero,
        }) => Config::CheckConfig(CheckConfigConfig {
            files: files.iter().map(|f| InputFile::from_arg(f)).collect(),
            format: format.into(),
            output,
            color: color.into(),
            redact: !no_redact,
            exit_zero,
        }),
        Some(Command::Rules { action, rules }) => match action {
            RulesAction::List => Config::RulesList { rules_dir: rules },
            RulesAction::Show { id } => Config::RulesShow {
                id,
                rules_dir: rules,
            },
            RulesAction::Test { dir } => Config::RulesTest { dir: dir.or(rules) },
        },
        None => {
            let a = cli.analyze;
            let Some(stall) = crate::rulebase::parse_duration(&a.stall_after) else {
                return Parsed::Exit {
                    text: format!(
                        "error: invalid value '{}' for '--stall-after <DURATION>': use e.g. 30s, 2m, 500ms\n",
                        a.stall_after
                    ),
                    error: true,
                };
            };
            Config::Analyze(AnalyzeConfig {
                files: a.files,
                follow: a.follow,
                format: a.format.into(),
                output: a.output,
                all: a.all,
                egress_ids: a.egress,
                rules_dir: a.rules,
                color: a.color.into(),
                redact: !a.no_redact,
                exit_zero: a.exit_zero,
                stall_after_secs: stall,
                configs: a.config.iter().map(|f| InputFile::from_arg(f)).collect(),
            })
        }
    };
    Parsed::Run(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        match parse(std::iter::once("egresslens").chain(args.iter().copied())) {
            Parsed::Run(c) => c,
            Parsed::Exit { text, .. } => panic!("{text}"),
        }
    }

    #[test]
    fn defaults_to_stdin_table() {
        let Config::Analyze(a) = cfg(&[]) else {
            panic!()
        };
        assert!(a.files.is_empty());
        assert_eq!(a.format, OutputFormat::Table);
        assert!(a.redact);
        assert_eq!(a.stall_after_secs, 30.0);
    }

    #[test]
    fn subcommands() {
        assert!(
            matches!(cfg(&["explain", "412"]), Config::Explain { query, .. } if query == "412")
        );
        assert!(matches!(cfg(&["rules", "list"]), Config::RulesList { .. }));
        assert!(matches!(
            cfg(&["rules", "test"]),
            Config::RulesTest { dir: None }
        ));
    }

    #[test]
    fn check_config_and_config_flag() {
        let Config::CheckConfig(c) = cfg(&[
            "check-config",
            "--format",
            "json",
            "egress.yaml",
            "livekit=lk.yaml",
        ]) else {
            panic!()
        };
        assert_eq!(c.format, OutputFormat::Json);
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.files[0].kind, None);
        assert_eq!(c.files[1].kind, Some(crate::config_check::Kind::Livekit));
        assert_eq!(c.files[1].path, PathBuf::from("lk.yaml"));
        assert!(matches!(
            parse(["egresslens", "check-config"]),
            Parsed::Exit { error: true, .. }
        ));
        let Config::Analyze(a) = cfg(&[
            "--config",
            "egress.yaml",
            "--config",
            "compose=dc.yml",
            "x.log",
        ]) else {
            panic!()
        };
        assert_eq!(a.configs.len(), 2);
        assert_eq!(a.files, vec![PathBuf::from("x.log")]);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let bad = parse(["egresslens", "--format", "xml"]);
        assert!(matches!(bad, Parsed::Exit { error: true, .. }));
        let bad = parse(["egresslens", "--stall-after", "soon"]);
        assert!(matches!(bad, Parsed::Exit { error: true, .. }));
    }
}
