//! Configuration: the environment variables of DESIGN.md, parsed and validated once at start-up.
//!
//! [`Config::from_env`] is the only place that reads the process environment (and `.env`);
//! everything else receives a [`Config`] value. Tests build one directly
//! (`Config { database_url, ..Config::default() }`) or from a map with [`Config::from_map`],
//! never touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// Default `DATABASE_URL`: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://verta.db?mode=rwc";
/// Default `HOST`.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default `PORT`.
pub const DEFAULT_PORT: u16 = 25000;

/// Every variable [`Config`] reads, in the order of DESIGN.md.
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "HOST",
    "PORT",
    "ADMIN_API_KEY",
    "DISCORD_BOT_TOKEN",
    "DISCORD_API_PROXY",
    "SYNC_INTERVAL_SECS",
    "SYNC_CHANNEL_CONCURRENCY",
    "SYNC_REACTION_USERS",
    "SYNC_RESCAN_WINDOW_SECS",
    "ANONYMIZATION_SECRET",
    "LOG_FORMAT",
    "EXPORT_DIR",
    "READ_API_RATE_LIMIT",
];

/// Log output format (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable, coloured lines (default).
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The service's whole configuration. Built once, then passed down (cloned where needed).
///
/// `Debug` redacts the secrets (API key, bot token, anonymization secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://path?mode=rwc` or `mysql://user:pass@host:port/db`
    /// (MariaDB, MySQL, TiDB). Default [`DEFAULT_DATABASE_URL`].
    pub database_url: String,
    /// `HOST`: address the HTTP API binds to. Default `127.0.0.1`.
    pub host: String,
    /// `PORT`: TCP port of the HTTP API; 0 picks a free port (tests). Default 25000.
    pub port: u16,
    /// `ADMIN_API_KEY`: the secret expected in `X-API-KEY`. `None` means "generate a random key
    /// at start and log it once" (done by the API's start-up, not here).
    pub admin_api_key: Option<String>,
    /// `DISCORD_BOT_TOKEN`: the one bot token used for every tenant. `None`: sync jobs fail
    /// with a clear error.
    pub discord_bot_token: Option<String>,
    /// `DISCORD_API_PROXY`: `host:port`; when set, Discord requests go over plain HTTP to
    /// `http://host:port/api/v10/...` (fake Discord, rate-limit proxy).
    pub discord_api_proxy: Option<String>,
    /// `SYNC_INTERVAL_SECS`: scheduler period in seconds; 0 disables the scheduler.
    /// Default 3600.
    pub sync_interval_secs: u64,
    /// `SYNC_CHANNEL_CONCURRENCY`: channels fetched in parallel per worker process (>= 1).
    /// Default 8.
    pub sync_channel_concurrency: usize,
    /// `SYNC_REACTION_USERS`: fetch who reacted (one request per emoji per message).
    /// Default true.
    pub sync_reaction_users: bool,
    /// `SYNC_RESCAN_WINDOW_SECS`: re-read the last window (seconds) of channels active inside
    /// it, to see edits, reactions and deletions; 0 turns rescans off. Default 86400.
    pub sync_rescan_window_secs: u64,
    /// `ANONYMIZATION_SECRET`: when set, user ids become HMAC-SHA256(secret, id) hex; when
    /// `None`, plain SHA-256 hex of the id (the original's behaviour).
    pub anonymization_secret: Option<String>,
    /// `LOG_FORMAT`: `pretty` (default) or `json`. Levels come from `RUST_LOG`.
    pub log_format: LogFormat,
    /// `EXPORT_DIR`: where the export API routes write (`<dir>/<tenant slug>/...`).
    /// Default `./data-export` (the CLI's default `--out`).
    pub export_dir: std::path::PathBuf,
    /// `READ_API_RATE_LIMIT`: requests per minute per client IP on the public read API
    /// (`/api/v1`); 0 turns the limit off. Default 1000 (the original's).
    pub read_api_rate_limit: u32,
}

impl Default for Config {
    /// The documented defaults of every variable.
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            admin_api_key: None,
            discord_bot_token: None,
            discord_api_proxy: None,
            sync_interval_secs: 3600,
            sync_channel_concurrency: 8,
            sync_reaction_users: true,
            sync_rescan_window_secs: 86_400,
            anonymization_secret: None,
            log_format: LogFormat::Pretty,
            export_dir: std::path::PathBuf::from("./data-export"),
            read_api_rate_limit: 1000,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redact(v: &Option<String>) -> &'static str {
            if v.is_some() { "<set>" } else { "<unset>" }
        }
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("admin_api_key", &redact(&self.admin_api_key))
            .field("discord_bot_token", &redact(&self.discord_bot_token))
            .field("discord_api_proxy", &self.discord_api_proxy)
            .field("sync_interval_secs", &self.sync_interval_secs)
            .field("sync_channel_concurrency", &self.sync_channel_concurrency)
            .field("sync_reaction_users", &self.sync_reaction_users)
            .field("sync_rescan_window_secs", &self.sync_rescan_window_secs)
            .field("anonymization_secret", &redact(&self.anonymization_secret))
            .field("log_format", &self.log_format)
            .field("export_dir", &self.export_dir)
            .field("read_api_rate_limit", &self.read_api_rate_limit)
            .finish()
    }
}

