//! How the index's sorted sequences compare two leads (Date, name, First
//! Touched At) and where a page's cursor falls among them.

use super::*;

/// Compares lower-cased names as the page sorts them: letters with their
/// accents set aside first (`ádi` beside `adi`, not after `zul`), then as
/// written, so the order stays total for the cursors; leads without a name
/// last.
pub(super) fn cmp_names(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // Plain ASCII is its own folded form (the common case: no copy).
        _ if a.is_ascii() && b.is_ascii() => a.cmp(b),
        _ => folded(a).cmp(folded(b)).then_with(|| a.cmp(b)),
    }
}

/// A name's letters without their accents: compatibility decomposition
/// (which also opens ligatures and full-width forms) with the marks
/// dropped, and the Latin letters that do not decompose (ø, æ, œ, ß, đ,
/// ł, ı) written as their plain letters.
pub(crate) fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    use unicode_normalization::UnicodeNormalization;
    s.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(|c| {
            let plain: &[char] = match c {
                'ø' | 'Ø' => &['o'],
                'æ' | 'Æ' => &['a', 'e'],
                'œ' | 'Œ' => &['o', 'e'],
                'ß' | 'ẞ' => &['s', 's'],
                'đ' | 'Đ' => &['d'],
                'ł' | 'Ł' => &['l'],
                'ı' => &['i'],
                _ => return Plain::One(Some(c)),
            };
            Plain::Many(plain.iter().copied())
        })
}

/// One character or a few, without allocating.
enum Plain {
    One(Option<char>),
    Many(std::iter::Copied<std::slice::Iter<'static, char>>),
}

impl Iterator for Plain {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        match self {
            Plain::One(c) => c.take(),
            Plain::Many(it) => it.next(),
        }
    }
}

impl Store {
    #[inline]
    pub(super) fn touch(&self, slot: u32) -> Stamp {
        if self.hot[slot as usize].wait == UNTOUCHED {
            NONE_TOUCH
        } else {
            self.cold[slot as usize].touch()
        }
    }

    pub(super) fn cmp_date(&self, a: u32, b: u32) -> Ordering {
        let (ha, hb) = (&self.hot[a as usize], &self.hot[b as usize]);
        ha.date()
            .cmp(&hb.date())
            .then_with(|| self.key(a).cmp(self.key(b)))
    }

    pub(super) fn cmp_name(&self, a: u32, b: u32) -> Ordering {
        cmp_names(self.name_lc(a), self.name_lc(b)).then_with(|| self.cmp_date(a, b))
    }

    pub(super) fn cmp_touch(&self, a: u32, b: u32) -> Ordering {
        self.touch(a)
            .cmp(&self.touch(b))
            .then_with(|| self.cmp_date(a, b))
    }

    pub(super) fn cmp(&self, field: SortField, a: u32, b: u32) -> Ordering {
        match field {
            SortField::Date => self.cmp_date(a, b),
            SortField::Name => self.cmp_name(a, b),
            SortField::FirstTouch => self.cmp_touch(a, b),
        }
    }

    /// A slot against a cursor, in the order of `field`.
    pub(super) fn cmp_cursor(&self, field: SortField, slot: u32, c: &Cursor) -> Ordering {
        let date_key = || {
            self.hot[slot as usize]
                .date()
                .cmp(&c.date)
                .then_with(|| self.key(slot).cmp(c.key.as_str()))
        };
        match field {
            SortField::Date => date_key(),
            SortField::Name => {
                cmp_names(self.name_lc(slot), c.name.as_deref().unwrap_or("")).then_with(date_key)
            }
            SortField::FirstTouch => self
                .touch(slot)
                .cmp(&c.touch.unwrap_or(NONE_TOUCH))
                .then_with(date_key),
        }
    }

    pub(super) fn cursor(&self, slot: u32) -> Cursor {
        let name = self.name_lc(slot);
        let touch = self.touch(slot);
        Cursor {
            date: self.hot[slot as usize].date(),
            touch: (touch != NONE_TOUCH).then_some(touch),
            name: (!name.is_empty()).then(|| name.to_owned()),
            key: self.key(slot).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cmp_names;

    #[test]
    fn accented_names_sort_beside_plain_ones() {
        let mut names = vec![
            "zul", "ádi", "", "adi", "bima", "élodie", "eko", "øle", "oma", "ｂudi", "ﬁtri",
        ];
        names.sort_by(|a, b| cmp_names(a, b));
        assert_eq!(
            names,
            [
                "adi", "ádi", "bima", "ｂudi", "eko", "élodie", "ﬁtri", "øle", "oma", "zul", ""
            ]
        );
    }
}
