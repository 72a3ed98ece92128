//! The variant registry: `variants/*.toml` loaded, `extends` chains resolved,
//! validated, and each variant given a content hash that identifies its runs.

pub mod diagnostic;
pub mod matrix;
mod rules;
pub mod schema;
mod source;

pub use diagnostic::{Diagnostic, Location, Severity};
pub use schema::{Alignment, Attention, Hyper, Schedule, Toggles};

use sha2::{Digest, Sha256};
use source::Source;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{} in the variant files:\n{}", count_errors(.0), list(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("cannot read variant directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no variant named {name:?}; known variants: {known}")]
    UnknownVariant { name: String, known: String },
}

fn count_errors(diagnostics: &[Diagnostic]) -> String {
    match diagnostics.iter().filter(|d| d.is_error()).count() {
        1 => "1 error".into(),
        n => format!("{n} errors"),
    }
}

fn list(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("  {d}"))
        .collect();
    lines.join("\n")
}

/// A stable identity for a resolved variant: SHA-256 over a canonical form of
/// its name, toggles and hyper-parameter overrides. Comments, key order,
/// description and the `extends` chain that produced it do not enter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for tables and logs.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A variant after `extends` is resolved: every toggle set.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub description: String,
    /// The file that declares this variant.
    pub source: PathBuf,
    /// Names from this variant up to its root, this variant first.
    pub chain: Vec<String>,
    pub toggles: Toggles,
    pub hyper: Hyper,
    pub hash: ContentHash,
    /// Where each toggle and hyper-parameter got its value, and from which
    /// variant of the chain.
    origin: BTreeMap<String, (Location, String)>,
    /// The `extends` line of this variant's own file.
    extends_at: Option<Location>,
}

impl Variant {
    /// A diagnostic's location and message about a toggle or hyper key: at
    /// the line that sets it in this variant's file, or, when it is
    /// inherited, at the `extends` line with a note saying where it is set.
    pub fn about_key(&self, key: &str, why: &str) -> (Location, String) {
        let message = format!("variant {:?}: {why}", self.name);
        match self.origin.get(key) {
            Some((at, from)) if from == &self.name => (at.clone(), message),
            Some((at, from)) => (
                self.extends_at.clone().unwrap_or_else(|| at.clone()),
                format!("{message} (value inherited from {from:?} at {at})"),
            ),
            None => (Location::file_start(&self.source), message),
        }
    }

    /// The canonical JSON that the content hash is computed from.
    pub fn canonical_json(&self) -> String {
        canonical_json(&self.name, &self.toggles, &self.hyper)
    }

    /// A variant rebuilt from what a run stores (name, toggles,
    /// hyper-parameters), for workers that read the database, not the files.
    pub fn stored(name: &str, toggles: Toggles, hyper: Hyper) -> Variant {
        Variant {
            name: name.to_string(),
            description: String::new(),
            source: PathBuf::new(),
            chain: vec![name.to_string()],
            hash: content_hash(name, &toggles, &hyper),
            toggles,
            hyper,
            origin: BTreeMap::new(),
            extends_at: None,
        }
    }

    /// A variant derived from this one by a sweep: `overrides` laid over its
    /// hyper-parameters, a new name, and the content hash of the result.
    pub fn derive(&self, name: &str, overrides: &Hyper) -> Variant {
        let hyper = self.hyper.overlaid_with(overrides);
        let mut chain = vec![name.to_string()];
        chain.extend(self.chain.iter().cloned());
        Variant {
            name: name.to_string(),
            hash: content_hash(name, &self.toggles, &hyper),
            hyper,
            chain,
            ..self.clone()
        }
    }
}

fn canonical_json(name: &str, toggles: &Toggles, hyper: &Hyper) -> String {
    // serde_json::Value keeps object keys sorted, so key order never matters.
    let value = serde_json::json!({ "name": name, "toggles": toggles, "hyper": hyper });
    serde_json::to_string(&value).expect("plain data serializes")
}

fn content_hash(name: &str, toggles: &Toggles, hyper: &Hyper) -> ContentHash {
    let digest = Sha256::digest(canonical_json(name, toggles, hyper).as_bytes());
    ContentHash(hex::encode(digest))
}

/// All variants of one or more files or directories.
#[derive(Debug, Clone)]
pub struct Registry {
    variants: Vec<Variant>,
    diagnostics: Vec<Diagnostic>,
}

impl Registry {
    /// Loads `paths` (files, or directories of `*.toml`) and fails if any of
    /// them holds an error; warnings are kept in [`Registry::diagnostics`].
    pub fn load(paths: &[PathBuf]) -> Result<Registry, RegistryError> {
        Self::load_with_base(paths, None)
    }

