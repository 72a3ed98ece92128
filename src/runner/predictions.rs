//! The test-split predictions of a finished run (the paper's Fig. 7 rests on
//! them): the raw probabilities go to a CSV file beside the run's other
//! artifacts, written atomically and checksummed; the Pearson correlations
//! between attributes, predicted and ground truth, go to the database so
//! that a report needs nothing else.

use super::trainer::{write_atomically, TrainError};
use crate::stats::pearson_matrix;
use crate::store::{Correlations, Predictions, RunArtifact};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::path::Path;

/// The `kind` of the predictions file in the run's artifact rows.
pub const KIND: &str = "test-predictions";

/// Predicted probabilities and labels of one split, row-major.
#[derive(Debug, Clone)]
pub struct SplitPredictions {
    pub attributes: Vec<String>,
    /// The dataset index of each image, in row order.
    pub images: Vec<usize>,
    /// `images × attributes` probabilities in [0, 1].
    pub probabilities: Vec<f32>,
    /// `images × attributes` labels: 1, -1, or 0 for undefined.
    pub labels: Vec<i8>,
}

impl SplitPredictions {
    /// The CSV text of the file: `image` (dataset index), then one column
    /// of probabilities per attribute, written with enough digits to read
    /// back the same f32.
    fn csv(&self) -> String {
        let columns = self.attributes.len();
        let mut out = String::with_capacity(self.probabilities.len() * 12 + 64);
        out.push_str("image");
        for name in &self.attributes {
            out.push(',');
            out.push_str(name);
        }
        out.push('\n');
        for (row, image) in self.images.iter().enumerate() {
            let _ = write!(out, "{image}");
            for p in &self.probabilities[row * columns..(row + 1) * columns] {
                let _ = write!(out, ",{p}");
            }
            out.push('\n');
        }
        out
    }

    /// Correlations (to six decimals) of the probabilities over every
    /// image, and of the labels over the images where both are defined
    /// (MAAD has undefined labels).
    pub fn correlations(&self) -> (Correlations, Correlations) {
        let columns = self.attributes.len();
        let images = self.images.len();
        let predicted = pearson_matrix(images, columns, |r, c| {
            Some(f64::from(self.probabilities[r * columns + c]))
        });
        let truth = pearson_matrix(images, columns, |r, c| match self.labels[r * columns + c] {
            0 => None,
            label => Some(f64::from(u8::from(label > 0))),
        });
        // Six decimals are far below any difference a map can show, and
        // halve the stored JSON.
        let matrix = |values: Vec<Option<f64>>| Correlations {
            images,
            attributes: self.attributes.clone(),
            values: values
                .into_iter()
                .map(|r| r.map(|r| (r * 1e6).round() / 1e6))
                .collect(),
        };
        (matrix(predicted), matrix(truth))
    }

    /// Writes the file `predictions/<run>.csv` under `artifacts` and
    /// returns what the store records about it.
    pub fn record(&self, artifacts: &Path, run_id: &str) -> Result<Predictions, TrainError> {
        let columns = self.attributes.len();
        let expected = self.images.len() * columns;
        if self.probabilities.len() != expected || self.labels.len() != expected {
            return Err(TrainError::Failed(format!(
                "test predictions: {} probabilities and {} labels for {} images × {columns} attributes",
                self.probabilities.len(),
                self.labels.len(),
                self.images.len()
            )));
        }
        let text = self.csv();
        let path = artifacts.join("predictions").join(format!("{run_id}.csv"));
        write_atomically(&path, |tmp| {
            std::fs::write(tmp, &text).map_err(|source| TrainError::Artifact {
                path: tmp.to_path_buf(),
                source,
            })
        })?;
        let (predicted, truth) = self.correlations();
        Ok(Predictions {
            predicted,
            truth,
            file: RunArtifact {
                kind: KIND.to_string(),
                path: path.display().to_string(),
                checksum: hex::encode(Sha256::digest(text.as_bytes())),
                bytes: text.len() as u64,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_holds_every_probability_and_its_checksum_matches() {
        let dir = tempfile::tempdir().unwrap();
        let split = SplitPredictions {
            attributes: vec!["Smiling".into(), "Male".into(), "Bald".into()],
            images: vec![7, 3, 11],
            probabilities: vec![0.1, 0.9, 0.5, 0.8, 0.2, 0.5, 0.123_456_79, 0.7, 0.5],
            labels: vec![1, -1, 0, -1, 1, 0, 1, 0, 0],
        };
        let recorded = split.record(dir.path(), "run1").unwrap();
        let text = std::fs::read_to_string(&recorded.file.path).unwrap();
        assert_eq!(
            text,
            "image,Smiling,Male,Bald\n7,0.1,0.9,0.5\n3,0.8,0.2,0.5\n11,0.12345679,0.7,0.5\n"
        );
        assert_eq!(
            recorded.file.checksum,
            hex::encode(Sha256::digest(text.as_bytes()))
        );
        assert_eq!(recorded.file.bytes, text.len() as u64);
        // Bald's prediction is constant and its labels undefined: no value.
        let at = |m: &Correlations, i: usize, j: usize| m.values[i * 3 + j];
        assert_eq!(at(&recorded.predicted, 2, 0), None);
        assert_eq!(at(&recorded.truth, 2, 1), None);
        assert!(at(&recorded.predicted, 0, 1).unwrap() < -0.9);
        // Truth over the two images where both Smiling and Male are defined.
        assert_eq!(at(&recorded.truth, 0, 1), Some(-1.0));
        assert_eq!(recorded.truth.images, 3);
    }

    #[test]
    fn mismatched_lengths_are_an_error_not_a_panic() {
        let split = SplitPredictions {
            attributes: vec!["Smiling".into()],
            images: vec![0, 1],
            probabilities: vec![0.5],
            labels: vec![1, 1],
        };
        let error = split.record(Path::new("/nonexistent"), "r").unwrap_err();
        assert!(error.to_string().contains("1 probabilities"), "{error}");
    }
}
