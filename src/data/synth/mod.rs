//! The built-in synthetic face dataset: procedurally drawn faces with known
//! attributes and exact part masks, written in the CelebA layout so that it
//! goes through the same loader as real data.
//!
//! Every face is drawn from its own random stream (seed, index), so output is
//! byte-identical for a seed whatever the number of threads.

mod canvas;
mod face;
mod traits;

use super::{celeba, DataError, Result};
use crate::groups::CELEBA;
use canvas::{Canvas, Frame, Paint, Shape};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use traits::Traits;

/// Directory of the part masks next to `img_align_celeba/`.
pub const MASKS_DIR: &str = "masks";
/// The configuration a dataset was written with, for provenance.
pub const CONFIG_FILE: &str = "synth.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    pub count: u32,
    /// Image side in pixels.
    pub size: u32,
    pub seed: u64,
    /// Fractions of train / val / test (in file order, as in CelebA).
    pub split: [f64; 3],
    pub difficulty: Difficulty,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            count: 2000,
            size: 64,
            seed: 0,
            split: [0.8, 0.1, 0.1],
            difficulty: Difficulty::default(),
        }
    }
}

/// Knobs that make recognition harder; docs/data.md lists the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Difficulty {
    /// Largest in-plane head rotation, degrees.
    pub max_roll_deg: f64,
    /// Head yaw as a sideways shift of the inner features, face units.
    pub max_yaw: f64,
    /// Range of the face scale around the nominal size.
    pub scale: (f64, f64),
    /// Largest offset of the face centre, as a fraction of the image side.
    pub max_shift: f64,
    /// Number of random blobs and boxes in the background.
    pub clutter: u32,
    /// Standard deviation of per-pixel noise on the [0, 1] scale.
    pub noise: f64,
    /// Strength of the lighting gradient across the image (0: flat light).
    pub lighting: f64,
    /// Relative random size variation of every part, which blurs the
    /// boundary between e.g. big and small noses.
    pub shape_jitter: f64,
    /// Scales how strongly attributes show (1: default, towards 0: subtle).
    pub cue_strength: f64,
    /// Probability that each written label is flipped (annotation noise).
    pub label_noise: f64,
}

impl Default for Difficulty {
    fn default() -> Self {
        Difficulty {
            max_roll_deg: 12.0,
            max_yaw: 0.15,
            scale: (0.85, 1.12),
            max_shift: 0.05,
            clutter: 6,
            noise: 0.04,
            lighting: 0.35,
            shape_jitter: 0.15,
            cue_strength: 1.0,
            label_noise: 0.0,
        }
    }
}

impl Difficulty {
    /// `key=value` for every setting that differs from the default, by key.
    pub fn changes(&self) -> Vec<String> {
        let table = |d: &Difficulty| match toml::Value::try_from(d) {
            Ok(toml::Value::Table(table)) => table,
            _ => toml::Table::new(),
        };
        let (given, default) = (table(self), table(&Difficulty::default()));
        given
            .iter()
            .filter(|(key, value)| default.get(*key) != Some(*value))
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }
}

impl SynthConfig {
    pub fn validate(&self) -> Result<()> {
        let d = &self.difficulty;
        let checks = [
            (self.count >= 1, "count must be at least 1"),
            (
                (16..=1024).contains(&self.size),
                "size must be within 16..=1024",
            ),
            (
                self.split.iter().all(|f| *f >= 0.0)
                    && (self.split.iter().sum::<f64>() - 1.0).abs() < 1e-3,
                "split fractions must be non-negative and sum to 1",
            ),
            (
                d.scale.0 > 0.0 && d.scale.0 <= d.scale.1,
                "difficulty.scale must be (low, high) with 0 < low <= high",
            ),
            (
                (0.0..=0.5).contains(&d.label_noise),
                "difficulty.label_noise must be within 0..=0.5",
            ),
            (
                [
                    d.max_roll_deg,
                    d.max_yaw,
                    d.max_shift,
                    d.noise,
                    d.lighting,
                    d.shape_jitter,
                    d.cue_strength,
                ]
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0),
                "difficulty values must be finite and non-negative",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(DataError::Setting((*message).to_string())),
            None => Ok(()),
        }
    }
}

