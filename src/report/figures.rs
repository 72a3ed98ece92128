//! Every figure of a report rendered once, for the HTML page (inlined) and
//! for LaTeX (one SVG file each under `figures/`).

use super::model::{CorrelationMaps, Report};
use super::plots::{self, HeatPanel, PlotError};
use serde::Serialize;

/// One dataset's figures as SVG text.
#[derive(Debug, Serialize)]
pub struct DatasetFigures {
    pub accuracy: String,
    pub delta: String,
    /// (stage · metric, SVG).
    pub curves: Vec<(String, String)>,
    pub attributes: String,
    /// Fig. 7 on the selected attributes: the models and the ground truth
    /// side by side.
    pub correlation: Option<String>,
    /// Fig. 7 on every attribute: (map label, SVG), one per map.
    pub correlation_full: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct Figures {
    pub datasets: Vec<DatasetFigures>,
    /// Fig. 5: (caption, SVG) per dataset and swept parameter.
    pub sweep: Vec<(String, String)>,
}

/// A figure as a file of its own.
pub struct FigureFile<'a> {
    /// File name under `figures/`, without extension.
    pub stem: String,
    /// Plain text (the LaTeX writer escapes it).
    pub caption: String,
    pub svg: &'a str,
}

/// Pixels per cell of the small and the full correlation maps.
const SMALL_CELL: i32 = 34;
const FULL_CELL: i32 = 15;

fn map_title(label: &str, runs: usize, distance: Option<f64>, is_truth: bool) -> String {
    if is_truth {
        return format!("{label} (test labels)");
    }
    let seeds = if runs == 1 { "seed" } else { "seeds" };
    match distance {
        Some(d) => format!("{label} ({runs} {seeds}), |Δ truth| = {d:.3}"),
        None => format!("{label} ({runs} {seeds})"),
    }
}

fn correlation_figures(
    label: &str,
    maps: &CorrelationMaps,
) -> Result<(String, Vec<(String, String)>), PlotError> {
    let n = maps.attributes.len();
    let small: Vec<HeatPanel> = maps
        .maps
        .iter()
        .map(|m| HeatPanel {
            title: map_title(&m.label, m.runs, m.distance_selected, m.is_truth),
            values: &m.values,
            size: n,
        })
        .collect();
    let small = plots::correlation_heatmaps(
        &format!("correlation maps, {label}"),
        &maps.attributes,
        &maps.selected,
        &small,
        SMALL_CELL,
    )?;
    let every: Vec<usize> = (0..n).collect();
    let full = maps
        .maps
        .iter()
        .map(|m| {
            let panel = HeatPanel {
                title: map_title(&m.label, m.runs, m.distance_all, m.is_truth),
                values: &m.values,
                size: n,
            };
            let svg = plots::correlation_heatmaps(
                &format!("full correlation map {}, {label}", m.label),
                &maps.attributes,
                &every,
                std::slice::from_ref(&panel),
                FULL_CELL,
            )?;
            Ok((m.label.clone(), svg))
        })
        .collect::<Result<_, PlotError>>()?;
    Ok((small, full))
}

impl Figures {
    pub fn render(report: &Report) -> Result<Figures, PlotError> {
        let datasets = report
            .datasets
            .iter()
            .map(|dataset| {
                let (correlation, correlation_full) = match &dataset.correlation {
                    Some(maps) => {
                        let (small, full) = correlation_figures(&dataset.label, maps)?;
                        (Some(small), full)
                    }
                    None => (None, Vec::new()),
                };
                Ok(DatasetFigures {
                    accuracy: plots::accuracy_vs_proportion(dataset)?,
                    delta: plots::delta_vs_baseline(dataset)?,
                    curves: dataset
                        .curves
                        .iter()
                        .map(|curve| {
                            Ok((
                                format!("{} · {}", curve.stage, curve.name),
                                plots::training_curve(dataset, curve)?,
                            ))
                        })
                        .collect::<Result<_, PlotError>>()?,
                    attributes: plots::attribute_chart(&dataset.attributes)?,
                    correlation,
                    correlation_full,
                })
            })
            .collect::<Result<Vec<_>, PlotError>>()?;
        let sweep = report
            .sweep_figures
            .iter()
            .map(|figure| {
                let caption = format!(
                    "Mean test accuracy (%) versus {} on {}{}, one line per label proportion; the band is ± one standard deviation over seeds.",
                    figure.title,
                    figure.dataset,
                    figure.fixed.as_deref().map_or(String::new(), |f| format!(" ({f})"))
                );
                Ok((caption, plots::sweep_chart(figure)?))
            })
            .collect::<Result<_, PlotError>>()?;
        Ok(Figures { datasets, sweep })
    }

    /// Every figure with a file name and a caption, in page order.
    pub fn files<'a>(&'a self, report: &Report) -> Vec<FigureFile<'a>> {
        let mut files = Vec::new();
        let mut add = |stem: String, caption: String, svg: &'a str| {
            files.push(FigureFile { stem, caption, svg });
        };
        for (d, (figures, dataset)) in self.datasets.iter().zip(&report.datasets).enumerate() {
            let (d, label) = (d + 1, &dataset.label);
            add(
                format!("accuracy-{d}"),
                format!("Mean test accuracy (%) versus the labeled proportion on {label}; band: ± one standard deviation over seeds."),
                &figures.accuracy,
            );
            add(
                format!("delta-{d}"),
                format!("Accuracy minus Baseline's (percentage points) on {label}."),
                &figures.delta,
            );
            for (c, (title, svg)) in figures.curves.iter().enumerate() {
                add(
                    format!("curve-{d}-{}", c + 1),
                    format!("Training curve {title} on {label}, mean over seeds."),
                    svg,
                );
            }
            add(
                format!("attributes-{d}"),
                format!("Per-attribute test accuracy (%) on {label}."),
                &figures.attributes,
            );
            if let Some(svg) = &figures.correlation {
                add(
                    format!("correlation-{d}"),
                    format!("Attribute correlation maps (Pearson r of predicted probabilities on the test split) on {label}, beside the ground truth."),
                    svg,
                );
            }
            for (m, (map, svg)) in figures.correlation_full.iter().enumerate() {
                add(
                    format!("correlation-{d}-all-{}", m + 1),
                    format!("Correlation map of every attribute, {map}, on {label}."),
                    svg,
                );
            }
        }
        for (s, (caption, svg)) in self.sweep.iter().enumerate() {
            add(format!("sweep-{}", s + 1), caption.clone(), svg);
        }
        files
    }
}
