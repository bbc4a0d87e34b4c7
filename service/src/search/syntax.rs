//! Discord's search language, parsed into a [`Query`].
//!
//! `q` is split at Unicode whitespace into parts: words (`-word` excludes, `word*` is a
//! prefix), `"exact phrases"`, and filters `name:value` (`from:`, `in:`, `has:`, `before:`,
//! `after:`, `during:`, `pinned:`; the value may be quoted). A part is a filter only when its
//! name is ASCII letters and its value does not start with `/`, so links (`https://x.y`),
//! times (`12:30`) and emoji codes (`:smile:`) stay words.

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};

use super::text;
use crate::error::{Error, Result};

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
///
/// A query must ask for something: one that only negates (`-spam`) means "everything
/// except", but one whose parts are all ignored (`""`, a lone `-`) is an error like an empty
/// one, and so is one whose words give the index no term (`!!!`, a 100-letter run) and that
/// has no filter. Such words next to real ones are kept: the index finds no term in them.
pub fn parse(q: &str) -> Result<Query> {
    let q = q.trim();
    if q.is_empty() {
        return Err(invalid(NOTHING_TO_FIND));
    }
    let chars = q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(invalid(format!(
            "q is too long: {chars} characters, at most {MAX_QUERY_CHARS}"
        )));
    }
    let mut query = Query::default();
    let mut parts = 0;
    for part in lex(q)? {
        let counted = match part {
            Part::Phrase { text, negated } => {
                let kept = !text.trim().is_empty();
                if kept {
                    query.clauses.push(Clause::Phrase { text, negated });
                }
                kept
            }
            Part::Word { text, negated } => {
                let kept = !text.is_empty();
                if kept {
                    query.clauses.push(word(text, negated)?);
                }
                kept
            }
            Part::Filter {
                name,
                value,
                negated,
            } => {
                apply_filter(&mut query, &name, &value, negated)?;
                true
            }
        };
        parts += usize::from(counted);
        if parts > MAX_PARTS {
            return Err(invalid(format!(
                "q has more than {MAX_PARTS} words, phrases and filters: search with fewer"
            )));
        }
    }
    if let (Some(after), Some(before)) = (query.after, query.before)
        && after >= before
    {
        return Err(invalid(format!(
            "the dates exclude every message: nothing is sent on or after {} and before {}",
            after.format("%Y-%m-%d"),
            before.format("%Y-%m-%d")
        )));
    }
    if query == Query::default() {
        return Err(invalid(NOTHING_TO_FIND));
    }
    let filtered = Query {
        clauses: Vec::new(),
        ..query.clone()
    } != Query::default();
    if !filtered && !query.clauses.iter().any(has_terms) {
        return Err(invalid(
            "q has nothing to search for: its words are only punctuation, or longer than the \
             index keeps (63 bytes) — type words, or a filter such as from:, in:, has:",
        ));
    }
    Ok(query)
}

/// Whether the index's analyzer finds a term in the clause (`!!!` has none; a query of such
/// clauses alone would match every message).
fn has_terms(clause: &Clause) -> bool {
    let (Clause::Word { text, .. } | Clause::Phrase { text, .. }) = clause;
    !text::terms(text).is_empty()
}

const NOTHING_TO_FIND: &str =
    "q is empty: type words to find, or a filter such as from:, in:, has:";

const OPERATORS: &str = "from:, in:, has:, before:, after:, during: or pinned:";

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid("q", message)
}

/// One part of `q`, before it is understood.
#[derive(Debug, PartialEq)]
enum Part {
    /// A bare word as typed (empty for a lone `-`).
    Word { text: String, negated: bool },
    /// The text between two quotes.
    Phrase { text: String, negated: bool },
    /// `name:value` with a letters-only name (as typed) and the value unquoted.
    Filter {
        name: String,
        value: String,
        negated: bool,
    },
}

