//! `ablate worker`: claim runs from a shared database (many machines).

use super::{GlobalArgs, Unavailable};
use clap::Args;

// The fields are read once the runner lands (issue #6).
#[allow(dead_code)]
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Shared database: postgres://... (or sqlite://PATH on one machine).
    #[arg(long)]
    db: String,
}

pub fn run(_global: &GlobalArgs, _args: WorkerArgs) -> anyhow::Result<()> {
    Err(Unavailable {
        command: "worker",
        issue: 6,
        what: "experiment store and grid runner",
    }
    .into())
}
