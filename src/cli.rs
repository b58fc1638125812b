//! The command line: clap definitions and their conversion into a plain `Config`. It must
//! not open files, read logs or print anything but clap's own messages; no clap type leaves
//! this module.

use crate::config_check::InputFile;
use crate::event::Ts;
use crate::report::OutputFormat;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod man;

/// A command's examples: each a command line and what it does, then paragraphs of notes. The
/// help shows them under `Examples:`, each description in a column of its own (wrapped to the
/// terminal), and the man page in its EXAMPLES section, one example per entry.
struct Examples {
    list: &'static [(&'static str, &'static str)],
    notes: &'static [&'static str],
    /// Exit codes and what each means (none: those of the main command).
    exit: &'static [(&'static str, &'static str)],
}

/// `Exit codes: 0 no failure found, 1 ...` for the help.
fn exit_text(exit: &[(&str, &str)]) -> String {
    let codes: Vec<String> = exit.iter().map(|(c, w)| format!("{c} {w}")).collect();
    format!("Exit codes: {}.", codes.join(", "))
}

const EXAMPLES: Examples = Examples {
    list: &[
        (
            "docker logs egress 2>&1 | egresslens",
            "explain the failures in a container's log",
        ),
        (
            "egresslens -f /var/log/egress.log",
            "follow a log file and explain failures as they happen",
        ),
        (
            "egresslens --format markdown -o incident.md egress.log livekit.log",
            "write an incident report from both services' logs",
        ),
        (
            "egresslens --format json egress.log.gz",
            "machine-readable report; exit code 1 when failures are found",
        ),
        (
            "egresslens --config egress.yaml egress.log",
            "say for each diagnosis whether egress.yaml confirms it",
        ),
        (
            "egresslens check-config egress.yaml livekit.yaml docker-compose.yaml",
            "find what in the configuration breaks recordings",
        ),
        (
            "egresslens docker",
            "read every LiveKit container's log with `docker logs`",
        ),
        (
            "egresslens kubectl -n livekit",
            "read the egress and livekit-server pods' logs",
        ),
        (
            "egresslens --since 2h --quiet egress.log",
            "only the last two hours; print just the summary line",
        ),
        (
            "egresslens explain 412",
            "what a status code means and how to fix it",
        ),
        ("egresslens rules list", "the rules egresslens knows"),
    ],
    notes: &[],
    exit: &[
        ("0", "no failure found"),
        ("1", "failures diagnosed"),
        ("2", "usage, input or output error"),
        ("3", "invalid rule files"),
    ],
};

const DOCKER_EXAMPLES: Examples = Examples {
    list: &[
        (
            "egresslens docker",
            "every livekit/egress and livekit/livekit-server container",
        ),
        (
            "egresslens docker egress livekit",
            "these containers, merged by timestamp",
        ),
        (
            "egresslens docker -f egress",
            "follow: explain each failure as it happens",
        ),
        (
            "egresslens docker --since 2h --format markdown -o incident.md",
            "an incident report of the last two hours",
        ),
    ],
    notes: &[],
    exit: &[],
};

const KUBECTL_EXAMPLES: Examples = Examples {
    list: &[
        (
            "egresslens kubectl -n livekit",
            "pods labelled app.kubernetes.io/name=egress or livekit-server",
        ),
        (
            "egresslens kubectl -n livekit -l app=egress -f",
            "follow the pods matching a selector",
        ),
        (
            "egresslens kubectl -n livekit --since 30m --format json",
            "the last 30 minutes as a JSON report",
        ),
    ],
    notes: &[],
    exit: &[],
};

const CHECK_EXAMPLES: Examples = Examples {
    list: &[
        ("egresslens check-config egress.yaml", "check the egress service's configuration"),
        (
            "egresslens check-config egress.yaml livekit.yaml docker-compose.yaml",
            "check the egress, livekit-server and compose files together",
        ),
        (
            "egresslens check-config egress=conf/base.yaml livekit=conf/server.yaml",
            "name each file's kind where its content does not tell",
        ),
        (
            "egresslens check-config --format json -o check.json egress.yaml",
            "the findings as JSON in check.json",
        ),
    ],
    notes: &[
        "Which file is which is told by content (`ws_url`/`api_key`/`storage` = egress, `keys`/`rtc`/`port` = livekit-server, `services` = compose); name it with KIND=FILE (egress, livekit, compose) when needed.",
    ],
    exit: &[
        ("0", "nothing wrong"),
        ("1", "an error or warning found"),
        ("2", "unreadable file or YAML syntax error"),
    ],
};

