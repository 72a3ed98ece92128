//! Integration tests: one harness, one module per area.

mod bench;
mod cli;
mod data;
mod model;
mod registry;
mod report;
mod runner;
mod store;
mod support;
mod train;
