//! Task heads: PRT (Section 3.3.1), PST with criss-cross attention (3.3.2),
//! the four region heads of PCT (3.3.3) and FAR (3.4), and the baseline's
//! two FC layers.

use super::layers::{gap, path_name, record, Conv, ConvBn, Linear};
use crate::groups::{LabelSet, Region};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::nn::{self, Init, Module, ModuleT};
use tch::{Kind, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadsConfig {
    /// Channels of TB's input (the PRT preprocessing maps m²·3 to this).
    pub in_channels: i64,
    /// Channels of o4 and of every d4.
    pub feature_channels: i64,
    /// m: the PRT grid is m×m.
    pub patches_per_side: i64,
    /// Rotation classes of PRT: 90°, 180°, 270°.
    pub angles: i64,
    /// J: semantic classes of PST.
    pub semantic_classes: i64,
    /// Criss-cross attention passes (CCNet's recurrence R = 2).
    pub cca_recurrence: usize,
}

/// Outputs of the PRT subnetwork: logits over the m² patches and the 3 angles.
#[derive(Debug)]
pub struct PrtLogits {
    pub patch: Tensor,
    pub angle: Tensor,
}

/// PRT: a preprocessing block (1×1 conv + BN + PReLU) over the m×m patches
/// concatenated on channels, then (after TB) GAP and two FC heads.
#[derive(Debug)]
pub struct PrtHead {
    preprocess: ConvBn,
    prelu: Tensor,
    patch: Linear,
    angle: Linear,
}

impl PrtHead {
    pub fn new(p: &nn::Path, cfg: &HeadsConfig) -> PrtHead {
        let m2 = cfg.patches_per_side * cfg.patches_per_side;
        let pre = p / "preprocess";
        PrtHead {
            preprocess: ConvBn::new(&pre, m2 * cfg.in_channels, cfg.in_channels, 1, 1),
            prelu: pre.var("prelu", &[1], Init::Const(0.25)),
            patch: Linear::new(p / "patch", cfg.feature_channels, m2),
            angle: Linear::new(p / "angle", cfg.feature_channels, cfg.angles),
        }
    }

    /// `[N, m², C, S, S]` patches → `[N, C, S, S]` TB input.
    pub fn preprocess(&self, patches: &Tensor, train: bool) -> Tensor {
        let x = patches.flatten(1, 2);
        self.preprocess.forward_t(&x, train).prelu(&self.prelu)
    }

    pub fn classify(&self, o4: &Tensor) -> PrtLogits {
        let f = gap(o4);
        PrtLogits {
            patch: self.patch.forward(&f),
            angle: self.angle.forward(&f),
        }
    }
}

/// Criss-cross attention (Huang et al., 2019): each pixel attends to the
/// pixels of its row and column; the result is scaled by a learned γ
/// (starting at 0) and added to the input.
#[derive(Debug)]
struct CrissCross {
    query: Conv,
    key: Conv,
    value: Conv,
    gamma: Tensor,
    name: String,
}

impl CrissCross {
    fn new(p: &nn::Path, channels: i64) -> CrissCross {
        let qk = (channels / 8).max(1);
        CrissCross {
            query: Conv::with_bias(p / "query", channels, qk, 1, 1, true),
            key: Conv::with_bias(p / "key", channels, qk, 1, 1, true),
            value: Conv::with_bias(p / "value", channels, channels, 1, 1, true),
            gamma: p.var("gamma", &[1], Init::Const(0.0)),
            name: path_name(p),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (q, k, v) = (
            self.query.forward(x),
            self.key.forward(x),
            self.value.forward(x),
        );
        let (h, w) = (x.size()[2], x.size()[3]);
        // Energies along the column (h') and the row (w'); a pixel meets
        // itself in both, so the column copy of that term is masked out.
        let column = Tensor::einsum("nchw,ncgw->nhwg", &[&q, &k], None::<i64>);
        let self_mask = Tensor::eye(h, (Kind::Bool, x.device())).unsqueeze(1);
        let column = column.masked_fill(&self_mask, f64::NEG_INFINITY);
        let row = Tensor::einsum("nchw,nchv->nhwv", &[&q, &k], None::<i64>);
        let attention = Tensor::cat(&[column, row], 3).softmax(3, Kind::Float);
        let (att_column, att_row) = (attention.narrow(3, 0, h), attention.narrow(3, h, w));
        let out = Tensor::einsum("nhwg,ncgw->nchw", &[&att_column, &v], None::<i64>)
            + Tensor::einsum("nhwv,nchv->nchw", &[&att_row, &v], None::<i64>);
        let pixels = q.size()[0] * h * w * (h + w);
        record(&self.name, pixels * (q.size()[1] + v.size()[1]));
        &self.gamma * out + x
    }
}

/// PST: conv → criss-cross attention → two convs (the last one the per-pixel
/// J-way classifier), upsampled to the input size.
#[derive(Debug)]
pub struct PstHead {
    conv_in: ConvBn,
    cca: CrissCross,
    recurrence: usize,
    conv_mid: ConvBn,
    classifier: Conv,
}

impl PstHead {
    pub fn new(p: &nn::Path, cfg: &HeadsConfig) -> PstHead {
        let c = cfg.feature_channels;
        PstHead {
            conv_in: ConvBn::new(&(p / "conv_in"), c, c, 3, 1),
            cca: CrissCross::new(&(p / "cca"), c),
            recurrence: cfg.cca_recurrence,
            conv_mid: ConvBn::new(&(p / "conv_mid"), c, c / 2, 3, 1),
            classifier: Conv::with_bias(p / "classifier", c / 2, cfg.semantic_classes, 1, 1, true),
        }
    }

    /// Per-pixel logits `[N, J, S, S]` for an input of side `size`.
    pub fn forward_t(&self, o4: &Tensor, size: i64, train: bool) -> Tensor {
        let mut x = self.conv_in.forward_t(o4, train).relu();
        for _ in 0..self.recurrence {
            x = self.cca.forward(&x);
        }
        let x = self.conv_mid.forward_t(&x, train).relu();
        self.classifier
            .forward(&x)
            .upsample_bilinear2d([size, size], false, None, None)
    }
}

/// Four parallel GAP + FC heads, one per region, sized by a label set's
/// Table 1 groups (PCT over components, FAR over attributes).
#[derive(Debug)]
pub struct RegionHeads {
    heads: Vec<(Region, Linear)>,
    /// For each label in the set's own order, its position in the
    /// concatenation of the heads' outputs (whole, upper, middle, lower).
    order: Tensor,
}

impl RegionHeads {
    pub fn new(p: &nn::Path, labels: &LabelSet, feature_channels: i64) -> RegionHeads {
        let heads = Region::ALL
            .iter()
            .zip(labels.group_sizes())
            .filter(|(_, size)| *size > 0)
            .map(|(&r, size)| (r, Linear::new(p / r.name(), feature_channels, size as i64)))
            .collect();
        let grouped: Vec<usize> = Region::ALL
            .iter()
            .flat_map(|&r| labels.indices(r))
            .collect();
        let mut order = vec![0i64; labels.len()];
        for (position, &label) in grouped.iter().enumerate() {
            order[label] = position as i64;
        }
        RegionHeads {
            heads,
            order: Tensor::from_slice(&order).to_device(p.device()),
        }
    }

    /// Logits per region, each head reading its region's feature.
    pub fn forward<'a>(&self, feature: impl Fn(Region) -> &'a Tensor) -> BTreeMap<Region, Tensor> {
        self.heads
            .iter()
            .map(|(r, fc)| (*r, fc.forward(&gap(feature(*r)))))
            .collect()
    }

    /// Per-region logits concatenated back into the label set's own order.
    pub fn in_label_order(&self, per_region: &BTreeMap<Region, Tensor>) -> Tensor {
        let grouped: Vec<&Tensor> = Region::ALL
            .iter()
            .filter_map(|r| per_region.get(r))
            .collect();
        Tensor::cat(&grouped, 1).index_select(1, &self.order)
    }
}

/// The baseline's classifier: GAP over o4, FC → ReLU → FC.
#[derive(Debug)]
pub struct BaselineHead {
    fc1: Linear,
    fc2: Linear,
}

impl BaselineHead {
    pub fn new(p: &nn::Path, feature_channels: i64, outputs: i64) -> BaselineHead {
        BaselineHead {
            fc1: Linear::new(p / "fc1", feature_channels, feature_channels),
            fc2: Linear::new(p / "fc2", feature_channels, outputs),
        }
    }

    pub fn forward(&self, o4: &Tensor) -> Tensor {
        self.fc2.forward(&self.fc1.forward(&gap(o4)).relu())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{CELEBA, MAAD};
    use tch::nn::VarStore;
    use tch::Device;

    #[test]
    fn far_logits_come_back_in_the_datasets_attribute_order() {
        for labels in [CELEBA, MAAD] {
            let vs = VarStore::new(Device::Cpu);
            let heads = RegionHeads::new(&vs.root(), &labels, 4);
            // Each head's logit k stands for the k-th label of its region.
            let per_region: BTreeMap<Region, Tensor> = Region::ALL
                .iter()
                .map(|&r| {
                    let ids: Vec<f32> = labels.indices(r).iter().map(|&i| i as f32).collect();
                    (r, Tensor::from_slice(&ids).unsqueeze(0))
                })
                .collect();
            let ordered =
                Vec::<f32>::try_from(heads.in_label_order(&per_region).squeeze_dim(0)).unwrap();
            let expected: Vec<f32> = (0..labels.len()).map(|i| i as f32).collect();
            assert_eq!(ordered, expected, "{}", labels.name);
        }
    }

    /// The einsum form of criss-cross attention against a pixel-by-pixel loop.
    #[test]
    fn criss_cross_attention_matches_its_definition() {
        tch::manual_seed(3);
        let vs = VarStore::new(Device::Cpu);
        let cca = CrissCross::new(&vs.root(), 16);
        tch::no_grad(|| {
            let _ = cca.gamma.shallow_clone().fill_(1.0);
        });
        let x = Tensor::randn([1, 16, 3, 4], (Kind::Float, Device::Cpu));
        let fast = tch::no_grad(|| cca.forward(&x));
        let (q, k, v) = tch::no_grad(|| {
            (
                cca.query.forward(&x),
                cca.key.forward(&x),
                cca.value.forward(&x),
            )
        });
        let at = |t: &Tensor, h: i64, w: i64| t.select(0, 0).select(1, h).select(1, w);
        for h in 0..3 {
            for w in 0..4 {
                let query = at(&q, h, w);
                // Column pixels other than itself, then the whole row.
                let mut keys: Vec<(i64, i64)> =
                    (0..3).filter(|&g| g != h).map(|g| (g, w)).collect();
                keys.extend((0..4).map(|c| (h, c)));
                let energy = Tensor::stack(
                    &keys
                        .iter()
                        .map(|&(a, b)| (&query * at(&k, a, b)).sum(Kind::Float))
                        .collect::<Vec<_>>(),
                    0,
                );
                let weights = energy.softmax(0, Kind::Float);
                let mut expected = at(&x, h, w);
                for (i, &(a, b)) in keys.iter().enumerate() {
                    expected += at(&v, a, b) * weights.get(i as i64);
                }
                let got = at(&fast, h, w);
                assert!(
                    got.allclose(&expected, 1e-5, 1e-5, false),
                    "pixel ({h}, {w})"
                );
            }
        }
    }
}
