//! Pure data shared by every stage: `Event`, `Origin`, `Level`, `Ts`, `Format`, egress IDs.
//! It must not do I/O or parsing beyond trivial value helpers, and depends on no other module
//! but `fastmap` (byte equality for field names).

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// A point in time, microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    /// Seconds (with fraction) from `self` to `later`.
    pub fn secs_until(self, later: Ts) -> f64 {
        (later.0 - self.0) as f64 / 1_000_000.0
    }

    /// ISO 8601 in UTC with milliseconds, e.g. `2026-01-27T11:11:05.179Z`.
    pub fn iso(self) -> String {
        use chrono::{Datelike, Timelike};
        let Some(t) = chrono::DateTime::from_timestamp_micros(self.0) else {
            return format!("@{}us", self.0);
        };
        if !(0..=9999).contains(&t.year()) {
            return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        }
        // Written digit by digit: this runs for every timeline entry of a report.
        let mut out = String::with_capacity(24);
        let mut digits = |n: u32, width: u32, after: char| {
            for k in (0..width).rev() {
                out.push(char::from(b'0' + (n / 10u32.pow(k) % 10) as u8));
            }
            out.push(after);
        };
        digits(t.year() as u32, 4, '-');
        digits(t.month(), 2, '-');
        digits(t.day(), 2, 'T');
        digits(t.hour(), 2, ':');
        digits(t.minute(), 2, ':');
        digits(t.second(), 2, '.');
        digits(t.timestamp_subsec_millis().min(999), 3, 'Z');
        out
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso())
    }
}

/// Log level, normalised across zap JSON (`info`), console (`INFO`) and other spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Parses a level word in any case (`info`, `WARN`, `warning`, `DPANIC` ...).
    pub fn parse(word: &str) -> Option<Level> {
        // zap's own spellings first: every structured line has one.
        match word {
            "info" | "INFO" => return Some(Level::Info),
            "debug" | "DEBUG" => return Some(Level::Debug),
            "warn" | "WARN" => return Some(Level::Warn),
            "error" | "ERROR" => return Some(Level::Error),
            _ => {}
        }
        let w = word.trim();
        let eq = |s: &str| w.eq_ignore_ascii_case(s);
        Some(if eq("debug") || eq("trace") {
            Level::Debug
        } else if eq("info") || eq("notice") {
            Level::Info
        } else if eq("warn") || eq("warning") {
            Level::Warn
        } else if eq("error") || eq("err") || eq("dpanic") {
            Level::Error
        } else if eq("fatal") || eq("panic") || eq("crit") || eq("critical") {
            Level::Fatal
        } else {
            return None;
        })
    }

    /// Upper-case name as shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

/// Which grammar decoded a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// zap production encoder: `{"level":"info","ts":...}`.
    Json,
    /// zap development encoder: `ts<TAB>LEVEL<TAB>logger<TAB>caller<TAB>msg<TAB>{json}` (tabs or spaces).
    Console,
    /// A pasted line with `"key": value` pairs and no braces.
    Pasted,
    /// A protobuf-text, Go-struct or JSON dump of an `EgressInfo`.
    Dump,
    /// Anything else: plain text kept as it is.
    Raw,
}

impl Format {
    /// Every format, in report order.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Console,
        Format::Pasted,
        Format::Dump,
        Format::Raw,
    ];

    /// Short name used in reports and JSON (`json`, `console`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Console => "console",
            Format::Pasted => "pasted",
            Format::Dump => "dump",
            Format::Raw => "raw",
        }
    }

    /// Index into per-format counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where a line came from: the source (index into the run's source names) and its 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Origin {
    pub source: u32,
    pub line: u64,
}

/// One decoded log entry (a line, or a line with its joined continuations).
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub ts: Option<Ts>,
    pub level: Option<Level>,
    pub logger: Option<Text>,
    pub caller: Option<Text>,
    /// The message (`msg`), or for raw lines the whole text.
    pub message: Text,
    /// Structured fields (last value wins on duplicate keys).
    pub fields: Fields,
    /// The original text of the entry as read (prefixes stripped, continuations joined with `\n`).
    pub raw: Shared,
    pub origin: Origin,
    pub format: Option<Format>,
    /// Name of the container/pod/service from a `docker compose` or `kubectl --prefix` prefix.
    pub container: Option<String>,
    /// Number of continuation lines joined to this entry (stack frames, wrapped JSON).
    pub continuation_lines: u32,
}

