//! Inputs and labels of the stage-1 auxiliary tasks (Section 3.3, Section
//! 4.2, Algorithm 1 lines 4-6), computed on batches of cached tensors.
//!
//! Every random choice comes from the caller's RNG, so a seed reproduces a
//! batch exactly. Outputs live on the device of the input images. Sizes are explicit; `paper` gives Section 4.2's values and
//! `scaled` keeps their ratios at a smaller resize.

use super::masks::CLASSES;
use super::{DataError, Result};
use crate::groups::{Region, COMPONENTS};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Per-patch colour jitter (Noroozi and Favaro): factors drawn uniformly
/// from [1 - x, 1 + x].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColorJitter {
    pub brightness: f64,
    pub contrast: f64,
    pub saturation: f64,
}

impl Default for ColorJitter {
    fn default() -> Self {
        ColorJitter {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
        }
    }
}

/// The patch rotation task: resize to `resize`, cut into m x m patches of
/// `resize / m`, crop `inner_crop` at random inside each, resize to `output`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrtSpec {
    pub resize: i64,
    pub patches_per_side: i64,
    pub inner_crop: i64,
    pub output: i64,
    pub jitter: ColorJitter,
}

impl PrtSpec {
    /// Section 4.2: 255 px, m = 3 patches of 85 px, 64 px inner crops,
    /// resized to 224 px. Other m keep the 64/85 inner-crop ratio.
    pub fn paper(patches_per_side: i64) -> PrtSpec {
        PrtSpec::scaled(patches_per_side, 255, 224)
    }

    pub fn scaled(patches_per_side: i64, resize: i64, output: i64) -> PrtSpec {
        let patch = resize / patches_per_side.max(1);
        PrtSpec {
            resize,
            patches_per_side,
            inner_crop: ((patch * 64) as f64 / 85.0).round().max(1.0) as i64,
            output,
            jitter: ColorJitter::default(),
        }
    }

    pub fn patch(&self) -> i64 {
        self.resize / self.patches_per_side
    }

    fn validate(&self) -> Result<()> {
        if !(1..=8).contains(&self.patches_per_side) {
            return Err(setting(format!(
                "PRT patches per side must be 1..=8, got {}",
                self.patches_per_side
            )));
        }
        if self.resize < self.patches_per_side || self.output < 1 {
            return Err(setting(format!(
                "PRT sizes too small: resize {}, output {}",
                self.resize, self.output
            )));
        }
        if !(1..=self.patch()).contains(&self.inner_crop) {
            return Err(setting(format!(
                "PRT inner crop {} must be within 1..={} (resize {} / {} patches)",
                self.inner_crop,
                self.patch(),
                self.resize,
                self.patches_per_side
            )));
        }
        Ok(())
    }
}

pub struct PrtBatch {
    /// `[B, 3 m^2, S, S]` float: the patches in row-major order, each
    /// jittered and normalised, concatenated along channels.
    pub input: Tensor,
    /// `[B]` i64: index of the rotated patch, 0..m^2.
    pub patch: Tensor,
    /// `[B]` i64: 0, 1, 2 for 90, 180, 270 degrees.
    pub angle: Tensor,
}

