//! The HTML page: minijinja templates (embedded in the binary, autoescaped)
//! with the figures inlined as SVG, so the file needs nothing else.

use super::figures::Figures;
use super::model::Report;
use super::ReportError;
use minijinja::value::Value;
use minijinja::Environment;

/// Templates by name, compiled into the binary so that a report renders
/// the same from any working directory.
const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("report.html", include_str!("../../templates/report.html")),
    ("header.html", include_str!("../../templates/header.html")),
    ("matrix.html", include_str!("../../templates/matrix.html")),
    ("dataset.html", include_str!("../../templates/dataset.html")),
    ("sweep.html", include_str!("../../templates/sweep.html")),
    (
        "complexity.html",
        include_str!("../../templates/complexity.html"),
    ),
    ("runs.html", include_str!("../../templates/runs.html")),
];

/// `x` with `digits` decimals, or an em dash when there is no value.
fn fixed(value: Value, digits: Option<usize>) -> String {
    match f64::try_from(value) {
        Ok(x) if x.is_finite() => format!("{x:.*}", digits.unwrap_or(2)),
        _ => "—".into(),
    }
}

/// Like [`fixed`] with an explicit sign (deltas).
fn signed(value: Value, digits: Option<usize>) -> String {
    match f64::try_from(value) {
        Ok(x) if x.is_finite() => format!("{x:+.*}", digits.unwrap_or(2)),
        _ => "—".into(),
    }
}

/// A p-value as `0.003` or `<0.001`.
fn pvalue(value: Value) -> String {
    match f64::try_from(value) {
        Ok(p) if p < 0.001 => "<0.001".into(),
        Ok(p) if p.is_finite() => format!("{p:.3}"),
        _ => "—".into(),
    }
}

/// A proportion as written in the experiment (`0.5`, `10`).
fn percent(value: Value) -> String {
    match f64::try_from(value) {
        Ok(x) => format!("{x}%"),
        _ => "—".into(),
    }
}

fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| ReportError::Template {
                template: name.to_string(),
                source,
            })?;
    }
    env.add_filter("fixed", fixed);
    env.add_filter("signed", signed);
    env.add_filter("pvalue", pvalue);
    env.add_filter("percent", percent);
    Ok(env)
}

pub fn render(report: &Report) -> Result<String, ReportError> {
    let figures = Figures::render(report)?;
    let env = environment()?;
    let template = env
        .get_template("report.html")
        .map_err(|source| ReportError::Template {
            template: "report.html".into(),
            source,
        })?;
    template
        .render(minijinja::context! {
            report => Value::from_serialize(report),
            figures => Value::from_serialize(&figures.datasets),
            sweep_figures => Value::from_serialize(&figures.sweep),
            significant => super::model::SIGNIFICANT,
            highly_significant => super::model::HIGHLY_SIGNIFICANT,
        })
        .map_err(|source| ReportError::Template {
            template: "report.html".into(),
            source,
        })
}
