//! Every kind of response the fake serves matches Discord's OpenAPI response schema and
//! deserializes into the twilight-model type twilight-http would use.

use serde::de::DeserializeOwned;
use serde_json::Value;
use testkit::fake_discord::{ChannelKind, Emoji, routes};

use crate::helpers::{Harness, assert_error_schema, assert_route_schema, first_of};

fn model<T: DeserializeOwned>(what: &str, v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what} does not deserialize into twilight-model: {e}\n{v}"))
}

#[tokio::test]
async fn guild_roles_channels_threads_and_users_match_schema_and_twilight_model() {
    let h = Harness::small();
    for &gid in &h.fake.guild_ids() {
        let r = h.get(&format!("/guilds/{gid}?with_counts=true")).await;
        assert_eq!(r.status, 200);
        assert_route_schema(routes::GUILD, &r.body);
        let g: twilight_model::guild::Guild = model("guild", &r.body);
        assert_eq!(g.id.get(), gid);

        let r = h.get(&format!("/guilds/{gid}/roles")).await;
        assert_route_schema(routes::GUILD_ROLES, &r.body);
        let roles: Vec<twilight_model::guild::Role> = model("roles", &r.body);
        assert!(
            roles.iter().any(|r| r.id.get() == gid),
            "@everyone role has the guild id"
        );

        let r = h.get(&format!("/guilds/{gid}/channels")).await;
        assert_route_schema(routes::GUILD_CHANNELS, &r.body);
        let channels: Vec<twilight_model::channel::Channel> = model("channels", &r.body);
        assert!(!channels.is_empty());

        let r = h.get(&format!("/guilds/{gid}/threads/active")).await;
        assert_route_schema(routes::ACTIVE_THREADS, &r.body);
        let active: twilight_model::channel::thread::ThreadsListing =
            model("active threads", &r.body);
        assert!(!active.threads.is_empty());
    }
    let guild = h.guild();
    // GET /channels/{id} for every channel and thread kind.
    let mut kinds = std::collections::BTreeSet::new();
    for c in guild.initial_channels() {
        let r = h.get(&format!("/channels/{}", c.id)).await;
        assert_eq!(r.status, 200);
        assert_route_schema(routes::CHANNEL, &r.body);
        let ch: twilight_model::channel::Channel = model("channel", &r.body);
        assert_eq!(u8::from(ch.kind), c.kind.discord_type());
        kinds.insert(c.kind.discord_type());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec![0, 2, 4, 5, 10, 11, 12, 13, 15],
        "every channel kind is served"
    );
    for c in guild.initial_channels().filter(|c| c.kind.has_threads()) {
        let r = h
            .get(&format!(
                "/channels/{}/threads/archived/public?limit=2",
                c.id
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_route_schema(routes::ARCHIVED_PUBLIC_THREADS, &r.body);
        let _: twilight_model::channel::thread::ThreadsListing = model("archived", &r.body);
    }
    let r = h.get("/users/@me").await;
    assert_route_schema(routes::CURRENT_USER, &r.body);
    let me: twilight_model::user::CurrentUser = model("current user", &r.body);
    assert!(me.bot);
    let r = h.get("/gateway/bot").await;
    assert_route_schema(routes::GATEWAY_BOT, &r.body);
    let _: twilight_model::gateway::connection_info::BotConnectionInfo =
        model("gateway bot", &r.body);
}

/// Which message shapes a walk over the guild met.
#[derive(Default, Debug)]
struct Seen {
    reply_with_referenced: bool,
    reply_to_deleted: bool,
    attachment_without_type: bool,
    attachment_with_type: bool,
    unicode_reaction: bool,
    custom_reaction: bool,
    animated_reaction: bool,
    edited: bool,
    empty_content: bool,
    mention_plain: bool,
    mention_bang: bool,
}

fn inspect(seen: &mut Seen, m: &Value) {
    if m.get("referenced_message").is_some_and(Value::is_object) {
        seen.reply_with_referenced = true;
    }
    if m.get("referenced_message").is_some_and(Value::is_null) && m["type"] == 19 {
        seen.reply_to_deleted = true;
    }
    for a in m["attachments"].as_array().into_iter().flatten() {
        if a.get("content_type").is_some() {
            seen.attachment_with_type = true;
        } else {
            seen.attachment_without_type = true;
        }
    }
    for r in m
        .get("reactions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match (&r["emoji"]["id"], r["emoji"].get("animated")) {
            (Value::Null, _) => seen.unicode_reaction = true,
            (_, Some(Value::Bool(true))) => seen.animated_reaction = true,
            _ => seen.custom_reaction = true,
        }
    }
    seen.edited |= !m["edited_timestamp"].is_null();
    let content = m["content"].as_str().unwrap_or_default();
    seen.empty_content |= content.is_empty();
    seen.mention_bang |= content.contains("<@!");
    seen.mention_plain |= content.contains("<@") && !content.contains("<@!");
}

#[tokio::test]
async fn every_message_page_matches_schema_and_twilight_model_and_covers_every_shape() {
    let h = Harness::small();
    let guild = h.guild();
    let mut seen = Seen::default();
    let mut pages = 0;
    for c in guild.initial_channels().filter(|c| c.kind.has_messages()) {
        let mut after = 0u64;
        loop {
            let r = h
                .get(&format!(
                    "/channels/{}/messages?after={after}&limit=100",
                    c.id
                ))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_route_schema(routes::MESSAGES, &r.body);
            let msgs: Vec<twilight_model::channel::Message> = model("messages", &r.body);
            pages += 1;
            for (json, m) in r.body.as_array().expect("array").iter().zip(&msgs) {
                inspect(&mut seen, json);
                if let Some(reference) = &m.reference {
                    assert_eq!(reference.channel_id.map(|c| c.get()), Some(c.id));
                }
            }
            match msgs.iter().map(|m| m.id.get()).max() {
                Some(max) => after = max,
                None => break,
            }
        }
    }
    assert!(pages > 30, "walked {pages} pages");
    let all = [
        seen.reply_with_referenced,
        seen.reply_to_deleted,
        seen.attachment_without_type,
        seen.attachment_with_type,
        seen.unicode_reaction,
        seen.custom_reaction,
        seen.animated_reaction,
        seen.edited,
        seen.empty_content,
        seen.mention_plain,
        seen.mention_bang,
    ];
    assert!(all.iter().all(|b| *b), "missing message shapes: {seen:?}");
}

#[tokio::test]
async fn single_message_and_reaction_users_match_schema_and_twilight_model() {
    let h = Harness::small();
    let guild = h.guild();
    let ch = first_of(guild, ChannelKind::Text);
    let store = h.fake.store();
    let m = store
        .iter_messages(ch)
        .find(|m| m.reactions.len() > 1)
        .expect("a message with reactions");
    let r = h
        .get(&format!("/channels/{}/messages/{}", ch.id, m.id))
        .await;
    assert_eq!(r.status, 200);
    assert_route_schema(routes::MESSAGE, &r.body);
    let _: twilight_model::channel::Message = model("message", &r.body);
    for reaction in &m.reactions {
        let r = h
            .get(&format!(
                "/channels/{}/messages/{}/reactions/{}",
                ch.id,
                m.id,
                reaction.emoji.url_segment()
            ))
            .await;
        assert_eq!(r.status, 200, "{:?}: {}", reaction.emoji, r.body);
        assert_route_schema(routes::REACTIONS, &r.body);
        let users: Vec<twilight_model::user::User> = model("reaction users", &r.body);
        let expected: Vec<u64> = reaction.users.iter().take(25).copied().collect();
        assert_eq!(
            users.iter().map(|u| u.id.get()).collect::<Vec<_>>(),
            expected
        );
        if let Emoji::Custom { .. } = reaction.emoji {
            assert!(reaction.emoji.url_segment().contains(':'));
        }
    }
}

#[tokio::test]
async fn error_and_rate_limit_bodies_match_discord_schemas() {
    let h = Harness::new(
        testkit::fake_discord::FakeConfig::small()
            .with_route_limit(1, std::time::Duration::from_secs(60)),
    );
    let gid = h.fake.guild_ids()[0];
    for path in [
        "/nope".to_string(),
        "/channels/1".to_string(),
        "/guilds/1".to_string(),
    ] {
        let r = h.get(&path).await;
        assert_error_schema("ErrorResponse", &r.body);
    }
    let r = h.get("/channels/abc/messages").await;
    assert_eq!(r.status, 400);
    assert_error_schema("ErrorResponse", &r.body);
    let api: twilight_http::api_error::ApiError = model("400 body", &r.body);
    assert!(matches!(api, twilight_http::api_error::ApiError::General(ref e) if e.code == 50035));
    let r = h.get(&format!("/guilds/{gid}/roles")).await;
    assert_eq!(r.status, 200);
    let r = h.get(&format!("/guilds/{gid}/roles")).await;
    assert_eq!(r.status, 429);
    assert_error_schema("RatelimitedResponse", &r.body);
    // Discord's OpenAPI requires `code` in 429 bodies too; twilight reads the
    // rate-limit fields from the same body.
    let limited: twilight_http::api_error::RatelimitedApiError = model("429 body", &r.body);
    assert!(!limited.global);
    assert!(limited.retry_after > 0.0);
    let r = h.get_with("/users/@me", None).await;
    assert_eq!(r.status, 401);
    assert_error_schema("ErrorResponse", &r.body);
}
