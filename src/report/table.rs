//! The terminal report: a summary line, a table of the egresses with problems, then per
//! failure its cause, numbered fixes, config snippet and evidence lines with file:line; in
//! follow mode a block per egress, stall and finding, and a closing summary (`--format table`).

use super::follow::{open_line, stall_text, summary_footer, summary_text, MAX_OPEN_LISTED};
use super::{
    check, footer, location, mark_of, open_sentence, outcome_of, shorten, summary_line, Renderer,
    Style,
};
use crate::analyze::{Analysis, EgressResult, LiveSummary, Stall};
use crate::config_check::CheckReport;
use crate::rulebase::{Diagnosis, Severity};
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, ColumnConstraint, ContentArrangement, Table, Width,
};
use std::io::{self, Write};

pub(crate) struct Paint(pub(crate) bool);

impl Paint {
    pub(crate) fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\u{1b}[{code}m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }
    pub(crate) fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub(crate) fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub(crate) fn sev(&self, sev: Severity, s: &str) -> String {
        match sev {
            Severity::Error => self.wrap("1;31", s),
            Severity::Warning => self.wrap("1;33", s),
            Severity::Info => self.wrap("1;36", s),
        }
    }
}

pub(crate) fn mark(sev: Option<Severity>) -> &'static str {
    match sev {
        Some(Severity::Error) => "✖",
        Some(Severity::Warning) => "▲",
        Some(Severity::Info) => "ℹ",
        None => "✔",
    }
}

