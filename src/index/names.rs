//! Identifier interning: each distinct name is stored once and referred to by
//! a number, which keeps the index (and its cache) compact and fast to load.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub type NameId = u32;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Names {
    names: Vec<String>,
    #[serde(skip)]
    ids: HashMap<String, NameId>,
}

impl Names {
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as NameId;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<NameId> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: NameId) -> &str {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (NameId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (i as NameId, n.as_str()))
    }

    /// Rebuild the lookup table after deserialising.
    pub fn rebuild_lookup(&mut self) {
        self.ids = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as NameId))
            .collect();
    }
}
