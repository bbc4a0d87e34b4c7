//! Configuration: the environment variables of docs/design.md, declared once as a clap
//! [`Args`](clap::Args) struct, parsed and validated once at start-up.
//!
//! The `verta` binary flattens [`Config`] into its command line: every variable is also a
//! global `--flag`, and `verta --help` (and every subcommand's help) lists each one with its
//! default. The binary loads `.env` ([`load_dotenv`]) before clap reads the environment, and
//! builds its command through [`ignore_blank_variables`] so that `NAME=` means "the default".
//! Nothing else reads the process environment: the rest of the code receives a [`Config`].
//! Tests build one directly (`Config { database_url, ..Config::default() }`) or from
//! `NAME -> value` pairs with [`Config::from_map`], never touching the process environment.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Args, Command, FromArgMatches};

use crate::discord::DISCORD_GLOBAL_LIMIT;
use crate::error::{Error, Result};

mod trusted_proxies;

pub use trusted_proxies::TrustedProxies;

/// Default `DATABASE_URL`: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://verta.db?mode=rwc";
/// Default `HOST`.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default `PORT`.
pub const DEFAULT_PORT: u16 = 25000;
/// Default `EXPORT_DIR` (the CLI's default `--out` as well).
pub const DEFAULT_EXPORT_DIR: &str = "./data-export";

/// Every variable [`Config`] reads, in the order of its fields (a test keeps the two equal).
/// The deployment files and the README are checked against this list.
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "HOST",
    "PORT",
    "ADMIN_API_KEY",
    "DISCORD_BOT_TOKEN",
    "DISCORD_API_PROXY",
    "DISCORD_GLOBAL_RATE_LIMIT",
    "SYNC_INTERVAL_SECS",
    "SYNC_CHANNEL_CONCURRENCY",
    "SYNC_REACTION_USERS",
    "SYNC_RESCAN_WINDOW_SECS",
    "ANONYMIZATION_SECRET",
    "LOG_FORMAT",
    "EXPORT_DIR",
    "READ_API_RATE_LIMIT",
    "TRUSTED_PROXIES",
    "SITE_BASE_URL",
    "SITE_CACHE_SECS",
    "SEARCH_INDEX_DIR",
    "ATTACHMENT_STORE",
    "ATTACHMENT_MAX_BYTES",
    "SYNC_ATTACHMENT_FILES",
    "SYNC_ATTACHMENT_CONCURRENCY",
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

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        })
    }
}

