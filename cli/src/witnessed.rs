//! Witness policies on the readers (C2SP tlog-cosignature v1): `--witness VKEY...
//! --min-witnesses K` ([`WitnessArgs`]), the check of a note's cosignatures ([`witnessed`]), and
//! the cosigned checkpoint a whole invocation proves against ([`anchor_to_cosigned`]).
//!
//! A reader given `--min-witnesses K` > 0 first reads the log's `/checkpoint.cosigned` (from the
//! server, or `checkpoint.cosigned` in a tiles copy), verifies the log's signature and K
//! cosignatures of distinct listed witnesses on it (exit 2 otherwise), and from then on proves
//! every entry it reads against that one checkpoint (`cmd::proof::verified_entry` asks the server
//! for proofs at its size and refuses any other), and links any other checkpoint it is handed (a
//! compliance bundle's) to it by a consistency proof. An entry or bundle the cosigned checkpoint
//! does not cover yet is refused (exit 2): a split view is not shown to a witnessed reader.
//!
//! The anchor is set once per process, at the start of a command: one `prov` invocation is one
//! verification, and every helper that proves an entry finds it without it being threaded
//! through each of them.

use std::path::Path;
use std::sync::OnceLock;

use ledger::tile::{tile_for_stored_hash, TileHashReader};
use ledger::tree::TreeError;
use ledger::{Checkpoint, Digest, Sha256Log, TreeSize, VerifierKey};
use serde_json::{json, Value};
use verifier::cosignature::{verify_cosigned, Cosignature, WitnessKey, WitnessPolicy};

use crate::exit::{Exit, Failure, OrExit};

/// The witnesses a checkpoint must be cosigned by (C2SP tlog-cosignature v1).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WitnessArgs {
    /// A witness's key (a vkey of signature type 0x04, as `prov keygen --witness` and
    /// `prov witness serve` print it), or a file holding it. Repeat for more witnesses.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// Refuse (exit 2) a checkpoint without valid cosignatures from at least K distinct listed
    /// witnesses. 0 (the default) checks no cosignature.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub min_witnesses: usize,
}

/// Checks `note`'s cosignatures against `w`: at least `--min-witnesses` distinct listed witnesses
/// must have cosigned it (the log's signature is checked too). Exit 2 otherwise.
pub fn witnessed(
    note: &str,
    key: &VerifierKey,
    w: &WitnessArgs,
) -> Result<Vec<Cosignature>, Failure> {
    if w.witnesses.is_empty() && w.min_witnesses == 0 {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for arg in &w.witnesses {
        let p = Path::new(arg);
        let text = if p.is_file() {
            std::fs::read_to_string(p).or_exit(Exit::Invalid, format!("reading {arg}"))?
        } else {
            arg.clone()
        };
        let k = WitnessKey::parse(text.trim()).or_exit(
            Exit::Invalid,
            format!("--witness {arg} is not a witness vkey"),
        )?;
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    if w.min_witnesses > keys.len() {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "--min-witnesses {} is more than the {} distinct --witness keys given",
                w.min_witnesses,
                keys.len()
            ),
        ));
    }
    let policy = WitnessPolicy {
        witnesses: keys,
        min: w.min_witnesses,
    };
    verify_cosigned(note, key, &policy).or_exit(Exit::Invalid, "the checkpoint's cosignatures")
}

/// Cosignatures as JSON (`witness`, `key_id`, `timestamp`).
pub fn cosignatures_json(c: &[Cosignature]) -> Value {
    c.iter()
        .map(|c| json!({"witness": c.witness, "key_id": format!("{:08x}", c.key_id), "timestamp": c.timestamp}))
        .collect()
}

/// A checkpoint cosigned under a reader's witness policy: the note (cosignatures included) and
/// the checkpoint.
#[derive(Clone, Debug)]
pub struct Cosigned {
    pub note: String,
    pub checkpoint: Checkpoint,
}

/// The server's latest checkpoint cosigned by enough of `w`'s witnesses (`GET
/// /checkpoint.cosigned`), verified: the log's signature and `--min-witnesses` cosignatures.
pub fn witnessed_checkpoint(
    client: &impl crate::mirror::Routes,
    key: &VerifierKey,
    w: &WitnessArgs,
) -> Result<Cosigned, Failure> {
    let note = client.get_text("/checkpoint.cosigned")?;
    cosigned(note, key, w)
}

/// `note` (a cosigned checkpoint read from anywhere) checked under `w`.
pub fn cosigned(note: String, key: &VerifierKey, w: &WitnessArgs) -> Result<Cosigned, Failure> {
    let checkpoint =
        Checkpoint::verify(&note, key).or_exit(Exit::Invalid, "the cosigned checkpoint")?;
    witnessed(&note, key, w)?;
    Ok(Cosigned { note, checkpoint })
}

static ANCHOR: OnceLock<Cosigned> = OnceLock::new();

/// With `--min-witnesses K` > 0: reads the log's cosigned checkpoint with `read` (the note's
/// text), checks it under `w` (exit 2 when it falls short), and makes it the checkpoint every
/// entry this process proves is proven against ([`anchor`]). Without: nothing, and `Ok(None)`.
pub fn anchor_to_cosigned(
    read: impl FnOnce() -> Result<String, Failure>,
    key: &VerifierKey,
    w: &WitnessArgs,
) -> Result<Option<&'static Cosigned>, Failure> {
    if w.min_witnesses == 0 {
        return Ok(None);
    }
    let c = cosigned(read()?, key, w)?;
    if let Some(set) = ANCHOR.get() {
        if set.note != c.note {
            return Err(Failure::msg(
                Exit::Invalid,
                "two different cosigned checkpoints in one invocation",
            ));
        }
        return Ok(Some(set));
    }
    Ok(Some(ANCHOR.get_or_init(|| c)))
}

