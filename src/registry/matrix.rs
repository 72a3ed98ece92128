//! The paper's Table 2: one row per variant, one cell per toggle, written with
//! the paper's marks ("X", "-", "CBAM", "L2", "one-stage").

use super::schema::{Alignment, Attention, Schedule, Toggles};
use super::Variant;
use serde::Serialize;

/// Column headers as the paper prints them.
pub const COLUMNS: [&str; 9] = ["DCA", "MSS", "PRT", "PST", "PCT", "AT", "W", "SME", "TS"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    pub columns: Vec<String>,
    /// Each row: the variant name, then one cell per column.
    pub rows: Vec<Vec<String>>,
}

fn mark(on: bool) -> &'static str {
    if on {
        "X"
    } else {
        "-"
    }
}

/// The Table 2 cells of one variant's toggles.
pub fn cells(t: &Toggles) -> [&'static str; 9] {
    [
        match t.attention {
            Attention::Dca => "X",
            Attention::Cbam => "CBAM",
            Attention::None => "-",
        },
        mark(t.mss),
        mark(t.prt),
        mark(t.pst),
        mark(t.pct),
        match t.alignment {
            Alignment::Adversarial => "X",
            Alignment::L2 => "L2",
            Alignment::None => "-",
        },
        mark(t.whole_branch),
        mark(t.sme),
        match t.schedule {
            Schedule::TwoStage => "X",
            Schedule::OneStage => "one-stage",
            Schedule::Supervised => "-",
        },
    ]
}

impl Matrix {
    pub fn of<'a>(variants: impl IntoIterator<Item = &'a Variant>) -> Matrix {
        Matrix {
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: variants
                .into_iter()
                .map(|v| {
                    std::iter::once(v.name.clone())
                        .chain(cells(&v.toggles).iter().map(|c| c.to_string()))
                        .collect()
                })
                .collect(),
        }
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let header: Vec<&str> = std::iter::once("Variant")
            .chain(self.columns.iter().map(String::as_str))
            .collect();
        let mut out = format!("| {} |\n", header.join(" | "));
        out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// CSV with a header row (RFC 4180 quoting).
    pub fn to_csv(&self) -> String {
        let quote = |cell: &str| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.to_string()
            }
        };
        let header = std::iter::once("Variant").chain(self.columns.iter().map(String::as_str));
        let mut out = header.map(quote).collect::<Vec<_>>().join(",") + "\n";
        for row in &self.rows {
            out.push_str(&row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }
}
