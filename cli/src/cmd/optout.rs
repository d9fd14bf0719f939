//! `prov optout (WORK... | --id CID... | --manifest FILE | --domain D... | --url-prefix U...)
//! [--scope train-ai] [--key KEY]`: records that these documents, or everything from these sites,
//! are not to be used for the uses in scope (IETF aipref vocabulary: `train-ai`, `search`; the
//! withdrawn `ai-use` is refused). Anonymous without a key.
//!
//! Each WORK (text, Markdown or HTML, read as `crate::work` says) is opted out by its content id
//! (an exact copy of the file) and, signed, by its passages too: the works' passage-tree leaves
//! `pid || cid` (`verifier::passage::work_leaves`; a work of more than 4,096 passages by its
//! smallest ids, `optout_sample`) are uploaded as a passage tree that the entry's `passages` names,
//! so that a paragraph of the work inside another record is covered. The log refuses passages in
//! an anonymous opt-out: without a key only the content ids are logged, with a note. Up to 64 ids travel inline in the
//! entry; more are uploaded as an opt-out set first and named by its root, which only a signed
//! opt-out may do (the log refuses anonymous opt-out sets, and bounds a signed one's size).
//! Sites, too, need a signed opt-out, and bind only when the site lists the signing key at
//! `https://<host>/.well-known/prov-ledger-keys` (docs/sites.md).

use std::collections::BTreeSet;
use std::path::PathBuf;

use ledger::entry::{
    Entry, EntryBody, OptOut, OptOutIds, Scope, SetRef, MAX_INLINE_IDS, MAX_OPTOUT_PASSAGES,
};
use ledger::set::SortedSet;
use ledger::ContentId;
use serde_json::json;
use verifier::range::{RangeLeaf, RangeTree};
use verifier::source::Site;

use crate::cmd::keygen::read_key;
use crate::cmd::publish::{upload_leaves, upload_passage_tree};
use crate::cmd::publisher::{origin, sign, stamp, submit, Remote};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct OptOutArgs {
    /// Works to opt out: each file's content id (its bytes as one item, as in file mode) and,
    /// with --key, its passages (text; .md/.markdown as Markdown; .html/.htm as HTML).
    #[arg(value_name = "WORK")]
    pub files: Vec<PathBuf>,
    /// Content ids to opt out (blake3:<64 hex>).
    #[arg(long = "id", value_name = "CID")]
    pub ids: Vec<String>,
    /// Opt out every item of a manifest written by `prov hash`.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Opt out everything from this domain and its subdomains (needs --key). Repeatable.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
    /// Opt out everything whose URL starts with this prefix (needs --key). Repeatable.
    #[arg(long, value_name = "URL")]
    pub url_prefix: Vec<String>,
    /// Usage categories (aipref): train-ai, search. Repeatable.
    #[arg(long, default_value = "train-ai")]
    pub scope: Vec<String>,
    /// Sign the opt-out with this key (from `prov keygen`); anonymous without one.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(args: &OptOutArgs) -> Outcome {
    let (ids, works) = collect_ids(args)?;
    let sites = collect_sites(args)?;
    if ids.is_empty() && sites.is_empty() {
        return Err(Failure::msg(
            Exit::Invalid,
            "nothing to opt out: give FILE..., --id CID..., --manifest FILE, --domain D or \
             --url-prefix U",
        ));
    }
    if !sites.is_empty() && args.key.is_none() {
        return Err(Failure::msg(
            Exit::Invalid,
            "--domain and --url-prefix need a signed opt-out: pass --key KEY, and have the site \
             list its public key at https://<host>/.well-known/prov-ledger-keys (docs/sites.md); \
             the ledger refuses anonymous opt-outs of sites",
        ));
    }
    if sites.len() > MAX_SITES {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{} sites: one opt-out names at most {MAX_SITES}; split them",
                sites.len()
            ),
        ));
    }
    let mut scope: Vec<Scope> = args
        .scope
        .iter()
        .map(|s| parse_scope(s))
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
    let passage_tree = match &key {
        Some(_) => passage_tree(&works)?,
        None => {
            if !works.is_empty() {
                crate::exit::warn(
                    "only the works' content ids are opted out (exact copies): an opt-out of \
                     their passages (a paragraph inside another record) must be signed; pass \
                     --key KEY",
                );
            }
            None
        }
    };
    let client = args.remote.client()?;
    let log = origin(&client)?;
    let passages = match &passage_tree {
        Some(tree) => {
            upload_passage_tree(
                &client,
                key.as_ref().map(|k| &k.key),
                tree.leaves(),
                &tree.root(),
            )?;
            Some(SetRef {
                root: tree.root(),
                size: tree.size().0,
            })
        }
        None => None,
    };
    let optout_ids = if count == 0 {
        None
    } else if count <= MAX_INLINE_IDS {
        Some(OptOutIds::Inline(ids.iter().copied().collect()))
    } else {
        let set = SortedSet::from_ids(ids.iter().copied());
        upload_leaves(
            &client,
            key.as_ref().map(|k| &k.key),
            set.leaves(),
            &set.root(),
        )?;
        Some(OptOutIds::Set {
            root: set.root(),
            size: set.size().0,
        })
    };
    let set_root = match &optout_ids {
        Some(OptOutIds::Set { root, .. }) => Some(root.to_hex()),
        _ => None,
    };
    let optout = OptOut {
        ids: optout_ids,
        sites: sites.clone(),
        scope: scope.clone(),
        passages,
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
    let site_names: Vec<String> = sites.iter().map(ToString::to_string).collect();
    let signer = key.as_ref().map(|k| k.public_b64());
    if args.remote.json {
        say_json(&json!({
            "index": receipt.index,
            "ids": ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "set_root": set_root,
            "sites": site_names,
            "passages": passages.map(|p| json!({"root": p.root.to_hex(), "size": p.size})),
            "works": works.iter().map(|w| json!({
                "path": w.work.path.display().to_string(),
                "cid": w.work.cid.to_string(),
                "kind": w.work.kind.label(),
                "passages": key.is_some().then_some(w.leaves.len()),
            })).collect::<Vec<_>>(),
            "scope": labels,
            "signed": args.key.is_some(),
            "signer": signer,
            "receipt": receipt,
        }))?;
    } else {
        if count > 0 {
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
        if let Some(p) = &passages {
            say(format!(
                "opted out {} passage(s) of {} work(s): passage tree {}",
                p.size,
                works.len(),
                p.root
            ))?;
        }
        if !sites.is_empty() {
            say(format!(
                "opted out {} site(s) for {} at index {}",
                sites.len(),
                labels.join(", "),
                receipt.index
            ))?;
            for site in &sites {
                say(format!("  {site}"))?;
            }
            say(format!(
                "verifiers count it only if each site lists the signing key {} at \
                 https://<host>/.well-known/prov-ledger-keys (docs/sites.md)",
                signer.unwrap_or_default()
            ))?;
        }
    }
    Ok(Exit::Ok)
}

/// Most sites one opt-out names.
pub const MAX_SITES: usize = 64;

/// A scope label; the withdrawn `ai-use` is refused with the reason.
fn parse_scope(s: &str) -> Result<Scope, Failure> {
    let scope = Scope::from_label(s).ok_or_else(|| {
        Failure::msg(
            Exit::Invalid,
            format!("--scope {s:?}: expected train-ai or search"),
        )
    })?;
    if !scope.is_current() {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "--scope {s}: refused for new opt-outs: the IETF aipref vocabulary this ledger \
                 follows (draft-ietf-aipref-vocab-05 to -07) defines train-ai and search only; \
                 ai-use is kept for entries already logged (docs/format-sets-entries.md, \
                 \"Scopes\"); use train-ai"
            ),
        ));
    }
    Ok(scope)
}