/// The service's whole configuration. Built once, then passed down (cloned where needed).
///
/// Each field is one environment variable (named in its `env`), also settable as a global
/// flag of `verta`. `Debug` redacts the secrets (API key, bot token, anonymization secret)
/// and the database password; help never prints their values.
#[derive(Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Configuration (flag or environment variable)")]
pub struct Config {
    /// Database: sqlite://FILE?mode=rwc or mysql://USER:PASS@HOST:PORT/DB (MariaDB, MySQL,
    /// TiDB).
    #[arg(
        long, env = "DATABASE_URL", global = true, hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL, value_parser = Var::new(parse_database_url)
    )]
    pub database_url: String,

    /// Address the HTTP API binds to.
    #[arg(
        long, env = "HOST", global = true,
        default_value = DEFAULT_HOST, value_parser = Var::new(parse_text)
    )]
    pub host: String,

    /// TCP port of the HTTP API; 0 picks a free port.
    #[arg(
        long, env = "PORT", global = true,
        default_value_t = DEFAULT_PORT, value_parser = Var::new(parse_number::<u16>)
    )]
    pub port: u16,

    /// The secret expected in the X-API-KEY header; when unset, a random key is generated at
    /// start and logged once.
    #[arg(
        long, env = "ADMIN_API_KEY", global = true, hide_env_values = true,
        value_parser = Var::new(parse_text)
    )]
    pub admin_api_key: Option<String>,

    /// The one Discord bot token used for every tenant; when unset, sync jobs fail with a
    /// clear error.
    #[arg(
        long, env = "DISCORD_BOT_TOKEN", global = true, hide_env_values = true,
        value_parser = Var::new(parse_text)
    )]
    pub discord_bot_token: Option<String>,

    /// HOST:PORT; when set, Discord requests go over plain HTTP to
    /// http://HOST:PORT/api/v10/... (the fake Discord, a rate-limit proxy).
    #[arg(
        long, env = "DISCORD_API_PROXY", global = true,
        value_parser = Var::new(parse_proxy)
    )]
    pub discord_api_proxy: Option<String>,

    /// Requests per second the Discord client allows itself in all (>= 1); raise it for a
    /// bot whose global limit Discord has raised.
    #[arg(
        long, env = "DISCORD_GLOBAL_RATE_LIMIT", global = true,
        default_value_t = DISCORD_GLOBAL_LIMIT,
        value_parser = Var::new(parse_at_least_one::<u16>)
    )]
    pub discord_global_rate_limit: u16,

    /// Scheduler period in seconds; 0 disables the scheduler.
    #[arg(
        long, env = "SYNC_INTERVAL_SECS", global = true,
        default_value_t = 3600, value_parser = Var::new(parse_number::<u64>)
    )]
    pub sync_interval_secs: u64,

    /// Channels fetched in parallel per worker process (>= 1).
    #[arg(
        long, env = "SYNC_CHANNEL_CONCURRENCY", global = true,
        default_value_t = 8, value_parser = Var::new(parse_at_least_one::<usize>)
    )]
    pub sync_channel_concurrency: usize,

    /// Fetch who reacted (one request per emoji per message): true or false.
    #[arg(
        long, env = "SYNC_REACTION_USERS", global = true, action = ArgAction::Set,
        default_value_t = true, value_parser = Var::new(parse_bool)
    )]
    pub sync_reaction_users: bool,

    /// Re-read the last window (seconds) of channels active inside it, to see edits,
    /// reactions and deletions; 0 turns rescans off.
    #[arg(
        long, env = "SYNC_RESCAN_WINDOW_SECS", global = true,
        default_value_t = 86_400, value_parser = Var::new(parse_number::<u64>)
    )]
    pub sync_rescan_window_secs: u64,

    /// When set, user ids become HMAC-SHA256(secret, id) hex; when unset, plain SHA-256 hex
    /// of the id (the original's behaviour).
    #[arg(
        long, env = "ANONYMIZATION_SECRET", global = true, hide_env_values = true,
        value_parser = Var::new(parse_text)
    )]
    pub anonymization_secret: Option<String>,

    /// Log output: pretty or json. Levels come from RUST_LOG.
    #[arg(
        long, env = "LOG_FORMAT", global = true,
        default_value_t = LogFormat::Pretty, value_parser = Var::new(parse_log_format)
    )]
    pub log_format: LogFormat,

    /// Where the export API routes write (DIR/TENANT-SLUG/...).
    #[arg(
        long, env = "EXPORT_DIR", global = true,
        default_value = DEFAULT_EXPORT_DIR, value_parser = Var::new(parse_path)
    )]
    pub export_dir: PathBuf,

    /// Requests per minute per client IP on the public read API (/api/v1) and the archive
    /// website's pages, one budget for both; 0 turns the limit off.
    #[arg(
        long, env = "READ_API_RATE_LIMIT", global = true,
        default_value_t = 1000, value_parser = Var::new(parse_number::<u32>)
    )]
    pub read_api_rate_limit: u32,

    /// Comma-separated addresses and CIDR networks (IPv4 and IPv6) of the reverse proxies and
    /// CDNs in front of Verta: only from these is the client address in X-Forwarded-For (or
    /// Forwarded) believed, for per-client rate limits and logs. Unset: forwarded headers are
    /// ignored and the TCP peer is the client.
    #[arg(
        long, env = "TRUSTED_PROXIES", global = true,
        default_value = "", hide_default_value = true,
        value_parser = Var::new(parse_trusted_proxies)
    )]
    pub trusted_proxies: TrustedProxies,
    /// Public origin of the archive website (`https://host[/path]`), for canonical URLs,
    /// sitemaps and Open Graph: a tenant's site is then `<origin>/archive/<slug>/`. With
    /// `{tenant}` in it (`https://{tenant}.example.org`), it is each tenant's own root, and a
    /// request whose host matches is served that tenant's site at `/`. Unset: URLs follow the
    /// request's Host header.
    #[arg(
        long, env = "SITE_BASE_URL", global = true,
        value_parser = Var::new(parse_site_base_url)
    )]
    pub site_base_url: Option<String>,
    /// Seconds a rendered page of the archive website is served from memory before it is
    /// rendered again (pages change only when a sync writes); 0 renders every request.
    #[arg(
        long, env = "SITE_CACHE_SECS", global = true,
        default_value_t = 10, value_parser = Var::new(parse_number::<u64>)
    )]
    pub site_cache_secs: u64,
    /// Directory of the embedded search index (derived from the database; rebuilt when missing
    /// or unreadable). Unset: beside the SQLite file (`verta.db` -> `verta.search/`), or
    /// `./verta-search/` for MySQL-family databases.
    #[arg(
        long, env = "SEARCH_INDEX_DIR", global = true,
        value_parser = Var::new(parse_path)
    )]
    pub search_index_dir: Option<PathBuf>,
    /// Where attachment bytes are stored, content-addressed: `file://<dir>` or
    /// `s3://bucket[/prefix]` (credentials, region and endpoint from the usual AWS_*
    /// variables). Unset: beside the SQLite file (`verta.db` -> `verta.files/`), or
    /// `./verta-files/` for MySQL-family databases.
    #[arg(
        long, env = "ATTACHMENT_STORE", global = true,
        value_parser = Var::new(parse_attachment_store)
    )]
    pub attachment_store: Option<AttachmentStoreUrl>,
    /// Attachments larger than this many bytes are not downloaded (recorded as skipped).
    #[arg(
        long, env = "ATTACHMENT_MAX_BYTES", global = true,
        default_value_t = DEFAULT_ATTACHMENT_MAX_BYTES, value_parser = Var::new(parse_number::<u64>)
    )]
    pub attachment_max_bytes: u64,
    /// Download attachment bytes during sync (and backfill those of earlier syncs): true or
    /// false.
    #[arg(
        long, env = "SYNC_ATTACHMENT_FILES", global = true, action = ArgAction::Set,
        default_value_t = true, value_parser = Var::new(parse_bool)
    )]
    pub sync_attachment_files: bool,
    /// Attachment downloads in flight per worker process (>= 1), apart from the message
    /// paging.
    #[arg(
        long, env = "SYNC_ATTACHMENT_CONCURRENCY", global = true,
        default_value_t = 4, value_parser = Var::new(parse_at_least_one::<usize>)
    )]
    pub sync_attachment_concurrency: usize,
}