/// Word-wraps `text` to `width`, indenting every line by `indent` (first line by `first`).
pub(crate) fn wrap(text: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::new();
    for (pn, para) in text.split('\n').enumerate() {
        let mut line = if pn == 0 {
            first.to_string()
        } else {
            indent.to_string()
        };
        let mut len = line.chars().count();
        let base = len;
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let wl = word.chars().count();
            if len > base && len + 1 + wl > width {
                out.push_str(line.trim_end());
                out.push('\n');
                line = indent.to_string();
                len = line.chars().count();
            }
            if len > base {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += wl;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `--format table`: for a terminal, coloured there unless told otherwise.
pub struct TableRenderer;

impl Renderer for TableRenderer {
    fn name(&self) -> &'static str {
        "table"
    }

    fn for_terminal(&self) -> bool {
        true
    }

    fn write_report(&self, a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
        write(a, style, w)
    }

    fn write_check(&self, r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
        check::table(r, style, w)
    }

    fn write_egress(
        &self,
        r: &EgressResult,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        write_egress(r, sources, style, w, false)
    }

    fn write_stall(
        &self,
        s: &Stall,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        let r = &s.result;
        let e = &r.egress;
        let p = Paint(style.color);
        let mut head = format!("▲ stalled: {}", e.label());
        if let Some(room) = &e.room {
            head.push_str(&format!(" · room {room}"));
        }
        if let Some(t) = &e.request_type {
            head.push_str(&format!(" · {t}"));
        }
        head.push_str(&format!(" · {}", stall_text(s)));
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            p.sev(Severity::Warning, &style.clean_line(&head, 400))
        )?;
        if r.diagnoses.is_empty() {
            writeln!(w, "  No rule describes this stall.")?;
        }
        for d in &r.diagnoses {
            write_diagnosis(d, sources, style, w, "  ")?;
        }
        Ok(())
    }

    fn write_finding(
        &self,
        d: &Diagnosis,
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        let p = Paint(style.color);
        writeln!(w)?;
        writeln!(w, "{}", p.bold(&format!("{} finding", d.scope.name())))?;
        write_diagnosis(d, sources, style, w, "  ")
    }

    fn write_summary(
        &self,
        s: &LiveSummary,
        open: &[EgressResult],
        sources: &[String],
        style: &Style,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        let p = Paint(style.color);
        writeln!(w)?;
        writeln!(
            w,
            "{} {}",
            p.bold("egresslens:"),
            style.clean_line(&summary_text(s), 1000)
        )?;
        for r in open.iter().take(MAX_OPEN_LISTED) {
            writeln!(w, "  ◌ {}", style.clean_line(&open_line(r), 400))?;
        }
        if open.len() > MAX_OPEN_LISTED {
            writeln!(w, "  and {} more still open", open.len() - MAX_OPEN_LISTED)?;
        }
        writeln!(w, "{}", p.dim(&style.clean(&summary_footer(s, sources))))
    }
}

/// Writes the full terminal report.
fn write(a: &Analysis, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    let p = Paint(style.color);
    writeln!(w, "{} {}", p.bold("egresslens:"), summary_line(a))?;
    let shown: Vec<&EgressResult> = a.egresses.iter().collect();
    let short = is_short_paste(a);
    // A short paste's one egress is named by its heading below: the table would repeat it.
    if !shown.is_empty() && !short {
        writeln!(w)?;
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(style.width).unwrap_or(u16::MAX))
            .set_header(vec!["", "Egress", "Room", "Type", "Outcome", "Diagnosis"]);
        for r in &shown {
            let e = &r.egress;
            let diag = r
                .diagnoses
                .first()
                .map_or_else(|| "-".to_string(), |d| d.title.clone());
            t.add_row(vec![
                mark_of(r).to_string(),
                style.clean_line(&e.label(), 40),
                style.clean_line(e.room.as_deref().unwrap_or("-"), 30),
                style.clean_line(e.request_type.as_deref().unwrap_or("-"), 20),
                // Keep "34.6 s" and "(412)" on one line when the column wraps.
                style
                    .clean_line(&outcome_of(r), 64)
                    .replace(" s", "\u{a0}s")
                    .replace(" ms", "\u{a0}ms")
                    .replace(" min", "\u{a0}min")
                    .replace(" (", "\u{a0}("),
                style.clean_line(&diag, 80),
            ]);
        }
        // An egress ID (`EG_` + 12 characters) is never broken inside: the column is at least
        // as wide as the longest word of its labels (the width counts the cell's padding).
        let id_width = shown
            .iter()
            .filter_map(|r| {
                let label = style.clean_line(&r.egress.label(), 40);
                label.split_whitespace().map(|w| w.chars().count()).max()
            })
            .max()
            .unwrap_or(0);
        if let Some(c) = t.column_mut(1) {
            c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                u16::try_from(id_width).unwrap_or(u16::MAX).min(40) + 2,
            )));
        }
        writeln!(w, "{t}")?;
    }
    for r in &shown {
        if !r.diagnoses.is_empty() || r.is_failure() || r.egress.open_at_end {
            write_egress(r, &a.sources, style, w, short)?;
            if let Some(d) = crate::report::explained_by_finding(r, &a.findings) {
                let line = format!(
                    "The finding below explains this egress's evidence line: {} [{}].",
                    d.title, d.rule
                );
                write!(
                    w,
                    "{}",
                    wrap(&style.clean(&line), style.width, "  → ", "    ")
                )?;
            }
        }
    }
    if a.omitted > 0 {
        writeln!(
            w,
            "\n{} more egresses with problems are not shown (report limit). Leading diagnoses over the whole input:",
            a.omitted
        )?;
        for (rule, c) in a.causes_by_count() {
            writeln!(w, "  {:>6}  {rule}", c.count)?;
        }
    }
    if !a.findings.is_empty() {
        writeln!(w, "\n{}", p.bold("Node and input findings"))?;
        for d in &a.findings {
            if short {
                write_short_diagnosis(d, style, w, "")?;
            } else {
                write_diagnosis(d, &a.sources, style, w, "")?;
            }
        }
    }
    if short
        && (a
            .findings
            .iter()
            .chain(a.egresses.iter().flat_map(|r| &r.diagnoses)))
        .next()
        .is_some()
    {
        writeln!(w)?;
        write!(
            w,
            "{}",
            p.dim(&wrap(
                "A short answer for a short paste: `--format markdown` gives the whole report (every fix, the evidence, what the input cannot tell, docs).",
                style.width,
                "",
                ""
            ))
        )?;
    }
    if !a.hints.is_empty() {
        writeln!(w)?;
        for h in &a.hints {
            write!(
                w,
                "{}",
                wrap(
                    &style.clean(h),
                    style.width,
                    &format!("{} ", p.bold("hint:")),
                    "      "
                )
            )?;
        }
    }
    writeln!(w, "\n{}", p.dim(&style.clean(&footer(a))))?;
    Ok(())
}

