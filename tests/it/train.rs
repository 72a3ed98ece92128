//! Training at the tiny profile on a few synthetic faces: every variant end
//! to end, every loss term of every variant falling on a fixed batch, the D
//! step, stage-2 loading, NaN detection and determinism.

use crate::support::{ablate, stderr, stdout, variants_dir};
use ablate::data::{ImageCache, Split};
use ablate::experiment::{DatasetSpec, Profile as ExperimentProfile};
use ablate::groups::{Region, CELEBA};
use ablate::model::{parameter_groups, ModelConfig, ParamGroup, SplNet, Stage};
use ablate::profile::{HyperParams, Profile};
use ablate::registry::{Alignment, Registry, Schedule, Variant};
use ablate::runner::{MetricsSink, Stage1Cache, Stage1Claim, TrainError, TrainInput, Trainer};
use ablate::store::{Artifact, RunResults, StoredSpec};
use ablate::train::stage1::{aux_batch, auxiliary_step, discriminator_step, AuxBatch};
use ablate::train::stage2::{far_loss, load_pretrained};
use ablate::train::{data, seeded, stage1, GroupOptimizer, SplTrainer, StepAt, TrainingError};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tch::nn::VarStore;
use tch::{Device, Tensor};

const DATASET: DatasetSpec = DatasetSpec::Synthetic {
    count: 24,
    size: 32,
    seed: 0,
    difficulty: None,
};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::load(&[variants_dir()]).unwrap())
}

fn variant(name: &str) -> Variant {
    registry().get(name).unwrap().clone()
}

/// One synthetic dataset for the whole harness, generated once.
fn artifacts() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Tiny profile, one epoch per stage.
fn profile() -> ExperimentProfile {
    let overrides = [("stage1_epochs", 1), ("stage2_epochs", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), toml::Value::Integer(v)))
        .collect();
    ExperimentProfile {
        name: "tiny".into(),
        overrides,
    }
}

fn input(variant: &Variant, seed: u64) -> TrainInput {
    let profile = profile();
    let hp = profile.resolve().unwrap().resolve(&variant.hyper);
    let spec = StoredSpec {
        experiment: "test".into(),
        variant_name: variant.name.clone(),
        variant_hash: variant.hash.to_string(),
        toggles: variant.toggles,
        hyper: variant.hyper.clone(),
        dataset: serde_json::to_value(&DATASET).unwrap(),
        proportion: 100.0,
        seed,
        profile: serde_json::to_value(&profile).unwrap(),
        stage1_key: ablate::train::stage1_key(variant, &hp, &DATASET, seed),
        max_attempts: 1,
        device: None,
        artifacts: artifacts().display().to_string(),
    };
    TrainInput {
        run_id: format!("{} {seed}", variant.name),
        attempt: 1,
        spec,
        dataset: DATASET,
        profile,
        device: Device::Cpu,
        artifacts: artifacts().to_path_buf(),
    }
}

/// Phase, epoch and the values of one epoch.
type Row = (String, u32, Vec<(String, f64)>);

#[derive(Default)]
struct Sink {
    rows: Vec<Row>,
}

impl MetricsSink for Sink {
    fn epoch(
        &mut self,
        stage: &str,
        epoch: u32,
        _epochs: u32,
        values: &[(&str, f64)],
    ) -> Result<(), TrainError> {
        let values = values.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        self.rows.push((stage.to_string(), epoch, values));
        Ok(())
    }
}

/// Trains every key it is asked for into its own directory.
struct Cache {
    dir: tempfile::TempDir,
    registered: RefCell<Vec<String>>,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            dir: tempfile::tempdir().unwrap(),
            registered: RefCell::default(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.path().join(format!("{key}.ot"))
    }
}

impl Stage1Cache for Cache {
    fn lookup(&self, key: &str) -> Result<Option<PathBuf>, TrainError> {
        Ok(self
            .registered
            .borrow()
            .contains(&key.to_string())
            .then(|| self.path(key)))
    }

    fn acquire(&self, key: &str) -> Result<Stage1Claim, TrainError> {
        Ok(match self.lookup(key)? {
            Some(path) => Stage1Claim::Reuse { path },
            None => Stage1Claim::Train {
                path: self.path(key),
            },
        })
    }

