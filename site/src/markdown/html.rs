//! The HTML sink: escaped HTML, valid inside a `<div>`, for the ammonia builder to confirm.
//!
//! Block elements (`pre`, `blockquote`, headings, lists) must never sit inside phrasing ones,
//! and a spoiler (a `label` with a checkbox, interactive) must never sit inside an `a`. The
//! sink keeps the stack of open elements and opens phrasing elements lazily: a code block
//! inside bold text closes the open phrasing elements, writes the block and reopens them for
//! the text after it; a spoiler inside a link's text goes around the link instead
//! (`<label…><span…><a>…</a></span></label>`). So the output is valid HTML5 inside a `<div>`
//! whatever the markup's nesting.
//!
//! Escaping writes exactly what an HTML serialiser writes (text: `&`, `<`, `>`, U+00A0;
//! attributes, always double-quoted: `&`, `"`, U+00A0), which is why the output reads back
//! through ammonia unchanged. Quotes need no escaping in text, nor `'` in a double-quoted
//! attribute.

use super::parse::{self, Atom, CodePiece, Container, LinkTarget, Sink};
use super::sanitize::{REL, sanitize};
use super::{AtomKind, Resolver, atom_view, forbidden, normalise};

const SPOILER_OPEN: &str = "<label class=\"spoiler\"><input type=\"checkbox\" class=\"spoiler-toggle\" aria-label=\"Reveal spoiler\"><span class=\"spoiler-text\">";

/// Safe HTML fragment for a message's content: phrasing content plus `pre`, `blockquote`,
/// `h3`–`h5`, `ul`/`ol`; valid inside a `<div>` the caller provides. Escaped by the renderer,
/// then passed through an ammonia builder allowing exactly the tags, attributes, classes and
/// URL schemes the renderer writes.
pub fn to_html(content: &str, resolver: &dyn Resolver) -> String {
    let html = to_html_unsanitized(content, resolver);
    // Without a `<` there is no element to clean, and the escaping already matches what
    // ammonia would write back: most messages are plain text, and parsing them is the
    // costly part of a page.
    if !html.contains('<') {
        return html;
    }
    sanitize(&html)
}

/// The renderer's own output, before ammonia. [`to_html`] is what pages use; this is public so
/// tests can prove ammonia has nothing to remove from it.
pub fn to_html_unsanitized(content: &str, resolver: &dyn Resolver) -> String {
    let content = normalise(content);
    let mut sink = HtmlSink::new(resolver, content.len());
    parse::parse(&content, &mut sink);
    sink.finish()
}

/// Appends `text` escaped for a text node.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{A0}' => out.push_str("&nbsp;"),
            c if forbidden(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
}

/// Appends `value` escaped for a double-quoted attribute value.
fn escape_attr(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\u{A0}' => out.push_str("&nbsp;"),
            c if forbidden(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
}

#[derive(Debug)]
enum Tag {
    Strong,
    Em,
    U,
    S,
    Spoiler,
    A(String),
    /// A container without an element (a link that may not be shown as one).
    Bare,
    Heading(u8),
    Small,
    Blockquote,
    Ul,
    Ol(u32),
    Li,
}

impl Tag {
    /// Elements that may hold phrasing content only: closed around a block and reopened after.
    fn is_phrasing(&self) -> bool {
        !matches!(self, Tag::Blockquote | Tag::Ul | Tag::Ol(_) | Tag::Li)
    }

    fn open(&self, out: &mut String) {
        match self {
            Tag::Strong => out.push_str("<strong>"),
            Tag::Em => out.push_str("<em>"),
            Tag::U => out.push_str("<u>"),
            Tag::S => out.push_str("<s>"),
            Tag::Spoiler => out.push_str(SPOILER_OPEN),
            Tag::A(href) => {
                out.push_str("<a href=\"");
                escape_attr(out, href);
                out.push_str("\" rel=\"");
                out.push_str(REL);
                out.push_str("\">");
            }
            Tag::Bare => {}
            Tag::Heading(level) => {
                let (h, class) = heading_tag(*level);
                out.push_str(&format!("<{h} class=\"{class}\">"));
            }
            Tag::Small => out.push_str("<small class=\"md-subtext\">"),
            Tag::Blockquote => out.push_str("<blockquote>"),
            Tag::Ul => out.push_str("<ul>"),
            Tag::Ol(1) => out.push_str("<ol>"),
            Tag::Ol(start) => out.push_str(&format!("<ol start=\"{start}\">")),
            Tag::Li => out.push_str("<li>"),
        }
    }

    fn close(&self, out: &mut String) {
        out.push_str(match self {
            Tag::Strong => "</strong>",
            Tag::Em => "</em>",
            Tag::U => "</u>",
            Tag::S => "</s>",
            Tag::Spoiler => "</span></label>",
            Tag::A(_) => "</a>",
            Tag::Bare => "",
            Tag::Heading(1) => "</h3>",
            Tag::Heading(2) => "</h4>",
            Tag::Heading(_) => "</h5>",
            Tag::Small => "</small>",
            Tag::Blockquote => "</blockquote>",
            Tag::Ul => "</ul>",
            Tag::Ol(_) => "</ol>",
            Tag::Li => "</li>",
        });
    }
}

/// Discord's `#`, `##`, `###`: the page owns `h1` and `h2`.
fn heading_tag(level: u8) -> (&'static str, &'static str) {
    match level {
        1 => ("h3", "md-h1"),
        2 => ("h4", "md-h2"),
        _ => ("h5", "md-h3"),
    }
}

struct Entry {
    id: u32,
    tag: Tag,
    /// Whether its start tag is in the output right now.
    written: bool,
}

struct HtmlSink<'r> {
    out: String,
    resolver: &'r dyn Resolver,
    /// Open elements in output order (which differs from logical order when a spoiler went
    /// around a link).
    stack: Vec<Entry>,
    /// Ids of open containers in the order the parser opened them.
    logical: Vec<u32>,
    next_id: u32,
    /// A line break not written yet: dropped if a block comes next, where it would show as an
    /// empty line.
    pending_br: bool,
    /// Just after a code block: its own line break replaces the next newline.
    after_block: bool,
}

