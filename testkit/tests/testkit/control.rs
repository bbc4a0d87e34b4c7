//! The HTTP control API changes what the API serves and what the ground truth says.

use reqwest::Method;
use serde_json::json;
use testkit::fake_discord::{ChannelKind, Emoji, routes};

use crate::helpers::{Harness, first_of, ids};

#[tokio::test]
async fn control_api_adds_edits_and_deletes_messages_and_reactions() {
    let h = Harness::small();
    let g = h.guild().clone();
    let ch = first_of(&g, ChannelKind::Text);
    let user = g.users[3].id;
    let newest_before = h
        .fake
        .truth(g.id)
        .expect("truth")
        .messages(ch.id)
        .last()
        .expect("m");

    let r = h
        .control(
            Method::POST,
            &format!("/channels/{}/messages", ch.id),
            Some(
                json!({"content": format!("hi <@{user}>"), "author_id": user.to_string(),
                        "reply_to": newest_before.platform_id.to_string()}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id: u64 = r.body["id"].as_str().expect("id").parse().expect("id");
    assert!(id > newest_before.platform_id);
    let page = h
        .get(&format!("/channels/{}/messages?limit=2", ch.id))
        .await;
    crate::helpers::assert_route_schema(routes::MESSAGES, &page.body);
    assert_eq!(ids(&page.body)[0], id, "the new message is the newest");
    assert_eq!(page.body[0]["type"], 19);
    assert_eq!(page.body[0]["mentions"][0]["id"], user.to_string());
    assert_eq!(
        page.body[0]["referenced_message"]["id"],
        newest_before.platform_id.to_string()
    );
    let channel = h.get(&format!("/channels/{}", ch.id)).await;
    assert_eq!(channel.body["last_message_id"], id.to_string());

    let r = h
        .control(
            Method::PATCH,
            &format!("/channels/{}/messages/{id}", ch.id),
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let m = h.get(&format!("/channels/{}/messages/{id}", ch.id)).await;
    assert_eq!(m.body["content"], "edited");
    assert!(m.body["edited_timestamp"].is_string());

    let emoji = Emoji::Unicode("🎉".into());
    let r = h
        .control(
            Method::PUT,
            &format!(
                "/channels/{}/messages/{id}/reactions/{}/{user}",
                ch.id,
                emoji.url_segment()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let users = h
        .get(&format!(
            "/channels/{}/messages/{id}/reactions/{}",
            ch.id,
            emoji.url_segment()
        ))
        .await;
    assert_eq!(ids(&users.body), vec![user]);
    let truth = h.fake.truth(g.id).expect("truth");
    let last = truth.messages(ch.id).last().expect("last");
    assert_eq!(last.platform_id, id);
    assert_eq!(last.content, "edited");
    assert_eq!(last.reactions.len(), 1);
    assert_eq!(last.reactions[0].emoji, "🎉");

    let r = h
        .control(
            Method::DELETE,
            &format!(
                "/channels/{}/messages/{id}/reactions/{}/{user}",
                ch.id,
                emoji.url_segment()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("reactions").is_none());

    // Deleting a generated message.
    let victim = newest_before.platform_id;
    let r = h
        .control(
            Method::DELETE,
            &format!("/channels/{}/messages/{victim}", ch.id),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let gone = h
        .get(&format!("/channels/{}/messages/{victim}", ch.id))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["code"], 10008);
    let reply = h.get(&format!("/channels/{}/messages/{id}", ch.id)).await;
    assert!(
        reply.body["referenced_message"].is_null(),
        "reply to a deleted message"
    );
    assert_eq!(
        reply.body["message_reference"]["message_id"],
        victim.to_string()
    );
    let truth = h.fake.truth(g.id).expect("truth");
    assert!(truth.messages(ch.id).all(|m| m.platform_id != victim));
    assert_eq!(truth.deleted_messages(ch.id), vec![victim]);

    let r = h
        .control(
            Method::DELETE,
            &format!("/channels/{}/messages/{victim}", ch.id),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "deleting twice");
    let r = h
        .control(Method::POST, "/channels/1/messages", Some(json!({})))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn control_api_reports_counters_and_the_request_log_and_resets() {
    let h = Harness::small();
    let g = h.guild();
    let ch = first_of(g, ChannelKind::Text);
    for _ in 0..3 {
        h.get(&format!("/channels/{}/messages", ch.id)).await;
    }
    h.get("/nope").await;
    let info = h.control(Method::GET, "/info", None).await;
    assert_eq!(info.body["proxy"], h.fake.proxy());
    assert_eq!(info.body["token"], h.fake.token());
    assert_eq!(info.body["guild_ids"][0], g.id.to_string());
    let stats = h.control(Method::GET, "/stats", None).await;
    assert_eq!(stats.body["routes"][routes::MESSAGES], 3);
    assert_eq!(stats.body["total"], 4);
    assert_eq!(stats.body["statuses"]["404"], 1);
    assert_eq!(h.fake.route_count(routes::MESSAGES), 3);
    let log = h.control(Method::GET, "/requests", None).await;
    let log = log.body.as_array().expect("log");
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["route"], routes::MESSAGES);
    assert_eq!(log[3]["status"], 404);
    assert_eq!(h.fake.requests().len(), 4);

    let faults = h
        .control(
            Method::PUT,
            "/faults",
            Some(json!({"forbidden_channels": [ch.id], "latency_ms": 0})),
        )
        .await;
    assert_eq!(faults.status, 200);
    assert_eq!(
        h.get(&format!("/channels/{}/messages", ch.id)).await.status,
        403
    );
    h.control(
        Method::PUT,
        "/limits",
        Some(json!({"route_limit": {"limit": 1, "window_ms": 60000}, "global_per_sec": null})),
    )
    .await;
    assert_eq!(h.get("/users/@me").await.status, 200);
    assert_eq!(h.get("/users/@me").await.status, 429);

    let r = h.control(Method::POST, "/reset", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(h.fake.total_requests(), 0);
    assert!(h.fake.faults().forbidden_channels.is_empty());
    assert_eq!(
        h.get(&format!("/channels/{}/messages", ch.id)).await.status,
        200
    );
    let unknown = h.control(Method::GET, "/nothing", None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn channels_deleted_renamed_or_hidden_at_runtime_change_listings_and_truth() {
    let h = Harness::small();
    let g = h.guild().clone();
    let stored = |h: &Harness| -> std::collections::BTreeMap<u64, String> {
        let truth = h.fake.truth(g.id).expect("truth");
        truth
            .channels
            .iter()
            .map(|c| (c.platform_id, c.name.clone()))
            .collect()
    };
    let listed = |v: &serde_json::Value| -> Vec<u64> { ids(v) };
    let before = stored(&h);

    // Delete the announcement channel over HTTP: it and its thread vanish.
    let ann = first_of(&g, ChannelKind::Announcement);
    let ann_thread = first_of(&g, ChannelKind::AnnouncementThread);
    let r = h
        .control(Method::DELETE, &format!("/channels/{}", ann.id), None)
        .await;
    assert_eq!(r.status, 200);
    for id in [ann.id, ann_thread.id] {
        let r = h.get(&format!("/channels/{id}")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["code"], 10003);
    }
    let channels = h.get(&format!("/guilds/{}/channels", g.id)).await;
    assert!(!listed(&channels.body).contains(&ann.id));
    let active = h.get(&format!("/guilds/{}/threads/active", g.id)).await;
    assert!(!listed(&active.body["threads"]).contains(&ann_thread.id));

    // Rename and hide the first text channel over HTTP.
    let text = first_of(&g, ChannelKind::Text);
    let r = h
        .control(
            Method::PATCH,
            &format!("/channels/{}", text.id),
            Some(json!({"name": "renamed", "visible": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "renamed");
    let ch = h.get(&format!("/channels/{}", text.id)).await;
    let gid = g.id.to_string();
    let everyone = ch.body["permission_overwrites"]
        .as_array()
        .expect("overwrites")
        .iter()
        .find(|o| o["id"].as_str() == Some(gid.as_str()))
        .expect("@everyone overwrite")
        .clone();
    assert_eq!(everyone["deny"], "1024");
    crate::helpers::assert_route_schema(routes::CHANNEL, &ch.body);
    assert_eq!(
        h.get(&format!("/channels/{}/messages", text.id))
            .await
            .status,
        200,
        "the bot still reads a channel hidden from @everyone"
    );

    // Show the channel that was generated hidden, from Rust.
    let hidden = g
        .initial_channels()
        .find(|c| c.kind == ChannelKind::Text && !before.contains_key(&c.id))
        .expect("a hidden text channel");
    h.fake.set_channel_visible(hidden.id, true).expect("show");
    let thread = first_of(&g, ChannelKind::PublicThread);
    assert!(h.fake.set_channel_visible(thread.id, false).is_err());

    let after = stored(&h);
    assert!(!after.contains_key(&ann.id) && !after.contains_key(&ann_thread.id));
    assert!(!after.contains_key(&text.id), "hidden now");
    assert!(
        g.initial_channels()
            .filter(|c| c.parent_id == Some(text.id) && c.kind.is_thread())
            .all(|c| !after.contains_key(&c.id)),
        "threads follow their hidden parent"
    );
    assert!(after.contains_key(&hidden.id), "shown now");
    assert!(
        g.initial_channels()
            .any(|c| c.parent_id == Some(hidden.id) && after.contains_key(&c.id)),
        "its public threads are stored now"
    );
    h.fake
        .rename_channel(hidden.id, "now-public")
        .expect("rename");
    assert_eq!(stored(&h)[&hidden.id], "now-public");

    h.fake.reset();
    assert_eq!(stored(&h), before, "reset restores the generated channels");
}

#[tokio::test]
async fn threads_created_and_archived_at_runtime_show_up_in_listings_and_truth() {
    let h = Harness::small();
    let g = h.guild().clone();
    let text = first_of(&g, ChannelKind::Text);
    let ann = first_of(&g, ChannelKind::Announcement);
    let voice = first_of(&g, ChannelKind::Voice);

    let r = h
        .control(
            Method::POST,
            &format!("/channels/{}/threads", text.id),
            Some(json!({"name": "brand new"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    crate::helpers::assert_route_schema(routes::CHANNEL, &r.body);
    let thread: u64 = r.body["id"].as_str().expect("id").parse().expect("id");
    assert_eq!(r.body["parent_id"], text.id.to_string());
    assert_eq!(r.body["type"], 11);
    let active = h.get(&format!("/guilds/{}/threads/active", g.id)).await;
    assert!(ids(&active.body["threads"]).contains(&thread));
    let empty = h.get(&format!("/channels/{thread}/messages")).await;
    assert_eq!(empty.body, json!([]));
    let m = h
        .fake
        .add_message(
            thread,
            testkit::fake_discord::NewMessage {
                content: "first!".into(),
                ..Default::default()
            },
        )
        .expect("message in the new thread");
    let truth = h.fake.truth(g.id).expect("truth");
    let t = truth
        .channels
        .iter()
        .find(|c| c.platform_id == thread)
        .expect("new thread stored");
    assert_eq!((t.kind, t.name.as_str()), ("thread", "brand new"));
    assert_eq!(t.parent_platform_id, Some(text.id));
    assert_eq!(
        truth
            .messages(thread)
            .map(|m| m.platform_id)
            .collect::<Vec<_>>(),
        vec![m.id]
    );
    drop(truth);

    // Archive it: it leaves the active list and is the newest archived thread.
    let r = h
        .control(
            Method::PATCH,
            &format!("/channels/{thread}"),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let active = h.get(&format!("/guilds/{}/threads/active", g.id)).await;
    assert!(!ids(&active.body["threads"]).contains(&thread));
    let archived = h
        .get(&format!("/channels/{}/threads/archived/public", text.id))
        .await;
    assert_eq!(ids(&archived.body["threads"])[0], thread);

    // An announcement channel gets announcement threads; voice channels none.
    let t2 = h.fake.create_thread(ann.id, "news thread").expect("thread");
    let r = h.get(&format!("/channels/{t2}")).await;
    assert_eq!(r.body["type"], 10);
    assert!(h.fake.create_thread(voice.id, "no").is_err());
    assert!(h.fake.set_thread_archived(text.id, true).is_err());
    h.fake.create_thread(text.id, "third").expect("third spare");
    let r = h
        .control(
            Method::POST,
            &format!("/channels/{}/threads", text.id),
            Some(json!({"name": "one too many"})),
        )
        .await;
    assert_eq!(r.status, 409, "spare slots are finite: {}", r.body);
}
