//! Control API (`/_control/...`, no authentication; the fake listens on localhost):
//!
//! | method + path | effect |
//! |---|---|
//! | `GET /_control/info` | `{"proxy","token","guild_ids"}` |
//! | `GET /_control/stats` | `{"total", "routes": {template: count}, "statuses": {code: count}, "cdn": CdnStats}` |
//! | `GET /_control/requests` | request log (oldest first) |
//! | `POST /_control/reset` | clears counters, log, faults, rate-limit state and runtime data |
//! | `POST /_control/reset-stats` | clears counters and log only |
//! | `GET` / `PUT /_control/faults` | read / replace [`Faults`] (JSON, missing fields = default) |
//! | `PUT /_control/limits` | `{"route_limit": {"limit", "window_ms"} or null, "global_per_sec": n or null}` |
//! | `PATCH /_control/channels/{c}` | `{"name"?, "visible"?, "archived"?}`: rename, show / hide for @everyone, (un)archive a thread |
//! | `POST /_control/channels/{c}/threads` | `{"name"}`: create a public thread (spare slot); returns the thread |
//! | `DELETE /_control/channels/{c}` | delete a channel (and its threads) |
//! | `GET /_control/cdn-stats` | [`super::CdnStats`]: CDN requests / downloads started / completed per attachment id, bytes served, refresh requests and URLs refreshed (cleared with the other counters) |
//! | `POST /_control/channels/{c}/messages` | add `{"content", "author_id"?, "reply_to"?, "attachments"?: [{"filename", "size", "content_type"?}]}`; returns the Discord message |
//! | `PATCH /_control/channels/{c}/messages/{m}` | edit `{"content"}` |
//! | `DELETE /_control/channels/{c}/messages/{m}` | delete |
//! | `PUT` / `DELETE /_control/channels/{c}/messages/{m}/reactions/{emoji}/{user}` | add / remove a reaction (`emoji` as in Discord URLs) |

use std::time::Duration;

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::parse_emoji_segment;
use super::limits::Faults;
use super::model::Message;
use super::render;
use super::server::{NewMessageBody, Shared, lock, reply, store_error};
use super::spec::RouteLimit;
use super::store::{Store, StoreError};

