//! SPL-Net in tch at the tiny profile: shapes, gradients, toggles, losses,
//! checkpoints and weight transfer.

use crate::support::{ablate, stderr, stdout, variants_dir};
use ablate::groups::{Region, CELEBA, COMPONENTS, MAAD};
use ablate::model::stats::{self, pretraining_stage};
use ablate::model::{
    losses, module_of, parameter_groups, transfer_pretrained, ModelError, ParamGroup, SplNet, Stage,
};
use ablate::profile::Profile;
use ablate::registry::{Registry, Variant};
use std::collections::BTreeSet;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn registry() -> Registry {
    Registry::load(&[variants_dir()]).unwrap()
}

fn variant(name: &str) -> Variant {
    registry().get(name).unwrap().clone()
}

fn build(name: &str, stage: Stage) -> (VarStore, SplNet) {
    tch::manual_seed(0);
    stats::build(
        &variant(name),
        &Profile::tiny(),
        stage,
        &CELEBA,
        Device::Cpu,
    )
    .unwrap()
}

fn modules(vs: &VarStore) -> BTreeSet<String> {
    vs.variables().keys().map(|n| module_of(n)).collect()
}

const BATCH: i64 = 3;

fn image(s: i64) -> Tensor {
    Tensor::randn([BATCH, 3, s, s], (Kind::Float, Device::Cpu))
}

fn patches(s: i64) -> Tensor {
    Tensor::randn([BATCH, 9, 3, s, s], (Kind::Float, Device::Cpu))
}

fn classes(n: i64) -> Tensor {
    Tensor::randint(n, [BATCH], (Kind::Int64, Device::Cpu))
}

fn multi_hot(n: i64) -> Tensor {
    Tensor::randint(2, [BATCH, n], (Kind::Float, Device::Cpu))
}

/// Eq. 16 with the generator side of Eq. 7 and the SME loss, as stage 1 of
/// SPL-Net computes it.
fn joint_loss(model: &SplNet, s: i64) -> Tensor {
    let prt = model.forward_prt(&patches(s), true).unwrap();
    let out = model.forward_patch(&image(s), true);
    let target = Tensor::randint(19, [BATCH, s, s], (Kind::Int64, Device::Cpu));
    let pst = losses::pst_loss(&out.pst.unwrap(), &target, 0.1);
    let pct_logits = out.pct.unwrap();
    let (whole, _) = model.alignment_pair(&out.mss).unwrap();
    let d = &out.mss.d4;
    let pct = losses::pct_loss(&pct_logits, &multi_hot(19))
        + losses::generator_loss(&model.discriminate(whole).unwrap())
        + losses::sme_loss(&d[&Region::Upper], &d[&Region::Middle], &d[&Region::Lower]);
    losses::prt_loss(&prt.patch, &prt.angle, &classes(9), &classes(3)) + pst * 0.05 + pct * 0.5
}

fn reached(t: &Tensor) -> bool {
    let g = t.grad();
    g.defined() && g.abs().sum(Kind::Float).double_value(&[]) > 0.0
}

#[test]
fn every_head_has_the_expected_shape() {
    let s = Profile::tiny().input_size;
    let (_vs, model) = build("SPL-Net", Stage::Pretrain);
    let prt = model.forward_prt(&patches(s), false).unwrap();
    assert_eq!(prt.patch.size(), [BATCH, 9]);
    assert_eq!(prt.angle.size(), [BATCH, 3]);
    let out = model.forward_patch(&image(s), false);
    assert_eq!(out.pst.as_ref().unwrap().size(), [BATCH, 19, s, s]);
    let pct = out.pct.as_ref().unwrap();
    for (region, size) in Region::ALL.iter().zip(COMPONENTS.group_sizes()) {
        assert_eq!(pct[region].size(), [BATCH, size as i64], "{region}");
    }
    let (whole, agg) = model.alignment_pair(&out.mss).unwrap();
    assert_eq!(whole.size(), agg.size());
    assert_eq!(model.discriminate(agg).unwrap().size(), [BATCH]);
    assert!(
        model.forward_far(&image(s), false).is_none(),
        "stage 1 has no FAR heads"
    );

    for name in ["SPL-Net", "SPL w/o whole", "Baseline"] {
        let (_vs, far) = build(name, Stage::Far);
        let out = far.forward_far(&image(s), false).unwrap();
        assert_eq!(out.logits.size(), [BATCH, 40], "{name}");
        assert!(far.forward_prt(&patches(s), false).is_none());
    }
    let (_vs, semi) = build("SPL Semi", Stage::OneStage);
    assert!(semi.forward_prt(&patches(s), false).is_some());
    let out = semi.forward_patch(&image(s), false);
    assert!(out.pst.is_some() && out.pct.is_none());
    assert_eq!(
        semi.forward_far(&image(s), false).unwrap().logits.size(),
        [BATCH, 40]
    );
}

