//! Figures as inline SVG strings (plotters' SVG backend): accuracy versus
//! label proportion, Δ versus Baseline, training curves and per-attribute
//! accuracy. Colours are Okabe–Ito (distinguishable with the common colour
//! vision deficiencies); past eight series the marker shape changes too.

use super::model::{AttributeTable, Curve, DatasetReport};
use plotters::coord::Shift;
use plotters::prelude::*;

const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(240, 228, 66),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
];
const WIDTH: u32 = 760;
const HEIGHT: u32 = 420;

#[derive(Debug, thiserror::Error)]
#[error("drawing {figure}: {message}")]
pub struct PlotError {
    figure: String,
    message: String,
}

fn colour(i: usize) -> RGBColor {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// A point marker whose shape encodes the series' second palette round.
fn marker<'e, DB: DrawingBackend, C: Into<ShapeStyle>>(
    i: usize,
    at: (f64, f64),
    style: C,
) -> DynElement<'e, DB, (f64, f64)> {
    let style = style.into();
    match (i / OKABE_ITO.len()) % 3 {
        0 => Circle::new(at, 4, style.filled()).into_dyn(),
        1 => TriangleMarker::new(at, 5, style.filled()).into_dyn(),
        _ => Cross::new(at, 4, style.stroke_width(2)).into_dyn(),
    }
}

/// Renders `draw` onto a fresh SVG canvas and returns the SVG text.
fn svg(
    figure: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, PlotError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let fail = |message: String| PlotError {
            figure: figure.to_string(),
            message,
        };
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(out)
}

fn span(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * pad).max(0.5);
    (lo - pad, hi + pad)
}

/// One line per variant: (x, y, optional ± band).
struct Series {
    name: String,
    /// The variant's position in the experiment: its colour and marker in
    /// every figure.
    slot: usize,
    points: Vec<(f64, f64, Option<f64>)>,
}

/// A line chart; `log_x` for proportions (they span orders of magnitude).
fn lines(
    figure: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
) -> Result<String, PlotError> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (x_lo, x_hi) = if x_lo.is_finite() {
        (x_lo, x_hi)
    } else {
        (1.0, 100.0)
    };
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|(_, y, band)| [y - band.unwrap_or(0.0), y + band.unwrap_or(0.0)])
    });
    let (y_lo, y_hi) = span(ys, 0.05);
    let height = HEIGHT + 18 * (series.len() as u32).div_ceil(3);
    // Many overlapping bands turn opaque; fainter ones keep the lines legible.
    let band_alpha = if series.len() <= 4 { 0.15 } else { 0.05 };
    svg(figure, (WIDTH, height), |root| {
        let e = |err: &dyn std::fmt::Display| err.to_string();
        let (plot, legend) = root.split_vertically(HEIGHT);
        let mut builder = ChartBuilder::on(&plot);
        builder
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56);
        macro_rules! draw_on {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw()
                    .map_err(|err| e(&err))?;
                for s in series {
                    let (i, style) = (s.slot, colour(s.slot));
                    let bands: Vec<&(f64, f64, Option<f64>)> =
                        s.points.iter().filter(|p| p.2.is_some()).collect();
                    if bands.len() > 1 {
                        let upper = bands.iter().map(|(x, y, b)| (*x, y + b.unwrap_or(0.0)));
                        let lower = bands
                            .iter()
                            .rev()
                            .map(|(x, y, b)| (*x, y - b.unwrap_or(0.0)));
                        chart
                            .draw_series(std::iter::once(Polygon::new(
                                upper.chain(lower).collect::<Vec<_>>(),
                                style.mix(band_alpha).filled(),
                            )))
                            .map_err(|err| e(&err))?;
                    }
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().map(|(x, y, _)| (*x, *y)),
                            style.stroke_width(2),
                        ))
                        .map_err(|err| e(&err))?;
                    chart
                        .draw_series(s.points.iter().map(|(x, y, _)| marker(i, (*x, *y), style)))
                        .map_err(|err| e(&err))?;
                }
            }};
        }
        if log_x {
            draw_on!(builder
                .build_cartesian_2d((x_lo * 0.8..x_hi * 1.25).log_scale(), y_lo..y_hi)
                .map_err(|err| e(&err))?);
        } else {
            let pad = ((x_hi - x_lo) * 0.03).max(0.5);
            draw_on!(builder
                .build_cartesian_2d(x_lo - pad..x_hi + pad, y_lo..y_hi)
                .map_err(|err| e(&err))?);
        }
        legend_rows(&legend, series.iter().map(|s| (s.slot, s.name.as_str())))
            .map_err(|err| e(&err))
    })
}

