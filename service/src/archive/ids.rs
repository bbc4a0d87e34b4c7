//! Parsing of client-supplied ids and cursors for the read API.
//!
//! Every function here turns bad input into [`Error::Validation`] (HTTP 400), never a panic.

use crate::error::{Error, Result};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Longest base62 form of a `u64` (62^11 > 2^64): anything longer that is all digits is read
/// as a plain decimal snowflake.
const MAX_BASE62_LEN: usize = 11;

/// Encode a snowflake the way the original's message URLs do: base62, alphabet `0-9A-Za-z`,
/// most significant digit first.
pub fn encode_base62(mut value: u64) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::with_capacity(MAX_BASE62_LEN);
    while value > 0 {
        out.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    out.reverse();
    // Only ASCII bytes from BASE62 were pushed.
    out.into_iter().map(char::from).collect()
}

/// Decode a base62 snowflake; `None` on an empty string, a character outside `0-9A-Za-z` or
/// overflow.
pub fn decode_base62(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u64::from(digit))
    })
}

/// A Discord snowflake given as plain decimal digits (what the database stores), validated.
pub fn parse_snowflake(field: &str, text: &str) -> Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            field,
            "must be a platform message id (decimal digits)",
        ));
    }
    let value: u64 = trimmed
        .parse()
        .map_err(|_| Error::invalid(field, "is too large for a platform message id"))?;
    Ok(value.to_string())
}

/// The path id of `GET /api/v1/messages/{id}`: the original's base62-encoded snowflake, or a
/// plain decimal snowflake. Real message snowflakes have 17 to 20 decimal digits while a
/// base62 `u64` has at most 11 characters, so an all-digit id longer than 11 characters is
/// taken as decimal and everything else as base62. Returns the decimal snowflake.
pub fn parse_message_path_id(text: &str) -> Result<String> {
    let issue = || {
        Error::invalid(
            "messageId",
            "must be a base62-encoded message id (0-9A-Za-z) or a decimal snowflake",
        )
    };
    if text.len() > MAX_BASE62_LEN && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_snowflake("messageId", text).map_err(|_| issue());
    }
    if text.len() > MAX_BASE62_LEN {
        return Err(issue());
    }
    decode_base62(text).map(|v| v.to_string()).ok_or_else(issue)
}

/// Milliseconds since the Unix epoch encoded in a Discord snowflake.
pub fn snowflake_unix_millis(snowflake: u64) -> i64 {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    ((snowflake >> 22) + DISCORD_EPOCH_MS) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base62_matches_known_values() {
        assert_eq!(encode_base62(0), "0");
        assert_eq!(encode_base62(61), "z");
        assert_eq!(encode_base62(62), "10");
        assert_eq!(decode_base62("10"), Some(62));
        assert_eq!(decode_base62("zzzzzzzzzzzz"), None, "overflow is rejected");
        assert_eq!(decode_base62("ab-c"), None);
        assert_eq!(decode_base62(""), None);
    }

    #[test]
    fn message_path_id_accepts_base62_and_long_decimals() {
        let snowflake: u64 = 1_234_567_890_123_456_789;
        let b62 = encode_base62(snowflake);
        assert_eq!(parse_message_path_id(&b62).unwrap(), snowflake.to_string());
        assert_eq!(
            parse_message_path_id("1234567890123456789").unwrap(),
            "1234567890123456789"
        );
        assert!(parse_message_path_id("not*base62").is_err());
        assert!(parse_message_path_id("99999999999999999999999").is_err());
        assert!(parse_message_path_id("").is_err());
    }

    #[test]
    fn snowflake_cursor_rejects_non_digits() {
        assert_eq!(parse_snowflake("before", "0042").unwrap(), "42");
        for bad in ["", "abc", "-5", "1e9", "123456789012345678901234"] {
            assert!(parse_snowflake("before", bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn base62_round_trips(v in any::<u64>()) {
            prop_assert_eq!(decode_base62(&encode_base62(v)), Some(v));
        }
    }
}
