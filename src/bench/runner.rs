//! Runner overhead: `ablate run --trainer noop` on grids of growing size in
//! a fresh SQLite database each, so that everything but training is timed
//! (planning, inserts, claims, heartbeats, stage-1 claims and artifact
//! files, per-epoch metric writes, results). The per-run time of the
//! largest grid over that of the smallest is the growth ratio (1 = linear).
//! Then `ablate report` (all formats) on the largest database, against
//! `ablate status` on it as the reference (status reads every run once).
//!
//! The commands run as child processes of this binary, exactly as a user
//! runs them; one process start per command is part of each figure.

use super::{BenchError, Result, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Variants and proportions of the generated grids; seeds make up the size.
const VARIANTS: usize = 10;
const PROPORTIONS: [f64; 10] = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 80.0, 100.0];

/// An experiment of `runs` noop runs (a multiple of 100) in `dir`.
pub fn grid_toml(dir: &Path, runs: usize, variants: &[String]) -> Result<String> {
    let cell = VARIANTS * PROPORTIONS.len();
    if runs == 0 || runs % cell != 0 || variants.len() < VARIANTS {
        return Err(BenchError::Setting(format!(
            "runner grids are {VARIANTS} variants x {} proportions x seeds: \
             --runs must be positive multiples of {cell}, got {runs}",
            PROPORTIONS.len()
        )));
    }
    let quoted: Vec<String> = variants[..VARIANTS]
        .iter()
        .map(|v| format!("{v:?}"))
        .collect();
    let seeds: Vec<String> = (0..runs / cell).map(|s| s.to_string()).collect();
    let proportions: Vec<String> = PROPORTIONS.iter().map(f64::to_string).collect();
    Ok(format!(
        "name = \"bench{runs}\"\nvariants = [{}]\nproportions = [{}]\nseeds = [{}]\n\
         device = \"cpu\"\ndatabase = \"sqlite://{db}\"\nartifacts = \"{artifacts}\"\n\
         [profile]\nname = \"tiny\"\n[[datasets]]\nkind = \"synthetic\"\ncount = 100\nsize = 32\n",
        quoted.join(", "),
        proportions.join(", "),
        seeds.join(", "),
        db = dir.join("bench.db").display(),
        artifacts = dir.join("artifacts").display(),
    ))
}

/// Seconds `ablate ARGS` takes; its failure is an error with its stderr.
fn timed(exe: &Path, args: &[&str]) -> Result<f64> {
    let start = Instant::now();
    let output = Command::new(exe).args(args).output()?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(BenchError::Setting(format!(
            "`ablate {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(seconds)
}

/// Measures every size in `sizes` (runs), then the report on the last one.
/// `variants_dir` is passed on to the children.
pub fn run(sizes: &[usize], epochs: u32, variants_dir: &Path, variants: &[String]) -> Result<()> {
    let exe = std::env::current_exe()?;
    let variants_flag = format!("--variants={}", variants_dir.display());
    let epochs_flag = format!("--noop-epochs={epochs}");
    let mut first_per_run: Option<f64> = None;
    let mut last: Option<(PathBuf, TempDir)> = None;
    println!(
        "bench runner: noop trainer ({epochs} epochs per stage), one worker, fresh SQLite database per grid"
    );
    for &runs in sizes {
        let dir = TempDir::new(&format!("runner{runs}"))?;
        let toml = dir.path().join("bench.toml");
        std::fs::write(&toml, grid_toml(dir.path(), runs, variants)?)?;
        let toml_arg = toml.display().to_string();
        let seconds = timed(
            &exe,
            &[
                &variants_flag,
                "-q",
                "run",
                &toml_arg,
                "--trainer=noop",
                &epochs_flag,
            ],
        )?;
        let per_run = seconds * 1000.0 / runs as f64;
        let growth = match first_per_run {
            Some(first) => format!(
                "per-run growth vs {} runs = {:.2}",
                sizes[0],
                per_run / first
            ),
            None => "reference size".into(),
        };
        first_per_run.get_or_insert(per_run);
        println!("{runs:>7} runs: {seconds:>8.2} s, {per_run:>7.3} ms per run; {growth}");
        last = Some((toml, dir));
    }
    let Some((toml, _dir)) = last else {
        return Ok(());
    };
    let toml_arg = toml.display().to_string();
    let out = toml.with_file_name("report");
    let out_arg = out.display().to_string();
    let status = timed(
        &exe,
        &[&variants_flag, "-q", "status", &toml_arg, "--format=json"],
    )?;
    let report = timed(
        &exe,
        &[
            &variants_flag,
            "-q",
            "report",
            &toml_arg,
            "--out",
            &out_arg,
            "--format=html,latex,csv,json",
            "--reference=Baseline",
        ],
    )?;
    println!(
        "report (html, latex, csv, json) on {} runs: {report:.2} s; reference `ablate status`: {status:.2} s; report/status = {:.2}",
        sizes.last().copied().unwrap_or(0),
        report / status
    );
    Ok(())
}
