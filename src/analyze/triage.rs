//! Which entries later stages need ([`Triage::needed`], the definition) and the batch fast
//! path's judge of a line from its head ([`Triage::relevant`]): the owner of the prefilter.
//! It must not change what is needed by path: the head's verdict may only agree with `needed`.

use crate::decode::{Peek, Relevance, Verdict};
use crate::event::{Event, Format, Level};
use crate::rulebase::{FieldConditions, Regex, RuleSet, TextMatcher};
use aho_corasick::{packed, AhoCorasick, Input, MatchKind};

/// Which lines later stages need, and the batch fast path's judge of them from their head.
/// Needed ([`Triage::needed`], the definition): warnings and errors, plain text, dumps and
/// multi-line entries, lines with an error-like field or a field a rule's condition holds on,
/// lifecycle and liveness messages, and messages some rule pattern matches. Built from what
/// the rule base compiled and what the correlator declares it reads.
pub struct Triage {
    text: TextMatcher,
    /// Field conditions of the rules: (field name, pattern).
    fields: Vec<(String, Regex)>,
    /// The same conditions as the rule base asks them of a decoded entry.
    conditions: std::sync::Arc<FieldConditions>,
    /// What each of `finder`'s patterns is, in their order.
    keys: Vec<KeyRole>,
    /// Finds the keys as written in a fields object, `"key":`, in one pass. `None` only when
    /// the automaton could not be built: then every line is decoded.
    finder: Option<KeyFinder>,
    /// Per pattern in `fields`: the last value it was matched against and the verdict (field
    /// values such as `"clusterID": ""` repeat on every line).
    memo: Vec<Option<(Vec<u8>, bool)>>,
    cache: crate::fastmap::FastMap<String, bool>,
    /// The messages decided last, with their verdicts: most lines are found here with one
    /// compare, before `cache`.
    recent: crate::fastmap::RecentTexts<bool>,
    /// Some wanted key is one of zap's header keys, so the search must cover the header too.
    header_keys: bool,
    /// Field conditions on the entry's head (`level`, `logger`, `caller`), indices into
    /// `fields`: matched against what the peek read of the head, as the full decode sets it.
    head: Vec<usize>,
}

/// What a key [`Triage`] looks for means.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyRole {
    /// An error-like field: the line is needed.
    problem: bool,
    /// Its value is checked against these field conditions (indices into `Triage::fields`).
    fields: Vec<usize>,
}

/// Keys of a line's head that field conditions may name; the decoder does not keep them as
/// fields but as the event's level, logger and caller.
pub(super) const HEAD_KEYS: [&str; 3] = ["level", "logger", "caller"];

/// [`Triage`]'s search for the wanted keys: SIMD (Teddy) where the CPU has it, else an
/// Aho-Corasick automaton; both report the leftmost match first.
pub(super) enum KeyFinder {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl KeyFinder {
    /// The first key at or after `at` in `hay`: its pattern index and where it ends.
    fn find(&self, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        let m = match self {
            KeyFinder::Packed(s) => s.find_in(hay, aho_corasick::Span::from(at..hay.len())),
            KeyFinder::Automaton(a) => a.find(Input::new(hay).range(at..)),
        }?;
        Some((m.pattern().as_usize(), m.end()))
    }
}

/// Longest field value [`Triage`] remembers its verdict for (longer ones are rarely repeated).
pub(super) const MEMO_VALUE: usize = 64;

/// Slots of [`Triage`]'s table of recent messages.
pub(super) const RECENT_MESSAGES: usize = 256;

/// Fields whose presence makes a line needed.
pub(super) const PROBLEM_KEYS: [&str; 4] = ["error", "reason", "details", "endReason"];

impl Triage {
    /// A triage for the rules in `rules`.
    pub fn new(rules: &RuleSet) -> Triage {
        fn role<'k>(
            names: &mut Vec<String>,
            keys: &'k mut Vec<KeyRole>,
            name: &str,
        ) -> &'k mut KeyRole {
            let i = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.to_string());
                keys.push(KeyRole::default());
                keys.len() - 1
            });
            &mut keys[i]
        }
        let (text, fields) = rules.text_matcher();
        let mut names: Vec<String> = Vec::new();
        let mut keys: Vec<KeyRole> = Vec::new();
        for k in PROBLEM_KEYS {
            role(&mut names, &mut keys, k).problem = true;
        }
        for (i, (k, _)) in fields.iter().enumerate() {
            if !k.is_empty() && !HEAD_KEYS.contains(&k.as_str()) {
                role(&mut names, &mut keys, k).fields.push(i);
            }
        }
        let patterns: Vec<Vec<u8>> = names
            .iter()
            .map(|k| [&b"\""[..], k.as_bytes(), &b"\":"[..]].concat())
            .collect();
        // A key holds no quote, so two of these patterns never overlap and the leftmost
        // matches are all the keys' occurrences.
        let finder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&patterns)
            .build()
            .map(KeyFinder::Packed)
            .or_else(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&patterns)
                    .ok()
                    .map(KeyFinder::Automaton)
            });
        let header_keys = fields
            .iter()
            .any(|(k, _)| matches!(k.as_str(), "ts" | "msg"));
        let head = fields
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| HEAD_KEYS.contains(&k.as_str()))
            .map(|(i, _)| i)
            .collect();
        Triage {
            header_keys,
            head,
            memo: vec![None; fields.len()],
            conditions: rules.field_conditions(),
            text,
            fields,
            keys,
            finder,
            cache: crate::fastmap::FastMap::default(),
            recent: crate::fastmap::RecentTexts::new(RECENT_MESSAGES),
        }
    }
}

