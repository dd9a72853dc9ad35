//! One page of leads in a sort order, resumed after a cursor.

use super::*;

/// One page of leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<LeadFacts>,
    pub total: u64,
    /// Where this page ended, when another page follows.
    pub next: Option<Cursor>,
}

impl LeadIndex {
    /// Where the page after cursor `c` starts in `order`: descending, the
    /// first position not before the cursor (read backwards from there);
    /// ascending, the first position after it.
    pub(super) fn resume(&self, order: &Blocks, field: SortField, c: &Cursor, desc: bool) -> Pos {
        let store = &self.store;
        if desc {
            order.partition_point(|s| store.cmp_cursor(field, s, c) == Ordering::Less)
        } else {
            order.partition_point(|s| store.cmp_cursor(field, s, c) != Ordering::Greater)
        }
    }

    /// One page for `f`, and how many leads match in all.
    pub fn page(&self, f: &Filter) -> Page {
        let pred = self.pred(f);
        let (lo, hi) = self.date_bounds(pred.range);
        let in_range = self.by_date.rank(hi) - self.by_date.rank(lo);
        // A search gives a bit set: its leads are found from the set, not by
        // reading the whole range.
        let searched: Option<Vec<u32>> = pred.matches.as_ref().map(|bits| {
            let mut out = Vec::new();
            for (w, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let slot = (w * 64 + word.trailing_zeros() as usize) as u32;
                    word &= word - 1;
                    if pred.in_range(slot) && pred.test(slot) {
                        out.push(slot);
                    }
                }
            }
            out
        });
        let total = match &searched {
            Some(found) => found.len(),
            None if pred.is_trivial() => in_range,
            None => self.filtered_total(&pred),
        };
        let want = f.limit + 1;
        let store = &self.store;
        let field = f.sort.field;
        let after = |s: u32| match &f.after {
            None => true,
            Some(c) => {
                let o = store.cmp_cursor(field, s, c);
                if f.sort.desc {
                    o == Ordering::Less
                } else {
                    o == Ordering::Greater
                }
            }
        };
        let desc = f.sort.desc;
        let slots: Vec<u32> = if total <= 2048 {
            // Few matches: sort them.
            let mut m: Vec<u32> = match searched {
                Some(found) => found.into_iter().filter(|s| after(*s)).collect(),
                None => self
                    .by_date
                    .slices_from(lo, in_range)
                    .flatten()
                    .copied()
                    .filter(|s| pred.test(*s) && after(*s))
                    .collect(),
            };
            let by = |a: &u32, b: &u32| store.cmp(field, *a, *b);
            if desc {
                m.sort_unstable_by(|a, b| by(b, a));
            } else {
                m.sort_unstable_by(by);
            }
            m.truncate(want);
            m
        } else if field == SortField::Date {
            let d = &self.by_date;
            let resume = f.after.as_ref().map(|c| self.resume(d, field, c, desc));
            // The cursor's place, kept inside the date range.
            let (start, n) = if desc {
                let start = resume.filter(|p| d.rank(*p) < d.rank(hi)).unwrap_or(hi);
                (start, d.rank(start).saturating_sub(d.rank(lo)))
            } else {
                let start = resume.filter(|p| d.rank(*p) > d.rank(lo)).unwrap_or(lo);
                (start, d.rank(hi).saturating_sub(d.rank(start)))
            };
            let walk: Box<dyn Iterator<Item = u32>> = if desc {
                Box::new(d.iter_before(start))
            } else {
                Box::new(d.iter_from(start))
            };
            walk.take(n).filter(|s| pred.test(*s)).take(want).collect()
        } else {
            // Many matches: walk the sort's own order from the cursor.
            let order = if field == SortField::Name {
                &self.by_name
            } else {
                &self.by_touch
            };
            let keep = |s: &u32| pred.in_range(*s) && pred.test(*s);
            let resume = f.after.as_ref().map(|c| self.resume(order, field, c, desc));
            if desc {
                let start = resume.unwrap_or(order.end());
                order.iter_before(start).filter(keep).take(want).collect()
            } else {
                let start = resume.unwrap_or(order.partition_point(|_| false));
                order.iter_from(start).filter(keep).take(want).collect()
            }
        };
        let more = slots.len() > f.limit;
        let shown = &slots[..slots.len().min(f.limit)];
        Page {
            leads: shown.iter().map(|s| self.facts(*s)).collect(),
            total: total as u64,
            next: if more {
                shown.last().map(|s| store.cursor(*s))
            } else {
                None
            },
        }
    }
}