/// Default `ATTACHMENT_MAX_BYTES`: 25 MiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// Where attachment bytes live (`ATTACHMENT_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentStoreUrl {
    /// A local directory.
    File(PathBuf),
    /// An S3-compatible bucket, with an optional key prefix (no leading or trailing `/`).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix ("" for the bucket's root).
        prefix: String,
    },
}

impl fmt::Display for AttachmentStoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachmentStoreUrl::File(dir) => write!(f, "file://{}", dir.display()),
            AttachmentStoreUrl::S3 { bucket, prefix } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            AttachmentStoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Config {
    /// The search index directory: `SEARCH_INDEX_DIR`, or its default for `DATABASE_URL`.
    pub fn search_index_dir(&self) -> PathBuf {
        if let Some(dir) = &self.search_index_dir {
            return dir.clone();
        }
        match sqlite_file(&self.database_url) {
            Some(file) => file.with_extension("search"),
            None => PathBuf::from("./verta-search"),
        }
    }

    /// The attachment store: `ATTACHMENT_STORE`, or a directory beside the SQLite file
    /// (`verta.db` -> `verta.files/`), or `./verta-files` for MySQL-family databases.
    pub fn attachment_store(&self) -> AttachmentStoreUrl {
        if let Some(store) = &self.attachment_store {
            return store.clone();
        }
        AttachmentStoreUrl::File(match sqlite_file(&self.database_url) {
            Some(file) => file.with_extension("files"),
            None => PathBuf::from("./verta-files"),
        })
    }
}