impl Triage {
    /// Whether lines with this message are needed for the message alone (lifecycle steps the
    /// correlator acts on, messages a rule pattern matches); remembered per message.
    fn message_wanted(&mut self, message: &str) -> bool {
        if let Some(known) = self.remembered(message) {
            return known;
        }
        let wanted = crate::correlate::wants_message(message) || self.text.any(message);
        if self.cache.len() < 8192 {
            self.cache.insert(message.to_string(), wanted);
        }
        if let Some(slot) = self.recent.remember(message) {
            *slot = wanted;
        }
        wanted
    }

    /// The verdict on a message decided before, if any: found in the table of recent ones
    /// (most lines, one compare), else in the cache (and then put in the table).
    fn remembered(&mut self, message: &str) -> Option<bool> {
        if let Some(&verdict) = self.recent.get(message) {
            return Some(verdict);
        }
        let known = self.cache.get(message).copied()?;
        if let Some(slot) = self.recent.remember(message) {
            *slot = known;
        }
        Some(known)
    }
}

impl Triage {
    /// The definition: an entry is needed when it is not a plain structured line below WARN
    /// (plain text, dumps, stack traces and warnings always are), or it has an error-like
    /// field, or a rule's field condition holds on it, or its message is wanted.
    pub(super) fn is_needed(&mut self, ev: &Event) -> bool {
        if ev.level.is_none_or(|l| l >= Level::Warn)
            || ev.continuation_lines > 0
            || !matches!(ev.format, Some(Format::Json | Format::Console))
        {
            return true;
        }
        if ev.fields.iter().any(|(k, _)| PROBLEM_KEYS.contains(&k)) {
            return true;
        }
        // The message first: it is remembered, while a field condition on a nested value (a
        // `request` dump) prints the value to match it.
        if self.message_wanted(&ev.message) {
            return true;
        }
        self.conditions.any(ev)
    }
}

impl Relevance for Triage {
    fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|(k, _)| k.clone()).collect()
    }

    fn needed(&mut self, ev: &Event) -> bool {
        self.is_needed(ev)
    }

    fn relevant(&mut self, p: &Peek<'_>) -> Verdict {
        let Some(level) = p.level.filter(|&l| l < Level::Warn) else {
            return Verdict::Needed;
        };
        for &i in &self.head {
            let (key, re) = &self.fields[i];
            let value = match key.as_str() {
                "level" => level.as_str(),
                k => match p.logger_caller() {
                    Some((logger, _)) if k == "logger" => logger,
                    Some((_, caller)) => caller,
                    None => return Verdict::Unsure,
                },
            };
            if re.is_match(value.as_bytes()) {
                return Verdict::Needed;
            }
        }
        // A message already known to be wanted decides without looking at the fields.
        let cached = self.remembered(p.message);
        if cached == Some(true) {
            return Verdict::Needed;
        }
        let Some(finder) = &self.finder else {
            return Verdict::Unsure;
        };
        // One pass over the fields for the wanted keys, written `"key":`. A key found may sit
        // in a nested value, and a value is matched as written (a JSON string without its
        // quotes, or the bare scalar): then the decoded entry decides.
        let f = p.fields.as_bytes();
        let mut at = if self.header_keys { 0 } else { p.after_head() };
        while let Some((pattern, end)) = finder.find(f, at) {
            at = end;
            let role = &self.keys[pattern];
            if role.problem {
                return Verdict::Unsure;
            }
            let Some(v) = json_value_at(&f[end..]) else {
                return Verdict::Unsure;
            };
            for &i in &role.fields {
                let hit = match &self.memo[i] {
                    Some((last, hit)) if crate::fastmap::same_bytes(last, v) => *hit,
                    _ => {
                        let hit = self.fields[i].1.is_match(v);
                        if v.len() <= MEMO_VALUE {
                            self.memo[i] = Some((v.to_vec(), hit));
                        }
                        hit
                    }
                };
                if hit {
                    return Verdict::Unsure;
                }
            }
        }
        let wanted = match cached {
            Some(known) => known,
            None => self.message_wanted(p.message),
        };
        if wanted {
            Verdict::Needed
        } else {
            Verdict::Skip
        }
    }
}

/// The raw text of the JSON value after `": "` (string contents without quotes, or the bare
/// scalar); `None` when it cannot be told cheaply (escapes, objects).
pub(super) fn json_value_at(after_key: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < after_key.len() && (after_key[i] == b' ' || after_key[i] == b':') {
        i += 1;
    }
    let rest = &after_key[i..];
    if let Some(body) = rest.strip_prefix(b"\"") {
        let end = memchr::memchr2(b'"', b'\\', body)?;
        return (body[end] == b'"').then_some(&body[..end]);
    }
    let end = rest
        .iter()
        .position(|c| matches!(c, b',' | b'}' | b' '))
        .unwrap_or(rest.len());
    (!rest.starts_with(b"{") && !rest.starts_with(b"[")).then_some(&rest[..end])
}
