//! Discord JSON shapes of the generated objects (API v10).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value, json};

use super::cdn::Links;
use super::guild::Guild;
use super::model::{
    Attachment, ChannelKind, ChannelMeta, Emoji, Message, Reaction, Role, ThreadInfo, User,
};
use super::store::Store;

/// Discord's timestamp format: `2021-01-01T00:00:00.000000+00:00`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// A user object (unknown ids get a placeholder name).
pub fn user(g: &Guild, id: u64) -> Value {
    serde_json::to_value(UserOut::of(g, id)).unwrap_or(Value::Null)
}

/// A user object.
pub fn user_obj(u: &User) -> Value {
    serde_json::to_value(UserOut::from_user(u)).unwrap_or(Value::Null)
}

/// The current user (`/users/@me`).
pub fn current_user(bot: &User) -> Value {
    let mut v = user_obj(bot);
    v["mfa_enabled"] = json!(false);
    v["locale"] = json!("en-US");
    v["verified"] = json!(true);
    v["email"] = Value::Null;
    v
}

/// A role object.
pub fn role(r: &Role) -> Value {
    let mut v = json!({
        "id": r.id.to_string(),
        "name": r.name,
        "description": null,
        "permissions": r.permissions.to_string(),
        "position": r.position,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "managed": r.managed,
        "mentionable": false,
        "icon": null,
        "unicode_emoji": null,
        "flags": 0,
    });
    if let Some(bot) = r.bot_id {
        v["tags"] = json!({"bot_id": bot.to_string()});
    }
    v
}

/// The guild object (`/guilds/{id}`); `with_counts` adds approximate counts.
pub fn guild(g: &Guild, with_counts: bool) -> Value {
    let emojis: Vec<Value> = g
        .custom_emojis
        .iter()
        .map(|e| match e {
            Emoji::Custom { id, name, animated } => json!({
                "id": id.to_string(), "name": name, "roles": [], "require_colons": true,
                "managed": false, "animated": animated, "available": true,
            }),
            Emoji::Unicode(_) => Value::Null,
        })
        .collect();
    let mut v = json!({
        "id": g.id.to_string(),
        "name": g.spec.name,
        "icon": null,
        "description": null,
        "home_header": null,
        "splash": null,
        "discovery_splash": null,
        "features": [],
        "banner": null,
        "owner_id": g.owner_id.to_string(),
        "application_id": null,
        "region": "deprecated",
        "afk_channel_id": null,
        "afk_timeout": 300,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 1,
        "roles": g.roles.iter().map(role).collect::<Vec<_>>(),
        "default_message_notifications": 1,
        "mfa_level": 0,
        "explicit_content_filter": 2,
        "max_presences": null,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": null,
        "safety_alerts_channel_id": null,
        "public_updates_channel_id": null,
        "premium_progress_bar_enabled": false,
        "nsfw": false,
        "nsfw_level": 0,
        "emojis": emojis,
        "stickers": [],
        "incidents_data": null,
    });
    if with_counts {
        v["approximate_member_count"] = json!(g.users.len() + 1);
        v["approximate_presence_count"] = json!(0);
    }
    v
}

/// A channel or thread object.
pub fn channel(store: &Store, g: &Guild, c: &ChannelMeta) -> Value {
    let c = &*store.current(c);
    let last = if c.kind.has_messages() {
        store.last_message_id(c).map(|id| id.to_string())
    } else {
        None
    };
    match &c.thread {
        Some(t) => thread(g, c, t, last),
        None => guild_channel(g, c, last),
    }
}

/// A thread (or forum post) object; `last` is its last message id.
fn thread(g: &Guild, c: &ChannelMeta, t: &ThreadInfo, last: Option<String>) -> Value {
    let mut meta = json!({
        "archived": t.archived,
        "archive_timestamp": iso(t.archive_ms),
        "auto_archive_duration": t.auto_archive_minutes,
        "locked": t.locked,
        "create_timestamp": iso(t.created_ms),
    });
    if c.kind == ChannelKind::PrivateThread {
        meta["invitable"] = json!(true);
    }
    let count = c.message_count.min(u64::from(u32::MAX));
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind.discord_type(),
        "guild_id": g.id.to_string(),
        "name": c.name,
        "parent_id": c.parent_id.map(|p| p.to_string()),
        "owner_id": t.owner_id.to_string(),
        "last_message_id": last,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": meta,
        "message_count": count,
        "member_count": 3,
        "total_message_sent": count,
    });
    if t.forum_post {
        v["applied_tags"] = json!([]);
    }
    v
}

