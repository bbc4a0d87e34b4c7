//! The ground truth follows the sync model of docs/design.md and the generator is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use testkit::fake_discord::{
    ChannelKind, FakeConfig, FakeDiscord, Guild, GuildSpec, GuildTruth, Store,
};

#[test]
fn small_guild_truth_keeps_visible_text_forum_category_and_public_threads_only() {
    let fake = FakeDiscord::start(FakeConfig::small()).expect("start");
    let g = &fake.guilds()[0];
    let truth = fake.truth(g.id).expect("truth");
    let kinds: BTreeMap<u64, &str> = truth
        .channels
        .iter()
        .map(|c| (c.platform_id, c.kind))
        .collect();
    for c in g.initial_channels() {
        let hidden_by_overwrite = c
            .overwrites
            .iter()
            .any(|o| o.id == g.id && o.deny & testkit::fake_discord::VIEW_CHANNEL != 0);
        let parent_hidden = c.kind.is_thread()
            && c.parent_id
                .and_then(|p| g.channel(p))
                .is_some_and(|p| p.overwrites.iter().any(|o| o.id == g.id && o.deny != 0));
        let expected = match c.kind {
            _ if hidden_by_overwrite || parent_hidden => None,
            ChannelKind::Text | ChannelKind::Announcement => Some("text"),
            ChannelKind::Forum => Some("forum"),
            ChannelKind::Category => Some("category"),
            ChannelKind::PublicThread | ChannelKind::AnnouncementThread => Some("thread"),
            ChannelKind::Voice | ChannelKind::Stage | ChannelKind::PrivateThread => None,
        };
        assert_eq!(
            kinds.get(&c.id).copied(),
            expected,
            "{} ({:?})",
            c.name,
            c.kind
        );
    }
    assert!(
        g.initial_channels()
            .any(|c| c.kind == ChannelKind::Text && !kinds.contains_key(&c.id)),
        "one text channel is hidden from @everyone"
    );
    let forum = g
        .initial_channels()
        .find(|c| c.kind == ChannelKind::Forum)
        .expect("forum");
    let posts: Vec<_> = truth
        .channels
        .iter()
        .filter(|c| c.parent_platform_id == Some(forum.id))
        .collect();
    assert_eq!(posts.len(), 4, "forum posts are threads of the forum");
    for p in posts {
        let first = truth
            .messages(p.platform_id)
            .next()
            .expect("starter message");
        assert_eq!(
            first.platform_id, p.platform_id,
            "a forum post's id is its starter's"
        );
    }
    for c in &truth.channels {
        let meta = g.channel(c.platform_id).expect("meta");
        assert_eq!(c.parent_platform_id, meta.parent_id);
        assert_eq!(c.name, meta.name);
    }
}

#[test]
fn locked_down_guild_truth_keeps_only_channels_shown_by_an_everyone_overwrite() {
    let fake = FakeDiscord::start(FakeConfig::small()).expect("start");
    let g = &fake.guilds()[1];
    assert!(!g.spec.everyone_can_view);
    let everyone = g.roles.iter().find(|r| r.id == g.id).expect("@everyone");
    assert_eq!(
        everyone.permissions & testkit::fake_discord::VIEW_CHANNEL,
        0
    );
    let truth = fake.truth(g.id).expect("truth");
    let stored: BTreeSet<u64> = truth.channels.iter().map(|c| c.platform_id).collect();
    let mut hidden_text = 0;
    for c in g.initial_channels().filter(|c| !c.kind.is_thread()) {
        let allowed = c
            .overwrites
            .iter()
            .any(|o| o.id == g.id && o.allow & testkit::fake_discord::VIEW_CHANNEL != 0);
        let archived = !matches!(c.kind, ChannelKind::Voice | ChannelKind::Stage);
        assert_eq!(stored.contains(&c.id), allowed && archived, "{}", c.name);
        if c.kind == ChannelKind::Text && !allowed {
            hidden_text += 1;
        }
    }
    assert!(
        hidden_text >= 1,
        "a text channel without the overwrite stays hidden"
    );
    assert!(stored.len() > 3);
}

