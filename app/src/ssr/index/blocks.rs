//! A sorted sequence of lead slots, kept in blocks of at most `MAX` so that
//! an insert or a removal anywhere moves a few kilobytes, never the whole
//! sequence. The order is given by the caller (a comparison of two slots),
//! so the same structure serves every sort of the lead index.

use std::cmp::Ordering;

pub(super) const MAX: usize = 2048;

/// A position: block and index inside it. `(blocks.len(), 0)` is the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub(super) block: usize,
    pub(super) at: usize,
}

#[derive(Default)]
pub struct Blocks {
    pub(super) blocks: Vec<Vec<u32>>,
    pub(super) len: usize,
}

impl Blocks {
    /// Builds from slots already in order.
    pub fn from_sorted(slots: &[u32]) -> Self {
        let blocks: Vec<Vec<u32>> = slots.chunks(MAX / 2).map(<[u32]>::to_vec).collect();
        Blocks {
            len: slots.len(),
            blocks,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The first position whose slot is not `before` (all `before` slots
    /// come first, as with `slice::partition_point`).
    pub fn partition_point(&self, mut before: impl FnMut(u32) -> bool) -> Pos {
        let block = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|s| before(*s)));
        match self.blocks.get(block) {
            None => self.end(),
            Some(b) => Pos {
                block,
                at: b.partition_point(|s| before(*s)),
            },
        }
    }

    pub fn end(&self) -> Pos {
        Pos {
            block: self.blocks.len(),
            at: 0,
        }
    }

    /// How many slots come before `pos`.
    pub fn rank(&self, pos: Pos) -> usize {
        self.blocks[..pos.block.min(self.blocks.len())]
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            + pos.at
    }

    /// Inserts `slot` at its place in the order `cmp`.
    pub fn insert(&mut self, slot: u32, mut cmp: impl FnMut(u32, u32) -> Ordering) {
        let pos = self.partition_point(|s| cmp(s, slot) == Ordering::Less);
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(MAX / 2));
        }
        // At the end: append to the last block.
        let (block, at) = if pos.block == self.blocks.len() {
            let last = self.blocks.len() - 1;
            (last, self.blocks[last].len())
        } else {
            (pos.block, pos.at)
        };
        let b = &mut self.blocks[block];
        b.insert(at, slot);
        if b.len() > MAX {
            let tail = b.split_off(MAX / 2);
            self.blocks.insert(block + 1, tail);
        }
        self.len += 1;
    }

    /// Removes `slot`, found by its place in the order `cmp`. Returns false
    /// when it is not there.
    pub fn remove(&mut self, slot: u32, mut cmp: impl FnMut(u32, u32) -> Ordering) -> bool {
        let pos = self.partition_point(|s| cmp(s, slot) == Ordering::Less);
        let Some(b) = self.blocks.get_mut(pos.block) else {
            return false;
        };
        if b.get(pos.at) != Some(&slot) {
            return false;
        }
        b.remove(pos.at);
        if b.is_empty() {
            self.blocks.remove(pos.block);
        }
        self.len -= 1;
        true
    }

    /// Slots from `pos` onwards, in order.
    pub fn iter_from(&self, pos: Pos) -> impl Iterator<Item = u32> + '_ {
        let first = self
            .blocks
            .get(pos.block)
            .map(|b| &b[pos.at.min(b.len())..])
            .unwrap_or(&[]);
        first
            .iter()
            .chain(self.blocks.iter().skip(pos.block + 1).flatten())
            .copied()
    }

    /// The next `n` slots from `pos`, a block's slice at a time (tight loops
    /// for scans).
    #[inline]
    pub fn slices_from(&self, pos: Pos, n: usize) -> impl Iterator<Item = &[u32]> + '_ {
        let mut left = n;
        let mut at = pos.at;
        self.blocks[pos.block.min(self.blocks.len())..]
            .iter()
            .map_while(move |b| {
                if left == 0 {
                    return None;
                }
                let part = &b[at.min(b.len())..];
                let part = &part[..part.len().min(left)];
                left -= part.len();
                at = 0;
                Some(part)
            })
    }

    /// Slots before `pos`, nearest first (backwards).
    pub fn iter_before(&self, pos: Pos) -> impl Iterator<Item = u32> + '_ {
        let first = self
            .blocks
            .get(pos.block)
            .map(|b| &b[..pos.at.min(b.len())])
            .unwrap_or(&[]);
        first
            .iter()
            .rev()
            .chain(
                self.blocks[..pos.block.min(self.blocks.len())]
                    .iter()
                    .rev()
                    .flat_map(|b| b.iter().rev()),
            )
            .copied()
    }

    /// Memory held, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.blocks.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.blocks.iter().map(|b| b.capacity() * 4).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn behaves_like_a_sorted_vec(ops in prop::collection::vec((any::<bool>(), 0u32..5000), 0..6000)) {
            let mut b = Blocks::default();
            let mut model: Vec<u32> = Vec::new();
            for (insert, v) in ops {
                let cmp = |a: u32, b: u32| a.cmp(&b);
                if insert {
                    if let Err(i) = model.binary_search(&v) {
                        model.insert(i, v);
                        b.insert(v, cmp);
                    }
                } else {
                    let had = model.binary_search(&v).map(|i| model.remove(i)).is_ok();
                    prop_assert_eq!(b.remove(v, cmp), had);
                }
            }
            prop_assert_eq!(b.len(), model.len());
            prop_assert_eq!(b.iter_from(Pos { block: 0, at: 0 }).collect::<Vec<_>>(), model.clone());
            let mid = b.partition_point(|s| s < 2500);
            prop_assert_eq!(b.rank(mid), model.partition_point(|s| *s < 2500));
            let back: Vec<u32> = b.iter_before(mid).collect();
            let expect: Vec<u32> = model.iter().copied().filter(|s| *s < 2500).rev().collect();
            prop_assert_eq!(back, expect);
            let sliced: Vec<u32> = b.slices_from(mid, 100).flatten().copied().collect();
            let expect: Vec<u32> = model.iter().copied().filter(|s| *s >= 2500).take(100).collect();
            prop_assert_eq!(sliced, expect);
            let fwd: Vec<u32> = b.iter_from(mid).collect();
            let expect: Vec<u32> = model.iter().copied().filter(|s| *s >= 2500).collect();
            prop_assert_eq!(fwd, expect);
        }
    }
}