/// A guild channel object (not a thread), with the fields of its kind; `last` is its last
/// message id.
fn guild_channel(g: &Guild, c: &ChannelMeta, last: Option<String>) -> Value {
    let overwrites: Vec<Value> = c
        .overwrites
        .iter()
        .map(|o| {
            json!({"id": o.id.to_string(), "type": o.kind, "allow": o.allow.to_string(),
                   "deny": o.deny.to_string()})
        })
        .collect();
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind.discord_type(),
        "guild_id": g.id.to_string(),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": overwrites,
        "parent_id": c.parent_id.map(|p| p.to_string()),
        "flags": 0,
    });
    match c.kind {
        ChannelKind::Text | ChannelKind::Announcement => {
            v["topic"] = json!(c.topic);
            v["nsfw"] = json!(false);
            v["last_message_id"] = json!(last);
            v["rate_limit_per_user"] = json!(0);
            v["default_auto_archive_duration"] = json!(1440);
            v["default_thread_rate_limit_per_user"] = json!(0);
        }
        ChannelKind::Voice | ChannelKind::Stage => {
            v["nsfw"] = json!(false);
            v["last_message_id"] = json!(last);
            v["rate_limit_per_user"] = json!(0);
            v["bitrate"] = json!(64000);
            v["user_limit"] = json!(0);
            v["rtc_region"] = Value::Null;
        }
        ChannelKind::Forum => {
            v["topic"] = json!(c.topic);
            v["nsfw"] = json!(false);
            v["last_message_id"] = Value::Null;
            v["rate_limit_per_user"] = json!(0);
            v["available_tags"] = json!([]);
            v["default_reaction_emoji"] = Value::Null;
            v["default_sort_order"] = Value::Null;
            v["default_forum_layout"] = json!(0);
            v["default_thread_rate_limit_per_user"] = json!(0);
            v["default_auto_archive_duration"] = json!(1440);
        }
        _ => {}
    }
    v
}

/// A snowflake, serialized as a JSON string.
#[derive(Debug, Clone, Copy)]
pub struct Sf(pub u64);

impl Serialize for Sf {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Discord's user object, borrowed from the generated pool.
#[derive(Debug, Serialize)]
pub struct UserOut<'a> {
    id: Sf,
    username: Cow<'a, str>,
    avatar: Option<()>,
    discriminator: &'static str,
    public_flags: u8,
    flags: u8,
    global_name: Option<&'a str>,
    primary_guild: Option<()>,
    banner: Option<()>,
    accent_color: Option<()>,
    avatar_decoration_data: Option<()>,
    collectibles: Option<()>,
    #[serde(skip_serializing_if = "is_false")]
    bot: bool,
}

impl<'a> UserOut<'a> {
    fn from_user(u: &'a User) -> Self {
        UserOut {
            id: Sf(u.id),
            username: Cow::Borrowed(&u.username),
            avatar: None,
            discriminator: "0",
            public_flags: 0,
            flags: 0,
            global_name: u.global_name.as_deref(),
            primary_guild: None,
            banner: None,
            accent_color: None,
            avatar_decoration_data: None,
            collectibles: None,
            bot: u.bot,
        }
    }

