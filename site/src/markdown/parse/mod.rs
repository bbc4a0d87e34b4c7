//! The scanner: Discord's ordered, first-match rules (the model is DiscordChatExporter's rule
//! list) applied to a borrowed `&str`, reporting what it finds to a [`Sink`].
//!
//! DCE searches every rule ahead and keeps the earliest match, ties going to the rule listed
//! first. Trying the rules, in order, anchored at each position from left to right gives the
//! same result, and lets each "find the closing marker" search remember its answer ([`Memo`]),
//! which keeps unclosed markers (10,000 `*` in a row) linear instead of quadratic.

mod inline;
mod lines;
mod links;
mod scan;
mod tokens;

use std::ops::Range;

use inline::{
    bold, code_block, escape, inline_code, italic, italic_alt, italic_bold, italic_underline,
    shrug, underline, wrap,
};
use lines::{heading, list, quote, subtext};
use links::{auto_link, hidden_link, masked_link};
use scan::char_len;
use tokens::everyone;
pub(crate) use tokens::{CodePiece, code_pieces, token};

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
        #[cfg(test)]
        if tests::MEMO_OFF.with(std::cell::Cell::get) {
            return search(from);
        }
        if let Some(start) = self.searched_from
            && from >= start
        {
            match self.found {
                None => return None,
                Some(at) if at >= from => return Some(at),
                Some(_) => {}
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
    paren: Memo,
    outer_paren: Memo,
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
        b'~' => wrap(src, pos, "~~", &mut memos.strike, Container::Strike, |_| {
            true
        }),
        b'|' => wrap(
            src,
            pos,
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{Atom, Container, Sink, parse};

    thread_local! {
        /// Makes every closing-marker search start afresh, to compare against the memo.
        pub(super) static MEMO_OFF: Cell<bool> = const { Cell::new(false) };
    }

    /// Records every event as a line.
    #[derive(Default)]
    struct Events(Vec<String>);

    impl Sink for Events {
        fn text(&mut self, text: &str) {
            self.0.push(format!("text {text:?}"));
        }
        fn open(&mut self, container: Container) {
            self.0.push(format!("open {container:?}"));
        }
        fn close(&mut self) {
            self.0.push("close".to_owned());
        }
        fn inline_code(&mut self, code: &str) {
            self.0.push(format!("code {code:?}"));
        }
        fn code_block(&mut self, lang: &str, code: &str) {
            self.0.push(format!("block {lang:?} {code:?}"));
        }
        fn atom(&mut self, atom: Atom<'_>) {
            self.0.push(format!("atom {atom:?}"));
        }
    }

    fn events(src: &str, memo_off: bool) -> Vec<String> {
        MEMO_OFF.with(|off| off.set(memo_off));
        let mut sink = Events::default();
        parse(src, &mut sink);
        MEMO_OFF.with(|off| off.set(false));
        sink.0
    }

    #[test]
    fn remembered_searches_parse_exactly_like_fresh_ones() {
        const PIECES: &[&str] = &[
            "*",
            "**",
            "***",
            "_",
            "__",
            "___",
            "~~",
            "||",
            "`",
            "```",
            "\n",
            " ",
            "a",
            "b ",
            "[",
            "](",
            ")",
            "(",
            "https://x.example/",
            "<",
            ">",
            "\\",
            "é",
            "> ",
            "- ",
            "# ",
        ];
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let len = (next() % 30) as usize;
            let src: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            assert_eq!(events(&src, false), events(&src, true), "{src:?}");
        }
    }

    #[test]
    fn bold_inside_italic_inside_a_list_item_nests_in_order() {
        assert_eq!(
            events("- *a **b** c*", false),
            [
                "open List { ordered: false, start: 1 }",
                "open Item",
                "open Italic",
                "text \"a \"",
                "open Bold",
                "text \"b\"",
                "close",
                "text \" c\"",
                "close",
                "close",
                "close",
            ]
        );
    }
}
