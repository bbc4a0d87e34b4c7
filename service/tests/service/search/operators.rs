//! Every operator of the query language on one crafted corpus: which messages each query
//! finds, exactly.

use std::collections::BTreeSet;

use service::pseudonym;
use uuid::Uuid;

use super::{Env, at, attach, author, post, text_channel, thread};
use crate::helpers::tenant;

/// The corpus: three channels (a thread under `general`), two authors, nine messages.
struct Corpus {
    env: Env,
    tenant: Uuid,
    /// Message row ids, by their number in [`corpus`].
    m: Vec<Uuid>,
    general: Uuid,
    otter: String,
}

async fn corpus() -> Corpus {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let general = text_channel(db, t, "9001", "general").await;
    let offtopic = text_channel(db, t, "9002", "Off-Topic").await;
    let help = thread(db, t, "9003", "Help Thread", "9001").await;
    let (a, b) = (author(1), author(2));
    assert_ne!(
        pseudonym::name(&a),
        pseudonym::name(&b),
        "the two authors need different pseudonyms"
    );
    let rows = [
        (
            general,
            at(2024, 3, 14, 23, 59, 59),
            &a,
            "quick brown fox jumps over the lazy dog",
        ),
        (
            general,
            at(2024, 3, 15, 0, 0, 0),
            &b,
            "the dog is brown and quick",
        ),
        (
            offtopic,
            at(2024, 3, 15, 23, 59, 59),
            &a,
            "brownie recipe with nuts",
        ),
        (
            help,
            at(2024, 3, 16, 0, 0, 0),
            &b,
            "a fox in the thread, see https://example.com/x",
        ),
        (offtopic, at(2024, 2, 10, 10, 0, 0), &b, "photo of a fox"),
        (general, at(2023, 7, 1, 0, 0, 0), &a, "a video of a fox"),
        (general, at(2024, 4, 1, 8, 0, 0), &b, "voice note"),
        (general, at(2024, 3, 20, 8, 0, 0), &a, "spec document"),
        (
            general,
            at(2024, 3, 21, 8, 0, 0),
            &a,
            "pinned rules: be kind",
        ),
    ];
    let mut stored = Vec::new();
    for (channel, sent, who, content) in rows {
        stored.push(post(db, channel, sent, who, content).await);
    }
    attach(db, &stored[4], "fox.png", "image/png").await;
    attach(db, &stored[5], "fox.mp4", "video/mp4").await;
    // Audio by extension when the type says nothing.
    attach(db, &stored[6], "note.ogg", "application/octet-stream").await;
    attach(db, &stored[7], "spec.pdf", "application/pdf").await;
    let mut pinned = stored[8].clone();
    pinned.metadata = Some(serde_json::json!({ "pinned": true }));
    super::write(db, &pinned).await;
    let done = env.catch_up().await;
    assert_eq!(done.indexed as usize, stored.len(), "{done:?}");
    let mut m = vec![Uuid::nil()];
    m.extend(stored.iter().map(|r| r.id()));
    Corpus {
        env,
        tenant: t,
        m,
        general,
        otter: a,
    }
}

impl Corpus {
    /// The numbers of the messages `q` finds.
    async fn find(&self, q: &str) -> BTreeSet<usize> {
        let ids = self.env.ids(self.tenant, q).await;
        let found: BTreeSet<usize> = ids
            .iter()
            .map(|id| {
                self.m
                    .iter()
                    .position(|m| m == id)
                    .unwrap_or_else(|| panic!("{q:?} found a message outside the corpus"))
            })
            .collect();
        assert_eq!(found.len(), ids.len(), "{q:?} returned a message twice");
        found
    }

    async fn expect(&self, q: &str, numbers: &[usize]) {
        let expected: BTreeSet<usize> = numbers.iter().copied().collect();
        assert_eq!(self.find(q).await, expected, "{q:?}");
    }
}

#[tokio::test]
async fn every_word_must_match() {
    let c = corpus().await;
    c.expect("quick brown", &[1, 2]).await;
    c.expect("QUICK Brown", &[1, 2]).await;
    c.expect("quick brown nuts", &[]).await;
    c.expect("fox", &[1, 4, 5, 6]).await;
}

#[tokio::test]
async fn an_exact_phrase_matches_its_words_in_order_and_adjacent_only() {
    let c = corpus().await;
    c.expect("\"quick brown\"", &[1]).await;
    c.expect("\"lazy dog\"", &[1]).await;
    // Message 2 has both words, apart and in the other order.
    c.expect("\"brown quick\"", &[]).await;
    c.expect("\"dog lazy\"", &[]).await;
    c.expect("\"quick fox\"", &[]).await;
    c.expect("dog \"brown and quick\"", &[2]).await;
}

#[tokio::test]
async fn a_prefix_matches_every_word_it_starts_and_needs_two_letters() {
    let c = corpus().await;
    c.expect("brow*", &[1, 2, 3]).await;
    c.expect("brownie*", &[3]).await;
    c.expect("fo*", &[1, 4, 5, 6]).await;
    for q in ["b*", "*", "x* fox"] {
        let (field, message) = c.env.refusal(c.tenant, q).await;
        assert_eq!(field, "q", "{q:?}");
        assert!(
            message.contains("too short for a prefix"),
            "{q:?}: {message}"
        );
    }
}

