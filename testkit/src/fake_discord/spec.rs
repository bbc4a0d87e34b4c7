//! Size and shape descriptions of generated guilds ([`GuildSpec`]) and of a whole fake
//! Discord ([`FakeConfig`]).

use std::time::Duration;

use super::model::GENERATED_END_MS;

/// Guilds are created in 2019; their history must end after this (2020-06-01, Unix ms).
const EARLIEST_END_MS: i64 = 1_590_969_600_000;

/// What a generated guild looks like. Everything is derived deterministically from
/// [`GuildSpec::seed`] and the counts; two guilds with the same spec are identical.
///
/// Channel kinds: categories (type 4), text (0), announcement (5), voice (2), stage (13),
/// forum (15);
/// threads: public (11), announcement threads (10, in announcement channels), private (12),
/// forum posts (public threads of a forum).
#[derive(Debug, Clone, PartialEq)]
pub struct GuildSpec {
    /// Seed of every generated id, name, author and reaction.
    pub seed: u64,
    /// Guild name.
    pub name: String,
    /// Number of categories (type 4); channels are spread over them.
    pub categories: u32,
    /// Number of text channels (type 0).
    pub text_channels: u32,
    /// Number of announcement channels (type 5).
    pub announcement_channels: u32,
    /// Number of voice channels (type 2); they carry a few text-in-voice messages.
    pub voice_channels: u32,
    /// Number of forum channels (type 15); their posts are threads.
    pub forum_channels: u32,
    /// Number of stage channels (type 13); they carry a few text-in-stage messages and
    /// are never archived (in the locked-down guild they are even visible to @everyone).
    pub stage_channels: u32,
    /// Whether the @everyone role has VIEW_CHANNEL. When true, `hidden_channels` text
    /// channels deny it with an @everyone overwrite; when false, every channel is hidden
    /// except the ones that allow VIEW_CHANNEL through an @everyone overwrite (all but
    /// `hidden_channels` of the text channels, the announcement and forum channels, and
    /// the categories).
    pub everyone_can_view: bool,
    /// Number of text channels hidden from @everyone (see `everyone_can_view`).
    pub hidden_channels: u32,
    /// Messages in every text and announcement channel.
    pub messages_per_channel: u64,
    /// When set, the first text channel has this many messages instead.
    pub big_channel_messages: Option<u64>,
    /// Active public threads per text / announcement channel.
    pub active_threads_per_channel: u32,
    /// Archived public threads per text / announcement channel.
    pub archived_threads_per_channel: u32,
    /// Private threads (type 12, always active) per text channel.
    pub private_threads_per_channel: u32,
    /// Posts (threads) per forum channel; every third one is archived.
    pub posts_per_forum: u32,
    /// Messages in every thread and forum post.
    pub messages_per_thread: u64,
    /// Thread slots kept free for threads created at runtime
    /// ([`super::FakeDiscord::create_thread`]).
    pub spare_threads: u32,
    /// Size of the user pool authors and reacting users are drawn from (at least 2).
    pub users: u32,
    /// Share (0..=1) of messages carrying reactions.
    pub reaction_share: f64,
    /// Share of messages replying to an earlier message of the same channel.
    pub reply_share: f64,
    /// Share of messages mentioning a user (`<@id>` or `<@!id>` plus the `mentions` array).
    pub mention_share: f64,
    /// Share of messages with one or two attachments.
    pub attachment_share: f64,
    /// Share (0..=1) of attachments carrying one of a few popular contents (same bytes,
    /// size, name and content type on every message and in every guild, whatever the
    /// seed), so that dedupe across messages and tenants can be tested.
    pub shared_attachment_share: f64,
    /// Share of messages that were edited (`edited_timestamp` set).
    pub edit_share: f64,
    /// Share of generated message slots that were deleted before the first sync (they are
    /// never served, but replies can still point at them).
    pub deleted_share: f64,
    /// Share of messages with empty content (these always carry an attachment).
    pub empty_share: f64,
    /// End of the generated history, Unix ms (default [`GENERATED_END_MS`], 2026-01-01): a
    /// channel's messages are spread evenly from its creation to a day before it, so a busy
    /// channel's newest is about a day before it. Set it to "now" with
    /// [`GuildSpec::ending_now`] when a test needs recent messages (rescan windows).
    pub generated_until_ms: i64,
}