/// The cosigned checkpoint this process proves against, once [`anchor_to_cosigned`] set it.
pub fn anchor() -> Option<&'static Cosigned> {
    ANCHOR.get()
}

/// Links `other` (a verified checkpoint, e.g. a compliance bundle's) to the anchor, when one is
/// set: it must be of a size the cosigned checkpoint covers, and consistent with it by a
/// consistency proof computed from the log's hash tiles (`tile` reads one by its path, as
/// `GET /tile/...` serves it). Exit 2 otherwise: a checkpoint no witness vouches for.
pub fn linked_to_anchor(
    other: &Checkpoint,
    tile: &dyn Fn(&str) -> Result<Vec<u8>, Failure>,
) -> Result<(), Failure> {
    match anchor() {
        Some(a) => linked(other, &a.checkpoint, tile),
        None => Ok(()),
    }
}

/// [`linked_to_anchor`] with the cosigned checkpoint given.
fn linked(
    other: &Checkpoint,
    cosigned: &Checkpoint,
    tile: &dyn Fn(&str) -> Result<Vec<u8>, Failure>,
) -> Result<(), Failure> {
    let (old, new) = (other.size, cosigned.size);
    if old > new {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "checkpoint of size {old} is not covered by the cosigned checkpoint (size {new}) yet"
            ),
        ));
    }
    if old == new || old.0 == 0 {
        if old == new && other.root != cosigned.root {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("checkpoint of size {old} is not the cosigned one: a split view"),
            ));
        }
        return Ok(());
    }
    let proof = consistency_from_tiles(old, new, tile)?;
    ledger::verify_consistency::<Sha256Log>(old, new, &other.root, &cosigned.root, &proof).or_exit(
        Exit::Invalid,
        format!("checkpoint of size {old} is not consistent with the cosigned one: a split view"),
    )
}

/// The consistency proof from `old` to `new`, fetching hash tiles of the tree of `new` as they
/// are needed (each checked only through the proof's verification).
fn consistency_from_tiles(
    old: TreeSize,
    new: TreeSize,
    tile: &dyn Fn(&str) -> Result<Vec<u8>, Failure>,
) -> Result<Vec<Digest>, Failure> {
    let mut tiles = TileHashReader::new();
    // Each round fetches one missing tile; a proof needs at most a few per level.
    for _ in 0..256 {
        match ledger::tree::consistency_proof(old, new, &tiles) {
            Ok(p) => return Ok(p),
            Err(TreeError::MissingHash { index: h }) => {
                let t = tile_for_stored_hash(new, h).or_exit(Exit::Invalid, "tile")?;
                let mut data = tile(&t.path())?;
                // A wider copy of a partial tile: its first hashes.
                data.truncate(usize::from(t.width) * 32);
                tiles
                    .insert(t, &data)
                    .or_exit(Exit::Server, format!("tile {}", t.path()))?;
            }
            Err(e) => return Err(Failure::new(Exit::Invalid, e)),
        }
    }
    Err(Failure::msg(
        Exit::Server,
        format!("no consistency proof from {old} to {new} from the tiles"),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;
    use ledger::merkle::root;

    fn leaves(tag: &str, n: usize) -> Vec<Digest> {
        (0..n)
            .map(|i| ledger::leaf_hash(format!("{tag} {i}").as_bytes()))
            .collect()
    }

    fn cp(leaves: &[Digest]) -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".into(),
            size: TreeSize(leaves.len() as u64),
            root: root::<Sha256Log>(leaves),
        }
    }

    /// The level-0 tile of a tree of `leaves` (under 256), as a mirror serves it.
    fn tiles(leaves: Vec<Digest>) -> impl Fn(&str) -> Result<Vec<u8>, Failure> {
        move |path: &str| {
            assert_eq!(path, format!("tile/0/000.p/{}", leaves.len()));
            Ok(leaves.iter().flat_map(|d| d.0).collect())
        }
    }

    #[test]
    fn a_checkpoint_the_cosigned_one_extends_is_linked() {
        let all = leaves("a", 8);
        linked(&cp(&all[..5]), &cp(&all), &tiles(all.clone())).unwrap();
        linked(&cp(&all), &cp(&all), &tiles(all.clone())).unwrap();
    }

    /// A split view: a checkpoint of the same log key on another history, of a smaller size or
    /// the same, or a larger one the witnesses have not seen.
    #[test]
    fn a_forked_or_unseen_checkpoint_is_refused() {
        let all = leaves("a", 8);
        let fork = leaves("b", 5);
        let e = linked(&cp(&fork), &cp(&all), &tiles(all.clone())).unwrap_err();
        assert_eq!(e.exit, Exit::Invalid);
        assert!(
            format!("{:#}", e.error).contains("split view"),
            "{:#}",
            e.error
        );
        let e = linked(&cp(&leaves("b", 8)), &cp(&all), &tiles(all.clone())).unwrap_err();
        assert!(
            format!("{:#}", e.error).contains("split view"),
            "{:#}",
            e.error
        );
        let e = linked(&cp(&leaves("a", 9)), &cp(&all), &tiles(all.clone())).unwrap_err();
        assert!(
            format!("{:#}", e.error).contains("not covered"),
            "{:#}",
            e.error
        );
    }
}
