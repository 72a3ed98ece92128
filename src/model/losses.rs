//! The losses of Section 3, as functions of logits and targets. Every one
//! returns a scalar averaged over the batch; the sums inside follow the
//! equations (Eq. 12 and Eq. 17 sum over labels).

use crate::groups::{LabelSet, Region, COMPONENTS};
use std::collections::BTreeMap;
use tch::{Kind, Reduction, Tensor};

/// Eq. 8: cross-entropy of the rotated patch plus that of the angle.
/// Targets are class indices (`i64`, `[N]`).
pub fn prt_loss(
    patch_logits: &Tensor,
    angle_logits: &Tensor,
    patch: &Tensor,
    angle: &Tensor,
) -> Tensor {
    patch_logits.cross_entropy_for_logits(patch) + angle_logits.cross_entropy_for_logits(angle)
}

/// Eqs. 9–11: per-pixel cross-entropy against the smoothed label
/// distribution q' = (1 − ε) q + ε / J, averaged over pixels and batch.
/// `logits` is `[N, J, H, W]`, `target` `[N, H, W]` class indices.
pub fn pst_loss(logits: &Tensor, target: &Tensor, epsilon: f64) -> Tensor {
    let log_p = logits.log_softmax(1, Kind::Float);
    let true_class = -log_p.gather(1, &target.unsqueeze(1), false).squeeze_dim(1);
    let uniform = -log_p.mean_dim(1, false, Kind::Float);
    (true_class * (1.0 - epsilon) + uniform * epsilon).mean(Kind::Float)
}

/// Binary cross-entropy summed over the labels of every region head (logits
/// per region, targets and mask `[N, labels]` in the label set's own order),
/// averaged over the batch. Labels whose mask is 0 contribute nothing.
fn grouped_bce(
    logits: &BTreeMap<Region, Tensor>,
    labels: &LabelSet,
    target: &Tensor,
    mask: Option<&Tensor>,
) -> Tensor {
    let batch = target.size()[0] as f64;
    let device = target.device();
    logits
        .iter()
        .map(|(&region, region_logits)| {
            let index = Tensor::from_slice(
                &labels
                    .indices(region)
                    .iter()
                    .map(|&i| i as i64)
                    .collect::<Vec<_>>(),
            )
            .to_device(device);
            let weight = mask.map(|m| m.index_select(1, &index).to_kind(Kind::Float));
            region_logits.binary_cross_entropy_with_logits(
                &target.index_select(1, &index).to_kind(Kind::Float),
                weight.as_ref(),
                None::<&Tensor>,
                Reduction::Sum,
            )
        })
        .fold(Tensor::zeros([], (Kind::Float, device)), |sum, term| {
            sum + term
        })
        / batch
}

/// Eq. 12: BCE of the PCT heads against the top-v component labels
/// (`target` `[N, J]` multi-hot in [`COMPONENTS`] order).
pub fn pct_loss(logits: &BTreeMap<Region, Tensor>, target: &Tensor) -> Tensor {
    grouped_bce(logits, &COMPONENTS, target, None)
}

/// Eq. 17: BCE of the FAR logits (`[N, C]`, the dataset's attribute order)
/// against 0/1 targets; `mask` (same shape) is 0 where a label is undefined
/// (MAAD's 0), which then takes no part.
pub fn far_loss(logits: &Tensor, target: &Tensor, mask: &Tensor) -> Tensor {
    let batch = target.size()[0] as f64;
    logits.binary_cross_entropy_with_logits(
        &target.to_kind(Kind::Float),
        Some(&mask.to_kind(Kind::Float)),
        None::<&Tensor>,
        Reduction::Sum,
    ) / batch
}

/// Eqs. 13–14 on the three local features l^U, l^M, l^L (same shape, the
/// d4 maps the local PCT heads read): l̄^k = sigmoid(l^k − mean), and the
/// loss is the element-wise product l̄^U ⊙ l̄^M ⊙ l̄^L averaged over every
/// element (batch, channel, position). It is large where all three
/// branches respond above their mean at once.
pub fn sme_loss(upper: &Tensor, middle: &Tensor, lower: &Tensor) -> Tensor {
    let mean = (upper + middle + lower) / 3.0;
    let normalised = |l: &Tensor| (l - &mean).sigmoid();
    (normalised(upper) * normalised(middle) * normalised(lower)).mean(Kind::Float)
}

/// Eq. 7 as D minimises it: −log D(d_agg) − log(1 − D(d_W)), from D's
/// logits, each expectation a batch mean.
pub fn discriminator_loss(agg_logit: &Tensor, whole_logit: &Tensor) -> Tensor {
    let bce = |logit: &Tensor, label: f64| {
        logit.binary_cross_entropy_with_logits(
            &logit.ones_like().fill_(label),
            None::<&Tensor>,
            None::<&Tensor>,
            Reduction::Mean,
        )
    };
    bce(agg_logit, 1.0) + bce(whole_logit, 0.0)
}

/// R_W's side of Eq. 6 in the non-saturating form: −log D(d_W), which
/// pushes D to take the whole branch's feature for a fused local one.
pub fn generator_loss(whole_logit: &Tensor) -> Tensor {
    whole_logit.binary_cross_entropy_with_logits(
        &whole_logit.ones_like(),
        None::<&Tensor>,
        None::<&Tensor>,
        Reduction::Mean,
    )
}

/// SPL L2: mean squared distance between d_W and d_agg.
pub fn l2_alignment(whole: &Tensor, agg: &Tensor) -> Tensor {
    whole.mse_loss(agg, Reduction::Mean)
}
