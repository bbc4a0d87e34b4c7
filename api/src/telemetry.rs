//! Logging set-up, done once per process.
//!
//! Levels come from `RUST_LOG` when it is set (it always wins), otherwise from a default
//! filter. `LOG_FORMAT=json` gives one JSON object per line; the default is human-readable.
//! Logs go to stderr: stdout is reserved for the JSON results of the `verta` commands.
//! Tests stay silent unless `TEST_LOG` is set ([`init_for_tests`]).

use std::sync::Once;

use service::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter used when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
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

/// Installs the global subscriber for the `verta` binary: stderr, `LOG_FORMAT` format.
pub fn init(format: LogFormat) {
    init_with(format, DEFAULT_FILTER, std::io::stderr);
}

/// For tests: logs to stderr only when `TEST_LOG` is set (any value), at `RUST_LOG` or
/// `debug`; otherwise nothing is printed. Safe to call from every test.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            init_with(LogFormat::Pretty, "debug", std::io::stderr);
        } else {
            init_with(LogFormat::Pretty, "off", std::io::sink);
        }
    });
}

fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
