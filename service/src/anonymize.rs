//! Pseudonymisation of Discord user ids.
//!
//! Author ids, reacting-user ids and user mentions inside message content are replaced by a
//! 64-character lowercase hex pseudonym before anything is stored:
//! - without `ANONYMIZATION_SECRET`: SHA-256 of the UTF-8 id string, exactly like the original
//!   service (so archives made by it and by us agree);
//! - with `ANONYMIZATION_SECRET`: HMAC-SHA256 keyed with the secret, so pseudonyms cannot be
//!   reversed by hashing every plausible snowflake.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use regex::{Captures, Regex};
use sha2::{Digest, Sha256};

use crate::config::Config;

/// A user mention in Discord message content: `<@123>` or the legacy nickname form `<@!123>`.
static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a literal and known to compile; a failure here is a programming error.
    Regex::new(r"<@!?([0-9]{1,20})>").unwrap_or_else(|e| unreachable!("mention regex: {e}"))
});

/// Turns user ids into stable pseudonyms. Cheap to clone; build once from the [`Config`].
#[derive(Clone)]
pub struct Anonymizer {
    /// Pre-keyed HMAC state (cloned per call) when a secret is configured.
    keyed: Option<Hmac<Sha256>>,
}

impl fmt::Debug for Anonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.keyed.is_some() {
            "hmac-sha256"
        } else {
            "sha256"
        };
        f.debug_struct("Anonymizer").field("mode", &mode).finish()
    }
}

impl Anonymizer {
    /// Plain SHA-256 without a secret, HMAC-SHA256 keyed with `secret` otherwise.
    pub fn new(secret: Option<&str>) -> Self {
        let keyed = secret.map(|s| {
            // HMAC accepts keys of any length, so this cannot fail.
            Hmac::<Sha256>::new_from_slice(s.as_bytes())
                .unwrap_or_else(|e| unreachable!("HMAC takes any key length: {e}"))
        });
        Self { keyed }
    }

    /// The anonymizer selected by `ANONYMIZATION_SECRET`.
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.anonymization_secret.as_deref())
    }

    /// The pseudonym of a user id: 64 lowercase hex characters. Deterministic for a given
    /// secret (or its absence); distinct ids give distinct pseudonyms.
    pub fn user_id(&self, id: &str) -> String {
        match &self.keyed {
            None => hex::encode(Sha256::digest(id.as_bytes())),
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(id.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// Replace every user mention in message content by the mentioned user's pseudonym:
    /// `<@123>` and `<@!123>` both become `<@{pseudonym}>` (64 hex characters, so a reader can
    /// tell it from a snowflake and match it against `anonymized_author_id`). Role
    /// (`<@&id>`) and channel (`<#id>`) mentions are left alone: they name no person.
    /// Returns the input unchanged (borrowed) when it mentions nobody.
    pub fn rewrite_mentions<'a>(&self, content: &'a str) -> Cow<'a, str> {
        MENTION.replace_all(content, |caps: &Captures<'_>| {
            format!("<@{}>", self.user_id(&caps[1]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_original_known_vectors() {
        let a = Anonymizer::new(None);
        assert_eq!(
            a.user_id("discord_user_123"),
            "9ec35db6a38b2685115720e66f7ac57b4d684d5eb45a95e475b0976ac7a835d5"
        );
        assert_eq!(
            a.user_id("987654321"),
            "8a9bcf1e51e812d0af8465a8dbcc9f741064bf0af3b3d08e6b0246437c19f7fb"
        );
        assert_eq!(
            a.user_id("test@example.com"),
            "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
        );
    }

    #[test]
    fn hmac_matches_rfc4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let a = Anonymizer::new(Some("Jefe"));
        assert_eq!(
            a.user_id("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pseudonyms_are_deterministic_distinct_and_64_lowercase_hex() {
        for a in [Anonymizer::new(None), Anonymizer::new(Some("s3cret"))] {
            for input in ["", "123", "ünïcødé 👍", "a\"b'c\\d"] {
                let h = a.user_id(input);
                assert_eq!(h.len(), 64);
                assert!(
                    h.chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                );
                for _ in 0..10 {
                    assert_eq!(a.user_id(input), h);
                }
            }
            assert_ne!(a.user_id("1"), a.user_id("2"));
        }
    }

    #[test]
    fn secret_changes_the_pseudonym() {
        let plain = Anonymizer::new(None).user_id("80351110224678912");
        let keyed = Anonymizer::new(Some("k1")).user_id("80351110224678912");
        let other = Anonymizer::new(Some("k2")).user_id("80351110224678912");
        assert_ne!(plain, keyed);
        assert_ne!(keyed, other);
    }

    #[test]
    fn mentions_are_rewritten_so_no_raw_user_id_remains() {
        let a = Anonymizer::new(None);
        let h = a.user_id("80351110224678912");
        let out = a.rewrite_mentions("hi <@80351110224678912> and <@!80351110224678912>!");
        assert_eq!(out, format!("hi <@{h}> and <@{h}>!"));
        assert!(!out.contains("80351110224678912"));
    }

    #[test]
    fn role_channel_and_malformed_mentions_are_untouched() {
        let a = Anonymizer::new(None);
        let text = "<@&123> <#456> <@abc> <@!> <@ 1> plain 789";
        assert!(matches!(a.rewrite_mentions(text), Cow::Borrowed(t) if t == text));
    }
}
