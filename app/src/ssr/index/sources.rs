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
    /// The first source seen of each group: what summaries show.
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
