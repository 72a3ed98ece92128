//! Read-only queries of the report: whole-experiment reads, aggregated in SQL
//! where the raw rows would be large (per-epoch metrics, per-attribute
//! accuracies), so that a grid of tens of thousands of runs renders in
//! seconds.

use super::{on_pool, Correlations, MeasuredSpeed, RunArtifact, Store, StoreError};
use sqlx::Row;

/// One run with everything the report shows about it.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub id: String,
    pub variant_name: String,
    pub variant_hash: String,
    /// The dataset spec as stored (canonical JSON).
    pub dataset: String,
    pub proportion: f64,
    pub seed: i64,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub stage1_key: Option<String>,
    pub stage1_reused: Option<bool>,
    pub git_revision: Option<String>,
    pub git_dirty: Option<bool>,
    pub device: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Mean test accuracy in [0, 1], once done.
    pub test_accuracy: Option<f64>,
    pub val_accuracy: Option<f64>,
}

/// A per-epoch metric averaged over the seeds of one grid cell.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MetricMean {
    pub dataset: String,
    pub variant_hash: String,
    pub proportion: f64,
    pub stage: String,
    pub epoch: i64,
    pub name: String,
    pub value: f64,
}

/// One attribute's test accuracy averaged over the seeds of a grid cell.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttributeMean {
    pub dataset: String,
    pub variant_hash: String,
    pub proportion: f64,
    pub attribute: String,
    pub accuracy: f64,
    pub runs: i64,
}

/// A variant's model size per stage, as its runs recorded it, and its
/// speed on one device (averaged over the runs that measured it there).
#[derive(Debug, Clone)]
pub struct VariantModelStat {
    pub variant_name: String,
    pub stage: String,
    pub params: i64,
    pub flops: i64,
    pub speed: Option<MeasuredSpeed>,
}

/// One run's correlation matrix (predicted or ground truth).
#[derive(Debug, Clone)]
pub struct RunCorrelations {
    pub dataset: String,
    pub variant_name: String,
    pub seed: i64,
    /// `predicted` or `truth`.
    pub source: String,
    pub correlations: Correlations,
}

