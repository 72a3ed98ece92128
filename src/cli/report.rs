//! `ablate report`: render an experiment's report from the database.

use super::{GlobalArgs, Unavailable};
use clap::Args;
use std::path::PathBuf;

// The fields are read once the reports land (issue #7).
#[allow(dead_code)]
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://...
    #[arg(long)]
    db: Option<String>,
    /// Output directory (default reports/<experiment>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// html, latex, csv or json.
    #[arg(long, default_value = "html")]
    format: String,
}

pub fn run(_global: &GlobalArgs, _args: ReportArgs) -> anyhow::Result<()> {
    Err(Unavailable {
        command: "report",
        issue: 7,
        what: "paper-style reports",
    }
    .into())
}
