//! zap JSON objects to events: the flat scan of the usual line, with serde_json as the
//! fallback for anything else, both giving the same event. It must not detect formats or
//! join lines.

use super::entry::dump_event;
use super::flat::Flat;
use super::intern::{intern, intern_owned};
use super::keep::{FlatFields, KeepFields, Key};
use super::{dump, flat, grammar};
use crate::event::{Event, FieldValue, Fields, Format, Level, Text, Ts};
use serde::de::DeserializeSeed;
use serde_json::Value;

/// The one entry point for a zap JSON object: with `keep`, the flat scan of the usual line
/// (read on from its header when the peek has read it, `head`) and serde_json for anything
/// else; without `keep`, serde_json keeping every field. Both give the same event. Returns
/// false, leaving `ev` alone, when `t` is not exactly one object holding `level` or `msg`.
pub(super) fn decode_zap_object(
    t: &str,
    head: Option<&flat::ZapHead<'_>>,
    keep: Option<&KeepFields>,
    ev: &mut Event,
) -> bool {
    match keep {
        Some(keep) => decode_zap(t, head, keep, ev),
        None => match parse_object(t, None) {
            Some(obj) if has_zap_header(&obj) => {
                apply_zap_fields(obj, ev);
                true
            }
            _ => false,
        },
    }
}

/// A zap JSON line (or an `EgressInfo` JSON object, or another JSON object). Returns false
/// when `t` is not JSON.
pub(super) fn decode_json(t: &str, ev: &mut Event, keep: Option<&KeepFields>) -> bool {
    // Only zap lines are parsed selectively; other objects (dumps, API replies) keep all.
    let zap = t.starts_with("{\"level\":");
    if zap && decode_zap_object(t, flat::zap_head(t).as_ref(), keep, ev) {
        return true;
    }
    // Not exactly one zap object: read what serde_json can (the first object of the line).
    let filtered = if zap { parse_object(t, keep) } else { None };
    let obj = match filtered {
        Some(o) => o,
        None => {
            let mut stream = serde_json::Deserializer::from_str(t).into_iter::<Value>();
            let Some(Ok(Value::Object(obj))) = stream.next() else {
                return false;
            };
            obj.into()
        }
    };
    if !has_zap_header(&obj) {
        if let Some(fields) = dump::request_object(&obj) {
            ev.format = Some(Format::Dump);
            ev.message = dump::PASTED_REQUEST.into();
            ev.fields = fields;
            return true;
        }
        if let Some(fields) = dump::json_object(&obj) {
            *ev = dump_event(std::mem::take(ev), fields);
            return true;
        }
        // Some other JSON object: keep its fields so rules can still look at them.
        ev.format = Some(Format::Json);
        ev.message = obj
            .get("message")
            .or_else(|| obj.get("error"))
            .and_then(FieldValue::text)
            .unwrap_or_default()
            .into();
        ev.fields = obj;
        return true;
    }
    apply_zap_fields(obj, ev);
    true
}

/// True when a JSON object's fields hold zap's `level` or `msg`.
fn has_zap_header(obj: &Fields) -> bool {
    obj.contains_key("level") || obj.contains_key("msg")
}

/// Fills the event from a zap object read whole by serde_json: its header keys go into the
/// event, the rest stay its fields (the stack is kept in raw text only).
fn apply_zap_fields(mut obj: Fields, ev: &mut Event) {
    let mut take = |key| obj.remove(key).map(FieldValue::into_json);
    let header = ZapHeader {
        level: take("level"),
        ts: take("ts"),
        logger: take("logger"),
        caller: take("caller"),
        msg: take("msg"),
    };
    // The stack is kept in raw text only.
    obj.remove("stacktrace");
    header.apply(ev, obj);
}

/// The values of a zap JSON line's header keys, as found: owned `Value`s from serde_json, or
/// [`Flat`] values borrowed from the line by the flat reader (no allocation beyond the texts
/// the event keeps, and none for interned ones).
pub(super) struct ZapHeader<V> {
    level: Option<V>,
    ts: Option<V>,
    logger: Option<V>,
    caller: Option<V>,
    msg: Option<V>,
}

