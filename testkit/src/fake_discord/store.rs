//! The served data: generated guilds plus a runtime overlay (messages added, edited or
//! deleted, reactions changed; channels deleted, renamed, shown or hidden; threads created
//! or archived). Only touched messages are materialised; everything else is computed on
//! demand.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::cdn::Signer;
use super::files::own_seed;
use super::guild::Guild;
use super::model::{
    Attachment, ChannelKind, ChannelMeta, Emoji, Message, Overwrite, Reaction, VIEW_CHANNEL, mix,
    snowflake,
};

/// Runtime changes of one channel.
#[derive(Debug, Default)]
struct ChannelOverlay {
    /// Generated messages replaced by an edited copy (`Some`) or deleted (`None`).
    replaced: HashMap<u64, Option<Message>>,
    /// Messages added at runtime, by id.
    added: BTreeMap<u64, Message>,
}

/// Errors of runtime mutations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No such channel.
    UnknownChannel(u64),
    /// No such message in the channel.
    UnknownMessage(u64),
    /// The channel kind has no messages (category, forum).
    NotAMessageChannel(u64),
    /// Threads take their visibility from their parent.
    Thread(u64),
    /// Not a thread.
    NotAThread(u64),
    /// Threads cannot be created in this channel kind.
    NotAThreadParent(u64),
    /// Every spare thread slot of the guild is used ([`super::GuildSpec::spare_threads`]).
    NoSpareThread(u64),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::UnknownChannel(id) => write!(f, "unknown channel {id}"),
            StoreError::UnknownMessage(id) => write!(f, "unknown message {id}"),
            StoreError::NotAMessageChannel(id) => write!(f, "channel {id} has no messages"),
            StoreError::Thread(id) => {
                write!(
                    f,
                    "{id} is a thread: threads follow their parent's visibility"
                )
            }
            StoreError::NotAThread(id) => write!(f, "channel {id} is not a thread"),
            StoreError::NotAThreadParent(id) => write!(f, "channel {id} cannot have threads"),
            StoreError::NoSpareThread(g) => {
                write!(
                    f,
                    "guild {g} has no spare thread slot left (GuildSpec::spare_threads)"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// A message to add at runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// Author user id (default: the first pool user).
    pub author_id: Option<u64>,
    /// Content.
    pub content: String,
    /// Replied-to message id (same channel).
    pub reply_to: Option<u64>,
}

/// An attachment of a message added at runtime ([`Store::add_message_with_attachments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// The `filename` Discord reports: any text (path separators, `..`, control
    /// characters, quotes, very long or non-ASCII names all go through as given).
    pub filename: String,
    /// Size in bytes; the CDN generates them on the fly, so any size costs no memory.
    pub size: u64,
    /// Content type (`None`: Discord could not tell).
    pub content_type: Option<String>,
}

impl NewAttachment {
    /// An attachment of `size` bytes named `filename`, without content type.
    pub fn new(filename: impl Into<String>, size: u64) -> NewAttachment {
        NewAttachment {
            filename: filename.into(),
            size,
            content_type: None,
        }
    }
}

/// The URL path segment Discord's CDN would give `filename`: ASCII letters, digits, `.`,
/// `-` and `_` kept, anything else `_`, at most 100 characters; names of dots only become
/// `file` (a `..` segment would be resolved away by URL parsers).
pub fn url_safe_name(filename: &str) -> String {
    let name: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if name.chars().all(|c| c == '.') {
        "file".to_string()
    } else {
        name
    }
}

/// Runtime changes of a channel's metadata.
#[derive(Debug, Clone, Default)]
struct ChannelChange {
    deleted: bool,
    name: Option<String>,
    everyone_view: Option<bool>,
    /// Spare thread slots: created at runtime, with this parent, kind and time.
    created: Option<(u64, ChannelKind, i64)>,
    /// Threads archived (true) or unarchived (false) at runtime, at this time.
    archived: Option<(bool, i64)>,
}

/// Generated guilds + overlay.
#[derive(Debug)]
pub struct Store {
    guilds: Vec<Guild>,
    /// channel id -> guild index
    channel_owner: HashMap<u64, usize>,
    overlay: RwLock<HashMap<u64, ChannelOverlay>>,
    channel_changes: RwLock<HashMap<u64, ChannelChange>>,
    signer: Signer,
}

