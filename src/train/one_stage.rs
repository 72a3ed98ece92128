//! SPL Semi (Section 4.3): PRT and PST (and PCT when enabled) on unlabeled
//! images and FAR on the labeled subset, trained jointly in one loop on one
//! MSS. An epoch is one pass over the unlabeled images in stage-1 batches;
//! each step also takes the next stage-2 batch of labeled images (that
//! stream reshuffles whenever it runs out), and minimises L_FAR + the joint
//! loss of Eq. 16. It runs for the larger of the two stage epoch counts.

use super::stage2::{fit, Selected};
use super::Result;
use crate::model::{SplNet, Stage};
use crate::profile::HyperParams;
use crate::registry::Toggles;
use crate::runner::MetricsSink;
use crate::train::data::RunData;
use tch::nn::VarStore;

pub fn train(
    model: &SplNet,
    vs: &VarStore,
    data: &RunData,
    hp: &HyperParams,
    toggles: &Toggles,
    seed: u64,
    metrics: &mut dyn MetricsSink,
) -> Result<Selected> {
    fit(
        model,
        vs,
        data,
        hp,
        Some(toggles),
        seed,
        metrics,
        Stage::OneStage,
    )
}
