//! Command-line interface: one file per subcommand.

mod bench;
mod data;
mod env;
mod model;
mod report;
mod run;
mod slurm;
mod status;
mod variants;
mod worker;

use ablate::device::DeviceChoice;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ablate",
    version,
    about = "Ablation studies of SPL-Net and other deep models"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory of variant files.
    #[arg(
        long,
        global = true,
        env = "ABLATE_VARIANTS",
        default_value = "variants"
    )]
    variants: PathBuf,
    /// Where tensors live: auto (CUDA if available), cpu, cuda, cuda:N.
    #[arg(long, global = true, env = "ABLATE_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, show, check and tabulate variants.
    Variants(variants::VariantsArgs),
    /// Model statistics: parameters, FLOPs, latency.
    Model(model::ModelArgs),
    /// Datasets: generate the synthetic one.
    Data(data::DataArgs),
    /// Run (or resume) an experiment grid.
    Run(run::RunArgs),
    /// Claim and run pending runs from a shared database.
    Worker(worker::WorkerArgs),
    /// Progress of an experiment grid.
    Status(status::StatusArgs),
    /// Render an experiment's report.
    Report(report::ReportArgs),
    /// Print an sbatch array script whose tasks run `ablate worker`.
    Slurm(slurm::SlurmArgs),
    /// Benchmarks: training vs PyTorch, runner overhead, input pipeline.
    Bench(bench::BenchArgs),
    /// libtorch, threads and devices as this binary sees them.
    Env,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Variants(args) => variants::run(global, args),
        Command::Model(args) => model::run(global, args),
        Command::Data(args) => data::run(global, args),
        Command::Run(args) => run::run(global, args),
        Command::Worker(args) => worker::run(global, args),
        Command::Status(args) => status::run(global, args),
        Command::Report(args) => report::run(global, args),
        Command::Slurm(args) => slurm::run(global, args),
        Command::Bench(args) => bench::run(global, args),
        Command::Env => env::run(global),
    }
}

pub fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ABLATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
}
