//! Integration tests: one harness, one module per area.

mod cli;
mod data;
mod registry;
mod support;
