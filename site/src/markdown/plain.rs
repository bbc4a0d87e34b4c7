//! The plain-text sink: mentions as "@Name", emoji as ":name:", markup removed, whitespace
//! collapsed. For meta descriptions, reply previews and JSON-LD.

use super::parse::{self, Atom, CodePiece, Container, Sink};
use super::{Resolver, atom_view, normalise};

/// What a spoiler shows in plain text: its content stays hidden, as in Discord's previews.
const SPOILER: &str = "[spoiler]";

/// Plain text for a message's content: mentions as "@Name", channels as "#name", custom emoji
/// as ":name:", timestamps as UTC text, spoilers as "[spoiler]", markup removed and every run
/// of whitespace collapsed to one space. Not escaped: the caller escapes for its context.
pub fn to_plain(content: &str, resolver: &dyn Resolver) -> String {
    let content = normalise(content);
    let mut sink = PlainSink {
        out: String::with_capacity(content.len()),
        resolver,
        open: Vec::new(),
    };
    parse::parse(&content, &mut sink);
    collapse_whitespace(&sink.out)
}

/// `text` cut to at most `max_chars` characters (not bytes), ending in "…" when cut; never
/// splits a character.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let keep: String = text.chars().take(max_chars - 1).collect();
    format!("{}…", keep.trim_end())
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

struct PlainSink<'r> {
    out: String,
    resolver: &'r dyn Resolver,
    /// For each open container: whether it is a spoiler, and whether it is a block.
    open: Vec<(bool, bool)>,
}

impl PlainSink<'_> {
    fn hidden(&self) -> bool {
        self.open.iter().any(|(spoiler, _)| *spoiler)
    }

    fn write_code(&mut self, code: &str) {
        if self.hidden() {
            return;
        }
        for piece in parse::code_pieces(code) {
            match piece {
                CodePiece::Text(text) => self.out.push_str(text),
                CodePiece::Token(atom) => {
                    let text = atom_view(&atom, self.resolver).text;
                    self.out.push_str(&text);
                }
            }
        }
    }
}

impl Sink for PlainSink<'_> {
    fn text(&mut self, text: &str) {
        if !self.hidden() {
            self.out.push_str(text);
        }
    }

    fn open(&mut self, container: Container) {
        let spoiler = container == Container::Spoiler;
        if spoiler && !self.hidden() {
            self.out.push_str(SPOILER);
        }
        let block = matches!(
            container,
            Container::Quote
                | Container::Heading(_)
                | Container::Subtext
                | Container::List { .. }
                | Container::Item
        );
        if block {
            self.out.push(' ');
        }
        self.open.push((spoiler, block));
    }

    fn close(&mut self) {
        // A block stands on its own lines: a space keeps its words apart from the next ones.
        if let Some((_, true)) = self.open.pop() {
            self.out.push(' ');
        }
    }

    fn inline_code(&mut self, code: &str) {
        self.write_code(code);
    }

    fn code_block(&mut self, _lang: &str, code: &str) {
        self.out.push(' ');
        self.write_code(code);
        self.out.push(' ');
    }

    fn atom(&mut self, atom: Atom<'_>) {
        if !self.hidden() {
            let text = atom_view(&atom, self.resolver).text;
            self.out.push_str(&text);
        }
    }
}
