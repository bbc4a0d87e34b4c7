//! The second line of defence: an ammonia builder allowing exactly the tags, attributes,
//! classes and URL schemes the markdown renderer writes.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The `rel` of every link written from message content.
pub(super) const REL: &str = "nofollow ugc noopener";

/// Cleans an HTML fragment with the builder that allows exactly what the markdown renderer
/// writes: anything else (script, event handlers, other schemes, unknown classes) is removed.
pub fn sanitize(fragment: &str) -> String {
    BUILDER.clean(fragment).to_string()
}

static BUILDER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let set = |items: &[&'static str]| items.iter().copied().collect::<HashSet<_>>();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(set(&[
            "br",
            "strong",
            "em",
            "u",
            "s",
            "code",
            "pre",
            "blockquote",
            "h3",
            "h4",
            "h5",
            "small",
            "ul",
            "ol",
            "li",
            "a",
            "span",
            "label",
            "input",
            "time",
        ]))
        .tag_attributes(HashMap::from([
            ("a", set(&["href"])),
            ("ol", set(&["start"])),
            ("time", set(&["datetime", "data-style"])),
            ("span", set(&["title"])),
            ("code", set(&["class"])),
        ]))
        .tag_attribute_values(HashMap::from([
            ("a", HashMap::from([("rel", set(&[REL]))])),
            (
                "input",
                HashMap::from([
                    ("type", set(&["checkbox"])),
                    ("aria-label", set(&["Reveal spoiler"])),
                ]),
            ),
        ]))
        .allowed_classes(HashMap::from([
            ("a", set(&["mention"])),
            ("span", set(&["mention", "emoji-custom", "spoiler-text"])),
            ("label", set(&["spoiler"])),
            ("input", set(&["spoiler-toggle"])),
            ("h3", set(&["md-h1"])),
            ("h4", set(&["md-h2"])),
            ("h5", set(&["md-h3"])),
            ("small", set(&["md-subtext"])),
            ("time", set(&["md-time"])),
        ]))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("code", "class") => value
                .strip_prefix("language-")
                .is_some_and(|lang| !lang.is_empty() && lang.chars().all(is_lang_char))
                .then(|| value.into()),
            ("ol", "start") => value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.into()),
            ("time", "data-style") => ["t", "T", "d", "D", "f", "F", "R"]
                .contains(&value)
                .then(|| value.into()),
            _ => Some(value.into()),
        })
        .url_schemes(set(&["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(None)
        .strip_comments(true);
    builder
});

fn is_lang_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+#.-".contains(c)
}
