//! Discord JSON shapes of the generated objects (API v10).

use serde_json::{Value, json};

use super::model::{
    Attachment, ChannelKind, ChannelMeta, Emoji, Guild, Message, Reaction, Role, User,
};
use super::store::Store;

/// Discord's timestamp format: `2021-01-01T00:00:00.000000+00:00`.
pub fn iso(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => "1970-01-01T00:00:00.000000+00:00".into(),
    }
}

/// A user object (unknown ids get a placeholder name).
pub fn user(g: &Guild, id: u64) -> Value {
    match g.user(id) {
        Some(u) => user_obj(u),
        None => user_obj(&User {
            id,
            username: format!("user-{id}"),
            global_name: None,
            bot: false,
        }),
    }
}

/// A user object.
pub fn user_obj(u: &User) -> Value {
    let mut v = json!({
        "id": u.id.to_string(),
        "username": u.username,
        "avatar": null,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "global_name": u.global_name,
        "primary_guild": null,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
    });
    if u.bot {
        v["bot"] = json!(true);
    }
    v
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

fn emoji_obj(e: &Emoji) -> Value {
    match e {
        Emoji::Unicode(s) => json!({"id": null, "name": s}),
        Emoji::Custom { id, name, animated } => {
            json!({"id": id.to_string(), "name": name, "animated": animated})
        }
    }
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
    let last = if c.kind.has_messages() {
        store.last_message_id(c).map(|id| id.to_string())
    } else {
        None
    };
    if let Some(t) = &c.thread {
        let mut meta = json!({
            "archived": t.archived,
            "archive_timestamp": super::render::iso(t.archive_ms),
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
        return v;
    }
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
        ChannelKind::Voice => {
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

fn attachment(a: &Attachment) -> Value {
    let mut v = json!({
        "id": a.id.to_string(),
        "filename": a.filename,
        "size": a.size,
        "url": a.url,
        "proxy_url": a.url.replace("cdn.discordapp.com", "media.discordapp.net"),
    });
    if let Some(ct) = &a.content_type {
        v["content_type"] = json!(ct);
    }
    if let Some((w, h)) = a.dimensions {
        v["width"] = json!(w);
        v["height"] = json!(h);
    }
    v
}

fn reaction(r: &Reaction) -> Value {
    let n = r.users.len();
    json!({
        "emoji": emoji_obj(&r.emoji),
        "count": n,
        "count_details": {"burst": 0, "normal": n},
        "burst_colors": [],
        "me_burst": false,
        "me": false,
    })
}

fn basic_message(g: &Guild, guild_id: u64, m: &Message) -> Value {
    let mut v = json!({
        "type": m.kind,
        "content": m.content,
        "mentions": m.mentions.iter().map(|u| user(g, *u)).collect::<Vec<_>>(),
        "mention_roles": [],
        "attachments": m.attachments.iter().map(attachment).collect::<Vec<_>>(),
        "embeds": [],
        "timestamp": iso(m.timestamp_ms),
        "edited_timestamp": m.edited_ms.map(iso),
        "flags": 0,
        "components": [],
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": user(g, m.author_id),
        "pinned": false,
        "mention_everyone": false,
        "tts": false,
    });
    if let Some(r) = m.reply_to {
        v["message_reference"] = json!({
            "type": 0,
            "channel_id": m.channel_id.to_string(),
            "message_id": r.to_string(),
            "guild_id": guild_id.to_string(),
        });
    }
    v
}

/// A full message object; `referenced` is the current replied-to message (None when it
/// was deleted: Discord then sends `referenced_message: null`).
pub fn message(g: &Guild, m: &Message, referenced: Option<&Message>) -> Value {
    let mut v = basic_message(g, g.id, m);
    if !m.reactions.is_empty() {
        v["reactions"] = Value::Array(m.reactions.iter().map(reaction).collect());
    }
    if m.reply_to.is_some() {
        v["referenced_message"] = match referenced {
            Some(r) => basic_message(g, g.id, r),
            None => Value::Null,
        };
    }
    v
}

/// Discord's error body.
pub fn error(code: u32, message: &str) -> Value {
    json!({"message": message, "code": code})
}