/// One egress block: heading, each diagnosis, notes.
fn write_egress(
    r: &EgressResult,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
    short: bool,
) -> io::Result<()> {
    let p = Paint(style.color);
    let e = &r.egress;
    let mut head = format!("{} {}", mark_of(r), e.label());
    if let Some(room) = &e.room {
        head.push_str(&format!(" · room {room}"));
    }
    if let Some(t) = &e.request_type {
        head.push_str(&format!(" · {t}"));
    }
    head.push_str(&format!(" · {}", outcome_of(r)));
    let head = style.clean_line(&head, 400);
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        r.severity()
            .map_or_else(|| p.bold(&head), |s| p.sev(s, &head))
    )?;
    if let Some(err) = e.error.as_deref().filter(|x| !x.is_empty()) {
        let mut line = format!("error: {err}");
        if let Some(d) = e.details.as_deref().filter(|x| !x.is_empty()) {
            line.push_str(&format!(" · {d}"));
        }
        write!(
            w,
            "{}",
            wrap(&style.clean(&line), style.width, "  ", "    ")
        )?;
    }
    if let Some(o) = &r.open {
        write!(
            w,
            "{}",
            wrap(&style.clean(&open_sentence(o)), style.width, "  ", "  ")
        )?;
    }
    for d in &r.diagnoses {
        if short {
            write_short_diagnosis(d, style, w, "  ")?;
        } else {
            write_diagnosis(d, sources, style, w, "  ")?;
        }
    }
    if short {
        return Ok(());
    }
    if !r.notes.is_empty() {
        writeln!(w, "  {}", p.bold("Not in this log"))?;
        for n in &r.notes {
            write!(
                w,
                "{}",
                wrap(&style.clean(n), style.width, "    - ", "      ")
            )?;
        }
    }
    Ok(())
}

/// A paste of a few entries (an error string, an API reply, one node line, a panic with its
/// stack): the terminal answer is sized to it, one screen. Markdown and JSON keep the detail.
fn is_short_paste(a: &Analysis) -> bool {
    let s = &a.stats;
    let entries = s.lines.saturating_sub(s.blank + s.continuation);
    entries <= 3 && a.egresses.len() <= 1 && a.omitted == 0
}

/// A diagnosis as a short answer: what it is (the title), why (the whole cause: it ends with
/// the likely reason, which a cut would lose), the first fix and how many more there are, how
/// sure (with what would settle it), the config check, and the other causes by name.
fn write_short_diagnosis(
    d: &Diagnosis,
    style: &Style,
    w: &mut dyn Write,
    ind: &str,
) -> io::Result<()> {
    let p = Paint(style.color);
    let width = style.width;
    let tag = format!("[{} · {}]", d.severity.name(), d.rule);
    writeln!(
        w,
        "{ind}{} {}",
        p.sev(d.severity, &style.clean(&d.title)),
        p.dim(&tag)
    )?;
    let label = |name: &str| format!("{ind}  {} ", p.bold(&format!("{name:<9}")));
    let rest = format!("{ind}{}", " ".repeat(12));
    let row = |w: &mut dyn Write, name: &str, text: &str| -> io::Result<()> {
        write!(
            w,
            "{}",
            wrap(&style.clean(text), width, &label(name), &rest)
        )
    };
    row(w, "Why", &d.cause)?;
    if d.rule == "unrecognised" {
        // No rule explains it: the line itself is the answer's substance.
        if let Some(ev) = d.evidence.first() {
            let text = style.clean(&ev.text);
            row(w, "Line", &shorten(text.lines().next().unwrap_or(""), 300))?;
        }
    }
    if let Some(f) = d.fixes.first() {
        row(w, "Fix", f)?;
    }
    if let more @ 1.. = d.fixes.len().saturating_sub(1) {
        let fixes = if more == 1 { "fix" } else { "fixes" };
        row(
            w,
            "More",
            &format!("{more} more {fixes} in the full report"),
        )?;
    }
    let mut sure = d.confidence.name().to_string();
    if let Some(u) = d.unknowns.first() {
        sure.push_str(": ");
        sure.push_str(u);
    }
    row(w, "How sure", &sure)?;
    let checks: Vec<&str> = d.config_check.iter().map(|n| n.text.as_str()).collect();
    write_bullets(
        w,
        style,
        &format!("{ind}  "),
        "Config check",
        &checks,
        &rest,
    )?;
    if !d.alternatives.is_empty() {
        let names: Vec<String> = d
            .alternatives
            .iter()
            .map(|a| format!("{} ({})", a.title, a.confidence.name()))
            .collect();
        row(w, "Or else", &names.join("; "))?;
    }
    Ok(())
}

