//! The grid runner with the noop trainer: end to end, rerun, retries,
//! kill -9 and resume, variant edits, Slurm.

use crate::store::{ablate_noop, block_on, experiment_file, stored_runs};
use crate::support::{ablate, copy_of_variants, repo, stderr, stdout};
use ablate::store::Store;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn status_json(file: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["status", file.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let output = ablate(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[test]
fn smoke_grid_runs_end_to_end_and_a_rerun_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("smoke.db").display());
    let artifacts = dir.path().join("artifacts");
    let artifacts = artifacts.to_str().unwrap();
    let run = || {
        ablate_noop(&[
            "run",
            "experiments/smoke.toml",
            "--db",
            &url,
            "--artifacts",
            artifacts,
        ])
    };
    let output = run();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("12 done, 0 failed"),
        "{}",
        stdout(&output)
    );

    let smoke = repo().join("experiments/smoke.toml");
    let status = status_json(&smoke, &["--db", &url]);
    for (key, value) in [
        ("total", 12),
        ("done", 12),
        ("failed", 0),
        ("pending", 0),
        ("running", 0),
    ] {
        assert_eq!(status[key], value, "{key} in {status}");
    }
    assert_eq!(status["stage1"]["trainings"], 4);
    assert_eq!(status["stage1"]["saved"], 4);
    assert_eq!(status["stage1"]["reused"], 4);

    // Every done run has its per-epoch metrics and both splits' results.
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        let runs = store.runs("smoke").await.unwrap();
        let means = store.test_means("smoke").await.unwrap();
        assert_eq!(means.len(), 12);
        for run in &runs {
            let metrics = store.metrics(&run.id).await.unwrap();
            let stage2 = metrics.iter().filter(|m| m.stage == "stage2").count();
            assert_eq!(stage2, 2, "{run:?}");
        }
        store.close().await;
    });

    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to do: all 12 runs are finished"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn failing_runs_are_retried_then_kept_failed_without_stopping_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10, 50]", "[0, 1]");
    let file = file.to_str().unwrap();
    // Always fails: three attempts, then failed with its error; the others finish.
    let output = ablate_noop(&["run", file, "--noop-fail", "SPL R 10% seed 0"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("1 run(s) failed"),
        "{}",
        stderr(&output)
    );
    let status = status_json(Path::new(file), &[]);
    assert_eq!(
        (status["done"].as_u64(), status["failed"].as_u64()),
        (Some(11), Some(1))
    );
    let failure = &status["failures"][0];
    assert_eq!(failure["attempts"], 3);
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("noop trainer told to fail SPL R 10% seed 0 (attempt 3)"),
        "{failure}"
    );

    // Rerunning says so and fails again; --retry-failed tries it anew.
    let again = ablate_noop(&["run", file]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stdout(&again).contains("nothing to do"),
        "{}",
        stdout(&again)
    );
    let retried = ablate_noop(&["run", file, "--retry-failed"]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert!(
        stdout(&retried).contains("1 failed run(s) to retry"),
        "{}",
        stdout(&retried)
    );

    // Fails once, then succeeds on its retry.
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10, 50]", "[0, 1]");
    let output = ablate_noop(&[
        "run",
        file.to_str().unwrap(),
        "--noop-fail",
        "SPL-Net *",
        "--noop-fail-attempts",
        "1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = stored_runs(&format!(
        "sqlite://{}",
        dir.path().join("grid.db").display()
    ));
    for run in &runs {
        let expected = if run.variant_name == "SPL-Net" { 2 } else { 1 };
        assert_eq!(
            (run.status.as_str(), run.attempts),
            ("done", expected),
            "{run:?}"
        );
    }
}

