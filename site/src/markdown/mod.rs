//! Discord-flavoured markdown to safe HTML and to plain text.
//!
//! One scanner applies Discord's rules in DiscordChatExporter's ordered, first-match way and
//! reports to a sink: one writes escaped HTML ([`to_html`], then cleaned again by an ammonia
//! builder that allows exactly what it writes, [`sanitize`]), the other plain text for meta
//! descriptions, reply previews and JSON-LD ([`to_plain`]). Mentions resolve through a
//! [`Resolver`] supplied by the page renderer; no raw Discord id and no author hash ever
//! reaches the output.
//!
//! The caller wraps the fragment (a `<div>`), adding the class `jumbo` when
//! [`is_emoji_only`] holds. The page's CSS reveals a spoiler with
//! `.spoiler-toggle:checked + .spoiler-text`; the checkbox must stay focusable (visually
//! hidden, not `display: none`) so that spoilers work with the keyboard.

mod emoji;
mod html;
mod parse;
mod plain;
mod sanitize;

use chrono::{DateTime, Utc};

pub use emoji::is_emoji_only;
pub use html::{to_html, to_html_unsanitized};
pub use plain::{to_plain, truncate};
pub use sanitize::sanitize;

/// What mentions resolve to; implemented by the page renderer.
pub trait Resolver {
    /// `<@hash>`: display name (a pseudonym like "Brave Otter") for the keyed pseudonym hash
    /// that sync wrote in place of the user id.
    fn user(&self, pseudonym_hash: &str) -> UserRef;
    /// `<#snowflake>`: name and URL when the channel is public in this archive, else None
    /// (rendered as "#private channel" / "#unknown channel", no link, no id).
    fn channel(&self, snowflake: &str) -> Option<ChannelRef>;
    /// For a channel that [`Resolver::channel`] did not resolve: whether it exists but is not
    /// public ("#private channel") rather than unknown ("#unknown channel").
    fn channel_is_private(&self, _snowflake: &str) -> bool {
        false
    }
    /// `<@&snowflake>`: the role's name when roles are known; None renders "@role".
    fn role(&self, _snowflake: &str) -> Option<String> {
        None
    }
}

/// A resolved user mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// The name shown after `@`; escaped on output, so any text is safe.
    pub name: String,
}

/// A channel that is public in this archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    /// The name shown after `#`.
    pub name: String,
    /// Where the mention links to: an absolute http(s) URL or a path on this site.
    pub url: String,
}

/// What an atom shows, shared by the HTML and the plain-text outputs.
struct AtomView {
    text: String,
    /// A link for channel mentions of public channels.
    href: Option<String>,
    kind: AtomKind,
}

enum AtomKind {
    Mention,
    Emoji,
    Time { datetime: String, style: char },
    InvalidTime,
}

fn atom_view(atom: &parse::Atom<'_>, resolver: &dyn Resolver) -> AtomView {
    use parse::Atom;
    let mention = |text: String| AtomView {
        text,
        href: None,
        kind: AtomKind::Mention,
    };
    match atom {
        Atom::User(hash) => mention(format!("@{}", resolver.user(hash).name)),
        Atom::UnknownUser => mention("@unknown user".to_owned()),
        Atom::Channel(id) => channel_view(id, resolver),
        Atom::ChannelLink(id) => channel_view(id, resolver),
        Atom::Role(id) => mention(format!(
            "@{}",
            resolver.role(id).unwrap_or_else(|| "role".to_owned())
        )),
        Atom::Everyone => mention("@everyone".to_owned()),
        Atom::Here => mention("@here".to_owned()),
        Atom::Emoji { name, .. } => AtomView {
            text: format!(":{name}:"),
            href: None,
            kind: AtomKind::Emoji,
        },
        Atom::Command(name) => mention(format!("/{name}")),
        Atom::Navigation(label) => mention((*label).to_owned()),
        Atom::DiscordLink => mention("Discord link".to_owned()),
        Atom::Time(time) => match time.and_then(|(secs, style)| time_text(secs, style)) {
            Some((datetime, text, style)) => AtomView {
                text,
                href: None,
                kind: AtomKind::Time { datetime, style },
            },
            None => AtomView {
                text: "Invalid date".to_owned(),
                href: None,
                kind: AtomKind::InvalidTime,
            },
        },
    }
}

fn channel_view(id: &str, resolver: &dyn Resolver) -> AtomView {
    let (text, href) = match resolver.channel(id) {
        Some(channel) => (format!("#{}", channel.name), Some(channel.url)),
        None if resolver.channel_is_private(id) => ("#private channel".to_owned(), None),
        None => ("#unknown channel".to_owned(), None),
    };
    AtomView {
        text,
        href,
        kind: AtomKind::Mention,
    }
}

/// The `datetime` attribute (RFC 3339, UTC) and the UTC text Discord's en-US formats give for
/// `style`; `R` (relative) is shown as its absolute date, which a page script may localise.
/// None outside years 1 to 9999, which an HTML `datetime` cannot express.
fn time_text(secs: i64, style: char) -> Option<(String, String, char)> {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN..=MAX).contains(&secs) {
        return None;
    }
    let at: DateTime<Utc> = DateTime::from_timestamp(secs, 0)?;
    let format = match style {
        't' => "%-I:%M %p UTC",
        'T' => "%-I:%M:%S %p UTC",
        'd' => "%m/%d/%Y",
        'D' => "%B %-d, %Y",
        'F' => "%A, %B %-d, %Y %-I:%M %p UTC",
        _ => "%B %-d, %Y %-I:%M %p UTC",
    };
    Some((
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        at.format(format).to_string(),
        style,
    ))
}

/// Replaces what HTML parsing would change or drop (`\r`, NUL) and what HTML forbids in text
/// (other control characters, noncharacters), so that every output is valid and is what a
/// browser and ammonia read back.
fn normalise(content: &str) -> std::borrow::Cow<'_, str> {
    if !content.contains(forbidden) {
        return content.into();
    }
    content
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .map(|c| {
            if forbidden(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

/// Characters HTML does not allow in a document: controls other than newline and tab, and
/// noncharacters.
fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{FDD0}'..='\u{FDEF}').contains(&c)
        || (c as u32 & 0xFFFE) == 0xFFFE
}
