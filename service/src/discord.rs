//! The Discord implementation of [`PlatformAdapter`] on twilight-http 0.18.
//!
//! One [`DiscordAdapter`] (one twilight `Client`, hence one rate limiter) per process for the
//! single bot token. twilight waits on 429s itself (per-route buckets from the
//! `X-RateLimit-*` headers, `retry_after`) and paces a global requests-per-second budget;
//! failures are classified by [`twilight_http::error::ErrorType`] and status, never by text.

pub mod visibility;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use twilight_http::{
    Client,
    error::{Error as HttpError, ErrorType},
    request::channel::reaction::RequestReactionType,
};
use twilight_http_ratelimiting::RateLimiter;
use twilight_model::{
    channel::{
        Channel, ChannelType,
        message::{EmojiReactionType, Message},
    },
    id::{
        Id,
        marker::{ChannelMarker, EmojiMarker, GuildMarker, MessageMarker, UserMarker},
    },
    util::Timestamp,
};

use crate::platform::{
    ChannelKind, Discovery, Mentions, PlatformAdapter, PlatformAttachment, PlatformChannel,
    PlatformError, PlatformMessage, PlatformReaction,
};

/// Discord's global limit for a bot, requests per second: the default of
/// `DISCORD_GLOBAL_RATE_LIMIT`.
pub const DISCORD_GLOBAL_LIMIT: u16 = 50;

/// How to reach Discord. `Debug` does not print the token.
#[derive(Clone)]
pub struct DiscordOptions {
    /// Bot token (with or without the `Bot ` prefix).
    pub token: String,
    /// `host:port` of a plain-HTTP proxy serving `/api/v10` (the fake Discord in tests).
    pub proxy: Option<String>,
    /// Global requests per second the client allows itself (>= 1; Discord's default is
    /// [`DISCORD_GLOBAL_LIMIT`]).
    pub global_limit: u16,
}

impl std::fmt::Debug for DiscordOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordOptions")
            .field("token", &"<redacted>")
            .field("proxy", &self.proxy)
            .field("global_limit", &self.global_limit)
            .finish()
    }
}

impl DiscordOptions {
    /// Options from the process configuration (`DISCORD_BOT_TOKEN`, `DISCORD_API_PROXY`,
    /// `DISCORD_GLOBAL_RATE_LIMIT`); `None` without a bot token.
    pub fn from_config(config: &crate::Config) -> Option<Self> {
        let token = config.discord_bot_token.clone()?;
        Some(Self {
            token,
            proxy: config.discord_api_proxy.clone(),
            global_limit: config.discord_global_rate_limit,
        })
    }
}

/// Discord REST access for the sync. Create one per process and share it (`Arc`).
///
/// twilight's rate limiter remembers every distinct request path until its six-hourly clean
/// up, and reaction routes carry the message id, so a long sync would grow memory with every
/// message that has reactions. The adapter therefore replaces its client (and limiter) every
/// [`CLIENT_REBUILD_REQUESTS`] requests; requests in flight finish on the old one.
///
/// Dropping a twilight `RateLimiter` does not stop its actor task (the task waits for its
/// six-hourly clean-up timer, keeping every remembered path), so each client's limiter runs
/// on a small runtime of its own ([`LIMITER_THREAD`]), shut down when the last request of
/// that client has finished: replaced limiters are freed, not leaked.
#[derive(Debug)]
pub struct DiscordAdapter {
    options: DiscordOptions,
    client: std::sync::RwLock<Arc<Generation>>,
    requests: AtomicU64,
    since_rebuild: AtomicU64,
    rebuild_every: u64,
}

/// Requests served by one twilight client before the adapter builds a fresh one.
pub const CLIENT_REBUILD_REQUESTS: u64 = 20_000;

/// Name of the thread that runs a client's rate limiter.
pub const LIMITER_THREAD: &str = "discord-limiter";

/// One twilight client and the runtime its rate limiter's actor task runs on.
#[derive(Debug)]
struct Generation {
    client: Client,
    limiter_runtime: Option<tokio::runtime::Runtime>,
}

impl std::ops::Deref for Generation {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        // Ends the limiter's actor task (and frees what it remembers) without blocking:
        // the last holder may be an async task.
        if let Some(runtime) = self.limiter_runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn build_client(options: &DiscordOptions) -> Generation {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(LIMITER_THREAD)
        .enable_time()
        .build();
    let runtime = match runtime {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "no thread for the Discord rate limiter; it runs on the caller's runtime");
            None
        }
    };
    // `RateLimiter::new` spawns its actor on the entered runtime.
    let _entered = runtime.as_ref().map(tokio::runtime::Runtime::enter);
    let mut builder = Client::builder()
        .token(options.token.clone())
        .ratelimiter(Some(RateLimiter::new(options.global_limit.max(1))))
        .timeout(std::time::Duration::from_secs(30));
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(proxy.clone(), true);
    }
    let client = builder.build();
    drop(_entered);
    Generation {
        client,
        limiter_runtime: runtime,
    }
}

