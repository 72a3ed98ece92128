//! One variant file as written: parsed with spans so that every later error
//! can point at the line that caused it.

use super::diagnostic::{Diagnostic, Location};
use super::schema::{Alignment, Attention, Hyper, Schedule};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A variant file is a few lines; anything far larger is not one.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    name: Spanned<String>,
    description: Spanned<String>,
    extends: Option<Spanned<String>>,
    toggles: Option<Spanned<ToggleOverrides>>,
    hyper: Option<Hyper>,
}

/// Where each `[hyper]` key is written (read in a second pass, as `Hyper`
/// itself keeps no spans).
#[derive(Debug, Deserialize)]
struct HyperKeys {
    #[serde(default)]
    hyper: BTreeMap<String, Spanned<toml::Value>>,
}

/// The `[toggles]` table: every key optional, as a variant that `extends`
/// another sets only what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToggleOverrides {
    pub attention: Option<Spanned<Attention>>,
    pub mss: Option<Spanned<bool>>,
    pub prt: Option<Spanned<bool>>,
    pub pst: Option<Spanned<bool>>,
    pub pct: Option<Spanned<bool>>,
    pub alignment: Option<Spanned<Alignment>>,
    pub whole_branch: Option<Spanned<bool>>,
    pub sme: Option<Spanned<bool>>,
    pub schedule: Option<Spanned<Schedule>>,
}

/// A parsed variant file, spans turned into locations.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    pub name: String,
    pub name_at: Location,
    pub description: String,
    pub extends: Option<(String, Location)>,
    pub toggles: ToggleOverrides,
    pub toggles_at: Location,
    pub hyper: Hyper,
    /// The location of each `[hyper]` key this file sets.
    pub hyper_at: BTreeMap<String, Location>,
}

impl Source {
    pub fn locate(&self, span: std::ops::Range<usize>) -> Location {
        Location::at_offset(&self.path, &self.text, span.start)
    }
}

/// Reads and parses one file; any problem becomes a diagnostic that names the
/// file, line and column.
pub fn read(path: &Path) -> Result<Source, Diagnostic> {
    let at_start = || Location::file_start(path);
    let metadata = std::fs::metadata(path)
        .map_err(|err| Diagnostic::error(at_start(), format!("cannot read file: {err}")))?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            at_start(),
            format!(
                "file is {} bytes; a variant file is at most {MAX_FILE_BYTES} bytes",
                metadata.len()
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|err| Diagnostic::error(at_start(), format!("cannot read file: {err}")))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&err.as_bytes()[..valid]).into_owned();
        Diagnostic::error(
            Location::at_offset(path, &prefix, valid),
            "file is not UTF-8 text (is it a TOML variant file?)",
        )
    })?;
    parse(path, text)
}

/// Parses variant TOML already in memory (`path` names it in diagnostics).
pub fn parse(path: &Path, text: String) -> Result<Source, Diagnostic> {
    let file: VariantFile = match toml::from_str(&text) {
        Ok(file) => file,
        Err(err) => {
            let location = Location::at_span(path, &text, err.span());
            return Err(Diagnostic::error(
                location,
                err.message().trim().to_string(),
            ));
        }
    };
    let at = |span: std::ops::Range<usize>| Location::at_offset(path, &text, span.start);
    let name_at = at(file.name.span());
    let name = file.name.into_inner();
    if let Some(problem) = name_problem(&name) {
        return Err(Diagnostic::error(name_at, problem));
    }
    let extends = file.extends.map(|e| {
        let location = at(e.span());
        (e.into_inner(), location)
    });
    let (toggles, toggles_at) = match file.toggles {
        Some(t) => {
            let location = at(t.span());
            (t.into_inner(), location)
        }
        None => (ToggleOverrides::default(), name_at.clone()),
    };
    let hyper_at = toml::from_str::<HyperKeys>(&text)
        .map(|keys| {
            keys.hyper
                .into_iter()
                .map(|(key, value)| (key, at(value.span())))
                .collect()
        })
        .unwrap_or_default();
    let description_at = at(file.description.span());
    let description = file.description.into_inner();
    if description.trim().is_empty() {
        return Err(Diagnostic::error(description_at, "`description` is empty"));
    }
    Ok(Source {
        path: path.to_path_buf(),
        text,
        name,
        name_at,
        description,
        extends,
        toggles,
        toggles_at,
        hyper: file.hyper.unwrap_or_default(),
        hyper_at,
    })
}

fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("`name` is empty".into())
    } else if name.trim() != name {
        Some(format!("`name` {name:?} has leading or trailing spaces"))
    } else if name.chars().any(char::is_control) {
        Some(format!("`name` {name:?} holds control characters"))
    } else if name.chars().count() > 64 {
        Some("`name` is longer than 64 characters".into())
    } else {
        None
    }
}
