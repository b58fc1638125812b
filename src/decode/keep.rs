//! Which fields of a structured line are kept ([`KeepFields`]): the ones some stage reads,
//! found by name in small buckets; the rest are skipped while parsing, without building their
//! values. It must not decide what a line is: only which of its fields survive.

use super::flat::Flat;
use crate::event::{FieldKey, FieldValue, Fields};
use serde_json::{Map, Value};

/// Which fields of a structured line to keep. The fast path keeps only the fields some stage
/// reads (the ID, lifecycle and error fields, plus those named by rules); everything else is
/// skipped while parsing, without building values for it.
#[derive(Debug, Clone)]
pub struct KeepFields {
    /// The built-in names, the egress ID keys and `extra` as events store them (a shared static
    /// for the built-in ones, so keeping a field allocates nothing for its name), each with its
    /// bit (see [`Kept`]), in [`KEEP_SLOTS`] buckets by [`keep_slot`]: most keys of a line land
    /// in an empty bucket.
    slots: Vec<Vec<(FieldKey, u128)>>,
    /// A rule names `request`: keep the whole request dump, not only its room name.
    whole_request: bool,
}

/// A kept field's name as events store it, and its bit among the names [`KeepFields`] keeps
/// (0 past the 128th).
pub(super) struct Kept {
    key: FieldKey,
    bit: u128,
}

/// Fields read by a flat scan, with the kept names already among them as bits: a name not yet
/// seen on the line is added without looking for it first.
pub(super) struct FlatFields {
    pub(super) fields: Fields,
    seen: u128,
}

impl FlatFields {
    pub(super) fn new() -> FlatFields {
        FlatFields {
            fields: Fields::with_capacity(8),
            seen: 0,
        }
    }

    /// Sets a kept field (the last value of a repeated name wins, as in a JSON object map).
    #[inline(always)]
    fn set(&mut self, kept: Kept, value: FieldValue) {
        if kept.bit != 0 && self.seen & kept.bit == 0 {
            self.seen |= kept.bit;
            self.fields.push_new(kept.key, value);
        } else {
            self.fields.insert(kept.key, value);
        }
    }
}

/// Buckets of [`KeepFields`].
pub(super) const KEEP_SLOTS: usize = 128;

/// The [`KeepFields`] bucket of a key: from its length and its first and last bytes.
pub(super) fn keep_slot(key: &[u8]) -> usize {
    match (key.first(), key.last()) {
        (Some(&a), Some(&z)) => {
            (key.len() * 5 + usize::from(a) * 3 + usize::from(z) * 11) % KEEP_SLOTS
        }
        _ => 0,
    }
}

/// Fields the correlator, the rule texts and the report read (besides the egress ID keys).
pub(super) const KNOWN_FIELDS: &[&str] = &[
    "level",
    "ts",
    "logger",
    "caller",
    "msg",
    "nodeID",
    "handlerID",
    "clusterID",
    "room",
    "room_name",
    "roomName",
    "requestType",
    "outputType",
    "sourceType",
    "request",
    "error",
    "code",
    "details",
    "reason",
    "endReason",
    "status",
    "version",
    "url",
    "event",
    "method",
    "apiKey",
    "path",
    "trackID",
    "element",
    "name",
    "signal",
    "cpu",
    "requests",
    "retries",
    "duration",
];

impl KeepFields {
    /// The built-in fields plus `extra` (field names from rule conditions).
    pub fn new(extra: Vec<String>) -> KeepFields {
        let builtin = KNOWN_FIELDS.iter().chain(&crate::event::EGRESS_ID_KEYS);
        let whole_request = extra.iter().any(|k| k == "request");
        let mut slots: Vec<Vec<(FieldKey, u128)>> = vec![Vec::new(); KEEP_SLOTS];
        let names = builtin
            .map(|k| FieldKey::Borrowed(k))
            .chain(extra.into_iter().map(FieldKey::Owned));
        let mut n: u32 = 0;
        for k in names {
            let slot = &mut slots[keep_slot(k.as_bytes())];
            if !slot.iter().any(|(s, _)| *s == k) {
                slot.push((k, 1u128.checked_shl(n).unwrap_or(0)));
                n += 1;
            }
        }
        KeepFields {
            slots,
            whole_request,
        }
    }

    /// The key to store for field `key`, `None` when it is not kept.
    pub(super) fn key(&self, key: &str) -> Option<FieldKey> {
        self.kept(key).map(|k| k.key)
    }

    /// [`KeepFields::key`] with the name's bit.
    #[inline(always)]
    pub(super) fn kept(&self, key: &str) -> Option<Kept> {
        let (k, bit) = self.slots[keep_slot(key.as_bytes())]
            .iter()
            .find(|(k, _)| crate::fastmap::same_bytes(k.as_bytes(), key.as_bytes()))?;
        Some(Kept {
            key: k.clone(),
            bit: *bit,
        })
    }

    /// Field `key` with its value if it is kept (`None`: skipped without building it). A
    /// `request` dump, which only its room name is read from, keeps only that name:
    /// `{"RoomComposite": {"room_name": "x"}}`.
    pub(super) fn value<'de, A: serde::de::MapAccess<'de>>(
        &self,
        key: &str,
        m: &mut A,
    ) -> Result<Option<(FieldKey, Value)>, A::Error> {
        let Some(k) = self.key(key) else {
            m.next_value::<serde::de::IgnoredAny>()?;
            return Ok(None);
        };
        if key == "request" && !self.whole_request {
            return m.next_value::<RoomOnly>().map(|r| Some((k, r.0)));
        }
        m.next_value().map(|v| Some((k, v)))
    }

    /// Keeps field `name` (its kept key `key`; `None` when it is not kept) with the value the
    /// flat scan read, as [`KeepFields::value`] would build it. False when serde_json would
    /// refuse the value, kept or not: the line then goes the general way.
    #[inline(always)]
    pub(super) fn keep_flat(
        &self,
        key: Option<Kept>,
        name: &str,
        v: Flat<'_>,
        out: &mut FlatFields,
    ) -> bool {
        let Some(key) = key else {
            return v.is_valid();
        };
        let value = if name == "request" && !self.whole_request {
            match v {
                Flat::Str(_) => v.to_field(),
                Flat::Nested(t) => serde_json::from_str::<RoomOnly>(t)
                    .ok()
                    .map(|r| FieldValue::from(r.0)),
                other => other.is_valid().then_some(FieldValue::Json(Value::Null)),
            }
        } else {
            v.to_field()
        };
        value.map(|v| out.set(key, v)).is_some()
    }
}

/// A request dump reduced to what the correlator reads: for each object inside it, only the
/// `room_name` / `roomName` strings; anything else is skipped without building it.
pub(super) struct RoomOnly(Value);

impl<'de> serde::Deserialize<'de> for RoomOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Depth 0: the request (`{"Kind": {...}}`); depth 1: the kind's object.
        struct V(u8);
        impl<'de> serde::de::DeserializeSeed<'de> for V {
            type Value = Value;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a request dump")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
                let mut out = Map::new();
                while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                    if self.0 == 0 {
                        out.insert(k.into_owned(), m.next_value_seed(V(1))?);
                    } else if k == "room_name" || k == "roomName" {
                        let v: Value = m.next_value()?;
                        if v.is_string() {
                            out.insert(k.into_owned(), v);
                        }
                    } else {
                        m.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Value::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Value::Null)
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
        }
        use serde::de::DeserializeSeed;
        V(0).deserialize(d).map(RoomOnly)
    }
}

/// A JSON object key, borrowed from the input when it has no escapes.
pub(super) struct Key<'a>(pub(super) std::borrow::Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}
