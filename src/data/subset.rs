//! Label proportions: which training images keep their labels at p%.
//!
//! Each training image gets a key, SHA-256 of (seed, image name); images are
//! ranked by key and the first ceil(p% of N) keep labels (at least one). The
//! ranking does not depend on p, so for one seed the 1% subset lies inside
//! the 5% subset, which lies inside the 10% subset, and so on; it does not
//! depend on file order either, only on the names.

use super::{DataError, Dataset, Result, Split};
use sha2::{Digest, Sha256};

/// Dataset indices of the labelled subset, in dataset order.
pub fn label_subset(dataset: &Dataset, percent: f64, seed: u64) -> Result<Vec<usize>> {
    if !(percent > 0.0 && percent <= 100.0) {
        return Err(DataError::Setting(format!(
            "a label proportion must be in (0, 100] percent, got {percent}"
        )));
    }
    let train = dataset.split_indices(Split::Train);
    if train.is_empty() {
        return Err(DataError::invalid(
            &dataset.root,
            "the dataset has no training images",
        ));
    }
    let keep = ((train.len() as f64 * percent / 100.0).ceil() as usize).clamp(1, train.len());
    let mut chosen = ranked(dataset, train, seed);
    chosen.truncate(keep);
    chosen.sort_unstable();
    Ok(chosen)
}

/// `indices` ordered by SHA-256(seed, image name): a seeded shuffle that
/// depends only on the names.
pub fn ranked(dataset: &Dataset, indices: Vec<usize>, seed: u64) -> Vec<usize> {
    let mut keyed: Vec<([u8; 32], usize)> = indices
        .into_iter()
        .map(|index| {
            let mut hasher = Sha256::new();
            hasher.update(seed.to_le_bytes());
            hasher.update(dataset.samples[index].name.as_bytes());
            (hasher.finalize().into(), index)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, index)| index).collect()
}
