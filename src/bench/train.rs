//! SPL-Net training and inference throughput in ablate against a PyTorch
//! eager twin of the same model, same batch, same threads, same input
//! shapes. ablate's side runs the trainer's own functions
//! ([`auxiliary_step`] and [`far_loss`] with [`GroupOptimizer`]), so it times
//! exactly what a run does per step, minus batch building (see
//! [`super::pipeline`] for that).

use super::{per_second, BenchError, Repeats, Result, TempDir};
use crate::data::ImageCache;
use crate::groups::{LabelSet, Region, CELEBA, COMPONENTS};
use crate::model::{ParamGroup, SplNet, Stage};
use crate::profile::{HyperParams, Profile};
use crate::registry::Variant;
use crate::train::stage1::{aux_batch, auxiliary_step, AuxBatch};
use crate::train::stage2::far_loss;
use crate::train::{seeded, GroupOptimizer, StepAt};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The variant whose models are timed: the full method, every part on.
pub const VARIANT: &str = "SPL-Net";

/// Trainable parameters of the two models, which the twin must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Params {
    pub stage1: u64,
    pub stage2: u64,
}

/// What the twin needs to build and feed the same models.
#[derive(Debug, Serialize)]
struct TwinConfig<'a> {
    #[serde(flatten)]
    hp: &'a HyperParams,
    threads: usize,
    device: String,
    warmup: usize,
    iters: usize,
    params_stage1: u64,
    params_stage2: u64,
    /// Label indices per region (whole, upper, middle, lower).
    component_groups: Vec<Vec<usize>>,
    attribute_groups: Vec<Vec<usize>>,
}

fn groups(labels: &LabelSet) -> Vec<Vec<usize>> {
    Region::ALL.iter().map(|&r| labels.indices(r)).collect()
}

/// Random u8 images (and part masks, labels) in a cache, as the loader
/// would hold them.
pub fn random_cache(n: i64, size: i64, attributes: &LabelSet, device: Device) -> ImageCache {
    let options = (Kind::Uint8, device);
    let labels = Tensor::randint_low(-1, 2, [n, attributes.len() as i64], (Kind::Int8, device));
    ImageCache {
        images: Tensor::randint(256, [n, 3, size, size], options),
        masks: Some(Tensor::randint(
            COMPONENTS.len() as i64,
            [n, size, size],
            options,
        )),
        labels,
        indices: (0..n as usize).collect(),
        size,
    }
}

fn at(stage: Stage) -> StepAt {
    StepAt {
        stage,
        epoch: 1,
        step: 1,
    }
}

/// The full method's models at `profile`, trained and run on `device`.
pub struct Models {
    pub hp: HyperParams,
    pub variant: Variant,
    stage1_vs: VarStore,
    stage1: SplNet,
    far_vs: VarStore,
    far: SplNet,
}

impl Models {
    pub fn build(variant: &Variant, profile: &Profile, device: Device) -> Result<Models> {
        let hp = profile.resolve(&variant.hyper);
        seeded(0, "bench");
        let stage1_vs = VarStore::new(device);
        let stage1 = SplNet::build(&stage1_vs.root(), variant, &hp, Stage::Pretrain, &CELEBA)?;
        let far_vs = VarStore::new(device);
        let far = SplNet::build(&far_vs.root(), variant, &hp, Stage::Far, &CELEBA)?;
        Ok(Models {
            hp,
            variant: variant.clone(),
            stage1_vs,
            stage1,
            far_vs,
            far,
        })
    }

    pub fn params(&self) -> Params {
        let count = |vs: &VarStore| {
            vs.trainable_variables()
                .iter()
                .map(|t| t.numel() as u64)
                .sum()
        };
        Params {
            stage1: count(&self.stage1_vs),
            stage2: count(&self.far_vs),
        }
    }

    pub fn device(&self) -> Device {
        self.far_vs.device()
    }

    /// A stage-1 batch built by the trainer's own pipeline from random
    /// images and masks.
    pub fn stage1_batch(&self) -> Result<AuxBatch> {
        let hp = &self.hp;
        let n = i64::from(hp.stage1_batch);
        let cache = random_cache(n, hp.image_resize, &CELEBA, Device::Cpu);
        let index = Tensor::arange(n, (Kind::Int64, Device::Cpu));
        let mut rng = seeded(0, "bench-batch");
        Ok(aux_batch(
            &self.stage1,
            &cache,
            &index,
            hp,
            self.device(),
            &mut rng,
        )?)
    }

    /// One training step of stage 1 on `batch`, as `stage1::train` runs it.
    pub fn stage1_step(
        &self,
        batch: &AuxBatch,
        network: &mut GroupOptimizer,
        discriminator: Option<&mut GroupOptimizer>,
    ) -> Result<()> {
        let (_, total) = auxiliary_step(
            &self.stage1,
            batch,
            &self.hp,
            &self.variant.toggles,
            discriminator,
            at(Stage::Pretrain),
        )?;
        network.minimise(&total)?;
        Ok(())
    }

    /// The optimizers of stage 1: the network's, and D's when it exists.
    pub fn stage1_optimizers(&self) -> Result<(GroupOptimizer, Option<GroupOptimizer>)> {
        let network = GroupOptimizer::adam(&self.stage1_vs, ParamGroup::Network, &self.hp)?
            .ok_or_else(|| BenchError::Setting("the stage-1 model has no variables".into()))?;
        let d = GroupOptimizer::adam(&self.stage1_vs, ParamGroup::Discriminator, &self.hp)?;
        Ok((network, d))
    }

    pub fn far_optimizer(&self) -> Result<GroupOptimizer> {
        GroupOptimizer::adam(&self.far_vs, ParamGroup::Network, &self.hp)?
            .ok_or_else(|| BenchError::Setting("the FAR model has no variables".into()))
    }

