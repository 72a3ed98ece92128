//! SPL-Net in tch, every component behind its variant toggle.
//!
//! One file per component family: [`backbone`] (TB), [`attention`] (SE,
//! CBAM, DCA), [`region`] (MSS: region branches and the fusion block),
//! [`heads`] (PRT, PST, PCT, FAR, baseline), [`discriminator`] (D),
//! [`losses`], [`layers`] (metered conv/linear) and [`stats`] (parameters,
//! FLOPs, latency). This file assembles them: [`ModelConfig`] says which
//! parts a variant uses at a stage, [`SplNet`] builds exactly those.
//!
//! Checkpoint paths mirror the module tree. MSS always lives under `mss`
//! (`mss.tb`, `mss.whole`, `mss.upper`, …, `mss.fusion`), in every stage, so
//! that [`transfer_pretrained`] moves the pre-trained MSS into the FAR model
//! by name.

pub mod attention;
pub mod backbone;
pub mod discriminator;
pub mod heads;
pub mod layers;
pub mod losses;
pub mod region;
pub mod stats;

use crate::groups::{LabelSet, Region, COMPONENTS};
use crate::profile::HyperParams;
use crate::registry::{Alignment, Schedule, Toggles, Variant};
use attention::AttentionConfig;
use backbone::BackboneConfig;
use discriminator::{Discriminator, DiscriminatorConfig};
use heads::{BaselineHead, HeadsConfig, PrtHead, PrtLogits, PstHead, RegionHeads};
use region::{Mss, MssConfig, MssOutput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use tch::nn::{self, VarStore};
use tch::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("variant {variant:?} has no stage 1: schedule = \"{schedule}\" with auxiliary tasks {tasks}")]
    NoStageOne {
        variant: String,
        schedule: Schedule,
        tasks: String,
    },
    #[error("variant {variant:?} is not one-stage (schedule = \"{schedule}\")")]
    NotOneStage { variant: String, schedule: Schedule },
    #[error("weight transfer: the stage-1 store holds no `mss.tb` variables, so it is not a stage-1 model")]
    NotStageOne,
    #[error("weight transfer: `{name}` is missing from the stage-1 store, which holds other variables of `{module}`")]
    Missing { name: String, module: String },
    #[error(
        "weight transfer: `{name}` has shape {stage1:?} in stage 1 but {far:?} in the FAR model"
    )]
    Shape {
        name: String,
        stage1: Vec<i64>,
        far: Vec<i64>,
    },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Which model of a variant's training is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Stage 1 of Algorithm 1: MSS + the auxiliary task heads.
    Pretrain,
    /// Stage 2 (and supervised variants): MSS + FAR heads, or TB + two FC.
    Far,
    /// SPL Semi: auxiliary heads and FAR heads on one MSS.
    OneStage,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Pretrain => "stage 1",
            Stage::Far => "stage 2",
            Stage::OneStage => "one-stage",
        })
    }
}

/// The FAR classifier: four region heads on MSS, or the baseline's two FC
/// layers on TB when the variant has no MSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FarKind {
    Regions,
    Baseline,
}

/// Everything that decides a model's variables: which parts exist and how
/// wide they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub stage: Stage,
    pub input_size: i64,
    pub mss: MssConfig,
    pub heads: HeadsConfig,
    pub prt: bool,
    pub pst: bool,
    /// PCT heads (they read the region branches, so only with MSS).
    pub pct: bool,
    pub far: Option<FarKind>,
    pub discriminator: Option<DiscriminatorConfig>,
}

/// Which MSS parts and heads one stage of a variant uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Parts {
    prt: bool,
    pst: bool,
    pct: bool,
    far: bool,
    whole: bool,
    locals: bool,
    fusion: bool,
    discriminator: bool,
}

