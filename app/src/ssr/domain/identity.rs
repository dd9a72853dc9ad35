//! One person, several identifiers (`shared/spec/channels.md`): the keys
//! that events tie together are one contact, whose key is the smallest of
//! them. Pure: the store feeds it what it read and what a batch ties, and
//! gets back each group with its key, whatever the order of the ties.

use std::collections::{BTreeMap, BTreeSet};

/// The key prefix of a Click-to-WhatsApp click id (`~` sorts last, so a
/// phone or user id stays the contact's key).
pub const CLICK: &str = "~ctwa:";

/// A union-find over contact keys whose root is always a group's
/// smallest key (so the outcome depends only on the set of ties).
#[derive(Debug, Default)]
pub struct Groups {
    parent: BTreeMap<String, String>,
}

impl Groups {
    /// Adds `key` on its own, if it is new.
    pub fn add(&mut self, key: &str) {
        if !self.parent.contains_key(key) {
            self.parent.insert(key.to_owned(), key.to_owned());
        }
    }

    /// The group key of `key` (itself when it is alone or unknown).
    pub fn root(&mut self, key: &str) -> String {
        let mut at = key.to_owned();
        loop {
            match self.parent.get(&at) {
                Some(p) if *p != at => at = p.clone(),
                _ => break,
            }
        }
        // Path compression: every key on the way points at the root.
        let mut cur = key.to_owned();
        while cur != at {
            let next = self.parent.get(&cur).cloned().unwrap_or_else(|| at.clone());
            self.parent.insert(cur, at.clone());
            cur = next;
        }
        at
    }

    /// `a` and `b` are one person.
    pub fn tie(&mut self, a: &str, b: &str) {
        self.add(a);
        self.add(b);
        let (ra, rb) = (self.root(a), self.root(b));
        match ra.cmp(&rb) {
            std::cmp::Ordering::Less => {
                self.parent.insert(rb, ra);
            }
            std::cmp::Ordering::Greater => {
                self.parent.insert(ra, rb);
            }
            std::cmp::Ordering::Equal => {}
        }
    }

    /// Every group: its key and all its members (the key included).
    pub fn all(&mut self) -> BTreeMap<String, BTreeSet<String>> {
        let keys: Vec<String> = self.parent.keys().cloned().collect();
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for k in keys {
            let r = self.root(&k);
            out.entry(r).or_default().insert(k);
        }
        out
    }
}

/// Events grouped by contact, straight from the events: each under the
/// smallest key of the identifiers they tie (the recomputation `verify`
/// and the tests compare the store with).
pub fn by_contact(
    events: Vec<crate::ssr::domain::event::Event>,
) -> std::collections::HashMap<String, Vec<crate::ssr::domain::event::Event>> {
    let mut g = Groups::default();
    for e in &events {
        g.add(&e.contact_key);
        for a in &e.aliases {
            g.tie(&e.contact_key, a);
        }
    }
    let mut out: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
    for e in events {
        out.entry(g.root(&e.contact_key)).or_default().push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_key_is_the_group_key_in_any_order() {
        let ties = [("c", "d"), ("b", "c"), ("e", "f"), ("d", "a")];
        let mut seen = Vec::new();
        for rot in 0..ties.len() {
            let mut g = Groups::default();
            let mut order = ties.to_vec();
            order.rotate_left(rot);
            if rot % 2 == 1 {
                order.reverse();
            }
            for (a, b) in order {
                g.tie(b, a);
            }
            g.add("z");
            seen.push(g.all());
        }
        let first = &seen[0];
        assert!(seen.iter().all(|s| s == first));
        assert_eq!(first.len(), 3);
        assert_eq!(
            first["a"].iter().map(String::as_str).collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(first["e"].len(), 2);
        assert_eq!(first["z"].len(), 1);
    }
}
