//! The index's text: the arenas (lower-cased name and e-mail, searched and
//! compared; phone, key and the original-case name and e-mail) and the
//! per-slot records that point into them.

use super::*;

/// The longest record a lead may have in either arena.
pub(super) const MAX_RECORD: usize = u16::MAX as usize;

/// How the display form of a name or e-mail is had back from its lower-cased
/// form (flags of `Hot`).
pub(super) const NAME_TITLE: u8 = 4;
pub(super) const NAME_STORED: u8 = 8;
pub(super) const EMAIL_STORED: u8 = 16;

/// Records of `\0`-terminated fields, appended; a record no lead points at
/// any more is dead until the next rebuild.
#[derive(Default)]
pub(super) struct Arena {
    pub(super) bytes: Vec<u8>,
    /// `(offset, slot)` of every record, in arena order.
    pub(super) owners: Vec<(u32, u32)>,
    pub(super) dead: usize,
}

impl Arena {
    pub(super) fn append<const N: usize>(
        &mut self,
        slot: u32,
        parts: [&str; N],
    ) -> Option<(u32, [u16; N])> {
        let len: usize = parts.iter().map(|p| p.len() + 1).sum();
        if len > MAX_RECORD {
            return None;
        }
        let off = u32::try_from(self.bytes.len()).ok()?;
        grow(&mut self.bytes, len, 1 << 16);
        grow(&mut self.owners, 1, 1024);
        let mut ends = [0u16; N];
        for (i, part) in parts.iter().enumerate() {
            self.bytes.extend_from_slice(part.as_bytes());
            ends[i] = (self.bytes.len() - off as usize) as u16;
            self.bytes.push(0);
        }
        self.owners.push((off, slot));
        Some((off, ends))
    }

    pub(super) fn get(&self, off: u32, from: u16, to: u16) -> &str {
        let off = off as usize;
        std::str::from_utf8(&self.bytes[off + from as usize..off + to as usize]).unwrap_or("")
    }

    /// Finds `needle` everywhere; for each hit in a record calls
    /// `hit(owner offset, slot, offset in the record)`, which says whether the
    /// record is decided (the search then jumps to the next record).
    pub(super) fn find_all(&self, needle: &[u8], hit: impl FnMut(u32, u32, usize) -> bool) {
        if needle.is_empty() {
            return;
        }
        let finder = memchr::memmem::Finder::new(needle);
        self.scan(|at| finder.find(&self.bytes[at..]).map(|p| at + p), hit);
    }

    /// `next(at)`: the next hit at or after `at`.
    pub(super) fn scan(
        &self,
        mut next: impl FnMut(usize) -> Option<usize>,
        mut hit: impl FnMut(u32, u32, usize) -> bool,
    ) {
        let mut at = 0;
        while let Some(pos) = next(at) {
            let rec = self.owners.partition_point(|(off, _)| *off as usize <= pos) - 1;
            let (off, slot) = self.owners[rec];
            at = if hit(off, slot, pos - off as usize) {
                self.owners
                    .get(rec + 1)
                    .map_or(self.bytes.len(), |(o, _)| *o as usize)
            } else {
                pos + 1
            };
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.owners.capacity() * 8
    }
}

#[derive(Default)]
pub(super) struct Store {
    pub(super) hot: Vec<Hot>,
    pub(super) cold: Vec<Cold>,
    /// Each lead's revenue (its attributed purchases' sum; 0 unless a
    /// buyer), beside `hot` so a report's scan reads it in sequence.
    pub(super) revenue: Vec<Minor>,
    pub(super) text: Arena,
    pub(super) data: Arena,
}

/// Where a lead's text went.
pub(super) struct Placed {
    pub(super) text_off: u32,
    pub(super) text_ends: [u16; 2],
    pub(super) data_off: u32,
    pub(super) data_ends: [u16; 4],
    /// `NAME_TITLE`, `NAME_STORED`, `EMAIL_STORED`.
    pub(super) modes: u8,
}

/// Capitalises the first letter of every word.
pub(super) fn title_case(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut start = true;
    for c in lower.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    out
}

impl Store {
    pub(super) fn text_field(&self, slot: u32, i: usize) -> &str {
        let c = &self.cold[slot as usize];
        let from = if i == 0 { 0 } else { c.text_ends[i - 1] + 1 };
        self.text.get(c.text_off, from, c.text_ends[i])
    }

