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

struct Layout<'a> {
    spec: &'a GuildSpec,
    guild_id: u64,
    next_ms: i64,
    slot: u16,
    channels: Vec<ChannelMeta>,
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

impl Guild {
    /// Generates the guild described by `spec`. Panics on an invalid spec
    /// ([`GuildSpec::validate`]): specs are written by test authors, not users.
    pub fn generate(spec: &GuildSpec) -> Guild {
        if let Err(e) = spec.validate() {
            panic!("invalid GuildSpec: {e}");
        }
        let seed = spec.seed;
        let created_ms = 1_546_300_800_000 + (mix(seed) % 365) as i64 * DAY_MS; // 2019 + days
        let guild_id = snowflake(created_ms, 0, mix(seed) & 0xFFF);
        let users: Vec<User> = (0..u64::from(spec.users))
            .map(|k| {
                let ms = 1_451_606_400_000 + k as i64 * 3_600_000 + (mix(seed ^ k) % 3_000) as i64;
                User {
                    id: snowflake(ms, 1 + (k % 1000) as u16, mix(seed.wrapping_add(k))),
                    username: format!("user_{k}"),
                    global_name: (k % 3 != 0).then(|| format!("User {k}")),
                    bot: false,
                }
            })
            .collect();
        let bot = User {
            id: snowflake(1_527_811_200_000 + (mix(seed) % 1000) as i64, 1023, 1),
            username: "verta-fake-bot".into(),
            global_name: None,
            bot: true,
        };
        let everyone_perms = SEND_MESSAGES
            | READ_MESSAGE_HISTORY
            | ADD_REACTIONS
            | if spec.everyone_can_view {
                VIEW_CHANNEL
            } else {
                0
            };
        let moderators = snowflake(created_ms + 1_000, 0, 1);
        let bot_role = snowflake(created_ms + 2_000, 0, 2);
        let roles = vec![
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
                id: bot_role,
                name: "Verta".into(),
                permissions: ADMINISTRATOR | VIEW_CHANNEL | READ_MESSAGE_HISTORY,
                position: 2,
                color: 0,
                managed: true,
                bot_id: Some(bot.id),
            },
        ];
        let custom_emojis = vec![
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
        ];

