//! `prov check WORK --passages [--dataset P/D@V | --model P/M[@C]]` and `prov check --dir DIR`:
//! was my work used, even re-wrapped inside other text? The work (text, Markdown or HTML) is
//! normalised and cut into passages (`verifier::passage`, docs/formats.md "Passages"); for each
//! dataset version in scope one request (`POST /v1/datasets/{p}/{d}/{v}/passages`, at most
//! [`MAX_PASSAGE_QUERY`] ids each) asks for the passage-tree leaves of all of them, and the answer's
//! multi-range proof is verified against the `passages` root and size that the version's entry
//! commits, the entry itself fetched with its inclusion proof and verified against the signed
//! checkpoint (as `--site` does). Only then is "k of n passages found, in items ..." printed.
//! A count of 0 is a verified exclusion; a version without a passage tree is reported as such,
//! never as absent. Nothing in the server's answer is taken on its word: counts it states that
//! its proof does not show, another entry index or another tree are refused (exit 2).
//!
//! Scope: `--dataset`: that version; `--model`: the versions the checkpoint names (their
//! manifest roots checked against it); neither: every version the server lists (`GET
//! /v1/datasets`, its word for which versions exist).
//!
//! Exit 0: a passage was found; 1: none, verified in every version; 10: none where it can be
//! decided, but a version has no passage tree; 2: a proof does not verify, or the server's
//! answer contradicts it; 3: the server failed or would not prove what its entry commits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use verifier::entry::{EntryBody, SetRef};
use verifier::range::Range;
use verifier::{ContentId, TreeSize, VerifierKey};

use crate::client::{PassagesAnswer, MAX_PASSAGE_QUERY};
use crate::cmd::attest::parse_dataset_label;
use crate::cmd::check::{evidence_entry, CheckArgs};
use crate::cmd::check_site::encode;
use crate::cmd::proof::{verified_checkpoint, verified_entry};
use crate::exit::{warn, Exit, Failure, OrExit};
use crate::mirror::Routes;

/// The flags of `prov check` that check a work by its passages (flattened into `CheckArgs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WorkArgs {
    /// Check FILE as a work (text, Markdown or HTML) by its passages, its normalised sentences
    /// (docs/formats.md "Passages"), so that it is found re-wrapped inside other records, with a
    /// multi-range proof per dataset version; without it FILE is checked by its exact bytes.
    #[arg(long, conflicts_with_all = ["id", "site"])]
    pub passages: bool,
    /// Only this dataset version, PUBLISHER/DATASET@VERSION (implies --passages).
    #[arg(long, value_name = "PUBLISHER/DATASET@VERSION", conflicts_with_all = ["model", "id", "site"])]
    pub dataset: Option<String>,
    /// Check every work under DIR (files, recursively; dot files and files that are not UTF-8
    /// skipped) by its passages, and print a summary table (implies --passages).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["id", "site"])]
    pub dir: Option<PathBuf>,
}

impl WorkArgs {
    /// Whether `prov check` checks works by their passages (`--dataset` and `--dir` imply it).
    pub fn selected(&self) -> bool {
        self.passages || self.dataset.is_some() || self.dir.is_some()
    }
}

/// Leaves revealed per passage: the count is proven either way, and a paragraph is rarely in
/// more items than this.
pub const REVEAL_PER_PASSAGE: u64 = 16;

/// Items named per version in the text output (all that were revealed are in `--json`).
const ITEMS_SHOWN: usize = 20;

