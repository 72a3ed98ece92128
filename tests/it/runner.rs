//! The grid runner, mostly with the noop trainer: end to end, rerun,
//! retries, kill -9 and resume (also in the middle of a real stage-1
//! checkpoint write), variant edits, Slurm, worker progress and devices.

use crate::store::{ablate_noop, block_on, experiment_file, stored_runs};
use crate::support::{ablate, copy_of_variants, repo, stderr, stdout};
use ablate::runner::progress::Event;
use ablate::runner::{split_threads, PAUSE_BEFORE_RENAME_ENV};
use ablate::store::{Stage1State, Store};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
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

/// Baseline then SPL R, one run each, one epoch per stage, on 40 synthetic
/// faces: the real trainer in a few seconds.
fn tiny_real_grid(dir: &Path) -> PathBuf {
    let path = dir.join("grid.toml");
    let text = format!(
        r#"name = "grid"
variants = ["Baseline", "SPL R"]
proportions = [50]
seeds = [0]
device = "cpu"
database = "sqlite://{db}"
artifacts = "{artifacts}"

[profile]
name = "tiny"
[profile.overrides]
stage1_epochs = 1
stage2_epochs = 1

[[datasets]]
kind = "synthetic"
count = 40
size = 32
"#,
        db = dir.join("grid.db").display(),
        artifacts = dir.join("artifacts").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn kill_9_during_a_stage1_checkpoint_write_never_loads_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_real_grid(dir.path());
    let url = format!("sqlite://{}", dir.path().join("grid.db").display());
    let artifacts = dir.path().join("artifacts");
    // The test hook holds the writer between its temporary file and the
    // rename; the kill lands there.
    let mut run = Command::new(env!("CARGO_BIN_EXE_ablate"))
        .current_dir(repo())
        .args(["run", file.to_str().unwrap()])
        .env(PAUSE_BEFORE_RENAME_ENV, "120000:stage1-")
        .env_remove("ABLATE_DEVICE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(run.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains(PAUSE_BEFORE_RENAME_ENV) {
            break;
        }
    }
    assert!(log.contains(PAUSE_BEFORE_RENAME_ENV), "never paused: {log}");
    // Mid-write: the temporary file is there, the model itself is not.
    let partial = files_in(&artifacts)
        .into_iter()
        .filter(|n| n.starts_with("stage1-") && n.contains(".ot.tmp"))
        .collect::<Vec<_>>();
    assert_eq!(partial.len(), 1, "{:?}", files_in(&artifacts));
    let model_name = partial[0].split(".tmp").next().unwrap().to_string();
    assert!(!artifacts.join(&model_name).exists());
    run.kill().unwrap();
    run.wait().unwrap();

    let before = stored_runs(&url);
    let statuses: Vec<(&str, &str)> = before
        .iter()
        .map(|r| (r.variant_name.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(statuses, [("Baseline", "done"), ("SPL R", "running")]);
    let baseline = before[0].id.clone();
    let key = before[1].stage1_key.clone().unwrap();
    let (baseline_metrics, baseline_means) = block_on(async {
        let store = Store::open(&url).await.unwrap();
        let stored = (
            store.metrics(&baseline).await.unwrap(),
            store.test_means("grid").await.unwrap(),
        );
        assert!(matches!(
            store.stage1_state(&key).await.unwrap(),
            Stage1State::Training { .. }
        ));
        store.close().await;
        stored
    });

    let output = ablate(&["run", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("2 done, 0 failed"),
        "{}",
        stdout(&output)
    );
    // The leftover is gone; the model now on disk is the one registered,
    // trained again rather than taken from the partial write.
    assert_eq!(
        files_in(&artifacts)
            .iter()
            .filter(|n| n.contains(".tmp"))
            .count(),
        0
    );
    let after = stored_runs(&url);
    assert_eq!(after[1].stage1_reused, Some(false), "{:?}", after[1]);
    assert_eq!((after[1].status.as_str(), after[1].failures), ("done", 0));
    assert_eq!(after[0].attempts, before[0].attempts);
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        let Stage1State::Ready(artifact) = store.stage1_state(&key).await.unwrap() else {
            panic!("stage 1 of {key} is not ready");
        };
        assert_eq!(artifact.path, model_name);
        let bytes = std::fs::read(artifacts.join(&model_name)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), artifact.checksum);
        // The run finished before the kill kept its results and metrics.
        assert_eq!(store.metrics(&baseline).await.unwrap(), baseline_metrics);
        let means = store.test_means("grid").await.unwrap();
        assert_eq!(means.len(), 2);
        assert!(baseline_means.iter().all(|m| means.contains(m)));
        store.close().await;
    });
}

#[test]
fn several_workers_report_their_threads_and_runs_to_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0, 1]");
    let output = ablate_noop(&["run", file.to_str().unwrap(), "--workers", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    // Not a terminal: plain log lines, one per worker start, run start and
    // run end, prefixed with the worker.
    let cores = std::thread::available_parallelism().unwrap().get();
    for (slot, threads) in split_threads(cores, 2).into_iter().enumerate() {
        let started = format!("worker {} (pid ", slot + 1);
        let line = log
            .lines()
            .find(|l| l.contains(&started))
            .unwrap_or_else(|| panic!("no start line of worker {}: {log}", slot + 1));
        assert!(
            line.ends_with(&format!("): {threads} libtorch thread(s)")),
            "{line}"
        );
    }
    for run in stored_runs(&format!(
        "sqlite://{}",
        dir.path().join("grid.db").display()
    )) {
        let label = format!("{} 10% seed {}", run.variant_name, run.seed);
        let starts: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!(": {label} (attempt 1) on cpu")))
            .collect();
        assert_eq!(starts.len(), 1, "{label}: {log}");
        let worker = starts[0].split("worker ").nth(1).unwrap().split(':').next();
        let done = format!("worker {}: {label}: done", worker.unwrap());
        assert!(log.contains(&done), "no `{done}` in {log}");
    }
    assert!(!log.contains('{'), "a raw event reached the log: {log}");
}

