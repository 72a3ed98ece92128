//! The report's view model: the database rows of one experiment turned into
//! the numbers every format shows (cells with mean ± std over seeds, ranks,
//! Δ versus Baseline, Holm-corrected paired tests versus a reference
//! variant, the paper's numbers and Kendall's τ). Rendering only formats it.

use super::paper::PaperTables;
use crate::experiment::{DatasetSpec, Experiment};
use crate::registry::matrix::Matrix;
use crate::registry::{Diagnostic, Variant};
use crate::stats;
use crate::store::{AttributeMean, MetricMean, ReportRun, RunCorrelations, VariantModelStat};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Holm-adjusted p below these get one or two marks.
pub const SIGNIFICANT: f64 = 0.05;
pub const HIGHLY_SIGNIFICANT: f64 = 0.01;

/// What the report is asked to show beyond the database.
#[derive(Debug, Clone)]
pub struct Options {
    /// Variant every other one is tested against.
    pub reference: String,
    /// Proportion of the per-attribute table, training curves and
    /// correlation maps; `None` picks the smallest.
    pub focus_proportion: Option<f64>,
    /// Attributes of the small correlation maps; empty: [`DEFAULT_CORRELATION_ATTRIBUTES`].
    pub correlation_attributes: Vec<String>,
}

/// The seven attributes of the small correlation maps when none are asked
/// for. The paper's Fig. 7 names only three of its seven "randomly
/// selected" ones (blond hair, brown hair, sideburns); the other four make
/// pairs whose true correlation is known to be strong: hair colours exclude
/// each other, facial hair goes with Male.
pub const DEFAULT_CORRELATION_ATTRIBUTES: [&str; 7] = [
    "Blond_Hair",
    "Brown_Hair",
    "Black_Hair",
    "Gray_Hair",
    "Sideburns",
    "Goatee",
    "Male",
];

/// The variant the correlation maps compare with the reference.
pub const BASELINE: &str = "Baseline";

impl Options {
    /// The proportion the detailed sections show.
    pub fn focus(&self, experiment: &Experiment) -> f64 {
        self.focus_proportion
            .or_else(|| {
                experiment
                    .proportions
                    .iter()
                    .copied()
                    .min_by(f64::total_cmp)
            })
            .unwrap_or(100.0)
    }

    /// The variants whose correlation maps are drawn: Baseline, then the
    /// reference.
    pub fn correlation_variants(&self) -> Vec<&str> {
        let mut names = vec![BASELINE];
        if self.reference != BASELINE {
            names.push(&self.reference);
        }
        names
    }
}

/// Everything the database holds about an experiment, read once.
#[derive(Debug, Default)]
pub struct Stored {
    pub runs: Vec<ReportRun>,
    pub metrics: Vec<MetricMean>,
    pub attributes: Vec<AttributeMean>,
    pub model_stats: Vec<VariantModelStat>,
    /// Correlation matrices of the runs of [`Options::correlation_variants`]
    /// at the focus proportion.
    pub correlations: Vec<RunCorrelations>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub experiment: String,
    pub description: String,
    pub database: String,
    pub profile: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<VariantView>,
    pub reference: String,
    pub git_revisions: Vec<String>,
    pub first_start: Option<String>,
    pub last_finish: Option<String>,
    /// Sum of the last attempt's wall time over finished runs, hours.
    pub compute_hours: f64,
    pub counts: Counts,
    pub matrix: Matrix,
    pub warnings: Vec<String>,
    pub datasets: Vec<DatasetReport>,
    pub sweep: Vec<SweepRow>,
    /// Accuracy versus m and versus v, per dataset (Fig. 5).
    pub sweep_figures: Vec<SweepFigure>,
    pub complexity: Vec<ComplexityRow>,
    pub runs: Vec<RunView>,
    pub failures: Vec<RunView>,
    pub durations: Vec<DurationRow>,
    pub stage1: Stage1Reuse,
    pub focus_proportion: f64,
}

