//! [`MemoryStore`]: the [`LogStore`] contract in memory, for unit tests and tools. "Durable"
//! means "until the value is dropped"; everything else (atomic batches, ordered ranges,
//! concurrent readers) behaves as RocksDB does.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use super::{Column, Durability, LogStore, Op, Record, StoreError, WriteBatch};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An in-memory store; one ordered map per column behind one lock, so a batch is atomic.
#[derive(Debug)]
pub struct MemoryStore {
    cols: RwLock<Vec<Map>>,
    /// What [`LogStore::available_bytes`] reports; [`NO_FIGURE`] for `None`.
    available: AtomicU64,
}

/// `available` holds no figure.
const NO_FIGURE: u64 = u64::MAX;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            cols: RwLock::new(vec![Map::new(); Column::ALL.len()]),
            available: AtomicU64::new(NO_FIGURE),
        }
    }

    /// Sets what [`LogStore::available_bytes`] reports (`None`, the default: no figure), so that
    /// tests can play a filling and an emptying disk. Writes themselves never fail for it.
    pub fn set_available_bytes(&self, bytes: Option<u64>) {
        let v = bytes.map_or(NO_FIGURE, |b| b.min(NO_FIGURE - 1));
        self.available.store(v, Ordering::SeqCst);
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Vec<Map>>, StoreError> {
        self.cols.read().map_err(|_| StoreError::Poisoned)
    }
}

impl LogStore for MemoryStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read()?[col.ordinal()].get(key).cloned())
    }

    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let cols = self.read()?;
        Ok(cols[col.ordinal()]
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last_in_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<Record>, StoreError> {
        if start >= end {
            return Ok(None);
        }
        let cols = self.read()?;
        Ok(cols[col.ordinal()]
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn write(&self, batch: WriteBatch, _durability: Durability) -> Result<(), StoreError> {
        let mut cols = self.cols.write().map_err(|_| StoreError::Poisoned)?;
        for op in batch.ops {
            match op {
                Op::Put(c, k, v) => {
                    cols[c.ordinal()].insert(k, v);
                }
                Op::Delete(c, k) => {
                    cols[c.ordinal()].remove(&k);
                }
                Op::DeleteRange(c, s, e) => {
                    let map = &mut cols[c.ordinal()];
                    let doomed: Vec<Vec<u8>> = map
                        .range::<[u8], _>((Bound::Included(&s[..]), Bound::Excluded(&e[..])))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in doomed {
                        map.remove(&k);
                    }
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn available_bytes(&self) -> Result<Option<u64>, StoreError> {
        match self.available.load(Ordering::SeqCst) {
            NO_FIGURE => Ok(None),
            n => Ok(Some(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_ordered_half_open_and_limited() {
        let s = MemoryStore::new();
        let mut b = WriteBatch::new();
        for i in 0u8..10 {
            b.put(Column::Entries, vec![i], vec![i * 2]);
        }
        b.put(Column::Meta, b"x".to_vec(), b"y".to_vec());
        s.write(b, Durability::Synced).unwrap();
        let r = s.range(Column::Entries, &[2], &[6], 3).unwrap();
        assert_eq!(
            r.iter().map(|(k, _)| k[0]).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        let last = s
            .last_in_range(Column::Entries, &[2], &[6])
            .unwrap()
            .unwrap();
        assert_eq!(last.0, vec![5]);
        assert_eq!(s.get(Column::Meta, b"x").unwrap(), Some(b"y".to_vec()));
        assert_eq!(s.get(Column::Entries, b"x").unwrap(), None);
        let mut d = WriteBatch::new();
        d.delete_range(Column::Entries, vec![0], vec![5]);
        s.write(d, Durability::Synced).unwrap();
        assert_eq!(
            s.range(Column::Entries, &[0], &[255], 100).unwrap().len(),
            5
        );
    }
}
