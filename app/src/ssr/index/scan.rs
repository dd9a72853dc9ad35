//! Which leads a filter keeps, the scans over a date range that visit
//! them (in Date order, or counted per hour where whole hours allow), and
//! the one visitor reports read through.

use super::*;

/// What a report reads of one lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Its Date.
    pub date: Stamp,
    /// Its first source's group (rule 5's sameness; 0: no source), see
    /// [`LeadIndex::group_source`].
    pub group: u32,
    /// Seconds from Date to First Touched At, if answered.
    pub wait: Option<i64>,
    /// Lead quality: engaged, one message, buyer.
    pub engaged: bool,
    pub one_message: bool,
    pub buyer: bool,
    /// Where the lead is, for [`LeadIndex::last_group`] and
    /// [`LeadIndex::purchases`] (valid while the index is read).
    pub slot: u32,
}

impl LeadIndex {
    /// Calls `visit` with every lead matching `f` (paging ignored), in no
    /// particular order. Generic, so each report's loop is compiled with
    /// the scan: a year's summary costs what it cost inside the index.
    #[inline]
    pub fn each(&self, f: &Filter, mut visit: impl FnMut(Seen)) {
        let pred = self.pred(f);
        let hot = &self.store.hot;
        let group = &self.sources.group;
        self.scan(pred.range, &pred, |slot| {
            let h = &hot[slot as usize];
            visit(Seen {
                date: h.date(),
                group: group[h.src as usize],
                wait: self.wait(slot),
                engaged: h.flags & ENGAGED != 0,
                one_message: h.flags & ONE_MESSAGE != 0,
                buyer: h.flags & BUYER != 0,
                slot,
            })
        });
    }

    /// A lead's first source's group (0: none).
    #[inline]
    pub fn first_group(&self, slot: u32) -> u32 {
        self.sources.group[self.store.hot[slot as usize].src as usize]
    }

    /// A lead's last source's group (rule 5; 0: none).
    #[inline]
    pub fn last_group(&self, slot: u32) -> u32 {
        let src = self.store.cold[slot as usize].last_src;
        self.sources.group[src as usize]
    }

    /// A lead's attributed purchases (empty unless a buyer).
    #[inline]
    pub fn purchases(&self, slot: u32) -> &[Purchase] {
        self.purchases_of(slot)
    }

    /// Every buyer among the leads matching `f` by everything but the date
    /// range (a purchase made in a range may be a lead's of any day), with
    /// its slot: the ads report by purchase date.
    pub fn each_buyer(&self, f: &Filter, mut visit: impl FnMut(u32, &[Purchase])) {
        let pred = self.pred(f);
        for key in self.purchases.keys() {
            if let Some(slot) = self.slot_of(key) {
                if pred.test(slot) {
                    visit(slot, self.purchases_of(slot));
                }
            }
        }
    }

    /// How many source groups there are: every [`Seen::group`] is below.
    pub fn source_groups(&self) -> usize {
        self.sources.group_first.len()
    }

    /// The source a group shows (the first of its sources seen); `None`
    /// for group 0, leads without a first source.
    pub fn group_source(&self, group: u32) -> Option<Source> {
        self.sources
            .group_first
            .get(group as usize)
            .and_then(|first| self.sources.get(*first))
    }

    /// Seconds from a lead's Date to its First Touched At, if answered.
    #[inline]
    pub(super) fn wait(&self, slot: u32) -> Option<i64> {
        let h = &self.store.hot[slot as usize];
        match h.wait {
            UNTOUCHED => None,
            WAIT_SATURATED => {
                let c = &self.store.cold[slot as usize];
                Some((time(c.touch()) - time(h.date())).num_seconds())
            }
            w => Some(i64::from(w)),
        }
    }
}

/// The conditions of a filter other than its date range and paging.
pub(super) struct Pred<'a> {
    pub(super) channels: Option<u16>,
    pub(super) sources: Option<Vec<bool>>,
    pub(super) touched: Option<bool>,
    /// Quality bits that must be set, and that must be clear.
    pub(super) quality_on: u8,
    pub(super) quality_off: u8,
    /// The `CAPI_*` state a lead must be in.
    pub(super) capi: Option<u8>,
    pub(super) matches: Option<Vec<u64>>,
    pub(super) range: (Stamp, Stamp),
    pub(super) store: &'a Store,
}

impl Pred<'_> {
    pub(super) fn is_trivial(&self) -> bool {
        self.channels.is_none()
            && self.sources.is_none()
            && self.touched.is_none()
            && self.quality_on | self.quality_off == 0
            && self.capi.is_none()
            && self.matches.is_none()
    }

    /// Everything but the date range.
    #[inline]
    pub(super) fn test(&self, slot: u32) -> bool {
        let h = &self.store.hot[slot as usize];
        if h.flags & ALIVE == 0 {
            return false;
        }
        if let Some(mask) = self.channels {
            if mask & (1u16 << h.channel) == 0 {
                return false;
            }
        }
        if let Some(ok) = &self.sources {
            if !ok.get(h.src as usize).copied().unwrap_or(false) {
                return false;
            }
        }
        if let Some(t) = self.touched {
            if (h.wait != UNTOUCHED) != t {
                return false;
            }
        }
        if h.flags & self.quality_on != self.quality_on || h.flags & self.quality_off != 0 {
            return false;
        }
        if self.capi.is_some_and(|c| c != h.capi) {
            return false;
        }
        if let Some(bits) = &self.matches {
            let s = slot as usize;
            if bits.get(s / 64).is_none_or(|w| w & (1u64 << (s % 64)) == 0) {
                return false;
            }
        }
        true
    }

    pub(super) fn in_range(&self, slot: u32) -> bool {
        let d = self.store.hot[slot as usize].date();
        d >= self.range.0 && d < self.range.1
    }
}

