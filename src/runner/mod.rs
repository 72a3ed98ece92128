//! The worker loop: reclaim runs of dead workers, claim the next pending
//! run, train it with heartbeats running beside it, store its results or
//! its error, repeat until nothing is left.
//!
//! Decisions the issue leaves open:
//! - A worker is a process. `ablate run --workers N` (N > 1) starts N
//!   `ablate worker` processes that share the cores ([`split_threads`]:
//!   libtorch's thread pool is per process, so threads could not split it);
//!   they report progress to the parent as JSON lines on stdout
//!   ([`progress::Event`]) and exit when their parent dies (stdin closes),
//!   leaving their runs `running` with a dead PID, which the next worker
//!   reclaims at once. With one worker the run executes in-process with
//!   libtorch's default thread count.
//! - Device of a run ([`run_device`]): the worker's `--device` unless it is
//!   `auto`, else the experiment's `device` stored with the run, else CUDA
//!   when present. A device this machine lacks is an error that gives the
//!   run back untouched and stops the worker, never a silent CPU run.
//! - Reclaiming: same host, a worker is dead when its PID is gone or now
//!   belongs to a process with another start time; any host, when its
//!   heartbeat (every 10 s) is older than `dead_after` (120 s by default).
//! - `attempts` counts claims; `failures` counts trainer errors, and a run
//!   fails for good after `max_attempts` failures (a crash that kills the
//!   worker is reclaimed, not counted as a failure).
//! - A worker with nothing to claim waits while runs are still running
//!   elsewhere (they may come back), and exits when none is pending or
//!   running: a restarted `ablate run` always finishes the grid.
//! - Stage-1 key (`train::stage1_key`): the stage-1 model configuration,
//!   stage-1 loss toggles and hyper-parameters, dataset and seed (not the
//!   label proportion: stage 1 sees no labels). Variants whose stage 1 is
//!   identical (SPL-Net and SPL w/o whole) share it.

mod cache;
pub mod identity;
mod noop;
pub mod predictions;
pub mod progress;
pub mod trainer;

pub use noop::NoopTrainer;
pub use progress::Progress;
pub use trainer::{
    remove_partial_writes, write_atomically, MetricsSink, Stage1Cache, Stage1Claim, TrainError,
    TrainInput, Trainer, PAUSE_BEFORE_RENAME_ENV,
};

use crate::device::{describe, DeviceChoice, DeviceError};
use crate::store::{ClaimedRun, Store, StoreError, Worker};
use cache::{StoreCache, StoreSink};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run}: stored spec: {detail}")]
    Spec { run: String, detail: String },
    #[error(
        "run {run} asks for device {device} (its experiment's `device`): {source}; \
         the run was given back; start the worker with --device (e.g. cpu) to override"
    )]
    Device {
        run: String,
        device: String,
        source: DeviceError,
    },
}

/// The device a run trains on: `cli` unless it is `auto`, else the
/// experiment's choice stored with the run (`None` or unreadable: `auto`),
/// resolved against this machine.
pub fn run_device(
    cli: DeviceChoice,
    stored: Option<&str>,
) -> Result<tch::Device, (DeviceChoice, DeviceError)> {
    let choice = match cli {
        DeviceChoice::Auto => stored
            .and_then(|s| s.parse().ok())
            .unwrap_or(DeviceChoice::Auto),
        explicit => explicit,
    };
    choice.resolve().map_err(|err| (choice, err))
}

/// libtorch threads for each of `workers` processes on `cores` cores: an
/// even share, the remainder to the first ones, at least one each.
pub fn split_threads(cores: usize, workers: usize) -> Vec<usize> {
    let workers = workers.max(1);
    (0..workers)
        .map(|i| (cores / workers + usize::from(i < cores % workers)).max(1))
        .collect()
}

