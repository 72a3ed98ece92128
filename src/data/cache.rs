//! Decoded images held as tensors: a split is decoded once, in parallel, so
//! training never waits on PNG or JPEG decoding.

use super::{masks, DataError, Dataset, Result};
use image::imageops::{self, FilterType};
use rayon::prelude::*;
use tch::Tensor;

pub struct ImageCache {
    /// `[N, 3, S, S]` u8, RGB.
    pub images: Tensor,
    /// `[N, S, S]` u8 class indices; `None` unless every cached sample has a
    /// part mask.
    pub masks: Option<Tensor>,
    /// `[N, C]` i8: 1, -1, or 0 for undefined.
    pub labels: Tensor,
    /// The dataset indices of the cached samples, in cache order.
    pub indices: Vec<usize>,
    pub size: i64,
}

impl ImageCache {
    /// Decodes the samples `indices` of `dataset`, resized to `size` x `size`
    /// (images bilinear, masks nearest, so classes stay exact). Errors name
    /// the file that fails to decode.
    pub fn load(dataset: &Dataset, indices: &[usize], size: u32) -> Result<ImageCache> {
        if size == 0 || indices.is_empty() {
            return Err(DataError::Setting(format!(
                "an image cache needs a size > 0 and at least one sample (size {size}, {} samples)",
                indices.len()
            )));
        }
        let side = size as usize;
        let samples: Vec<_> = indices.iter().map(|&i| &dataset.samples[i]).collect();

        let mut pixels = vec![0u8; samples.len() * side * side * 3];
        pixels
            .par_chunks_mut(side * side * 3)
            .zip(&samples)
            .try_for_each(|(out, sample)| {
                let image = image::open(&sample.image)
                    .map_err(|source| DataError::Image {
                        path: sample.image.clone(),
                        source,
                    })?
                    .into_rgb8();
                let image = if image.dimensions() == (size, size) {
                    image
                } else {
                    imageops::resize(&image, size, size, FilterType::Triangle)
                };
                out.copy_from_slice(image.as_raw());
                Ok::<_, DataError>(())
            })?;
        let n = samples.len() as i64;
        let s = size as i64;
        let images = Tensor::from_slice(&pixels)
            .view([n, s, s, 3])
            .permute([0, 3, 1, 2])
            .contiguous();
        drop(pixels);

        let mask_paths: Option<Vec<_>> = samples.iter().map(|s| s.mask.as_deref()).collect();
        let masks = if let Some(paths) = mask_paths {
            let mut classes = vec![0u8; samples.len() * side * side];
            classes
                .par_chunks_mut(side * side)
                .zip(&paths)
                .try_for_each(|(out, path)| {
                    let mask = masks::read(path)?;
                    let mask = if mask.dimensions() == (size, size) {
                        mask
                    } else {
                        imageops::resize(&mask, size, size, FilterType::Nearest)
                    };
                    out.copy_from_slice(mask.as_raw());
                    Ok::<_, DataError>(())
                })?;
            Some(Tensor::from_slice(&classes).view([n, s, s]))
        } else {
            None
        };

        let labels: Vec<i8> = samples
            .iter()
            .flat_map(|sample| sample.labels.iter().copied())
            .collect();
        let labels = Tensor::from_slice(&labels).view([n, dataset.attributes.len() as i64]);
        Ok(ImageCache {
            images,
            masks,
            labels,
            indices: indices.to_vec(),
            size: s,
        })
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}
