//! Deterministic guild generation from a [`GuildSpec`]: roles, users, emojis, channels,
//! threads and forum posts are materialised; messages are computed per slot on demand
//! (`messages.rs`).

use std::collections::HashMap;

use super::model::{
    ADD_REACTIONS, ADMINISTRATOR, ChannelKind, ChannelMeta, Emoji, MANAGE_MESSAGES, Overwrite,
    READ_MESSAGE_HISTORY, Role, SEND_MESSAGES, ThreadInfo, User, VIEW_CHANNEL, mix, snowflake,
};
use super::spec::GuildSpec;

/// A generated guild: metadata materialised, messages computed on demand.
#[derive(Debug, Clone)]
pub struct Guild {
    /// The spec it was generated from.
    pub spec: GuildSpec,
    /// Guild id (== the @everyone role id).
    pub id: u64,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Owner (user pool index 0).
    pub owner_id: u64,
    /// Roles, @everyone first.
    pub roles: Vec<Role>,
    /// Channels and threads in creation order, spare thread slots included (see
    /// [`Guild::initial_channels`]).
    pub channels: Vec<ChannelMeta>,
    /// User pool.
    pub users: Vec<User>,
    /// Custom guild emojis used in reactions.
    pub custom_emojis: Vec<Emoji>,
    /// The bot user.
    pub bot: User,
    channel_index: HashMap<u64, usize>,
    user_index: HashMap<u64, usize>,
}

const CHANNEL_NAMES: &[&str] = &[
    "general",
    "random",
    "help",
    "off-topic",
    "dev",
    "showcase",
    "links",
    "memes",
    "support",
    "ideas",
];

const DAY_MS: i64 = 86_400_000;

/// The channels of a guild being generated: each channel takes the next slot and an hour
/// after the previous one, which its id is derived from.
struct Layout<'a> {
    spec: &'a GuildSpec,
    guild_id: u64,
    next_ms: i64,
    slot: u16,
    channels: Vec<ChannelMeta>,
    /// Indexes of the categories in `channels`.
    categories: Vec<usize>,
}

impl Layout<'_> {
    fn push(
        &mut self,
        kind: ChannelKind,
        name: String,
        parent_id: Option<u64>,
        position: i32,
        messages: u64,
    ) -> usize {
        let created = self.next_ms;
        self.next_ms += 3_600_000;
        let slot = self.slot;
        self.slot += 1;
        let id = snowflake(created, slot, 0);
        let first_ms = created + 60_000;
        let span = (self.spec.generated_until_ms - DAY_MS - first_ms).max(1);
        let step_ms = if messages == 0 {
            1
        } else {
            (span / messages as i64).max(1)
        };
        self.channels.push(ChannelMeta {
            id,
            kind,
            name,
            position,
            parent_id,
            overwrites: Vec::new(),
            topic: None,
            slot,
            message_count: messages,
            first_ms,
            step_ms,
            thread: None,
        });
        self.channels.len() - 1
    }

    #[allow(clippy::too_many_arguments)] // one call site per thread kind; a struct would only rename them
    fn push_thread(
        &mut self,
        parent: usize,
        kind: ChannelKind,
        name: String,
        archived: bool,
        forum_post: bool,
        fraction: (u64, u64),
        users: &[User],
    ) {
        let p = &self.channels[parent];
        let parent_id = p.id;
        let span = self.spec.generated_until_ms - DAY_MS * 10 - p.first_ms;
        let created = p.first_ms + span / fraction.1 as i64 * fraction.0 as i64;
        let slot = self.slot;
        self.slot += 1;
        let id = snowflake(created, slot, 0);
        let n = self.spec.messages_per_thread.max(u64::from(forum_post));
        let (first_ms, step_ms) = if forum_post {
            (created, 1)
        } else {
            (created + 60_000, 1)
        };
        let step_ms = if archived {
            600_000
        } else {
            let span = (self.spec.generated_until_ms - DAY_MS - first_ms).max(1);
            (span / n.max(1) as i64).max(step_ms)
        };
        let last_ms = first_ms + step_ms * n as i64;
        let owner = users[(mix(id) % users.len() as u64) as usize].id;
        self.channels.push(ChannelMeta {
            id,
            kind,
            name,
            position: 0,
            parent_id: Some(parent_id),
            overwrites: Vec::new(),
            topic: None,
            slot,
            message_count: n,
            first_ms,
            step_ms,
            thread: Some(ThreadInfo {
                archived,
                archive_ms: if archived { last_ms + DAY_MS } else { last_ms },
                created_ms: created,
                locked: archived && mix(id).is_multiple_of(3),
                owner_id: owner,
                auto_archive_minutes: 1440,
                forum_post,
                spare: false,
            }),
        });
    }
}

