//! TB, the task-shared branch: PreAct ResNet-18 (He et al., 2016b) with an
//! ImageNet-style stem, returning the outputs o1..o4 of its four stages.

use super::layers::{Conv, ConvBn};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackboneConfig {
    pub in_channels: i64,
    /// Output channels of the four stages (64/128/256/512 at full width).
    pub widths: [i64; 4],
    /// PreAct blocks per stage (2 each for ResNet-18).
    pub blocks: [usize; 4],
}

impl BackboneConfig {
    pub fn resnet18(widths: [i64; 4]) -> BackboneConfig {
        BackboneConfig {
            in_channels: 3,
            widths,
            blocks: [2; 4],
        }
    }
}

/// BN → ReLU → conv3×3 → BN → ReLU → conv3×3, plus the identity (or a 1×1
/// projection of the pre-activated input when the shape changes).
#[derive(Debug)]
struct PreActBlock {
    bn1: nn::BatchNorm,
    conv1: Conv,
    bn2: nn::BatchNorm,
    conv2: Conv,
    shortcut: Option<Conv>,
}

impl PreActBlock {
    fn new(p: nn::Path, c_in: i64, c_out: i64, stride: i64) -> PreActBlock {
        PreActBlock {
            bn1: nn::batch_norm2d(&p / "bn1", c_in, Default::default()),
            conv1: Conv::new(&p / "conv1", c_in, c_out, 3, stride),
            bn2: nn::batch_norm2d(&p / "bn2", c_out, Default::default()),
            conv2: Conv::new(&p / "conv2", c_out, c_out, 3, 1),
            shortcut: (stride != 1 || c_in != c_out)
                .then(|| Conv::new(&p / "shortcut", c_in, c_out, 1, stride)),
        }
    }
}

impl ModuleT for PreActBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let pre = x.apply_t(&self.bn1, train).relu();
        let identity = match &self.shortcut {
            Some(conv) => conv.forward(&pre),
            None => x.shallow_clone(),
        };
        let y = self.conv1.forward(&pre).apply_t(&self.bn2, train).relu();
        self.conv2.forward(&y) + identity
    }
}

/// PreAct ResNet-18. o1..o3 are raw stage outputs (pre-activation, as the
/// next block expects them); o4 goes through the network's final BN+ReLU.
#[derive(Debug)]
pub struct Backbone {
    stem: ConvBn,
    stages: Vec<Vec<PreActBlock>>,
    final_bn: nn::BatchNorm,
}

impl Backbone {
    pub fn new(p: &nn::Path, cfg: &BackboneConfig) -> Backbone {
        let stem = ConvBn::new(&(p / "stem"), cfg.in_channels, cfg.widths[0], 7, 2);
        let mut c_in = cfg.widths[0];
        let stages = (0..4)
            .map(|s| {
                let c_out = cfg.widths[s];
                (0..cfg.blocks[s])
                    .map(|b| {
                        let stride = if s > 0 && b == 0 { 2 } else { 1 };
                        let block = PreActBlock::new(
                            p / format!("stage{}", s + 1) / format!("block{b}"),
                            c_in,
                            c_out,
                            stride,
                        );
                        c_in = c_out;
                        block
                    })
                    .collect()
            })
            .collect();
        Backbone {
            stem,
            stages,
            final_bn: nn::batch_norm2d(p / "final_bn", cfg.widths[3], Default::default()),
        }
    }

    /// o1..o4 at strides 4, 8, 16, 32.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> [Tensor; 4] {
        let mut h =
            self.stem
                .forward_t(x, train)
                .relu()
                .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        let mut outs = Vec::with_capacity(4);
        for stage in &self.stages {
            for block in stage {
                h = block.forward_t(&h, train);
            }
            outs.push(h.shallow_clone());
        }
        outs[3] = outs[3].apply_t(&self.final_bn, train).relu();
        outs.try_into().expect("four stages")
    }
}
