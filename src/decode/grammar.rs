//! nom grammars for the text forms: timestamps, level words, zap console columns (tabs or
//! runs of spaces), and the pasted `"key": value` pairs. Pure functions over `&str` (the
//! timestamp reader remembers the last minute it read per thread, which changes no result).

use crate::event::{Fields, Level, Ts};
use nom::{
    branch::alt,
    bytes::complete::{take_while, take_while1, take_while_m_n},
    character::complete::{char, one_of, space0, space1},
    combinator::{map_res, opt},
    sequence::preceded,
    IResult, Parser,
};
use serde_json::Value;

fn digits<'a>(n: usize) -> impl Parser<&'a str, Output = u32, Error = nom::error::Error<&'a str>> {
    map_res(
        take_while_m_n(n, n, |c: char| c.is_ascii_digit()),
        |s: &str| s.parse::<u32>(),
    )
}

/// `2026-01-27T11:11:05.179Z`, `2026-01-27 11:11:05,179`, `2025-08-21T10:15:32.123+0200`,
/// `2026-01-27T11:11:05.179123456+02:00` ... to microseconds since the epoch (UTC).
pub fn timestamp(i: &str) -> IResult<&str, Ts> {
    if let Some(done) = timestamp_common(i) {
        return Ok(done);
    }
    timestamp_any(i)
}

/// The form almost every line has (`2026-01-27T11:11:05.179Z`, or without zone, with a space,
/// a comma or any number of fraction digits), parsed without the combinators. `None` hands the
/// line to [`timestamp_any`], which also judges every malformed one.
fn timestamp_common(i: &str) -> Option<(&str, Ts)> {
    let b = i.as_bytes();
    if b.len() < 19 || b[16] != b':' {
        return None;
    }
    let digit = |at: usize| u32::from(b[at].wrapping_sub(b'0'));
    let two = |at: usize| digit(at) * 10 + digit(at + 1);
    // Lines come minutes at a time: the minute of the line before is known already.
    let minute: [u8; 16] = b[..16].try_into().ok()?;
    let last = LAST_MINUTE.with(std::cell::Cell::get);
    let minute_secs = if let Some((_, secs)) = last.filter(|(m, _)| *m == minute) {
        secs
    } else {
        if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
            return None;
        }
        // Every digit position at once: a byte that is not a digit leaves a value above 9.
        let positions = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15];
        if positions.iter().any(|&at| digit(at) > 9) {
            return None;
        }
        let y = two(0) * 100 + two(2);
        let (mo, d, h, mi) = (two(5), two(8), two(11), two(14));
        if h > 23 || mi > 59 {
            return None;
        }
        let days = days_from_civil(i64::from(y), mo, d)?;
        let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60;
        LAST_MINUTE.with(|m| m.set(Some((minute, secs))));
        secs
    };
    if digit(17) > 9 || digit(18) > 9 {
        return None;
    }
    let s = two(17);
    let mut k = 19;
    let mut micros: i64 = 0;
    if k < b.len() && (b[k] == b'.' || b[k] == b',') {
        k += 1;
        let start = k;
        while k < b.len() && b[k].is_ascii_digit() {
            if k - start < 6 {
                micros = micros * 10 + i64::from(b[k] - b'0');
            }
            k += 1;
        }
        if k == start {
            return None;
        }
        for _ in (k - start)..6 {
            micros *= 10;
        }
    }
    match b.get(k) {
        Some(b'+' | b'-') => return None,
        Some(b'Z') => k += 1,
        _ => {}
    }
    if s > 60 {
        return None;
    }
    let secs = minute_secs + i64::from(s);
    Some((&i[k..], Ts(secs * 1_000_000 + micros)))
}

thread_local! {
    /// The first 16 bytes (`2026-01-27T11:11`) of the last time [`timestamp_common`] read, and
    /// that minute in seconds since the epoch (a cache: the result is the same without it).
    static LAST_MINUTE: std::cell::Cell<Option<([u8; 16], i64)>> =
        const { std::cell::Cell::new(None) };
}

