//! Model statistics: parameters counted from the real VarStore, FLOPs
//! (multiply-adds) metered per layer during a real forward pass, and
//! inference latency/throughput on a device.

use super::layers::count_macs;
use super::{module_of, ModelError, SplNet, Stage};
use crate::groups::LabelSet;
use crate::profile::Profile;
use crate::registry::{Schedule, Variant};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ModuleStats {
    /// Trainable parameters (batch-norm running statistics excluded).
    pub params: u64,
    /// Multiply-adds of one sample's forward pass.
    pub flops: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelStats {
    pub stage: Stage,
    pub params: u64,
    pub flops: u64,
    /// Per module: `mss.tb`, `mss.whole`, …, `prt`, `pst`, `pct`, `far`, `discriminator`.
    pub modules: BTreeMap<String, ModuleStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantStats {
    pub variant: String,
    pub profile: String,
    /// The pre-training model (stage 1 of two-stage variants, the joint model
    /// of one-stage ones); `None` for variants trained on labels only.
    pub stage1: Option<ModelStats>,
    /// The FAR model (fine-tuned in stage 2, used for inference).
    pub stage2: ModelStats,
}

/// The model that pre-trains a variant, if any.
pub fn pretraining_stage(variant: &Variant) -> Option<Stage> {
    let t = &variant.toggles;
    match t.schedule {
        Schedule::TwoStage if t.has_auxiliary_task() => Some(Stage::Pretrain),
        Schedule::OneStage => Some(Stage::OneStage),
        _ => None,
    }
}

/// Builds `variant`'s model for `stage` in a fresh store on `device`.
pub fn build(
    variant: &Variant,
    profile: &Profile,
    stage: Stage,
    attributes: &LabelSet,
    device: Device,
) -> Result<(VarStore, SplNet), ModelError> {
    let vs = VarStore::new(device);
    let hp = profile.resolve(&variant.hyper);
    let config = super::ModelConfig::new(variant, &hp, stage)?;
    let model = SplNet::new(&vs.root(), config, attributes);
    Ok((vs, model))
}

/// One sample through every path the stage trains or infers with: PRT on
/// its m² patches, the PST/PCT patch, D on d_agg and d4^W, FAR on an image.
fn forward_once(model: &SplNet, device: Device) {
    let cfg = &model.config;
    let s = cfg.input_size;
    let image = || Tensor::zeros([1, cfg.heads.in_channels, s, s], (Kind::Float, device));
    if cfg.stage != Stage::Far {
        let m2 = cfg.heads.patches_per_side * cfg.heads.patches_per_side;
        let patches = Tensor::zeros([1, m2, cfg.heads.in_channels, s, s], (Kind::Float, device));
        model.forward_prt(&patches, false);
        if cfg.pst || cfg.pct {
            let out = model.forward_patch(&image(), false);
            if let Some((whole, agg)) = model.alignment_pair(&out.mss) {
                model.discriminate(whole);
                model.discriminate(agg);
            }
        }
    }
    model.forward_far(&image(), false);
}

/// Parameters and FLOPs of `model`, whose variables live in `vs`.
pub fn measure(model: &SplNet, vs: &VarStore) -> ModelStats {
    let mut modules: BTreeMap<String, ModuleStats> = BTreeMap::new();
    for (name, t) in vs.variables() {
        if t.requires_grad() {
            modules.entry(module_of(&name)).or_default().params += t.numel() as u64;
        }
    }
    let ((), macs) = count_macs(|| tch::no_grad(|| forward_once(model, vs.device())));
    for (layer, count) in macs {
        modules.entry(module_of(&layer)).or_default().flops += count;
    }
    ModelStats {
        stage: model.config.stage,
        params: modules.values().map(|m| m.params).sum(),
        flops: modules.values().map(|m| m.flops).sum(),
        modules,
    }
}

pub fn variant_stats(
    variant: &Variant,
    profile: &Profile,
    attributes: &LabelSet,
    device: Device,
) -> Result<VariantStats, ModelError> {
    let stats = |stage| -> Result<ModelStats, ModelError> {
        let (vs, model) = build(variant, profile, stage, attributes, device)?;
        Ok(measure(&model, &vs))
    };
    Ok(VariantStats {
        variant: variant.name.clone(),
        profile: profile.name.clone(),
        stage1: pretraining_stage(variant).map(stats).transpose()?,
        stage2: stats(Stage::Far)?,
    })
}

/// Inference speed of a FAR model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    /// Milliseconds per image at batch 1.
    pub latency_ms: f64,
    /// Images per second at `batch`.
    pub images_per_s: f64,
    pub batch: i64,
}

/// Times `model.forward_far` under `no_grad`, after `warmup` untimed passes:
/// the median of `iters` timed passes (robust to a busy machine), at batch 1
/// and at `batch`.
pub fn speed(model: &SplNet, device: Device, batch: i64, warmup: usize, iters: usize) -> Speed {
    let s = model.config.input_size;
    let c = model.config.heads.in_channels;
    let seconds_per_pass = |n: i64| {
        let images = Tensor::randn([n, c, s, s], (Kind::Float, device));
        tch::no_grad(|| {
            for _ in 0..warmup {
                model.forward_far(&images, false);
            }
            let mut times: Vec<f64> = (0..iters.max(1))
                .map(|_| {
                    synchronize(device);
                    let start = Instant::now();
                    model.forward_far(&images, false);
                    synchronize(device);
                    start.elapsed().as_secs_f64()
                })
                .collect();
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
    };
    Speed {
        latency_ms: seconds_per_pass(1) * 1e3,
        images_per_s: batch as f64 / seconds_per_pass(batch),
        batch,
    }
}

fn synchronize(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}
