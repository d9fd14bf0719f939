//! `prov serve` without the CLI: `cargo run --release -p api --example serve -- [--data DIR]
//! [--listen ADDR] [--config FILE]`. bench/load.sh uses it; the `prov` binary wraps the same
//! [`api::serve`].

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    serve: api::ServeArgs,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = api::Config::load(&args.serve)?;
    api::serve_blocking(config)?;
    Ok(())
}
