//! Unwraps the records that container runtimes and log stores put around a log line: Docker's
//! json-file driver (`{"log":…,"stream":…,"time":…}`), CRI / containerd files
//! (`<ts> stderr F <line>`, `P` for a partial chunk), `journalctl -o json` exports, Loki /
//! logcli JSON lines and Elasticsearch / OpenSearch hits. It returns the inner line with the
//! envelope's timestamp, container and whether the record is a partial chunk; it must not
//! decode the inner line, join chunks (the decoder does) or reject a zap JSON / `EgressInfo`
//! line, which it leaves alone.

use super::grammar;
use crate::event::Ts;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Which envelope a line came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Docker's json-file driver.
    DockerJson,
    /// CRI / containerd (`/var/log/pods/...`).
    Cri,
    /// `journalctl -o json` (docker's journald driver).
    Journald,
    /// Loki / logcli JSON lines.
    Loki,
    /// Elasticsearch / OpenSearch hits, or a shipper's JSON (fluent-bit, vector) with a
    /// `kubernetes` object.
    Elastic,
}

/// The line inside an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    pub kind: Kind,
    /// The inner line, without the trailing newline of a complete record.
    pub line: Cow<'a, str>,
    /// The envelope's timestamp (used when the inner line has none).
    pub ts: Option<Ts>,
    /// Pod and/or container the line came from.
    pub container: Option<String>,
    /// The record is a chunk of a longer line: the next record of the same stream continues it.
    pub partial: bool,
    /// Stream or container key that chunks of one line share.
    pub stream: Option<String>,
}

/// Unwraps `line` when it is one of the known envelopes; `None` for everything else (console
/// and zap JSON lines are turned down from their first bytes).
pub fn unwrap(line: &str) -> Option<Unwrapped<'_>> {
    let b = line.as_bytes();
    match b.first()? {
        b'{' => json(line),
        c if c.is_ascii_digit() => cri(line),
        _ => None,
    }
}

/// What a reader needs to know about a record to find where a source may be cut: its
/// envelope, its stream and whether it is a partial chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: Kind,
    pub stream: &'a [u8],
    pub partial: bool,
}

/// A Docker json-file or CRI record's [`Record`], read from a few bytes without decoding the
/// line (for every line of an enveloped source). `None` for anything else, including records
/// in a shape Docker does not write. When it is `Some`, [`unwrap`] gives the same stream and
/// partial flag or refuses the line, except for a log ending in a `\u000a` escape (Docker
/// writes `\n`), read as partial here: the side a reader deciding where to cut can afford.
pub fn record(line: &[u8]) -> Option<Record<'_>> {
    if let Some(rest) = line.strip_prefix(b"{\"log\":\"") {
        // A quote inside the log string is escaped, so the first `","stream":"` ends it.
        let end = memchr::memmem::find(rest, b"\",\"stream\":\"")?;
        let log = &rest[..end];
        // A complete record's log ends with an escaped newline (an odd run of backslashes
        // before the `n`).
        let complete = log
            .strip_suffix(b"n")
            .is_some_and(|l| l.iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1);
        let after = &rest[end + 12..];
        let stream = &after[..memchr::memchr(b'"', after)?];
        return Some(Record {
            kind: Kind::DockerJson,
            stream,
            partial: !complete,
        });
    }
    if !line.first()?.is_ascii_digit() {
        return None;
    }
    let (_, stream, partial, _) = cri_head(line)?;
    Some(Record {
        kind: Kind::Cri,
        stream: stream.as_bytes(),
        partial,
    })
}

/// The head of a CRI record, `2026-01-27T11:11:05.179Z stderr F `: where its timestamp ends,
/// its stream, whether it is a partial chunk, and where its line starts. The timestamp is only
/// delimited here.
fn cri_head(b: &[u8]) -> Option<(usize, &'static str, bool, usize)> {
    if b.len() < 29 || b[4] != b'-' {
        return None;
    }
    // The timestamp ends at the first space; a zap console line has a tab there instead.
    let sp = memchr::memchr2(b' ', b'\t', &b[..b.len().min(48)])?;
    if b[sp] != b' ' {
        return None;
    }
    let rest = &b[sp + 1..];
    let stream = if rest.starts_with(b"stderr ") {
        "stderr"
    } else if rest.starts_with(b"stdout ") {
        "stdout"
    } else {
        return None;
    };
    let partial = match rest.get(7) {
        Some(b'F') => false,
        Some(b'P') => true,
        _ => return None,
    };
    let inner = match rest.get(8) {
        None => b.len(),
        Some(b' ') => sp + 10,
        Some(_) => return None,
    };
    Some((sp, stream, partial, inner))
}

