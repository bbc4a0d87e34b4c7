//! The Discord REST API v10 routes (`/api/v10/...`).

use serde_json::{Value, json};

use super::cdn::Links;
use super::guild::Guild;
use super::model::{ChannelKind, ChannelMeta, Emoji};
use super::render;
use super::store::Store;

/// Route templates, as counted by [`super::FakeDiscord::route_count`].
pub mod routes {
    /// `GET /guilds/{guild_id}`
    pub const GUILD: &str = "GET /guilds/{guild_id}";
    /// `GET /guilds/{guild_id}/roles`
    pub const GUILD_ROLES: &str = "GET /guilds/{guild_id}/roles";
    /// `GET /guilds/{guild_id}/channels`
    pub const GUILD_CHANNELS: &str = "GET /guilds/{guild_id}/channels";
    /// `GET /guilds/{guild_id}/threads/active`
    pub const ACTIVE_THREADS: &str = "GET /guilds/{guild_id}/threads/active";
    /// `GET /channels/{channel_id}`
    pub const CHANNEL: &str = "GET /channels/{channel_id}";
    /// `GET /channels/{channel_id}/messages`
    pub const MESSAGES: &str = "GET /channels/{channel_id}/messages";
    /// `GET /channels/{channel_id}/messages/{message_id}`
    pub const MESSAGE: &str = "GET /channels/{channel_id}/messages/{message_id}";
    /// `GET /channels/{channel_id}/threads/archived/public`
    pub const ARCHIVED_PUBLIC_THREADS: &str = "GET /channels/{channel_id}/threads/archived/public";
    /// `GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}`
    pub const REACTIONS: &str =
        "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}";
    /// `GET /users/@me`
    pub const CURRENT_USER: &str = "GET /users/@me";
    /// `GET /gateway/bot`
    pub const GATEWAY_BOT: &str = "GET /gateway/bot";
    /// `GET /gateway`
    pub const GATEWAY: &str = "GET /gateway";
    /// `POST /attachments/refresh-urls`
    pub const REFRESH_URLS: &str = "POST /attachments/refresh-urls";
    /// The CDN route (outside `/api/v10`, no token, no rate limit; `HEAD` counts here too).
    pub const CDN_ATTACHMENT: &str = "GET /attachments/{channel_id}/{attachment_id}/{filename}";
}

/// A response before rate-limit headers: status and JSON body.
pub type Reply = (u16, Value);

/// A matched route: template, major parameter (for buckets) and the path's ids.
#[derive(Debug, Clone)]
pub struct Matched {
    /// Route template (see [`routes`]).
    pub route: &'static str,
    /// Major parameter: channel or guild id (0 when none).
    pub major: u64,
    segs: Vec<String>,
}

/// Discord's 404 for unknown routes.
pub fn not_found() -> Reply {
    (404, render::error(0, "404: Not Found"))
}

fn unknown(code: u32, what: &str) -> Reply {
    (404, render::error(code, &format!("Unknown {what}")))
}

/// Discord's 400 "Invalid Form Body" with one field error.
pub fn invalid_form(field: &str, code: &str, message: &str) -> Reply {
    (
        400,
        json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {field: {"_errors": [{"code": code, "message": message}]}},
        }),
    )
}

