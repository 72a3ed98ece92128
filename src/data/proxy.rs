//! Proxy part masks (Section 3.3.2): the paper fine-tunes BiSeNetV2 on as
//! many CelebAMask-HQ images as there are labelled images and uses its
//! predictions as PST/PCT labels. Here a compact face-parsing network is
//! trained on a limited number of images that have masks, scored by mIoU on
//! held-out masks, and used to write a mask for every image.

use super::{masks::CLASSES, DataError, Dataset, ImageCache, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParserConfig {
    /// Side of the parser's input and output, pixels.
    pub size: u32,
    /// Channels of the first stage (doubled at each of two downsamplings).
    pub width: i64,
    pub epochs: usize,
    pub batch: i64,
    pub learning_rate: f64,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            size: 64,
            width: 16,
            epochs: 30,
            batch: 16,
            learning_rate: 2e-3,
        }
    }
}

fn conv_bn(p: nn::Path, c_in: i64, c_out: i64, stride: i64, dilation: i64) -> nn::SequentialT {
    let config = nn::ConvConfig {
        stride,
        padding: dilation,
        dilation,
        bias: false,
        ..Default::default()
    };
    nn::seq_t()
        .add(nn::conv2d(&p / "conv", c_in, c_out, 3, config))
        .add(nn::batch_norm2d(&p / "bn", c_out, Default::default()))
        .add_fn(|xs| xs.relu())
}

/// Full-resolution stem, two stride-2 stages, dilated context, and a fuse
/// of the upsampled context with the stem before a 1x1 classifier.
#[derive(Debug)]
pub struct FaceParser {
    stem: nn::SequentialT,
    down: nn::SequentialT,
    context: nn::SequentialT,
    fuse: nn::SequentialT,
    classifier: nn::Conv2D,
}

impl FaceParser {
    pub fn new(p: &nn::Path, width: i64) -> FaceParser {
        let w = width;
        FaceParser {
            stem: nn::seq_t()
                .add(conv_bn(p / "stem" / "0", 3, w, 1, 1))
                .add(conv_bn(p / "stem" / "1", w, w, 1, 1)),
            down: nn::seq_t()
                .add(conv_bn(p / "down" / "0", w, 2 * w, 2, 1))
                .add(conv_bn(p / "down" / "1", 2 * w, 4 * w, 2, 1)),
            context: nn::seq_t()
                .add(conv_bn(p / "context" / "0", 4 * w, 4 * w, 1, 2))
                .add(conv_bn(p / "context" / "1", 4 * w, 4 * w, 1, 4)),
            fuse: conv_bn(p / "fuse", 5 * w, w, 1, 1),
            classifier: nn::conv2d(p / "classifier", w, CLASSES as i64, 1, Default::default()),
        }
    }
}

impl ModuleT for FaceParser {
    /// `xs`: `[B, 3, S, S]` float in [-1, 1] → logits `[B, 19, S, S]`.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let stem = xs.apply_t(&self.stem, train);
        let (h, w) = (stem.size()[2], stem.size()[3]);
        let context = stem
            .apply_t(&self.down, train)
            .apply_t(&self.context, train)
            .upsample_bilinear2d([h, w], false, None, None);
        Tensor::cat(&[stem, context], 1)
            .apply_t(&self.fuse, train)
            .apply(&self.classifier)
    }
}

fn to_input(images: &Tensor, device: Device) -> Tensor {
    images.to_device(device).to_kind(Kind::Float) / 127.5 - 1.0
}

/// A trained parser with the device and size it runs at.
pub struct TrainedParser {
    _vs: nn::VarStore,
    net: FaceParser,
    device: Device,
    pub size: u32,
}

