//! Experiment reports: read one experiment from the database (never train),
//! build the view model ([`model::Report`]) and write it as one
//! self-contained HTML page, LaTeX booktabs tables, CSV or JSON.

mod export;
mod html;
pub mod model;
pub mod paper;
mod plots;

pub use model::{Options, Report, Stored};
pub use paper::PaperTables;

use crate::experiment::Experiment;
use crate::registry::Diagnostic;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Latex,
    Csv,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Paper(#[from] paper::PaperTablesError),
    #[error(transparent)]
    Plot(#[from] plots::PlotError),
    #[error("rendering template {template}: {source}")]
    Template {
        template: String,
        source: minijinja::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reference variant {0:?} is not in the experiment (its variants: {1})")]
    UnknownReference(String, String),
    #[error("--proportion {0}: the experiment's proportions are {1}")]
    UnknownProportion(f64, String),
}

/// Reads everything the report needs about `experiment` from `store`.
pub async fn load(store: &Store, experiment: &str) -> Result<Stored, StoreError> {
    Ok(Stored {
        runs: store.report_runs(experiment).await?,
        metrics: store.metric_means(experiment).await?,
        attributes: store.attribute_means(experiment).await?,
        model_stats: store.variant_model_stats(experiment).await?,
    })
}

/// Builds the view model, checking the options against the experiment.
pub fn build(
    experiment: &Experiment,
    database: String,
    warnings: &[Diagnostic],
    stored: &Stored,
    options: &Options,
) -> Result<Report, ReportError> {
    if !experiment
        .variants
        .iter()
        .any(|v| v.name == options.reference)
    {
        let names: Vec<&str> = experiment
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        return Err(ReportError::UnknownReference(
            options.reference.clone(),
            names.join(", "),
        ));
    }
    if let Some(p) = options.focus_proportion {
        if !experiment.proportions.contains(&p) {
            let shown: Vec<String> = experiment.proportions.iter().map(f64::to_string).collect();
            return Err(ReportError::UnknownProportion(p, shown.join(", ")));
        }
    }
    let paper = PaperTables::embedded()?;
    Ok(Report::build(
        experiment, database, warnings, stored, &paper, options,
    ))
}

/// Writes `report` in `format` under `out`; returns the files written.
pub fn write(report: &Report, format: Format, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let files: Vec<(&str, String)> = match format {
        Format::Html => vec![("index.html", html::render(report)?)],
        Format::Latex => vec![("tables.tex", export::latex(report))],
        Format::Csv => vec![
            ("runs.csv", export::runs_csv(report)),
            ("cells.csv", export::cells_csv(report)),
        ],
        Format::Json => vec![("report.json", export::json(report))],
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        // Write beside, then rename: a reader never sees half a report.
        let partial = out.join(format!(".{name}.partial"));
        std::fs::write(&partial, text).map_err(io(&partial))?;
        std::fs::rename(&partial, &path).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}