/// Percent-decodes a path segment or query value (`+` stays `+`).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Parses a query string into (key, decoded value) pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Matches `method` + the path after `/api/v10/`. `Err` is a finished reply (404/405/400).
pub fn match_route(method: &str, path: &str) -> Result<Matched, Reply> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (route, major_at): (&'static str, Option<usize>) = match s.as_slice() {
        ["guilds", _] => (routes::GUILD, Some(1)),
        ["guilds", _, "roles"] => (routes::GUILD_ROLES, Some(1)),
        ["guilds", _, "channels"] => (routes::GUILD_CHANNELS, Some(1)),
        ["guilds", _, "threads", "active"] => (routes::ACTIVE_THREADS, Some(1)),
        ["channels", _] => (routes::CHANNEL, Some(1)),
        ["channels", _, "messages"] => (routes::MESSAGES, Some(1)),
        ["channels", _, "messages", _] => (routes::MESSAGE, Some(1)),
        ["channels", _, "threads", "archived", "public"] => {
            (routes::ARCHIVED_PUBLIC_THREADS, Some(1))
        }
        ["channels", _, "messages", _, "reactions", _] => (routes::REACTIONS, Some(1)),
        ["users", "@me"] => (routes::CURRENT_USER, None),
        ["gateway", "bot"] => (routes::GATEWAY_BOT, None),
        ["gateway"] => (routes::GATEWAY, None),
        ["attachments", "refresh-urls"] => (routes::REFRESH_URLS, None),
        _ => return Err(not_found()),
    };
    let expected = if route == routes::REFRESH_URLS {
        "POST"
    } else {
        "GET"
    };
    if method != expected {
        return Err((405, render::error(0, "405: Method Not Allowed")));
    }
    let mut major = 0;
    if let Some(i) = major_at {
        let field = if s[0] == "guilds" {
            "guild_id"
        } else {
            "channel_id"
        };
        major = parse_snowflake(field, s[i])?;
    }
    if route == routes::MESSAGE || route == routes::REACTIONS {
        parse_snowflake("message_id", s[3])?;
    }
    Ok(Matched { route, major, segs })
}

fn parse_snowflake(field: &str, v: &str) -> Result<u64, Reply> {
    v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
        invalid_form(
            field,
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{v}\" is not snowflake."),
        )
    })
}

fn query_snowflake(q: &[(String, String)], key: &str) -> Result<Option<u64>, Reply> {
    match q.iter().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) => v.parse::<u64>().map(Some).map_err(|_| {
            invalid_form(
                key,
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{v}\" is not snowflake."),
            )
        }),
    }
}

fn query_limit(q: &[(String, String)], default: u64, min: u64, max: u64) -> Result<usize, Reply> {
    match q.iter().find(|(k, _)| k == "limit") {
        None => Ok(default as usize),
        Some((_, v)) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n as usize),
            Ok(n) if n < min => Err(invalid_form(
                "limit",
                "NUMBER_TYPE_MIN",
                &format!("int value should be greater than or equal to {min}."),
            )),
            Ok(_) => Err(invalid_form(
                "limit",
                "NUMBER_TYPE_MAX",
                &format!("int value should be less than or equal to {max}."),
            )),
            Err(_) => Err(invalid_form(
                "limit",
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{v}\" is not int."),
            )),
        },
    }
}

/// Whether the route addresses a channel (used for the 403 fault).
pub fn channel_of(m: &Matched) -> Option<u64> {
    m.route.starts_with("GET /channels/").then_some(m.major)
}

/// Serves a matched, authorised, non-limited request.
pub fn handle(store: &Store, m: &Matched, query: &str, links: Links<'_>) -> Reply {
    let q = parse_query(query);
    match m.route {
        routes::CURRENT_USER => match store.guilds().first() {
            Some(g) => (200, render::current_user(&g.bot)),
            None => not_found(),
        },
        routes::GATEWAY => (200, json!({"url": "wss://gateway.discord.gg"})),
        routes::GATEWAY_BOT => (
            200,
            json!({
                "url": "wss://gateway.discord.gg",
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000,
                    "reset_after": 0, "max_concurrency": 1},
            }),
        ),
        routes::GUILD | routes::GUILD_ROLES | routes::GUILD_CHANNELS | routes::ACTIVE_THREADS => {
            let Some(g) = store.guild(m.major) else {
                return unknown(10004, "Guild");
            };
            guild_route(store, g, m.route, &q)
        }
        _ => {
            let Some((g, ch)) = store.channel(m.major) else {
                return unknown(10003, "Channel");
            };
            channel_route(store, g, ch, m, &q, links)
        }
    }
}

fn guild_route(store: &Store, g: &Guild, route: &str, q: &[(String, String)]) -> Reply {
    match route {
        routes::GUILD => {
            let with_counts = q.iter().any(|(k, v)| k == "with_counts" && v == "true");
            (200, render::guild(g, with_counts))
        }
        routes::GUILD_ROLES => (
            200,
            Value::Array(g.roles.iter().map(render::role).collect()),
        ),
        routes::GUILD_CHANNELS => (
            200,
            Value::Array(
                store
                    .channels(g)
                    .filter(|c| !c.kind.is_thread())
                    .map(|c| render::channel(store, g, &c))
                    .collect(),
            ),
        ),
        _ => {
            let threads: Vec<Value> = store
                .channels(g)
                .filter(|c| c.thread.as_ref().is_some_and(|t| !t.archived))
                .map(|c| render::channel(store, g, &c))
                .collect();
            (
                200,
                json!({"threads": threads, "members": [], "has_more": false}),
            )
        }
    }
}

