//! `fake-discord`: serves generated guilds over Discord's REST API v10 until killed.
//! The first stdout line is `{"proxy": "127.0.0.1:PORT", "token": "...", "guild_ids": [...]}`.

use std::io::Write;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use testkit::fake_discord::{FakeConfig, FakeDiscord, GuildSpec};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// GuildSpec::small() + GuildSpec::locked_down(): every kind, a few thousand messages.
    Small,
    /// GuildSpec::bench(): --channels text channels of --messages messages, nothing else.
    Bench,
}

/// A fake Discord REST API (v10) serving deterministic generated guilds.
#[derive(Debug, Parser)]
#[command(name = "fake-discord", version)]
struct Args {
    /// Listen host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Listen port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed of the (first) guild.
    #[arg(long)]
    seed: Option<u64>,
    /// Bot token to accept.
    #[arg(long, default_value = FakeConfig::DEFAULT_TOKEN)]
    token: String,
    /// Global rate limit in requests per second (default: off).
    #[arg(long)]
    global_rate_limit: Option<u32>,
    /// Per-route bucket size (default: unlimited).
    #[arg(long)]
    route_limit: Option<u32>,
    /// Per-route bucket window in milliseconds.
    #[arg(long, default_value_t = 1000)]
    route_window_ms: u64,
    /// Latency added to every API response, milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Guild shape.
    #[arg(long, value_enum, default_value_t = Preset::Small)]
    preset: Preset,
    /// Text channels (bench preset; overrides small's count too).
    #[arg(long)]
    channels: Option<u32>,
    /// Messages per text / announcement channel.
    #[arg(long)]
    messages: Option<u64>,
    /// Messages in the first text channel (e.g. 10000000).
    #[arg(long)]
    big_channel: Option<u64>,
    /// Share of messages with reactions (0..=1).
    #[arg(long)]
    reaction_share: Option<f64>,
    /// End the generated history now instead of on 2026-01-01 (recent messages, for
    /// demos of incremental syncs and rescan windows).
    #[arg(long)]
    ending_now: bool,
    /// actix worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Lifetime of the attachment links the fake issues, seconds (Discord: a day).
    #[arg(long, default_value_t = 86_400)]
    link_ttl_secs: u64,
}

fn main() {
    let args = Args::parse();
    let mut guilds = match args.preset {
        Preset::Small => vec![GuildSpec::small(), GuildSpec::locked_down()],
        Preset::Bench => vec![GuildSpec::bench(
            args.channels.unwrap_or(20),
            args.messages.unwrap_or(50_000),
            args.reaction_share.unwrap_or(0.1),
        )],
    };
    let first = &mut guilds[0];
    if let Some(seed) = args.seed {
        first.seed = seed;
    }
    if let Some(n) = args.channels {
        first.text_channels = n;
    }
    if let Some(n) = args.messages {
        first.messages_per_channel = n;
    }
    if args.big_channel.is_some() {
        first.big_channel_messages = args.big_channel;
    }
    if let Some(r) = args.reaction_share {
        first.reaction_share = r;
    }
    if args.ending_now {
        for g in &mut guilds {
            *g = g.clone().ending_now();
        }
    }
    for g in &guilds {
        if let Err(e) = g.validate() {
            eprintln!("fake-discord: invalid guild: {e}");
            std::process::exit(2);
        }
    }
    let mut config = FakeConfig::with_guilds(guilds)
        .with_global_limit(args.global_rate_limit)
        .with_latency(Duration::from_millis(args.latency_ms))
        .with_link_ttl(Duration::from_secs(args.link_ttl_secs));
    if let Some(limit) = args.route_limit {
        config = config.with_route_limit(limit, Duration::from_millis(args.route_window_ms));
    }
    config.host = args.host;
    config.port = args.port;
    config.token = args.token;
    config.workers = args.workers;
    config.request_log_capacity = 10_000;
    let fake = match FakeDiscord::start(config) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-discord: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", fake.announcement());
    let _ = out.flush();
    drop(out);
    eprintln!("fake-discord: serving {} (Ctrl-C to stop)", fake.api_url());
    fake.wait();
}
