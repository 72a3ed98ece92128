//! Experiment reports: read one experiment from the database (never train),
//! build the view model ([`model::Report`]) and write it as one
//! self-contained HTML page, LaTeX booktabs tables, CSV or JSON.

mod export;
mod figures;
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

/// Reads everything the report on `experiment` with `options` needs from
/// `store`.
pub async fn load(
    store: &Store,
    experiment: &Experiment,
    options: &Options,
) -> Result<Stored, StoreError> {
    let name = &experiment.name;
    Ok(Stored {
        runs: store.report_runs(name).await?,
        metrics: store.metric_means(name).await?,
        attributes: store.attribute_means(name).await?,
        model_stats: store.variant_model_stats(name).await?,
        correlations: store
            .correlations(
                name,
                options.focus(experiment),
                &options.correlation_variants(),
            )
            .await?,
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
    let files: Vec<(String, String)> = match format {
        Format::Html => vec![("index.html".into(), html::render(report)?)],
        Format::Latex => {
            let figures = figures::Figures::render(report)?;
            let files = figures.files(report);
            let mut written = vec![
                ("tables.tex".into(), export::latex(report)),
                ("figures.tex".into(), export::latex_figures(&files)),
            ];
            written.extend(
                files
                    .iter()
                    .map(|f| (format!("figures/{}.svg", f.stem), f.svg.to_string())),
            );
            written
        }
        Format::Csv => vec![
            ("runs.csv".into(), export::runs_csv(report)),
            ("cells.csv".into(), export::cells_csv(report)),
        ],
        Format::Json => vec![("report.json".into(), export::json(report))],
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Write { path, source }
    };
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(&name);
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let file_name = path
            .file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy());
        // Write beside, then rename: a reader never sees half a report.
        let partial = dir.join(format!(".{file_name}.partial"));
        std::fs::write(&partial, text).map_err(io(&partial))?;
        std::fs::rename(&partial, &path).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}
