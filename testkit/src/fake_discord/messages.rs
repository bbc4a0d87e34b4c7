//! Message generation: every field of message `i` of a channel is a hash of
//! (seed, channel, i), so any slot can be computed alone, in any order.

use super::files;
use super::guild::Guild;
use super::model::{Attachment, ChannelMeta, Emoji, Message, Reaction, chance, h3, mix, snowflake};

const WORDS: &[&str] = &[
    "archive",
    "sync",
    "hello",
    "world",
    "rust",
    "discord",
    "thread",
    "message",
    "naïve",
    "café",
    "日本語",
    "🎉",
    "\"quoted\"",
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "<b>html</b>",
    "why?",
    "ok",
    "lol",
    "ship",
    "it",
    "tomorrow",
    "verta",
    "data",
    "test",
    "&amp;",
    "100%",
    "ünïcödé",
    "zero-width\u{200b}joiner",
    "👩‍💻",
    "tenant",
    "export",
    "search",
    "the",
    "a",
];
const UNICODE_EMOJI: &[&str] = &["👍", "🎉", "❤️", "😂", "👩‍💻", "🇫🇷"];

impl Guild {
    /// Every emoji reactions are drawn from (unicode first, then custom).
    pub fn emoji_pool(&self) -> Vec<Emoji> {
        UNICODE_EMOJI
            .iter()
            .map(|s| Emoji::Unicode((*s).to_string()))
            .chain(self.custom_emojis.iter().cloned())
            .collect()
    }

    /// Whether generated slot `i` of `ch` was deleted before serving (never slot 0).
    pub fn slot_deleted(&self, ch: &ChannelMeta, i: u64) -> bool {
        i > 0
            && chance(
                h3(self.spec.seed, ch.id, i ^ 0xDE1),
                self.spec.deleted_share,
            )
    }

    /// The generated message in slot `i` of `ch`, or `None` when that slot was deleted or
    /// is out of range. Pure: the runtime overlay is applied by the server state.
    pub fn generated_message(&self, ch: &ChannelMeta, i: u64) -> Option<Message> {
        if i >= ch.message_count || self.slot_deleted(ch, i) {
            return None;
        }
        let spec = &self.spec;
        let r = |field: u64| h3(spec.seed, ch.id, i.wrapping_mul(0x100) ^ field);
        let id = ch.slot_id(i);
        let ts = ch.slot_ms(i);
        let pool = self.users.len() as u64;
        let starter = i == 0 && ch.thread.as_ref().is_some_and(|t| t.forum_post);
        let author_id = match &ch.thread {
            Some(t) if starter => t.owner_id,
            _ => self.users[(r(1) % pool) as usize].id,
        };
        let reply_to = (!starter && i > 0 && chance(r(2), spec.reply_share)).then(|| {
            let back = 1 + r(3) % i.min(50);
            ch.slot_id(i - back)
        });
        let n_words = 3 + r(4) % 13;
        let mention = chance(r(6), spec.mention_share).then(|| {
            let u = self.users[(r(7) % pool) as usize].id;
            let bang = if r(7) & 1 == 1 { "!" } else { "" };
            (u, format!("<@{bang}{u}>"), r(8) % (n_words + 1))
        });
        let empty = !starter && chance(r(9), spec.empty_share);
        let content = if empty {
            String::new()
        } else {
            let title = starter.then_some(ch.name.as_str());
            let mention = mention.as_ref().map(|(_, text, at)| (text.as_str(), *at));
            generated_content(title, n_words, mention, r(5))
        };
        let mentions: Vec<u64> = mention.iter().map(|m| m.0).collect();
        let n_att = if empty {
            1
        } else if chance(r(10), spec.attachment_share) {
            1 + r(11) % 2
        } else {
            0
        };
        let attachments = (0..n_att)
            .map(|k| attachment(ch.id, id, ts, k, r(12 + k), spec.shared_attachment_share))
            .collect();
        let reactions = if chance(r(20), spec.reaction_share) {
            self.generated_reactions(r(21), r(22), r(23))
        } else {
            Vec::new()
        };
        let edited_ms =
            chance(r(30), spec.edit_share).then(|| ts + 1_000 + (r(31) % 3_600_000) as i64);
        Some(Message {
            id,
            channel_id: ch.id,
            author_id,
            kind: if reply_to.is_some() { 19 } else { 0 },
            content,
            timestamp_ms: ts,
            edited_ms,
            reply_to,
            mentions,
            attachments,
            reactions,
        })
    }

