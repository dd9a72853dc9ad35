//! Leads counted per UTC hour, per channel, answered or not, and per first
//! source: a filtered total over a long range then adds up hours instead of
//! reading every lead. Any time zone's days are whole hours in most zones;
//! the parts of hours at a range's ends are counted lead by lead.

use std::collections::BTreeMap;
use std::ops::Range;

pub(super) const CHANNELS: usize = 16;

#[derive(Default)]
pub struct Hour {
    pub channel: [u32; CHANNELS],
    pub touched: u32,
    pub total: u32,
    /// `(first source id, leads)`, sorted by id.
    pub sources: Vec<(u32, u32)>,
}

#[derive(Default)]
pub struct Counts {
    pub(super) hours: BTreeMap<i64, Hour>,
}

/// A lead as counted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Counted {
    pub date_s: i64,
    pub channel: u8,
    pub touched: bool,
    pub src: u32,
}

pub(super) fn bump(n: &mut u32, add: bool) {
    *n = if add { *n + 1 } else { n.saturating_sub(1) };
}

impl Counts {
    pub fn hour_of(date_s: i64) -> i64 {
        date_s.div_euclid(3600)
    }

    /// Counts a lead in (`add`) or out.
    pub fn change(&mut self, c: Counted, add: bool) {
        let hour = self.hours.entry(Self::hour_of(c.date_s)).or_default();
        bump(&mut hour.total, add);
        if let Some(n) = hour.channel.get_mut(c.channel as usize) {
            bump(n, add);
        }
        if c.touched {
            bump(&mut hour.touched, add);
        }
        match hour.sources.binary_search_by_key(&c.src, |(s, _)| *s) {
            Ok(i) => bump(&mut hour.sources[i].1, add),
            Err(i) if add => hour.sources.insert(i, (c.src, 1)),
            Err(_) => {}
        }
    }

    /// The sum of `f` over the hours `hours`.
    pub fn sum(&self, hours: Range<i64>, f: impl Fn(&Hour) -> u64) -> u64 {
        if hours.start >= hours.end {
            return 0;
        }
        self.hours.range(hours).map(|(_, h)| f(h)).sum()
    }

    pub fn heap_bytes(&self) -> usize {
        self.hours
            .values()
            .map(|h| std::mem::size_of::<Hour>() + 48 + h.sources.capacity() * 8)
            .sum()
    }
}
