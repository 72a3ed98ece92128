//! Experiment files (`experiments/*.toml`): which variants, datasets, label
//! proportions and seeds to cross, under which scale profile, into which
//! database. [`Experiment::load`] validates a file (every error names file,
//! line and column) and [`Experiment::plan`] expands it into run identities.

use crate::data::synth::{Difficulty, SynthConfig};
use crate::device::DeviceChoice;
use crate::registry::{Diagnostic, Hyper, Location, Registry, Variant};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// An experiment file is a few dozen lines; anything far larger is not one.
const MAX_FILE_BYTES: u64 = 256 * 1024;
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("cannot read experiment file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} in {}:\n{}", plural(.0.len()), .1.display(), list(.0))]
    Invalid(Vec<Diagnostic>, PathBuf),
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 error".into()
    } else {
        format!("{n} errors")
    }
}

fn list(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(|d| format!("  {d}")).collect();
    lines.join("\n")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    variants: Option<Vec<Spanned<String>>>,
    proportions: Option<Spanned<Vec<Spanned<f64>>>>,
    seeds: Spanned<Vec<Spanned<i64>>>,
    profile: ProfileFile,
    datasets: Spanned<Vec<Spanned<DatasetFile>>>,
    #[serde(default)]
    sweeps: Vec<Spanned<SweepFile>>,
    database: Option<Spanned<String>>,
    artifacts: Option<String>,
    device: Option<Spanned<String>>,
    max_attempts: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: Spanned<String>,
    #[serde(default)]
    overrides: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetFile {
    kind: Spanned<String>,
    path: Option<Spanned<String>>,
    count: Option<Spanned<u32>>,
    size: Option<Spanned<u32>>,
    seed: Option<Spanned<u64>>,
    difficulty: Option<Spanned<Difficulty>>,
    /// This dataset's proportions instead of the file's (the paper uses
    /// other ones on LFWA than on CelebA and MAAD).
    proportions: Option<Spanned<Vec<Spanned<f64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    variant: Spanned<String>,
    values: BTreeMap<String, Spanned<Vec<toml::Value>>>,
}

/// The scale profile by name (profiles live with the model, issue #3) plus
/// the experiment's overrides of its values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    pub overrides: BTreeMap<String, toml::Value>,
}

impl Profile {
    /// The named scale profile with the overrides applied.
    pub fn resolve(&self) -> Result<crate::profile::Profile, String> {
        let base = crate::profile::Profile::by_name(&self.name).map_err(|e| e.to_string())?;
        let mut table = toml::Value::try_from(&base).map_err(|e| e.to_string())?;
        if let toml::Value::Table(values) = &mut table {
            for (key, value) in &self.overrides {
                if !values.contains_key(key) || key == "name" {
                    return Err(format!(
                        "profile {:?} has no value `{key}` to override",
                        self.name
                    ));
                }
                values.insert(key.clone(), value.clone());
            }
        }
        crate::profile::Profile::deserialize(table).map_err(|e| {
            format!(
                "profile {:?} with its overrides: {}",
                self.name,
                e.message()
            )
        })
    }
}

/// Where a run's images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DatasetSpec {
    Celeba {
        path: PathBuf,
    },
    Lfwa {
        path: PathBuf,
    },
    Maad {
        path: PathBuf,
    },
    /// The built-in generator (`ablate data synth`) with its settings.
    Synthetic {
        count: u32,
        size: u32,
        seed: u64,
        /// `None`: the defaults. Left out of the identity then, so that
        /// experiments written before the setting existed keep their runs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        difficulty: Option<Difficulty>,
    },
}

impl DatasetSpec {
    /// Identity of the dataset in run keys and the database.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("plain data serializes")
    }

    /// A short label for tables: `synthetic(200x32px,seed0)`, with any
    /// difficulty setting that differs from the default
    /// (`synthetic(200x32px,seed0,noise=0.1)`), `celeba`.
    pub fn label(&self) -> String {
        match self {
            DatasetSpec::Celeba { .. } => "celeba".into(),
            DatasetSpec::Lfwa { .. } => "lfwa".into(),
            DatasetSpec::Maad { .. } => "maad".into(),
            DatasetSpec::Synthetic {
                count,
                size,
                seed,
                difficulty,
            } => {
                let changes = difficulty.as_ref().map(Difficulty::changes);
                let changes: String = changes.iter().flatten().map(|c| format!(",{c}")).collect();
                format!("synthetic({count}x{size}px,seed{seed}{changes})")
            }
        }
    }
}

