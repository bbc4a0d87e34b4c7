//! `<...>` tokens (mentions, custom emoji, commands, navigation, timestamps) and
//! `@everyone`/`@here`.

use super::scan::{byte, is_word, next_char};
use super::{Action, Atom};

/// `@everyone` and `@here`.
pub(super) fn everyone(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let rest = &src[pos..];
    if rest.starts_with("@everyone") {
        Some((pos + 9, Action::Atom(Atom::Everyone)))
    } else if rest.starts_with("@here") {
        Some((pos + 5, Action::Atom(Atom::Here)))
    } else {
        None
    }
}

/// `n` ASCII digits at `at` followed by `>`: the end after the `>`.
pub(super) fn digits_then_close(src: &str, at: usize) -> Option<usize> {
    let n = src
        .get(at..)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (n > 0 && byte(src, at + n) == Some(b'>')).then_some(at + n + 1)
}

/// A `<...>` token (mentions, emoji, commands, navigation, timestamps) at `pos`.
pub(crate) fn token(src: &str, pos: usize) -> Option<(usize, Atom<'_>)> {
    let rest = src.get(pos..)?;
    if let Some(after) = rest.strip_prefix("<@&") {
        let end = digits_then_close(src, pos + 3)?;
        return Some((end, Atom::Role(&after[..end - pos - 4])));
    }
    if let Some(after) = rest.strip_prefix("<@") {
        let skip = usize::from(after.starts_with('!'));
        let start = pos + 2 + skip;
        let hash = src.get(start..start + 64);
        if let Some(hash) =
            hash.filter(|h| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            && byte(src, start + 64) == Some(b'>')
        {
            return Some((start + 65, Atom::User(hash)));
        }
        let end = digits_then_close(src, start)?;
        return Some((end, Atom::UnknownUser));
    }
    if let Some(after) = rest.strip_prefix("<#") {
        let start = pos + 2 + usize::from(after.starts_with('!'));
        let end = digits_then_close(src, start)?;
        return Some((end, Atom::Channel(&src[start..end - 1])));
    }
    if rest.starts_with("<t:") {
        return timestamp(src, pos + 3);
    }
    if rest.starts_with("</") {
        return command(src, pos + 2);
    }
    if let Some(after) = rest.strip_prefix("<id:") {
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'-')
            .count();
        let label = match &after[..name_len] {
            "customize" => "Channels & Roles",
            "browse" => "Browse Channels",
            "guide" | "home" => "Server Guide",
            "linked-roles" => "Linked Roles",
            _ => return None,
        };
        let at = pos + 4 + name_len;
        let end = match byte(src, at)? {
            b'>' => at + 1,
            b':' => digits_then_close(src, at + 1)?,
            _ => return None,
        };
        return Some((end, Atom::Navigation(label)));
    }
    let (animated, name_at) = if rest.starts_with("<a:") {
        (true, pos + 3)
    } else if rest.starts_with("<:") {
        (false, pos + 2)
    } else {
        return None;
    };
    let name_len = src[name_at..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if !(1..=64).contains(&name_len) || byte(src, name_at + name_len) != Some(b':') {
        return None;
    }
    let end = digits_then_close(src, name_at + name_len + 1)?;
    Some((
        end,
        Atom::Emoji {
            name: &src[name_at..name_at + name_len],
            animated,
        },
    ))
}

/// After `<t:`: seconds, optionally `:style`, then `>`. An unknown style or a number out of
/// range is Discord's "Invalid date", not text.
pub(super) fn timestamp(src: &str, at: usize) -> Option<(usize, Atom<'_>)> {
    let sign = usize::from(byte(src, at) == Some(b'-'));
    let digits = src[at + sign..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let number = &src[at..at + sign + digits];
    let mut end = at + sign + digits;
    let mut style = 'f';
    let mut valid = true;
    if byte(src, end) == Some(b':') {
        let c = next_char(src, end + 1).filter(|c| is_word(*c))?;
        style = c;
        valid = "tTdDfFR".contains(c);
        end += 1 + c.len_utf8();
    }
    if byte(src, end) != Some(b'>') {
        return None;
    }
    let secs = number.parse::<i64>().ok().filter(|_| valid);
    Some((end + 1, Atom::Time(secs.map(|s| (s, style)))))
}

/// After `</`: the command's name (and subcommand words), `:`, its id, `>`.
pub(super) fn command(src: &str, at: usize) -> Option<(usize, Atom<'_>)> {
    // `</name sub group:id>`: up to three words of command-name characters.
    let colon = at + src.get(at..(at + 100).min(src.len()))?.find(':')?;
    let name = &src[at..colon];
    let words: Vec<&str> = name.split(' ').collect();
    let word_ok = |w: &&str| {
        !w.is_empty()
            && w.chars().count() <= 32
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    if words.len() > 3 || !words.iter().all(word_ok) {
        return None;
    }
    let end = digits_then_close(src, colon + 1)?;
    Some((end, Atom::Command(name)))
}

/// A piece of code text: code is shown as typed, except that mention tokens become their
/// readable form, because a token's raw id or author hash must never reach a page.
pub(crate) enum CodePiece<'a> {
    Text(&'a str),
    Token(Atom<'a>),
}

/// Splits code into text and mention tokens.
pub(crate) fn code_pieces(code: &str) -> Vec<CodePiece<'_>> {
    let mut pieces = Vec::new();
    let mut flushed = 0;
    let mut search_from = 0;
    while let Some(i) = code[search_from..].find('<') {
        let at = search_from + i;
        match token(code, at) {
            Some((end, atom)) => {
                if flushed < at {
                    pieces.push(CodePiece::Text(&code[flushed..at]));
                }
                pieces.push(CodePiece::Token(atom));
                flushed = end;
                search_from = end;
            }
            None => search_from = at + 1,
        }
    }
    if flushed < code.len() {
        pieces.push(CodePiece::Text(&code[flushed..]));
    }
    pieces
}