/// How a worker behaves; the defaults suit one machine and many.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Claim only runs of this experiment (`None`: any).
    pub experiment: Option<String>,
    /// Overrides the stage-1 artifact directory stored with each run (a
    /// shared path may be mounted elsewhere on this machine).
    pub artifacts: Option<PathBuf>,
    /// The command line's device: `auto` defers to each run's own.
    pub device: DeviceChoice,
    pub heartbeat: Duration,
    /// A worker on another host whose heartbeat is older than this is dead.
    pub dead_after: Duration,
    /// Sleep between looks at the store while others still run runs.
    pub poll: Duration,
    /// Per-epoch metric rows buffered before a write.
    pub metrics_batch: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            experiment: None,
            artifacts: None,
            device: DeviceChoice::Auto,
            heartbeat: Duration::from_secs(10),
            dead_after: Duration::from_secs(120),
            poll: Duration::from_millis(500),
            metrics_batch: 64,
        }
    }
}

/// What one worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkSummary {
    pub done: usize,
    pub failed_attempts: usize,
    pub reclaimed: usize,
    /// Runs taken away from this worker while it trained them.
    pub lost: usize,
}

/// Runs pending runs until none is left and none runs elsewhere (a run
/// still running may come back to pending if its worker dies).
pub async fn work(
    store: &Store,
    trainer: Arc<dyn Trainer>,
    worker: &Worker,
    options: &WorkerOptions,
    progress: &Progress,
) -> Result<WorkSummary, RunnerError> {
    let mut summary = WorkSummary::default();
    let experiment = options.experiment.as_deref();
    loop {
        let reclaimed = store
            .reclaim_dead(
                &worker.host,
                identity::is_alive,
                options.dead_after.as_millis() as i64,
            )
            .await?;
        for label in &reclaimed {
            progress.note(&format!("reclaimed {label} from a dead worker"));
        }
        summary.reclaimed += reclaimed.len();
        match store.claim(experiment, worker).await? {
            Some(run) => {
                let outcome = execute(store, &trainer, worker, options, progress, &run).await?;
                match outcome {
                    Outcome::Done => summary.done += 1,
                    Outcome::Failed => summary.failed_attempts += 1,
                    Outcome::Lost => summary.lost += 1,
                }
                progress.set_finished(store, experiment).await;
            }
            None => {
                let (pending, running) = store.unfinished(experiment).await?;
                if pending == 0 && running == 0 {
                    return Ok(summary);
                }
                tokio::time::sleep(options.poll).await;
            }
        }
    }
}

enum Outcome {
    Done,
    Failed,
    Lost,
}

async fn execute(
    store: &Store,
    trainer: &Arc<dyn Trainer>,
    worker: &Worker,
    options: &WorkerOptions,
    progress: &Progress,
    run: &ClaimedRun,
) -> Result<Outcome, RunnerError> {
    let spec_error = |detail: serde_json::Error| RunnerError::Spec {
        run: run.id.clone(),
        detail: detail.to_string(),
    };
    let artifacts = options
        .artifacts
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.spec.artifacts));
    let device = match run_device(options.device, run.spec.device.as_deref()) {
        Ok(device) => device,
        Err((choice, source)) => {
            store.give_back(&run.id, worker).await?;
            return Err(RunnerError::Device {
                run: run.spec.label(),
                device: crate::experiment::device_name(choice),
                source,
            });
        }
    };
    let device_label = describe(device);
    store.record_device(&run.id, worker, &device_label).await?;
    let input = TrainInput {
        run_id: run.id.clone(),
        artifacts: artifacts.clone(),
        attempt: run.attempt,
        dataset: run.spec.dataset().map_err(spec_error)?,
        profile: run.spec.profile().map_err(spec_error)?,
        spec: run.spec.clone(),
        device,
    };
    store.clear_metrics(&run.id).await?;
    progress.start_run(&run.spec.label(), run.attempt, &device_label);

    let lost = Arc::new(AtomicBool::new(false));
    let stage1_key: Arc<Mutex<Option<String>>> = Arc::default();
    let heartbeat = tokio::spawn(heartbeats(
        store.clone(),
        worker.clone(),
        run.id.clone(),
        options.heartbeat,
        lost.clone(),
        stage1_key.clone(),
    ));
    let handle = tokio::runtime::Handle::current();
    let mut sink = StoreSink::new(
        store.clone(),
        handle.clone(),
        run.id.clone(),
        options.metrics_batch,
        lost.clone(),
        progress.clone(),
    );
    let cache = StoreCache {
        store: store.clone(),
        handle,
        worker: worker.clone(),
        run: run.id.clone(),
        artifacts,
        poll: options.poll,
        dead_after: options.dead_after,
        lost: lost.clone(),
        training: stage1_key.clone(),
    };
    let trainer = trainer.clone();
    let trained = tokio::task::spawn_blocking(move || {
        let result = trainer.train(&input, &mut sink, &cache);
        // A failed attempt's metrics are stored too (until its retry starts):
        // they show where it broke.
        let flushed = sink.flush();
        result.and_then(|results| flushed.map(|()| results))
    })
    .await;
    heartbeat.abort();
    // A stage-1 claim the trainer left behind (it failed before registering)
    // would make every run needing that key wait forever: give it up.
    let unfinished_stage1 = stage1_key.lock().map(|k| k.clone()).unwrap_or_default();
    if let Some(key) = unfinished_stage1 {
        store.release_stage1(&key, Some(&worker.id), None).await?;
    }
    let trained = trained
        .unwrap_or_else(|panic| Err(TrainError::Failed(format!("the trainer panicked: {panic}"))));
    let outcome = match trained {
        Ok(results) if store.finish(&run.id, worker, &results).await? => Outcome::Done,
        Ok(_) | Err(TrainError::LostClaim) => Outcome::Lost,
        Err(error) => {
            let message = error.to_string();
            store
                .fail(&run.id, worker, &message, run.spec.max_attempts)
                .await?;
            progress.note(&format!(
                "{} failed (attempt {}): {message}",
                run.spec.label(),
                run.attempt
            ));
            Outcome::Failed
        }
    };
    progress.end_run(match outcome {
        Outcome::Done => "done",
        Outcome::Failed => "failed",
        Outcome::Lost => "lost to another worker",
    });
    Ok(outcome)
}

