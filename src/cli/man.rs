//! The man page, generated from the same clap definition the binary parses with, as one page
//! that needs no other: the main command's options, then every subcommand with its usage, its
//! own options and its examples, then the examples, exit status and environment. Examples
//! keep one entry each (a roff paragraph would run them together).

use super::Examples;
use clap::builder::PossibleValue;
use clap::{Arg, Command};
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};

/// The page for the built command `cmd`, whose report options are those named `report_ids`
/// (subcommands that take them all say so instead of listing them again).
pub(super) fn render(
    cmd: &Command,
    report_ids: &[String],
    main: &Examples,
    subcommand_examples: &[(&str, &Examples)],
) -> String {
    let name = cmd.get_name();
    let mut r = Roff::default();
    let version = format!("{name} {}", cmd.get_version().unwrap_or_default());
    r.control("TH", [name, "1", version.as_str()]);
    // Commands and paths read best unjustified and unhyphenated.
    r.control("ad", ["l"]);
    r.control("nh", []);

    r.control("SH", ["NAME"]);
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    r.text([roman(format!("{name} - {about}"))]);

    r.control("SH", ["SYNOPSIS"]);
    let mut first = true;
    for line in usage_lines(cmd)
        .into_iter()
        .chain(visible_subcommands(cmd).flat_map(usage_lines))
    {
        if !first {
            r.control("br", []);
        }
        first = false;
        r.text(usage_inlines(&line));
    }

    r.control("SH", ["DESCRIPTION"]);
    r.text([roman(DESCRIPTION)]);

    r.control("SH", ["OPTIONS"]);
    options(&mut r, cmd, &[]);

    r.control("SH", ["COMMANDS"]);
    for sub in visible_subcommands(cmd) {
        let takes_report = report_ids
            .iter()
            .all(|id| sub.get_arguments().any(|a| a.get_id().as_str() == id));
        let skip: &[String] = if takes_report { report_ids } else { &[] };
        subcommand(&mut r, sub, skip);
        if takes_report {
            r.control("PP", []);
            r.text([roman(
                "It also takes every report option of the main command, as listed under OPTIONS \
                 (--follow, --format, -o, --all, --egress, --rules, --since, --until, --quiet ...).",
            )]);
        }
        if let Some((_, ex)) = subcommand_examples
            .iter()
            .find(|(n, _)| *n == sub.get_name())
        {
            r.control("PP", []);
            r.text([roman("Examples:")]);
            r.control("RS", []);
            examples(&mut r, ex);
            r.control("RE", []);
            for note in ex.notes {
                r.control("PP", []);
                r.text([roman(*note)]);
            }
            if !ex.exit.is_empty() {
                r.control("PP", []);
                r.text([roman(super::exit_text(ex.exit))]);
            }
        }
    }

    r.control("SH", ["EXAMPLES"]);
    examples(&mut r, main);
    for note in main.notes {
        r.control("PP", []);
        r.text([roman(*note)]);
    }

    r.control("SH", ["EXIT STATUS"]);
    for (code, what) in main.exit {
        r.control("TP", []);
        r.text([bold(*code)]);
        r.text([roman(*what)]);
    }

    r.control("SH", ["ENVIRONMENT"]);
    for (var, what) in ENVIRONMENT {
        r.control("TP", []);
        r.text([bold(var)]);
        r.text([roman(what)]);
    }
    r.render()
}

const DESCRIPTION: &str = "egresslens reads LiveKit Egress (and livekit-server) logs from files, \
     stdin, docker or kubectl, follows every egress ID from its request to its final status, and \
     explains each failure: the root cause, the evidence lines it rests on, how sure it is, and \
     the fix. Several files are merged by timestamp; .gz files are read transparently. The \
     report is a terminal table, a markdown incident report or JSON; the exit code tells whether \
     failures were found.";