/// The file of a `sqlite://` URL (`None` for other schemes and in-memory databases).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl Default for Config {
    /// The documented defaults of every variable (what clap fills in when none is set).
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            admin_api_key: None,
            discord_bot_token: None,
            discord_api_proxy: None,
            discord_global_rate_limit: DISCORD_GLOBAL_LIMIT,
            sync_interval_secs: 3600,
            sync_channel_concurrency: 8,
            sync_reaction_users: true,
            sync_rescan_window_secs: 86_400,
            anonymization_secret: None,
            log_format: LogFormat::Pretty,
            export_dir: PathBuf::from(DEFAULT_EXPORT_DIR),
            read_api_rate_limit: 1000,
            trusted_proxies: TrustedProxies::none(),
            site_base_url: None,
            site_cache_secs: 10,
            search_index_dir: None,
            attachment_store: None,
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
            sync_attachment_files: true,
            sync_attachment_concurrency: 4,
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
            .field("discord_global_rate_limit", &self.discord_global_rate_limit)
            .field("sync_interval_secs", &self.sync_interval_secs)
            .field("sync_channel_concurrency", &self.sync_channel_concurrency)
            .field("sync_reaction_users", &self.sync_reaction_users)
            .field("sync_rescan_window_secs", &self.sync_rescan_window_secs)
            .field("anonymization_secret", &redact(&self.anonymization_secret))
            .field("log_format", &self.log_format)
            .field("export_dir", &self.export_dir)
            .field("read_api_rate_limit", &self.read_api_rate_limit)
            .field("trusted_proxies", &self.trusted_proxies.to_string())
            .field("site_base_url", &self.site_base_url)
            .field("site_cache_secs", &self.site_cache_secs)
            .field("search_index_dir", &self.search_index_dir)
            .field(
                "attachment_store",
                &self.attachment_store.as_ref().map(ToString::to_string),
            )
            .field("attachment_max_bytes", &self.attachment_max_bytes)
            .field("sync_attachment_files", &self.sync_attachment_files)
            .field(
                "sync_attachment_concurrency",
                &self.sync_attachment_concurrency,
            )
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

/// Loads `.env` from the working directory (or a parent) into the process environment, if
/// there is one; variables already set win over the file. Call once at start-up, before
/// clap reads the environment (that is, before building the command).
///
/// Errors: [`Error::Config`] naming `.env` when the file cannot be read or parsed.
pub fn load_dotenv() -> Result<()> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(Error::Config {
            variable: ".env",
            message: e.to_string(),
        }),
    }
}

/// `cmd` with the environment ignored for every argument whose variable is set but blank,
/// so that `NAME=` (what docker-compose passes for `${NAME:-}`) means "the default", as an
/// unset variable does. Call on the command [`Config`] is flattened into, before parsing:
/// its arguments are that command's own (global ones reach the subcommands while parsing).
pub fn ignore_blank_variables(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.to_str().is_some_and(|v| v.trim().is_empty()));
        if blank { arg.env(None) } else { arg }
    })
}

impl Config {
    /// Build a configuration from `NAME -> value` pairs exactly as the environment would hold
    /// them (unknown names are ignored; a blank value means "use the default"), with the same
    /// parsers as the command line, whatever the process environment holds. For tests and
    /// tools.
    ///
    /// Errors: [`Error::Config`] naming the first invalid variable.
    pub fn from_map<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        // clap reads the environment when an argument gets its `env`: dropped right away.
        let cmd = Self::augment_args(Command::new("config").no_binary_name(true));
        let longs: Vec<(String, String)> = cmd
            .get_arguments()
            .filter_map(|a| Some((variable_of(a)?.to_owned(), a.get_long()?.to_owned())))
            .collect();
        let mut cmd = cmd.mut_args(|a| a.env(None));
        // Like an environment: one value per name, the last one given.
        let mut values: Vec<(&str, String)> = Vec::new();
        for (name, value) in vars {
            let Some((_, long)) = longs.iter().find(|(env, _)| env == name.as_ref()) else {
                continue;
            };
            values.retain(|(l, _)| l != long);
            values.push((long, value.as_ref().trim().to_owned()));
        }
        let args = values
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(long, value)| format!("--{long}={value}"));
        let matches = cmd.try_get_matches_from_mut(args).map_err(config_error)?;
        Self::from_arg_matches(&matches).map_err(config_error)
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