/// The answer for `prov check --passages`: the exit code, the evidence and the lines.
pub fn check_work(
    client: &impl Routes,
    key: &VerifierKey,
    a: &CheckArgs,
) -> Result<(Exit, Value, Vec<String>), Failure> {
    let works = match (&a.work.dir, &a.file) {
        (Some(dir), _) => works_under(dir)?,
        (None, Some(file)) => vec![read_work(file, None, false)?],
        (None, None) => {
            return Err(Failure::msg(
                Exit::Invalid,
                "give a WORK file or --dir DIR to check by passages",
            ))
        }
    };
    if a.work.dir.is_none() && works.iter().all(|w| w.pids.is_empty()) {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{} has no passage of at least {} bytes of normalised text: nothing to check",
                works.first().map(|w| w.name.as_str()).unwrap_or_default(),
                verifier::passage::MIN_PASSAGE_BYTES
            ),
        ));
    }
    let scope = scope(client, key, a)?;
    let mut answers = Vec::new();
    for w in &works {
        let mut per_version = Vec::new();
        for v in &scope.versions {
            per_version.push(answer(client, v, &w.pids)?);
        }
        answers.push(per_version);
    }
    let summaries: Vec<Summary> = works
        .iter()
        .zip(&answers)
        .map(|(w, ans)| Summary::of(w, ans))
        .collect();
    let exit = if summaries.iter().any(|s| s.found > 0) {
        Exit::Ok
    } else if scope.versions.iter().any(|v| v.tree.is_none()) {
        Exit::PassagesUnchecked
    } else {
        Exit::Negative
    };
    let lines = if a.work.dir.is_some() {
        table(&scope, &works, &summaries)
    } else {
        single(&scope, &works[0], &answers[0], &summaries[0], exit)
    };
    let evidence = json!({
        "model_checkpoint": scope.model.as_ref().map(|(l, _)| l.clone()),
        "index": scope.model.as_ref().map(|(_, i)| *i),
        "present": exit == Exit::Ok,
        "decided": exit != Exit::PassagesUnchecked,
        "versions": scope.versions.iter().map(|v| v.evidence.clone()).collect::<Vec<_>>(),
        "works": works.iter().zip(&answers).zip(&summaries).map(|((w, ans), s)| json!({
            "work": w.name,
            "kind": w.kind,
            "cid": w.cid.to_string(),
            "passages": w.pids.len(),
            "found": s.found,
            "datasets": ans.iter().map(Answer::evidence).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok((exit, evidence, lines))
}

/// A work read and cut: its passage ids, sorted and unique.
struct Work {
    name: String,
    /// How it was read: `text`, `markdown` or `html`.
    kind: &'static str,
    cid: ContentId,
    pids: Vec<ContentId>,
}

/// A dataset version in scope, its entry verified in the log.
struct Version {
    label: String,
    index: u64,
    /// The passage tree its entry commits; `None`: it has none (cannot be decided).
    tree: Option<SetRef>,
    evidence: Value,
}

/// The versions to check, and the checkpoint that named them.
struct Scope {
    model: Option<(String, u64)>,
    versions: Vec<Version>,
}

impl Scope {
    fn what(&self) -> String {
        match &self.model {
            Some((l, i)) => format!("the training data of {l} (entry {i})"),
            None if self.versions.len() == 1 => self.versions[0].label.clone(),
            None => "the dataset versions the server lists".to_string(),
        }
    }
}

/// One passage's proven members in one version.
struct Proven {
    pid: ContentId,
    count: u64,
    /// The items the proof revealed (all of them unless `count` is over the reveal limit).
    items: Vec<ContentId>,
}

/// One work in one version.
struct Answer {
    label: String,
    index: u64,
    tree: Option<SetRef>,
    results: Vec<Proven>,
    proofs: Vec<Value>,
}

impl Answer {
    fn found(&self) -> usize {
        self.results.iter().filter(|r| r.count > 0).count()
    }

    /// The distinct items holding the found passages, and whether every one was revealed.
    fn items(&self) -> (BTreeSet<ContentId>, bool) {
        let mut all = BTreeSet::new();
        let mut complete = true;
        for r in &self.results {
            all.extend(r.items.iter().copied());
            complete &= r.items.len() as u64 == r.count;
        }
        (all, complete)
    }

    fn evidence(&self) -> Value {
        let (items, complete) = self.items();
        json!({
            "dataset": self.label,
            "entry_index": self.index,
            "passages": self.tree.map(|t| json!({"root": t.root.to_hex(), "size": t.size})),
            "found": self.tree.map(|_| self.found()),
            "items": items.iter().map(ContentId::to_string).collect::<Vec<_>>(),
            "items_complete": complete,
            "results": self.results.iter().map(|r| json!({
                "passage": r.pid.to_string(),
                "count": r.count,
                "items": r.items.iter().map(ContentId::to_string).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "proofs": self.proofs,
        })
    }
}

/// One work over every version: distinct passages found anywhere, versions holding some.
struct Summary {
    found: usize,
    versions_found: usize,
    versions_decided: usize,
}

impl Summary {
    fn of(w: &Work, answers: &[Answer]) -> Summary {
        let found: BTreeSet<ContentId> = answers
            .iter()
            .flat_map(|a| a.results.iter().filter(|r| r.count > 0).map(|r| r.pid))
            .collect();
        debug_assert!(found.len() <= w.pids.len());
        Summary {
            found: found.len(),
            versions_found: answers.iter().filter(|a| a.found() > 0).count(),
            versions_decided: answers.iter().filter(|a| a.tree.is_some()).count(),
        }
    }
}

/// The dataset versions to check, each entry fetched and verified against the checkpoint.
fn scope(client: &impl Routes, key: &VerifierKey, a: &CheckArgs) -> Result<Scope, Failure> {
    if let Some(m) = &a.model {
        let (ve, cp) = verified_checkpoint(client, key, m)?;
        let label = format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint);
        let mut versions = Vec::new();
        for d in &cp.datasets {
            let v = version(client, key, d.index.0, &d.key().to_string())?;
            if v.1 != d.manifest_root {
                return Err(Failure::msg(
                    Exit::Invalid,
                    format!("{}'s manifest root is not the one {label} names", v.0.label),
                ));
            }
            versions.push(v.0);
        }
        return Ok(Scope {
            model: Some((label, ve.index)),
            versions,
        });
    }
    if let Some(d) = &a.work.dataset {
        if !d.contains('/') {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--dataset {d:?}: expected PUBLISHER/DATASET@VERSION"),
            ));
        }
        let (p, ds, v) = parse_dataset_label(d, "")?;
        let view: crate::client::DatasetVersionView =
            client.get_json(&format!("/v1/datasets/{p}/{ds}/{v}"))?;
        let label = format!("{p}/{ds}@{v}");
        return Ok(Scope {
            model: None,
            versions: vec![version(client, key, view.index, &label)?.0],
        });
    }
    // Every version the server lists.
    #[derive(Deserialize)]
    struct Page {
        items: Vec<Row>,
        next: Option<String>,
    }
    #[derive(Deserialize)]
    struct Row {
        index: u64,
        label: String,
    }
    let mut versions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_deref()
            .map(|c| format!("?cursor={}", encode(c)))
            .unwrap_or_default();
        let page: Page = client.get_json(&format!("/v1/datasets{q}"))?;
        for r in &page.items {
            versions.push(version(client, key, r.index, &r.label)?.0);
        }
        match page.next {
            Some(n) if !page.items.is_empty() && cursor.as_ref() != Some(&n) => cursor = Some(n),
            _ => break,
        }
    }
    Ok(Scope {
        model: None,
        versions,
    })
}

/// Entry `index`, verified in the log, which must be the dataset version `label`: the version
/// and its manifest root.
fn version(
    client: &impl Routes,
    key: &VerifierKey,
    index: u64,
    label: &str,
) -> Result<(Version, verifier::Digest), Failure> {
    let ve = verified_entry(client, key, index)?;
    let EntryBody::DatasetVersion(dv) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a dataset_version"),
        ));
    };
    let got = dv.key().to_string();
    if got != label {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("the server says entry {index} is {label}, but it is {got}"),
        ));
    }
    let tree = dv.passages;
    Ok((
        Version {
            label: got,
            index,
            tree,
            evidence: json!({
                "dataset": label,
                "entry_index": index,
                "passages": tree.map(|t| json!({"root": t.root.to_hex(), "size": t.size})),
                "entry": evidence_entry(&ve),
            }),
        },
        dv.manifest_root,
    ))
}

