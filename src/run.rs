//! Wires the stages together for each command and turns the outcome into an exit code. The
//! only module that knows every stage; it holds no stage logic of its own.

use crate::analyze::{run_readers_with, Engine, Options, Strategy};
use crate::cli::{self, AnalyzeConfig, CheckConfigConfig, ColorChoice, Config, LogSource, Parsed};
use crate::error::{Error, Result, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::output::{self, Dest, InputRef};
use crate::report::{self, OutputFormat, Style};
use crate::rulebase::RuleSet;
use crate::source::Input;
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::Path;

/// Runs egresslens with these arguments and returns the process exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let config = match cli::parse(args) {
        Parsed::Run(c) => *c,
        Parsed::Exit { text, error } => {
            if error {
                let _ = write!(io::stderr(), "{text}");
                return EXIT_ERROR;
            }
            let _ = write!(io::stdout(), "{text}");
            return EXIT_OK;
        }
    };
    match dispatch(config) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return EXIT_OK;
            }
            let _ = writeln!(io::stderr(), "error: {e}");
            e.exit_code()
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}

fn dispatch(config: Config) -> Result<u8> {
    match config {
        Config::Analyze(a) => analyze(*a),
        Config::CheckConfig(c) => check_config(c),
        Config::Explain { query, rules_dir } => {
            let set = load_rules(rules_dir.as_deref())?;
            let text = crate::explain::explain(&set, &query);
            print_stdout(&text)?;
            Ok(EXIT_OK)
        }
        Config::RulesList { rules_dir } => {
            let set = load_rules(rules_dir.as_deref())?;
            print_stdout(&crate::explain::list(&set))?;
            Ok(EXIT_OK)
        }
        Config::RulesShow { id, rules_dir } => {
            let set = load_rules(rules_dir.as_deref())?;
            match set.get(&id) {
                Some(r) => {
                    print_stdout(&crate::explain::show(r))?;
                    Ok(EXIT_OK)
                }
                None => Err(Error::Usage(format!(
                    "no rule `{id}` (see `egresslens rules list`)"
                ))),
            }
        }
        Config::RulesTest { dir } => {
            let (set, only) = match &dir {
                Some(d) => {
                    check_rules_dir(d)?;
                    let user = RuleSet::load_dir(d).map_err(|e| rules_error(Some(d), e))?;
                    let ids: Vec<String> = user.rules.iter().map(|r| r.id.clone()).collect();
                    (load_rules(Some(d))?, Some(ids))
                }
                None => (load_rules(None)?, None),
            };
            let outcomes = crate::ruletest::run(&set, only.as_deref());
            print_stdout(&crate::explain::test_report(&outcomes))?;
            Ok(if outcomes.iter().all(|o| o.passed) {
                EXIT_OK
            } else {
                EXIT_FINDINGS
            })
        }
    }
}

fn load_rules(dir: Option<&Path>) -> Result<RuleSet> {
    if let Some(d) = dir {
        check_rules_dir(d)?;
    }
    RuleSet::load(dir).map_err(|e| rules_error(dir, e))
}

/// A rules directory that cannot be read is an input error (exit 2), not an invalid rule file.
fn check_rules_dir(dir: &Path) -> Result<()> {
    let err = |source| Error::Input {
        path: dir.display().to_string(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory (--rules and rules test take a directory of rule files)",
        ))),
        Err(e) => Err(err(io::Error::new(
            e.kind(),
            format!("cannot read the rules directory: {e}"),
        ))),
    }
}

/// Invalid rule files, with every problem of every file in `dir` listed.
fn rules_error(dir: Option<&Path>, errors: Vec<crate::error::RuleError>) -> Error {
    Error::Rules(match dir {
        Some(d) => crate::rulecheck::complete(d, errors),
        None => errors,
    })
}

fn print_stdout(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| Error::Output {
            path: "<stdout>".into(),
            source,
        })
}

fn make_style(format: OutputFormat, dest: &Dest, color: ColorChoice, redact: bool) -> Style {
    let to_terminal = *dest == Dest::Stdout && io::stdout().is_terminal();
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && !no_color_env && !dumb && format.renderer().for_terminal()
        }
    };
    let width = cli::output_width(to_terminal);
    Style {
        format,
        color,
        redact,
        width: width.clamp(60, 160),
    }
}