/// The URL with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have credentials, which this one has.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Config {
    /// Read the configuration from the process environment, after loading `.env` from the
    /// working directory (or a parent) if there is one; variables already set in the
    /// environment win over `.env`. Call once at start-up.
    ///
    /// Errors: [`Error::Config`] naming the first invalid variable (or `.env` when that file
    /// cannot be parsed).
    pub fn from_env() -> Result<Self> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(Error::Config {
                    variable: ".env",
                    message: e.to_string(),
                });
            }
        }
        let mut vars = HashMap::new();
        for name in VARIABLES {
            match std::env::var(name) {
                Ok(v) => {
                    vars.insert((*name).to_owned(), v);
                }
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Error::Config {
                        variable: name,
                        message: "value is not valid UTF-8".into(),
                    });
                }
            }
        }
        Self::from_map(vars)
    }

    /// Build a configuration from `NAME -> value` pairs exactly as the environment would hold
    /// them (unknown names are ignored; a missing or empty value means "use the default").
    /// Used by [`Config::from_env`] and by tests.
    ///
    /// Errors: [`Error::Config`] naming the first invalid variable.
    pub fn from_map<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let get = |name: &str| vars.get(name).map(String::as_str);
        let defaults = Config::default();

        let database_url = match get("DATABASE_URL") {
            Some(url) => parse_database_url(url)?,
            None => defaults.database_url,
        };
        let host = get("HOST").map_or(defaults.host, str::to_owned);
        let port = parse_num("PORT", get("PORT"), defaults.port)?;
        let sync_interval_secs = parse_num(
            "SYNC_INTERVAL_SECS",
            get("SYNC_INTERVAL_SECS"),
            defaults.sync_interval_secs,
        )?;
        let sync_channel_concurrency = parse_num(
            "SYNC_CHANNEL_CONCURRENCY",
            get("SYNC_CHANNEL_CONCURRENCY"),
            defaults.sync_channel_concurrency,
        )?;
        if sync_channel_concurrency == 0 {
            return Err(Error::Config {
                variable: "SYNC_CHANNEL_CONCURRENCY",
                message: "must be at least 1".into(),
            });
        }
        let sync_reaction_users = match get("SYNC_REACTION_USERS") {
            Some(v) => parse_bool("SYNC_REACTION_USERS", v)?,
            None => defaults.sync_reaction_users,
        };
        let sync_rescan_window_secs = parse_num(
            "SYNC_RESCAN_WINDOW_SECS",
            get("SYNC_RESCAN_WINDOW_SECS"),
            defaults.sync_rescan_window_secs,
        )?;
        let discord_api_proxy = get("DISCORD_API_PROXY").map(parse_proxy).transpose()?;
        let log_format = match get("LOG_FORMAT") {
            None => LogFormat::Pretty,
            Some(v) if v.eq_ignore_ascii_case("pretty") => LogFormat::Pretty,
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(v) => {
                return Err(Error::Config {
                    variable: "LOG_FORMAT",
                    message: format!("expected `pretty` or `json`, got `{v}`"),
                });
            }
        };

        let read_api_rate_limit = parse_num(
            "READ_API_RATE_LIMIT",
            get("READ_API_RATE_LIMIT"),
            defaults.read_api_rate_limit,
        )?;
        let export_dir = get("EXPORT_DIR").map_or(defaults.export_dir, std::path::PathBuf::from);

        Ok(Self {
            database_url,
            host,
            port,
            admin_api_key: get("ADMIN_API_KEY").map(str::to_owned),
            discord_bot_token: get("DISCORD_BOT_TOKEN").map(str::to_owned),
            discord_api_proxy,
            sync_interval_secs,
            sync_channel_concurrency,
            sync_reaction_users,
            sync_rescan_window_secs,
            anonymization_secret: get("ANONYMIZATION_SECRET").map(str::to_owned),
            log_format,
            export_dir,
            read_api_rate_limit,
        })
    }

    /// Defaults everywhere except the database URL (handy in tests and tools).
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            ..Self::default()
        }
    }

    /// The scheduler period, or `None` when the scheduler is disabled (`SYNC_INTERVAL_SECS=0`).
    pub fn sync_interval(&self) -> Option<Duration> {
        (self.sync_interval_secs > 0).then(|| Duration::from_secs(self.sync_interval_secs))
    }

    /// The rescan window, or `None` when rescans are off (`SYNC_RESCAN_WINDOW_SECS=0`).
    pub fn sync_rescan_window(&self) -> Option<Duration> {
        (self.sync_rescan_window_secs > 0)
            .then(|| Duration::from_secs(self.sync_rescan_window_secs))
    }

    /// `HOST:PORT`, ready for a socket bind.
    pub fn listen_address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn parse_database_url(url: &str) -> Result<String> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" | "mysql" => Ok(url.to_owned()),
        _ => Err(Error::Config {
            variable: "DATABASE_URL",
            message: format!(
                "unsupported scheme `{scheme}`: expected sqlite://... or mysql://... (MariaDB, MySQL, TiDB)"
            ),
        }),
    }
}

