//! The scanner: Discord's ordered, first-match rules (the model is DiscordChatExporter's rule
//! list) applied to a borrowed `&str`, reporting what it finds to a [`Sink`].
//!
//! DCE searches every rule ahead and keeps the earliest match, ties going to the rule listed
//! first. Trying the rules, in order, anchored at each position from left to right gives the
//! same result, and lets each "find the closing marker" search remember its answer ([`Memo`]),
//! which keeps unclosed markers (10,000 `*` in a row) linear instead of quadratic.

use std::ops::Range;

/// Deeper markup than this renders as literal text.
pub(crate) const MAX_DEPTH: usize = 32;

/// A URL longer than this is left as text: it bounds the work an unlinkable run can cost.
const MAX_URL_BYTES: usize = 4096;

/// Where a link points, once its URL has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    /// An http, https or mailto URL, re-serialised by the `url` crate.
    Web(String),
    /// A link to a Discord channel (`https://discord.com/channels/guild/channel/...`): shown
    /// through the resolver, never with its ids.
    Channel(String),
    /// Any other Discord URL carrying ids (attachments, emoji images): not linked.
    Discord,
}

/// An element with children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Container {
    Bold,
    Italic,
    Underline,
    Strike,
    Spoiler,
    Link(LinkTarget),
    Quote,
    Heading(u8),
    Subtext,
    List { ordered: bool, start: u32 },
    Item,
}

