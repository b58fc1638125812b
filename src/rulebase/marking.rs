//! Which rule patterns an event marks, for the correlator ([`Marker`] for [`RuleSet`]), with the
//! marks of message texts cached per distinct text in a [`Marking`] the correlator holds. It
//! must not interpret marks: the rules do, on the egresses the correlator builds.

use super::{match_text, RuleSet};
use crate::correlate::{Marker, Status};
use crate::event::Event;
use crate::fastmap::{FastMap, RecentTexts};

/// Most distinct texts whose marks are cached.
const MARK_CACHE: usize = 8192;
/// Slots of the table of recently marked texts.
const RECENT_MARKS: usize = 256;

/// The marks already found for message texts, for one correlator (one thread): the texts
/// marked last, found with one compare, in front of a bounded map of every text marked so far.
/// A correlator holds one and hands it back with each question ([`Marker::marks`]).
#[derive(Debug, Clone)]
pub struct Marking {
    /// Marks per distinct text (at most [`MARK_CACHE`] texts).
    cache: FastMap<String, Vec<u16>>,
    /// The texts marked last, with their marks: most events are found here, before `cache`.
    recent: RecentTexts<Vec<u16>>,
}

impl Default for Marking {
    fn default() -> Marking {
        Marking {
            cache: FastMap::default(),
            recent: RecentTexts::new(RECENT_MARKS),
        }
    }
}

impl Marker for RuleSet {
    fn marks(&self, state: &mut Marking, ev: &Event, out: &mut Vec<u16>) {
        let key = self.text_key(ev);
        if let Some(marks) = state.recent.get(&key) {
            out.extend_from_slice(marks);
            self.raw_marks(ev, out);
            return;
        }
        match state.cache.get(key.as_ref()) {
            Some(m) => {
                out.extend_from_slice(m);
                if let Some(marks) = state.recent.remember(&key) {
                    marks.clear();
                    marks.extend_from_slice(m);
                }
            }
            None => {
                let start = out.len();
                self.text_marks(&key, out);
                if state.cache.len() < MARK_CACHE {
                    state.cache.insert(key.into_owned(), out[start..].to_vec());
                }
            }
        }
        self.raw_marks(ev, out);
    }

    fn pasted_error(&self, text: &str) -> Option<(Status, Option<i64>)> {
        self.pasted
            .iter()
            .find(|p| text.starts_with(p.prefix.as_str()))
            .map(|p| (p.status, p.code))
    }
}

impl RuleSet {
    /// The text that message patterns are matched against (the message, plus error-like
    /// fields). Lines with the same text always get the same text marks, so they are cached.
    fn text_key<'a>(&self, ev: &'a Event) -> std::borrow::Cow<'a, str> {
        match_text(ev)
    }

    /// Appends the indices of the message patterns `text` matches.
    fn text_marks(&self, text: &str, out: &mut Vec<u16>) {
        self.msg_set
            .matches(text.as_bytes(), |i| out.push(self.msg_index[i]));
    }

    /// Appends the indices of the raw-line and field patterns the event matches (never
    /// cached: they depend on more than the text).
    fn raw_marks(&self, ev: &Event, out: &mut Vec<u16>) {
        // Raw-line patterns look at the lines where raw text says more than the fields:
        // plain text, multi-line entries (stack traces) and warnings or errors.
        let worth = ev.format == Some(crate::event::Format::Raw)
            || ev.continuation_lines > 0
            || ev.level.is_none_or(|l| l >= crate::event::Level::Warn);
        if worth && !self.raw_set.is_empty() {
            self.raw_set
                .matches(ev.raw.as_bytes(), |i| out.push(self.raw_index[i]));
        }
        self.fields.marks(ev, out);
    }
}
