//! The search benchmark's archive: one tenant of generated chat with realistic text, written
//! through the service repositories in batches (the fast path of `archive_gen`), and handed,
//! batch by batch, to a sink (the FTS5 baseline's file) so that both sides index the very same
//! messages.
//!
//! Text: words drawn from a Zipf distribution (s = 1.07) over the 5,000 most frequent words of
//! English Wikipedia (`words.txt`, which cites its source), 3 to 40 words a message with a long
//! tail (3 + an exponential of mean 6, capped), a capital letter and end punctuation; 6 % of the
//! messages mention another member, 3 % carry a link, 8 % an emoji. 3 % have an attachment (two
//! thirds images, one third other files) and 10 % a reaction. Twelve text channels, forty
//! threads holding a tenth of the messages, 2,000 authors whose activity is itself Zipfian
//! (s = 1), timestamps spread evenly over two years. Everything comes from a fixed seed, so a
//! run generates the same archive every time.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::channels::{self, ChannelKind, ChannelRow};
use service::repo::messages::{self, MessageRow};
use service::repo::reactions::{self, ReactionRow};
use service::tenants::{self, CreateTenant, Platform};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// The vocabulary, most frequent word first.
const WORDS: &str = include_str!("../words.txt");
/// Zipf exponent of word frequencies (English text is close to 1; 1.07 is a common fit).
const WORD_ZIPF: f64 = 1.07;
/// Distinct authors.
const AUTHORS: usize = 2_000;
/// Text channels (threads come on top).
pub const CHANNEL_NAMES: [&str; 12] = [
    "general",
    "help",
    "showcase",
    "off-topic",
    "announcements",
    "dev",
    "design",
    "support",
    "random",
    "music",
    "gaming",
    "feedback",
];
/// Threads, spread over the text channels.
const THREADS: usize = 40;
/// One message in this many is in a thread.
const THREAD_SHARE: u64 = 10;
/// Messages written per transaction.
const BATCH: usize = 2_000;
/// Platform ids of the channels count up from here (threads from `THREAD_BASE`).
const CHANNEL_BASE: u64 = 7_000;
const THREAD_BASE: u64 = 8_000;
const EMOJI: [&str; 8] = ["😀", "👍", "🎉", "😂", "❤️", "🔥", "🤔", "🙏"];

/// The first message's time; the last is two years later.
pub fn first_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// SplitMix64: a small, fast generator whose sequence is fixed by its seed, so the archive
/// does not depend on a random crate's version.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Draws ranks 0..n with probability proportional to 1 / (rank + 1)^s.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks with exponent `s`.
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += (r as f64).powf(-s);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// One rank.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let last = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.unit() * last;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// The vocabulary in frequency order (the comment lines of `words.txt` skipped).
pub fn vocabulary() -> Vec<&'static str> {
    WORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The pseudonymised id of author number `n` (64 hex characters, like the sync writes).
pub fn author_id(n: usize) -> String {
    format!(
        "{:016x}{:048x}",
        (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        n
    )
}

/// Where a generated message lives, as the FTS5 baseline records it.
#[derive(Debug, Clone)]
pub struct Place {
    /// Channel row id of the message's channel or thread.
    pub channel_id: String,
    /// The text channel: the channel itself, or a thread's parent (what `in:` names).
    pub within: String,
    /// Name of that text channel.
    pub channel_name: String,
    /// The thread's name, for a message in a thread.
    pub thread_name: Option<String>,
}

/// One generated message with what the FTS5 baseline stores of it.
pub struct Generated<'a> {
    /// The row as written.
    pub row: &'a MessageRow,
    /// Its channel.
    pub place: &'a Place,
    /// Its attachment, if any.
    pub attachment: Option<&'a AttachmentRow>,
}

/// What was generated.
pub struct Corpus {
    /// The tenant's slug.
    pub slug: String,
}