impl Parts {
    /// Stage 1. Region branches exist only for PCT (PRT and PST read TB).
    /// The whole branch is trained when W is on or when it is aligned (SPL
    /// w/o whole aligns it in stage 1 and drops it in stage 2); otherwise
    /// the whole component group reads g. g exists for alignment or as
    /// that stand-in.
    fn pretrain(t: &Toggles) -> Parts {
        let pct = t.pct && t.mss;
        let aligned = pct && t.alignment != Alignment::None;
        let whole = pct && (t.whole_branch || aligned);
        Parts {
            prt: t.prt,
            pst: t.pst,
            pct,
            far: false,
            whole,
            locals: pct,
            fusion: pct && (aligned || !whole),
            discriminator: pct && t.alignment == Alignment::Adversarial,
        }
    }

    /// Stage 2: with MSS, the three local branches plus the whole branch
    /// (W on) or g in its place (W off).
    fn far(t: &Toggles) -> Parts {
        Parts {
            far: true,
            whole: t.mss && t.whole_branch,
            locals: t.mss,
            fusion: t.mss && !t.whole_branch,
            ..Parts::default()
        }
    }

    fn union(self, o: Parts) -> Parts {
        Parts {
            prt: self.prt || o.prt,
            pst: self.pst || o.pst,
            pct: self.pct || o.pct,
            far: self.far || o.far,
            whole: self.whole || o.whole,
            locals: self.locals || o.locals,
            fusion: self.fusion || o.fusion,
            discriminator: self.discriminator || o.discriminator,
        }
    }
}

impl ModelConfig {
    pub fn new(
        variant: &Variant,
        hp: &HyperParams,
        stage: Stage,
    ) -> Result<ModelConfig, ModelError> {
        let t = &variant.toggles;
        let parts = match stage {
            Stage::Pretrain if t.schedule == Schedule::TwoStage && t.has_auxiliary_task() => {
                Parts::pretrain(t)
            }
            Stage::Pretrain => {
                return Err(ModelError::NoStageOne {
                    variant: variant.name.clone(),
                    schedule: t.schedule,
                    tasks: format!("prt={} pst={} pct={}", t.prt, t.pst, t.pct),
                })
            }
            Stage::Far => Parts::far(t),
            Stage::OneStage if t.schedule == Schedule::OneStage => {
                Parts::pretrain(t).union(Parts::far(t))
            }
            Stage::OneStage => {
                return Err(ModelError::NotOneStage {
                    variant: variant.name.clone(),
                    schedule: t.schedule,
                })
            }
        };
        let widths = hp.widths;
        let branches = Region::ALL
            .into_iter()
            .filter(|r| match r {
                Region::Whole => parts.whole,
                _ => parts.locals,
            })
            .collect();
        Ok(ModelConfig {
            stage,
            input_size: hp.input_size,
            mss: MssConfig {
                backbone: BackboneConfig::resnet18(widths),
                attention: AttentionConfig::new(t.attention),
                branches,
                fusion: parts.fusion,
            },
            heads: HeadsConfig {
                in_channels: 3,
                feature_channels: widths[3],
                patches_per_side: hp.patches_per_side as i64,
                angles: 3,
                semantic_classes: COMPONENTS.len() as i64,
                cca_recurrence: 2,
            },
            prt: parts.prt,
            pst: parts.pst,
            pct: parts.pct,
            far: parts.far.then_some(if t.mss {
                FarKind::Regions
            } else {
                FarKind::Baseline
            }),
            discriminator: parts
                .discriminator
                .then(|| DiscriminatorConfig::for_channels(widths[3])),
        })
    }
}

#[derive(Debug)]
enum FarHead {
    Regions(RegionHeads),
    Baseline(BaselineHead),
}

/// What the PST/PCT patch produces.
#[derive(Debug)]
pub struct PatchOutput {
    /// PST per-pixel logits `[N, J, S, S]`.
    pub pst: Option<Tensor>,
    /// PCT logits per region (component groups of Table 1).
    pub pct: Option<BTreeMap<Region, Tensor>>,
    /// o1..o4, d4 per region branch and d_agg.
    pub mss: MssOutput,
}

/// What a labelled image produces.
#[derive(Debug)]
pub struct FarOutput {
    /// Attribute logits `[N, C]` in the dataset's attribute order.
    pub logits: Tensor,
    pub mss: MssOutput,
}