/// `check-config`: load, check, report; exit 1 when an error or warning is found.
fn check_config(c: CheckConfigConfig) -> Result<u8> {
    let dest = Dest::from_arg(c.output.as_deref());
    output::refuse_inputs(&dest, c.files.iter().map(|f| InputRef::File(&f.path)))?;
    let (_, report) = crate::config_check::run(&c.files)?;
    let style = make_style(c.format, &dest, c.color, c.redact);
    output::write(&dest, |w| report::check::write(&report, &style, w))?;
    output::tell_written(&dest, || report::check::wrote_line(&dest.name(), &report));
    Ok(if report.has_problems() && !c.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn analyze(a: AnalyzeConfig) -> Result<u8> {
    let dest = Dest::from_arg(a.output.as_deref());
    refuse_inputs(&a, &dest)?;
    if let Some(d) = &a.rules_dir {
        check_rules_dir(d)?;
    }
    let rules = RuleSet::load_for_analysis(a.rules_dir.as_deref())
        .map_err(|e| rules_error(a.rules_dir.as_deref(), e))?;
    let style = make_style(a.format, &dest, a.color, a.redact);
    let inputs = inputs_for(&a)?;
    if inputs.iter().any(Input::is_interactive) {
        let _ = report::write_stdin_notice(&mut io::stderr());
    }
    // Config files are read before any log, so a bad one fails fast.
    let config = if a.configs.is_empty() {
        None
    } else if a.follow {
        return Err(Error::Usage(
            "--config is not supported with --follow yet: run `egresslens check-config` on the files instead".into(),
        ));
    } else {
        Some(crate::config_check::run(&a.configs)?.1)
    };
    if a.follow {
        return crate::follow::run(&a, &dest, &rules, &style, inputs);
    }
    // Open every input first, so a missing file fails before any work.
    let mut readers = Vec::new();
    let mut names = Vec::new();
    let mut total: u64 = 0;
    for (i, input) in inputs.iter().enumerate() {
        readers.push((i as u32, input.open()?));
        names.push(input.name());
        total += input.len_hint().unwrap_or(0);
    }
    let opts = Options {
        all: a.all,
        egress_ids: a.egress_ids.clone(),
        stream: false,
        since: a.since.as_ref().map(|b| b.at),
        until: a.until.as_ref().map(|b| b.at),
        stall_limits: crate::analyze::StallLimits {
            stall_after_secs: a.stall_after_secs,
        },
    };
    let mut engine = Engine::new(&rules, opts, names);
    let mut bar = crate::progress::Progress::new(total);
    let strategy = Strategy {
        workers: a.threads.unwrap_or_else(crate::analyze::workers),
        prefilter: a.prefilter,
    };
    let stats = run_readers_with(
        &mut engine,
        readers,
        strategy,
        &mut |n| bar.add(n),
        &mut |_| {},
    )
    .map_err(|source| Error::Input {
        path: match (&a.source, crate::source::command::failed_command(&source)) {
            (_, Some(command)) => command.to_string(),
            (LogSource::Files, None) => inputs.first().map_or("<input>".into(), Input::name),
            (LogSource::Docker { .. }, None) => "docker".into(),
            (LogSource::Kubectl { .. }, None) => "kubectl".into(),
        },
        source,
    })?;
    bar.finish();
    let mut analysis = engine.finish(stats);
    if let Some(c) = &config {
        crate::config_check::annotate(&mut analysis, c);
    }
    // `--quiet` prints only the summary line; a file named with `-o` still gets the report.
    let quiet = |w: &mut dyn Write| report::write_quiet(&analysis, w);
    let whole = |w: &mut dyn Write| report::write(&analysis, &style, w);
    if dest == Dest::Stdout {
        if a.quiet {
            output::write(&dest, quiet)?;
        } else {
            output::write(&dest, whole)?;
        }
    } else {
        output::write(&dest, whole)?;
        if a.quiet {
            output::write(&Dest::Stdout, quiet)?;
        } else {
            let s = &analysis.summary;
            output::tell_written(&dest, || {
                report::wrote_line(&dest.name(), s.failed, s.warnings)
            });
        }
    }
    Ok(if analysis.has_findings() && !a.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// The inputs of an analysis: files or stdin, or the commands that print the containers' logs.
fn inputs_for(a: &AnalyzeConfig) -> Result<Vec<Input>> {
    use crate::source::command;
    let since = a.since.as_ref().map(|b| b.at.iso());
    let until = a.until.as_ref().map(|b| b.at.iso());
    match &a.source {
        LogSource::Files => Ok(Input::from_args(&a.files)),
        LogSource::Docker { containers } => {
            let names = if containers.is_empty() {
                let found =
                    command::find_docker_containers(!a.follow).map_err(|source| Error::Input {
                        path: "docker ps".into(),
                        source,
                    })?;
                if found.is_empty() {
                    return Err(Error::Usage(format!(
                        "no container with an image named {} found by `docker ps`: name the containers (`egresslens docker NAME...`)",
                        command::DOCKER_IMAGES.join(" or ")
                    )));
                }
                found
            } else {
                containers.clone()
            };
            Ok(
                command::docker_logs(&names, a.follow, since.as_deref(), until.as_deref())
                    .into_iter()
                    .map(Input::Command)
                    .collect(),
            )
        }
        LogSource::Kubectl {
            namespace,
            selector,
        } => Ok(vec![Input::Command(command::kubectl_logs(
            namespace.as_deref(),
            selector,
            a.follow,
            since.as_deref(),
        ))]),
    }
}

/// Refuses an output that is one of the logs or config files read (exit 2, before any is read).
fn refuse_inputs(a: &AnalyzeConfig, dest: &Dest) -> Result<()> {
    let logs: Vec<InputRef> = match a.source {
        LogSource::Files if a.files.is_empty() => vec![InputRef::Stdin],
        LogSource::Files => a
            .files
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    InputRef::Stdin
                } else {
                    InputRef::File(p)
                }
            })
            .collect(),
        LogSource::Docker { .. } | LogSource::Kubectl { .. } => Vec::new(),
    };
    let configs = a.configs.iter().map(|c| InputRef::File(&c.path));
    output::refuse_inputs(dest, logs.into_iter().chain(configs))
}