/// `2026-01-27T11:11:05.179Z stderr F <line>`.
fn cri(line: &str) -> Option<Unwrapped<'_>> {
    let (sp, stream, partial, inner) = cri_head(line.as_bytes())?;
    let (after, ts) = grammar::timestamp(&line[..sp]).ok()?;
    if !after.is_empty() {
        return None;
    }
    Some(Unwrapped {
        kind: Kind::Cri,
        line: Cow::Borrowed(&line[inner..]),
        ts: Some(ts),
        container: None,
        partial,
        stream: Some(stream.to_string()),
    })
}

/// Cheap test of whether a JSON line may be an envelope: zap lines start with `{"level"`, and
/// envelopes carry keys no zap or `EgressInfo` line has at the top.
fn may_be_envelope(line: &str) -> bool {
    if line.starts_with("{\"level\"") || line.starts_with("{\"egressId\"") {
        return false;
    }
    let b = line.as_bytes();
    let has = |k: &[u8]| memchr::memmem::find(b, k).is_some();
    line.starts_with("{\"log\":")
        || has(b"\"MESSAGE\"")
        || has(b"\"_source\"")
        || has(b"\"line\"")
        || (has(b"\"kubernetes\"") && (has(b"\"log\"") || has(b"\"message\"")))
        || (has(b"\"log\"") && (has(b"\"stream\"") || has(b"\"time\"")))
}

fn json(line: &str) -> Option<Unwrapped<'static>> {
    if !may_be_envelope(line) {
        return None;
    }
    docker_record(line).or_else(|| json_general(line))
}

/// [`json`] for any envelope, through a general parse of the object.
fn json_general(line: &str) -> Option<Unwrapped<'static>> {
    let mut stream = serde_json::Deserializer::from_str(line).into_iter::<Value>();
    let Some(Ok(Value::Object(obj))) = stream.next() else {
        return None;
    };
    // A zap line or an `EgressInfo` with one of the keys by chance: not an envelope.
    if obj.contains_key("level") || obj.contains_key("msg") || obj.contains_key("egressId") {
        return None;
    }
    journald(&obj)
        .or_else(|| elastic(&obj))
        .or_else(|| loki(&obj))
        .or_else(|| docker(&obj))
}

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// A string timestamp (RFC 3339), or a number / digit string in s, ms, µs or ns.
fn any_ts(v: &Value) -> Option<Ts> {
    match v {
        Value::String(s) => str_ts(s),
        Value::Number(n) => n
            .as_i64()
            .and_then(epoch)
            .or_else(|| n.as_f64().map(|f| Ts((f * 1_000_000.0) as i64))),
        _ => None,
    }
}

/// [`any_ts`] of a string.
fn str_ts(s: &str) -> Option<Ts> {
    grammar::timestamp(s)
        .ok()
        .map(|(_, t)| t)
        .or_else(|| s.parse::<i64>().ok().and_then(epoch))
}

/// An integer since the epoch, its unit told by its size.
fn epoch(n: i64) -> Option<Ts> {
    if n <= 0 {
        return None;
    }
    Some(Ts(if n >= 1_000_000_000_000_000_000 / 10 {
        n / 1000 // ns
    } else if n >= 100_000_000_000_000 {
        n // µs
    } else if n >= 100_000_000_000 {
        n * 1000 // ms
    } else {
        n * 1_000_000 // s
    }))
}

/// Strips the one newline a complete record ends with.
fn chomp(s: &str) -> (&str, bool) {
    match s.strip_suffix('\n') {
        Some(r) => (r.strip_suffix('\r').unwrap_or(r), true),
        None => (s, false),
    }
}

fn join_names(pod: Option<&str>, container: Option<&str>) -> Option<String> {
    match (pod, container) {
        (Some(p), Some(c)) => Some(format!("pod/{p}/{c}")),
        (Some(p), None) => Some(format!("pod/{p}")),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    }
}

