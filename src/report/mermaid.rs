//! Mermaid `gantt` charts for the markdown report (GitHub renders ```` ```mermaid ```` fences):
//! the failures and warnings by cause over time, or the stages of one egress. Bounded in size
//! (a few sections, a few bars each), and no text reaches a chart unfiltered: names keep only
//! characters that can neither end a task or section nor start a statement or a comment.

use super::Style;
use crate::analyze::{Analysis, Cause, EgressResult};
use crate::event::Ts;
use crate::rulebase::Severity;
use std::fmt::Write as _;

/// Most causes (sections) in the chart of failures by cause.
pub const MAX_CAUSES: usize = 8;
/// Most egresses (bars) drawn per cause, besides the bar spanning all of that cause.
pub const MAX_EGRESSES_PER_CAUSE: usize = 3;
/// Longest name of a task or section, in characters.
const MAX_NAME: usize = 60;

/// Words that start a statement when a line begins with them (mermaid's gantt lexer is
/// case-insensitive and matches some of them without a following space).
const KEYWORDS: [&str; 18] = [
    "gantt",
    "dateformat",
    "inclusiveenddates",
    "topaxis",
    "axisformat",
    "tickinterval",
    "includes",
    "excludes",
    "todaymarker",
    "weekday",
    "title",
    "accdescription",
    "acctitle",
    "accdescr",
    "section",
    "click",
    "href",
    "call",
];

/// `text` made safe as a task or section name: letters, digits, spaces and `_ - . , ( ) / ' + & = @ ! ? [ ]`
/// only (others become spaces: `:` ends a task's name, `#` and `%%` start comments, `;` ends
/// a statement, `<`, `>`, `"`, `{` and `}` are markup), on one line, at most [`MAX_NAME`]
/// characters, and never starting like a statement or a date.
pub fn name(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " _-.,()/'+&=@!?[]".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = mapped.split_whitespace().collect();
    let mut out = super::shorten(&words.join(" "), MAX_NAME);
    let lower = out.to_lowercase();
    let risky = out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || KEYWORDS.iter().any(|k| lower.starts_with(k));
    if risky {
        out.insert_str(0, "· ");
    }
    out
}

/// A time as the chart's `dateFormat` reads it (`2026-01-27 11:11:05.179`, UTC wall clock).
fn date(t: Ts) -> Option<String> {
    let iso = t.iso();
    // `YYYY-MM-DDTHH:MM:SS.sssZ`; other years are written otherwise and left out.
    (iso.len() == 24 && iso.as_bytes()[10] == b'T')
        .then(|| format!("{} {}", &iso[..10], &iso[11..23]))
}

/// One bar: its name, tags, start and end (at least a millisecond after the start).
struct Bar {
    name: String,
    tags: &'static str,
    from: Ts,
    to: Ts,
}

