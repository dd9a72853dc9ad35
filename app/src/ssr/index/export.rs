//! Export snapshots that hold exactly their leads across rebuilds.

use super::*;

/// Exports hold slots; a rebuild renumbers slots. So while any export is
/// open, each rebuild records where every slot went, and an export brings
/// its slots up to date before it reads (no lead twice, none missing, none
/// of another lead).
#[derive(Default)]
pub(super) struct Pins {
    /// Open exports by the epoch their slots are in.
    pub(super) open: std::collections::BTreeMap<u64, usize>,
    /// (epoch before a rebuild, the new slot of each old slot or
    /// [`GONE`]), for the epochs open exports still need.
    pub(super) moves: Vec<(u64, std::sync::Arc<[u32]>)>,
}

/// A slot that no longer holds its lead.
pub(super) const GONE: u32 = u32::MAX;

impl Pins {
    pub(super) fn close(&mut self, epoch: u64) {
        if let Some(n) = self.open.get_mut(&epoch) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&epoch);
            }
        }
        let oldest = self.open.keys().next().copied();
        self.moves.retain(|(e, _)| oldest.is_some_and(|o| *e >= o));
    }
}

impl LeadIndex {
    /// The slots of every lead matching `f`, in its sort order: what an
    /// export lists, fixed when it starts (4 bytes a lead).
    pub fn snapshot(&self, f: &Filter) -> Vec<u32> {
        let pred = self.pred(f);
        let (lo, hi) = self.date_bounds(pred.range);
        let in_range = self.by_date.rank(hi) - self.by_date.rank(lo);
        let keep = |s: &u32| pred.test(*s);
        match (f.sort.field, f.sort.desc) {
            (SortField::Date, false) => self
                .by_date
                .iter_from(lo)
                .take(in_range)
                .filter(keep)
                .collect(),
            (SortField::Date, true) => self
                .by_date
                .iter_before(hi)
                .take(in_range)
                .filter(keep)
                .collect(),
            (field, desc) => {
                let order = if field == SortField::Name {
                    &self.by_name
                } else {
                    &self.by_touch
                };
                let keep = |s: &u32| pred.in_range(*s) && pred.test(*s);
                if desc {
                    order.iter_before(order.end()).filter(keep).collect()
                } else {
                    order
                        .iter_from(order.partition_point(|_| false))
                        .filter(keep)
                        .collect()
                }
            }
        }
    }

    pub(super) fn pins(&self) -> std::sync::MutexGuard<'_, Pins> {
        // A panic elsewhere while holding it leaves valid data.
        self.pins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the next epoch; `moves` (when exports are open) says where
    /// each slot of the last one went.
    pub(super) fn moved(&mut self, moves: Option<Vec<u32>>) {
        let epoch = self.epoch;
        if let Some(m) = moves {
            self.pins().moves.push((epoch, m.into()));
        }
        self.epoch += 1;
    }

    /// An export begins: its snapshot's slots are of the epoch answered.
    pub fn pin(&self) -> u64 {
        *self.pins().open.entry(self.epoch).or_default() += 1;
        self.epoch
    }

    /// An export of `epoch` ended.
    pub fn unpin(&self, epoch: u64) {
        self.pins().close(epoch);
    }

    /// Brings `slots` of an export at `epoch` to the current layout and
    /// answers the current epoch (the export's from now on).
    pub fn follow(&self, epoch: u64, slots: &mut [u32]) -> u64 {
        if epoch == self.epoch {
            return epoch;
        }
        let mut pins = self.pins();
        for (_, to) in pins.moves.iter().filter(|(e, _)| *e >= epoch) {
            for s in slots.iter_mut() {
                *s = to.get(*s as usize).copied().unwrap_or(GONE);
            }
        }
        *pins.open.entry(self.epoch).or_default() += 1;
        pins.close(epoch);
        self.epoch
    }

    /// The leads of snapshot slots that are still leads.
    pub fn rows(&self, slots: &[u32]) -> Vec<LeadFacts> {
        slots
            .iter()
            .filter(|s| {
                self.store
                    .hot
                    .get(**s as usize)
                    .is_some_and(|h| h.flags & ALIVE != 0)
            })
            .map(|s| self.facts(*s))
            .collect()
    }
}