/// The work's passages in one version: one request per [`MAX_PASSAGE_QUERY`] ids, each answer's
/// multi-range proof verified against the tree the version's entry commits.
fn answer(client: &impl Routes, v: &Version, pids: &[ContentId]) -> Result<Answer, Failure> {
    let mut out = Answer {
        label: v.label.clone(),
        index: v.index,
        tree: v.tree,
        results: Vec::new(),
        proofs: Vec::new(),
    };
    let Some(tree) = v.tree else {
        return Ok(out);
    };
    for chunk in pids.chunks(MAX_PASSAGE_QUERY) {
        // The entry commits a passage tree: a refusal to prove from it is the server failing.
        let refused = |f: Failure| {
            Failure::new(
                Exit::Server,
                f.error.context(format!(
                    "{} commits a passage tree, but the server gives no proof from it",
                    v.label
                )),
            )
        };
        let ans = client
            .passages(&v.label, chunk, REVEAL_PER_PASSAGE)
            .map_err(refused)?
            .ok_or_else(|| refused(Failure::msg(Exit::Server, "404 no-passage-tree")))?;
        let (counts, proof) = verified_answer(v, &tree, chunk, ans)?;
        out.results.extend(counts);
        out.proofs.push(proof);
    }
    Ok(out)
}

/// Checks one answer against the version's entry and verifies its proof: the counts it proves.
fn verified_answer(
    v: &Version,
    tree: &SetRef,
    pids: &[ContentId],
    ans: PassagesAnswer,
) -> Result<(Vec<Proven>, Value), Failure> {
    let lie = |what: String| Failure::msg(Exit::Invalid, format!("{}: {what}", v.label));
    if ans.entry_index != v.index || ans.dataset != v.label {
        return Err(lie(format!(
            "the server answered for {} (entry {}), not for entry {}",
            ans.dataset, ans.entry_index, v.index
        )));
    }
    if ans.passages.root != tree.root.to_hex() || ans.passages.size != tree.size {
        return Err(lie(format!(
            "the server answered from passage tree {} of {} leaves, the entry commits {} of {}",
            ans.passages.root,
            ans.passages.size,
            tree.root.to_hex(),
            tree.size
        )));
    }
    let proof = &ans.proof;
    let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
    let members = verifier::range::verify_ranges(&tree.root, TreeSize(tree.size), &ranges, proof)
        .or_exit(
        Exit::Invalid,
        format!("{}: the passage proof does not verify", v.label),
    )?;
    if members.len() != pids.len() {
        return Err(lie("the proof does not cover every passage".to_string()));
    }
    let counts: Vec<Proven> = pids
        .iter()
        .zip(members)
        .map(|(pid, m)| Proven {
            pid: *pid,
            count: m.count,
            items: m
                .revealed
                .iter()
                .filter_map(|(_, leaf)| leaf.split_passage().map(|(_, cid)| cid))
                .collect(),
        })
        .collect();
    // What the server says must be what its proof shows.
    let proven: BTreeMap<String, u64> = counts
        .iter()
        .map(|c| (c.pid.to_string(), c.count))
        .collect();
    for c in &ans.results {
        match proven.get(&c.passage) {
            Some(n) if *n == c.count => {}
            Some(n) => {
                return Err(lie(format!(
                    "the server says {} holds {} item(s), its proof shows {n}",
                    c.passage, c.count
                )))
            }
            None => {
                return Err(lie(format!(
                    "the server answers for {}, which was not asked",
                    c.passage
                )))
            }
        }
    }
    let proof = serde_json::to_value(proof).or_exit(Exit::Local, "encoding the proof")?;
    Ok((counts, proof))
}