/// Split `q` into parts. A `"` opens a phrase wherever it stands (it also ends a bare word
/// it follows), except right after a filter's `name:`, where the quoted text is the value.
fn lex(q: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut chars = q.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(parts);
        }
        let negated = chars.next_if_eq(&'-').is_some();
        if chars.next_if_eq(&'"').is_some() {
            let text = quoted(&mut chars)?;
            parts.push(Part::Phrase { text, negated });
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
            word.push(c);
        }
        match filter_name(&word) {
            Some((name, value)) => {
                let value = if value.is_empty() && chars.next_if_eq(&'"').is_some() {
                    quoted(&mut chars)?
                } else {
                    value.to_owned()
                };
                parts.push(Part::Filter {
                    name: name.to_owned(),
                    value,
                    negated,
                });
            }
            None => parts.push(Part::Word {
                text: word,
                negated,
            }),
        }
    }
}

/// The text up to the closing quote, which is consumed.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String> {
    let mut text = String::new();
    for c in chars.by_ref() {
        if c == '"' {
            return Ok(text);
        }
        text.push(c);
    }
    Err(invalid("unbalanced quote: close the phrase with \""))
}

/// `name:value` with an ASCII-letters name and a value that does not start with `/`.
fn filter_name(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once(':')?;
    let is_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic());
    (is_name && !value.starts_with('/')).then_some((name, value))
}

/// A bare word: `word*` is a prefix of at least two letters or digits (a shorter one would
/// match most of the index).
fn word(text: String, negated: bool) -> Result<Clause> {
    let stem = text.trim_end_matches('*');
    if stem.len() == text.len() {
        return Ok(Clause::Word {
            text,
            prefix: false,
            negated,
        });
    }
    if stem.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Err(invalid(format!(
            "{text} is too short for a prefix search: type at least 2 letters before *"
        )));
    }
    Ok(Clause::Word {
        text: stem.to_owned(),
        prefix: true,
        negated,
    })
}

fn apply_filter(query: &mut Query, name: &str, value: &str, negated: bool) -> Result<()> {
    let name = name.to_ascii_lowercase();
    if !matches!(
        name.as_str(),
        "from" | "in" | "has" | "before" | "after" | "during" | "pinned"
    ) {
        return Err(invalid(format!(
            "unknown operator {name}: — use {OPERATORS}"
        )));
    }
    if negated {
        return Err(invalid(format!(
            "-{name}: cannot be negated: filters only narrow the results (exclude words with -word)"
        )));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("{name}: needs a value")));
    }
    match name.as_str() {
        "from" => push_new(&mut query.from, author(value)?),
        "in" => {
            let channel = value.strip_prefix('#').unwrap_or(value).trim();
            if channel.is_empty() {
                return Err(invalid("in: needs a channel name after the #"));
            }
            push_new(&mut query.channels, channel.to_owned());
        }
        "has" => push_new(&mut query.has, has(value)?),
        "pinned" => {
            query.pinned = Some(match value.to_ascii_lowercase().as_str() {
                "true" | "yes" => true,
                "false" | "no" => false,
                _ => {
                    return Err(invalid(format!(
                        "pinned:{value} is not a yes or no — use pinned:true or pinned:false"
                    )));
                }
            });
        }
        _ => {
            let (start, next) = period(&name, value)?;
            let (after, before) = match name.as_str() {
                "before" => (None, Some(start)),
                "after" => (Some(next), None),
                _ => (Some(start), Some(next)),
            };
            query.after = query.after.max(after);
            query.before = match (query.before, before) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    Ok(())
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `from:`'s value: a pseudonymised id, or a pseudonym with an optional `#tag`.
fn author(value: &str) -> Result<AuthorKey> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(AuthorKey::Id(value.to_ascii_lowercase()));
    }
    let (name, tag) = match value.rsplit_once('#') {
        Some((name, tag)) => (name, Some(tag)),
        None => (value, None),
    };
    let mut key = name_key(name);
    if key.is_empty() {
        return Err(invalid(format!(
            "from:{value} names nobody — use an author's pseudonym, as in from:\"Brave Otter\", \
             or their id"
        )));
    }
    if let Some(tag) = tag {
        if tag.len() != 4 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!(
                "bad tag in from:{value} — a tag is 4 hex digits, as in from:\"Brave Otter#3f9a\""
            )));
        }
        key.push('#');
        key.push_str(&tag.to_ascii_lowercase());
    }
    Ok(AuthorKey::Name(key))
}

