//! Runs: inserting a plan, claiming, heartbeats, finishing, failing and
//! reclaiming runs of dead workers; metrics and results.

use super::{now_ms, on_pool, Store, StoreError};
use crate::experiment::{device_name, DatasetSpec, Experiment, Profile, RunSpec};
use crate::registry::{Hyper, Toggles};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Everything a worker on any machine needs to execute a run, stored with
/// the run so that workers need the database only, not the TOML files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSpec {
    pub experiment: String,
    pub variant_name: String,
    pub variant_hash: String,
    pub toggles: Toggles,
    pub hyper: Hyper,
    pub dataset: DatasetSpecJson,
    pub proportion: f64,
    pub seed: u64,
    pub profile: ProfileJson,
    pub stage1_key: Option<String>,
    pub max_attempts: u32,
    /// Device the experiment asks for (`None`: the worker's own choice).
    pub device: Option<String>,
    /// Directory of stage-1 artifacts, as the experiment names it.
    pub artifacts: String,
}

/// The dataset spec as stored (the experiment's [`DatasetSpec`] as JSON).
pub type DatasetSpecJson = serde_json::Value;
/// The profile as stored: name and overrides.
pub type ProfileJson = serde_json::Value;

impl StoredSpec {
    fn of(run: &RunSpec, experiment: &Experiment) -> StoredSpec {
        StoredSpec {
            experiment: run.experiment.clone(),
            variant_name: run.variant.name.clone(),
            variant_hash: run.variant.hash.to_string(),
            toggles: run.variant.toggles,
            hyper: run.variant.hyper.clone(),
            dataset: serde_json::to_value(&run.dataset).expect("plain data serializes"),
            proportion: run.proportion,
            seed: run.seed,
            profile: serde_json::to_value(&run.profile).expect("plain data serializes"),
            stage1_key: run.stage1_key.clone(),
            max_attempts: experiment.max_attempts,
            device: experiment.device.map(device_name),
            artifacts: experiment.artifacts_dir().display().to_string(),
        }
    }

    /// `SPL-Net 10% seed 1`, for logs and progress bars.
    pub fn label(&self) -> String {
        format!(
            "{} {}% seed {}",
            self.variant_name, self.proportion, self.seed
        )
    }

    pub fn dataset(&self) -> Result<DatasetSpec, serde_json::Error> {
        DatasetSpec::deserialize(&self.dataset)
    }

    pub fn profile(&self) -> Result<Profile, serde_json::Error> {
        Ok(Profile {
            name: self.profile["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            overrides: serde_json::from_value(self.profile["overrides"].clone())?,
        })
    }
}

/// Who runs a run: written with every claim so that a dead worker can be
/// recognised and its runs reclaimed.
#[derive(Debug, Clone)]
pub struct Worker {
    /// `host/pid/start-time`: unique even when PIDs are reused.
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub device: String,
    pub git_revision: String,
    pub git_dirty: bool,
    pub libtorch: String,
}

/// A run this worker now holds.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub id: String,
    pub attempt: u32,
    pub spec: StoredSpec,
}

/// One run as `status` sees it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    pub variant_name: String,
    pub variant_hash: String,
    pub proportion: f64,
    pub seed: i64,
    pub status: String,
    pub attempts: i64,
    pub failures: i64,
    pub error: Option<String>,
    pub stage1_key: Option<String>,
    pub stage1_reused: Option<bool>,
    pub worker: Option<String>,
}

/// Final accuracies of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracies {
    pub mean: f64,
    pub per_attribute: Vec<(String, f64)>,
}

/// Parameters and FLOPs of one stage's model, and its inference speed
/// when it was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStat {
    pub stage: String,
    pub params: i64,
    pub flops: i64,
    pub speed: Option<MeasuredSpeed>,
}

/// Inference speed in eval mode under `no_grad` on `device`.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredSpeed {
    pub device: String,
    /// Milliseconds per image at batch 1.
    pub latency_ms: f64,
    /// Images per second at `batch`.
    pub images_per_s: f64,
    pub batch: i64,
}

