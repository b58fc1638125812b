//! The fast path for the usual structured fields: one JSON object whose keys and string
//! values have no escapes. Its scalar values are read here; a nested object or array is only
//! delimited and handed over as written, for serde_json to read (or check) if it matters.
//! Anything else (escapes, control characters, malformed text) goes back to serde_json, so the
//! two always agree. It also unescapes a single string (an envelope's inner line, which is one
//! long escaped string), refusing what serde_json refuses. It reads syntax only: which fields
//! to keep, and what they mean, is the decoder's business.

use crate::event::FieldValue;
use serde_json::Value;

/// One scalar value, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flat<'a> {
    /// A string's contents (no escapes in it).
    Str(&'a str),
    /// A JSON number as written, in the range serde_json reads.
    Num(&'a str),
    Bool(bool),
    Null,
    /// An object or array as written (its strings without escapes; brackets balanced but not
    /// otherwise checked: serde_json judges it when it is read or checked).
    Nested(&'a str),
}

impl Flat<'_> {
    /// The owned value serde_json would build (`None` for a malformed nested value).
    pub fn to_value(self) -> Option<Value> {
        Some(match self {
            Flat::Str(s) => Value::String(s.to_string()),
            Flat::Num(n) => Value::Number(serde_json::from_str(n).ok()?),
            Flat::Bool(b) => Value::Bool(b),
            Flat::Null => Value::Null,
            Flat::Nested(t) => serde_json::from_str(t).ok()?,
        })
    }

    /// The event's field value for it: text without building a JSON string first.
    pub fn to_field(self) -> Option<FieldValue> {
        match self {
            Flat::Str(s) => Some(FieldValue::from(s)),
            other => other.to_value().map(FieldValue::Json),
        }
    }

    /// True when serde_json reads this value (it refuses malformed nested values), without
    /// building it.
    #[inline]
    pub fn is_valid(self) -> bool {
        match self {
            Flat::Nested(t) => nested_is_valid(t),
            Flat::Str(_) | Flat::Num(_) | Flat::Bool(_) | Flat::Null => true,
        }
    }
}

/// [`Flat::is_valid`] for a nested value (out of line: most values are scalars).
#[inline(never)]
fn nested_is_valid(t: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()
}

/// A JSON number (as the scan checked it) as serde_json reads it: `None` for one out of the
/// `f64` range, which serde_json refuses.
pub fn number(n: &str) -> Option<f64> {
    n.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Deepest nesting the scan delimits (serde_json refuses 128 levels; deeper text goes to it).
const MAX_NESTING: usize = 100;

/// Calls `each` with every key and value of the object `t` (optionally followed by
/// whitespace) when it is flat and escape-free; returns false, having maybe called `each` for
/// some leading keys, when it is not, so the caller must start over with serde_json.
pub fn scan<'a>(t: &'a str, each: impl FnMut(&'a str, Flat<'a>)) -> bool {
    let b = t.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return false;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return skip_ws(b, i + 1) == b.len();
    }
    members(t, i, each)
}

/// The header zap writes first on every JSON line, in its order:
/// `{"level":"…","ts":…,"logger":"…","caller":"…","msg":"…"` (strings without escapes, no
/// blanks). The time is only delimited here (the text up to the next comma): [`ZapHead::time`]
/// checks and reads it, for the lines that are decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZapHead<'a> {
    pub level: &'a str,
    /// The time as written, not yet checked to be a number.
    pub ts: &'a str,
    pub logger: &'a str,
    pub caller: &'a str,
    pub msg: &'a str,
    /// The index after the message's closing quote.
    pub end: usize,
}

impl ZapHead<'_> {
    /// The time when it is a JSON number serde_json reads: with its value in microseconds when
    /// read exactly on the way (seconds with at most six decimals, before the year 2033: the
    /// value `(ts * 1e6).round()` gives in `f64`). `None` when the line is not JSON after all.
    pub fn time(&self) -> Option<Option<i64>> {
        let b = self.ts.as_bytes();
        match seconds(b) {
            Some((end, micros)) if end == b.len() => Some(Some(micros)),
            _ => (number_end(b, 0)? == b.len()).then_some(None),
        }
    }
}

