//! The experiment store: experiment files, foreign and newer databases, and
//! exactly-once claiming by several worker processes (SQLite and PostgreSQL).

use crate::support::{ablate, repo, stderr, stdout};
use ablate::experiment::Experiment;
use ablate::registry::Registry;
use ablate::store::{Accuracies, RunResults, RunRow, Store, Worker};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An experiment file in `dir` whose database and artifacts live there too.
pub fn experiment_file(dir: &Path, proportions: &str, seeds: &str) -> PathBuf {
    let path = dir.join("grid.toml");
    let text = format!(
        r#"name = "grid"
variants = ["Baseline", "SPL R", "SPL-Net"]
proportions = {proportions}
seeds = {seeds}
database = "sqlite://{db}"
artifacts = "{artifacts}"
max_attempts = 3

[profile]
name = "tiny"

[[datasets]]
kind = "synthetic"
count = 100
size = 32
"#,
        db = dir.join("grid.db").display(),
        artifacts = dir.join("artifacts").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `ablate` with the noop trainer appended to `args`.
pub fn ablate_noop(args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--trainer", "noop"]);
    ablate(&all)
}

pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

pub fn stored_runs(url: &str) -> Vec<RunRow> {
    block_on(async {
        let store = Store::open(url).await.unwrap();
        let runs = store.runs("grid").await.unwrap();
        store.close().await;
        runs
    })
}

fn registry() -> Registry {
    Registry::load(&[repo().join("variants")]).unwrap()
}

pub fn parse(text: &str) -> Result<Experiment, String> {
    Experiment::parse(Path::new("exp.toml"), text.to_string(), &registry())
        .map_err(|e| e.to_string())
}

pub const MINIMAL: &str = r#"name = "x"
proportions = [10]
seeds = [0]
[profile]
name = "tiny"
[[datasets]]
kind = "synthetic"
"#;

#[test]
fn experiment_errors_name_file_line_and_column() {
    let unknown_key = format!("{MINIMAL}colour = \"red\"\n");
    let err = parse(&unknown_key).unwrap_err();
    assert!(err.contains("exp.toml:8:1"), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");

    let bad_values = MINIMAL
        .replace("[10]", "[10, 150]")
        .replace("seeds = [0]", "seeds = [0, -1]")
        .replace("kind = \"synthetic\"", "kind = \"imagenet\"");
    let err = parse(&bad_values).unwrap_err();
    assert!(err.contains("3 errors"), "{err}");
    assert!(
        err.contains("exp.toml:2:20: error: proportion 150"),
        "{err}"
    );
    assert!(err.contains("exp.toml:3:13: error: seed -1"), "{err}");
    assert!(
        err.contains("exp.toml:7:8: error: unknown dataset kind \"imagenet\""),
        "{err}"
    );

    let no_variant = format!("variants = [\"SPL-Nett\"]\n{MINIMAL}");
    let err = parse(&no_variant).unwrap_err();
    assert!(
        err.contains("exp.toml:1:13: error: no variant matches \"SPL-Nett\""),
        "{err}"
    );

    // The command line says the same, and exits 1.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, &unknown_key).unwrap();
    let output = ablate(&["run", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("bad.toml:8:1"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sweeps_expand_into_named_variants_with_their_own_hashes() {
    let text = format!(
        "variants = [\"SPL-Net\"]\n{MINIMAL}[[sweeps]]\nvariant = \"SPL-Net\"\n\
         values = {{ patches_per_side = [1, 2], dominant_components = [3, 6] }}\n"
    );
    let experiment = parse(&text).unwrap();
    let names: Vec<&str> = experiment
        .variants
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "SPL-Net",
            "SPL-Net v=3 m=1",
            "SPL-Net v=3 m=2",
            "SPL-Net v=6 m=1",
            "SPL-Net v=6 m=2"
        ]
    );
    let hashes: std::collections::BTreeSet<&str> = experiment
        .variants
        .iter()
        .map(|v| v.hash.as_str())
        .collect();
    assert_eq!(hashes.len(), 5);
    let derived = &experiment.variants[4];
    assert_eq!(derived.hyper.patches_per_side, Some(2));
    assert_eq!(derived.hyper.dominant_components, Some(6));
    assert_eq!(derived.toggles, experiment.variants[0].toggles);
    assert_eq!(experiment.plan().len(), 5);

    let out_of_range = text.replace("[1, 2]", "[1, 99]");
    let err = parse(&out_of_range).unwrap_err();
    assert!(err.contains("exp.toml:11:"), "{err}");
    assert!(err.contains("patches_per_side=99"), "{err}");
}

#[test]
fn synthetic_difficulty_is_part_of_the_dataset_identity_and_reaches_the_generator() {
    let small = format!("{MINIMAL}count = 20\nsize = 16\n");
    let plain = parse(&small).unwrap();
    // Identities of experiments that do not set it are unchanged.
    assert_eq!(
        plain.datasets[0].canonical(),
        r#"{"kind":"synthetic","count":20,"size":16,"seed":0}"#
    );
    let spelled_out = parse(&format!("{small}difficulty = {{ noise = 0.04 }}\n")).unwrap();
    assert_eq!(spelled_out.datasets, plain.datasets);

    let harder = parse(&format!(
        "{small}difficulty = {{ noise = 0.1, clutter = 12 }}\n"
    ))
    .unwrap();
    assert_ne!(harder.plan()[0].id, plain.plan()[0].id);
    assert_eq!(
        harder.datasets[0].label(),
        "synthetic(20x16px,seed0,clutter=12,noise=0.1)"
    );
    let artifacts = tempfile::tempdir().unwrap();
    let dataset = ablate::train::data::open(&harder.datasets[0], artifacts.path()).unwrap();
    let written = std::fs::read_to_string(dataset.root.join("synth.toml")).unwrap();
    assert!(
        written.contains("noise = 0.1") && written.contains("clutter = 12"),
        "{written}"
    );

    let err = parse(&format!("{small}difficulty = {{ label_noise = 0.9 }}\n")).unwrap_err();
    assert!(
        err.contains("exp.toml:10:14") && err.contains("label_noise"),
        "{err}"
    );
    let err = parse(&format!("{small}difficulty = {{ fog = 1 }}\n")).unwrap_err();
    assert!(
        err.contains("exp.toml:10:") && err.contains("unknown field `fog`"),
        "{err}"
    );
    let err = parse(&MINIMAL.replace(
        "kind = \"synthetic\"",
        "kind = \"celeba\"\npath = \"x\"\ndifficulty = { noise = 0.1 }",
    ))
    .unwrap_err();
    assert!(err.contains("belong to synthetic datasets"), "{err}");
}

#[test]
fn dry_run_prints_the_plan_and_stage1_savings_without_a_database() {
    // smoke: 3 variants x 2 proportions x 2 seeds; SPL R and SPL-Net have a
    // stage 1 per seed (2 x 2 = 4 trainings) for 8 runs.
    // demo: 16 variants x 3 proportions x 2 seeds; 13 have a stage 1, of
    // which SPL-Net and SPL w/o whole share one: 12 x 2 = 24 trainings.
    let plans = [
        ("experiments/smoke.toml", [12, 8, 4, 4]),
        ("experiments/demo.toml", [96, 78, 24, 54]),
    ];
    for (file, [runs, with_stage1, trainings, saved]) in plans {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("never.db");
        let url = format!("sqlite://{}", db.display());
        let output = ablate(&["run", file, "--dry-run", "--db", &url]);
        assert!(output.status.success(), "{file}: {}", stderr(&output));
        let text = stdout(&output);
        for line in [
            format!("runs: {runs}"),
            format!("runs with a stage 1: {with_stage1}"),
            format!("stage-1 trainings: {trainings}"),
            format!("stage-1 trainings saved by reuse: {saved}"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{file}: {line:?} missing in\n{text}"
            );
        }
        assert!(!db.exists(), "{file}: a dry run opened the database");
    }
}

/// Files next to a SQLite database that SQLite would create on writing.
fn sidecars(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn a_foreign_or_newer_database_is_refused_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0]");
    let run = |db: &Path| {
        let url = format!("sqlite://{}", db.display());
        ablate_noop(&["run", file.to_str().unwrap(), "--db", &url])
    };

    // Not SQLite at all.
    let text_file = dir.path().join("notes.db");
    std::fs::write(
        &text_file,
        "these are my notes, not a database\n".repeat(200),
    )
    .unwrap();
    // SQLite, but another program's.
    let other = dir.path().join("other.db");
    block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}?mode=rwc", other.display());
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    });
    for db in [&text_file, &other] {
        let before = std::fs::read(db).unwrap();
        let output = run(db);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("is not an ablate database"),
            "{}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(db).unwrap(),
            before,
            "{} was modified",
            db.display()
        );
        assert_eq!(sidecars(db), Vec::<PathBuf>::new());
    }

    // An ablate database from a newer ablate (a migration this one lacks).
    let newer = dir.path().join("newer.db");
    let url = format!("sqlite://{}", newer.display());
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        store.close().await;
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&mut connection)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', TRUE, X'00', 0)",
        )
        .execute(&mut connection)
        .await
        .unwrap();
        connection.close().await.unwrap();
    });
    let before = std::fs::read(&newer).unwrap();
    let output = run(&newer);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("newer than this ablate knows"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&newer).unwrap(), before);
}