/// Reads a work (text, Markdown or HTML by its extension: `crate::work`) and cuts it into
/// passages. With `strict`, a file that is not UTF-8 is refused (`--dir` skips it: a picture is
/// not a work).
fn read_work(path: &Path, name: Option<String>, strict: bool) -> Result<Work, Failure> {
    if strict {
        let bytes =
            std::fs::read(path).or_exit(Exit::Local, format!("reading {}", path.display()))?;
        std::str::from_utf8(&bytes)
            .or_exit(Exit::Local, format!("{} is not UTF-8 text", path.display()))?;
    }
    let work = crate::work::Work::read(path)?;
    let pids: BTreeSet<ContentId> = verifier::passage::passages(&work.text)
        .map(|p| p.id)
        .collect();
    Ok(Work {
        name: name.unwrap_or_else(|| work.path.display().to_string()),
        kind: work.kind.label(),
        cid: work.cid,
        pids: pids.into_iter().collect(),
    })
}

/// The works under `dir`: every file, recursively, in path order; dot files and directories
/// skipped, and files that cannot be read as a work skipped with a warning.
fn works_under(dir: &Path) -> Result<Vec<Work>, Failure> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).or_exit(Exit::Local, format!("reading {}", d.display()))?;
        for e in entries {
            let e = e.or_exit(Exit::Local, format!("reading {}", d.display()))?;
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = e.path();
            let ty = e
                .file_type()
                .or_exit(Exit::Local, format!("reading {}", path.display()))?;
            if ty.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut works = Vec::new();
    for f in files {
        let name = f
            .strip_prefix(dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.display().to_string());
        match read_work(&f, Some(name), true) {
            Ok(w) => works.push(w),
            Err(e) => warn(format!("skipped: {:#}", e.error)),
        }
    }
    if works.is_empty() {
        return Err(Failure::msg(
            Exit::Local,
            format!("{} holds no work to check", dir.display()),
        ));
    }
    Ok(works)
}

