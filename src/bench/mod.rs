//! Benchmarks behind `ablate bench` (issue #8). Every figure is printed next
//! to a reference measured in the same run, as a ratio:
//! - [`train`]: SPL-Net training and inference in ablate (tch) against a
//!   PyTorch eager twin of the same model (`benches/pytorch_twin.py`);
//! - [`runner`]: per-run overhead of the grid runner with the noop trainer
//!   at two grid sizes, and report rendering on the larger database;
//! - [`pipeline`]: building each task's batch against the training step
//!   that consumes it.
//!
//! [`cost`] turns a plan and measured rates into a grid's estimated cost.
//!
//! docs/benchmarks.md records the numbers and the choices.

pub mod cost;
pub mod pipeline;
pub mod runner;
pub mod train;

use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Setting(String),
    #[error("PyTorch twin: {0}")]
    Twin(String),
    #[error(transparent)]
    Training(#[from] crate::train::TrainingError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, BenchError>;

/// How many untimed and timed repetitions a measurement makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeats {
    pub warmup: usize,
    pub iters: usize,
}

/// Items per second of `step` (which handles `items` items per call) over
/// `repeats.iters` calls after `repeats.warmup` untimed ones; the first
/// error stops the measurement.
pub fn per_second<E>(
    items: usize,
    repeats: Repeats,
    mut step: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<f64, E> {
    for _ in 0..repeats.warmup {
        step()?;
    }
    let start = Instant::now();
    for _ in 0..repeats.iters.max(1) {
        step()?;
    }
    Ok((items * repeats.iters.max(1)) as f64 / start.elapsed().as_secs_f64())
}

/// A private directory under the system's temporary one, removed when
/// dropped: the benchmarks' databases and files are throwaway.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> std::io::Result<TempDir> {
        let path = std::env::temp_dir().join(format!(
            "ablate-bench-{label}-{}-{}",
            std::process::id(),
            crate::store::now_ms()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
