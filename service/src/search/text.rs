//! Message text for the index: what a reader sees, and how it splits into terms.
//!
//! SKELETON: signatures are the contract; bodies are filled in by the text work.

use tantivy::tokenizer::TextAnalyzer;

/// The name the index registers [`analyzer`] under (content field and queries).
pub const TOKENIZER: &str = "verta";

/// The analyzer of message text and of query words: letters and digits of any script in
/// runs (lowercased, accents folded), each CJK ideograph / kana on its own (so a CJK word in a
/// query is a phrase of them), each emoji on its own; punctuation and markup dropped.
pub fn analyzer() -> TextAnalyzer {
    todo!("analyzer")
}

/// Stored content as the archive shows it: user mentions `<@hash>` / `<@!hash>` as
/// `@Adjective Animal`, role mentions as `@role`, channel mentions as `#channel`, custom emoji
/// `<:name:id>` / `<a:name:id>` as `:name:`, timestamps `<t:unix[:style]>` as a UTC date.
pub fn display_text(content: &str) -> String {
    let _ = content;
    todo!("display text")
}

/// Whether the text holds a link (`http://` or `https://`).
pub fn has_link(content: &str) -> bool {
    let _ = content;
    todo!("has link")
}
