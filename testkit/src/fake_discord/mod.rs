//! The fake Discord REST API: see the crate docs for the overview.

mod api;
mod cdn;
mod control;
mod files;
mod guild;
mod limits;
mod messages;
mod model;
mod render;
mod server;
mod spec;
mod store;
mod truth;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::{App, HttpServer, web};

pub use api::routes;
pub use cdn::{CdnStats, GONE_BODY, Links, Signer, find_attachment};
pub use files::{Content, ContentReader, POPULAR, attachment_reader};
pub use guild::Guild;
pub use limits::Faults;
pub use model::{
    Attachment, ChannelKind, ChannelMeta, DISCORD_EPOCH_MS, Emoji, GENERATED_END_MS, Message,
    Overwrite, Reaction, Role, ThreadInfo, User, VIEW_CHANNEL, snowflake, snowflake_ms,
};
pub use server::LoggedRequest;
pub use spec::{FakeConfig, GuildSpec, RouteLimit};
pub use store::{NewAttachment, NewMessage, Store, StoreError, mentioned_ids, url_safe_name};
pub use truth::{
    GuildTruth, TruthAttachment, TruthChannel, TruthMessage, TruthReaction, everyone_can_view,
    everyone_can_view_now, verta_kind,
};

use server::{Shared, lock};