    fn register(&self, key: &str, path: &Path) -> Result<Artifact, TrainError> {
        assert!(path.is_file());
        self.registered.borrow_mut().push(key.to_string());
        Ok(Artifact {
            key: key.into(),
            path: path.display().to_string(),
            checksum: String::new(),
        })
    }
}

fn train(variant: &Variant, seed: u64, cache: &Cache) -> (RunResults, Sink) {
    let mut sink = Sink::default();
    let results = SplTrainer
        .train(&input(variant, seed), &mut sink, cache)
        .unwrap_or_else(|e| panic!("{}: {e}", variant.name));
    (results, sink)
}

#[test]
fn every_variant_trains_one_epoch_of_each_stage() {
    let cache = Cache::new();
    let mut reused = Vec::new();
    for variant in registry().variants() {
        let key = input(variant, 0).spec.stage1_key;
        // A variant whose stage 1 an earlier one trained reuses it.
        let trained_before = match &key {
            Some(key) => cache.lookup(key).unwrap().is_some(),
            None => false,
        };
        let (results, sink) = train(variant, 0, &cache);
        let stages: Vec<&str> = sink.rows.iter().map(|r| r.0.as_str()).collect();
        let expected: &[&str] = match variant.toggles.schedule {
            ablate::registry::Schedule::OneStage => &["one-stage"],
            _ if key.is_some() && !trained_before => &["stage1", "stage2"],
            _ => &["stage2"],
        };
        if trained_before {
            reused.push(variant.name.clone());
        }
        assert_eq!(stages, expected, "{}", variant.name);
        for (_, _, values) in &sink.rows {
            let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
            assert!(
                names.contains(&"lr") && names.contains(&"seconds"),
                "{names:?}"
            );
            assert!(values.iter().all(|(_, v)| v.is_finite()), "{values:?}");
        }
        assert_eq!(results.test.per_attribute.len(), CELEBA.len());
        assert!((0.0..=1.0).contains(&results.test.mean));
        // The test predictions of the selected epoch, on file and summarised.
        let predictions = results.predictions.as_ref().expect("test predictions");
        assert_eq!(predictions.predicted.attributes.len(), CELEBA.len());
        assert_eq!(predictions.predicted.values.len(), CELEBA.len().pow(2));
        let file = std::fs::read(&predictions.file.path).unwrap();
        assert_eq!(
            predictions.file.checksum,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file))
        );
        assert_eq!(
            file.iter().filter(|&&b| b == b'\n').count(),
            1 + predictions.predicted.images
        );
        let far = results.model_stats.last().unwrap();
        let speed = far.speed.as_ref().expect("the FAR model's speed");
        assert!(
            speed.latency_ms > 0.0 && speed.images_per_s > 0.0,
            "{speed:?}"
        );
        assert_eq!(speed.device, "cpu");
    }
    // SPL-Net and SPL w/o whole share one stage-1 model.
    assert_eq!(reused.len(), 1, "{reused:?}");
    let key = |name: &str| input(&variant(name), 0).spec.stage1_key.unwrap();
    assert_eq!(key("SPL-Net"), key("SPL w/o whole"));
    assert_ne!(key("SPL-Net"), key("SPL L2"));
}

#[test]
fn same_seed_gives_the_same_results_and_another_seed_does_not() {
    // libtorch's random generator is global to the process: tests running
    // beside this one would draw from it between seeding and initialisation.
    // So the check runs alone, in a child process of this test binary.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "train::determinism_in_isolation",
            "--include-ignored",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
}

#[test]
#[ignore = "run alone by same_seed_gives_the_same_results_and_another_seed_does_not"]
fn determinism_in_isolation() {
    let cache = Cache::new();
    let baseline = variant("SPL R");
    let (first, _) = train(&baseline, 3, &cache);
    // The second run reuses the stage-1 model the first one trained.
    let (second, _) = train(&baseline, 3, &cache);
    assert_eq!(first, second);
    let (other, _) = train(&baseline, 4, &cache);
    assert_ne!(first.test.per_attribute, other.test.per_attribute);
}

struct Stage1Setup {
    hp: HyperParams,
    variant: Variant,
    vs: VarStore,
    model: SplNet,
    batch: AuxBatch,
}