/// Writes the archive of a new tenant `slug` with `total` messages; `sink` sees every batch
/// after it is committed. Progress on stderr.
pub async fn generate(
    db: &DatabaseConnection,
    slug: &str,
    total: usize,
    sink: &mut (dyn FnMut(&[Generated<'_>]) -> Result<(), AnyError> + Send),
) -> Result<Corpus, AnyError> {
    let tenant = tenants::create(
        db,
        &CreateTenant {
            name: Some(format!("Search bench {slug}")),
            slug: Some(slug.to_owned()),
            platform: Some(Platform::Discord.as_str().to_owned()),
            platform_id: Some(format!("search-bench-{slug}")),
            status: None,
        },
    )
    .await?;
    let mut rng = Rng::new(0x5ea2_c4be_4c40_0001);
    let mut rows: Vec<ChannelRow> = CHANNEL_NAMES
        .iter()
        .enumerate()
        .map(|(c, name)| ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: (CHANNEL_BASE + c as u64).to_string(),
            name: (*name).to_owned(),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        })
        .collect();
    let vocabulary = vocabulary();
    let mut places: Vec<Place> = rows
        .iter()
        .map(|c| Place {
            channel_id: c.id().to_string(),
            within: c.id().to_string(),
            channel_name: c.name.clone(),
            thread_name: None,
        })
        .collect();
    for t in 0..THREADS {
        let parent = rng.below(CHANNEL_NAMES.len());
        let title = format!(
            "{} {} {}",
            vocabulary[rng.below(500)],
            vocabulary[rng.below(2_000)],
            vocabulary[rng.below(5_000.min(vocabulary.len()))]
        );
        let row = ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: (THREAD_BASE + t as u64).to_string(),
            name: title.clone(),
            kind: ChannelKind::Thread,
            parent_channel_id: Some((CHANNEL_BASE + parent as u64).to_string()),
            metadata: None,
        };
        places.push(Place {
            channel_id: row.id().to_string(),
            within: places[parent].within.clone(),
            channel_name: places[parent].channel_name.clone(),
            thread_name: Some(title),
        });
        rows.push(row);
    }
    channels::upsert(db, &rows).await?;
    let channel_ids: Vec<uuid::Uuid> = rows.iter().map(ChannelRow::id).collect();

    let words = Zipf::new(vocabulary.len(), WORD_ZIPF);
    let authors = Zipf::new(AUTHORS, 1.0);
    let channel_pick = Zipf::new(CHANNEL_NAMES.len(), 1.0);
    let author_ids: Vec<String> = (0..AUTHORS).map(author_id).collect();
    let start = first_time();
    let span_ms = Duration::days(730).num_milliseconds();
    let mut written = 0;
    while written < total {
        let n = BATCH.min(total - written);
        let mut msgs = Vec::with_capacity(n);
        let mut at_places = Vec::with_capacity(n);
        let mut files: Vec<Option<AttachmentRow>> = Vec::with_capacity(n);
        let mut reacts = Vec::new();
        for i in written..written + n {
            let c = if rng.below(THREAD_SHARE as usize) == 0 {
                CHANNEL_NAMES.len() + rng.below(THREADS)
            } else {
                channel_pick.sample(&mut rng)
            };
            let at = start
                + Duration::milliseconds(
                    (i as i64).saturating_mul(span_ms) / (total.max(1) as i64),
                );
            let ms = (at.timestamp_millis() - 1_420_070_400_000).max(0) as u64;
            let author = &author_ids[authors.sample(&mut rng)];
            let content = message_text(&mut rng, &words, &vocabulary, &author_ids);
            let row = MessageRow {
                channel_id: channel_ids[c],
                platform_message_id: ((ms << 22) | (i as u64 & 0x3f_ffff)).to_string(),
                anonymized_author_id: author.clone(),
                content,
                reply_to_id: None,
                metadata: None,
                platform_created_at: at,
            };
            let file = (rng.below(100) < 3).then(|| attachment(&mut rng, &row, i, &vocabulary));
            if rng.below(10) == 0 {
                reacts.push(ReactionRow {
                    message_id: row.id(),
                    emoji: EMOJI[rng.below(EMOJI.len())].to_owned(),
                    anonymized_user_id: author_ids[authors.sample(&mut rng)].clone(),
                });
            }
            msgs.push(row);
            at_places.push(c);
            files.push(file);
        }
        let tx = db.begin().await?;
        messages::upsert(&tx, &msgs).await?;
        let present: Vec<AttachmentRow> = files.iter().flatten().cloned().collect();
        attachments::upsert(&tx, &present).await?;
        reactions::upsert(&tx, &reacts).await?;
        tx.commit().await?;
        let generated: Vec<Generated<'_>> = msgs
            .iter()
            .zip(&at_places)
            .zip(&files)
            .map(|((row, &c), file)| Generated {
                row,
                place: &places[c],
                attachment: file.as_ref(),
            })
            .collect();
        sink(&generated)?;
        written += n;
        if written % 100_000 == 0 || written == total {
            eprintln!("search: generated {written}/{total} messages");
        }
    }
    Ok(Corpus { slug: tenant.slug })
}

/// A message's text (as stored: mentions as `<@id>`).
fn message_text(rng: &mut Rng, words: &Zipf, vocabulary: &[&str], authors: &[String]) -> String {
    // 3 + an exponential of mean 6: most messages are short, a few run long.
    let len = (3.0 + (-(1.0 - rng.unit()).ln() * 6.0)).min(40.0) as usize;
    let mut text = String::with_capacity(len * 8);
    if rng.below(100) < 6 {
        text.push_str("<@");
        text.push_str(&authors[rng.below(authors.len())]);
        text.push_str("> ");
    }
    for k in 0..len {
        let word = vocabulary[words.sample(rng)];
        if k == 0 {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                text.extend(first.to_uppercase());
                text.push_str(chars.as_str());
            }
        } else {
            text.push_str(word);
        }
        if k + 1 < len {
            text.push_str(if rng.below(12) == 0 { ", " } else { " " });
        }
    }
    text.push_str(match rng.below(10) {
        0..=4 => ".",
        5 | 6 => "?",
        7 => "!",
        _ => "",
    });
    if rng.below(100) < 3 {
        text.push_str(" https://example.com/");
        text.push_str(vocabulary[rng.below(1_000.min(vocabulary.len()))]);
        text.push('/');
        text.push_str(&rng.below(100_000).to_string());
    }
    if rng.below(100) < 8 {
        text.push(' ');
        text.push_str(EMOJI[rng.below(EMOJI.len())]);
    }
    text
}

