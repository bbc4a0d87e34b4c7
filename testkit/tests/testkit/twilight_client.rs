//! twilight-http 0.18, configured exactly as Verta configures it
//! (`ClientBuilder::token(..).proxy("127.0.0.1:PORT", true)`), against the fake.

use std::collections::BTreeSet;
use std::sync::Once;
use std::time::Duration;

use testkit::fake_discord::{Emoji, FakeConfig, FakeDiscord, GuildSpec, TruthReaction, routes};
use twilight_http::Client;
use twilight_http::request::channel::reaction::RequestReactionType;
use twilight_model::id::Id;

fn client(fake: &FakeDiscord) -> Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    Client::builder()
        .token(fake.token().to_string())
        .proxy(fake.proxy(), true)
        .timeout(Duration::from_secs(30))
        .build()
}

async fn all_messages(client: &Client, channel_id: u64) -> Vec<twilight_model::channel::Message> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let mut page = client
            .channel_messages(Id::new(channel_id))
            .after(Id::new(after.max(1)))
            .limit(100)
            .await
            .expect("messages request")
            .models()
            .await
            .expect("messages body");
        if page.is_empty() {
            break;
        }
        page.sort_by_key(|m| m.id);
        after = page.last().expect("non-empty").id.get();
        out.extend(page);
    }
    out
}

fn request_emoji(e: &Emoji) -> RequestReactionType<'_> {
    match e {
        Emoji::Unicode(s) => RequestReactionType::Unicode { name: s },
        Emoji::Custom { id, name, .. } => RequestReactionType::Custom {
            id: Id::new(*id),
            name: Some(name),
        },
    }
}

#[tokio::test]
async fn twilight_http_reads_the_whole_guild_as_the_ground_truth_describes_it() {
    let fake = FakeDiscord::start(FakeConfig::small()).expect("start");
    let client = client(&fake);
    let gid = fake.guild_ids()[0];
    let truth = fake.truth(gid).expect("truth");

    let guild = client
        .guild(Id::new(gid))
        .await
        .expect("guild")
        .model()
        .await
        .expect("guild body");
    assert_eq!(guild.id.get(), gid);
    let roles = client
        .roles(Id::new(gid))
        .await
        .expect("roles")
        .models()
        .await
        .expect("roles");
    let everyone = roles.iter().find(|r| r.id.get() == gid).expect("@everyone");
    let channels = client
        .guild_channels(Id::new(gid))
        .await
        .expect("channels")
        .models()
        .await
        .expect("channels body");
    let active = client
        .active_threads(Id::new(gid))
        .await
        .expect("active threads")
        .model()
        .await
        .expect("active body");
    let me = client
        .current_user()
        .await
        .expect("me")
        .model()
        .await
        .expect("me body");
    assert!(me.bot);

    // Discovery as docs/design.md describes it, from twilight's types.
    let view = twilight_model::guild::Permissions::VIEW_CHANNEL;
    let visible = |c: &twilight_model::channel::Channel| {
        let mut perms = everyone.permissions;
        for o in c.permission_overwrites.iter().flatten() {
            if o.id.get() == gid {
                perms = (perms - o.deny) | o.allow;
            }
        }
        perms.contains(view)
    };
    use twilight_model::channel::ChannelType as T;
    let mut discovered = BTreeSet::new();
    let mut visible_parents = BTreeSet::new();
    for c in &channels {
        let stored = matches!(
            c.kind,
            T::GuildText | T::GuildAnnouncement | T::GuildForum | T::GuildCategory
        );
        if stored && visible(c) {
            discovered.insert(c.id.get());
            if c.kind != T::GuildCategory {
                visible_parents.insert(c.id.get());
            }
        }
    }
    let mut threads = active.threads.clone();
    for &parent in &visible_parents {
        let mut before: Option<String> = None;
        loop {
            let req = client.public_archived_threads(Id::new(parent)).limit(2);
            let listing = match &before {
                Some(b) => req.before(b).await,
                None => req.await,
            }
            .expect("archived threads")
            .model()
            .await
            .expect("archived body");
            let last = listing
                .threads
                .last()
                .and_then(|t| t.thread_metadata.as_ref())
                .map(|m| m.archive_timestamp.iso_8601().to_string());
            threads.extend(listing.threads);
            match (listing.has_more, last) {
                (Some(true), Some(ts)) => before = Some(ts),
                _ => break,
            }
        }
    }
    for t in &threads {
        let public = matches!(t.kind, T::PublicThread | T::AnnouncementThread);
        if public
            && t.parent_id
                .is_some_and(|p| visible_parents.contains(&p.get()))
        {
            discovered.insert(t.id.get());
        }
    }
    let expected: BTreeSet<u64> = truth.channels.iter().map(|c| c.platform_id).collect();
    assert_eq!(
        discovered, expected,
        "twilight discovery == ground truth channels"
    );

    // Messages, replies and reactions through twilight == ground truth.
    let mut reaction_requests = 0;
    for ch in truth.message_channels() {
        let got = all_messages(&client, ch.platform_id).await;
        let want: Vec<_> = truth.messages(ch.platform_id).collect();
        assert_eq!(got.len(), want.len(), "{}", ch.name);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.id.get(), w.platform_id);
            assert_eq!(g.author.id.get(), w.author_id);
            assert_eq!(g.content, w.content);
            assert_eq!(
                g.reference
                    .as_ref()
                    .and_then(|r| r.message_id)
                    .map(|id| id.get()),
                w.reply_to
            );
            assert_eq!(
                g.timestamp.as_micros() / 1000,
                w.created_at.timestamp_millis()
            );
            assert_eq!(
                g.attachments.iter().map(|a| a.id.get()).collect::<Vec<_>>(),
                w.attachments.iter().map(|a| a.id).collect::<Vec<_>>()
            );
            if reaction_requests < 40 && !g.reactions.is_empty() {
                let m = fake
                    .store()
                    .message(
                        fake.guilds()[0].channel(ch.platform_id).expect("ch"),
                        w.platform_id,
                    )
                    .expect("message");
                let mut rows = Vec::new();
                for r in &m.reactions {
                    let emoji = request_emoji(&r.emoji);
                    let mut after = 0u64;
                    loop {
                        let mut req = client
                            .reactions(Id::new(ch.platform_id), g.id, &emoji)
                            .limit(100);
                        if after > 0 {
                            req = req.after(Id::new(after));
                        }
                        let users = req.await.expect("reactions").models().await.expect("users");
                        reaction_requests += 1;
                        let Some(last) = users.last() else { break };
                        after = last.id.get();
                        rows.extend(users.iter().map(|u| TruthReaction {
                            emoji: r.emoji.verta_string(),
                            user_id: u.id.get(),
                        }));
                    }
                }
                rows.sort();
                assert_eq!(rows, w.reactions, "reactions of {}", w.platform_id);
            }
        }
    }
    assert!(reaction_requests >= 40);
    assert!(fake.route_count(routes::MESSAGES) > 30);
}

