//! `ablate status`: an experiment's runs per state and per variant, its
//! failures with their errors, and what stage-1 reuse saved.

use super::run::{database_url, load, Loaded};
use super::worker::runtime;
use super::GlobalArgs;
use ablate::store::{RunRow, Store};
use anyhow::bail;
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://...
    #[arg(long)]
    db: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Default, Serialize)]
struct Counts {
    total: usize,
    done: usize,
    failed: usize,
    pending: usize,
    running: usize,
}

impl Counts {
    fn add(&mut self, status: &str) {
        self.total += 1;
        match status {
            "done" => self.done += 1,
            "failed" => self.failed += 1,
            "running" => self.running += 1,
            _ => self.pending += 1,
        }
    }
}

#[derive(Debug, Serialize)]
struct Failure {
    variant: String,
    proportion: f64,
    seed: i64,
    attempts: i64,
    status: String,
    error: String,
}

#[derive(Debug, Default, Serialize)]
struct Stage1 {
    /// Runs of the plan that need a stage-1 model.
    runs: usize,
    /// Distinct stage-1 models those runs need.
    trainings: usize,
    /// Trainings avoided by sharing (runs - trainings).
    saved: usize,
    /// Finished runs that loaded a model another run trained.
    reused: usize,
}

#[derive(Debug, Serialize)]
struct Status {
    experiment: String,
    database: String,
    #[serde(flatten)]
    counts: Counts,
    variants: BTreeMap<String, Counts>,
    failures: Vec<Failure>,
    stage1: Stage1,
    /// Runs of earlier versions of the experiment (changed variants or
    /// settings), kept with their results.
    earlier_runs: usize,
}

pub fn run(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<()> {
    let Loaded { experiment, plan } = load(global, &args.experiment)?;
    let url = database_url(&args.db, &experiment);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            bail!(
                "no database at {path}: experiment {} has not run yet",
                experiment.name
            );
        }
    }
    let rows = runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let rows = store.runs(&experiment.name).await;
        store.close().await;
        anyhow::Ok(rows?)
    })?;
    let ids: BTreeSet<&str> = plan.iter().map(|r| r.id.as_str()).collect();
    let (current, earlier): (Vec<&RunRow>, Vec<&RunRow>) =
        rows.iter().partition(|r| ids.contains(r.id.as_str()));
    let mut status = Status {
        experiment: experiment.name.clone(),
        database: ablate::store::redact(&url),
        counts: Counts::default(),
        variants: BTreeMap::new(),
        failures: Vec::new(),
        stage1: Stage1::default(),
        earlier_runs: earlier.len(),
    };
    // Runs of the plan not stored yet are pending too.
    status.counts.pending += plan.len() - current.len();
    status.counts.total += plan.len() - current.len();
    for row in &current {
        status.counts.add(&row.status);
        status
            .variants
            .entry(row.variant_name.clone())
            .or_default()
            .add(&row.status);
        if let Some(error) = &row.error {
            status.failures.push(Failure {
                variant: row.variant_name.clone(),
                proportion: row.proportion,
                seed: row.seed,
                attempts: row.attempts,
                status: row.status.clone(),
                error: error.clone(),
            });
        }
        if row.status == "done" && row.stage1_reused == Some(true) {
            status.stage1.reused += 1;
        }
    }
    let keys: Vec<&str> = plan
        .iter()
        .filter_map(|r| r.stage1_key.as_deref())
        .collect();
    status.stage1.runs = keys.len();
    status.stage1.trainings = keys.iter().collect::<BTreeSet<_>>().len();
    status.stage1.saved = status.stage1.runs - status.stage1.trainings;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        Format::Text => print_text(&status),
    }
    Ok(())
}

fn print_text(status: &Status) {
    let line = |c: &Counts| {
        format!(
            "{} total, {} done, {} failed, {} pending, {} running",
            c.total, c.done, c.failed, c.pending, c.running
        )
    };
    println!("experiment {} in {}", status.experiment, status.database);
    println!("runs: {}", line(&status.counts));
    for (variant, counts) in &status.variants {
        println!("  {variant}: {}", line(counts));
    }
    let s = &status.stage1;
    println!(
        "stage 1: {} runs share {} trainings ({} saved by reuse; {} finished runs reused a model)",
        s.runs, s.trainings, s.saved, s.reused
    );
    if status.earlier_runs > 0 {
        println!(
            "{} runs of earlier versions of this experiment are kept",
            status.earlier_runs
        );
    }
    if !status.failures.is_empty() {
        println!("errors:");
        for f in &status.failures {
            println!(
                "  {} {}% seed {} [{} after {} attempt(s)]: {}",
                f.variant, f.proportion, f.seed, f.status, f.attempts, f.error
            );
        }
    }
}