/// One model of a variant: MSS (or TB alone) and the heads its stage uses.
#[derive(Debug)]
pub struct SplNet {
    pub config: ModelConfig,
    pub mss: Mss,
    prt: Option<PrtHead>,
    pst: Option<PstHead>,
    pct: Option<RegionHeads>,
    far: Option<FarHead>,
    discriminator: Option<Discriminator>,
}

impl SplNet {
    /// Builds the parts `config` names under `p`; `attributes` sizes the FAR heads.
    pub fn new(p: &nn::Path, config: ModelConfig, attributes: &LabelSet) -> SplNet {
        let c = config.heads.feature_channels;
        let far = config.far.map(|kind| match kind {
            FarKind::Regions => FarHead::Regions(RegionHeads::new(&(p / "far"), attributes, c)),
            FarKind::Baseline => {
                FarHead::Baseline(BaselineHead::new(&(p / "far"), c, attributes.len() as i64))
            }
        });
        SplNet {
            mss: Mss::new(&(p / "mss"), &config.mss),
            prt: config
                .prt
                .then(|| PrtHead::new(&(p / "prt"), &config.heads)),
            pst: config
                .pst
                .then(|| PstHead::new(&(p / "pst"), &config.heads)),
            pct: config
                .pct
                .then(|| RegionHeads::new(&(p / "pct"), &COMPONENTS, c)),
            far,
            discriminator: config
                .discriminator
                .as_ref()
                .map(|d| Discriminator::new(&(p / "discriminator"), d)),
            config,
        }
    }

    /// The model of `stage` for a variant: [`Stage::Pretrain`] (stage 1 of a
    /// two-stage variant), [`Stage::Far`] (stage 2, the whole model of a
    /// supervised variant, and the inference model of every variant) or
    /// [`Stage::OneStage`] (the joint model of a one-stage variant).
    pub fn build(
        p: &nn::Path,
        variant: &Variant,
        hp: &HyperParams,
        stage: Stage,
        attributes: &LabelSet,
    ) -> Result<SplNet, ModelError> {
        Ok(SplNet::new(
            p,
            ModelConfig::new(variant, hp, stage)?,
            attributes,
        ))
    }

    /// PRT on `[N, m², 3, S, S]` patches; `None` without a PRT head.
    pub fn forward_prt(&self, patches: &Tensor, train: bool) -> Option<PrtLogits> {
        let prt = self.prt.as_ref()?;
        let o = self
            .mss
            .tb
            .forward_t(&prt.preprocess(patches, train), train);
        Some(prt.classify(&o[3]))
    }

    /// PST and PCT on the cropped patch `[N, 3, S, S]`.
    pub fn forward_patch(&self, patch: &Tensor, train: bool) -> PatchOutput {
        // Only PCT (and the alignment that comes with it) reads the region branches.
        let mss = self.mss.forward_t(patch, self.pct.is_some(), train);
        let size = patch.size()[3];
        PatchOutput {
            pst: self
                .pst
                .as_ref()
                .map(|h| h.forward_t(&mss.o[3], size, train)),
            pct: self
                .pct
                .as_ref()
                .map(|h| h.forward(|r| region_input(&mss, r))),
            mss,
        }
    }

    /// FAR on whole images `[N, 3, S, S]`; `None` without FAR heads.
    pub fn forward_far(&self, images: &Tensor, train: bool) -> Option<FarOutput> {
        let head = self.far.as_ref()?;
        let mss = self.mss.forward_t(images, true, train);
        let logits = match head {
            FarHead::Regions(h) => h.in_label_order(&h.forward(|r| region_input(&mss, r))),
            FarHead::Baseline(h) => h.forward(&mss.o[3]),
        };
        Some(FarOutput { logits, mss })
    }

    /// D's logit for a d4 feature; `None` without adversarial alignment.
    pub fn discriminate(&self, d4: &Tensor) -> Option<Tensor> {
        self.discriminator.as_ref().map(|d| d.forward(d4))
    }