impl Default for GuildSpec {
    fn default() -> Self {
        GuildSpec::small()
    }
}

impl GuildSpec {
    /// The default guild: every channel, thread, message and reaction kind, a few thousand
    /// messages, and one channel over 1,000 messages (1,234).
    pub fn small() -> GuildSpec {
        GuildSpec {
            seed: 42,
            name: "Verta Test Guild".into(),
            categories: 2,
            text_channels: 4,
            announcement_channels: 1,
            voice_channels: 1,
            forum_channels: 1,
            stage_channels: 1,
            everyone_can_view: true,
            hidden_channels: 1,
            messages_per_channel: 300,
            big_channel_messages: Some(1_234),
            active_threads_per_channel: 1,
            archived_threads_per_channel: 3,
            private_threads_per_channel: 1,
            posts_per_forum: 4,
            messages_per_thread: 25,
            spare_threads: 3,
            users: 150,
            reaction_share: 0.1,
            reply_share: 0.15,
            mention_share: 0.05,
            attachment_share: 0.05,
            shared_attachment_share: 0.2,
            edit_share: 0.05,
            deleted_share: 0.02,
            empty_share: 0.01,
            generated_until_ms: GENERATED_END_MS,
        }
    }

    /// Like [`GuildSpec::small`], but the @everyone role lacks VIEW_CHANNEL: channels are
    /// visible only through an @everyone allow overwrite.
    pub fn locked_down() -> GuildSpec {
        GuildSpec {
            seed: 4242,
            name: "Verta Locked-down Guild".into(),
            everyone_can_view: false,
            text_channels: 3,
            big_channel_messages: None,
            messages_per_channel: 120,
            archived_threads_per_channel: 1,
            ..GuildSpec::small()
        }
    }

    /// A benchmark-sized guild: `channels` text channels of `messages` messages each,
    /// `reaction_share` of them with reactions; no threads, forums, hidden channels or
    /// deleted slots, so that the work is exactly `channels * messages` messages.
    pub fn bench(channels: u32, messages: u64, reaction_share: f64) -> GuildSpec {
        GuildSpec {
            seed: 7,
            name: "Verta Bench Guild".into(),
            categories: 1,
            text_channels: channels,
            announcement_channels: 0,
            voice_channels: 0,
            forum_channels: 0,
            stage_channels: 0,
            everyone_can_view: true,
            hidden_channels: 0,
            messages_per_channel: messages,
            big_channel_messages: None,
            active_threads_per_channel: 0,
            archived_threads_per_channel: 0,
            private_threads_per_channel: 0,
            posts_per_forum: 0,
            messages_per_thread: 0,
            spare_threads: 0,
            deleted_share: 0.0,
            reaction_share,
            ..GuildSpec::small()
        }
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the messages per text / announcement channel.
    pub fn with_messages_per_channel(mut self, n: u64) -> Self {
        self.messages_per_channel = n;
        self
    }

    /// Sets the size of the first text channel.
    pub fn with_big_channel(mut self, n: Option<u64>) -> Self {
        self.big_channel_messages = n;
        self
    }

    /// Sets the number of text channels.
    pub fn with_text_channels(mut self, n: u32) -> Self {
        self.text_channels = n;
        self
    }

    /// Ends the generated history now (rounded down to the hour, so that guilds generated
    /// in one test agree), putting the newest messages within the last day or so.
    pub fn ending_now(mut self) -> Self {
        let now = chrono::Utc::now().timestamp_millis();
        self.generated_until_ms = now - now % 3_600_000;
        self
    }

    /// Sets the share of messages with reactions.
    pub fn with_reaction_share(mut self, share: f64) -> Self {
        self.reaction_share = share;
        self
    }

    /// Total number of channels and threads this spec generates (each needs one of the
    /// 1,024 snowflake worker slots, see [`GuildSpec::validate`]).
    pub fn channel_count(&self) -> u64 {
        let parents = u64::from(self.text_channels + self.announcement_channels);
        u64::from(self.categories)
            + parents
            + u64::from(self.voice_channels)
            + u64::from(self.forum_channels)
            + u64::from(self.stage_channels)
            + parents
                * u64::from(self.active_threads_per_channel + self.archived_threads_per_channel)
            + u64::from(self.text_channels) * u64::from(self.private_threads_per_channel)
            + u64::from(self.forum_channels) * u64::from(self.posts_per_forum)
            + u64::from(self.spare_threads)
    }

    /// Checks the spec can be generated: at most 1,024 channels + threads (message ids
    /// embed the channel's slot), at least 2 users, shares within 0..=1.
    pub fn validate(&self) -> Result<(), String> {
        if self.channel_count() > 1024 {
            return Err(format!(
                "{} channels and threads; at most 1024 are supported",
                self.channel_count()
            ));
        }
        if self.generated_until_ms < EARLIEST_END_MS {
            return Err("generated_until_ms must be after 2020-06-01".into());
        }
        if self.users < 2 {
            return Err("users must be at least 2".into());
        }
        for (name, v) in [
            ("reaction_share", self.reaction_share),
            ("reply_share", self.reply_share),
            ("mention_share", self.mention_share),
            ("attachment_share", self.attachment_share),
            ("shared_attachment_share", self.shared_attachment_share),
            ("edit_share", self.edit_share),
            ("deleted_share", self.deleted_share),
            ("empty_share", self.empty_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within 0..=1, got {v}"));
            }
        }
        Ok(())
    }
}

/// Per-route rate-limit buckets: `limit` requests per `window` per route and major
/// parameter (channel or guild), like Discord's `X-RateLimit-*` buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length.
    pub window: Duration,
}

