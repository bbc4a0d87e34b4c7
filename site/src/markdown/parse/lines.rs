//! Rules that only apply at the start of a line where a block may stand: quotes,
//! headings, subtext and lists.

use std::ops::Range;

use super::Action;
use super::scan::{byte, line_end};

/// `>>> ` (the rest of the message) or consecutive `> ` lines, the markers removed.
pub(super) fn quote(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
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

/// `# `, `## `, `### ` and a non-blank line.
pub(super) fn heading(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    let hashes = src[pos..].bytes().take_while(|&b| b == b'#').count();
    if !(1..=3).contains(&hashes) {
        return None;
    }
    let (content, end) = line_content(src, pos + hashes)?;
    Some((end, Action::Heading(hashes as u8, content)))
}

/// `-# ` and a non-blank line.
pub(super) fn subtext(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
    if !src[pos..].starts_with("-#") {
        return None;
    }
    let (content, end) = line_content(src, pos + 2)?;
    Some((end, Action::Subtext(content)))
}

/// After a line marker: one space or tab, then the rest of the line, which must hold more than
/// whitespace. Returns the content and the end of the line including its `\n`.
pub(super) fn line_content(src: &str, at: usize) -> Option<(Range<usize>, usize)> {
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

/// A list item's first line: its indentation, its kind and number, its content.
pub(super) struct ListLine {
    indent: usize,
    ordered: bool,
    number: u32,
    content: Range<usize>,
}

/// `- `, `* ` or `1. ` after optional indentation, then a non-blank line.
/// Items of one kind at one indentation; deeper-indented lines belong to the item above, so
/// nested lists come from parsing an item's content again.
pub(super) fn list_line(src: &str, at: usize) -> Option<ListLine> {
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

/// The number of leading spaces and tabs.
pub(super) fn indent_of(line: &str) -> usize {
    line.bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count()
}

pub(super) fn list(src: &str, pos: usize) -> Option<(usize, Action<'_>)> {
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
