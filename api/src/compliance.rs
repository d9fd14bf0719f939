//! `GET /v1/compliance/{index}`: the compliance bundle of a `model_checkpoint` entry (DESIGN.md
//! "Compliance"), assembled against one signed checkpoint: tlog-proofs of the checkpoint entry,
//! of the dataset versions it names and of every opt-out below its horizon; the whole leaf list
//! of every opt-out set; and for every opted-out id (`train-ai` scope) and every dataset version,
//! the set proof: exclusion, or the inclusion that is the evidence of a violation. The verifier
//! (`prov verify compliance`) trusts none of it beyond the log's key.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ledger::compliance::{
    dataset_label, BundleEntry, BundleSetProof, ComplianceBundle, OptOutSetLeaves,
};
use ledger::entry::{Entry, EntryBody, OptOutIds};
use ledger::ledger::Ledger;
use ledger::store::log::SignedCheckpoint;
use ledger::{ContentId, LeafIndex, TlogProof};

use crate::datasets::stored_entry;
use crate::extract::Path;
use crate::problem::ApiError;
use crate::state::AppState;

/// Opt-out entries read per page while gathering them.
const PAGE: usize = 4096;

/// `GET /v1/compliance/{index}`.
#[utoipa::path(get, path = "/v1/compliance/{index}", tag = "read",
    params(("index" = u64, Path, description = "Log index of a model_checkpoint entry")),
    responses(
        (status = 200, description = "The bundle (verify with `prov verify compliance`)", body = crate::schemas::ComplianceBundleJson),
        (status = 404, description = "No such entry, or not a model_checkpoint", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A set the bundle needs is not stored here", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn bundle(
    State(state): State<AppState>,
    Path(index): Path<u64>,
) -> Result<Response, ApiError> {
    let bundle = state
        .blocking(move |l| assemble(l, LeafIndex(index)))
        .await?;
    Ok(axum::Json(bundle).into_response())
}

/// Builds the bundle of the `model_checkpoint` entry at `index`.
pub fn assemble(l: &Ledger, index: LeafIndex) -> Result<ComplianceBundle, ApiError> {
    // One checkpoint for every proof: the bundle must be consistent with itself.
    let cp = l.checkpoint();
    if index.0 >= cp.size().0 {
        return Err(ApiError::not_found(format!(
            "no entry {index} in the latest checkpoint"
        )));
    }
    let model = stored_entry(l, index)?;
    let EntryBody::ModelCheckpoint(c) = model.body() else {
        return Err(ApiError::not_found(format!(
            "entry {index} is not a model_checkpoint"
        )));
    };
    let model_checkpoint = bundle_entry(l, &cp, index, &model)?;

    let mut datasets = Vec::with_capacity(c.datasets.len());
    for d in &c.datasets {
        let e = stored_entry(l, d.index)?;
        datasets.push(bundle_entry(l, &cp, d.index, &e)?);
    }

    // Every opt-out below the horizon, in log order.
    let mut optouts = Vec::new();
    let mut optout_sets = Vec::new();
    let mut ids: BTreeSet<ContentId> = BTreeSet::new();
    let mut after = None;
    'pages: loop {
        let page = l.optouts(after, PAGE)?;
        if page.is_empty() {
            break;
        }
        for &i in &page {
            if i.0 >= c.optout_horizon {
                break 'pages;
            }
            let e = stored_entry(l, i)?;
            optouts.push(bundle_entry(l, &cp, i, &e)?);
            let EntryBody::OptOut(o) = e.body() else {
                return Err(ApiError::internal(format!("opt-out index names entry {i}")));
            };
            let covers = o.covers_training();
            match &o.ids {
                OptOutIds::Inline(v) => {
                    if covers {
                        ids.extend(v.iter().copied());
                    }
                }
                OptOutIds::Set { root, size } => {
                    let count = usize::try_from(*size).map_err(ApiError::internal)?;
                    let leaves = l.sets().leaves(root, 0, count).map_err(|e| match e {
                        ledger::store::sets::SetStoreError::UnknownSet(r) => ApiError::Conflict {
                            slug: "set-missing",
                            detail: format!("opt-out set {r} of entry {i} is not stored here"),
                        },
                        other => other.into(),
                    })?;
                    if covers {
                        ids.extend(leaves.iter().map(|leaf| leaf.cid));
                    }
                    optout_sets.push(OptOutSetLeaves { leaves });
                }
            }
        }
        after = page.last().copied();
    }

    let mut set_proofs = Vec::with_capacity(ids.len() * c.datasets.len());
    for d in &c.datasets {
        let label = dataset_label(&d.key());
        for id in &ids {
            let proof = l.set_proof(&d.manifest_root, id).map_err(|e| match e {
                ledger::store::sets::SetStoreError::UnknownSet(r) => ApiError::Conflict {
                    slug: "set-missing",
                    detail: format!("manifest {r} of {label} is not stored here"),
                },
                other => other.into(),
            })?;
            set_proofs.push(BundleSetProof {
                dataset: label.clone(),
                proof,
            });
        }
    }

    Ok(ComplianceBundle {
        checkpoint: cp.note.clone(),
        model_checkpoint,
        datasets,
        optouts,
        optout_sets,
        set_proofs,
    })
}

fn bundle_entry(
    l: &Ledger,
    cp: &SignedCheckpoint,
    index: LeafIndex,
    entry: &Entry,
) -> Result<BundleEntry, ApiError> {
    let proof = TlogProof {
        extra: None,
        index,
        proof: l.inclusion_proof(index, cp.size())?,
        checkpoint: cp.note.clone(),
    };
    Ok(BundleEntry::new(entry, &proof))
}