/// `{"log":"...\n","stream":"stderr","time":"..."}`.
fn docker(obj: &Map<String, Value>) -> Option<Unwrapped<'static>> {
    let log = str_of(obj, "log")?;
    let stream = str_of(obj, "stream");
    let time = obj.get("time");
    if stream.is_none() && time.is_none() {
        return None;
    }
    let (inner, complete) = chomp(log);
    Some(Unwrapped {
        kind: Kind::DockerJson,
        line: Cow::Owned(inner.to_string()),
        ts: time.and_then(any_ts),
        container: None,
        partial: !complete,
        stream: stream.map(str::to_string),
    })
}

/// A json-file record exactly as Docker writes it,
/// `{"log":"…","stream":"stderr","time":"…"}` with nothing between the tokens: what [`docker`]
/// makes of it after the general parse, which builds a map of every key and copies the log
/// string through serde_json's escape handling, most of the cost of a json-file log (its
/// inner line has an escaped quote every few bytes). `None` for any other shape (another key,
/// `attrs`, a blank, escapes in `stream` or `time`, trailing text), which the general parse
/// then reads.
fn docker_record(line: &str) -> Option<Unwrapped<'static>> {
    // A string without escapes or control characters, up to its closing quote.
    fn plain(t: &str) -> Option<(&str, &str)> {
        let end = memchr::memchr(b'"', t.as_bytes())?;
        let s = &t[..end];
        (!s.bytes().any(|c| c == b'\\' || c < 0x20)).then(|| (s, &t[end + 1..]))
    }
    let rest = line.strip_prefix("{\"log\":\"")?;
    let (mut log, rest) = super::flat::unescape(rest)?;
    let (stream, rest) = plain(rest.strip_prefix(",\"stream\":\"")?)?;
    let (time, rest) = plain(rest.strip_prefix(",\"time\":\"")?)?;
    if rest != "}" {
        return None;
    }
    let (inner, complete) = chomp(&log);
    log.truncate(inner.len());
    Some(Unwrapped {
        kind: Kind::DockerJson,
        line: Cow::Owned(log),
        ts: str_ts(time),
        container: None,
        partial: !complete,
        stream: Some(stream.to_string()),
    })
}

/// `journalctl -o json`: `MESSAGE` (a string, or an array of bytes), `CONTAINER_NAME`,
/// `__REALTIME_TIMESTAMP` (µs), `CONTAINER_PARTIAL_MESSAGE` for a chunk.
fn journald(obj: &Map<String, Value>) -> Option<Unwrapped<'static>> {
    let msg = obj.get("MESSAGE")?;
    let text = match msg {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return None,
    };
    if !obj.contains_key("__REALTIME_TIMESTAMP")
        && !obj.contains_key("CONTAINER_NAME")
        && !obj.contains_key("_SYSTEMD_UNIT")
        && !obj.contains_key("__CURSOR")
    {
        return None;
    }
    let ts = obj
        .get("__REALTIME_TIMESTAMP")
        .and_then(|v| match v {
            Value::String(s) => s.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        })
        .map(Ts);
    let container = str_of(obj, "CONTAINER_NAME").map(str::to_string);
    let partial = matches!(str_of(obj, "CONTAINER_PARTIAL_MESSAGE"), Some("true"));
    let (inner, _) = chomp(&text);
    Some(Unwrapped {
        kind: Kind::Journald,
        line: Cow::Owned(inner.to_string()),
        ts,
        stream: container.clone(),
        container,
        partial,
    })
}

/// Loki / logcli: `{"labels":{...},"line":"...","timestamp":"..."}` (`stream` for the labels
/// in some exports).
fn loki(obj: &Map<String, Value>) -> Option<Unwrapped<'static>> {
    let line = str_of(obj, "line")?;
    let labels = obj
        .get("labels")
        .or_else(|| obj.get("stream"))
        .and_then(Value::as_object);
    if labels.is_none() && !obj.contains_key("timestamp") && !obj.contains_key("ts") {
        return None;
    }
    let container = labels.and_then(|l| {
        join_names(
            str_of(l, "pod").or_else(|| str_of(l, "pod_name")),
            str_of(l, "container")
                .or_else(|| str_of(l, "container_name"))
                .or_else(|| str_of(l, "service_name")),
        )
    });
    let ts = obj
        .get("timestamp")
        .or_else(|| obj.get("ts"))
        .and_then(any_ts);
    let (inner, _) = chomp(line);
    Some(Unwrapped {
        kind: Kind::Loki,
        line: Cow::Owned(inner.to_string()),
        ts,
        stream: container.clone(),
        container,
        partial: false,
    })
}