    /// The reactions of a message that has some: 1 to 3 consecutive emojis of the pool, each
    /// by a run of consecutive users (now and then more than a page of them). The three
    /// hashes of the message draw how many emojis, the first emoji, and the users.
    fn generated_reactions(&self, h_count: u64, h_start: u64, h_users: u64) -> Vec<Reaction> {
        let pool = self.users.len() as u64;
        let emojis = self.emoji_pool();
        let n = 1 + h_count % 3;
        let start = h_start % emojis.len() as u64;
        (0..n)
            .map(|k| {
                let emoji = emojis[((start + k) % emojis.len() as u64) as usize].clone();
                let rk = h3(h_users, k, 1);
                let count = if rk.is_multiple_of(40) {
                    130
                } else {
                    1 + rk % 5
                };
                let count = count.min(pool);
                let first = h3(rk, 2, 3) % pool;
                let mut users: Vec<u64> = (0..count)
                    .map(|u| self.users[((first + u) % pool) as usize].id)
                    .collect();
                users.sort_unstable();
                Reaction { emoji, users }
            })
            .collect()
    }
}

/// The text of a non-empty message: `title` on a line of its own (a forum post's starter),
/// then `n_words` words drawn by `words`, with `mention` (its text and the word it comes
/// before, `n_words` for the end) among them; single spaces between.
fn generated_content(
    title: Option<&str>,
    n_words: u64,
    mention: Option<(&str, u64)>,
    words: u64,
) -> String {
    let mut content = String::new();
    if let Some(title) = title {
        content.push_str(title);
        content.push('\n');
    }
    for w in 0..=n_words {
        if let Some((text, at)) = mention
            && at == w
        {
            content.push_str(text);
            content.push(' ');
        }
        if w < n_words {
            content.push_str(WORDS[(h3(words, w, 0) % WORDS.len() as u64) as usize]);
            content.push(' ');
        }
    }
    content.pop();
    content
}

/// Kinds of generated files: name, content type, image.
const KINDS: &[(&str, Option<&str>, bool)] = &[
    ("image.png", Some("image/png"), true),
    ("photo.jpg", Some("image/jpeg"), true),
    ("notes.txt", Some("text/plain; charset=utf-8"), false),
    ("archive.zip", Some("application/zip"), false),
    ("data.bin", None, false),
    ("README", None, false),
    ("résumé final.pdf", Some("application/pdf"), false),
];

/// Attachment `k` of a message. A `shared` share of them carry one of the popular contents
/// ([`files::popular`]): same bytes, size, name and content type wherever they appear.
fn attachment(
    channel_id: u64,
    message_id: u64,
    ts: i64,
    k: u64,
    r: u64,
    shared: f64,
) -> Attachment {
    // Unique among attachments: the message's timestamp plus 22 bits derived from the
    // message id and the attachment's index.
    let id = snowflake(ts, 0, 0) | (mix(message_id ^ k) & 0x3F_FFFF);
    let (kind, content_seed, size, dims_r) = if chance(h3(r, 0x5AED, 1), shared) {
        let (content, kind) = files::popular(h3(r, 0x5AED, 2));
        (kind, content.seed, content.size, kind)
    } else {
        (r, files::own_seed(id), 1_000 + (r >> 8) % 200_000, r)
    };
    let (name, content_type, image) = KINDS[(kind % KINDS.len() as u64) as usize];
    let url_name: String = name.replace(' ', "_");
    Attachment {
        id,
        filename: name.to_string(),
        size,
        content_type: content_type.map(str::to_string),
        url: format!("https://cdn.discordapp.com/attachments/{channel_id}/{id}/{url_name}"),
        dimensions: image.then_some((640 + (dims_r % 7) as u32 * 10, 480)),
        content_seed,
    }
}