fn stage1_setup(name: &str) -> Stage1Setup {
    let variant = variant(name);
    let hp = Profile::tiny().resolve(&variant.hyper);
    let dataset = data::open(&DATASET, artifacts()).unwrap();
    let cache = ImageCache::load(
        &dataset,
        &dataset.split_indices(Split::Train)[..8],
        hp.image_resize as u32,
    )
    .unwrap();
    let mut rng = seeded(0, "test");
    let vs = VarStore::new(Device::Cpu);
    let model = SplNet::build(&vs.root(), &variant, &hp, Stage::Pretrain, &CELEBA).unwrap();
    let index = Tensor::arange(8, (tch::Kind::Int64, Device::Cpu));
    let batch = aux_batch(&model, &cache, &index, &hp, Device::Cpu, &mut rng).unwrap();
    Stage1Setup {
        hp,
        variant,
        vs,
        model,
        batch,
    }
}

fn at() -> StepAt {
    StepAt {
        stage: Stage::Pretrain,
        epoch: 1,
        step: 1,
    }
}

#[test]
fn stage1_losses_fall_on_a_fixed_batch() {
    let s = stage1_setup("SPL-Net");
    let hp = HyperParams {
        learning_rate: 1e-3,
        ..s.hp.clone()
    };
    let mut network = GroupOptimizer::adam(&s.vs, ParamGroup::Network, &hp)
        .unwrap()
        .unwrap();
    let mut d = GroupOptimizer::adam(&s.vs, ParamGroup::Discriminator, &hp).unwrap();
    let mut history: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..8 {
        let (values, total) = auxiliary_step(
            &s.model,
            &s.batch,
            &hp,
            &s.variant.toggles,
            d.as_mut(),
            at(),
        )
        .unwrap();
        network.minimise(&total).unwrap();
        for (name, value) in values {
            history.entry(name).or_default().push(value);
        }
    }
    for term in ["prt", "pst", "pct", "loss"] {
        let h = &history[term];
        assert!(h[h.len() - 1] < h[0], "{term} did not fall: {h:?}");
    }
    assert!(history.contains_key("discriminator") && history.contains_key("sme"));
}

fn snapshot(vs: &VarStore) -> BTreeMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect()
}

#[test]
fn the_discriminator_step_changes_only_d() {
    let s = stage1_setup("SPL-Net");
    let out = s
        .model
        .forward_patch(&s.batch.patch.as_ref().unwrap().input, true);
    let (whole, agg) = s.model.alignment_pair(&out.mss).unwrap();
    let before = snapshot(&s.vs);
    let mut d = GroupOptimizer::adam(&s.vs, ParamGroup::Discriminator, &s.hp)
        .unwrap()
        .unwrap();
    discriminator_step(&s.model, whole, agg, &mut d, 3, at()).unwrap();
    let groups = parameter_groups(&s.vs);
    let d_names: Vec<&String> = groups[&ParamGroup::Discriminator]
        .iter()
        .map(|(n, _)| n)
        .collect();
    for (name, after) in snapshot(&s.vs) {
        let same = before[&name].equal(&after);
        assert_eq!(!same, d_names.contains(&&name), "{name}");
    }
}

#[test]
fn stage2_loading_restores_mss_exactly() {
    let s = stage1_setup("SPL-Net");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stage1.ot");
    stage1::save(&s.vs, &path).unwrap();
    let mut stage1_vs = VarStore::new(Device::Cpu);
    SplNet::build(
        &stage1_vs.root(),
        &s.variant,
        &s.hp,
        Stage::Pretrain,
        &CELEBA,
    )
    .unwrap();
    let mut far_vs = VarStore::new(Device::Cpu);
    SplNet::build(&far_vs.root(), &s.variant, &s.hp, Stage::Far, &CELEBA).unwrap();
    let transfer = load_pretrained(&mut stage1_vs, &path, &mut far_vs).unwrap();
    assert!(transfer.copied > 0 && transfer.fresh_modules.is_empty());
    let trained = s.vs.variables();
    let far = far_vs.variables();
    let mss: Vec<&String> = far.keys().filter(|n| n.starts_with("mss.")).collect();
    assert_eq!(mss.len(), transfer.copied);
    for name in mss {
        assert!(trained[name].equal(&far[name]), "{name}");
    }
}

