//! Dumps of an `EgressInfo` as users paste them: protobuf text (`error: "..."`,
//! `error_code: 412`, one key per line), Go structs (`{EgressId:EG_… Status:EGRESS_ABORTED …}`)
//! and SDK/API JSON (`{"egressId": …, "status": "EGRESS_ABORTED", "errorCode": 412}`).
//! Fields are normalised to the names the egress log uses (`egressID`, `room`, `code` ...).

use crate::event::{FieldValue, Fields};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// Maps a dump key (any spelling) to the egress log's field name.
pub fn normalise_key(key: &str) -> Option<&'static str> {
    let k: String = key
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match k.as_str() {
        "egressid" => "egressID",
        "roomname" => "room",
        "roomid" => "roomID",
        "status" => "status",
        "error" => "error",
        "errorcode" | "code" => "code",
        "details" => "details",
        "startedat" => "startedAt",
        "endedat" => "endedAt",
        "updatedat" => "updatedAt",
        "sourcetype" => "sourceType",
        "backupstorageused" => "backupStorageUsed",
        "manifestlocation" => "manifestLocation",
        _ => return None,
    })
}

/// Puts a normalised dump field into `fields`.
fn put(fields: &mut Fields, key: &str, raw: &str) {
    let Some(name) = normalise_key(key) else {
        return;
    };
    let raw = raw.trim().trim_end_matches(',').trim();
    let value = match serde_json::from_str::<Value>(raw) {
        Ok(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(raw.trim_matches('"').to_string()),
    };
    fields.insert(name, value);
}

/// One protobuf-text line `key: value` with a known `EgressInfo` key, e.g. `error_code: 412`.
pub fn proto_line(line: &str) -> Option<(&str, &str)> {
    let t = line.trim().trim_start_matches(['"', '\'']);
    // Keys start with a lower-case letter: timestamps, JSON and levels are turned down here.
    if !t.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        return None;
    }
    let (k, v) = t.split_once(':')?;
    let k = k.trim().trim_end_matches(['"', '\'']);
    // Protobuf text and YAML-ish dumps use lowercase snake_case or camelCase keys; an
    // upper-case word (`ERROR:` of another program's log) is not a dump field.
    if k.is_empty()
        || !k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        || !k.as_bytes()[0].is_ascii_lowercase()
    {
        return None;
    }
    normalise_key(k)?;
    if v.trim().is_empty() {
        return None;
    }
    Some((k, v))
}

static GO_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s{,&])([A-Z][A-Za-z]+):").unwrap_or_else(|_| unreachable!())
});

/// A Go-struct dump: `{EgressId:EG_… RoomName:x Status:EGRESS_ABORTED Error:… ErrorCode:412}`.
pub fn go_struct(text: &str) -> Option<Fields> {
    // (`EgressID: EG_… Status: EGRESS_ENDING` is how `livekit-cli` prints a started egress.)
    if !text.contains("EgressId:") && !text.contains("EgressID:") && !text.contains("ErrorCode:") {
        return None;
    }
    let body = text.trim().trim_start_matches('&');
    let caps: Vec<_> = GO_FIELD.captures_iter(body).collect();
    let mut fields = Fields::new();
    for (n, c) in caps.iter().enumerate() {
        let (Some(key), Some(whole)) = (c.get(1), c.get(0)) else {
            continue;
        };
        let end = caps
            .get(n + 1)
            .and_then(|next| next.get(0))
            .map_or(body.len(), |m| m.start());
        let value = body[whole.end()..end].trim().trim_end_matches('}');
        put(&mut fields, key.as_str(), value);
    }
    (!fields.is_empty()).then_some(fields)
}

/// Protobuf text (`key: value` pairs, `name { ... }` blocks), one pair per line as
/// `String()` and Python's `print` write it, or several on one line as Go's `%v` does
/// (`egress_id:"EG_…" status:EGRESS_ABORTED error:"…"`). Only the top level is read: the
/// fields of nested messages (`file { filename: … }`, `file_results { … }`) are skipped.
/// Parsing stops at the first text that is not protobuf text, keeping what came before.
pub fn proto_text(text: &str) -> Option<Fields> {
    let mut fields = Fields::new();
    let mut depth = 0usize;
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('}') {
            let Some(d) = depth.checked_sub(1) else {
                break;
            };
            depth = d;
            rest = r.trim_start();
            continue;
        }
        let key_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        if key_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
            break;
        }
        let (key, after) = rest.split_at(key_len);
        let after = after.trim_start();
        if let Some(r) = after.strip_prefix('{') {
            depth += 1;
            rest = r.trim_start();
            continue;
        }
        let Some(value_start) = after.strip_prefix(':') else {
            break;
        };
        let value_start = value_start.trim_start_matches([' ', '\t']);
        if let Some(r) = value_start.strip_prefix('{') {
            // `key: { ... }`, the block form some printers use.
            depth += 1;
            rest = r.trim_start();
            continue;
        }
        let (value, r) = proto_value(value_start);
        if depth == 0 && !value.is_empty() {
            put(&mut fields, key, value);
        }
        rest = r.trim_start();
    }
    (!fields.is_empty()).then_some(fields)
}

