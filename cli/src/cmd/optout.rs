//! `prov optout (FILE... | --id CID... | --manifest FILE) [--scope train-ai] [--key KEY]`: records
//! that these documents are not to be used for the uses in scope (IETF aipref vocabulary:
//! `train-ai`, `ai-use`, `search`). Anonymous without a key. Up to 64 ids travel inline in the
//! entry; more are uploaded as an opt-out set first and named by its root, which only a signed
//! opt-out may do (the log refuses anonymous opt-out sets, and bounds a signed one's size).

use std::collections::BTreeSet;
use std::path::PathBuf;

use ledger::entry::{Entry, EntryBody, OptOut, OptOutIds, Scope, MAX_INLINE_IDS};
use ledger::set::SortedSet;
use ledger::ContentId;
use serde_json::json;

use crate::cmd::keygen::read_key;
use crate::cmd::publish::upload_leaves;
use crate::cmd::publisher::{origin, sign, stamp, submit, Remote};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct OptOutArgs {
    /// Documents to opt out (each file's bytes are one item, as in file mode).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Content ids to opt out (blake3:<64 hex>).
    #[arg(long = "id", value_name = "CID")]
    pub ids: Vec<String>,
    /// Opt out every item of a manifest written by `prov hash`.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Usage categories (aipref): train-ai, ai-use, search. Repeatable.
    #[arg(long, default_value = "train-ai")]
    pub scope: Vec<String>,
    /// Sign the opt-out with this key (from `prov keygen`); anonymous without one.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(args: &OptOutArgs) -> Outcome {
    let ids = collect_ids(args)?;
    if ids.is_empty() {
        return Err(Failure::msg(
            Exit::Invalid,
            "nothing to opt out: give FILE..., --id CID... or --manifest FILE",
        ));
    }
    let mut scope: Vec<Scope> = args
        .scope
        .iter()
        .map(|s| {
            Scope::from_label(s).ok_or_else(|| {
                Failure::msg(
                    Exit::Invalid,
                    format!("--scope {s:?}: expected train-ai, ai-use or search"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    scope.sort();
    scope.dedup();

    let key = args.key.as_deref().map(read_key).transpose()?;
    let count = ids.len();
    if count > MAX_INLINE_IDS && args.key.is_none() {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{count} ids: an anonymous opt-out carries at most {MAX_INLINE_IDS} ids inline; \
                 sign it with --key KEY to opt out more as a set"
            ),
        ));
    }
    let client = args.remote.client()?;
    let log = origin(&client)?;
    let optout_ids = if count <= MAX_INLINE_IDS {
        OptOutIds::Inline(ids.iter().copied().collect())
    } else {
        let set = SortedSet::from_ids(ids.iter().copied());
        upload_leaves(
            &client,
            key.as_ref().map(|k| &k.key),
            set.leaves(),
            &set.root(),
        )?;
        OptOutIds::Set {
            root: set.root(),
            size: set.size().0,
        }
    };
    let set_root = match &optout_ids {
        OptOutIds::Set { root, .. } => Some(root.to_hex()),
        OptOutIds::Inline(_) => None,
    };
    let optout = OptOut {
        ids: Some(optout_ids),
        sites: vec![],
        scope: scope.clone(),
    };
    let entry = match &key {
        Some(k) => sign(&log, EntryBody::OptOut(optout), k)?,
        None => {
            let (time, nonce) = stamp();
            Entry::anonymous(&log, optout, time, Some(nonce))
                .or_exit(Exit::Invalid, "building the opt-out")?
        }
    };
    let receipt = submit(&client, &entry)?;
    let labels: Vec<&str> = scope.iter().map(|s| s.label()).collect();
    if args.remote.json {
        say_json(&json!({
            "index": receipt.index,
            "ids": ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "set_root": set_root,
            "scope": labels,
            "signed": args.key.is_some(),
            "receipt": receipt,
        }))?;
    } else {
        say(format!(
            "opted out {count} id(s) for {} at index {}",
            labels.join(", "),
            receipt.index
        ))?;
        if count <= 8 {
            for id in &ids {
                say(format!("  {id}"))?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn collect_ids(args: &OptOutArgs) -> Result<BTreeSet<ContentId>, Failure> {
    let mut ids = BTreeSet::new();
    for f in &args.files {
        let bytes = std::fs::read(f).or_exit(Exit::Local, format!("reading {}", f.display()))?;
        ids.insert(ContentId::of(&bytes));
    }
    for s in &args.ids {
        ids.insert(
            s.parse::<ContentId>()
                .or_exit(Exit::Invalid, format!("--id {s:?}"))?,
        );
    }
    if let Some(m) = &args.manifest {
        let reader = hasher::ManifestReader::open(m)
            .or_exit(Exit::Invalid, format!("manifest {}", m.display()))?;
        for e in reader {
            let e = e.or_exit(Exit::Invalid, format!("manifest {}", m.display()))?;
            ids.insert(e.leaf.cid);
        }
    }
    Ok(ids)
}