#[derive(Debug, Deserialize)]
struct LimitsBody {
    #[serde(default)]
    route_limit: Option<RouteLimitBody>,
    #[serde(default)]
    global_per_sec: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RouteLimitBody {
    limit: u32,
    window_ms: u64,
}

#[derive(Debug, Deserialize)]
struct ChannelBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    visible: Option<bool>,
    #[serde(default)]
    archived: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ThreadBody {
    name: String,
}

#[derive(Debug, Deserialize)]
struct EditBody {
    content: String,
}

fn bad(msg: impl Into<String>) -> (u16, Value) {
    (400, json!({"error": msg.into()}))
}

fn id(s: &str) -> Result<u64, (u16, Value)> {
    s.parse::<u64>()
        .map_err(|_| bad(format!("{s:?} is not a snowflake")))
}

/// Serves one control request (`rest` is the path after `/_control`).
pub(crate) fn handle(shared: &Shared, method: &str, rest: &str, body: &[u8]) -> HttpResponse {
    let (status, value) = match route(shared, method, rest, body) {
        Ok(v) => v,
        Err(e) => e,
    };
    reply(status, &value)
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, (u16, Value)> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

/// A control reply: status and JSON body, errors included.
type Outcome = Result<(u16, Value), (u16, Value)>;

fn route(shared: &Shared, method: &str, rest: &str, body: &[u8]) -> Outcome {
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["channels", c] => channel(&shared.store, method, c, body),
        ["channels", c, "threads"] => threads(&shared.store, method, c, body),
        ["channels", c, "messages"] => messages(shared, method, c, body),
        ["channels", c, "messages", m] => message(shared, method, c, m, body),
        ["channels", c, "messages", m, "reactions", e, u] => reaction(shared, method, c, m, e, u),
        [resource] => fake(shared, method, resource, body),
        _ => Err(unknown()),
    }
}

fn unknown() -> (u16, Value) {
    (404, json!({"error": "unknown control route"}))
}

/// The fake itself: its identity, counters, request log, faults and rate limits.
fn fake(shared: &Shared, method: &str, resource: &str, body: &[u8]) -> Outcome {
    match (method, resource) {
        ("GET", "info") => Ok((
            200,
            json!({
                "proxy": lock(&shared.proxy).clone(),
                "token": shared.token,
                "guild_ids": shared.store.guilds().iter().map(|g| g.id.to_string()).collect::<Vec<_>>(),
            }),
        )),
        ("GET", "stats") => {
            let s = lock(&shared.stats);
            Ok((
                200,
                json!({"total": s.total, "routes": s.counters, "statuses": s.statuses, "cdn": s.cdn}),
            ))
        }
        ("GET", "cdn-stats") => Ok((200, json!(lock(&shared.stats).cdn))),
        ("GET", "requests") => {
            let s = lock(&shared.stats);
            Ok((200, json!(s.log)))
        }
        ("POST", "reset-stats") => {
            *lock(&shared.stats) = Default::default();
            Ok((200, json!({"reset": true})))
        }
        ("POST", "reset") => {
            *lock(&shared.stats) = Default::default();
            *lock(&shared.faults) = Faults::default();
            lock(&shared.limiter).reset();
            shared.store.reset();
            Ok((200, json!({"reset": true})))
        }
        ("GET", "faults") => Ok((200, json!(*lock(&shared.faults)))),
        ("PUT", "faults") => {
            let f: Faults = parse(body)?;
            *lock(&shared.faults) = f.clone();
            Ok((200, json!(f)))
        }
        ("PUT", "limits") => {
            let l: LimitsBody = parse(body)?;
            let mut lim = lock(&shared.limiter);
            lim.route_limit = l.route_limit.map(|r| RouteLimit {
                limit: r.limit,
                window: Duration::from_millis(r.window_ms),
            });
            lim.global_per_sec = l.global_per_sec;
            lim.reset();
            Ok((200, json!({"ok": true})))
        }
        _ => Err(unknown()),
    }
}

/// `channels/{c}`: change or delete a channel.
fn channel(store: &Store, method: &str, c: &str, body: &[u8]) -> Outcome {
    match method {
        "PATCH" => {
            let b: ChannelBody = parse(body)?;
            let c = id(c)?;
            if let Some(name) = &b.name {
                store.rename_channel(c, name).map_err(store_error)?;
            }
            if let Some(visible) = b.visible {
                store.set_channel_visible(c, visible).map_err(store_error)?;
            }
            if let Some(archived) = b.archived {
                store
                    .set_thread_archived(c, archived)
                    .map_err(store_error)?;
            }
            rendered_channel(store, c)
        }
        "DELETE" => {
            store.delete_channel(id(c)?).map_err(store_error)?;
            Ok((200, json!({"deleted": true})))
        }
        _ => Err(unknown()),
    }
}

/// `channels/{c}/threads`: create a thread.
fn threads(store: &Store, method: &str, c: &str, body: &[u8]) -> Outcome {
    if method != "POST" {
        return Err(unknown());
    }
    let b: ThreadBody = parse(body)?;
    let t = store.create_thread(id(c)?, &b.name).map_err(store_error)?;
    rendered_channel(store, t)
}

/// Channel `c` as Discord renders it.
fn rendered_channel(store: &Store, c: u64) -> Outcome {
    let (g, ch) = store
        .channel(c)
        .ok_or_else(|| store_error(StoreError::UnknownChannel(c)))?;
    Ok((200, render::channel(store, g, ch)))
}

/// `channels/{c}/messages`: add a message.
fn messages(shared: &Shared, method: &str, c: &str, body: &[u8]) -> Outcome {
    if method != "POST" {
        return Err(unknown());
    }
    let b: NewMessageBody = parse(body)?;
    let (new, files) = b.into_new().map_err(bad)?;
    let m = shared
        .store
        .add_message_with_attachments(id(c)?, new, files)
        .map_err(store_error)?;
    rendered_message(shared, &m)
}

/// `channels/{c}/messages/{m}`: edit or delete a message.
fn message(shared: &Shared, method: &str, c: &str, m: &str, body: &[u8]) -> Outcome {
    let store = &shared.store;
    match method {
        "PATCH" => {
            let b: EditBody = parse(body)?;
            let m = store
                .edit_message(id(c)?, id(m)?, b.content)
                .map_err(store_error)?;
            rendered_message(shared, &m)
        }
        "DELETE" => {
            store.delete_message(id(c)?, id(m)?).map_err(store_error)?;
            Ok((200, json!({"deleted": true})))
        }
        _ => Err(unknown()),
    }
}

/// Message `m` as Discord renders it (links issued as the faults say).
fn rendered_message(shared: &Shared, m: &Message) -> Outcome {
    let (g, _) = shared
        .store
        .channel(m.channel_id)
        .ok_or_else(|| bad("no channel"))?;
    Ok((200, render::message(g, m, None, links(shared))))
}

fn links(shared: &Shared) -> super::cdn::Links<'_> {
    let expired = lock(&shared.faults).expired_links;
    shared.store.signer().links(expired)
}

/// `channels/{c}/messages/{m}/reactions/{emoji}/{user}`: add or remove a reaction.
fn reaction(shared: &Shared, method: &str, c: &str, m: &str, e: &str, u: &str) -> Outcome {
    let store = &shared.store;
    if method != "PUT" && method != "DELETE" {
        return Err(unknown());
    }
    let (c, m, u) = (id(c)?, id(m)?, id(u)?);
    let (g, _) = store
        .channel(c)
        .ok_or_else(|| store_error(StoreError::UnknownChannel(c)))?;
    let emoji = parse_emoji_segment(g, e).ok_or_else(|| bad("invalid emoji"))?;
    let msg = if method == "PUT" {
        store.add_reaction(c, m, emoji, u)
    } else {
        store.remove_reaction(c, m, &emoji, u)
    }
    .map_err(store_error)?;
    Ok((200, render::message(g, &msg, None, links(shared))))
}