/// The lines for one work: a verdict, then one line per version.
fn single(scope: &Scope, w: &Work, answers: &[Answer], s: &Summary, exit: Exit) -> Vec<String> {
    let n = w.pids.len();
    let undecided = answers.iter().filter(|a| a.tree.is_none()).count();
    let mut lines = vec![match exit {
        Exit::Ok => format!(
            "yes: {} of {n} passages of {} are in {}: found in {} of {} dataset version(s) (multi-range proofs verified)",
            s.found, w.name, scope.what(), s.versions_found, answers.len()
        ),
        Exit::Negative => format!(
            "no: none of the {n} passages of {} is in {} ({} dataset version(s), exclusions verified)",
            w.name, scope.what(), answers.len()
        ),
        _ => format!(
            "undecided: none of the {n} passages of {} is in {} where it can be decided; {undecided} dataset version(s) have no passage tree",
            w.name, scope.what()
        ),
    }];
    for a in answers {
        lines.extend(version_lines(a, n));
    }
    lines
}

/// "k of n passages found, in items:" and the items (those holding the most passages first),
/// or why it cannot be decided.
fn version_lines(a: &Answer, n: usize) -> Vec<String> {
    if a.tree.is_none() {
        return vec![format!(
            "  {} (entry {}): no passage tree: cannot be decided",
            a.label, a.index
        )];
    }
    let k = a.found();
    if k == 0 {
        return vec![format!(
            "  {} (entry {}): 0 of {n} passages found (exclusions verified)",
            a.label, a.index
        )];
    }
    let mut per_item: BTreeMap<ContentId, usize> = BTreeMap::new();
    for r in &a.results {
        for c in &r.items {
            *per_item.entry(*c).or_default() += 1;
        }
    }
    let mut items: Vec<(ContentId, usize)> = per_item.into_iter().collect();
    items.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut lines = vec![format!(
        "  {} (entry {}): {k} of {n} passages found, in items (multi-range proof verified):",
        a.label, a.index
    )];
    for (cid, m) in items.iter().take(ITEMS_SHOWN) {
        lines.push(format!("    {cid}: {m} passage(s)"));
    }
    if items.len() > ITEMS_SHOWN {
        lines.push(format!(
            "    and {} more (--json lists them)",
            items.len() - ITEMS_SHOWN
        ));
    }
    if !a.items().1 {
        lines.push(format!(
            "    and more not revealed: at most {REVEAL_PER_PASSAGE} items are shown per passage"
        ));
    }
    lines
}