#[test]
fn small_guild_has_a_few_thousand_messages_and_one_channel_over_a_thousand() {
    let store = Store::new(vec![Guild::generate(&GuildSpec::small())]);
    let g = &store.guilds()[0];
    let truth = GuildTruth::of(&store, g.id).expect("truth");
    let per_channel: Vec<usize> = truth
        .message_channels()
        .map(|c| truth.messages(c.platform_id).count())
        .collect();
    let total: usize = per_channel.iter().sum();
    assert!((2_000..10_000).contains(&total), "{total} messages");
    assert!(per_channel.iter().any(|n| *n > 1_000));
    assert_eq!(truth.message_count() as usize, total);
    // Shapes Verta must handle, as the truth reports them.
    let all: Vec<_> = truth
        .message_channels()
        .flat_map(|c| truth.messages(c.platform_id))
        .collect();
    let ids: BTreeSet<u64> = all.iter().map(|m| m.platform_id).collect();
    assert!(
        all.iter()
            .any(|m| m.reply_to.is_some_and(|r| ids.contains(&r)))
    );
    assert!(
        all.iter()
            .any(|m| m.reply_to.is_some_and(|r| !ids.contains(&r))),
        "a reply to a deleted message"
    );
    let emojis: BTreeSet<&str> = all
        .iter()
        .flat_map(|m| m.reactions.iter().map(|r| r.emoji.as_str()))
        .collect();
    assert!(emojis.contains("👍") || emojis.contains("🎉"));
    assert!(
        emojis
            .iter()
            .any(|e| e.starts_with("<:") && e.ends_with('>'))
    );
    assert!(emojis.iter().any(|e| e.starts_with("<a:")));
    assert!(all.iter().any(|m| m.reactions.len() > 100));
    assert!(
        all.iter()
            .flat_map(|m| &m.attachments)
            .any(|a| a.content_type.is_none())
    );
    assert!(all.iter().any(|m| m.edited_at.is_some()));
    assert!(all.iter().any(|m| m.content.is_empty()));
    assert!(
        all.iter().all(|m| m.created_at.timestamp_millis()
            == testkit::fake_discord::snowflake_ms(m.platform_id))
    );
    let authors: BTreeSet<u64> = all.iter().map(|m| m.author_id).collect();
    assert!(authors.len() > 50);
}

#[test]
fn a_guild_ending_now_has_messages_from_the_last_days() {
    // A channel's messages are spread evenly from its creation (2019) to a day before the
    // end, so the gap after its last one is the end minus a day minus one spacing: only a
    // busy channel's stays within a day or two of the end whatever today's date.
    let g = Guild::generate(
        &GuildSpec::small()
            .with_big_channel(Some(100_000))
            .ending_now(),
    );
    let now = chrono::Utc::now().timestamp_millis();
    let newest = g
        .initial_channels()
        .filter_map(|c| c.last_generated_id())
        .map(testkit::fake_discord::snowflake_ms)
        .max()
        .expect("messages");
    assert!(
        newest <= now - 86_400_000 + 3_600_000,
        "about a day before now"
    );
    assert!(now - newest < 2 * 86_400_000, "newest message is recent");
}

#[test]
fn generation_is_deterministic_per_seed() {
    let a = Guild::generate(&GuildSpec::small());
    let b = Guild::generate(&GuildSpec::small());
    let c = Guild::generate(&GuildSpec::small().with_seed(7));
    assert_eq!(a.id, b.id);
    assert_eq!(a.channels, b.channels);
    assert_ne!(a.id, c.id);
    let ch = &a
        .initial_channels()
        .find(|c| c.kind == ChannelKind::Text)
        .expect("text");
    for i in [0, 1, 500, ch.message_count - 1] {
        assert_eq!(a.generated_message(ch, i), b.generated_message(ch, i));
    }
}

#[test]
fn message_ids_map_back_to_their_slots_in_a_ten_million_message_channel() {
    let g = Guild::generate(&GuildSpec::bench(1, 10_000_000, 0.1));
    let ch = g
        .initial_channels()
        .find(|c| c.kind == ChannelKind::Text)
        .expect("text");
    let mut prev = 0;
    for i in (0..ch.message_count).step_by(99_991) {
        let id = ch.slot_id(i);
        assert!(id > prev);
        prev = id;
        assert_eq!(ch.slot_of(id), Some(i));
        assert_eq!(ch.first_slot_after(id), i + 1);
    }
    assert!(testkit::fake_discord::snowflake_ms(prev) < testkit::fake_discord::GENERATED_END_MS);
}
