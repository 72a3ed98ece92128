//! `ablate model stats`: parameters, FLOPs and latency of a variant's models.

use super::{GlobalArgs, Unavailable};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Parameters and FLOPs of the stage-1 and stage-2 models.
    Stats(StatsArgs),
}

// The fields are read once the model lands (issue #3).
#[allow(dead_code)]
#[derive(Debug, Args)]
struct StatsArgs {
    /// Variant name (see `ablate variants list`).
    #[arg(long, required_unless_present = "all")]
    variant: Option<String>,
    /// Every variant, with latency and throughput on the current device.
    #[arg(long)]
    all: bool,
    /// Scale profile.
    #[arg(long, default_value = "paper")]
    profile: String,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    format: String,
}

pub fn run(_global: &GlobalArgs, args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Stats(_) => Err(Unavailable {
            command: "model stats",
            issue: 3,
            what: "SPL-Net in tch",
        }
        .into()),
    }
}