impl<'r> HtmlSink<'r> {
    fn new(resolver: &'r dyn Resolver, capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity + capacity / 4 + 16),
            resolver,
            stack: Vec::new(),
            logical: Vec::new(),
            next_id: 0,
            pending_br: false,
            after_block: false,
        }
    }

    /// Index of the first phrasing element above the innermost block container.
    fn phrasing_floor(&self) -> usize {
        self.stack
            .iter()
            .rposition(|e| !e.tag.is_phrasing())
            .map_or(0, |i| i + 1)
    }

    /// Closes the written elements from the top of the stack down to `from`; they stay open
    /// logically and are written again before the next content.
    fn unwind(&mut self, from: usize) {
        for entry in self.stack[from..].iter_mut().rev() {
            if entry.written {
                entry.tag.close(&mut self.out);
                entry.written = false;
            }
        }
    }

    fn ensure_open(&mut self) {
        for entry in &mut self.stack {
            if !entry.written {
                entry.tag.open(&mut self.out);
                entry.written = true;
            }
        }
    }

    fn flush_br(&mut self) {
        if self.pending_br {
            self.pending_br = false;
            self.ensure_open();
            self.out.push_str("<br>");
        }
    }

    /// Before phrasing content: open what is pending, write a pending line break.
    fn begin_inline(&mut self) {
        self.flush_br();
        self.ensure_open();
        self.after_block = false;
    }

    /// Before a block: drop a pending line break, close open phrasing elements.
    fn begin_block(&mut self) {
        self.pending_br = false;
        self.after_block = false;
        let floor = self.phrasing_floor();
        self.unwind(floor);
    }

    fn push(&mut self, tag: Tag, at: Option<usize>) {
        let id = self.next_id;
        self.next_id += 1;
        let entry = Entry {
            id,
            tag,
            written: false,
        };
        match at {
            Some(index) => self.stack.insert(index, entry),
            None => self.stack.push(entry),
        }
        self.logical.push(id);
    }

    fn write_code(&mut self, code: &str) {
        for piece in parse::code_pieces(code) {
            match piece {
                CodePiece::Text(text) => escape_text(&mut self.out, text),
                CodePiece::Token(atom) => {
                    escape_text(&mut self.out, &atom_view(&atom, self.resolver).text)
                }
            }
        }
    }

    fn finish(mut self) -> String {
        self.pending_br = false;
        self.unwind(0);
        self.out
    }
}

