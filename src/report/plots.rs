//! Figures as inline SVG strings (plotters' SVG backend): accuracy versus
//! label proportion, Δ versus Baseline, training curves, per-attribute
//! accuracy, accuracy versus m and v, and attribute correlation maps. Colours are Okabe–Ito (distinguishable with the common colour
//! vision deficiencies); past eight series the marker shape changes too.

use super::model::{AttributeTable, Curve, DatasetReport, SweepFigure};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
/// Plotters draws a font of size n about 0.8 n pixels high: these stay
/// readable when a figure is scaled to a phone's width.
const TICK_FONT: (&str, u32) = ("sans-serif", 15);
const AXIS_FONT: (&str, u32) = ("sans-serif", 16);
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
    // A floor relative to the values' size keeps a flat series (or one of
    // learning rates around 1e-3) from filling the chart with its noise.
    let floor = (hi.abs().max(lo.abs()) * 0.005).max(1e-12);
    let pad = ((hi - lo) * pad).max(floor);
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
    // Epochs and m or v are whole numbers: no tick at 2.5.
    let whole_x = !log_x
        && series
            .iter()
            .all(|s| s.points.iter().all(|p| p.0.fract() == 0.0));
    let whole_ticks = |x: &f64| {
        if x.fract().abs() < 1e-9 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    // The log axis is labelled at the proportions themselves (2, 8, 32),
    // not at plotters' decades, and without trailing zeros.
    let plain_ticks = |x: &f64| format!("{x}");
    let mut planned: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    planned.sort_by(f64::total_cmp);
    planned.dedup();
    // Many overlapping bands turn opaque; fainter ones keep the lines legible.
    let band_alpha = if series.len() <= 4 { 0.15 } else { 0.05 };
    svg(figure, (WIDTH, height), |root| {
        let e = |err: &dyn std::fmt::Display| err.to_string();
        let (plot, legend) = root.split_vertically(HEIGHT);
        let mut builder = ChartBuilder::on(&plot);
        builder
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72);
        macro_rules! draw_on {
            ($chart:expr) => {{
                let mut chart = $chart;
                let mut mesh = chart.configure_mesh();
                mesh.x_desc(x_label)
                    .y_desc(y_label)
                    .label_style(TICK_FONT)
                    .axis_desc_style(AXIS_FONT)
                    .light_line_style(RGBColor(235, 235, 235));
                if whole_x {
                    mesh.x_label_formatter(&whole_ticks);
                } else if log_x {
                    mesh.x_label_formatter(&plain_ticks);
                }
                mesh.draw().map_err(|err| e(&err))?;
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
                .build_cartesian_2d(
                    (x_lo * 0.8..x_hi * 1.25)
                        .log_scale()
                        .with_key_points(planned),
                    y_lo..y_hi
                )
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
            AXIS_FONT.into_font(),
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
                .label_style(TICK_FONT)
                .axis_desc_style(AXIS_FONT)
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

/// Accuracy versus a swept hyper-parameter (Fig. 5): one line per label
/// proportion, ± one standard deviation over seeds as a band.
pub fn sweep_chart(figure: &SweepFigure) -> Result<String, PlotError> {
    let series: Vec<Series> = figure
        .series
        .iter()
        .enumerate()
        .map(|(slot, (name, points))| Series {
            name: name.clone(),
            slot,
            points: points.clone(),
        })
        .collect();
    let fixed = figure
        .fixed
        .as_deref()
        .map_or(String::new(), |f| format!(", {f}"));
    lines(
        &format!("accuracy vs {}, {}", figure.parameter, figure.dataset),
        &format!("{}{fixed}", figure.title),
        "mean test accuracy (%)",
        &series,
        false,
    )
}

/// ColorBrewer RdBu, blue (−1) through near-white (0) to red (+1): a
/// diverging scale that stays readable with the common colour-vision
/// deficiencies.
const RD_BU: [RGBColor; 9] = [
    RGBColor(5, 48, 97),
    RGBColor(33, 102, 172),
    RGBColor(67, 147, 195),
    RGBColor(146, 197, 222),
    RGBColor(247, 247, 247),
    RGBColor(244, 165, 130),
    RGBColor(214, 96, 77),
    RGBColor(178, 24, 43),
    RGBColor(103, 0, 31),
];
const UNDEFINED: RGBColor = RGBColor(190, 190, 190);

/// The colour of a correlation in [−1, 1], linearly between RdBu's stops.
fn correlation_colour(r: f64) -> RGBColor {
    let at = (r.clamp(-1.0, 1.0) + 1.0) / 2.0 * (RD_BU.len() - 1) as f64;
    let (i, t) = (at.floor() as usize, at.fract());
    let (a, b) = (
        RD_BU[i.min(RD_BU.len() - 1)],
        RD_BU[(i + 1).min(RD_BU.len() - 1)],
    );
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One panel of a correlation figure.
pub struct HeatPanel<'a> {
    pub title: String,
    /// Row-major `size × size` over all attributes.
    pub values: &'a [Option<f64>],
    pub size: usize,
}

/// Correlation maps side by side on one colour scale, over the attributes
/// at `indices`; `cell` pixels a cell, values written in the cells when
/// they are large enough to read. Undefined correlations are grey and say
/// `n/a`.
pub fn correlation_heatmaps(
    figure: &str,
    names: &[String],
    indices: &[usize],
    panels: &[HeatPanel],
    cell: i32,
) -> Result<String, PlotError> {
    let k = indices.len() as i32;
    let font = if cell >= 24 { 14 } else { 12 };
    let label_width = indices
        .iter()
        .map(|&i| names[i].chars().count() as i32)
        .max()
        .unwrap_or(4)
        * font
        / 2
        + 12;
    let (left, top, gap, bar) = (label_width, label_width + 26, 18, 90);
    let grid = k * cell;
    let width = left + panels.len() as i32 * (grid + gap) + bar;
    let height = top + grid.max(180) + 16;
    let annotate = cell >= 30;
    svg(figure, (width as u32, height as u32), |root| {
        let e = |err: &dyn std::fmt::Display| err.to_string();
        let label_style = ("sans-serif", font).into_font().color(&BLACK);
        let right_aligned = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        let column_style = ("sans-serif", font)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (row, &i) in indices.iter().enumerate() {
            let y = top + row as i32 * cell + cell / 2;
            root.draw(&Text::new(
                names[i].clone(),
                (left - 4, y),
                right_aligned.clone(),
            ))
            .map_err(|err| e(&err))?;
        }
        for (p, panel) in panels.iter().enumerate() {
            let x0 = left + p as i32 * (grid + gap);
            root.draw(&Text::new(
                panel.title.clone(),
                (x0, 4),
                ("sans-serif", 13)
                    .into_font()
                    .style(FontStyle::Bold)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(|err| e(&err))?;
            for (column, &j) in indices.iter().enumerate() {
                let x = x0 + column as i32 * cell + cell / 2;
                root.draw(&Text::new(
                    names[j].clone(),
                    (x, top - 4),
                    column_style.clone(),
                ))
                .map_err(|err| e(&err))?;
            }
            for (row, &i) in indices.iter().enumerate() {
                for (column, &j) in indices.iter().enumerate() {
                    let (x, y) = (x0 + column as i32 * cell, top + row as i32 * cell);
                    let value = panel.values.get(i * panel.size + j).copied().flatten();
                    let fill = value.map_or(UNDEFINED, correlation_colour);
                    root.draw(&Rectangle::new(
                        // One pixel short: the white background parts the
                        // cells without a second element each (40 × 40 maps).
                        [(x, y), (x + cell - 1, y + cell - 1)],
                        fill.filled(),
                    ))
                    .map_err(|err| e(&err))?;
                    if annotate || (value.is_none() && cell >= 20) {
                        let text = value.map_or("n/a".to_string(), |v| format!("{v:.2}"));
                        let ink = if value.is_some_and(|v| v.abs() > 0.55) {
                            WHITE
                        } else {
                            BLACK
                        };
                        root.draw(&Text::new(
                            text,
                            (x + cell / 2, y + cell / 2),
                            ("sans-serif", font - 1)
                                .into_font()
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        ))
                        .map_err(|err| e(&err))?;
                    }
                }
            }
        }
        // The value legend: a vertical colour bar from +1 (top) to −1.
        let (bx, by, bh) = (width - bar + 14, top, 160);
        let steps = 40;
        for s in 0..steps {
            let r = 1.0 - 2.0 * (f64::from(s) + 0.5) / f64::from(steps);
            let y = by + s * bh / steps;
            root.draw(&Rectangle::new(
                [(bx, y), (bx + 16, by + (s + 1) * bh / steps)],
                correlation_colour(r).filled(),
            ))
            .map_err(|err| e(&err))?;
        }
        let tick_style = ("sans-serif", 11)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (value, label) in [
            (1.0, "+1"),
            (0.5, "+0.5"),
            (0.0, "0"),
            (-0.5, "−0.5"),
            (-1.0, "−1"),
        ] {
            let y = by + ((1.0 - value) / 2.0 * f64::from(bh)).round() as i32;
            root.draw(&PathElement::new(
                vec![(bx + 16, y), (bx + 20, y)],
                BLACK.stroke_width(1),
            ))
            .map_err(|err| e(&err))?;
            root.draw(&Text::new(label, (bx + 23, y), tick_style.clone()))
                .map_err(|err| e(&err))?;
        }
        root.draw(&Text::new(
            "Pearson r",
            (bx, by - 8),
            ("sans-serif", 11)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
        ))
        .map_err(|err| e(&err))?;
        let undefined_y = by + bh + 12;
        root.draw(&Rectangle::new(
            [(bx, undefined_y), (bx + 16, undefined_y + 12)],
            UNDEFINED.filled(),
        ))
        .map_err(|err| e(&err))?;
        root.draw(&Text::new(
            "undefined",
            (bx + 20, undefined_y + 6),
            tick_style.clone(),
        ))
        .map_err(|err| e(&err))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diverging_scale_runs_blue_white_red() {
        assert_eq!(correlation_colour(-1.0), RD_BU[0]);
        assert_eq!(correlation_colour(0.0), RD_BU[4]);
        assert_eq!(correlation_colour(1.0), RD_BU[8]);
        assert_eq!(correlation_colour(7.0), RD_BU[8], "clamped");
    }

    #[test]
    fn undefined_correlations_are_drawn_grey_and_labelled() {
        let names: Vec<String> = ["Bald", "Male"].iter().map(|s| s.to_string()).collect();
        let values = [Some(1.0), None, None, None];
        let panel = HeatPanel {
            title: "test".into(),
            values: &values,
            size: 2,
        };
        let svg = correlation_heatmaps("test", &names, &[0, 1], &[panel], 34).unwrap();
        let texts: Vec<&str> = svg.lines().map(str::trim).collect();
        assert_eq!(texts.iter().filter(|t| **t == "n/a").count(), 3, "{svg}");
        assert!(texts.contains(&"1.00"));
        assert!(svg.contains("undefined") && svg.contains("Pearson r"));
    }
}