/// Several `ablate worker` processes drain one grid; every run must be done
/// by exactly one claim, every stage-1 model trained exactly once.
fn workers_claim_each_run_once(url: &str, dir: &Path) {
    let file = experiment_file(dir, "[1, 5, 10, 50]", "[0, 1, 2]");
    let output = ablate(&["run", file.to_str().unwrap(), "--db", url, "--enqueue"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("36 runs in the plan, 36 new"),
        "{}",
        stdout(&output)
    );
    let workers: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_ablate"))
                .current_dir(repo())
                .args([
                    "worker",
                    "--db",
                    url,
                    "--experiment",
                    "grid",
                    "--trainer",
                    "noop",
                ])
                .args(["--noop-sleep-ms", "5", "--threads", "1"])
                .output_async()
        })
        .collect();
    for worker in workers {
        let output = worker.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let runs = stored_runs(url);
    assert_eq!(runs.len(), 36);
    for run in &runs {
        assert_eq!((run.status.as_str(), run.attempts), ("done", 1), "{run:?}");
    }
    // 2 two-stage variants x 3 seeds = 6 stage-1 models, each trained by one run.
    let trained: Vec<_> = runs
        .iter()
        .filter(|r| r.stage1_reused == Some(false))
        .collect();
    let reused = runs
        .iter()
        .filter(|r| r.stage1_reused == Some(true))
        .count();
    assert_eq!((trained.len(), reused), (6, 18), "{runs:#?}");
    let keys: std::collections::BTreeSet<_> = trained.iter().map(|r| &r.stage1_key).collect();
    assert_eq!(keys.len(), 6);
}

