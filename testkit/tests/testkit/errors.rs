//! Discord's error statuses, codes and bodies, and the injected faults.

use serde_json::json;
use testkit::fake_discord::{ChannelKind, routes};

use crate::helpers::{Harness, first_of};

#[tokio::test]
async fn requests_without_the_bot_token_get_401_like_discord() {
    let h = Harness::small();
    let gid = h.fake.guild_ids()[0];
    let path = format!("/guilds/{gid}");
    for auth in [None, Some("Bot wrong"), Some(h.fake.token())] {
        let r = h.get_with(&path, auth).await;
        assert_eq!(r.status, 401, "auth {auth:?}");
        assert_eq!(r.body, json!({"message": "401: Unauthorized", "code": 0}));
    }
    assert_eq!(h.get(&path).await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_objects_get_discords_404_codes() {
    let h = Harness::small();
    let g = h.guild();
    let text = first_of(g, ChannelKind::Text);
    let r = h.get("/guilds/1/emojis/x/y").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"message": "404: Not Found", "code": 0}));
    let r = h.get_with("/no/such/route", None).await;
    assert_eq!(r.status, 404, "unknown routes are 404 even without a token");
    let cases = [
        (format!("/guilds/{}", text.id), 10004, "Unknown Guild"),
        (
            format!("/channels/{}/messages", g.id),
            10003,
            "Unknown Channel",
        ),
        (
            format!("/channels/{}/messages/{}", text.id, text.id),
            10008,
            "Unknown Message",
        ),
    ];
    for (path, code, message) in cases {
        let r = h.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body, json!({"message": message, "code": code}), "{path}");
    }
    let m = h.fake.store().iter_messages(text).next().expect("message");
    let r = h
        .get(&format!(
            "/channels/{}/messages/{}/reactions/x:1",
            text.id, m.id
        ))
        .await;
    assert_eq!(r.status, 200, "an emoji nobody used lists no users");
    assert_eq!(r.body, json!([]));
}

#[tokio::test]
async fn out_of_range_query_values_get_400_invalid_form_body() {
    let h = Harness::small();
    let g = h.guild();
    let text = first_of(g, ChannelKind::Text);
    for q in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "before=abc",
        "after=-1",
        "around=x",
    ] {
        let r = h.get(&format!("/channels/{}/messages?{q}", text.id)).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["code"], 50035, "{q}");
        assert_eq!(r.body["message"], "Invalid Form Body");
        assert!(r.body["errors"].is_object());
    }
    for q in ["limit=1", "limit=101", "before=yesterday"] {
        let r = h
            .get(&format!(
                "/channels/{}/threads/archived/public?{q}",
                text.id
            ))
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["code"], 50035);
    }
    let r = h.get("/channels/not-a-snowflake").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50035);
    for q in ["limit=100", "limit=1"] {
        let r = h.get(&format!("/channels/{}/messages?{q}", text.id)).await;
        assert_eq!(r.status, 200, "{q} is in range");
    }
}

#[tokio::test]
async fn forbidden_channel_fault_answers_403_missing_access_for_that_channel_only() {
    let h = Harness::small();
    let g = h.guild();
    let text = first_of(g, ChannelKind::Text);
    let other = first_of(g, ChannelKind::Announcement);
    h.fake.update_faults(|f| {
        f.forbidden_channels.insert(text.id);
    });
    for path in [
        format!("/channels/{}", text.id),
        format!("/channels/{}/messages", text.id),
        format!("/channels/{}/threads/archived/public", text.id),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.body, json!({"message": "Missing Access", "code": 50001}));
    }
    assert_eq!(
        h.get(&format!("/channels/{}/messages", other.id))
            .await
            .status,
        200
    );
    let thread = g
        .initial_channels()
        .find(|c| c.kind.is_thread() && c.parent_id == Some(text.id))
        .expect("a thread of the text channel");
    let r = h.get(&format!("/channels/{}/messages", thread.id)).await;
    assert_eq!(
        r.status, 403,
        "threads of a forbidden channel are forbidden too"
    );
}

#[tokio::test]
async fn revoked_token_error_rate_and_dropped_connection_faults_apply() {
    let h = Harness::small();
    let gid = h.fake.guild_ids()[0];
    let path = format!("/guilds/{gid}/roles");
    h.fake.update_faults(|f| f.token_revoked = true);
    assert_eq!(h.get(&path).await.status, 401);
    h.fake.update_faults(|f| {
        f.token_revoked = false;
        f.error_rate = 1.0;
    });
    let r = h.get(&path).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        json!({"message": "500: Internal Server Error", "code": 0})
    );
    h.fake.update_faults(|f| f.error_statuses = vec![502, 503]);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let r = h.get(&path).await;
        if r.status == 502 {
            assert!(r.body.is_null(), "502 comes as HTML, not JSON");
        } else {
            assert_eq!(r.body["message"], "503: Service Unavailable");
        }
        seen.insert(r.status);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![502, 503]);
    h.fake.update_faults(|f| {
        f.error_rate = 0.0;
        f.drop_connections = 1;
    });
    let url = format!("{}{}", h.fake.api_url(), path);
    let result = async {
        h.http
            .get(&url)
            .header("authorization", format!("Bot {}", h.fake.token()))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(result.is_err(), "the dropped connection fails the request");
    assert_eq!(
        h.get(&path).await.status,
        200,
        "only one connection dropped"
    );
    assert_eq!(h.fake.route_count(routes::GUILD_ROLES), 8);
}

#[tokio::test]
async fn message_lists_on_categories_and_forums_are_rejected_like_discord() {
    let h = Harness::small();
    let g = h.guild();
    for kind in [ChannelKind::Category, ChannelKind::Forum] {
        let c = first_of(g, kind);
        let r = h.get(&format!("/channels/{}/messages", c.id)).await;
        assert_eq!(r.status, 400, "{kind:?}");
        assert_eq!(r.body["code"], 50024);
    }
    let voice = first_of(g, ChannelKind::Voice);
    let r = h
        .get(&format!("/channels/{}/threads/archived/public", voice.id))
        .await;
    assert_eq!(r.status, 400);
}
