//! Message text for the index: what a reader sees, and how it splits into terms.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

use crate::pseudonym;

/// The name the index registers [`analyzer`] under (content field and queries).
pub const TOKENIZER: &str = "verta";

/// Terms of this many bytes or more are dropped: such runs are hashes, base64 or keyboard
/// mashing, which nobody types into a search box, and they would bloat the term dictionary.
const MAX_TERM_BYTES: usize = 64;

/// The analyzer of message text and of query words: letters and digits of any script in
/// runs (lowercased, accents folded), each CJK ideograph / kana on its own (so a CJK word in a
/// query is a phrase of them), each emoji on its own; punctuation and markup dropped.
///
/// Offsets are exact byte ranges of the analysed text (an emoji's range also covers the skin
/// tone or variation selector that follows it, so a highlight never splits a glyph), and
/// positions count 0, 1, 2… over the tokens the splitter finds.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(Splitter::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .build()
}

/// The terms [`analyzer`] makes of `text`, in order: what a query word must be turned into to
/// meet the index (several terms for one word match as a phrase).
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// What a character does to tokenisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A letter or digit that continues a run (Latin, Cyrillic, Greek, Hangul, …).
    Word,
    /// A combining diacritic: continues a run without entering its text, so decomposed
    /// `cafe\u{301}` is the term `cafe`, as accent folding makes of the composed `café`.
    Diacritic,
    /// A CJK ideograph, a kana or an emoji: a token of its own.
    Alone,
    /// Skin tone, variation selector or tag character: belongs to the emoji before it and is
    /// never a term.
    EmojiModifier,
    /// Everything else (whitespace, punctuation, markup, ZWJ) separates tokens.
    Separator,
}

fn class(c: char) -> Class {
    if is_emoji_modifier(c) {
        Class::EmojiModifier
    } else if is_diacritic(c) {
        Class::Diacritic
    } else if is_pictographic(c) || (is_cjk(c) && c.is_alphanumeric()) {
        Class::Alone
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Separator
    }
}

/// Han (with extensions A to I and the compatibility blocks), Hiragana and Katakana (with
/// their supplements and the half-width forms), and the ideographic iteration marks. Written
/// without spaces, so each character is a term and a word is a phrase of them.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF65}'..='\u{FF9F}'
        | '\u{1B000}'..='\u{1B16F}'
        | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2EE5F}'
        | '\u{2F800}'..='\u{2FA1F}'
        | '\u{30000}'..='\u{323AF}')
}

/// The blocks that hold Unicode's pictographic (emoji) code points. Skin tones are excluded
/// by [`class`] testing [`is_emoji_modifier`] first.
fn is_pictographic(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2B00}'..='\u{2BFF}')
}

/// Variation selectors, skin tones and tag characters (subdivision flags).
fn is_emoji_modifier(c: char) -> bool {
    matches!(c,
        '\u{FE0E}'..='\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
}

/// The combining diacritical mark blocks (what accent folding removes from Latin, Greek and
/// Cyrillic letters written decomposed).
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Greek letters with tonos or dialytika as their base letter, and final sigma as sigma: the
/// accent folding tantivy's ASCII folding does for Latin (people type Greek without accents,
/// and `ς` is only `σ` at the end of a word).
fn fold_greek(c: char) -> char {
    match c {
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        'ς' => 'σ',
        'Ά' => 'Α',
        'Έ' => 'Ε',
        'Ή' => 'Η',
        'Ί' | 'Ϊ' => 'Ι',
        'Ό' => 'Ο',
        'Ύ' | 'Ϋ' => 'Υ',
        'Ώ' => 'Ω',
        c => c,
    }
}

/// The first stage of [`analyzer`]: splits text into runs of letters and digits, single CJK
/// characters and single emoji.
#[derive(Clone, Default)]
struct Splitter {
    token: Token,
}

impl Tokenizer for Splitter {
    type TokenStream<'a> = SplitStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SplitStream<'a> {
        self.token.reset();
        SplitStream {
            text,
            cursor: 0,
            next_position: 0,
            token: &mut self.token,
        }
    }
}

struct SplitStream<'a> {
    text: &'a str,
    /// Byte offset where the search for the next token starts (always a char boundary).
    cursor: usize,
    /// Position of the next token.
    next_position: usize,
    token: &'a mut Token,
}

