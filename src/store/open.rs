//! Opening a store: refuse databases that are not ours (or are newer than
//! this binary) before writing a single byte, then migrate.

use super::{Pool, Store};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The (version, checksum) rows of sqlx's migration table, oldest first.
macro_rules! applied_migrations {
    ($executor:expr) => {
        sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT version, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all($executor)
        .await
    };
}

/// Several local workers write to one SQLite file; each waits this long for
/// the lock instead of failing with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_CONNECTIONS: u32 = 4;
const MIGRATION_RETRIES: u64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{url} is not an ablate database ({reason}); it was left unchanged")]
    NotAblate { url: String, reason: String },
    #[error(
        "{url} has schema version {found}, newer than this ablate knows ({known}); \
         use a newer ablate; the database was left unchanged"
    )]
    NewerSchema { url: String, found: i64, known: i64 },
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    BadUrl(String),
    #[error("cannot create the directory of {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("migrating {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its
    /// schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let shown = super::redact(url);
        let db = |source| StoreError::Database {
            url: shown.clone(),
            source,
        };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).map_err(db)?;
            inspect_sqlite(&options, &shown).await?;
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                        path: options.get_filename().display().to_string(),
                        source,
                    })?;
                }
            }
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect_with(options)
                .await
                .map_err(db)?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect(url)
                .await
                .map_err(db)?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = current_schema()",
            )
            .fetch_all(&pool)
            .await
            .map_err(db)?;
            let applied = if tables.iter().any(|t| t == "_sqlx_migrations") {
                applied_migrations!(&pool).map_err(db)?
            } else {
                Vec::new()
            };
            check_ours(&tables, &applied, &shown)?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl(shown));
        };
        let store = Store {
            pool,
            url: url.to_string(),
        };
        // Processes opening a fresh SQLite file together may race to create
        // the schema; each migration is one transaction, so the loser only
        // has to look again and find it applied.
        let mut tries = 0;
        loop {
            match super::on_pool!(store, pool => MIGRATOR.run(pool).await) {
                Ok(()) => return Ok(store),
                Err(_) if tries < MIGRATION_RETRIES && !store.is_postgres() => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                }
                Err(source) => return Err(StoreError::Migrate { url: shown, source }),
            }
        }
    }
}

/// Looks at an existing SQLite file through a read-only connection, so that
/// a foreign file is never touched (no WAL switch, no journal, no table).
async fn inspect_sqlite(options: &SqliteConnectOptions, shown: &str) -> Result<(), StoreError> {
    let path: &Path = options.get_filename();
    let is_empty = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
    if is_empty {
        return Ok(());
    }
    let not_ours = |reason: String| StoreError::NotAblate {
        url: shown.to_string(),
        reason,
    };
    let mut connection = options
        .clone()
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(|err| not_ours(format!("cannot open it as SQLite: {err}")))?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut connection)
            .await
            .map_err(|err| not_ours(format!("not a SQLite database: {err}")))?;
    let applied = if tables.iter().any(|t| t == "_sqlx_migrations") {
        applied_migrations!(&mut connection)
            .map_err(|err| not_ours(format!("unreadable migration table: {err}")))?
    } else {
        Vec::new()
    };
    let _ = connection.close().await;
    check_ours(&tables, &applied, shown)
}

/// A database is ours when it is empty, or when every migration it has
/// applied is one of ours with the same checksum. A version beyond ours
/// means a newer ablate wrote it.
fn check_ours(
    tables: &[String],
    applied: &[(i64, Vec<u8>)],
    shown: &str,
) -> Result<(), StoreError> {
    let not_ours = |reason: String| StoreError::NotAblate {
        url: shown.to_string(),
        reason,
    };
    let has_migrations = tables.iter().any(|t| t == "_sqlx_migrations");
    if !has_migrations {
        return match tables.first() {
            None => Ok(()),
            Some(_) => Err(not_ours(format!(
                "it holds other tables ({}) and no ablate schema",
                tables.join(", ")
            ))),
        };
    }
    let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    for (version, checksum) in applied {
        match MIGRATOR.iter().find(|m| m.version == *version) {
            Some(ours) if ours.checksum.as_ref() == checksum.as_slice() => {}
            Some(_) => {
                return Err(not_ours(format!(
                    "its migration {version} differs from ablate's"
                )))
            }
            None if *version > known => {
                return Err(StoreError::NewerSchema {
                    url: shown.to_string(),
                    found: *version,
                    known,
                })
            }
            None => return Err(not_ours(format!("unknown migration {version}"))),
        }
    }
    if applied.is_empty() && tables.iter().any(|t| t != "_sqlx_migrations") {
        return Err(not_ours("it has tables but no applied migration".into()));
    }
    Ok(())
}
