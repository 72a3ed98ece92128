//! The paper grid's dry run and its cost, per-dataset proportions, and the
//! `ablate bench` commands at tiny sizes (their output format and that
//! every ratio comes with both of its measurements).

use crate::support::{ablate, repo, stderr, stdout, variants_dir};
use ablate::experiment::Experiment;
use ablate::registry::Registry;

fn line_value<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{text}"))
}

#[test]
fn paper_grid_dry_run_prints_its_size_reuse_and_cost_without_the_datasets() {
    let output = ablate(&[
        "run",
        "experiments/paper.toml",
        "--dry-run",
        "--rates",
        "100,400",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    // The datasets are not here, and the plan is printed anyway.
    for name in ["celeba", "lfwa", "maad"] {
        assert!(!repo().join("data").join(name).exists());
        let line = text
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("{name} (data/{name}, MISSING"))
            })
            .unwrap_or_else(|| panic!("no missing-dataset line for {name} in\n{text}"));
        assert!(line.ends_with("; 960 runs"), "{line}");
    }
    assert!(text.contains("lfwa (data/lfwa, MISSING"), "{text}");
    assert!(
        text.contains("proportions 0.5%, 5%, 10%, 20%, 50%, 100%"),
        "{text}"
    );
    // 16 variants x 6 proportions x 10 seeds x 3 datasets. Baseline and MSS
    // (supervised) and SPL Semi (one-stage) have no stage 1; the other 13
    // do, and SPL-Net and SPL w/o whole share theirs: 12 trainings per seed
    // and dataset.
    let variants = 16;
    let (proportions, seeds, datasets) = (6, 10, 3);
    let runs = variants * proportions * seeds * datasets;
    let with_stage1 = 13 * proportions * seeds * datasets;
    let trainings = 12 * seeds * datasets;
    for (prefix, value) in [
        ("runs: ", runs),
        ("runs with a stage 1: ", with_stage1),
        ("stage-1 trainings: ", trainings),
        (
            "stage-1 trainings saved by reuse: ",
            with_stage1 - trainings,
        ),
    ] {
        assert_eq!(line_value(&text, prefix), value.to_string(), "{prefix}");
    }
    assert_eq!((runs, trainings), (2880, 360));
    // Stage-1 images: 80 epochs over each training split per training, and
    // SPL Semi's auxiliary half: 80 epochs per run (the paper's train sizes).
    let train: u64 = 162_770 + 6_263 + 200_000;
    let stage1_images = (12 * 10 * 80 + 6 * 10 * 80) * train;
    let workload = line_value(&text, "training workload: ");
    let numbers: Vec<u64> = workload
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers[0], stage1_images, "{workload}");
    let hours = (numbers[0] as f64 / 100.0 + numbers[1] as f64 / 400.0) / 3600.0;
    let estimate = line_value(&text, "estimated training time: ");
    assert!(
        estimate.starts_with(&format!("{hours:.1} h")) && estimate.contains("ESTIMATE"),
        "{estimate} (expected {hours:.1} h)"
    );
}

fn parse(text: &str) -> Result<Experiment, String> {
    let registry = Registry::load(&[variants_dir()]).unwrap();
    Experiment::parse(std::path::Path::new("exp.toml"), text.into(), &registry)
        .map_err(|e| e.to_string())
}

