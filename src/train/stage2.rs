//! Stage 2 of Algorithm 1 (and the whole training of supervised variants):
//! the pre-trained MSS, loaded by name, under FAR heads fine-tuned with the
//! BCE of Eq. 17 on the proportion's labeled subset. Model selection: after
//! every epoch the validation split is scored; the epoch with the best mean
//! validation accuracy is the one whose test accuracy is reported.

use super::evaluate::{accuracies, evaluate};
use super::schedule::learning_rate;
use super::stage1::{aux_batch, auxiliary_step};
use super::{
    batches, seeded, to_input, EpochMeans, GroupOptimizer, LossTerms, Result, StepAt, TrainingError,
};
use crate::data::ImageCache;
use crate::model::{losses, transfer_pretrained, ParamGroup, SplNet, Stage, Transfer};
use crate::profile::HyperParams;
use crate::registry::Toggles;
use crate::runner::predictions::SplitPredictions;
use crate::runner::MetricsSink;
use crate::store::Accuracies;
use crate::train::data::RunData;
use rand::Rng;
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::Tensor;

/// The accuracies of the epoch chosen on validation.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Counting from 1.
    pub epoch: u32,
    pub val: Accuracies,
    pub test: Accuracies,
    /// The test-split probabilities of that epoch (Fig. 7).
    pub test_predictions: Option<SplitPredictions>,
}

/// Loads the stage-1 checkpoint at `path` into `stage1` (whose variables
/// must match it exactly) and copies its MSS into `far` by name.
pub fn load_pretrained(stage1: &mut VarStore, path: &Path, far: &mut VarStore) -> Result<Transfer> {
    stage1.load(path).map_err(|e| {
        TrainingError::Setting(format!("loading stage-1 model {}: {e}", path.display()))
    })?;
    Ok(transfer_pretrained(stage1, far)?)
}

/// Trains the FAR model (stage 2, or a supervised variant).
pub fn train(
    model: &SplNet,
    vs: &VarStore,
    data: &RunData,
    hp: &HyperParams,
    seed: u64,
    metrics: &mut dyn MetricsSink,
) -> Result<Selected> {
    fit(model, vs, data, hp, None, seed, metrics, Stage::Far)
}

/// Eq. 17 on a batch of labeled images `index`; the returned loss is checked finite.
pub fn far_loss(
    model: &SplNet,
    labeled: &ImageCache,
    index: &Tensor,
    device: tch::Device,
    at: StepAt,
) -> Result<(f64, Tensor)> {
    let images = to_input(&labeled.images.index_select(0, index), device);
    let labels = labeled.labels.index_select(0, index).to_device(device);
    let out = model
        .forward_far(&images, true)
        .ok_or_else(|| TrainingError::Setting("stage 2 needs a model with FAR heads".into()))?;
    let loss = losses::far_loss(&out.logits, &labels.gt(0), &labels.ne(0));
    let mut terms = LossTerms::default();
    terms.push("far", loss.shallow_clone());
    Ok((terms.values(at)?[0].1, loss))
}

/// Mini-batches of a cache, reshuffled each time they run out.
struct Stream<'a> {
    cache: &'a ImageCache,
    size: u32,
    pending: Vec<Tensor>,
}

impl<'a> Stream<'a> {
    fn new(cache: &'a ImageCache, size: u32) -> Self {
        Stream {
            cache,
            size,
            pending: Vec::new(),
        }
    }

    /// Batches in one pass over the cache.
    fn per_pass(&self) -> usize {
        let size = self.size as usize;
        let full = self.cache.len() / size;
        full + usize::from(self.cache.len() % size > 1)
    }

    fn next(&mut self, rng: &mut impl Rng) -> Result<Tensor> {
        if self.pending.is_empty() {
            self.pending = batches(self.cache.len(), self.size, rng)?;
            self.pending.reverse();
        }
        Ok(self
            .pending
            .pop()
            .expect("batches() returns at least one batch"))
    }
}

/// The FAR training loop; with `auxiliary` (SPL Semi) every step adds the
/// auxiliary tasks on an unlabeled batch.
#[allow(clippy::too_many_arguments)]
pub(super) fn fit(
    model: &SplNet,
    vs: &VarStore,
    data: &RunData,
    hp: &HyperParams,
    auxiliary: Option<&Toggles>,
    seed: u64,
    metrics: &mut dyn MetricsSink,
    stage: Stage,
) -> Result<Selected> {
    let (name, epochs) = match auxiliary {
        Some(_) => ("one-stage", hp.stage1_epochs.max(hp.stage2_epochs)),
        None => ("stage2", hp.stage2_epochs),
    };
    if epochs == 0 {
        return Err(TrainingError::Setting(format!("{name} has 0 epochs")));
    }
    let mut rng = seeded(seed, name);
    let mut network = GroupOptimizer::adam(vs, ParamGroup::Network, hp)?
        .ok_or_else(|| TrainingError::Setting("the FAR model has no variables".into()))?;
    let mut discriminator = GroupOptimizer::adam(vs, ParamGroup::Discriminator, hp)?;
    let mut labeled = Stream::new(&data.labeled, hp.stage2_batch);
    let mut unlabeled = match (auxiliary, &data.unlabeled) {
        (Some(_), Some(cache)) => Some(Stream::new(cache, hp.stage1_batch)),
        (Some(_), None) => {
            return Err(TrainingError::Setting(
                "one-stage training without unlabeled images".into(),
            ))
        }
        (None, _) => None,
    };
    let steps = unlabeled
        .as_ref()
        .unwrap_or(&labeled)
        .per_pass()
        .max(hp.stage2_min_steps as usize)
        .max(1);
    let mut best: Option<Selected> = None;
    for epoch in 0..epochs {
        let started = Instant::now();
        let lr = learning_rate(hp.learning_rate, hp.warmup_epochs, epoch);
        network.set_learning_rate(lr)?;
        if let Some(d) = discriminator.as_mut() {
            d.set_learning_rate(lr)?;
        }
        let mut means = EpochMeans::default();
        for step in 0..steps {
            let at = StepAt {
                stage,
                epoch: epoch + 1,
                step: step + 1,
            };
            let index = labeled.next(&mut rng)?;
            let (far, mut total) = far_loss(model, &data.labeled, &index, vs.device(), at)?;
            means.add(&[("far", far)]);
            if let (Some(toggles), Some(stream)) = (auxiliary, unlabeled.as_mut()) {
                let index = stream.next(&mut rng)?;
                let batch = aux_batch(model, stream.cache, &index, hp, vs.device(), &mut rng)?;
                let (values, aux) =
                    auxiliary_step(model, &batch, hp, toggles, discriminator.as_mut(), at)?;
                means.add(&values);
                total += aux;
            }
            network.minimise(&total)?;
        }
        let val = accuracies(model, &data.val, &data.attributes, vs.device());
        let mut row = means.means();
        row.push(("lr", lr));
        row.push(("val_accuracy", val.mean));
        if best.as_ref().is_none_or(|b| val.mean > b.val.mean) {
            let test = evaluate(model, &data.test, &data.attributes, vs.device());
            best = Some(Selected {
                epoch: epoch + 1,
                val,
                test_predictions: test.predictions(&data.test, &data.attributes),
                test: test.accuracies,
            });
        }
        row.push(("seconds", started.elapsed().as_secs_f64()));
        metrics.epoch(name, epoch + 1, epochs, &row)?;
    }
    Ok(best.expect("at least one epoch ran"))
}