/// A running fake Discord (HTTP server on its own thread with its own actix system, so it
/// works from plain tests, `#[tokio::test]` and benchmarks alike). Stopped when dropped.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeDiscord {
    /// Generates the guilds of `config` and starts serving them. Returns once the socket
    /// is bound. Panics on an invalid [`GuildSpec`].
    pub fn start(config: FakeConfig) -> std::io::Result<FakeDiscord> {
        let guilds = config.guilds.iter().map(Guild::generate).collect();
        let shared = Arc::new(Shared {
            store: Store::new(guilds).with_link_ttl(config.link_ttl),
            token: config.token.clone(),
            proxy: std::sync::Mutex::new(String::new()),
            base_latency: config.latency,
            faults: std::sync::Mutex::new(Faults::default()),
            limiter: std::sync::Mutex::new(limits::Limiter::new(
                config.route_limit,
                config.global_limit_per_sec,
            )),
            stats: std::sync::Mutex::new(Default::default()),
            log_capacity: config.request_log_capacity,
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let server_shared = shared.clone();
        let host = config.host.clone();
        let port = config.port;
        let workers = config.workers.max(1);
        let thread = std::thread::Builder::new()
            .name("fake-discord".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    let data = web::Data::from(server_shared);
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .app_data(web::PayloadConfig::new(1 << 20))
                            .default_service(web::to(server::dispatch))
                    })
                    .workers(workers)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .bind((host.as_str(), port));
                    let server = match server {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.addrs().first().copied();
                    let running = server.run();
                    match addr {
                        Some(a) => {
                            let _ = tx.send(Ok((a, running.handle())));
                        }
                        None => {
                            let _ = tx.send(Err(std::io::Error::other("no address bound")));
                            return;
                        }
                    }
                    let _ = running.await;
                });
            })?;
        let (addr, handle) = rx
            .recv()
            .map_err(|_| std::io::Error::other("fake-discord server thread exited"))??;
        *lock(&shared.proxy) = addr.to_string();
        tracing::info!(%addr, guilds = shared.store.guilds().len(), "fake discord listening");
        Ok(FakeDiscord {
            shared,
            addr,
            handle,
            thread: Some(thread),
        })
    }

    /// Starts the default fake ([`FakeConfig::small`]).
    pub fn start_small() -> std::io::Result<FakeDiscord> {
        FakeDiscord::start(FakeConfig::small())
    }

    /// `"127.0.0.1:PORT"`: the value of `DISCORD_API_PROXY` / twilight's `proxy(.., true)`.
    pub fn proxy(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v10`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// The bot token the fake accepts (without the `Bot ` prefix).
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Ids of the served guilds, in config order.
    pub fn guild_ids(&self) -> Vec<u64> {
        self.shared.store.guilds().iter().map(|g| g.id).collect()
    }

    /// The served guilds (generated metadata).
    pub fn guilds(&self) -> &[Guild] {
        self.shared.store.guilds()
    }

    /// The data store (generated guilds + runtime overlay).
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// What Verta must store for a guild, as served right now.
    pub fn truth(&self, guild_id: u64) -> Option<GuildTruth<'_>> {
        GuildTruth::of(&self.shared.store, guild_id)
    }

    /// Requests per route template (see [`routes`]) since start or the last reset.
    pub fn route_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats).counters.clone()
    }

    /// Requests of one route template (see [`routes`]).
    pub fn route_count(&self, route: &str) -> u64 {
        lock(&self.shared.stats)
            .counters
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// Responses per status code.
    pub fn status_counts(&self) -> BTreeMap<u16, u64> {
        lock(&self.shared.stats).statuses.clone()
    }

    /// All requests served (including 404s outside `/api/v10`, excluding `/_control`).
    pub fn total_requests(&self) -> u64 {
        lock(&self.shared.stats).total
    }

    /// The request log, oldest first (bounded by [`FakeConfig::request_log_capacity`]).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.stats).log.iter().cloned().collect()
    }

    /// CDN and refresh counters since start or the last stats reset.
    pub fn cdn_stats(&self) -> CdnStats {
        lock(&self.shared.stats).cdn.clone()
    }

    /// The signed URL the fake would serve now for an attachment (`expired`: issued already
    /// expired, like the `expired_links` fault).
    pub fn signed_url(&self, attachment: &Attachment, expired: bool) -> String {
        self.shared
            .store
            .signer()
            .links(expired)
            .sign(&attachment.url)
    }

    /// Clears counters (CDN ones included) and the request log.
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Default::default();
    }

    /// Clears counters, log, faults, rate-limit state and runtime data changes.
    pub fn reset(&self) {
        self.reset_stats();
        *lock(&self.shared.faults) = Faults::default();
        lock(&self.shared.limiter).reset();
        self.shared.store.reset();
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Changes the faults in place, e.g. `fake.update_faults(|f| f.storm_429 = 3)`.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut lock(&self.shared.faults));
    }

    /// Replaces the rate limits (and forgets bucket state).
    pub fn set_limits(&self, route_limit: Option<RouteLimit>, global_per_sec: Option<u32>) {
        let mut l = lock(&self.shared.limiter);
        l.route_limit = route_limit;
        l.global_per_sec = global_per_sec;
        l.reset();
    }

    /// Adds a message now; see [`Store::add_message`].
    pub fn add_message(&self, channel_id: u64, new: NewMessage) -> Result<Message, StoreError> {
        self.shared.store.add_message(channel_id, new)
    }

    /// Adds a message now with attachments of the given sizes and names; see
    /// [`Store::add_message_with_attachments`].
    pub fn add_message_with_attachments(
        &self,
        channel_id: u64,
        new: NewMessage,
        files: Vec<NewAttachment>,
    ) -> Result<Message, StoreError> {
        self.shared
            .store
            .add_message_with_attachments(channel_id, new, files)
    }

    /// Edits a message's content.
    pub fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        content: &str,
    ) -> Result<Message, StoreError> {
        self.shared
            .store
            .edit_message(channel_id, message_id, content.to_string())
    }

    /// Deletes a message.
    pub fn delete_message(&self, channel_id: u64, message_id: u64) -> Result<(), StoreError> {
        self.shared.store.delete_message(channel_id, message_id)
    }

    /// Adds a reaction.
    pub fn add_reaction(
        &self,
        channel_id: u64,
        message_id: u64,
        emoji: Emoji,
        user_id: u64,
    ) -> Result<Message, StoreError> {
        self.shared
            .store
            .add_reaction(channel_id, message_id, emoji, user_id)
    }

    /// Removes a reaction.
    pub fn remove_reaction(
        &self,
        channel_id: u64,
        message_id: u64,
        emoji: &Emoji,
        user_id: u64,
    ) -> Result<Message, StoreError> {
        self.shared
            .store
            .remove_reaction(channel_id, message_id, emoji, user_id)
    }

    /// Deletes a channel (with its threads): gone from listings, 404 10003 afterwards.
    pub fn delete_channel(&self, channel_id: u64) -> Result<(), StoreError> {
        self.shared.store.delete_channel(channel_id)
    }

    /// Renames a channel or thread.
    pub fn rename_channel(&self, channel_id: u64, name: &str) -> Result<(), StoreError> {
        self.shared.store.rename_channel(channel_id, name)
    }

    /// Shows or hides a (non-thread) channel for @everyone via its @everyone overwrite.
    pub fn set_channel_visible(&self, channel_id: u64, visible: bool) -> Result<(), StoreError> {
        self.shared.store.set_channel_visible(channel_id, visible)
    }

    /// Creates an empty, active public thread (announcement thread in an announcement
    /// channel) in a text, announcement or forum channel from a spare slot
    /// ([`GuildSpec::spare_threads`]); returns its id.
    pub fn create_thread(&self, parent_id: u64, name: &str) -> Result<u64, StoreError> {
        self.shared.store.create_thread(parent_id, name)
    }

    /// Archives (or unarchives) a thread now.
    pub fn set_thread_archived(&self, thread_id: u64, archived: bool) -> Result<(), StoreError> {
        self.shared.store.set_thread_archived(thread_id, archived)
    }

    /// The first line the `fake-discord` binary prints:
    /// `{"proxy": "...", "token": "...", "guild_ids": ["..."]}`.
    pub fn announcement(&self) -> String {
        let ids: Vec<String> = self.guild_ids().iter().map(u64::to_string).collect();
        // Written by hand to keep the documented key order (serde_json sorts keys).
        format!(
            "{{\"proxy\":{},\"token\":{},\"guild_ids\":{}}}",
            serde_json::Value::from(self.proxy()),
            serde_json::Value::from(self.token()),
            serde_json::Value::from(ids)
        )
    }

    /// Blocks until the server stops (the binary uses this to serve until killed).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        // `stop` sends the command eagerly; the returned future only awaits completion.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
