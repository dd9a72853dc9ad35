//! Interned sources: each distinct first or last source is kept once.

use super::*;

/// Sources interned by value; grouped by rule 5's sameness for summaries.
#[derive(Default)]
pub(super) struct Sources {
    pub(super) list: Vec<Source>,
    pub(super) ids: HashMap<Source, u32>,
    /// Group of each interned source.
    pub(super) group: Vec<u32>,
    pub(super) groups: HashMap<(String, Option<String>, Option<String>), u32>,
    /// The source each group shows in summaries: of its sources, the one
    /// whose details sort first ([`label_order`]), not the first seen, so
    /// the label does not depend on the order events arrived in or the
    /// index was loaded in.
    pub(super) group_first: Vec<u32>,
}

impl Sources {
    pub(super) fn new() -> Self {
        let mut s = Sources::default();
        // Id 0: no source.
        s.list.push(Source {
            platform: String::new(),
            kind: String::new(),
            id: None,
            name: None,
            url: None,
        });
        s.group.push(0);
        s.group_first.push(0);
        s
    }

    pub(super) fn intern(&mut self, src: Option<&Source>) -> u32 {
        let Some(src) = src else { return 0 };
        if let Some(id) = self.ids.get(src) {
            return *id;
        }
        let id = self.list.len() as u32;
        let identity = match &src.id {
            Some(i) => (src.platform.clone(), Some(i.clone()), None),
            None => (src.platform.clone(), None, src.name.clone()),
        };
        let next_group = self.group_first.len() as u32;
        let group = *self.groups.entry(identity).or_insert(next_group);
        if group == next_group {
            self.group_first.push(id);
        } else {
            let shown = &self.list[self.group_first[group as usize] as usize];
            if label_order(src) < label_order(shown) {
                self.group_first[group as usize] = id;
            }
        }
        self.list.push(src.clone());
        self.ids.insert(src.clone(), id);
        self.group.push(group);
        id
    }

    pub(super) fn get(&self, id: u32) -> Option<Source> {
        (id != 0).then(|| self.list[id as usize].clone())
    }
}

/// How a group's sources rank for its label: one with a name (then a link)
/// over one without, else the one that sorts first, as two copies of one
/// message keep the name that sorts first (`copies::join`).
fn label_order(s: &Source) -> (bool, Option<&str>, bool, Option<&str>, &str) {
    (
        s.name.is_none(),
        s.name.as_deref(),
        s.url.is_none(),
        s.url.as_deref(),
        s.kind.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(name: Option<&str>) -> Source {
        Source {
            platform: "meta".into(),
            kind: "ad".into(),
            id: Some("120400001".into()),
            name: name.map(str::to_owned),
            url: None,
        }
    }

    #[test]
    fn a_groups_label_does_not_depend_on_the_order_its_sources_came_in() {
        let names = [None, Some("Promo 11.11 (CW)"), Some("Promo 11.11")];
        let mut labels = Vec::new();
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [1, 0, 2]] {
            let mut s = Sources::new();
            let ids: Vec<u32> = order
                .iter()
                .map(|&i| s.intern(Some(&ad(names[i]))))
                .collect();
            let group = s.group[ids[0] as usize];
            labels.push(s.get(s.group_first[group as usize]).and_then(|x| x.name));
        }
        assert!(
            labels.iter().all(|l| l.as_deref() == Some("Promo 11.11")),
            "{labels:?}"
        );
    }
}