#[test]
fn far_heads_follow_the_attribute_set() {
    let s = Profile::tiny().input_size;
    let (_vs, model) = stats::build(
        &variant("SPL-Net"),
        &Profile::tiny(),
        Stage::Far,
        &MAAD,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(
        model.forward_far(&image(s), false).unwrap().logits.size(),
        [BATCH, 47]
    );
}

#[test]
fn joint_loss_reaches_the_network_and_not_g() {
    let s = Profile::tiny().input_size;
    let (vs, model) = build("SPL-Net", Stage::Pretrain);
    joint_loss(&model, s).backward();
    // With the whole branch on, g only feeds D's "real" side: the joint loss
    // does not reach it. (Reaching means being in the graph: a gradient can
    // still be zero, e.g. behind γ = 0 in the CCA or a dead ReLU.)
    for (name, t) in &parameter_groups(&vs)[&ParamGroup::Network] {
        assert_eq!(
            t.grad().defined(),
            !name.starts_with("mss.fusion."),
            "{name}"
        );
    }
}

#[test]
fn discriminator_step_leaves_mss_untouched() {
    let s = Profile::tiny().input_size;
    let (vs, model) = build("SPL-Net", Stage::Pretrain);
    let out = tch::no_grad(|| model.forward_patch(&image(s), true));
    let (whole, agg) = model.alignment_pair(&out.mss).unwrap();
    let loss = losses::discriminator_loss(
        &model.discriminate(agg).unwrap(),
        &model.discriminate(whole).unwrap(),
    );
    loss.backward();
    let groups = parameter_groups(&vs);
    assert!(groups[&ParamGroup::Discriminator]
        .iter()
        .all(|(_, t)| reached(t)));
    for (name, t) in &groups[&ParamGroup::Network] {
        assert!(
            !reached(t),
            "{name} got a gradient from the discriminator loss"
        );
    }
}

#[test]
fn toggles_remove_their_parameters() {
    let stage1 = |name| modules(&build(name, Stage::Pretrain).0);
    let far = |name| modules(&build(name, Stage::Far).0);
    let all = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    assert_eq!(
        stage1("SPL-Net"),
        all(&[
            "mss.tb",
            "mss.whole",
            "mss.upper",
            "mss.middle",
            "mss.lower",
            "mss.fusion",
            "prt",
            "pst",
            "pct",
            "discriminator"
        ])
    );
    assert_eq!(
        far("SPL-Net"),
        all(&[
            "mss.tb",
            "mss.whole",
            "mss.upper",
            "mss.middle",
            "mss.lower",
            "far"
        ])
    );
    assert_eq!(
        far("SPL w/o whole"),
        all(&[
            "mss.tb",
            "mss.fusion",
            "mss.upper",
            "mss.middle",
            "mss.lower",
            "far"
        ])
    );
    // SPL w/o whole aligns R_W adversarially in stage 1, then drops it.
    assert!(stage1("SPL w/o whole").contains("mss.whole"));
    // No adversarial alignment, no D; no W and no alignment: g stands in for R_W.
    assert_eq!(
        stage1("SPL C w/o A"),
        all(&[
            "mss.tb",
            "mss.fusion",
            "mss.upper",
            "mss.middle",
            "mss.lower",
            "pct"
        ])
    );
    assert!(!stage1("SPL L2").contains("discriminator"));
    assert!(stage1("SPL L2").contains("mss.whole"));
    // Tasks that only read TB build no region branches.
    assert_eq!(stage1("SPL RS"), all(&["mss.tb", "prt", "pst"]));
    assert_eq!(stage1("SPL R"), all(&["mss.tb", "prt"]));
    assert_eq!(far("Baseline"), all(&["mss.tb", "far"]));
    assert_eq!(
        modules(&build("SPL Semi", Stage::OneStage).0),
        all(&[
            "mss.tb",
            "mss.fusion",
            "mss.upper",
            "mss.middle",
            "mss.lower",
            "prt",
            "pst",
            "far"
        ])
    );
}

#[test]
fn cbam_and_dca_have_different_parameters() {
    let names =
        |name| -> BTreeSet<String> { build(name, Stage::Far).0.variables().into_keys().collect() };
    let (dca, cbam) = (names("SPL-Net"), names("SPL CBAM"));
    assert_ne!(dca, cbam);
    assert!(
        dca.iter().any(|n| n.contains(".se.")) && !dca.iter().any(|n| n.contains(".cbam_channel."))
    );
    assert!(
        cbam.iter().any(|n| n.contains(".cbam_channel."))
            && !cbam.iter().any(|n| n.contains(".se."))
    );
}

#[test]
fn every_variant_builds_and_runs_at_the_tiny_profile() {
    let registry = registry();
    assert_eq!(registry.variants().len(), 16);
    for v in registry.variants() {
        let stats = stats::variant_stats(v, &Profile::tiny(), &CELEBA, Device::Cpu).unwrap();
        assert!(
            stats.stage2.params > 0 && stats.stage2.flops > 0,
            "{}",
            v.name
        );
        assert_eq!(
            stats.stage1.is_some(),
            pretraining_stage(v).is_some(),
            "{}",
            v.name
        );
        if let Some(s1) = stats.stage1 {
            assert!(s1.flops > 0, "{}", v.name);
        }
    }
}

#[test]
fn variants_without_stage_one_say_so() {
    let err = stats::build(
        &variant("Baseline"),
        &Profile::tiny(),
        Stage::Pretrain,
        &CELEBA,
        Device::Cpu,
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::NoStageOne { .. }), "{err}");
    assert!(err.to_string().contains("Baseline"), "{err}");
}

