//! The discriminator D of Eqs. 6–7: four FC layers telling the fused local
//! feature d_agg (label 1) from the whole branch's d4^W (label 0).

use super::layers::{gap, Linear};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

/// Parameter group of D's variables, so that a tch optimizer can treat them
/// apart (`set_lr_group`); everything else is in group 0.
pub const DISCRIMINATOR_GROUP: usize = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminatorConfig {
    /// Channels of d4 (D reads its global average).
    pub in_channels: i64,
    /// Widths of the three hidden layers; the fourth layer gives one logit.
    pub hidden: [i64; 3],
    /// Slope of the LeakyReLU between layers.
    pub negative_slope: f64,
}

impl DiscriminatorConfig {
    /// C → C → C/2 → C/4 → 1.
    pub fn for_channels(c: i64) -> DiscriminatorConfig {
        DiscriminatorConfig {
            in_channels: c,
            hidden: [c, (c / 2).max(1), (c / 4).max(1)],
            negative_slope: 0.2,
        }
    }
}

#[derive(Debug)]
pub struct Discriminator {
    layers: Vec<Linear>,
    negative_slope: f64,
}

impl Discriminator {
    pub fn new(p: &nn::Path, cfg: &DiscriminatorConfig) -> Discriminator {
        let p = p.set_group(DISCRIMINATOR_GROUP);
        let widths = [
            cfg.in_channels,
            cfg.hidden[0],
            cfg.hidden[1],
            cfg.hidden[2],
            1,
        ];
        Discriminator {
            layers: (0..4)
                .map(|i| Linear::new(&p / format!("fc{}", i + 1), widths[i], widths[i + 1]))
                .collect(),
            negative_slope: cfg.negative_slope,
        }
    }

    /// One logit per sample: the evidence that `d4` is a fused local feature.
    pub fn forward(&self, d4: &Tensor) -> Tensor {
        let mut x = gap(d4);
        for (i, fc) in self.layers.iter().enumerate() {
            x = fc.forward(&x);
            if i + 1 < self.layers.len() {
                x = x.maximum(&(&x * self.negative_slope));
            }
        }
        x.squeeze_dim(1)
    }
}