    /// Like [`Registry::load`], but a variant may also extend one from the
    /// `base` directory (so a single new file can be checked on its own).
    /// Variants of `base` are not listed and their warnings not reported.
    pub fn load_with_base(
        paths: &[PathBuf],
        base: Option<&Path>,
    ) -> Result<Registry, RegistryError> {
        let registry = Self::inspect(paths, base)?;
        if registry.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(RegistryError::Invalid(registry.diagnostics));
        }
        Ok(registry)
    }

    /// Loads whatever can be loaded and reports every problem found, errors
    /// included, without failing: what `ablate variants check` prints.
    pub fn inspect(paths: &[PathBuf], base: Option<&Path>) -> Result<Registry, RegistryError> {
        let mut diagnostics = Vec::new();
        let mut sources = Vec::new();
        for file in variant_files(paths)? {
            match source::read(&file) {
                Ok(source) => sources.push(source),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        let mut base_sources = Vec::new();
        if let Some(base) = base {
            let own: Vec<PathBuf> = sources.iter().filter_map(|s| canonical(&s.path)).collect();
            for file in variant_files(&[base.to_path_buf()])? {
                if own.contains(&canonical(&file).unwrap_or_default()) {
                    continue;
                }
                // A broken base file is reported by checking the base itself.
                if let Ok(source) = source::read(&file) {
                    base_sources.push(source);
                }
            }
        }
        let variants = resolve(&sources, &base_sources, &mut diagnostics);
        for variant in &variants {
            diagnostics.extend(rules::review(variant));
        }
        diagnostics.sort_by(|a, b| a.location.cmp(&b.location));
        diagnostics.dedup();
        Ok(Registry {
            variants,
            diagnostics,
        })
    }

    /// Variants in file-name order (the shipped files are numbered in the
    /// paper's Table 2 order).
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    pub fn get(&self, name: &str) -> Result<&Variant, RegistryError> {
        self.variants
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| RegistryError::UnknownVariant {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    pub fn names(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.name.clone()).collect()
    }
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Expands directories into their `*.toml` files, sorted by name.
fn variant_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RegistryError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| RegistryError::Io {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            // A missing file is reported by `source::read` with its name.
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Resolves `extends` for every source; problems become diagnostics and the
/// variants involved are left out.
fn resolve(sources: &[Source], base: &[Source], diagnostics: &mut Vec<Diagnostic>) -> Vec<Variant> {
    let mut by_name: HashMap<&str, &Source> = HashMap::new();
    let mut own = Vec::new();
    for source in sources {
        if let Some(first) = by_name.get(source.name.as_str()) {
            diagnostics.push(Diagnostic::error(
                source.name_at.clone(),
                format!(
                    "variant name {:?} is already declared at {}",
                    source.name, first.name_at
                ),
            ));
            continue;
        }
        by_name.insert(&source.name, source);
        own.push(source);
    }
    for source in base {
        by_name.entry(&source.name).or_insert(source);
    }
    let known = || {
        let mut names: Vec<&str> = by_name.keys().copied().collect();
        names.sort_unstable();
        names.join(", ")
    };

    let mut variants = Vec::new();
    'variants: for source in own {
        // Walk up the chain: this file first, its root last.
        let mut chain: Vec<&Source> = vec![source];
        while let Some((parent, at)) = &chain.last().expect("chain starts non-empty").extends {
            if let Some(position) = chain.iter().position(|s| &s.name == parent) {
                let mut cycle: Vec<&str> =
                    chain[position..].iter().map(|s| s.name.as_str()).collect();
                cycle.push(parent);
                let how = if position == 0 { "makes" } else { "leads into" };
                let (_, leaf_at) = source
                    .extends
                    .as_ref()
                    .expect("a chain longer than one extends");
                diagnostics.push(Diagnostic::error(
                    leaf_at.clone(),
                    format!("`extends` {how} a cycle: {}", cycle.join(" -> ")),
                ));
                continue 'variants;
            }
            match by_name.get(parent.as_str()) {
                Some(next) => chain.push(next),
                None => {
                    // Reported at the file that names the missing parent (for
                    // every descendant too; duplicates are merged below).
                    diagnostics.push(Diagnostic::error(
                        at.clone(),
                        format!(
                            "`extends` names unknown variant {parent:?}; known variants: {}",
                            known()
                        ),
                    ));
                    continue 'variants;
                }
            }
        }
        match merge(&chain) {
            Ok(variant) => variants.push(variant),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    variants
}

/// Applies a chain of sources from its root down to `chain[0]`.
fn merge(chain: &[&Source]) -> Result<Variant, Diagnostic> {
    let leaf = chain[0];
    let root = chain[chain.len() - 1];
    let mut hyper = Hyper::default();
    let mut values: BTreeMap<&'static str, (toml::Value, (Location, String))> = BTreeMap::new();
    let mut origin = BTreeMap::new();
    for source in chain.iter().rev() {
        hyper = hyper.overlaid_with(&source.hyper);
        for (key, at) in &source.hyper_at {
            origin.insert(key.clone(), (at.clone(), source.name.clone()));
        }
        let t = &source.toggles;
        macro_rules! take {
            ($($key:ident),*) => {$(
                if let Some(v) = &t.$key {
                    let value = toml::Value::try_from(v.get_ref()).expect("toggle serializes");
                    let from = (source.locate(v.span()), source.name.clone());
                    values.insert(stringify!($key), (value, from));
                }
            )*};
        }
        take!(
            attention,
            mss,
            prt,
            pst,
            pct,
            alignment,
            whole_branch,
            sme,
            schedule
        );
    }
    let missing: Vec<&str> = Toggles::KEYS
        .iter()
        .copied()
        .filter(|k| !values.contains_key(k))
        .collect();
    if !missing.is_empty() {
        return Err(Diagnostic::error(
            root.toggles_at.clone(),
            format!(
                "[toggles] of a variant without `extends` must set every column of Table 2; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    let table: toml::Table = values
        .iter()
        .map(|(k, (v, _))| (k.to_string(), v.clone()))
        .collect();
    let toggles: Toggles = toml::Value::Table(table)
        .try_into()
        .expect("every toggle was checked on parsing");
    origin.extend(values.into_iter().map(|(k, (_, at))| (k.to_string(), at)));
    Ok(Variant {
        hash: content_hash(&leaf.name, &toggles, &hyper),
        name: leaf.name.clone(),
        description: leaf.description.clone(),
        source: leaf.path.clone(),
        chain: chain.iter().map(|s| s.name.clone()).collect(),
        toggles,
        hyper,
        origin,
        extends_at: leaf.extends.as_ref().map(|(_, at)| at.clone()),
    })
}
