//! Scale profiles: the paper's Section 4.2 setting (`paper`) and smaller ones
//! for CPUs that keep the topology (same blocks, same branches, narrower and
//! on smaller images). A variant's [`Hyper`] overrides land on top of a
//! profile to give fully-set [`HyperParams`].

use crate::registry::Hyper;
use serde::{Deserialize, Serialize};

/// One scale of the whole pipeline: image sizes, network width and the
/// optimisation schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    /// Side of every network input (the PRT patches and the PST/PCT patch are
    /// resized to it, and stage 2 reads whole images at this size).
    pub input_size: i64,
    /// Multiplies the backbone widths 64/128/256/512.
    pub width: f64,
    /// Side the image is resized to before cutting the PRT grid (255 in the paper).
    pub image_resize: i64,
    /// Side of each PRT grid cell at m = 3 (85 = 255 / 3 in the paper).
    pub prt_patch_crop: i64,
    /// Random crop inside each PRT cell (64 of 85 in the paper).
    pub prt_patch_inner_crop: i64,
    /// The PST/PCT patch cropped from the resized image (75 of 255 in the paper).
    pub pst_pct_crop: i64,
    pub patches_per_side: u32,
    pub dominant_components: u32,
    pub lambda_pst: f64,
    pub lambda_pct: f64,
    pub discriminator_steps: u32,
    pub stage1_epochs: u32,
    pub stage2_epochs: u32,
    pub stage1_batch: u32,
    pub stage2_batch: u32,
    /// Fewest optimiser steps in one stage-2 epoch (0 in the paper, where an
    /// epoch is one pass). With a few dozen labels a pass is one or two
    /// steps, so at CPU-sized schedules the lowest proportions would stop
    /// long before the FAR heads fit; a floor keeps them comparable.
    pub stage2_min_steps: u32,
    pub learning_rate: f64,
    pub warmup_epochs: u32,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub weight_decay: f64,
    pub label_smoothing: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile {name:?}; known profiles: {known}")]
    Unknown { name: String, known: String },
}

/// The paper's backbone widths (PreAct ResNet-18 stages 1–4).
pub const PAPER_WIDTHS: [i64; 4] = [64, 128, 256, 512];
/// The optimisation schedule of a CPU profile.
struct CpuSchedule {
    /// Stage 1, stage 2.
    epochs: [u32; 2],
    batch: [u32; 2],
    stage2_min_steps: u32,
}

impl CpuSchedule {
    /// The paper's 1e-4 is tuned for 80 + 60 epochs over 160k images, some
    /// hundred times the steps a CPU profile takes; at 1e-4 the FAR heads of
    /// a small run stay below the majority-class rate (docs/findings.md).
    const LEARNING_RATE: f64 = 1e-3;
}

/// The names [`Profile::by_name`] knows.
pub const PROFILE_NAMES: [&str; 3] = ["paper", "small", "tiny"];

impl Profile {
    /// Section 4.2 exactly.
    pub fn paper() -> Profile {
        Profile {
            name: "paper".into(),
            input_size: 224,
            width: 1.0,
            image_resize: 255,
            prt_patch_crop: 85,
            prt_patch_inner_crop: 64,
            pst_pct_crop: 75,
            patches_per_side: 3,
            dominant_components: 9,
            lambda_pst: 0.05,
            lambda_pct: 0.5,
            discriminator_steps: 3,
            stage1_epochs: 80,
            stage2_epochs: 60,
            stage1_batch: 40,
            stage2_batch: 128,
            stage2_min_steps: 0,
            learning_rate: 1e-4,
            warmup_epochs: 15,
            adam_beta1: 0.5,
            adam_beta2: 0.999,
            weight_decay: 5e-4,
            label_smoothing: 0.1,
        }
    }

