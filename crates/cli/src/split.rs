//! `cloudmask split`: a table of samples into named splits (and folds, bags) as a config says;
//! writes one list per split and prints the class distribution per split.

use clap::Args;
use cloudmask::Result;
use cloudmask_tools::split::{output, split, SplitConfig, Table};
use std::path::PathBuf;

#[derive(Args)]
pub struct SplitArgs {
    /// Table of samples, CSV with a header: id, class (or n_<class> count columns), and
    /// optionally source, confidence, group
    pub table: PathBuf,
    /// Split configuration: JSON, or TOML when the name ends in .toml (docs/data-tools.md)
    #[arg(short, long)]
    pub config: PathBuf,
    /// Folder for the lists (<split>.txt, <split>.fold<i>.txt, <split>.bag<i>.txt: ids, one per
    /// line) and split.json (row indices, dropped rows, the report); created if missing
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Seed, instead of the config's
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(a: SplitArgs) -> Result<()> {
    let table = Table::read(&a.table)?;
    let mut config = SplitConfig::read(&a.config)?;
    if let Some(seed) = a.seed {
        config.seed = seed;
    }
    let assignment = split(&table, &config)?;
    print!("{}", assignment.report.to_text());
    for path in output::write(&a.out, &table, &assignment)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