#[test]
fn a_nan_loss_is_caught_and_named() {
    let mut s = stage1_setup("SPL R");
    let prt = s.batch.prt.as_mut().unwrap();
    let _ = prt.input.get(0).fill_(f64::NAN);
    let error = auxiliary_step(&s.model, &s.batch, &s.hp, &s.variant.toggles, None, at())
        .expect_err("a NaN input must fail");
    match &error {
        TrainingError::NonFinite { term, step, .. } => {
            assert_eq!((term.as_str(), *step), ("prt", 1))
        }
        other => panic!("{other}"),
    }
    assert!(
        error.to_string().contains("loss term `prt` is NaN"),
        "{error}"
    );
}

#[test]
fn the_default_trainer_runs_the_smoke_grid_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("smoke.db").display());
    let artifacts = dir.path().join("artifacts");
    let args = [
        "run",
        "experiments/smoke.toml",
        "--db",
        &url,
        "--artifacts",
        artifacts.to_str().unwrap(),
    ];
    let output = ablate(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("12 done, 0 failed"),
        "{}",
        stdout(&output)
    );
}

/// Steps of the fixed-batch checks, and how many at each end are averaged:
/// a term falls when the mean of its last steps is below that of its first.
const STEPS: usize = 6;
const ENDS: usize = 2;

/// Faces in the fixed batch.
const BATCH: i64 = 4;

/// The first `BATCH` training faces, cached at `size`.
fn fixed_images(size: i64) -> ImageCache {
    let dataset = data::open(&DATASET, artifacts()).unwrap();
    ImageCache::load(
        &dataset,
        &dataset.split_indices(Split::Train)[..BATCH as usize],
        size as u32,
    )
    .unwrap()
}

/// Every value of every step, by term.
type History = BTreeMap<&'static str, Vec<f64>>;

