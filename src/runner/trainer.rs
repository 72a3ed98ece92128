//! The contract between the runner and whatever trains a run: the input it
//! gets, the metrics sink and stage-1 cache it may use, what it returns.

use crate::experiment::{DatasetSpec, Profile};
use crate::store::{Artifact, StoreError, StoredSpec};
use std::path::{Path, PathBuf};

pub use crate::store::{Accuracies, MeasuredSpeed, ModelStat, Predictions, RunResults};

/// One run to train.
#[derive(Debug, Clone)]
pub struct TrainInput {
    pub run_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The resolved variant (name, hash, toggles, hyper), dataset,
    /// proportion, seed and profile, as stored with the run.
    pub spec: StoredSpec,
    pub dataset: DatasetSpec,
    pub profile: Profile,
    pub device: tch::Device,
    /// Where this worker keeps artifacts (the spec's directory, or the
    /// worker's override): the run's predictions file goes under it.
    pub artifacts: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Failed(String),
    #[error("stage-1 artifact {path}: {source}")]
    Artifact {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run was reclaimed from this worker (its heartbeat went stale);
    /// another worker now owns it, so this one stops.
    #[error("this worker no longer holds the run")]
    LostClaim,
}

/// Per-epoch metrics of a run; implementations batch them to the store.
pub trait MetricsSink {
    /// Records the values of one finished epoch (`epoch` counts from 1).
    fn epoch(
        &mut self,
        stage: &str,
        epoch: u32,
        epochs: u32,
        values: &[(&str, f64)],
    ) -> Result<(), TrainError>;
}

/// What [`Stage1Cache::acquire`] hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage1Claim {
    /// A finished model whose checksum was just verified: load it.
    Reuse { path: PathBuf },
    /// This run holds the key: train, write the model to `path` (with
    /// [`write_atomically`]) and [`Stage1Cache::register`] it.
    Train { path: PathBuf },
}

/// Stage-1 models shared between the runs that need the same one.
pub trait Stage1Cache {
    /// The verified path of a finished model, if there is one.
    fn lookup(&self, key: &str) -> Result<Option<PathBuf>, TrainError>;
    /// A finished model, or the exclusive right to train it; waits while
    /// another live worker trains the same key.
    fn acquire(&self, key: &str) -> Result<Stage1Claim, TrainError>;
    /// Publishes the model written at `path` under `key` with its checksum.
    fn register(&self, key: &str, path: &Path) -> Result<Artifact, TrainError>;
}

/// Trains runs. The real implementation (issue #5) builds SPL-Net from the
/// spec; [`super::NoopTrainer`] exercises the runner without a model.
pub trait Trainer: Send + Sync {
    fn train(
        &self,
        input: &TrainInput,
        metrics: &mut dyn MetricsSink,
        stage1: &dyn Stage1Cache,
    ) -> Result<RunResults, TrainError>;
}

/// Writes `path` so that a reader sees the old file or the whole new one,
/// never a part: `write` fills a temporary file beside it, which is synced
/// and renamed over `path`.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let io = |source| TrainError::Artifact {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let file_name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_os_string());
    let mut tmp_name = file_name;
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    write(&tmp)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    // The rename itself must reach the disk before the store says "ready".
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}