/// [`timestamp`] with every variant: zone offsets, and the errors.
fn timestamp_any(i: &str) -> IResult<&str, Ts> {
    let (i, (y, _, mo, _, d, _, h, _, mi, _, s)) = (
        digits(4),
        char('-'),
        digits(2),
        char('-'),
        digits(2),
        one_of("T "),
        digits(2),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
    )
        .parse(i)?;
    let (i, frac) = opt(preceded(
        one_of(".,"),
        take_while1(|c: char| c.is_ascii_digit()),
    ))
    .parse(i)?;
    let (i, offset) = opt(alt((
        nom::combinator::value(0i64, char('Z')),
        map_res(
            (one_of("+-"), digits(2), opt(char(':')), digits(2)),
            |(sign, hh, _, mm)| -> Result<i64, ()> {
                let secs = i64::from(hh) * 3600 + i64::from(mm) * 60;
                Ok(if sign == '-' { -secs } else { secs })
            },
        ),
    )))
    .parse(i)?;
    let micros = frac.map_or(0, |f: &str| {
        let mut v: i64 = 0;
        for (n, c) in f.bytes().take(6).enumerate() {
            v += i64::from(c - b'0') * 10i64.pow(5 - n as u32);
        }
        v
    });
    let bad = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify));
    let days = days_from_civil(i64::from(y), mo, d).ok_or_else(bad)?;
    if h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let base = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
        - offset.unwrap_or(0);
    Ok((i, Ts(base * 1_000_000 + micros)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), `None`
/// for an impossible date.
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A level word followed by whitespace or end.
pub fn level(i: &str) -> IResult<&str, Level> {
    map_res(take_while1(|c: char| c.is_ascii_alphabetic()), |w: &str| {
        Level::parse(w).ok_or(())
    })
    .parse(i)
}

/// ASCII bytes of a Go source path in a caller (`a-z A-Z 0-9 . _ - / @`), as a table: every
/// console line's caller is checked.
static PATH_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'@');
        c += 1;
    }
    t
};

/// True for a zap short caller such as `server/server_rpc.go:66`.
pub fn is_caller(s: &str) -> bool {
    // Every console line asks: one pass over an ASCII path up to its `:` answers most.
    let b = s.as_bytes();
    let path_end = b
        .iter()
        .position(|&c| !PATH_BYTE[usize::from(c)])
        .unwrap_or(b.len());
    match b.get(path_end) {
        Some(b':') => {
            let (path, line) = (&b[..path_end], &b[path_end + 1..]);
            path.len() > 3
                && path.ends_with(b".go")
                && !line.is_empty()
                && line.iter().all(u8::is_ascii_digit)
        }
        Some(&c) if c >= 0x80 => is_caller_unicode(s),
        _ => false,
    }
}

/// [`is_caller`] for a path that may hold non-ASCII letters.
fn is_caller_unicode(s: &str) -> bool {
    // `path.go:123`: the last `:` ends `.go`, digits follow it.
    let Some(colon) = memchr::memrchr(b':', s.as_bytes()) else {
        return false;
    };
    let (path, line) = (&s[..colon], &s[colon + 1..]);
    let Some(path) = path.strip_suffix(".go") else {
        return false;
    };
    let path_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@');
    !line.is_empty()
        && line.bytes().all(|c| c.is_ascii_digit())
        && !path.is_empty()
        && match path.bytes().position(|c| !PATH_BYTE[usize::from(c)]) {
            None => true,
            Some(at) => path.as_bytes()[at] >= 0x80 && path[at..].chars().all(path_char),
        }
}

/// True for a token that names a LiveKit logger (`egress`, `livekit.api`, `egress.lksdk` ...).
pub fn is_logger(s: &str) -> bool {
    let root = s.split('.').next().unwrap_or("");
    matches!(
        root,
        "egress" | "livekit" | "lksdk" | "psrpc" | "ingress" | "sip" | "agents"
    ) && s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        && (s == root || !s.ends_with('.'))
        && !s.contains("_")
}

