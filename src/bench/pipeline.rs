//! Input pipeline against the training step: for each task, images/s of
//! building its batch from the decoded image cache (what a training epoch
//! does per step) next to images/s of the step that consumes it. A ratio
//! above 1 means the pipeline outruns the model and is not the bottleneck.
//! PRT and PST/PCT inputs are both consumed by the stage-1 joint step, so
//! each is compared with it, and so is their sum (`aux_batch`).

use super::train::{random_cache, Models};
use super::{per_second, BenchError, Repeats, Result};
use crate::data::tasks::{patch_batch, prt_batch, PatchSpec, PrtSpec};
use crate::groups::CELEBA;
use crate::train::{seeded, to_input};
use tch::{Device, Kind, Tensor};

pub fn run(models: &Models, threads: usize, repeats: Repeats) -> Result<()> {
    let hp = &models.hp;
    let device = models.device();
    println!(
        "bench pipeline: {} at profile {} on {}, {threads} libtorch thread(s); \
         images/s of building each batch vs the training step that consumes it",
        models.variant.name,
        hp.profile,
        crate::device::describe(device)
    );
    let mut rng = seeded(0, "bench-pipeline");
    let n1 = i64::from(hp.stage1_batch);
    // Stage 1 reads the training split cached at the PRT resize.
    let unlabeled = random_cache(n1, hp.image_resize, &CELEBA, Device::Cpu);
    let index = Tensor::arange(n1, (Kind::Int64, Device::Cpu));
    let prt_spec = PrtSpec {
        resize: hp.image_resize,
        patches_per_side: i64::from(hp.patches_per_side),
        inner_crop: hp.prt_patch_inner_crop,
        output: hp.input_size,
        jitter: Default::default(),
    };
    let patch_spec = PatchSpec {
        resize: hp.image_resize,
        crop: hp.pst_pct_crop,
        output: hp.input_size,
        dominant: hp.dominant_components as usize,
    };
    let masks = unlabeled
        .masks
        .as_ref()
        .ok_or_else(|| BenchError::Setting("the random cache has masks".into()))?;
    let select = |t: &Tensor| t.index_select(0, &index).to_device(device);
    let prt = per_second(n1 as usize, repeats, || {
        prt_batch(
            &select(&unlabeled.images),
            Some(&select(masks)),
            &prt_spec,
            &mut rng,
        )
        .map(drop)
    })?;
    let patch = per_second(n1 as usize, repeats, || {
        patch_batch(
            &select(&unlabeled.images),
            &select(masks),
            &patch_spec,
            &mut rng,
        )
        .map(drop)
    })?;
    let both = per_second(n1 as usize, repeats, || models.stage1_batch().map(drop))?;
    let batch = models.stage1_batch()?;
    let (mut network, mut d) = models.stage1_optimizers()?;
    let step1 = per_second(n1 as usize, repeats, || {
        models.stage1_step(&batch, &mut network, d.as_mut())
    })?;

    let n2 = i64::from(hp.stage2_batch);
    let labeled = random_cache(n2 * 4, hp.input_size, &CELEBA, Device::Cpu);
    let far_index = Tensor::randperm(n2 * 4, (Kind::Int64, Device::Cpu)).narrow(0, 0, n2);
    let far_batch = per_second(n2 as usize, repeats, || {
        let _ = std::hint::black_box(to_input(
            &labeled.images.index_select(0, &far_index),
            device,
        ));
        Ok::<_, BenchError>(())
    })?;
    let mut far = models.far_optimizer()?;
    let step2 = per_second(n2 as usize, repeats, || {
        models.stage2_step(&labeled, &far_index, &mut far)
    })?;

    println!(
        "{:<40} {:>12} {:>12} {:>14}",
        "images/s", "build", "train step", "build/step"
    );
    for (name, build, step) in [
        ("PRT input (m x m patches, rotation)", prt, step1),
        ("PST/PCT input (crop, pixels, top-v)", patch, step1),
        ("stage-1 batch (both, as trained)", both, step1),
        ("FAR batch (select, to float)", far_batch, step2),
    ] {
        println!(
            "{name:<40} {build:>12.1} {step:>12.2} {:>14.2}",
            build / step
        );
    }
    Ok(())
}
