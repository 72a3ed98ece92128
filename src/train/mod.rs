//! Training SPL-Net (issue #5): stage 1 of Algorithm 1 ([`stage1`]), stage 2
//! and the supervised variants ([`stage2`]), SPL Semi ([`one_stage`]), the
//! learning-rate schedule ([`schedule`]) and evaluation ([`evaluate`]).
//! [`SplTrainer`] is the runner's [`Trainer`]: it turns a stored run into
//! data, models and results. Choices the paper leaves open are listed in
//! docs/model.md ("Training").

pub mod data;
pub mod evaluate;
pub mod one_stage;
pub mod schedule;
pub mod stage1;
pub mod stage2;

use crate::data::DataError;
use crate::experiment::DatasetSpec;
use crate::model::{stats, ModelConfig, ModelError, ParamGroup, SplNet, Stage};
use crate::profile::HyperParams;
use crate::registry::{Schedule, Variant};
use crate::runner::{MetricsSink, Stage1Cache, Stage1Claim, TrainError, TrainInput, Trainer};
use crate::store::{MeasuredSpeed, ModelStat, RunResults};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tch::nn::VarStore;
use tch::{COptimizer, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// A loss went NaN or infinite: training stops there.
    #[error("{stage}, epoch {epoch}, step {step}: loss term `{term}` is {value}")]
    NonFinite {
        stage: Stage,
        epoch: u32,
        step: usize,
        term: String,
        value: f64,
    },
    #[error("profile: {0}")]
    Profile(String),
    #[error("{0}")]
    Setting(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error(transparent)]
    Runner(#[from] TrainError),
}

pub type Result<T> = std::result::Result<T, TrainingError>;

impl From<TrainingError> for TrainError {
    fn from(error: TrainingError) -> TrainError {
        match error {
            TrainingError::Runner(inner) => inner,
            other => TrainError::Failed(other.to_string()),
        }
    }
}

/// Where a step is, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct StepAt {
    pub stage: Stage,
    pub epoch: u32,
    pub step: usize,
}

/// Named scalar loss terms of one step, checked finite as they are added.
#[derive(Debug, Default)]
pub struct LossTerms {
    pub terms: Vec<(&'static str, Tensor)>,
}

impl LossTerms {
    pub fn push(&mut self, name: &'static str, value: Tensor) {
        self.terms.push((name, value));
    }

    /// Every term as a number; the first NaN or infinite one is an error.
    pub fn values(&self, at: StepAt) -> Result<Vec<(&'static str, f64)>> {
        self.terms
            .iter()
            .map(|(name, t)| {
                let value = t.double_value(&[]);
                if value.is_finite() {
                    Ok((*name, value))
                } else {
                    Err(TrainingError::NonFinite {
                        stage: at.stage,
                        epoch: at.epoch,
                        step: at.step,
                        term: (*name).to_string(),
                        value,
                    })
                }
            })
            .collect()
    }
}

/// Adam over one parameter group of a model (Algorithm 1 steps D and the
/// network with separate optimizers).
pub struct GroupOptimizer {
    adam: COptimizer,
}

impl GroupOptimizer {
    /// `None` when the model has no variable in `group`.
    pub fn adam(vs: &VarStore, group: ParamGroup, hp: &HyperParams) -> Result<Option<Self>> {
        let Some(variables) = crate::model::parameter_groups(vs).remove(&group) else {
            return Ok(None);
        };
        let mut adam = COptimizer::adam(
            hp.learning_rate,
            hp.adam_beta1,
            hp.adam_beta2,
            hp.weight_decay,
            1e-8,
            false,
        )?;
        for (_, tensor) in &variables {
            adam.add_parameters(tensor, 0)?;
        }
        Ok(Some(GroupOptimizer { adam }))
    }

    pub fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        Ok(self.adam.set_learning_rate(lr)?)
    }

    /// Zeroes this group's gradients, back-propagates `loss`, steps this
    /// group only (other groups' gradients are left for their own step to
    /// clear).
    pub fn minimise(&mut self, loss: &Tensor) -> Result<()> {
        self.adam.zero_grad()?;
        loss.backward();
        Ok(self.adam.step()?)
    }
}

/// Per-epoch averages of named values.
#[derive(Debug, Default)]
pub struct EpochMeans {
    sums: Vec<(&'static str, f64, u32)>,
}

impl EpochMeans {
    pub fn add(&mut self, values: &[(&'static str, f64)]) {
        for &(name, value) in values {
            match self.sums.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1;
                }
                None => self.sums.push((name, value, 1)),
            }
        }
    }

