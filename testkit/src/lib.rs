//! Test kit: a fake Discord REST API (library + `fake-discord` binary), deterministic data
//! generators with their ground truth, and per-test databases. Used by tests, benchmarks and
//! `verta demo`, which links it to serve its generated guild ([`demo`]); nothing else in
//! Verta's runtime uses it.
//!
//! # Fake Discord ([`fake_discord`])
//!
//! ```no_run
//! use testkit::fake_discord::{FakeConfig, FakeDiscord, GuildSpec, routes};
//!
//! // Default: GuildSpec::small() (every kind, ~3,000 messages, one channel of 1,234)
//! // plus GuildSpec::locked_down() (@everyone lacks VIEW_CHANNEL).
//! let fake = FakeDiscord::start(FakeConfig::small()).unwrap();
//! let proxy = fake.proxy(); // "127.0.0.1:PORT" -> DISCORD_API_PROXY
//! let token = fake.token(); // DISCORD_BOT_TOKEN
//! let guild = fake.guild_ids()[0];
//! // Benchmarks: 20 channels x 50,000 messages, reactions on 10 %, Discord-like limits.
//! let bench = FakeConfig::single(GuildSpec::bench(20, 50_000, 0.1)).discord_like_limits();
//! // What Verta must store (raw ids; messages streamed per channel):
//! let truth = fake.truth(guild).unwrap();
//! for ch in &truth.channels {
//!     for m in truth.messages(ch.platform_id) { let _ = (m.platform_id, m.reactions); }
//! }
//! // Counters, runtime changes, faults:
//! let n = fake.route_count(routes::MESSAGES);
//! fake.update_faults(|f| { f.storm_429 = 3; f.forbidden_channels.insert(123); });
//! ```
//!
//! Main items: [`fake_discord::FakeDiscord`] (`start`, `proxy`, `token`, `guild_ids`,
//! `truth`, `route_count(s)`, `requests`, `reset`, `add/edit/delete_message`,
//! `add/remove_reaction`, `delete_channel`, `rename_channel`, `set_channel_visible`,
//! `create_thread`, `set_thread_archived`,
//! `set_faults`/`update_faults`, `set_limits`),
//! [`fake_discord::FakeConfig`], [`fake_discord::GuildSpec`] (`small`, `locked_down`,
//! `bench`, `with_*`), [`fake_discord::GuildTruth`] (`channels`, `messages(id)`),
//! [`fake_discord::Faults`], [`fake_discord::routes`] (route templates for counters).
//! The HTTP control API is documented in `fake_discord/control.rs` and docs/fake-discord.md.
//!
//! # Databases ([`db`])
//!
//! [`db::TestDb::new`] gives each test a fresh SQLite file or MariaDB database.
//!
//! # Demo guild ([`demo`])
//!
//! [`demo::DemoDiscord::start`] serves the guild of `verta demo` (about N messages, every
//! channel kind) from [`demo::guild_spec`], which tests use to rebuild it.

pub mod db;
pub mod demo;
pub mod fake_discord;