/// Pearson correlations between attributes over the images of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlations {
    pub images: usize,
    pub attributes: Vec<String>,
    /// Row-major, `attributes.len()` squared; `None` where undefined (an
    /// attribute constant over the images).
    pub values: Vec<Option<f64>>,
}

/// A file a run wrote next to its other artifacts, with its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArtifact {
    pub kind: String,
    pub path: String,
    pub checksum: String,
    pub bytes: u64,
}

/// The test-split predictions of the epoch chosen on validation: their
/// correlations, the labels' correlations, and the raw file.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub predicted: Correlations,
    pub truth: Correlations,
    pub file: RunArtifact,
}

/// What a finished run stores.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResults {
    pub val: Accuracies,
    pub test: Accuracies,
    pub model_stats: Vec<ModelStat>,
    pub predictions: Option<Predictions>,
}

/// One per-epoch value.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub stage: String,
    pub epoch: u32,
    pub name: String,
    pub value: f64,
}

/// Rows per multi-row INSERT: far below both databases' parameter limits
/// (SQLite 32766, PostgreSQL 65535) at five parameters a row.
const ROWS_PER_INSERT: usize = 500;

/// The claim, one statement on both databases. PostgreSQL's `SKIP LOCKED`
/// lets concurrent claimers pass over a row another transaction is taking;
/// the outer `status = 'pending'` re-check makes a lost race claim nothing.
fn claim_sql(postgres: bool) -> String {
    format!(
        "UPDATE runs SET status = 'running', attempts = attempts + 1, worker = $2, host = $3, \
         pid = $4, device = $5, git_revision = $6, git_dirty = $7, libtorch = $8, \
         started_at = $9, heartbeat_at = $9, finished_at = NULL, stage1_reused = NULL \
         WHERE id = (SELECT id FROM runs WHERE status = 'pending' \
                     AND ($1 = '' OR experiment = $1) ORDER BY ordinal LIMIT 1{}) \
           AND status = 'pending' \
         RETURNING id, attempts, spec",
        if postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        }
    )
}

impl Store {
    /// Records the experiment, its variants and every run of its plan that
    /// is not stored yet; returns how many runs were new.
    pub async fn insert_plan(
        &self,
        experiment: &Experiment,
        plan: &[RunSpec],
    ) -> Result<usize, StoreError> {
        let now = now_ms();
        let err = |source| self.error(source);
        let source = experiment.source.display().to_string();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query(
                "INSERT INTO experiments (name, source, config, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO UPDATE \
                 SET source = excluded.source, config = excluded.config, updated_at = excluded.updated_at",
            )
            .bind(&experiment.name)
            .bind(&source)
            .bind(&experiment.text)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            for variant in &experiment.variants {
                let resolved = serde_json::json!({
                    "name": variant.name,
                    "chain": variant.chain,
                    "source": variant.source,
                    "toggles": variant.toggles,
                    "hyper": variant.hyper,
                    "canonical": variant.canonical_json(),
                });
                sqlx::query(
                    "INSERT INTO variant_snapshots (hash, name, resolved, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
                )
                .bind(variant.hash.as_str())
                .bind(&variant.name)
                .bind(resolved.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            let mut inserted = 0;
            for chunk in plan.chunks(ROWS_PER_INSERT / 2) {
                let mut builder = sqlx::QueryBuilder::new(
                    "INSERT INTO runs (id, experiment, ordinal, variant_hash, variant_name, dataset, \
                     proportion, seed, profile, stage1_key, spec, created_at) ",
                );
                builder.push_values(chunk, |mut row, run| {
                    let spec = StoredSpec::of(run, experiment);
                    row.push_bind(run.id.clone())
                        .push_bind(run.experiment.clone())
                        .push_bind(run.ordinal as i64)
                        .push_bind(run.variant.hash.to_string())
                        .push_bind(run.variant.name.clone())
                        .push_bind(run.dataset.canonical())
                        .push_bind(run.proportion)
                        .push_bind(run.seed as i64)
                        .push_bind(spec.profile.to_string())
                        .push_bind(run.stage1_key.clone())
                        .push_bind(serde_json::to_string(&spec).expect("plain data serializes"))
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT (id) DO NOTHING");
                let done = builder.build().execute(&mut *tx).await.map_err(err)?;
                inserted += done.rows_affected() as usize;
            }
            tx.commit().await.map_err(err)?;
            Ok(inserted)
        })
    }

    /// Takes the next pending run (of `experiment`, or of any experiment when
    /// `None`), or `None` when there is none.
    pub async fn claim(
        &self,
        experiment: Option<&str>,
        worker: &Worker,
    ) -> Result<Option<ClaimedRun>, StoreError> {
        let sql = claim_sql(self.is_postgres());
        let now = now_ms();
        let row = on_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(experiment.unwrap_or(""))
                .bind(&worker.id)
                .bind(&worker.host)
                .bind(worker.pid as i64)
                .bind(&worker.device)
                .bind(&worker.git_revision)
                .bind(worker.git_dirty as i64)
                .bind(&worker.libtorch)
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(|e| self.error(e))?;
            match row {
                None => None,
                Some(row) => Some((
                    row.try_get::<String, _>("id").map_err(|e| self.error(e))?,
                    row.try_get::<i64, _>("attempts").map_err(|e| self.error(e))?,
                    row.try_get::<String, _>("spec").map_err(|e| self.error(e))?,
                )),
            }
        });
        let Some((id, attempts, spec)) = row else {
            return Ok(None);
        };
        let spec = serde_json::from_str(&spec).map_err(|err| StoreError::Corrupt {
            table: "runs",
            detail: format!("run {id}: spec: {err}"),
        })?;
        Ok(Some(ClaimedRun {
            id,
            attempt: attempts as u32,
            spec,
        }))
    }

