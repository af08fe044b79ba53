//! Log setup: text or JSON lines on stderr, colour only for a person at a
//! terminal.

mod access_line;

use std::ffi::OsStr;
use std::io::IsTerminal;

/// Log lines queued for the writer thread before loggers wait (see [`init`]).
const QUEUED_LINES: usize = 16 * 1024;

/// Log lines, one per request with the access log on, are formatted on the
/// thread that logs and written to stderr by a thread of their own that
/// writes whatever has queued up in one go: a `write` per line cost the proxy
/// about a sixth of its CPU per request. The queue is bounded and not lossy:
/// when the writer falls behind, loggers wait rather than drop lines.
///
/// The queue holds [`QUEUED_LINES`]: tracing-appender's default of 128,000
/// is a channel of 4 MiB allocated up front, which a writer that empties
/// the queue in one go never needs.
///
/// The returned guard writes out the last lines when dropped: hold it to
/// the end of `main`.
pub fn init(format: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("kingress-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINGRESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(std::io::stderr().is_terminal(), no_color.as_deref()))
        .with_writer(writer);
    if format == "json" {
        builder.json().init();
    } else {
        builder.event_format(access_line::Text::default()).init();
    }
    guard
}

/// Whether text lines get ANSI colour: only on a terminal, and not when
/// `NO_COLOR` is set to anything but the empty string (no-color.org).
/// `kubectl logs`, files and pipes would otherwise show `\x1b[2m…` escapes.
fn colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }
}
