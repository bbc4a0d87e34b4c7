//! The avatar generator against SVGs that DiceBear 9.2.4 itself produced (see
//! `tests/data/avatar/README.md`), and the seed helpers the avatar route relies on.

use std::path::{Path, PathBuf};

use site::avatar;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/avatar")
}

/// The golden seeds in order, with their file names.
fn golden() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(data_dir().join("seeds.json")).expect("seeds.json");
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).expect("seeds.json is JSON");
    list.iter()
        .map(|entry| {
            let file = entry["file"].as_str().expect("file").to_owned();
            let seed = entry["seed"].as_str().expect("seed").to_owned();
            (file, seed)
        })
        .collect()
}

#[test]
fn output_equals_dicebear_byte_for_byte_for_every_golden_seed() {
    let golden = golden();
    assert!(golden.len() >= 50, "only {} golden seeds", golden.len());
    let mut mismatches = Vec::new();
    for (file, seed) in &golden {
        let expected = std::fs::read_to_string(data_dir().join(file)).expect("golden svg");
        if avatar::svg(seed) != expected {
            mismatches.push(file.clone());
        }
    }
    assert!(
        mismatches.is_empty(),
        "differs from DiceBear: {mismatches:?}"
    );
}

#[test]
fn golden_seeds_cover_the_edge_cases() {
    let seeds: Vec<String> = golden().into_iter().map(|(_, seed)| seed).collect();
    assert!(seeds.iter().any(String::is_empty));
    assert!(seeds.iter().filter(|s| avatar::is_valid_seed(s)).count() >= 20);
    assert!(seeds.iter().any(|s| s.len() == 64));
    assert!(seeds.iter().any(|s| !s.is_ascii()));
    assert!(seeds.iter().any(|s| s.chars().any(|c| c as u32 > 0xffff)));
    assert!(seeds.iter().any(|s| s.chars().count() >= 2000));

    // Seeds whose PRNG draws hit DiceBear's fallbacks: a colour pick that misses, and a
    // variant pick that misses (the shape's group stays empty).
    let files: Vec<String> = golden()
        .iter()
        .map(|(file, _)| std::fs::read_to_string(data_dir().join(file)).expect("golden svg"))
        .collect();
    assert!(
        files
            .iter()
            .any(|svg| svg.contains(r#"fill="transparent""#))
    );
    for group in ["1.2 -10 -10", ".8 10 10", ".4 30 30"] {
        let empty = format!(r#"{group})"></g>"#);
        assert!(files.iter().any(|svg| svg.contains(&empty)), "{group}");
    }
}

#[test]
fn the_same_seed_gives_the_same_document_and_etag() {
    let a = avatar::svg("0123456789abcdef");
    assert_eq!(a, avatar::svg("0123456789abcdef"));
    assert_eq!(
        avatar::etag("0123456789abcdef"),
        avatar::etag("0123456789abcdef")
    );
    assert_ne!(a, avatar::svg("0123456789abcdee"));
    assert_ne!(
        avatar::etag("0123456789abcdef"),
        avatar::etag("0123456789abcdee")
    );
}

#[test]
fn etags_are_quoted_and_differ_exactly_when_documents_differ() {
    let seeds: Vec<String> = golden().into_iter().map(|(_, seed)| seed).collect();
    for a in &seeds {
        let tag = avatar::etag(a);
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.is_ascii(),
            "{tag}"
        );
        for b in &seeds {
            assert_eq!(
                avatar::etag(a) == avatar::etag(b),
                avatar::svg(a) == avatar::svg(b),
                "{a:?} / {b:?}"
            );
        }
    }
}

#[test]
fn any_string_renders_a_complete_document() {
    let long = "x".repeat(100_000);
    for seed in ["\u{0}", "\u{ffff}", "\u{10ffff}", "é\u{301}", long.as_str()] {
        let svg = avatar::svg(seed);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</g></svg>"));
    }
}

#[test]
fn seed_for_takes_the_first_16_hex_characters_of_an_id() {
    let id = "0123456789abcdef".repeat(4);
    assert_eq!(avatar::seed_for(&id), "0123456789abcdef");
    assert!(avatar::is_valid_seed(avatar::seed_for(&id)));
    assert_ne!(avatar::seed_for(&id), id);
}

#[test]
fn seed_for_falls_back_on_anything_that_is_not_an_id() {
    for bad in [
        "",
        "0123456789abcde",
        "0123456789ABCDEF0123",
        "0123456789abcdeg0000",
        "ééééééééééééééééé",
        "0123456789abcde\u{e9}",
        "🦦🦦🦦🦦🦦🦦🦦🦦",
    ] {
        assert_eq!(avatar::seed_for(bad), avatar::FALLBACK_SEED, "{bad:?}");
    }
    assert!(avatar::is_valid_seed(avatar::FALLBACK_SEED));
}

#[test]
fn only_16_lowercase_hex_characters_are_a_valid_seed() {
    assert!(avatar::is_valid_seed("0123456789abcdef"));
    assert!(avatar::is_valid_seed("ffffffffffffffff"));
    for bad in [
        "",
        "0123456789abcde",
        "0123456789abcdef0",
        "0123456789ABCDEF",
        "0123456789abcdeg",
        "0123456789abcde\u{e9}",
        "../../etc/passwd",
        "0123456789abcdef.svg",
        " 0123456789abcde",
    ] {
        assert!(!avatar::is_valid_seed(bad), "{bad:?}");
    }
}