/// The examples of each subcommand that has some.
const SUBCOMMAND_EXAMPLES: [(&str, &Examples); 3] = [
    ("docker", &DOCKER_EXAMPLES),
    ("kubectl", &KUBECTL_EXAMPLES),
    ("check-config", &CHECK_EXAMPLES),
];

/// Longest command that keeps its description on its own line in the help; a longer one has
/// its description on the next line, in the same column.
const EXAMPLE_COLUMN_MAX: usize = 46;
/// Narrowest description column worth keeping beside the commands; on a narrower terminal
/// every description goes under its command.
const EXAMPLE_TEXT_MIN: usize = 28;

/// Word-wraps `text` into lines of at most `width` characters (a longer word stays whole), the
/// first prefixed by `first`, the rest by `indent`.
fn wrap_words(text: &str, width: usize, first: &str, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// The `Examples:` block of a command's help, wrapped to `width`: commands at column 2, each
/// description in a column of its own (its wrapped lines too), or under its command when the
/// terminal is too narrow for two columns.
fn examples_help(ex: &Examples, width: usize) -> String {
    let cmd_len = ex
        .list
        .iter()
        .map(|(c, _)| c.chars().count())
        .filter(|&n| n <= EXAMPLE_COLUMN_MAX)
        .max()
        .unwrap_or(0);
    let column = 2 + cmd_len + 2;
    let beside = width >= column + EXAMPLE_TEXT_MIN;
    let mut out = vec!["Examples:".to_string()];
    for (cmd, what) in ex.list {
        let head = format!("  {cmd}");
        if beside && head.chars().count() + 2 <= column {
            let first = format!("{head:<column$}");
            out.extend(wrap_words(what, width, &first, &" ".repeat(column)));
            continue;
        }
        // A command wider than the terminal goes on indented further, so that its rest does
        // not read as a command of its own.
        out.extend(wrap_words(cmd, width, "  ", "      "));
        let pad = " ".repeat(if beside { column } else { 6 });
        out.extend(wrap_words(what, width, &pad, &pad));
    }
    for note in ex.notes {
        out.push(String::new());
        out.extend(wrap_words(note, width, "", ""));
    }
    if !ex.exit.is_empty() {
        out.push(String::new());
        out.extend(wrap_words(&exit_text(ex.exit), width, "", ""));
    }
    out.join("\n")
}

/// The command line definition with its help wrapped to `width` columns.
fn command(width: usize) -> clap::Command {
    let mut cmd = Cli::command()
        .term_width(width)
        .after_help(examples_help(&EXAMPLES, width));
    for (name, ex) in SUBCOMMAND_EXAMPLES {
        cmd = cmd.mut_subcommand(name, |c| c.after_help(examples_help(ex, width)));
    }
    cmd
}

#[derive(Parser, Debug)]
#[command(
    name = "egresslens",
    version,
    about = "Explains LiveKit Egress failures from their logs: root cause, evidence and fix.",
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
    #[command(flatten)]
    report: ReportArgs,
}