/// zap's header at the start of `t`, read by literal comparisons; `None` when the line does
/// not open exactly that way.
pub fn zap_head(t: &str) -> Option<ZapHead<'_>> {
    let b = t.as_bytes();
    let literal = |i: usize, l: &[u8]| (b.get(i..i + l.len()) == Some(l)).then_some(i + l.len());
    let i = literal(0, b"{\"level\":\"")?;
    let (level, i) = string_at(t, i)?;
    let i = literal(i, b",\"ts\":")?;
    // A number holds no comma; what it holds is checked by `time`.
    let end = i + memchr::memchr(b',', &b[i..])?;
    let ts = &t[i..end];
    let i = literal(end, b",\"logger\":\"")?;
    let (logger, i) = string_at(t, i)?;
    let i = literal(i, b",\"caller\":\"")?;
    let (caller, i) = string_at(t, i)?;
    let i = literal(i, b",\"msg\":\"")?;
    let (msg, end) = string_at(t, i)?;
    Some(ZapHead {
        level,
        ts,
        logger,
        caller,
        msg,
        end,
    })
}

/// Microseconds below which `(s * 1e6).round()` in `f64` is exact for a decimal `s` with at
/// most six decimals (its two roundings stay under half a microsecond; the year 2033).
const EXACT_MICROS: i64 = 2_000_000_000_000_000;

/// zap's usual time, `seconds.fraction` (no sign, no exponent, at most six decimals) at the
/// start of `b`, read in one pass: its end and its value in microseconds. `None` for any other number, which
/// [`number_end`] then reads.
#[inline]
fn seconds(b: &[u8]) -> Option<(usize, i64)> {
    let mut i = 0;
    let mut whole: i64 = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() || i >= 12 {
            break;
        }
        whole = whole * 10 + i64::from(c - b'0');
        i += 1;
    }
    // One digit at least, and no leading zero (JSON allows `0` alone, left to number_end).
    if i == 0 || b[0] == b'0' {
        return None;
    }
    let mut micros = whole * 1_000_000;
    if b.get(i) == Some(&b'.') {
        let from = i + 1;
        let mut scale = 100_000;
        i = from;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            if scale == 0 {
                return None;
            }
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) || micros >= EXACT_MICROS {
        return None;
    }
    Some((i, micros))
}

/// [`scan`] for a zap JSON line whose header `head` was read by [`zap_head`]: calls `each`
/// only for the keys after it, and returns whether the rest of the object was read as
/// [`scan`] would have. `None`, having called nothing, when the header is not followed
/// directly by `,` or `}` (the caller then scans the line whole).
pub fn scan_after_head<'a>(
    t: &'a str,
    head: &ZapHead<'a>,
    each: impl FnMut(&'a str, Flat<'a>),
) -> Option<bool> {
    let b = t.as_bytes();
    match b.get(head.end) {
        Some(b'}') => Some(skip_ws(b, head.end + 1) == b.len()),
        Some(b',') => Some(members(t, skip_ws(b, head.end + 1), each)),
        _ => None,
    }
}

/// The members of an object from `i` (at the first key) to its closing brace and the end of
/// `t`, as [`scan`] reads them.
fn members<'a>(t: &'a str, mut i: usize, mut each: impl FnMut(&'a str, Flat<'a>)) -> bool {
    let b = t.as_bytes();
    loop {
        // "key"
        if b.get(i) != Some(&b'"') {
            return false;
        }
        let Some((key, after)) = string_at(t, i + 1) else {
            return false;
        };
        i = skip_ws(b, after);
        if b.get(i) != Some(&b':') {
            return false;
        }
        i = skip_ws(b, i + 1);
        let (value, after) = match b.get(i) {
            Some(b'"') => match string_at(t, i + 1) {
                Some((s, after)) => (Flat::Str(s), after),
                None => return false,
            },
            Some(b't') if b[i..].starts_with(b"true") => (Flat::Bool(true), i + 4),
            Some(b'f') if b[i..].starts_with(b"false") => (Flat::Bool(false), i + 5),
            Some(b'n') if b[i..].starts_with(b"null") => (Flat::Null, i + 4),
            Some(b'-' | b'0'..=b'9') => match number_end(b, i) {
                Some(end) => (Flat::Num(&t[i..end]), end),
                None => return false,
            },
            Some(b'{' | b'[') => match nested_end(b, i) {
                Some(end) => (Flat::Nested(&t[i..end]), end),
                None => return false,
            },
            _ => return false,
        };
        each(key, value);
        i = skip_ws(b, after);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return skip_ws(b, i + 1) == b.len(),
            _ => return false,
        }
    }
}