fn cannot_on_type() -> Reply {
    (
        400,
        render::error(50024, "Cannot execute action on this channel type"),
    )
}

fn channel_route(
    store: &Store,
    g: &Guild,
    ch: &ChannelMeta,
    m: &Matched,
    q: &[(String, String)],
    links: Links<'_>,
) -> Reply {
    match m.route {
        routes::CHANNEL => (200, render::channel(store, g, ch)),
        routes::MESSAGES => {
            if !ch.kind.has_messages() {
                return cannot_on_type();
            }
            match list_messages(store, g, ch, q, links) {
                Ok(bytes) => (200, serde_json::from_slice(&bytes).unwrap_or_default()),
                Err(r) => r,
            }
        }
        routes::MESSAGE => {
            let id = m.segs[3].parse::<u64>().unwrap_or(0);
            match store.message(ch, id) {
                Some(msg) => (200, message_json(store, g, ch, &msg, links)),
                None => unknown(10008, "Message"),
            }
        }
        routes::ARCHIVED_PUBLIC_THREADS => {
            if !ch.kind.has_threads() {
                return cannot_on_type();
            }
            archived_threads(store, g, ch, q).unwrap_or_else(|r| r)
        }
        _ => reactions(store, g, ch, m, q).unwrap_or_else(|r| r),
    }
}

fn message_json(
    store: &Store,
    g: &Guild,
    ch: &ChannelMeta,
    msg: &super::model::Message,
    links: Links<'_>,
) -> Value {
    let referenced = msg.reply_to.and_then(|r| store.message(ch, r));
    render::message(g, msg, referenced.as_ref(), links)
}

/// The messages route, serialized straight to bytes (the hot path of every sync):
/// `None` for other routes.
pub fn handle_messages(
    store: &Store,
    m: &Matched,
    query: &str,
    links: Links<'_>,
) -> Option<(u16, Vec<u8>)> {
    if m.route != routes::MESSAGES {
        return None;
    }
    let (g, ch) = store.channel(m.major)?;
    if !ch.kind.has_messages() {
        return None;
    }
    let q = parse_query(query);
    Some(match list_messages(store, g, ch, &q, links) {
        Ok(bytes) => (200, bytes),
        Err((status, body)) => (status, body.to_string().into_bytes()),
    })
}

fn list_messages(
    store: &Store,
    g: &Guild,
    ch: &ChannelMeta,
    q: &[(String, String)],
    links: Links<'_>,
) -> Result<Vec<u8>, Reply> {
    let limit = query_limit(q, 50, 1, 100)?;
    let around = query_snowflake(q, "around")?;
    let before = query_snowflake(q, "before")?;
    let after = query_snowflake(q, "after")?;
    let mut page = if let Some(a) = around {
        let newer = store.messages_after(ch, a.saturating_sub(1), limit.div_ceil(2));
        let mut older = store.messages_before(ch, a, limit - newer.len().min(limit));
        older.reverse();
        older.extend(newer);
        older
    } else if let Some(b) = before {
        let mut v = store.messages_before(ch, b, limit);
        v.reverse();
        v
    } else if let Some(a) = after {
        store.messages_after(ch, a, limit)
    } else {
        let mut v = store.messages_before(ch, u64::MAX, limit);
        v.reverse();
        v
    };
    // Discord always answers newest-first.
    page.reverse();
    let referenced: Vec<Option<super::model::Message>> = page
        .iter()
        .map(|m| m.reply_to.and_then(|r| store.message(ch, r)))
        .collect();
    let out: Vec<render::MessageOut<'_>> = page
        .iter()
        .zip(&referenced)
        .map(|(m, r)| render::MessageOut::new(g, m, r.as_ref(), links))
        .collect();
    Ok(serde_json::to_vec(&out).unwrap_or_default())
}