impl Event {
    /// Reads one word of each heap part the correlator looks at (fields, raw text), so a
    /// caller can have them fetched into the cache ahead of use; returns a value to sink.
    pub fn touch(&self) -> usize {
        let fields = self.fields.0.iter().fold(0, |n, (k, _)| n ^ k.len());
        fields ^ self.raw.len()
    }

    /// A field as text: strings as they are, numbers and booleans printed; `None` when absent or null.
    pub fn field_str(&self, key: &str) -> Option<String> {
        self.fields.get(key)?.text()
    }

    /// A field as an integer (accepts numbers and numeric strings such as `"503"`).
    pub fn field_i64(&self, key: &str) -> Option<i64> {
        let v = self.fields.get(key)?;
        if let Some(s) = v.as_str() {
            return s.trim().parse().ok();
        }
        let n = v.as_json()?.as_number()?;
        n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))
    }

    /// The first of several keys that is present and non-empty.
    pub fn first_field(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .filter_map(|k| self.field_str(k))
            .find(|v| !v.is_empty())
    }

    /// The `error` field, or an empty string.
    pub fn error_text(&self) -> String {
        self.field_str("error").unwrap_or_default()
    }
}

/// Text shared between an event and the evidence that cites it: citing a line costs a
/// reference count, not a copy.
pub type Shared = std::sync::Arc<str>;

/// Text of an event that often repeats (logger, caller, message): shared when the decoder
/// interned it, owned otherwise.
pub type Text = std::borrow::Cow<'static, str>;

/// A field name: the usual names are shared statics, others owned.
pub type FieldKey = std::borrow::Cow<'static, str>;

/// A field's value: text as a compact string (the usual IDs, names and types are short enough
/// to be held inline, without an allocation of their own), anything else as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(compact_str::CompactString),
    /// A number, boolean, null, object or array (never a string: those are `Text`).
    Json(Value),
}

impl FieldValue {
    /// The text of a string value (also of a JSON string built as `Json` by hand).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            FieldValue::Json(v) => v.as_str(),
        }
    }

    /// The value when it is not a string.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            FieldValue::Text(_) => None,
            FieldValue::Json(v) => Some(v),
        }
    }

    /// As [`value_text`]: strings as they are, scalars printed, `null` as `None`, objects as JSON.
    pub fn text(&self) -> Option<String> {
        match self {
            FieldValue::Text(s) => Some(s.to_string()),
            FieldValue::Json(v) => value_text(v),
        }
    }

    /// The value as JSON, consumed.
    pub fn into_json(self) -> Value {
        match self {
            FieldValue::Text(s) => Value::String(s.into_string()),
            FieldValue::Json(v) => v,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Text(s) => Value::String(s.to_string()),
            FieldValue::Json(v) => v.clone(),
        }
    }
}

