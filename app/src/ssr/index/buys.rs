//! The buyers' attributed purchases: one flat list in which each buyer's
//! purchases sit together, so the ads report by purchase date reads them
//! in sequence (a boxed list per buyer cost a cache miss each: most of a
//! year's report), with a table from slot to where its run is.

use super::*;

/// A `slots` entry of a run that was replaced or removed.
const DEAD: u32 = u32::MAX;

#[derive(Default)]
pub(super) struct Buys {
    /// Per entry: its lead's slot (or [`DEAD`]) and the purchase.
    slots: Vec<u32>,
    items: Vec<Purchase>,
    /// Slot to (first entry, count).
    runs: HashMap<u32, (u32, u32)>,
    dead: usize,
}

impl Buys {
    /// A lead's purchases (empty when it has none).
    pub(super) fn get(&self, slot: u32) -> &[Purchase] {
        self.runs.get(&slot).map_or(&[], |(at, n)| {
            &self.items[*at as usize..(*at + *n) as usize]
        })
    }

    /// Replaces a lead's purchases.
    pub(super) fn set(&mut self, slot: u32, purchases: &[Purchase]) {
        if self.get(slot) == purchases {
            return;
        }
        self.remove(slot);
        let (Ok(at), Ok(n)) = (
            u32::try_from(self.items.len()),
            u32::try_from(purchases.len()),
        ) else {
            return;
        };
        if purchases.is_empty() {
            return;
        }
        self.slots
            .extend(std::iter::repeat_n(slot, purchases.len()));
        self.items.extend_from_slice(purchases);
        self.runs.insert(slot, (at, n));
        if self.dead > 4096 && self.dead * 2 > self.items.len() {
            self.renumber(|s| Some(s));
        }
    }

    pub(super) fn remove(&mut self, slot: u32) {
        if let Some((at, n)) = self.runs.remove(&slot) {
            self.slots[at as usize..(at + n) as usize].fill(DEAD);
            self.dead += n as usize;
        }
    }

    /// Lays the runs out again in slot order, each lead's slot changed by
    /// `to` (`None`: gone), dropping dead entries.
    pub(super) fn renumber(&mut self, to: impl Fn(u32) -> Option<u32>) {
        let mut order: Vec<(u32, u32, u32)> = self
            .runs
            .iter()
            .filter_map(|(slot, (at, n))| to(*slot).map(|new| (new, *at, *n)))
            .collect();
        order.sort_unstable();
        let live: usize = order.iter().map(|r| r.2 as usize).sum();
        let mut out = Buys {
            slots: Vec::with_capacity(live),
            items: Vec::with_capacity(live),
            runs: HashMap::with_capacity(order.len()),
            dead: 0,
        };
        for (new, at, n) in order {
            let run = &self.items[at as usize..(at + n) as usize];
            out.runs.insert(new, (out.items.len() as u32, n));
            out.slots.extend(std::iter::repeat_n(new, run.len()));
            out.items.extend_from_slice(run);
        }
        *self = out;
    }

    /// Every lead's run, in list order.
    pub(super) fn each(&self, mut visit: impl FnMut(u32, &[Purchase])) {
        let mut i = 0;
        while i < self.slots.len() {
            let slot = self.slots[i];
            let mut j = i + 1;
            while j < self.slots.len() && self.slots[j] == slot {
                j += 1;
            }
            if slot != DEAD {
                visit(slot, &self.items[i..j]);
            }
            i = j;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 4
            + self.items.capacity() * std::mem::size_of::<Purchase>()
            + self.runs.capacity() * (12 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn bought(n: i64) -> Vec<Purchase> {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .expect("t");
        (0..n % 3 + 1)
            .map(|i| Purchase {
                at: t + chrono::Duration::hours(n + i),
                value: n * 100 + i,
            })
            .collect()
    }

    /// Replacing, removing and compacting keep exactly each lead's latest
    /// purchases, readable by slot and visited once each.
    #[test]
    fn runs_follow_replacements_compaction_and_renumbering() {
        let mut buys = Buys::default();
        let mut model: std::collections::BTreeMap<u32, Vec<Purchase>> = Default::default();
        for round in 0..4i64 {
            for slot in 0..3000u32 {
                let p = bought(i64::from(slot) + round);
                if (slot + round as u32) % 7 == 0 {
                    buys.set(slot, &[]);
                    model.remove(&slot);
                } else {
                    buys.set(slot, &p);
                    model.insert(slot, p);
                }
            }
        }
        // Enough replacements to have compacted on the way.
        assert!(buys.dead * 2 <= buys.items.len() || buys.dead <= 4096);
        let check = |buys: &Buys, model: &std::collections::BTreeMap<u32, Vec<Purchase>>| {
            let mut seen = std::collections::BTreeMap::new();
            buys.each(|slot, p| assert!(seen.insert(slot, p.to_vec()).is_none()));
            assert_eq!(&seen, model);
            for slot in 0..3001u32 {
                assert_eq!(buys.get(slot), model.get(&slot).map_or(&[][..], |p| &p[..]));
            }
        };
        check(&buys, &model);
        // Renumbering: odd slots gone, even ones halved.
        buys.renumber(|s| (s % 2 == 0).then_some(s / 2));
        let model: std::collections::BTreeMap<u32, Vec<Purchase>> = model
            .into_iter()
            .filter(|(s, _)| s % 2 == 0)
            .map(|(s, p)| (s / 2, p))
            .collect();
        check(&buys, &model);
        assert_eq!(buys.dead, 0);
    }
}