/// JSON whitespace (usually none: a byte above the blank answers at once).
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    if b.get(i).is_some_and(|&c| c > b' ') {
        return i;
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The string starting after its opening quote at `from`, and the index after its closing
/// quote; `None` for escapes, control characters or no closing quote.
#[inline(always)]
fn string_at(t: &str, from: usize) -> Option<(&str, usize)> {
    let b = t.as_bytes();
    let end = from + special(&b[from..])?;
    (b[end] == b'"').then(|| (&t[from..end], end + 1))
}

/// The position of the first `"`, `\` or control character in `b`: sixteen bytes at a time
/// (SSE2 where the CPU has it, every x86_64 one), the rest eight at a time.
#[inline(always)]
fn special(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(block) = b.get(i..i + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) {
        if let Some(at) = special_in_block(block) {
            return Some(i + at);
        }
        i += 16;
    }
    special_swar(b, i)
}

/// [`special`] within a block of sixteen bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn special16(block: &[u8; 16]) -> Option<usize> {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, max_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let v = load_unaligned_m128i(block);
    // A byte is at most 0x1f exactly when its maximum with 0x1f is 0x1f.
    let low = set_splat_i8_m128i(0x1f);
    let hits = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8))
        | cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8))
        | cmp_eq_mask_i8_m128i(max_u8_m128i(v, low), low);
    let mask = move_mask_i8_m128i(hits);
    (mask != 0).then(|| mask.trailing_zeros() as usize)
}

/// [`special`] from `i` on, eight bytes at a time.
#[inline(always)]
fn special_swar(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A byte equal to zero after the xor (or below 0x20) sets its high bit; the lowest
        // flagged byte is always a true one (borrows only flag bytes above it).
        let q = w ^ (LO * u64::from(b'"'));
        let bs = w ^ (LO * u64::from(b'\\'));
        let hits =
            (q.wrapping_sub(LO) & !q | bs.wrapping_sub(LO) & !bs | w.wrapping_sub(LO * 0x20) & !w)
                & HI;
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// The JSON string whose text starts after its opening quote at the start of `t`, unescaped,
/// and the rest of `t` after its closing quote: what serde_json reads from the string (for the
/// one long escaped string of an envelope, whose inner line carries an escape every few bytes).
/// `None` for a control character, an unknown escape, a lone surrogate or no closing quote,
/// as serde_json refuses those too.
pub fn unescape(t: &str) -> Option<(String, &str)> {
    let b = t.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 16);
    let mut from = 0;
    let end = loop {
        // The stretch up to the next special byte. In an escaped JSON line that is a few bytes
        // away: a whole block of sixteen is copied (a fixed-size copy) and the part after the
        // special byte dropped, rather than a copy call per stretch.
        let at = match b
            .get(from..from + 16)
            .and_then(|c| <&[u8; 16]>::try_from(c).ok())
        {
            Some(block) => {
                out.extend_from_slice(block);
                match special_in_block(block) {
                    Some(k) => {
                        out.truncate(out.len() - (16 - k));
                        from + k
                    }
                    None => {
                        from += 16;
                        continue;
                    }
                }
            }
            None => {
                let at = from + special(&b[from..])?;
                out.extend_from_slice(&b[from..at]);
                at
            }
        };
        match b[at] {
            b'"' => break at,
            b'\\' => {}
            _ => return None,
        }
        let simple = match *b.get(at + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            _ => return None,
        };
        if simple != 0 {
            out.push(simple);
            from = at + 2;
            continue;
        }
        let unit = hex4(b, at + 2)?;
        let (code, next) = match unit {
            0xd800..=0xdbff => {
                // A high surrogate: a low one must follow as `\uXXXX`.
                if b.get(at + 6..at + 8) != Some(b"\\u") {
                    return None;
                }
                let low = hex4(b, at + 8)?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return None;
                }
                (0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00), at + 12)
            }
            0xdc00..=0xdfff => return None,
            _ => (unit, at + 6),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(char::from_u32(code)?.encode_utf8(&mut buf).as_bytes());
        from = next;
    };
    // Whole characters of `t` and whole encoded ones: valid, as the check confirms.
    let s = String::from_utf8(out).ok()?;
    Some((s, &t[end + 1..]))
}

