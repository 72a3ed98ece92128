//! `ablate worker`: claim runs from a shared database (many machines), and
//! the trainer options it shares with `ablate run`.

use super::GlobalArgs;
use ablate::device::DeviceChoice;
use ablate::experiment::device_name;
use ablate::runner::progress::Event;
use ablate::runner::{self, identity, NoopTrainer, Progress, Trainer, WorkerOptions};
use ablate::store::Store;
use ablate::train::SplTrainer;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Exit status of a worker whose parent `ablate run` went away.
const EXIT_PARENT_GONE: i32 = 4;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Shared database: postgres://... (or sqlite://PATH on one machine).
    #[arg(long)]
    db: String,
    /// Claim only runs of this experiment (its `name`); default: any.
    #[arg(long)]
    experiment: Option<String>,
    /// Stage-1 artifact directory on this machine (default: the one each
    /// experiment names); must be storage all workers share.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// libtorch CPU threads of this worker (default: libtorch's own choice).
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds without a heartbeat after which a worker on another host is
    /// taken for dead and its run reclaimed.
    #[arg(long, default_value_t = 120)]
    dead_after_secs: u64,
    /// Exit when standard input closes (set by `ablate run` for the workers
    /// it starts, so that they die with it).
    #[arg(long, hide = true)]
    exit_with_parent: bool,
    /// Report progress as JSON lines on stdout (set by `ablate run`, which
    /// shows them).
    #[arg(long, hide = true)]
    progress_json: bool,
    #[command(flatten)]
    trainer: TrainerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainerKind {
    /// SPL-Net training.
    Spl,
    /// NO training: fake epochs and deterministic results derived from the
    /// run identity, for tests and for measuring runner overhead only.
    Noop,
}

/// Which trainer runs the runs; shared by `run` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct TrainerArgs {
    /// Trainer: `spl` (the real one, the default) or `noop` (does NOT train:
    /// for tests and runner-overhead measurements only).
    #[arg(long, value_enum, default_value_t = TrainerKind::Spl)]
    pub trainer: TrainerKind,
    /// Noop trainer: epochs per stage.
    #[arg(long, default_value_t = 2, help_heading = "Noop trainer (tests only)")]
    noop_epochs: u32,
    /// Noop trainer: milliseconds to sleep per epoch.
    #[arg(long, default_value_t = 0, help_heading = "Noop trainer (tests only)")]
    noop_sleep_ms: u64,
    /// Noop trainer: fail runs whose label matches this glob (labels look
    /// like `SPL-Net 10% seed 1`); repeatable.
    #[arg(long, help_heading = "Noop trainer (tests only)")]
    noop_fail: Vec<String>,
    /// Noop trainer: fail only the first N attempts of those runs (0: all).
    #[arg(long, default_value_t = 0, help_heading = "Noop trainer (tests only)")]
    noop_fail_attempts: u32,
}

impl TrainerArgs {
    /// The trainer the options name.
    pub fn build(&self) -> anyhow::Result<Arc<dyn Trainer>> {
        match self.trainer {
            TrainerKind::Spl => Ok(Arc::new(SplTrainer)),
            TrainerKind::Noop => {
                let fail = self
                    .noop_fail
                    .iter()
                    .map(|p| glob::Pattern::new(p).with_context(|| format!("--noop-fail {p:?}")))
                    .collect::<anyhow::Result<_>>()?;
                Ok(Arc::new(NoopTrainer {
                    epochs: self.noop_epochs,
                    sleep: Duration::from_millis(self.noop_sleep_ms),
                    fail,
                    fail_attempts: self.noop_fail_attempts,
                }))
            }
        }
    }

    /// The same options as arguments, for workers started by `ablate run`.
    pub fn to_args(&self) -> Vec<String> {
        let kind = match self.trainer {
            TrainerKind::Spl => "spl",
            TrainerKind::Noop => "noop",
        };
        let mut args = vec![
            format!("--trainer={kind}"),
            format!("--noop-epochs={}", self.noop_epochs),
            format!("--noop-sleep-ms={}", self.noop_sleep_ms),
            format!("--noop-fail-attempts={}", self.noop_fail_attempts),
        ];
        args.extend(self.noop_fail.iter().map(|p| format!("--noop-fail={p}")));
        args
    }
}

/// A runtime for the store's async queries; two threads leave the cores to
/// the trainer, which runs on a blocking thread of its own.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(global: &GlobalArgs, args: WorkerArgs) -> anyhow::Result<()> {
    let trainer = args.trainer.build()?;
    if args.exit_with_parent {
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(EXIT_PARENT_GONE);
        });
    }
    if let Some(threads) = args.threads {
        tch::set_num_threads(threads.max(1) as i32);
    }
    // `auto` defers to each run's experiment; anything else is this
    // machine's override, checked before any run is claimed.
    if global.device != DeviceChoice::Auto {
        global.device.resolve()?;
    }
    let options = WorkerOptions {
        experiment: args.experiment,
        artifacts: args.artifacts,
        device: global.device,
        dead_after: Duration::from_secs(args.dead_after_secs),
        ..WorkerOptions::default()
    };
    let worker = identity::this_worker(&device_name(global.device));
    let progress = if args.progress_json {
        Progress::json()
    } else {
        Progress::hidden()
    };
    progress.report(
        0,
        Event::Started {
            pid: std::process::id(),
            threads: tch::get_num_threads(),
        },
    );
    let runtime = runtime()?;
    let summary = runtime.block_on(async {
        let store = Store::open(&args.db).await?;
        let summary = runner::work(&store, trainer, &worker, &options, &progress).await;
        store.close().await;
        anyhow::Ok(summary?)
    })?;
    if !args.progress_json {
        println!(
            "worker {}: {} run(s) done, {} failed attempt(s), {} reclaimed from dead workers",
            worker.id, summary.done, summary.failed_attempts, summary.reclaimed
        );
    }
    Ok(())
}