#[derive(Debug, Serialize)]
pub struct VariantView {
    pub name: String,
    pub description: String,
    pub hash: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub planned: usize,
    pub done: usize,
    pub failed: usize,
    pub running: usize,
    pub pending: usize,
    /// In the plan but not in the database (never enqueued).
    pub missing: usize,
}

impl Counts {
    pub fn unfinished(&self) -> bool {
        self.done < self.planned
    }
}

#[derive(Debug, Serialize)]
pub struct DatasetReport {
    pub label: String,
    /// `celeba`, `lfwa` or `maad` when the paper reports this dataset.
    pub paper_key: Option<String>,
    pub proportions: Vec<ProportionView>,
    pub rows: Vec<AblationRow>,
    /// Kendall's τ-b between the paper's and our ordering, per proportion.
    pub paper: Option<PaperComparison>,
    pub curves: Vec<Curve>,
    pub attributes: AttributeTable,
    /// Fig. 7, when runs stored correlations at the focus proportion.
    pub correlation: Option<CorrelationMaps>,
}

/// Attribute correlation maps of one dataset at one proportion (Fig. 7):
/// each model's mean over seeds, and the ground truth.
#[derive(Debug, Serialize)]
pub struct CorrelationMaps {
    pub proportion: f64,
    pub attributes: Vec<String>,
    /// Positions in `attributes` of the small maps' attributes.
    pub selected: Vec<usize>,
    /// The models (Baseline, reference) that have runs, then the ground truth.
    pub maps: Vec<CorrelationMap>,
}

#[derive(Debug, Serialize)]
pub struct CorrelationMap {
    /// A variant name, or `ground truth`.
    pub label: String,
    pub is_truth: bool,
    /// Runs averaged.
    pub runs: usize,
    /// Test images per run.
    pub images: usize,
    /// Row-major mean over runs, `None` where no run defines it.
    pub values: Vec<Option<f64>>,
    /// Mean absolute difference to the ground truth over the distinct
    /// attribute pairs defined in both: on the selected attributes, on all.
    pub distance_selected: Option<f64>,
    pub distance_all: Option<f64>,
}

/// (parameter value, mean accuracy %, std over seeds).
pub type SweepPoint = (f64, f64, Option<f64>);

/// Accuracy versus one swept hyper-parameter, one line per proportion.
#[derive(Debug, Serialize)]
pub struct SweepFigure {
    pub dataset: String,
    /// `m` or `v`.
    pub parameter: String,
    /// The axis title.
    pub title: String,
    /// The other parameter's value held fixed, when the variants set it.
    pub fixed: Option<String>,
    /// Per proportion: its label and its points.
    pub series: Vec<(String, Vec<SweepPoint>)>,
}

#[derive(Debug, Serialize)]
pub struct ProportionView {
    pub percent: f64,
    /// Labeled training images at this proportion, when the paper gives it.
    pub labeled: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct AblationRow {
    pub variant: String,
    pub cells: Vec<Cell>,
}

/// One variant at one proportion of one dataset: test accuracy in percent.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub variant: String,
    pub proportion: f64,
    /// Seeds planned and seeds done.
    pub planned: usize,
    pub done: usize,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// 1 = best of its column, 2 = second.
    pub rank: Option<usize>,
    /// Mean minus Baseline's mean, percentage points.
    pub delta_baseline: Option<f64>,
    /// Paired test versus the reference variant on shared seeds.
    pub pairs: usize,
    pub t_p: Option<f64>,
    pub t_p_holm: Option<f64>,
    pub wilcoxon_p: Option<f64>,
    pub marker: &'static str,
}