/// [`special`] within one block of sixteen bytes.
#[inline(always)]
fn special_in_block(block: &[u8; 16]) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        special16(block)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    special_swar(block, 0)
}

/// Four hex digits at `i`, as a UTF-16 code unit.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    digits
        .iter()
        .try_fold(0u32, |n, &c| Some(n * 16 + char::from(c).to_digit(16)?))
}

/// The end of the object or array starting at `i`: where its brackets balance, strings
/// skipped whole. `None` for escapes or control characters in a string, nesting deeper than
/// [`MAX_NESTING`], or no end.
fn nested_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return None;
                }
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1 + special(&b[i + 1..])?;
                if b[i] != b'"' {
                    return None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The end of a JSON number starting at `i` (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`);
/// `None` also for one out of the range serde_json reads.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let start = i;
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits(b, i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    let mut exponent = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        exponent = true;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    // Without an exponent, fewer than 300 digits stay far below `f64::MAX`; anything else is
    // checked against the range serde_json accepts.
    if exponent || i - start >= 300 {
        std::str::from_utf8(&b[start..i]).ok().and_then(number)?;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(t: &str) -> Option<Vec<(String, Flat<'_>)>> {
        let mut out = Vec::new();
        scan(t, |k, v| out.push((k.to_string(), v))).then_some(out)
    }

    #[test]
    fn flat_objects_are_read() {
        let got = pairs(r#"{"a": "x y", "b":-1.5e3, "c" : true,"d":null, "e": 0, "f": "é"}  "#);
        assert_eq!(
            got,
            Some(vec![
                ("a".into(), Flat::Str("x y")),
                ("b".into(), Flat::Num("-1.5e3")),
                ("c".into(), Flat::Bool(true)),
                ("d".into(), Flat::Null),
                ("e".into(), Flat::Num("0")),
                ("f".into(), Flat::Str("é")),
            ])
        );
        assert_eq!(pairs("{}"), Some(vec![]));
        assert_eq!(pairs(" { } "), Some(vec![]));
    }

    #[test]
    fn everything_else_goes_back_to_serde() {
        for t in [
            r#"{"a": {"b": "x\"y"}}"#,
            r#"{"a": [1, {"b": 2}"#,
            r#"{"a": "x\"y"}"#,
            r#"{"a\n": 1}"#,
            "{\"a\": \"x\ty\"}",
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": -}"#,
            r#"{"a": 1e}"#,
            r#"{"a": 1e400}"#,
            r#"{"a": -2E+309}"#,
            r#"{"a": tru}"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1} x"#,
            r#"{"a" 1}"#,
            r#"{"a": 1"#,
            r#"{"a": "x"#,
            r#"{a: 1}"#,
            "",
            "[1]",
        ] {
            assert_eq!(pairs(t), None, "{t}");
        }
    }

    /// The header and the rest of a zap line, as the decoder reads them.
    fn scan_zap<'a>(
        t: &'a str,
        each: impl FnMut(&'a str, Flat<'a>),
    ) -> Option<(ZapHead<'a>, bool)> {
        let head = zap_head(t).filter(|h| h.time().is_some())?;
        Some((head, scan_after_head(t, &head, each)?))
    }

    #[test]
    fn zap_headers_are_read_in_one_go() {
        let line = r#"{"level":"info","ts":1795593600.5,"logger":"egress","caller":"a/b.go:1","msg":"hi there","n":1,"msg":"again"}"#;
        let mut rest = Vec::new();
        let got = scan_zap(line, |k, v| rest.push((k, v)));
        let head = ZapHead {
            level: "info",
            ts: "1795593600.5",
            logger: "egress",
            caller: "a/b.go:1",
            msg: "hi there",
            end: 88,
        };
        assert_eq!(got, Some((head, true)));
        assert_eq!(head.time(), Some(Some(1_795_593_600_500_000)));
        assert_eq!(
            rest,
            vec![("n", Flat::Num("1")), ("msg", Flat::Str("again"))]
        );
        // The whole scan sees the same pairs, header first.
        let mut all = Vec::new();
        assert!(scan(line, |k, v| all.push((k, v))));
        assert_eq!(all.len(), 7);
        assert_eq!(&all[5..], &rest[..]);
        // Only the header: the object may end right after it.
        let short = r#"{"level":"info","ts":1,"logger":"l","caller":"c","msg":"m"}"#;
        assert!(matches!(scan_zap(short, |_, _| {}), Some((_, true))));
        // Any other opening, or a bad rest, is left to the whole scan or refused.
        for other in [
            r#"{"level":"info","ts":"2026-01-27T11:00:00Z","logger":"l","caller":"c","msg":"m"}"#,
            r#"{"level":"info", "ts":1,"logger":"l","caller":"c","msg":"m"}"#,
            r#"{"level":"info","ts":1,"caller":"c","msg":"m"}"#,
            r#"{"level":"info","ts":1,"logger":"l","caller":"c","msg":"m\"x"}"#,
            r#"{"level":"info","ts":1e999,"logger":"l","caller":"c","msg":"m"}"#,
            r#"{"level":"info","ts":1,"logger":"l","caller":"c","msg":"m" }"#,
        ] {
            assert_eq!(scan_zap(other, |_, _| {}), None, "{other}");
        }
        let bad_rest = r#"{"level":"info","ts":1,"logger":"l","caller":"c","msg":"m","x":}"#;
        assert!(matches!(scan_zap(bad_rest, |_, _| {}), Some((_, false))));
        assert!(!scan(bad_rest, |_, _| {}));
    }

    #[test]
    fn zap_seconds_read_exactly_as_f64_rounds_them() {
        let f64_micros = |n: &str| number(n).map(|f| (f * 1_000_000.0).round() as i64);
        let mut cases: Vec<String> = [
            "1795593600.007774",
            "1795593600.5",
            "1795593600",
            "1764000104.2",
            "1",
            "9.999999",
            "1999999999.999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // A spread of times with six, five, ... one decimals.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = 1_000_000_000 + x % 999_999_999;
            let frac = (x >> 32) % 1_000_000;
            let places = 1 + (x >> 60) as usize % 6;
            let digits = format!("{frac:06}");
            cases.push(format!("{secs}.{}", &digits[..places]));
        }
        for n in &cases {
            let line = format!("{n},");
            let (end, micros) = seconds(line.as_bytes()).expect(n);
            assert_eq!(end, n.len(), "{n}");
            assert_eq!(Some(micros), f64_micros(n), "{n}");
            assert_eq!(number_end(line.as_bytes(), 0), Some(end), "{n}");
        }
        // Everything else is left to number_end (and read the f64 way).
        for n in [
            "0.5",
            "-1.5",
            "1.",
            "1e3",
            "1.5E3",
            "1.1234567",
            "2000000000.0",
            "1234567890123",
            "01",
            ".5",
            "123456789012.1",
        ] {
            let line = format!("{n},");
            assert_eq!(seconds(line.as_bytes()), None, "{n}");
        }
    }

    #[test]
    fn nested_values_are_delimited_as_written() {
        let got = pairs(r#"{"a": {"b": [1, "}]"], "c": {}}, "d": [], "e": 1}"#);
        assert_eq!(
            got,
            Some(vec![
                ("a".into(), Flat::Nested(r#"{"b": [1, "}]"], "c": {}}"#)),
                ("d".into(), Flat::Nested("[]")),
                ("e".into(), Flat::Num("1")),
            ])
        );
        // Delimited, not judged: serde_json refuses the mismatched brackets when asked.
        let got = pairs(r#"{"a": {"b": 1]}"#).unwrap_or_default();
        assert_eq!(got, vec![("a".into(), Flat::Nested(r#"{"b": 1]"#))]);
        assert!(!got[0].1.is_valid());
        assert!(Flat::Nested(r#"{"b": [1]}"#).is_valid());
        let deep = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert_eq!(pairs(&deep), None);
    }

    #[test]
    fn special_bytes_are_found_block_by_block() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..text.len() {
            for c in [b'"', b'\\', b'\n', 0x1f, 0] {
                let mut b = text.as_bytes().to_vec();
                b[at] = c;
                // A later special byte does not hide the first one.
                if at + 1 < b.len() {
                    b[at + 1] = b'"';
                }
                assert_eq!(special(&b), Some(at), "{at} {c}");
            }
        }
        assert_eq!(special(text.as_bytes()), None);
        assert_eq!(special("é ü \u{7f} \u{80}".as_bytes()), None);
        assert_eq!(special(b""), None);
        // Every byte value at every place of the sixteen-byte blocks, the words and the tail.
        let plain = [b'a'; 41];
        for at in 0..plain.len() {
            for c in 0..=255u8 {
                let mut b = plain;
                b[at] = c;
                let is_special = c == b'"' || c == b'\\' || c < 0x20;
                assert_eq!(special(&b), is_special.then_some(at), "{at} {c:#x}");
                assert_eq!(special(&b[at..]), is_special.then_some(0), "{at} {c:#x}");
            }
        }
    }

    #[test]
    fn values_equal_serdes() {
        let t = r#"{"s": "x", "i": 42, "n": -7, "f": 1764064931.881, "e": 2E-3, "big": 123456789012345678901234567890, "b": false, "z": null}"#;
        let serde: serde_json::Map<String, Value> = serde_json::from_str(t).unwrap_or_default();
        let mut ours = serde_json::Map::new();
        assert!(scan(t, |k, v| {
            if let Some(v) = v.to_value() {
                ours.insert(k.to_string(), v);
            }
        }));
        assert_eq!(ours, serde);
    }

    #[test]
    fn strings_are_unescaped_as_serde_reads_them() {
        let cases = [
            r#"plain""#,
            r#"a\"b\\c\/d\b\f\n\r\t" rest"#,
            r#"\u003c\u0026\u00e9\u20ac""#,
            r#"\ud83d\ude00 pair""#,
            r#"""#,
            r#"\ud83d lone high""#,
            r#"\ude00 lone low""#,
            r#"\ud83d\u0041 high then not low""#,
            r#"\x bad escape""#,
            r#"\u12 short""#,
            r#"\u12g4 not hex""#,
            "raw\ttab\"",
            r#"no closing quote"#,
            r#"ends in escape\"#,
        ];
        for t in cases {
            let ours = unescape(t);
            let quoted = format!("\"{t}");
            let mut de = serde_json::Deserializer::from_str(&quoted);
            let serde = <String as serde::Deserialize>::deserialize(&mut de).ok();
            assert_eq!(ours.as_ref().map(|(s, _)| s), serde.as_ref(), "{t}");
        }
        assert_eq!(unescape(r#"a\"b" rest"#).map(|(_, r)| r), Some(" rest"));
    }

    proptest::proptest! {
        /// Any text, as serde_json writes it, reads back whole.
        #[test]
        fn written_strings_read_back(s in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}])*") {
            let written = serde_json::to_string(&s).unwrap_or_default();
            proptest::prop_assert_eq!(unescape(&written[1..]), Some((s, "")));
        }

        /// Any mix of text and escapes (valid or not) reads as serde_json reads it, or is
        /// refused when serde_json refuses it.
        #[test]
        fn escapes_agree_with_serde(t in r#"([a-z"/ ]|\\([\\"/bfnrtxu]|u[0-9a-fA-F]{0,4}|u[dD][89abAB][0-9a-f]{2}(\\u[dD][c-fC-F][0-9a-f]{2})?|u[dD][c-f][0-9a-f]{2}))*"?"#) {
            let quoted = format!("\"{t}");
            let mut de = serde_json::Deserializer::from_str(&quoted);
            let serde = <String as serde::Deserialize>::deserialize(&mut de).ok();
            proptest::prop_assert_eq!(unescape(&t).map(|(s, _)| s), serde);
        }

        /// Whenever the scan reads an object and every value it hands over reads, serde_json
        /// reads the same object; when one of them does not, serde_json refuses the object.
        #[test]
        fn scan_agrees_with_serde(t in r#"\{( ?"[a-z\\"]{0,3}" ?: ?("[a-z \\"]{0,4}"|-?[0-9]{1,3}(\.[0-9])?|true|null|\{\}|\[[1,"\[\]{} ]{0,5}\]|\{ ?"[a-z]" ?: ?[0-9\[\]{}]{1,3}\}) ?,?)*\}"#) {
            let mut ours = serde_json::Map::new();
            let mut ok = true;
            if scan(&t, |k, v| {
                assert_eq!(v.is_valid(), v.to_value().is_some(), "{v:?}");
                match v.to_value() {
                    Some(v) => { ours.insert(k.to_string(), v); }
                    None => ok = false,
                }
            }) {
                let serde: Result<serde_json::Map<String, Value>, _> = serde_json::from_str(&t);
                if ok {
                    proptest::prop_assert_eq!(Some(ours), serde.ok());
                } else {
                    proptest::prop_assert!(serde.is_err());
                }
            }
        }
    }
}