/// `has:`'s value.
fn has(value: &str) -> Result<Has> {
    match value.to_ascii_lowercase().as_str() {
        "attachment" | "file" => Ok(Has::Attachment),
        "image" => Ok(Has::Image),
        "video" => Ok(Has::Video),
        "audio" | "sound" => Ok(Has::Audio),
        "link" => Ok(Has::Link),
        _ => Err(invalid(format!(
            "has:{value} is not something a message can have — use has:attachment, has:file, \
             has:image, has:video, has:audio, has:sound or has:link"
        ))),
    }
}

/// A date `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (UTC): the start of that day, month or year, and
/// the start of the next one.
fn period(name: &str, value: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let bad = || {
        invalid(format!(
            "bad date in {name}:{value} — use YYYY-MM-DD, YYYY-MM or YYYY"
        ))
    };
    let fields: Vec<&str> = value.split('-').collect();
    let widths = [4, 2, 2];
    if fields.len() > widths.len()
        || fields
            .iter()
            .zip(widths)
            .any(|(f, w)| f.len() != w || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u32>().ok());
    let year = number(0)
        .and_then(|y| i32::try_from(y).ok())
        .ok_or_else(bad)?;
    let month = number(1).unwrap_or(1);
    let day = number(2).unwrap_or(1);
    let start = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    let next = match fields.len() {
        1 => NaiveDate::from_ymd_opt(year + 1, 1, 1),
        2 => start.checked_add_months(Months::new(1)),
        _ => start.succ_opt(),
    }
    .ok_or_else(bad)?;
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
    Ok((midnight(start), midnight(next)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn ok(q: &str) -> Query {
        match parse(q) {
            Ok(query) => query,
            Err(e) => panic!("{q:?} should parse: {e}"),
        }
    }

    /// The message of the error `q` gives.
    fn err(q: &str) -> String {
        match parse(q) {
            Err(Error::Validation(issues)) => {
                assert_eq!(issues.len(), 1);
                assert_eq!(issues[0].field, "q");
                issues[0].message.clone()
            }
            other => panic!("{q:?} should be a validation error, got {other:?}"),
        }
    }

    fn w(text: &str) -> Clause {
        Clause::Word {
            text: text.to_owned(),
            prefix: false,
            negated: false,
        }
    }

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn words_and_phrases_keep_their_order() {
        let q = ok("  hello \"an exact  phrase\"\u{3000}world\t");
        assert_eq!(
            q.clauses,
            [
                w("hello"),
                Clause::Phrase {
                    text: "an exact  phrase".to_owned(),
                    negated: false
                },
                w("world"),
            ]
        );
        assert_eq!(
            Query {
                clauses: vec![],
                ..q
            },
            Query::default()
        );
    }

    #[test]
    fn a_quote_inside_a_word_starts_a_phrase() {
        assert_eq!(
            ok("foo\"bar baz\"qux").clauses,
            [
                w("foo"),
                Clause::Phrase {
                    text: "bar baz".to_owned(),
                    negated: false
                },
                w("qux"),
            ]
        );
    }

    #[test]
    fn negation_applies_to_words_and_phrases() {
        assert_eq!(
            ok("rust -spam -\"buy now\" - ").clauses,
            [
                w("rust"),
                Clause::Word {
                    text: "spam".to_owned(),
                    prefix: false,
                    negated: true
                },
                Clause::Phrase {
                    text: "buy now".to_owned(),
                    negated: true
                },
            ]
        );
    }

    #[test]
    fn a_query_of_only_negations_is_accepted() {
        assert_eq!(ok("-spam").clauses.len(), 1);
    }

    #[test]
    fn empty_phrases_and_lone_dashes_are_ignored() {
        assert_eq!(ok("\"\" a - \"  \"").clauses, [w("a")]);
    }

    #[test]
    fn empty_queries_are_refused() {
        for q in ["", "   ", "\u{3000}\n", "\"\"", "-", "- \"\""] {
            assert!(err(q).starts_with("q is empty"), "{q:?}");
        }
    }

    #[test]
    fn a_query_whose_words_give_no_term_is_refused_unless_filtered() {
        let hash = "f".repeat(64);
        for q in ["!!!", "... \"?!\"", "-!!", hash.as_str()] {
            assert!(err(q).starts_with("q has nothing to search for"), "{q:?}");
        }
        assert_eq!(ok("!!! rust").clauses, [w("!!!"), w("rust")]);
        assert_eq!(ok("!!! has:link").clauses, [w("!!!")]);
    }

    #[test]
    fn an_unbalanced_quote_is_refused() {
        for q in ["\"open", "a \"b c", "from:\"Brave", "x\""] {
            assert!(err(q).starts_with("unbalanced quote"), "{q:?}");
        }
    }

    #[test]
    fn prefixes_need_two_letters() {
        assert_eq!(
            ok("rus* -spa*").clauses,
            [
                Clause::Word {
                    text: "rus".to_owned(),
                    prefix: true,
                    negated: false
                },
                Clause::Word {
                    text: "spa".to_owned(),
                    prefix: true,
                    negated: true
                },
            ]
        );
        for q in ["*", "a*", "**", "-x*", ".a*"] {
            assert!(err(q).contains("too short for a prefix"), "{q:?}");
        }
    }

    #[test]
    fn a_star_inside_a_word_is_part_of_the_word() {
        assert_eq!(ok("f*o").clauses, [w("f*o")]);
    }

    #[test]
    fn links_times_and_emoji_codes_are_words() {
        assert_eq!(
            ok("https://x.y 12:30 :smile: c++:x").clauses,
            [w("https://x.y"), w("12:30"), w(":smile:"), w("c++:x")]
        );
    }

    #[test]
    fn unknown_operators_are_refused_with_the_known_ones() {
        assert_eq!(
            err("foo:bar"),
            "unknown operator foo: — use from:, in:, has:, before:, after:, during: or pinned:"
        );
        assert!(err("-Mentions:x").starts_with("unknown operator mentions:"));
    }

    #[test]
    fn operators_are_case_insensitive_and_cannot_be_negated() {
        assert_eq!(ok("HAS:Image").has, [Has::Image]);
        assert!(err("-from:x").contains("cannot be negated"));
        assert!(err("-has:link").contains("cannot be negated"));
    }

    #[test]
    fn operators_need_a_value() {
        assert_eq!(err("from:"), "from: needs a value");
        assert_eq!(err("a in:\"\""), "in: needs a value");
        assert_eq!(err("has: image"), "has: needs a value");
        assert!(err("in:#").starts_with("in: needs a channel name"));
    }

    #[test]
    fn from_takes_ids_and_pseudonyms_with_optional_tags() {
        let id = "AB".repeat(32);
        let q = ok(&format!(
            "from:{id} from:\"Brave Otter\" from:brave_otter from:\"Brave Otter#3F9A\" from:braveotter#3f9a"
        ));
        assert_eq!(
            q.from,
            [
                AuthorKey::Id("ab".repeat(32)),
                AuthorKey::Name("braveotter".to_owned()),
                AuthorKey::Name("braveotter#3f9a".to_owned()),
            ]
        );
        assert!(q.clauses.is_empty());
    }

    #[test]
    fn from_refuses_empty_names_and_bad_tags() {
        assert!(err("from:#3f9a").contains("names nobody"));
        assert!(err("from:---").contains("names nobody"));
        assert!(err("from:otter#3f9").starts_with("bad tag in from:otter#3f9"));
        assert!(err("from:otter#zzzz").starts_with("bad tag"));
        assert!(err("from:otter#").starts_with("bad tag"));
    }

    #[test]
    fn in_strips_one_hash_and_keeps_the_name_as_written() {
        let uuid = "0195f3c2-6a1e-7c3b-9d4e-123456789abc";
        let q = ok(&format!(
            "in:#general in:\"General Chat\" in:##x in:{uuid} in:general"
        ));
        assert_eq!(q.channels, ["general", "General Chat", "#x", uuid]);
    }

    #[test]
    fn has_accepts_synonyms_and_deduplicates() {
        let q = ok("has:attachment has:file has:image has:video has:audio has:sound has:link");
        assert_eq!(
            q.has,
            [
                Has::Attachment,
                Has::Image,
                Has::Video,
                Has::Audio,
                Has::Link
            ]
        );
        let message = err("has:emoji");
        assert!(message.starts_with("has:emoji is not"), "{message}");
        assert!(message.contains("has:attachment") && message.contains("has:link"));
    }

    #[test]
    fn pinned_is_a_yes_or_no() {
        assert_eq!(ok("pinned:true").pinned, Some(true));
        assert_eq!(ok("pinned:YES").pinned, Some(true));
        assert_eq!(ok("pinned:no").pinned, Some(false));
        assert_eq!(ok("pinned:true pinned:false").pinned, Some(false));
        assert!(err("pinned:maybe").starts_with("pinned:maybe"));
    }

    #[test]
    fn before_is_the_start_of_the_date() {
        let q = ok("before:2024-03-15");
        assert_eq!((q.after, q.before), (None, Some(day(2024, 3, 15))));
        assert_eq!(ok("before:2024-03").before, Some(day(2024, 3, 1)));
        assert_eq!(ok("before:2024").before, Some(day(2024, 1, 1)));
    }

    #[test]
    fn after_starts_with_the_next_period_as_on_discord() {
        let q = ok("after:2024-01-01");
        assert_eq!((q.after, q.before), (Some(day(2024, 1, 2)), None));
        assert_eq!(ok("after:2024-12").after, Some(day(2025, 1, 1)));
        assert_eq!(ok("after:2024-02-29").after, Some(day(2024, 3, 1)));
        assert_eq!(ok("after:2023").after, Some(day(2024, 1, 1)));
    }

    #[test]
    fn during_covers_the_whole_period() {
        let q = ok("during:2024-02");
        assert_eq!(
            (q.after, q.before),
            (Some(day(2024, 2, 1)), Some(day(2024, 3, 1)))
        );
        let q = ok("during:2024-12-31");
        assert_eq!(
            (q.after, q.before),
            (Some(day(2024, 12, 31)), Some(day(2025, 1, 1)))
        );
        let q = ok("during:2024");
        assert_eq!(
            (q.after, q.before),
            (Some(day(2024, 1, 1)), Some(day(2025, 1, 1)))
        );
    }

    #[test]
    fn several_date_bounds_intersect() {
        let q = ok("after:2024-01-01 after:2024-01-05 before:2024-06 before:2024-03 during:2024");
        assert_eq!(
            (q.after, q.before),
            (Some(day(2024, 1, 6)), Some(day(2024, 3, 1)))
        );
    }

    #[test]
    fn bounds_that_exclude_everything_are_refused() {
        assert!(err("after:2024-01-01 before:2024-01-02").starts_with("the dates exclude"));
        assert!(err("during:2023 during:2024").starts_with("the dates exclude"));
        assert!(ok("after:2024-01-01 before:2024-01-03").after.is_some());
    }

    #[test]
    fn bad_dates_are_refused() {
        assert_eq!(
            err("before:2024-13-01"),
            "bad date in before:2024-13-01 — use YYYY-MM-DD, YYYY-MM or YYYY"
        );
        for q in [
            "after:2024-02-30",
            "during:24",
            "before:2024-1-5",
            "before:2024-01-01-01",
            "after:yesterday",
            "during:２０２４",
            "before:-2024",
            "after:2024-00",
        ] {
            assert!(err(q).starts_with("bad date in"), "{q:?}");
        }
    }

    #[test]
    fn over_long_queries_are_refused_naming_the_limit() {
        let q = "é".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(err(&q), "q is too long: 513 characters, at most 512");
        // A phrase of 255 words in quotes: exactly the limit.
        let longest = format!("\"{}\"", "é ".repeat(255));
        assert_eq!(longest.chars().count(), MAX_QUERY_CHARS);
        assert!(parse(&longest).is_ok());
        // Surrounding whitespace does not count.
        assert!(parse(&format!("  {longest}\n ")).is_ok());
    }

    #[test]
    fn too_many_parts_are_refused_naming_the_limit() {
        let words = vec!["a"; MAX_PARTS];
        assert_eq!(ok(&words.join(" ")).clauses.len(), MAX_PARTS);
        let words = vec!["has:link"; MAX_PARTS + 1];
        assert!(err(&words.join(" ")).contains(&format!("more than {MAX_PARTS}")));
    }

    proptest! {
        /// Any string: no panic; an accepted query asks for something and keeps every limit.
        #[test]
        fn any_query_parses_or_is_refused_and_results_keep_the_limits(
            q in prop_oneof![
                "\\PC{0,80}",
                ".{0,600}",
                proptest::collection::vec(
                    prop_oneof![
                        "[a-zé東👍*\"-]{0,6}",
                        Just("from:".to_owned()),
                        Just("in:#".to_owned()),
                        Just("has:".to_owned()),
                        Just("pinned:".to_owned()),
                        "(before|after|during):20[0-9]{2}(-[01][0-9](-[0-3][0-9])?)?",
                        "[A-Za-z]{1,7}:[a-z0-9#/]{0,5}",
                        "\"[a-z ]{0,8}\"?",
                        "[ \t\u{3000}]",
                    ],
                    0..60,
                )
                .prop_map(|parts| parts.concat()),
            ]
        ) {
            if let Ok(query) = parse(&q) {
                prop_assert!(query != Query::default());
                let filtered = Query { clauses: vec![], ..query.clone() } != Query::default();
                prop_assert!(filtered || query.clauses.iter().any(has_terms));
                let parts = query.clauses.len() + query.from.len() + query.channels.len()
                    + query.has.len() + usize::from(query.pinned.is_some())
                    + usize::from(query.after.is_some()) + usize::from(query.before.is_some());
                prop_assert!(parts <= MAX_PARTS);
                for clause in &query.clauses {
                    match clause {
                        Clause::Word { text, prefix, .. } => {
                            prop_assert!(!text.is_empty());
                            prop_assert!(!text.chars().any(char::is_whitespace));
                            if *prefix {
                                prop_assert!(!text.ends_with('*'));
                                prop_assert!(text.chars().filter(|c| c.is_alphanumeric()).count() >= 2);
                            }
                        }
                        Clause::Phrase { text, .. } => prop_assert!(!text.trim().is_empty()),
                    }
                }
                for author in &query.from {
                    match author {
                        AuthorKey::Id(id) => prop_assert!(
                            id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                        ),
                        AuthorKey::Name(key) => prop_assert!(!key.is_empty()),
                    }
                }
                prop_assert!(query.channels.iter().all(|c| !c.is_empty()));
                if let (Some(after), Some(before)) = (query.after, query.before) {
                    prop_assert!(after < before);
                }
            }
        }
    }
}
