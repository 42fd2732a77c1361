//! The symbol table: for every name, where it is defined and where it is used.
//! Derived from the files (never cached itself), rebuilt after updates.

use std::sync::OnceLock;

use super::file::FileEntry;
use super::names::{NameId, Names};

/// A definition's place: file index and definition index within that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefLoc {
    pub file: u32,
    pub def: u32,
}

/// A reference's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefLoc {
    pub file: u32,
    pub reference: u32,
}

#[derive(Debug, Default)]
pub struct SymbolTable {
    defs: Vec<Vec<DefLoc>>,
    refs: Vec<Vec<RefLoc>>,
    /// Name ids that have definitions, sorted by name (built on first prefix lookup).
    sorted: OnceLock<Vec<NameId>>,
}

impl SymbolTable {
    pub fn build(files: &[FileEntry], names: &Names) -> SymbolTable {
        let mut defs: Vec<Vec<DefLoc>> = vec![Vec::new(); names.len()];
        let mut refs: Vec<Vec<RefLoc>> = vec![Vec::new(); names.len()];
        for (fi, f) in files.iter().enumerate() {
            for (di, d) in f.defs.iter().enumerate() {
                defs[d.name as usize].push(DefLoc {
                    file: fi as u32,
                    def: di as u32,
                });
            }
            for (ri, r) in f.refs.iter().enumerate() {
                refs[r.name as usize].push(RefLoc {
                    file: fi as u32,
                    reference: ri as u32,
                });
            }
        }
        SymbolTable {
            defs,
            refs,
            sorted: OnceLock::new(),
        }
    }

    /// Drop one file's entries (before its entry changes).
    pub fn remove_file(&mut self, file: u32, entry: &FileEntry) {
        fn drop_from<T>(
            lists: &mut [Vec<T>],
            names: impl Iterator<Item = NameId>,
            keep: impl Fn(&T) -> bool,
        ) {
            let mut names: Vec<NameId> = names.collect();
            names.sort_unstable();
            names.dedup();
            for n in names {
                if let Some(v) = lists.get_mut(n as usize) {
                    v.retain(&keep);
                }
            }
        }
        drop_from(&mut self.defs, entry.defs.iter().map(|d| d.name), |l| {
            l.file != file
        });
        drop_from(&mut self.refs, entry.refs.iter().map(|r| r.name), |l| {
            l.file != file
        });
        self.sorted = OnceLock::new();
    }

    /// Add one file's entries (after its entry changed or it was appended).
    pub fn add_file(&mut self, file: u32, entry: &FileEntry, names: &Names) {
        if self.defs.len() < names.len() {
            self.defs.resize_with(names.len(), Vec::new);
            self.refs.resize_with(names.len(), Vec::new);
        }
        for (di, d) in entry.defs.iter().enumerate() {
            self.defs[d.name as usize].push(DefLoc {
                file,
                def: di as u32,
            });
        }
        for (ri, r) in entry.refs.iter().enumerate() {
            self.refs[r.name as usize].push(RefLoc {
                file,
                reference: ri as u32,
            });
        }
        self.sorted = OnceLock::new();
    }

    pub fn definitions(&self, name: NameId) -> &[DefLoc] {
        self.defs.get(name as usize).map_or(&[], Vec::as_slice)
    }

    pub fn references(&self, name: NameId) -> &[RefLoc] {
        self.refs.get(name as usize).map_or(&[], Vec::as_slice)
    }

    /// Names with definitions, iterated as (name id, definitions).
    pub fn defined(&self) -> impl Iterator<Item = (NameId, &[DefLoc])> {
        self.defs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_empty())
            .map(|(i, d)| (i as NameId, d.as_slice()))
    }

    /// Names with references, iterated as (name id, references).
    pub fn referenced(&self) -> impl Iterator<Item = (NameId, &[RefLoc])> {
        self.refs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, r)| (i as NameId, r.as_slice()))
    }

    /// Defined names starting with `prefix`, in name order.
    pub fn with_prefix<'a>(
        &'a self,
        names: &'a Names,
        prefix: &'a str,
    ) -> impl Iterator<Item = NameId> + 'a {
        let sorted = self.sorted.get_or_init(|| {
            let mut ids: Vec<NameId> = self.defined().map(|(id, _)| id).collect();
            ids.sort_by(|a, b| names.name(*a).cmp(names.name(*b)));
            ids
        });
        let start = sorted.partition_point(|id| names.name(*id) < prefix);
        sorted[start..]
            .iter()
            .copied()
            .take_while(move |id| names.name(*id).starts_with(prefix))
    }
}