/// A heading and its items as a bulleted list (nothing when there are no items).
fn write_bullets(
    w: &mut dyn Write,
    style: &Style,
    head_indent: &str,
    heading: &str,
    items: &[&str],
    indent: &str,
) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(w, "{head_indent}{}", Paint(style.color).bold(heading))?;
    for item in items {
        let text = wrap(
            &style.clean(item),
            style.width,
            &format!("{indent}- "),
            &format!("{indent}  "),
        );
        write!(w, "{text}")?;
    }
    Ok(())
}

pub(super) fn write_diagnosis(
    d: &Diagnosis,
    sources: &[String],
    style: &Style,
    w: &mut dyn Write,
    ind: &str,
) -> io::Result<()> {
    let p = Paint(style.color);
    let width = style.width;
    let tag = format!(
        "[{} · {} · {}]",
        d.severity.name(),
        d.confidence.name(),
        d.rule
    );
    writeln!(
        w,
        "{ind}{} {}",
        p.sev(d.severity, &style.clean(&d.title)),
        p.dim(&tag)
    )?;
    let i2 = format!("{ind}  ");
    let i4 = format!("{ind}    ");
    writeln!(w, "{i2}{}", p.bold("Cause"))?;
    write!(w, "{}", wrap(&style.clean(&d.cause), width, &i4, &i4))?;
    let checks: Vec<&str> = d.config_check.iter().map(|n| n.text.as_str()).collect();
    write_bullets(w, style, &i2, "Config check", &checks, &i4)?;
    if !d.fixes.is_empty() {
        writeln!(w, "{i2}{}", p.bold("Fix"))?;
        for (n, f) in d.fixes.iter().enumerate() {
            let first = format!("{i4}{}. ", n + 1);
            let rest = " ".repeat(first.chars().count());
            write!(w, "{}", wrap(&style.clean(f), width, &first, &rest))?;
        }
    }
    if let Some(c) = &d.config {
        writeln!(w, "{i2}{}", p.bold("Config"))?;
        for line in crate::report::safe::strip_controls(c).into_owned().lines() {
            writeln!(w, "{i4}{line}")?;
        }
    }
    if !d.evidence.is_empty() {
        writeln!(w, "{i2}{}", p.bold("Evidence"))?;
        for ev in &d.evidence {
            let loc = location(sources, ev);
            let text = style.clean(&ev.text);
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("");
            writeln!(
                w,
                "{i4}{} {}",
                p.dim(&style.clean(&loc)),
                shorten(first, width.saturating_sub(12).max(60) * 3)
            )?;
            let more = lines.count();
            if more > 0 {
                writeln!(
                    w,
                    "{i4}  {}",
                    p.dim(&format!("(+{more} continuation lines)"))
                )?;
            }
        }
    }
    let absent: Vec<&str> = d.absent.iter().map(String::as_str).collect();
    write_bullets(w, style, &i2, "Not seen", &absent, &i4)?;
    let unknowns: Vec<&str> = d.unknowns.iter().map(String::as_str).collect();
    write_bullets(w, style, &i2, "To be sure", &unknowns, &i4)?;
    let alternatives: Vec<String> = d
        .alternatives
        .iter()
        .map(|alt| {
            format!(
                "{} ({}, rule {})",
                alt.title,
                alt.confidence.name(),
                alt.rule
            )
        })
        .collect();
    let alternatives: Vec<&str> = alternatives.iter().map(String::as_str).collect();
    write_bullets(w, style, &i2, "Other possible causes", &alternatives, &i4)?;
    if !d.docs.is_empty() {
        writeln!(
            w,
            "{i2}{} {}",
            p.bold("Docs"),
            style.clean(&d.docs.join("  "))
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aaa bbb ccc", 8, "- ", "  "), "- aaa\n  bbb\n  ccc\n");
        assert_eq!(wrap("a\nb", 80, "x", "y"), "xa\nyb\n");
    }
}