    pub fn means(&self) -> Vec<(&'static str, f64)> {
        self.sums
            .iter()
            .map(|&(name, sum, n)| (name, sum / f64::from(n)))
            .collect()
    }
}

/// Seeds libtorch and returns the batch RNG of one training phase, so that
/// each phase starts from the same state whether or not an earlier phase
/// ran in this process (a reused stage 1 leaves stage 2 unchanged).
pub fn seeded(seed: u64, phase: &str) -> ChaCha8Rng {
    let digest = Sha256::digest(format!("{seed}/{phase}").as_bytes());
    let phase_seed = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    tch::manual_seed((phase_seed >> 1) as i64);
    ChaCha8Rng::seed_from_u64(phase_seed)
}

/// A shuffled epoch of `len` samples in mini-batches of `size` (index
/// tensors). A last batch of one sample is dropped: batch norm cannot train
/// on it.
pub fn batches(len: usize, size: u32, rng: &mut impl rand::Rng) -> Result<Vec<Tensor>> {
    use rand::seq::SliceRandom;
    if len < 2 || size < 2 {
        return Err(TrainingError::Setting(format!(
            "training needs batches of at least 2 images (batch norm); got {len} image(s) in batches of {size}"
        )));
    }
    let mut order: Vec<i64> = (0..len as i64).collect();
    order.shuffle(rng);
    Ok(order
        .chunks(size as usize)
        .filter(|chunk| chunk.len() > 1)
        .map(Tensor::from_slice)
        .collect())
}

/// Cached u8 images `[N, 3, S, S]` as network input in [-1, 1] on `device`,
/// the range of the PST/PCT patches.
pub fn to_input(images: &Tensor, device: tch::Device) -> Tensor {
    (images.to_device(device).to_kind(tch::Kind::Float) / 255.0 - 0.5) / 0.5
}

/// What determines a stage-1 model: its architecture, the stage-1 loss
/// toggles, every hyper-parameter stage 1 reads, the data and the seed.
/// SPL-Net and SPL w/o whole, whose stage 1 is identical, share it.
#[derive(Serialize)]
struct Stage1Identity<'a> {
    model: ModelConfig,
    sme: bool,
    alignment: crate::registry::Alignment,
    hyper: HyperParams,
    dataset: &'a DatasetSpec,
    seed: u64,
}

/// The stage-1 key of a variant, `None` when it has no stage 1.
pub fn stage1_key(
    variant: &Variant,
    hp: &HyperParams,
    dataset: &DatasetSpec,
    seed: u64,
) -> Option<String> {
    let model = ModelConfig::new(variant, hp, Stage::Pretrain).ok()?;
    let hyper = HyperParams {
        // Stage 2 alone reads these.
        stage2_epochs: 0,
        stage2_batch: 0,
        stage2_min_steps: 0,
        ..hp.clone()
    };
    let identity = Stage1Identity {
        model,
        sme: variant.toggles.sme,
        alignment: variant.toggles.alignment,
        hyper,
        dataset,
        seed,
    };
    let json = serde_json::to_string(&identity).expect("plain data serializes");
    Some(hex::encode(Sha256::digest(json.as_bytes())))
}

/// The real trainer: SPL-Net per the run's variant, profile and dataset.
#[derive(Debug, Clone, Default)]
pub struct SplTrainer;

impl Trainer for SplTrainer {
    fn train(
        &self,
        input: &TrainInput,
        metrics: &mut dyn MetricsSink,
        stage1_cache: &dyn Stage1Cache,
    ) -> std::result::Result<RunResults, TrainError> {
        Ok(train_run(input, metrics, stage1_cache)?)
    }
}

