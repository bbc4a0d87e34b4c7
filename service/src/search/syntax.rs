//! Discord's search language, parsed into a [`Query`].
//!
//! SKELETON: the types are the contract the index builds on; `parse` is filled in by the
//! query-language work (see the module's tests).

use chrono::{DateTime, Utc};

use crate::error::Result;

/// Longest accepted `q`, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most clauses plus filters in one query.
pub const MAX_PARTS: usize = 32;

/// A parsed query. Text clauses must all match (except negated ones, which must not);
/// `from` and `in` values are alternatives (any may match); every `has` must hold; dates
/// bound `platform_created_at`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Words and phrases, in the order written.
    pub clauses: Vec<Clause>,
    /// `from:` authors (any of them).
    pub from: Vec<AuthorKey>,
    /// `in:` channels as written, without a leading `#` (a channel name, or a channel's UUID),
    /// any of them.
    pub channels: Vec<String>,
    /// `has:` conditions (all of them).
    pub has: Vec<Has>,
    /// Inclusive lower bound on the send time (`after:`, `during:`).
    pub after: Option<DateTime<Utc>>,
    /// Exclusive upper bound on the send time (`before:`, `during:`).
    pub before: Option<DateTime<Utc>>,
    /// `pinned:true|false`.
    pub pinned: Option<bool>,
}

/// One text clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// A bare word (`prefix`: it ended in `*`). The text is as typed, without the `*`; the
    /// index's analyzer turns it into terms (it may give several, e.g. for CJK or `e-mail`:
    /// then they match as a phrase).
    Word {
        /// The word.
        text: String,
        /// `word*`.
        prefix: bool,
        /// `-word`.
        negated: bool,
    },
    /// `"an exact phrase"` (quotes removed).
    Phrase {
        /// The phrase.
        text: String,
        /// `-"phrase"`.
        negated: bool,
    },
}

/// Who `from:` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthorKey {
    /// A pseudonymised author id as the read API shows it (64 hex digits, lowercased).
    Id(String),
    /// An author's pseudonym ([`crate::pseudonym::name`]), normalised by [`name_key`];
    /// with its tag (`"Brave Otter#3f9a"`) when given, as `braveotter#3f9a`.
    Name(String),
}

/// What `has:` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Has {
    /// Any attachment (`has:attachment`, `has:file`).
    Attachment,
    /// An image attachment (`has:image`).
    Image,
    /// A video attachment (`has:video`).
    Video,
    /// An audio attachment (`has:audio`, `has:sound`).
    Audio,
    /// A link in the text (`has:link`).
    Link,
}

impl Has {
    /// The term the index stores for this condition.
    pub fn term(self) -> &'static str {
        match self {
            Has::Attachment => "attachment",
            Has::Image => "image",
            Has::Video => "video",
            Has::Audio => "audio",
            Has::Link => "link",
        }
    }
}

/// The form of a pseudonym that `from:` matches: lowercase letters and digits only, so
/// `Brave Otter`, `brave_otter`, `BraveOtter` and `brave-otter` are one key.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parse `q`. Errors are [`crate::Error::Validation`] on the field `q`, naming the problem
/// (unbalanced quote, unknown operator, bad date, too long, empty).
pub fn parse(q: &str) -> Result<Query> {
    let _ = q;
    todo!("query language")
}