/// The variable an argument stands for, from its value name (equal to the variable's name,
/// which a test checks), so that it is known where the environment is not read.
fn variable_of(arg: &Arg) -> Option<&'static str> {
    let name = arg.get_value_names()?.first()?.as_str();
    VARIABLES.iter().copied().find(|v| *v == name)
}

/// A clap error as [`Error::Config`]: [`Var`] records the variable and the reason.
fn config_error(err: clap::Error) -> Error {
    let variable = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(name)) => VARIABLES.iter().copied().find(|v| v == name),
        _ => None,
    };
    let message = match err.get(ContextKind::Custom) {
        Some(ContextValue::String(why)) => why.clone(),
        _ => err.render().to_string().trim().to_owned(),
    };
    Error::Config {
        variable: variable.unwrap_or("configuration"),
        message,
    }
}

/// The clap value parser of one variable: trims the value, parses it with `parse`, and on
/// failure reports an error that names the variable and gives the reason. Unlike clap's own
/// "invalid value '...'" message, the value is only shown where `parse` chooses to show it
/// (never for secrets or a database URL, which may carry a password).
#[derive(Clone)]
struct Var<T> {
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<T> Var<T> {
    fn new(parse: fn(&str) -> std::result::Result<T, String>) -> Self {
        Self { parse }
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Var<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> std::result::Result<T, clap::Error> {
        let parsed = match value.to_str() {
            Some(text) => (self.parse)(text.trim()),
            None => Err("value is not valid UTF-8".to_owned()),
        };
        parsed.map_err(|why| {
            let variable = arg.and_then(variable_of).unwrap_or("configuration");
            let mut err = cmd.clone().error(
                ErrorKind::ValueValidation,
                format!("invalid {variable}: {why}"),
            );
            err.insert(
                ContextKind::InvalidArg,
                ContextValue::String(variable.to_owned()),
            );
            err.insert(ContextKind::Custom, ContextValue::String(why));
            err
        })
    }
}

fn parse_text(value: &str) -> std::result::Result<String, String> {
    Ok(value.to_owned())
}

fn parse_attachment_store(value: &str) -> std::result::Result<AttachmentStoreUrl, String> {
    if let Some(dir) = value.strip_prefix("file://") {
        if dir.is_empty() {
            return Err("file:// needs a directory, e.g. file:///var/lib/verta/files".into());
        }
        return Ok(AttachmentStoreUrl::File(PathBuf::from(dir)));
    }
    if let Some(rest) = value.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!(
                "{bucket:?} is not an S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(format!("{prefix:?} is not a usable key prefix"));
        }
        return Ok(AttachmentStoreUrl::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    Err("expected file://<dir> or s3://bucket[/prefix]".into())
}

fn parse_path(value: &str) -> std::result::Result<PathBuf, String> {
    Ok(PathBuf::from(value))
}

fn parse_database_url(url: &str) -> std::result::Result<String, String> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" | "mysql" => Ok(url.to_owned()),
        _ => Err(format!(
            "unsupported scheme `{scheme}`: expected sqlite://... or mysql://... (MariaDB, MySQL, TiDB)"
        )),
    }
}

/// `SITE_BASE_URL`: an absolute http(s) URL without query or fragment, at most one `{tenant}`
/// (in the host or the path); kept without a trailing `/`.
fn parse_site_base_url(value: &str) -> std::result::Result<String, String> {
    let trimmed = value.trim().trim_end_matches('/');
    if trimmed.matches("{tenant}").count() > 1 {
        return Err("`{tenant}` may appear once".to_owned());
    }
    // Parse with a placeholder that is valid in a host and a path alike.
    let probe = trimmed.replace("{tenant}", "tenant-placeholder");
    let url = url::Url::parse(&probe).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "`{value}` must be an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{value}` must have no query, fragment or credentials"
        ));
    }
    Ok(trimmed.to_owned())
}

