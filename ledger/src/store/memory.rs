//! [`MemoryStore`]: the [`LogStore`] contract in memory, for unit tests and tools. "Durable"
//! means "until the value is dropped"; everything else (atomic batches, ordered ranges,
//! concurrent readers) behaves as RocksDB does.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use super::{Column, Durability, LogStore, Op, Record, StoreError, WriteBatch};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An in-memory store; one ordered map per column behind one lock, so a batch is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    cols: RwLock<Vec<Map>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            cols: RwLock::new(vec![Map::new(); Column::ALL.len()]),
        }
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Vec<Map>>, StoreError> {
        self.cols
            .read()
            .map_err(|_| StoreError::Io("memory store lock poisoned".into()))
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
        let mut cols = self
            .cols
            .write()
            .map_err(|_| StoreError::Io("memory store lock poisoned".into()))?;
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
