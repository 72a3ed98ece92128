//! Datasets: the on-disk formats of CelebA, LFWA and MAAD-Face, part masks,
//! the synthetic face generator, a decoded-image cache, the auxiliary-task
//! inputs of Algorithm 1 and label-proportion subsets.
//!
//! Every format opens into one [`Dataset`], validated as a whole before any
//! training starts: a dataset that cannot be read fails at [`Dataset::open`].

pub mod cache;
pub mod celeba;
mod error;
pub mod lfwa;
pub mod maad;
pub mod masks;
pub mod proxy;
pub mod subset;
pub mod synth;
pub mod tasks;
mod text;

pub use cache::ImageCache;
pub use error::{DataError, Result};
pub use subset::label_subset;

use crate::groups::LabelSet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Label value of an attribute the annotators left undefined (MAAD's 0): it
/// is neither positive nor negative and is excluded from loss and accuracy.
pub const UNDEFINED: i8 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];
}

/// The on-disk layouts `Dataset::open` understands (see docs/data.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CelebA layout; the synthetic dataset is written in it too.
    Celeba,
    Lfwa,
    Maad,
}

/// Where a dataset lives and how to read it, as experiment files name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub format: Format,
    pub root: PathBuf,
    /// Directory of part masks, one `<image path>.png` per image (relative to
    /// the image directory, extension replaced). Defaults to `ROOT/masks`
    /// when that directory exists.
    #[serde(default)]
    pub masks: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Path of the image relative to the dataset's image directory, as the
    /// attribute file names it.
    pub name: String,
    pub image: PathBuf,
    /// One value per attribute of the dataset's [`LabelSet`], in its order:
    /// 1 positive, -1 negative, 0 undefined.
    pub labels: Vec<i8>,
    pub split: Split,
    pub mask: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub format: Format,
    pub root: PathBuf,
    pub attributes: LabelSet,
    pub samples: Vec<Sample>,
    /// Side lengths shared by every image (checked at open).
    pub image_size: (u32, u32),
}

impl Dataset {
    /// Reads the attribute and split files, finds every image and mask and
    /// checks them: image headers must decode and agree in size, masks are
    /// decoded in full and every pixel must hold a valid class.
    pub fn open(spec: &DatasetSpec) -> Result<Dataset> {
        let (attributes, mut samples) = match spec.format {
            Format::Celeba => celeba::read(&spec.root)?,
            Format::Lfwa => lfwa::read(&spec.root)?,
            Format::Maad => maad::read(&spec.root)?,
        };
        if samples.is_empty() {
            return Err(DataError::invalid(&spec.root, "the dataset has no samples"));
        }
        let masks_dir = match &spec.masks {
            Some(dir) if !dir.is_dir() => {
                return Err(DataError::invalid(dir, "mask directory not found"))
            }
            Some(dir) => Some(dir.clone()),
            None => Some(spec.root.join("masks")).filter(|dir| dir.is_dir()),
        };
        if let Some(dir) = &masks_dir {
            for sample in &mut samples {
                let path = dir.join(Path::new(&sample.name).with_extension("png"));
                sample.mask = path.is_file().then_some(path);
            }
        }
        let image_size = check_images(&samples)?;
        masks::check_all(samples.iter().filter_map(|s| s.mask.as_deref()))?;
        Ok(Dataset {
            format: spec.format,
            root: spec.root.clone(),
            attributes,
            samples,
            image_size,
        })
    }

    /// Indices of the samples in `split`, in file order.
    pub fn split_indices(&self, split: Split) -> Vec<usize> {
        (0..self.samples.len())
            .filter(|&i| self.samples[i].split == split)
            .collect()
    }

    pub fn has_masks(&self) -> bool {
        self.samples.iter().any(|s| s.mask.is_some())
    }
}

/// Reads every image header in parallel; all images must share one size.
fn check_images(samples: &[Sample]) -> Result<(u32, u32)> {
    let sizes: Vec<(u32, u32)> = samples
        .par_iter()
        .map(|s| image_dimensions(&s.image))
        .collect::<Result<_>>()?;
    let first = sizes[0];
    match sizes.iter().position(|&size| size != first) {
        None => Ok(first),
        Some(i) => Err(DataError::ImageSize {
            path: samples[i].image.clone(),
            found_width: sizes[i].0,
            found_height: sizes[i].1,
            width: first.0,
            height: first.1,
            reference: samples[0].image.clone(),
        }),
    }
}

fn image_dimensions(path: &Path) -> Result<(u32, u32)> {
    if !path.is_file() {
        return Err(DataError::invalid(path, "image file not found"));
    }
    image::image_dimensions(path).map_err(|source| DataError::Image {
        path: path.to_path_buf(),
        source,
    })
}