/// An attachment of message number `i`: two thirds images, the rest other files.
fn attachment(rng: &mut Rng, row: &MessageRow, i: usize, vocabulary: &[&str]) -> AttachmentRow {
    let stem = vocabulary[rng.below(2_000.min(vocabulary.len()))];
    let (ext, content_type) = match rng.below(6) {
        0 | 1 => ("png", "image/png"),
        2 => ("jpg", "image/jpeg"),
        3 => ("gif", "image/gif"),
        4 => ("pdf", "application/pdf"),
        _ => ("zip", "application/zip"),
    };
    AttachmentRow {
        message_id: row.id(),
        platform_attachment_id: (900_000_000 + i as u64).to_string(),
        filename: format!("{stem}-{i}.{ext}"),
        file_size: 1_000 + rng.below(5_000_000) as i64,
        content_type: content_type.to_owned(),
        url: format!("https://cdn.discordapp.com/attachments/{i}/{stem}.{ext}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_five_thousand_distinct_lowercase_words() {
        let words = vocabulary();
        assert_eq!(words.len(), 5_000);
        assert!(
            words
                .iter()
                .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        );
        let distinct: std::collections::HashSet<_> = words.iter().collect();
        assert_eq!(distinct.len(), words.len());
        assert_eq!(words[0], "the");
    }

    #[test]
    fn zipf_favours_low_ranks_in_the_expected_proportion() {
        let zipf = Zipf::new(5_000, WORD_ZIPF);
        let mut rng = Rng::new(1);
        let mut counts = vec![0u32; 5_000];
        for _ in 0..200_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // P(rank 1) / P(rank 10) = 10^1.07 ≈ 11.7.
        let ratio = f64::from(counts[0]) / f64::from(counts[9]);
        assert!((9.0..15.0).contains(&ratio), "ratio {ratio}");
        assert!(counts.iter().skip(4_000).any(|&c| c > 0));
    }

    #[test]
    fn messages_are_three_to_forty_words_of_the_vocabulary() {
        let words = vocabulary();
        let zipf = Zipf::new(words.len(), WORD_ZIPF);
        let authors: Vec<String> = (0..10).map(author_id).collect();
        let mut rng = Rng::new(7);
        let known: std::collections::HashSet<&str> = words.iter().copied().collect();
        for _ in 0..2_000 {
            let text = message_text(&mut rng, &zipf, &words, &authors);
            let body: Vec<String> = text
                .split_whitespace()
                .filter(|w| !w.starts_with("<@") && !w.starts_with("https://"))
                .map(|w| {
                    w.trim_matches(|c: char| !c.is_ascii_alphabetic())
                        .to_lowercase()
                })
                .filter(|w| !w.is_empty())
                .collect();
            assert!((3..=40).contains(&body.len()), "{text}");
            assert!(body.iter().all(|w| known.contains(w.as_str())), "{text}");
        }
    }
}
