//! `ablate run`: expand an experiment grid and execute its pending runs.

use super::worker::{runtime, TrainerArgs};
use super::GlobalArgs;
use ablate::bench::cost::{Cost, Rates};
use ablate::device::DeviceChoice;
use ablate::experiment::{device_name, DatasetSpec, Experiment, RunSpec};
use ablate::registry::Registry;
use ablate::runner::progress::Event;
use ablate::runner::{self, identity, split_threads, Progress, WorkerOptions};
use ablate::store::Store;
use anyhow::{bail, Context};
use clap::Args;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://... (default: the file's
    /// `database`, else sqlite://runs/NAME.db).
    #[arg(long)]
    db: Option<String>,
    /// Parallel local workers. With more than one, each is an `ablate
    /// worker` process with an even share of the cores as libtorch threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Print the plan and its estimated cost; run nothing, open no database.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: measured training images/s as STAGE1,STAGE2 (from
    /// `ablate bench train` on the machine that will run), for a time estimate.
    #[arg(long, requires = "dry_run")]
    rates: Option<Rates>,
    /// Store the grid's missing runs and stop: `ablate worker` processes
    /// (here or on other machines) then run them.
    #[arg(long, conflicts_with = "dry_run")]
    enqueue: bool,
    /// Give runs that failed for good a fresh set of attempts.
    #[arg(long, conflicts_with = "dry_run")]
    retry_failed: bool,
    /// Stage-1 artifact directory (default: the file's `artifacts`, else
    /// artifacts/NAME).
    #[arg(long)]
    artifacts: Option<PathBuf>,
    #[command(flatten)]
    trainer: TrainerArgs,
}

/// The experiment file resolved against the variants directory.
pub struct Loaded {
    pub experiment: Experiment,
    pub plan: Vec<RunSpec>,
}

pub fn load(global: &GlobalArgs, path: &Path) -> anyhow::Result<Loaded> {
    let registry = Registry::load(std::slice::from_ref(&global.variants))?;
    let experiment = Experiment::load(path, &registry)?;
    let plan = experiment.plan();
    Ok(Loaded { experiment, plan })
}

/// `--db`, else the experiment's database.
pub fn database_url(db: &Option<String>, experiment: &Experiment) -> String {
    db.clone().unwrap_or_else(|| experiment.database_url())
}

/// The experiment's device unless one was asked for on the command line.
fn device_choice(global: &GlobalArgs, experiment: &Experiment) -> DeviceChoice {
    match (global.device, experiment.device) {
        (DeviceChoice::Auto, Some(file)) => file,
        (cli, _) => cli,
    }
}

pub fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<()> {
    let Loaded { experiment, plan } = load(global, &args.experiment)?;
    let url = database_url(&args.db, &experiment);
    if args.dry_run {
        return print_plan(&experiment, &plan, &url, args.rates);
    }
    // Refuse before touching the database when nothing can train.
    let trainer = if args.enqueue {
        None
    } else {
        Some(args.trainer.build()?)
    };
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let device = device_choice(global, &experiment);
    // A device this machine lacks fails here, before any run is claimed
    // (`--enqueue` trains nothing here, so it needs none).
    if trainer.is_some() {
        device.resolve().with_context(|| {
            format!(
                "experiment {} wants device {} (its `device`, or --device); \
                 pass --device cpu to train on the CPU",
                experiment.name,
                device_name(device)
            )
        })?;
    }
    let started = Instant::now();
    let runtime = runtime()?;
    runtime.block_on(async {
        let store = Store::open(&url).await?;
        let added = store.insert_plan(&experiment, &plan).await?;
        let shown = store.url();
        let Some(trainer) = trainer else {
            println!(
                "experiment {}: {} runs in the plan, {added} new; stored in {shown}",
                experiment.name,
                plan.len()
            );
            return anyhow::Ok(());
        };
        if args.retry_failed {
            let retried = store.retry_failed(&experiment.name).await?;
            println!("experiment {}: {retried} failed run(s) to retry", experiment.name);
        }
        let (pending, running) = store.unfinished(Some(&experiment.name)).await?;
        if pending == 0 && running == 0 {
            let counts = plan_counts(&store, &experiment.name, &plan).await?;
            println!(
                "experiment {}: nothing to do: all {} runs are finished ({} done, {} failed) in {shown}",
                experiment.name,
                plan.len(),
                counts.done,
                counts.failed
            );
            return fail_if_failed(&counts);
        }
        println!(
            "experiment {}: {} runs in the plan, {added} new, {pending} to run, with {} worker(s) on {}",
            experiment.name,
            plan.len(),
            args.workers,
            device_name(device)
        );
        let progress = Progress::new(plan.len() as u64, args.workers, !global.quiet);
        progress.set_finished(&store, Some(&experiment.name)).await;
        if args.workers == 1 {
            let worker = identity::this_worker(&device_name(device));
            let options = WorkerOptions {
                experiment: Some(experiment.name.clone()),
                artifacts: args.artifacts.clone(),
                device,
                ..WorkerOptions::default()
            };
            runner::work(&store, trainer, &worker, &options, &progress).await?;
        } else {
            let children = spawn_workers(&args, &url, &experiment.name, device, &progress)?;
            watch_workers(children, &store, &experiment.name, &progress).await?;
        }
        progress.finish();
        let counts = plan_counts(&store, &experiment.name, &plan).await?;
        println!(
            "experiment {}: {} done, {} failed, {} unfinished of {} runs in {:.1} s",
            experiment.name,
            counts.done,
            counts.failed,
            counts.unfinished,
            plan.len(),
            started.elapsed().as_secs_f64()
        );
        store.close().await;
        fail_if_failed(&counts)
    })
}

