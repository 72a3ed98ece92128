//! MAAD-Face over the VGGFace2 images:
//!
//! ```text
//! ROOT/MAAD_Face.csv        header: Filename,Identity and the 47 attribute names
//!                           rows: <Filename>,<Identity>, 47 values in {1, 0, -1}
//! ROOT/train/<Filename>     VGGFace2 training images (split train)
//! ROOT/test/<Filename>      VGGFace2 test images (split test)
//! ```
//!
//! 0 means undefined: such a label counts neither as positive nor negative
//! and is excluded from loss and accuracy. An image's split is the VGGFace2
//! directory it is found in; MAAD has no validation split.

use super::text::{check_unique, map_columns, numbered_lines, parse_labels, read_to_string};
use super::{DataError, Result, Sample, Split};
use crate::groups::{LabelSet, MAAD};
use std::path::Path;

pub const ATTRIBUTES_FILE: &str = "MAAD_Face.csv";
pub const SPLIT_DIRS: [(&str, Split); 2] = [("train", Split::Train), ("test", Split::Test)];
const KEY_COLUMNS: [&str; 2] = ["Filename", "Identity"];

pub(crate) fn read(root: &Path) -> Result<(LabelSet, Vec<Sample>)> {
    let path = root.join(ATTRIBUTES_FILE);
    let text = read_to_string(&path)?;
    let mut lines = numbered_lines(&text);
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| DataError::parse(&path, 1, "empty file: expected a header"))?;
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    if header.len() < 2 || header[..2] != KEY_COLUMNS {
        return Err(DataError::parse(
            &path,
            header_line,
            "the header must start with Filename,Identity",
        ));
    }
    let columns = map_columns(&path, header_line, &header[2..], MAAD)?;

    let mut samples = Vec::new();
    let mut names = Vec::new();
    for (line, row) in lines {
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() != header.len() {
            return Err(DataError::parse(
                &path,
                line,
                format!("expected {} fields, found {}", header.len(), fields.len()),
            ));
        }
        let name = fields[0].trim();
        let labels = parse_labels(
            &path,
            line,
            fields[2..].iter().copied(),
            &columns,
            &[1, 0, -1],
        )?;
        let (image, split) = SPLIT_DIRS
            .iter()
            .map(|(dir, split)| (root.join(dir).join(name), *split))
            .find(|(image, _)| image.is_file())
            .ok_or_else(|| {
                DataError::parse(
                    &path,
                    line,
                    format!("{name:?} is in neither train/ nor test/"),
                )
            })?;
        names.push((line, name));
        samples.push(Sample {
            name: name.to_string(),
            image,
            labels,
            split,
            mask: None,
        });
    }
    check_unique(&path, names.into_iter())?;
    Ok((MAAD, samples))
}
