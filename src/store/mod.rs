//! The experiment store: runs, metrics, results and stage-1 artifacts in
//! SQLite (one machine) or PostgreSQL (many). One schema (`migrations/`),
//! one set of runtime queries: the SQL is written to run on both, and only
//! run claiming differs (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite a
//! single `UPDATE ... RETURNING` is atomic because writers are serialised).

mod open;
mod report;
mod runs;
mod stage1;

pub use open::StoreError;
pub use report::{AttributeMean, MetricMean, ReportRun, RunCorrelations, VariantModelStat};
pub use runs::{
    Accuracies, ClaimedRun, Correlations, MeasuredSpeed, MetricRow, ModelStat, Predictions,
    RunArtifact, RunResults, RunRow, StoredSpec, Worker,
};
pub use stage1::{Artifact, Stage1State};

use sqlx::{PgPool, SqlitePool};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the store holds; the
/// body is written once and compiled for both databases.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A handle on an open, migrated ablate database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    url: String,
}

impl Store {
    /// The URL the store was opened with, password removed.
    pub fn url(&self) -> String {
        redact(&self.url)
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Milliseconds since the Unix epoch: the store's time type on both databases.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
