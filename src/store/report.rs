//! Read-only queries of the report: whole-experiment reads, aggregated in SQL
//! where the raw rows would be large (per-epoch metrics, per-attribute
//! accuracies), so that a grid of tens of thousands of runs renders in
//! seconds.

use super::{on_pool, Store, StoreError};
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct AttributeMean {
    pub dataset: String,
    pub variant_hash: String,
    pub proportion: f64,
    pub attribute: String,
    pub accuracy: f64,
    pub runs: i64,
}

/// A variant's model size per stage, as its runs recorded it.
#[derive(Debug, Clone)]
pub struct VariantModelStat {
    pub variant_name: String,
    pub stage: String,
    pub params: i64,
    pub flops: i64,
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
            let rows = sqlx::query(
                "SELECT r.dataset, r.variant_hash, r.proportion, m.stage, m.epoch, m.name, \
                 AVG(m.value) AS value FROM metrics m JOIN runs r ON r.id = m.run_id \
                 WHERE r.experiment = $1 AND r.status = 'done' \
                 GROUP BY r.dataset, r.variant_hash, r.proportion, m.stage, m.epoch, m.name \
                 ORDER BY r.dataset, r.variant_hash, r.proportion, m.stage, m.name, m.epoch",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(MetricMean {
                        dataset: row.try_get("dataset")?,
                        variant_hash: row.try_get("variant_hash")?,
                        proportion: row.try_get("proportion")?,
                        stage: row.try_get("stage")?,
                        epoch: row.try_get("epoch")?,
                        name: row.try_get("name")?,
                        value: row.try_get("value")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    /// Per-attribute test accuracies of `experiment`, averaged over seeds.
    pub async fn attribute_means(
        &self,
        experiment: &str,
    ) -> Result<Vec<AttributeMean>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.dataset, r.variant_hash, r.proportion, a.attribute, \
                 AVG(a.accuracy) AS accuracy, COUNT(*) AS runs \
                 FROM attribute_results a JOIN runs r ON r.id = a.run_id \
                 WHERE r.experiment = $1 AND r.status = 'done' AND a.split = 'test' \
                 GROUP BY r.dataset, r.variant_hash, r.proportion, a.attribute",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(AttributeMean {
                        dataset: row.try_get("dataset")?,
                        variant_hash: row.try_get("variant_hash")?,
                        proportion: row.try_get("proportion")?,
                        attribute: row.try_get("attribute")?,
                        accuracy: row.try_get("accuracy")?,
                        runs: row.try_get("runs")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }

    /// Parameters and FLOPs per variant and stage (the largest any run saw).
    pub async fn variant_model_stats(
        &self,
        experiment: &str,
    ) -> Result<Vec<VariantModelStat>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.variant_name, s.stage, MAX(s.params) AS params, MAX(s.flops) AS flops \
                 FROM model_stats s JOIN runs r ON r.id = s.run_id WHERE r.experiment = $1 \
                 GROUP BY r.variant_name, s.stage ORDER BY r.variant_name, s.stage",
            )
            .bind(experiment)
            .fetch_all(pool)
            .await
            .map_err(|e| self.error(e))?;
            rows.iter()
                .map(|row| {
                    Ok(VariantModelStat {
                        variant_name: row.try_get("variant_name")?,
                        stage: row.try_get("stage")?,
                        params: row.try_get("params")?,
                        flops: row.try_get("flops")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(|e| self.error(e))
        })
    }
}