/// A validated experiment file.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    pub description: String,
    pub source: PathBuf,
    /// The file as written, kept in the database with the runs.
    pub text: String,
    /// Selected variants, then sweep-derived ones, in that order.
    pub variants: Vec<Variant>,
    pub datasets: Vec<DatasetSpec>,
    /// Every proportion (percent of the training labels) of any dataset,
    /// ascending.
    pub proportions: Vec<f64>,
    /// The proportions of each dataset, in `datasets` order.
    pub dataset_proportions: Vec<Vec<f64>>,
    pub seeds: Vec<u64>,
    pub profile: Profile,
    pub database: Option<String>,
    pub artifacts: Option<PathBuf>,
    pub device: Option<DeviceChoice>,
    /// Attempts of a failing run before it stays failed.
    pub max_attempts: u32,
}

/// One cell of the grid: everything that identifies a run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// SHA-256 of the identity, hex.
    pub id: String,
    /// Position in the plan; workers claim runs in this order.
    pub ordinal: usize,
    pub experiment: String,
    pub variant: Variant,
    pub dataset: DatasetSpec,
    pub proportion: f64,
    pub seed: u64,
    pub profile: Profile,
    /// What the stage-1 model depends on; `None` without a stage 1.
    pub stage1_key: Option<String>,
}

impl RunSpec {
    /// `SPL-Net 10% seed 1`, for logs and progress bars.
    pub fn label(&self) -> String {
        format!(
            "{} {}% seed {}",
            self.variant.name, self.proportion, self.seed
        )
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Experiment {
    /// Reads and validates `path`; variant names resolve against `registry`.
    pub fn load(path: &Path, registry: &Registry) -> Result<Experiment, ExperimentError> {
        let io = |source| ExperimentError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            let message = format!(
                "file is {size} bytes; an experiment file is at most {MAX_FILE_BYTES} bytes"
            );
            return Err(ExperimentError::Invalid(
                vec![Diagnostic::error(Location::file_start(path), message)],
                path.to_path_buf(),
            ));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            ExperimentError::Invalid(
                vec![Diagnostic::error(
                    Location::file_start(path),
                    "file is not UTF-8 text (is it a TOML experiment file?)",
                )],
                path.to_path_buf(),
            )
        })?;
        Self::parse(path, text, registry)
    }

    /// Validates experiment TOML already in memory (`path` names it).
    pub fn parse(
        path: &Path,
        text: String,
        registry: &Registry,
    ) -> Result<Experiment, ExperimentError> {
        let mut checker = Checker {
            path,
            text: &text,
            errors: Vec::new(),
        };
        let file: ExperimentFile = match toml::from_str(&text) {
            Ok(file) => file,
            Err(err) => {
                let at = Location::at_span(path, &text, err.span());
                let diagnostic = Diagnostic::error(at, err.message().trim().to_string());
                return Err(ExperimentError::Invalid(
                    vec![diagnostic],
                    path.to_path_buf(),
                ));
            }
        };
        let experiment = checker.experiment(file, registry);
        if checker.errors.is_empty() {
            Ok(Experiment { text, ..experiment })
        } else {
            Err(ExperimentError::Invalid(checker.errors, path.to_path_buf()))
        }
    }

    /// The grid: proportion-major, so that the first pass trains each stage-1
    /// model once and later proportions reuse it, and parallel workers
    /// rarely wait on the same stage-1 key.
    pub fn plan(&self) -> Vec<RunSpec> {
        let profile = serde_json::to_string(&self.profile).expect("plain data serializes");
        let resolved = self
            .profile
            .resolve()
            .expect("Experiment::parse checked the profile");
        let mut runs = Vec::new();
        for &proportion in &self.proportions {
            let datasets = self
                .datasets
                .iter()
                .zip(&self.dataset_proportions)
                .filter(|(_, own)| own.contains(&proportion));
            for (dataset, _) in datasets {
                for variant in &self.variants {
                    for &seed in &self.seeds {
                        let identity = serde_json::json!({
                            "experiment": self.name,
                            "variant": variant.hash.as_str(),
                            "dataset": dataset,
                            "proportion": proportion,
                            "seed": seed,
                            "profile": profile,
                        });
                        // Stage 1 sees no labels, so the proportion stays out.
                        let stage1_key = crate::train::stage1_key(
                            variant,
                            &resolved.resolve(&variant.hyper),
                            dataset,
                            seed,
                        );
                        runs.push(RunSpec {
                            id: sha256_hex(&identity.to_string()),
                            ordinal: runs.len(),
                            experiment: self.name.clone(),
                            variant: variant.clone(),
                            dataset: dataset.clone(),
                            proportion,
                            seed,
                            profile: self.profile.clone(),
                            stage1_key,
                        });
                    }
                }
            }
        }
        runs
    }