impl<V> Default for ZapHeader<V> {
    fn default() -> Self {
        ZapHeader {
            level: None,
            ts: None,
            logger: None,
            caller: None,
            msg: None,
        }
    }
}

impl<V> ZapHeader<V> {
    /// Where the value of header key `key` goes; `None` for every other key.
    fn slot(&mut self, key: &str) -> Option<&mut Option<V>> {
        Some(match key {
            "level" => &mut self.level,
            "ts" => &mut self.ts,
            "logger" => &mut self.logger,
            "caller" => &mut self.caller,
            "msg" => &mut self.msg,
            _ => return None,
        })
    }
}

impl ZapHeader<Value> {
    /// Fills the event: header values of the wrong type are dropped.
    fn apply(self, ev: &mut Event, fields: Fields) {
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(intern_owned(s)),
            _ => None,
        };
        let level = match &self.level {
            Some(Value::String(l)) => Some(l.as_str()),
            _ => None,
        };
        let ts = self.ts.and_then(zap_ts);
        let (logger, caller, msg) = (text(self.logger), text(self.caller), text(self.msg));
        fill_zap_header(ev, level, ts, [logger, caller, msg], fields);
    }
}

/// Sets what a zap JSON header gives an event: its level word, time, logger, caller and
/// message (each `None` when absent or of the wrong type), and the kept fields.
pub(super) fn fill_zap_header(
    ev: &mut Event,
    level: Option<&str>,
    ts: Option<Ts>,
    [logger, caller, msg]: [Option<Text>; 3],
    fields: Fields,
) {
    ev.format = Some(Format::Json);
    if let Some(l) = level {
        ev.level = Level::parse(l);
    }
    ev.ts = ts;
    if logger.is_some() {
        ev.logger = logger;
    }
    if caller.is_some() {
        ev.caller = caller;
    }
    if let Some(m) = msg {
        ev.message = m;
    }
    ev.fields = fields;
}

impl<'a> ZapHeader<Flat<'a>> {
    /// False when a header value is one serde_json refuses (a malformed nested value), so the
    /// line goes the general way and is judged the same.
    fn values_ok(&self) -> bool {
        [self.level, self.ts, self.logger, self.caller, self.msg]
            .iter()
            .all(|v| v.is_none_or(Flat::is_valid))
    }

    /// The time: `Err` for a number serde_json refuses.
    fn ts(&self) -> Result<Option<Ts>, ()> {
        Ok(match self.ts {
            Some(Flat::Num(n)) => {
                let f = flat::number(n).ok_or(())?;
                Some(Ts((f * 1_000_000.0).round() as i64))
            }
            Some(Flat::Str(s)) => grammar::timestamp(s).ok().map(|(_, ts)| ts),
            _ => None,
        })
    }

    /// What the serde reading makes of the same values, the time already read.
    fn apply(self, ev: &mut Event, ts: Option<Ts>, fields: Fields) {
        let text = |v: Option<Flat<'a>>| match v {
            Some(Flat::Str(s)) => Some(intern(s)),
            _ => None,
        };
        let level = match self.level {
            Some(Flat::Str(l)) => Some(l),
            _ => None,
        };
        let (logger, caller, msg) = (text(self.logger), text(self.caller), text(self.msg));
        fill_zap_header(ev, level, ts, [logger, caller, msg], fields);
    }
}