/// The `--dir` summary table: work, passages, found, versions (holding some of the total
/// that can be decided), and a note on the versions without a passage tree.
fn table(scope: &Scope, works: &[Work], summaries: &[Summary]) -> Vec<String> {
    let head = ["work", "passages", "found", "versions"];
    let rows: Vec<[String; 4]> = works
        .iter()
        .zip(summaries)
        .map(|(w, s)| {
            [
                w.name.clone(),
                w.pids.len().to_string(),
                s.found.to_string(),
                format!("{} of {}", s.versions_found, s.versions_decided),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..4).map(width).collect();
    let line = |c: [&str; 4]| {
        format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )
        .trim_end()
        .to_string()
    };
    let used = summaries.iter().filter(|s| s.found > 0).count();
    let mut lines = vec![
        format!(
            "{used} of {} work(s) have passages in {} ({} dataset version(s); proofs verified)",
            works.len(),
            scope.what(),
            scope.versions.len()
        ),
        line(head),
    ];
    for r in &rows {
        lines.push(line([&r[0], &r[1], &r[2], &r[3]]));
    }
    let untreed: Vec<&str> = scope
        .versions
        .iter()
        .filter(|v| v.tree.is_none())
        .map(|v| v.label.as_str())
        .collect();
    if !untreed.is_empty() {
        lines.push(format!(
            "no passage tree (cannot be decided): {}",
            untreed.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
mod tests {
    use verifier::range::{range_multi_proof, RangeLeaf, RangeTree};

    use super::*;
    use crate::client::{PassageCount, PassagesRef};

    /// A version whose tree holds passages 0..6 in items (passage 1 in two items), and the
    /// honest answer for passages `asked`.
    fn fixture(asked: &[usize]) -> (Version, SetRef, Vec<ContentId>, PassagesAnswer) {
        let pid = |i: usize| ContentId::of(format!("passage {i}").as_bytes());
        let item = |i: usize| ContentId::of(format!("item {i}").as_bytes());
        let mut leaves: Vec<RangeLeaf> = (0..6)
            .map(|i| RangeLeaf::passage(&pid(i), &item(i)))
            .collect();
        leaves.push(RangeLeaf::passage(&pid(1), &item(9)));
        let tree = RangeTree::from_unsorted(leaves);
        let sref = SetRef {
            root: tree.root(),
            size: tree.size().0,
        };
        let mut pids: Vec<ContentId> = asked.iter().map(|&i| pid(i)).collect();
        pids.sort();
        let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
        let proof = range_multi_proof(&tree, &ranges, REVEAL_PER_PASSAGE).unwrap();
        let results = pids
            .iter()
            .map(|p| PassageCount {
                passage: p.to_string(),
                count: tree
                    .leaves()
                    .iter()
                    .filter(|l| l.as_bytes().starts_with(&p.0))
                    .count() as u64,
            })
            .collect();
        let v = Version {
            label: "alice/web@v1".into(),
            index: 7,
            tree: Some(sref),
            evidence: Value::Null,
        };
        let ans = PassagesAnswer {
            dataset: v.label.clone(),
            entry_index: 7,
            passages: PassagesRef {
                root: sref.root.to_hex(),
                size: sref.size,
            },
            results,
            proof,
        };
        (v, sref, pids, ans)
    }

    #[test]
    fn honest_answer_gives_counts_and_items_of_every_passage() {
        let (v, t, pids, ans) = fixture(&[1, 3, 42]);
        let (counts, _) = verified_answer(&v, &t, &pids, ans).unwrap();
        let by: BTreeMap<ContentId, (u64, usize)> = counts
            .iter()
            .map(|c| (c.pid, (c.count, c.items.len())))
            .collect();
        let pid = |i: usize| ContentId::of(format!("passage {i}").as_bytes());
        assert_eq!(by[&pid(1)], (2, 2));
        assert_eq!(by[&pid(3)], (1, 1));
        assert_eq!(by[&pid(42)], (0, 0), "an absent passage: a verified 0");
    }

    #[test]
    fn flipped_bit_in_a_helper_hash_is_refused() {
        let (v, t, pids, mut ans) = fixture(&[1, 3, 42]);
        ans.proof.hashes[0].0[3] ^= 1;
        let e = verified_answer(&v, &t, &pids, ans).err().unwrap();
        assert_eq!(e.exit, Exit::Invalid);
    }

    #[test]
    fn item_swapped_in_a_revealed_leaf_is_refused() {
        let (v, t, pids, mut ans) = fixture(&[3]);
        let i = ans
            .proof
            .leaves
            .iter()
            .position(|l| l.leaf.as_bytes().starts_with(&pids[0].0))
            .unwrap();
        let (p, _) = ans.proof.leaves[i].leaf.split_passage().unwrap();
        ans.proof.leaves[i].leaf = RangeLeaf::passage(&p, &ContentId::of(b"another item"));
        let e = verified_answer(&v, &t, &pids, ans).err().unwrap();
        assert_eq!(e.exit, Exit::Invalid);
    }

    #[test]
    fn count_the_proof_does_not_show_is_refused() {
        let (v, t, pids, mut ans) = fixture(&[1, 3]);
        ans.results[0].count = 0;
        let e = verified_answer(&v, &t, &pids, ans).err().unwrap();
        assert_eq!(e.exit, Exit::Invalid);
        assert!(
            format!("{:#}", e.error).contains("its proof shows"),
            "{:#}",
            e.error
        );
    }

    #[test]
    fn answer_from_another_entry_or_tree_is_refused() {
        let (v, t, pids, mut ans) = fixture(&[1]);
        ans.entry_index = 8;
        assert!(verified_answer(&v, &t, &pids, ans).is_err());
        let (v, t, pids, mut ans) = fixture(&[1]);
        ans.passages.size += 1;
        assert!(verified_answer(&v, &t, &pids, ans).is_err());
    }

    #[test]
    fn proof_of_fewer_passages_than_asked_is_refused() {
        // The server proves passage 1 only, for a question about 1 and 3.
        let (v, t, _, ans) = fixture(&[1]);
        let (_, _, pids, _) = fixture(&[1, 3]);
        assert!(verified_answer(&v, &t, &pids, ans).is_err());
    }
}
