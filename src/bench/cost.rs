//! What a grid costs before it runs (`ablate run --dry-run`): runs,
//! stage-1 trainings after reuse, and the training workload in images
//! passed through a training step, from the plan alone (no dataset is
//! opened). With measured throughputs (`ablate bench train` on the target
//! machine) the workload becomes an estimate of compute time.
//!
//! Training-split sizes: the paper's for CelebA, LFWA and MAAD (the 100 %
//! column of `labeled_samples` in reference/paper_tables.toml), the
//! generator's 80 % for synthetic sets. Labeled subsets follow
//! `data::label_subset` (ceil of the percentage). Evaluation passes are not
//! counted.

use crate::experiment::{DatasetSpec, Experiment, RunSpec};
use crate::registry::Schedule;
use crate::report::paper::PaperTables;
use std::collections::BTreeSet;

/// Training images of a dataset, `None` when unknown.
pub fn train_size(dataset: &DatasetSpec, paper: &PaperTables) -> Option<u64> {
    let key = match dataset {
        DatasetSpec::Synthetic { count, .. } => {
            return Some((0.8 * f64::from(*count)).round() as u64)
        }
        DatasetSpec::Celeba { .. } => "celeba",
        DatasetSpec::Lfwa { .. } => "lfwa",
        DatasetSpec::Maad { .. } => "maad",
    };
    paper.ablation.get(key)?.labeled_at(100.0)
}

/// Images a grid puts through training steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Workload {
    /// Stage-1 steps (and the auxiliary half of one-stage steps).
    pub stage1_images: u64,
    /// FAR steps.
    pub stage2_images: u64,
}

/// The cost of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    pub runs: usize,
    pub runs_with_stage1: usize,
    /// Distinct stage-1 keys: trainings actually run.
    pub stage1_trainings: usize,
    /// `None` when a dataset's size is unknown.
    pub workload: Option<Workload>,
}

impl Cost {
    pub fn saved_by_reuse(&self) -> usize {
        self.runs_with_stage1 - self.stage1_trainings
    }

    pub fn of(experiment: &Experiment, plan: &[RunSpec], paper: &PaperTables) -> Cost {
        let keys: BTreeSet<&str> = plan
            .iter()
            .filter_map(|r| r.stage1_key.as_deref())
            .collect();
        let profile = experiment.profile.resolve().ok();
        let mut workload = Some(Workload::default());
        let mut trained = BTreeSet::new();
        for run in plan {
            let (Some(profile), Some(train)) = (&profile, train_size(&run.dataset, paper)) else {
                workload = None;
                break;
            };
            let hp = profile.resolve(&run.variant.hyper);
            let labeled = ((train as f64 * run.proportion / 100.0).ceil() as u64).clamp(1, train);
            let w = workload.get_or_insert_with(Workload::default);
            if let Some(key) = run.stage1_key.as_deref() {
                if trained.insert(key) {
                    w.stage1_images += u64::from(hp.stage1_epochs) * train;
                }
            }
            if run.variant.toggles.schedule == Schedule::OneStage {
                // Each step pairs an unlabeled batch with a labeled one,
                // stepping through the unlabeled set once per epoch.
                let epochs = u64::from(hp.stage1_epochs.max(hp.stage2_epochs));
                let steps = train.div_ceil(u64::from(hp.stage1_batch).max(1));
                w.stage1_images += epochs * train;
                w.stage2_images += epochs * steps * labeled.min(u64::from(hp.stage2_batch));
            } else {
                w.stage2_images += u64::from(hp.stage2_epochs) * labeled;
            }
        }
        Cost {
            runs: plan.len(),
            runs_with_stage1: plan.iter().filter(|r| r.stage1_key.is_some()).count(),
            stage1_trainings: keys.len(),
            workload,
        }
    }
}

/// Measured training throughputs (images/s) on the machine that will run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub stage1: f64,
    pub stage2: f64,
}

impl std::str::FromStr for Rates {
    type Err = String;

    /// `STAGE1,STAGE2` in images/s, as `ablate bench train` prints them.
    fn from_str(s: &str) -> Result<Rates, String> {
        let numbers: Vec<f64> = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{s:?}: {e}"))?;
        match numbers[..] {
            [stage1, stage2] if stage1 > 0.0 && stage2 > 0.0 => Ok(Rates { stage1, stage2 }),
            _ => Err(format!(
                "{s:?}: expected STAGE1,STAGE2 images per second, both positive"
            )),
        }
    }
}

impl Workload {
    /// Seconds of training at `rates` on one device.
    pub fn seconds(&self, rates: Rates) -> f64 {
        self.stage1_images as f64 / rates.stage1 + self.stage2_images as f64 / rates.stage2
    }
}