#[derive(Debug, Serialize)]
pub struct PaperComparison {
    pub key: String,
    /// Per variant the paper lists: (ours, paper) per proportion.
    pub rows: Vec<PaperRow>,
    pub taus: Vec<Option<f64>>,
    /// Proportions the paper reports, and whether we ran each.
    pub proportions: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct PaperRow {
    pub variant: String,
    pub ours: Vec<Option<f64>>,
    pub paper: Vec<Option<f64>>,
}

/// (epoch, value) pairs of one curve.
pub type Points = Vec<(i64, f64)>;

/// One loss term of one stage, averaged over seeds, per variant.
#[derive(Debug, Serialize)]
pub struct Curve {
    pub stage: String,
    pub name: String,
    pub series: Vec<(String, Points)>,
}

#[derive(Debug, Serialize)]
pub struct AttributeTable {
    pub proportion: f64,
    pub variants: Vec<String>,
    /// Attribute, then accuracy (%) per variant.
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

#[derive(Debug, Serialize)]
pub struct SweepRow {
    pub variant: String,
    pub m: Option<u32>,
    pub v: Option<u32>,
    pub dataset: String,
    pub means: Vec<Option<f64>>,
}

#[derive(Debug, Serialize)]
pub struct ComplexityRow {
    pub variant: String,
    pub stage: String,
    pub params_m: f64,
    pub gflops: f64,
    pub device: Option<String>,
    /// Milliseconds per image at batch 1.
    pub latency_ms: Option<f64>,
    /// Images per second at `batch`.
    pub images_per_s: Option<f64>,
    pub batch: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: String,
    pub variant: String,
    pub dataset: String,
    pub proportion: f64,
    pub seed: u64,
    pub status: String,
    pub attempts: i64,
    pub duration_s: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub stage1_reused: Option<bool>,
    pub git_revision: Option<String>,
    pub device: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DurationRow {
    pub variant: String,
    pub runs: usize,
    pub mean_s: f64,
    pub max_s: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Stage1Reuse {
    pub runs: usize,
    pub trainings: usize,
    pub reused: usize,
}

/// Key of a grid cell: dataset index, variant index, proportion index.
type CellKey = (usize, usize, usize);

impl Report {
    pub fn build(
        experiment: &Experiment,
        database: String,
        warnings: &[Diagnostic],
        stored: &Stored,
        paper: &PaperTables,
        options: &Options,
    ) -> Report {
        let variants = &experiment.variants;
        let datasets: Vec<String> = experiment.datasets.iter().map(|d| d.canonical()).collect();
        let by_id: HashMap<&str, &ReportRun> =
            stored.runs.iter().map(|r| (r.id.as_str(), r)).collect();
        let plan = experiment.plan();
        let mut counts = Counts {
            planned: plan.len(),
            ..Counts::default()
        };
        // Test accuracies (percent) by cell, then by seed.
        let mut accuracies: HashMap<CellKey, BTreeMap<u64, f64>> = HashMap::new();
        let mut runs = Vec::with_capacity(plan.len());
        let mut stage1_keys = BTreeSet::new();
        let mut stage1 = Stage1Reuse::default();
        let mut revisions = BTreeSet::new();
        let (mut first_start, mut last_finish, mut compute_ms) = (None::<i64>, None::<i64>, 0i64);
        for spec in &plan {
            let key = (
                index_of(&datasets, &spec.dataset.canonical()),
                variants
                    .iter()
                    .position(|v| v.hash == spec.variant.hash)
                    .unwrap_or(0),
                experiment
                    .proportions
                    .iter()
                    .position(|p| *p == spec.proportion)
                    .unwrap_or(0),
            );
            if let Some(k) = &spec.stage1_key {
                stage1.runs += 1;
                stage1_keys.insert(k.clone());
            }
            let mut view = RunView {
                id: spec.id.clone(),
                variant: spec.variant.name.clone(),
                dataset: spec.dataset.label(),
                proportion: spec.proportion,
                seed: spec.seed,
                status: "missing".into(),
                attempts: 0,
                duration_s: None,
                test_accuracy: None,
                val_accuracy: None,
                stage1_reused: None,
                git_revision: None,
                device: None,
                error: None,
            };
            let Some(run) = by_id.get(spec.id.as_str()) else {
                counts.missing += 1;
                runs.push(view);
                continue;
            };
            match run.status.as_str() {
                "done" => counts.done += 1,
                "failed" => counts.failed += 1,
                "running" => counts.running += 1,
                _ => counts.pending += 1,
            }
            if let Some(start) = run.started_at {
                first_start = Some(first_start.map_or(start, |f: i64| f.min(start)));
            }
            if let (Some(start), Some(end)) = (run.started_at, run.finished_at) {
                if run.status == "done" || run.status == "failed" {
                    compute_ms += (end - start).max(0);
                    last_finish = Some(last_finish.map_or(end, |l: i64| l.max(end)));
                    view.duration_s = Some((end - start).max(0) as f64 / 1000.0);
                }
            }
            if let Some(revision) = &run.git_revision {
                let dirty = if run.git_dirty == Some(true) {
                    " (dirty)"
                } else {
                    ""
                };
                revisions.insert(format!("{revision}{dirty}"));
            }
            if run.stage1_reused == Some(true) {
                stage1.reused += 1;
            }
            view.status = run.status.clone();
            view.attempts = run.attempts;
            view.stage1_reused = run.stage1_reused;
            view.git_revision = run.git_revision.clone();
            view.device = run.device.clone();
            view.error = run.error.clone();
            view.val_accuracy = run.val_accuracy.map(percent);
            if run.status == "done" {
                view.test_accuracy = run.test_accuracy.map(percent);
                if let Some(accuracy) = view.test_accuracy {
                    accuracies
                        .entry(key)
                        .or_default()
                        .insert(spec.seed, accuracy);
                }
            }
            runs.push(view);
        }
        stage1.trainings = stage1_keys.len();
        let focus_proportion = options.focus(experiment);
        let reference = variants.iter().position(|v| v.name == options.reference);
        let baseline = variants.iter().position(|v| v.name == "Baseline");
        let grid = Grid {
            experiment,
            accuracies: &accuracies,
            reference,
            baseline,
        };
        let dataset_reports = experiment
            .datasets
            .iter()
            .enumerate()
            .map(|(d, spec)| grid.dataset(d, spec, stored, paper, focus_proportion, options))
            .collect();
        let sweep = grid.sweep();
        let sweep_figures = grid.sweep_figures();
        let failures = runs
            .iter()
            .filter(|r| r.error.is_some() && r.status != "done")
            .cloned()
            .collect();
        Report {
            experiment: experiment.name.clone(),
            description: experiment.description.clone(),
            database,
            profile: experiment.profile.name.clone(),
            seeds: experiment.seeds.clone(),
            variants: variants
                .iter()
                .map(|v| VariantView {
                    name: v.name.clone(),
                    description: v.description.clone(),
                    hash: v.hash.short().to_string(),
                })
                .collect(),
            reference: options.reference.clone(),
            git_revisions: revisions.into_iter().collect(),
            first_start: first_start.map(format_utc),
            last_finish: last_finish.map(format_utc),
            compute_hours: compute_ms as f64 / 3.6e6,
            counts,
            matrix: Matrix::of(variants),
            warnings: warnings.iter().map(ToString::to_string).collect(),
            datasets: dataset_reports,
            sweep,
            sweep_figures,
            complexity: stored
                .model_stats
                .iter()
                .map(|s| ComplexityRow {
                    variant: s.variant_name.clone(),
                    stage: s.stage.clone(),
                    params_m: s.params as f64 / 1e6,
                    gflops: s.flops as f64 / 1e9,
                    device: s.speed.as_ref().map(|x| x.device.clone()),
                    latency_ms: s.speed.as_ref().map(|x| x.latency_ms),
                    images_per_s: s.speed.as_ref().map(|x| x.images_per_s),
                    batch: s.speed.as_ref().map(|x| x.batch),
                })
                .collect(),
            durations: durations(variants, &runs),
            failures,
            runs,
            stage1,
            focus_proportion,
        }
    }
}

fn percent(fraction: f64) -> f64 {
    fraction * 100.0
}

fn index_of(items: &[String], item: &str) -> usize {
    items.iter().position(|i| i == item).unwrap_or(0)
}

fn durations(variants: &[Variant], runs: &[RunView]) -> Vec<DurationRow> {
    variants
        .iter()
        .filter_map(|v| {
            let seconds: Vec<f64> = runs
                .iter()
                .filter(|r| r.variant == v.name)
                .filter_map(|r| r.duration_s)
                .collect();
            Some(DurationRow {
                variant: v.name.clone(),
                runs: seconds.len(),
                mean_s: stats::mean(&seconds)?,
                max_s: seconds.iter().copied().fold(0.0, f64::max),
            })
        })
        .collect()
}

/// The grid's accuracies and the variants tests and deltas refer to.
struct Grid<'a> {
    experiment: &'a Experiment,
    accuracies: &'a HashMap<CellKey, BTreeMap<u64, f64>>,
    reference: Option<usize>,
    baseline: Option<usize>,
}

impl Grid<'_> {
    fn mean(&self, key: CellKey) -> Option<f64> {
        let values: Vec<f64> = self.accuracies.get(&key)?.values().copied().collect();
        stats::mean(&values)
    }