    /// The paper's topology on `input_size`-pixel inputs at `width` of its
    /// channels, crops scaled by the paper's ratios (255/224, 85/255, 64/85,
    /// 75/255), with a CPU-sized schedule.
    fn scaled(name: &str, input_size: i64, width: f64, schedule: CpuSchedule) -> Profile {
        let paper = Profile::paper();
        let ratio = |value: i64, of: i64, base: i64| {
            (value as f64 * base as f64 / of as f64).round() as i64
        };
        let image_resize = ratio(paper.image_resize, paper.input_size, input_size);
        let prt_patch_crop = image_resize / paper.patches_per_side as i64;
        Profile {
            name: name.into(),
            input_size,
            width,
            image_resize,
            prt_patch_crop,
            prt_patch_inner_crop: ratio(
                paper.prt_patch_inner_crop,
                paper.prt_patch_crop,
                prt_patch_crop,
            ),
            pst_pct_crop: ratio(paper.pst_pct_crop, paper.image_resize, image_resize),
            stage1_epochs: schedule.epochs[0],
            stage2_epochs: schedule.epochs[1],
            stage1_batch: schedule.batch[0],
            stage2_batch: schedule.batch[1],
            stage2_min_steps: schedule.stage2_min_steps,
            learning_rate: CpuSchedule::LEARNING_RATE,
            warmup_epochs: 1,
            ..paper
        }
    }

    /// A laptop-scale run: 64 px, a quarter of the widths.
    pub fn small() -> Profile {
        let schedule = CpuSchedule {
            epochs: [10, 15],
            batch: [32, 32],
            stage2_min_steps: 40,
        };
        Profile::scaled("small", 64, 0.25, schedule)
    }

    /// Tests, smoke runs and the demo: 32 px, an eighth of the widths.
    pub fn tiny() -> Profile {
        let schedule = CpuSchedule {
            epochs: [2, 3],
            batch: [16, 16],
            stage2_min_steps: 20,
        };
        Profile::scaled("tiny", 32, 0.125, schedule)
    }

    pub fn by_name(name: &str) -> Result<Profile, ProfileError> {
        match name {
            "paper" => Ok(Profile::paper()),
            "small" => Ok(Profile::small()),
            "tiny" => Ok(Profile::tiny()),
            _ => Err(ProfileError::Unknown {
                name: name.into(),
                known: PROFILE_NAMES.join(", "),
            }),
        }
    }

    /// Backbone stage widths after the multiplier (at least 8 channels, so
    /// that the SE reduction and the CCA query width stay ≥ 1).
    pub fn widths(&self) -> [i64; 4] {
        PAPER_WIDTHS.map(|w| ((w as f64 * self.width).round() as i64).max(8))
    }

    /// This profile with a variant's overrides: every value set.
    pub fn resolve(&self, hyper: &Hyper) -> HyperParams {
        let m = hyper.patches_per_side.unwrap_or(self.patches_per_side);
        // The grid always covers the resized image; the inner crop keeps the
        // profile's inner/cell ratio (64/85 in the paper).
        let prt_patch_crop = self.image_resize / m as i64;
        let prt_patch_inner_crop = ((prt_patch_crop * self.prt_patch_inner_crop) as f64
            / self.prt_patch_crop as f64)
            .round()
            .max(1.0) as i64;
        HyperParams {
            profile: self.name.clone(),
            input_size: self.input_size,
            widths: self.widths(),
            image_resize: self.image_resize,
            prt_patch_crop,
            prt_patch_inner_crop,
            pst_pct_crop: self.pst_pct_crop,
            patches_per_side: m,
            dominant_components: hyper
                .dominant_components
                .unwrap_or(self.dominant_components),
            lambda_pst: hyper.lambda_pst.unwrap_or(self.lambda_pst),
            lambda_pct: hyper.lambda_pct.unwrap_or(self.lambda_pct),
            discriminator_steps: hyper
                .discriminator_steps
                .unwrap_or(self.discriminator_steps),
            stage1_epochs: hyper.stage1_epochs.unwrap_or(self.stage1_epochs),
            stage2_epochs: hyper.stage2_epochs.unwrap_or(self.stage2_epochs),
            stage1_batch: hyper.stage1_batch.unwrap_or(self.stage1_batch),
            stage2_batch: hyper.stage2_batch.unwrap_or(self.stage2_batch),
            stage2_min_steps: self.stage2_min_steps,
            learning_rate: hyper.learning_rate.unwrap_or(self.learning_rate),
            warmup_epochs: hyper.warmup_epochs.unwrap_or(self.warmup_epochs),
            adam_beta1: hyper.adam_beta1.unwrap_or(self.adam_beta1),
            adam_beta2: hyper.adam_beta2.unwrap_or(self.adam_beta2),
            weight_decay: hyper.weight_decay.unwrap_or(self.weight_decay),
            label_smoothing: hyper.label_smoothing.unwrap_or(self.label_smoothing),
        }
    }
}