impl SplitStream<'_> {
    fn emit(&mut self, from: usize, to: usize) {
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.next_position;
        self.token.position_length = 1;
        self.next_position += 1;
        self.cursor = to;
    }
}

impl TokenStream for SplitStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        let text = self.text;
        let start = self.cursor;
        let mut chars = text
            .get(start..)
            .unwrap_or_default()
            .char_indices()
            .map(|(i, c)| (start + i, c))
            .peekable();
        while let Some((from, c)) = chars.next() {
            let mut to = from + c.len_utf8();
            match class(c) {
                Class::Alone => {
                    self.token.text.push(c);
                    while let Some((at, m)) =
                        chars.next_if(|&(_, m)| class(m) == Class::EmojiModifier)
                    {
                        to = at + m.len_utf8();
                    }
                    self.emit(from, to);
                    return true;
                }
                Class::Word => {
                    self.token.text.push(fold_greek(c));
                    while let Some((at, m)) =
                        chars.next_if(|&(_, m)| matches!(class(m), Class::Word | Class::Diacritic))
                    {
                        if class(m) == Class::Word {
                            self.token.text.push(fold_greek(m));
                        }
                        to = at + m.len_utf8();
                    }
                    self.emit(from, to);
                    return true;
                }
                Class::Diacritic | Class::EmojiModifier | Class::Separator => {}
            }
        }
        self.cursor = text.len();
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Stored content as the archive shows it: user mentions `<@hash>` / `<@!hash>` as
/// `@Adjective Animal`, role mentions as `@role`, channel mentions as `#channel`, custom emoji
/// `<:name:id>` / `<a:name:id>` as `:name:`, timestamps `<t:unix[:style]>` as a UTC date.
///
/// Also: a user mention that is not a pseudonymised id (`<@123>`) is `@unknown user`, as the
/// website shows it (a raw id never reaches a reader), and slash commands `</name sub:id>`
/// are `/name sub`. Anything malformed stays as written. Linear in the length of `content`.
pub fn display_text(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut flushed = 0;
    let mut from = 0;
    while let Some(i) = content.get(from..).and_then(|rest| rest.find('<')) {
        let at = from + i;
        match markup(content, at) {
            Some((end, shown)) => {
                out.push_str(content.get(flushed..at).unwrap_or_default());
                out.push_str(&shown);
                flushed = end;
                from = end;
            }
            None => from = at + 1,
        }
    }
    out.push_str(content.get(flushed..).unwrap_or_default());
    out
}

