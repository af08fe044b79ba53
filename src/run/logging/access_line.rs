//! The text log format, with the access log's line written by a short path.
//!
//! tracing-subscriber's `Full` format spends some 15,000 instructions on
//! one access log line (generic `fmt::write` machinery, styles painted even
//! when colour is off, a date computed from scratch): a third of what
//! proxying the request costs. Lines of the `kingress::access` target,
//! outside any span and without colour, are written here byte for byte as
//! `Full` writes them (a test compares the two); every other line, and
//! every line on a colour terminal, is `Full`'s.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as Timer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The access log's target.
pub(super) const ACCESS: &str = "kingress::access";

/// `Full`, with access log lines taken by the short path.
#[derive(Default)]
pub(super) struct Text {
    full: Format<Full, Timer>,
}

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != ACCESS
            || *meta.level() != Level::INFO
            || writer.has_ansi_escapes()
            || ctx.event_scope().is_some()
        {
            return self.full.format_event(ctx, writer, event);
        }
        // Built in a buffer of this thread's, then written in one call: the
        // writer is a `dyn` one, costly per small piece.
        LINE.with_borrow_mut(|line| {
            line.clear();
            timestamp(line, SystemTime::now())?;
            line.push_str(" INFO kingress::access: ");
            let mut fields = Fields { line, first: true };
            event.record(&mut fields);
            line.push('\n');
            writer.write_str(line)
        })
    }
}

thread_local! {
    /// The line being written.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Writes fields as `Full`'s visitor does: `name=value` apart by spaces,
/// values in their `Debug` spelling.
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    /// The separator and `name=`.
    fn name(&mut self, field: &Field) -> &mut String {
        let name = field.name();
        // One reservation for the separator, the name and `=`.
        self.line.reserve(name.len() + 2);
        if !self.first {
            self.line.push(' ');
        }
        self.first = false;
        self.line.push_str(name);
        self.line.push('=');
        self.line
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let line = self.name(field);
        // `Debug` of a string that needs no escape is the string in quotes.
        // Branch-free, so the compiler checks 16 bytes at a time.
        let plain = !value.bytes().fold(false, |escape, b| {
            escape | (b.wrapping_sub(b' ') > b'~' - b' ') | (b == b'"') | (b == b'\\')
        });
        if plain {
            line.push('"');
            line.push_str(value);
            line.push('"');
        } else {
            let _ = write!(line, "{value:?}");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        decimal(self.name(field), value, 1);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let line = self.name(field);
        if value < 0 {
            line.push('-');
        }
        decimal(line, value.unsigned_abs(), 1);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        milli(self.name(field), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let line = self.name(field);
        let _ = write!(line, "{value:?}");
    }
}

/// `Debug` of `value`: for a whole number of thousandths (the access log's
/// milliseconds) the shortest spelling is its digits with trailing zeros
/// dropped, written here without the float machinery; anything else as
/// `Debug` writes it.
fn milli(line: &mut String, value: f64) {
    let thousandths = (value * 1000.0).round();
    let exact = (0.0..1e12).contains(&thousandths) && thousandths / 1000.0 == value;
    if !exact {
        let _ = write!(line, "{value:?}");
        return;
    }
    // In range and whole: the cast is exact.
    let thousandths = thousandths as u64;
    let (whole, mut frac) = (thousandths / 1000, thousandths % 1000);
    decimal(line, whole, 1);
    line.push('.');
    if frac == 0 {
        line.push('0');
        return;
    }
    let mut digits = 3;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    decimal(line, frac, digits);
}

/// `value` in decimal, zero-padded to at least `width` digits (at most 20),
/// without the formatting machinery.
fn decimal(line: &mut String, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 {
        start -= 1;
        // A digit: `value % 10` is below 10.
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    start = start.min(digits.len() - width.clamp(1, digits.len()));
    // ASCII digits only.
    line.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

thread_local! {
    /// The last second written and its `YYYY-MM-DDTHH:MM:SS`: lines of one
    /// second share the date arithmetic.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `Full`'s timestamp: RFC 3339 in UTC with microseconds, then a space.
fn timestamp(line: &mut String, now: SystemTime) -> fmt::Result {
    let Ok(since) = now.duration_since(UNIX_EPOCH) else {
        line.push_str("<unknown time> ");
        return Ok(());
    };
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            *second = secs;
            text.clear();
            civil(text, secs)?;
        }
        line.push_str(text);
        Ok::<_, fmt::Error>(())
    })?;
    write!(line, ".{:06}Z ", since.subsec_micros())
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` after the epoch (proleptic Gregorian,
/// UTC; days to a date by Howard Hinnant's `civil_from_days`).
fn civil(out: &mut String, secs: u64) -> fmt::Result {
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests;
