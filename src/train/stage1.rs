//! Stage 1 of Algorithm 1: the auxiliary tasks on unlabeled images. Per
//! mini-batch: the PRT and PST/PCT inputs (lines 3–7), Kd updates of D with
//! MSS fixed (lines 8–11, Eq. 7), then the joint loss of Eq. 16 with D
//! fixed (lines 12–13). [`auxiliary_step`] is shared with SPL Semi.

use super::schedule::learning_rate;
use super::{
    batches, seeded, EpochMeans, GroupOptimizer, LossTerms, Result, StepAt, TrainingError,
};
use crate::data::tasks::{patch_batch, prt_batch, PatchBatch, PatchSpec, PrtBatch, PrtSpec};
use crate::data::ImageCache;
use crate::groups::Region;
use crate::model::{losses, ParamGroup, SplNet, Stage};
use crate::profile::HyperParams;
use crate::registry::{Alignment, Toggles};
use crate::runner::{write_atomically, MetricsSink, TrainError};
use rand::Rng;
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// The auxiliary-task inputs of one mini-batch.
pub struct AuxBatch {
    pub prt: Option<PrtBatch>,
    /// The random crop: PST/PCT read it, and so does the whole branch
    /// (Section 3.2), since MSS runs on it as a whole.
    pub patch: Option<PatchBatch>,
}

fn prt_spec(hp: &HyperParams) -> PrtSpec {
    PrtSpec {
        resize: hp.image_resize,
        patches_per_side: i64::from(hp.patches_per_side),
        inner_crop: hp.prt_patch_inner_crop,
        output: hp.input_size,
        jitter: Default::default(),
    }
}

fn patch_spec(hp: &HyperParams) -> PatchSpec {
    PatchSpec {
        resize: hp.image_resize,
        crop: hp.pst_pct_crop,
        output: hp.input_size,
        dominant: hp.dominant_components as usize,
    }
}

/// Builds the inputs the model's enabled tasks need from the cached images
/// `index` (lines 3–7 of Algorithm 1).
pub fn aux_batch(
    model: &SplNet,
    cache: &ImageCache,
    index: &Tensor,
    hp: &HyperParams,
    device: Device,
    rng: &mut impl Rng,
) -> Result<AuxBatch> {
    let images = cache.images.index_select(0, index).to_device(device);
    let masks = cache
        .masks
        .as_ref()
        .map(|m| m.index_select(0, index).to_device(device));
    let prt = model
        .config
        .prt
        .then(|| prt_batch(&images, masks.as_ref(), &prt_spec(hp), rng))
        .transpose()?;
    let patch = if model.config.pst || model.config.pct {
        let masks = masks.as_ref().ok_or_else(|| {
            TrainingError::Setting("PST/PCT need part masks; the cached images have none".into())
        })?;
        Some(patch_batch(&images, masks, &patch_spec(hp), rng)?)
    } else {
        None
    };
    Ok(AuxBatch { prt, patch })
}

/// Kd updates of D on (d_agg, d_W) taken as fixed inputs: D learns to call
/// the fused local feature real and the whole branch's fake (Eq. 7). Only
/// D's variables change. Returns the last D loss.
pub fn discriminator_step(
    model: &SplNet,
    whole: &Tensor,
    agg: &Tensor,
    optimizer: &mut GroupOptimizer,
    steps: u32,
    at: StepAt,
) -> Result<f64> {
    let (whole, agg) = (whole.detach(), agg.detach());
    let mut last = 0.0;
    for _ in 0..steps {
        let (Some(real), Some(fake)) = (model.discriminate(&agg), model.discriminate(&whole))
        else {
            return Err(TrainingError::Setting(
                "a discriminator optimizer was given for a model without D".into(),
            ));
        };
        let loss = losses::discriminator_loss(&real, &fake);
        let mut terms = LossTerms::default();
        terms.push("discriminator", loss.shallow_clone());
        last = terms.values(at)?[0].1;
        optimizer.minimise(&loss)?;
    }
    Ok(last)
}