/// One generated face: RGB bytes, mask classes and the 40 CelebA labels.
pub struct SynthFace {
    pub rgb: Vec<u8>,
    pub mask: Vec<u8>,
    pub labels: Vec<i8>,
}

/// Draws face `index` of the dataset described by `config`.
pub fn render(config: &SynthConfig, index: u64) -> SynthFace {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    rng.set_stream(index);
    let d = &config.difficulty;
    let size = config.size as usize;
    let traits = Traits::sample(&mut rng);

    let background: [f32; 3] = std::array::from_fn(|_| rng.gen_range(0.1..0.9));
    let mut canvas = Canvas::new(size, background, rng.gen());
    draw_clutter(&mut canvas, d.clutter, &mut rng);
    face::draw(&mut canvas, &traits, d, &mut rng);
    if traits.blurry {
        let radius = (size / 40).max(1);
        box_blur(&mut canvas.rgb, size, radius);
        box_blur(&mut canvas.rgb, size, radius);
    }
    let rgb = finish(&canvas, d, &mut rng);

    let mut labels = traits.labels();
    for label in &mut labels {
        if rng.gen_bool(d.label_noise) {
            *label = -*label;
        }
    }
    SynthFace {
        rgb,
        mask: canvas.labels,
        labels,
    }
}

/// Random boxes and blobs in image space behind the face (mask class 0).
fn draw_clutter(canvas: &mut Canvas, count: u32, rng: &mut impl Rng) {
    let half = canvas.size as f32 / 2.0;
    let frame = Frame::new(half, half, half, 0.0);
    for _ in 0..count {
        let c = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
        let r = (rng.gen_range(0.05..0.5), rng.gen_range(0.05..0.5));
        let shape = if rng.gen_bool(0.5) {
            Shape::rect((c.0 - r.0, c.0 + r.0), (c.1 - r.1, c.1 + r.1))
        } else {
            Shape::Ellipse {
                c,
                r,
                wave: (rng.gen_range(0.0..0.3), rng.gen_range(2.0..8.0f32).round()),
            }
        };
        let color = std::array::from_fn(|_| rng.gen_range(0.0..1.0));
        canvas.paint(
            &frame,
            &shape,
            Paint {
                class: Some(0),
                ..Paint::tint(color, 1.0)
            },
        );
    }
}

/// Lighting gradient, brightness, colour cast and sensor noise, to bytes.
fn finish(canvas: &Canvas, d: &Difficulty, rng: &mut impl Rng) -> Vec<u8> {
    let size = canvas.size;
    let angle: f32 = rng.gen_range(0.0..std::f32::consts::TAU);
    let (lighting, noise) = (d.lighting as f32, d.noise as f32);
    let (gx, gy) = (angle.cos() * lighting, angle.sin() * lighting);
    let brightness = 1.0 + rng.gen_range(-0.5..=0.5) * lighting;
    let cast: [f32; 3] = std::array::from_fn(|_| 1.0 + rng.gen_range(-0.08..=0.08));
    // Per-column and per-row parts of the pixel position, computed once; the
    // last loop runs over plain channel arrays so that it vectorises.
    let position = |i: usize| i as f32 / size as f32 - 0.5;
    let column_light: Vec<f32> = (0..size).map(|x| 1.0 + gx * position(x)).collect();
    let row_cast: Vec<f32> = (0..size).flat_map(|_| cast).collect();
    let (mut light, mut grain) = (vec![0.0; size * 3], vec![0.0; size * 3]);
    let mut out = vec![0; size * size * 3];
    let rows = canvas
        .rgb
        .chunks_exact(size)
        .zip(out.chunks_exact_mut(size * 3));
    for (y, (row, out_row)) in rows.enumerate() {
        let row_light = gy * position(y);
        for x in 0..size {
            let index = y * size + x;
            // Two hashed uniforms per pixel: a cheap bell-shaped noise.
            let pixel_grain = noise * 2.45 * (canvas.hash(index, 1) + canvas.hash(index, 2) - 1.0);
            let pixel_light = brightness * (column_light[x] + row_light);
            light[3 * x..3 * x + 3].fill(pixel_light);
            grain[3 * x..3 * x + 3].fill(pixel_grain);
        }
        let channels = row
            .as_flattened()
            .iter()
            .zip(&light)
            .zip(&row_cast)
            .zip(&grain);
        for (byte, (((channel, light), k), grain)) in out_row.iter_mut().zip(channels) {
            *byte = to_byte((channel * light * k + grain) * 255.0);
        }
    }
    out
}