const ENVIRONMENT: [(&str, &str); 3] = [
    (
        "NO_COLOR",
        "When set and not empty, no colours (unless --color always).",
    ),
    (
        "TERM",
        "dumb: no colours (unless --color always) and no progress bar.",
    ),
    (
        "COLUMNS",
        "The width the terminal report and the help are wrapped to when stdout is not a \
         terminal (default 100).",
    ),
];

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// The usage lines clap prints for `cmd` (`egresslens docker [OPTIONS] [CONTAINER]...`).
fn usage_lines(cmd: &Command) -> Vec<String> {
    let usage = cmd.clone().render_usage().to_string();
    usage
        .lines()
        .map(|l| {
            let l = l.trim();
            l.strip_prefix("Usage:").unwrap_or(l).trim().to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// A usage line with its command words bold and its placeholders italic.
fn usage_inlines(line: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(roman(" "));
        }
        let plain = word.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        if plain && !word.is_empty() {
            out.push(bold(word));
        } else {
            out.push(italic(word));
        }
    }
    out
}

fn subcommand(r: &mut Roff, sub: &Command, skip: &[String]) {
    for line in usage_lines(sub) {
        r.control("SS", [line.as_str()]);
    }
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        r.text([roman(about.to_string())]);
    }
    options(r, sub, skip);
    let nested: Vec<&Command> = visible_subcommands(sub).collect();
    if !nested.is_empty() {
        for n in nested {
            r.control("TP", []);
            let usage = usage_lines(n).join(" | ");
            r.text(usage_inlines(&usage));
            if let Some(about) = n.get_about() {
                r.text([roman(about.to_string())]);
            }
            // Global options are listed once, with the command that defines them.
            let args: Vec<&Arg> = shown_args(n, &[]).filter(|a| !a.is_global_set()).collect();
            if !args.is_empty() {
                r.control("RS", []);
                for a in args {
                    arg_entry(r, a);
                }
                r.control("RE", []);
            }
        }
    }
}

fn shown_args<'c>(cmd: &'c Command, skip: &'c [String]) -> impl Iterator<Item = &'c Arg> {
    cmd.get_arguments().filter(move |a| {
        let id = a.get_id().as_str();
        !a.is_hide_set() && id != "help" && id != "version" && !skip.iter().any(|s| s == id)
    })
}

/// Options first, then operands, as clap's help lists them.
fn options(r: &mut Roff, cmd: &Command, skip: &[String]) {
    let (pos, opts): (Vec<&Arg>, Vec<&Arg>) =
        shown_args(cmd, skip).partition(|a| a.is_positional());
    for a in opts.into_iter().chain(pos) {
        arg_entry(r, a);
    }
}

fn arg_entry(r: &mut Roff, a: &Arg) {
    r.control("TP", []);
    r.text(arg_header(a));
    r.text([roman(arg_body(a))]);
}

fn takes_values(a: &Arg) -> bool {
    a.get_num_args().is_some_and(|n| n.takes_values())
}

fn value_name(a: &Arg) -> String {
    a.get_value_names()
        .and_then(|v| v.first().map(|s| s.to_string()))
        .unwrap_or_else(|| a.get_id().as_str().to_uppercase())
}

fn arg_header(a: &Arg) -> Vec<Inline> {
    let many = a.get_num_args().is_some_and(|n| n.max_values() > 1);
    if a.is_positional() {
        let name = value_name(a);
        let text = if a.is_required_set() {
            format!("<{name}>")
        } else {
            format!("[{name}]")
        };
        return vec![italic(if many { format!("{text}...") } else { text })];
    }
    let mut out = Vec::new();
    if let Some(s) = a.get_short() {
        out.push(bold(format!("-{s}")));
    }
    if let Some(l) = a.get_long() {
        if !out.is_empty() {
            out.push(roman(", "));
        }
        out.push(bold(format!("--{l}")));
    }
    if takes_values(a) {
        out.push(roman(" "));
        out.push(italic(format!("<{}>", value_name(a))));
    }
    out
}

fn arg_body(a: &Arg) -> String {
    let mut body = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(PossibleValue::get_name)
        .map(str::to_string)
        .collect();
    if !body.is_empty() && !body.ends_with('.') {
        body.push('.');
    }
    if takes_values(a) && !values.is_empty() {
        body.push_str(&format!(" One of: {}.", values.join(", ")));
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_values(a) && !defaults.is_empty() {
        body.push_str(&format!(" Default: {}.", defaults.join(", ")));
    }
    body.trim().to_string()
}

/// One `.TP` entry per example: the command in bold, what it does under it.
fn examples(r: &mut Roff, ex: &Examples) {
    for (cmd, what) in ex.list {
        r.control("TP", []);
        r.text([bold(*cmd)]);
        r.text([roman(*what)]);
    }
}
