//! Pieces shared by the text formats: reading a file, mapping header names
//! onto a [`LabelSet`], parsing one row of label values.

use super::{DataError, Result};
use crate::groups::LabelSet;
use std::path::Path;

pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| DataError::io(path, source))
}

/// For each column of a header, the index of its attribute in `set`. Every
/// attribute of `set` must appear exactly once; unknown names are errors.
pub(crate) fn map_columns(
    path: &Path,
    line: usize,
    names: &[&str],
    set: LabelSet,
) -> Result<Vec<usize>> {
    let mut seen = vec![false; set.len()];
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let index = set.index_of(name).ok_or_else(|| {
            DataError::parse(
                path,
                line,
                format!(
                    "unknown attribute {name:?} (not one of the {} {} attributes)",
                    set.len(),
                    set.name
                ),
            )
        })?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(DataError::parse(
                path,
                line,
                format!("attribute {name:?} appears twice"),
            ));
        }
        columns.push(index);
    }
    if let Some(missing) = seen.iter().position(|&s| !s) {
        return Err(DataError::parse(
            path,
            line,
            format!("attribute {:?} is missing", set.labels[missing].0),
        ));
    }
    Ok(columns)
}

/// Parses the label values of one row, `tokens` in header order, into a
/// vector in `set` order (`columns` from [`map_columns`]).
pub(crate) fn parse_labels<'a>(
    path: &Path,
    line: usize,
    tokens: impl ExactSizeIterator<Item = &'a str>,
    columns: &[usize],
    allowed: &[i8],
) -> Result<Vec<i8>> {
    if tokens.len() != columns.len() {
        return Err(DataError::parse(
            path,
            line,
            format!(
                "expected {} label values, found {}",
                columns.len(),
                tokens.len()
            ),
        ));
    }
    let mut labels = vec![0i8; columns.len()];
    for (column, token) in tokens.enumerate() {
        let value = token
            .trim()
            .parse::<i8>()
            .ok()
            .filter(|v| allowed.contains(v))
            .ok_or_else(|| {
                DataError::parse(
                    path,
                    line,
                    format!(
                        "value {token:?} in column {} is not one of {allowed:?}",
                        column + 1
                    ),
                )
            })?;
        labels[columns[column]] = value;
    }
    Ok(labels)
}

/// Non-empty lines with their 1-based line numbers.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// Fails on the second occurrence of a name.
pub(crate) fn check_unique<'a>(
    path: &Path,
    names: impl Iterator<Item = (usize, &'a str)>,
) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (line, name) in names {
        if let Some(first) = seen.insert(name, line) {
            return Err(DataError::parse(
                path,
                line,
                format!("{name:?} already listed on line {first}"),
            ));
        }
    }
    Ok(())
}