/// Builds a PRT batch from `images` `[B, 3, H, W]` u8 and, when available,
/// their masks `[B, H, W]` u8. The rotated patch is drawn uniformly among the
/// patches whose crop holds a non-background pixel (the paper's "re-draw
/// while only background", without the loop); without masks, or when every
/// patch is background, among all patches.
pub fn prt_batch(
    images: &Tensor,
    masks: Option<&Tensor>,
    spec: &PrtSpec,
    rng: &mut impl Rng,
) -> Result<PrtBatch> {
    spec.validate()?;
    let batch = check_batch(images, masks)?;
    let (m, c, size) = (spec.patches_per_side, spec.inner_crop, spec.patch());
    let patches_per_image = (m * m) as usize;
    let resized = resize_images(images, spec.resize);
    let resized_masks = masks.map(|masks| resize_masks(masks, spec.resize));
    let mask_bytes = resized_masks.as_ref().map(bytes_of).transpose()?;

    let mut crops = Vec::with_capacity(batch * patches_per_image);
    let mut rotated = Vec::with_capacity(batch);
    let mut angles = Vec::with_capacity(batch);
    for b in 0..batch {
        let mut foreground = Vec::new();
        for p in 0..m * m {
            let y0 = (p / m) * size + rng.gen_range(0..=size - c);
            let x0 = (p % m) * size + rng.gen_range(0..=size - c);
            crops.push(resized.get(b as i64).narrow(1, y0, c).narrow(2, x0, c));
            if let Some(bytes) = &mask_bytes {
                let r = spec.resize as usize;
                let plane = &bytes[b * r * r..(b + 1) * r * r];
                let any = (y0..y0 + c).any(|y| {
                    let row = y as usize * r;
                    plane[row + x0 as usize..row + (x0 + c) as usize]
                        .iter()
                        .any(|&k| k != 0)
                });
                if any {
                    foreground.push(p);
                }
            }
        }
        let chosen = if foreground.is_empty() {
            rng.gen_range(0..m * m)
        } else {
            foreground[rng.gen_range(0..foreground.len())]
        };
        rotated.push(chosen);
        angles.push(rng.gen_range(0..3i64));
    }

    let patches = resize_images(&Tensor::stack(&crops, 0), spec.output);
    for (b, (&p, &angle)) in rotated.iter().zip(&angles).enumerate() {
        let mut patch = patches.get(b as i64 * m * m + p);
        let turned = patch.rot90(angle + 1, [1, 2]);
        patch.copy_(&turned);
    }
    let patches = normalise_each(&jitter(&patches, &spec.jitter, rng));
    Ok(PrtBatch {
        input: patches.view([batch as i64, 3 * m * m, spec.output, spec.output]),
        patch: Tensor::from_slice(&rotated).to_device(images.device()),
        angle: Tensor::from_slice(&angles).to_device(images.device()),
    })
}

/// The input of PST and PCT: a random `crop` x `crop` patch of the image
/// resized to `resize`, resized to `output`; PCT labels the `dominant` most
/// frequent classes of the patch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PatchSpec {
    pub resize: i64,
    pub crop: i64,
    pub output: i64,
    pub dominant: usize,
}

impl PatchSpec {
    /// Section 4.2: a 75 px crop of the 255 px image, resized to 224; v = 9.
    pub fn paper() -> PatchSpec {
        PatchSpec::scaled(255, 224)
    }

