//! `prov report training-summary --model P/M@C [--format md|json] [--out FILE]`: the data-source
//! part of the EU AI Act's public summary of training content (Art. 53(1)(d); the Commission's
//! "Template for the Public Summary of Training Content for general-purpose AI models", July
//! 2025: section 2, "List of data sources", and section 3.1, "Respect of reservation of rights
//! from text and data mining exception or limitation"), computed from committed data only.
//!
//! Every figure names the entry it derives from (its log index) and the root it is computed
//! over; `prov verify training-summary FILE` recomputes them all from the read API. What the
//! ledger cannot know (private datasets, user data, synthetic data, the crawler's name and
//! behaviour) is left for the provider to fill in, and the report says so.
//!
//! With `--tiles LOCATION` (and `--vkey`), everything is read from a static mirror of the log
//! (`crate::mirror`); the compliance section then needs the checkpoint's compliance bundle as
//! `--bundle FILE` (a mirror holds no bundles: `prov proof compliance` writes one), verified
//! with its completeness checked against the mirror.
//!
//! Exit 0: written; 2: a proof or a recomputed root does not verify (or `--tiles` without
//! `--bundle`); 3, 4: the server (3: a mirror that lacks an object the summary needs, or whose
//! object does not hash to what the log commits).

pub mod figures;
pub mod markdown;
pub mod sources;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use verifier::VerifierKey;

use crate::cmd::proof::{verified_checkpoint, KeyArg};
use crate::cmd::publisher::Remote;
use crate::cmd::report::figures::{dataset_figures, Counts, DatasetFigures};
use crate::exit::{say, Exit, Failure, OrExit, Outcome};
use crate::mirror::Routes;

/// The `format` of a summary's JSON.
pub const FORMAT: &str = "prov-training-summary/1";

/// What the summary follows.
pub const TEMPLATE: &str = "European Commission, Explanatory Notice and Template for the Public \
    Summary of Training Content for general-purpose AI models (Art. 53(1)(d) AI Act), July 2025: \
    section 2 (List of data sources) and 3.1 (Respect of reservation of rights from the TDM \
    exception)";

#[derive(Debug, clap::Subcommand)]
pub enum ReportCmd {
    /// The EU AI Act public summary of training content (data sources, opt-outs, compliance)
    /// of a model checkpoint, from committed data only.
    TrainingSummary(TrainingSummaryArgs),
}

#[derive(Debug, Clone, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    Md,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct TrainingSummaryArgs {
    /// The model checkpoint: PUBLISHER/MODEL (its latest checkpoint) or PUBLISHER/MODEL@CHECKPOINT.
    #[arg(long, value_name = "PUBLISHER/MODEL[@CHECKPOINT]")]
    pub model: String,
    /// Markdown (with the figures' JSON embedded, for `prov verify training-summary`) or JSON.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// List the top 5 % of domain names or 1,000, whichever is fewer (the template's rule for
    /// SMEs), instead of the top 10 %.
    #[arg(long)]
    pub sme: bool,
    /// Write the summary to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub checks: crate::cmd::verify::SiteCheckArgs,
    #[command(flatten)]
    pub key: KeyArg,
    /// With --min-witnesses K: every entry (and the compliance bundle's checkpoint) is proven
    /// against the log's latest checkpoint that K of these witnesses cosigned; exit 2 when it
    /// falls short.
    #[command(flatten)]
    pub witnesses: crate::witnessed::WitnessArgs,
    /// Read the log from a static mirror (needs --vkey and --bundle).
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    /// With --tiles: the model checkpoint's compliance bundle (`prov proof compliance`), whose
    /// verdict fills the compliance section; its completeness is checked against the mirror.
    #[arg(long, value_name = "FILE", requires = "tiles")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub remote: Remote,
}

