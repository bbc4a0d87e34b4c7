//! Small scanning helpers shared by the rules.

use std::ops::Range;

use super::Memo;

/// The length of the UTF-8 sequence that starts with `lead`.
pub(super) fn char_len(lead: u8) -> usize {
    match lead {
        0..=0x7F => 1,
        0x80..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// The byte at `at`, if any.
pub(super) fn byte(src: &str, at: usize) -> Option<u8> {
    src.as_bytes().get(at).copied()
}

/// The character that ends before `at`.
pub(super) fn prev_char(src: &str, at: usize) -> Option<char> {
    src.get(..at).and_then(|head| head.chars().next_back())
}

/// The character that starts at `at`.
pub(super) fn next_char(src: &str, at: usize) -> Option<char> {
    src.get(at..).and_then(|tail| tail.chars().next())
}

/// A regex `\\w` character.
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// End of the line that contains `at` (the index of its `\n`, or the length).
pub(super) fn line_end(src: &str, at: usize) -> usize {
    src[at..].find('\n').map_or(src.len(), |i| at + i)
}

/// The first position at or after `from` whose text starts with `marker` and passes `ok`.
pub(super) fn search(
    src: &str,
    from: usize,
    marker: &str,
    ok: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut at = from;
    while at <= src.len() {
        let found = at + src.get(at..)?.find(marker)?;
        if ok(found) {
            return Some(found);
        }
        at = found + 1;
        while at < src.len() && !src.is_char_boundary(at) {
            at += 1;
        }
    }
    None
}

/// A `open ... close` span whose content has at least one character (DCE's `(.+?)`): the
/// content range and the end of the closing marker.
pub(super) fn delimited(
    src: &str,
    pos: usize,
    open_len: usize,
    close: &str,
    memo: &mut Memo,
    ok: impl Fn(usize) -> bool,
) -> Option<(Range<usize>, usize)> {
    let start = pos + open_len;
    let first = byte(src, start)?;
    let from = start + char_len(first);
    let at = memo.find(from, |from| search(src, from, close, ok))?;
    Some((start..at, at + close.len()))
}