impl From<Value> for FieldValue {
    fn from(v: Value) -> FieldValue {
        match v {
            Value::String(s) => FieldValue::Text(s.into()),
            other => FieldValue::Json(other),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }
}

impl PartialEq<&str> for FieldValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// The structured fields of an event, in the order the line wrote them. An event has a
/// handful, so they live in one small vector: building one costs a single allocation besides
/// the values that do not fit inline, looking a key up a short scan. A repeated key keeps its
/// first place and its last value (like a JSON object map).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(FieldKey, FieldValue)>);

impl Fields {
    /// No fields.
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    /// Room for `n` fields.
    pub fn with_capacity(n: usize) -> Fields {
        Fields(Vec::with_capacity(n))
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(k, _)| crate::fastmap::same_bytes(k.as_bytes(), key.as_bytes()))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        self.find(key).map(|i| &self.0[i].1)
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Sets `key`, returning the value it replaces.
    pub fn insert(
        &mut self,
        key: impl Into<FieldKey>,
        value: impl Into<FieldValue>,
    ) -> Option<FieldValue> {
        let (key, value) = (key.into(), value.into());
        match self.find(&key) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// Adds `key`, which the caller knows is not among the fields yet (no search for it).
    #[inline]
    pub fn push_new(&mut self, key: impl Into<FieldKey>, value: impl Into<FieldValue>) {
        let (key, value) = (key.into(), value.into());
        debug_assert!(self.find(&key).is_none(), "{key} is set already");
        self.0.push((key, value));
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<FieldValue> {
        self.find(key).map(|i| self.0.remove(i).1)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl From<Map<String, Value>> for Fields {
    fn from(m: Map<String, Value>) -> Fields {
        // Keys of a map are distinct already.
        Fields(
            m.into_iter()
                .map(|(k, v)| (FieldKey::Owned(k), v.into()))
                .collect(),
        )
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = FieldValue;
    /// The value of a key, `null` when absent (like a JSON object map).
    fn index(&self, key: &str) -> &FieldValue {
        static NULL: FieldValue = FieldValue::Json(Value::Null);
        self.get(key).unwrap_or(&NULL)
    }
}

/// Text of a JSON value: strings unquoted, scalars printed, `null` as `None`, objects as JSON.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Fields that carry the egress ID a line is about, in order of preference (livekit-server
/// names the egress participant by its ID in `participant` / `identity`).
pub const EGRESS_ID_KEYS: [&str; 6] = [
    "egressID",
    "egress_id",
    "egressId",
    "EgressId",
    "participant",
    "identity",
];

/// True when `s` is an egress ID: `EG_` followed by 12 ASCII alphanumerics.
pub fn is_egress_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 15 && b.starts_with(b"EG_") && b[3..].iter().all(u8::is_ascii_alphanumeric)
}

/// Finds the first egress ID in free text (`EG_` + 12 alphanumerics on word boundaries).
pub fn find_egress_id(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&b[from..], b"EG_") {
        let start = from + pos;
        let end = start + 15;
        let before_ok = start == 0 || !is_word_byte(b[start - 1]);
        if end <= b.len()
            && before_ok
            && b[start + 3..end].iter().all(u8::is_ascii_alphanumeric)
            && (end == b.len() || !is_word_byte(b[end]))
        {
            return text.get(start..end);
        }
        from = start + 3;
    }
    None
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_ids() {
        assert!(is_egress_id("EG_Rj7Yh2WbN5cT"));
        assert!(!is_egress_id("EGH_4TfG9sWq2Hbn"));
        assert!(!is_egress_id("EG_short"));
        assert_eq!(
            find_egress_id("stop EG_Rj7Yh2WbN5cT now"),
            Some("EG_Rj7Yh2WbN5cT")
        );
        assert_eq!(find_egress_id("xEG_Rj7Yh2WbN5cT"), None);
        assert_eq!(find_egress_id("EG_Rj7Yh2WbN5cTT"), None);
        assert_eq!(find_egress_id("EGH_4TfG9sWq2Hbn EG_"), None);
    }

    #[test]
    fn levels() {
        assert_eq!(Level::parse("WARNING"), Some(Level::Warn));
        assert_eq!(Level::parse("dpanic"), Some(Level::Error));
        assert_eq!(Level::parse("egress"), None);
    }

    #[test]
    fn fields_act_like_an_object_map() {
        let mut f = Fields::with_capacity(2);
        assert!(f.is_empty());
        assert_eq!(f.insert("b", Value::from(1)), None);
        assert_eq!(f.insert(String::from("a"), Value::from("x")), None);
        assert_eq!(f.insert("c", Value::Null), None);
        // The last of duplicate keys wins.
        assert_eq!(f.insert("b", Value::from(2)), Some(Value::from(1).into()));
        let keys: Vec<&str> = f.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(f.get("b"), Some(&Value::from(2).into()));
        assert!(f.contains_key("c") && !f.contains_key("d"));
        assert_eq!(f["d"], FieldValue::Json(Value::Null));
        assert_eq!(f.remove("a"), Some(FieldValue::from("x")));
        // Strings are held as text, never as JSON strings.
        assert_eq!(
            f.get("b").and_then(FieldValue::as_json),
            Some(&Value::from(2))
        );
        assert_eq!(FieldValue::from(Value::from("y")).as_str(), Some("y"));
        assert_eq!(FieldValue::from(Value::from("y")).as_json(), None);
        assert_eq!(FieldValue::Json(Value::from("z")).as_str(), Some("z"));
        assert_eq!(f.len(), 2);
        let mut m = Map::new();
        m.insert("z".into(), Value::from(true));
        m.insert("y".into(), Value::from(0));
        let from = Fields::from(m);
        let keys: Vec<&str> = from.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["y", "z"]);
    }

    #[test]
    fn ts_iso() {
        assert_eq!(Ts(1_769_512_265_179_000).iso(), "2026-01-27T11:11:05.179Z");
        assert_eq!(Ts(0).iso(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Ts(-1).iso(), "1969-12-31T23:59:59.999Z");
        assert_eq!(Ts(951_782_400_000_999).iso(), "2000-02-29T00:00:00.000Z");
        assert_eq!(Ts(i64::MAX).iso(), format!("@{}us", i64::MAX));
        let far = Ts(253_402_300_800_000_000); // 10000-01-01
        assert_eq!(far.iso(), "+10000-01-01T00:00:00.000Z");
    }
}