/// The user pool: `count` users with ids, names and display names from `seed`.
fn user_pool(seed: u64, count: u32) -> Vec<User> {
    (0..u64::from(count))
        .map(|k| {
            let ms = 1_451_606_400_000 + k as i64 * 3_600_000 + (mix(seed ^ k) % 3_000) as i64;
            User {
                id: snowflake(ms, 1 + (k % 1000) as u16, mix(seed.wrapping_add(k))),
                username: format!("user_{k}"),
                global_name: (k % 3 != 0).then(|| format!("User {k}")),
                bot: false,
            }
        })
        .collect()
}

/// The bot user the fake serves as `@me`.
fn bot_user(seed: u64) -> User {
    User {
        id: snowflake(1_527_811_200_000 + (mix(seed) % 1000) as i64, 1023, 1),
        username: "verta-fake-bot".into(),
        global_name: None,
        bot: true,
    }
}

/// @everyone (the guild's id; VIEW_CHANNEL as the spec says), Moderators (who see every
/// channel) and the bot's managed role.
fn roles(spec: &GuildSpec, guild_id: u64, created_ms: i64, moderators: u64, bot: u64) -> Vec<Role> {
    let everyone_perms = SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | if spec.everyone_can_view {
            VIEW_CHANNEL
        } else {
            0
        };
    vec![
        Role {
            id: guild_id,
            name: "@everyone".into(),
            permissions: everyone_perms,
            position: 0,
            color: 0,
            managed: false,
            bot_id: None,
        },
        Role {
            id: moderators,
            name: "Moderators".into(),
            permissions: everyone_perms | VIEW_CHANNEL | MANAGE_MESSAGES,
            position: 1,
            color: 0x3498DB,
            managed: false,
            bot_id: None,
        },
        Role {
            id: snowflake(created_ms + 2_000, 0, 2),
            name: "Verta".into(),
            permissions: ADMINISTRATOR | VIEW_CHANNEL | READ_MESSAGE_HISTORY,
            position: 2,
            color: 0,
            managed: true,
            bot_id: Some(bot),
        },
    ]
}

/// The guild's custom emojis (one of them animated).
fn custom_emojis(created_ms: i64) -> Vec<Emoji> {
    vec![
        Emoji::Custom {
            id: snowflake(created_ms + 5_000, 0, 5),
            name: "verta".into(),
            animated: false,
        },
        Emoji::Custom {
            id: snowflake(created_ms + 6_000, 0, 6),
            name: "party_parrot".into(),
            animated: true,
        },
        Emoji::Custom {
            id: snowflake(created_ms + 7_000, 0, 7),
            name: "blob_wave".into(),
            animated: false,
        },
    ]
}

/// An overwrite of role `id` that allows VIEW_CHANNEL.
fn allow_view(id: u64) -> Overwrite {
    Overwrite {
        id,
        kind: 0,
        allow: VIEW_CHANNEL,
        deny: 0,
    }
}

