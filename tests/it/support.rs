//! Shared helpers: paths of the repository and a way to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn variants_dir() -> PathBuf {
    repo().join("variants")
}

/// Runs `ablate` from the repository root with `args`.
pub fn ablate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ablate"))
        .current_dir(repo())
        .args(args)
        .env_remove("ABLATE_VARIANTS")
        .env_remove("ABLATE_DEVICE")
        .output()
        .expect("the ablate binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temporary directory holding a copy of the shipped variants.
pub fn copy_of_variants() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(variants_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// The paper's Table 2 rows as the reference data file holds them.
pub fn paper_table2() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(repo().join("reference/paper_tables.toml")).unwrap();
    let reference: toml::Table = toml::from_str(&text).unwrap();
    let table2 = reference["table2"].as_table().unwrap();
    let strings = |value: &toml::Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let columns = strings(&table2["columns"]);
    let rows = table2["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    (columns, rows)
}