    /// Keeps the paper's 75/255 crop ratio and v = 9.
    pub fn scaled(resize: i64, output: i64) -> PatchSpec {
        PatchSpec {
            resize,
            crop: ((resize * 75) as f64 / 255.0).round().max(1.0) as i64,
            output,
            dominant: 9,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(1..=self.resize).contains(&self.crop) || self.output < 1 {
            return Err(setting(format!(
                "PST/PCT crop {} must be within 1..={} and output {} positive",
                self.crop, self.resize, self.output
            )));
        }
        if !(1..=CLASSES).contains(&self.dominant) {
            return Err(setting(format!(
                "PCT dominant components must be 1..={CLASSES}, got {}",
                self.dominant
            )));
        }
        Ok(())
    }
}

pub struct PatchBatch {
    /// `[B, 3, S, S]` float in [-1, 1].
    pub input: Tensor,
    /// `[B, S, S]` i64 class per pixel (PST targets).
    pub pixels: Tensor,
    /// `[B, 19]` float multi-hot of the dominant classes (PCT targets), in
    /// `groups::COMPONENTS` order; [`components_by_region`] splits it.
    pub components: Tensor,
}

/// Builds a PST/PCT batch; masks are required. The dominant classes are
/// counted on the output-size labels; ties go to the lower class index, and
/// classes absent from the patch are never labelled.
pub fn patch_batch(
    images: &Tensor,
    masks: &Tensor,
    spec: &PatchSpec,
    rng: &mut impl Rng,
) -> Result<PatchBatch> {
    spec.validate()?;
    let batch = check_batch(images, Some(masks))?;
    let resized = resize_images(images, spec.resize);
    let resized_masks = resize_masks(masks, spec.resize);
    let (mut image_crops, mut mask_crops) = (Vec::with_capacity(batch), Vec::with_capacity(batch));
    for b in 0..batch as i64 {
        let y0 = rng.gen_range(0..=spec.resize - spec.crop);
        let x0 = rng.gen_range(0..=spec.resize - spec.crop);
        image_crops.push(
            resized
                .get(b)
                .narrow(1, y0, spec.crop)
                .narrow(2, x0, spec.crop),
        );
        mask_crops.push(
            resized_masks
                .get(b)
                .narrow(0, y0, spec.crop)
                .narrow(1, x0, spec.crop),
        );
    }
    let input = (resize_images(&Tensor::stack(&image_crops, 0), spec.output) - 0.5) / 0.5;
    let pixels = resize_masks(&Tensor::stack(&mask_crops, 0), spec.output);

    let classes = bytes_of(&pixels)?;
    let plane = (spec.output * spec.output) as usize;
    let mut multi_hot = vec![0f32; batch * CLASSES];
    for (b, labels) in classes.chunks(plane).enumerate() {
        let mut counts = [0usize; CLASSES];
        labels.iter().for_each(|&k| counts[k as usize] += 1);
        let mut order: Vec<usize> = (0..CLASSES).filter(|&k| counts[k] > 0).collect();
        order.sort_by_key(|&k| (std::cmp::Reverse(counts[k]), k));
        for &k in order.iter().take(spec.dominant) {
            multi_hot[b * CLASSES + k] = 1.0;
        }
    }
    Ok(PatchBatch {
        input,
        pixels: pixels.to_kind(Kind::Int64),
        components: Tensor::from_slice(&multi_hot)
            .view([batch as i64, CLASSES as i64])
            .to_device(images.device()),
    })
}

/// PCT targets split into the Table 1 groups of the components, in
/// [`Region::ALL`] order (widths 2, 7, 4, 6): one per PCT head.
pub fn components_by_region(components: &Tensor) -> [Tensor; 4] {
    Region::ALL.map(|region| {
        let columns: Vec<i64> = COMPONENTS
            .indices(region)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        components.index_select(
            1,
            &Tensor::from_slice(&columns).to_device(components.device()),
        )
    })
}

fn setting(message: String) -> DataError {
    DataError::Setting(message)
}

/// Checks `[B, 3, H, W]` u8 images and `[B, H, W]` u8 masks; returns B.
fn check_batch(images: &Tensor, masks: Option<&Tensor>) -> Result<usize> {
    let size = images.size();
    if size.len() != 4 || size[1] != 3 || size[0] < 1 || images.kind() != Kind::Uint8 {
        return Err(setting(format!(
            "images must be [B, 3, H, W] u8 with B >= 1, got {size:?} {:?}",
            images.kind()
        )));
    }
    if let Some(masks) = masks {
        let expected = [size[0], size[2], size[3]];
        if masks.size() != expected || masks.kind() != Kind::Uint8 {
            return Err(setting(format!(
                "masks must be {expected:?} u8 to match the images, got {:?} {:?}",
                masks.size(),
                masks.kind()
            )));
        }
        let largest = masks.max().int64_value(&[]);
        if largest >= CLASSES as i64 {
            return Err(setting(format!(
                "mask class {largest} is out of range (0..{CLASSES})"
            )));
        }
    }
    Ok(size[0] as usize)
}

/// u8 `[N, 3, H, W]` → float `[N, 3, side, side]` in [0, 1], bilinear.
fn resize_images(images: &Tensor, side: i64) -> Tensor {
    let x = if images.kind() == Kind::Uint8 {
        images.to_kind(Kind::Float) / 255.0
    } else {
        images.shallow_clone()
    };
    if x.size()[2..] == [side, side] {
        x
    } else {
        x.upsample_bilinear2d([side, side], false, None, None)
    }
}

/// u8 `[N, H, W]` → u8 `[N, side, side]`, nearest neighbour.
fn resize_masks(masks: &Tensor, side: i64) -> Tensor {
    if masks.size()[1..] == [side, side] {
        return masks.shallow_clone();
    }
    masks
        .unsqueeze(1)
        .to_kind(Kind::Float)
        .upsample_nearest2d([side, side], None, None)
        .squeeze_dim(1)
        .to_kind(Kind::Uint8)
}

fn bytes_of(tensor: &Tensor) -> Result<Vec<u8>> {
    Ok(Vec::<u8>::try_from(
        tensor.to_device(tch::Device::Cpu).contiguous().view(-1),
    )?)
}

/// Brightness, contrast and saturation factors drawn per patch.
fn jitter(patches: &Tensor, spec: &ColorJitter, rng: &mut impl Rng) -> Tensor {
    let n = patches.size()[0];
    let mut factors = |range: f64| {
        let values: Vec<f32> = (0..n)
            .map(|_| (1.0 + rng.gen_range(-range..=range)) as f32)
            .collect();
        Tensor::from_slice(&values)
            .view([n, 1, 1, 1])
            .to_device(patches.device())
    };
    let (brightness, contrast, saturation) = (
        factors(spec.brightness),
        factors(spec.contrast),
        factors(spec.saturation),
    );
    let gray = |x: &Tensor| {
        let weights = Tensor::from_slice(&[0.299f32, 0.587, 0.114])
            .view([1, 3, 1, 1])
            .to_device(x.device());
        (x * weights).sum_dim_intlist([1i64].as_slice(), true, Kind::Float)
    };
    let x = patches * brightness;
    let mean = gray(&x).mean_dim([1i64, 2, 3].as_slice(), true, Kind::Float);
    let x = (x - &mean) * contrast + &mean;
    let g = gray(&x);
    ((x - &g) * saturation + &g).clamp(0.0, 1.0)
}

/// Zero mean and unit variance per patch and channel.
fn normalise_each(patches: &Tensor) -> Tensor {
    let dims = [2i64, 3];
    let mean = patches.mean_dim(dims.as_slice(), true, Kind::Float);
    let std = patches.std_dim(dims.as_slice(), false, true);
    (patches - mean) / (std + 1e-5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tch::Device;

    const NO_JITTER: ColorJitter = ColorJitter {
        brightness: 0.0,
        contrast: 0.0,
        saturation: 0.0,
    };

    fn random_images(batch: i64, side: i64) -> Tensor {
        Tensor::randint(256, [batch, 3, side, side], (Kind::Int64, Device::Cpu))
            .to_kind(Kind::Uint8)
    }

    /// With crops that fill their patches and no resize, every patch is its
    /// normalised crop, and the chosen one is that crop turned.
    #[test]
    fn prt_rotates_exactly_one_patch() {
        tch::manual_seed(0);
        let images = random_images(3, 8);
        let spec = PrtSpec {
            resize: 8,
            patches_per_side: 2,
            inner_crop: 4,
            output: 4,
            jitter: NO_JITTER,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let batch = prt_batch(&images, None, &spec, &mut rng).unwrap();
        let floats = images.to_kind(Kind::Float) / 255.0;
        for b in 0..3 {
            let (chosen, angle) = (batch.patch.int64_value(&[b]), batch.angle.int64_value(&[b]));
            for p in 0..4 {
                let crop = floats
                    .get(b)
                    .narrow(1, (p / 2) * 4, 4)
                    .narrow(2, (p % 2) * 4, 4);
                let expected = if p == chosen {
                    crop.rot90(angle + 1, [1, 2])
                } else {
                    crop
                };
                let expected = normalise_each(&expected.unsqueeze(0)).squeeze_dim(0);
                let got = batch.input.get(b).narrow(0, 3 * p, 3);
                assert!(
                    got.allclose(&expected, 1e-4, 1e-4, false),
                    "image {b}, patch {p}"
                );
            }
        }
    }

    #[test]
    fn prt_draws_only_patches_with_a_face_part() {
        let images = random_images(2, 16);
        let masks = Tensor::zeros([2, 16, 16], (Kind::Uint8, Device::Cpu));
        let _ = masks.get(0).get(12).get(3).fill_(4); // patch 2 of image 0 (row 1, col 0)
        let _ = masks.get(1).get(2).get(14).fill_(17); // patch 1 of image 1
        let spec = PrtSpec {
            resize: 16,
            patches_per_side: 2,
            inner_crop: 8,
            output: 8,
            jitter: ColorJitter::default(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..20 {
            let batch = prt_batch(&images, Some(&masks), &spec, &mut rng).unwrap();
            assert_eq!(Vec::<i64>::try_from(&batch.patch).unwrap(), [2, 1]);
        }
    }

    #[test]
    fn prt_is_reproducible_for_a_seed() {
        let images = random_images(2, 20);
        let spec = PrtSpec::scaled(3, 18, 10);
        let run =
            |seed| prt_batch(&images, None, &spec, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        let (a, b, c) = (run(5), run(5), run(6));
        assert!(a.input.equal(&b.input) && a.patch.equal(&b.patch) && a.angle.equal(&b.angle));
        assert!(!a.input.equal(&c.input));
    }

    #[test]
    fn pct_labels_the_dominant_components() {
        let images = random_images(1, 8);
        let mut classes = vec![0u8; 64];
        classes[..10].fill(7);
        classes[10..20].fill(5);
        classes[20] = 9;
        let masks = Tensor::from_slice(&classes).view([1, 8, 8]);
        let spec = PatchSpec {
            resize: 8,
            crop: 8,
            output: 8,
            dominant: 2,
        };
        let batch = patch_batch(&images, &masks, &spec, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert!(batch.pixels.equal(&masks.to_kind(Kind::Int64)));
        let hot: Vec<f32> = Vec::try_from(batch.components.get(0)).unwrap();
        let labelled: Vec<usize> = (0..CLASSES).filter(|&k| hot[k] == 1.0).collect();
        assert_eq!(
            labelled,
            [0, 5],
            "background (43 px) and the tie 5/7 (10 px each) broken low"
        );
        let spec = PatchSpec {
            dominant: 9,
            ..spec
        };
        let batch = patch_batch(&images, &masks, &spec, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(
            batch.components.sum(Kind::Float).double_value(&[]),
            4.0,
            "only the 4 present classes"
        );
    }

    #[test]
    fn bad_sizes_and_classes_are_errors() {
        let images = random_images(1, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let too_many = PrtSpec::scaled(9, 255, 224);
        assert!(prt_batch(&images, None, &too_many, &mut rng).is_err());
        let big_crop = PrtSpec {
            inner_crop: 90,
            ..PrtSpec::paper(3)
        };
        let message = prt_batch(&images, None, &big_crop, &mut rng)
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.contains("inner crop 90 must be within 1..=85"),
            "{message}"
        );
        let masks = Tensor::full([1, 8, 8], 19, (Kind::Uint8, Device::Cpu));
        let message = patch_batch(&images, &masks, &PatchSpec::scaled(8, 4), &mut rng)
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains("mask class 19"), "{message}");
        let wrong = Tensor::zeros([1, 8, 7], (Kind::Uint8, Device::Cpu));
        assert!(patch_batch(&images, &wrong, &PatchSpec::scaled(8, 4), &mut rng).is_err());
    }

    #[test]
    fn paper_sizes_follow_section_4_2() {
        let prt = PrtSpec::paper(3);
        assert_eq!(
            (prt.resize, prt.patch(), prt.inner_crop, prt.output),
            (255, 85, 64, 224)
        );
        let patch = PatchSpec::paper();
        assert_eq!(
            (patch.resize, patch.crop, patch.output, patch.dominant),
            (255, 75, 224, 9)
        );
    }
}