/// Every hyper-parameter of one run: a profile with a variant's overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HyperParams {
    pub profile: String,
    pub input_size: i64,
    pub widths: [i64; 4],
    pub image_resize: i64,
    pub prt_patch_crop: i64,
    pub prt_patch_inner_crop: i64,
    pub pst_pct_crop: i64,
    /// m of Section 3.3.1.
    pub patches_per_side: u32,
    /// v of Section 3.3.3.
    pub dominant_components: u32,
    /// λ1 of Eq. 16.
    pub lambda_pst: f64,
    /// λ2 of Eq. 16.
    pub lambda_pct: f64,
    /// Kd of Algorithm 1.
    pub discriminator_steps: u32,
    pub stage1_epochs: u32,
    pub stage2_epochs: u32,
    pub stage1_batch: u32,
    pub stage2_batch: u32,
    pub stage2_min_steps: u32,
    pub learning_rate: f64,
    pub warmup_epochs: u32,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub weight_decay: f64,
    /// ε of Eq. 10.
    pub label_smoothing: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_profile_is_section_4_2() {
        let hp = Profile::paper().resolve(&Hyper::default());
        assert_eq!(hp.widths, [64, 128, 256, 512]);
        assert_eq!(
            (hp.image_resize, hp.prt_patch_crop, hp.prt_patch_inner_crop),
            (255, 85, 64)
        );
        assert_eq!(
            (hp.pst_pct_crop, hp.input_size, hp.patches_per_side),
            (75, 224, 3)
        );
        assert_eq!(
            (
                hp.stage1_batch,
                hp.stage2_batch,
                hp.stage1_epochs,
                hp.stage2_epochs
            ),
            (40, 128, 80, 60)
        );
        assert_eq!(
            (hp.lambda_pst, hp.lambda_pct, hp.discriminator_steps),
            (0.05, 0.5, 3)
        );
        assert_eq!(
            (hp.adam_beta1, hp.adam_beta2, hp.weight_decay),
            (0.5, 0.999, 5e-4)
        );
        assert_eq!(
            (hp.learning_rate, hp.label_smoothing, hp.dominant_components),
            (1e-4, 0.1, 9)
        );
        assert_eq!(hp.stage2_min_steps, 0, "a paper epoch is one pass");
    }

    #[test]
    fn cpu_profiles_take_larger_steps_and_a_floor_of_stage2_steps() {
        for profile in [Profile::small(), Profile::tiny()] {
            let hp = profile.resolve(&Hyper::default());
            assert_eq!(hp.learning_rate, 1e-3, "{}", profile.name);
            assert!(hp.stage2_min_steps > 0, "{}", profile.name);
        }
    }

    #[test]
    fn small_profiles_scale_crops_by_the_paper_ratios() {
        let tiny = Profile::tiny();
        assert_eq!(tiny.widths(), [8, 16, 32, 64]);
        assert_eq!(
            (
                tiny.image_resize,
                tiny.prt_patch_crop,
                tiny.prt_patch_inner_crop,
                tiny.pst_pct_crop
            ),
            (36, 12, 9, 11)
        );
        let small = Profile::small();
        assert_eq!(small.widths(), [16, 32, 64, 128]);
        assert_eq!(
            (
                small.image_resize,
                small.prt_patch_crop,
                small.prt_patch_inner_crop,
                small.pst_pct_crop
            ),
            (73, 24, 18, 21)
        );
    }

    #[test]
    fn overrides_win_and_patch_grid_follows_m() {
        let hyper = Hyper {
            patches_per_side: Some(5),
            lambda_pst: Some(0.2),
            ..Hyper::default()
        };
        let hp = Profile::paper().resolve(&hyper);
        assert_eq!(
            (
                hp.patches_per_side,
                hp.prt_patch_crop,
                hp.prt_patch_inner_crop
            ),
            (5, 51, 38)
        );
        assert_eq!(hp.lambda_pst, 0.2);
        assert_eq!(hp.lambda_pct, 0.5);
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let err = Profile::by_name("huge").unwrap_err().to_string();
        assert!(
            err.contains("\"huge\"") && err.contains("paper, small, tiny"),
            "{err}"
        );
    }
}