    /// Tells others this worker still holds `run`; false once it does not
    /// (its claim was reclaimed).
    pub async fn heartbeat(&self, run: &str, worker: &Worker) -> Result<bool, StoreError> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(run)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected());
        Ok(done == 1)
    }

    /// Records the device this worker trains `run` on (the claim wrote the
    /// worker's own choice, which may be `auto`).
    pub async fn record_device(
        &self,
        run: &str,
        worker: &Worker,
        device: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET device = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(device)
        .bind(run)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Undoes this worker's claim of `run`, which it cannot train here:
    /// pending again, the attempt not counted.
    pub async fn give_back(&self, run: &str, worker: &Worker) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET status = 'pending', worker = NULL, attempts = attempts - 1 \
             WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
        .bind(run)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Removes the per-epoch metrics of earlier attempts of `run`.
    pub async fn clear_metrics(&self, run: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("DELETE FROM metrics WHERE run_id = $1")
            .bind(run)
            .execute(pool)
            .await
            .map(drop)
            .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Writes a batch of per-epoch metrics in one statement per 500 rows.
    pub async fn insert_metrics(&self, run: &str, rows: &[MetricRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            on_pool!(self, pool => {
                let mut builder = sqlx::QueryBuilder::new(
                    "INSERT INTO metrics (run_id, stage, epoch, name, value) ",
                );
                builder.push_values(chunk, |mut row, metric| {
                    row.push_bind(run.to_string())
                        .push_bind(metric.stage.clone())
                        .push_bind(metric.epoch as i64)
                        .push_bind(metric.name.clone())
                        .push_bind(metric.value);
                });
                builder.push(
                    " ON CONFLICT (run_id, stage, epoch, name) DO UPDATE SET value = excluded.value",
                );
                builder.build().execute(pool).await.map_err(|e| self.error(e))?;
            });
        }
        Ok(())
    }

    /// Marks `run` done and stores its results in one transaction; returns
    /// false (and stores nothing) when this worker no longer holds the run.
    pub async fn finish(
        &self,
        run: &str,
        worker: &Worker,
        results: &RunResults,
    ) -> Result<bool, StoreError> {
        let err = |source| self.error(source);
        on_pool!(self, pool => {
            // The UPDATE comes first: on SQLite it takes the write lock at once.
            let mut tx = pool.begin().await.map_err(err)?;
            let held = sqlx::query(
                "UPDATE runs SET status = 'done', finished_at = $1, error = NULL \
                 WHERE id = $2 AND worker = $3 AND status = 'running'",
            )
            .bind(now_ms())
            .bind(run)
            .bind(&worker.id)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            if held != 1 {
                tx.rollback().await.map_err(err)?;
                return Ok(false);
            }
            for table in ["results", "attribute_results", "model_stats", "correlations", "run_artifacts"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1"))
                    .bind(run)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            for (split, accuracies) in [("val", &results.val), ("test", &results.test)] {
                sqlx::query("INSERT INTO results (run_id, split, mean_accuracy) VALUES ($1, $2, $3)")
                    .bind(run)
                    .bind(split)
                    .bind(accuracies.mean)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                for chunk in accuracies.per_attribute.chunks(ROWS_PER_INSERT) {
                    let mut builder = sqlx::QueryBuilder::new(
                        "INSERT INTO attribute_results (run_id, split, attribute, accuracy) ",
                    );
                    builder.push_values(chunk, |mut row, (attribute, accuracy)| {
                        row.push_bind(run.to_string())
                            .push_bind(split)
                            .push_bind(attribute.clone())
                            .push_bind(*accuracy);
                    });
                    builder.build().execute(&mut *tx).await.map_err(err)?;
                }
            }
            for stat in &results.model_stats {
                let speed = stat.speed.as_ref();
                sqlx::query(
                    "INSERT INTO model_stats (run_id, stage, params, flops, device, latency_ms, \
                     images_per_s, throughput_batch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(run)
                .bind(&stat.stage)
                .bind(stat.params)
                .bind(stat.flops)
                .bind(speed.map(|s| s.device.clone()))
                .bind(speed.map(|s| s.latency_ms))
                .bind(speed.map(|s| s.images_per_s))
                .bind(speed.map(|s| s.batch))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            if let Some(predictions) = &results.predictions {
                for (source, matrix) in [("predicted", &predictions.predicted), ("truth", &predictions.truth)] {
                    sqlx::query(
                        "INSERT INTO correlations (run_id, source, images, attributes, matrix) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(run)
                    .bind(source)
                    .bind(matrix.images as i64)
                    .bind(serde_json::to_string(&matrix.attributes).expect("strings serialize"))
                    .bind(serde_json::to_string(&matrix.values).expect("finite numbers serialize"))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                }
                let file = &predictions.file;
                sqlx::query(
                    "INSERT INTO run_artifacts (run_id, kind, path, checksum, bytes) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(run)
                .bind(&file.kind)
                .bind(&file.path)
                .bind(&file.checksum)
                .bind(file.bytes as i64)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            Ok(true)
        })
    }

    /// Records a failed attempt: back to pending while attempts remain,
    /// failed for good after `max_attempts`; the error text is kept.
    pub async fn fail(
        &self,
        run: &str,
        worker: &Worker,
        error: &str,
        max_attempts: u32,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET failures = failures + 1, error = $1, finished_at = $2, worker = NULL, \
             status = CASE WHEN failures + 1 >= $3 THEN 'failed' ELSE 'pending' END \
             WHERE id = $4 AND worker = $5 AND status = 'running'",
        )
        .bind(error)
        .bind(now_ms())
        .bind(max_attempts as i64)
        .bind(run)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Returns to pending every running run whose worker is gone: at once
    /// when it ran on this host and `alive` says its process is not running,
    /// and on any host when its heartbeat is older than `timeout_ms`.
    /// Returns the labels reclaimed.
    pub async fn reclaim_dead(
        &self,
        host: &str,
        alive: impl Fn(u32, &str) -> bool,
        timeout_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let now = now_ms();
        let running = on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, variant_name, proportion, seed, worker, host, pid, heartbeat_at \
                 FROM runs WHERE status = 'running'",
            )
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get::<String, _>("id")?,
                        format!(
                            "{} {}% seed {}",
                            row.try_get::<String, _>("variant_name")?,
                            row.try_get::<f64, _>("proportion")?,
                            row.try_get::<i64, _>("seed")?
                        ),
                        row.try_get::<Option<String>, _>("worker")?.unwrap_or_default(),
                        row.try_get::<Option<String>, _>("host")?.unwrap_or_default(),
                        row.try_get::<Option<i64>, _>("pid")?.unwrap_or(0),
                        row.try_get::<Option<i64>, _>("heartbeat_at")?.unwrap_or(0),
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))?
        });
        let mut reclaimed = Vec::new();
        for (id, label, worker, worker_host, pid, heartbeat) in running {
            let dead = (worker_host == host && !alive(pid as u32, &worker))
                || now - heartbeat > timeout_ms;
            if !dead {
                continue;
            }
            let note = format!("worker {worker} died; run reclaimed");
            let done = on_pool!(self, pool => sqlx::query(
                "UPDATE runs SET status = 'pending', worker = NULL, error = $1 \
                 WHERE id = $2 AND worker = $3 AND status = 'running'",
            )
            .bind(&note)
            .bind(&id)
            .bind(&worker)
            .execute(pool)
            .await
            .map_err(|e| self.error(e))?
            .rows_affected());
            if done == 1 {
                reclaimed.push(label);
            }
        }
        Ok(reclaimed)
    }

    /// Every run of `experiment`, in plan order.
    pub async fn runs(&self, experiment: &str) -> Result<Vec<RunRow>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, variant_name, variant_hash, proportion, seed, status, attempts, failures, \
                 error, stage1_key, stage1_reused, worker FROM runs WHERE experiment = $1 ORDER BY ordinal",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(RunRow {
                        id: row.try_get("id")?,
                        variant_name: row.try_get("variant_name")?,
                        variant_hash: row.try_get("variant_hash")?,
                        proportion: row.try_get("proportion")?,
                        seed: row.try_get("seed")?,
                        status: row.try_get("status")?,
                        attempts: row.try_get("attempts")?,
                        failures: row.try_get("failures")?,
                        error: row.try_get("error")?,
                        stage1_key: row.try_get("stage1_key")?,
                        stage1_reused: row.try_get::<Option<i64>, _>("stage1_reused")?.map(|r| r != 0),
                        worker: row.try_get("worker")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    /// Gives the failed runs of `experiment` a fresh set of attempts;
    /// returns how many.
    pub async fn retry_failed(&self, experiment: &str) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET status = 'pending', failures = 0 WHERE experiment = $1 AND status = 'failed'",
        )
        .bind(experiment)
        .execute(pool)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected()))
    }

    /// Runs that are pending or running, of `experiment` or of all.
    pub async fn unfinished(&self, experiment: Option<&str>) -> Result<(i64, i64), StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
                        COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0) AS running \
                 FROM runs WHERE ($1 = '' OR experiment = $1)",
            )
            .bind(experiment.unwrap_or(""))
            .fetch_one(pool)
            .await
            .map_err(|e| self.error(e))?;
            let pending: i64 = row.try_get("pending").map_err(|e| self.error(e))?;
            let running: i64 = row.try_get("running").map_err(|e| self.error(e))?;
            Ok((pending, running))
        })
    }

    /// Metrics of one run, for reports and tests.
    pub async fn metrics(&self, run: &str) -> Result<Vec<MetricRow>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT stage, epoch, name, value FROM metrics WHERE run_id = $1 ORDER BY stage, epoch, name",
            )
            .bind(run)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(MetricRow {
                        stage: row.try_get("stage")?,
                        epoch: row.try_get::<i64, _>("epoch")? as u32,
                        name: row.try_get("name")?,
                        value: row.try_get("value")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    /// Mean test accuracy of every done run of `experiment`, by run id.
    pub async fn test_means(&self, experiment: &str) -> Result<Vec<(String, f64)>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.id, s.mean_accuracy FROM runs r JOIN results s ON s.run_id = r.id \
                 WHERE r.experiment = $1 AND s.split = 'test' ORDER BY r.ordinal",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| Ok((row.try_get("id")?, row.try_get("mean_accuracy")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    pub(super) fn error(&self, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            url: self.url(),
            source,
        }
    }
}
