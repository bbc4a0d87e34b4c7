//! Logging set-up, done once per process.
//!
//! Levels come from `RUST_LOG` when it is set and not blank (it always wins), otherwise from
//! [`DEFAULT_FILTER`]: Verta's own crates at INFO, every dependency at WARN (twilight's rate
//! limiter, for one, logs each wait at INFO). `LOG_FORMAT=json` gives one JSON object per
//! line; the default is human-readable. Logs go to stderr: stdout is reserved for the JSON
//! results of the `verta` commands. While a command draws a progress bar there
//! ([`show_progress`]), each log line is written above the bar instead of through it. Tests
//! stay silent unless `TEST_LOG` is set ([`init_for_tests`]).

use std::io::{self, Write};
use std::sync::{Once, PoisonError, RwLock};

use indicatif::ProgressBar;
use service::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter used when `RUST_LOG` is unset or blank: WARN for dependencies, INFO for
/// Verta's own crates (the binary's and the library crates' targets).
pub const DEFAULT_FILTER: &str =
    "warn,verta=info,api=info,service=info,entity=info,migration=info,testkit=info";

fn filter(default: &str) -> EnvFilter {
    match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) if !directives.trim().is_empty() => {
            EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(default))
        }
        _ => EnvFilter::new(default),
    }
}

/// Installs the global subscriber writing to `sink`. Returns `false` (and changes nothing)
/// when a subscriber is already installed.
pub fn init_with<W>(format: LogFormat, default_filter: &str, sink: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(default_filter))
        .with_writer(sink);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.with_ansi(stderr_is_terminal()).try_init(),
    };
    result.is_ok()
}

/// Installs the global subscriber for the `verta` binary: stderr (above the progress bar,
/// if one is shown), `LOG_FORMAT` format.
pub fn init(format: LogFormat) {
    init_with(format, DEFAULT_FILTER, AboveProgressBar(io::stderr));
}

/// For tests: logs to stderr only when `TEST_LOG` is set (any value), at `RUST_LOG` or
/// `debug`; otherwise nothing is printed. Safe to call from every test.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            init_with(LogFormat::Pretty, "debug", io::stderr);
        } else {
            init_with(LogFormat::Pretty, "off", io::sink);
        }
    });
}

fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal()
}

/// The progress bar a command is drawing on stderr, if any.
static PROGRESS_BAR: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// Makes log lines go around `bar` (which draws on stderr) until the guard is dropped:
/// the bar is cleared, the line written, the bar redrawn. One bar at a time; showing another
/// replaces it.
#[must_use = "log lines go around the bar only while the guard lives"]
pub fn show_progress(bar: &ProgressBar) -> ProgressGuard {
    *PROGRESS_BAR.write().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
    ProgressGuard(())
}

/// Returned by [`show_progress`]; log lines stop going around the bar when it is dropped.
#[derive(Debug)]
pub struct ProgressGuard(());

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        *PROGRESS_BAR.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Runs `write` with the current progress bar (if any) hidden.
fn around_bar<R>(write: impl FnOnce() -> R) -> R {
    // Cloned (a reference count) so that the lock is not held while writing.
    let bar = PROGRESS_BAR
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// A [`MakeWriter`] whose writers hide the progress bar of [`show_progress`] while they
/// write. tracing's formatter writes each event with one `write_all`, so a line is never
/// split around a redraw.
#[derive(Debug, Clone, Copy, Default)]
pub struct AboveProgressBar<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for AboveProgressBar<M> {
    type Writer = AboveProgressBarWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        AboveProgressBarWriter(self.0.make_writer())
    }
}

/// The writer of [`AboveProgressBar`].
#[derive(Debug)]
pub struct AboveProgressBarWriter<W>(W);

impl<W: Write> Write for AboveProgressBarWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        around_bar(|| self.0.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        around_bar(|| self.0.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, ProgressStyle, TermLike};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// What reached the terminal, in order: the bar's drawing and the log lines.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl Screen {
        fn push(&self, event: String) {
            self.0.lock().unwrap().push(event);
        }

        fn events(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, n: usize) -> io::Result<()> {
            self.push(format!("up {n}"));
            Ok(())
        }
        fn move_cursor_down(&self, n: usize) -> io::Result<()> {
            self.push(format!("down {n}"));
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.push(format!("bar {s}"));
            Ok(())
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.push(format!("bar {s}"));
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.push("clear".into());
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.push(format!("log {}", String::from_utf8_lossy(buf).trim_end()));
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Screen {
        type Writer = Screen;
        fn make_writer(&'a self) -> Screen {
            self.clone()
        }
    }

    /// The event through a subscriber with the default filter, onto `screen`.
    fn log_with_default_filter(screen: &Screen, emit: impl FnOnce()) {
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new(DEFAULT_FILTER))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .without_time()
                    .with_writer(AboveProgressBar(screen.clone())),
            );
        tracing::subscriber::with_default(subscriber, emit);
    }

    #[test]
    fn log_lines_are_written_above_the_progress_bar_not_through_it() {
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(10),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.set_style(ProgressStyle::with_template("{pos}/{len}").unwrap());
        bar.set_position(3);
        let guard = show_progress(&bar);
        log_with_default_filter(&screen, || {
            tracing::warn!(target: "service::sync", "channel failed");
        });
        drop(guard);
        bar.finish_and_clear();

        let events = screen.events();
        let log = events
            .iter()
            .position(|e| e.starts_with("log ") && e.contains("channel failed"))
            .unwrap_or_else(|| panic!("no log line in {events:?}"));
        let drawn_before = events[..log].iter().rposition(|e| e == "bar 3/10");
        let cleared = events[..log].iter().rposition(|e| e == "clear");
        assert!(
            drawn_before.is_some() && cleared > drawn_before,
            "the bar is cleared before the line is written: {events:?}"
        );
        assert!(
            events[log + 1..].iter().any(|e| e == "bar 3/10"),
            "the bar is drawn again below the line: {events:?}"
        );
    }

    #[test]
    fn dependencies_log_at_warn_and_verta_at_info_by_default() {
        let screen = Screen::default();
        log_with_default_filter(&screen, || {
            tracing::info!(target: "twilight_http_ratelimiting::actor", "globally exhausted");
            tracing::warn!(target: "actix_server::worker", "worker failed");
            tracing::info!(target: "service::sync::engine", "job completed");
            tracing::info!(target: "api::startup", "HTTP API listening");
            tracing::debug!(target: "service::sync::engine", "page fetched");
        });
        let logged = screen.events().join("\n");
        assert!(!logged.contains("globally exhausted"), "{logged}");
        assert!(!logged.contains("page fetched"), "{logged}");
        for line in ["worker failed", "job completed", "HTTP API listening"] {
            assert!(logged.contains(line), "{line} missing from:\n{logged}");
        }
    }
}
