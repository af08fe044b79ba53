//! The short path writes what tracing-subscriber's `Full` format writes.

use super::*;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Lines written by a subscriber, for reading back.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// What `emit` logs, written once by `Text` and once by `Full` (with
/// colour or without); timestamps cut off.
fn both(ansi: bool, emit: impl Fn()) -> (String, String) {
    let (ours, theirs) = (Lines::default(), Lines::default());
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_writer(ours.clone())
        .event_format(Text::default())
        .finish();
    tracing::subscriber::with_default(subscriber, &emit);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_writer(theirs.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, &emit);
    let cut = |text: String| {
        text.lines()
            .map(|line| {
                // `2026-12-07T06:53:30.389118Z` (or its coloured spelling).
                let at = line.find('Z').expect("a timestamp");
                line[at + 1..].to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    (cut(ours.text()), cut(theirs.text()))
}

fn access(path: &str, latency_ms: f64) {
    let upstream = "127.0.0.1:8080";
    tracing::info!(
        target: "kingress::access",
        method = "GET",
        path,
        status = 200u16,
        route = "default.r.svc..80",
        consumer = "-",
        upstream = %upstream,
        latency_ms,
    );
}

#[test]
fn access_lines_are_byte_for_byte_those_of_the_full_format() {
    let paths = [
        "/plain",
        "/with \"quotes\" and \\ back",
        "/new\nline",
        "/tab\there",
        "/é/ü",
        "/\u{1b}[31mred",
        "/del\u{7f}",
        "/unit\u{1f}sep",
        "/ ~tilde and space~ ",
        "",
    ];
    let latencies = [
        0.98,
        12.0,
        0.001,
        1234.567,
        0.0,
        0.1 + 0.2,
        1e15,
        -1.0,
        f64::NAN,
        1.5e-7,
    ];
    for path in paths {
        for latency in latencies {
            let (ours, theirs) = both(false, || access(path, latency));
            assert_eq!(ours, theirs, "{path:?} {latency}");
            assert!(ours.contains("kingress::access"), "{ours}");
        }
    }
}

#[test]
fn other_lines_spans_and_colour_are_left_to_the_full_format() {
    let (ours, theirs) = both(false, || {
        tracing::warn!(target: "kingress::access", what = "warn", "a message");
        tracing::info!(target: "kingress::proxy", n = 3, "something else");
        let span = tracing::info_span!("conn", id = 7);
        let _in = span.enter();
        access("/in/a/span", 1.0);
    });
    assert_eq!(ours, theirs);
    assert!(ours.contains("conn{id=7}"), "{ours}");
    let (ours, theirs) = both(true, || access("/coloured", 2.5));
    assert_eq!(ours, theirs);
}

#[test]
fn thousandths_are_spelled_as_debug_spells_them() {
    let mut text = String::new();
    for k in (0..300_000u64).chain([999_999_999, 123_456_789_012, 999_999_999_999]) {
        let value = k as f64 / 1000.0;
        text.clear();
        milli(&mut text, value);
        assert_eq!(text, format!("{value:?}"), "{k}");
    }
}

#[test]
fn integers_are_spelled_as_display_spells_them() {
    let (ours, theirs) = both(false, || {
        for n in [0u64, 7, 10, 200, 65_535, u64::MAX] {
            tracing::info!(target: "kingress::access", n);
        }
        for n in [0i64, -1, -200, i64::MIN, i64::MAX] {
            tracing::info!(target: "kingress::access", n);
        }
    });
    assert_eq!(ours, theirs);
    assert!(ours.contains("n=18446744073709551615"), "{ours}");
}

#[test]
fn dates_are_rfc_3339_in_utc() {
    for (secs, date) in [
        (0, "1970-01-01T00:00:00"),
        (951_782_400, "2000-02-29T00:00:00"),
        (951_868_799, "2000-02-29T23:59:59"),
        (1_796_601_210, "2026-12-06T23:53:30"),
        (4_102_444_799, "2099-12-31T23:59:59"),
        (4_107_542_400, "2100-03-01T00:00:00"),
    ] {
        let mut text = String::new();
        civil(&mut text, secs).unwrap();
        assert_eq!(text, date, "{secs}");
    }
}
