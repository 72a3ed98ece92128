//! Attention blocks: SE channel attention (Hu et al., 2018), CBAM channel and
//! spatial attention (Woo et al., 2018), and the dual cross attention (DCA)
//! module of Eqs. 1–3 that fuses two features.

use super::layers::{gap, ConvBn, Linear};
use crate::registry::Attention;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionConfig {
    /// Which CA/SA blocks the DCA modules use (`none`: fuse without masks).
    pub kind: Attention,
    /// Channel reduction r of the SE / CBAM MLP (16 in both papers).
    pub reduction: i64,
    /// Kernel of CBAM's spatial attention convolution (7 in CBAM).
    pub spatial_kernel: i64,
}

impl AttentionConfig {
    pub fn new(kind: Attention) -> AttentionConfig {
        AttentionConfig {
            kind,
            reduction: 16,
            spatial_kernel: 7,
        }
    }
}

/// A channel mask `[N, C, 1, 1]` in (0, 1).
#[derive(Debug)]
enum ChannelAttention {
    /// SE: GAP → FC → ReLU → FC → sigmoid.
    Se { fc1: Linear, fc2: Linear },
    /// CBAM: one MLP over the average- and the max-pooled descriptors, summed.
    Cbam { fc1: Linear, fc2: Linear },
}

impl ChannelAttention {
    fn new(
        p: &nn::Path,
        kind: Attention,
        channels: i64,
        reduction: i64,
    ) -> Option<ChannelAttention> {
        let hidden = (channels / reduction).max(1);
        let mlp = |p: nn::Path| {
            (
                Linear::new(&p / "fc1", channels, hidden),
                Linear::new(&p / "fc2", hidden, channels),
            )
        };
        match kind {
            Attention::Dca => {
                let (fc1, fc2) = mlp(p / "se");
                Some(ChannelAttention::Se { fc1, fc2 })
            }
            Attention::Cbam => {
                let (fc1, fc2) = mlp(p / "cbam_channel");
                Some(ChannelAttention::Cbam { fc1, fc2 })
            }
            Attention::None => None,
        }
    }

    fn mask(&self, x: &Tensor) -> Tensor {
        let logits = match self {
            ChannelAttention::Se { fc1, fc2 } => fc2.forward(&fc1.forward(&gap(x)).relu()),
            ChannelAttention::Cbam { fc1, fc2 } => {
                let mlp = |d: &Tensor| fc2.forward(&fc1.forward(d).relu());
                mlp(&gap(x)) + mlp(&x.amax([2, 3], false))
            }
        };
        logits.sigmoid().unsqueeze(-1).unsqueeze(-1)
    }
}

/// CBAM's spatial attention: channel-wise mean and max → k×k conv → BN →
/// sigmoid, a mask `[N, 1, H, W]`. The DCA uses this block in both modes.
#[derive(Debug)]
struct SpatialAttention {
    conv: ConvBn,
}

impl SpatialAttention {
    fn new(p: &nn::Path, kernel: i64) -> SpatialAttention {
        SpatialAttention {
            conv: ConvBn::new(&(p / "spatial"), 2, 1, kernel, 1),
        }
    }

    fn mask(&self, x: &Tensor, train: bool) -> Tensor {
        let pooled = Tensor::cat(&[x.mean_dim(1, true, None), x.amax(1, true)], 1);
        self.conv.forward_t(&pooled, train).sigmoid()
    }
}

/// DCA(f1, f2) of Eqs. 1–3 for two features of C channels at one resolution.
///
/// The channel path works on concat(f1, f2) (2C channels) and the spatial
/// path on f1 + f2 (C channels), so Eq. 3's sum needs f_CA brought to C
/// channels: a 1×1 conv + BN (`reduce`) does that, the cheapest learned map
/// that keeps every channel of both inputs reachable.
#[derive(Debug)]
pub struct Dca {
    channel: Option<ChannelAttention>,
    spatial: Option<SpatialAttention>,
    reduce: ConvBn,
}

impl Dca {
    pub fn new(p: &nn::Path, cfg: &AttentionConfig, channels: i64) -> Dca {
        Dca {
            channel: ChannelAttention::new(p, cfg.kind, 2 * channels, cfg.reduction),
            spatial: (cfg.kind != Attention::None)
                .then(|| SpatialAttention::new(p, cfg.spatial_kernel)),
            reduce: ConvBn::new(&(p / "reduce"), 2 * channels, channels, 1, 1),
        }
    }

    pub fn forward_t(&self, f1: &Tensor, f2: &Tensor, train: bool) -> Tensor {
        let f_con = Tensor::cat(&[f1, f2], 1);
        let f_sum = f1 + f2;
        // Eq. 1 and Eq. 2: x ⊕ (mask ⊙ x); without attention the paths pass x.
        let f_ca = match &self.channel {
            Some(ca) => &f_con + ca.mask(&f_con) * &f_con,
            None => f_con,
        };
        let f_sa = match &self.spatial {
            Some(sa) => &f_sum + sa.mask(&f_sum, train) * &f_sum,
            None => f_sum,
        };
        // Eq. 3.
        self.reduce.forward_t(&f_ca, train) + f_sa
    }
}