#[tokio::test]
async fn a_negated_word_or_phrase_excludes_the_messages_that_have_it() {
    let c = corpus().await;
    c.expect("fox -brown", &[4, 5, 6]).await;
    c.expect("fox -\"lazy dog\"", &[4, 5, 6]).await;
    c.expect("fox -\"dog lazy\"", &[1, 4, 5, 6]).await;
    c.expect("fox -phot*", &[1, 4, 6]).await;
    // Only negations: everything else.
    c.expect("-brown", &[3, 4, 5, 6, 7, 8, 9]).await;
}

#[tokio::test]
async fn from_finds_an_author_by_pseudonym_in_any_spelling_or_by_id() {
    let c = corpus().await;
    let name = pseudonym::name(&c.otter);
    let tag = pseudonym::tag(&c.otter);
    let words: Vec<&str> = name.split(' ').collect();
    let spellings = [
        format!("from:\"{name}\""),
        format!("from:{}", words.join("_").to_lowercase()),
        format!("from:{}", words.concat()),
        format!("from:{}", name.to_uppercase().replace(' ', "-")),
        format!("from:\"{name}#{tag}\""),
        format!("from:{}#{}", words.concat(), tag.to_uppercase()),
        format!("from:{}", c.otter),
        format!("from:{}", c.otter.to_uppercase()),
    ];
    for q in &spellings {
        c.expect(q, &[1, 3, 6, 8, 9]).await;
    }
    c.expect(&format!("fox from:{}", words.concat()), &[1, 6])
        .await;
    // Either of two authors.
    c.expect(
        &format!("fox from:{} from:{}", c.otter, author(2)),
        &[1, 4, 5, 6],
    )
    .await;
    // The right name with another tag, or nobody's name: no message, no error.
    let other_tag = if tag == "0000" { "0001" } else { "0000" };
    c.expect(&format!("from:\"{name}#{other_tag}\""), &[]).await;
    c.expect("from:nobody_here", &[]).await;
}

#[tokio::test]
async fn in_finds_a_channel_by_name_hash_name_or_id_with_its_threads() {
    let c = corpus().await;
    let general = [1, 2, 4, 6, 7, 8, 9];
    for q in [
        "in:general".to_owned(),
        "in:GENERAL".to_owned(),
        "in:#general".to_owned(),
        format!("in:{}", c.general),
        format!("in:{}", c.general.to_string().to_uppercase()),
    ] {
        c.expect(&q, &general).await;
    }
    c.expect("in:off-topic", &[3, 5]).await;
    c.expect("in:\"help thread\"", &[4]).await;
    c.expect("fox in:#Off-Topic", &[5]).await;
    c.expect("fox in:off-topic in:\"Help Thread\"", &[4, 5])
        .await;
    let (field, message) = c.env.refusal(c.tenant, "fox in:nowhere").await;
    assert_eq!(field, "q");
    assert!(message.contains("nowhere"), "{message}");
}

#[tokio::test]
async fn has_finds_attachments_by_kind_and_links() {
    let c = corpus().await;
    c.expect("has:attachment", &[5, 6, 7, 8]).await;
    c.expect("has:file", &[5, 6, 7, 8]).await;
    c.expect("has:image", &[5]).await;
    c.expect("has:video", &[6]).await;
    c.expect("has:audio", &[7]).await;
    c.expect("has:link", &[4]).await;
    c.expect("fox has:attachment", &[5, 6]).await;
    c.expect("has:image has:video", &[]).await;
}

#[tokio::test]
async fn dates_bound_the_send_time_exactly() {
    let c = corpus().await;
    // 23:59:59 the day before and 00:00:00 the day after are outside the day.
    c.expect("during:2024-03-15", &[2, 3]).await;
    c.expect("during:2024-03", &[1, 2, 3, 4, 8, 9]).await;
    c.expect("during:2024-02", &[5]).await;
    c.expect("during:2023", &[6]).await;
    c.expect("during:2024", &[1, 2, 3, 4, 5, 7, 8, 9]).await;
    // before: the start of the day; after: from the start of the next one.
    c.expect("before:2024-03-15", &[1, 5, 6]).await;
    c.expect("after:2024-03-15", &[4, 7, 8, 9]).await;
    c.expect("after:2024-03-14 before:2024-03-16", &[2, 3])
        .await;
    c.expect("fox before:2024", &[6]).await;
    c.expect("fox after:2024-02 before:2024-04", &[1, 4]).await;
}

#[tokio::test]
async fn pinned_selects_pinned_messages_or_the_others() {
    let c = corpus().await;
    c.expect("pinned:true", &[9]).await;
    c.expect("rules pinned:yes", &[9]).await;
    c.expect("pinned:false", &[1, 2, 3, 4, 5, 6, 7, 8]).await;
    c.expect("rules pinned:false", &[]).await;
}
