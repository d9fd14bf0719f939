//! [`RocksStore`]: the [`LogStore`] contract on RocksDB, one database per ledger directory, one
//! column family per [`Column`]. `Synced` writes set `WriteOptions::sync`, which fsyncs the
//! write-ahead log (and with it every earlier unsynced write) before returning; a `WriteBatch` is
//! atomic across column families because they share the WAL.

use std::path::{Path, PathBuf};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Direction, IteratorMode, Options, DB,
};

use super::{Column, Durability, LogStore, Op, Record, StoreError, WriteBatch};

/// A failed write is classified as [`StoreError::Full`] when RocksDB reports an I/O error and
/// the filesystem then has less than this free. RocksDB's error carries ENOSPC only in its text,
/// which is not a contract; the free space is.
pub const FULL_BELOW_BYTES: u64 = 64 << 20;

/// A ledger's RocksDB database.
pub struct RocksStore {
    db: DB,
    path: PathBuf,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RocksStore({})", self.db.path().display())
    }
}

impl RocksStore {
    /// Creates a new database at `path` (which must not hold one yet).
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Self::options();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_error_if_exists(true);
        Self::open_with(path, &opts)
    }

    /// Opens the existing database at `path`; never creates one. Column families added since
    /// the directory was written (`set_meta`, `source_scratch`, `range_*`: issue 13) are
    /// created empty, which is what they hold for sets stored before them (docs/storage.md).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Self::options();
        opts.create_if_missing(false);
        opts.create_missing_column_families(true);
        Self::open_with(path, &opts)
    }

    fn options() -> Options {
        let mut opts = Options::default();
        opts.set_paranoid_checks(true);
        opts.increase_parallelism(2);
        // Entries, hashes and set chunks are written in key order and never updated: large
        // memtables and few compactions.
        opts.set_write_buffer_size(64 << 20);
        opts.set_max_write_buffer_number(3);
        // RocksDB deletes a write-ahead log file only once every column family's memtable that
        // it holds is flushed; by default the logs may grow to 4 x the total write buffers
        // (14 column families: about 10.5 GiB) during a big set upload or append run
        // (docs/performance.md, "Big sets and logs"). Past 1 GiB, the column families holding
        // the oldest log are flushed instead. Durability is unchanged: a flush writes table
        // files before the log that covered them is deleted.
        opts.set_max_total_wal_size(1 << 30);
        opts
    }

    /// Hashes, hash-keyed index records and set records are incompressible: compressing them
    /// only costs CPU. Entries (JSON) compress well with LZ4, which is cheap.
    fn column_options(col: Column) -> Options {
        let mut opts = Self::options();
        match col {
            Column::Entries | Column::Checkpoints | Column::Meta | Column::SetMeta => {
                opts.set_compression_type(DBCompressionType::Lz4)
            }
            _ => opts.set_compression_type(DBCompressionType::None),
        }
        if matches!(col, Column::Hashes | Column::SetRoots) {
            // Point lookups only (proofs, tiles, set roots): bloom filters and a block cache.
            opts.optimize_for_point_lookup(64);
        }
        opts
    }

    fn open_with(path: &Path, opts: &Options) -> Result<Self, StoreError> {
        let cfs = Column::ALL
            .iter()
            .map(|&c| ColumnFamilyDescriptor::new(c.name(), Self::column_options(c)));
        let db = DB::open_cf_descriptors(opts, path, cfs).map_err(StoreError::Rocks)?;
        Ok(RocksStore {
            db,
            path: path.to_path_buf(),
        })
    }

    fn cf(&self, col: Column) -> Result<&ColumnFamily, StoreError> {
        self.db
            .cf_handle(col.name())
            .ok_or_else(|| StoreError::corrupt(col, "column family missing"))
    }
}

fn io(e: rocksdb::Error) -> StoreError {
    StoreError::Rocks(e)
}