fn assert_same(a: &VarStore, b: &VarStore, prefix: &str) -> usize {
    let (a, b) = (a.variables(), b.variables());
    let mut compared = 0;
    for (name, t) in a.iter().filter(|(n, _)| n.starts_with(prefix)) {
        let other = b.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(t.equal(other), "{name} differs");
        compared += 1;
    }
    compared
}

/// One training-mode pass, so that batch-norm statistics move off their defaults.
fn touch(model: &SplNet) {
    let s = model.config.input_size;
    tch::no_grad(|| {
        model.forward_prt(&patches(s), true);
        model.forward_patch(&image(s), true);
    });
}

#[test]
fn save_and_load_round_trip_exactly() {
    let (vs, model) = build("SPL-Net", Stage::Pretrain);
    touch(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stage1.safetensors");
    vs.save(&path).unwrap();
    tch::manual_seed(7);
    let (mut loaded, other) = stats::build(
        &variant("SPL-Net"),
        &Profile::tiny(),
        Stage::Pretrain,
        &CELEBA,
        Device::Cpu,
    )
    .unwrap();
    loaded.load(&path).unwrap();
    assert_eq!(assert_same(&vs, &loaded, ""), vs.variables().len());
    let x = image(model.config.input_size);
    let (a, b) = (
        model.forward_patch(&x, false),
        other.forward_patch(&x, false),
    );
    assert!(a.pst.unwrap().equal(&b.pst.unwrap()));
}

#[test]
fn transfer_restores_the_pretrained_mss() {
    for name in ["SPL-Net", "SPL w/o whole"] {
        let (stage1, model) = build(name, Stage::Pretrain);
        touch(&model);
        let (mut far, _) = build(name, Stage::Far);
        let (mut untouched, _) = build(name, Stage::Far);
        untouched.copy(&far).unwrap();
        let report = transfer_pretrained(&stage1, &mut far).unwrap();
        assert!(
            report.fresh_modules.is_empty(),
            "{name}: {:?}",
            report.fresh_modules
        );
        let far_mss = far
            .variables()
            .keys()
            .filter(|n| n.starts_with("mss."))
            .count();
        assert_eq!(report.copied, far_mss);
        assert_eq!(assert_same(&far, &stage1, "mss."), far_mss);
        assert!(
            assert_same(&untouched, &far, "far.") > 0,
            "the FAR heads keep their values"
        );
    }
    // A stage 1 that trained TB only leaves the region branches fresh.
    let (stage1, _) = build("SPL R", Stage::Pretrain);
    let (mut far, _) = build("SPL-Net", Stage::Far);
    let report = transfer_pretrained(&stage1, &mut far).unwrap();
    assert_eq!(
        report.fresh_modules,
        ["mss.lower", "mss.middle", "mss.upper", "mss.whole"]
    );
}

#[test]
fn transfer_refuses_mismatched_stores() {
    let (mut far, _) = build("SPL-Net", Stage::Far);
    // Seeds are shared across test threads: keep an exact copy to compare with.
    let (mut before, _) = build("SPL-Net", Stage::Far);
    before.copy(&far).unwrap();
    let mut empty = VarStore::new(Device::Cpu);
    assert!(matches!(
        transfer_pretrained(&empty, &mut far),
        Err(ModelError::NotStageOne)
    ));
    // A stage 1 at another width: every TB shape differs.
    let (wider, _) = stats::build(
        &variant("SPL-Net"),
        &Profile::small(),
        Stage::Pretrain,
        &CELEBA,
        Device::Cpu,
    )
    .unwrap();
    let err = transfer_pretrained(&wider, &mut far).unwrap_err();
    assert!(matches!(err, ModelError::Shape { .. }), "{err}");
    // Nothing was written on failure.
    assert_eq!(assert_same(&far, &before, ""), far.variables().len());
    // A stage-1 store with part of a module: the missing variable is named.
    let (partial, _) = build("SPL-Net", Stage::Pretrain);
    partial
        .variables_
        .lock()
        .unwrap()
        .named_variables
        .remove("mss.upper.dca2.reduce.bn.weight");
    empty = partial;
    let err = transfer_pretrained(&empty, &mut far).unwrap_err();
    assert!(
        matches!(&err, ModelError::Missing { name, .. } if name == "mss.upper.dca2.reduce.bn.weight"),
        "{err}"
    );
}

#[test]
fn sme_loss_falls_as_local_features_move_apart() {
    tch::manual_seed(1);
    let base = Tensor::randn([2, 6, 4, 4], (Kind::Float, Device::Cpu));
    // Each branch responds on its own third of the channels.
    let own = |k: i64| {
        Tensor::zeros([1, 6, 1, 1], (Kind::Float, Device::Cpu)).index_fill(
            1,
            &Tensor::from_slice(&[2 * k, 2 * k + 1]),
            1.0,
        )
    };
    let sme = |a: f64| {
        let (u, m, l) = (&base + own(0) * a, &base + own(1) * a, &base + own(2) * a);
        losses::sme_loss(&u, &m, &l).double_value(&[])
    };
    let values: Vec<f64> = [0.0, 1.0, 3.0, 10.0].map(sme).to_vec();
    assert!(
        (values[0] - 0.125).abs() < 1e-6,
        "identical features give sigmoid(0)^3: {values:?}"
    );
    assert!(values.windows(2).all(|w| w[1] < w[0]), "{values:?}");
}

#[test]
fn losses_match_their_equations() {
    // Eq. 8: two cross-entropies; uniform logits give log(m²) + log(3).
    let loss = losses::prt_loss(
        &Tensor::zeros([2, 9], (Kind::Float, Device::Cpu)),
        &Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)),
        &classes(9).narrow(0, 0, 2),
        &classes(3).narrow(0, 0, 2),
    );
    assert!((loss.double_value(&[]) - (9f64.ln() + 3f64.ln())).abs() < 1e-5);

    // Eqs. 9–11: with ε the loss is (1-ε)·CE + ε·mean_j(−log h_j).
    tch::manual_seed(2);
    let logits = Tensor::randn([2, 19, 3, 3], (Kind::Float, Device::Cpu));
    let target = Tensor::randint(19, [2, 3, 3], (Kind::Int64, Device::Cpu));
    let ce = losses::pst_loss(&logits, &target, 0.0).double_value(&[]);
    let manual_ce = logits
        .log_softmax(1, Kind::Float)
        .gather(1, &target.unsqueeze(1), false)
        .mean(Kind::Float)
        .double_value(&[]);
    assert!((ce + manual_ce).abs() < 1e-5);
    let uniform = -logits
        .log_softmax(1, Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    let smoothed = losses::pst_loss(&logits, &target, 0.1).double_value(&[]);
    assert!((smoothed - (0.9 * ce + 0.1 * uniform)).abs() < 1e-5);

    // Eq. 17 with a mask: undefined labels take no part.
    let logits = Tensor::randn([2, 47], (Kind::Float, Device::Cpu));
    let target = multi_hot(47).narrow(0, 0, 2);
    let mask = Tensor::ones([2, 47], (Kind::Float, Device::Cpu));
    let _ = mask.narrow(1, 0, 10).fill_(0.0);
    let before = losses::far_loss(&logits, &target, &mask).double_value(&[]);
    let changed = logits.copy();
    let _ = changed.narrow(1, 0, 10).fill_(50.0);
    assert!((losses::far_loss(&changed, &target, &mask).double_value(&[]) - before).abs() < 1e-5);
    let zero_logits = Tensor::zeros([2, 47], (Kind::Float, Device::Cpu));
    let full = losses::far_loss(
        &zero_logits,
        &target,
        &Tensor::ones([2, 47], (Kind::Float, Device::Cpu)),
    );
    assert!(
        (full.double_value(&[]) - 47.0 * 2f64.ln()).abs() < 1e-4,
        "Eq. 17 sums over labels"
    );

    // Eq. 12: BCE summed over every group's labels.
    let per_region = Region::ALL
        .iter()
        .zip(COMPONENTS.group_sizes())
        .map(|(&r, n)| (r, Tensor::zeros([2, n as i64], (Kind::Float, Device::Cpu))))
        .collect();
    let pct = losses::pct_loss(&per_region, &multi_hot(19).narrow(0, 0, 2));
    assert!((pct.double_value(&[]) - 19.0 * 2f64.ln()).abs() < 1e-4);

    // Eq. 7 from D's side and the generator's side.
    let confident = Tensor::from_slice(&[20.0f32, 20.0]);
    assert!(losses::discriminator_loss(&confident, &(-&confident)).double_value(&[]) < 1e-6);
    assert!(losses::generator_loss(&confident).double_value(&[]) < 1e-6);
    assert!(losses::generator_loss(&(-&confident)).double_value(&[]) > 10.0);
    let a = Tensor::ones([2, 4], (Kind::Float, Device::Cpu));
    assert!((losses::l2_alignment(&a, &(&a * 3.0)).double_value(&[]) - 4.0).abs() < 1e-6);
}

