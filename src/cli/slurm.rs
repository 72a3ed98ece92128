//! `ablate slurm`: an sbatch array script whose tasks run `ablate worker`.

use super::{GlobalArgs, Unavailable};
use clap::Args;
use std::path::PathBuf;

// The fields are read once the runner lands (issue #6).
#[allow(dead_code)]
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Shared database: postgres://...
    #[arg(long)]
    db: String,
    /// Array tasks (one worker each).
    #[arg(long)]
    tasks: u32,
}

pub fn run(_global: &GlobalArgs, _args: SlurmArgs) -> anyhow::Result<()> {
    Err(Unavailable {
        command: "slurm",
        issue: 6,
        what: "experiment store and grid runner",
    }
    .into())
}