/// An Elasticsearch / OpenSearch hit (`_source.message` or `_source.log`), or a shipper's
/// document with the same fields at the top and a `kubernetes` object.
fn elastic(obj: &Map<String, Value>) -> Option<Unwrapped<'static>> {
    let doc = match obj.get("_source") {
        Some(Value::Object(src)) => src,
        Some(_) => return None,
        None if obj.contains_key("kubernetes") => obj,
        None => return None,
    };
    let line = str_of(doc, "message").or_else(|| str_of(doc, "log"))?;
    let k8s = doc.get("kubernetes").and_then(Value::as_object);
    let container = match k8s {
        Some(k) => join_names(
            str_of(k, "pod_name").or_else(|| {
                k.get("pod")
                    .and_then(Value::as_object)
                    .and_then(|p| str_of(p, "name"))
            }),
            str_of(k, "container_name").or_else(|| {
                k.get("container")
                    .and_then(Value::as_object)
                    .and_then(|c| str_of(c, "name"))
            }),
        ),
        None => doc
            .get("container")
            .and_then(Value::as_object)
            .and_then(|c| str_of(c, "name"))
            .map(str::to_string),
    };
    let ts = doc
        .get("@timestamp")
        .or_else(|| doc.get("time"))
        .or_else(|| doc.get("timestamp"))
        .and_then(any_ts);
    let (inner, _) = chomp(line);
    Some(Unwrapped {
        kind: Kind::Elastic,
        line: Cow::Owned(inner.to_string()),
        ts,
        stream: container.clone(),
        container,
        partial: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_json_file() {
        let u = unwrap(r#"{"log":"2026-01-27T11:11:05.179Z\tINFO\tegress\tx\n","stream":"stderr","time":"2026-01-27T11:11:05.180123Z"}"#)
            .expect("docker");
        assert_eq!(u.kind, Kind::DockerJson);
        assert_eq!(u.line, "2026-01-27T11:11:05.179Z\tINFO\tegress\tx");
        assert!(!u.partial);
        assert_eq!(
            u.ts.map(|t| t.iso()).as_deref(),
            Some("2026-01-27T11:11:05.180Z")
        );
        let p = unwrap(r#"{"log":"abc","stream":"stdout","time":"2026-01-27T11:11:05Z"}"#)
            .expect("partial");
        assert!(p.partial);
    }

    #[test]
    fn docker_records_read_directly_as_in_general() {
        let direct = [
            r#"{"log":"{\"level\":\"info\",\"msg\":\"a \u003c b \u0026 c\"}\n","stream":"stderr","time":"2026-01-27T11:11:05.180123Z"}"#,
            r#"{"log":"tab\there \\ slash \/ emoji \ud83d\ude00 \r\n","stream":"stdout","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"partial chunk","stream":"stdout","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"epoch time\n","stream":"stderr","time":"1769512265179"}"#,
            r#"{"log":"bad time\n","stream":"stderr","time":"yesterday"}"#,
            r#"{"log":"","stream":"stderr","time":"2026-01-27T11:11:05Z"}"#,
        ];
        for line in direct {
            let fast = docker_record(line);
            assert!(fast.is_some(), "{line}");
            assert_eq!(fast, json_general(line), "{line}");
        }
        // Shapes left to the general parse, which may still read them.
        let general = [
            r#"{"log":"only a log key"}"#,
            r#"{"log":"with attrs\n","stream":"stderr","attrs":{"tag":"egress"},"time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"no stream\n","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"no time\n","stream":"stderr"}"#,
            r#"{"log" : "blanks\n" , "stream" : "stderr" , "time" : "2026-01-27T11:11:05Z" }  "#,
            r#"{"log":"x\n","stream":"stderr","time":"2026-01-27T11:11:05Z","MESSAGE":"m","__CURSOR":"c"}"#,
            r#"{"log":"x\n","stream":"stderr","time":"2026-01-27T11:11:05Z","kubernetes":{"pod_name":"p"}}"#,
            r#"{"log":"x\n","stream":"stderr","time":"2026-01-27T11:11:05Z","line":"y","labels":{"pod":"p"}}"#,
            r#"{"log":"x\n","stream":"stderr","level":"info","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"first\n","log":"second\n","stream":"stderr"}"#,
            r#"{"log":"x\n","stream":"std\u006fut","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"x\n","stream":"stderr","time":1769512265}"#,
            r#"{"log":"x\n","stream":7,"time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"x\n","stream":"stderr","time":"2026-01-27T11:11:05Z"} trailing"#,
            r#"{"log":"bad \x escape","stream":"stderr"}"#,
            r#"{"log":"unclosed","stream":"stderr""#,
        ];
        for line in general {
            assert_eq!(docker_record(line), None, "{line}");
            assert_eq!(unwrap(line), json_general(line), "{line}");
        }
        for read in &general[1..5] {
            assert_eq!(
                unwrap(read).map(|u| u.kind),
                Some(Kind::DockerJson),
                "{read}"
            );
        }
        assert_eq!(unwrap(general[5]).map(|u| u.kind), Some(Kind::Journald));
        assert!(unwrap(general[0]).is_none() && unwrap(general[8]).is_none());
        let duplicate = unwrap(general[9]).expect("the last log wins");
        assert_eq!(duplicate.line, "second");
        assert_eq!(
            unwrap(general[10]).and_then(|u| u.stream).as_deref(),
            Some("stdout")
        );
    }

    #[test]
    fn records_are_read_as_unwrap_reads_them() {
        let lines = [
            r#"{"log":"whole\n","stream":"stderr","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"chunk","stream":"stdout","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"ends in a backslash and n: \\n","stream":"stderr","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"a backslash, then a newline: \\\n","stream":"stderr","time":"2026-01-27T11:11:05Z"}"#,
            r#"{"log":"quoted \",\"stream\":\"no\" inside\n","stream":"stderr","time":"2026-01-27T11:11:05Z"}"#,
            r#"2026-01-27T11:11:05.179123456Z stderr F {"level":"info"}"#,
            "2026-01-27T11:11:05.179Z stdout P abc",
            "2026-01-27T11:11:05.179Z stdout F",
        ];
        for line in lines {
            let r = record(line.as_bytes()).expect(line);
            let u = unwrap(line).expect(line);
            assert_eq!(r.kind, u.kind, "{line}");
            assert_eq!(
                Some(r.stream),
                u.stream.as_deref().map(str::as_bytes),
                "{line}"
            );
            assert_eq!(r.partial, u.partial, "{line}");
        }
        for other in [
            r#"{"level":"info","msg":"x"}"#,
            r#"{"log":"no stream\n","time":"2026-01-27T11:11:05Z"}"#,
            "2026-01-27T11:11:05.179Z\tINFO\tegress\tx",
            "2026-01-27T11:11:05.179Z INFO egress request validated",
            "2026-01-27T11:11:05.179Z stderr X abc",
            "",
        ] {
            assert_eq!(record(other.as_bytes()), None, "{other}");
        }
    }

    proptest::proptest! {
        /// Any text Docker may log, with or without its newline, next to any stream and time,
        /// reads the same directly as through the general parse.
        #[test]
        fn docker_records_of_any_text(
            log in "(\\PC|[\"\\\\\t\r\n\u{0}-\u{1f}<>&])*",
            newline in proptest::bool::ANY,
            stream in "[a-z]{0,6}",
            time in "[0-9TZ:.-]{0,30}",
        ) {
            let log = if newline { format!("{log}\n") } else { log };
            let line = format!(
                r#"{{"log":{},"stream":"{stream}","time":"{time}"}}"#,
                serde_json::to_string(&log).unwrap_or_default()
            );
            let fast = docker_record(&line);
            proptest::prop_assert!(fast.is_some(), "{}", line);
            let r = record(line.as_bytes());
            proptest::prop_assert_eq!(r.map(|r| r.partial), fast.as_ref().map(|u| u.partial));
            proptest::prop_assert_eq!(fast, json_general(&line));
        }
    }

    #[test]
    fn zap_and_egress_info_are_not_envelopes() {
        assert!(unwrap(r#"{"level":"info","ts":1.0,"msg":"x","log":"a","time":"b"}"#).is_none());
        assert!(unwrap(r#"{"ts":1.0,"msg":"x","stream":"a","log":"b"}"#).is_none());
        assert!(unwrap(
            r#"{"egressId":"EG_abcdefabcdef","roomName":"r","status":"EGRESS_FAILED"}"#
        )
        .is_none());
        assert!(unwrap(r#"{"log":"only a log key"}"#).is_none());
        assert!(unwrap("2026-01-27T11:11:05.179Z\tINFO\tegress\tx").is_none());
        assert!(unwrap("2026-01-27T11:11:05.179Z INFO egress request validated").is_none());
        assert!(unwrap("missing config").is_none());
    }

    #[test]
    fn cri_records() {
        let u =
            unwrap("2026-01-27T11:11:05.179123456Z stderr F {\"level\":\"info\"}").expect("cri");
        assert_eq!(u.kind, Kind::Cri);
        assert_eq!(u.line, "{\"level\":\"info\"}");
        assert!(!u.partial);
        assert_eq!(u.stream.as_deref(), Some("stderr"));
        let p = unwrap("2026-01-27T11:11:05.179+00:00 stdout P abc").expect("partial");
        assert!(p.partial);
        assert_eq!(p.line, "abc");
        let empty = unwrap("2026-01-27T11:11:05.179Z stdout F").expect("empty");
        assert_eq!(empty.line, "");
        assert!(unwrap("2026-01-27T11:11:05.179Z stderr X abc").is_none());
        assert!(unwrap("2026-01-27T11:11:05.179Z stderr Fabc").is_none());
    }

    #[test]
    fn journald_export() {
        let u = unwrap(r#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1769512265179000","MESSAGE":"missing config","CONTAINER_NAME":"egress","PRIORITY":"3"}"#)
            .expect("journald");
        assert_eq!(u.kind, Kind::Journald);
        assert_eq!(u.line, "missing config");
        assert_eq!(u.container.as_deref(), Some("egress"));
        assert_eq!(
            u.ts.map(|t| t.iso()).as_deref(),
            Some("2026-01-27T11:11:05.179Z")
        );
        let bytes =
            unwrap(r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105,255],"CONTAINER_NAME":"e"}"#)
                .expect("bytes");
        assert_eq!(bytes.line, "hi\u{fffd}");
        let part = unwrap(
            r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":"ab","CONTAINER_PARTIAL_MESSAGE":"true"}"#,
        )
        .expect("partial");
        assert!(part.partial);
        assert!(unwrap(r#"{"MESSAGE":"no journald keys"}"#).is_none());
    }

    #[test]
    fn loki_lines() {
        let u = unwrap(r#"{"labels":{"container":"egress","pod":"egress-0","namespace":"lk"},"line":"missing config","timestamp":"2026-01-27T11:11:05.179Z"}"#)
            .expect("loki");
        assert_eq!(u.kind, Kind::Loki);
        assert_eq!(u.line, "missing config");
        assert_eq!(u.container.as_deref(), Some("pod/egress-0/egress"));
        assert!(u.ts.is_some());
        let ns = unwrap(
            r#"{"stream":{"container":"egress"},"line":"x","timestamp":"1769512265179000000"}"#,
        )
        .expect("ns");
        assert_eq!(
            ns.ts.map(|t| t.iso()).as_deref(),
            Some("2026-01-27T11:11:05.179Z")
        );
        assert!(unwrap(r#"{"line":42,"labels":{}}"#).is_none());
        assert!(unwrap(r#"{"line":"x"}"#).is_none());
    }

    #[test]
    fn elastic_hits() {
        let u = unwrap(r#"{"_index":"logs","_id":"1","_source":{"@timestamp":"2026-01-27T11:11:05.179Z","message":"missing config","kubernetes":{"pod_name":"egress-7","container_name":"egress"}}}"#)
            .expect("es");
        assert_eq!(u.kind, Kind::Elastic);
        assert_eq!(u.line, "missing config");
        assert_eq!(u.container.as_deref(), Some("pod/egress-7/egress"));
        let fb =
            unwrap(r#"{"log":"x\n","kubernetes":{"pod":{"name":"p"},"container":{"name":"c"}}}"#)
                .expect("fluent-bit");
        assert_eq!(fb.line, "x");
        assert_eq!(fb.container.as_deref(), Some("pod/p/c"));
        assert!(unwrap(r#"{"_source":{"other":"x"}}"#).is_none());
    }
}