#[test]
fn kill_9_mid_grid_then_restart_finishes_without_duplicates_or_losses() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[1, 10, 50]", "[0, 1]");
    let url = format!("sqlite://{}", dir.path().join("grid.db").display());
    let mut run = Command::new(env!("CARGO_BIN_EXE_ablate"))
        .current_dir(repo())
        .args([
            "run",
            file.to_str().unwrap(),
            "--workers",
            "2",
            "--trainer",
            "noop",
        ])
        .args(["--noop-sleep-ms", "150", "--noop-epochs", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few runs are done, while others are mid-training.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no run finished within a minute");
        std::thread::sleep(Duration::from_millis(100));
        if !dir.path().join("grid.db").exists() {
            continue;
        }
        let done = stored_runs(&url)
            .iter()
            .filter(|r| r.status == "done")
            .count();
        if done >= 3 {
            break;
        }
    }
    run.kill().unwrap();
    run.wait().unwrap();
    let before: Vec<_> = stored_runs(&url);
    assert!(
        before.iter().any(|r| r.status == "running"),
        "no run was mid-training at the kill: {before:#?}"
    );

    let output = ablate_noop(&[
        "run",
        file.to_str().unwrap(),
        "--workers",
        "2",
        "--noop-epochs",
        "3",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let after = stored_runs(&url);
    assert_eq!(after.len(), 18);
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.test_means("grid").await.unwrap().len(), 18);
        for run in &after {
            assert_eq!(run.status, "done", "{run:?}");
            let metrics = store.metrics(&run.id).await.unwrap();
            assert_eq!(
                metrics.iter().filter(|m| m.stage == "stage2").count(),
                3,
                "{run:?}"
            );
        }
        store.close().await;
    });
    // Runs done before the kill were not run again.
    for old in before.iter().filter(|r| r.status == "done") {
        let new = after.iter().find(|r| r.id == old.id).unwrap();
        assert_eq!(new.attempts, old.attempts, "{new:?}");
    }
}

#[test]
fn editing_a_variant_adds_runs_and_keeps_the_old_results() {
    let dir = tempfile::tempdir().unwrap();
    let variants = copy_of_variants();
    let file = experiment_file(dir.path(), "[10]", "[0, 1]");
    let file = file.to_str().unwrap();
    let variants_arg = variants.path().to_str().unwrap();
    let run = || ablate_noop(&["--variants", variants_arg, "run", file]);
    assert!(run().status.success());
    let net = variants.path().join("16-spl-net.toml");
    let text = std::fs::read_to_string(&net).unwrap();
    std::fs::write(&net, format!("{text}\n[hyper]\npatches_per_side = 3\n")).unwrap();
    let output = run();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("6 runs in the plan, 2 new"),
        "{}",
        stdout(&output)
    );
    let status = status_json(Path::new(file), &["--variants", variants_arg]);
    assert_eq!(
        (status["total"].as_u64(), status["done"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(status["earlier_runs"], 2);
    let runs = stored_runs(&format!(
        "sqlite://{}",
        dir.path().join("grid.db").display()
    ));
    assert_eq!(runs.iter().filter(|r| r.status == "done").count(), 8);
}

#[test]
fn slurm_prints_an_array_script_of_workers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slurm.db").display());
    let output = ablate(&[
        "slurm",
        "experiments/smoke.toml",
        "--db",
        &url,
        "--tasks",
        "4",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let script = stdout(&output);
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    assert!(script.contains("#SBATCH --array=0-3\n"), "{script}");
    assert!(
        script.contains(" worker --db \"$ABLATE_DB\" --experiment smoke "),
        "{script}"
    );
    assert!(
        stderr(&output).contains("12 runs, 12 new"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_corrupt_stage1_artifact_is_trained_again_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0]");
    let output = ablate_noop(&["run", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Damage every stage-1 model (a torn copy, a disk error), then grow the
    // grid so that new runs need them.
    let artifacts: Vec<_> = std::fs::read_dir(dir.path().join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // Beside them: the runs' test predictions, under predictions/.
        .filter(|path| path.is_file())
        .collect();
    assert_eq!(artifacts.len(), 2, "{artifacts:?}");
    for path in &artifacts {
        std::fs::write(path, "torn").unwrap();
    }
    let file = experiment_file(dir.path(), "[10, 50]", "[0]");
    let output = ablate_noop(&["run", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = stored_runs(&format!(
        "sqlite://{}",
        dir.path().join("grid.db").display()
    ));
    for run in runs.iter().filter(|r| r.stage1_key.is_some()) {
        assert_eq!(run.stage1_reused, Some(false), "{run:?}");
    }
    for path in &artifacts {
        assert_ne!(std::fs::read(path).unwrap(), b"torn");
    }
}
