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
    /// [`LeadIndex::revenue`] (valid while the index is read).
    pub slot: u32,
}

impl LeadIndex {
    /// Calls `visit` with every lead matching `f` (paging ignored), in no
    /// particular order, with one accumulator per part of the scan (made
    /// by `init`, returned in no particular order): a range holding many
    /// leads is read by up to [`parts`] threads, each over its own stretch
    /// of slots, so a year's report takes a fraction of one core's time.
    pub fn each_parts<A: Send>(
        &self,
        f: &Filter,
        init: impl Fn() -> A + Sync,
        visit: impl Fn(&mut A, Seen) + Sync,
    ) -> Vec<A> {
        let pred = self.pred(f);
        let hot = &self.store.hot;
        let (a, b) = self.date_bounds(pred.range);
        let n = self.by_date.rank(b) - self.by_date.rank(a);
        #[cfg(test)]
        let (k, from) = if SPLIT_IN_TESTS.get() {
            (3, 0)
        } else {
            (parts(), SPLIT_FROM)
        };
        #[cfg(not(test))]
        let (k, from) = (parts(), SPLIT_FROM);
        if k < 2 || n == 0 || n < from || n * 4 < hot.len() {
            let mut acc = init();
            self.scan(pred.range, &pred, |slot, h| {
                visit(&mut acc, self.seen(slot, h))
            });
            return vec![acc];
        }
        let (range, pred, init, visit) = (pred.range, &pred, &init, &visit);
        let step = hot.len().div_ceil(k);
        std::thread::scope(|scope| {
            let workers: Vec<_> = hot
                .chunks(step)
                .enumerate()
                .map(|(i, chunk)| {
                    scope.spawn(move || {
                        let mut acc = init();
                        // The loop of `scan` written out again: one shared
                        // function measured slower here (a year's summary
                        // 20-29 ms at p95 instead of 17-18, in process).
                        let first = i * step;
                        for (j, h) in chunk.iter().enumerate() {
                            let slot = (first + j) as u32;
                            let d = h.date();
                            if d >= range.0 && d < range.1 && pred.test_hot(slot, h) {
                                visit(&mut acc, self.seen(slot, h));
                            }
                        }
                        acc
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    #[inline(always)]
    fn seen(&self, slot: u32, h: &Hot) -> Seen {
        Seen {
            date: h.date(),
            group: self.sources.group[h.src as usize],
            wait: match h.wait {
                UNTOUCHED => None,
                WAIT_SATURATED => self.wait(slot),
                w => Some(i64::from(w)),
            },
            engaged: h.flags & ENGAGED != 0,
            one_message: h.flags & ONE_MESSAGE != 0,
            buyer: h.flags & BUYER != 0,
            slot,
        }
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

    /// A lead's revenue: the sum of its attributed purchases (0 unless a
    /// buyer). A column, read in the scan's order.
    #[inline]
    pub fn revenue(&self, slot: u32) -> Minor {
        self.store.revenue[slot as usize]
    }

    /// Every buyer among the leads matching `f` by everything but the date
    /// range (a purchase made in a range may be a lead's of any day) that
    /// made a purchase in the range, with its slot: the ads report by
    /// purchase date. The purchases' times are tested first: they sit with
    /// the purchases, the lead's columns elsewhere.
    pub fn each_buyer(&self, f: &Filter, mut visit: impl FnMut(u32, &[Purchase])) {
        let pred = self.pred(f);
        let (start, end) = (f.start, f.end);
        self.buys.each(|slot, purchases| {
            if purchases.iter().any(|p| p.at >= start && p.at < end) && pred.test(slot) {
                visit(slot, purchases);
            }
        });
    }

    /// How many source groups there are: every [`Seen::group`] is below.
    pub fn source_groups(&self) -> usize {
        self.sources.group_first.len()
    }

    /// The source a group shows (of its sources, the one whose details sort
    /// first: the same whatever order they came in); `None`
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

/// Scans of fewer leads than this stay on one thread: starting threads
/// would cost more than it saves.
const SPLIT_FROM: usize = 100_000;

#[cfg(test)]
thread_local! {
    /// Tests split every wide scan in three uneven parts, so the small
    /// indexes of the model tests check the merging too (the speed test
    /// turns it off).
    pub(crate) static SPLIT_IN_TESTS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// How many threads a large scan uses: the cores there are, at most 4.
pub fn parts() -> usize {
    static PARTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PARTS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(4)
    })
}

/// The conditions of a filter other than its date range and paging.
pub(super) struct Pred<'a> {
    pub(super) channels: Option<u16>,
    pub(super) sources: Option<Vec<bool>>,
    /// The same of the last source (`cold`: read only when it is set).
    pub(super) last_sources: Option<Vec<bool>>,
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
            && self.last_sources.is_none()
            && self.touched.is_none()
            && self.quality_on | self.quality_off == 0
            && self.capi.is_none()
            && self.matches.is_none()
    }

    /// Everything but the date range.
    #[inline]
    pub(super) fn test(&self, slot: u32) -> bool {
        self.test_hot(slot, &self.store.hot[slot as usize])
    }

    /// [`Pred::test`] of a lead whose `hot` entry is at hand (scans).
    #[inline(always)]
    pub(super) fn test_hot(&self, slot: u32, h: &Hot) -> bool {
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
        if let Some(ok) = &self.last_sources {
            let src = self.store.cold[slot as usize].last_src;
            if !ok.get(src as usize).copied().unwrap_or(false) {
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
        let matching = |want: &str| -> Vec<bool> {
            self.sources
                .list
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // `none`: leads without that source (organic).
                    if want == "none" {
                        i == 0
                    } else {
                        i != 0
                            && crate::ssr::domain::filter::source_matches(
                                &s.platform,
                                s.id.as_deref(),
                                s.name.as_deref(),
                                want,
                            )
                    }
                })
                .collect()
        };
        let sources = f.source.as_deref().map(matching);
        let last_sources = f.last_source.as_deref().map(matching);
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
            last_sources,
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
        self.scan(range, pred, |_, _| n += 1);
        n
    }

    /// Calls `f` with every lead of the date range `range` that meets
    /// `pred`, in no particular order. A range holding a good share of all
    /// leads is read in slot order, memory in sequence (the Date order
    /// jumps around memory when leads arrived out of Date order: three
    /// times slower over a year of leads); a smaller one through the Date
    /// order.
    #[inline]
    pub(super) fn scan(&self, range: (Stamp, Stamp), pred: &Pred, mut f: impl FnMut(u32, &Hot)) {
        let (a, b) = self.date_bounds(range);
        let n = self.by_date.rank(b) - self.by_date.rank(a);
        let hot = &self.store.hot;
        if n * 4 >= hot.len() {
            for (slot, h) in hot.iter().enumerate() {
                let d = h.date();
                if d >= range.0 && d < range.1 && pred.test_hot(slot as u32, h) {
                    f(slot as u32, h);
                }
            }
        } else {
            for slot in self.by_date.slices_from(a, n).flatten().copied() {
                let h = &hot[slot as usize];
                if pred.test_hot(slot, h) {
                    f(slot, h);
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
        let quality = pred.quality_on | pred.quality_off != 0
            || pred.capi.is_some()
            || pred.last_sources.is_some();
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
