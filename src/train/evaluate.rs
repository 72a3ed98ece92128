//! Evaluation: accuracy per attribute and its mean over attributes, on a
//! cached split, under `no_grad` with batch norm in inference mode. A label
//! of 0 (MAAD's undefined) counts neither as right nor wrong; an attribute
//! with no defined label in the split is left out of the mean and the list.
//! The predicted probabilities are kept for the correlation maps (Fig. 7).

use super::to_input;
use crate::data::ImageCache;
use crate::groups::LabelSet;
use crate::model::SplNet;
use crate::runner::predictions::SplitPredictions;
use crate::store::Accuracies;
use tch::{Device, Kind, Tensor};

/// Images per forward pass at evaluation.
const BATCH: i64 = 256;

/// A split scored by a model.
#[derive(Debug)]
pub struct Evaluation {
    pub accuracies: Accuracies,
    /// `[N, C]` f32 probabilities (sigmoid of the logits) on the CPU; `None`
    /// for a model without FAR heads.
    pub probabilities: Option<Tensor>,
}

impl Evaluation {
    /// The probabilities with the split's labels and image indices, for
    /// the predictions file and the correlations.
    pub fn predictions(
        &self,
        cache: &ImageCache,
        attributes: &LabelSet,
    ) -> Option<SplitPredictions> {
        let probabilities = self.probabilities.as_ref()?;
        Some(SplitPredictions {
            attributes: attributes.names().map(str::to_string).collect(),
            images: cache.indices.clone(),
            probabilities: Vec::<f32>::try_from(probabilities.flatten(0, -1)).ok()?,
            labels: Vec::<i8>::try_from(cache.labels.flatten(0, -1)).ok()?,
        })
    }
}

pub fn accuracies(
    model: &SplNet,
    cache: &ImageCache,
    attributes: &LabelSet,
    device: Device,
) -> Accuracies {
    evaluate(model, cache, attributes, device).accuracies
}

pub fn evaluate(
    model: &SplNet,
    cache: &ImageCache,
    attributes: &LabelSet,
    device: Device,
) -> Evaluation {
    let n = cache.len() as i64;
    let c = attributes.len() as i64;
    let mut correct = Tensor::zeros([c], (Kind::Double, Device::Cpu));
    let mut defined = Tensor::zeros([c], (Kind::Double, Device::Cpu));
    let mut probabilities = Vec::new();
    tch::no_grad(|| {
        for start in (0..n).step_by(BATCH as usize) {
            let len = BATCH.min(n - start);
            let images = to_input(&cache.images.narrow(0, start, len), device);
            let labels = cache.labels.narrow(0, start, len);
            let Some(out) = model.forward_far(&images, false) else {
                return;
            };
            let logits = out.logits.to_device(Device::Cpu);
            let predicted = logits.gt(0.0);
            probabilities.push(logits.sigmoid().to_kind(Kind::Float));
            let known = labels.ne(0);
            let right = predicted.eq_tensor(&labels.gt(0)).logical_and(&known);
            correct += right.sum_dim_intlist(0, false, Kind::Double);
            defined += known.sum_dim_intlist(0, false, Kind::Double);
        }
    });
    let correct = Vec::<f64>::try_from(&correct).unwrap_or_default();
    let defined = Vec::<f64>::try_from(&defined).unwrap_or_default();
    let per_attribute: Vec<(String, f64)> = attributes
        .names()
        .zip(correct.iter().zip(&defined))
        .filter(|(_, (_, &d))| d > 0.0)
        .map(|(name, (&r, &d))| (name.to_string(), r / d))
        .collect();
    let mean = if per_attribute.is_empty() {
        0.0
    } else {
        per_attribute.iter().map(|(_, a)| a).sum::<f64>() / per_attribute.len() as f64
    };
    let complete = probabilities.iter().map(|p| p.size()[0]).sum::<i64>() == n && n > 0;
    Evaluation {
        accuracies: Accuracies {
            mean,
            per_attribute,
        },
        probabilities: complete.then(|| Tensor::cat(&probabilities, 0)),
    }
}
