//! The `check-config` report: a terminal table with each finding's why and fix, a markdown
//! report, or JSON (`egresslens.check.v1`; fields may be added, never renamed or removed).
//! Formats a `CheckReport` only; every piece of file content goes through `Style::clean`. Each
//! format's `Renderer::write_check` writes its form with the function here of its name.

use super::safe::{fence_for, md_cell, md_prose};
use super::table::{mark, wrap, Paint};
use super::Style;
use crate::config_check::{CheckReport, Finding, Severity};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde_json::json;
use std::io::{self, Write};

/// Writes the report in the chosen format ([`Renderer::write_check`](super::Renderer)).
pub fn write(r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    style.renderer().write_check(r, style, w)
}

/// The line said on a terminal after `-o FILE`: `wrote check.md: 1 error, 2 warnings`.
pub fn wrote_line(path: &str, r: &CheckReport) -> String {
    format!(
        "wrote {}: {}",
        super::safe::strip_controls(path).replace('\n', " "),
        summary(r)
    )
}

/// `1 error, 2 warnings, 1 info` (or `no problems found`).
pub fn summary(r: &CheckReport) -> String {
    let (e, wn, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    if e + wn + i == 0 {
        return "no problems found".into();
    }
    let mut parts = Vec::new();
    if e > 0 {
        parts.push(format!("{e} error{}", if e == 1 { "" } else { "s" }));
    }
    if wn > 0 {
        parts.push(format!("{wn} warning{}", if wn == 1 { "" } else { "s" }));
    }
    if i > 0 {
        parts.push(format!("{i} info"));
    }
    parts.join(", ")
}

fn files_line(r: &CheckReport) -> String {
    r.files
        .iter()
        .map(|(n, k, by)| format!("{n} ({}: {by})", k.name()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `file:line` for tables.
fn place(f: &Finding) -> String {
    match f.line {
        Some(l) => format!("{}:{l}", f.file),
        None => f.file.clone(),
    }
}

/// `file:line` with the file's base name (the details below give the full path).
fn short_place(f: &Finding) -> String {
    let base = std::path::Path::new(&f.file)
        .file_name()
        .map_or_else(|| f.file.clone(), |n| n.to_string_lossy().into_owned());
    match f.line {
        Some(l) => format!("{base}:{l}"),
        None => base,
    }
}

/// Keeps the end of `s` (file name and line) when it is longer than `max` characters.
fn shorten_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

/// The fix split into its prose line and a config snippet (the lines after the first).
fn split_fix(fix: &str) -> (&str, Option<&str>) {
    match fix.split_once('\n') {
        Some((first, rest)) if !rest.trim().is_empty() => (first, Some(rest)),
        _ => (fix, None),
    }
}

/// The terminal form: a summary line, a table of the findings, then each one's why and fix.
pub(super) fn table(r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    let p = Paint(style.color);
    writeln!(
        w,
        "{} {}",
        p.bold("egresslens check-config:"),
        style.clean(&summary(r))
    )?;
    writeln!(
        w,
        "{}",
        p.dim(&style.clean(&format!("Checked {}", files_line(r))))
    )?;
    if !r.findings.is_empty() {
        writeln!(w)?;
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(style.width).unwrap_or(u16::MAX))
            .set_header(vec!["", "Where", "Key", "Problem"]);
        for f in &r.findings {
            t.add_row(vec![
                mark(Some(f.severity)).to_string(),
                shorten_left(&style.clean_line(&short_place(f), 400), 30),
                shorten_left(&style.clean_line(&f.key, 400), 30),
                style.clean_line(&f.title, 120),
            ]);
        }
        writeln!(w, "{t}")?;
    }
    let width = style.width;
    for f in &r.findings {
        writeln!(w)?;
        let head = format!("{} {} · {}", mark(Some(f.severity)), place(f), f.key);
        let tag = format!("[{} · {}]", f.severity.name(), f.check);
        writeln!(
            w,
            "{} {}",
            p.sev(f.severity, &style.clean_line(&head, 300)),
            p.dim(&tag)
        )?;
        write!(w, "{}", wrap(&style.clean(&f.title), width, "  ", "  "))?;
        writeln!(w, "  {}", p.bold("Why"))?;
        write!(
            w,
            "{}",
            wrap(&style.clean(&f.message), width, "    ", "    ")
        )?;
        writeln!(w, "  {}", p.bold("Fix"))?;
        let (first, snippet) = split_fix(&f.fix);
        write!(w, "{}", wrap(&style.clean(first), width, "    ", "    "))?;
        if let Some(sn) = snippet {
            for line in style.clean(sn).lines() {
                writeln!(w, "      {line}")?;
            }
        }
    }
    if !r.notes.is_empty() {
        writeln!(w, "\n{}", p.bold("Not checked / assumed"))?;
        for n in &r.notes {
            write!(w, "{}", wrap(&style.clean(n), width, "  - ", "    "))?;
        }
    }
    Ok(())
}

fn md_code(s: &str) -> String {
    s.replace('`', "'").replace('\n', " ")
}

/// The markdown form: a heading, a table of the findings, then a section for each.
pub(super) fn markdown(r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "# Egress config check: {}\n", summary(r))?;
    writeln!(
        w,
        "Checked by egresslens {}: {}.\n",
        env!("CARGO_PKG_VERSION"),
        r.files
            .iter()
            .map(|(n, k, by)| format!(
                "`{}` ({}, {})",
                md_code(&style.clean(n)),
                k.name(),
                md_prose(&style.clean(by))
            ))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if !r.findings.is_empty() {
        writeln!(
            w,
            "| Severity | Where | Key | Problem |\n| --- | --- | --- | --- |"
        )?;
        for f in &r.findings {
            writeln!(
                w,
                "| {} | {} | {} | {} |",
                f.severity.name(),
                md_cell(&style.clean(&place(f))),
                md_cell(&style.clean(&f.key)),
                md_cell(&style.clean(&f.title))
            )?;
        }
        writeln!(w)?;
    }
    for f in &r.findings {
        writeln!(
            w,
            "## {}: {}\n\n*{}, key `{}`, check `{}`.*\n",
            f.severity.name(),
            md_prose(&style.clean(&f.title)),
            md_prose(&style.clean(&f.place())),
            md_code(&style.clean(&f.key)),
            f.check
        )?;
        writeln!(w, "{}\n", md_prose(&style.clean(&f.message)))?;
        let (first, snippet) = split_fix(&f.fix);
        writeln!(w, "**Fix:** {}\n", md_prose(&style.clean(first)))?;
        if let Some(sn) = snippet {
            let body = style.clean(sn);
            let fence = fence_for(&body);
            writeln!(w, "{fence}yaml\n{}\n{fence}\n", body.trim_end())?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(w, "## Not checked / assumed\n")?;
        for n in &r.notes {
            writeln!(w, "- {}", md_prose(&style.clean(n)))?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// The JSON form: [`value`], pretty-printed.
pub(super) fn json(r: &CheckReport, style: &Style, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &value(r, style)).map_err(io::Error::from)?;
    writeln!(w)
}

/// The report as JSON.
pub fn value(r: &CheckReport, style: &Style) -> serde_json::Value {
    json!({
        "schema": "egresslens.check.v1",
        "version": env!("CARGO_PKG_VERSION"),
        "files": r.files.iter().map(|(n, k, by)| json!({
            "path": style.clean(n),
            "kind": k.name(),
            "detected_by": style.clean(by),
        })).collect::<Vec<_>>(),
        "summary": {
            "errors": r.count(Severity::Error),
            "warnings": r.count(Severity::Warning),
            "infos": r.count(Severity::Info),
        },
        "findings": r.findings.iter().map(|f| json!({
            "file": style.clean(&f.file),
            "line": f.line,
            "key": style.clean(&f.key),
            "severity": f.severity,
            "check": f.check,
            "title": style.clean(&f.title),
            "message": style.clean(&f.message),
            "fix": style.clean(&f.fix),
        })).collect::<Vec<_>>(),
        "notes": r.notes.iter().map(|n| style.clean(n)).collect::<Vec<_>>(),
    })
}
