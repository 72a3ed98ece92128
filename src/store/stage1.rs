//! Stage-1 artifacts: one row per key. Inserting a `training` row is the
//! claim (the primary key makes it exclusive); `ready` rows carry the path
//! and checksum that every load verifies.

use super::{now_ms, on_pool, Store, StoreError, Worker};
use sqlx::Row;

/// A finished stage-1 model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub key: String,
    pub path: String,
    pub checksum: String,
}

/// What the store knows about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage1State {
    /// Nobody has trained it or claimed it.
    Missing,
    /// A worker holds the claim and trains it.
    Training {
        worker: String,
        host: String,
        pid: u32,
        heartbeat_at: i64,
    },
    Ready(Artifact),
}

impl Store {
    pub async fn stage1_state(&self, key: &str) -> Result<Stage1State, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT status, worker, host, pid, path, checksum, heartbeat_at \
                 FROM stage1_artifacts WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(|e| self.error(e))?;
            let Some(row) = row else { return Ok(Stage1State::Missing) };
            let get = |column: &str| row.try_get::<Option<String>, _>(column).map_err(|e| self.error(e));
            let status = get("status")?.unwrap_or_default();
            if status == "ready" {
                Ok(Stage1State::Ready(Artifact {
                    key: key.to_string(),
                    path: get("path")?.unwrap_or_default(),
                    checksum: get("checksum")?.unwrap_or_default(),
                }))
            } else {
                Ok(Stage1State::Training {
                    worker: get("worker")?.unwrap_or_default(),
                    host: get("host")?.unwrap_or_default(),
                    pid: row.try_get::<i64, _>("pid").map_err(|e| self.error(e))? as u32,
                    heartbeat_at: row.try_get("heartbeat_at").map_err(|e| self.error(e))?,
                })
            }
        })
    }

    /// Claims `key` for training; true when this worker got it.
    pub async fn claim_stage1(&self, key: &str, worker: &Worker) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = on_pool!(self, pool => sqlx::query(
            "INSERT INTO stage1_artifacts (key, status, worker, host, pid, heartbeat_at, created_at) \
             VALUES ($1, 'training', $2, $3, $4, $5, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(&worker.id)
        .bind(&worker.host)
        .bind(worker.pid as i64)
        .bind(now)
        .execute(pool)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected());
        Ok(done == 1)
    }

    /// Drops the row of `key` if it is still what the caller saw: a claim of
    /// a dead worker (`worker` = its id) or a ready artifact that failed its
    /// checksum (`worker` = None, `checksum` = the stored one).
    pub async fn release_stage1(
        &self,
        key: &str,
        worker: Option<&str>,
        checksum: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "DELETE FROM stage1_artifacts WHERE key = $1 \
             AND (($2 <> '' AND status = 'training' AND worker = $2) \
               OR ($3 <> '' AND status = 'ready' AND checksum = $3))",
        )
        .bind(key)
        .bind(worker.unwrap_or(""))
        .bind(checksum.unwrap_or(""))
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Keeps a training claim alive.
    pub async fn heartbeat_stage1(&self, key: &str, worker: &Worker) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE stage1_artifacts SET heartbeat_at = $1 WHERE key = $2 AND worker = $3 AND status = 'training'",
        )
        .bind(now_ms())
        .bind(key)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| self.error(e))?);
        Ok(())
    }

    /// Publishes the artifact this worker trained under its claim.
    pub async fn register_stage1(
        &self,
        artifact: &Artifact,
        worker: &Worker,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE stage1_artifacts SET status = 'ready', path = $1, checksum = $2, heartbeat_at = $3 \
             WHERE key = $4 AND worker = $5 AND status = 'training'",
        )
        .bind(&artifact.path)
        .bind(&artifact.checksum)
        .bind(now_ms())
        .bind(&artifact.key)
        .bind(&worker.id)
        .execute(pool)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected());
        Ok(done == 1)
    }

    /// Records whether `run` reused a stage-1 model or trained one.
    pub async fn mark_stage1_reused(&self, run: &str, reused: bool) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("UPDATE runs SET stage1_reused = $1 WHERE id = $2")
            .bind(reused as i64)
            .bind(run)
            .execute(pool)
            .await
            .map(drop)
            .map_err(|e| self.error(e))?);
        Ok(())
    }
}