    /// (d4^W, d_agg), the pair Eqs. 6–7 and SPL L2 align, when both exist.
    pub fn alignment_pair<'a>(&self, out: &'a MssOutput) -> Option<(&'a Tensor, &'a Tensor)> {
        Some((out.d4.get(&Region::Whole)?, out.d_agg.as_ref()?))
    }
}

/// The feature a region head reads. The builder only creates heads whose
/// inputs it also creates, so a miss is a bug in [`ModelConfig::new`].
fn region_input(mss: &MssOutput, region: Region) -> &Tensor {
    mss.region_feature(region).unwrap_or_else(|| {
        panic!("no feature for the {region} head: ModelConfig built a head without its branch")
    })
}

/// The optimizer groups of a model's trainable variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamGroup {
    /// D, updated by its own optimizer (Algorithm 1, line 10).
    Discriminator,
    /// MSS and every task head (Algorithm 1, line 13).
    Network,
}

/// Trainable variables by group, each with its checkpoint name.
pub fn parameter_groups(vs: &VarStore) -> BTreeMap<ParamGroup, Vec<(String, Tensor)>> {
    let mut groups: BTreeMap<ParamGroup, Vec<(String, Tensor)>> = BTreeMap::new();
    let mut variables: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, tensor) in variables {
        let group = if name.starts_with("discriminator.") {
            ParamGroup::Discriminator
        } else {
            ParamGroup::Network
        };
        groups.entry(group).or_default().push((name, tensor));
    }
    groups
}

/// The module a variable belongs to for transfer and statistics: `mss.tb`,
/// `mss.whole`, …, or the top-level head (`prt`, `pst`, `far`, …).
pub fn module_of(name: &str) -> String {
    let mut parts = name.split('.');
    match (parts.next(), parts.next()) {
        (Some("mss"), Some(sub)) => format!("mss.{sub}"),
        (Some(top), _) => top.to_string(),
        (None, _) => String::new(),
    }
}

/// What [`transfer_pretrained`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Variables copied from stage 1.
    pub copied: usize,
    /// MSS modules of the FAR model that stage 1 did not train (they keep
    /// their fresh initialisation), e.g. region branches of a variant whose
    /// stage 1 only trained TB.
    pub fresh_modules: Vec<String>,
}

/// Copies the pre-trained MSS of a stage-1 store into a FAR store, by name.
///
/// Every `mss.*` variable (weights and batch-norm statistics) of `far`
/// whose module stage 1 also has must exist there with the same shape;
/// modules stage 1 lacks entirely stay fresh and are listed. `mss.tb` must
/// be present.
pub fn transfer_pretrained(stage1: &VarStore, far: &mut VarStore) -> Result<Transfer, ModelError> {
    let source = stage1.variables();
    let source_modules: std::collections::BTreeSet<String> =
        source.keys().map(|n| module_of(n)).collect();
    if !source_modules.contains("mss.tb") {
        return Err(ModelError::NotStageOne);
    }
    let mut targets: Vec<(String, Tensor)> = far
        .variables()
        .into_iter()
        .filter(|(n, _)| n.starts_with("mss."))
        .collect();
    targets.sort_by(|a, b| a.0.cmp(&b.0));
    let mut fresh = std::collections::BTreeSet::new();
    let mut pairs = Vec::new();
    for (name, target) in targets {
        let module = module_of(&name);
        if !source_modules.contains(&module) {
            fresh.insert(module);
            continue;
        }
        let src = source.get(&name).ok_or_else(|| ModelError::Missing {
            name: name.clone(),
            module: module.clone(),
        })?;
        if src.size() != target.size() {
            return Err(ModelError::Shape {
                name,
                stage1: src.size(),
                far: target.size(),
            });
        }
        pairs.push((src.shallow_clone(), target));
    }
    // Everything is checked before anything is written.
    tch::no_grad(|| {
        for (src, mut dst) in pairs.iter().map(|(s, d)| (s, d.shallow_clone())) {
            dst.copy_(&src.to_device(dst.device()));
        }
    });
    Ok(Transfer {
        copied: pairs.len(),
        fresh_modules: fresh.into_iter().collect(),
    })
}