/// The figures of a summary (its JSON form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub template: String,
    /// The log's origin.
    pub log: String,
    pub model: ModelFigures,
    /// 2.1 (and 2.2 where licensed): every dataset version the checkpoint names.
    pub datasets: Vec<DatasetFigures>,
    /// Over every dataset version (a content in two versions counts twice).
    pub total: Counts,
    /// 2.3: the domain names the items' sources are on.
    pub scraped: Scraped,
    /// 3.1: the opt-out policy the checkpoint entry commits, and its verified outcome.
    pub optouts: OptOutPolicy,
    pub compliance: ComplianceFigures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFigures {
    /// `publisher/model@checkpoint`.
    pub label: String,
    pub entry_index: u64,
    pub weights_root: String,
    pub weights_count: u64,
    /// The entry's `time` (Unix seconds).
    pub time: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scraped {
    /// How the list was cut: `top 10 %` or `top 5 % or 1,000 (SME)`.
    pub rule: String,
    pub sme: bool,
    /// Distinct domain names (hosts) over all dataset versions.
    pub domains: u64,
    /// Items (source leaves) and bytes with a source.
    pub with_source: Counts,
    /// Items (source leaves) and bytes without one.
    pub without_source: Counts,
    /// The domains listed, largest first (bytes, then items, then name).
    pub top_domains: Vec<DomainFigures>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainFigures {
    pub domain: String,
    pub items: u64,
    pub bytes: u64,
    /// The dataset versions it comes from: each figure's entry.
    pub from: Vec<DomainSource>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainSource {
    pub dataset: String,
    pub entry_index: u64,
    pub items: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutPolicy {
    /// Every `train-ai` opt-out logged below this index is claimed honoured.
    pub horizon: u64,
    /// The model checkpoint entry that makes the claim.
    pub entry_index: u64,
    /// The scope that binds for training (aipref `train-ai`).
    pub scope: String,
}

/// The verdict of the checkpoint's compliance bundle, as `prov verify compliance` reaches it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceFigures {
    pub conclusion: String,
    pub exit: u8,
    /// The bundle's checkpoint is the model checkpoint entry's.
    pub entry_index: u64,
    pub optouts_checked: u64,
    /// Opted-out ids trained on.
    pub violations: u64,
    /// Site opt-outs with items in a dataset version whose requester's control of the site is
    /// verified: violations.
    pub site_violations: u64,
    /// Site opt-outs with items in a dataset version whose control could not be verified.
    pub site_violations_unverified: u64,
    /// (opt-out, site, dataset version) that cannot be decided: no source tree.
    pub sites_unproven: u64,
    /// Whether completeness was checked against the log's tiles (null: not checked).
    pub complete: Option<bool>,
    pub lag_entries: u64,
    pub lag_seconds: Option<u64>,
}

pub fn run(cmd: &ReportCmd) -> Outcome {
    match cmd {
        ReportCmd::TrainingSummary(a) => training_summary(a),
    }
}

fn training_summary(a: &TrainingSummaryArgs) -> Outcome {
    let summary = match &a.tiles.tiles {
        Some(location) => from_mirror(a, location)?,
        None => {
            let client = a.remote.client()?;
            let key = a.key.key(&client)?;
            crate::witnessed::anchor_to_cosigned(
                || client.get_text("/checkpoint.cosigned"),
                &key,
                &a.witnesses,
            )?;
            build(&client, &key, &a.model, a.sme, &|i| {
                crate::cmd::verify::compliance_figures(&client, &key, i, &a.checks)
            })?
        }
    };
    let format = if a.remote.json {
        &Format::Json
    } else {
        &a.format
    };
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&summary).or_exit(Exit::Local, "json")?,
        Format::Md => markdown::render(&summary)?,
    };
    match &a.out {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .or_exit(Exit::Local, format!("writing {}", p.display()))?,
        None => say(text)?,
    }
    Ok(Exit::Ok)
}

/// The summary read from the static mirror at `location`: every entry, set and source tree
/// from its objects, the compliance figures from `--bundle`.
fn from_mirror(a: &TrainingSummaryArgs, location: &str) -> Result<Summary, Failure> {
    let (Some(vkey), Some(bundle_file)) = (&a.key.vkey, &a.bundle) else {
        return Err(Failure::msg(
            Exit::Invalid,
            "--tiles needs --vkey (a mirror announces no key) and --bundle FILE (a mirror holds \
             no compliance bundles: `prov proof compliance` writes one)",
        ));
    };
    let key = crate::cmd::verify::load_vkey(vkey)?;
    let source = crate::source::LogSource::mirror(location)?;
    crate::witnessed::anchor_to_cosigned(|| source.cosigned_note(), &key, &a.witnesses)?;
    let m = crate::mirror::Mirror::open(&source, &key)?;
    let bundle: verifier::compliance::ComplianceBundle = serde_json::from_slice(
        &std::fs::read(bundle_file)
            .or_exit(Exit::Local, format!("reading {}", bundle_file.display()))?,
    )
    .or_exit(
        Exit::Invalid,
        format!("{}: not a compliance bundle", bundle_file.display()),
    )?;
    let tiles = crate::cmd::verify::Tiles::Mirror(crate::source::LogSource::mirror(location)?);
    let from = bundle_file.display().to_string();
    build(&m, &key, &a.model, a.sme, &|i| {
        crate::cmd::verify::compliance_figures_of(&bundle, &key, i, &a.checks, &tiles, &from)
    })
}

/// The compliance figures of the model checkpoint entry at an index.
pub type ComplianceOf<'a> = &'a dyn Fn(u64) -> Result<ComplianceFigures, Failure>;

/// Computes a model checkpoint's summary from the ledger at `client` (the service, or a static
/// mirror), the compliance section by `compliance`.
pub fn build(
    client: &impl Routes,
    key: &VerifierKey,
    model: &str,
    sme: bool,
    compliance: ComplianceOf<'_>,
) -> Result<Summary, Failure> {
    let (ve, cp) = verified_checkpoint(client, key, model)?;
    let index = ve.index;
    let label = format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint);
    let mut datasets = Vec::new();
    for d in &cp.datasets {
        datasets.push(dataset_figures(client, key, d.index.0, &d.manifest_root)?);
    }
    let mut total = Counts::default();
    for d in &datasets {
        total.items += d.items;
        total.bytes = total.bytes.saturating_add(d.bytes);
    }
    let scraped = scraped(&datasets, sme);
    // Each version keeps its figures for the listed domains only: the summary stays small
    // whatever the number of hosts, and every listed figure still names its entry.
    let listed: std::collections::BTreeSet<&str> = scraped
        .top_domains
        .iter()
        .map(|d| d.domain.as_str())
        .collect();
    for d in &mut datasets {
        d.hosts.retain(|h| listed.contains(h.value.as_str()));
    }
    let compliance = compliance(index)?;
    Ok(Summary {
        format: FORMAT.to_string(),
        template: TEMPLATE.to_string(),
        log: ve
            .proof
            .checkpoint
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        model: ModelFigures {
            label,
            entry_index: index,
            weights_root: cp.weights_root.to_hex(),
            weights_count: cp.weights_count,
            time: ve.entry.time(),
        },
        datasets,
        total,
        scraped,
        optouts: OptOutPolicy {
            horizon: cp.optout_horizon,
            entry_index: index,
            scope: "train-ai".to_string(),
        },
        compliance,
    })
}