/// Install the ring crypto provider for rustls once per process (twilight-http panics on the
/// first request otherwise, see docs/design.md "Known traps").
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl DiscordAdapter {
    /// Build the client.
    pub fn new(options: &DiscordOptions) -> Self {
        Self::with_client_rebuild(options, CLIENT_REBUILD_REQUESTS)
    }

    /// Like [`DiscordAdapter::new`], replacing the client every `requests` requests (tests).
    pub fn with_client_rebuild(options: &DiscordOptions, requests: u64) -> Self {
        install_crypto_provider();
        Self {
            options: options.clone(),
            client: std::sync::RwLock::new(Arc::new(build_client(options))),
            requests: AtomicU64::new(0),
            since_rebuild: AtomicU64::new(0),
            rebuild_every: requests.max(1),
        }
    }

    /// The client for one request (counted).
    fn client(&self) -> Arc<Generation> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.since_rebuild.fetch_add(1, Ordering::Relaxed) + 1 >= self.rebuild_every {
            let mut guard = self.client.write().unwrap_or_else(|e| e.into_inner());
            if self.since_rebuild.load(Ordering::Relaxed) >= self.rebuild_every {
                *guard = Arc::new(build_client(&self.options));
                self.since_rebuild.store(0, Ordering::Relaxed);
                tracing::debug!("Discord client rebuilt (rate-limiter memory bound)");
            }
        }
        let guard = self.client.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    async fn guild_channels(&self, guild: Id<GuildMarker>) -> Result<Vec<Channel>, PlatformError> {
        let client = self.client();
        let response = client.guild_channels(guild).await.map_err(classify)?;
        response.models().await.map_err(deserialize_error)
    }

    /// Public archived threads of one channel, paged to the end.
    async fn archived_threads(
        &self,
        channel: Id<ChannelMarker>,
    ) -> Result<Vec<Channel>, PlatformError> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let client = self.client();
            let mut request = client.public_archived_threads(channel).limit(100);
            if let Some(b) = before.as_deref() {
                request = request.before(b);
            }
            let listing = request
                .await
                .map_err(classify)?
                .model()
                .await
                .map_err(deserialize_error)?;
            let count = listing.threads.len();
            let oldest = listing
                .threads
                .iter()
                .filter_map(|t| t.thread_metadata.as_ref().map(|m| m.archive_timestamp))
                .min_by_key(|t| t.as_micros());
            all.extend(listing.threads);
            match (listing.has_more.unwrap_or(false), oldest) {
                (true, Some(ts)) if count > 0 => before = Some(ts.iso_8601().to_string()),
                _ => break,
            }
        }
        Ok(all)
    }
}

#[async_trait::async_trait]
impl PlatformAdapter for DiscordAdapter {
    async fn discover(&self, community_id: &str) -> Result<Discovery, PlatformError> {
        let guild: Id<GuildMarker> = parse_id(community_id)?;
        let client = self.client();
        let roles = client
            .roles(guild)
            .await
            .map_err(classify)?
            .models()
            .await
            .map_err(deserialize_error)?;
        let channels = self.guild_channels(guild).await?;
        let visible = visibility::visible_channels(guild, &roles, &channels);

        let client = self.client();
        let active = client
            .active_threads(guild)
            .await
            .map_err(classify)?
            .model()
            .await
            .map_err(deserialize_error)?;
        let mut threads: Vec<Channel> = active.threads;
        let mut incomplete_parents = Vec::new();
        for channel in &visible {
            if !matches!(
                channel.kind,
                ChannelType::GuildText | ChannelType::GuildAnnouncement | ChannelType::GuildForum
            ) {
                continue;
            }
            match self.archived_threads(channel.id).await {
                Ok(found) => threads.extend(found),
                Err(PlatformError::Unauthorized(m)) => return Err(PlatformError::Unauthorized(m)),
                Err(err) => {
                    tracing::warn!(channel_id = %channel.id, error = %err, "archived threads unavailable");
                    incomplete_parents.push(channel.id.to_string());
                }
            }
        }
        let mut out: Vec<PlatformChannel> = visible.iter().filter_map(|c| map_channel(c)).collect();
        let visible_ids: std::collections::HashSet<Id<ChannelMarker>> =
            visible.iter().map(|c| c.id).collect();
        let mut seen = std::collections::HashSet::new();
        for thread in &threads {
            let public = matches!(
                thread.kind,
                ChannelType::PublicThread | ChannelType::AnnouncementThread
            );
            let parent_visible = thread.parent_id.is_some_and(|p| visible_ids.contains(&p));
            if public && parent_visible && seen.insert(thread.id) {
                out.extend(map_channel(thread));
            }
        }
        Ok(Discovery {
            channels: out,
            incomplete_parents,
        })
    }