        let mut l = Layout {
            spec,
            guild_id,
            next_ms: created_ms + DAY_MS,
            slot: 0,
            channels: Vec::new(),
        };
        let allow_view = |id: u64| Overwrite {
            id,
            kind: 0,
            allow: VIEW_CHANNEL,
            deny: 0,
        };
        let categories: Vec<usize> = (0..spec.categories)
            .map(|k| {
                let i = l.push(
                    ChannelKind::Category,
                    format!("Category {k}"),
                    None,
                    k as i32,
                    0,
                );
                if !spec.everyone_can_view {
                    l.channels[i].overwrites.push(allow_view(guild_id));
                }
                i
            })
            .collect();
        let category_id = |l: &Layout, k: u32| {
            (!categories.is_empty())
                .then(|| l.channels[categories[(k as usize) % categories.len()]].id)
        };
        let mut parents = Vec::new();
        for k in 0..spec.text_channels {
            let name = match CHANNEL_NAMES.get(k as usize) {
                Some(n) => (*n).to_string(),
                None => format!("channel-{k}"),
            };
            let messages = match (k, spec.big_channel_messages) {
                (0, Some(n)) => n,
                _ => spec.messages_per_channel,
            };
            let parent = category_id(&l, k);
            let i = l.push(ChannelKind::Text, name, parent, k as i32, messages);
            let hidden = k >= spec.text_channels.saturating_sub(spec.hidden_channels) && k > 0;
            let c = &mut l.channels[i];
            c.topic = Some(format!("Topic of {}", c.name));
            if spec.everyone_can_view {
                if hidden {
                    c.overwrites.push(Overwrite {
                        id: guild_id,
                        kind: 0,
                        allow: 0,
                        deny: VIEW_CHANNEL,
                    });
                    c.overwrites.push(allow_view(moderators));
                } else if k == 1 {
                    // Overwrites that do not change @everyone's view.
                    c.overwrites.push(Overwrite {
                        id: moderators,
                        kind: 0,
                        allow: MANAGE_MESSAGES,
                        deny: 0,
                    });
                    c.overwrites.push(Overwrite {
                        id: users[0].id,
                        kind: 1,
                        allow: 0,
                        deny: SEND_MESSAGES,
                    });
                }
            } else if hidden {
                c.overwrites.push(allow_view(moderators));
            } else {
                c.overwrites.push(allow_view(guild_id));
            }
            parents.push(i);
        }
        for k in 0..spec.announcement_channels {
            let parent = category_id(&l, k);
            let i = l.push(
                ChannelKind::Announcement,
                format!("announcements-{k}"),
                parent,
                100 + k as i32,
                spec.messages_per_channel,
            );
            if !spec.everyone_can_view {
                l.channels[i].overwrites.push(allow_view(guild_id));
            }
            l.channels[i].topic = Some("News".into());
            parents.push(i);
        }
        for k in 0..spec.voice_channels {
            let parent = category_id(&l, k + 1);
            l.push(
                ChannelKind::Voice,
                format!("Voice {k}"),
                parent,
                200 + k as i32,
                spec.messages_per_channel.min(10),
            );
        }
        let mut forums = Vec::new();
        for k in 0..spec.forum_channels {
            let parent = category_id(&l, k);
            let i = l.push(
                ChannelKind::Forum,
                format!("forum-{k}"),
                parent,
                300 + k as i32,
                0,
            );
            if !spec.everyone_can_view {
                l.channels[i].overwrites.push(allow_view(guild_id));
            }
            l.channels[i].topic = Some("Ask anything".into());
            forums.push(i);
        }
        for &p in &parents {
            let thread_kind = if l.channels[p].kind == ChannelKind::Announcement {
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
                let name = format!("{} archived thread {a}", l.channels[p].name);
                l.push_thread(p, thread_kind, name, true, false, (t, total), &users);
                t += 1;
            }
            for a in 0..spec.active_threads_per_channel {
                let name = format!("{} thread {a}", l.channels[p].name);
                l.push_thread(p, thread_kind, name, false, false, (t, total), &users);
                t += 1;
            }
            if l.channels[p].kind == ChannelKind::Text {
                for a in 0..spec.private_threads_per_channel {
                    let name = format!("{} private thread {a}", l.channels[p].name);
                    let kind = ChannelKind::PrivateThread;
                    l.push_thread(p, kind, name, false, false, (t, total), &users);
                    t += 1;
                }
            }
        }
        for &f in &forums {
            let total = u64::from(spec.posts_per_forum) + 2;
            for a in 0..spec.posts_per_forum {
                let name = format!("Question {a}: how do I archive?");
                let archived = a % 3 == 2;
                let kind = ChannelKind::PublicThread;
                l.push_thread(
                    f,
                    kind,
                    name,
                    archived,
                    true,
                    (u64::from(a) + 1, total),
                    &users,
                );
            }
        }
        // Stage channels come last so that adding them kept every earlier id stable.
        for k in 0..spec.stage_channels {
            let parent = category_id(&l, k + 1);
            let i = l.push(
                ChannelKind::Stage,
                format!("Stage {k}"),
                parent,
                250 + k as i32,
                spec.messages_per_channel.min(5),
            );
            if !spec.everyone_can_view {
                l.channels[i].overwrites.push(allow_view(guild_id));
            }
        }
        // Spare thread slots, activated by `Store::create_thread` at runtime.
        for k in 0..spec.spare_threads {
            let created = spec.generated_until_ms - DAY_MS + i64::from(k) * 1_000;
            let slot = l.slot;
            l.slot += 1;
            let id = snowflake(created, slot, 0);
            l.channels.push(ChannelMeta {
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
                    owner_id: users[0].id,
                    auto_archive_minutes: 1440,
                    forum_post: false,
                    spare: true,
                }),
            });
        }
        let _ = l.guild_id;
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
            custom_emojis,
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