/// The overwrites of text channel `k`: when @everyone views channels, the hidden ones deny it
/// (and let Moderators in) and channel 1 carries overwrites that change nothing for
/// @everyone; when it does not, every channel but the hidden ones allows it.
fn text_overwrites(
    everyone_can_view: bool,
    hidden: bool,
    k: u32,
    guild_id: u64,
    moderators: u64,
    first_user: u64,
) -> Vec<Overwrite> {
    match (everyone_can_view, hidden) {
        (true, true) => vec![
            Overwrite {
                id: guild_id,
                kind: 0,
                allow: 0,
                deny: VIEW_CHANNEL,
            },
            allow_view(moderators),
        ],
        (true, false) if k == 1 => vec![
            Overwrite {
                id: moderators,
                kind: 0,
                allow: MANAGE_MESSAGES,
                deny: 0,
            },
            Overwrite {
                id: first_user,
                kind: 1,
                allow: 0,
                deny: SEND_MESSAGES,
            },
        ],
        (true, false) => Vec::new(),
        (false, true) => vec![allow_view(moderators)],
        (false, false) => vec![allow_view(guild_id)],
    }
}

impl Layout<'_> {
    /// In a guild where @everyone cannot view channels, let it view the channel at `i`.
    fn open_to_everyone_if_locked(&mut self, i: usize) {
        if !self.spec.everyone_can_view {
            self.channels[i].overwrites.push(allow_view(self.guild_id));
        }
    }

    fn add_categories(&mut self) {
        for k in 0..self.spec.categories {
            let i = self.push(
                ChannelKind::Category,
                format!("Category {k}"),
                None,
                k as i32,
                0,
            );
            self.open_to_everyone_if_locked(i);
            self.categories.push(i);
        }
    }

    /// The category channel `k` goes in: round robin over the categories, if any.
    fn category_id(&self, k: u32) -> Option<u64> {
        (!self.categories.is_empty())
            .then(|| self.channels[self.categories[(k as usize) % self.categories.len()]].id)
    }

    /// Text channels; the last `hidden_channels` of them (never the first) are hidden from
    /// @everyone. Returns their indexes.
    fn add_text_channels(&mut self, moderators: u64, first_user: u64) -> Vec<usize> {
        let spec = self.spec;
        (0..spec.text_channels)
            .map(|k| {
                let name = match CHANNEL_NAMES.get(k as usize) {
                    Some(n) => (*n).to_string(),
                    None => format!("channel-{k}"),
                };
                let messages = match (k, spec.big_channel_messages) {
                    (0, Some(n)) => n,
                    _ => spec.messages_per_channel,
                };
                let parent = self.category_id(k);
                let i = self.push(ChannelKind::Text, name, parent, k as i32, messages);
                let hidden = k >= spec.text_channels.saturating_sub(spec.hidden_channels) && k > 0;
                let overwrites = text_overwrites(
                    spec.everyone_can_view,
                    hidden,
                    k,
                    self.guild_id,
                    moderators,
                    first_user,
                );
                let c = &mut self.channels[i];
                c.topic = Some(format!("Topic of {}", c.name));
                c.overwrites = overwrites;
                i
            })
            .collect()
    }

    /// Announcement channels; returns their indexes.
    fn add_announcement_channels(&mut self) -> Vec<usize> {
        (0..self.spec.announcement_channels)
            .map(|k| {
                let parent = self.category_id(k);
                let i = self.push(
                    ChannelKind::Announcement,
                    format!("announcements-{k}"),
                    parent,
                    100 + k as i32,
                    self.spec.messages_per_channel,
                );
                self.open_to_everyone_if_locked(i);
                self.channels[i].topic = Some("News".into());
                i
            })
            .collect()
    }

    /// Voice channels, with a few text-in-voice messages.
    fn add_voice_channels(&mut self) {
        for k in 0..self.spec.voice_channels {
            let parent = self.category_id(k + 1);
            self.push(
                ChannelKind::Voice,
                format!("Voice {k}"),
                parent,
                200 + k as i32,
                self.spec.messages_per_channel.min(10),
            );
        }
    }

    /// Forum channels (their posts come later); returns their indexes.
    fn add_forum_channels(&mut self) -> Vec<usize> {
        (0..self.spec.forum_channels)
            .map(|k| {
                let parent = self.category_id(k);
                let i = self.push(
                    ChannelKind::Forum,
                    format!("forum-{k}"),
                    parent,
                    300 + k as i32,
                    0,
                );
                self.open_to_everyone_if_locked(i);
                self.channels[i].topic = Some("Ask anything".into());
                i
            })
            .collect()
    }

    /// The threads of text or announcement channel `p`: archived, then active, then (in
    /// text channels) private ones, spread over the channel's history.
    fn add_threads(&mut self, p: usize, users: &[User]) {
        let spec = self.spec;
        let thread_kind = if self.channels[p].kind == ChannelKind::Announcement {
            ChannelKind::AnnouncementThread
        } else {
            ChannelKind::PublicThread
        };
        let total = u64::from(
            spec.active_threads_per_channel
                + spec.archived_threads_per_channel
                + spec.private_threads_per_channel,
        ) + 2;
        let mut t = 1;
        for a in 0..spec.archived_threads_per_channel {
            let name = format!("{} archived thread {a}", self.channels[p].name);
            self.push_thread(p, thread_kind, name, true, false, (t, total), users);
            t += 1;
        }
        for a in 0..spec.active_threads_per_channel {
            let name = format!("{} thread {a}", self.channels[p].name);
            self.push_thread(p, thread_kind, name, false, false, (t, total), users);
            t += 1;
        }
        if self.channels[p].kind == ChannelKind::Text {
            for a in 0..spec.private_threads_per_channel {
                let name = format!("{} private thread {a}", self.channels[p].name);
                let kind = ChannelKind::PrivateThread;
                self.push_thread(p, kind, name, false, false, (t, total), users);
                t += 1;
            }
        }
    }

    /// The posts of forum `f`; every third one is archived.
    fn add_forum_posts(&mut self, f: usize, users: &[User]) {
        let total = u64::from(self.spec.posts_per_forum) + 2;
        for a in 0..self.spec.posts_per_forum {
            let name = format!("Question {a}: how do I archive?");
            let archived = a % 3 == 2;
            let kind = ChannelKind::PublicThread;
            self.push_thread(
                f,
                kind,
                name,
                archived,
                true,
                (u64::from(a) + 1, total),
                users,
            );
        }
    }

    /// Stage channels, with a few text-in-stage messages.
    fn add_stage_channels(&mut self) {
        for k in 0..self.spec.stage_channels {
            let parent = self.category_id(k + 1);
            let i = self.push(
                ChannelKind::Stage,
                format!("Stage {k}"),
                parent,
                250 + k as i32,
                self.spec.messages_per_channel.min(5),
            );
            self.open_to_everyone_if_locked(i);
        }
    }

    /// Spare thread slots, activated by `Store::create_thread` at runtime.
    fn add_spare_threads(&mut self, owner_id: u64) {
        for k in 0..self.spec.spare_threads {
            let created = self.spec.generated_until_ms - DAY_MS + i64::from(k) * 1_000;
            let slot = self.slot;
            self.slot += 1;
            let id = snowflake(created, slot, 0);
            self.channels.push(ChannelMeta {
                id,
                kind: ChannelKind::PublicThread,
                name: format!("spare thread {k}"),
                position: 0,
                parent_id: None,
                overwrites: Vec::new(),
                topic: None,
                slot,
                message_count: 0,
                first_ms: created,
                step_ms: 1,
                thread: Some(ThreadInfo {
                    archived: false,
                    archive_ms: created,
                    created_ms: created,
                    locked: false,
                    owner_id,
                    auto_archive_minutes: 1440,
                    forum_post: false,
                    spare: true,
                }),
            });
        }
    }
}