impl LeadIndex {
    pub(super) fn pred(&self, f: &Filter) -> Pred<'_> {
        let channels = (!f.channels.is_empty()).then(|| {
            f.channels
                .iter()
                .filter_map(|c| CHANNELS.iter().position(|k| k == c))
                .fold(0u16, |m, i| m | (1u16 << i))
        });
        let sources = f.source.as_deref().map(|want| {
            self.sources
                .list
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // `none`: leads without a first source (organic).
                    if want == "none" {
                        i == 0
                    } else {
                        i != 0 && (s.platform == want || s.id.as_deref() == Some(want))
                    }
                })
                .collect()
        });
        // `answered` is `touched`; both given and differing match nothing
        // (an impossible pair of bits stands for that).
        let (mut quality_on, mut quality_off, mut touched) = (0u8, 0u8, f.touched);
        for (q, want) in &f.quality {
            let bit = match q {
                Quality::Answered => {
                    if touched.is_some_and(|t| t != *want) {
                        quality_on |= ALIVE;
                        quality_off |= ALIVE;
                    }
                    touched = Some(*want);
                    continue;
                }
                Quality::Engaged => ENGAGED,
                Quality::OneMessage => ONE_MESSAGE,
                Quality::Buyer => BUYER,
            };
            if *want {
                quality_on |= bit;
            } else {
                quality_off |= bit;
            }
        }
        Pred {
            channels,
            sources,
            touched,
            quality_on,
            quality_off,
            capi: f.capi.map(|c| match c {
                CapiState::Sent => CAPI_SENT,
                CapiState::Pending => CAPI_PENDING,
                CapiState::Rejected => CAPI_REJECTED,
                CapiState::NotSendable => CAPI_NOT_SENDABLE,
            }),
            matches: f.q.as_deref().map(|q| self.search(q, &f.q_phone)),
            range: (stamp(f.start), stamp(f.end)),
            store: &self.store,
        }
    }

    /// How many leads of the date range `range` meet `pred`, read one by one.
    pub(super) fn count(&self, range: (Stamp, Stamp), pred: &Pred) -> usize {
        let mut n = 0;
        self.scan(range, pred, |_| n += 1);
        n
    }

    /// Calls `f` with every lead of the date range `range` that meets
    /// `pred`, in no particular order. A range holding a good share of all
    /// leads is read in slot order, memory in sequence (the Date order
    /// jumps around memory when leads arrived out of Date order: three
    /// times slower over a year of leads); a smaller one through the Date
    /// order.
    pub(super) fn scan(&self, range: (Stamp, Stamp), pred: &Pred, mut f: impl FnMut(u32)) {
        let (a, b) = self.date_bounds(range);
        let n = self.by_date.rank(b) - self.by_date.rank(a);
        let hot = &self.store.hot;
        if n * 4 >= hot.len() {
            for (slot, h) in hot.iter().enumerate() {
                let d = h.date();
                if d >= range.0 && d < range.1 && pred.test(slot as u32) {
                    f(slot as u32);
                }
            }
        } else {
            for slot in self.by_date.slices_from(a, n).flatten().copied() {
                if pred.test(slot) {
                    f(slot);
                }
            }
        }
    }

    /// Where the date range `[start, end)` lies in the Date order.
    pub(super) fn date_bounds(&self, range: (Stamp, Stamp)) -> (Pos, Pos) {
        let h = &self.store.hot;
        (
            self.by_date
                .partition_point(|s| h[s as usize].date() < range.0),
            self.by_date
                .partition_point(|s| h[s as usize].date() < range.1),
        )
    }

    /// How many leads of the range `[lo, lo + n)` of the Date order meet
    /// `pred` (no search). One dimension alone (channel, answered, source)
    /// adds up the hourly counts of the whole hours and reads only the leads
    /// of the partial hours at both ends; otherwise every lead is read.
    pub(super) fn filtered_total(&self, pred: &Pred) -> usize {
        let dims = [
            pred.channels.is_some(),
            pred.sources.is_some(),
            pred.touched.is_some(),
        ];
        let (start, end) = pred.range;
        // The first whole hour at or after the start, the last one's end.
        let first =
            Counts::hour_of(start.0) + i64::from(start.0.rem_euclid(3600) != 0 || start.1 != 0);
        let last = Counts::hour_of(end.0);
        let quality = pred.quality_on | pred.quality_off != 0 || pred.capi.is_some();
        if quality || dims.iter().filter(|d| **d).count() != 1 || first >= last {
            return self.count(pred.range, pred);
        }
        let per_hour = |h: &Hour| -> u64 {
            if let Some(mask) = pred.channels {
                (0..16)
                    .filter(|i| mask & (1u16 << i) != 0)
                    .map(|i| u64::from(h.channel[i]))
                    .sum()
            } else if let Some(t) = pred.touched {
                u64::from(if t { h.touched } else { h.total - h.touched })
            } else if let Some(ok) = &pred.sources {
                h.sources
                    .iter()
                    .filter(|(src, _)| ok.get(*src as usize).copied().unwrap_or(false))
                    .map(|(_, n)| u64::from(*n))
                    .sum()
            } else {
                0
            }
        };
        self.counts.sum(first..last, per_hour) as usize
            + self.count((start, (first * 3600, 0)), pred)
            + self.count(((last * 3600, 0), end), pred)
    }
}
