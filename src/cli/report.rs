//! `ablate report`: render an experiment's report from the database. It
//! reads the database only; nothing is trained.

use super::run::database_url;
use super::worker::runtime;
use super::GlobalArgs;
use ablate::experiment::Experiment;
use ablate::registry::Registry;
use ablate::report::{self, Format, Options};
use ablate::store::Store;
use anyhow::bail;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Database: sqlite://PATH or postgres://... (default: the file's
    /// `database`, else sqlite://runs/NAME.db).
    #[arg(long)]
    db: Option<String>,
    /// Output directory (default reports/<experiment>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// What to write: html (index.html), latex (tables.tex, figures.tex and
    /// figures/*.svg), csv (runs.csv and cells.csv) or json (report.json).
    /// Repeat or comma-separate for several.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "html")]
    format: Vec<FormatArg>,
    /// Variant the significance tests compare every other one with.
    #[arg(long, default_value = "SPL-Net")]
    reference: String,
    /// Label proportion (percent) of the per-attribute table, the training
    /// curves and the correlation maps (default: the smallest of the
    /// experiment).
    #[arg(long)]
    proportion: Option<f64>,
    /// Attributes of the small correlation maps, comma-separated (default:
    /// Blond_Hair, Brown_Hair, Black_Hair, Gray_Hair, Sideburns, Goatee, Male).
    #[arg(long, value_delimiter = ',')]
    correlation_attributes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Html,
    Latex,
    Csv,
    Json,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Html => Format::Html,
            FormatArg::Latex => Format::Latex,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

pub fn run(global: &GlobalArgs, args: ReportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let registry = Registry::load(std::slice::from_ref(&global.variants))?;
    let experiment = Experiment::load(&args.experiment, &registry)?;
    let url = database_url(&args.db, &experiment);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !Path::new(path).exists() {
            bail!(
                "no database at {path}: experiment {} has not run yet (ablate run {})",
                experiment.name,
                args.experiment.display()
            );
        }
    }
    let options = Options {
        reference: args.reference,
        focus_proportion: args.proportion,
        correlation_attributes: args.correlation_attributes,
    };
    let stored = runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let stored = report::load(&store, &experiment, &options).await;
        store.close().await;
        anyhow::Ok(stored?)
    })?;
    let built = report::build(
        &experiment,
        ablate::store::redact(&url),
        registry.diagnostics(),
        &stored,
        &options,
    )?;
    let out = args
        .out
        .unwrap_or_else(|| Path::new("reports").join(&experiment.name));
    for format in args.format {
        for path in report::write(&built, format.into(), &out)? {
            println!("{}", path.display());
        }
    }
    tracing::info!(
        "report of {} ({} runs) in {:.2} s",
        experiment.name,
        built.counts.planned,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
