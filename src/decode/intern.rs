//! Interning of the texts that repeat on most lines (loggers, callers, messages): bounded,
//! process-wide, shared by the decoding threads. It must not hold anything but those texts.

use crate::event::Text;

/// Most texts kept process-wide by [`intern`], and the longest one.
pub(super) const MAX_INTERNED: usize = 4096;
pub(super) const MAX_INTERNED_LEN: usize = 128;

thread_local! {
    /// This thread's view of the interned texts (no lock on a hit).
    static INTERNED: std::cell::RefCell<crate::fastmap::FastSet<&'static str>> =
        std::cell::RefCell::new(crate::fastmap::FastSet::default());
    /// The interned texts this thread found last, by [`recent_slot`]: a hit costs one compare
    /// instead of a hash and a probe.
    static RECENT_INTERNED: std::cell::RefCell<[&'static str; RECENT_SLOTS]> =
        const { std::cell::RefCell::new([""; RECENT_SLOTS]) };
}

/// Slots of [`RECENT_INTERNED`].
pub(super) const RECENT_SLOTS: usize = 512;

/// The [`RECENT_INTERNED`] slot of a text.
pub(super) fn recent_slot(s: &[u8]) -> usize {
    crate::fastmap::quick_slot(s) % RECENT_SLOTS
}

/// Every interned text, shared by the decoding threads.
pub(super) static SHARED_INTERNED: std::sync::LazyLock<
    std::sync::Mutex<crate::fastmap::FastSet<&'static str>>,
> = std::sync::LazyLock::new(Default::default);

/// `s` as a [`Text`]: loggers, callers and messages repeat on most lines, so the first
/// [`MAX_INTERNED`] short ones are stored once for the whole process (and never freed) and
/// events share them instead of allocating, copying and freeing a copy each. Later or longer
/// texts are copied. Bounded, so memory stays flat whatever the input.
pub fn intern(s: &str) -> Text {
    lookup_interned(s).map_or_else(|| Text::Owned(s.to_string()), Text::Borrowed)
}

/// [`intern`] for a text already owned: kept as it is when it is not interned.
pub(super) fn intern_owned(s: String) -> Text {
    lookup_interned(&s).map_or(Text::Owned(s), Text::Borrowed)
}

pub(super) fn lookup_interned(s: &str) -> Option<&'static str> {
    if s.len() > MAX_INTERNED_LEN {
        return None;
    }
    let slot = recent_slot(s.as_bytes());
    let recent = RECENT_INTERNED.with(|r| r.borrow()[slot]);
    if !s.is_empty() && crate::fastmap::same_bytes(recent.as_bytes(), s.as_bytes()) {
        return Some(recent);
    }
    let found = lookup_interned_set(s);
    if let Some(k) = found {
        RECENT_INTERNED.with(|r| r.borrow_mut()[slot] = k);
    }
    found
}

/// [`lookup_interned`] past the recent texts: this thread's set, then the shared one.
pub(super) fn lookup_interned_set(s: &str) -> Option<&'static str> {
    INTERNED.with(|local| {
        let mut local = local.borrow_mut();
        if let Some(&k) = local.get(s) {
            return Some(k);
        }
        if local.len() >= MAX_INTERNED {
            return None;
        }
        let mut shared = SHARED_INTERNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let k = match shared.get(s) {
            Some(&k) => k,
            None if shared.len() < MAX_INTERNED => {
                let k: &'static str = Box::leak(s.to_string().into_boxed_str());
                shared.insert(k);
                k
            }
            None => return None,
        };
        local.insert(k);
        Some(k)
    })
}
