//! CelebA layout:
//!
//! ```text
//! ROOT/img_align_celeba/<name>      the images
//! ROOT/list_attr_celeba.txt         line 1: the number of images N
//!                                   line 2: the 40 attribute names
//!                                   then N rows: <name> and 40 values in {1, -1}
//! ROOT/list_eval_partition.txt      rows: <name> and 0 (train), 1 (val) or 2 (test)
//! ```
//!
//! Fields are separated by any run of spaces or tabs (the original file pads
//! with irregular spacing). Columns are matched to [`CELEBA`] by name.

use super::text::{check_unique, map_columns, numbered_lines, parse_labels, read_to_string};
use super::{DataError, Result, Sample, Split};
use crate::groups::{LabelSet, CELEBA};
use std::collections::HashMap;
use std::path::Path;

pub const IMAGES_DIR: &str = "img_align_celeba";
pub const ATTRIBUTES_FILE: &str = "list_attr_celeba.txt";
pub const PARTITION_FILE: &str = "list_eval_partition.txt";

pub(crate) fn read(root: &Path) -> Result<(LabelSet, Vec<Sample>)> {
    let path = root.join(ATTRIBUTES_FILE);
    let text = read_to_string(&path)?;
    let mut lines = numbered_lines(&text);
    let (count_line, count) = lines
        .next()
        .ok_or_else(|| DataError::parse(&path, 1, "empty file: expected the number of images"))?;
    let count: usize = count.trim().parse().map_err(|_| {
        DataError::parse(
            &path,
            count_line,
            format!("expected the number of images, found {count:?}"),
        )
    })?;
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| DataError::parse(&path, count_line + 1, "expected the attribute names"))?;
    let names: Vec<&str> = header.split_whitespace().collect();
    let columns = map_columns(&path, header_line, &names, CELEBA)?;

    let mut rows = Vec::with_capacity(count);
    for (line, row) in lines {
        let mut tokens = row.split_whitespace();
        let name = tokens.next().unwrap_or_default();
        let values: Vec<&str> = tokens.collect();
        let labels = parse_labels(&path, line, values.into_iter(), &columns, &[1, -1])?;
        rows.push((line, name, labels));
    }
    if rows.len() != count {
        return Err(DataError::invalid(
            &path,
            format!(
                "line {count_line} announces {count} images, the file lists {}",
                rows.len()
            ),
        ));
    }
    check_unique(&path, rows.iter().map(|(line, name, _)| (*line, *name)))?;

    let splits = read_partition(&root.join(PARTITION_FILE))?;
    let images = root.join(IMAGES_DIR);
    rows.into_iter()
        .map(|(line, name, labels)| {
            let split = *splits.get(name).ok_or_else(|| {
                DataError::parse(
                    &path,
                    line,
                    format!(
                        "{name:?} has no entry in {}",
                        root.join(PARTITION_FILE).display()
                    ),
                )
            })?;
            Ok(Sample {
                name: name.to_string(),
                image: images.join(name),
                labels,
                split,
                mask: None,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(|samples| (CELEBA, samples))
}

fn read_partition(path: &Path) -> Result<HashMap<String, Split>> {
    let text = read_to_string(path)?;
    let mut splits = HashMap::new();
    for (line, row) in numbered_lines(&text) {
        let tokens: Vec<&str> = row.split_whitespace().collect();
        let [name, code] = tokens[..] else {
            return Err(DataError::parse(
                path,
                line,
                format!(
                    "expected `<image name> <0|1|2>`, found {} fields",
                    tokens.len()
                ),
            ));
        };
        let split = match code {
            "0" => Split::Train,
            "1" => Split::Val,
            "2" => Split::Test,
            other => {
                return Err(DataError::parse(
                    path,
                    line,
                    format!("partition {other:?} is not 0 (train), 1 (val) or 2 (test)"),
                ))
            }
        };
        if splits.insert(name.to_string(), split).is_some() {
            return Err(DataError::parse(
                path,
                line,
                format!("{name:?} is listed twice"),
            ));
        }
    }
    Ok(splits)
}