impl Guild {
    /// Generates the guild described by `spec`. Panics on an invalid spec
    /// ([`GuildSpec::validate`]): specs are written by test authors, not users.
    ///
    /// Everything is derived from the seed and from the order in which channels take their
    /// slots, so the steps below must keep their order: a given spec always generates the
    /// same guild, ids included.
    pub fn generate(spec: &GuildSpec) -> Guild {
        if let Err(e) = spec.validate() {
            panic!("invalid GuildSpec: {e}");
        }
        let seed = spec.seed;
        let created_ms = 1_546_300_800_000 + (mix(seed) % 365) as i64 * DAY_MS; // 2019 + days
        let guild_id = snowflake(created_ms, 0, mix(seed) & 0xFFF);
        let users = user_pool(seed, spec.users);
        let bot = bot_user(seed);
        let moderators = snowflake(created_ms + 1_000, 0, 1);
        let roles = roles(spec, guild_id, created_ms, moderators, bot.id);

        let mut l = Layout {
            spec,
            guild_id,
            next_ms: created_ms + DAY_MS,
            slot: 0,
            channels: Vec::new(),
            categories: Vec::new(),
        };
        l.add_categories();
        let mut parents = l.add_text_channels(moderators, users[0].id);
        parents.extend(l.add_announcement_channels());
        l.add_voice_channels();
        let forums = l.add_forum_channels();
        for &p in &parents {
            l.add_threads(p, &users);
        }
        for &f in &forums {
            l.add_forum_posts(f, &users);
        }
        // Stage channels come last so that adding them kept every earlier id stable.
        l.add_stage_channels();
        l.add_spare_threads(users[0].id);

        let channels = l.channels;
        let channel_index = channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let user_index = users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
        Guild {
            spec: spec.clone(),
            id: guild_id,
            created_ms,
            owner_id: users[0].id,
            roles,
            channels,
            users,
            custom_emojis: custom_emojis(created_ms),
            bot,
            channel_index,
            user_index,
        }
    }