fn parse_num<T: std::str::FromStr>(
    variable: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T>
where
    T::Err: fmt::Display,
{
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| Error::Config {
            variable,
            message: format!("`{v}` is not a valid non-negative integer in range: {e}"),
        }),
    }
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::Config {
            variable,
            message: format!("expected true or false, got `{value}`"),
        }),
    }
}

fn parse_proxy(value: &str) -> Result<String> {
    let invalid = |why: &str| Error::Config {
        variable: "DISCORD_API_PROXY",
        message: format!("expected `host:port` (no scheme), got `{value}`: {why}"),
    };
    if value.contains("://") || value.contains('/') {
        return Err(invalid("remove the scheme and path"));
    }
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| invalid("missing port"))?;
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    port.parse::<u16>()
        .map_err(|_| invalid("port is not a number 0-65535"))?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable_of(err: Error) -> &'static str {
        match err {
            Error::Config { variable, .. } => variable,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn empty_environment_gives_documented_defaults() {
        let c = Config::from_map(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.database_url, "sqlite://verta.db?mode=rwc");
        assert_eq!(c.listen_address(), "127.0.0.1:25000");
        assert_eq!(c.sync_interval(), Some(Duration::from_secs(3600)));
        assert_eq!(c.sync_channel_concurrency, 8);
        assert!(c.sync_reaction_users);
        assert_eq!(c.sync_rescan_window_secs, 86_400);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(c.admin_api_key.is_none() && c.anonymization_secret.is_none());
    }

    #[test]
    fn every_variable_is_read() {
        let c = Config::from_map([
            ("DATABASE_URL", "mysql://root@127.0.0.1:3307/verta"),
            ("HOST", "0.0.0.0"),
            ("PORT", "8080"),
            ("ADMIN_API_KEY", "k"),
            ("DISCORD_BOT_TOKEN", "t"),
            ("DISCORD_API_PROXY", "127.0.0.1:9999"),
            ("SYNC_INTERVAL_SECS", "0"),
            ("SYNC_CHANNEL_CONCURRENCY", "2"),
            ("SYNC_REACTION_USERS", "false"),
            ("SYNC_RESCAN_WINDOW_SECS", "60"),
            ("ANONYMIZATION_SECRET", "s"),
            ("LOG_FORMAT", "json"),
            ("UNRELATED", "ignored"),
        ])
        .unwrap();
        assert_eq!(c.database_url, "mysql://root@127.0.0.1:3307/verta");
        assert_eq!(c.listen_address(), "0.0.0.0:8080");
        assert_eq!(c.admin_api_key.as_deref(), Some("k"));
        assert_eq!(c.discord_bot_token.as_deref(), Some("t"));
        assert_eq!(c.discord_api_proxy.as_deref(), Some("127.0.0.1:9999"));
        assert_eq!(c.sync_interval(), None);
        assert_eq!(c.sync_channel_concurrency, 2);
        assert!(!c.sync_reaction_users);
        assert_eq!(c.sync_rescan_window(), Some(Duration::from_secs(60)));
        assert_eq!(c.anonymization_secret.as_deref(), Some("s"));
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn empty_values_mean_default() {
        let c = Config::from_map([("ADMIN_API_KEY", ""), ("PORT", " ")]).unwrap();
        assert_eq!(c.admin_api_key, None);
        assert_eq!(c.port, DEFAULT_PORT);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases = [
            ("DATABASE_URL", "postgres://x/y"),
            ("PORT", "70000"),
            ("PORT", "abc"),
            ("SYNC_INTERVAL_SECS", "-1"),
            ("SYNC_CHANNEL_CONCURRENCY", "0"),
            ("SYNC_REACTION_USERS", "maybe"),
            ("SYNC_RESCAN_WINDOW_SECS", "1.5"),
            ("DISCORD_API_PROXY", "http://127.0.0.1:9999"),
            ("DISCORD_API_PROXY", "localhost"),
            ("LOG_FORMAT", "xml"),
        ];
        for (name, value) in cases {
            let err = Config::from_map([(name, value)]).unwrap_err();
            assert_eq!(variable_of(err), name, "{name}={value}");
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = Config {
            database_url: "mysql://root:hunter2@db/verta".into(),
            admin_api_key: Some("topsecret".into()),
            discord_bot_token: Some("bottoken".into()),
            anonymization_secret: Some("pepper".into()),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        for secret in ["hunter2", "topsecret", "bottoken", "pepper"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }
}