/// The `<…>` token at byte `at` (a `<`): where it ends and how it reads. Every scan stops at
/// the first byte that cannot continue the token, and no token contains a `<`, so the scans
/// of all tokens together read each byte a bounded number of times.
fn markup(src: &str, at: usize) -> Option<(usize, String)> {
    let rest = src.get(at..)?;
    if let Some(after) = rest.strip_prefix("<@&") {
        let end = at + 3 + digits_then_close(after)?;
        return Some((end, "@role".to_owned()));
    }
    if let Some(after) = rest.strip_prefix("<@") {
        let bang = usize::from(after.starts_with('!'));
        let after = after.get(bang..)?;
        let start = at + 2 + bang;
        if let Some(hash) = after.get(..64)
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && after.as_bytes().get(64) == Some(&b'>')
        {
            return Some((start + 65, format!("@{}", pseudonym::name(hash))));
        }
        let end = start + digits_then_close(after)?;
        return Some((end, "@unknown user".to_owned()));
    }
    if let Some(after) = rest.strip_prefix("<#") {
        let bang = usize::from(after.starts_with('!'));
        let end = at + 2 + bang + digits_then_close(after.get(bang..)?)?;
        return Some((end, "#channel".to_owned()));
    }
    if let Some(after) = rest.strip_prefix("<t:") {
        let (len, date) = timestamp(after)?;
        return Some((at + 3 + len, date));
    }
    if let Some(after) = rest.strip_prefix("</") {
        let (len, name) = command(after)?;
        return Some((at + 2 + len, format!("/{name}")));
    }
    let after = rest
        .strip_prefix("<a:")
        .or_else(|| rest.strip_prefix("<:"))?;
    let name_len = after
        .bytes()
        .take(65)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if !(1..=64).contains(&name_len) || after.as_bytes().get(name_len) != Some(&b':') {
        return None;
    }
    let prefix = rest.len() - after.len();
    let len = name_len + 1 + digits_then_close(after.get(name_len + 1..)?)?;
    let name = after.get(..name_len)?;
    Some((at + prefix + len, format!(":{name}:")))
}

/// One or more ASCII digits, then `>`: the length including the `>`.
fn digits_then_close(s: &str) -> Option<usize> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0 && s.as_bytes().get(n) == Some(&b'>')).then_some(n + 1)
}

/// After `<t:`: seconds (maybe negative), optionally `:style` (one of Discord's `tTdDfFR`),
/// then `>`: the length including the `>`, and the UTC date. A number chrono cannot place
/// in time is not a timestamp.
fn timestamp(s: &str) -> Option<(usize, String)> {
    let sign = usize::from(s.starts_with('-'));
    let digits = s
        .get(sign..)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let number = s.get(..sign + digits)?;
    let mut end = sign + digits;
    if s.as_bytes().get(end) == Some(&b':') {
        let style = *s.as_bytes().get(end + 1)?;
        if !b"tTdDfFR".contains(&style) {
            return None;
        }
        end += 2;
    }
    if s.as_bytes().get(end) != Some(&b'>') {
        return None;
    }
    let secs = number.parse::<i64>().ok()?;
    let time = chrono::DateTime::from_timestamp(secs, 0)?;
    Some((end + 1, time.format("%Y-%m-%d").to_string()))
}