/// A legend under the chart: three entries a row, marker and name.
fn legend_rows<'n>(
    area: &DrawingArea<SVGBackend, Shift>,
    entries: impl Iterator<Item = (usize, &'n str)>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let column = (WIDTH as i32 - 40) / 3;
    for (n, (i, name)) in entries.enumerate() {
        let (x, y) = (20 + column * (n as i32 % 3), 10 + 18 * (n as i32 / 3));
        let style = colour(i);
        area.draw(&PathElement::new(
            vec![(x, y), (x + 22, y)],
            style.stroke_width(2),
        ))?;
        let at = (x + 11, y);
        match (i / OKABE_ITO.len()) % 3 {
            0 => area.draw(&Circle::new(at, 4, style.filled()))?,
            1 => area.draw(&TriangleMarker::new(at, 5, style.filled()))?,
            _ => area.draw(&Cross::new(at, 4, style.stroke_width(2)))?,
        }
        area.draw(&Text::new(
            name.to_string(),
            (x + 28, y - 7),
            ("sans-serif", 13).into_font(),
        ))?;
    }
    Ok(())
}

/// Mean test accuracy versus label proportion, one line per variant, with a
/// band of ± one standard deviation over seeds.
pub fn accuracy_vs_proportion(dataset: &DatasetReport) -> Result<String, PlotError> {
    let series: Vec<Series> = dataset
        .rows
        .iter()
        .enumerate()
        .map(|(slot, row)| Series {
            name: row.variant.clone(),
            slot,
            points: row
                .cells
                .iter()
                .filter_map(|c| Some((c.proportion, c.mean?, c.std)))
                .collect(),
        })
        .collect();
    lines(
        &format!("accuracy vs proportion, {}", dataset.label),
        "labeled proportion (% of training labels, log scale)",
        "mean test accuracy (%)",
        &series,
        true,
    )
}

/// Mean accuracy minus Baseline's, per variant and proportion.
pub fn delta_vs_baseline(dataset: &DatasetReport) -> Result<String, PlotError> {
    let series: Vec<Series> = dataset
        .rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.cells.iter().any(|c| c.delta_baseline.is_some()))
        .map(|(slot, row)| Series {
            name: row.variant.clone(),
            slot,
            points: row
                .cells
                .iter()
                .filter_map(|c| Some((c.proportion, c.delta_baseline?, None)))
                .collect(),
        })
        .collect();
    lines(
        &format!("delta vs Baseline, {}", dataset.label),
        "labeled proportion (% of training labels, log scale)",
        "accuracy minus Baseline (percentage points)",
        &series,
        true,
    )
}

/// One loss term over epochs, per variant.
pub fn training_curve(dataset: &DatasetReport, curve: &Curve) -> Result<String, PlotError> {
    let series: Vec<Series> = curve
        .series
        .iter()
        .map(|(variant, points)| Series {
            name: variant.clone(),
            slot: dataset
                .rows
                .iter()
                .position(|row| row.variant == *variant)
                .unwrap_or(0),
            points: points.iter().map(|(x, y)| (*x as f64, *y, None)).collect(),
        })
        .collect();
    lines(
        &format!("{} {} curve, {}", curve.stage, curve.name, dataset.label),
        "epoch",
        &format!("{} (mean over seeds)", curve.name),
        &series,
        false,
    )
}

/// Per-attribute accuracy: one row per attribute, one dot per variant.
pub fn attribute_chart(table: &AttributeTable) -> Result<String, PlotError> {
    let n = table.rows.len();
    let height = 80 + 16 * n as u32;
    let values = table
        .rows
        .iter()
        .flat_map(|(_, values)| values.iter().flatten().copied());
    let (lo, hi) = span(values, 0.05);
    let columns: Vec<usize> = (0..table.variants.len())
        .filter(|&v| table.rows.iter().any(|(_, values)| values[v].is_some()))
        .collect();
    let legend_height = 18 * (columns.len() as u32).div_ceil(3) + 10;
    svg(
        "per-attribute accuracy",
        (WIDTH, height + legend_height),
        |root| {
            let e = |err: &dyn std::fmt::Display| err.to_string();
            let (plot, legend) = root.split_vertically(height);
            let mut chart = ChartBuilder::on(&plot)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(170)
                .build_cartesian_2d(lo..hi, -0.5..n as f64 - 0.5)
                .map_err(|err| e(&err))?;
            let label = |y: &f64| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 {
                    table
                        .rows
                        .get(i as usize)
                        .map(|(name, _)| name.clone())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .y_labels(n.max(1) * 2 + 1)
                .y_label_formatter(&label)
                .x_desc("mean test accuracy (%)")
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(|err| e(&err))?;
            for &v in &columns {
                chart
                    .draw_series(
                        table
                            .rows
                            .iter()
                            .enumerate()
                            .filter_map(|(row, (_, values))| {
                                values[v].map(|acc| marker(v, (acc, row as f64), colour(v)))
                            }),
                    )
                    .map_err(|err| e(&err))?;
            }
            legend_rows(
                &legend,
                columns.iter().map(|&v| (v, table.variants[v].as_str())),
            )
            .map_err(|err| e(&err))
        },
    )
}