/// `--domain` and `--url-prefix`, parsed, canonical, sorted by their string and unique.
fn collect_sites(args: &OptOutArgs) -> Result<Vec<Site>, Failure> {
    let mut out: Vec<Site> = Vec::new();
    for d in &args.domain {
        if d.contains("://") {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--domain {d:?}: a domain, not a URL (use --url-prefix for a URL)"),
            ));
        }
        out.push(Site::parse(d).or_exit(Exit::Invalid, format!("--domain {d:?}"))?);
    }
    for u in &args.url_prefix {
        if !u.contains("://") {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "--url-prefix {u:?}: an http:// or https:// URL (use --domain for a domain)"
                ),
            ));
        }
        out.push(Site::parse(u).or_exit(Exit::Invalid, format!("--url-prefix {u:?}"))?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A work read for an opt-out, and its passage-tree leaves (sorted, unique).
struct WorkLeaves {
    work: crate::work::Work,
    leaves: Vec<RangeLeaf>,
}

/// The passage tree of the works: every work's leaves when they fit in
/// [`MAX_OPTOUT_PASSAGES`]; otherwise each work keeps its smallest `MAX_OPTOUT_PASSAGES / n`
/// (n works; one work keeps its 4,096 smallest, `optout_sample`), a bottom-k sample of each.
/// `None` when no work has a passage (each is then opted out by its content id only).
fn passage_tree(works: &[WorkLeaves]) -> Result<Option<RangeTree>, Failure> {
    let cap = usize::try_from(MAX_OPTOUT_PASSAGES).unwrap_or(usize::MAX);
    let with: Vec<&WorkLeaves> = works.iter().filter(|w| !w.leaves.is_empty()).collect();
    for w in works.iter().filter(|w| w.leaves.is_empty()) {
        crate::exit::warn(format!(
            "{}: no passage (no sentence of {} bytes or more once normalised): opted out by its \
             content id only",
            w.work.path.display(),
            verifier::passage::MIN_PASSAGE_BYTES
        ));
    }
    if with.is_empty() {
        return Ok(None);
    }
    if with.len() > cap {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{} works with passages: one opt-out names at most {cap} passages; split them",
                with.len()
            ),
        ));
    }
    let total: usize = with.iter().map(|w| w.leaves.len()).sum();
    let per_work = if total <= cap { cap } else { cap / with.len() };
    let mut leaves = Vec::with_capacity(total.min(cap));
    for w in &with {
        let kept = if with.len() == 1 {
            verifier::passage::optout_sample(&w.leaves)
        } else {
            &w.leaves[..w.leaves.len().min(per_work)]
        };
        if kept.len() < w.leaves.len() {
            crate::exit::warn(format!(
                "{}: {} passages; opted out by its {} smallest passage ids (a uniform sample: a \
                 dataset holding part of the work holds that part of the sample)",
                w.work.path.display(),
                w.leaves.len(),
                kept.len()
            ));
        }
        leaves.extend_from_slice(kept);
    }
    Ok(Some(RangeTree::from_unsorted(leaves)))
}

fn collect_ids(args: &OptOutArgs) -> Result<(BTreeSet<ContentId>, Vec<WorkLeaves>), Failure> {
    let mut ids = BTreeSet::new();
    let mut works = Vec::new();
    for f in &args.files {
        let work = crate::work::Work::read(f)?;
        ids.insert(work.cid);
        if args.key.is_some() {
            let leaves = verifier::passage::work_leaves(&work.text, &work.cid);
            works.push(WorkLeaves { work, leaves });
        } else {
            works.push(WorkLeaves {
                work,
                leaves: Vec::new(),
            });
        }
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
    Ok((ids, works))
}