fn parse_number<T>(value: &str) -> std::result::Result<T, String>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    value
        .parse()
        .map_err(|e| format!("`{value}` is not a valid non-negative integer in range: {e}"))
}

fn parse_at_least_one<T>(value: &str) -> std::result::Result<T, String>
where
    T: std::str::FromStr + PartialEq + From<u8>,
    T::Err: fmt::Display,
{
    let n: T = parse_number(value)?;
    if n == T::from(0) {
        return Err("must be at least 1".to_owned());
    }
    Ok(n)
}

fn parse_bool(value: &str) -> std::result::Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got `{value}`")),
    }
}

fn parse_log_format(value: &str) -> std::result::Result<LogFormat, String> {
    if value.eq_ignore_ascii_case("pretty") {
        Ok(LogFormat::Pretty)
    } else if value.eq_ignore_ascii_case("json") {
        Ok(LogFormat::Json)
    } else {
        Err(format!("expected `pretty` or `json`, got `{value}`"))
    }
}

fn parse_trusted_proxies(value: &str) -> std::result::Result<TrustedProxies, String> {
    value.parse()
}

fn parse_proxy(value: &str) -> std::result::Result<String, String> {
    let invalid = |why: &str| format!("expected `host:port` (no scheme), got `{value}`: {why}");
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

    fn failing_variable(err: Error) -> &'static str {
        match err {
            Error::Config { variable, .. } => variable,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    fn command() -> Command {
        Config::augment_args(Command::new("config"))
    }

    #[test]
    fn command_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn variables_list_every_argument_in_field_order() {
        let cmd = command();
        let envs: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        assert_eq!(envs, VARIABLES);
        // Errors print the value name: it is the variable's name.
        for arg in cmd.get_arguments() {
            let names: Vec<String> = arg
                .get_value_names()
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect();
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(Some(names.join(" ")), env, "{}", arg.get_id());
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
        assert_eq!(c.discord_global_rate_limit, 50);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert_eq!(c.export_dir, PathBuf::from("./data-export"));
        assert_eq!(c.read_api_rate_limit, 1000);
        assert!(c.trusted_proxies.is_empty());
        assert!(c.admin_api_key.is_none() && c.anonymization_secret.is_none());
        assert_eq!(c.search_index_dir(), PathBuf::from("verta.search"));
        assert_eq!(
            c.attachment_store(),
            AttachmentStoreUrl::File(PathBuf::from("verta.files"))
        );
        assert_eq!(c.attachment_max_bytes, 25 * 1024 * 1024);
        assert!(c.sync_attachment_files);
        assert_eq!(c.sync_attachment_concurrency, 4);
    }

    #[test]
    fn the_attachment_store_defaults_beside_the_sqlite_file_and_parses_both_schemes() {
        let store = |vars: &[(&str, &str)]| {
            Config::from_map(vars.iter().copied())
                .unwrap()
                .attachment_store()
        };
        assert_eq!(
            store(&[("DATABASE_URL", "sqlite:///var/lib/verta/a.db?mode=rwc")]),
            AttachmentStoreUrl::File(PathBuf::from("/var/lib/verta/a.files"))
        );
        assert_eq!(
            store(&[("DATABASE_URL", "mysql://root@db/verta")]),
            AttachmentStoreUrl::File(PathBuf::from("./verta-files"))
        );
        assert_eq!(
            store(&[("ATTACHMENT_STORE", "file:///srv/files")]),
            AttachmentStoreUrl::File(PathBuf::from("/srv/files"))
        );
        let s3 = store(&[("ATTACHMENT_STORE", "s3://archive-bucket/verta/prod/")]);
        assert_eq!(
            s3,
            AttachmentStoreUrl::S3 {
                bucket: "archive-bucket".into(),
                prefix: "verta/prod".into()
            }
        );
        assert_eq!(s3.to_string(), "s3://archive-bucket/verta/prod");
        assert_eq!(
            store(&[("ATTACHMENT_STORE", "s3://archive-bucket")]).to_string(),
            "s3://archive-bucket"
        );
    }

    #[test]
    fn the_search_index_defaults_beside_the_sqlite_file() {
        let dir = |url: &str| {
            Config::from_map([("DATABASE_URL", url)])
                .unwrap()
                .search_index_dir()
        };
        assert_eq!(
            dir("sqlite:///var/lib/verta/a.db?mode=rwc"),
            PathBuf::from("/var/lib/verta/a.search")
        );
        assert_eq!(
            dir("sqlite://data/archive?mode=rwc"),
            PathBuf::from("data/archive.search")
        );
        assert_eq!(dir("sqlite::memory:"), PathBuf::from("./verta-search"));
        assert_eq!(
            dir("mysql://root@db/verta"),
            PathBuf::from("./verta-search")
        );
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
            ("DISCORD_GLOBAL_RATE_LIMIT", "1200"),
            ("SYNC_INTERVAL_SECS", "0"),
            ("SYNC_CHANNEL_CONCURRENCY", "2"),
            ("SYNC_REACTION_USERS", "false"),
            ("SYNC_RESCAN_WINDOW_SECS", "60"),
            ("ANONYMIZATION_SECRET", "s"),
            ("LOG_FORMAT", "JSON"),
            ("EXPORT_DIR", "/tmp/out"),
            ("READ_API_RATE_LIMIT", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::7"),
            ("SEARCH_INDEX_DIR", "/srv/index"),
            ("ATTACHMENT_STORE", "s3://bucket/p"),
            ("ATTACHMENT_MAX_BYTES", "1024"),
            ("SYNC_ATTACHMENT_FILES", "off"),
            ("SYNC_ATTACHMENT_CONCURRENCY", "9"),
            ("UNRELATED", "ignored"),
        ])
        .unwrap();
        assert_eq!(c.database_url, "mysql://root@127.0.0.1:3307/verta");
        assert_eq!(c.listen_address(), "0.0.0.0:8080");
        assert_eq!(c.admin_api_key.as_deref(), Some("k"));
        assert_eq!(c.discord_bot_token.as_deref(), Some("t"));
        assert_eq!(c.discord_api_proxy.as_deref(), Some("127.0.0.1:9999"));
        assert_eq!(c.discord_global_rate_limit, 1200);
        assert_eq!(c.sync_interval(), None);
        assert_eq!(c.sync_channel_concurrency, 2);
        assert!(!c.sync_reaction_users);
        assert_eq!(c.sync_rescan_window(), Some(Duration::from_secs(60)));
        assert_eq!(c.anonymization_secret.as_deref(), Some("s"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.export_dir, PathBuf::from("/tmp/out"));
        assert_eq!(c.read_api_rate_limit, 0);
        assert_eq!(c.trusted_proxies.to_string(), "10.0.0.0/8,2001:db8::7/128");
        assert_eq!(c.search_index_dir(), PathBuf::from("/srv/index"));
        assert_eq!(c.attachment_store().to_string(), "s3://bucket/p");
        assert_eq!(c.attachment_max_bytes, 1024);
        assert!(!c.sync_attachment_files);
        assert_eq!(c.sync_attachment_concurrency, 9);
    }

    #[test]
    fn blank_values_mean_default_and_values_are_trimmed() {
        let c =
            Config::from_map([("ADMIN_API_KEY", ""), ("PORT", " "), ("HOST", " ::1 ")]).unwrap();
        assert_eq!(c.admin_api_key, None);
        assert_eq!(c.port, DEFAULT_PORT);
        assert_eq!(c.listen_address(), "[::1]:25000");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases = [
            ("DATABASE_URL", "postgres://x/y"),
            ("PORT", "70000"),
            ("PORT", "abc"),
            ("DISCORD_GLOBAL_RATE_LIMIT", "0"),
            ("DISCORD_GLOBAL_RATE_LIMIT", "70000"),
            ("SYNC_INTERVAL_SECS", "-1"),
            ("SYNC_CHANNEL_CONCURRENCY", "0"),
            ("SYNC_REACTION_USERS", "maybe"),
            ("SYNC_RESCAN_WINDOW_SECS", "1.5"),
            ("DISCORD_API_PROXY", "http://127.0.0.1:9999"),
            ("DISCORD_API_PROXY", "localhost"),
            ("LOG_FORMAT", "xml"),
            ("READ_API_RATE_LIMIT", "many"),
            ("TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
            ("ATTACHMENT_STORE", "/srv/files"),
            ("ATTACHMENT_STORE", "file://"),
            ("ATTACHMENT_STORE", "s3://UPPER"),
            ("ATTACHMENT_STORE", "s3://bucket/a/../b"),
            ("ATTACHMENT_MAX_BYTES", "-5"),
            ("SYNC_ATTACHMENT_FILES", "sometimes"),
            ("SYNC_ATTACHMENT_CONCURRENCY", "0"),
        ];
        for (name, value) in cases {
            let err = Config::from_map([("PORT", "8080"), (name, value)]).unwrap_err();
            assert_eq!(failing_variable(err), name, "{name}={value}");
        }
    }

    #[test]
    fn an_invalid_trusted_proxy_is_named_in_the_startup_error() {
        let err = Config::from_map([("TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.300")]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("TRUSTED_PROXIES"), "{shown}");
        assert!(shown.contains("`10.0.0.300`"), "{shown}");
        // The binary reports clap's rendering of the same error.
        let err = command()
            .try_get_matches_from(["config", "--trusted-proxies", "10.0.0.0/8,nope"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid TRUSTED_PROXIES: `nope`"), "{err}");
    }

    #[test]
    fn database_url_errors_do_not_echo_the_password() {
        let err =
            Config::from_map([("DATABASE_URL", "postgres://root:hunter2@db/verta")]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("DATABASE_URL"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn help_lists_every_variable_with_its_default_and_hides_secret_values() {
        let help = command().render_long_help().to_string();
        for variable in VARIABLES {
            assert!(
                help.contains(&format!("env: {variable}")),
                "{variable}:\n{help}"
            );
        }
        for default in [
            "[default: sqlite://verta.db?mode=rwc]",
            "[default: 127.0.0.1]",
            "[default: 25000]",
            "[default: 50]",
            "[default: 3600]",
            "[default: 8]",
            "[default: true]",
            "[default: 86400]",
            "[default: pretty]",
            "[default: ./data-export]",
            "[default: 1000]",
        ] {
            assert!(help.contains(default), "{default}:\n{help}");
        }
        let cmd = command();
        for secret in [
            "DATABASE_URL",
            "ADMIN_API_KEY",
            "DISCORD_BOT_TOKEN",
            "ANONYMIZATION_SECRET",
        ] {
            let arg = cmd.get_arguments().find(|a| variable_of(a) == Some(secret));
            assert!(
                arg.is_some_and(Arg::is_hide_env_values_set),
                "help must not print the value of {secret}"
            );
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

    #[test]
    fn site_base_url_accepts_origins_and_one_tenant_placeholder() {
        for (given, kept) in [
            (
                "https://archive.example.org/",
                "https://archive.example.org",
            ),
            (
                "http://127.0.0.1:8080/community",
                "http://127.0.0.1:8080/community",
            ),
            (
                "https://{tenant}.example.org",
                "https://{tenant}.example.org",
            ),
            (
                "https://example.org/{tenant}/",
                "https://example.org/{tenant}",
            ),
        ] {
            assert_eq!(parse_site_base_url(given).as_deref(), Ok(kept), "{given}");
        }
        for bad in [
            "example.org",
            "ftp://example.org",
            "https://example.org/?x=1",
            "https://example.org/#top",
            "https://user:pw@example.org",
            "https://{tenant}.{tenant}.org",
            "javascript:alert(1)",
        ] {
            assert!(parse_site_base_url(bad).is_err(), "{bad}");
        }
        let c = Config::from_map([("SITE_BASE_URL", "https://x.org/")]);
        assert_eq!(
            c.ok().and_then(|c| c.site_base_url).as_deref(),
            Some("https://x.org")
        );
    }
}
