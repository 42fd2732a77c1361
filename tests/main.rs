//! Integration tests: one binary, modules per area, shared helpers in util.rs.

mod assets;
mod cli;
mod config;
mod index;
mod tags;
mod util;