#[test]
fn paper_profile_parameters_are_within_5_percent_of_table_10() {
    let spl = variant("SPL-Net");
    let count = |stage| {
        let (vs, _) = stats::build(&spl, &Profile::paper(), stage, &CELEBA, Device::Cpu).unwrap();
        vs.trainable_variables()
            .iter()
            .map(|t| t.numel())
            .sum::<usize>() as f64
            / 1e6
    };
    for (stage, paper) in [(Stage::Pretrain, 26.354), (Stage::Far, 21.721)] {
        let ours = count(stage);
        assert!(
            (ours / paper - 1.0).abs() < 0.05,
            "{stage}: {ours:.3}M vs the paper's {paper}M"
        );
    }
}

#[test]
fn cli_stats_prints_both_stages_as_json() {
    let out = ablate(&[
        "model",
        "stats",
        "--variant",
        "SPL-Net",
        "--profile",
        "tiny",
        "--format",
        "json",
        "--device",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for stage in ["stage1", "stage2"] {
        assert!(json[stage]["params"].as_u64().unwrap() > 0, "{stage}");
        assert!(json[stage]["flops"].as_u64().unwrap() > 0, "{stage}");
        assert!(
            json[stage]["modules"]["mss.tb"]["params"].as_u64().unwrap() > 0,
            "{stage}"
        );
    }
    let sum: u64 = json["stage1"]["modules"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["params"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, json["stage1"]["params"].as_u64().unwrap());

    let out = ablate(&[
        "model",
        "stats",
        "--variant",
        "Baseline",
        "--profile",
        "tiny",
        "--format",
        "json",
        "--device",
        "cpu",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json["stage1"].is_null());
}

#[test]
fn cli_stats_rejects_unknown_names_clearly() {
    let out = ablate(&[
        "model",
        "stats",
        "--variant",
        "SPL-Net",
        "--profile",
        "huge",
        "--device",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"huge\"") && stderr(&out).contains("paper, small, tiny"),
        "{}",
        stderr(&out)
    );
    let out = ablate(&[
        "model",
        "stats",
        "--variant",
        "Nope",
        "--profile",
        "tiny",
        "--device",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Nope"), "{}", stderr(&out));
}

#[test]
fn cli_stats_all_tabulates_every_variant_with_speed() {
    let out = ablate(&[
        "model",
        "stats",
        "--all",
        "--profile",
        "tiny",
        "--batch",
        "4",
        "--warmup",
        "1",
        "--iters",
        "1",
        "--device",
        "cpu",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows.len(), 16);
    for row in rows {
        assert!(row["speed"]["latency_ms"].as_f64().unwrap() > 0.0);
        assert!(row["speed"]["images_per_s"].as_f64().unwrap() > 0.0);
        assert!(row["stage2"]["params"].as_u64().unwrap() > 0);
    }
}