struct Counts {
    done: usize,
    failed: usize,
    unfinished: usize,
}

/// States of the plan's runs (earlier versions of the experiment aside).
async fn plan_counts(store: &Store, experiment: &str, plan: &[RunSpec]) -> anyhow::Result<Counts> {
    let ids: BTreeSet<&str> = plan.iter().map(|r| r.id.as_str()).collect();
    let runs = store.runs(experiment).await?;
    let count = |status: &str| {
        runs.iter()
            .filter(|r| ids.contains(r.id.as_str()) && r.status == status)
            .count()
    };
    let (done, failed) = (count("done"), count("failed"));
    Ok(Counts {
        done,
        failed,
        unfinished: plan.len() - done - failed,
    })
}

fn fail_if_failed(counts: &Counts) -> anyhow::Result<()> {
    if counts.failed > 0 {
        bail!(
            "{} run(s) failed after all their attempts; `ablate status` shows their errors, \
             `ablate run --retry-failed` tries them again",
            counts.failed
        );
    }
    Ok(())
}

/// A worker process `ablate run` started, and the thread that shows what
/// it reports.
struct Spawned {
    process: Child,
    reader: JoinHandle<()>,
}

/// Starts `--workers` worker processes sharing the cores
/// ([`split_threads`]: libtorch's pool is per process). Each reports its
/// progress as JSON lines on stdout, shown in its own progress line.
fn spawn_workers(
    args: &RunArgs,
    url: &str,
    experiment: &str,
    device: DeviceChoice,
    progress: &Progress,
) -> anyhow::Result<Vec<Spawned>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let exe = std::env::current_exe().context("locating the ablate binary")?;
    split_threads(cores, args.workers)
        .into_iter()
        .enumerate()
        .map(|(slot, threads)| {
            let mut process = Command::new(&exe)
                .arg(format!("--device={}", device_name(device)))
                .args([
                    "worker",
                    "--exit-with-parent",
                    "--progress-json",
                    "--db",
                    url,
                ])
                .args(["--experiment", experiment])
                .arg(format!("--threads={threads}"))
                .args(
                    args.artifacts
                        .iter()
                        .flat_map(|a| [OsStr::new("--artifacts"), a.as_os_str()]),
                )
                .args(args.trainer.to_args())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .context("starting a worker process")?;
            let stdout = process.stdout.take().context("a worker's stdout")?;
            let progress = progress.clone();
            let reader = std::thread::spawn(move || relay(stdout, slot, &progress));
            Ok(Spawned { process, reader })
        })
        .collect()
}

/// Shows the events a worker writes until its stdout closes; a line that is
/// not an event (nothing should print there) goes to the log as it is.
fn relay(stdout: ChildStdout, slot: usize, progress: &Progress) {
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Event>(&line) {
            Ok(event) => progress.report(slot, event),
            Err(_) => progress.report(slot, Event::Note { message: line }),
        }
    }
}