    /// The database URL: the file's, else a SQLite file named after the
    /// experiment under `runs/`.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://runs/{}.db", self.name))
    }

    /// Where stage-1 artifacts go: the file's, else `artifacts/<name>`.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.artifacts
            .clone()
            .unwrap_or_else(|| Path::new("artifacts").join(&self.name))
    }
}

/// Collects every problem of a file instead of stopping at the first.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let at = Location::at_offset(self.path, self.text, span.start);
        self.errors.push(Diagnostic::error(at, message));
    }

    fn experiment(&mut self, file: ExperimentFile, registry: &Registry) -> Experiment {
        let name = file.name.get_ref().clone();
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            self.error(
                file.name.span(),
                format!("`name` {name:?} must be 1-64 characters of letters, digits, '-', '_' or '.' (it names files)"),
            );
        }
        let mut variants = self.select_variants(file.variants.as_deref(), registry);
        for sweep in &file.sweeps {
            variants.extend(self.sweep(sweep, registry));
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for variant in &variants {
            if let Some(other) = seen.insert(variant.hash.as_str(), &variant.name) {
                if other != variant.name {
                    // Two names for the same content would store one run twice.
                    self.errors.push(Diagnostic::error(
                        Location::file_start(self.path),
                        format!("variants {other:?} and {:?} are identical", variant.name),
                    ));
                }
            }
        }
        let mut unique = Vec::new();
        for variant in variants {
            if !unique.iter().any(|v: &Variant| v.hash == variant.hash) {
                unique.push(variant);
            }
        }
        let shared = file.proportions.as_ref().map(|p| self.proportions(p));
        let (datasets, dataset_proportions): (Vec<_>, Vec<_>) = self
            .datasets(&file.datasets, shared.as_deref())
            .into_iter()
            .unzip();
        let mut proportions: Vec<f64> = dataset_proportions.iter().flatten().copied().collect();
        proportions.sort_by(f64::total_cmp);
        proportions.dedup();
        Experiment {
            name,
            description: file.description,
            source: self.path.to_path_buf(),
            text: String::new(),
            variants: unique,
            datasets,
            proportions,
            dataset_proportions,
            seeds: self.seeds(&file.seeds),
            profile: self.profile(file.profile),
            database: file.database.and_then(|db| self.database(db)),
            artifacts: file.artifacts.map(PathBuf::from),
            device: file.device.and_then(|device| {
                device
                    .get_ref()
                    .parse()
                    .map_err(|err| self.error(device.span(), format!("`device`: {err}")))
                    .ok()
            }),
            max_attempts: match file.max_attempts {
                Some(n) if *n.get_ref() == 0 => {
                    self.error(n.span(), "`max_attempts` must be at least 1");
                    1
                }
                Some(n) => n.into_inner(),
                None => DEFAULT_MAX_ATTEMPTS,
            },
        }
    }

    /// Names or globs; none given means every variant of the registry.
    fn select_variants(
        &mut self,
        patterns: Option<&[Spanned<String>]>,
        registry: &Registry,
    ) -> Vec<Variant> {
        let Some(patterns) = patterns else {
            return registry.variants().to_vec();
        };
        let mut selected: Vec<Variant> = Vec::new();
        for pattern in patterns {
            let matcher = match glob::Pattern::new(pattern.get_ref()) {
                Ok(matcher) => matcher,
                Err(err) => {
                    self.error(pattern.span(), format!("bad variant pattern: {err}"));
                    continue;
                }
            };
            let matches: Vec<&Variant> = registry
                .variants()
                .iter()
                .filter(|v| matcher.matches(&v.name))
                .collect();
            if matches.is_empty() {
                self.error(
                    pattern.span(),
                    format!(
                        "no variant matches {:?}; known variants: {}",
                        pattern.get_ref(),
                        registry.names().join(", ")
                    ),
                );
            }
            for variant in matches {
                if !selected.iter().any(|v| v.name == variant.name) {
                    selected.push(variant.clone());
                }
            }
        }
        selected
    }

    /// The cartesian product of a sweep's values, each combination a derived
    /// variant named like `SPL-Net m=2 v=6`.
    fn sweep(&mut self, sweep: &Spanned<SweepFile>, registry: &Registry) -> Vec<Variant> {
        let base_name = &sweep.get_ref().variant;
        let Ok(base) = registry.get(base_name.get_ref()) else {
            self.error(
                base_name.span(),
                format!(
                    "sweep of unknown variant {:?}; known variants: {}",
                    base_name.get_ref(),
                    registry.names().join(", ")
                ),
            );
            return Vec::new();
        };
        let values = &sweep.get_ref().values;
        if values.is_empty() {
            self.error(sweep.span(), "sweep has no `values`");
            return Vec::new();
        }
        let mut combinations: Vec<Vec<(&str, &toml::Value)>> = vec![Vec::new()];
        for (key, list) in values {
            if list.get_ref().is_empty() {
                self.error(list.span(), format!("sweep values of `{key}` are empty"));
                return Vec::new();
            }
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    list.get_ref().iter().map(move |value| {
                        let mut next = prefix.clone();
                        next.push((key.as_str(), value));
                        next
                    })
                })
                .collect();
        }
        let mut derived = Vec::new();
        for combination in combinations {
            let table: toml::Table = combination
                .iter()
                .map(|(k, v)| (k.to_string(), (*v).clone()))
                .collect();
            let overrides = match Hyper::deserialize(toml::Value::Table(table)) {
                Ok(hyper) => hyper,
                Err(err) => {
                    let key = combination.last().map_or("", |(k, _)| k);
                    let span = values.get(key).map_or(sweep.span(), |v| v.span());
                    let shown: Vec<String> = combination
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    self.error(
                        span,
                        format!("sweep value {}: {}", shown.join(", "), err.message().trim()),
                    );
                    return Vec::new();
                }
            };
            let suffix: Vec<String> = combination
                .iter()
                .map(|(k, v)| format!("{}={v}", short_key(k)))
                .collect();
            derived.push(base.derive(&format!("{} {}", base.name, suffix.join(" ")), &overrides));
        }
        derived
    }

    /// Each dataset with its proportions: its own, else `shared`.
    fn datasets(
        &mut self,
        datasets: &Spanned<Vec<Spanned<DatasetFile>>>,
        shared: Option<&[f64]>,
    ) -> Vec<(DatasetSpec, Vec<f64>)> {
        if datasets.get_ref().is_empty() {
            self.error(datasets.span(), "`datasets` is empty");
        }
        let mut specs = Vec::new();
        for dataset in datasets.get_ref() {
            let d = dataset.get_ref();
            let synthetic_keys = [
                d.count.as_ref().map(Spanned::span),
                d.size.as_ref().map(Spanned::span),
                d.seed.as_ref().map(Spanned::span),
                d.difficulty.as_ref().map(Spanned::span),
            ];
            let spec = match d.kind.get_ref().as_str() {
                "synthetic" => {
                    if let Some(path) = &d.path {
                        self.error(path.span(), "a synthetic dataset takes no `path` (it is generated from count, size and seed)");
                    }
                    let count = d.count.as_ref().map_or(2000, |c| *c.get_ref());
                    let size = d.size.as_ref().map_or(64, |s| *s.get_ref());
                    if count < 10 {
                        let span = d.count.as_ref().map_or(dataset.span(), |c| c.span());
                        self.error(
                            span,
                            format!("`count` {count}: a synthetic dataset needs at least 10 faces"),
                        );
                    }
                    if !(16..=512).contains(&size) {
                        let span = d.size.as_ref().map_or(dataset.span(), |s| s.span());
                        self.error(span, format!("`size` {size}: expected 16 to 512 pixels"));
                    }
                    let seed = d.seed.as_ref().map_or(0, |s| *s.get_ref());
                    let difficulty = d.difficulty.as_ref().and_then(|given| {
                        let config = SynthConfig {
                            difficulty: given.get_ref().clone(),
                            ..SynthConfig::default()
                        };
                        if let Err(err) = config.validate() {
                            self.error(given.span(), err.to_string());
                        }
                        (config.difficulty != Difficulty::default()).then_some(config.difficulty)
                    });
                    Some(DatasetSpec::Synthetic {
                        count,
                        size,
                        seed,
                        difficulty,
                    })
                }
                kind @ ("celeba" | "lfwa" | "maad") => {
                    if let Some(extra) = synthetic_keys.into_iter().flatten().next() {
                        self.error(extra, format!("`count`, `size`, `seed` and `difficulty` belong to synthetic datasets, not {kind}"));
                    }
                    match &d.path {
                        None => {
                            self.error(dataset.span(), format!("a {kind} dataset needs `path`"));
                            None
                        }
                        Some(path) if path.get_ref().trim().is_empty() => {
                            self.error(path.span(), "`path` is empty");
                            None
                        }
                        Some(path) => {
                            let path = PathBuf::from(path.get_ref());
                            Some(match kind {
                                "celeba" => DatasetSpec::Celeba { path },
                                "lfwa" => DatasetSpec::Lfwa { path },
                                _ => DatasetSpec::Maad { path },
                            })
                        }
                    }
                }
                other => {
                    self.error(
                        d.kind.span(),
                        format!("unknown dataset kind {other:?}: expected celeba, lfwa, maad or synthetic"),
                    );
                    None
                }
            };
            let proportions = match (&d.proportions, shared) {
                (Some(own), _) => self.proportions(own),
                (None, Some(shared)) => shared.to_vec(),
                (None, None) => {
                    self.error(
                        dataset.span(),
                        "no `proportions` for this dataset: give it its own or set the file's",
                    );
                    Vec::new()
                }
            };
            if let Some(spec) = spec {
                if specs.iter().any(|(s, _)| *s == spec) {
                    self.error(dataset.span(), "this dataset is listed twice");
                } else {
                    specs.push((spec, proportions));
                }
            }
        }
        specs
    }

    fn proportions(&mut self, proportions: &Spanned<Vec<Spanned<f64>>>) -> Vec<f64> {
        if proportions.get_ref().is_empty() {
            self.error(proportions.span(), "`proportions` is empty");
        }
        let mut values = Vec::new();
        for p in proportions.get_ref() {
            let value = *p.get_ref();
            if !(value > 0.0 && value <= 100.0) {
                self.error(
                    p.span(),
                    format!("proportion {value}: expected a percentage in (0, 100]"),
                );
            } else if values.contains(&value) {
                self.error(p.span(), format!("proportion {value} is listed twice"));
            } else {
                values.push(value);
            }
        }
        values
    }

    fn seeds(&mut self, seeds: &Spanned<Vec<Spanned<i64>>>) -> Vec<u64> {
        if seeds.get_ref().is_empty() {
            self.error(seeds.span(), "`seeds` is empty");
        }
        let mut values = Vec::new();
        for seed in seeds.get_ref() {
            match u64::try_from(*seed.get_ref()) {
                Err(_) => self.error(
                    seed.span(),
                    format!("seed {}: seeds are non-negative", seed.get_ref()),
                ),
                Ok(value) if values.contains(&value) => {
                    self.error(seed.span(), format!("seed {value} is listed twice"))
                }
                Ok(value) => values.push(value),
            }
        }
        values
    }

    fn profile(&mut self, profile: ProfileFile) -> Profile {
        let name = profile.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            self.error(
                profile.name.span(),
                format!("profile name {name:?} must be letters, digits, '-' or '_'"),
            );
        }
        let mut overrides = BTreeMap::new();
        for (key, value) in profile.overrides {
            if matches!(
                value.get_ref(),
                toml::Value::Table(_) | toml::Value::Array(_)
            ) {
                self.error(
                    value.span(),
                    format!("profile override `{key}` must be a number, boolean or string"),
                );
            } else {
                overrides.insert(key, value.into_inner());
            }
        }
        let span = profile.name.span();
        let profile = Profile {
            name: profile.name.into_inner(),
            overrides,
        };
        if let Err(message) = profile.resolve() {
            self.error(span, message);
        }
        profile
    }

    fn database(&mut self, url: Spanned<String>) -> Option<String> {
        let ok = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.get_ref().starts_with(scheme));
        if ok {
            Some(url.into_inner())
        } else {
            self.error(
                url.span(),
                format!(
                    "`database` {:?}: expected sqlite://PATH or postgres://...",
                    url.get_ref()
                ),
            );
            None
        }
    }
}

/// A device choice as users write it (`auto`, `cpu`, `cuda:1`).
pub fn device_name(choice: DeviceChoice) -> String {
    match choice {
        DeviceChoice::Auto => "auto".into(),
        DeviceChoice::Cpu => "cpu".into(),
        DeviceChoice::Cuda(index) => format!("cuda:{index}"),
    }
}

/// The paper's symbols for the swept hyper-parameters of its Fig. 5.
fn short_key(key: &str) -> &str {
    match key {
        "patches_per_side" => "m",
        "dominant_components" => "v",
        "lambda_pst" => "lambda1",
        "lambda_pct" => "lambda2",
        other => other,
    }
}
