//! The CLI contract of ARCHITECTURE.md, as outside checks call it.

use crate::support::{ablate, copy_of_variants, paper_table2, stderr, stdout};

#[test]
fn matrix_json_equals_table2() {
    let output = ablate(&["variants", "matrix", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let (columns, rows) = paper_table2();
    assert_eq!(json["columns"], serde_json::json!(columns));
    assert_eq!(json["rows"], serde_json::json!(rows));
}

#[test]
fn matrix_renders_markdown_and_csv() {
    let md = stdout(&ablate(&["variants", "matrix"]));
    assert!(md.starts_with("| Variant | DCA | MSS | PRT | PST | PCT | AT | W | SME | TS |\n"));
    assert!(
        md.contains("| SPL L2 | X | X | X | X | X | L2 | - | X | X |"),
        "{md}"
    );
    let csv = stdout(&ablate(&["variants", "matrix", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 17);
    assert!(
        csv.contains("\nSPL Semi,X,X,X,X,-,-,-,X,one-stage\n"),
        "{csv}"
    );
}

#[test]
fn list_shows_the_sixteen_in_paper_order() {
    let output = ablate(&["variants", "list"]);
    assert!(output.status.success());
    let names: Vec<String> = stdout(&output).lines().map(String::from).collect();
    let (_, rows) = paper_table2();
    let expected: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(names, expected);
}

#[test]
fn show_resolves_extends() {
    let output = ablate(&["variants", "show", "SPL C w/o A"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("# extends chain: SPL C w/o A <- SPL C <- MSS <- Baseline"),
        "{text}"
    );
    let body: toml::Table = toml::from_str(&text).unwrap();
    let toggles = body["toggles"].as_table().unwrap();
    assert_eq!(toggles["attention"].as_str(), Some("dca"));
    assert_eq!(toggles["pct"].as_bool(), Some(true));
    assert_eq!(toggles["alignment"].as_str(), Some("none"));
    assert_eq!(toggles.len(), 9);

    let json = stdout(&ablate(&[
        "variants", "show", "SPL-Net", "--format", "json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["hash"].as_str().unwrap().len(), 64);

    let missing = ablate(&["variants", "show", "SPL X"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no variant named \"SPL X\"; known variants: "));
}

#[test]
fn check_passes_on_shipped_variants_with_warnings() {
    let output = ablate(&["variants", "check"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let text = stdout(&output);
    assert!(
        text.contains("checked 16 variant(s): 0 error(s), 4 warning(s)"),
        "{text}"
    );
    assert!(text.contains("09-spl-rs.toml:14:13: warning: variant \"SPL RS\": `alignment` = \"adversarial\" has no effect without MSS"), "{text}");
    let strict = ablate(&["variants", "check", "--deny-warnings"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn check_fails_on_broken_files_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        "name = \"Typo\"\ndescription = \"d\"\nextends = \"SPL-Net\"\n[toggles]\nattention = \"sa\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("orphan.toml"),
        "name = \"Orphan\"\ndescription = \"d\"\nextends = \"SPL-Nett\"\n",
    )
    .unwrap();
    let output = ablate(&["variants", "check", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(
            "typo.toml:5:13: error: unknown variant `sa`, expected one of `dca`, `cbam`, `none`"
        ),
        "{text}"
    );
    assert!(
        text.contains("orphan.toml:3:11: error: `extends` names unknown variant \"SPL-Nett\""),
        "{text}"
    );
    assert!(stderr(&output).contains("error: 2 error(s) in the variant files"));
}

#[test]
fn a_single_new_file_is_checked_against_the_shipped_variants() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "name = \"Mine\"\ndescription = \"d\"\nextends = \"SPL-Net\"\n[hyper]\ndominant_components = 6\n").unwrap();
    let output = ablate(&["variants", "check", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).contains("checked 1 variant(s): 0 error(s), 0 warning(s)"));
}

#[test]
fn a_new_variant_appears_in_list_show_and_matrix() {
    let dir = copy_of_variants();
    std::fs::write(
        dir.path().join("17-spl-v6.toml"),
        "name = \"SPL v6\"\ndescription = \"SPL-Net with v = 6\"\nextends = \"SPL-Net\"\n[toggles]\nalignment = \"l2\"\n[hyper]\ndominant_components = 6\n",
    )
    .unwrap();
    let variants = dir.path().to_str().unwrap();
    let list = stdout(&ablate(&["--variants", variants, "variants", "list"]));
    assert_eq!(list.lines().last(), Some("SPL v6"));
    let show = stdout(&ablate(&[
        "--variants",
        variants,
        "variants",
        "show",
        "SPL v6",
    ]));
    assert!(show.contains("dominant_components = 6"), "{show}");
    let md = stdout(&ablate(&["--variants", variants, "variants", "matrix"]));
    assert!(
        md.contains("| SPL v6 | X | X | X | X | X | L2 | X | X | X |"),
        "{md}"
    );
}

#[test]
fn env_reports_libtorch_and_a_device() {
    let output = ablate(&["env", "--device", "cpu"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("libtorch 2.11.0"), "{text}");
    assert!(text.contains("selected device: cpu"), "{text}");
    let bad = ablate(&["env", "--device", "tpu"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ablate"))
        .current_dir(crate::support::repo())
        .args(["variants", "matrix", "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}
