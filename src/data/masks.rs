//! Part masks in the CelebAMask-HQ face-parsing convention: an 8-bit
//! grayscale PNG per image whose pixel values are class indices of
//! [`COMPONENTS`] (0 background, 1 skin, ..., 18 hat).

use super::{DataError, Result};
use crate::groups::COMPONENTS;
use image::{DynamicImage, GrayImage};
use rayon::prelude::*;
use std::path::Path;

/// The number of face-parsing classes (J = 19).
pub const CLASSES: usize = 19;
const _: () = assert!(COMPONENTS.labels.len() == CLASSES);

/// Decodes a mask and checks that it is 8-bit grayscale with classes < 19.
pub fn read(path: &Path) -> Result<GrayImage> {
    let image = image::open(path).map_err(|source| DataError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    let DynamicImage::ImageLuma8(mask) = image else {
        return Err(DataError::invalid(
            path,
            format!(
                "a part mask must be an 8-bit grayscale PNG of class indices, found {:?}",
                image.color()
            ),
        ));
    };
    check_classes(path, &mask)?;
    Ok(mask)
}

pub fn check_classes(path: &Path, mask: &GrayImage) -> Result<()> {
    match mask
        .enumerate_pixels()
        .find(|(_, _, p)| p.0[0] as usize >= CLASSES)
    {
        None => Ok(()),
        Some((x, y, p)) => Err(DataError::MaskClass {
            path: path.to_path_buf(),
            x,
            y,
            class: p.0[0],
            classes: CLASSES,
        }),
    }
}

/// Decodes every mask in parallel; the error names a bad mask if any.
pub(crate) fn check_all<'a>(paths: impl Iterator<Item = &'a Path>) -> Result<()> {
    let paths: Vec<&Path> = paths.collect();
    paths.par_iter().try_for_each(|path| read(path).map(drop))
}
