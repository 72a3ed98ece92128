//! `ablate variants list | show | check | matrix`.

use super::GlobalArgs;
use ablate::registry::matrix::Matrix;
use ablate::registry::{Registry, Variant};
use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VariantsArgs {
    #[command(subcommand)]
    command: VariantsCommand,
}

#[derive(Debug, Subcommand)]
enum VariantsCommand {
    /// Names of all variants.
    List,
    /// One variant after `extends` is resolved.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = ShowFormat::Toml)]
        format: ShowFormat,
    },
    /// Validate variant files or directories (default: the variants directory);
    /// exits non-zero on any error.
    Check {
        paths: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// The toggle matrix, as the paper's Table 2.
    Matrix {
        #[arg(long, value_enum, default_value_t = MatrixFormat::Md)]
        format: MatrixFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ShowFormat {
    Toml,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MatrixFormat {
    Md,
    Csv,
    Json,
}

pub fn run(global: &GlobalArgs, args: VariantsArgs) -> anyhow::Result<()> {
    let load = || Registry::load(std::slice::from_ref(&global.variants));
    match args.command {
        VariantsCommand::List => {
            for name in load()?.names() {
                println!("{name}");
            }
        }
        VariantsCommand::Show { name, format } => {
            let registry = load()?;
            let variant = registry.get(&name)?;
            match format {
                ShowFormat::Toml => print!("{}", show_toml(variant)?),
                ShowFormat::Json => println!("{}", show_json(variant)),
            }
        }
        VariantsCommand::Check {
            paths,
            deny_warnings,
        } => check(global, paths, deny_warnings)?,
        VariantsCommand::Matrix { format } => {
            let registry = load()?;
            let matrix = Matrix::of(registry.variants());
            match format {
                MatrixFormat::Md => print!("{}", matrix.to_markdown()),
                MatrixFormat::Csv => print!("{}", matrix.to_csv()),
                MatrixFormat::Json => println!("{}", matrix.to_json()),
            }
        }
    }
    Ok(())
}

fn check(global: &GlobalArgs, paths: Vec<PathBuf>, deny_warnings: bool) -> anyhow::Result<()> {
    // Files checked on their own may extend the shipped variants.
    let (paths, base) = if paths.is_empty() {
        (vec![global.variants.clone()], None)
    } else {
        (paths, Some(global.variants.as_path()))
    };
    let registry = Registry::inspect(&paths, base.filter(|b| b.is_dir()))?;
    let diagnostics = registry.diagnostics();
    for diagnostic in diagnostics {
        println!("{diagnostic}");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    println!(
        "checked {} variant(s): {errors} error(s), {warnings} warning(s)",
        registry.variants().len()
    );
    if errors > 0 {
        bail!("{errors} error(s) in the variant files");
    }
    if deny_warnings && warnings > 0 {
        bail!("{warnings} warning(s) and --deny-warnings");
    }
    Ok(())
}

fn show_toml(variant: &Variant) -> anyhow::Result<String> {
    let mut out = format!(
        "# {}\n# source: {}\n# extends chain: {}\n# content hash: {}\n",
        variant.name,
        variant.source.display(),
        variant.chain.join(" <- "),
        variant.hash,
    );
    #[derive(serde::Serialize)]
    struct Shown<'a> {
        name: &'a str,
        description: &'a str,
        toggles: &'a ablate::registry::Toggles,
        #[serde(skip_serializing_if = "Option::is_none")]
        hyper: Option<&'a ablate::registry::Hyper>,
    }
    let overrides = (variant.hyper != Default::default()).then_some(&variant.hyper);
    out.push_str(&toml::to_string(&Shown {
        name: &variant.name,
        description: &variant.description,
        toggles: &variant.toggles,
        hyper: overrides,
    })?);
    if overrides.is_none() {
        out.push_str("\n# [hyper]: no overrides, the scale profile's values apply\n");
    }
    Ok(out)
}

fn show_json(variant: &Variant) -> String {
    let body = serde_json::json!({
        "name": variant.name,
        "description": variant.description,
        "source": variant.source,
        "chain": variant.chain,
        "hash": variant.hash.as_str(),
        "toggles": variant.toggles,
        "hyper": variant.hyper,
    });
    serde_json::to_string_pretty(&body).expect("plain data serializes")
}
