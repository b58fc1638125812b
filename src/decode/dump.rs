//! Dumps of an `EgressInfo` as users paste them: protobuf text (`error: "..."`,
//! `error_code: 412`, one key per line), Go structs (`{EgressId:EG_… Status:EGRESS_ABORTED …}`)
//! and SDK/API JSON (`{"egressId": …, "status": "EGRESS_ABORTED", "errorCode": 412}`).
//! Fields are normalised to the names the egress log uses (`egressID`, `room`, `code` ...).

use crate::event::Fields;
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
        "errorcode" => "code",
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
    if !text.contains("EgressId:") && !text.contains("ErrorCode:") {
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

/// Protobuf-text lines joined into one entry.
pub fn proto_text(text: &str) -> Option<Fields> {
    let mut fields = Fields::new();
    for line in text.lines() {
        if let Some((k, v)) = proto_line(line) {
            put(&mut fields, k, v);
        }
    }
    (!fields.is_empty()).then_some(fields)
}

/// An API/SDK JSON object describing an egress (no zap `level`/`msg`).
pub fn json_object(obj: &Fields) -> Option<Fields> {
    let mut fields = Fields::new();
    for (k, v) in obj.iter() {
        if let Some(name) = normalise_key(k) {
            fields.insert(name, v.clone());
        }
    }
    let looks_like_info = fields.contains_key("egressID")
        || (fields.contains_key("status") && fields.contains_key("error"));
    looks_like_info.then_some(fields)
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
    fn go() {
        let f = go_struct("&{EgressId:EG_abcdefABCDEF RoomName:my room Status:EGRESS_ABORTED Error:Start signal not received ErrorCode:412 Details:End reason: StopEgress API}").unwrap();
        assert_eq!(f["egressID"], "EG_abcdefABCDEF");
        assert_eq!(f["room"], "my room");
        assert_eq!(f["error"], "Start signal not received");
        assert_eq!(f["code"].to_json(), 412);
        assert_eq!(f["details"], "End reason: StopEgress API");
    }
}