/// A leaf that the sink renders with the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Atom<'a> {
    /// `<@hash>`: the keyed pseudonym hash written at sync time.
    User(&'a str),
    /// `<@digits>` left over from before the rewrite: never shown.
    UnknownUser,
    Channel(&'a str),
    Role(&'a str),
    Everyone,
    Here,
    Emoji {
        name: &'a str,
        animated: bool,
    },
    /// `</name sub:id>`: the command's name only.
    Command(&'a str),
    /// `<id:browse>` and friends: the label Discord shows.
    Navigation(&'static str),
    /// `<t:secs:style>`; `None` when Discord would show "Invalid date".
    Time(Option<(i64, char)>),
    /// An autolinked Discord URL with ids that cannot be shown.
    DiscordLink,
    /// A channel link written as a URL (`https://discord.com/channels/..`).
    ChannelLink(String),
}

/// Receives the document in order; containers are opened and closed in nested order.
pub(crate) trait Sink {
    fn text(&mut self, text: &str);
    fn open(&mut self, container: Container);
    fn close(&mut self);
    fn inline_code(&mut self, code: &str);
    fn code_block(&mut self, lang: &str, code: &str);
    fn atom(&mut self, atom: Atom<'_>);
}

/// Which rules may match inside a segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    /// DCE's `***x***`: the inside is parsed with the bold rule alone.
    Bold,
    /// DCE's `___x___`: the inside is parsed with the underline rule alone.
    Underline,
}

#[derive(Clone, Copy)]
struct Ctx {
    depth: usize,
    /// Line rules (quotes, headings, subtext, lists) apply: only where a block may stand, so
    /// that no block element ever lands inside an inline one.
    block: bool,
    /// Quote rules apply (Discord does not nest quotes).
    quote: bool,
    /// Inside a link's text: no links (an `<a>` cannot hold another).
    link: bool,
    only: Only,
}

impl Ctx {
    fn inline(self, only: Only) -> Ctx {
        Ctx {
            depth: self.depth + 1,
            block: false,
            quote: false,
            link: self.link,
            only,
        }
    }

    fn block(self, quote: bool) -> Ctx {
        Ctx {
            depth: self.depth + 1,
            block: true,
            quote,
            link: self.link,
            only: Only::All,
        }
    }
}

/// The answer of the last forward search for one closing marker. A closer's test never
/// depends on where its opener was, so a later search starting inside the range already
/// searched has the same answer.
#[derive(Default, Clone, Copy)]
struct Memo {
    searched_from: Option<usize>,
    found: Option<usize>,
}

impl Memo {
    fn find(&mut self, from: usize, search: impl FnOnce(usize) -> Option<usize>) -> Option<usize> {
        if let Some(start) = self.searched_from {
            if from >= start {
                match self.found {
                    None => return None,
                    Some(at) if at >= from => return Some(at),
                    Some(_) => {}
                }
            }
        }
        let found = search(from);
        self.searched_from = Some(from);
        self.found = found;
        found
    }
}

#[derive(Default)]
struct Memos {
    italic_bold: Memo,
    bold: Memo,
    italic: Memo,
    italic_underline: Memo,
    underline: Memo,
    italic_alt: Memo,
    strike: Memo,
    spoiler: Memo,
    code_block: Memo,
    link_middle: Memo,
    newline: Memo,
    url_end: Memo,
}

enum Action<'a> {
    Text(&'a str),
    Wrap {
        container: Container,
        inner: Range<usize>,
        only: Only,
    },
    MaskedLink {
        target: LinkTarget,
        text: Range<usize>,
    },
    AutoLink {
        target: LinkTarget,
        text: &'a str,
    },
    QuoteLines(Vec<Range<usize>>),
    QuoteRest(usize),
    Heading(u8, Range<usize>),
    Subtext(Range<usize>),
    List {
        ordered: bool,
        start: u32,
        items: Vec<Range<usize>>,
    },
    InlineCode(&'a str),
    CodeBlock {
        lang: &'a str,
        code: &'a str,
    },
    Atom(Atom<'a>),
}

/// Parses a whole message (already normalised: no `\r`, no NUL) into `sink`.
pub(crate) fn parse(src: &str, sink: &mut dyn Sink) {
    let top = Ctx {
        depth: 0,
        block: true,
        quote: true,
        link: false,
        only: Only::All,
    };
    parse_in(src, top, sink);
}

fn parse_in(src: &str, ctx: Ctx, sink: &mut dyn Sink) {
    if ctx.depth >= MAX_DEPTH {
        sink.text(src);
        return;
    }
    let bytes = src.as_bytes();
    let mut memos = Memos::default();
    let (mut pos, mut flushed) = (0, 0);
    while pos < bytes.len() {
        let step = char_len(bytes[pos]);
        match match_at(src, pos, ctx, &mut memos) {
            Some((end, action)) => {
                if flushed < pos {
                    sink.text(&src[flushed..pos]);
                }
                apply(src, action, ctx, sink);
                // Every rule consumes at least one character; the max is a guard, not a need.
                pos = end.max(pos + step);
                flushed = pos;
            }
            None => pos += step,
        }
    }
    if flushed < bytes.len() {
        sink.text(&src[flushed..]);
    }
}

fn apply(src: &str, action: Action<'_>, ctx: Ctx, sink: &mut dyn Sink) {
    match action {
        Action::Text(text) => sink.text(text),
        Action::Wrap {
            container,
            inner,
            only,
        } => {
            sink.open(container);
            parse_in(&src[inner], ctx.inline(only), sink);
            sink.close();
        }
        Action::MaskedLink { target, text } => {
            sink.open(Container::Link(target));
            let mut inner = ctx.inline(Only::All);
            inner.link = true;
            parse_in(&src[text], inner, sink);
            sink.close();
        }
        Action::AutoLink { target, text } => match target {
            LinkTarget::Web(_) => {
                sink.open(Container::Link(target));
                sink.text(text);
                sink.close();
            }
            LinkTarget::Channel(id) => sink.atom(Atom::ChannelLink(id)),
            LinkTarget::Discord => sink.atom(Atom::DiscordLink),
        },
        Action::QuoteLines(lines) => {
            // Discord strips the `> ` of every line and reads the rest as one text, so
            // formatting may span quoted lines.
            let mut joined = String::new();
            for (i, line) in lines.into_iter().enumerate() {
                if i > 0 {
                    joined.push('\n');
                }
                joined.push_str(&src[line]);
            }
            sink.open(Container::Quote);
            parse_in(&joined, ctx.block(false), sink);
            sink.close();
        }
        Action::QuoteRest(start) => {
            sink.open(Container::Quote);
            parse_in(&src[start..], ctx.block(false), sink);
            sink.close();
        }
        Action::Heading(level, inner) => {
            sink.open(Container::Heading(level));
            parse_in(&src[inner], ctx.inline(Only::All), sink);
            sink.close();
        }
        Action::Subtext(inner) => {
            sink.open(Container::Subtext);
            parse_in(&src[inner], ctx.inline(Only::All), sink);
            sink.close();
        }
        Action::List {
            ordered,
            start,
            items,
        } => {
            sink.open(Container::List { ordered, start });
            let item_ctx = ctx.block(ctx.quote);
            for item in items {
                sink.open(Container::Item);
                parse_in(&src[item], item_ctx, sink);
                sink.close();
            }
            sink.close();
        }
        Action::InlineCode(code) => sink.inline_code(code),
        Action::CodeBlock { lang, code } => sink.code_block(lang, code),
        Action::Atom(atom) => sink.atom(atom),
    }
}

/// The length of the UTF-8 sequence that starts with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0..=0x7F => 1,
        0x80..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn byte(src: &str, at: usize) -> Option<u8> {
    src.as_bytes().get(at).copied()
}

fn prev_char(src: &str, at: usize) -> Option<char> {
    src.get(..at).and_then(|head| head.chars().next_back())
}

fn next_char(src: &str, at: usize) -> Option<char> {
    src.get(at..).and_then(|tail| tail.chars().next())
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// End of the line that contains `at` (the index of its `\n`, or the length).
fn line_end(src: &str, at: usize) -> usize {
    src[at..].find('\n').map_or(src.len(), |i| at + i)
}

/// The first position at or after `from` whose text starts with `marker` and passes `ok`.
fn search(src: &str, from: usize, marker: &str, ok: impl Fn(usize) -> bool) -> Option<usize> {
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
fn delimited(
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

fn match_at<'a>(
    src: &'a str,
    pos: usize,
    ctx: Ctx,
    memos: &mut Memos,
) -> Option<(usize, Action<'a>)> {
    let b = src.as_bytes()[pos];
    match ctx.only {
        Only::Bold => {
            return if b == b'*' {
                bold(src, pos, memos)
            } else {
                None
            };
        }
        Only::Underline => {
            return if b == b'_' {
                underline(src, pos, memos)
            } else {
                None
            };
        }
        Only::All => {}
    }
    let line_start = pos == 0 || src.as_bytes()[pos - 1] == b'\n';
    let lines = ctx.block && line_start;
    match b {
        0xC2 => shrug(src, pos),
        b'\\' => escape(src, pos),
        b'*' => italic_bold(src, pos, memos)
            .or_else(|| bold(src, pos, memos))
            .or_else(|| italic(src, pos, memos))
            .or_else(|| if lines { list(src, pos) } else { None }),
        b'_' => italic_underline(src, pos, memos)
            .or_else(|| underline(src, pos, memos))
            .or_else(|| italic_alt(src, pos, memos)),
        b'~' => wrap(
            src,
            pos,
            2,
            "~~",
            &mut memos.strike,
            Container::Strike,
            |_| true,
        ),
        b'|' => wrap(
            src,
            pos,
            2,
            "||",
            &mut memos.spoiler,
            Container::Spoiler,
            |_| true,
        ),
        b'>' if lines && ctx.quote => quote(src, pos),
        b'#' if lines => heading(src, pos),
        b'-' if lines => subtext(src, pos).or_else(|| list(src, pos)),
        b'0'..=b'9' | b' ' | b'\t' if lines => list(src, pos),
        b'`' => code_block(src, pos, memos).or_else(|| inline_code(src, pos)),
        b'@' => everyone(src, pos),
        b'<' => token(src, pos)
            .map(|(end, atom)| (end, Action::Atom(atom)))
            .or_else(|| {
                if ctx.link {
                    None
                } else {
                    hidden_link(src, pos)
                }
            }),
        b'[' if !ctx.link => masked_link(src, pos, memos),
        b'h' if !ctx.link => auto_link(src, pos, memos),
        _ => None,
    }
}

fn shrug(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    const SHRUG: &str = "¯\\_(ツ)_/¯";
    src[pos..].starts_with(SHRUG).then(|| {
        (
            pos + SHRUG.len(),
            Action::Text(&src[pos..pos + SHRUG.len()]),
        )
    })
}

fn escape(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
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

fn wrap<'a>(
    src: &'a str,
    pos: usize,
    open_len: usize,
    close: &str,
    memo: &mut Memo,
    container: Container,
    ok: impl Fn(usize) -> bool,
) -> Option<(usize, Action<'a>)> {
    if !src[pos..].starts_with(&close[..open_len.min(close.len())]) {
        return None;
    }
    let (inner, end) = delimited(src, pos, open_len, close, memo, ok)?;
    Some((
        end,
        Action::Wrap {
            container,
            inner,
            only: Only::All,
        },
    ))
}

fn italic_bold<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
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

fn bold<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
    wrap(src, pos, 2, "**", &mut memos.bold, Container::Bold, |at| {
        byte(src, at + 2) != Some(b'*')
    })
}

fn italic<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
    // The opening `*` is not followed by whitespace; the closing one is not preceded by
    // whitespace or `*`, nor followed by `*`.
    if next_char(src, pos + 1).is_none_or(char::is_whitespace) {
        return None;
    }
    wrap(
        src,
        pos,
        1,
        "*",
        &mut memos.italic,
        Container::Italic,
        |at| {
            byte(src, at + 1) != Some(b'*')
                && prev_char(src, at).is_some_and(|c| !c.is_whitespace() && c != '*')
        },
    )
}

fn italic_underline<'a>(
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

fn underline<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
    wrap(
        src,
        pos,
        2,
        "__",
        &mut memos.underline,
        Container::Underline,
        |at| byte(src, at + 2) != Some(b'_'),
    )
}

fn italic_alt<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
    // `_` emphasis only at word boundaries: `snake_case_name` stays text.
    if prev_char(src, pos).is_some_and(is_word) {
        return None;
    }
    wrap(
        src,
        pos,
        1,
        "_",
        &mut memos.italic_alt,
        Container::Italic,
        |at| !next_char(src, at + 1).is_some_and(is_word),
    )
}

fn quote(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    if let Some(rest) = src[pos..].strip_prefix(">>>") {
        let ws = rest.chars().next().filter(|c| c.is_whitespace())?;
        let start = pos + 3 + ws.len_utf8();
        return (start < src.len()).then_some((src.len(), Action::QuoteRest(start)));
    }
    let mut lines = Vec::new();
    let mut at = pos;
    let mut end = pos;
    while at < src.len() {
        let stop = line_end(src, at);
        let line = &src[at..stop];
        let content = if line == ">" {
            stop..stop
        } else if line.starts_with("> ") || line.starts_with(">\t") {
            at + 2..stop
        } else {
            break;
        };
        lines.push(content);
        end = (stop + 1).min(src.len());
        at = stop + 1;
    }
    let first = lines.first()?;
    if lines.len() == 1 && src[first.clone()].trim().is_empty() {
        return None;
    }
    Some((end, Action::QuoteLines(lines)))
}

fn heading(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let hashes = src[pos..].bytes().take_while(|&b| b == b'#').count();
    if !(1..=3).contains(&hashes) {
        return None;
    }
    let (content, end) = line_content(src, pos + hashes)?;
    Some((end, Action::Heading(hashes as u8, content)))
}

fn subtext(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    if !src[pos..].starts_with("-#") {
        return None;
    }
    let (content, end) = line_content(src, pos + 2)?;
    Some((end, Action::Subtext(content)))
}

/// After a line marker: one space or tab, then the rest of the line, which must hold more than
/// whitespace. Returns the content and the end of the line including its `\n`.
fn line_content(src: &str, at: usize) -> Option<(Range<usize>, usize)> {
    if !matches!(byte(src, at), Some(b' ' | b'\t')) {
        return None;
    }
    let stop = line_end(src, at);
    let content = at + 1..stop;
    if src[content.clone()].trim().is_empty() {
        return None;
    }
    Some((content, (stop + 1).min(src.len())))
}

struct ListLine {
    indent: usize,
    ordered: bool,
    number: u32,
    content: Range<usize>,
}

fn list_line(src: &str, at: usize) -> Option<ListLine> {
    let bytes = src.as_bytes();
    let indent = src[at..]
        .bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    let marker = at + indent;
    let (ordered, number, after) = match byte(src, marker)? {
        b'-' | b'*' => (false, 1, marker + 1),
        b'0'..=b'9' => {
            let digits = src[marker..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 9 || bytes.get(marker + digits) != Some(&b'.') {
                return None;
            }
            let number = src[marker..marker + digits].parse().ok()?;
            (true, number, marker + digits + 1)
        }
        _ => return None,
    };
    let (content, _) = line_content(src, after)?;
    Some(ListLine {
        indent,
        ordered,
        number,
        content,
    })
}

fn indent_of(line: &str) -> usize {
    line.bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count()
}

fn list(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let first = list_line(src, pos)?;
    let (ordered, start, indent) = (first.ordered, first.number, first.indent);
    let mut items = Vec::new();
    let mut next = Some(first);
    let mut end = pos;
    while let Some(item) = next.take() {
        let mut item_end = item.content.end;
        end = (item_end + 1).min(src.len());
        let mut at = item_end + 1;
        // Following lines indented deeper than the marker belong to the item (nested lists).
        while at < src.len() {
            let stop = line_end(src, at);
            let text = &src[at..stop];
            if text.trim().is_empty() || indent_of(text) <= indent {
                break;
            }
            item_end = stop;
            end = (stop + 1).min(src.len());
            at = stop + 1;
        }
        items.push(item.content.start..item_end);
        if at < src.len() {
            next =
                list_line(src, at).filter(|line| line.indent == indent && line.ordered == ordered);
        }
    }
    Some((
        end,
        Action::List {
            ordered,
            start,
            items,
        },
    ))
}

fn code_block<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
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

fn inline_code(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
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

fn everyone(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let rest = &src[pos..];
    if rest.starts_with("@everyone") {
        Some((pos + 9, Action::Atom(Atom::Everyone)))
    } else if rest.starts_with("@here") {
        Some((pos + 5, Action::Atom(Atom::Here)))
    } else {
        None
    }
}

/// `n` ASCII digits at `at` followed by `>`: the end after the `>`.
fn digits_then_close(src: &str, at: usize) -> Option<usize> {
    let n = src
        .get(at..)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (n > 0 && byte(src, at + n) == Some(b'>')).then_some(at + n + 1)
}

/// A `<...>` token (mentions, emoji, commands, navigation, timestamps) at `pos`.
pub(crate) fn token(src: &str, pos: usize) -> Option<(usize, Atom<'_>)> {
    let rest = src.get(pos..)?;
    if let Some(after) = rest.strip_prefix("<@&") {
        let end = digits_then_close(src, pos + 3)?;
        return Some((end, Atom::Role(&after[..end - pos - 4])));
    }
    if let Some(after) = rest.strip_prefix("<@") {
        let skip = usize::from(after.starts_with('!'));
        let start = pos + 2 + skip;
        let hash = src.get(start..start + 64);
        if let Some(hash) =
            hash.filter(|h| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            if byte(src, start + 64) == Some(b'>') {
                return Some((start + 65, Atom::User(hash)));
            }
        }
        let end = digits_then_close(src, start)?;
        return Some((end, Atom::UnknownUser));
    }
    if rest.starts_with("<#") {
        let start = pos + 2 + usize::from(rest[2..].starts_with('!'));
        let end = digits_then_close(src, start)?;
        return Some((end, Atom::Channel(&src[start..end - 1])));
    }
    if rest.starts_with("<t:") {
        return timestamp(src, pos + 3);
    }
    if rest.starts_with("</") {
        return command(src, pos + 2);
    }
    if let Some(after) = rest.strip_prefix("<id:") {
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'-')
            .count();
        let label = match &after[..name_len] {
            "customize" => "Channels & Roles",
            "browse" => "Browse Channels",
            "guide" | "home" => "Server Guide",
            "linked-roles" => "Linked Roles",
            _ => return None,
        };
        let at = pos + 4 + name_len;
        let end = match byte(src, at)? {
            b'>' => at + 1,
            b':' => digits_then_close(src, at + 1)?,
            _ => return None,
        };
        return Some((end, Atom::Navigation(label)));
    }
    let (animated, name_at) = if rest.starts_with("<a:") {
        (true, pos + 3)
    } else if rest.starts_with("<:") {
        (false, pos + 2)
    } else {
        return None;
    };
    let name_len = src[name_at..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if !(1..=64).contains(&name_len) || byte(src, name_at + name_len) != Some(b':') {
        return None;
    }
    let end = digits_then_close(src, name_at + name_len + 1)?;
    Some((
        end,
        Atom::Emoji {
            name: &src[name_at..name_at + name_len],
            animated,
        },
    ))
}

fn timestamp(src: &str, at: usize) -> Option<(usize, Atom<'_>)> {
    let sign = usize::from(byte(src, at) == Some(b'-'));
    let digits = src[at + sign..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let number = &src[at..at + sign + digits];
    let mut end = at + sign + digits;
    let mut style = 'f';
    let mut valid = true;
    if byte(src, end) == Some(b':') {
        let c = next_char(src, end + 1).filter(|c| is_word(*c))?;
        style = c;
        valid = "tTdDfFR".contains(c);
        end += 1 + c.len_utf8();
    }
    if byte(src, end) != Some(b'>') {
        return None;
    }
    let secs = number.parse::<i64>().ok().filter(|_| valid);
    Some((end + 1, Atom::Time(secs.map(|s| (s, style)))))
}

fn command(src: &str, at: usize) -> Option<(usize, Atom<'_>)> {
    // `</name sub group:id>`: up to three words of command-name characters.
    let colon = at + src.get(at..(at + 100).min(src.len()))?.find(':')?;
    let name = &src[at..colon];
    let words: Vec<&str> = name.split(' ').collect();
    let word_ok = |w: &&str| {
        !w.is_empty()
            && w.chars().count() <= 32
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    if words.len() > 3 || !words.iter().all(word_ok) {
        return None;
    }
    let end = digits_then_close(src, colon + 1)?;
    Some((end, Atom::Command(name)))
}

/// Checks a URL and decides how it may be shown: http, https and mailto only, re-serialised;
/// Discord URLs that carry ids are never passed through.
pub(crate) fn classify_url(raw: &str) -> Option<LinkTarget> {
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
        if let ["channels", _guild, channel, ..] = segments.as_slice() {
            if !channel.is_empty() && channel.bytes().all(|b| b.is_ascii_digit()) {
                return Some(LinkTarget::Channel((*channel).to_owned()));
            }
        }
        if has_snowflake(url.as_str()) {
            return Some(LinkTarget::Discord);
        }
    }
    Some(LinkTarget::Web(url.into()))
}

/// Whether `text` holds a run of digits as long as a Discord id (17 to 20 digits today; 15
/// leaves room for the oldest ones).
fn has_snowflake(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 15)
}

fn hidden_link<'a>(src: &'a str, pos: usize) -> Option<(usize, Action<'a>)> {
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

fn masked_link<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
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

fn auto_link<'a>(src: &'a str, pos: usize, memos: &mut Memos) -> Option<(usize, Action<'a>)> {
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

/// A piece of code text: code is shown as typed, except that mention tokens become their
/// readable form, because a token's raw id or author hash must never reach a page.
pub(crate) enum CodePiece<'a> {
    Text(&'a str),
    Token(Atom<'a>),
}

/// Splits code into text and mention tokens.
pub(crate) fn code_pieces(code: &str) -> Vec<CodePiece<'_>> {
    let mut pieces = Vec::new();
    let mut flushed = 0;
    let mut search_from = 0;
    while let Some(i) = code[search_from..].find('<') {
        let at = search_from + i;
        match token(code, at) {
            Some((end, atom)) => {
                if flushed < at {
                    pieces.push(CodePiece::Text(&code[flushed..at]));
                }
                pieces.push(CodePiece::Token(atom));
                flushed = end;
                search_from = end;
            }
            None => search_from = at + 1,
        }
    }
    if flushed < code.len() {
        pieces.push(CodePiece::Text(&code[flushed..]));
    }
    pieces
}
