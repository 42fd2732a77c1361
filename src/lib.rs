//! locus: a local-first coding assistant for the terminal.
//!
//! Data flows one way: index -> context -> model -> edit -> session -> tui;
//! `git`, `config`, `assets` and `theme` are leaves anyone may use.

pub mod assets;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod context;
pub mod edit;
pub mod git;
pub mod index;
pub mod jsonl;
pub mod logging;
pub mod model;
pub mod route;
pub mod session;
pub mod terminal;
pub mod theme;
pub mod tokens;
pub mod tools;
pub mod tui;
pub mod workspace;