/// The number of domains listed out of `n`: the top 10 % (at least one), or for an SME the top
/// 5 % or 1,000, whichever is fewer.
pub fn listed(n: u64, sme: bool) -> u64 {
    if sme {
        n.saturating_mul(5).div_ceil(100).min(1000)
    } else {
        n.saturating_mul(10).div_ceil(100)
    }
}

fn scraped(datasets: &[DatasetFigures], sme: bool) -> Scraped {
    let mut by_domain: BTreeMap<&str, (Counts, Vec<DomainSource>)> = BTreeMap::new();
    let (mut with_source, mut without_source) = (Counts::default(), Counts::default());
    for d in datasets {
        without_source.items += d.no_source.items;
        without_source.bytes = without_source.bytes.saturating_add(d.no_source.bytes);
        for h in &d.hosts {
            with_source.items += h.items;
            with_source.bytes = with_source.bytes.saturating_add(h.bytes);
            let e = by_domain.entry(&h.value).or_default();
            e.0.items += h.items;
            e.0.bytes = e.0.bytes.saturating_add(h.bytes);
            e.1.push(DomainSource {
                dataset: d.dataset.clone(),
                entry_index: d.entry_index,
                items: h.items,
                bytes: h.bytes,
            });
        }
    }
    let n = by_domain.len() as u64;
    let mut all: Vec<DomainFigures> = by_domain
        .into_iter()
        .map(|(domain, (c, from))| DomainFigures {
            domain: domain.to_string(),
            items: c.items,
            bytes: c.bytes,
            from,
        })
        .collect();
    all.sort_by(|a, b| {
        (b.bytes, b.items)
            .cmp(&(a.bytes, a.items))
            .then_with(|| a.domain.cmp(&b.domain))
    });
    all.truncate(usize::try_from(listed(n, sme)).unwrap_or(usize::MAX));
    Scraped {
        rule: if sme {
            "top 5 % of domain names by content size, at most 1,000 (SME)".to_string()
        } else {
            "top 10 % of domain names by content size".to_string()
        },
        sme,
        domains: n,
        with_source,
        without_source,
        top_domains: all,
    }
}

#[cfg(test)]
mod tests {
    use super::listed;

    #[test]
    fn the_templates_share_of_domains() {
        assert_eq!(listed(0, false), 0);
        assert_eq!(listed(1, false), 1);
        assert_eq!(listed(10, false), 1);
        assert_eq!(listed(11, false), 2);
        assert_eq!(listed(25_000, false), 2_500);
        assert_eq!(listed(25_000, true), 1_000);
        assert_eq!(listed(100, true), 5);
    }
}