/// The chart's text from its sections of bars; `None` when no bar has a time it can write.
fn chart(title: &str, sections: &[(String, Vec<Bar>)]) -> Option<String> {
    let bars = || sections.iter().flat_map(|(_, b)| b.iter());
    let from = bars().map(|b| b.from).min()?;
    let to = bars().map(|b| b.to).max()?;
    let span = from.secs_until(to);
    let axis = if span < 3600.0 {
        "%H:%M:%S"
    } else if span < 2.0 * 86400.0 {
        "%H:%M"
    } else {
        "%m-%d %H:%M"
    };
    let mut out = String::new();
    let _ = writeln!(out, "```mermaid\ngantt");
    let _ = writeln!(out, "    title {}", name(title));
    let _ = writeln!(out, "    dateFormat YYYY-MM-DD HH:mm:ss.SSS");
    let _ = writeln!(out, "    axisFormat {axis}");
    let mut any = false;
    for (section, bars) in sections {
        let lines: Vec<String> = bars
            .iter()
            .filter_map(|b| {
                let from = date(b.from)?;
                let to = date(b.to.max(Ts(b.from.0 + 1000)))?;
                Some(format!("    {} :{}{from}, {to}", b.name, b.tags))
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "    section {section}");
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    out.push_str("```\n");
    any.then_some(out)
}

fn tags(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => " crit, ",
        Severity::Warning => " active, ",
        Severity::Info => " done, ",
    }
}

/// When an egress began and ended, as far as the log tells.
fn span(r: &EgressResult) -> Option<(Ts, Ts)> {
    let t = &r.egress.t;
    let from = t.get("start").or(t.first)?;
    let to = t.ended.or(t.last)?;
    Some((from, to.max(from)))
}

/// Failures and warnings by cause over time: one section per cause (the most frequent
/// [`MAX_CAUSES`]), each with a bar from its first to its last failure and the first few of
/// its egresses in the report (`shown`) from their request to their end. `None` when there is
/// nothing with a time to draw, and the number of causes left out.
pub fn by_cause(a: &Analysis, shown: &[&EgressResult], style: &Style) -> Option<(String, usize)> {
    let causes = a.causes_by_count();
    let mut sections = Vec::new();
    for (rule, c) in causes.iter().take(MAX_CAUSES) {
        let mut bars = Vec::new();
        if c.count > 1 {
            if let (Some(first), Some(last)) = (c.first, c.last) {
                bars.push(Bar {
                    name: name(&format!("all {}, first to last", c.count)),
                    tags: tags(c.severity),
                    from: first,
                    to: last,
                });
            }
        }
        let mine = shown
            .iter()
            .filter(|r| r.is_problem() && r.diagnoses.first().is_some_and(|d| d.rule == *rule));
        for r in mine.take(MAX_EGRESSES_PER_CAUSE) {
            if let Some((from, to)) = span(r) {
                bars.push(Bar {
                    name: name(&style.clean(&r.egress.label())),
                    tags: tags(r.severity().unwrap_or(c.severity)),
                    from,
                    to,
                });
            }
        }
        sections.push((section_name(c), bars));
    }
    let text = chart("Failures and warnings by cause (UTC)", &sections)?;
    Some((text, causes.len().saturating_sub(MAX_CAUSES)))
}

fn section_name(c: &Cause) -> String {
    name(&c.title)
}

/// The stages of one egress: waiting for the start signal, starting the pipeline, recording,
/// ending, each up to the next milestone, and its end as a milestone; an egress still open
/// at the end of the input has its last stage drawn up to the input's newest line (`end`).
pub fn stages(r: &EgressResult, end: Option<Ts>, style: &Style) -> Option<String> {
    let e = &r.egress;
    let t = &e.t;
    let playing = match (t.playing, t.active) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut points: Vec<(Ts, &str)> = [
        (t.get("start"), "waiting for the start signal"),
        (t.start_signal, "starting the pipeline"),
        (playing, "recording"),
        (t.ending, "ending"),
    ]
    .into_iter()
    .filter_map(|(at, stage)| at.map(|at| (at, stage)))
    .collect();
    points.sort_by_key(|(at, _)| *at);
    let failed = r.is_failure();
    let mut bars = Vec::new();
    for (i, (from, stage)) in points.iter().enumerate() {
        let next = points.get(i + 1).map(|(at, _)| *at);
        let (to, open) = match next.or(t.ended) {
            Some(to) => (to, false),
            None => match end.filter(|_| r.open.is_some()) {
                Some(to) => (to, true),
                None => continue,
            },
        };
        let last = next.is_none();
        let stage = if open {
            format!("{stage}, still at the end of the log")
        } else {
            (*stage).to_string()
        };
        bars.push(Bar {
            name: name(&stage),
            tags: match (last, failed, open) {
                (true, true, _) => " crit, ",
                (_, _, true) => " active, ",
                _ => " done, ",
            },
            from: *from,
            to: to.max(*from),
        });
    }
    if let Some(ended) = t.ended {
        let mut what = e.status.name().to_string();
        if let Some(c) = e.code.filter(|c| *c != 0) {
            what.push_str(&format!(" ({c})"));
        }
        bars.push(Bar {
            name: name(&what),
            tags: if failed {
                " milestone, crit, "
            } else {
                " milestone, "
            },
            from: ended,
            to: ended,
        });
    }
    if bars.len() < 2 {
        return None;
    }
    let label = style.clean(&e.label());
    chart(
        &format!("Egress {label} stage by stage (UTC)"),
        &[(name(&label), bars)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_the_chart() {
        // What ends a task name, starts a comment or a statement, or is markup: gone.
        let n = name("a: b; c # d %% e <b>\"x\"</b> {y}\nsection z");
        for bad in [':', ';', '#', '%', '<', '>', '"', '{', '}', '\n'] {
            assert!(!n.contains(bad), "{n:?} holds {bad:?}");
        }
        assert_eq!(n, "a b c d e b x /b y section z");
        // A name that would start a statement or read as a date gets a harmless lead.
        for risky in [
            "section x",
            "Title of it",
            "ganttish",
            "click me",
            "accTitle",
            "2026-01-27 broke",
            "",
            ":::",
        ] {
            let n = name(risky);
            assert!(n.starts_with("· "), "{risky:?} -> {n:?}");
        }
        assert_eq!(name("EG_Rj7Yh2WbN5cT"), "EG_Rj7Yh2WbN5cT");
        // Long names are cut.
        assert!(name(&"x".repeat(500)).chars().count() <= MAX_NAME);
    }

    #[test]
    fn dates_read_as_the_date_format() {
        assert_eq!(
            date(Ts(1_769_512_265_179_000)).as_deref(),
            Some("2026-01-27 11:11:05.179")
        );
    }
}