trait SpawnQuietly {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnQuietly for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[test]
fn worker_processes_claim_each_run_exactly_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    workers_claim_each_run_once(&url, dir.path());
}

/// A fresh database on the server of `ABLATE_TEST_POSTGRES_URL`.
pub fn fresh_postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("ABLATE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but ABLATE_TEST_POSTGRES_URL is not: the PostgreSQL store tests cannot be skipped in CI"
        );
        eprintln!("ABLATE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL test");
        return None;
    };
    let name = format!(
        "ablate_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    });
    let (prefix, _) = base.rsplit_once('/').expect("a URL ending in /DATABASE");
    Some(format!("{prefix}/{name}"))
}

#[test]
fn worker_processes_claim_each_run_exactly_once_on_postgres() {
    let Some(url) = fresh_postgres_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    workers_claim_each_run_once(&url, dir.path());
    drop_postgres_database(&url);
}

pub fn drop_postgres_database(url: &str) {
    let base = std::env::var("ABLATE_TEST_POSTGRES_URL").unwrap();
    let (_, name) = url.rsplit_once('/').unwrap();
    block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    });
}

pub fn worker(host: &str, pid: u32) -> Worker {
    Worker {
        id: format!("{host}/{pid}/1"),
        host: host.into(),
        pid,
        device: "cpu".into(),
        git_revision: "test".into(),
        git_dirty: false,
        libtorch: "test".into(),
    }
}