/// The leading part of a text line: timestamp, level and the rest, with whitespace eaten.
pub fn ts_level(i: &str) -> IResult<&str, (Ts, Level)> {
    let (i, ts) = timestamp(i)?;
    if let Some((rest, lvl)) = zap_level(i) {
        return Ok((rest, (ts, lvl)));
    }
    let (i, _) = space1(i)?;
    let (i, lvl) = level(i)?;
    let (i, _) = alt((space1, nom::combinator::eof)).parse(i)?;
    Ok((i, (ts, lvl)))
}

/// The usual `\tINFO\t` after a zap console timestamp, read without the combinators: one tab,
/// an upper-case level and one tab before a column that does not start with a blank. `None`
/// hands the text to the general grammar.
fn zap_level(i: &str) -> Option<(&str, Level)> {
    let b = i.as_bytes();
    if b.first() != Some(&b'\t') {
        return None;
    }
    let end = 1 + b[1..].iter().position(|&c| c == b'\t')?;
    let lvl = match &b[1..end] {
        b"DEBUG" => Level::Debug,
        b"INFO" => Level::Info,
        b"WARN" => Level::Warn,
        b"ERROR" | b"DPANIC" => Level::Error,
        b"FATAL" | b"PANIC" => Level::Fatal,
        _ => return None,
    };
    match b.get(end + 1) {
        Some(b' ' | b'\t') => None,
        _ => Some((&i[end + 1..], lvl)),
    }
}

/// A JSON key in the pasted form: `"key":` followed by optional spaces.
fn pasted_key(i: &str) -> IResult<&str, &str> {
    let (i, _) = char('"')(i)?;
    // A field name as loggers write them (`egressID`, `request.type`, `x-amz-id`): a quoted
    // URL or message followed by a colon (`Put "http://minio:9000/b": dial tcp ...`) is not one.
    let (i, k) = take_while1(|c: char| c.is_ascii_alphanumeric() || "_.-@".contains(c))(i)?;
    if !k.as_bytes()[0].is_ascii_alphabetic() && k.as_bytes()[0] != b'_' || k.len() > 64 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    let (i, _) = char('"')(i)?;
    let (i, _) = space0(i)?;
    let (i, _) = char(':')(i)?;
    let (i, _) = space0(i)?;
    Ok((i, k))
}

/// Position of the first `"key":` in `s` that starts a pasted pair list.
pub fn find_pasted_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(p) = memchr::memchr(b'"', &b[from..]) {
        let at = from + p;
        let boundary = at == 0 || b[at - 1].is_ascii_whitespace() || b[at - 1] == b',';
        if boundary && pasted_key(&s[at..]).is_ok() {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Parses `"k": v "k2": v2, ...` leniently: values are JSON when they parse as JSON, otherwise
/// the bare word up to the next whitespace. Stops at the first thing that is not a pair.
pub fn pasted_pairs(mut i: &str, into: &mut Fields) {
    loop {
        let (rest, _) = take_while::<_, &str, nom::error::Error<&str>>(|c: char| {
            c.is_whitespace() || c == ','
        })(i)
        .unwrap_or((i, ""));
        if rest.is_empty() {
            return;
        }
        let Ok((after_key, key)) = pasted_key(rest) else {
            return;
        };
        let (value, consumed) = json_prefix(after_key).unwrap_or_else(|| {
            let end = after_key
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(after_key.len());
            (Value::String(after_key[..end].to_string()), end)
        });
        into.insert(key.to_string(), value);
        i = &after_key[consumed..];
    }
}

/// One JSON value at the start of `s` and the bytes it used.
pub fn json_prefix(s: &str) -> Option<(Value, usize)> {
    let first = s.chars().next()?;
    if !(first == '"'
        || first == '{'
        || first == '['
        || first == '-'
        || first.is_ascii_digit()
        || s.starts_with("true")
        || s.starts_with("false")
        || s.starts_with("null"))
    {
        return None;
    }
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<Value>();
    let v = stream.next()?.ok()?;
    let used = stream.byte_offset();
    // A number glued to letters (`412abc`) is not a JSON value here.
    if s[used..]
        .chars()
        .next()
        .is_some_and(|c| !(c.is_whitespace() || c == ',' || c == '}' || c == ']'))
    {
        return None;
    }
    Some((v, used))
}

/// One logfmt pair at the start of `s` (`key=value` or `key="quoted value"`): the key, the
/// value (unquoted, escapes kept as written) and the rest after it.
fn logfmt_pair(s: &str) -> Option<(&str, &str, &str)> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let key_end = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || b"_.-".contains(c)))?;
    if b[key_end] != b'=' || key_end > 64 {
        return None;
    }
    let v = &s[key_end + 1..];
    if let Some(q) = v.strip_prefix('"') {
        let qb = q.as_bytes();
        let mut i = 0;
        while i < qb.len() {
            match qb[i] {
                b'\\' => i += 2,
                b'"' => return Some((&s[..key_end], &q[..i], &q[i + 1..])),
                _ => i += 1,
            }
        }
        return None;
    }
    let end = v.find(char::is_whitespace).unwrap_or(v.len());
    Some((&s[..key_end], &v[..end], &v[end..]))
}

