//! The variant registry: Table 2, validation errors with locations, hashes.

use crate::support::{copy_of_variants, paper_table2, repo, variants_dir};
use ablate::registry::matrix::Matrix;
use ablate::registry::{Diagnostic, Registry, Severity};
use std::path::{Path, PathBuf};

fn shipped() -> Registry {
    Registry::load(&[variants_dir()]).expect("shipped variants load")
}

#[test]
fn shipped_variants_reproduce_table2_cell_for_cell() {
    let (columns, rows) = paper_table2();
    let matrix = Matrix::of(shipped().variants());
    assert_eq!(matrix.columns, columns);
    assert_eq!(matrix.rows.len(), 16, "the paper's sixteen variants ship");
    assert_eq!(matrix.rows, rows);
}

#[test]
fn reference_copy_matches_shared_reference() {
    let shared = repo().join("../shared/reference/paper_tables.toml");
    let Ok(original) = std::fs::read_to_string(&shared) else {
        eprintln!("note: {} absent; nothing to compare", shared.display());
        return;
    };
    let ours = std::fs::read_to_string(repo().join("reference/paper_tables.toml")).unwrap();
    assert_eq!(
        ours, original,
        "reference/paper_tables.toml drifted from shared/"
    );
}

#[test]
fn shipped_variants_warn_exactly_where_table2_is_odd() {
    let registry = shipped();
    let mut warnings: Vec<(String, String)> = registry
        .diagnostics()
        .iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning, "unexpected error: {d}");
            let file = d
                .location
                .file
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let key = d
                .message
                .split('`')
                .nth(1)
                .unwrap_or(&d.message)
                .to_string();
            (file, key)
        })
        .collect();
    warnings.sort();
    let expected = [
        ("04-mss.toml", "schedule"),
        ("09-spl-rs.toml", "alignment"),
        ("09-spl-rs.toml", "whole_branch"),
        ("15-spl-semi.toml", "sme"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, k)| (f.to_string(), k.to_string()))
        .collect();
    assert_eq!(warnings, expected, "{:#?}", registry.diagnostics());
}

