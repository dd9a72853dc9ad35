//! Text search: names and e-mails by substring, phones by digits.

use super::*;

impl LeadIndex {
    /// The slots whose name or e-mail holds `q` (lower-cased), or whose
    /// phone holds one of the digit strings `digits`, as a bit set. Each
    /// string is one SIMD substring pass over its arena.
    pub(super) fn search(&self, q: &str, digits: &[String]) -> Vec<u64> {
        let s = &self.store;
        let mut bits = vec![0u64; s.hot.len() / 64 + 1];
        let live = |slot: u32| s.hot[slot as usize].flags & ALIVE != 0;
        s.text.find_all(q.as_bytes(), |off, slot, _| {
            let ok = s.cold[slot as usize].text_off == off && live(slot);
            if ok {
                bits[slot as usize / 64] |= 1u64 << (slot % 64);
            }
            // A hit in a dead record: its lead's live record lies elsewhere.
            true
        });
        // A form with a trunk `0` (`0812…`) is the national number: the rest
        // must follow the country code. Other forms may stand anywhere in the
        // digits. One SIMD pass per form: forms are few, and digits are too
        // alike for a multi-pattern prefilter to skip much.
        for d in digits {
            let national = d.strip_prefix('0').filter(|_| !d.starts_with("00"));
            let needle = national.unwrap_or(d);
            if needle.is_empty() {
                // "0": every phone has a national form starting with 0.
                for slot in 0..s.hot.len() as u32 {
                    if live(slot) && !s.phone(slot).is_empty() {
                        bits[slot as usize / 64] |= 1u64 << (slot % 64);
                    }
                }
                continue;
            }
            s.data.find_all(needle.as_bytes(), |off, slot, rel| {
                let c = &s.cold[slot as usize];
                if c.data_off != off || !live(slot) {
                    return true;
                }
                // Only the phone field counts, not the key.
                let ok = rel < c.data_ends[0] as usize
                    && national.is_none_or(|_| {
                        phone::country_code_len(&s.phone(slot)[1..]).map(|n| n + 1) == Some(rel)
                    });
                if ok {
                    bits[slot as usize / 64] |= 1u64 << (slot % 64);
                }
                ok
            });
            // The few leads with other numbers, one by one.
            for (key, phones) in &self.other_phones {
                let hit = phones.iter().any(|p| match national {
                    Some(n) => phone::country_code_len(&p[1..])
                        .is_some_and(|cc| p[1 + cc..].starts_with(n)),
                    None => p.contains(needle),
                });
                if let Some(slot) = hit.then(|| self.slot_of(key)).flatten() {
                    bits[slot as usize / 64] |= 1u64 << (slot % 64);
                }
            }
        }
        bits
    }
}