#[tokio::test]
async fn twilight_http_retries_through_route_limits_and_429_storms() {
    let config = FakeConfig::single(GuildSpec::bench(1, 1_500, 0.0))
        .with_route_limit(3, Duration::from_millis(200));
    let fake = FakeDiscord::start(config).expect("start");
    fake.update_faults(|f| {
        f.storm_429 = 2;
        f.storm_retry_after_ms = 50;
    });
    let client = client(&fake);
    let ch = fake.guilds()[0]
        .initial_channels()
        .find(|c| c.kind.has_messages())
        .expect("text channel")
        .id;
    let got = all_messages(&client, ch).await;
    assert_eq!(got.len(), 1_500, "every page arrives despite 429s");
    let statuses = fake.status_counts();
    assert!(
        statuses.get(&429).copied().unwrap_or(0) >= 2,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn twilight_http_sees_401_and_403_as_response_errors() {
    let fake = FakeDiscord::start(FakeConfig::small()).expect("start");
    let client = client(&fake);
    let text = fake.guilds()[0]
        .initial_channels()
        .find(|c| c.kind.has_messages())
        .expect("text")
        .id;
    fake.update_faults(|f| {
        f.forbidden_channels.insert(text);
    });
    let err = client
        .channel_messages(Id::new(text))
        .limit(10)
        .await
        .expect_err("403");
    match err.kind() {
        twilight_http::error::ErrorType::Response { status, error, .. } => {
            assert_eq!(status.get(), 403);
            assert!(format!("{error:?}").contains("50001"), "{error:?}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    fake.update_faults(|f| f.token_revoked = true);
    let err = client.current_user().await.expect_err("401");
    assert!(
        matches!(err.kind(), twilight_http::error::ErrorType::Unauthorized)
            || matches!(err.kind(), twilight_http::error::ErrorType::Response { status, .. } if status.get() == 401),
        "{:?}",
        err.kind()
    );
}

#[tokio::test]
async fn twilight_raw_request_refreshes_attachment_urls() {
    #[derive(serde::Deserialize)]
    struct Refreshed {
        original: String,
        refreshed: String,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        refreshed_urls: Vec<Refreshed>,
    }
    let fake = FakeDiscord::start(FakeConfig::small()).expect("start");
    fake.update_faults(|f| f.expired_links = true);
    let client = client(&fake);
    let truth = fake.truth(fake.guild_ids()[0]).expect("truth");
    let attachment = truth
        .message_channels()
        .filter_map(|c| fake.store().channel(c.platform_id))
        .flat_map(|(_, ch)| fake.store().iter_messages(ch))
        .flat_map(|m| m.attachments)
        .next()
        .expect("an attachment");
    let expired = fake.signed_url(&attachment, true);
    let body =
        serde_json::to_vec(&serde_json::json!({ "attachment_urls": [expired] })).expect("body");
    let request = twilight_http::request::RequestBuilder::raw(
        twilight_http::request::Method::Post,
        "attachments/refresh-urls".to_owned(),
    )
    .body(body)
    .build()
    .expect("request");
    let answer: Answer = client
        .request::<Answer>(request)
        .await
        .expect("refresh")
        .model()
        .await
        .expect("answer");
    assert_eq!(answer.refreshed_urls.len(), 1);
    assert_eq!(answer.refreshed_urls[0].original, expired);
    assert_ne!(answer.refreshed_urls[0].refreshed, expired);
    assert_eq!(fake.route_count(routes::REFRESH_URLS), 1);
    assert_eq!(fake.cdn_stats().urls_refreshed, 1);
}