/// What to keep and how to report it: shared by the main command, `docker` and `kubectl`.
#[derive(Args, Debug, Default)]
struct ReportArgs {
    /// Keep reading (tail -F): explain each egress as it ends, flag egresses stalled before start.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Report format.
    #[arg(long, value_parser = format_parser(), default_value_t = OutputFormat::default())]
    format: OutputFormat,
    /// Write the report to FILE instead of stdout ("-": stdout). A regular file is replaced
    /// atomically, keeping its mode and owner (symlinks followed); a device or FIFO is written
    /// as it is; an input is refused.
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
    /// Only lines at or after TIME: RFC 3339 (2026-01-27T11:00:00Z) or an age (30m, 2h, 1d).
    /// Lines without a timestamp are kept.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only lines before TIME: RFC 3339 or an age (30m, 2h, 1d).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Print only the summary line (the exit code tells the rest); with -o FILE the file
    /// still gets the whole report.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Threads decoding a single input (default: one per CPU, at most 4; 1 decodes it on one
    /// thread). Several inputs get a thread each.
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: Option<u16>,
    /// Decode every line instead of skipping the lines no rule needs (same report, slower:
    /// for checking a report against the plain path).
    #[arg(long, hide = true)]
    no_prefilter: bool,
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
    /// Analyse docker containers' logs (`docker logs --timestamps`, stdout and stderr merged).
    Docker {
        /// Containers to read (default: every container whose image is livekit/egress or
        /// livekit/livekit-server, found with `docker ps`).
        #[arg(value_name = "CONTAINER")]
        containers: Vec<String>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Analyse Kubernetes pods' logs (`kubectl logs --prefix --all-containers --timestamps`).
    Kubectl {
        /// Namespace (default: kubectl's current one).
        #[arg(short = 'n', long, value_name = "NS")]
        namespace: Option<String>,
        /// Label selector of the pods to read.
        #[arg(short = 'l', long, value_name = "SELECTOR", default_value = crate::source::command::DEFAULT_SELECTOR)]
        selector: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) generated from these options: `egresslens man > egresslens.1`.
    Man,
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
    #[command(name = "check-config")]
    CheckConfig {
        /// Config files; KIND=FILE (egress, livekit, compose) names a file's kind.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_parser = format_parser(), default_value_t = OutputFormat::default())]
        format: OutputFormat,
        /// Write the report to FILE instead of stdout ("-": stdout); replaced atomically,
        /// keeping its mode and owner; a config file given is refused.
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

/// `--format`: the names of the report's formats, in their order.
fn format_parser() -> impl TypedValueParser<Value = OutputFormat> {
    PossibleValuesParser::new(OutputFormat::ALL.map(OutputFormat::name))
        .try_map(|name| OutputFormat::from_name(&name).ok_or("not an output format"))
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
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

/// Where the logs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// `files` (stdin when empty).
    Files,
    /// `docker logs` of these containers (found with `docker ps` when empty).
    Docker { containers: Vec<String> },
    /// `kubectl logs` of the pods matching `selector`.
    Kubectl {
        namespace: Option<String>,
        selector: String,
    },
}

/// A `--since` / `--until` bound: the instant, and the text as given (passed on to `docker` or
/// `kubectl`, which read such values themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeBound {
    pub at: Ts,
    pub text: String,
}

/// Settings for analysing logs.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    pub source: LogSource,
    pub files: Vec<PathBuf>,
    pub since: Option<TimeBound>,
    pub until: Option<TimeBound>,
    /// Print only the summary line.
    pub quiet: bool,
    /// Decoding threads for a single input (`None`: one per CPU).
    pub threads: Option<usize>,
    /// Skip the lines no stage needs before decoding them (the batch fast path).
    pub prefilter: bool,
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
    Analyze(Box<AnalyzeConfig>),
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
    Run(Box<Config>),
    /// Text for stdout (help/version) and exit 0, or for stderr and exit 2.
    Exit {
        text: String,
        error: bool,
    },
}

/// Parses the command line, help wrapped to the terminal (or `COLUMNS`).
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let stdout_is_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    parse_at(args, output_width(stdout_is_terminal), stdout_is_terminal)
}

