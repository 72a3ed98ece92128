//! MSS, the multi-branch shared subnetwork: TB plus the region branches R_B
//! of cascaded DCA modules (Eq. 4) and the feature fusion block g (Eq. 5).

use super::attention::{AttentionConfig, Dca};
use super::backbone::{Backbone, BackboneConfig};
use super::layers::ConvBn;
use crate::groups::Region;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MssConfig {
    pub backbone: BackboneConfig,
    pub attention: AttentionConfig,
    /// Region branches built (a subset of whole/upper/middle/lower; empty:
    /// TB alone, as in the baseline).
    pub branches: Vec<Region>,
    /// Whether the fusion block g exists.
    pub fusion: bool,
}

/// R_B^k: four cascaded DCA modules. d1 = DCA(o1, o1); for n ≥ 2,
/// d_n = DCA(o_n, down_n(d_{n-1})), where down_n (3×3 conv, stride 2, + BN)
/// brings d_{n-1} to o_n's resolution and channels. d4 ends in BN + ReLU,
/// as TB's o4 does: the branch works on pre-activation features like the
/// PreAct blocks it reads, so its output needs the same closing
/// normalisation before the heads pool it.
#[derive(Debug)]
pub struct RegionBranch {
    down: Vec<ConvBn>,
    dca: Vec<Dca>,
    final_bn: nn::BatchNorm,
}

impl RegionBranch {
    pub fn new(p: &nn::Path, widths: [i64; 4], attention: &AttentionConfig) -> RegionBranch {
        RegionBranch {
            down: (1..4)
                .map(|n| {
                    ConvBn::new(
                        &(p / format!("down{}", n + 1)),
                        widths[n - 1],
                        widths[n],
                        3,
                        2,
                    )
                })
                .collect(),
            dca: (0..4)
                .map(|n| Dca::new(&(p / format!("dca{}", n + 1)), attention, widths[n]))
                .collect(),
            final_bn: nn::batch_norm2d(p / "final_bn", widths[3], Default::default()),
        }
    }

    /// d4 of this branch.
    pub fn forward_t(&self, o: &[Tensor; 4], train: bool) -> Tensor {
        let mut d = self.dca[0].forward_t(&o[0], &o[0], train);
        for ((o_n, down), dca) in o[1..].iter().zip(&self.down).zip(&self.dca[1..]) {
            d = dca.forward_t(o_n, &down.forward_t(&d, train), train);
        }
        d.apply_t(&self.final_bn, train).relu()
    }
}

/// What MSS computes for one input.
#[derive(Debug)]
pub struct MssOutput {
    /// o1..o4 of TB.
    pub o: [Tensor; 4],
    /// d4 of every region branch built.
    pub d4: BTreeMap<Region, Tensor>,
    /// g(concat(d4^U, d4^M, d4^L)) when the fusion block exists.
    pub d_agg: Option<Tensor>,
}

impl MssOutput {
    /// The feature a region's head reads: its branch, or for the whole
    /// region without a whole branch, the fused local branches.
    pub fn region_feature(&self, region: Region) -> Option<&Tensor> {
        self.d4.get(&region).or(match region {
            Region::Whole => self.d_agg.as_ref(),
            _ => None,
        })
    }
}

#[derive(Debug)]
pub struct Mss {
    pub tb: Backbone,
    branches: BTreeMap<Region, RegionBranch>,
    /// g of Eq. 5: 1×1 conv (3C → C) + BN.
    fusion: Option<ConvBn>,
}

impl Mss {
    pub fn new(p: &nn::Path, cfg: &MssConfig) -> Mss {
        let widths = cfg.backbone.widths;
        Mss {
            tb: Backbone::new(&(p / "tb"), &cfg.backbone),
            branches: cfg
                .branches
                .iter()
                .map(|&r| {
                    (
                        r,
                        RegionBranch::new(&(p / r.name()), widths, &cfg.attention),
                    )
                })
                .collect(),
            fusion: cfg
                .fusion
                .then(|| ConvBn::new(&(p / "fusion"), 3 * widths[3], widths[3], 1, 1)),
        }
    }

    /// TB, then (with `branches`) every region branch on its outputs and g.
    pub fn forward_t(&self, x: &Tensor, branches: bool, train: bool) -> MssOutput {
        let o = self.tb.forward_t(x, train);
        let d4: BTreeMap<Region, Tensor> = self
            .branches
            .iter()
            .filter(|_| branches)
            .map(|(&r, branch)| (r, branch.forward_t(&o, train)))
            .collect();
        let d_agg = self.fusion.as_ref().filter(|_| branches).map(|g| {
            let locals: Vec<&Tensor> = Region::LOCAL.iter().map(|r| &d4[r]).collect();
            g.forward_t(&Tensor::cat(&locals, 1), train)
        });
        MssOutput { o, d4, d_agg }
    }
}
