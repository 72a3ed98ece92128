//! The store-backed metrics sink and stage-1 cache handed to trainers. They
//! run on the trainer's blocking thread and reach the async store through
//! the runtime handle.

use super::identity;
use super::progress::Progress;
use super::trainer::{remove_partial_writes, MetricsSink, Stage1Cache, Stage1Claim, TrainError};
use crate::store::{now_ms, Artifact, MetricRow, Stage1State, Store, Worker};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// Buffered metrics never wait longer than this for their write.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

pub struct StoreSink {
    store: Store,
    handle: Handle,
    run: String,
    batch: usize,
    buffer: Vec<MetricRow>,
    last_flush: Instant,
    lost: Arc<AtomicBool>,
    progress: Progress,
}

impl StoreSink {
    pub fn new(
        store: Store,
        handle: Handle,
        run: String,
        batch: usize,
        lost: Arc<AtomicBool>,
        progress: Progress,
    ) -> Self {
        StoreSink {
            store,
            handle,
            run,
            batch: batch.max(1),
            buffer: Vec::new(),
            last_flush: Instant::now(),
            lost,
            progress,
        }
    }

    pub fn flush(&mut self) -> Result<(), TrainError> {
        if !self.buffer.is_empty() {
            let rows = std::mem::take(&mut self.buffer);
            self.handle
                .block_on(self.store.insert_metrics(&self.run, &rows))?;
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}

impl MetricsSink for StoreSink {
    fn epoch(
        &mut self,
        stage: &str,
        epoch: u32,
        epochs: u32,
        values: &[(&str, f64)],
    ) -> Result<(), TrainError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(TrainError::LostClaim);
        }
        self.buffer
            .extend(values.iter().map(|(name, value)| MetricRow {
                stage: stage.to_string(),
                epoch,
                name: name.to_string(),
                value: *value,
            }));
        self.progress.epoch(stage, epoch, epochs, values);
        if self.buffer.len() >= self.batch || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }
}

pub struct StoreCache {
    pub store: Store,
    pub handle: Handle,
    pub worker: Worker,
    pub run: String,
    pub artifacts: PathBuf,
    pub poll: Duration,
    pub dead_after: Duration,
    pub lost: Arc<AtomicBool>,
    /// The key this run trains now, for the heartbeat task.
    pub training: Arc<Mutex<Option<String>>>,
}

impl StoreCache {
    /// Artifacts are stored by file name, resolved against this worker's
    /// artifact directory (shared storage may be mounted differently).
    fn file_of(&self, key: &str) -> PathBuf {
        self.artifacts.join(format!("stage1-{key}.ot"))
    }

    fn set_training(&self, key: Option<&str>) {
        if let Ok(mut slot) = self.training.lock() {
            *slot = key.map(str::to_string);
        }
    }

    /// Ready and intact: the file exists and matches its checksum. A bad
    /// file (a crash mid-copy, a disk error) is dropped from the store so
    /// that it is trained again, never loaded.
    fn verified(&self, artifact: &Artifact) -> Result<Option<PathBuf>, TrainError> {
        let path = self.artifacts.join(&artifact.path);
        match checksum(&path) {
            Ok(sum) if sum == artifact.checksum => Ok(Some(path)),
            found => {
                tracing::warn!(
                    "stage-1 artifact {} is missing or corrupt ({}); training it again",
                    path.display(),
                    found.map_or_else(|e| e.to_string(), |s| format!("checksum {s}"))
                );
                self.handle.block_on(self.store.release_stage1(
                    &artifact.key,
                    None,
                    Some(&artifact.checksum),
                ))?;
                Ok(None)
            }
        }
    }
}

impl Stage1Cache for StoreCache {
    fn lookup(&self, key: &str) -> Result<Option<PathBuf>, TrainError> {
        match self.handle.block_on(self.store.stage1_state(key))? {
            Stage1State::Ready(artifact) => self.verified(&artifact),
            _ => Ok(None),
        }
    }

    fn acquire(&self, key: &str) -> Result<Stage1Claim, TrainError> {
        loop {
            if self.lost.load(Ordering::SeqCst) {
                return Err(TrainError::LostClaim);
            }
            if let Some(path) = self.lookup(key)? {
                self.handle
                    .block_on(self.store.mark_stage1_reused(&self.run, true))?;
                return Ok(Stage1Claim::Reuse { path });
            }
            if self
                .handle
                .block_on(self.store.claim_stage1(key, &self.worker))?
            {
                self.set_training(Some(key));
                let path = self.file_of(key);
                // The claim is exclusive, so a temporary file of this key is
                // what a writer that died before its rename left behind.
                match remove_partial_writes(&path) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        "removed {n} partly written stage-1 file(s) of {}",
                        path.display()
                    ),
                    Err(source) => return Err(TrainError::Artifact { path, source }),
                }
                return Ok(Stage1Claim::Train { path });
            }
            if let Stage1State::Training {
                worker,
                host,
                pid,
                heartbeat_at,
            } = self.handle.block_on(self.store.stage1_state(key))?
            {
                // Our own id here is a claim an earlier attempt left behind.
                let dead = worker == self.worker.id
                    || (host == self.worker.host && !identity::is_alive(pid, &worker))
                    || now_ms() - heartbeat_at > self.dead_after.as_millis() as i64;
                if dead {
                    self.handle
                        .block_on(self.store.release_stage1(key, Some(&worker), None))?;
                    continue;
                }
            }
            std::thread::sleep(self.poll);
        }
    }

    fn register(&self, key: &str, path: &Path) -> Result<Artifact, TrainError> {
        let sum = checksum(path).map_err(|source| TrainError::Artifact {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .strip_prefix(&self.artifacts)
            .unwrap_or(path)
            .display()
            .to_string();
        let artifact = Artifact {
            key: key.to_string(),
            path: name,
            checksum: sum,
        };
        let held = self
            .handle
            .block_on(self.store.register_stage1(&artifact, &self.worker))?;
        self.set_training(None);
        if !held {
            return Err(TrainError::LostClaim);
        }
        self.handle
            .block_on(self.store.mark_stage1_reused(&self.run, false))?;
        Ok(artifact)
    }
}

/// SHA-256 of a file, hex.
pub fn checksum(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