fn record(history: &mut History, values: &[(&'static str, f64)]) {
    for &(name, value) in values {
        history.entry(name).or_default().push(value);
    }
}

fn assert_every_term_falls(what: &str, history: &History, expected: &[&str]) {
    let mut terms: Vec<&str> = history.keys().copied().collect();
    let mut expected = expected.to_vec();
    terms.sort();
    expected.sort();
    assert_eq!(terms, expected, "{what}: loss terms");
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    for (term, h) in history {
        assert_eq!(h.len(), STEPS, "{what} {term}");
        if *term == "sme" {
            // A regulariser weighted λ2 on normalised features: flat over
            // six joint steps; checked on its own below.
            continue;
        }
        let (first, last) = (mean(&h[..ENDS]), mean(&h[STEPS - ENDS..]));
        assert!(last < first, "{what}: {term} did not fall: {h:?}");
    }
}

/// The auxiliary terms a variant's toggles call for, and the joint loss.
fn auxiliary_terms(variant: &Variant) -> Vec<&'static str> {
    let t = &variant.toggles;
    let mut terms = vec!["loss"];
    let enabled = [
        ("prt", t.prt),
        ("pst", t.pst),
        ("pct", t.pct),
        ("alignment", t.pct && t.alignment != Alignment::None),
        ("sme", t.pct && t.sme),
    ];
    terms.extend(enabled.iter().filter(|(_, on)| *on).map(|(name, _)| *name));
    terms
}

/// Trains `STEPS` steps of one phase of `variant` on a fixed batch (D held
/// fixed: the adversarial pair is a min-max game, so each side is checked
/// with the other still) and returns every term's history.
/// A variant's freshly seeded model for the fixed-batch checks, with the
/// network's optimizer at lr 1e-3 and the batch's indices.
struct FixedBatchModel {
    hp: HyperParams,
    vs: VarStore,
    model: SplNet,
    network: GroupOptimizer,
    index: Tensor,
}

impl FixedBatchModel {
    fn new(variant: &Variant, stage: Stage) -> FixedBatchModel {
        let hp = HyperParams {
            learning_rate: 1e-3,
            // D runs no step here; its own descent is checked apart.
            discriminator_steps: 0,
            ..Profile::tiny().resolve(&variant.hyper)
        };
        seeded(0, "fixed batch");
        let vs = VarStore::new(Device::Cpu);
        let model = SplNet::build(&vs.root(), variant, &hp, stage, &CELEBA).unwrap();
        let network = GroupOptimizer::adam(&vs, ParamGroup::Network, &hp)
            .unwrap()
            .unwrap();
        let index = Tensor::arange(BATCH, (tch::Kind::Int64, Device::Cpu));
        FixedBatchModel {
            hp,
            vs,
            model,
            network,
            index,
        }
    }

    /// The auxiliary-task inputs of the fixed batch.
    fn aux_batch(&self) -> AuxBatch {
        let images = fixed_images(self.hp.image_resize);
        let mut rng = seeded(0, "batch");
        aux_batch(
            &self.model,
            &images,
            &self.index,
            &self.hp,
            Device::Cpu,
            &mut rng,
        )
        .unwrap()
    }
}

fn fixed_batch_history(variant: &Variant, stage: Stage) -> History {
    let fixed = FixedBatchModel::new(variant, stage);
    let aux = (stage != Stage::Far).then(|| fixed.aux_batch());
    let FixedBatchModel {
        hp,
        vs,
        model,
        mut network,
        index,
    } = fixed;
    let mut d = GroupOptimizer::adam(&vs, ParamGroup::Discriminator, &hp).unwrap();
    let labeled = (stage != Stage::Pretrain).then(|| fixed_images(hp.input_size));
    let mut history = History::new();
    for step in 0..STEPS {
        let at = StepAt {
            stage,
            epoch: 1,
            step: step + 1,
        };
        let mut total: Option<Tensor> = None;
        if let Some(labeled) = &labeled {
            let (far, loss) = far_loss(&model, labeled, &index, Device::Cpu, at).unwrap();
            record(&mut history, &[("far", far)]);
            total = Some(loss);
        }
        if let Some(batch) = &aux {
            let (values, loss) =
                auxiliary_step(&model, batch, &hp, &variant.toggles, d.as_mut(), at).unwrap();
            // With D still, its step reports no loss; D is checked apart.
            let values: Vec<_> = values
                .into_iter()
                .filter(|(name, _)| *name != "discriminator")
                .collect();
            record(&mut history, &values);
            total = Some(match total {
                Some(far) => far + loss,
                None => loss,
            });
        }
        let total = total.unwrap();
        if stage == Stage::OneStage {
            record(&mut history, &[("joint", total.double_value(&[]))]);
        }
        network.minimise(&total).unwrap();
    }
    history
}

#[test]
fn sme_alone_falls_and_reaches_every_local_branch() {
    let variant = registry().get("SPL-Net").unwrap().clone();
    let fixed = FixedBatchModel::new(&variant, Stage::Pretrain);
    let batch = fixed.aux_batch();
    let FixedBatchModel {
        vs,
        model,
        mut network,
        ..
    } = fixed;
    let patch = &batch.patch.as_ref().unwrap().input;
    let branch = |region: &str| {
        vs.variables()
            .into_iter()
            .filter(|(name, _)| name.starts_with(&format!("mss.{region}.")))
            .map(|(_, t)| t.detach().copy())
            .collect::<Vec<_>>()
    };
    let before: Vec<_> = ["upper", "middle", "lower"].map(branch).into();
    let mut history = Vec::new();
    for _ in 0..STEPS {
        let out = model.forward_patch(patch, true);
        let d4 = &out.mss.d4;
        let loss = ablate::model::losses::sme_loss(
            &d4[&Region::Upper],
            &d4[&Region::Middle],
            &d4[&Region::Lower],
        );
        history.push(loss.double_value(&[]));
        network.minimise(&loss).unwrap();
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    assert!(
        mean(&history[STEPS - ENDS..]) < mean(&history[..ENDS]),
        "sme did not fall: {history:?}"
    );
    for (region, old) in ["upper", "middle", "lower"].iter().zip(before) {
        let changed = branch(region).iter().zip(&old).any(|(new, old)| new != old);
        assert!(changed, "SME left the {region} branch untouched");
    }
}

#[test]
fn every_loss_term_of_every_variant_falls_on_a_fixed_batch() {
    // Phases that train the same model on the same losses are checked once:
    // a stage 1 by its stage-1 key (SPL-Net and SPL w/o whole share one), a
    // stage 2 by its model configuration (FAR is its only loss).
    let mut checked: BTreeMap<String, String> = BTreeMap::new();
    let mut first_to_check = |key: String, name: &str| match checked.get(&key) {
        Some(_) => false,
        None => checked.insert(key, name.to_string()).is_none(),
    };
    for variant in registry().variants() {
        let hp = Profile::tiny().resolve(&variant.hyper);
        let aux = auxiliary_terms(variant);
        match variant.toggles.schedule {
            Schedule::OneStage => {
                let mut expected = aux.clone();
                expected.extend(["far", "joint"]);
                let history = fixed_batch_history(variant, Stage::OneStage);
                assert_every_term_falls(
                    &format!("{} one-stage", variant.name),
                    &history,
                    &expected,
                );
            }
            _ => {
                let stage1 = ablate::train::stage1_key(variant, &hp, &DATASET, 0);
                if let Some(key) = stage1.filter(|k| first_to_check(k.clone(), &variant.name)) {
                    let history = fixed_batch_history(variant, Stage::Pretrain);
                    assert_every_term_falls(
                        &format!("{} stage 1 ({key})", variant.name),
                        &history,
                        &aux,
                    );
                }
                let far = ModelConfig::new(variant, &hp, Stage::Far).unwrap();
                if first_to_check(serde_json::to_string(&far).unwrap(), &variant.name) {
                    let history = fixed_batch_history(variant, Stage::Far);
                    assert_every_term_falls(
                        &format!("{} stage 2", variant.name),
                        &history,
                        &["far"],
                    );
                }
            }
        }
    }
    // Every stage-1 key but the shared one, and the four stage-2 models:
    // TB + FC, and MSS with the whole branch, with the fusion block, with CBAM.
    let names: Vec<&String> = checked.values().collect();
    assert_eq!(checked.len(), 12 + 4, "{names:?}");
}

#[test]
fn the_discriminator_loss_falls_with_the_network_still() {
    let adversarial: Vec<&Variant> = registry()
        .variants()
        .iter()
        .filter(|v| v.toggles.pct && v.toggles.alignment == Alignment::Adversarial)
        .collect();
    assert!(adversarial.len() >= 4, "{adversarial:?}");
    for variant in adversarial {
        let s = stage1_setup(&variant.name);
        let out = s
            .model
            .forward_patch(&s.batch.patch.as_ref().unwrap().input, true);
        let (whole, agg) = s.model.alignment_pair(&out.mss).unwrap();
        let hp = HyperParams {
            learning_rate: 1e-3,
            ..s.hp.clone()
        };
        let mut d = GroupOptimizer::adam(&s.vs, ParamGroup::Discriminator, &hp)
            .unwrap()
            .unwrap();
        let losses: Vec<f64> = (0..STEPS)
            .map(|_| discriminator_step(&s.model, whole, agg, &mut d, 1, at()).unwrap())
            .collect();
        let mut history = History::new();
        history.insert("discriminator", losses);
        assert_every_term_falls(&variant.name, &history, &["discriminator"]);
    }
}

/// Poisons one of the PST head's weights once epoch 1 is over.
struct PoisonAfterFirstEpoch {
    weight: Tensor,
}

impl MetricsSink for PoisonAfterFirstEpoch {
    fn epoch(&mut self, _: &str, epoch: u32, _: u32, _: &[(&str, f64)]) -> Result<(), TrainError> {
        if epoch == 1 {
            tch::no_grad(|| {
                let _ = self.weight.fill_(f64::NAN);
            });
        }
        Ok(())
    }
}

#[test]
fn a_nan_in_the_training_loop_names_its_epoch_step_and_term() {
    let variant = variant("SPL-Net");
    let hp = HyperParams {
        stage1_epochs: 2,
        stage1_batch: 4,
        ..Profile::tiny().resolve(&variant.hyper)
    };
    let vs = VarStore::new(Device::Cpu);
    let model = SplNet::build(&vs.root(), &variant, &hp, Stage::Pretrain, &CELEBA).unwrap();
    let (name, weight) = vs
        .variables()
        .into_iter()
        .filter(|(name, _)| name.starts_with("pst.") && name.ends_with("weight"))
        .min_by(|a, b| a.0.cmp(&b.0))
        .expect("a PST head weight");
    let mut sink = PoisonAfterFirstEpoch { weight };
    let images = fixed_images(hp.image_resize);
    let error = stage1::train(&model, &vs, &images, &hp, &variant.toggles, 0, &mut sink)
        .expect_err(&format!("NaN in {name} must stop training"));
    match &error {
        TrainingError::NonFinite {
            stage,
            epoch,
            step,
            term,
            ..
        } => assert_eq!(
            (*stage, *epoch, *step, term.as_str()),
            (Stage::Pretrain, 2, 1, "pst")
        ),
        other => panic!("{other}"),
    }
    assert!(
        error
            .to_string()
            .contains("stage 1, epoch 2, step 1: loss term `pst` is NaN"),
        "{error}"
    );
}
