//! `ablate bench`: throughput and overhead measurements, each printed with
//! its ratio to a reference measured in the same run (docs/benchmarks.md).

use super::GlobalArgs;
use ablate::bench::train::Measure;
use ablate::bench::{pipeline, runner, train, Repeats};
use ablate::profile::Profile;
use ablate::registry::Registry;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// SPL-Net stage-1, stage-2 and inference images/s: ablate vs a PyTorch eager twin.
    Train(TrainArgs),
    /// Runner overhead per run (noop trainer, SQLite) at two grid sizes, and report rendering.
    Runner(RunnerArgs),
    /// Building each task's batch vs the training step that consumes it.
    Pipeline(PipelineArgs),
}

/// Settings every model benchmark shares.
#[derive(Debug, Args)]
struct ModelBench {
    /// Scale profile: paper, small or tiny.
    #[arg(long, default_value = "small")]
    profile: String,
    /// libtorch CPU threads (the twin gets the same); default: all cores.
    #[arg(long)]
    threads: Option<usize>,
    /// Untimed steps before timing.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
}

impl ModelBench {
    fn repeats(&self) -> Repeats {
        Repeats {
            warmup: self.warmup,
            iters: self.iters as usize,
        }
    }

    /// Sets libtorch's threads and returns how many there are.
    fn threads(&self) -> usize {
        if let Some(n) = self.threads {
            tch::set_num_threads(n as i32);
        }
        tch::get_num_threads() as usize
    }

    fn models(&self, global: &GlobalArgs) -> anyhow::Result<train::Models> {
        let registry = Registry::load(std::slice::from_ref(&global.variants))?;
        let variant = registry.get(train::VARIANT)?;
        let profile = Profile::by_name(&self.profile)?;
        Ok(train::Models::build(
            variant,
            &profile,
            global.device.resolve()?,
        )?)
    }
}

#[derive(Debug, Args)]
struct TrainArgs {
    #[command(flatten)]
    model: ModelBench,
    /// Python of the twin (a virtualenv with torch).
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// The twin script.
    #[arg(long, default_value = "benches/pytorch_twin.py")]
    twin: PathBuf,
    /// Measure ablate only (no PyTorch twin, so no ratios).
    #[arg(long)]
    no_twin: bool,
    /// Interleaved rounds (ablate, then the twin, per measurement); the best
    /// round of each side is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
}

#[derive(Debug, Args)]
struct RunnerArgs {
    /// Grid sizes (runs) to measure; per-run times are compared to the first.
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000])]
    runs: Vec<usize>,
    /// Fake epochs per run (each writes one metrics row).
    #[arg(long, default_value_t = 2)]
    epochs: u32,
}

#[derive(Debug, Args)]
struct PipelineArgs {
    #[command(flatten)]
    model: ModelBench,
}

pub fn run(global: &GlobalArgs, args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Train(args) => bench_train(global, args),
        BenchCommand::Runner(args) => bench_runner(global, args),
        BenchCommand::Pipeline(args) => bench_pipeline(global, args),
    }
}

fn bench_train(global: &GlobalArgs, args: TrainArgs) -> anyhow::Result<()> {
    let threads = args.model.threads();
    let models = args.model.models(global)?;
    let params = models.params();
    let hp = &models.hp;
    println!(
        "bench train: {} at profile {} ({} px, widths {:?}) on {}, {threads} libtorch thread(s), \
         batches {} (stage 1) and {} (stage 2, inference), {} warm-up + {} timed steps",
        train::VARIANT,
        hp.profile,
        hp.input_size,
        hp.widths,
        ablate::device::describe(models.device()),
        hp.stage1_batch,
        hp.stage2_batch,
        args.model.warmup,
        args.model.iters
    );
    println!(
        "parameters: stage 1 {}, stage 2 {}",
        params.stage1, params.stage2
    );
    let repeats = args.model.repeats();
    let mut ours = models.prepare()?;
    let mut twin = match args.no_twin {
        true => None,
        false => Some(
            train::Twin::start(&args.python, &args.twin, &models, params, threads, repeats)
                .context("the PyTorch twin (use --no-twin to measure ablate alone)")?,
        ),
    };
    if let Some(t) = &twin {
        println!(
            "reference: PyTorch {} eager, {} thread(s), same parameter counts; \
             best of {} interleaved rounds each",
            t.torch, t.threads, args.rounds
        );
    }
    // Interleaved rounds, best of each side: on a shared machine, load
    // that comes and goes then hits both sides alike.
    let mut best = [[0.0f64; 2]; 3];
    for _ in 0..args.rounds {
        for (row, measure) in Measure::ALL.into_iter().enumerate() {
            best[row][0] = best[row][0].max(ours.rate(measure, repeats)?);
            if let Some(t) = twin.as_mut() {
                best[row][1] = best[row][1].max(t.rate(measure)?);
            }
        }
    }
    println!(
        "{:<34} {:>14} {:>14} {:>16}",
        "images/s", "ablate", "pytorch", "ablate/pytorch"
    );
    let names = [
        "stage 1 (joint step, Kd D steps)",
        "stage 2 (FAR step)",
        "inference (eval, no_grad)",
    ];
    for (name, [ours, theirs]) in names.into_iter().zip(best) {
        if twin.is_some() {
            println!(
                "{name:<34} {ours:>14.2} {theirs:>14.2} {:>16.3}",
                ours / theirs
            );
        } else {
            println!("{name:<34} {ours:>14.2} {:>14} {:>16}", "-", "-");
        }
    }
    Ok(())
}

fn bench_runner(global: &GlobalArgs, args: RunnerArgs) -> anyhow::Result<()> {
    let registry = Registry::load(std::slice::from_ref(&global.variants))?;
    runner::run(&args.runs, args.epochs, &global.variants, &registry.names())?;
    Ok(())
}

fn bench_pipeline(global: &GlobalArgs, args: PipelineArgs) -> anyhow::Result<()> {
    let threads = args.model.threads();
    let models = args.model.models(global)?;
    pipeline::run(&models, threads, args.model.repeats())?;
    Ok(())
}
