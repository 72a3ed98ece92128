//! One error type for everything that reads or writes datasets: each variant
//! names the file and, where it applies, the line, column or pixel.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: cannot decode image: {source}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(
        "{path}: image is {found_width}x{found_height}, expected {width}x{height} like {reference}"
    )]
    ImageSize {
        path: PathBuf,
        found_width: u32,
        found_height: u32,
        width: u32,
        height: u32,
        reference: PathBuf,
    },
    #[error("{path}: pixel ({x}, {y}) has class {class}, but masks have {classes} classes (0..={max})", max = classes - 1)]
    MaskClass {
        path: PathBuf,
        x: u32,
        y: u32,
        class: u8,
        classes: usize,
    },
    #[error("invalid setting: {0}")]
    Setting(String),
    #[error(transparent)]
    Tensor(#[from] tch::TchError),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