impl RocksStore {
    /// A failed write: [`StoreError::Full`] when it is an I/O error and the disk is (nearly)
    /// full now, by kind and by the free space, never by the error's text.
    fn write_error(&self, e: rocksdb::Error) -> StoreError {
        let full = e.kind() == rocksdb::ErrorKind::IOError
            && matches!(self.available_bytes(), Ok(Some(n)) if n < FULL_BELOW_BYTES);
        if full {
            StoreError::Full(Box::new(StoreError::Rocks(e)))
        } else {
            StoreError::Rocks(e)
        }
    }
}

impl LogStore for RocksStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(col)?, key).map_err(io)
    }

    fn get_many(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| keys[i]);
        let sorted = order.iter().map(|&i| keys[i]);
        let got = self.db.batched_multi_get_cf(self.cf(col)?, sorted, true);
        let mut out = vec![None; keys.len()];
        for (&i, r) in order.iter().zip(got) {
            out[i] = r.map_err(io)?.map(|v| v.to_vec());
        }
        Ok(out)
    }

    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        let it = self
            .db
            .iterator_cf(self.cf(col)?, IteratorMode::From(start, Direction::Forward));
        for item in it {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(io)?;
            if &k[..] >= end {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
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
        let mut it = self.db.raw_iterator_cf(self.cf(col)?);
        it.seek_for_prev(end);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if k < start {
                return Ok(None);
            }
            if k < end {
                return Ok(Some((k.to_vec(), v.to_vec())));
            }
            // seek_for_prev lands on `end` itself when present; step back once.
            it.prev();
        }
        it.status().map_err(io)?;
        Ok(None)
    }

    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        let mut wb = rocksdb::WriteBatch::default();
        for op in &batch.ops {
            match op {
                Op::Put(c, k, v) => wb.put_cf(self.cf(*c)?, k, v),
                Op::Delete(c, k) => wb.delete_cf(self.cf(*c)?, k),
                Op::DeleteRange(c, s, e) => wb.delete_range_cf(self.cf(*c)?, s, e),
            }
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(durability == Durability::Synced);
        self.db.write_opt(wb, &wo).map_err(|e| self.write_error(e))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true).map_err(|e| self.write_error(e))
    }

    /// Free bytes for an unprivileged writer on the filesystem holding the database.
    fn available_bytes(&self) -> Result<Option<u64>, StoreError> {
        let st = rustix::fs::statvfs(&self.path).map_err(|e| StoreError::Io(e.into()))?;
        Ok(Some(st.f_bavail.saturating_mul(st.f_frsize)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_refuses_existing_and_open_refuses_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        assert!(RocksStore::open(&p).is_err());
        let s = RocksStore::create(&p).unwrap();
        let mut b = WriteBatch::new();
        b.put(Column::Entries, 7u64.to_be_bytes(), b"seven".to_vec());
        b.put(Column::Entries, 9u64.to_be_bytes(), b"nine".to_vec());
        s.write(b, Durability::Synced).unwrap();
        drop(s);
        assert!(RocksStore::create(&p).is_err());
        let s = RocksStore::open(&p).unwrap();
        let last = s
            .last_in_range(Column::Entries, &0u64.to_be_bytes(), &9u64.to_be_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(last.1, b"seven");
        let all = s.range(Column::Entries, &[0], &[0xff], 10).unwrap();
        assert_eq!(all.len(), 2);
        let (k7, k8, k9) = (7u64.to_be_bytes(), 8u64.to_be_bytes(), 9u64.to_be_bytes());
        let many = s.get_many(Column::Entries, &[&k9, &k8, &k7, &k9]).unwrap();
        let want = [
            Some(b"nine".to_vec()),
            None,
            Some(b"seven".to_vec()),
            Some(b"nine".to_vec()),
        ];
        assert_eq!(many, want);
    }

    #[test]
    fn available_bytes_are_the_free_space_of_the_databases_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::create(&dir.path().join("db")).unwrap();
        let got = s
            .available_bytes()
            .unwrap()
            .expect("a figure on a real filesystem");
        let st = rustix::fs::statvfs(dir.path()).unwrap();
        let total = st.f_blocks * st.f_frsize;
        assert!(got > 0 && got <= total, "{got} of {total}");
    }
}
