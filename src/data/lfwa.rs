//! LFWA as plain text (docs/data.md shows how to convert the `.mat` files):
//!
//! ```text
//! ROOT/lfw/<path>                 the images (e.g. lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg)
//! ROOT/lfwa_attributes.txt        line 1: the 40 CelebA attribute names
//!                                 then one row per image: <path> and 40 values in {1, -1}
//! ROOT/lfwa_train.txt             one <path> per line
//! ROOT/lfwa_test.txt              one <path> per line
//! ```
//!
//! Every image of the attribute file must be in exactly one split list, and
//! the lists may name only images of the attribute file. LFWA has no
//! validation split.

use super::text::{check_unique, map_columns, numbered_lines, parse_labels, read_to_string};
use super::{DataError, Result, Sample, Split};
use crate::groups::{LabelSet, CELEBA};
use std::collections::HashMap;
use std::path::Path;

pub const IMAGES_DIR: &str = "lfw";
pub const ATTRIBUTES_FILE: &str = "lfwa_attributes.txt";
pub const SPLIT_FILES: [(&str, Split); 2] = [
    ("lfwa_train.txt", Split::Train),
    ("lfwa_test.txt", Split::Test),
];

pub(crate) fn read(root: &Path) -> Result<(LabelSet, Vec<Sample>)> {
    let splits = read_split_lists(root)?;
    let path = root.join(ATTRIBUTES_FILE);
    let text = read_to_string(&path)?;
    let mut lines = numbered_lines(&text);
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| DataError::parse(&path, 1, "empty file: expected the attribute names"))?;
    let names: Vec<&str> = header.split_whitespace().collect();
    let columns = map_columns(&path, header_line, &names, CELEBA)?;

    let images = root.join(IMAGES_DIR);
    let mut samples = Vec::new();
    let mut rows = Vec::new();
    for (line, row) in lines {
        let mut tokens = row.split_whitespace();
        let name = tokens.next().unwrap_or_default();
        let values: Vec<&str> = tokens.collect();
        let labels = parse_labels(&path, line, values.into_iter(), &columns, &[1, -1])?;
        let split = *splits.get(name).ok_or_else(|| {
            DataError::parse(&path, line, format!("{name:?} is in no split list"))
        })?;
        rows.push((line, name));
        samples.push(Sample {
            name: name.to_string(),
            image: images.join(name),
            labels,
            split,
            mask: None,
        });
    }
    check_unique(&path, rows.iter().copied())?;
    if samples.len() != splits.len() {
        let listed: std::collections::HashSet<&str> = rows.iter().map(|(_, n)| *n).collect();
        let stray = splits
            .keys()
            .find(|name| !listed.contains(name.as_str()))
            .map_or("", String::as_str);
        return Err(DataError::invalid(
            &path,
            format!("a split list names {stray:?}, which has no attribute row"),
        ));
    }
    Ok((CELEBA, samples))
}

fn read_split_lists(root: &Path) -> Result<HashMap<String, Split>> {
    let mut splits = HashMap::new();
    for (file, split) in SPLIT_FILES {
        let path = root.join(file);
        let text = read_to_string(&path)?;
        for (line, row) in numbered_lines(&text) {
            let name = row.trim();
            if name.split_whitespace().count() != 1 {
                return Err(DataError::parse(
                    &path,
                    line,
                    "expected one image path per line",
                ));
            }
            if splits.insert(name.to_string(), split).is_some() {
                return Err(DataError::parse(
                    &path,
                    line,
                    format!("{name:?} is already in a split list"),
                ));
            }
        }
    }
    Ok(splits)
}
