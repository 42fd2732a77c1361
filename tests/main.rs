//! Integration tests: one binary, modules per area, shared helpers in util.rs.

mod assets;
mod cli;
mod cloud;
mod config;
mod crash;
mod edit;
mod edit_props;
mod gate;
mod gemma4_tools;
mod git;
mod hygiene;
mod hygiene_props;
mod index;
mod models;
mod native_tools;
mod pull;
mod retrieval;
mod runtime;
mod session;
mod tags;
mod tools;
mod tui;
mod tui_term;
mod tui_terminal;
mod util;
mod workbench;