    pub(super) fn data_field(&self, slot: u32, i: usize) -> &str {
        let c = &self.cold[slot as usize];
        let from = if i == 0 { 0 } else { c.data_ends[i - 1] + 1 };
        self.data.get(c.data_off, from, c.data_ends[i])
    }

    /// The lower-cased name ("" without one): what the name sort compares.
    pub(super) fn name_lc(&self, slot: u32) -> &str {
        self.text_field(slot, 0)
    }

    pub(super) fn name(&self, slot: u32) -> String {
        let flags = self.hot[slot as usize].flags;
        if flags & NAME_STORED != 0 {
            self.data_field(slot, 2).to_owned()
        } else if flags & NAME_TITLE != 0 {
            title_case(self.name_lc(slot))
        } else {
            self.name_lc(slot).to_owned()
        }
    }

    pub(super) fn email(&self, slot: u32) -> String {
        if self.hot[slot as usize].flags & EMAIL_STORED != 0 {
            self.data_field(slot, 3).to_owned()
        } else {
            self.text_field(slot, 1).to_owned()
        }
    }

    pub(super) fn phone(&self, slot: u32) -> &str {
        self.data_field(slot, 0)
    }

    pub(super) fn key(&self, slot: u32) -> &str {
        if self.hot[slot as usize].flags & KEY_IS_PHONE != 0 {
            self.phone(slot)
        } else {
            self.data_field(slot, 1)
        }
    }

    /// Appends a lead's records; `None` when its key does not fit.
    pub(super) fn append(&mut self, slot: u32, lead: &LeadFacts) -> Option<Placed> {
        let key_is_phone = lead.phone.as_deref() == Some(lead.key.as_str());
        let phone = lead.phone.as_deref().unwrap_or("");
        let key = if key_is_phone { "" } else { lead.key.as_str() };
        if key.len() + phone.len() + 4 > MAX_RECORD / 2 {
            return None;
        }
        // Names and e-mails longer than a record allows are shortened.
        let name = clip(lead.name.as_deref().unwrap_or(""), MAX_RECORD / 8);
        let email = clip(lead.email.as_deref().unwrap_or(""), MAX_RECORD / 8);
        let (name_lc, email_lc) = (name.to_lowercase(), email.to_lowercase());
        let mut modes = 0;
        let stored_name = if name_lc == name {
            ""
        } else if title_case(&name_lc) == name {
            modes |= NAME_TITLE;
            ""
        } else {
            modes |= NAME_STORED;
            name
        };
        let stored_email = if email_lc == email {
            ""
        } else {
            modes |= EMAIL_STORED;
            email
        };
        let (text_off, text_ends) = self.text.append(slot, [&name_lc, &email_lc])?;
        let (data_off, data_ends) = self
            .data
            .append(slot, [phone, key, stored_name, stored_email])?;
        Some(Placed {
            text_off,
            text_ends,
            data_off,
            data_ends,
            modes,
        })
    }

    pub(super) fn kill_records(&mut self, slot: u32) {
        let c = &self.cold[slot as usize];
        self.text.dead += c.text_ends[1] as usize + 1;
        self.data.dead += c.data_ends[3] as usize + 1;
    }
}

/// Makes room for `more` items, growing by an eighth (at least `step`)
/// rather than doubling: a million leads would otherwise carry up to as much
/// unused capacity as used.
pub(super) fn grow<T>(v: &mut Vec<T>, more: usize, step: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8).max(step));
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
pub(super) fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
