//! Logging goes to a file in the state dir, never to the terminal (a TUI owns
//! the screen). Level: `RUST_LOG` if set, else `-v` count, else the config's.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber writing to `file`. Returns false (and logs
/// nothing) when the file cannot be opened; locus runs on without a log.
pub fn init(file: &Path, verbose: u8, configured: &str) -> bool {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::new(v),
        _ => EnvFilter::new(match verbose {
            0 => configured,
            1 => "debug",
            _ => "trace",
        }),
    };
    if let Some(parent) = file.parent()
        && std::fs::create_dir_all(parent).is_err()
    {
        return false;
    }
    let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    else {
        return false;
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(f))
        .try_init()
        .is_ok()
}