/// `value.round()` clamped to a byte, without a libm call per channel:
/// rounding commutes with clamping to integer bounds, and truncation plus
/// the fractional part rounds half away from zero the same way.
fn to_byte(value: f32) -> u8 {
    let value = value.clamp(0.0, 255.0);
    let truncated = value as u8;
    truncated + u8::from(value - f32::from(truncated) >= 0.5)
}

/// Separable box blur, `radius` pixels each way, clamped at the borders.
fn box_blur(rgb: &mut [[f32; 3]], size: usize, radius: usize) {
    let mut pass = |horizontal: bool| {
        let source = rgb.to_vec();
        for y in 0..size {
            for x in 0..size {
                let mut sum = [0.0f32; 3];
                let mut n = 0.0;
                for k in x.saturating_sub(radius)..=(x + radius).min(size - 1) {
                    let p = if horizontal {
                        source[y * size + k]
                    } else {
                        source[k * size + y]
                    };
                    (0..3).for_each(|c| sum[c] += p[c]);
                    n += 1.0;
                }
                let target = if horizontal {
                    y * size + x
                } else {
                    x * size + y
                };
                rgb[target] = sum.map(|s| s / n);
            }
        }
    };
    pass(true);
    pass(false);
}

/// Writes the dataset: `img_align_celeba/NNNNNN.png`, `masks/NNNNNN.png`,
/// `list_attr_celeba.txt`, `list_eval_partition.txt` and `synth.toml`.
/// Refuses a directory that already holds a dataset.
pub fn write_dataset(out: &Path, config: &SynthConfig) -> Result<()> {
    config.validate()?;
    for file in [celeba::ATTRIBUTES_FILE, celeba::PARTITION_FILE, CONFIG_FILE] {
        if out.join(file).exists() {
            return Err(DataError::invalid(
                out.join(file),
                "already exists: choose an empty directory (nothing was overwritten)",
            ));
        }
    }
    let images = out.join(celeba::IMAGES_DIR);
    let masks = out.join(MASKS_DIR);
    for dir in [&images, &masks] {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let labels: Vec<Vec<i8>> = (0..config.count as u64)
        .into_par_iter()
        .map(|index| {
            let face = render(config, index);
            let name = image_name(index);
            write_png(
                &images.join(&name),
                &face.rgb,
                config.size,
                ExtendedColorType::Rgb8,
            )?;
            write_png(
                &masks.join(&name),
                &face.mask,
                config.size,
                ExtendedColorType::L8,
            )?;
            Ok(face.labels)
        })
        .collect::<Result<_>>()?;

    let mut attributes = format!(
        "{}\n{}\n",
        config.count,
        CELEBA.names().collect::<Vec<_>>().join(" ")
    );
    let mut partition = String::new();
    let train_end = (config.split[0] * config.count as f64).round() as u64;
    let val_end = train_end + (config.split[1] * config.count as f64).round() as u64;
    for (index, row) in labels.iter().enumerate() {
        let name = image_name(index as u64);
        attributes.push_str(&name);
        for value in row {
            attributes.push_str(if *value > 0 { "  1" } else { " -1" });
        }
        attributes.push('\n');
        let code = match index as u64 {
            i if i < train_end => 0,
            i if i < val_end => 1,
            _ => 2,
        };
        partition.push_str(&format!("{name} {code}\n"));
    }
    let config_text = toml::to_string(config).map_err(|e| DataError::Setting(e.to_string()))?;
    for (file, text) in [
        (celeba::ATTRIBUTES_FILE, attributes),
        (celeba::PARTITION_FILE, partition),
        (CONFIG_FILE, config_text),
    ] {
        let path = out.join(file);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| DataError::io(&path, e))?;
    }
    Ok(())
}