impl TrainedParser {
    /// Trains on cached images and their masks (`cache.masks` required).
    pub fn train(
        cache: &ImageCache,
        config: &ParserConfig,
        device: Device,
        seed: u64,
    ) -> Result<TrainedParser> {
        let masks = cache.masks.as_ref().ok_or_else(|| {
            DataError::Setting("the parser's training images need part masks".into())
        })?;
        if cache.size != config.size as i64 || config.batch < 1 || config.width < 1 {
            return Err(DataError::Setting(format!(
                "parser: cache size {} must equal size {}, batch and width must be positive",
                cache.size, config.size
            )));
        }
        tch::manual_seed(seed as i64);
        let vs = nn::VarStore::new(device);
        let net = FaceParser::new(&vs.root(), config.width);
        let mut opt = nn::Adam::default().build(&vs, config.learning_rate)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<i64> = (0..cache.len() as i64).collect();
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(config.batch as usize) {
                let index = Tensor::from_slice(chunk);
                let input = to_input(&cache.images.index_select(0, &index), device);
                let target = masks
                    .index_select(0, &index)
                    .to_device(device)
                    .to_kind(Kind::Int64);
                let loss = net.forward_t(&input, true).cross_entropy_loss::<Tensor>(
                    &target,
                    None,
                    Reduction::Mean,
                    -100,
                    0.0,
                );
                opt.backward_step(&loss);
            }
        }
        Ok(TrainedParser {
            _vs: vs,
            net,
            device,
            size: config.size,
        })
    }

    /// Predicted classes `[N, S, S]` u8 for cached images, in batches.
    pub fn predict(&self, images: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        let chunks: Vec<Tensor> = images
            .split(64, 0)
            .iter()
            .map(|batch| {
                self.net
                    .forward_t(&to_input(batch, self.device), false)
                    .argmax(1, false)
                    .to_kind(Kind::Uint8)
                    .to_device(Device::Cpu)
            })
            .collect();
        Tensor::cat(&chunks, 0)
    }
}

/// Mean intersection-over-union over the classes present in the truth or
/// the prediction (classes absent from both do not count).
pub fn mean_iou(predicted: &Tensor, truth: &Tensor) -> f64 {
    let k = CLASSES as i64;
    let joint = truth.to_kind(Kind::Int64) * k + predicted.to_kind(Kind::Int64);
    let confusion = joint
        .view(-1)
        .bincount::<Tensor>(None, k * k)
        .view([k, k])
        .to_kind(Kind::Double);
    let inter = confusion.diagonal(0, 0, 1);
    let union = confusion.sum_dim_intlist([0i64].as_slice(), false, Kind::Double)
        + confusion.sum_dim_intlist([1i64].as_slice(), false, Kind::Double)
        - &inter;
    let present = union.gt(0.0);
    let iou = inter.masked_select(&present) / union.masked_select(&present);
    iou.mean(Kind::Double).double_value(&[])
}

/// Writes the parser's mask for every image of `dataset` into `out` (same
/// names as mask lookup expects), resized back to the image size.
pub fn write_masks(dataset: &Dataset, parser: &TrainedParser, out: &Path) -> Result<usize> {
    let all: Vec<usize> = (0..dataset.samples.len()).collect();
    let (width, height) = dataset.image_size;
    let mut written = 0;
    for chunk in all.chunks(256) {
        let cache = ImageCache::load(dataset, chunk, parser.size)?;
        let predicted = parser.predict(&cache.images);
        for (row, &index) in chunk.iter().enumerate() {
            let classes = Vec::<u8>::try_from(predicted.get(row as i64).contiguous().view(-1))?;
            let mask = image::GrayImage::from_raw(parser.size, parser.size, classes)
                .ok_or_else(|| DataError::Setting("parser output has the wrong size".into()))?;
            let mask =
                image::imageops::resize(&mask, width, height, image::imageops::FilterType::Nearest);
            let path = out.join(Path::new(&dataset.samples[index].name).with_extension("png"));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
            }
            mask.save(&path).map_err(|source| DataError::Image {
                path: path.clone(),
                source,
            })?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_iou_counts_only_classes_that_occur() {
        let truth = Tensor::from_slice(&[0u8, 0, 1, 1]);
        let predicted = Tensor::from_slice(&[0u8, 1, 1, 1]);
        // class 0: 1 / 2; class 1: 2 / 3.
        let expected = (0.5 + 2.0 / 3.0) / 2.0;
        assert!((mean_iou(&predicted, &truth) - expected).abs() < 1e-9);
        assert_eq!(mean_iou(&truth, &truth), 1.0);
    }
}
