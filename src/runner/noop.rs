//! The noop trainer: no model, no data. It walks a run through everything
//! else (stage-1 claim or reuse with an artifact file, per-epoch metrics,
//! results derived from the run identity) so that tests and overhead
//! measurements exercise the runner and the store. Never a stand-in for
//! training: it is chosen only with `--trainer noop`.

use super::predictions::SplitPredictions;
use super::trainer::{
    write_atomically, Accuracies, MetricsSink, RunResults, Stage1Cache, Stage1Claim, TrainError,
    TrainInput, Trainer,
};
use crate::experiment::DatasetSpec;
use crate::groups::{LabelSet, CELEBA, MAAD};
use sha2::{Digest, Sha256};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct NoopTrainer {
    /// Epochs per stage.
    pub epochs: u32,
    /// Sleep per epoch (for kill tests).
    pub sleep: Duration,
    /// Runs whose label (`SPL-Net 10% seed 1`) matches fail.
    pub fail: Vec<glob::Pattern>,
    /// Fail only the first this many attempts (0: every attempt).
    pub fail_attempts: u32,
}

impl Trainer for NoopTrainer {
    fn train(
        &self,
        input: &TrainInput,
        metrics: &mut dyn MetricsSink,
        stage1: &dyn Stage1Cache,
    ) -> Result<RunResults, TrainError> {
        let label = input.spec.label();
        let told_to_fail = self.fail.iter().any(|p| p.matches(&label))
            && (self.fail_attempts == 0 || input.attempt <= self.fail_attempts);
        let failure = || {
            TrainError::Failed(format!(
                "noop trainer told to fail {label} (attempt {})",
                input.attempt
            ))
        };
        if let Some(key) = &input.spec.stage1_key {
            match stage1.acquire(key)? {
                Stage1Claim::Reuse { path } => {
                    std::fs::read(&path).map_err(|source| TrainError::Artifact { path, source })?;
                }
                Stage1Claim::Train { path } => {
                    self.epochs("stage1", metrics)?;
                    // A run told to fail breaks in the middle of stage 1,
                    // holding a claim it never registers.
                    if told_to_fail {
                        return Err(failure());
                    }
                    write_atomically(&path, |tmp| {
                        std::fs::write(tmp, format!("noop stage-1 model {key}\n")).map_err(
                            |source| TrainError::Artifact {
                                path: tmp.to_path_buf(),
                                source,
                            },
                        )
                    })?;
                    stage1.register(key, &path)?;
                }
            }
        }
        if told_to_fail {
            return Err(failure());
        }
        self.epochs("stage2", metrics)?;
        let labels = match input.dataset {
            DatasetSpec::Maad { .. } => &MAAD,
            _ => &CELEBA,
        };
        let split = |name: &str| {
            let per_attribute: Vec<(String, f64)> = labels
                .names()
                .map(|attribute| {
                    let seed = format!("{}/{name}/{attribute}", input.run_id);
                    (attribute.to_string(), unit(&seed) * 0.5 + 0.5)
                })
                .collect();
            let mean = per_attribute.iter().map(|(_, a)| a).sum::<f64>() / labels.len() as f64;
            Accuracies {
                mean,
                per_attribute,
            }
        };
        let predictions =
            fake_predictions(input, labels).record(&input.artifacts, &input.run_id)?;
        Ok(RunResults {
            val: split("val"),
            test: split("test"),
            model_stats: Vec::new(),
            predictions: Some(predictions),
        })
    }
}

/// Images of the noop trainer's test split.
const NOOP_TEST_IMAGES: usize = 24;

/// Probabilities derived from the run identity and labels from the dataset
/// alone (every run of a dataset shares its "ground truth"), so that
/// correlation matrices and the predictions file go the real path.
fn fake_predictions(input: &TrainInput, labels: &LabelSet) -> SplitPredictions {
    let dataset = input.spec.dataset.to_string();
    let cells = |name: &dyn Fn(usize, &str) -> String| -> Vec<f64> {
        (0..NOOP_TEST_IMAGES)
            .flat_map(|image| labels.names().map(move |a| (image, a)))
            .map(|(image, attribute)| unit(&name(image, attribute)))
            .collect()
    };
    SplitPredictions {
        attributes: labels.names().map(str::to_string).collect(),
        images: (0..NOOP_TEST_IMAGES).collect(),
        probabilities: cells(&|i, a| format!("{}/prediction/{i}/{a}", input.run_id))
            .into_iter()
            .map(|u| u as f32)
            .collect(),
        labels: cells(&|i, a| format!("{dataset}/label/{i}/{a}"))
            .into_iter()
            .map(|u| if u < 0.5 { -1 } else { 1 })
            .collect(),
    }
}

impl NoopTrainer {
    fn epochs(&self, stage: &str, metrics: &mut dyn MetricsSink) -> Result<(), TrainError> {
        for epoch in 1..=self.epochs {
            if !self.sleep.is_zero() {
                std::thread::sleep(self.sleep);
            }
            let loss = 1.0 / f64::from(epoch);
            metrics.epoch(stage, epoch, self.epochs, &[("loss", loss)])?;
        }
        Ok(())
    }
}

/// A number in [0, 1) fixed by `seed`.
fn unit(seed: &str) -> f64 {
    let digest = Sha256::digest(seed.as_bytes());
    let bits = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
