//! Scripts other than Latin, emoji, and the highlighted snippets of hits.

use service::pseudonym;
use uuid::Uuid;

use super::{Env, author, days_ago, post, text_channel};
use crate::helpers::tenant;

/// A corpus of `texts` (one message each, in one channel); returns the env, tenant and ids.
async fn corpus(texts: &[&str]) -> (Env, Uuid, Vec<Uuid>) {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let mut ids = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        ids.push(
            post(db, ch, days_ago(n as i64 + 1), &author(1), text)
                .await
                .id(),
        );
    }
    env.catch_up().await;
    (env, t, ids)
}

/// Assert that `q` finds exactly the messages numbered `expected` (indexes into `ids`).
async fn finds(env: &Env, t: Uuid, ids: &[Uuid], q: &str, expected: &[usize]) {
    let mut found = env.ids(t, q).await;
    found.sort();
    let mut want: Vec<Uuid> = expected.iter().map(|&n| ids[n]).collect();
    want.sort();
    assert_eq!(found, want, "{q:?}");
}

#[tokio::test]
async fn cyrillic_greek_and_accented_latin_match_in_any_case() {
    let texts = [
        "Привет, мир! Как дела?",
        "Καλημέρα κόσμε",
        "Ο κόσμος είναι μικρός",
        "Un café crème à Paris",
        "Cafe\u{301} au lait",
        "ΓΕΙΑ ΣΟΥ ΚΟΣΜΟΣ",
    ];
    let (env, t, ids) = corpus(&texts).await;
    finds(&env, t, &ids, "ПРИВЕТ", &[0]).await;
    finds(&env, t, &ids, "привет мир", &[0]).await;
    finds(&env, t, &ids, "\"КАК ДЕЛА\"", &[0]).await;
    finds(&env, t, &ids, "прив*", &[0]).await;
    finds(&env, t, &ids, "ΚΑΛΗΜΈΡΑ", &[1]).await;
    finds(&env, t, &ids, "καλημέρα", &[1]).await;
    // A final sigma is the same letter as a medial one, in either case; accents fold.
    for q in ["κόσμος", "ΚΌΣΜΟΣ", "κοσμος", "ΚΟΣΜΟΣ"] {
        finds(&env, t, &ids, q, &[2, 5]).await;
    }
    finds(&env, t, &ids, "καλημερα", &[1]).await;
    finds(&env, t, &ids, "cafe", &[3, 4]).await;
    finds(&env, t, &ids, "CAFÉ", &[3, 4]).await;
    finds(&env, t, &ids, "cafe\u{301}", &[3, 4]).await;
    finds(&env, t, &ids, "creme a paris", &[3]).await;
}

#[tokio::test]
async fn cjk_words_are_found_inside_sentences_without_spaces() {
    let texts = [
        "私は東京に住んでいます",
        "京東商城で買い物",
        "我喜欢学习中文",
        "東京タワーへ行こう",
    ];
    let (env, t, ids) = corpus(&texts).await;
    finds(&env, t, &ids, "東京", &[0, 3]).await;
    finds(&env, t, &ids, "京東", &[1]).await;
    finds(&env, t, &ids, "住んで", &[0]).await;
    finds(&env, t, &ids, "中文", &[2]).await;
    finds(&env, t, &ids, "学习 中文", &[2]).await;
    finds(&env, t, &ids, "文中", &[]).await;
    finds(&env, t, &ids, "東京タ*", &[3]).await;
    finds(&env, t, &ids, "東京 -タワー", &[0]).await;
}

#[tokio::test]
async fn emoji_only_and_mixed_script_queries_find_their_messages() {
    let texts = [
        "Party time 🎉🎉",
        "nice work 👍🏽",
        "Rust入門 book, Привет 🎉 καλή",
        "no emoji here",
        "❤️ it",
    ];
    let (env, t, ids) = corpus(&texts).await;
    finds(&env, t, &ids, "🎉", &[0, 2]).await;
    finds(&env, t, &ids, "🎉🎉", &[0]).await;
    finds(&env, t, &ids, "👍", &[1]).await;
    finds(&env, t, &ids, "👍🏻", &[1]).await;
    finds(&env, t, &ids, "❤", &[4]).await;
    finds(&env, t, &ids, "🚀", &[]).await;
    finds(&env, t, &ids, "rust 入門 привет", &[2]).await;
    finds(&env, t, &ids, "入門 🎉 ΚΑΛΉ", &[2]).await;
    finds(&env, t, &ids, "🎉 -party", &[2]).await;
}

/// The snippet of the only hit of `q`.
async fn snippet(env: &Env, t: Uuid, q: &str) -> String {
    let page = env.relevance(t, q).await;
    assert_eq!(page.hits.len(), 1, "{q:?}");
    page.hits[0].snippet.clone()
}

#[tokio::test]
async fn snippets_mark_matches_and_escape_markup() {
    let mention = author(7);
    let long = format!(
        "{} the needle is here {}",
        "filler words before ".repeat(40),
        "and more words after ".repeat(40)
    );
    let texts = [
        "the quick brown fox".to_owned(),
        "Café au lait, cafés everywhere".to_owned(),
        "<script>alert(1)</script> boom & \"quotes\" 'too'".to_owned(),
        long,
        format!("thanks <@{mention}> for the help"),
        "私は東京に住んでいます".to_owned(),
    ];
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (env, t, _) = corpus(&refs).await;

    assert_eq!(
        snippet(&env, t, "fox").await,
        "the quick brown <mark>fox</mark>"
    );
    assert_eq!(
        snippet(&env, t, "quick FOX").await,
        "the <mark>quick</mark> brown <mark>fox</mark>"
    );
    // A prefix marks every word it matched, in the text as written.
    assert_eq!(
        snippet(&env, t, "caf*").await,
        "<mark>Café</mark> au lait, <mark>cafés</mark> everywhere"
    );
    assert_eq!(
        snippet(&env, t, "boom").await,
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>boom</mark> &amp; &quot;quotes&quot; &#39;too&#39;"
    );
    // Markup that matches is escaped inside the mark too.
    assert!(
        snippet(&env, t, "script")
            .await
            .starts_with("&lt;<mark>script</mark>&gt;")
    );
    // A long message is cut around the match.
    let cut = snippet(&env, t, "needle").await;
    assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
    assert!(cut.contains("the <mark>needle</mark> is here"), "{cut}");
    let shown = cut.replace("<mark>", "").replace("</mark>", "");
    assert!(
        shown.chars().count() <= 182,
        "{} chars: {cut}",
        shown.chars().count()
    );
    // Mentions read as the pseudonym, never as the id.
    let with_mention = snippet(&env, t, "thanks").await;
    assert_eq!(
        with_mention,
        format!(
            "<mark>thanks</mark> @{} for the help",
            pseudonym::name(&mention)
        )
    );
    assert!(!with_mention.contains(&mention));
    // A CJK word (a run of one-character terms) is one mark.
    assert_eq!(
        snippet(&env, t, "東京").await,
        "私は<mark>東京</mark>に住んでいます"
    );
}