    async fn messages_after(
        &self,
        channel_id: &str,
        after: u64,
        limit: u16,
    ) -> Result<Vec<PlatformMessage>, PlatformError> {
        let channel: Id<ChannelMarker> = parse_id(channel_id)?;
        let client = self.client();
        let request = client.channel_messages(channel);
        let response = match Id::<MessageMarker>::new_checked(after) {
            Some(after) => request.after(after).limit(limit).await,
            // `after=0` is not a valid id for twilight; 1 is below every real snowflake.
            None => request.after(Id::new(1)).limit(limit).await,
        }
        .map_err(classify)?;
        let messages = response.models().await.map_err(deserialize_error)?;
        let mut out: Vec<PlatformMessage> = messages.iter().map(map_message).collect();
        out.sort_unstable_by_key(|m| m.id);
        Ok(out)
    }

    async fn refresh_attachment_urls(
        &self,
        urls: &[String],
    ) -> Result<Vec<(String, String)>, PlatformError> {
        #[derive(serde::Deserialize)]
        struct Refreshed {
            original: String,
            refreshed: String,
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            refreshed_urls: Vec<Refreshed>,
        }
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        // twilight has no typed request for this route; a raw one goes through the same
        // client, token and rate limiter as every other call.
        let body =
            serde_json::to_vec(&serde_json::json!({ "attachment_urls": urls })).map_err(|e| {
                PlatformError::Other {
                    status: None,
                    message: e.to_string(),
                }
            })?;
        let request = twilight_http::request::RequestBuilder::raw(
            twilight_http::request::Method::Post,
            "attachments/refresh-urls".to_owned(),
        )
        .body(body)
        .build()
        .map_err(classify)?;
        let client = self.client();
        let answer: Answer = client
            .request::<Answer>(request)
            .await
            .map_err(classify)?
            .model()
            .await
            .map_err(deserialize_error)?;
        Ok(answer
            .refreshed_urls
            .into_iter()
            .map(|r| (r.original, r.refreshed))
            .collect())
    }

    async fn reaction_users(
        &self,
        channel_id: &str,
        message_id: u64,
        reaction: &PlatformReaction,
    ) -> Result<Vec<String>, PlatformError> {
        let channel: Id<ChannelMarker> = parse_id(channel_id)?;
        let message: Id<MessageMarker> =
            Id::new_checked(message_id).ok_or_else(|| invalid_id(&message_id.to_string()))?;
        let name = reaction.name.clone().unwrap_or_default();
        let emoji = match reaction.custom_id.and_then(Id::<EmojiMarker>::new_checked) {
            Some(id) => RequestReactionType::Custom {
                id,
                name: reaction.name.as_deref(),
            },
            None => RequestReactionType::Unicode { name: &name },
        };
        let mut users = Vec::new();
        let mut after: Option<Id<UserMarker>> = None;
        loop {
            let client = self.client();
            let mut request = client.reactions(channel, message, &emoji).limit(100);
            if let Some(a) = after {
                request = request.after(a);
            }
            let page = request
                .await
                .map_err(classify)?
                .models()
                .await
                .map_err(deserialize_error)?;
            let len = page.len();
            after = page.iter().map(|u| u.id).max();
            users.extend(page.into_iter().map(|u| u.id.to_string()));
            if len < 100 {
                break;
            }
        }
        Ok(users)
    }

    fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn parse_id<T>(raw: &str) -> Result<Id<T>, PlatformError> {
    raw.parse::<u64>()
        .ok()
        .and_then(Id::new_checked)
        .ok_or_else(|| invalid_id(raw))
}

fn invalid_id(raw: &str) -> PlatformError {
    PlatformError::Other {
        status: None,
        message: format!("not a Discord snowflake: {raw:?}"),
    }
}

fn deserialize_error(err: twilight_http::response::DeserializeBodyError) -> PlatformError {
    PlatformError::Other {
        status: None,
        message: format!("unexpected response body: {err}"),
    }
}

/// Classify a twilight error by its kind and HTTP status.
pub fn classify(err: HttpError) -> PlatformError {
    let text = err.to_string();
    match err.kind() {
        ErrorType::Unauthorized => PlatformError::Unauthorized(text),
        ErrorType::Response { status, error, .. } => {
            let code = status.get();
            let detail = format!("{error}");
            match code {
                401 => PlatformError::Unauthorized(detail),
                403 => PlatformError::Forbidden(detail),
                404 => PlatformError::NotFound(detail),
                500..=599 => PlatformError::Transient {
                    status: Some(code),
                    message: detail,
                },
                _ => PlatformError::Other {
                    status: Some(code),
                    message: detail,
                },
            }
        }
        ErrorType::Parsing { .. } => PlatformError::Transient {
            status: None,
            message: text,
        },
        ErrorType::RequestError | ErrorType::RequestTimedOut | ErrorType::RequestCanceled => {
            PlatformError::Transient {
                status: None,
                message: format!("{text}: {}", source_chain(&err)),
            }
        }
        _ => PlatformError::Other {
            status: None,
            message: text,
        },
    }
}

fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = err.source();
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    parts.join(": ")
}

fn timestamp(ts: Timestamp) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(ts.as_micros()).unwrap_or_default()
}

/// Map a guild channel or thread to its stored form; `None` for kinds that are not archived.
pub fn map_channel(channel: &Channel) -> Option<PlatformChannel> {
    let discord_type = u8::from(channel.kind);
    let kind = match channel.kind {
        ChannelType::GuildText | ChannelType::GuildAnnouncement => ChannelKind::Text,
        ChannelType::GuildForum => ChannelKind::Forum,
        ChannelType::GuildCategory => ChannelKind::Category,
        ChannelType::PublicThread | ChannelType::AnnouncementThread => ChannelKind::Thread,
        _ => return None,
    };
    let metadata = match (&channel.thread_metadata, kind) {
        (Some(meta), ChannelKind::Thread) => serde_json::json!({
            "discordType": discord_type,
            "archived": meta.archived,
            "locked": meta.locked,
            "autoArchiveDuration": u16::from(meta.auto_archive_duration),
            "archiveTimestamp": meta.archive_timestamp.as_micros() / 1000,
            "createdTimestamp": meta.create_timestamp.map(|t| t.as_micros() / 1000),
        }),
        _ => serde_json::json!({
            "discordType": discord_type,
            "position": channel.position,
        }),
    };
    Some(PlatformChannel {
        id: channel.id.to_string(),
        name: channel.name.clone().unwrap_or_default(),
        kind,
        parent_id: channel.parent_id.map(|p| p.to_string()),
        last_message_id: channel.last_message_id.map(Id::get),
        metadata,
    })
}

/// The stored form of a reaction emoji: unicode as-is, `<:name:id>`, `<a:name:id>`.
pub fn emoji_string(emoji: &EmojiReactionType) -> String {
    match emoji {
        EmojiReactionType::Unicode { name } => name.clone(),
        EmojiReactionType::Custom { animated, id, name } => {
            let prefix = if *animated { "a" } else { "" };
            format!("<{prefix}:{}:{id}>", name.as_deref().unwrap_or("null"))
        }
    }
}

/// Map a twilight message to the platform-agnostic form.
pub fn map_message(message: &Message) -> PlatformMessage {
    PlatformMessage {
        id: message.id.get(),
        author_id: message.author.id.to_string(),
        content: message.content.clone(),
        created_at: timestamp(message.timestamp),
        edited_at: message.edited_timestamp.map(timestamp),
        kind: u8::from(message.kind),
        pinned: message.pinned,
        reply_to_id: message
            .reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|id| id.to_string()),
        mentions: Mentions {
            users: message.mentions.iter().map(|m| m.id.to_string()).collect(),
            roles: message
                .mention_roles
                .iter()
                .map(ToString::to_string)
                .collect(),
            everyone: message.mention_everyone,
        },
        reactions: message
            .reactions
            .iter()
            .map(|r| {
                let (custom_id, name) = match &r.emoji {
                    EmojiReactionType::Unicode { name } => (None, Some(name.clone())),
                    EmojiReactionType::Custom { id, name, .. } => (Some(id.get()), name.clone()),
                };
                PlatformReaction {
                    emoji: emoji_string(&r.emoji),
                    custom_id,
                    name,
                    count: r.count,
                }
            })
            .collect(),
        attachments: message
            .attachments
            .iter()
            .map(|a| PlatformAttachment {
                id: a.id.to_string(),
                filename: a.filename.clone(),
                size: a.size,
                content_type: a.content_type.clone(),
                url: a.url.clone(),
            })
            .collect(),
    }
}

