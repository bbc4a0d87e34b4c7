//! Jumbo emoji: Discord shows a message made only of emoji (up to 27) at a larger size.

use super::parse::{self, Atom};

/// The most emoji a message may hold and still be shown large, as in Discord.
const MAX_JUMBO: usize = 27;

/// Whether `content` is only emoji (Unicode and/or custom, at most 27, whitespace allowed), so
/// the caller gives the message's wrapper the class `jumbo`.
pub fn is_emoji_only(content: &str) -> bool {
    let mut count = 0;
    let mut rest = content.trim_start();
    while !rest.is_empty() {
        let len = match parse::token(rest, 0) {
            Some((end, Atom::Emoji { .. })) => end,
            Some(_) => return false,
            None => match unicode_emoji_len(rest) {
                Some(len) => len,
                None => return false,
            },
        };
        count += 1;
        if count > MAX_JUMBO {
            return false;
        }
        rest = rest[len..].trim_start();
    }
    count > 0
}

/// The byte length of the emoji sequence at the start of `text` (a pictograph with its
/// variation selector, skin tone, keycap and tag marks and ZWJ-joined parts; a flag's pair of
/// regional indicators; a keycap), if it starts with one.
fn unicode_emoji_len(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    let (_, first) = chars.next()?;
    let mut end = first.len_utf8();
    if is_regional_indicator(first) {
        if let Some(&(i, c)) = chars.peek()
            && is_regional_indicator(c)
        {
            chars.next();
            end = i + c.len_utf8();
        }
        return Some(end);
    }
    let keycap_base = first.is_ascii_digit() || first == '#' || first == '*';
    // Symbols Discord leaves as text unless asked for the emoji form (DCE's ignored list).
    let text_default = matches!(
        first,
        '\u{00A9}'
            | '\u{00AE}'
            | '\u{2122}'
            | '\u{2640}'
            | '\u{2642}'
            | '\u{2695}'
            | '\u{267E}'
            | '\u{26A7}'
    );
    if text_default && !text[first.len_utf8()..].starts_with('\u{FE0F}') {
        return None;
    }
    if !keycap_base && !is_pictograph(first) {
        return None;
    }
    let mut keycap = false;
    while let Some(&(i, c)) = chars.peek() {
        if is_modifier(c) {
            keycap |= c == '\u{20E3}';
            chars.next();
            end = i + c.len_utf8();
        } else if c == '\u{200D}' {
            chars.next();
            match chars.next() {
                Some((j, next)) if is_pictograph(next) => end = j + next.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    // A digit, `#` or `*` is an emoji only as a keycap.
    (!keycap_base || keycap).then_some(end)
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn is_modifier(c: char) -> bool {
    matches!(c,
        '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Characters Unicode marks as pictographic (emoji-capable), by block.
fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21AA}'
        | '\u{231A}'..='\u{23FF}'
        | '\u{24C2}'
        | '\u{25AA}'..='\u{25FE}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2934}' | '\u{2935}'
        | '\u{2B05}'..='\u{2B55}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}')
        && !is_regional_indicator(c)
        && !('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}