async fn watch_workers(
    mut children: Vec<Spawned>,
    store: &Store,
    experiment: &str,
    progress: &Progress,
) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    while !children.is_empty() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        progress.set_finished(store, Some(experiment)).await;
        let mut running = Vec::new();
        for mut child in children {
            match child.process.try_wait()? {
                Some(status) => {
                    // Its last events are shown before the summary.
                    let _ = child.reader.join();
                    if !status.success() {
                        failures.push(status);
                    }
                }
                None => running.push(child),
            }
        }
        children = running;
    }
    if !failures.is_empty() {
        bail!("{} worker process(es) failed: {failures:?}", failures.len());
    }
    Ok(())
}

fn print_plan(
    experiment: &Experiment,
    plan: &[RunSpec],
    url: &str,
    rates: Option<Rates>,
) -> anyhow::Result<()> {
    println!(
        "experiment {} ({})",
        experiment.name,
        experiment.source.display()
    );
    println!("variants: {}", experiment.variants.len());
    for variant in &experiment.variants {
        println!(
            "  {} [{}] {}",
            variant.name,
            variant.toggles.schedule,
            variant.hash.short()
        );
    }
    println!("datasets:");
    for (dataset, proportions) in experiment
        .datasets
        .iter()
        .zip(&experiment.dataset_proportions)
    {
        let shown: Vec<String> = proportions.iter().map(|p| format!("{p}%")).collect();
        let runs = plan.iter().filter(|r| r.dataset == *dataset).count();
        println!(
            "  {}{}: proportions {}; {runs} runs",
            dataset.label(),
            dataset_location(dataset),
            shown.join(", ")
        );
    }
    let seeds: Vec<String> = experiment.seeds.iter().map(u64::to_string).collect();
    println!("seeds: {}", seeds.join(", "));
    let overrides: Vec<String> = experiment
        .profile
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "profile: {}{}",
        experiment.profile.name,
        if overrides.is_empty() {
            String::new()
        } else {
            format!(" ({})", overrides.join(", "))
        }
    );
    println!("database: {}", ablate::store::redact(url));
    println!("artifacts: {}", experiment.artifacts_dir().display());
    let paper = ablate::report::paper::PaperTables::embedded()?;
    let cost = Cost::of(experiment, plan, &paper);
    println!("runs: {}", cost.runs);
    println!("runs with a stage 1: {}", cost.runs_with_stage1);
    println!("stage-1 trainings: {}", cost.stage1_trainings);
    println!(
        "stage-1 trainings saved by reuse: {}",
        cost.saved_by_reuse()
    );
    let Some(workload) = cost.workload else {
        println!("training workload: unknown (a dataset's size is not known before it is opened)");
        return Ok(());
    };
    println!(
        "training workload: {} stage-1 and {} stage-2 images through a training step \
         (train-split sizes: the paper's for real datasets, 80 % of synthetic ones; evaluation not counted)",
        workload.stage1_images, workload.stage2_images
    );
    match rates {
        Some(r) => {
            let hours = workload.seconds(r) / 3600.0;
            println!(
                "estimated training time: {hours:.1} h on one device ({:.1} days) \
                 -- an ESTIMATE at the given {} stage-1 and {} stage-2 images/s, evaluation not counted",
                hours / 24.0,
                r.stage1,
                r.stage2
            );
        }
        None => println!(
            "estimated training time: pass --rates STAGE1,STAGE2 (images/s from \
             `ablate bench train --profile {}` on the machine that will run)",
            experiment.profile.name
        ),
    }
    Ok(())
}

/// ` (PATH)`, with a note when nothing is there; the dry run opens no dataset.
fn dataset_location(dataset: &DatasetSpec) -> String {
    match dataset {
        DatasetSpec::Celeba { path } | DatasetSpec::Lfwa { path } | DatasetSpec::Maad { path } => {
            let missing = if path.exists() {
                ""
            } else {
                ", MISSING: see docs/data.md"
            };
            format!(" ({}{missing})", path.display())
        }
        DatasetSpec::Synthetic { .. } => " (generated on first use)".into(),
    }
}
