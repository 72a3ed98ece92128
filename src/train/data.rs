//! A run's data: the experiment's dataset spec opened as a [`Dataset`], and
//! the decoded splits each phase reads. The synthetic dataset is generated
//! once per generator setting under the artifacts directory and reused.

use super::{Result, TrainingError};
use crate::data::synth::{self, SynthConfig};
use crate::data::{self, label_subset, DataError, Dataset, Format, ImageCache, Split};
use crate::experiment::DatasetSpec;
use crate::groups::LabelSet;
use crate::profile::HyperParams;
use crate::registry::{Schedule, Variant};
use crate::store::StoredSpec;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct RunData {
    pub attributes: LabelSet,
    /// The training split without labels, at the auxiliary tasks' resize;
    /// `None` for variants that never read it.
    pub unlabeled: Option<ImageCache>,
    /// The proportion's labelled subset of the training split.
    pub labeled: ImageCache,
    pub val: ImageCache,
    pub test: ImageCache,
}

impl RunData {
    pub fn load(
        spec: &DatasetSpec,
        artifacts: &Path,
        variant: &Variant,
        hp: &HyperParams,
        run: &StoredSpec,
    ) -> Result<RunData> {
        let dataset = open(spec, artifacts)?;
        let toggles = &variant.toggles;
        let needs_masks = toggles.schedule != Schedule::Supervised && (toggles.pst || toggles.pct);
        if needs_masks && !dataset.has_masks() {
            return Err(TrainingError::Setting(format!(
                "variant {:?} trains PST/PCT, which need part masks, but dataset {} has none",
                variant.name,
                dataset.root.display()
            )));
        }
        let unlabeled = (toggles.schedule != Schedule::Supervised && toggles.has_auxiliary_task())
            .then(|| load_split(&dataset, Split::Train, hp.image_resize))
            .transpose()?;
        let subset = label_subset(&dataset, run.proportion, run.seed)?;
        let size = hp.input_size;
        Ok(RunData {
            attributes: dataset.attributes,
            unlabeled,
            labeled: ImageCache::load(&dataset, &subset, size as u32)?,
            val: load_split(&dataset, Split::Val, size)?,
            test: load_split(&dataset, Split::Test, size)?,
        })
    }
}

fn load_split(dataset: &Dataset, split: Split, size: i64) -> Result<ImageCache> {
    let indices = dataset.split_indices(split);
    if indices.is_empty() {
        return Err(TrainingError::Setting(format!(
            "dataset {} has no {split:?} images",
            dataset.root.display()
        )));
    }
    Ok(ImageCache::load(dataset, &indices, size as u32)?)
}

/// Opens the dataset a run names; a synthetic one is generated first if
/// `artifacts` does not hold it yet.
pub fn open(spec: &DatasetSpec, artifacts: &Path) -> Result<Dataset> {
    let (format, root) = match spec {
        DatasetSpec::Celeba { path } => (Format::Celeba, path.clone()),
        DatasetSpec::Lfwa { path } => (Format::Lfwa, path.clone()),
        DatasetSpec::Maad { path } => (Format::Maad, path.clone()),
        DatasetSpec::Synthetic {
            count,
            size,
            seed,
            difficulty,
        } => (
            Format::Celeba,
            synthetic(
                &SynthConfig {
                    count: *count,
                    size: *size,
                    seed: *seed,
                    difficulty: difficulty.clone().unwrap_or_default(),
                    ..SynthConfig::default()
                },
                artifacts,
            )?,
        ),
    };
    Ok(Dataset::open(&data::DatasetSpec {
        format,
        root,
        masks: None,
    })?)
}

/// The directory of the synthetic dataset `config` under
/// `artifacts/datasets/`, keyed by every generator setting. It is written
/// to a temporary directory and renamed into place, so concurrent workers
/// never read a half-written one.
pub fn synthetic(config: &SynthConfig, artifacts: &Path) -> Result<PathBuf> {
    let settings = toml::to_string(config).map_err(|e| TrainingError::Setting(e.to_string()))?;
    let digest = hex::encode(Sha256::digest(settings.as_bytes()));
    let parent = artifacts.join("datasets");
    let dir = parent.join(format!(
        "synthetic-{}x{}-seed{}-{}",
        config.count,
        config.size,
        config.seed,
        &digest[..12]
    ));
    if dir.join(synth::CONFIG_FILE).is_file() {
        return Ok(dir);
    }
    // Unique per process and call: threads of one process may race too.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let tmp = parent.join(format!(
        ".tmp-{}-{}-{}",
        &digest[..12],
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| DataError::Io {
            path: tmp.clone(),
            source: e,
        })?;
    }
    synth::write_dataset(&tmp, config)?;
    if std::fs::rename(&tmp, &dir).is_err() && dir.join(synth::CONFIG_FILE).is_file() {
        // Another worker finished the same dataset first: use theirs.
        let _ = std::fs::remove_dir_all(&tmp);
    } else if !dir.join(synth::CONFIG_FILE).is_file() {
        return Err(TrainingError::Setting(format!(
            "could not move the synthetic dataset into {}",
            dir.display()
        )));
    }
    Ok(dir)
}