impl Store {
    /// Wraps generated guilds (attachment links signed with a random secret, valid 24 h;
    /// see [`Store::with_link_ttl`]).
    pub fn new(guilds: Vec<Guild>) -> Store {
        let mut channel_owner = HashMap::new();
        for (g, guild) in guilds.iter().enumerate() {
            for c in &guild.channels {
                channel_owner.insert(c.id, g);
            }
        }
        Store {
            guilds,
            channel_owner,
            overlay: RwLock::new(HashMap::new()),
            channel_changes: RwLock::new(HashMap::new()),
            signer: Signer::random(std::time::Duration::from_secs(24 * 3600)),
        }
    }

    /// Sets the lifetime of the attachment links issued (new secret).
    pub fn with_link_ttl(mut self, ttl: std::time::Duration) -> Store {
        self.signer = Signer::random(ttl);
        self
    }

    /// Signs and verifies attachment links.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The guilds.
    pub fn guilds(&self) -> &[Guild] {
        &self.guilds
    }

    /// The guild with this id.
    pub fn guild(&self, id: u64) -> Option<&Guild> {
        self.guilds.iter().find(|g| g.id == id)
    }

    /// The guild owning a channel, and the channel as generated (see [`Store::current`]
    /// for runtime renames and visibility changes). `None` for unknown channels, channels
    /// deleted at runtime and threads of deleted channels.
    pub fn channel(&self, id: u64) -> Option<(&Guild, &ChannelMeta)> {
        let g = &self.guilds[*self.channel_owner.get(&id)?];
        let ch = g.channel(id)?;
        if self.is_deleted(ch) {
            return None;
        }
        Some((g, ch))
    }

    fn changes(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, ChannelChange>> {
        self.channel_changes
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn is_deleted(&self, ch: &ChannelMeta) -> bool {
        let changes = self.changes();
        let change = changes.get(&ch.id);
        let spare = ch.thread.as_ref().is_some_and(|t| t.spare);
        let never_created = spare && change.is_none_or(|c| c.created.is_none());
        if never_created || change.is_some_and(|c| c.deleted) {
            return true;
        }
        let parent = change.and_then(|c| c.created).map(|c| c.0).or(ch.parent_id);
        ch.kind.is_thread() && parent.is_some_and(|p| changes.get(&p).is_some_and(|c| c.deleted))
    }

    /// The channel with runtime renames and visibility changes applied.
    pub fn current<'a>(&self, ch: &'a ChannelMeta) -> Cow<'a, ChannelMeta> {
        let changes = self.changes();
        let Some(change) = changes.get(&ch.id) else {
            return Cow::Borrowed(ch);
        };
        let mut c = ch.clone();
        if let Some(name) = &change.name {
            c.name = name.clone();
        }
        if let Some((parent, kind, created_ms)) = change.created {
            c.parent_id = Some(parent);
            c.kind = kind;
            if let Some(t) = c.thread.as_mut() {
                t.created_ms = created_ms;
                t.archive_ms = created_ms;
            }
        }
        if let (Some((archived, at)), Some(t)) = (change.archived, c.thread.as_mut()) {
            t.archived = archived;
            t.archive_ms = at;
        }
        if let Some(visible) = change.everyone_view {
            let guild_id = self
                .channel_owner
                .get(&ch.id)
                .map(|&g| self.guilds[g].id)
                .unwrap_or(0);
            let o = match c
                .overwrites
                .iter_mut()
                .find(|o| o.kind == 0 && o.id == guild_id)
            {
                Some(o) => o,
                None => {
                    c.overwrites.push(Overwrite {
                        id: guild_id,
                        kind: 0,
                        allow: 0,
                        deny: 0,
                    });
                    c.overwrites.last_mut().expect("just pushed")
                }
            };
            o.allow &= !VIEW_CHANNEL;
            o.deny &= !VIEW_CHANNEL;
            if visible {
                o.allow |= VIEW_CHANNEL;
            } else {
                o.deny |= VIEW_CHANNEL;
            }
        }
        Cow::Owned(c)
    }