/// One protobuf-text value and the text after it: a quoted string (escapes kept, for `put`
/// to read as JSON), or a bare token up to the next space or line end.
fn proto_value(s: &str) -> (&str, &str) {
    if s.starts_with('"') {
        let b = s.as_bytes();
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return (&s[..=i], &s[i + 1..]),
                b'\n' => break,
                _ => i += 1,
            }
        }
        // Unclosed: the rest of the line.
        let end = s.find('\n').unwrap_or(s.len());
        return (&s[..end], &s[end..]);
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == '}')
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// A line that opens a nested message of a protobuf-text dump: `file {`, `file_results {`.
pub fn proto_block_open(line: &str) -> bool {
    // Every line is asked: most end in something other than `{`, told from the last byte.
    let b = line.as_bytes();
    match b.iter().rposition(|c| !c.is_ascii_whitespace()) {
        Some(end) if b[end] == b'{' => {}
        _ => return false,
    }
    let t = line.trim();
    let Some(name) = t.strip_suffix('{') else {
        return false;
    };
    let name = name.trim_end().trim_end_matches(':').trim_end();
    !name.is_empty()
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// A line inside a nested message of a protobuf-text dump: any `key: value`, a nested
/// block, or its closing `}`.
pub fn proto_inner_line(line: &str) -> bool {
    let t = line.trim();
    if t == "}" || proto_block_open(t) {
        return true;
    }
    t.split_once(':').is_some_and(|(k, v)| {
        !k.is_empty()
            && !v.trim().is_empty()
            && k.as_bytes()[0].is_ascii_lowercase()
            && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    })
}

/// An API/SDK JSON object describing an egress (no zap `level`/`msg`), or a webhook body
/// that carries one (`{"event": "egress_ended", "egressInfo": {...}}`).
pub fn json_object(obj: &Fields) -> Option<Fields> {
    for key in ["egressInfo", "egress_info", "egress"] {
        if let Some(FieldValue::Json(Value::Object(inner))) = obj.get(key) {
            let inner: Fields = inner.clone().into();
            if let Some(fields) = json_object(&inner) {
                return Some(fields);
            }
        }
    }
    let mut fields = Fields::new();
    for (k, v) in obj.iter() {
        if let Some(name) = normalise_key(k) {
            fields.insert(name, v.clone());
        }
    }
    is_egress_info(&fields).then_some(fields)
}

/// The column names of a table header row (`| EGRESSID | STATUS | STARTED AT | ERROR |`, as
/// `lk egress list` prints it), when it names an egress ID column.
pub fn table_header(line: &str) -> Option<Vec<String>> {
    let cells = table_cells(line)?;
    let names: Vec<String> = cells
        .iter()
        .map(|c| c.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    let upper = names
        .iter()
        .all(|n: &String| n.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
    (upper && names.iter().any(|n| normalise_key(n) == Some("egressID"))).then_some(names)
}

/// The cells of a table row `| a | b |` (`None` for a line that is not one).
pub fn table_cells(line: &str) -> Option<Vec<&str>> {
    let t = line.trim();
    let inner = t.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// A table border line (`+-----+----+`).
pub fn table_border(line: &str) -> bool {
    let t = line.trim();
    t.len() > 2 && t.starts_with('+') && t.bytes().all(|c| c == b'+' || c == b'-' || c == b'=')
}

/// One table entry: its first row and the rows that continue its cells (first cell empty),
/// read under `header` into an egress's fields (cells continued on later rows are joined
/// with a space).
pub fn table_row(header: &[String], text: &str) -> Option<Fields> {
    let mut cells: Vec<String> = vec![String::new(); header.len()];
    for line in text.lines() {
        for (i, c) in table_cells(line)?
            .into_iter()
            .enumerate()
            .take(header.len())
        {
            if c.is_empty() {
                continue;
            }
            if !cells[i].is_empty() {
                cells[i].push(' ');
            }
            cells[i].push_str(c);
        }
    }
    let mut fields = Fields::new();
    for (name, value) in header.iter().zip(cells) {
        if !value.is_empty() {
            put(&mut fields, name, &value);
        }
    }
    is_egress_info(&fields).then_some(fields)
}

/// The message of an entry made from a pasted egress start request.
pub const PASTED_REQUEST: &str = "egress request (pasted)";

/// A start request's body as users paste it (the JSON their code sends, or `lk egress start`
/// reads): `room_name` or `url` with outputs, a layout or track IDs, and no egress status.
/// Returns its fields with `room` and `requestType` added (the request type is read from the
/// keys the request has, as livekit-server's request types differ in them).
pub fn request_object(obj: &Fields) -> Option<Fields> {
    let has = |k: &str| obj.contains_key(k);
    let output = [
        "file",
        "file_output",
        "fileOutputs",
        "file_outputs",
        "stream",
        "stream_output",
        "stream_outputs",
        "streamOutputs",
        "segments",
        "segment_outputs",
        "segmentOutputs",
        "image_outputs",
        "imageOutputs",
        "outputs",
        "websocket_url",
        "websocketUrl",
        "preset",
        "advanced",
    ]
    .iter()
    .any(|k| has(k));
    let track = has("track_id") || has("trackId");
    let composite = [
        "audio_track_id",
        "video_track_id",
        "audioTrackId",
        "videoTrackId",
    ]
    .iter()
    .any(|k| has(k));
    let room = obj
        .get("room_name")
        .or_else(|| obj.get("roomName"))
        .and_then(FieldValue::text);
    let url = has("url") && !has("egress_id") && !has("egressId");
    let request_type = if track {
        "track"
    } else if composite {
        "track_composite"
    } else if has("identity") && room.is_some() {
        "participant"
    } else if room.is_some() {
        "room_composite"
    } else if url {
        "web"
    } else {
        return None;
    };
    if !(output || track) || has("status") || has("level") {
        return None;
    }
    let mut fields = obj.clone();
    if let Some(room) = room {
        fields.insert("room", FieldValue::Text(room.into()));
    }
    fields.insert("requestType", FieldValue::Text(request_type.into()));
    Some(fields)
}

/// Do these (normalised) fields describe an egress? Its ID, or an egress status
/// (`EGRESS_ABORTED`, or the enum's number), or an error that is not a twirp error reply's (one
/// with a twirp code such as `"code": "unauthenticated"`, or an HTTP `"status": "401"`).
pub fn is_egress_info(fields: &Fields) -> bool {
    let egress_status = |v: &FieldValue| match v.as_str() {
        Some(s) => {
            s.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("EGRESS_"))
                && s.len() > 7
        }
        None => v.to_json().as_u64().is_some_and(|n| n <= 6),
    };
    let status = fields.get("status");
    if fields.contains_key("egressID") || status.is_some_and(egress_status) {
        return true;
    }
    let twirp_code = fields
        .get("code")
        .and_then(FieldValue::as_str)
        .is_some_and(|c| c.parse::<u16>().is_err());
    fields.contains_key("error") && !twirp_code && status.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto() {
        let f = proto_text("egress_id: \"EG_abcdefABCDEF\"\nstatus: EGRESS_ABORTED\nerror: \"Start signal not received\"\nerror_code: 412").unwrap();
        assert_eq!(f["egressID"], "EG_abcdefABCDEF");
        assert_eq!(f["status"], "EGRESS_ABORTED");
        assert_eq!(f["code"].to_json(), 412);
        assert_eq!(f["error"], "Start signal not received");
        assert!(proto_line("something: else").is_none());
    }

    #[test]
    fn proto_nested_blocks_are_skipped() {
        let text = "file {\n  filename: \"a.mp4\"\n  duration: 152090\n}\nerror: \"Start signal not received\"\nroom_name: \"r1\"\nfile_results {\n  filename: \"b.mp4\"\n}\nerror_code: 412";
        let f = proto_text(text).unwrap();
        assert_eq!(f["error"], "Start signal not received");
        assert_eq!(f["room"], "r1");
        assert_eq!(f["code"].to_json(), 412);
        assert!(!f.contains_key("filename"));
        assert!(proto_block_open("file_results {"));
        assert!(proto_block_open("  stream: {"));
        assert!(!proto_block_open("{"));
        assert!(!proto_block_open("Error {"));
        assert!(proto_inner_line("  filename: \"x\""));
        assert!(proto_inner_line("}"));
        assert!(!proto_inner_line("2024-01-01T00:00:00Z INFO x"));
    }

    #[test]
    fn proto_on_one_line() {
        let f = proto_text(r#"egress_id:"EG_abcdefABCDEF" room_name:"r 1" status:EGRESS_ABORTED error:"Start signal \"x\" not received" error_code:412 file:{filename:"a.mp4"} details:"End reason: StopEgress API""#).unwrap();
        assert_eq!(f["egressID"], "EG_abcdefABCDEF");
        assert_eq!(f["room"], "r 1");
        assert_eq!(f["status"], "EGRESS_ABORTED");
        assert_eq!(f["error"], "Start signal \"x\" not received");
        assert_eq!(f["code"].to_json(), 412);
        assert_eq!(f["details"], "End reason: StopEgress API");
    }

    #[test]
    fn go() {
        let f = go_struct("&{EgressId:EG_abcdefABCDEF RoomName:my room Status:EGRESS_ABORTED Error:Start signal not received ErrorCode:412 Details:End reason: StopEgress API}").unwrap();
        assert_eq!(f["egressID"], "EG_abcdefABCDEF");
        assert_eq!(f["room"], "my room");
        assert_eq!(f["error"], "Start signal not received");
        assert_eq!(f["code"].to_json(), 412);
        assert_eq!(f["details"], "End reason: StopEgress API");
    }
}
