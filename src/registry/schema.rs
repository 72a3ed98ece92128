//! The variant schema: the paper's Table 2 columns as toggles, and the
//! hyper-parameters of Section 4.2 that a variant may override.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Attention blocks inside the DCA modules (Table 2, column "DCA").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attention {
    /// SE channel attention + CBAM spatial attention (Eqs. 1–3).
    Dca,
    /// CBAM's channel and spatial blocks in place of the DCA's.
    Cbam,
    /// No attention blocks (the DCA fuses its inputs without masks).
    None,
}

/// How the whole region branch is aligned with the fused local branches
/// (Table 2, column "AT").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alignment {
    /// Discriminator D and the minimax game of Eqs. 6–7.
    Adversarial,
    /// The L2 distance between d_agg and d_W (the paper's "SPL L2").
    L2,
    None,
}

/// Training schedule (Table 2, column "TS").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Algorithm 1: auxiliary tasks on unlabeled data, then fine-tuning.
    TwoStage,
    /// Auxiliary tasks and FAR trained jointly in one loop ("SPL Semi").
    OneStage,
    /// FAR trained directly on the labeled subset (Baseline, MSS).
    Supervised,
}

/// One value of every Table 2 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Toggles {
    pub attention: Attention,
    pub mss: bool,
    pub prt: bool,
    pub pst: bool,
    pub pct: bool,
    pub alignment: Alignment,
    pub whole_branch: bool,
    pub sme: bool,
    pub schedule: Schedule,
}

impl Toggles {
    /// The TOML keys of the `[toggles]` table, in Table 2's column order.
    pub const KEYS: [&'static str; 9] = [
        "attention",
        "mss",
        "prt",
        "pst",
        "pct",
        "alignment",
        "whole_branch",
        "sme",
        "schedule",
    ];

    /// Whether any auxiliary task is switched on.
    pub fn has_auxiliary_task(&self) -> bool {
        self.prt || self.pst || self.pct
    }

    /// Whether training touches unlabeled data (a stage 1, or the joint loop
    /// of one-stage training).
    pub fn uses_unlabeled_data(&self) -> bool {
        self.schedule != Schedule::Supervised && self.has_auxiliary_task()
    }
}

/// Overrides of the paper's hyper-parameters (Section 4.2). Unset values take
/// the scale profile's, which for the `paper` profile are the paper's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyper {
    /// m: the PRT input is cut into m×m patches.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 8, _>"
    )]
    pub patches_per_side: Option<u32>,
    /// v: PCT labels the top-v dominant components of the patch as present.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 19, _>"
    )]
    pub dominant_components: Option<u32>,
    /// λ1 of Eq. 16 (weight of L_PST).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_negative"
    )]
    pub lambda_pst: Option<f64>,
    /// λ2 of Eq. 16 (weight of L_PCT).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_negative"
    )]
    pub lambda_pct: Option<f64>,
    /// Kd of Algorithm 1: discriminator updates per mini-batch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 100, _>"
    )]
    pub discriminator_steps: Option<u32>,
    /// K1 of Algorithm 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 10000, _>"
    )]
    pub stage1_epochs: Option<u32>,
    /// K2 of Algorithm 1 (also the epochs of one-stage and supervised runs).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 10000, _>"
    )]
    pub stage2_epochs: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 65536, _>"
    )]
    pub stage1_batch: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<1, 65536, _>"
    )]
    pub stage2_batch: Option<u32>,
    /// Adam's initial learning rate.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "positive"
    )]
    pub learning_rate: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count::<0, 10000, _>"
    )]
    pub warmup_epochs: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "fraction"
    )]
    pub adam_beta1: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "fraction"
    )]
    pub adam_beta2: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_negative"
    )]
    pub weight_decay: Option<f64>,
    /// ε of Eq. 10 (PST label smoothing).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "fraction"
    )]
    pub label_smoothing: Option<f64>,
}

impl Hyper {
    /// Overlays `child` on `self`: every value the child sets wins.
    pub fn overlaid_with(&self, child: &Hyper) -> Hyper {
        macro_rules! pick {
            ($($field:ident),*) => { Hyper { $($field: child.$field.or(self.$field)),* } };
        }
        pick!(
            patches_per_side,
            dominant_components,
            lambda_pst,
            lambda_pct,
            discriminator_steps,
            stage1_epochs,
            stage2_epochs,
            stage1_batch,
            stage2_batch,
            learning_rate,
            warmup_epochs,
            adam_beta1,
            adam_beta2,
            weight_decay,
            label_smoothing
        )
    }
}

impl fmt::Display for Attention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Attention::Dca => "dca",
            Attention::Cbam => "cbam",
            Attention::None => "none",
        })
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alignment::Adversarial => "adversarial",
            Alignment::L2 => "l2",
            Alignment::None => "none",
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schedule::TwoStage => "two-stage",
            Schedule::OneStage => "one-stage",
            Schedule::Supervised => "supervised",
        })
    }
}

// Range checks run while deserializing, so that an out-of-range value is
// reported at its own line and column like any other type error.

fn count<'de, const MIN: u32, const MAX: u32, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Count<const MIN: u32, const MAX: u32>;

    impl<const MIN: u32, const MAX: u32> serde::de::Visitor<'_> for Count<MIN, MAX> {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an integer from {MIN} to {MAX}")
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u32, E> {
            u32::try_from(value)
                .ok()
                .filter(|v| (MIN..=MAX).contains(v))
                .ok_or_else(|| {
                    E::custom(format!(
                        "{value} is out of range: expected an integer from {MIN} to {MAX}"
                    ))
                })
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u32, E> {
            self.visit_i64(i64::try_from(value).unwrap_or(i64::MAX))
        }
    }

    deserializer.deserialize_i64(Count::<MIN, MAX>).map(Some)
}

fn checked_float<'de, D>(
    deserializer: D,
    accept: fn(f64) -> bool,
    expected: &str,
) -> Result<Option<f64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && accept(value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is out of range: expected {expected}"
        )))
    }
}

fn non_negative<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked_float(d, |v| v >= 0.0, "a number ≥ 0")
}

fn positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked_float(d, |v| v > 0.0, "a number > 0")
}

fn fraction<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked_float(d, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")
}