/// One batch of the auxiliary tasks: D steps first (when adversarial), then
/// the joint loss L_PRT + λ1 L_PST + λ2 (L_PCT + alignment + SME) with D
/// fixed. Returns every term (checked finite) and the joint loss to
/// minimise over the network group.
pub fn auxiliary_step(
    model: &SplNet,
    batch: &AuxBatch,
    hp: &HyperParams,
    toggles: &Toggles,
    discriminator: Option<&mut GroupOptimizer>,
    at: StepAt,
) -> Result<(Vec<(&'static str, f64)>, Tensor)> {
    let mut terms = LossTerms::default();
    let mut recorded = Vec::new();
    let mut total: Option<Tensor> = None;
    if let Some(prt) = &batch.prt {
        let size = prt.input.size();
        let m2 = size[1] / 3;
        let patches = prt.input.view([size[0], m2, 3, size[2], size[3]]);
        if let Some(logits) = model.forward_prt(&patches, true) {
            let loss = losses::prt_loss(&logits.patch, &logits.angle, &prt.patch, &prt.angle);
            terms.push("prt", loss.shallow_clone());
            add(&mut total, loss, 1.0);
        }
    }
    if let Some(patch) = &batch.patch {
        let out = model.forward_patch(&patch.input, true);
        if let Some(logits) = &out.pst {
            let loss = losses::pst_loss(logits, &patch.pixels, hp.label_smoothing);
            terms.push("pst", loss.shallow_clone());
            add(&mut total, loss, hp.lambda_pst);
        }
        if let Some(logits) = &out.pct {
            let loss = losses::pct_loss(logits, &patch.components);
            terms.push("pct", loss.shallow_clone());
            add(&mut total, loss, hp.lambda_pct);
            if let Some((whole, agg)) = model.alignment_pair(&out.mss) {
                let alignment = match (toggles.alignment, discriminator) {
                    (Alignment::Adversarial, Some(optimizer)) => {
                        let d = discriminator_step(
                            model,
                            whole,
                            agg,
                            optimizer,
                            hp.discriminator_steps,
                            at,
                        )?;
                        recorded.push(("discriminator", d));
                        adversarial_alignment(model, whole, agg)
                    }
                    (Alignment::L2, _) => Some(losses::l2_alignment(whole, agg)),
                    _ => None,
                };
                if let Some(loss) = alignment {
                    terms.push("alignment", loss.shallow_clone());
                    add(&mut total, loss, hp.lambda_pct);
                }
            }
            let d4 = &out.mss.d4;
            if let (true, Some(u), Some(m), Some(l)) = (
                toggles.sme,
                d4.get(&Region::Upper),
                d4.get(&Region::Middle),
                d4.get(&Region::Lower),
            ) {
                let loss = losses::sme_loss(u, m, l);
                terms.push("sme", loss.shallow_clone());
                add(&mut total, loss, hp.lambda_pct);
            }
        }
    }
    let total = total.ok_or_else(|| {
        TrainingError::Setting("the model has no auxiliary task to train in stage 1".into())
    })?;
    terms.push("loss", total.shallow_clone());
    recorded.extend(terms.values(at)?);
    Ok((recorded, total))
}

/// Adds `weight * term` to the joint loss.
fn add(total: &mut Option<Tensor>, term: Tensor, weight: f64) {
    let weighted = term * weight;
    *total = Some(match total.take() {
        Some(sum) => sum + weighted,
        None => weighted,
    });
}

/// With D fixed: R_W's non-saturating side of Eq. 6, −log D(d_W), plus the
/// same pull on g, −log(1 − D(d_agg)), written as the generator loss of the
/// negated logit (σ(−x) = 1 − σ(x)). Eq. 16 alone gives g no gradient when W
/// is on; this term trains g to meet d_W half-way (docs/model.md).
fn adversarial_alignment(model: &SplNet, whole: &Tensor, agg: &Tensor) -> Option<Tensor> {
    let whole_logit = model.discriminate(whole)?;
    let agg_logit = model.discriminate(agg)?;
    Some(losses::generator_loss(&whole_logit) + losses::generator_loss(&-agg_logit))
}

/// Trains the stage-1 model `model` (variables in `vs`) for the profile's
/// stage-1 epochs on the unlabeled training images.
pub fn train(
    model: &SplNet,
    vs: &VarStore,
    unlabeled: &ImageCache,
    hp: &HyperParams,
    toggles: &Toggles,
    seed: u64,
    metrics: &mut dyn MetricsSink,
) -> Result<()> {
    let mut rng = seeded(seed, "stage1");
    let mut network = GroupOptimizer::adam(vs, ParamGroup::Network, hp)?
        .ok_or_else(|| TrainingError::Setting("the stage-1 model has no variables".into()))?;
    let mut discriminator = GroupOptimizer::adam(vs, ParamGroup::Discriminator, hp)?;
    for epoch in 0..hp.stage1_epochs {
        let started = Instant::now();
        let lr = learning_rate(hp.learning_rate, hp.warmup_epochs, epoch);
        network.set_learning_rate(lr)?;
        if let Some(d) = discriminator.as_mut() {
            d.set_learning_rate(lr)?;
        }
        let mut means = EpochMeans::default();
        for (step, index) in batches(unlabeled.len(), hp.stage1_batch, &mut rng)?
            .iter()
            .enumerate()
        {
            let at = StepAt {
                stage: Stage::Pretrain,
                epoch: epoch + 1,
                step: step + 1,
            };
            let batch = aux_batch(model, unlabeled, index, hp, vs.device(), &mut rng)?;
            let (values, total) =
                auxiliary_step(model, &batch, hp, toggles, discriminator.as_mut(), at)?;
            network.minimise(&total)?;
            means.add(&values);
        }
        let mut row = means.means();
        row.push(("lr", lr));
        row.push(("seconds", started.elapsed().as_secs_f64()));
        metrics.epoch("stage1", epoch + 1, hp.stage1_epochs, &row)?;
    }
    Ok(())
}

/// Writes the stage-1 variables to `path` atomically.
pub fn save(vs: &VarStore, path: &Path) -> Result<()> {
    write_atomically(path, |tmp| {
        vs.save(tmp)
            .map_err(|e| TrainError::Failed(format!("saving stage 1 to {}: {e}", tmp.display())))
    })?;
    Ok(())
}