/// `--rules DIR` given before a subcommand is moved after its name, where the subcommand reads
/// it (`egresslens --rules DIR rules test` as `egresslens rules --rules DIR test`): the main
/// command's own arguments are not allowed before a subcommand, so clap would take the
/// subcommand for a log file.
fn rules_after_subcommand(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut i = 1;
    while let Some(a) = args.get(i) {
        if a == "--rules" {
            i += 2;
        } else if a.to_str().is_some_and(|a| a.starts_with("--rules=")) {
            i += 1;
        } else {
            break;
        }
    }
    let is_subcommand = args.get(i).and_then(|a| a.to_str()).is_some_and(|name| {
        Cli::command()
            .get_subcommands()
            .any(|c| c.get_name() == name)
    });
    if i == 1 || i >= args.len() || !is_subcommand {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    out.push(args[0].clone());
    out.push(args[i].clone());
    out.extend_from_slice(&args[1..i]);
    out.extend_from_slice(&args[i + 1..]);
    out
}

/// [`parse`] with the help wrapped to `width` and styled when `styled_ok` (stdout is a
/// terminal).
fn parse_at<I, T>(args: I, width: usize, styled_ok: bool) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = rules_after_subcommand(args.into_iter().map(Into::into).collect());
    let parsed = command(width)
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let error = e.use_stderr();
            // Styled help only on a terminal, and never with NO_COLOR or TERM=dumb.
            let styled = !error
                && styled_ok
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
            let text = if styled {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
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
            format,
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
        Some(Command::Completions { shell }) => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "egresslens", &mut buf);
            return Parsed::Exit {
                text: String::from_utf8_lossy(&buf).into_owned(),
                error: false,
            };
        }
        Some(Command::Man) => {
            return Parsed::Exit {
                text: man_page(),
                error: false,
            };
        }
        Some(Command::Docker { containers, report }) => {
            match analyze_config(LogSource::Docker { containers }, Vec::new(), report) {
                Ok(c) => c,
                Err(text) => return Parsed::Exit { text, error: true },
            }
        }
        Some(Command::Kubectl {
            namespace,
            selector,
            report,
        }) => match analyze_config(
            LogSource::Kubectl {
                namespace,
                selector,
            },
            Vec::new(),
            report,
        ) {
            Ok(c) => c,
            Err(text) => return Parsed::Exit { text, error: true },
        },
        None => {
            let a = cli.analyze;
            match analyze_config(LogSource::Files, a.files, a.report) {
                Ok(c) => c,
                Err(text) => return Parsed::Exit { text, error: true },
            }
        }
    };
    Parsed::Run(Box::new(config))
}

/// The man page (roff), one page for every command.
fn man_page() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let report_ids: Vec<String> = ReportArgs::augment_args(clap::Command::new("report"))
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    man::render(&cmd, &report_ids, &EXAMPLES, &SUBCOMMAND_EXAMPLES)
}

fn analyze_config(source: LogSource, files: Vec<PathBuf>, a: ReportArgs) -> Result<Config, String> {
    let Some(stall) = crate::rulebase::parse_duration(&a.stall_after) else {
        return Err(format!(
            "error: invalid value '{}' for '--stall-after <DURATION>': use e.g. 30s, 2m, 500ms\n",
            a.stall_after
        ));
    };
    let now = Ts(chrono::Utc::now().timestamp_micros());
    let bound = |flag: &str, v: Option<String>| -> Result<Option<TimeBound>, String> {
        let Some(text) = v else { return Ok(None) };
        match parse_time(&text, now) {
            Some(at) => Ok(Some(TimeBound { at, text })),
            None => Err(format!(
                "error: invalid value '{text}' for '--{flag} <TIME>': use RFC 3339 (2026-01-27T11:00:00Z) or an age (30m, 2h, 1d)\n"
            )),
        }
    };
    let since = bound("since", a.since)?;
    let until = bound("until", a.until)?;
    Ok(Config::Analyze(Box::new(AnalyzeConfig {
        source,
        files,
        since,
        until,
        quiet: a.quiet,
        threads: a.threads.map(usize::from),
        prefilter: !a.no_prefilter,
        follow: a.follow,
        format: a.format,
        output: a.output,
        all: a.all,
        egress_ids: a.egress,
        rules_dir: a.rules,
        color: a.color.into(),
        redact: !a.no_redact,
        exit_zero: a.exit_zero,
        stall_after_secs: stall,
        configs: a.config.iter().map(|f| InputFile::from_arg(f)).collect(),
    })))
}

/// The width output is wrapped to: the terminal's on stdout, else `COLUMNS` when it holds a
/// number (as `ls` reads it, so `COLUMNS=120 egresslens ... | less` is 120 wide), else 100.
pub fn output_width(to_terminal: bool) -> usize {
    let term = if to_terminal {
        terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
    } else {
        None
    };
    term.or_else(|| {
        std::env::var("COLUMNS")
            .ok()?
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&w| w > 0)
    })
    .unwrap_or(100)
}

