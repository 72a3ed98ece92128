//! `ablate slurm`: store an experiment's grid in a shared database, then
//! print an sbatch array script whose tasks each run `ablate worker`.

use super::run::{load, Loaded};
use super::worker::{runtime, TrainerArgs};
use super::GlobalArgs;
use ablate::store::Store;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Shared database: postgres://... (every task connects to it).
    #[arg(long)]
    db: String,
    /// Array tasks (one worker each).
    #[arg(long)]
    tasks: u32,
    /// CPU cores per task (libtorch threads of its worker).
    #[arg(long, default_value_t = 8)]
    cpus_per_task: u32,
    /// GPUs per task (0: none).
    #[arg(long, default_value_t = 1)]
    gpus_per_task: u32,
    /// Memory per task, as sbatch writes it.
    #[arg(long, default_value = "32G")]
    mem: String,
    /// Wall-clock limit per task, as sbatch writes it.
    #[arg(long, default_value = "24:00:00")]
    time: String,
    #[arg(long)]
    partition: Option<String>,
    #[arg(long)]
    account: Option<String>,
    /// Stage-1 artifact directory as the compute nodes see it (shared
    /// storage); default: the experiment's.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// The ablate binary as the compute nodes see it (default: this one).
    #[arg(long)]
    ablate: Option<PathBuf>,
    /// Print the script only; do not store the grid in the database.
    #[arg(long)]
    no_enqueue: bool,
    #[command(flatten)]
    trainer: TrainerArgs,
}

pub fn run(global: &GlobalArgs, args: SlurmArgs) -> anyhow::Result<()> {
    let Loaded { experiment, plan } = load(global, &args.experiment)?;
    if args.tasks == 0 {
        anyhow::bail!("--tasks must be at least 1");
    }
    if args.db.starts_with("sqlite:") {
        eprintln!(
            "warning: a SQLite file shared by Slurm tasks on several nodes needs a file system \
             with working locks; use postgres://... for many machines"
        );
    }
    if !args.no_enqueue {
        let added = runtime()?.block_on(async {
            let store = Store::open(&args.db).await?;
            let added = store.insert_plan(&experiment, &plan).await;
            store.close().await;
            anyhow::Ok(added?)
        })?;
        eprintln!(
            "stored experiment {}: {} runs, {added} new",
            experiment.name,
            plan.len()
        );
    }
    let ablate = match args.ablate.clone() {
        Some(path) => path,
        None => std::env::current_exe().context("locating the ablate binary")?,
    };
    let artifacts = args
        .artifacts
        .clone()
        .unwrap_or_else(|| experiment.artifacts_dir());
    print!(
        "{}",
        script(&args, &experiment.name, &ablate, &artifacts, plan.len())
    );
    Ok(())
}

fn script(
    args: &SlurmArgs,
    experiment: &str,
    ablate: &std::path::Path,
    artifacts: &std::path::Path,
    runs: usize,
) -> String {
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "# `ablate slurm` for experiment {experiment}: {runs} runs shared by {} array tasks.",
            args.tasks
        ),
        "# Each task runs one `ablate worker`, which claims pending runs from the shared".into(),
        "# database until none is left; submit again at any time to resume.".into(),
        format!("#SBATCH --job-name=ablate-{experiment}"),
        format!("#SBATCH --array=0-{}", args.tasks - 1),
        format!("#SBATCH --cpus-per-task={}", args.cpus_per_task),
        format!("#SBATCH --mem={}", args.mem),
        format!("#SBATCH --time={}", args.time),
        format!("#SBATCH --output=ablate-{experiment}-%A_%a.out"),
    ];
    if args.gpus_per_task > 0 {
        lines.push(format!("#SBATCH --gpus-per-task={}", args.gpus_per_task));
    }
    if let Some(partition) = &args.partition {
        lines.push(format!("#SBATCH --partition={partition}"));
    }
    if let Some(account) = &args.account {
        lines.push(format!("#SBATCH --account={account}"));
    }
    let mut command = vec![
        shell_quote(&ablate.display().to_string()),
        "worker".into(),
        "--db".into(),
        "\"$ABLATE_DB\"".into(),
        "--experiment".into(),
        shell_quote(experiment),
        "--artifacts".into(),
        shell_quote(&artifacts.display().to_string()),
        "--threads".into(),
        "\"${SLURM_CPUS_PER_TASK:-1}\"".into(),
    ];
    command.extend(args.trainer.to_args().iter().map(|a| shell_quote(a)));
    lines.extend([
        String::new(),
        "set -euo pipefail".into(),
        format!("export ABLATE_DB={}", shell_quote(&args.db)),
        format!("srun {}", command.join(" ")),
    ]);
    lines.join("\n") + "\n"
}

/// Single-quotes `text` for bash unless it is plainly safe.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