#[test]
fn datasets_may_have_their_own_proportions() {
    let text = "name = \"x\"\nvariants = [\"Baseline\"]\nseeds = [0]\nproportions = [10]\n\
                [profile]\nname = \"tiny\"\n\
                [[datasets]]\nkind = \"synthetic\"\ncount = 20\n\
                [[datasets]]\nkind = \"synthetic\"\ncount = 30\nproportions = [50, 5]\n";
    let experiment = parse(text).unwrap();
    assert_eq!(experiment.proportions, [5.0, 10.0, 50.0]);
    assert_eq!(
        experiment.dataset_proportions,
        [vec![10.0], vec![50.0, 5.0]]
    );
    let cells: Vec<(String, f64)> = experiment
        .plan()
        .iter()
        .map(|r| (r.dataset.label(), r.proportion))
        .collect();
    let (a, b) = (
        experiment.datasets[0].label(),
        experiment.datasets[1].label(),
    );
    assert_eq!(cells, [(b.clone(), 5.0), (a, 10.0), (b, 50.0)]);

    let without = text.replace("proportions = [10]\n", "");
    let err = parse(&without).unwrap_err();
    assert!(
        err.contains("exp.toml:6:1") && err.contains("no `proportions` for this dataset"),
        "{err}"
    );
    let bad = text.replace("[50, 5]", "[50, 500]");
    let err = parse(&bad).unwrap_err();
    assert!(err.contains("proportion 500"), "{err}");
}

/// `name  value value ratio` rows of a bench table.
fn ratios(text: &str, rows: &[&str]) -> Vec<f64> {
    rows.iter()
        .map(|row| {
            let line = text
                .lines()
                .find(|l| l.starts_with(row))
                .unwrap_or_else(|| panic!("no row {row:?} in\n{text}"));
            let numbers: Vec<f64> = line[row.len()..]
                .split_whitespace()
                .map(|w| w.parse().unwrap())
                .collect();
            assert_eq!(numbers.len(), 3, "{line}");
            assert!(numbers.iter().all(|n| *n > 0.0), "{line}");
            let ratio = numbers[0] / numbers[1];
            assert!((ratio - numbers[2]).abs() <= 0.01 * ratio + 0.01, "{line}");
            numbers[2]
        })
        .collect()
}

#[test]
fn bench_train_measures_ablate_and_an_equal_sized_pytorch_twin() {
    let output = ablate(&[
        "bench",
        "train",
        "--profile=tiny",
        "--threads=1",
        "--warmup=0",
        "--iters=1",
        "--rounds=1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let ours = line_value(&text, "parameters: ");
    let twin = stderr(&output);
    let twin = twin
        .lines()
        .find(|l| l.starts_with("pytorch twin parameters:"))
        .unwrap_or_else(|| panic!("no twin parameter line in\n{twin}"));
    // "stage 1 N, stage 2 M" from both sides, equal.
    assert!(
        twin.contains(&format!("twin parameters: {ours};")),
        "{ours} / {twin}"
    );
    ratios(
        &text,
        &[
            "stage 1 (joint step, Kd D steps)",
            "stage 2 (FAR step)",
            "inference (eval, no_grad)",
        ],
    );
}

#[test]
fn bench_pipeline_compares_each_batch_with_its_training_step() {
    let output = ablate(&[
        "bench",
        "pipeline",
        "--profile=tiny",
        "--threads=1",
        "--warmup=0",
        "--iters=1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    ratios(
        &stdout(&output),
        &[
            "PRT input (m x m patches, rotation)",
            "PST/PCT input (crop, pixels, top-v)",
            "stage-1 batch (both, as trained)",
            "FAR batch (select, to float)",
        ],
    );
}

#[test]
fn bench_runner_times_two_grid_sizes_and_the_report() {
    let output = ablate(&["bench", "runner", "--runs=100,200"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let per_run = |runs: &str| -> f64 {
        let line = line_value(&text, &format!("{runs:>7} runs: "));
        let ms = line.split(" s, ").nth(1).unwrap().split_whitespace().next();
        ms.unwrap().parse().unwrap()
    };
    let (small, large) = (per_run("100"), per_run("200"));
    let growth: f64 = line_value(&text, &format!("{:>7} runs: ", 200))
        .rsplit(" = ")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((growth - large / small).abs() < 0.02, "{text}");
    assert!(
        text.contains("report (html, latex, csv, json) on 200 runs: "),
        "{text}"
    );

    let err = ablate(&["bench", "runner", "--runs=150"]);
    assert_eq!(err.status.code(), Some(1));
    assert!(
        stderr(&err).contains("multiples of 100, got 150"),
        "{}",
        stderr(&err)
    );
}