/// Where a logfmt tail (`key=value key="quoted"` up to the end) starts in `s`, the way
/// logfmt loggers and condensed pastes write an entry's fields after its message.
pub fn find_logfmt_start(s: &str) -> Option<usize> {
    memchr::memchr(b'=', s.as_bytes())?;
    // One pass over the words, each read once (a line of many `a=b` words followed by prose
    // must not be parsed again from every word): a run of pairs that reaches the end is the
    // tail; a word that is not a pair ends the run so far.
    let mut run = None;
    let mut at = 0;
    while at < s.len() {
        let rest = &s[at..];
        let end = match logfmt_pair(rest) {
            Some((_, _, after)) if after.is_empty() || after.starts_with(char::is_whitespace) => {
                run.get_or_insert(at);
                s.len() - after.len()
            }
            _ => {
                run = None;
                at + rest.find(char::is_whitespace).unwrap_or(rest.len())
            }
        };
        at = s.len() - s[end..].trim_start().len();
    }
    run
}

/// The pairs of a logfmt tail found by [`find_logfmt_start`], into `fields` (quoted values
/// unescaped the JSON way when they parse so).
pub fn logfmt_pairs(mut s: &str, into: &mut Fields) {
    while let Some((k, v, rest)) = logfmt_pair(s) {
        let value =
            serde_json::from_str::<String>(&format!("\"{v}\"")).unwrap_or_else(|_| v.to_string());
        into.insert(k.to_string(), crate::event::FieldValue::Text(value.into()));
        s = rest.trim_start();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_timestamps_parse_as_the_full_grammar_does() {
        let cases = [
            "2026-01-27T11:11:05.179Z\tINFO",
            "2026-01-27T11:11:05.179123456Z rest",
            "2026-01-27 11:11:05,179 x",
            "2026-01-27T11:11:05Z",
            "2026-01-27T11:11:05",
            "2024-02-29T23:59:60.5Z",
            "1970-01-01T00:00:00.000001Z",
            "2026-02-29T11:11:05Z",
            "2026-13-01T11:11:05Z",
            "2026-01-27T24:00:00Z",
            "2026-01-27T11:11:05.Z",
            "2026-01-27T11:11:05.179+02:00",
            "2026-01-27T11:11:05-0500 x",
            "2026-01-27T11:11:0x",
            "2026-01-27X11:11:05Z",
        ];
        for c in cases {
            let fast = timestamp_common(c);
            let full = timestamp_any(c).ok();
            if let Some(f) = fast {
                assert_eq!(Some(f), full, "{c}");
            }
            assert_eq!(timestamp(c).ok(), full, "{c}");
        }
        assert!(timestamp_common("2026-01-27T11:11:05.179Z").is_some());
        assert!(timestamp_common("2026-01-27 11:11:05,179").is_some());
    }

    #[test]
    fn the_remembered_minute_changes_no_result() {
        // Each case read right after a valid time of the same minute (remembered), and alone
        // on a fresh thread (nothing remembered): the same answer, the full grammar's.
        let cases = [
            "2026-01-27T11:11:06.5Z",
            "2026-01-27T11:11:59Z",
            "2026-01-27T11:11:60Z",
            "2026-01-27T11:11:61Z",
            "2026-01-27T11:11:6xZ",
            "2026-01-27T11:11:07+02:00",
            "2026-01-27T11:11-07Z",
            "2026-01-27T11:12:00.001Z",
            "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0:00Z",
        ];
        for c in cases {
            let full = timestamp_any(c).ok();
            assert!(timestamp("2026-01-27T11:11:05.179Z").is_ok());
            assert_eq!(timestamp(c).ok(), full, "after the same minute: {c}");
            let alone = std::thread::spawn(move || timestamp(c).ok().map(|(r, t)| (r.len(), t)));
            let alone = alone.join().ok().flatten();
            assert_eq!(alone, full.map(|(r, t)| (r.len(), t)), "alone: {c}");
        }
    }

    #[test]
    fn timestamps() {
        let (_, t) = timestamp("2026-01-27T11:11:05.179Z").unwrap();
        assert_eq!(t.iso(), "2026-01-27T11:11:05.179Z");
        let (_, t2) = timestamp("2026-01-27T13:11:05.179+0200").unwrap();
        assert_eq!(t, t2);
        let (_, t3) = timestamp("2026-01-27T13:11:05.179123456+02:00").unwrap();
        assert_eq!(t3.0 - t.0, 123);
        let (_, t4) = timestamp("2026-01-27 11:11:05,179").unwrap();
        assert_eq!(t4, t);
        assert!(timestamp("2026-13-27T11:11:05Z").is_err());
        assert!(timestamp("2026-02-29T11:11:05Z").is_err());
        assert_eq!(
            timestamp("2024-02-29T00:00:00Z").map(|(_, t)| t.0),
            Ok(1_709_164_800_000_000)
        );
        assert_eq!(timestamp("1970-01-01T00:00:00Z").map(|(_, t)| t.0), Ok(0));
        assert!(timestamp("hello").is_err());
    }

    #[test]
    fn callers_and_loggers() {
        assert!(is_caller("server/server_rpc.go:66"));
        assert!(is_caller("redis/redis.go:92"));
        assert!(!is_caller("request"));
        assert!(!is_caller("x.go:"));
        assert!(!is_caller(".go:1"));
        assert!(!is_caller("a.go:12:3"));
        assert!(!is_caller("a b.go:1"));
        assert!(!is_caller("a.go:1x"));
        assert!(is_caller("pkg/ünï.go:5"));
        assert!(!is_caller("pkg/ü:x.go:5"));
        assert!(is_logger("egress"));
        assert!(is_logger("egress.psrpc.IOInfo.UpdateEgress"));
        assert!(is_logger("livekit.api"));
        assert!(!is_logger("egress_aborted"));
        assert!(!is_logger("request"));
    }

    proptest::proptest! {
        /// The one-pass ASCII check answers as the general one does.
        #[test]
        fn caller_check_agrees_with_the_general_one(s in "[a-z./_@:0-9 ü-]{0,12}(\\.go)?(:[0-9x]{0,3})?") {
            proptest::prop_assert_eq!(is_caller(&s), is_caller_unicode(&s));
        }
    }

    #[test]
    fn pasted() {
        let s = r#"egress_aborted "error": "Start signal not received" "code": 412 "details": "End reason: StopEgress API""#;
        let at = find_pasted_start(s).unwrap();
        assert_eq!(s[..at].trim(), "egress_aborted");
        let mut m = Fields::new();
        pasted_pairs(&s[at..], &mut m);
        assert_eq!(m["error"], "Start signal not received");
        assert_eq!(m["code"].to_json(), 412);
        assert_eq!(m["details"], "End reason: StopEgress API");
    }

    #[test]
    fn pasted_bare_values() {
        let mut m = Fields::new();
        pasted_pairs(r#""room": my-room, "code": 412abc "x": true"#, &mut m);
        assert_eq!(m["room"], "my-room");
        assert_eq!(m["code"], "412abc");
        assert_eq!(m["x"].to_json(), true);
    }
}
