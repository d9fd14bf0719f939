//! `prov`: the Provenance Ledger command line.
fn main() -> anyhow::Result<()> {
    Ok(())
}