fn image_name(index: u64) -> String {
    format!("{:06}.png", index + 1)
}

/// Encodes a square 8-bit image as PNG (fast compression: the dataset is
/// written once and decoded once into the cache).
pub fn encode_png(
    bytes: &[u8],
    size: u32,
    color: ExtendedColorType,
) -> std::result::Result<Vec<u8>, image::ImageError> {
    let mut encoded = Vec::with_capacity(bytes.len() / 2);
    PngEncoder::new_with_quality(&mut encoded, CompressionType::Fast, FilterType::Sub)
        .write_image(bytes, size, size, color)?;
    Ok(encoded)
}

fn write_png(path: &Path, bytes: &[u8], size: u32, color: ExtendedColorType) -> Result<()> {
    let encoded = encode_png(bytes, size, color).map_err(|source| DataError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, encoded).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frequency(labels: &[Vec<i8>], name: &str) -> f64 {
        let index = CELEBA.index_of(name).expect("a CelebA name");
        labels.iter().filter(|row| row[index] == 1).count() as f64 / labels.len() as f64
    }

    #[test]
    fn labels_are_imbalanced_and_correlated_like_celeba() {
        let config = SynthConfig {
            size: 16,
            ..SynthConfig::default()
        };
        let labels: Vec<Vec<i8>> = (0..600).map(|i| render(&config, i).labels).collect();
        let male = frequency(&labels, "Male");
        assert!((0.34..0.5).contains(&male), "Male {male}");
        for rare in ["Bald", "Wearing_Hat", "Blurry", "Pale_Skin", "Mustache"] {
            assert!(frequency(&labels, rare) < 0.12, "{rare} should be rare");
        }
        let men: Vec<Vec<i8>> = labels
            .iter()
            .filter(|r| r[CELEBA.index_of("Male").unwrap()] == 1)
            .cloned()
            .collect();
        let women: Vec<Vec<i8>> = labels
            .iter()
            .filter(|r| r[CELEBA.index_of("Male").unwrap()] == -1)
            .cloned()
            .collect();
        assert!(frequency(&men, "No_Beard") < 0.85 && frequency(&women, "No_Beard") == 1.0);
        assert!(frequency(&women, "Wearing_Lipstick") > 4.0 * frequency(&men, "Wearing_Lipstick"));
        let smiling: Vec<Vec<i8>> = labels
            .iter()
            .filter(|r| r[CELEBA.index_of("Smiling").unwrap()] == 1)
            .cloned()
            .collect();
        assert!(
            frequency(&smiling, "High_Cheekbones")
                > 2.0 * frequency(&labels, "High_Cheekbones") - 0.2
        );
    }

    #[test]
    fn label_noise_flips_labels_but_not_the_drawing() {
        let clean = SynthConfig {
            size: 24,
            ..SynthConfig::default()
        };
        let mut noisy = clean.clone();
        noisy.difficulty.label_noise = 0.5;
        let (a, b) = (render(&clean, 3), render(&noisy, 3));
        assert_eq!((a.rgb, a.mask), (b.rgb, b.mask));
        let flipped = (0..200)
            .map(|i| {
                let (x, y) = (render(&clean, i).labels, render(&noisy, i).labels);
                x.iter().zip(&y).filter(|(p, q)| p != q).count()
            })
            .sum::<usize>() as f64
            / (200.0 * 40.0);
        assert!((0.4..0.6).contains(&flipped), "flipped {flipped}");
    }

    #[test]
    fn bad_settings_are_named() {
        let mut config = SynthConfig::default();
        config.difficulty.scale = (1.2, 0.9);
        let message = config.validate().unwrap_err().to_string();
        assert!(message.contains("difficulty.scale"), "{message}");
        let config = SynthConfig {
            split: [0.5, 0.1, 0.1],
            ..SynthConfig::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("sum to 1"));
    }
}
