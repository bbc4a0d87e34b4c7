//! Readable pseudonyms for authors: a deterministic "Adjective Animal" name (e.g. "Brave
//! Otter") and a short hex tag that tells two authors with the same name apart.
//!
//! Both come from the first 64 bits of the author's pseudonymised id, which is exactly what
//! the website's avatar seed (`site::avatar::seed_for`) publishes: nothing here reveals more of the id
//! than the avatar URL already does, and `name(id) == name(seed_for(id))`. The adjective, the
//! animal and the tag use disjoint bits, so two authors who share a name still get
//! independent tags.
//!
//! The word lists (`src/words/*.txt`, one Title Case word a line) are part of the contract:
//! changing, adding or reordering a word renames authors, so only do it deliberately.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

static ADJECTIVES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| words(include_str!("words/adjectives.txt")));
static ANIMALS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| words(include_str!("words/animals.txt")));

/// How many leading hex characters of an id the name and tag are derived from.
const KEY_HEX_LEN: usize = 16;

fn words(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect()
}

/// The readable name of the author with this pseudonymised id, "Adjective Animal" in Title
/// Case, without digits. Deterministic; any string is accepted (see [`tag`] for how the input
/// is read). Names are not unique: about 350,000 exist, so show [`tag`] alongside.
pub fn name(pseudonym_hash: &str) -> String {
    let key = key(pseudonym_hash);
    let adjective = pick(&ADJECTIVES, [key[0], key[1], key[2]]);
    let animal = pick(&ANIMALS, [key[3], key[4], key[5]]);
    let mut name = String::with_capacity(adjective.len() + 1 + animal.len());
    name.push_str(adjective);
    name.push(' ');
    name.push_str(animal);
    name
}

/// A 4-character lowercase hex tag that disambiguates authors who share a [`name`] (for a
/// tooltip, e.g. "Brave Otter · 3f9a").
///
/// A pseudonymised id (at least 16 hex characters, either case, nothing else) is read
/// directly; any other string is first hashed with SHA-256, so every input has a stable name
/// and tag.
pub fn tag(pseudonym_hash: &str) -> String {
    let key = key(pseudonym_hash);
    hex::encode([key[6], key[7]])
}

/// The 8 bytes that names and tags are drawn from.
fn key(input: &str) -> [u8; 8] {
    let mut key = [0u8; 8];
    let is_id = input.len() >= KEY_HEX_LEN && input.bytes().all(|b| b.is_ascii_hexdigit());
    let decoded = is_id
        .then(|| input.get(..KEY_HEX_LEN))
        .flatten()
        .and_then(|prefix| hex::decode_to_slice(prefix, &mut key).ok());
    if decoded.is_none() {
        let digest = Sha256::digest(input.as_bytes());
        for (k, d) in key.iter_mut().zip(digest.iter()) {
            *k = *d;
        }
    }
    key
}

/// One word, indexed by 24 bits: with lists of a few hundred words the modulo bias is below
/// 0.01 %.
fn pick(list: &[&'static str], bits: [u8; 3]) -> &'static str {
    let value = u32::from_be_bytes([0, bits[0], bits[1], bits[2]]) as usize;
    match list.len() {
        0 => "",
        len => list.get(value % len).copied().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_load_every_line() {
        assert_eq!(
            ADJECTIVES.len(),
            include_str!("words/adjectives.txt").lines().count()
        );
        assert_eq!(
            ANIMALS.len(),
            include_str!("words/animals.txt").lines().count()
        );
    }

    #[test]
    fn an_id_is_read_from_its_first_16_hex_characters() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(key(id), [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(key(&id.to_uppercase()), key(id));
    }

    #[test]
    fn anything_else_is_hashed_first() {
        let digest = Sha256::digest(b"0123456789abcdeg");
        assert_eq!(key("0123456789abcdeg")[..], digest[..8]);
        let digest = Sha256::digest(b"abc");
        assert_eq!(key("abc")[..], digest[..8]);
    }
}
