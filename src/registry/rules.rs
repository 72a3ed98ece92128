//! Which toggle combinations mean something. Table 2 has rows whose marks
//! cannot all take effect (SPL RS marks AT and W without MSS; MSS marks TS
//! with no auxiliary task); those load, and each mark that does nothing is a
//! warning saying why. Combinations that cannot be built are errors.

use super::diagnostic::Diagnostic;
use super::schema::{Alignment, Attention, Schedule};
use super::Variant;

/// Every problem with one resolved variant's combination of toggles and
/// hyper-parameters. A toggle gets at most one warning: the first reason.
pub fn review(variant: &Variant) -> Vec<Diagnostic> {
    let t = &variant.toggles;
    let mut found = Vec::new();
    let mut warned: Vec<&str> = Vec::new();
    let mut warn = |key: &'static str, why: String| {
        if !warned.contains(&key) {
            warned.push(key);
            let (location, message) = variant.about_key(key, &why);
            found.push(Diagnostic::warning(location, message));
        }
    };

    if t.schedule == Schedule::Supervised {
        let unused = [
            ("prt", t.prt),
            ("pst", t.pst),
            ("pct", t.pct),
            ("alignment", t.alignment != Alignment::None),
            ("sme", t.sme),
        ];
        for (key, on) in unused {
            if on {
                warn(
                    key,
                    format!("`{key}` has no effect: schedule = \"supervised\" trains on labeled data only, with no auxiliary task"),
                );
            }
        }
    } else if !t.has_auxiliary_task() {
        warn(
            "schedule",
            format!(
                "`schedule` = \"{}\" has no effect without an auxiliary task (prt, pst, pct all off): \
                 there is nothing to pre-train, so the variant trains like \"supervised\"",
                t.schedule
            ),
        );
    }

    if !t.mss {
        if t.attention != Attention::None {
            warn(
                "attention",
                format!("`attention` = \"{}\" has no effect without MSS: the attention blocks live in the DCA modules of the region branches (Section 3.2)", t.attention),
            );
        }
        if t.whole_branch {
            warn(
                "whole_branch",
                "`whole_branch` has no effect without MSS: there are no region branches, the FAR head reads the backbone (TB + two FC layers)".into(),
            );
        }
        if t.alignment != Alignment::None {
            warn(
                "alignment",
                format!("`alignment` = \"{}\" has no effect without MSS: it aligns the whole region branch with the fused local branches (Eqs. 5–7)", t.alignment),
            );
        }
    }
    if t.sme && !t.pct {
        warn(
            "sme",
            "`sme` has no effect without PCT: the SME loss (Eqs. 13–14) acts on the outputs of PCT's local heads".into(),
        );
    }
    if t.mss && !t.pct && t.alignment != Alignment::None {
        warn(
            "alignment",
            format!("`alignment` = \"{}\" has no effect without PCT: Eq. 15 makes it a term of L_PCT, computed on the PCT patch", t.alignment),
        );
    }

    found.extend(review_hyper(variant));

    if t.pct && !t.mss && t.schedule != Schedule::Supervised {
        let (location, message) = variant.about_key(
            "pct",
            "`pct` needs `mss = true`: the PCT heads read the four region branches of MSS (Section 3.3.3)",
        );
        found.push(Diagnostic::error(location, message));
    }
    found
}

/// Hyper-parameters set where nothing reads them.
fn review_hyper(variant: &Variant) -> Vec<Diagnostic> {
    let t = &variant.toggles;
    let h = &variant.hyper;
    let unlabeled = t.uses_unlabeled_data();
    let pct = unlabeled && t.pct && t.mss;
    let checks = [
        (
            "patches_per_side",
            h.patches_per_side.is_some(),
            unlabeled && t.prt,
            "PRT",
        ),
        (
            "dominant_components",
            h.dominant_components.is_some(),
            pct,
            "PCT",
        ),
        ("lambda_pct", h.lambda_pct.is_some(), pct, "PCT"),
        (
            "lambda_pst",
            h.lambda_pst.is_some(),
            unlabeled && t.pst,
            "PST",
        ),
        (
            "label_smoothing",
            h.label_smoothing.is_some(),
            unlabeled && t.pst,
            "PST",
        ),
        (
            "discriminator_steps",
            h.discriminator_steps.is_some(),
            pct && t.alignment == Alignment::Adversarial,
            "adversarial alignment",
        ),
        (
            "stage1_epochs",
            h.stage1_epochs.is_some(),
            unlabeled && t.schedule == Schedule::TwoStage,
            "a stage 1",
        ),
        (
            "stage1_batch",
            h.stage1_batch.is_some(),
            unlabeled,
            "unlabeled data",
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, set, effective, _)| *set && !*effective)
        .map(|(key, _, _, needs)| {
            let (location, message) = variant.about_key(
                key,
                &format!("`{key}` has no effect: this variant trains without {needs}"),
            );
            Diagnostic::warning(location, message)
        })
        .collect()
}
