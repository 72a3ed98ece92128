//! LaTeX (booktabs), CSV and JSON forms of a report: one row per run and one
//! per aggregated cell for the machine-readable ones.

use super::figures::FigureFile;
use super::model::{Cell, Report};
use std::fmt::Write;

/// Escapes LaTeX's special characters in text.
fn tex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '<' => out.push_str(r"\textless{}"),
            '|' => out.push_str(r"\textbar{}"),
            '±' => out.push_str(r"$\pm$"),
            'Δ' => out.push_str(r"$\Delta$"),
            'τ' => out.push_str(r"$\tau$"),
            '·' => out.push_str(r"$\cdot$"),
            '−' => out.push('-'),
            '>' => out.push_str(r"\textgreater{}"),
            _ => out.push(c),
        }
    }
    out
}

fn tex_cell(cell: &Cell) -> String {
    let Some(mean) = cell.mean else {
        return "--".into();
    };
    let value = match cell.rank {
        Some(1) => format!(r"\textbf{{{mean:.2}}}"),
        Some(2) => format!(r"\underline{{{mean:.2}}}"),
        _ => format!("{mean:.2}"),
    };
    let marker = if cell.marker.is_empty() {
        String::new()
    } else {
        format!("$^{{{}}}$", cell.marker)
    };
    let std = cell
        .std
        .map_or(String::new(), |s| format!(r" {{\scriptsize$\pm${s:.2}}}"));
    format!("{value}{marker}{std}")
}

/// One booktabs table per dataset; needs `\usepackage{booktabs}`.
pub fn latex(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "% Ablation tables of experiment {} (ablate report). Needs \\usepackage{{booktabs}}.",
        report.experiment.replace('\n', " ")
    );
    for dataset in &report.datasets {
        let columns = dataset.proportions.len();
        let _ = writeln!(out, "\\begin{{table}}[t]\n\\centering\\small");
        let _ = writeln!(
            out,
            "\\caption{{Mean test accuracy (\\%) $\\pm$ std over {} seeds on {}. Bold: best, underlined: second; $^{{*}}$/$^{{**}}$: differs from {} (paired t-test, Holm-corrected $p<0.05$/$p<0.01$).}}",
            report.seeds.len(),
            tex(&dataset.label),
            tex(&report.reference)
        );
        let _ = writeln!(
            out,
            "\\begin{{tabular}}{{l{}}}\n\\toprule",
            "r".repeat(columns)
        );
        let header: Vec<String> = dataset
            .proportions
            .iter()
            .map(|p| format!("{}\\%", p.percent))
            .collect();
        let _ = writeln!(out, "Variant & {} \\\\\n\\midrule", header.join(" & "));
        for row in &dataset.rows {
            let cells: Vec<String> = row.cells.iter().map(tex_cell).collect();
            let _ = writeln!(out, "{} & {} \\\\", tex(&row.variant), cells.join(" & "));
        }
        let _ = writeln!(out, "\\bottomrule\n\\end{{tabular}}\n\\end{{table}}\n");
    }
    out
}

/// Figures per `\clearpage`, far below LaTeX's limit of 18 floats waiting
/// to be placed.
const FIGURES_PER_PAGE_BREAK: usize = 8;

/// `figures.tex`: one figure environment per SVG under `figures/`. pdflatex
/// reads PDF, not SVG, so each figure includes `figures/NAME.pdf` when it
/// exists (after the conversion the header describes) and a framed note
/// otherwise: the file compiles either way. Needs `\usepackage{graphicx}`.
pub fn latex_figures(files: &[FigureFile]) -> String {
    let mut out = String::from(
        "% Figures of an ablate report. Needs \\usepackage{graphicx}.\n\
         % pdflatex does not read SVG: convert every figures/NAME.svg to figures/NAME.pdf first, e.g.\n\
         %   for f in figures/*.svg; do rsvg-convert -f pdf -o \"${f%.svg}.pdf\" \"$f\"; done   (Debian: librsvg2-bin)\n\
         %   inkscape --export-type=pdf figures/*.svg\n\
         % Until then each figure shows a framed note naming its SVG file.\n",
    );
    for (i, file) in files.iter().enumerate() {
        if i > 0 && i % FIGURES_PER_PAGE_BREAK == 0 {
            out.push_str("\\clearpage\n");
        }
        let stem = &file.stem;
        let _ = writeln!(
            out,
            "\\begin{{figure}}[!htbp]\n\\centering\n\\IfFileExists{{figures/{stem}.pdf}}{{\\includegraphics[width=\\linewidth]{{figures/{stem}.pdf}}}}{{\\fbox{{\\parbox{{0.9\\linewidth}}{{\\centering\\strut convert \\texttt{{figures/{stem}.svg}} to PDF}}}}}}\n\\caption{{{}}}\n\\label{{fig:{stem}}}\n\\end{{figure}}\n",
            tex(&file.caption)
        );
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// One row per planned run (status `missing` when it is not stored).
pub fn runs_csv(report: &Report) -> String {
    csv(
        &[
            "run_id",
            "variant",
            "dataset",
            "proportion_percent",
            "seed",
            "status",
            "attempts",
            "duration_s",
            "test_accuracy_percent",
            "val_accuracy_percent",
            "stage1_reused",
            "git_revision",
            "device",
            "error",
        ],
        report.runs.iter().map(|r| {
            vec![
                r.id.clone(),
                r.variant.clone(),
                r.dataset.clone(),
                r.proportion.to_string(),
                r.seed.to_string(),
                r.status.clone(),
                r.attempts.to_string(),
                number(r.duration_s),
                number(r.test_accuracy),
                number(r.val_accuracy),
                r.stage1_reused.map_or(String::new(), |b| b.to_string()),
                r.git_revision.clone().unwrap_or_default(),
                r.device.clone().unwrap_or_default(),
                r.error.clone().unwrap_or_default(),
            ]
        }),
    )
}

/// One row per dataset × variant × proportion.
pub fn cells_csv(report: &Report) -> String {
    let rows = report.datasets.iter().flat_map(|dataset| {
        dataset.rows.iter().flat_map(move |row| {
            row.cells.iter().map(move |c| {
                vec![
                    dataset.label.clone(),
                    c.variant.clone(),
                    c.proportion.to_string(),
                    c.planned.to_string(),
                    c.done.to_string(),
                    number(c.mean),
                    number(c.std),
                    c.rank.map_or(String::new(), |r| r.to_string()),
                    number(c.delta_baseline),
                    c.pairs.to_string(),
                    number(c.t_p),
                    number(c.t_p_holm),
                    number(c.wilcoxon_p),
                ]
            })
        })
    });
    csv(
        &[
            "dataset",
            "variant",
            "proportion_percent",
            "seeds_planned",
            "seeds_done",
            "mean_test_accuracy_percent",
            "std_percent",
            "rank",
            "delta_vs_baseline_points",
            "pairs_vs_reference",
            "t_test_p",
            "t_test_p_holm",
            "wilcoxon_p",
        ],
        rows,
    )
}

/// The whole view model: header, cells (in the datasets) and runs.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(
            tex("SPL_R 50% & <b>"),
            r"SPL\_R 50\% \& \textless{}b\textgreater{}"
        );
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