/// A zap JSON line, its fields filtered by `keep`: the header keys (`level`, `ts`, `logger`,
/// `caller`, `msg`) go straight into the event instead of through the field map. Produces what
/// the general path does (the last of duplicate keys wins; a header value of the wrong type
/// is dropped) and returns false, leaving `ev` alone, when `t` is not exactly one object.
fn decode_zap(
    t: &str,
    head: Option<&flat::ZapHead<'_>>,
    keep: &KeepFields,
    ev: &mut Event,
) -> bool {
    #[derive(Default)]
    struct Zap {
        fields: Fields,
        header: ZapHeader<Value>,
    }
    struct Seed<'k>(&'k KeepFields);
    impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
        type Value = Zap;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Zap, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Seed<'_> {
        type Value = Zap;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Zap, A::Error> {
            let mut z = Zap::default();
            while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                if let Some(slot) = z.header.slot(&k) {
                    *slot = Some(m.next_value()?);
                } else if k == "stacktrace" {
                    m.next_value::<serde::de::IgnoredAny>()?;
                } else if let Some((k, v)) = self.0.value(&k, &mut m)? {
                    z.fields.insert(k, v);
                }
            }
            Ok(z)
        }
    }
    // The usual flat line without escapes is read directly; anything else by serde_json.
    let mut header = ZapHeader::<Flat>::default();
    let mut fields = FlatFields::new();
    let mut values_ok = true;
    let mut each = |k, v| {
        if let Some(slot) = header.slot(k) {
            *slot = Some(v);
            return;
        }
        let key = keep.kept(k).filter(|_| k != "stacktrace");
        values_ok &= keep.keep_flat(key, k, v, &mut fields);
    };
    // Zap's own header order is read in one go; the keys after it as any others (a repeated
    // header key there wins, as the last of duplicate keys does).
    let mut micros = None;
    // A header whose time is not a number (an ISO string, say) is read the general way.
    let head = head.and_then(|h| Some((h, h.time()?)));
    let read = match head.and_then(|(h, m)| Some((h, m, flat::scan_after_head(t, h, &mut each)?))) {
        Some((head, head_micros, read)) => {
            let first = [
                (&mut header.level, head.level),
                (&mut header.logger, head.logger),
                (&mut header.caller, head.caller),
                (&mut header.msg, head.msg),
            ];
            for (slot, v) in first {
                slot.get_or_insert(Flat::Str(v));
            }
            if header.ts.is_none() {
                micros = head_micros;
                header.ts = Some(Flat::Num(head.ts));
            }
            read
        }
        None => flat::scan(t, &mut each),
    };
    let ts = match micros {
        Some(m) => Ok(Some(Ts(m))),
        None => header.ts(),
    };
    if let (true, true, true, Ok(ts)) = (read, values_ok, header.values_ok(), ts) {
        if header.level.is_none() && header.msg.is_none() {
            return false;
        }
        header.apply(ev, ts, fields.fields);
        return true;
    }
    let mut de = serde_json::Deserializer::from_str(t);
    let Ok(z) = Seed(keep).deserialize(&mut de) else {
        return false;
    };
    if de.end().is_err() || (z.header.level.is_none() && z.header.msg.is_none()) {
        return false;
    }
    z.header.apply(ev, z.fields);
    true
}

/// zap's `ts`: seconds since the epoch as a number, or an ISO 8601 string.
pub(super) fn zap_ts(v: Value) -> Option<Ts> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| Ts((f * 1_000_000.0).round() as i64)),
        Value::String(s) => grammar::timestamp(&s).ok().map(|(_, ts)| ts),
        _ => None,
    }
}

/// Parses a whole JSON object keeping only the fields `keep` wants (all when `None`): the flat
/// scan first, serde_json when it cannot. The entry point for a JSON object of fields (a console
/// line's tail, a zap object read without `keep`); `None` when `t` is not exactly one object
/// (trailing text other than whitespace is refused).
pub(super) fn parse_object(t: &str, keep: Option<&KeepFields>) -> Option<Fields> {
    struct Seed<'k>(&'k KeepFields);
    impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
        type Value = Fields;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Seed<'_> {
        type Value = Fields;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Fields::with_capacity(8);
            while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                if let Some((k, v)) = self.0.value(&k, &mut m)? {
                    out.insert(k, v);
                }
            }
            Ok(out)
        }
    }
    let Some(keep) = keep else {
        return match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(o)) => Some(o.into()),
            _ => None,
        };
    };
    // The usual flat object without escapes is read directly; anything else by serde_json.
    let mut flat = FlatFields::new();
    let mut values_ok = true;
    let read = flat::scan(t, |k, v| {
        values_ok &= keep.keep_flat(keep.kept(k), k, v, &mut flat);
    });
    if read && values_ok {
        return Some(flat.fields);
    }
    let mut de = serde_json::Deserializer::from_str(t);
    let map = Seed(keep).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(map)
}