impl Sink for HtmlSink<'_> {
    fn text(&mut self, text: &str) {
        let text = match text.strip_prefix('\n') {
            Some(rest) if self.after_block => rest,
            _ => text,
        };
        if text.is_empty() {
            return;
        }
        self.after_block = false;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.flush_br();
                self.pending_br = true;
            }
            if !line.is_empty() {
                self.begin_inline();
                escape_text(&mut self.out, line);
            }
        }
    }

    fn open(&mut self, container: Container) {
        match container {
            Container::Bold => self.push(Tag::Strong, None),
            Container::Italic => self.push(Tag::Em, None),
            Container::Underline => self.push(Tag::U, None),
            Container::Strike => self.push(Tag::S, None),
            Container::Spoiler => {
                let floor = self.phrasing_floor();
                let link = self.stack[floor..]
                    .iter()
                    .position(|e| matches!(e.tag, Tag::A(_)))
                    .map(|i| floor + i);
                if let Some(link) = link {
                    self.flush_br();
                    self.unwind(link);
                }
                self.push(Tag::Spoiler, link);
            }
            Container::Link(target) => {
                let href = match target {
                    LinkTarget::Web(url) => Some(url),
                    LinkTarget::Channel(id) => self.resolver.channel(&id).map(|c| c.url),
                    LinkTarget::Discord => None,
                };
                let inside_link = self.stack.iter().any(|e| matches!(e.tag, Tag::A(_)));
                match href {
                    Some(href) if !inside_link => self.push(Tag::A(href), None),
                    _ => self.push(Tag::Bare, None),
                }
            }
            Container::Heading(level) => {
                self.begin_block();
                self.push(Tag::Heading(level), None);
            }
            Container::Subtext => {
                self.begin_block();
                self.push(Tag::Small, None);
            }
            Container::Quote | Container::List { .. } | Container::Item => {
                self.begin_block();
                let tag = match container {
                    Container::Quote => Tag::Blockquote,
                    Container::List { ordered: false, .. } => Tag::Ul,
                    Container::List { start, .. } => Tag::Ol(start),
                    _ => Tag::Li,
                };
                tag.open(&mut self.out);
                self.push(tag, None);
                if let Some(top) = self.stack.last_mut() {
                    top.written = true;
                }
            }
        }
    }

    fn close(&mut self) {
        let Some(id) = self.logical.pop() else {
            return;
        };
        let Some(index) = self.stack.iter().position(|e| e.id == id) else {
            return;
        };
        if self.stack[index].tag.is_phrasing() {
            if self.stack[index].written {
                self.flush_br();
            }
        } else {
            self.pending_br = false;
        }
        self.unwind(index);
        let entry = self.stack.remove(index);
        match entry.tag {
            // Subtext is a line of its own: what follows starts on the next line.
            Tag::Small => self.pending_br = true,
            Tag::Blockquote | Tag::Ul | Tag::Ol(_) | Tag::Li | Tag::Heading(_) => {
                self.pending_br = false;
            }
            _ => {}
        }
    }

    fn inline_code(&mut self, code: &str) {
        self.begin_inline();
        self.out.push_str("<code>");
        self.write_code(code);
        self.out.push_str("</code>");
    }

    fn code_block(&mut self, lang: &str, code: &str) {
        self.begin_block();
        if lang.is_empty() {
            self.out.push_str("<pre><code>");
        } else {
            self.out.push_str("<pre><code class=\"language-");
            escape_attr(&mut self.out, lang);
            self.out.push_str("\">");
        }
        self.write_code(code);
        self.out.push_str("</code></pre>");
        self.after_block = true;
    }

    fn atom(&mut self, atom: Atom<'_>) {
        self.begin_inline();
        let view = atom_view(&atom, self.resolver);
        let inside_link = self.stack.iter().any(|e| matches!(e.tag, Tag::A(_)));
        let out = &mut self.out;
        match view.kind {
            AtomKind::Mention => match view.href {
                Some(href) if !inside_link => {
                    out.push_str("<a class=\"mention\" href=\"");
                    escape_attr(out, &href);
                    out.push_str("\">");
                    escape_text(out, &view.text);
                    out.push_str("</a>");
                }
                _ => {
                    out.push_str("<span class=\"mention\">");
                    escape_text(out, &view.text);
                    out.push_str("</span>");
                }
            },
            AtomKind::Emoji => {
                out.push_str("<span class=\"emoji-custom\" title=\"");
                escape_attr(out, &view.text);
                out.push_str("\">");
                escape_text(out, &view.text);
                out.push_str("</span>");
            }
            AtomKind::Time { datetime, style } => {
                out.push_str("<time class=\"md-time\" datetime=\"");
                escape_attr(out, &datetime);
                out.push_str("\" data-style=\"");
                out.push(style);
                out.push_str("\">");
                escape_text(out, &view.text);
                out.push_str("</time>");
            }
            AtomKind::InvalidTime => escape_text(out, &view.text),
        }
    }
}