    /// One proportion's column: summaries, ranks, deltas and Holm-corrected
    /// paired tests versus the reference variant.
    fn column(&self, d: usize, p: usize) -> Vec<Cell> {
        let experiment = self.experiment;
        let mut cells: Vec<Cell> = experiment
            .variants
            .iter()
            .enumerate()
            .map(|(v, variant)| {
                let values: Vec<f64> = self
                    .accuracies
                    .get(&(d, v, p))
                    .map(|by_seed| by_seed.values().copied().collect())
                    .unwrap_or_default();
                let mean = stats::mean(&values);
                let delta_baseline = match (mean, self.baseline) {
                    (Some(m), Some(b)) if b != v => self.mean((d, b, p)).map(|b| m - b),
                    _ => None,
                };
                Cell {
                    variant: variant.name.clone(),
                    proportion: experiment.proportions[p],
                    planned: experiment.seeds.len(),
                    done: values.len(),
                    mean,
                    std: stats::sample_std(&values),
                    rank: None,
                    delta_baseline,
                    pairs: 0,
                    t_p: None,
                    t_p_holm: None,
                    wilcoxon_p: None,
                    marker: "",
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..cells.len())
            .filter(|&i| cells[i].mean.is_some())
            .collect();
        order.sort_by(|&a, &b| {
            cells[b]
                .mean
                .unwrap_or(0.0)
                .total_cmp(&cells[a].mean.unwrap_or(0.0))
        });
        for (rank, &i) in order.iter().take(2).enumerate() {
            cells[i].rank = Some(rank + 1);
        }
        if let Some(r) = self.reference {
            let empty = BTreeMap::new();
            let reference = self.accuracies.get(&(d, r, p)).unwrap_or(&empty);
            let mut tested = Vec::new();
            for (v, cell) in cells.iter_mut().enumerate() {
                let Some(ours) = self.accuracies.get(&(d, v, p)).filter(|_| v != r) else {
                    continue;
                };
                // Pairs share the seed, hence the labeled subset.
                let (a, b): (Vec<f64>, Vec<f64>) = ours
                    .iter()
                    .filter_map(|(seed, x)| reference.get(seed).map(|y| (*x, *y)))
                    .unzip();
                cell.pairs = a.len();
                cell.wilcoxon_p = stats::wilcoxon_signed_rank(&a, &b).map(|t| t.p_value);
                if let Some(test) = stats::paired_t_test(&a, &b) {
                    cell.t_p = Some(test.p_value);
                    tested.push(v);
                }
            }
            let p_values: Vec<f64> = tested.iter().filter_map(|&v| cells[v].t_p).collect();
            for (&v, adjusted) in tested.iter().zip(stats::holm_adjust(&p_values)) {
                cells[v].t_p_holm = Some(adjusted);
                cells[v].marker = if adjusted < HIGHLY_SIGNIFICANT {
                    "**"
                } else if adjusted < SIGNIFICANT {
                    "*"
                } else {
                    ""
                };
            }
        }
        cells
    }

    fn dataset(
        &self,
        d: usize,
        spec: &DatasetSpec,
        stored: &Stored,
        paper: &PaperTables,
        focus: f64,
        options: &Options,
    ) -> DatasetReport {
        let experiment = self.experiment;
        let paper_key = match spec {
            DatasetSpec::Celeba { .. } => Some("celeba"),
            DatasetSpec::Lfwa { .. } => Some("lfwa"),
            DatasetSpec::Maad { .. } => Some("maad"),
            DatasetSpec::Synthetic { .. } => None,
        };
        let ablation = paper_key.and_then(|key| paper.ablation.get(key));
        let columns: Vec<Vec<Cell>> = (0..experiment.proportions.len())
            .map(|p| self.column(d, p))
            .collect();
        let rows = experiment
            .variants
            .iter()
            .enumerate()
            .map(|(v, variant)| AblationRow {
                variant: variant.name.clone(),
                cells: columns.iter().map(|column| column[v].clone()).collect(),
            })
            .collect();
        let proportions = experiment
            .proportions
            .iter()
            .map(|&percent| ProportionView {
                percent,
                labeled: ablation.and_then(|a| a.labeled_at(percent)),
            })
            .collect();
        let paper = paper_key.zip(ablation).map(|(key, table)| {
            let ours_at = |variant: &str, percent: f64| {
                let v = experiment.variants.iter().position(|x| x.name == variant)?;
                let p = experiment.proportions.iter().position(|x| *x == percent)?;
                self.mean((d, v, p))
            };
            let rows: Vec<PaperRow> = table
                .variants
                .iter()
                .map(|(variant, values)| PaperRow {
                    variant: variant.clone(),
                    ours: table
                        .proportions
                        .iter()
                        .map(|&p| ours_at(variant, p))
                        .collect(),
                    paper: values.iter().map(|&v| Some(v)).collect(),
                })
                .collect();
            let taus = (0..table.proportions.len())
                .map(|i| {
                    let (ours, theirs): (Vec<f64>, Vec<f64>) = rows
                        .iter()
                        .filter_map(|row| Some((row.ours[i]?, row.paper[i]?)))
                        .unzip();
                    stats::kendall_tau_b(&ours, &theirs)
                })
                .collect();
            PaperComparison {
                key: key.to_string(),
                rows,
                taus,
                proportions: table.proportions.clone(),
            }
        });
        let canonical = spec.canonical();
        let name_of = |hash: &str| {
            experiment
                .variants
                .iter()
                .find(|v| v.hash.as_str() == hash)
                .map(|v| v.name.clone())
        };
        let mut curves: BTreeMap<(String, String), BTreeMap<String, Points>> = BTreeMap::new();
        for m in &stored.metrics {
            if m.dataset != canonical || m.proportion != focus {
                continue;
            }
            let Some(variant) = name_of(&m.variant_hash) else {
                continue;
            };
            curves
                .entry((m.stage.clone(), m.name.clone()))
                .or_default()
                .entry(variant)
                .or_default()
                .push((m.epoch, m.value));
        }
        let order = |name: &str| experiment.variants.iter().position(|v| v.name == name);
        let curves = curves
            .into_iter()
            .map(|((stage, name), by_variant)| {
                let mut series: Vec<(String, Points)> = by_variant.into_iter().collect();
                series.sort_by_key(|(variant, _)| order(variant));
                Curve {
                    stage,
                    name,
                    series,
                }
            })
            .collect();
        DatasetReport {
            label: spec.label(),
            paper_key: paper_key.map(str::to_string),
            proportions,
            rows,
            paper,
            curves,
            attributes: self.attributes(&canonical, stored, focus),
            correlation: correlation_maps(&canonical, stored, focus, options),
        }
    }

    /// Per-attribute accuracy at `focus` (the paper's Table 9): every
    /// variant of the experiment, attributes in the order the runs stored.
    fn attributes(&self, canonical: &str, stored: &Stored, focus: f64) -> AttributeTable {
        let variants = &self.experiment.variants;
        let mut rows: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        for a in &stored.attributes {
            if a.dataset != canonical || a.proportion != focus {
                continue;
            }
            let Some(v) = variants
                .iter()
                .position(|x| x.hash.as_str() == a.variant_hash)
            else {
                continue;
            };
            let row = match rows.iter().position(|(name, _)| *name == a.attribute) {
                Some(i) => i,
                None => {
                    rows.push((a.attribute.clone(), vec![None; variants.len()]));
                    rows.len() - 1
                }
            };
            rows[row].1[v] = Some(percent(a.accuracy));
        }
        AttributeTable {
            proportion: focus,
            variants: variants.iter().map(|v| v.name.clone()).collect(),
            rows,
        }
    }

    /// Variants that set m (patches per side) or v (dominant components):
    /// their accuracy per proportion on every dataset (the paper's Fig. 5).
    fn sweep(&self) -> Vec<SweepRow> {
        let experiment = self.experiment;
        let mut rows = Vec::new();
        for (v, variant) in experiment.variants.iter().enumerate() {
            let (m, dominant) = (
                variant.hyper.patches_per_side,
                variant.hyper.dominant_components,
            );
            if m.is_none() && dominant.is_none() {
                continue;
            }
            for (d, dataset) in experiment.datasets.iter().enumerate() {
                rows.push(SweepRow {
                    variant: variant.name.clone(),
                    m,
                    v: dominant,
                    dataset: dataset.label(),
                    means: (0..experiment.proportions.len())
                        .map(|p| self.mean((d, v, p)))
                        .collect(),
                });
            }
        }
        rows
    }

    fn sd(&self, key: CellKey) -> Option<f64> {
        let values: Vec<f64> = self.accuracies.get(&key)?.values().copied().collect();
        stats::sample_std(&values)
    }

    /// Accuracy versus m and versus v (Fig. 5) on every dataset, from the
    /// variants that set the parameter. When variants set both (a grid),
    /// the line holds the other one at the value shared by the most
    /// distinct values of the swept one.
    fn sweep_figures(&self) -> Vec<SweepFigure> {
        let experiment = self.experiment;
        let settings: Vec<(usize, Option<u32>, Option<u32>)> = experiment
            .variants
            .iter()
            .enumerate()
            .map(|(v, x)| (v, x.hyper.patches_per_side, x.hyper.dominant_components))
            .collect();
        // The profile's m and v: the line through them wins a tie.
        let defaults = experiment
            .profile
            .resolve()
            .ok()
            .map(|p| p.resolve(&Default::default()));
        let default_other = |parameter: &str| {
            defaults.as_ref().map(|hp| {
                if parameter == "m" {
                    hp.dominant_components
                } else {
                    hp.patches_per_side
                }
            })
        };
        let mut figures = Vec::new();
        for (parameter, title, other_name) in [
            ("m", "patches per side m", "v"),
            ("v", "dominant components v", "m"),
        ] {
            let swept = |&(_, m, v): &(usize, Option<u32>, Option<u32>)| {
                if parameter == "m" {
                    (m, v)
                } else {
                    (v, m)
                }
            };
            // The fixed value of the other parameter with the most distinct
            // swept values.
            let mut by_other: BTreeMap<Option<u32>, BTreeSet<u32>> = BTreeMap::new();
            for s in &settings {
                if let (Some(value), other) = swept(s) {
                    by_other.entry(other).or_default().insert(value);
                }
            }
            let Some((&other, values)) = by_other
                .iter()
                .max_by_key(|(other, values)| (values.len(), **other == default_other(parameter)))
            else {
                continue;
            };
            if values.len() < 2 {
                continue;
            }
            let points: Vec<(usize, u32)> = settings
                .iter()
                .filter_map(|s| match swept(s) {
                    (Some(value), o) if o == other => Some((s.0, value)),
                    _ => None,
                })
                .collect();
            for (d, dataset) in experiment.datasets.iter().enumerate() {
                let series = experiment
                    .proportions
                    .iter()
                    .enumerate()
                    .map(|(p, percent)| {
                        let mut line: Vec<SweepPoint> = points
                            .iter()
                            .filter_map(|&(v, value)| {
                                Some((f64::from(value), self.mean((d, v, p))?, self.sd((d, v, p))))
                            })
                            .collect();
                        line.sort_by(|a, b| a.0.total_cmp(&b.0));
                        (format!("{percent}% labeled"), line)
                    })
                    .filter(|(_, line)| !line.is_empty())
                    .collect::<Vec<_>>();
                if series.is_empty() {
                    continue;
                }
                figures.push(SweepFigure {
                    dataset: dataset.label(),
                    parameter: parameter.to_string(),
                    title: title.to_string(),
                    fixed: other.map(|o| format!("{other_name} = {o}")),
                    series,
                });
            }
        }
        figures
    }
}

/// Fig. 7 of one dataset: the mean over seeds of the predicted correlations
/// of Baseline and the reference, and of the ground truth, at `focus`.
fn correlation_maps(
    canonical: &str,
    stored: &Stored,
    focus: f64,
    options: &Options,
) -> Option<CorrelationMaps> {
    let rows: Vec<&RunCorrelations> = stored
        .correlations
        .iter()
        .filter(|c| c.dataset == canonical)
        .collect();
    let attributes = rows.first()?.correlations.attributes.clone();
    let n = attributes.len();
    let average = |label: &str, is_truth: bool, pick: &dyn Fn(&RunCorrelations) -> bool| {
        let chosen: Vec<&RunCorrelations> = rows
            .iter()
            .copied()
            .filter(|&c| pick(c) && c.correlations.attributes == attributes)
            .collect();
        if chosen.is_empty() {
            return None;
        }
        let values = (0..n * n)
            .map(|k| {
                let defined: Vec<f64> = chosen
                    .iter()
                    .filter_map(|c| c.correlations.values[k])
                    .collect();
                stats::mean(&defined)
            })
            .collect();
        Some(CorrelationMap {
            label: label.to_string(),
            is_truth,
            runs: chosen.len(),
            images: chosen
                .iter()
                .map(|c| c.correlations.images)
                .max()
                .unwrap_or(0),
            values,
            distance_selected: None,
            distance_all: None,
        })
    };
    let mut maps: Vec<CorrelationMap> = options
        .correlation_variants()
        .into_iter()
        .filter_map(|variant| {
            average(variant, false, &|c: &RunCorrelations| {
                c.variant_name == variant && c.source == "predicted"
            })
        })
        .collect();
    let truth = average("ground truth", true, &|c: &RunCorrelations| {
        c.source == "truth"
    })?;
    let wanted: Vec<String> = if options.correlation_attributes.is_empty() {
        DEFAULT_CORRELATION_ATTRIBUTES
            .iter()
            .map(|a| a.to_string())
            .collect()
    } else {
        options.correlation_attributes.clone()
    };
    let mut selected: Vec<usize> = wanted
        .iter()
        .filter_map(|w| attributes.iter().position(|a| a == w))
        .collect();
    if selected.len() < 2 {
        // None of the asked attributes is in this dataset: its first seven.
        selected = (0..n.min(DEFAULT_CORRELATION_ATTRIBUTES.len())).collect();
    }
    let subset = |values: &[Option<f64>]| -> Vec<Option<f64>> {
        selected
            .iter()
            .flat_map(|&i| selected.iter().map(move |&j| values[i * n + j]))
            .collect()
    };
    let truth_subset = subset(&truth.values);
    for map in &mut maps {
        map.distance_all = stats::mean_abs_off_diagonal(&map.values, &truth.values, n);
        map.distance_selected =
            stats::mean_abs_off_diagonal(&subset(&map.values), &truth_subset, selected.len());
    }
    maps.push(truth);
    Some(CorrelationMaps {
        proportion: focus,
        attributes,
        selected,
        maps,
    })
}

/// `2026-12-04 20:52 UTC` from Unix milliseconds (civil-from-days, so no
/// date crate is needed for one line of the header).
pub fn format_utc(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34:56 UTC
        assert_eq!(format_utc(1_709_210_096_000), "2024-02-29 12:34 UTC");
    }
}
