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
        "mailto" => return Some(LinkTarget::Web(url.into())),
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
    Some(LinkTarget::Web(url.into()))
}

/// Whether `text` holds a run of digits as long as a Discord id (17 to 20 digits today; 15
/// leaves room for the oldest ones).
pub(super) fn has_snowflake(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 15)
}

pub(super) fn hidden_link<'a>(src: &'a str, pos: usize) -> Option<(usize, Action<'a>)> {
    let rest = &src[pos + 1..];
    if !(rest.starts_with("http://") || rest.starts_with("https://")) {
        return None;
    }
    let run = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if run > MAX_URL_BYTES {
        return None;
    }
    let scheme_end = rest.find("://")? + 3;
    // The last `>` of the run whose URL does not end in punctuation (DCE's greedy match).
    let mut stop = run;
    while let Some(gt) = rest[..stop].rfind('>') {
        let url = &rest[..gt];
        if gt > scheme_end && !url.ends_with(['.', ',', ':', ';', '"', '\'']) {
            let target = classify_url(url)?;
            return Some((pos + 1 + gt + 1, Action::AutoLink { target, text: url }));
        }
        stop = gt;
    }
    None
}

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
    // The URL runs to the `)` that balances the opening one, on the same line.
    let url_start = middle + 2;
    let mut depth = 0usize;
    let mut close = None;
    for (i, b) in src[url_start..newline].bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' if depth == 0 => {
                close = Some(url_start + i);
                break;
            }
            b')' => depth -= 1,
            _ => {}
        }
        if i > MAX_URL_BYTES {
            return None;
        }
    }
    let close = close?;
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
    let mut url = &src[pos..run_end];
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ':', ';', '"', '\'', ']']);
        let trimmed = match trimmed.strip_suffix(')') {
            // A closing parenthesis stays when it balances one inside the URL (Wikipedia).
            Some(head) if head.matches('(').count() <= head.matches(')').count() => head,
            _ => trimmed,
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    if url.len() < scheme + 2 {
        return None;
    }
    let target = classify_url(url)?;
    Some((pos + url.len(), Action::AutoLink { target, text: url }))
}
