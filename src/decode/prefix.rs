//! Strips what log collectors put in front of a line: `docker compose` (`egress-1  | `),
//! `kubectl logs --prefix` (`[pod/egress-0/egress] `) and `docker logs -t` timestamps. Returns
//! the inner line untouched otherwise. CRI records (`<ts> stderr F `) are envelopes, unwrapped
//! (and their partial chunks joined) by `envelope` before this runs.

use super::grammar;
use crate::event::Ts;

/// What was in front of the line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Service, pod or container named by the prefix.
    pub container: Option<&'a str>,
    /// Timestamp added by `docker logs -t` or CRI, when the line itself may lack one.
    pub ts: Option<Ts>,
}

/// Splits `line` into its collector prefix and the log line proper.
pub fn strip(mut line: &str) -> (Prefix<'_>, &str) {
    let mut p = Prefix::default();
    // A collector's prefix may wrap another's (`kubectl logs --prefix` of a pod whose log is
    // `docker compose` output, a compose service shipping a pasted compose log): both are
    // stripped, and the inner name, the service that wrote the line, is its container.
    for _ in 0..2 {
        let named = if starts_with_time(line.as_bytes()) {
            None
        } else {
            compose(line).or_else(|| kubectl(line))
        };
        let Some((name, rest)) = named else {
            break;
        };
        p.container = Some(name);
        line = rest;
    }
    if let Some((ts, rest)) = collector_ts(line) {
        p.ts = Some(ts);
        line = rest;
    }
    (p, line)
}

/// True when `b` starts with `YYYY-MM-DDTHH:` or `YYYY-MM-DD HH:`: such a line has no compose
/// or kubectl prefix (a service name would stop at the space or the `:`, with no `|` there).
fn starts_with_time(b: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() > 13
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
}

/// `name  | rest`: a docker compose service prefix.
fn compose(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    let first = *b.first()?;
    if !first.is_ascii_alphanumeric() {
        return None;
    }
    let name_end = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.'))?;
    let mut i = name_end;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    if i == name_end || i >= b.len() || b[i] != b'|' {
        return None;
    }
    i += 1;
    if i < b.len() {
        if b[i] != b' ' && b[i] != b'\t' {
            return None;
        }
        i += 1;
    }
    Some((&line[..name_end], &line[i..]))
}

/// `[pod/name/container] rest`: a kubectl `--prefix` header.
fn kubectl(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("[pod/")?;
    let close = rest.find("] ")?;
    let inner = &rest[..close];
    if inner.contains(' ') {
        return None;
    }
    Some((&line[1..close + 5], &rest[close + 2..]))
}

/// A collector timestamp in front of a line that has its own structure after it: a docker
/// `-t` prefix (followed by another timestamp, a JSON object or plain text). A timestamp followed by a level word belongs to the line itself.
fn collector_ts(line: &str) -> Option<(Ts, &str)> {
    // Cheap rejects first: no date at the start, or a zap console line (its own timestamp
    // followed by a tab).
    let b = line.as_bytes();
    if b.len() < 20 || !b[0].is_ascii_digit() || b[4] != b'-' {
        return None;
    }
    if let Some(sep) = b[19..b.len().min(40)]
        .iter()
        .position(|c| *c == b' ' || *c == b'\t')
    {
        if b[19 + sep] == b'\t' {
            return None;
        }
    }
    let (rest, ts) = grammar::timestamp(line).ok()?;
    let rest = rest.strip_prefix(' ')?;
    let rest_trim = rest.trim_start();
    if grammar::ts_level(rest_trim).is_ok() || rest_trim.starts_with('{') {
        return Some((ts, rest_trim));
    }
    if grammar::level(rest_trim)
        .ok()
        .is_some_and(|(after, _)| after.starts_with([' ', '\t']) || after.is_empty())
    {
        // The line's own timestamp followed by its level: not a prefix.
        return None;
    }
    // Plain text after a docker timestamp (startup errors, shell traces).
    if rest_trim.is_empty() {
        return None;
    }
    Some((ts, rest_trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_prefix() {
        let (p, rest) = strip("livekit-egress-test-livekit-1  | 2023-06-15T08:03:23.216Z ERROR x");
        assert_eq!(p.container, Some("livekit-egress-test-livekit-1"));
        assert!(rest.starts_with("2023-06-15"));
        let (p, rest) = strip("egress-1  |        /workspace/pkg/x.go:1");
        assert_eq!(p.container, Some("egress-1"));
        assert_eq!(rest, "       /workspace/pkg/x.go:1");
        assert_eq!(strip("a|b").0.container, None);
    }

    #[test]
    fn dated_lines_have_no_service_prefix() {
        assert!(starts_with_time(b"2026-01-27T11:11:05.179Z\tINFO"));
        assert!(starts_with_time(b"2026-01-27 11:11:05 x"));
        assert!(!starts_with_time(b"1234- | 2026-01-27T11:11:05Z"));
        assert_eq!(strip("1234- | x").0.container, Some("1234-"));
        assert_eq!(
            strip("2026-01-27T11:11:05.179Z\tINFO\tegress").0,
            Prefix::default()
        );
    }

    #[test]
    fn kubectl_prefix() {
        let (p, rest) = strip("[pod/egress-0/egress] missing config");
        assert_eq!(p.container, Some("pod/egress-0/egress"));
        assert_eq!(rest, "missing config");
    }

    #[test]
    fn nested_prefixes_are_both_stripped() {
        let (p, rest) =
            strip("[pod/egress-0/egress] livekit-1  | 2023-06-15T08:03:23.216Z ERROR x");
        assert_eq!(p.container, Some("livekit-1"));
        assert!(rest.starts_with("2023-06-15"));
        let (p, rest) = strip("egress-1  | egress-1  | missing config");
        assert_eq!(p.container, Some("egress-1"));
        assert_eq!(rest, "missing config");
    }

    #[test]
    fn docker_timestamps() {
        let (p, rest) =
            strip("2026-01-27T11:11:05.179123456Z 2026-01-27T11:11:05.179Z\tINFO\tegress\tx");
        assert!(p.ts.is_some());
        assert!(rest.starts_with("2026-01-27T11:11:05.179Z\tINFO"));
        let (p, rest) = strip("2026-01-27T11:11:05.179123456Z missing config");
        assert!(p.ts.is_some());
        assert_eq!(rest, "missing config");
        let (p, rest) = strip("2026-01-27T11:11:05.179Z INFO egress request validated");
        assert!(p.ts.is_none());
        assert!(rest.starts_with("2026"));
    }
}
