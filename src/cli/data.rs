//! `ablate data synth`: the built-in synthetic face dataset.

use super::{GlobalArgs, Unavailable};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Write a synthetic face dataset in CelebA layout with part masks.
    Synth(SynthArgs),
}

// The fields are read once the data issue lands (issue #4).
#[allow(dead_code)]
#[derive(Debug, Args)]
struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Number of faces.
    #[arg(long, default_value_t = 2000)]
    count: u32,
    /// Image side in pixels.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Random seed: the same seed writes the same dataset.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(_global: &GlobalArgs, args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Synth(_) => Err(Unavailable {
            command: "data synth",
            issue: 4,
            what: "datasets and synthetic faces",
        }
        .into()),
    }
}
