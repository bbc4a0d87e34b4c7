//! The guild of `verta demo`: a fake Discord serving one generated guild of about a given
//! number of messages, with every channel kind a newcomer may want to browse (text and
//! announcement channels, a hidden channel, active, archived and private threads, a forum).
//!
//! [`guild_spec`] is deterministic: the same `messages` and `seed` give the same guild, so a
//! test can rebuild the demo's guild and compare what Verta stored with its truth.

use crate::fake_discord::{FakeConfig, FakeDiscord, GuildSpec};

/// Seed of the demo guild when none is given.
pub const DEFAULT_SEED: u64 = 42;

/// Messages of a thread or forum post per message of a channel: threads are short
/// conversations next to their channels.
const THREAD_SHARE: f64 = 0.1;

/// The demo guild's shape, with messages spread so that the guild holds about `messages`
/// archivable messages (the exact number depends on deleted slots; read it from the truth).
pub fn guild_spec(messages: u64, seed: u64) -> GuildSpec {
    let base = GuildSpec {
        seed,
        name: "Verta Demo Guild".into(),
        text_channels: 6,
        archived_threads_per_channel: 2,
        big_channel_messages: None,
        spare_threads: 0,
        // Listing who reacted costs one request per emoji of each reacted message, and the
        // client keeps to Discord's global 50 requests/s even against the fake: a small
        // share keeps the default demo's sync to seconds while every reaction kind shows.
        reaction_share: 0.02,
        ..GuildSpec::small()
    };
    // Only what @everyone can see is archived: the visible text and announcement channels,
    // their public threads and the forum's posts (private threads, voice and stage channels
    // and the hidden channel's tree are left out).
    let parents = base.text_channels - base.hidden_channels + base.announcement_channels;
    let threads = parents * (base.active_threads_per_channel + base.archived_threads_per_channel)
        + base.forum_channels * base.posts_per_forum;
    let kept = 1.0 - base.deleted_share;
    let weight = (f64::from(parents) + f64::from(threads) * THREAD_SHARE) * kept;
    let per_channel = (messages as f64 / weight).round().max(1.0) as u64;
    let per_thread = ((per_channel as f64 * THREAD_SHARE).round() as u64).max(1);
    GuildSpec {
        messages_per_channel: per_channel,
        messages_per_thread: per_thread,
        ..base
    }
}

/// A running fake Discord serving the demo guild (stopped when dropped).
#[derive(Debug)]
pub struct DemoDiscord {
    fake: FakeDiscord,
    guild_id: u64,
}

impl DemoDiscord {
    /// Generates [`guild_spec`]`(messages, seed)` and serves it on a free loopback port
    /// without rate limits (the client's own limiter still applies). Returns once the
    /// socket is bound.
    pub fn start(messages: u64, seed: u64) -> std::io::Result<DemoDiscord> {
        let fake = FakeDiscord::start(FakeConfig::single(guild_spec(messages, seed)))?;
        let guild_id = fake.guild_ids()[0];
        Ok(DemoDiscord { fake, guild_id })
    }

    /// `"127.0.0.1:PORT"`: the value for `DISCORD_API_PROXY`.
    pub fn proxy(&self) -> String {
        self.fake.proxy()
    }

    /// The bot token the fake accepts: the value for `DISCORD_BOT_TOKEN`.
    pub fn token(&self) -> &str {
        self.fake.token()
    }

    /// `http://127.0.0.1:PORT/api/v10`.
    pub fn api_url(&self) -> String {
        self.fake.api_url()
    }

    /// The demo guild's Discord id.
    pub fn guild_id(&self) -> u64 {
        self.guild_id
    }

    /// The demo guild's name.
    pub fn guild_name(&self) -> &str {
        &self.fake.guilds()[0].spec.name
    }

    /// The fake itself (truth, counters, runtime changes).
    pub fn fake(&self) -> &FakeDiscord {
        &self.fake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_guild_holds_about_the_requested_messages() {
        for requested in [300_u64, 5_000, 20_000] {
            let demo = DemoDiscord::start(requested, DEFAULT_SEED).unwrap();
            let truth = demo.fake().truth(demo.guild_id()).unwrap();
            let held = truth.message_count();
            let error = held.abs_diff(requested) as f64 / requested as f64;
            assert!(error < 0.1, "asked for {requested}, the guild holds {held}");
            assert!(truth.channels.iter().any(|c| c.kind == "forum"));
            assert!(truth.channels.iter().any(|c| c.kind == "thread"));
        }
    }

    #[test]
    fn same_size_and_seed_give_the_same_guild() {
        let a = DemoDiscord::start(1_000, 7).unwrap();
        let b = DemoDiscord::start(1_000, 7).unwrap();
        assert_eq!(a.guild_id(), b.guild_id());
        let (ta, tb) = (
            a.fake().truth(a.guild_id()).unwrap(),
            b.fake().truth(b.guild_id()).unwrap(),
        );
        assert_eq!(ta.channels, tb.channels);
        assert_eq!(ta.message_count(), tb.message_count());
        let c = DemoDiscord::start(1_000, 8).unwrap();
        assert_ne!(a.guild_id(), c.guild_id());
    }
}