impl Store {
    /// Every run of `experiment` in plan order, with its mean accuracies.
    pub async fn report_runs(&self, experiment: &str) -> Result<Vec<ReportRun>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.id, r.variant_name, r.variant_hash, r.dataset, r.proportion, r.seed, \
                 r.status, r.attempts, r.error, r.stage1_key, r.stage1_reused, r.git_revision, \
                 r.git_dirty, r.device, r.started_at, r.finished_at, \
                 t.mean_accuracy AS test_accuracy, v.mean_accuracy AS val_accuracy \
                 FROM runs r \
                 LEFT JOIN results t ON t.run_id = r.id AND t.split = 'test' \
                 LEFT JOIN results v ON v.run_id = r.id AND v.split = 'val' \
                 WHERE r.experiment = $1 ORDER BY r.ordinal",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(ReportRun {
                        id: row.try_get("id")?,
                        variant_name: row.try_get("variant_name")?,
                        variant_hash: row.try_get("variant_hash")?,
                        dataset: row.try_get("dataset")?,
                        proportion: row.try_get("proportion")?,
                        seed: row.try_get("seed")?,
                        status: row.try_get("status")?,
                        attempts: row.try_get("attempts")?,
                        error: row.try_get("error")?,
                        stage1_key: row.try_get("stage1_key")?,
                        stage1_reused: row.try_get::<Option<i64>, _>("stage1_reused")?.map(|r| r != 0),
                        git_revision: row.try_get("git_revision")?,
                        git_dirty: row.try_get::<Option<i64>, _>("git_dirty")?.map(|d| d != 0),
                        device: row.try_get("device")?,
                        started_at: row.try_get("started_at")?,
                        finished_at: row.try_get("finished_at")?,
                        test_accuracy: row.try_get("test_accuracy")?,
                        val_accuracy: row.try_get("val_accuracy")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    /// Per-epoch metrics of the done runs of `experiment`, averaged over seeds.
    pub async fn metric_means(&self, experiment: &str) -> Result<Vec<MetricMean>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, MetricMean>(
                "SELECT r.dataset, r.variant_hash, r.proportion, m.stage, m.epoch, m.name, \
                 AVG(m.value) AS value FROM metrics m JOIN runs r ON r.id = m.run_id \
                 WHERE r.experiment = $1 AND r.status = 'done' \
                 GROUP BY r.dataset, r.variant_hash, r.proportion, m.stage, m.epoch, m.name \
                 ORDER BY r.dataset, r.variant_hash, r.proportion, m.stage, m.name, m.epoch",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))
        })
    }

    /// Per-attribute test accuracies of `experiment`, averaged over seeds.
    pub async fn attribute_means(
        &self,
        experiment: &str,
    ) -> Result<Vec<AttributeMean>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, AttributeMean>(
                "SELECT r.dataset, r.variant_hash, r.proportion, a.attribute, \
                 AVG(a.accuracy) AS accuracy, COUNT(*) AS runs \
                 FROM attribute_results a JOIN runs r ON r.id = a.run_id \
                 WHERE r.experiment = $1 AND r.status = 'done' AND a.split = 'test' \
                 GROUP BY r.dataset, r.variant_hash, r.proportion, a.attribute",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))
        })
    }

    /// Parameters and FLOPs per variant and stage (the largest any run
    /// saw), with the mean speed per device where runs measured it.
    pub async fn variant_model_stats(
        &self,
        experiment: &str,
    ) -> Result<Vec<VariantModelStat>, StoreError> {
        let mut stats = on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.variant_name, s.stage, s.device, MAX(s.params) AS params, \
                 MAX(s.flops) AS flops, AVG(s.latency_ms) AS latency_ms, \
                 AVG(s.images_per_s) AS images_per_s, MAX(s.throughput_batch) AS batch \
                 FROM model_stats s JOIN runs r ON r.id = s.run_id WHERE r.experiment = $1 \
                 GROUP BY r.variant_name, s.stage, s.device ORDER BY r.variant_name, s.stage, s.device",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    let device: Option<String> = row.try_get("device")?;
                    let latency_ms: Option<f64> = row.try_get("latency_ms")?;
                    let images_per_s: Option<f64> = row.try_get("images_per_s")?;
                    let batch: Option<i64> = row.try_get("batch")?;
                    let speed = match (device, latency_ms, images_per_s, batch) {
                        (Some(device), Some(latency_ms), Some(images_per_s), Some(batch)) => {
                            Some(MeasuredSpeed { device, latency_ms, images_per_s, batch })
                        }
                        _ => None,
                    };
                    Ok(VariantModelStat {
                        variant_name: row.try_get("variant_name")?,
                        stage: row.try_get("stage")?,
                        params: row.try_get("params")?,
                        flops: row.try_get("flops")?,
                        speed,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))?
        });
        // A stage measured on some device needs no unmeasured row beside it.
        let measured: Vec<(String, String)> = stats
            .iter()
            .filter(|s| s.speed.is_some())
            .map(|s| (s.variant_name.clone(), s.stage.clone()))
            .collect();
        stats.retain(|s| {
            s.speed.is_some() || !measured.contains(&(s.variant_name.clone(), s.stage.clone()))
        });
        Ok(stats)
    }

    /// The correlation matrices of the done runs of `variants` at
    /// `proportion` (the report's Fig. 7 reads only these).
    pub async fn correlations(
        &self,
        experiment: &str,
        proportion: f64,
        variants: &[&str],
    ) -> Result<Vec<RunCorrelations>, StoreError> {
        let mut found = Vec::new();
        for variant in variants {
            let rows = on_pool!(self, pool => {
                let rows = sqlx::query(
                    "SELECT r.dataset, r.seed, c.source, c.images, c.attributes, c.matrix \
                     FROM correlations c JOIN runs r ON r.id = c.run_id \
                     WHERE r.experiment = $1 AND r.status = 'done' AND r.proportion = $2 \
                     AND r.variant_name = $3 ORDER BY r.dataset, r.seed, c.source",
                )
                .bind(experiment)
                .bind(proportion)
                .bind(*variant)
                .fetch_all(pool)
                .await
                .map_err(|e| self.error(e))?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            row.try_get::<String, _>("dataset")?,
                            row.try_get::<i64, _>("seed")?,
                            row.try_get::<String, _>("source")?,
                            row.try_get::<i64, _>("images")?,
                            row.try_get::<String, _>("attributes")?,
                            row.try_get::<String, _>("matrix")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(|e| self.error(e))?
            });
            for (dataset, seed, source, images, attributes, matrix) in rows {
                let corrupt = |detail: String| StoreError::Corrupt {
                    table: "correlations",
                    detail: format!("{variant} seed {seed} ({source}): {detail}"),
                };
                let attributes: Vec<String> = serde_json::from_str(&attributes)
                    .map_err(|e| corrupt(format!("attributes: {e}")))?;
                let values: Vec<Option<f64>> =
                    serde_json::from_str(&matrix).map_err(|e| corrupt(format!("matrix: {e}")))?;
                if values.len() != attributes.len() * attributes.len() {
                    return Err(corrupt(format!(
                        "{} values for {} attributes",
                        values.len(),
                        attributes.len()
                    )));
                }
                found.push(RunCorrelations {
                    dataset,
                    variant_name: variant.to_string(),
                    seed,
                    source,
                    correlations: Correlations {
                        images: images.max(0) as usize,
                        attributes,
                        values,
                    },
                });
            }
        }
        Ok(found)
    }

    /// The file of `kind` a run recorded, if any.
    pub async fn run_artifact(
        &self,
        run: &str,
        kind: &str,
    ) -> Result<Option<RunArtifact>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT path, checksum, bytes FROM run_artifacts WHERE run_id = $1 AND kind = $2",
            )
            .bind(run)
            .bind(kind)
            .fetch_optional(pool)
            .await
            .map_err(|e| self.error(e))?;
            row.map(|row| {
                Ok(RunArtifact {
                    kind: kind.to_string(),
                    path: row.try_get("path")?,
                    checksum: row.try_get("checksum")?,
                    bytes: row.try_get::<i64, _>("bytes")?.max(0) as u64,
                })
            })
            .transpose()
            .map_err(|e: sqlx::Error| self.error(e))
        })
    }
}
