//! Emphasis, spoilers, escapes and code: the rules that wrap a span of text.

use super::scan::{byte, delimited, is_word, next_char, prev_char};
use super::tokens::token;
use super::{Action, Container, Memo, Memos, Only};

/// `¯\\_(ツ)_/¯` as text, so its underscores start no emphasis.
pub(super) fn shrug(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    const SHRUG: &str = "¯\\_(ツ)_/¯";
    src[pos..].starts_with(SHRUG).then(|| {
        (
            pos + SHRUG.len(),
            Action::Text(&src[pos..pos + SHRUG.len()]),
        )
    })
}

/// `\\` before a character that is not a letter, digit or whitespace: that character as text.
pub(super) fn escape(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let c = next_char(src, pos + 1)?;
    if c.is_ascii_alphanumeric() || c.is_whitespace() {
        return None;
    }
    // An escaped mention would show its raw id; it renders as the mention instead.
    if c == '<' && token(src, pos + 1).is_some() {
        return None;
    }
    let end = pos + 1 + c.len_utf8();
    Some((end, Action::Text(&src[pos + 1..end])))
}

/// `marker content marker`, the content parsed as inline markup; `ok` tests a closing marker.
pub(super) fn wrap<'a>(
    src: &'a str,
    pos: usize,
    marker: &str,
    memo: &mut Memo,
    container: Container,
    ok: impl Fn(usize) -> bool,
) -> Option<(usize, Action<'a>)> {
    if !src[pos..].starts_with(marker) {
        return None;
    }
    let (inner, end) = delimited(src, pos, marker.len(), marker, memo, ok)?;
    Some((
        end,
        Action::Wrap {
            container,
            inner,
            only: Only::All,
        },
    ))
}

/// `***x***`: italic around bold (DCE parses the inside with the bold rule alone).
pub(super) fn italic_bold<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    if !src[pos..].starts_with("***") {
        return None;
    }
    let (inner, end) = delimited(src, pos, 3, "***", &mut memos.italic_bold, |at| {
        byte(src, at + 3) != Some(b'*')
    })?;
    Some((
        end,
        Action::Wrap {
            container: Container::Italic,
            inner: inner.start - 2..inner.end + 2,
            only: Only::Bold,
        },
    ))
}

/// `**x**`, closed by exactly two asterisks.
pub(super) fn bold<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
    wrap(src, pos, "**", &mut memos.bold, Container::Bold, |at| {
        byte(src, at + 2) != Some(b'*')
    })
}

/// `*x*`: no whitespace after the opener, none (nor `*`) before the closer.
pub(super) fn italic<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    // The opening `*` is not followed by whitespace; the closing one is not preceded by
    // whitespace or `*`, nor followed by `*`.
    if next_char(src, pos + 1).is_none_or(char::is_whitespace) {
        return None;
    }
    wrap(src, pos, "*", &mut memos.italic, Container::Italic, |at| {
        byte(src, at + 1) != Some(b'*')
            && prev_char(src, at).is_some_and(|c| !c.is_whitespace() && c != '*')
    })
}

/// `___x___`: italic around underline.
pub(super) fn italic_underline<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    if !src[pos..].starts_with("___") {
        return None;
    }
    let (inner, end) = delimited(src, pos, 3, "___", &mut memos.italic_underline, |at| {
        byte(src, at + 3) != Some(b'_')
    })?;
    Some((
        end,
        Action::Wrap {
            container: Container::Italic,
            inner: inner.start - 2..inner.end + 2,
            only: Only::Underline,
        },
    ))
}

/// `__x__`, closed by exactly two underscores.
pub(super) fn underline<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    wrap(
        src,
        pos,
        "__",
        &mut memos.underline,
        Container::Underline,
        |at| byte(src, at + 2) != Some(b'_'),
    )
}

/// `_x_` at word boundaries.
pub(super) fn italic_alt<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    // `_` emphasis only at word boundaries: `snake_case_name` stays text.
    if prev_char(src, pos).is_some_and(is_word) {
        return None;
    }
    wrap(
        src,
        pos,
        "_",
        &mut memos.italic_alt,
        Container::Italic,
        |at| !next_char(src, at + 1).is_some_and(is_word),
    )
}

/// ```` ```lang\\ncode``` ````: the language is the whole first line when it is made of
/// `[A-Za-z0-9_+#.-]`; blank lines around the code are dropped.
pub(super) fn code_block<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    if !src[pos..].starts_with("```") {
        return None;
    }
    let after = pos + 3;
    let trim = |code: &'a str| code.trim_matches('\n');
    let lang_len = src[after..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"_+#.-".contains(b))
        .count();
    if byte(src, after + lang_len) == Some(b'\n') {
        let lang = &src[after..after + lang_len];
        if let Some((code, end)) = delimited(
            src,
            after + lang_len,
            1,
            "```",
            &mut memos.code_block,
            |_| true,
        ) {
            return Some((
                end,
                Action::CodeBlock {
                    lang,
                    code: trim(&src[code]),
                },
            ));
        }
    }
    let (code, end) = delimited(src, pos, 3, "```", &mut memos.code_block, |_| true)?;
    Some((
        end,
        Action::CodeBlock {
            lang: "",
            code: trim(&src[code]),
        },
    ))
}

/// `` `x` `` or ``` ``x`` ```: code without backticks inside.
pub(super) fn inline_code(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    // One or two backticks, matched by the same number after a run without backticks.
    for ticks in [2, 1] {
        if !src[pos..].starts_with(&"``"[..ticks]) {
            continue;
        }
        let start = pos + ticks;
        let len = src[start..].find('`').unwrap_or(src.len() - start);
        if len == 0 {
            continue;
        }
        let stop = start + len;
        if src[stop..].starts_with(&"``"[..ticks]) {
            return Some((stop + ticks, Action::InlineCode(&src[start..stop])));
        }
    }
    None
}
