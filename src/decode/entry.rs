//! One (possibly joined) entry's text to an [`Event`]: detects its format (zap JSON, zap
//! console with tabs or spaces, pasted `"key": value`, dumps, plain text) and splits console
//! columns. It must not join lines or keep state across entries.

use super::intern::intern;
use super::keep::KeepFields;
use super::peek::Peek;
use super::zap::{decode_json, decode_zap_object, parse_object};
use super::{dump, grammar};
use crate::event::{Event, FieldValue, Fields, Format, Level, Text};

/// `str::trim`, answering at once for the usual text that starts and ends with a printable
/// ASCII character.
pub(super) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if (b'!'..0x80).contains(&a) && (b'!'..0x80).contains(&z) => s,
        _ => s.trim(),
    }
}

/// The text before the first tab, and the text after it (`None` without a tab).
pub(super) fn split_tab(s: &str) -> (&str, Option<&str>) {
    match memchr::memchr(b'\t', s.as_bytes()) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// `INFO egress_aborted ...`: a level word first, without a timestamp.
pub(super) fn level_first(t: &str) -> Option<(Level, &str)> {
    let word_end = t.find([' ', '\t'])?;
    let word = &t[..word_end];
    if !word.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let lvl = Level::parse(word)?;
    Some((lvl, t[word_end..].trim_start()))
}

/// Decodes one (possibly joined) entry. `proto` marks joined protobuf-text dump lines.
#[cfg(test)]
pub fn decode_entry(text: &str, proto: bool) -> Event {
    decode_entry_keep(text, proto, None)
}

/// [`decode_entry`], keeping only the fields `keep` wants (all when `None`).
pub fn decode_entry_keep(text: &str, proto: bool, keep: Option<&KeepFields>) -> Event {
    let mut ev = Event::default();
    let mut t = trim(text);
    if t.starts_with('`') || t.ends_with('`') {
        t = t.trim_matches('`').trim();
    }
    if proto {
        if let Some(fields) = dump::proto_text(t).filter(dump::is_egress_info) {
            return dump_event(ev, fields);
        }
    }
    if t.starts_with('{') {
        if decode_json(t, &mut ev, keep) {
            return ev;
        }
        if let Some(closed) = super::join::close_cut_json(t) {
            if decode_json(&closed, &mut ev, keep) {
                return ev;
            }
        }
        if let Some(fields) = dump::go_struct(t) {
            return dump_event(ev, fields);
        }
    } else if let Ok((rest, (ts, lvl))) = grammar::ts_level(t) {
        ev.ts = Some(ts);
        ev.level = Some(lvl);
        decode_columns(rest, &mut ev, keep);
        return ev;
    } else if let Some((lvl, rest)) = level_first(t) {
        ev.level = Some(lvl);
        decode_columns(rest, &mut ev, keep);
        return ev;
    } else if let Some(rest) = caller_first(t) {
        // `pulse/pactl.go:15  failed to list pulse info  error="..."`: a condensed console
        // line (time, level and logger left out), caller first.
        ev.caller = Some(intern(t[..t.len() - rest.len()].trim()));
        ev.format = Some(Format::Pasted);
        split_message_keep(rest.trim_start(), &mut ev, keep);
        return ev;
    } else if logfmt_line(t, &mut ev) {
        return ev;
    } else if let Some(fields) = dump::go_struct(t) {
        return dump_event(ev, fields);
    } else if dump::proto_line(t).is_some() {
        if let Some(fields) = dump::proto_text(t).filter(dump::is_egress_info) {
            return dump_event(ev, fields);
        }
    }
    // `egress_failed {"egressID": ...}` or `egress_aborted "error": "..." "code": 412`: a
    // message and its fields, without time or level.
    if !t.starts_with('{') && (t.contains(" {\"") || grammar::find_pasted_start(t).is_some()) {
        let mut probe = Event::default();
        split_message(t, &mut probe);
        if !probe.fields.is_empty() && !probe.message.is_empty() {
            probe.format = Some(Format::Pasted);
            return probe;
        }
        // Only `"key": value` pairs, as an API reply's or an entry's fields are copied out of
        // their braces (`"status": "401", "error": "permissions denied", ...`): an egress's
        // fields are an `EgressInfo`; others are an entry whose message is their error text.
        if !probe.fields.is_empty() && grammar::find_pasted_start(t) == Some(0) {
            if let Some(fields) = dump::json_object(&probe.fields) {
                return dump_event(ev, fields);
            }
            probe.format = Some(Format::Pasted);
            probe.message = ["error", "msg", "message", "err"]
                .iter()
                .find_map(|k| probe.fields.get(k).and_then(FieldValue::text))
                .map(Text::Owned)
                .unwrap_or_default();
            return probe;
        }
    }
    ev.format = Some(Format::Raw);
    ev.message = Text::Owned(t.to_string());
    if t.starts_with("panic:") || t.starts_with("fatal error:") {
        ev.level = Some(Level::Fatal);
    }
    ev
}

/// The rest of a line whose first word is a Go caller (`pkg/file.go:12`) followed by more.
fn caller_first(t: &str) -> Option<&str> {
    let end = t.find([' ', '\t'])?;
    let rest = &t[end..];
    (grammar::is_caller(&t[..end]) && !rest.trim().is_empty()).then_some(rest)
}

pub(super) fn dump_event(mut ev: Event, fields: Fields) -> Event {
    ev.format = Some(Format::Dump);
    ev.message = Text::Borrowed("EgressInfo");
    ev.fields = fields;
    ev
}

/// The entry a usual console line decodes to, built from its peek: what
/// [`decode_entry_keep`] returns for it, without parsing the line again. `None` when the peek
/// does not have the usual shape or its fields are not one JSON object.
pub(super) fn decode_peeked(p: &Peek<'_>, keep: Option<&KeepFields>) -> Option<Event> {
    if let (Some(zap), Some(keep)) = (&p.zap, keep) {
        // A zap JSON line: read on from its header (what `decode_json` does for it).
        let mut ev = Event::default();
        return decode_zap_object(p.fields, Some(zap), Some(keep), &mut ev).then_some(ev);
    }
    let (ts, logger, caller) = p.head?;
    let fields = parse_object(p.fields.trim_end(), keep)?;
    Some(Event {
        ts: Some(ts),
        level: p.level,
        logger: Some(intern(logger)),
        caller: Some(intern(caller)),
        message: intern(p.message),
        fields,
        format: Some(Format::Console),
        ..Event::default()
    })
}

/// The columns after `ts LEVEL`: logger, optional caller, message, then a JSON object or
/// pasted `"key": value` pairs.
pub(super) fn decode_columns(rest: &str, ev: &mut Event, keep: Option<&KeepFields>) {
    ev.format = Some(Format::Console);
    let rest = rest.trim_end();
    if let (c0, Some(after)) = split_tab(rest) {
        // The first two columns and the rest (which may hold more tabs), with their offsets.
        let (c1, c2) = split_tab(after);
        let n = if c2.is_some() { 3 } else { 2 };
        let cols = [c0, c1, c2.unwrap_or("")];
        let starts = [0, cols[0].len() + 1, cols[0].len() + cols[1].len() + 2];
        let mut i = 0;
        if n >= 2 && !cols[0].starts_with('{') && !cols[1].starts_with('{') || n >= 3 {
            ev.logger = Some(intern(cols[0].trim()));
            i = 1;
        }
        if i < n && i < 2 && grammar::is_caller(cols[i].trim()) {
            ev.caller = Some(intern(cols[i].trim()));
            i += 1;
        }
        let tail = if i < n { &rest[starts[i]..] } else { "" };
        split_message_keep(tail, ev, keep);
        return;
    }
    // Tabs turned into runs of spaces: use token shapes to find logger and caller.
    let mut s = rest;
    let mut tokens = s.splitn(3, char::is_whitespace);
    let first = tokens.next().unwrap_or("");
    let second = s[first.len()..].trim_start();
    let second_tok = second.split(char::is_whitespace).next().unwrap_or("");
    if grammar::is_caller(second_tok) && !first.is_empty() {
        ev.logger = Some(intern(first));
        ev.caller = Some(intern(second_tok));
        s = second[second_tok.len()..].trim_start();
    } else if grammar::is_logger(first) {
        ev.logger = Some(intern(first));
        s = second;
    } else if grammar::is_caller(first) {
        ev.caller = Some(intern(first));
        s = second;
    }
    split_message_keep(s, ev, keep);
}

/// Splits `msg {json}` or `msg "k": v ...` into message and fields.
pub(super) fn split_message(s: &str, ev: &mut Event) {
    split_message_keep(s, ev, None);
}

/// [`split_message`], keeping only the fields `keep` wants from a JSON tail.
pub(super) fn split_message_keep(s: &str, ev: &mut Event, keep: Option<&KeepFields>) {
    // A trailing JSON object: try each ` {` from the left until one parses to the end.
    let b = s.as_bytes();
    let mut from = 0;
    let mut tries = 0;
    while let Some(p) = memchr::memchr(b'{', &b[from..]) {
        let at = from + p;
        from = at + 1;
        if at > 0 && !b[at - 1].is_ascii_whitespace() {
            continue;
        }
        tries += 1;
        if tries > 4 {
            break;
        }
        let tail = s[at..].trim_end();
        if let Some(obj) = parse_object(tail, keep) {
            ev.message = intern(s[..at].trim());
            ev.fields = obj;
            return;
        }
    }
    // A trailing object cut off before its end: read up to where it stops.
    if !s.ends_with('}') {
        if let Some(at) = s.find(" {\"").or_else(|| s.find("\t{\"")).map(|p| p + 1) {
            let closed = super::join::close_cut_json(s[at..].trim_end());
            if let Some(obj) = closed.and_then(|c| parse_object(&c, keep)) {
                ev.message = intern(s[..at].trim());
                ev.fields = obj;
                return;
            }
        }
    }
    if let Some(at) = grammar::find_pasted_start(s) {
        let msg = s[..at].trim();
        let mut fields = Fields::new();
        grammar::pasted_pairs(&s[at..], &mut fields);
        if !fields.is_empty() {
            ev.format = Some(Format::Pasted);
            ev.message = intern(msg);
            ev.fields = fields;
            return;
        }
    }
    // `message key=value key="quoted"`: logfmt fields after the message.
    if let Some(at) = grammar::find_logfmt_start(s).filter(|&at| at > 0) {
        let mut fields = Fields::new();
        grammar::logfmt_pairs(&s[at..], &mut fields);
        if !fields.is_empty() {
            ev.message = intern(s[..at].trim());
            ev.fields = fields;
            return;
        }
    }
    ev.message = intern(s.trim());
}

/// A whole logfmt line (`time=... level=error msg="..." error="..."`, as logfmt loggers and
/// Go's slog text handler write): its level, time and message, the rest as fields.
fn logfmt_line(t: &str, ev: &mut Event) -> bool {
    if grammar::find_logfmt_start(t) != Some(0) {
        return false;
    }
    let mut fields = Fields::new();
    grammar::logfmt_pairs(t, &mut fields);
    let Some(msg) = fields.remove("msg").or_else(|| fields.remove("message")) else {
        return false;
    };
    ev.message = intern(&msg.text().unwrap_or_default());
    if let Some(level) = fields.remove("level").and_then(|l| l.text()) {
        ev.level = Level::parse(&level.to_ascii_uppercase());
    }
    for key in ["time", "ts", "t"] {
        if let Some(ts) = fields
            .get(key)
            .and_then(FieldValue::as_str)
            .and_then(|v| grammar::timestamp(v).ok())
        {
            ev.ts = Some(ts.1);
            fields.remove(key);
            break;
        }
    }
    ev.format = Some(Format::Pasted);
    ev.fields = fields;
    true
}