/// Every `period`: tell the store this worker holds the run (and the
/// stage-1 key it trains, if any); flag `lost` once it no longer does.
async fn heartbeats(
    store: Store,
    worker: Worker,
    run: String,
    period: Duration,
    lost: Arc<AtomicBool>,
    stage1_key: Arc<Mutex<Option<String>>>,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match store.heartbeat(&run, &worker).await {
            Ok(true) => {}
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A passing database hiccup: the next beat tries again.
            Err(err) => tracing::warn!("heartbeat of run {run}: {err}"),
        }
        let key = stage1_key.lock().map(|k| k.clone()).unwrap_or_default();
        if let Some(key) = key {
            if let Err(err) = store.heartbeat_stage1(&key, &worker).await {
                tracing::warn!("heartbeat of stage-1 key {key}: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_shared_out_evenly_and_never_zero() {
        assert_eq!(split_threads(2, 2), [1, 1]);
        assert_eq!(split_threads(16, 3), [6, 5, 5]);
        assert_eq!(split_threads(8, 1), [8]);
        assert_eq!(split_threads(2, 3), [1, 1, 1]);
        assert_eq!(split_threads(4, 0), [4]);
        for cores in 1..20 {
            for workers in 1..=cores {
                assert_eq!(split_threads(cores, workers).iter().sum::<usize>(), cores);
            }
        }
    }

    #[test]
    fn the_command_line_device_wins_unless_auto() {
        assert_eq!(
            run_device(DeviceChoice::Cpu, Some("cuda:0")).ok(),
            Some(tch::Device::Cpu)
        );
        assert_eq!(
            run_device(DeviceChoice::Auto, Some("cpu")).ok(),
            Some(tch::Device::Cpu)
        );
        assert_eq!(
            run_device(DeviceChoice::Auto, None).ok(),
            Some(tch::Device::cuda_if_available())
        );
        // A CUDA device this machine lacks is an error naming the choice.
        let missing = tch::Cuda::device_count().max(0) as usize;
        let (choice, _) = run_device(DeviceChoice::Auto, Some(&format!("cuda:{missing}")))
            .expect_err("no such device");
        assert_eq!(choice, DeviceChoice::Cuda(missing));
        assert!(run_device(DeviceChoice::Cuda(missing), Some("cpu")).is_err());
    }
}