#[test]
fn runs_of_dead_workers_are_reclaimed_and_their_late_results_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    reclaims_dead_workers(&format!(
        "sqlite://{}",
        dir.path().join("reclaim.db").display()
    ));
}

#[test]
fn runs_of_dead_workers_are_reclaimed_and_their_late_results_refused_on_postgres() {
    let Some(url) = fresh_postgres_database() else {
        return;
    };
    reclaims_dead_workers(&url);
    drop_postgres_database(&url);
}

fn reclaims_dead_workers(url: &str) {
    let experiment = parse(&MINIMAL.replace("[10]", "[10, 50]")).unwrap();
    let plan = experiment.plan();
    let results = RunResults {
        val: Accuracies {
            mean: 0.5,
            per_attribute: vec![("Smiling".into(), 0.5)],
        },
        test: Accuracies {
            mean: 0.5,
            per_attribute: vec![("Smiling".into(), 0.5)],
        },
        model_stats: Vec::new(),
        predictions: None,
    };
    block_on(async {
        let store = Store::open(url).await.unwrap();
        assert_eq!(
            store.insert_plan(&experiment, &plan).await.unwrap(),
            plan.len()
        );
        assert_eq!(store.insert_plan(&experiment, &plan).await.unwrap(), 0);
        let far = worker("far-away", 7);
        let here = worker("here", 8);
        let remote = store.claim(None, &far).await.unwrap().unwrap();
        let local = store.claim(None, &here).await.unwrap().unwrap();
        assert_ne!(remote.id, local.id);

        // Another host: alive until its heartbeat is older than the timeout.
        let everyone_alive = |_: u32, _: &str| true;
        let none = store
            .reclaim_dead("here", everyone_alive, 60_000)
            .await
            .unwrap();
        assert!(none.is_empty(), "{none:?}");
        let stale = store
            .reclaim_dead("here", everyone_alive, -1)
            .await
            .unwrap();
        assert_eq!(stale.len(), 2, "{stale:?}");

        // Same host: dead at once when its process is gone.
        let again = store.claim(None, &here).await.unwrap().unwrap();
        assert_eq!(again.attempt, 2);
        let dead = store
            .reclaim_dead("here", |_, _| false, 60_000)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);

        // The first holder comes back too late: nothing it sends is kept.
        assert!(!store.finish(&remote.id, &far, &results).await.unwrap());
        assert!(!store.heartbeat(&remote.id, &far).await.unwrap());
        let next = store.claim(None, &far).await.unwrap().unwrap();
        assert!(store.finish(&next.id, &far, &results).await.unwrap());
        let runs = store.runs("x").await.unwrap();
        assert_eq!(runs.iter().filter(|r| r.status == "done").count(), 1);
        assert_eq!(store.test_means("x").await.unwrap().len(), 1);
        store.close().await;
    });
}

#[test]
fn a_foreign_postgres_database_is_refused_and_left_unchanged() {
    let Some(url) = fresh_postgres_database() else {
        return;
    };
    let tables = || {
        block_on(async {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY 1",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            connection.close().await.unwrap();
            names
        })
    };
    block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE photos (id BIGINT PRIMARY KEY)")
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    });
    let err = block_on(Store::open(&url)).unwrap_err().to_string();
    assert!(err.contains("is not an ablate database"), "{err}");
    assert_eq!(tables(), ["photos"]);
    drop_postgres_database(&url);
}