/// After `</`: a command name with up to two subcommand words (each 1 to 32 letters, digits,
/// `-` or `_`, separated by one space), `:`, the command id, `>`: the length including the
/// `>`, and the name as typed.
fn command(s: &str) -> Option<(usize, &str)> {
    let colon = s
        .char_indices()
        .take(3 * 33)
        .find(|&(_, c)| c == ':')
        .map(|(i, _)| i)?;
    let name = s.get(..colon)?;
    let words: Vec<&str> = name.split(' ').collect();
    let word_ok = |w: &&str| {
        (1..=32).contains(&w.chars().count())
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    if words.len() > 3 || !words.iter().all(word_ok) {
        return None;
    }
    let len = colon + 1 + digits_then_close(s.get(colon + 1..)?)?;
    Some((len, name))
}

/// Whether the text holds a link (`http://` or `https://`).
pub fn has_link(content: &str) -> bool {
    let bytes = content.as_bytes();
    bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"http://"))
        || bytes
            .windows(8)
            .any(|w| w.eq_ignore_ascii_case(b"https://"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (text, from, to, position) of every token the analyzer makes of `text`.
    fn tokens(text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    #[test]
    fn latin_words_are_lowercased_and_accents_folded() {
        assert_eq!(terms("Café CRÈME, naïve!"), ["cafe", "creme", "naive"]);
    }

    #[test]
    fn decomposed_accents_give_the_same_terms_as_composed_ones() {
        assert_eq!(terms("Cafe\u{301} nai\u{308}ve"), terms("Café naïve"));
        let t = tokens("nai\u{308}ve x");
        assert_eq!(t[0], ("naive".to_owned(), 0, 7, 0));
    }

    #[test]
    fn cyrillic_and_greek_words_are_runs() {
        assert_eq!(terms("Привет мир"), ["привет", "мир"]);
        assert_eq!(terms("Καλημέρα κόσμε"), ["καλημερα", "κοσμε"]);
        // Accents and final sigma folded, composed or not: typed without accents, it matches.
        assert_eq!(
            terms("ΚΑΛΗΜΈΡΑ Καλημε\u{301}ρα σοφός"),
            ["καλημερα", "καλημερα", "σοφοσ"]
        );
        assert_eq!(terms("안녕하세요 세계"), ["안녕하세요", "세계"]);
    }

    #[test]
    fn a_greek_final_sigma_is_the_same_letter_as_a_capital_or_medial_one() {
        assert_eq!(terms("ΚΌΣΜΟΣ κόσμος κόσμοσ"), ["κοσμοσ"; 3]);
        assert_eq!(terms("ΣΟΦΊΑ σοφία"), ["σοφια"; 2]);
    }

    #[test]
    fn cjk_characters_are_one_token_each_at_consecutive_positions() {
        let t = tokens("東京タワー");
        let texts: Vec<&str> = t.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(texts, ["東", "京", "タ", "ワ", "ー"]);
        let positions: Vec<usize> = t.iter().map(|t| t.3).collect();
        assert_eq!(positions, [0, 1, 2, 3, 4]);
        assert_eq!((t[1].1, t[1].2), (3, 6));
        assert_eq!(
            terms("ひらがな、ｶﾀｶﾅ"),
            ["ひ", "ら", "が", "な", "ｶ", "ﾀ", "ｶ", "ﾅ"]
        );
    }

    #[test]
    fn latin_next_to_cjk_splits_at_the_script_change() {
        assert_eq!(terms("Rust入門"), ["rust", "入", "門"]);
        assert_eq!(terms("第3版"), ["第", "3", "版"]);
    }

    #[test]
    fn emoji_are_tokens_without_their_modifiers() {
        assert_eq!(terms("👍🎉"), ["👍", "🎉"]);
        assert_eq!(terms("👍🏽"), ["👍"]);
        assert_eq!(terms("❤️ it"), ["❤", "it"]);
        // A ZWJ family is its members, so the same sequence in a query is a phrase of them.
        assert_eq!(terms("👨‍👩‍👧"), ["👨", "👩", "👧"]);
        // A subdivision flag's tag characters are no term of their own.
        assert_eq!(terms("🏴\u{E0067}\u{E0062}\u{E007F}"), ["🏴"]);
    }

    #[test]
    fn an_emoji_span_covers_its_modifiers_so_a_highlight_keeps_the_glyph_whole() {
        let text = "ok 👍🏽!";
        let t = tokens(text);
        assert_eq!(t.len(), 2);
        assert_eq!(&text[t[1].1..t[1].2], "👍🏽");
    }

    #[test]
    fn offsets_are_exact_byte_ranges_and_positions_consecutive() {
        let text = "«Ça» va, 東京? 👍 — ok";
        let t = tokens(text);
        let spans: Vec<&str> = t.iter().map(|t| &text[t.1..t.2]).collect();
        assert_eq!(spans, ["Ça", "va", "東", "京", "👍", "ok"]);
        let positions: Vec<usize> = t.iter().map(|t| t.3).collect();
        assert_eq!(positions, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn punctuation_and_markup_separate_and_vanish() {
        assert_eq!(
            terms("**bold** e-mail, <#123> x_y"),
            ["bold", "e", "mail", "123", "x", "y"]
        );
        assert!(terms("  ... !!! ").is_empty());
        assert!(terms("").is_empty());
    }

    #[test]
    fn overlong_runs_are_not_terms() {
        let long = "a".repeat(64);
        let kept = "b".repeat(63);
        assert_eq!(terms(&format!("x {long} {kept}")), ["x".to_owned(), kept]);
    }

    #[test]
    fn user_mentions_show_the_pseudonym() {
        let hash = "ab".repeat(32);
        let name = pseudonym::name(&hash);
        assert_eq!(
            display_text(&format!("hi <@{hash}> and <@!{hash}>")),
            format!("hi @{name} and @{name}")
        );
        // An id that was never pseudonymised is not shown.
        assert_eq!(display_text("<@80351110224678912>"), "@unknown user");
    }

    #[test]
    fn roles_channels_emoji_commands_and_times_read_as_discord_shows_them() {
        assert_eq!(
            display_text("<@&123> in <#456>: <:party:789> <a:wave:1> </deploy prod:42>"),
            "@role in #channel: :party: :wave: /deploy prod"
        );
        assert_eq!(
            display_text("at <t:1704067200> or <t:1704153600:R>"),
            "at 2024-01-01 or 2024-01-02"
        );
    }

    #[test]
    fn malformed_markup_stays_as_written() {
        for text in [
            "<@",
            "<@>",
            "<@!",
            "<@&x>",
            "<#>",
            "<#12",
            "<t:>",
            "<t:99999999999999999999>",
            "<t:9999999999999999>",
            "<t:1:Q>",
            "<t:-",
            "<:bad name:1>",
            "<::1>",
            "<a:x:>",
            "</:1>",
            "</a b c d:1>",
            "</x:",
            "<<>>",
            "a < b > c",
            "<@é>",
            "</é",
        ] {
            assert_eq!(display_text(text), text);
        }
    }

    #[test]
    fn hostile_markup_is_handled_in_linear_time() {
        let cases = [
            "<".repeat(4000),
            "<@".repeat(2000),
            "<t:".repeat(1333),
            "</".repeat(2000),
            format!("<@&{}", "1".repeat(3997)),
            format!("</{}", "a".repeat(3998)),
            format!("<:{}", "a_".repeat(1999)),
            "</a a:".repeat(666),
            "<a:b:1".repeat(666),
        ];
        let started = std::time::Instant::now();
        for text in &cases {
            for _ in 0..20 {
                assert_eq!(display_text(text).len(), text.len());
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn links_are_found_in_any_case() {
        assert!(has_link("see https://example.com"));
        assert!(has_link("HTTP://EXAMPLE.COM"));
        assert!(has_link("x:Https://y"));
        assert!(!has_link("http:/ nope, ftp://x, https:"));
        assert!(!has_link(""));
    }

    proptest! {
        /// Any text: no panic, tokens in order with exact, non-overlapping char-boundary
        /// spans, consecutive positions, and terms that never hold a separator.
        #[test]
        fn any_text_tokenizes_with_exact_spans(text in "\\PC{0,64}|[a-zé東👍🏽\u{200D}\u{FE0F}\u{301} .<>]{0,64}") {
            let t = tokens(&text);
            let mut end = 0;
            for (term, from, to, _) in &t {
                prop_assert!(*from >= end && from < to && *to <= text.len());
                prop_assert!(text.is_char_boundary(*from) && text.is_char_boundary(*to));
                prop_assert!(!term.is_empty() && term.len() < MAX_TERM_BYTES);
                prop_assert!(term.chars().all(|c| !c.is_whitespace()));
                end = *to;
            }
            let positions: Vec<usize> = t.iter().map(|t| t.3).collect();
            let mut expected = positions.clone();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(&positions, &expected);
        }

        /// Any text: no panic, and text without `<` is shown as stored.
        #[test]
        fn any_text_displays_without_panic(text in "\\PC{0,64}|[<>@&#!:ta/0-9a-f ]{0,64}") {
            let shown = display_text(&text);
            if !text.contains('<') {
                prop_assert_eq!(shown, text);
            }
        }
    }
}