    /// The guild's current channels and threads (deleted ones left out, changes applied),
    /// in creation order.
    pub fn channels<'a>(&'a self, g: &'a Guild) -> impl Iterator<Item = Cow<'a, ChannelMeta>> + 'a {
        g.channels
            .iter()
            .filter(|c| !self.is_deleted(c))
            .map(|c| self.current(c))
    }

    fn change_channel(
        &self,
        id: u64,
        f: impl FnOnce(&ChannelMeta, &mut ChannelChange) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let (_, ch) = self.channel(id).ok_or(StoreError::UnknownChannel(id))?;
        let mut changes = self
            .channel_changes
            .write()
            .unwrap_or_else(|e| e.into_inner());
        f(ch, changes.entry(id).or_default())
    }

    /// Deletes a channel (its threads go with it): it disappears from every listing and
    /// answers 404 (10003).
    pub fn delete_channel(&self, id: u64) -> Result<(), StoreError> {
        self.change_channel(id, |_, c| {
            c.deleted = true;
            Ok(())
        })
    }

    /// Renames a channel or thread.
    pub fn rename_channel(&self, id: u64, name: &str) -> Result<(), StoreError> {
        self.change_channel(id, |_, c| {
            c.name = Some(name.to_string());
            Ok(())
        })
    }

    /// Creates a public thread (an announcement thread in an announcement channel) in a
    /// text, announcement or forum channel, using one of the guild's spare thread slots
    /// ([`super::GuildSpec::spare_threads`]). It starts empty and active; add messages with
    /// [`Store::add_message`]. Returns the thread id.
    pub fn create_thread(&self, parent_id: u64, name: &str) -> Result<u64, StoreError> {
        let (g, parent) = self
            .channel(parent_id)
            .ok_or(StoreError::UnknownChannel(parent_id))?;
        if !parent.kind.has_threads() {
            return Err(StoreError::NotAThreadParent(parent_id));
        }
        let kind = if parent.kind == ChannelKind::Announcement {
            ChannelKind::AnnouncementThread
        } else {
            ChannelKind::PublicThread
        };
        let now = chrono::Utc::now().timestamp_millis();
        let mut changes = self
            .channel_changes
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let spare = g
            .channels
            .iter()
            .find(|c| {
                c.thread.as_ref().is_some_and(|t| t.spare)
                    && changes.get(&c.id).is_none_or(|ch| ch.created.is_none())
            })
            .ok_or(StoreError::NoSpareThread(g.id))?;
        let change = changes.entry(spare.id).or_default();
        change.created = Some((parent_id, kind, now));
        change.name = Some(name.to_string());
        Ok(spare.id)
    }

    /// Archives (or unarchives) a thread now: it moves between the guild's active threads
    /// and its parent's archived threads.
    pub fn set_thread_archived(&self, thread_id: u64, archived: bool) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.change_channel(thread_id, |ch, c| {
            if !ch.kind.is_thread() {
                return Err(StoreError::NotAThread(thread_id));
            }
            c.archived = Some((archived, now));
            Ok(())
        })
    }

    /// Shows (allow) or hides (deny) a channel for @everyone through its @everyone
    /// overwrite. Threads follow their parent and cannot be changed alone.
    pub fn set_channel_visible(&self, id: u64, visible: bool) -> Result<(), StoreError> {
        self.change_channel(id, |ch, c| {
            if ch.kind.is_thread() {
                return Err(StoreError::Thread(id));
            }
            c.everyone_view = Some(visible);
            Ok(())
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, ChannelOverlay>> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters to a test double: keep serving.
        self.overlay.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, ChannelOverlay>> {
        self.overlay.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Id of the newest message ever created in the channel (Discord keeps it after a
    /// deletion too).
    pub fn last_message_id(&self, ch: &ChannelMeta) -> Option<u64> {
        let gen_last = ch.last_generated_id();
        let added = self
            .read()
            .get(&ch.id)
            .and_then(|o| o.added.keys().next_back().copied());
        gen_last.max(added)
    }

    /// Current version of slot `i` of the channel (overlay applied).
    fn slot_message(
        &self,
        g: &Guild,
        ch: &ChannelMeta,
        ov: Option<&ChannelOverlay>,
        i: u64,
    ) -> Option<Message> {
        if let Some(o) = ov
            && let Some(r) = o.replaced.get(&ch.slot_id(i))
        {
            return r.clone();
        }
        g.generated_message(ch, i)
    }

    /// Up to `limit` messages with ids greater than `after`, ascending.
    pub fn messages_after(&self, ch: &ChannelMeta, after: u64, limit: usize) -> Vec<Message> {
        let Some((g, _)) = self.channel(ch.id) else {
            return Vec::new();
        };
        let lock = self.read();
        let ov = lock.get(&ch.id);
        let mut out = Vec::with_capacity(limit);
        let mut i = ch.first_slot_after(after);
        while out.len() < limit && i < ch.message_count {
            if let Some(m) = self.slot_message(g, ch, ov, i) {
                out.push(m);
            }
            i += 1;
        }
        if let Some(o) = ov {
            let start = after.saturating_add(1);
            out.extend(o.added.range(start..).take(limit).map(|(_, m)| m.clone()));
            out.sort_by_key(|m| m.id);
            out.truncate(limit);
        }
        out
    }

    /// Up to `limit` messages with ids less than `before`, descending.
    pub fn messages_before(&self, ch: &ChannelMeta, before: u64, limit: usize) -> Vec<Message> {
        let Some((g, _)) = self.channel(ch.id) else {
            return Vec::new();
        };
        let lock = self.read();
        let ov = lock.get(&ch.id);
        let mut out = Vec::with_capacity(limit);
        let mut i = match before.checked_sub(1) {
            Some(b) => ch.first_slot_after(b),
            None => 0,
        };
        while out.len() < limit && i > 0 {
            i -= 1;
            if let Some(m) = self.slot_message(g, ch, ov, i) {
                out.push(m);
            }
        }
        if let Some(o) = ov {
            out.extend(
                o.added
                    .range(..before)
                    .rev()
                    .take(limit)
                    .map(|(_, m)| m.clone()),
            );
            out.sort_by_key(|m| std::cmp::Reverse(m.id));
            out.truncate(limit);
        }
        out
    }

    /// The current message with this id in the channel.
    pub fn message(&self, ch: &ChannelMeta, id: u64) -> Option<Message> {
        let (g, _) = self.channel(ch.id)?;
        let lock = self.read();
        let ov = lock.get(&ch.id);
        if let Some(m) = ov.and_then(|o| o.added.get(&id)) {
            return Some(m.clone());
        }
        let i = ch.slot_of(id)?;
        self.slot_message(g, ch, ov, i)
    }

    /// Every current message of the channel, ascending, computed lazily page by page.
    pub fn iter_messages<'a>(&'a self, ch: &'a ChannelMeta) -> impl Iterator<Item = Message> + 'a {
        let mut cursor = 0u64;
        let mut page: std::vec::IntoIter<Message> = Vec::new().into_iter();
        std::iter::from_fn(move || {
            if let Some(m) = page.next() {
                return Some(m);
            }
            let next = self.messages_after(ch, cursor, 500);
            cursor = next.last()?.id;
            page = next.into_iter();
            page.next()
        })
    }

    fn message_channel(&self, channel_id: u64) -> Result<(&Guild, &ChannelMeta), StoreError> {
        let (g, ch) = self
            .channel(channel_id)
            .ok_or(StoreError::UnknownChannel(channel_id))?;
        if !ch.kind.has_messages() {
            return Err(StoreError::NotAMessageChannel(channel_id));
        }
        Ok((g, ch))
    }

    /// Adds a message now (id from the current time, after every generated message).
    pub fn add_message(&self, channel_id: u64, new: NewMessage) -> Result<Message, StoreError> {
        self.add_message_with_attachments(channel_id, new, Vec::new())
    }

    /// Adds a message now carrying `files` (bytes generated on the fly by the CDN route,
    /// unique to each attachment; the URL's name segment is [`url_safe_name`]).
    pub fn add_message_with_attachments(
        &self,
        channel_id: u64,
        new: NewMessage,
        files: Vec<NewAttachment>,
    ) -> Result<Message, StoreError> {
        let (g, ch) = self.message_channel(channel_id)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let last = self.last_message_id(ch).unwrap_or(ch.id);
        let id = snowflake(now_ms, ch.slot, 0).max(last + 1);
        let ts = super::model::snowflake_ms(id);
        let author_id = new.author_id.unwrap_or(g.users[0].id);
        let mentions = mentioned_ids(&new.content);
        let msg = Message {
            id,
            channel_id,
            author_id,
            kind: if new.reply_to.is_some() { 19 } else { 0 },
            content: new.content,
            timestamp_ms: ts,
            edited_ms: None,
            reply_to: new.reply_to,
            mentions,
            attachments: files
                .into_iter()
                .enumerate()
                .map(|(k, f)| {
                    // The message's timestamp plus 22 bits: unique, and the CDN finds the
                    // message from it (see `cdn::find_attachment`).
                    let aid = snowflake(ts, 0, 0) | (mix(id ^ k as u64) & 0x3F_FFFF);
                    Attachment {
                        id: aid,
                        url: format!(
                            "https://cdn.discordapp.com/attachments/{channel_id}/{aid}/{}",
                            url_safe_name(&f.filename)
                        ),
                        filename: f.filename,
                        size: f.size,
                        content_type: f.content_type,
                        dimensions: None,
                        content_seed: own_seed(aid),
                    }
                })
                .collect(),
            reactions: Vec::new(),
        };
        self.write()
            .entry(channel_id)
            .or_default()
            .added
            .insert(id, msg.clone());
        Ok(msg)
    }

    /// Applies `f` to the current version of a message and stores the result.
    fn modify(
        &self,
        channel_id: u64,
        message_id: u64,
        f: impl FnOnce(&mut Message),
    ) -> Result<Message, StoreError> {
        let (_, ch) = self.message_channel(channel_id)?;
        let current = self
            .message(ch, message_id)
            .ok_or(StoreError::UnknownMessage(message_id))?;
        let mut lock = self.write();
        let ov = lock.entry(channel_id).or_default();
        let mut m = current;
        f(&mut m);
        match ov.added.get_mut(&message_id) {
            Some(slot) => *slot = m.clone(),
            None => {
                ov.replaced.insert(message_id, Some(m.clone()));
            }
        }
        Ok(m)
    }

    /// Edits a message's content (sets `edited_timestamp` to now).
    pub fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        content: String,
    ) -> Result<Message, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.modify(channel_id, message_id, |m| {
            m.mentions = mentioned_ids(&content);
            m.content = content;
            m.edited_ms = Some(now.max(m.timestamp_ms + 1));
        })
    }

    /// Deletes a message.
    pub fn delete_message(&self, channel_id: u64, message_id: u64) -> Result<(), StoreError> {
        let (_, ch) = self.message_channel(channel_id)?;
        if self.message(ch, message_id).is_none() {
            return Err(StoreError::UnknownMessage(message_id));
        }
        let mut lock = self.write();
        let ov = lock.entry(channel_id).or_default();
        ov.added.remove(&message_id);
        // Also for added messages: `replaced` doubles as the record of deletions.
        ov.replaced.insert(message_id, None);
        Ok(())
    }

    /// Adds `user_id`'s reaction with `emoji` (no-op if present).
    pub fn add_reaction(
        &self,
        channel_id: u64,
        message_id: u64,
        emoji: Emoji,
        user_id: u64,
    ) -> Result<Message, StoreError> {
        self.modify(channel_id, message_id, |m| {
            match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
                Some(r) => {
                    if let Err(pos) = r.users.binary_search(&user_id) {
                        r.users.insert(pos, user_id);
                    }
                }
                None => m.reactions.push(Reaction {
                    emoji,
                    users: vec![user_id],
                }),
            }
        })
    }

    /// Removes `user_id`'s reaction with `emoji` (no-op if absent).
    pub fn remove_reaction(
        &self,
        channel_id: u64,
        message_id: u64,
        emoji: &Emoji,
        user_id: u64,
    ) -> Result<Message, StoreError> {
        self.modify(channel_id, message_id, |m| {
            if let Some(r) = m.reactions.iter_mut().find(|r| &r.emoji == emoji) {
                r.users.retain(|u| *u != user_id);
            }
            m.reactions.retain(|r| !r.users.is_empty());
        })
    }

    /// Ids of messages deleted at runtime in the channel, ascending (generated slots that
    /// were never served are not included).
    pub fn deleted_ids(&self, channel_id: u64) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .read()
            .get(&channel_id)
            .map(|o| {
                o.replaced
                    .iter()
                    .filter(|(_, m)| m.is_none())
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Forgets every runtime change.
    pub fn reset(&self) {
        self.write().clear();
        self.channel_changes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// User ids mentioned as `<@id>` or `<@!id>` in content.
pub fn mentioned_ids(content: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(pos) = rest.find("<@") {
        rest = &rest[pos + 2..];
        let digits = rest.strip_prefix('!').unwrap_or(rest);
        let end = digits.find('>').unwrap_or(0);
        if end > 0
            && let Ok(id) = digits[..end].parse::<u64>()
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}
