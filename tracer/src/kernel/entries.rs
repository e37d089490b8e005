//! What user space reads and changes in a map's entries (aggregations and
//! stack traces, once the programs have filled them), behind a small trait:
//! [`crate::kernel::sys::Map`] is the kernel's map, [`FakeMap`] an
//! in-memory one with the same semantics, so that the code that prints
//! aggregations is unit-tested without root.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::sys::Map;

/// A map's entries as user space sees them.
pub trait MapEntries {
    /// Every key (each `key_size` bytes), in the map's order.
    fn keys(&self, key_size: usize) -> Vec<Vec<u8>>;
    /// The value at `key`, or `None`.
    fn lookup(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// A per-CPU map's values at `key`, one per possible CPU, or `None`.
    fn lookup_percpu(&self, key: &[u8]) -> Option<Vec<Vec<u8>>>;
    /// Remove `key` (nothing when it is absent).
    fn delete(&self, key: &[u8]);
}

impl MapEntries for Map {
    fn keys(&self, key_size: usize) -> Vec<Vec<u8>> {
        Map::keys(self, key_size)
    }
    fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        Map::lookup(self, key)
    }
    fn lookup_percpu(&self, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        Map::lookup_percpu(self, key)
    }
    fn delete(&self, key: &[u8]) {
        Map::delete(self, key)
    }
}

/// An in-memory map: per key, one value per CPU (a map that is not per-CPU
/// has one CPU). Keys iterate in byte order, as a hash map's may.
#[derive(Debug, Default)]
pub struct FakeMap {
    entries: RefCell<BTreeMap<Vec<u8>, Vec<Vec<u8>>>>,
}

impl FakeMap {
    /// An empty map.
    pub fn new() -> FakeMap {
        FakeMap::default()
    }

    /// Set `key`'s values, one per CPU.
    pub fn insert(&self, key: Vec<u8>, per_cpu: Vec<Vec<u8>>) {
        self.entries.borrow_mut().insert(key, per_cpu);
    }
}

impl MapEntries for FakeMap {
    fn keys(&self, key_size: usize) -> Vec<Vec<u8>> {
        self.entries.borrow().keys().filter(|k| k.len() == key_size).cloned().collect()
    }
    fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries.borrow().get(key).and_then(|v| v.first().cloned())
    }
    fn lookup_percpu(&self, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        self.entries.borrow().get(key).cloned()
    }
    fn delete(&self, key: &[u8]) {
        self.entries.borrow_mut().remove(key);
    }
}