/// Configuration of a fake Discord server.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Guilds served (the first is "the" guild of most tests).
    pub guilds: Vec<GuildSpec>,
    /// Bot token accepted in `Authorization: Bot <token>`.
    pub token: String,
    /// Listen host (default `127.0.0.1`).
    pub host: String,
    /// Listen port (0 = pick a free one).
    pub port: u16,
    /// Per-route buckets; `None` = unlimited (headers still sent, with a huge limit).
    pub route_limit: Option<RouteLimit>,
    /// Global limit in requests per second for the token; `None` = off.
    pub global_limit_per_sec: Option<u32>,
    /// Latency added to every `/api` response.
    pub latency: Duration,
    /// actix worker threads (default 2).
    pub workers: usize,
    /// Maximum entries kept in the request log (oldest dropped first).
    pub request_log_capacity: usize,
    /// Lifetime of the signed attachment links the fake issues (`ex` = `is` + this;
    /// default 24 h, like Discord).
    pub link_ttl: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig::small()
    }
}

impl FakeConfig {
    /// Default token of the fake.
    pub const DEFAULT_TOKEN: &'static str = "ZmFrZS1ib3Q.verta-fake-discord.token";

    /// One guild per spec, default token, port 0, unlimited routes, no global limit.
    pub fn with_guilds(guilds: Vec<GuildSpec>) -> FakeConfig {
        FakeConfig {
            guilds,
            token: Self::DEFAULT_TOKEN.into(),
            host: "127.0.0.1".into(),
            port: 0,
            route_limit: None,
            global_limit_per_sec: None,
            latency: Duration::ZERO,
            workers: 2,
            request_log_capacity: 10_000,
            link_ttl: Duration::from_secs(24 * 3600),
        }
    }

    /// The default: [`GuildSpec::small`] (first) and [`GuildSpec::locked_down`].
    pub fn small() -> FakeConfig {
        FakeConfig::with_guilds(vec![GuildSpec::small(), GuildSpec::locked_down()])
    }

    /// A single guild.
    pub fn single(spec: GuildSpec) -> FakeConfig {
        FakeConfig::with_guilds(vec![spec])
    }

    /// Discord-like limits: 50 requests per second per route bucket and a global limit
    /// of 50 requests per second.
    pub fn discord_like_limits(mut self) -> Self {
        self.route_limit = Some(RouteLimit {
            limit: 50,
            window: Duration::from_secs(1),
        });
        self.global_limit_per_sec = Some(50);
        self
    }

    /// Sets the per-route buckets.
    pub fn with_route_limit(mut self, limit: u32, window: Duration) -> Self {
        self.route_limit = Some(RouteLimit { limit, window });
        self
    }

    /// Sets the global limit (requests per second).
    pub fn with_global_limit(mut self, per_sec: Option<u32>) -> Self {
        self.global_limit_per_sec = per_sec;
        self
    }

    /// Sets the lifetime of issued attachment links.
    pub fn with_link_ttl(mut self, ttl: Duration) -> Self {
        self.link_ttl = ttl;
        self
    }

    /// Sets the latency added to each `/api` response.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}
