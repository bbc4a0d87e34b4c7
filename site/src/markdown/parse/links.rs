//! Links: masked `[text](url)`, hidden `<url>` and bare URLs, and the check every URL passes.

use super::scan::{byte, char_len, search};
use super::{Action, LinkTarget, MAX_URL_BYTES, Memos};

/// Checks a URL and decides how it may be shown: http, https and mailto only, re-serialised;
/// Discord URLs that carry ids are never passed through.
pub(super) fn classify_url(raw: &str) -> Option<LinkTarget> {
    if raw.len() > MAX_URL_BYTES {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    match url.scheme() {
        "mailto" => return Some(LinkTarget::Web(strict_href(&url))),
        "http" | "https" => {}
        _ => return None,
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let discord = [
        "discord.com",
        "discordapp.com",
        "discordapp.net",
        "discord.gg",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if discord {
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        if let ["channels", _guild, channel, ..] = segments.as_slice()
            && !channel.is_empty()
            && channel.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(LinkTarget::Channel((*channel).to_owned()));
        }
        if has_snowflake(url.as_str()) {
            return Some(LinkTarget::Discord);
        }
    }
    Some(LinkTarget::Web(strict_href(&url)))
}

/// The URL as the `url` crate serialises it, with the characters it leaves bare in the path,
/// query and fragment (`[`, `]`, `|`, a second `#`, a `%` that starts no escape...)
/// percent-encoded: browsers accept them, but a valid URL string (which the HTML validator
/// checks) does not.
fn strict_href(url: &url::Url) -> String {
    let mut out = url[..url::Position::BeforePath].to_owned();
    let rest = &url[url::Position::BeforePath..];
    let bytes = rest.as_bytes();
    let mut in_fragment = false;
    for (i, &b) in bytes.iter().enumerate() {
        let keep = match b {
            b'#' if !in_fragment => {
                in_fragment = true;
                true
            }
            b'%' => {
                bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            }
            b if b.is_ascii_alphanumeric() => true,
            _ => b"-._~!$&'()*+,;=:@/?".contains(&b),
        };
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `text` holds a run of digits as long as a Discord id (17 to 20 digits today; 15
/// leaves room for the oldest ones).
pub(super) fn has_snowflake(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 15)
}

/// `<https://url>`: a link without an embed.
pub(super) fn hidden_link<'a>(src: &'a str, pos: usize) -> Option<(usize, Action<'a>)> {
    let rest = &src[pos + 1..];
    let scheme_end = if rest.starts_with("https://") {
        8
    } else if rest.starts_with("http://") {
        7
    } else {
        return None;
    };
    // Discord's rule: the URL runs to the first `>`, without whitespace.
    let gt = rest
        .bytes()
        .take(MAX_URL_BYTES)
        .position(|b| b == b'>' || b.is_ascii_whitespace())?;
    if rest.as_bytes()[gt] != b'>' || gt <= scheme_end {
        return None;
    }
    let url = &rest[..gt];
    if url.contains(char::is_whitespace) {
        return None;
    }
    let target = classify_url(url)?;
    Some((pos + 1 + gt + 1, Action::AutoLink { target, text: url }))
}

/// `[text](url)` on one line; the text is parsed as inline markup without links.
pub(super) fn masked_link<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    let first = byte(src, pos + 1)?;
    if first == b'\n' {
        return None;
    }
    let from = pos + 1 + char_len(first);
    let newline = memos
        .newline
        .find(pos, |from| src[from..].find('\n').map(|i| from + i))
        .unwrap_or(src.len());
    let middle = memos
        .link_middle
        .find(from, |from| search(src, from, "](", |_| true))?;
    if middle > newline {
        return None;
    }
    // The URL runs to the first `)`, or to the next one when the URL holds a `(` (one nested
    // pair, as in Wikipedia's `Rust_(language)`), on the same line.
    let url_start = middle + 2;
    let next_paren = |from: usize| src[from..].find(')').map(|i| from + i);
    let first = memos.paren.find(url_start, next_paren)?;
    if first > newline || first - url_start > MAX_URL_BYTES {
        return None;
    }
    let mut close = first;
    if src[url_start..first].contains('(')
        && let Some(second) = memos.outer_paren.find(first + 1, next_paren)
        && second <= newline
        && second - url_start <= MAX_URL_BYTES
    {
        close = second;
    }
    let mut url = src[url_start..close].trim();
    if let Some(inner) = url.strip_prefix('<').and_then(|u| u.strip_suffix('>')) {
        url = inner;
    }
    if url.is_empty() || url.contains(char::is_whitespace) {
        return None;
    }
    let target = classify_url(url)?;
    Some((
        close + 1,
        Action::MaskedLink {
            target,
            text: pos + 1..middle,
        },
    ))
}

/// A bare http(s) URL, without trailing punctuation.
pub(super) fn auto_link<'a>(
    src: &'a str,
    pos: usize,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    let rest = &src[pos..];
    let scheme = if rest.starts_with("https://") {
        8
    } else if rest.starts_with("http://") {
        7
    } else {
        return None;
    };
    // Discord's rule: a run without whitespace or `<`, not ending in punctuation.
    let run_end = memos
        .url_end
        .find(pos, |from| {
            src[from..]
                .find(|c: char| c.is_whitespace() || c == '<')
                .map(|i| from + i)
        })
        .unwrap_or(src.len());
    if run_end - pos > MAX_URL_BYTES {
        return None;
    }
    let run = &src[pos..run_end];
    let (opened, mut closed) = (run.matches('(').count(), run.matches(')').count());
    let mut end = run.len();
    while end > 0 {
        match run.as_bytes()[end - 1] {
            b'.' | b',' | b':' | b';' | b'"' | b'\'' | b']' => end -= 1,
            // A closing parenthesis stays when it balances one inside the URL (Wikipedia).
            b')' if opened < closed => {
                end -= 1;
                closed -= 1;
            }
            _ => break,
        }
    }
    let url = &run[..end];
    if url.len() < scheme + 2 {
        return None;
    }
    let target = classify_url(url)?;
    Some((pos + url.len(), Action::AutoLink { target, text: url }))
}