fn train_run(
    input: &TrainInput,
    metrics: &mut dyn MetricsSink,
    stage1_cache: &dyn Stage1Cache,
) -> Result<RunResults> {
    let spec = &input.spec;
    let variant = Variant::stored(&spec.variant_name, spec.toggles, spec.hyper.clone());
    let profile = input.profile.resolve().map_err(TrainingError::Profile)?;
    let hp = profile.resolve(&variant.hyper);
    let artifacts = std::path::Path::new(&spec.artifacts);
    let data = data::RunData::load(&input.dataset, artifacts, &variant, &hp, spec)?;
    let device = input.device;
    // Models are initialised from the seed alone, so a reused stage 1 and a
    // freshly trained one lead to the same stage 2.
    seeded(spec.seed, "init");
    let mut model_stats = Vec::new();

    let mut far_vs = VarStore::new(device);
    let far = match variant.toggles.schedule {
        Schedule::OneStage => {
            let model = SplNet::build(
                &far_vs.root(),
                &variant,
                &hp,
                Stage::OneStage,
                &data.attributes,
            )?;
            model_stats.push(model_stat(&model, &far_vs));
            model
        }
        _ => {
            let model = SplNet::build(&far_vs.root(), &variant, &hp, Stage::Far, &data.attributes)?;
            if let Some(key) = &spec.stage1_key {
                let mut stage1_vs = VarStore::new(device);
                let stage1 = SplNet::build(
                    &stage1_vs.root(),
                    &variant,
                    &hp,
                    Stage::Pretrain,
                    &data.attributes,
                )?;
                model_stats.push(model_stat(&stage1, &stage1_vs));
                let path = match stage1_cache.acquire(key)? {
                    Stage1Claim::Reuse { path } => path,
                    Stage1Claim::Train { path } => {
                        let unlabeled = data.unlabeled.as_ref().ok_or_else(|| {
                            TrainingError::Setting("stage 1 without unlabeled images".into())
                        })?;
                        stage1::train(
                            &stage1,
                            &stage1_vs,
                            unlabeled,
                            &hp,
                            &variant.toggles,
                            spec.seed,
                            metrics,
                        )?;
                        stage1::save(&stage1_vs, &path)?;
                        stage1_cache.register(key, &path)?;
                        path
                    }
                };
                stage2::load_pretrained(&mut stage1_vs, &path, &mut far_vs)?;
            }
            model_stats.push(model_stat(&model, &far_vs));
            model
        }
    };
    let results = match variant.toggles.schedule {
        Schedule::OneStage => one_stage::train(
            &far,
            &far_vs,
            &data,
            &hp,
            &variant.toggles,
            spec.seed,
            metrics,
        )?,
        _ => stage2::train(&far, &far_vs, &data, &hp, spec.seed, metrics)?,
    };
    if let Some(far_stat) = model_stats.last_mut() {
        far_stat.speed = Some(speed_of(&far, &variant, device));
    }
    let predictions = results
        .test_predictions
        .map(|split| split.record(&input.artifacts, &input.run_id))
        .transpose()?;
    Ok(RunResults {
        val: results.val,
        test: results.test,
        model_stats,
        predictions,
    })
}

fn model_stat(model: &SplNet, vs: &VarStore) -> ModelStat {
    let measured = stats::measure(model, vs);
    ModelStat {
        stage: model.config.stage.to_string(),
        params: measured.params as i64,
        flops: measured.flops as i64,
        speed: None,
    }
}

/// Images per pass of the throughput measurement (Tables 10–11 report
/// images/s at a batch larger than one).
pub const THROUGHPUT_BATCH: i64 = 32;

/// Speeds measured in this process, by variant hash and device: a worker
/// measures each variant once per device, not once per run.
static SPEEDS: std::sync::Mutex<Vec<(String, String, MeasuredSpeed)>> =
    std::sync::Mutex::new(Vec::new());

/// The FAR model's speed in eval mode under `no_grad` (median of 5 timed
/// passes after 2 untimed ones), measured once per variant and device.
fn speed_of(model: &SplNet, variant: &Variant, device: tch::Device) -> MeasuredSpeed {
    let (hash, device_name) = (variant.hash.to_string(), crate::device::describe(device));
    let known = |cache: &Vec<(String, String, MeasuredSpeed)>| {
        cache
            .iter()
            .find(|(h, d, _)| *h == hash && *d == device_name)
            .map(|(_, _, s)| s.clone())
    };
    if let Some(speed) = SPEEDS.lock().ok().and_then(|cache| known(&cache)) {
        return speed;
    }
    let measured = stats::speed(model, device, THROUGHPUT_BATCH, 2, 5);
    let speed = MeasuredSpeed {
        device: device_name.clone(),
        latency_ms: measured.latency_ms,
        images_per_s: measured.images_per_s,
        batch: measured.batch,
    };
    if let Ok(mut cache) = SPEEDS.lock() {
        cache.push((hash, device_name, speed.clone()));
    }
    speed
}