#[test]
fn warnings_point_at_the_line_that_sets_the_toggle() {
    let registry = shipped();
    let warning = registry
        .diagnostics()
        .iter()
        .find(|d| d.message.contains("`whole_branch`"))
        .unwrap();
    let text = std::fs::read_to_string(&warning.location.file).unwrap();
    let line = text.lines().nth(warning.location.line - 1).unwrap();
    assert!(line.starts_with("whole_branch = true"), "{warning}: {line}");
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

const ROOT_TOGGLES: &str = r#"
[toggles]
attention = "dca"
mss = true
prt = true
pst = true
pct = true
alignment = "adversarial"
whole_branch = true
sme = true
schedule = "two-stage"
"#;

/// The single error that checking `text` alone yields.
fn only_error(text: &str) -> Diagnostic {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broken.toml", text);
    let registry = Registry::inspect(std::slice::from_ref(&path), None).unwrap();
    let errors: Vec<&Diagnostic> = registry
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert_eq!(errors.len(), 1, "{:#?}", registry.diagnostics());
    assert_eq!(errors[0].location.file, path);
    errors[0].clone()
}

fn assert_error(text: &str, line: usize, column: usize, words: &[&str]) {
    let error = only_error(text);
    assert_eq!(
        (error.location.line, error.location.column),
        (line, column),
        "{error}"
    );
    for word in words {
        assert!(error.message.contains(word), "{error} lacks {word:?}");
    }
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = format!("name = \"a\"\ndescription = \"d\"\ncolour = 1\n{ROOT_TOGGLES}");
    assert_error(&text, 3, 1, &["unknown field `colour`", "description"]);
    let text = format!("name = \"a\"\ndescription = \"d\"\n{ROOT_TOGGLES}dropout = true\n");
    assert_error(&text, 14, 1, &["unknown field `dropout`", "whole_branch"]);
    let text = format!("name = \"a\"\ndescription = \"d\"\n{ROOT_TOGGLES}[hyper]\npatches = 3\n");
    assert_error(
        &text,
        15,
        1,
        &["unknown field `patches`", "patches_per_side"],
    );
}

#[test]
fn wrong_types_and_enum_values_name_the_allowed_values() {
    let text = format!(
        "name = \"a\"\ndescription = \"d\"\n{}",
        ROOT_TOGGLES.replace("mss = true", "mss = \"yes\"")
    );
    assert_error(&text, 6, 7, &["boolean"]);
    let text = format!(
        "name = \"a\"\ndescription = \"d\"\n{}",
        ROOT_TOGGLES.replace("\"dca\"", "\"se\"")
    );
    assert_error(&text, 5, 13, &["se", "dca", "cbam", "none"]);
    let text = format!(
        "name = \"a\"\ndescription = \"d\"\n{}",
        ROOT_TOGGLES.replace("\"two-stage\"", "\"two_stage\"")
    );
    assert_error(
        &text,
        13,
        12,
        &["two_stage", "two-stage", "one-stage", "supervised"],
    );
    let text = format!("name = 7\ndescription = \"d\"\n{ROOT_TOGGLES}");
    assert_error(&text, 1, 8, &["string"]);
}

#[test]
fn hyper_values_out_of_range_are_errors_at_their_line() {
    let base = format!("name = \"a\"\ndescription = \"d\"\n{ROOT_TOGGLES}[hyper]\n");
    assert_error(
        &format!("{base}patches_per_side = 0\n"),
        15,
        20,
        &["out of range", "1 to 8"],
    );
    assert_error(
        &format!("{base}dominant_components = 20\n"),
        15,
        23,
        &["1 to 19"],
    );
    assert_error(&format!("{base}learning_rate = -1e-4\n"), 15, 17, &["> 0"]);
    assert_error(
        &format!("{base}label_smoothing = 1.0\n"),
        15,
        19,
        &["[0, 1)"],
    );
    assert_error(&format!("{base}lambda_pst = nan\n"), 15, 14, &["≥ 0"]);
    assert_error(
        &format!("{base}stage1_epochs = 80.5\n"),
        15,
        17,
        &["expected an integer from 1 to 10000"],
    );
}

#[test]
fn a_root_variant_must_set_every_toggle() {
    let text = format!(
        "name = \"a\"\ndescription = \"d\"\n{}",
        ROOT_TOGGLES.replace("sme = true\n", "")
    );
    assert_error(&text, 4, 1, &["missing: sme"]);
}

#[test]
fn combinations_that_cannot_be_built_are_errors() {
    let text = format!(
        "name = \"a\"\ndescription = \"d\"\n{}",
        ROOT_TOGGLES.replace("mss = true", "mss = false")
    );
    assert_error(&text, 9, 7, &["`pct` needs `mss = true`"]);
}

#[test]
fn broken_extends_are_errors_at_the_extends_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.toml",
        "name = \"A\"\ndescription = \"d\"\nextends = \"B\"\n",
    );
    write(
        dir.path(),
        "b.toml",
        "name = \"B\"\ndescription = \"d\"\nextends = \"A\"\n",
    );
    write(
        dir.path(),
        "c.toml",
        "name = \"C\"\ndescription = \"d\"\nextends = \"Nope\"\n",
    );
    let registry = Registry::inspect(&[dir.path().to_path_buf()], None).unwrap();
    let errors: Vec<String> = registry
        .diagnostics()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].contains("a.toml:3:11: error: `extends` makes a cycle: A -> B -> A"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("b.toml:3:11: error: `extends` makes a cycle: B -> A -> B"),
        "{errors:#?}"
    );
    assert!(
        errors[2].contains("c.toml:3:11: error: `extends` names unknown variant \"Nope\""),
        "{errors:#?}"
    );
    assert!(registry.variants().is_empty());
}

#[test]
fn two_files_with_the_same_name_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let first = format!("name = \"Same\"\ndescription = \"d\"\n{ROOT_TOGGLES}");
    write(dir.path(), "1.toml", &first);
    write(dir.path(), "2.toml", &first);
    let registry = Registry::inspect(&[dir.path().to_path_buf()], None).unwrap();
    let errors: Vec<String> = registry
        .diagnostics()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("2.toml:1:8: error: variant name \"Same\" is already declared at"));
    assert!(errors[0].contains("1.toml:1:8"));
}

#[test]
fn hostile_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.toml", "");
    let garbage_bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let garbage = dir.path().join("garbage.toml");
    std::fs::write(&garbage, &garbage_bytes).unwrap();
    let huge = write(dir.path(), "huge.toml", &"# padding\n".repeat(100_000));
    let deep = write(
        dir.path(),
        "deep.toml",
        &format!(
            "name = \"x\"\ndescription = \"d\"\nx = {}1{}\n",
            "[".repeat(50_000),
            "]".repeat(50_000)
        ),
    );
    let dotted = write(
        dir.path(),
        "dotted.toml",
        &format!(
            "name = \"x\"\ndescription = \"d\"\n[{}]\n",
            vec!["t"; 20_000].join(".")
        ),
    );
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"name = \"caf\xe9\"\n").unwrap();
    let missing = dir.path().join("missing.toml");
    let files = [empty, garbage, huge, deep, dotted, latin1.clone(), missing];
    let registry = Registry::inspect(&files, None).unwrap();
    let diagnostics = registry.diagnostics();
    assert_eq!(diagnostics.len(), files.len(), "{diagnostics:#?}");
    for file in &files {
        let found = diagnostics.iter().find(|d| &d.location.file == file);
        assert!(
            found.is_some_and(Diagnostic::is_error),
            "{}: {diagnostics:#?}",
            file.display()
        );
    }
    let latin1_error = diagnostics
        .iter()
        .find(|d| d.location.file == latin1)
        .unwrap();
    assert_eq!(
        (latin1_error.location.line, latin1_error.location.column),
        (1, 12)
    );
    assert!(latin1_error.message.contains("not UTF-8"));
}

