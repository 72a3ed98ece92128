//! The paper's Tables 3–5 (`reference/paper_tables.toml`, embedded in the
//! binary so that a report never depends on the working directory).

use std::collections::BTreeMap;

const PAPER_TABLES: &str = include_str!("../../reference/paper_tables.toml");

/// One dataset's ablation table as the paper prints it.
#[derive(Debug, Clone, Default)]
pub struct PaperAblation {
    /// Percent of the labeled training set.
    pub proportions: Vec<f64>,
    pub labeled_samples: Vec<u64>,
    /// Variant name and accuracy (%) per proportion, in the paper's order.
    pub variants: Vec<(String, Vec<f64>)>,
}

impl PaperAblation {
    /// Labeled training images the paper used at `percent`, if it ran it.
    pub fn labeled_at(&self, percent: f64) -> Option<u64> {
        let i = self.proportions.iter().position(|p| *p == percent)?;
        self.labeled_samples.get(i).copied()
    }
}

#[derive(Debug, Clone, Default)]
pub struct PaperTables {
    /// By dataset key: `celeba`, `lfwa`, `maad`.
    pub ablation: BTreeMap<String, PaperAblation>,
}

#[derive(Debug, thiserror::Error)]
#[error("reference/paper_tables.toml: {0}")]
pub struct PaperTablesError(String);

impl PaperTables {
    /// The tables built into this binary.
    pub fn embedded() -> Result<PaperTables, PaperTablesError> {
        Self::parse(PAPER_TABLES)
    }

    pub fn parse(text: &str) -> Result<PaperTables, PaperTablesError> {
        let bad = |what: String| PaperTablesError(what);
        let root: toml::Table = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut ablation = BTreeMap::new();
        let Some(tables) = root.get("ablation").and_then(toml::Value::as_table) else {
            return Err(bad("no [ablation] tables".into()));
        };
        let numbers = |value: &toml::Value, what: &str| -> Result<Vec<f64>, PaperTablesError> {
            value
                .as_array()
                .ok_or_else(|| bad(format!("{what} is not an array")))?
                .iter()
                .map(|v| {
                    v.as_float()
                        .or_else(|| v.as_integer().map(|i| i as f64))
                        .ok_or_else(|| bad(format!("{what}: {v} is not a number")))
                })
                .collect()
        };
        for (dataset, table) in tables {
            let table = table
                .as_table()
                .ok_or_else(|| bad(format!("ablation.{dataset} is not a table")))?;
            let mut parsed = PaperAblation::default();
            // toml keeps keys sorted; the paper's row order is restored from
            // where each row stands in the dataset's table of the text.
            for (key, value) in table {
                let what = format!("ablation.{dataset}.{key}");
                match key.as_str() {
                    "proportions" => parsed.proportions = numbers(value, &what)?,
                    "labeled_samples" => {
                        parsed.labeled_samples =
                            numbers(value, &what)?.iter().map(|n| *n as u64).collect()
                    }
                    _ => parsed.variants.push((key.clone(), numbers(value, &what)?)),
                }
            }
            for (name, values) in &parsed.variants {
                if values.len() != parsed.proportions.len() {
                    return Err(bad(format!(
                        "ablation.{dataset}.{name:?} has {} values for {} proportions",
                        values.len(),
                        parsed.proportions.len()
                    )));
                }
            }
            let start = text
                .find(&format!("[ablation.{dataset}]"))
                .unwrap_or_default();
            parsed
                .variants
                .sort_by_key(|(name, _)| text[start..].find(&format!("\"{name}\" ")));
            ablation.insert(dataset.clone(), parsed);
        }
        Ok(PaperTables { ablation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_have_the_sixteen_variants_in_paper_order() {
        let tables = PaperTables::embedded().unwrap();
        for key in ["celeba", "lfwa", "maad"] {
            let table = &tables.ablation[key];
            assert_eq!(table.variants.len(), 16, "{key}");
            assert_eq!(table.variants[0].0, "Baseline");
            assert_eq!(table.variants[15].0, "SPL-Net");
        }
        assert_eq!(tables.ablation["celeba"].labeled_at(0.2), Some(325));
        assert_eq!(tables.ablation["celeba"].labeled_at(3.0), None);
    }
}
