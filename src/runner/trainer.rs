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

/// Test hook (crash tests only): `MS` or `MS:PREFIX`, the milliseconds
/// [`write_atomically`] sleeps between filling its temporary file and
/// renaming it (only for files whose name starts with PREFIX, when given),
/// so that a test can kill the process at exactly that point.
pub const PAUSE_BEFORE_RENAME_ENV: &str = "ABLATE_TEST_PAUSE_BEFORE_RENAME_MS";

/// The temporary file [`write_atomically`] fills for `path` in this process.
fn temporary_of(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_os_string());
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Deletes the temporary files of `path` that writers which died before
/// their rename left behind (any process's); returns how many. Only a
/// caller with the exclusive right to write `path` (a stage-1 claim) may
/// call it: a live writer's temporary file would go too.
pub fn remove_partial_writes(path: &Path) -> std::io::Result<usize> {
    let Some(name) = path.file_name() else {
        return Ok(0);
    };
    let prefix = format!("{}.tmp", name.to_string_lossy());
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let partial = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if partial {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `path` so that a reader sees the old file or the whole new one,
/// never a part: `write` fills a temporary file beside it, which is synced
/// and renamed over `path`. A crash before the rename leaves only the
/// temporary file, which nothing loads ([`remove_partial_writes`]).
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
    let tmp = temporary_of(path);
    write(&tmp)?;
    pause_before_rename(&tmp);
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

/// The [`PAUSE_BEFORE_RENAME_ENV`] test hook.
fn pause_before_rename(tmp: &Path) {
    let Ok(setting) = std::env::var(PAUSE_BEFORE_RENAME_ENV) else {
        return;
    };
    let (ms, prefix) = setting.split_once(':').unwrap_or((&setting, ""));
    let name = tmp.file_name().unwrap_or_default().to_string_lossy();
    let Some(ms) = ms.parse::<u64>().ok().filter(|_| name.starts_with(prefix)) else {
        return;
    };
    tracing::warn!(
        "test hook {PAUSE_BEFORE_RENAME_ENV}: {} written, pausing {ms} ms before its rename",
        tmp.display()
    );
    std::thread::sleep(std::time::Duration::from_millis(ms));
}
