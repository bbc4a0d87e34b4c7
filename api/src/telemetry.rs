//! Logging set-up, done once per process.
//!
//! Levels come from `RUST_LOG` when it is set and not blank (it always wins), otherwise from
//! [`DEFAULT_FILTER`]: Verta's own crates at INFO, every dependency at WARN (twilight's rate
//! limiter, for one, logs each wait at INFO). `LOG_FORMAT=json` gives one JSON object per
//! line; the default is human-readable. Logs go to stderr: stdout is reserved for the JSON
//! results of the `verta` commands. While a command draws a progress bar there
//! ([`show_progress`]), each log line is written above the bar instead of through it. Tests
//! stay silent unless `TEST_LOG` is set ([`init_for_tests`]). Every HTTP request runs in a
//! [`RequestSpan`].

use std::io::{self, Write};
use std::sync::{Once, PoisonError, RwLock};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Version, header};
use indicatif::ProgressBar;
use service::config::LogFormat;
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::client_ip::client_ip;

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

/// The span of every HTTP request (`TracingLogger::<RequestSpan>`): the fields of
/// tracing-actix-web's default root span (OpenTelemetry's names: method, route, target, user
/// agent, status, request id, error), except that `http.client_ip` is [`client_ip`]'s address,
/// the one the rate limits count, rather than whatever `Forwarded` or `X-Forwarded-For` a
/// client chose to send. Every log line of the request carries these fields.
#[derive(Debug)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let client_ip = client_ip(request.request())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "default".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("");
        let connection = request.connection_info();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.flavor = http_flavor(request.version()),
            http.scheme = %connection.scheme(),
            http.host = %connection.host(),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.target = %target,
            http.status_code = Empty,
            otel.name = %format_args!("{} {}", request.method(), route),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        // The status and error fields are recorded by name, the same as the default span's.
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

fn http_flavor(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2.0",
        Version::HTTP_3 => "3.0",
        _ => "unknown",
    }
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

    /// What the request log shows for a request from `peer` with `X-Forwarded-For: forwarded`
    /// to an application trusting `proxies`.
    async fn logged_request(peer: &str, forwarded: &str, proxies: &str) -> String {
        use actix_web::{App, test, web};
        use tracing_actix_web::TracingLogger;

        let screen = Screen::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_writer(screen.clone()),
        );
        // The test runtime runs the handler on this thread, where the guard is the default.
        let _guard = tracing::subscriber::set_default(subscriber);
        let config = service::Config {
            trusted_proxies: proxies.parse().unwrap(),
            ..service::Config::default()
        };
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(config))
                .route(
                    "/page",
                    web::get().to(|| async {
                        tracing::info!("handled");
                        "ok"
                    }),
                )
                .wrap(TracingLogger::<RequestSpan>::new()),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/page")
            .peer_addr(peer.parse().unwrap())
            .insert_header(("X-Forwarded-For", forwarded))
            .insert_header(("User-Agent", "probe/1"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert!(response.status().is_success());
        screen.events().join("\n")
    }

    #[actix_web::test]
    async fn the_request_log_shows_the_client_address_the_rate_limit_counts() {
        let direct = logged_request("198.51.100.7:5000", "203.0.113.66", "").await;
        assert!(direct.contains("http.client_ip=198.51.100.7"), "{direct}");
        assert!(
            !direct.contains("203.0.113.66"),
            "a spoofed address is logged: {direct}"
        );
        for field in [
            "http.method=GET",
            "http.route=/page",
            "http.target=/page",
            "http.user_agent=probe/1",
            "request_id=",
        ] {
            assert!(direct.contains(field), "{field} missing: {direct}");
        }

        let proxied = logged_request("10.0.0.2:5000", "203.0.113.66", "10.0.0.0/8").await;
        assert!(proxied.contains("http.client_ip=203.0.113.66"), "{proxied}");
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