    /// The channels and threads served before any runtime change, in creation order
    /// (spare thread slots, see [`GuildSpec::spare_threads`], left out).
    pub fn initial_channels(&self) -> impl Iterator<Item = &ChannelMeta> {
        self.channels
            .iter()
            .filter(|c| !c.thread.as_ref().is_some_and(|t| t.spare))
    }

    /// The channel or thread with this id.
    pub fn channel(&self, id: u64) -> Option<&ChannelMeta> {
        self.channel_index.get(&id).map(|&i| &self.channels[i])
    }

    /// The user with this id (pool users and the bot).
    pub fn user(&self, id: u64) -> Option<&User> {
        if id == self.bot.id {
            return Some(&self.bot);
        }
        self.user_index.get(&id).map(|&i| &self.users[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a of everything a guild materialises, in a stable text form.
    fn fingerprint(g: &Guild) -> u64 {
        let text = format!(
            "{} {} {} {:?} {:?} {:?} {:?} {:?}",
            g.id, g.created_ms, g.owner_id, g.roles, g.channels, g.users, g.custom_emojis, g.bot
        );
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// Ids, names and times of generated guilds are what tests, benchmarks and recorded
    /// fixtures were written against: a given spec must generate the very same guild.
    #[test]
    fn generation_of_known_specs_is_unchanged() {
        let specs = [
            GuildSpec::small(),
            GuildSpec::locked_down(),
            GuildSpec::bench(3, 1_000, 0.1),
            GuildSpec {
                categories: 0,
                ..GuildSpec::small().with_seed(7)
            },
        ];
        let got: Vec<u64> = specs
            .iter()
            .map(|s| fingerprint(&Guild::generate(s)))
            .collect();
        assert_eq!(
            got,
            vec![
                9_297_304_475_531_084_206,
                2_407_554_426_504_223_860,
                6_593_305_854_828_610_154,
                3_804_383_392_696_606_421,
            ],
            "{got:?}"
        );
    }
}
