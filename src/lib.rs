//! `ablate`: ablation studies of deep models, built first around SPL-Net
//! (Shu et al., facial attribute recognition from few labels).
//!
//! The flow: [`registry`] resolves variant files into toggles with a content
//! hash; later stages build the model from them, run grids and render reports.

pub mod bench;
pub mod data;
pub mod device;
pub mod experiment;
pub mod groups;
pub mod model;
pub mod profile;
pub mod registry;
pub mod report;
pub mod runner;
pub mod stats;
pub mod store;
pub mod train;