/// An RFC 3339 time, or an age before `now` (`30m`, `2h`, `1d`, `90s`).
pub fn parse_time(s: &str, now: Ts) -> Option<Ts> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(Ts(t.timestamp_micros()));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Ts(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros()));
    }
    let secs = match s.strip_suffix('d') {
        Some(n) => {
            n.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)?
                * 86400.0
        }
        None => {
            // A bare number is ambiguous (seconds? a year?): ask for a unit.
            if s.bytes().last().is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            crate::rulebase::parse_duration(s)?
        }
    };
    Some(Ts(now.0 - (secs * 1_000_000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        match parse(std::iter::once("egresslens").chain(args.iter().copied())) {
            Parsed::Run(c) => *c,
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
    fn sources_times_and_quiet() {
        let Config::Analyze(a) = cfg(&["docker", "-f", "--format", "json", "egress", "lk"]) else {
            panic!()
        };
        assert_eq!(
            a.source,
            LogSource::Docker {
                containers: vec!["egress".into(), "lk".into()]
            }
        );
        assert!(a.follow);
        assert_eq!(a.format, OutputFormat::Json);
        let Config::Analyze(a) = cfg(&["kubectl", "-n", "lk", "--quiet"]) else {
            panic!()
        };
        assert!(a.quiet);
        assert!(
            matches!(a.source, LogSource::Kubectl { namespace: Some(ref n), ref selector } if n == "lk" && selector.contains("egress"))
        );
        let Config::Analyze(a) =
            cfg(&["--since", "2026-01-27T11:00:00Z", "--until", "2h", "x.log"])
        else {
            panic!()
        };
        assert_eq!(
            a.since.map(|b| b.at.iso()).as_deref(),
            Some("2026-01-27T11:00:00.000Z")
        );
        assert!(a.until.is_some());
        let now = Ts(1_000_000_000_000);
        assert_eq!(parse_time("30m", now), Some(Ts(now.0 - 1_800_000_000)));
        assert_eq!(parse_time("1d", now), Some(Ts(now.0 - 86_400_000_000)));
        assert_eq!(parse_time("12", now), None);
        assert_eq!(parse_time("yesterday", now), None);
        assert!(matches!(
            parse(["egresslens", "--since", "soon"]),
            Parsed::Exit { error: true, .. }
        ));
    }

    #[test]
    fn completions_and_man_page() {
        for shell in ["bash", "zsh", "fish", "powershell"] {
            let Parsed::Exit { text, error: false } = parse(["egresslens", "completions", shell])
            else {
                panic!("{shell}")
            };
            assert!(text.contains("egresslens"), "{shell}");
        }
        let Parsed::Exit { text, error: false } = parse(["egresslens", "man"]) else {
            panic!()
        };
        assert!(text.contains(".TH egresslens"));
        // One page: no reference to a page that is never written.
        assert!(!text.contains("egresslens\\-docker(1)"), "{text}");
        assert!(!text.contains("(1)\n"), "{text}");
        // kubectl's own options are listed.
        assert!(
            text.contains(".SS \"egresslens kubectl [OPTIONS]\""),
            "{text}"
        );
        assert!(
            text.contains("\\fB\\-n\\fR, \\fB\\-\\-namespace\\fR"),
            "{text}"
        );
        assert!(
            text.contains("\\fB\\-l\\fR, \\fB\\-\\-selector\\fR"),
            "{text}"
        );
        // Every example is an entry of its own: `.TP`, the command, what it does.
        for ex in std::iter::once(&EXAMPLES).chain(SUBCOMMAND_EXAMPLES.iter().map(|(_, e)| *e)) {
            for (cmd, what) in ex.list {
                let roff_cmd = cmd.replace('-', "\\-").replace('\'', "\\*(Aq");
                let roff_what = what.replace('-', "\\-").replace('\'', "\\*(Aq");
                let entry = format!(".TP\n\\fB{roff_cmd}\\fR\n{roff_what}\n");
                assert!(text.contains(&entry), "{entry} in\n{text}");
            }
        }
        assert!(text.contains(".SH \"EXIT STATUS\""));
    }

    /// The `Examples:` lines of a help text.
    fn example_lines(help: &str) -> Vec<&str> {
        help.lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn example_descriptions_are_indented_under_their_example() {
        for width in [50, 60, 80, 100, 140] {
            for sub in [None, Some("docker"), Some("kubectl"), Some("check-config")] {
                let args: Vec<&str> = std::iter::once("egresslens")
                    .chain(sub)
                    .chain(["--help"])
                    .collect();
                let Parsed::Exit { text, error: false } = parse_at(args, width, false) else {
                    panic!("{sub:?} --help")
                };
                let ex = match sub {
                    None => &EXAMPLES,
                    Some(name) => SUBCOMMAND_EXAMPLES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, e)| *e)
                        .expect("examples"),
                };
                let lines = example_lines(&text);
                assert!(!lines.is_empty(), "{text}");
                let mut starts = 0;
                for line in &lines {
                    assert!(line.chars().count() <= width, "{width}: {line:?}");
                    let indent = line.len() - line.trim_start().len();
                    if indent == 2 {
                        // Only an example's command starts at column 2.
                        starts += 1;
                        assert!(
                            ex.list.iter().any(|(c, _)| c
                                .starts_with(line.trim_start().split("  ").next().unwrap_or(""))),
                            "{width}: {line:?} is not an example's command"
                        );
                    } else {
                        assert!(indent >= 6, "{width}: {line:?}");
                    }
                }
                assert_eq!(starts, ex.list.len(), "{width}:\n{text}");
                // Every word of every description is there.
                let all = lines.join(" ");
                for (_, what) in ex.list {
                    for word in what.split_whitespace() {
                        assert!(all.contains(word), "{word} in {all}");
                    }
                }
            }
        }
        // Wide enough, a description wraps in its own column.
        let Parsed::Exit { text, .. } = parse_at(["egresslens", "--help"], 100, false) else {
            panic!()
        };
        let lines = example_lines(&text);
        let i = lines
            .iter()
            .position(|l| l.starts_with("  egresslens --format json egress.log.gz "))
            .expect("json example");
        let column = lines[i].find("machine-readable").expect("description");
        assert!(lines[i + 1].starts_with(&" ".repeat(column)), "{text}");
        assert_eq!(lines[i + 1].trim(), "found");
    }

    #[test]
    fn rules_before_a_subcommand_is_read_by_it() {
        assert!(matches!(
            cfg(&["--rules", "my-rules", "rules", "test"]),
            Config::RulesTest { dir: Some(d) } if d.as_path() == std::path::Path::new("my-rules")
        ));
        assert!(matches!(
            cfg(&["--rules=my-rules", "rules", "list"]),
            Config::RulesList { rules_dir: Some(d) } if d.as_path() == std::path::Path::new("my-rules")
        ));
        assert!(matches!(
            cfg(&["--rules", "my-rules", "explain", "412"]),
            Config::Explain { rules_dir: Some(d), .. } if d.as_path() == std::path::Path::new("my-rules")
        ));
        let Config::Analyze(a) = cfg(&["--rules", "my-rules", "docker", "egress"]) else {
            panic!()
        };
        assert_eq!(a.rules_dir, Some(PathBuf::from("my-rules")));
        // Before a log file it stays an option of the main command.
        let Config::Analyze(a) = cfg(&["--rules", "my-rules", "egress.log"]) else {
            panic!()
        };
        assert_eq!(a.rules_dir, Some(PathBuf::from("my-rules")));
        assert_eq!(a.files, vec![PathBuf::from("egress.log")]);
        // A subcommand that takes no rules says so.
        assert!(matches!(
            parse(["egresslens", "--rules", "d", "man"]),
            Parsed::Exit { error: true, .. }
        ));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let bad = parse(["egresslens", "--format", "xml"]);
        assert!(matches!(bad, Parsed::Exit { error: true, .. }));
        let bad = parse(["egresslens", "--stall-after", "soon"]);
        assert!(matches!(bad, Parsed::Exit { error: true, .. }));
    }
}
