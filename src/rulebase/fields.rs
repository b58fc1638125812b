//! The rules' field conditions (`fields = { key = 're' }`), compiled once and asked of an
//! entry in one pass over its fields: the marks ([`super::Marker`]) and the triage's
//! definition of a needed entry ask the same [`FieldConditions`]. What a condition means is
//! [`super::field_condition_holds`]; a test checks that these answers are its answers.

use super::patterns::{contains_any_case, required_literals};
use super::{field_condition_holds, Regex, HEAD_FIELDS};
use crate::event::{Event, FieldValue};
use serde_json::Value;

/// A rule's condition on a field's value, as the correlator marks lines with it.
#[derive(Debug)]
pub(super) struct FieldPattern {
    pub(super) key: String,
    pub(super) re: Regex,
    /// Its index among the patterns (the mark it sets).
    pub(super) idx: u16,
    /// Whether it matches an empty value (`"clusterID": ""` is on every zap line: its verdict
    /// is known without running the pattern).
    on_empty: bool,
    /// Words one of which the printed text of a nested value (an object or array) must hold
    /// for the pattern to match it: `None` when the pattern needs none that can be looked for
    /// in the value's strings instead (see [`FieldPattern::holds_on`]).
    nested_words: Option<Vec<Vec<u8>>>,
}

impl FieldPattern {
    pub(super) fn new(key: &str, src: &str, re: Regex, idx: u16) -> FieldPattern {
        FieldPattern {
            key: key.to_string(),
            on_empty: re.is_match(b""),
            nested_words: required_literals(src).filter(|ls| ls.iter().all(|l| plain_word(l))),
            re,
            idx,
        }
    }

    /// Whether the condition holds on a field's value: [`field_condition_holds`] once the
    /// field is found. A nested value is matched as its compact JSON text; when the pattern
    /// needs a plain word (letters, `_` and spaces) and no key or string of the value holds
    /// one, no printed text of it can, and it is not printed.
    fn holds_on(&self, v: &FieldValue) -> bool {
        match v.as_str() {
            Some("") => self.on_empty,
            Some(s) => self.re.is_match(s.as_bytes()),
            None => {
                let printed = || v.text().is_some_and(|t| self.re.is_match(t.as_bytes()));
                match (&self.nested_words, v.as_json()) {
                    (Some(words), Some(json @ (Value::Object(_) | Value::Array(_)))) => {
                        let shortest = words.iter().map(Vec::len).min().unwrap_or(0);
                        may_print_word(json, words, shortest) && printed()
                    }
                    _ => printed(),
                }
            }
        }
    }
}

/// A word whose every occurrence in compact JSON text lies inside one key or string, as
/// written: two or more letters, underscores and spaces (no quote, bracket, colon or comma
/// ends it; a number holds no two such bytes in a row), and not part of `true`, `false`
/// or `null`.
fn plain_word(w: &[u8]) -> bool {
    w.len() >= 2
        && w.iter()
            .all(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b' ')
        && !["true", "false", "null"].iter().any(|k| {
            k.as_bytes()
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w))
        })
}

/// Whether the compact JSON text of `v` may hold one of `words` (plain words, lower case,
/// the shortest `shortest` bytes long): some key or string holds one, or a key or string is
/// printed with escapes (whose letters could make one).
fn may_print_word(v: &Value, words: &[Vec<u8>], shortest: usize) -> bool {
    let text = |s: &str| {
        let s = s.as_bytes();
        s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
            || (s.len() >= shortest && words.iter().any(|w| contains_any_case(s, w)))
    };
    match v {
        Value::String(s) => text(s),
        Value::Array(a) => a.iter().any(|v| may_print_word(v, words, shortest)),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| text(k) || may_print_word(v, words, shortest)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A field name's bit in [`FieldConditions::key_lengths`].
fn length_bit(name: &str) -> u64 {
    1 << name.len().min(63)
}

/// The field conditions of a rule base, grouped by the field they look at.
#[derive(Debug, Default)]
pub struct FieldConditions {
    pub(super) patterns: Vec<FieldPattern>,
    /// The fields conditions look at (not the head's), each with its conditions (indices
    /// into `patterns`).
    by_key: Vec<(String, Vec<usize>)>,
    /// A bit per length of those names (bit 63: 63 bytes or more): most fields of an entry
    /// are told apart by their length alone.
    key_lengths: u64,
    /// Conditions on the head (`logger`, `caller`, `level`).
    head: Vec<usize>,
}

impl FieldConditions {
    pub(super) fn new(patterns: Vec<FieldPattern>) -> FieldConditions {
        let mut by_key: Vec<(String, Vec<usize>)> = Vec::new();
        let mut head = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if HEAD_FIELDS.contains(&p.key.as_str()) {
                head.push(i);
            } else if let Some((_, list)) = by_key.iter_mut().find(|(k, _)| *k == p.key) {
                list.push(i);
            } else {
                by_key.push((p.key.clone(), vec![i]));
            }
        }
        let key_lengths = by_key.iter().fold(0, |bits, (k, _)| bits | length_bit(k));
        FieldConditions {
            patterns,
            by_key,
            key_lengths,
            head,
        }
    }

    /// Calls `each` with every condition that holds on `ev` (an index into `patterns`),
    /// each field looked up once; `each` returns `false` to stop.
    fn each_holding(&self, ev: &Event, mut each: impl FnMut(usize) -> bool) {
        for &i in &self.head {
            let p = &self.patterns[i];
            if field_condition_holds(ev, &p.key, &p.re) && !each(i) {
                return;
            }
        }
        if self.by_key.is_empty() {
            return;
        }
        // (Field names are distinct: the first field of a name is its only one.)
        for (k, v) in ev.fields.iter() {
            if self.key_lengths & length_bit(k) == 0 {
                continue;
            }
            let Some((_, list)) = self
                .by_key
                .iter()
                .find(|(key, _)| crate::fastmap::same_bytes(key.as_bytes(), k.as_bytes()))
            else {
                continue;
            };
            for &i in list {
                if self.patterns[i].holds_on(v) && !each(i) {
                    return;
                }
            }
        }
    }

    /// Appends the marks of the conditions that hold on `ev`, in pattern order.
    pub(super) fn marks(&self, ev: &Event, out: &mut Vec<u16>) {
        let start = out.len();
        self.each_holding(ev, |i| {
            out.push(self.patterns[i].idx);
            true
        });
        out[start..].sort_unstable();
    }

    /// Whether some condition holds on `ev`.
    pub fn any(&self, ev: &Event) -> bool {
        let mut found = false;
        self.each_holding(ev, |_| {
            found = true;
            false
        });
        found
    }
}
