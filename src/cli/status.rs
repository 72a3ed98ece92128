//! `ablate status`: counts of an experiment's runs per state.

use super::{GlobalArgs, Unavailable};
use clap::Args;
use std::path::PathBuf;

// The fields are read once the store lands (issue #6).
#[allow(dead_code)]
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://...
    #[arg(long)]
    db: Option<String>,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    format: String,
}

pub fn run(_global: &GlobalArgs, _args: StatusArgs) -> anyhow::Result<()> {
    Err(Unavailable {
        command: "status",
        issue: 6,
        what: "experiment store and grid runner",
    }
    .into())
}