#[test]
fn mutated_variant_files_never_panic() {
    // Cheap fuzzing: every prefix and many byte flips of a real file.
    let original = std::fs::read(variants_dir().join("09-spl-rs.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutant.toml");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..600 {
        let mut bytes = original.clone();
        if round < original.len() / 4 {
            bytes.truncate(round * 4);
        } else {
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % bytes.len();
                bytes[at] = (state >> 32) as u8;
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let base = Some(variants_dir());
        let _ = Registry::inspect(std::slice::from_ref(&path), base.as_deref()).unwrap();
    }
}

#[test]
fn hash_ignores_key_order_comments_description_and_extends() {
    let dir = tempfile::tempdir().unwrap();
    let flat = format!(
        "# a comment\nname = \"Mine\"\ndescription = \"one\"\n[hyper]\nlearning_rate = 1e-4\npatches_per_side = 2\n{}",
        ROOT_TOGGLES.replace("sme = true", "sme = false")
    );
    write(dir.path(), "flat.toml", &flat);
    let flat_hash = Registry::load(&[dir.path().to_path_buf()])
        .unwrap()
        .variants()[0]
        .hash
        .clone();

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mine.toml",
        "description = \"two\" # other words\nextends = \"SPL w/o SME\"\nname = \"Mine\"\n\n[hyper]\npatches_per_side = 2\nlearning_rate = 0.0001\n",
    );
    let chained =
        Registry::load_with_base(&[dir.path().to_path_buf()], Some(&variants_dir())).unwrap();
    assert_eq!(
        chained.variants()[0].chain,
        ["Mine", "SPL w/o SME", "SPL-Net"]
    );
    assert_eq!(chained.variants()[0].hash, flat_hash);

    write(dir.path(), "mine.toml", "description = \"two\"\nextends = \"SPL w/o SME\"\nname = \"Mine\"\n[hyper]\npatches_per_side = 4\n");
    let changed =
        Registry::load_with_base(&[dir.path().to_path_buf()], Some(&variants_dir())).unwrap();
    assert_ne!(changed.variants()[0].hash, flat_hash);
}

#[test]
fn hashes_are_distinct_and_pinned() {
    let registry = shipped();
    let mut hashes: Vec<&str> = registry
        .variants()
        .iter()
        .map(|v| v.hash.as_str())
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 16);
    // Run identities in every database depend on this value: a change to the
    // canonical form must be deliberate.
    let spl_net = registry.get("SPL-Net").unwrap();
    assert_eq!(
        spl_net.canonical_json(),
        r#"{"hyper":{},"name":"SPL-Net","toggles":{"alignment":"adversarial","attention":"dca","mss":true,"pct":true,"prt":true,"pst":true,"schedule":"two-stage","sme":true,"whole_branch":true}}"#
    );
    assert_eq!(spl_net.hash.as_str(), PINNED_SPL_NET_HASH);
}

const PINNED_SPL_NET_HASH: &str =
    "9dd6047136b5083fad9ea7b9e3a44edc98eb054cc2cc56b1376fa8a41c48bd88";

#[test]
fn a_new_file_with_extends_joins_the_registry() {
    let dir = copy_of_variants();
    write(
        dir.path(),
        "90-spl-m2.toml",
        "name = \"SPL m2\"\ndescription = \"SPL-Net with 2x2 PRT patches\"\nextends = \"SPL-Net\"\n[toggles]\nsme = false\n[hyper]\npatches_per_side = 2\n",
    );
    let registry = Registry::load(&[dir.path().to_path_buf()]).unwrap();
    let variant = registry.get("SPL m2").unwrap();
    assert!(!variant.toggles.sme);
    assert_eq!(variant.hyper.patches_per_side, Some(2));
    let matrix = Matrix::of(registry.variants());
    assert_eq!(matrix.rows.last().unwrap()[0], "SPL m2");
}

#[test]
fn hyper_parameters_nothing_reads_are_warnings_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "r.toml",
        "name = \"R m4\"\ndescription = \"d\"\nextends = \"SPL R\"\n[hyper]\npatches_per_side = 4\ndominant_components = 6\ndiscriminator_steps = 5\n",
    );
    let registry =
        Registry::load_with_base(&[dir.path().to_path_buf()], Some(&variants_dir())).unwrap();
    let warnings: Vec<String> = registry
        .diagnostics()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].ends_with("r.toml:6:23: warning: variant \"R m4\": `dominant_components` has no effect: this variant trains without PCT"), "{warnings:#?}");
    assert!(
        warnings[1].contains(
            "r.toml:7:23: warning: variant \"R m4\": `discriminator_steps` has no effect"
        ),
        "{warnings:#?}"
    );
}
