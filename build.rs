//! Links libtorch so that the binary finds it without any exported variable,
//! and forces `libtorch_cuda.so` into the link so that CUDA is visible on GPU
//! machines (the linker would otherwise drop it: no symbol of ours needs it).

use std::path::PathBuf;
use std::process::Command;

const PRINT_TORCH: &str =
    "import os, torch; print(torch.__version__); print(os.path.join(os.path.dirname(torch.__file__), 'lib'))";

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-env-changed=VIRTUAL_ENV");
    println!("cargo:rerun-if-env-changed=LIBTORCH");

    let Some((version, lib_dir)) = find_torch() else {
        println!("cargo:warning=libtorch not found: run `make setup` (or set LIBTORCH)");
        return;
    };
    println!("cargo:rustc-env=ABLATE_LIBTORCH_VERSION={version}");
    // An rpath to the virtualenv's torch/lib: `target/*/ablate` runs as it is.
    // On a machine where that path does not exist (a GPU box the binary was
    // copied to) LD_LIBRARY_PATH takes over, as the loader tries it first.
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    if lib_dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
}

/// The version and lib directory of the libtorch that torch-sys links: the
/// PyTorch wheel of the active virtualenv when `LIBTORCH_USE_PYTORCH` is set,
/// else `$LIBTORCH` (version from its `build-version` file).
fn find_torch() -> Option<(String, PathBuf)> {
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_none() {
        let root = PathBuf::from(std::env::var_os("LIBTORCH")?);
        let version = std::fs::read_to_string(root.join("build-version")).unwrap_or_default();
        return Some((version.trim().to_string(), root.join("lib")));
    }
    let python = match std::env::var_os("VIRTUAL_ENV") {
        Some(venv) => PathBuf::from(venv).join("bin").join("python"),
        None => PathBuf::from("python3"),
    };
    let output = Command::new(python)
        .args(["-c", PRINT_TORCH])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let version = lines.next()?.trim().to_string();
    let dir = PathBuf::from(lines.next()?.trim());
    dir.is_dir().then_some((version, dir))
}
