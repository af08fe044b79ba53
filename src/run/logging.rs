//! Log setup: text or JSON lines on stderr, colour only for a person at a
//! terminal.

mod access_line;
pub mod batch;

use std::ffi::OsStr;
use std::io::IsTerminal;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Log lines, one per request with the access log on, are formatted on the
/// thread that logs and handed to a writer thread that writes what gathered
/// every 50 ms in one go (see [`batch`]): a `write` per line cost the proxy
/// about a sixth of its CPU per request, and a writer woken per line most of
/// what remained of the access log's cost. Nothing is dropped: when the
/// writer falls behind, loggers wait.
///
/// The returned guard writes out the last lines when dropped: hold it to
/// the end of `main`. Should the writer thread not start, lines go to
/// stderr directly.
pub fn init(format: &str) -> Option<batch::Guard> {
    let (writer, guard) = match batch::start(std::io::stderr()) {
        Ok((batch, guard)) => (BoxMakeWriter::new(batch), Some(guard)),
        Err(e) => {
            eprintln!("kingress: no log writer thread ({e}); writing logs directly");
            (BoxMakeWriter::new(std::io::stderr), None)
        }
    };
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