    /// One FAR step on the images `index` of `labeled`, as `stage2::fit` runs it.
    pub fn stage2_step(
        &self,
        labeled: &ImageCache,
        index: &Tensor,
        optimizer: &mut GroupOptimizer,
    ) -> Result<()> {
        let (_, loss) = far_loss(&self.far, labeled, index, self.device(), at(Stage::Far))?;
        optimizer.minimise(&loss)?;
        Ok(())
    }

    /// The FAR model on `images` in eval mode, without autograd.
    pub fn infer(&self, images: &Tensor) {
        tch::no_grad(|| {
            std::hint::black_box(self.far.forward_far(images, false));
        });
    }

    /// The inputs and optimizers of every measurement, ready to time.
    pub fn prepare(&self) -> Result<Prepared<'_>> {
        let device = self.device();
        let n = i64::from(self.hp.stage2_batch);
        let labeled = random_cache(n, self.hp.input_size, &CELEBA, device);
        let (network, discriminator) = self.stage1_optimizers()?;
        Ok(Prepared {
            models: self,
            stage1_batch: self.stage1_batch()?,
            network,
            discriminator,
            images: crate::train::to_input(&labeled.images, device),
            index: Tensor::arange(n, (Kind::Int64, device)),
            labeled,
            far: self.far_optimizer()?,
        })
    }
}

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Stage1,
    Stage2,
    Inference,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Stage1, Measure::Stage2, Measure::Inference];

    /// The twin's name for it.
    fn name(self) -> &'static str {
        match self {
            Measure::Stage1 => "stage1",
            Measure::Stage2 => "stage2",
            Measure::Inference => "inference",
        }
    }
}

/// A model's measurements with their inputs and optimizer state.
pub struct Prepared<'a> {
    models: &'a Models,
    stage1_batch: AuxBatch,
    network: GroupOptimizer,
    discriminator: Option<GroupOptimizer>,
    labeled: ImageCache,
    index: Tensor,
    images: Tensor,
    far: GroupOptimizer,
}

impl Prepared<'_> {
    /// Images per second of `measure`, device work included.
    pub fn rate(&mut self, measure: Measure, repeats: Repeats) -> Result<f64> {
        let models = self.models;
        let device = models.device();
        let sync = || {
            if let Device::Cuda(index) = device {
                tch::Cuda::synchronize(index as i64);
            }
        };
        let hp = &models.hp;
        match measure {
            Measure::Stage1 => per_second(hp.stage1_batch as usize, repeats, || {
                models.stage1_step(
                    &self.stage1_batch,
                    &mut self.network,
                    self.discriminator.as_mut(),
                )?;
                sync();
                Ok(())
            }),
            Measure::Stage2 => per_second(hp.stage2_batch as usize, repeats, || {
                models.stage2_step(&self.labeled, &self.index, &mut self.far)?;
                sync();
                Ok(())
            }),
            Measure::Inference => per_second(hp.stage2_batch as usize, repeats, || {
                models.infer(&self.images);
                sync();
                Ok(())
            }),
        }
    }
}

/// The PyTorch twin, running: it builds its models once and answers
/// measurement requests, so that they interleave with ablate's own.
pub struct Twin {
    child: Child,
    answers: BufReader<ChildStdout>,
    pub torch: String,
    pub threads: usize,
    _config: TempDir,
}

#[derive(Deserialize)]
struct Hello {
    torch: String,
    threads: usize,
}

#[derive(Deserialize)]
struct Answer {
    rate: f64,
}

impl Twin {
    /// Starts `python script` on the same models and settings; it fails (and
    /// so does this) when its parameter counts differ from `params`.
    pub fn start(
        python: &Path,
        script: &Path,
        models: &Models,
        params: Params,
        threads: usize,
        repeats: Repeats,
    ) -> Result<Twin> {
        let config = TwinConfig {
            hp: &models.hp,
            threads,
            device: match models.device() {
                Device::Cuda(i) => format!("cuda:{i}"),
                _ => "cpu".into(),
            },
            warmup: repeats.warmup,
            iters: repeats.iters,
            params_stage1: params.stage1,
            params_stage2: params.stage2,
            component_groups: groups(&COMPONENTS),
            attribute_groups: groups(&CELEBA),
        };
        let dir = TempDir::new("twin")?;
        let path = dir.path().join("twin.json");
        std::fs::write(
            &path,
            serde_json::to_vec(&config).expect("plain data serializes"),
        )?;
        let mut child = Command::new(python)
            .arg(script)
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                BenchError::Twin(format!(
                    "starting {} {}: {e}",
                    python.display(),
                    script.display()
                ))
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut twin = Twin {
            child,
            answers: BufReader::new(stdout),
            torch: String::new(),
            threads: 0,
            _config: dir,
        };
        let hello: Hello = twin.read()?;
        (twin.torch, twin.threads) = (hello.torch, hello.threads);
        Ok(twin)
    }

    fn read<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let mut line = String::new();
        self.answers.read_line(&mut line)?;
        if line.is_empty() {
            let status = self.child.wait()?;
            return Err(BenchError::Twin(format!(
                "exited with {status} (its error is above)"
            )));
        }
        serde_json::from_str(&line)
            .map_err(|e| BenchError::Twin(format!("reading its answer {line:?}: {e}")))
    }

    /// The twin's images per second of `measure`.
    pub fn rate(&mut self, measure: Measure) -> Result<f64> {
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{}", measure.name())?;
        stdin.flush()?;
        Ok(self.read::<Answer>()?.rate)
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        // End of input ends the twin.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
