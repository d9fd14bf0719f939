//! Cutting items into GPU segments and merging the segments' chaining values back, on the CPU,
//! with `blake3::hazmat`.
//!
//! BLAKE3's tree is left-complete: pairing nodes level by level from the left and promoting an odd
//! last node unchanged gives exactly its shape. A large item cut into segments of one power-of-two
//! number of chunks (the last one shorter) therefore has, above the segments, the tree obtained by
//! pairing the segments' chaining values level by level; that is what [`fold`] does.

use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, ChainingValue, Mode};

use crate::{Error, CHUNK_LEN, OUT_LEN};

/// One unit of GPU work: a whole item (`root`) or an aligned subtree of one.
pub(crate) struct Segment<'a> {
    pub data: &'a [u8],
    /// Chunk counter of the segment's first chunk.
    pub counter: u64,
    pub root: bool,
}

/// Where an output comes from: `count` segments from `first`, folded as a root or not.
struct Output {
    first: usize,
    count: usize,
    root: bool,
}

/// The segments of a batch of items, and how to turn their results into one hash per item.
#[derive(Default)]
pub(crate) struct Plan<'a> {
    pub segments: Vec<Segment<'a>>,
    outputs: Vec<Output>,
}

impl<'a> Plan<'a> {
    /// Adds an item whose root hash is wanted; `seg_len` is a power-of-two number of chunks.
    pub fn add_item(&mut self, data: &'a [u8], seg_len: usize) {
        if data.len() <= seg_len {
            self.outputs.push(Output {
                first: self.segments.len(),
                count: 1,
                root: true,
            });
            self.segments.push(Segment {
                data,
                counter: 0,
                root: true,
            });
        } else {
            self.split(data, 0, seg_len, true);
        }
    }

    /// Adds a subtree whose non-root chaining value is wanted.
    pub fn add_subtree(&mut self, data: &'a [u8], counter: u64, seg_len: usize) {
        self.split(data, counter, seg_len, false);
    }

    /// Writes one hash per added item or subtree, from `cvs` (one per segment, in order).
    pub fn finish(&self, cvs: &[[u8; OUT_LEN]], out: &mut [[u8; OUT_LEN]]) {
        for (o, slot) in self.outputs.iter().zip(out.iter_mut()) {
            let parts = cvs.get(o.first..o.first + o.count).unwrap_or(&[]);
            *slot = if o.count == 1 {
                parts.first().copied().unwrap_or_default()
            } else {
                fold(parts, o.root)
            };
        }
    }

    fn split(&mut self, data: &'a [u8], counter: u64, seg_len: usize, root: bool) {
        let seg_chunks = (seg_len / CHUNK_LEN) as u64;
        let first = self.segments.len();
        for (k, part) in data.chunks(seg_len.max(1)).enumerate() {
            self.segments.push(Segment {
                data: part,
                counter: counter + k as u64 * seg_chunks,
                root: false,
            });
        }
        self.outputs.push(Output {
            first,
            count: self.segments.len() - first,
            root,
        });
    }
}

/// Rejects a subtree that `blake3::hazmat` would refuse (or silently hash as another tree).
pub(crate) fn check_subtree(len: u64, input_offset: u64) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::InvalidSubtree("empty".into()));
    }
    if !input_offset.is_multiple_of(CHUNK_LEN as u64) {
        return Err(Error::InvalidSubtree(format!(
            "offset {input_offset} is not a multiple of {CHUNK_LEN}"
        )));
    }
    match blake3::hazmat::max_subtree_len(input_offset) {
        Some(max) if len > max => Err(Error::InvalidSubtree(format!(
            "{len} bytes at offset {input_offset} exceed the {max} bytes a subtree may hold there"
        ))),
        _ => Ok(()),
    }
}

/// Pairs chaining values level by level (an odd last one is promoted) down to one; the last
/// merge is a root when `root`.
pub(crate) fn fold(cvs: &[ChainingValue], root: bool) -> [u8; OUT_LEN] {
    let mut level = cvs.to_vec();
    while level.len() > 2 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => merge_subtrees_non_root(l, r, Mode::Hash),
                _ => pair.first().copied().unwrap_or_default(),
            })
            .collect();
    }
    match level.as_slice() {
        [l, r] if root => *merge_subtrees_root(l, r, Mode::Hash).as_bytes(),
        [l, r] => merge_subtrees_non_root(l, r, Mode::Hash),
        _ => level.first().copied().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake3::hazmat::HasherExt;

    /// `fold` over CPU-computed segment CVs must give blake3's root: this is the tree-shape
    /// argument of the module docs, checked without a GPU.
    #[test]
    fn fold_of_segment_cvs_is_the_root() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let seg_len = 8 * CHUNK_LEN;
        for len in [seg_len + 1, 3 * seg_len, 5 * seg_len + 7, data.len()] {
            let cvs: Vec<ChainingValue> = data[..len]
                .chunks(seg_len)
                .enumerate()
                .map(|(k, part)| {
                    blake3::Hasher::new()
                        .set_input_offset((k * seg_len) as u64)
                        .update(part)
                        .finalize_non_root()
                })
                .collect();
            assert_eq!(
                fold(&cvs, true),
                *blake3::hash(&data[..len]).as_bytes(),
                "len {len}"
            );
        }
    }

    #[test]
    fn check_subtree_rejects_what_hazmat_forbids() {
        assert!(matches!(check_subtree(0, 0), Err(Error::InvalidSubtree(_))));
        assert!(matches!(check_subtree(1, 1), Err(Error::InvalidSubtree(_))));
        assert!(matches!(
            check_subtree(2048, 1024),
            Err(Error::InvalidSubtree(_))
        ));
        assert!(check_subtree(1024, 1024).is_ok());
        assert!(check_subtree(1 << 20, 0).is_ok());
    }
}