#[test]
fn a_worker_reports_progress_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0]");
    let url = format!("sqlite://{}", dir.path().join("grid.db").display());
    let enqueued = ablate(&["run", file.to_str().unwrap(), "--enqueue"]);
    assert!(enqueued.status.success(), "{}", stderr(&enqueued));
    let output = ablate_noop(&[
        "--device",
        "cpu",
        "worker",
        "--db",
        &url,
        "--threads",
        "1",
        "--progress-json",
        "--noop-epochs",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let events: Vec<Event> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        matches!(events[0], Event::Started { threads: 1, .. }),
        "{:?}",
        events[0]
    );
    // Per run: its start, two epochs per stage it has, its end.
    let mut runs = Vec::new();
    let mut rest = &events[1..];
    while let [Event::Run { label, device, .. }, tail @ ..] = rest {
        assert_eq!(device, "cpu");
        let end = tail
            .iter()
            .position(|e| matches!(e, Event::RunEnd { .. }))
            .unwrap();
        let stages: Vec<(&str, u32, u32)> = tail[..end]
            .iter()
            .filter_map(|e| match e {
                Event::Epoch {
                    stage,
                    epoch,
                    epochs,
                    values,
                } => {
                    assert!(values.iter().any(|(n, _)| n == "loss"), "{values:?}");
                    Some((stage.as_str(), *epoch, *epochs))
                }
                _ => None,
            })
            .collect();
        // Baseline has no stage 1; SPL R and SPL-Net each train their own.
        let stage2 = [("stage2", 1, 2), ("stage2", 2, 2)];
        let expected: Vec<(&str, u32, u32)> = if label.starts_with("Baseline") {
            stage2.to_vec()
        } else {
            [("stage1", 1, 2), ("stage1", 2, 2)]
                .into_iter()
                .chain(stage2)
                .collect()
        };
        assert_eq!(stages, expected, "{label}");
        assert_eq!(
            tail[end],
            Event::RunEnd {
                outcome: "done".into()
            }
        );
        runs.push(label.clone());
        rest = &tail[end + 1..];
    }
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(
        runs,
        [
            "Baseline 10% seed 0",
            "SPL R 10% seed 0",
            "SPL-Net 10% seed 0"
        ]
    );
}

#[test]
fn a_device_this_machine_lacks_is_an_error_and_the_command_line_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0]");
    let missing = format!("cuda:{}", tch::Cuda::device_count());
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("device = \"{missing}\"\n{text}")).unwrap();
    let file = file.to_str().unwrap();
    let db = dir.path().join("grid.db");
    let url = format!("sqlite://{}", db.display());

    // `run` refuses before opening the database.
    let output = ablate_noop(&["run", file]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("experiment grid wants device {missing}")),
        "{}",
        stderr(&output)
    );
    assert!(!db.exists());

    // A worker deferring to the experiment claims a run, cannot train it,
    // gives it back unharmed and stops with the reason.
    assert!(ablate(&["run", file, "--enqueue"]).status.success());
    let output = ablate_noop(&["worker", "--db", &url]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "run Baseline 10% seed 0 asks for device {missing}"
        )) && message.contains("--device"),
        "{message}"
    );
    for run in stored_runs(&url) {
        assert_eq!(
            (run.status.as_str(), run.attempts),
            ("pending", 0),
            "{run:?}"
        );
    }
    // An explicit device this machine lacks fails before any claim.
    let output = ablate_noop(&["--device", &missing, "worker", "--db", &url]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("CUDA device(s) are visible"));

    // The worker's --device overrides the experiment's; the run records it.
    let output = ablate_noop(&["--device", "cpu", "worker", "--db", &url]);
    assert!(output.status.success(), "{}", stderr(&output));
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        let runs = store.report_runs("grid").await.unwrap();
        assert_eq!(runs.len(), 3);
        for run in runs {
            assert_eq!(
                (run.status.as_str(), run.device.as_deref()),
                ("done", Some("cpu"))
            );
        }
        store.close().await;
    });
}

#[test]
fn on_a_terminal_each_worker_has_a_progress_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment_file(dir.path(), "[10]", "[0]");
    // `script` (util-linux) gives the command a pseudo-terminal.
    let command = format!(
        "{} run {} --workers 2 --trainer noop --noop-epochs 3 --noop-sleep-ms 150",
        env!("CARGO_BIN_EXE_ablate"),
        file.display()
    );
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(repo())
        .env_remove("CI")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("this test needs `script` from util-linux");
    let screen = stdout(&output);
    assert!(output.status.success(), "{screen}");
    assert!(screen.contains("runs"), "no grid bar: {screen}");
    for worker in ["w1 ", "w2 "] {
        assert!(screen.contains(worker), "no line of {worker}: {screen}");
    }
    // A worker line in the middle of a stage 1 (SPL R's or SPL-Net's).
    assert!(
        screen.contains("10% seed 0 · stage1 ") && screen.contains("· loss 0."),
        "{screen}"
    );
    assert!(screen.contains("ETA"), "{screen}");
}
