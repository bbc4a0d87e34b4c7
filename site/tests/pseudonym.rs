//! Readable pseudonyms: deterministic, well spread, free of digits and of the id they come
//! from, and drawn from clean word lists.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use site::{avatar, pseudonym};

const ADJECTIVES: &str = include_str!("../../service/src/words/adjectives.txt");
const ANIMALS: &str = include_str!("../../service/src/words/animals.txt");

/// A pseudonymised id as the archive stores it: 64 lowercase hex characters.
fn id(n: u32) -> String {
    hex::encode(Sha256::digest(format!("author-{n}").as_bytes()))
}

#[test]
fn the_same_id_always_gets_the_same_name_and_tag() {
    let id = id(1);
    assert_eq!(pseudonym::name(&id), pseudonym::name(&id));
    assert_eq!(pseudonym::tag(&id), pseudonym::tag(&id));
}

#[test]
fn the_name_and_tag_follow_from_the_public_avatar_seed() {
    for n in 0..200 {
        let id = id(n);
        let seed = avatar::seed_for(&id);
        assert_eq!(pseudonym::name(&id), pseudonym::name(seed));
        assert_eq!(pseudonym::tag(&id), pseudonym::tag(seed));
    }
}

#[test]
fn ten_thousand_ids_get_more_than_nine_thousand_distinct_names() {
    let names: HashSet<String> = (0..10_000).map(|n| pseudonym::name(&id(n))).collect();
    assert!(names.len() > 9_000, "only {} distinct names", names.len());
}

#[test]
fn every_word_of_both_lists_is_used() {
    let names: Vec<String> = (0..40_000).map(|n| pseudonym::name(&id(n))).collect();
    let adjectives: HashSet<&str> = names.iter().filter_map(|n| n.split(' ').next()).collect();
    let animals: HashSet<&str> = names.iter().filter_map(|n| n.split(' ').nth(1)).collect();
    assert_eq!(adjectives.len(), ADJECTIVES.lines().count());
    assert_eq!(animals.len(), ANIMALS.lines().count());
}

#[test]
fn names_are_two_title_case_words_without_digits() {
    for n in 0..2_000 {
        let name = pseudonym::name(&id(n));
        let words: Vec<&str> = name.split(' ').collect();
        assert_eq!(words.len(), 2, "{name}");
        assert!(ADJECTIVES.lines().any(|w| w == words[0]), "{name}");
        assert!(ANIMALS.lines().any(|w| w == words[1]), "{name}");
        assert!(!name.chars().any(|c| c.is_ascii_digit()), "{name}");
    }
}

#[test]
fn names_and_tags_never_reveal_the_id() {
    for n in 0..2_000 {
        let id = id(n);
        let name = pseudonym::name(&id);
        let tag = pseudonym::tag(&id);
        assert_eq!(tag.len(), 4, "{tag}");
        assert!(
            tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{tag}"
        );
        assert!(!name.contains(&id) && !tag.contains(&id));
        // The tag is 4 of the 16 hex characters the avatar URL already shows, nothing more.
        assert!(avatar::seed_for(&id).contains(&tag), "{tag}");
    }
}

#[test]
fn tags_tell_apart_authors_who_share_a_name() {
    let mut by_name: std::collections::HashMap<String, HashSet<String>> = Default::default();
    let mut shared = 0;
    for n in 0..20_000 {
        let id = id(n);
        let tags = by_name.entry(pseudonym::name(&id)).or_default();
        if !tags.is_empty() {
            shared += 1;
        }
        tags.insert(pseudonym::tag(&id));
    }
    let collided: usize = by_name.values().map(|t| t.len().saturating_sub(1)).sum();
    assert!(shared > 0, "no shared names to test with");
    // Tags are 16 bits independent of the name: almost every pair differs.
    assert!(collided * 100 >= shared * 99, "{collided} of {shared}");
}

#[test]
fn any_string_gets_a_name_and_tag() {
    let long = "x".repeat(10_000);
    for input in [
        "",
        "a",
        "not hex at all",
        "ÄÖÜ 🦦",
        "0123456789ABCDEF",
        long.as_str(),
    ] {
        let name = pseudonym::name(input);
        assert_eq!(name.split(' ').count(), 2, "{input:?}");
        assert_eq!(pseudonym::tag(input).len(), 4, "{input:?}");
    }
    assert_ne!(pseudonym::name("a"), pseudonym::name("b"));
    assert_eq!(
        pseudonym::name("0123456789ABCDEF"),
        pseudonym::name("0123456789abcdef")
    );
}

fn check_list(list: &str, what: &str) {
    let words: Vec<&str> = list.lines().collect();
    assert!(words.len() >= 400, "{what}: only {}", words.len());
    let unique: HashSet<&str> = words.iter().copied().collect();
    assert_eq!(unique.len(), words.len(), "{what}: duplicates");
    let lower: HashSet<String> = words.iter().map(|w| w.to_lowercase()).collect();
    assert_eq!(lower.len(), words.len(), "{what}: duplicates ignoring case");
    for word in &words {
        let mut chars = word.chars();
        let first = chars.next();
        assert!(
            first.is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_lowercase()),
            "{what}: {word:?} is not one Title Case ASCII word"
        );
    }
    let mut sorted = words.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, words, "{what}: keep the list sorted");
}

#[test]
fn word_lists_are_long_distinct_title_case_ascii_and_sorted() {
    check_list(ADJECTIVES, "adjectives");
    check_list(ANIMALS, "animals");
}

#[test]
fn no_word_is_both_an_adjective_and_an_animal() {
    let adjectives: HashSet<&str> = ADJECTIVES.lines().collect();
    let both: Vec<&str> = ANIMALS.lines().filter(|w| adjectives.contains(w)).collect();
    assert!(both.is_empty(), "{both:?}");
}