fn archived_threads(
    store: &Store,
    g: &Guild,
    ch: &ChannelMeta,
    q: &[(String, String)],
) -> Result<Reply, Reply> {
    let limit = query_limit(q, 50, 2, 100)?;
    let before_ms = match q.iter().find(|(k, _)| k == "before") {
        None => i64::MAX,
        Some((_, v)) => chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                invalid_form(
                    "before",
                    "DATE_TIME_TYPE_PARSE",
                    &format!("Could not parse {v}. Should be ISO8601."),
                )
            })?,
    };
    let mut threads: Vec<std::borrow::Cow<'_, ChannelMeta>> = store
        .channels(g)
        .filter(|c| c.parent_id == Some(ch.id) && c.kind != ChannelKind::PrivateThread)
        .filter(|c| {
            c.thread
                .as_ref()
                .is_some_and(|t| t.archived && t.archive_ms < before_ms)
        })
        .collect();
    threads
        .sort_by_key(|c| std::cmp::Reverse(c.thread.as_ref().map(|t| t.archive_ms).unwrap_or(0)));
    let has_more = threads.len() > limit;
    threads.truncate(limit);
    Ok((
        200,
        json!({
            "threads": threads.iter().map(|c| render::channel(store, g, c)).collect::<Vec<_>>(),
            "members": [],
            "has_more": has_more,
        }),
    ))
}

/// Parses a reaction path segment (decoded): `name:id` (custom) or a unicode emoji.
pub fn parse_emoji_segment(g: &Guild, seg: &str) -> Option<Emoji> {
    let decoded = percent_decode(seg);
    if let Some((_, id)) = decoded.rsplit_once(':') {
        let id: u64 = id.parse().ok()?;
        return g
            .custom_emojis
            .iter()
            .find(|e| matches!(e, Emoji::Custom { id: i, .. } if *i == id))
            .cloned()
            .or(Some(Emoji::Custom {
                id,
                name: decoded.split(':').next().unwrap_or("e").to_string(),
                animated: false,
            }));
    }
    (!decoded.is_empty()).then_some(Emoji::Unicode(decoded))
}

fn reactions(
    store: &Store,
    g: &Guild,
    ch: &ChannelMeta,
    m: &Matched,
    q: &[(String, String)],
) -> Result<Reply, Reply> {
    let message_id = m.segs[3].parse::<u64>().unwrap_or(0);
    let limit = query_limit(q, 25, 1, 100)?;
    let after = query_snowflake(q, "after")?.unwrap_or(0);
    let Some(msg) = store.message(ch, message_id) else {
        return Err(unknown(10008, "Message"));
    };
    let Some(emoji) = parse_emoji_segment(g, &m.segs[5]) else {
        return Err(unknown(10014, "Emoji"));
    };
    if q.iter().any(|(k, v)| k == "type" && v == "1") {
        return Ok((200, json!([])));
    }
    let users: Vec<Value> = msg
        .reactions
        .iter()
        .find(|r| match (&r.emoji, &emoji) {
            (Emoji::Custom { id: a, .. }, Emoji::Custom { id: b, .. }) => a == b,
            (a, b) => a == b,
        })
        .map(|r| {
            r.users
                .iter()
                .filter(|u| **u > after)
                .take(limit)
                .map(|u| render::user(g, *u))
                .collect()
        })
        .unwrap_or_default();
    Ok((200, Value::Array(users)))
}

#[cfg(test)]
mod tests {
    use super::{parse_query, percent_decode};

    #[test]
    fn percent_decoding_handles_multibyte_emoji_and_malformed_escapes() {
        assert_eq!(percent_decode("%E2%9D%A4%EF%B8%8F"), "❤️");
        assert_eq!(percent_decode("party_parrot:123"), "party_parrot:123");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("é%"), "é%");
        assert_eq!(percent_decode("%%41"), "%A");
    }

    #[test]
    fn query_strings_split_into_decoded_pairs() {
        assert_eq!(
            parse_query("before=2024-01-01T00%3A00%3A00%2B00%3A00&limit=2&flag"),
            vec![
                ("before".into(), "2024-01-01T00:00:00+00:00".into()),
                ("limit".into(), "2".into()),
                ("flag".into(), String::new()),
            ]
        );
    }
}
