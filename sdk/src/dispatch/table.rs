//! A map from host-given ids (context ids, callout tokens) to values, made for how hosts hand
//! them out: increasing integers, of which only recent ones are alive (plus a few long-lived
//! root contexts). The slot of an id is its low bits, so a lookup is one index and one compare;
//! an id whose slot is taken waits in a short spill list, and the table doubles when that list
//! grows past an eighth of it.

/// Ids to values.
#[derive(Debug)]
pub(crate) struct IdTable<T> {
    slots: Vec<Option<(u32, T)>>,
    spill: Vec<(u32, T)>,
    len: usize,
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable::new()
    }
}

const FIRST_SIZE: usize = 16;

impl<T> IdTable<T> {
    /// An empty table (allocates on the first insert).
    pub(crate) const fn new() -> IdTable<T> {
        IdTable { slots: Vec::new(), spill: Vec::new(), len: 0 }
    }

    /// Number of ids held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Removes the ids whose value fails `keep`.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let ids: Vec<u32> = self
            .slots
            .iter()
            .flatten()
            .chain(self.spill.iter())
            .filter(|(_, value)| !keep(value))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove(id);
        }
    }
    fn slot(&self, id: u32) -> usize {
        id as usize & (self.slots.len() - 1)
    }

    /// The value of `id`.
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        if self.slots.is_empty() {
            return None;
        }
        let at = self.slot(id);
        match &mut self.slots[at] {
            Some((key, value)) if *key == id => Some(value),
            _ => self.spill.iter_mut().find(|(key, _)| *key == id).map(|(_, value)| value),
        }
    }

    /// Stores `value` for `id`, replacing (and returning) a value already there.
    pub(crate) fn insert(&mut self, id: u32, value: T) -> Option<T> {
        if let Some(old) = self.get_mut(id) {
            return Some(std::mem::replace(old, value));
        }
        if self.slots.is_empty() {
            self.slots.resize_with(FIRST_SIZE, || None);
        }
        let at = self.slot(id);
        if self.slots[at].is_none() {
            self.slots[at] = Some((id, value));
        } else if self.spill.len() < self.slots.len() / 8 {
            self.spill.push((id, value));
        } else {
            self.grow();
            return self.insert(id, value);
        }
        self.len += 1;
        None
    }

    /// Takes the value of `id` out.
    pub(crate) fn remove(&mut self, id: u32) -> Option<T> {
        if self.slots.is_empty() {
            return None;
        }
        let at = self.slot(id);
        if matches!(&self.slots[at], Some((key, _)) if *key == id) {
            self.len -= 1;
            let removed = self.slots[at].take().map(|(_, value)| value);
            // A spilled id of this slot moves in, so the spill list stays short.
            if let Some(i) = self.spill.iter().position(|(key, _)| self.slot(*key) == at) {
                self.slots[at] = Some(self.spill.swap_remove(i));
            }
            return removed;
        }
        let i = self.spill.iter().position(|(key, _)| *key == id)?;
        self.len -= 1;
        Some(self.spill.swap_remove(i).1)
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(FIRST_SIZE);
        let old = std::mem::take(&mut self.slots);
        let spilled = std::mem::take(&mut self.spill);
        self.slots.resize_with(size, || None);
        self.len = 0;
        for (id, value) in old.into_iter().flatten().chain(spilled) {
            self.insert(id, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_under_churn() {
        let mut table = IdTable::default();
        let mut model = std::collections::HashMap::new();
        // Long-lived roots, then streams that come and go, some of them lingering.
        for root in [1u32, 2, 3] {
            table.insert(root, root * 10);
            model.insert(root, root * 10);
        }
        let mut live = std::collections::VecDeque::new();
        for id in 4u32..20_000 {
            assert_eq!(table.insert(id, id * 10), None);
            model.insert(id, id * 10);
            live.push_back(id);
            let window = if id % 1000 < 500 { 8 } else { 300 };
            while live.len() > window {
                let old = live.pop_front().unwrap();
                if old % 97 == 0 {
                    continue; // lingers until the end
                }
                assert_eq!(table.remove(old), model.remove(&old), "id {old}");
            }
            if id % 997 == 0 {
                for (k, v) in &model {
                    assert_eq!(table.get_mut(*k).copied(), Some(*v));
                }
                assert_eq!(table.len(), model.len());
                assert_eq!(table.slots.iter().flatten().count() + table.spill.len(), model.len());
            }
        }
        assert_eq!(table.insert(5, 1), model.insert(5, 1), "a replaced value comes back");
        assert_eq!(table.insert(5, 2), model.insert(5, 2), "a replaced value comes back");
        assert!(table.remove(999_999).is_none() && table.get_mut(999_999).is_none());
        table.retain(|v| v % 20 == 0);
        model.retain(|_, v| *v % 20 == 0);
        assert_eq!(table.len(), model.len());
        assert!(model.keys().all(|k| table.get_mut(*k).is_some()));
        assert!(table.slots.len() <= 4096, "the table stays near the live set: {}", table.slots.len());
    }
}