    /// The user with this id; unknown ids (runtime additions) get a placeholder name.
    pub fn of(g: &'a Guild, id: u64) -> Self {
        match g.user(id) {
            Some(u) => UserOut::from_user(u),
            None => UserOut {
                username: Cow::Owned(format!("user-{id}")),
                global_name: None,
                bot: false,
                id: Sf(id),
                ..UserOut::from_user(&g.bot)
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct AttachmentOut<'a> {
    id: Sf,
    filename: &'a str,
    size: u64,
    url: String,
    proxy_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
}

#[derive(Debug, Serialize)]
struct EmojiOut<'a> {
    id: Option<Sf>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    animated: Option<bool>,
}

#[derive(Debug, Serialize)]
struct CountDetails {
    burst: u8,
    normal: usize,
}

#[derive(Debug, Serialize)]
struct ReactionOut<'a> {
    emoji: EmojiOut<'a>,
    count: usize,
    count_details: CountDetails,
    burst_colors: [u8; 0],
    me_burst: bool,
    me: bool,
}

#[derive(Debug, Serialize)]
struct ReferenceOut {
    #[serde(rename = "type")]
    kind: u8,
    channel_id: Sf,
    message_id: Sf,
    guild_id: Sf,
}

/// Discord's message object, borrowed from a [`Message`].
#[derive(Debug, Serialize)]
pub struct MessageOut<'a> {
    #[serde(rename = "type")]
    kind: u8,
    content: &'a str,
    mentions: Vec<UserOut<'a>>,
    mention_roles: [u8; 0],
    attachments: Vec<AttachmentOut<'a>>,
    embeds: [u8; 0],
    timestamp: String,
    edited_timestamp: Option<String>,
    flags: u8,
    components: [u8; 0],
    id: Sf,
    channel_id: Sf,
    author: UserOut<'a>,
    pinned: bool,
    mention_everyone: bool,
    tts: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_reference: Option<ReferenceOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reactions: Vec<ReactionOut<'a>>,
    /// Present on replies only: the replied-to message, or null when it was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    referenced_message: Option<Option<Box<MessageOut<'a>>>>,
}

impl<'a> MessageOut<'a> {
    /// The message without `reactions` / `referenced_message` (Discord's "basic message").
    fn basic(g: &'a Guild, m: &'a Message, links: Links<'_>) -> Self {
        MessageOut {
            kind: m.kind,
            content: &m.content,
            mentions: m.mentions.iter().map(|u| UserOut::of(g, *u)).collect(),
            mention_roles: [],
            attachments: m
                .attachments
                .iter()
                .map(|a: &Attachment| {
                    let url = links.sign(&a.url);
                    AttachmentOut {
                        id: Sf(a.id),
                        filename: &a.filename,
                        size: a.size,
                        proxy_url: url.replacen("cdn.discordapp.com", "media.discordapp.net", 1),
                        url,
                        content_type: a.content_type.as_deref(),
                        width: a.dimensions.map(|d| d.0),
                        height: a.dimensions.map(|d| d.1),
                    }
                })
                .collect(),
            embeds: [],
            timestamp: iso(m.timestamp_ms),
            edited_timestamp: m.edited_ms.map(iso),
            flags: 0,
            components: [],
            id: Sf(m.id),
            channel_id: Sf(m.channel_id),
            author: UserOut::of(g, m.author_id),
            pinned: false,
            mention_everyone: false,
            tts: false,
            message_reference: m.reply_to.map(|r| ReferenceOut {
                kind: 0,
                channel_id: Sf(m.channel_id),
                message_id: Sf(r),
                guild_id: Sf(g.id),
            }),
            reactions: Vec::new(),
            referenced_message: None,
        }
    }

    /// A full message; `referenced` is the current replied-to message (None when it was
    /// deleted: Discord then sends `referenced_message: null`); attachment URLs are signed
    /// with `links`.
    pub fn new(
        g: &'a Guild,
        m: &'a Message,
        referenced: Option<&'a Message>,
        links: Links<'_>,
    ) -> Self {
        let mut out = MessageOut::basic(g, m, links);
        out.reactions = m.reactions.iter().map(reaction).collect();
        if m.reply_to.is_some() {
            out.referenced_message =
                Some(referenced.map(|r| Box::new(MessageOut::basic(g, r, links))));
        }
        out
    }
}

fn reaction(r: &Reaction) -> ReactionOut<'_> {
    let n = r.users.len();
    let emoji = match &r.emoji {
        Emoji::Unicode(s) => EmojiOut {
            id: None,
            name: s,
            animated: None,
        },
        Emoji::Custom { id, name, animated } => EmojiOut {
            id: Some(Sf(*id)),
            name,
            animated: Some(*animated),
        },
    };
    ReactionOut {
        emoji,
        count: n,
        count_details: CountDetails {
            burst: 0,
            normal: n,
        },
        burst_colors: [],
        me_burst: false,
        me: false,
    }
}

/// A full message object as a JSON value (see [`MessageOut::new`]).
pub fn message(g: &Guild, m: &Message, referenced: Option<&Message>, links: Links<'_>) -> Value {
    serde_json::to_value(MessageOut::new(g, m, referenced, links)).unwrap_or(Value::Null)
}

/// Discord's error body.
pub fn error(code: u32, message: &str) -> Value {
    json!({"message": message, "code": code})
}