/// The channel ids mentioned in message content (`<#123>`), in order of appearance: what the
/// sync records in a message's metadata and what the website resolves to links.
pub fn channel_mentions(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<#") {
        rest = &rest[start + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with('>') {
            out.push(digits);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_mentions_are_extracted_from_content() {
        assert_eq!(
            channel_mentions("see <#123> and <#45>, not <#x> or <@6>"),
            vec!["123", "45"]
        );
        assert!(channel_mentions("plain").is_empty());
    }

    #[test]
    fn emoji_strings_follow_discord_mention_syntax() {
        let unicode = EmojiReactionType::Unicode {
            name: "👍".into()
        };
        assert_eq!(emoji_string(&unicode), "👍");
        let custom = EmojiReactionType::Custom {
            animated: false,
            id: Id::new(42),
            name: Some("blob".into()),
        };
        assert_eq!(emoji_string(&custom), "<:blob:42>");
        let animated = EmojiReactionType::Custom {
            animated: true,
            id: Id::new(43),
            name: Some("dance".into()),
        };
        assert_eq!(emoji_string(&animated), "<a:dance:43>");
    }

    /// Held by the tests that build clients: each client's limiter runs on a thread of its
    /// own, which [`replaced_clients_do_not_leave_their_rate_limiters_running`] counts.
    static CLIENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// How long `requests` concurrent requests take through the adapter the service builds
    /// when `DISCORD_GLOBAL_RATE_LIMIT=limit`.
    async fn time_for_requests(
        fake: &testkit::fake_discord::FakeDiscord,
        limit: &str,
        requests: usize,
    ) -> std::time::Duration {
        let proxy = fake.proxy();
        let config = crate::Config::from_map([
            ("DISCORD_BOT_TOKEN", fake.token()),
            ("DISCORD_API_PROXY", proxy.as_str()),
            ("DISCORD_GLOBAL_RATE_LIMIT", limit),
        ])
        .unwrap();
        let adapter = DiscordAdapter::new(&DiscordOptions::from_config(&config).unwrap());
        let guild: Id<GuildMarker> = Id::new(fake.guild_ids()[0]);
        let started = std::time::Instant::now();
        let calls = (0..requests).map(|_| async {
            let client = adapter.client();
            client.roles(guild).await.map(|_| ())
        });
        for result in futures::future::join_all(calls).await {
            result.unwrap();
        }
        started.elapsed()
    }

    /// twilight's limiter lets `limit` requests through per one-second window, so a higher
    /// `DISCORD_GLOBAL_RATE_LIMIT` lets more requests per second through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_configured_global_rate_limit_paces_the_client() {
        let _clients = CLIENTS.lock().await;
        let fake = testkit::fake_discord::FakeDiscord::start_small().unwrap();
        // 4/s: requests 9-12 wait for the third window.
        let slow = time_for_requests(&fake, "4", 12).await;
        assert!(slow >= std::time::Duration::from_secs(2), "{slow:?} at 4/s");
        // 100/s: the same 12 requests fit in the first window.
        let fast = time_for_requests(&fake, "100", 12).await;
        assert!(
            fast < std::time::Duration::from_secs(1),
            "{fast:?} at 100/s"
        );
    }

    /// Threads of this process named [`LIMITER_THREAD`].
    fn limiter_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|t| t.ok())
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .filter(|comm| comm.trim() == LIMITER_THREAD)
                    .count()
            })
            .unwrap_or(0)
    }

    /// Replaced clients free their rate limiter: its actor runs on the client's own runtime,
    /// which is shut down with it (twilight's actor task itself never ends).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replaced_clients_do_not_leave_their_rate_limiters_running() {
        let _clients = CLIENTS.lock().await;
        let fake = testkit::fake_discord::FakeDiscord::start_small().unwrap();
        let guild = fake.guild_ids()[0].to_string();
        let adapter = DiscordAdapter::with_client_rebuild(
            &DiscordOptions {
                token: fake.token().to_owned(),
                proxy: Some(fake.proxy()),
                global_limit: u16::MAX,
            },
            2,
        );
        let first = adapter.requests_made();
        for _ in 0..8 {
            adapter.discover(&guild).await.unwrap();
        }
        let made = adapter.requests_made() - first;
        assert!(made >= 16, "{made} requests: several clients replaced");
        assert!(limiter_threads() >= 1, "the limiter runs on its own thread");
        // Shutdown is in the background: give the old runtimes' threads a moment to exit.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while limiter_threads() > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            limiter_threads(),
            1,
            "only the current client's limiter is left"
        );
    }
}
