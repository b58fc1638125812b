//! Fast lookups of short texts for the hot per-line paths: a hasher and the maps built on it,
//! a small table of texts seen last, and byte equality for short texts. It holds no log
//! knowledge and must not depend on any other module.

/// A cheap spread of a short text (its length and three of its bytes) for small direct-mapped
/// tables that remember recent texts; take it modulo the table size. Collisions only cost a
/// miss: the table's entry is compared with [`same_bytes`].
pub fn quick_slot(s: &[u8]) -> usize {
    match (s.first(), s.get(s.len() / 2), s.last()) {
        (Some(&a), Some(&m), Some(&z)) => {
            s.len() * 7 + usize::from(a) * 3 + usize::from(m) * 5 + usize::from(z) * 11
        }
        _ => 0,
    }
}

/// A small direct-mapped table of texts seen last and a value for each, in front of a hash
/// map: a text is found with one comparison, and a new one replaces whatever shared its slot
/// (the map behind it still knows it). The empty text is never remembered.
#[derive(Debug, Clone)]
pub struct RecentTexts<V> {
    slots: Vec<(String, V)>,
}

impl<V: Clone + Default> RecentTexts<V> {
    /// A table of `n` slots.
    pub fn new(n: usize) -> RecentTexts<V> {
        RecentTexts {
            slots: vec![(String::new(), V::default()); n.max(1)],
        }
    }

    fn slot(&self, text: &str) -> usize {
        quick_slot(text.as_bytes()) % self.slots.len()
    }

    /// The value remembered for `text`.
    #[inline]
    pub fn get(&self, text: &str) -> Option<&V> {
        let (last, v) = &self.slots[self.slot(text)];
        (!text.is_empty() && same_text(last.as_bytes(), text.as_bytes())).then_some(v)
    }

    /// Remembers `text` in its slot and returns its value, which the caller must set (it still
    /// holds the slot's previous value); `None` for the empty text.
    pub fn remember(&mut self, text: &str) -> Option<&mut V> {
        if text.is_empty() {
            return None;
        }
        let at = self.slot(text);
        let (last, v) = &mut self.slots[at];
        last.clear();
        last.push_str(text);
        Some(v)
    }
}

/// Byte equality for short texts (field names, keys) in a few loads instead of a library
/// call: the hot paths compare names of 2 to 16 bytes many times per line.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| <[u8; 8]>::try_from(&s[i..i + 8]).map_or(0, u64::from_le_bytes);
    let half = |s: &[u8], i: usize| <[u8; 4]>::try_from(&s[i..i + 4]).map_or(0, u32::from_le_bytes);
    match n {
        // The first and the last (overlapping) words cover the text.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// [`same_bytes`] for messages, which are mostly 16 to 32 bytes long: four loads each instead
/// of a library call, whose size dispatch costs more than the compare.
#[inline]
fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| <[u8; 8]>::try_from(&s[i..i + 8]).map_or(0, u64::from_le_bytes);
    match n {
        // Two words from each end (overlapping) cover the text.
        17..=32 => {
            (word(a, 0) ^ word(b, 0))
                | (word(a, 8) ^ word(b, 8))
                | (word(a, n - 16) ^ word(b, n - 16))
                | (word(a, n - 8) ^ word(b, n - 8))
                == 0
        }
        _ => same_bytes(a, b),
    }
}

/// A fast, non-cryptographic hasher for the hot per-line maps keyed by short strings (egress
/// IDs, messages): eight bytes per multiply (the scheme of rustc's `FxHasher`), so a
/// 25-byte message costs four dependent multiplies instead of one per byte. Log content cannot
/// choose bucket collisions usefully here: the maps are bounded and only speed depends on them.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // Spread the high bits, which the multiply mixes best, into the low ones the table
        // indexes with.
        self.0.rotate_left(20)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps `ab` and `ab\0` apart.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// A `HashMap` with the [`FastHasher`] hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// A `HashSet` with the [`FastHasher`] hasher.
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_texts_remember_the_last_text_of_each_slot() {
        let mut r = RecentTexts::<u32>::new(4);
        assert_eq!(r.get("request validated"), None);
        *r.remember("request validated").unwrap() = 7;
        assert_eq!(r.get("request validated"), Some(&7));
        assert_eq!(r.get("request validatex"), None);
        // The empty text is never remembered, so a fresh slot never answers for it.
        assert!(r.remember("").is_none());
        assert_eq!(r.get(""), None);
        // A text sharing the slot replaces the one before.
        let other = (0..100)
            .map(|i| format!("m{i}"))
            .find(|t| quick_slot(t.as_bytes()) % 4 == quick_slot(b"request validated") % 4)
            .unwrap();
        *r.remember(&other).unwrap() = 9;
        assert_eq!(r.get(&other), Some(&9));
        assert_eq!(r.get("request validated"), None);
    }

    #[test]
    fn same_bytes_equals_slice_equality() {
        let texts = [
            "",
            "a",
            "b",
            "ab",
            "abc",
            "abd",
            "abcd",
            "abce",
            "abcdefg",
            "abcdefh",
            "bbcdefg",
            "egressID",
            "egressId",
            "handlerID",
            "endReason",
            "clusterID",
            "clusterIE",
            "sixteen-bytes-ok",
            "sixteen-bytes-no",
            "seventeen-bytes-x",
            "seventeen-bytes-y",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(
                    same_bytes(a.as_bytes(), b.as_bytes()),
                    a == b,
                    "{a:?} {b:?}"
                );
            }
        }
        // Every length up to past the word compares, differing at each position in turn.
        for n in 0..80usize {
            let a: Vec<u8> = (b'a'..=b'z').cycle().take(n).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            assert!(same_text(&a, &a.clone()), "{n}");
            for p in 0..n {
                let mut b = a.clone();
                b[p] = b'#';
                assert!(!same_bytes(&a, &b), "{n} {p}");
                assert!(!same_text(&a, &b), "{n} {p}");
            }
            assert!(!same_text(&a, &a[..n.saturating_sub(1)]) || n == 0, "{n}");
        }
    }

    #[test]
    fn fast_hash_tells_short_strings_apart() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let b = BuildHasherDefault::<FastHasher>::default();
        let texts = [
            "",
            "a",
            "ab",
            "ab\0",
            "request received",
            "request validated",
            "EG_Rj7Yh2WbN5cT",
            "EG_Rj7Yh2WbN5cU",
            "12345678",
            "123456789",
        ];
        let hashes: FastSet<u64> = texts.iter().map(|t| b.hash_one(t)).collect();
        assert_eq!(hashes.len(), texts.len());
        assert_eq!(b.hash_one("egress"), b.hash_one(String::from("egress")));
    }
}
