//! `ablate run`: expand an experiment grid and execute its pending runs.

use super::{GlobalArgs, Unavailable};
use clap::Args;
use std::path::PathBuf;

// The fields are read once the runner lands (issue #6).
#[allow(dead_code)]
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://...
    #[arg(long)]
    db: Option<String>,
    /// Parallel local workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Print the plan and its estimated cost; run nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(_global: &GlobalArgs, _args: RunArgs) -> anyhow::Result<()> {
    Err(Unavailable {
        command: "run",
        issue: 6,
        what: "experiment store and grid runner",
    }
    .into())
}
