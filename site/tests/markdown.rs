//! Discord-flavoured markdown: one fixture per rule and edge case, the hostile corpus, the
//! privacy rule and adversarial input.

use site::markdown::{
    ChannelRef, Resolver, UserRef, is_emoji_only, sanitize, to_html, to_html_unsanitized, to_plain,
    truncate,
};

/// The pseudonym hash the test resolver knows.
const OTTER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A hash the test resolver names with a hostile 1,000-character name.
const HOSTILE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PUBLIC_CHANNEL: &str = "111111111111111111";
const PRIVATE_CHANNEL: &str = "222222222222222222";
const ROLE: &str = "333333333333333333";

/// Resolves one known user, one public and one private channel, one role.
struct TestResolver;

impl Resolver for TestResolver {
    fn user(&self, pseudonym_hash: &str) -> UserRef {
        let name = match pseudonym_hash {
            OTTER => "Brave Otter".to_owned(),
            HOSTILE => format!("<script>alert(1)</script>\"'&\u{1}{}", "x".repeat(1000)),
            _ => "Quiet Heron".to_owned(),
        };
        UserRef { name }
    }

    fn channel(&self, snowflake: &str) -> Option<ChannelRef> {
        (snowflake == PUBLIC_CHANNEL).then(|| ChannelRef {
            name: "general".to_owned(),
            url: "/c/general/".to_owned(),
        })
    }

    fn channel_is_private(&self, snowflake: &str) -> bool {
        snowflake == PRIVATE_CHANNEL
    }

    fn role(&self, snowflake: &str) -> Option<String> {
        (snowflake == ROLE).then(|| "Moderators".to_owned())
    }
}

fn html(content: &str) -> String {
    to_html(content, &TestResolver)
}

fn plain(content: &str) -> String {
    to_plain(content, &TestResolver)
}

const SPOILER: &str = "<label class=\"spoiler\"><input type=\"checkbox\" class=\"spoiler-toggle\" aria-label=\"Reveal spoiler\"><span class=\"spoiler-text\">";
const REL: &str = "rel=\"nofollow ugc noopener\"";

/// Every fixture: (what it shows, input, expected HTML). `{S}` stands for the spoiler's
/// opening markup and `{R}` for the links' rel attribute.
const FIXTURES: &[(&str, &str, &str)] = &[
    // Text
    ("empty message", "", ""),
    (
        "control characters are replaced",
        "a\u{1}b\u{7F}c\u{FFFF}",
        "a\u{FFFD}b\u{FFFD}c\u{FFFD}",
    ),
    ("carriage returns are newlines", "a\r\nb\rc", "a<br>b<br>c"),
    ("non-breaking space is an entity", "a\u{A0}b", "a&nbsp;b"),
    (
        "characters a valid URL may not hold are percent-encoded in href",
        "https://example.com/a|b[c]#x#y",
        "<a href=\"https://example.com/a%7Cb%5Bc%5D#x%23y\" {R}>https://example.com/a|b[c]#x#y</a>",
    ),
    ("plain text", "hello world", "hello world"),
    (
        "query string ampersands are escaped in href and text",
        "https://example.com/?a=1&b=2",
        "<a href=\"https://example.com/?a=1&amp;b=2\" {R}>https://example.com/?a=1&amp;b=2</a>",
    ),
    (
        "international domain names are punycoded in href only",
        "https://bücher.example/",
        "<a href=\"https://xn--bcher-kva.example/\" {R}>https://bücher.example/</a>",
    ),
    (
        "text is escaped",
        "a < b & c > d",
        "a &lt; b &amp; c &gt; d",
    ),
    ("newlines become br", "a\nb\n\nc", "a<br>b<br><br>c"),
    ("trailing newline dropped", "a\n", "a"),
    // Emphasis
    ("bold", "**bold**", "<strong>bold</strong>"),
    (
        "bold needs exactly two closing",
        "**a***",
        "<strong>a*</strong>",
    ),
    ("italic star", "*it*", "<em>it</em>"),
    (
        "italic star needs no space after opener",
        "a * no *",
        "a * no *",
    ),
    ("italic underscore", "_it_", "<em>it</em>"),
    (
        "underscore inside a word is text",
        "snake_case_name",
        "snake_case_name",
    ),
    (
        "underscore closer before a word char is text",
        "_a_b",
        "_a_b",
    ),
    ("underline", "__u__", "<u>u</u>"),
    ("underline inside a word", "a__init__b", "a<u>init</u>b"),
    (
        "strike with nested bold",
        "~~a **b**~~",
        "<s>a <strong>b</strong></s>",
    ),
    ("strike", "~~s~~", "<s>s</s>"),
    ("bold italic", "***bi***", "<em><strong>bi</strong></em>"),
    ("underline italic", "___ui___", "<em><u>ui</u></em>"),
    (
        "nested bold in italic",
        "*a **b** c*",
        "<em>a <strong>b</strong> c</em>",
    ),
    ("unclosed bold is text", "**open", "**open"),
    ("bold spans lines", "**a\nb**", "<strong>a<br>b</strong>"),
    // Spoilers
    ("spoiler", "||secret||", "{S}secret</span></label>"),
    (
        "spoiler spans lines",
        "||a\nb||",
        "{S}a<br>b</span></label>",
    ),
    (
        "spoiler inside bold",
        "**a ||b||**",
        "<strong>a {S}b</span></label></strong>",
    ),
    (
        "spoiler inside a link goes around the link",
        "[a ||b|| c](https://example.com/)",
        "<a href=\"https://example.com/\" {R}>a </a>{S}<a href=\"https://example.com/\" {R}>b</a></span></label><a href=\"https://example.com/\" {R}> c</a>",
    ),
    // Code
    ("inline code", "`a*b*`", "<code>a*b*</code>"),
    (
        "unmatched backticks take the nearest pair",
        "``a`b``",
        "`<code>a</code>b``",
    ),
    (
        "double backtick code holds text",
        "``code``",
        "<code>code</code>",
    ),
    ("code is escaped", "`<b>`", "<code>&lt;b&gt;</code>"),
    (
        "fenced code with language",
        "```rust\nfn main() {}\n```",
        "<pre><code class=\"language-rust\">fn main() {}</code></pre>",
    ),
    (
        "fenced code language keeps plus and hash",
        "```c++\nx\n```",
        "<pre><code class=\"language-c++\">x</code></pre>",
    ),
    (
        "fenced code without language",
        "```\nplain\n```",
        "<pre><code>plain</code></pre>",
    ),
    (
        "fenced code on one line",
        "```a b```",
        "<pre><code>a b</code></pre>",
    ),
    (
        "fenced code language with a quote is content",
        "```a\"b\nx```",
        "<pre><code>a\"b\nx</code></pre>",
    ),
    (
        "text around fenced code",
        "before\n```\ncode\n```\nafter",
        "before<pre><code>code</code></pre>after",
    ),
    (
        "fenced code inside bold splits the bold",
        "**a ```x``` b**",
        "<strong>a </strong><pre><code>x</code></pre><strong> b</strong>",
    ),
    (
        "markup in code is literal",
        "```**no**```",
        "<pre><code>**no**</code></pre>",
    ),
    // Quotes
    ("quote line", "> quoted", "<blockquote>quoted</blockquote>"),
    (
        "quote lines merge",
        "> a\n> b\nafter",
        "<blockquote>a<br>b</blockquote>after",
    ),
    ("quote needs a space", ">no", "&gt;no"),
    (
        "rest of message quote",
        ">>> a\nb\nc",
        "<blockquote>a<br>b<br>c</blockquote>",
    ),
    (
        "quotes do not nest",
        "> > a",
        "<blockquote>&gt; a</blockquote>",
    ),
    ("quote only at line start", "a > b", "a &gt; b"),
    (
        "formatting spans quoted lines",
        "> **a\n> b**",
        "<blockquote><strong>a<br>b</strong></blockquote>",
    ),
    // Headings and subtext
    ("heading 1", "# Title", "<h3 class=\"md-h1\">Title</h3>"),
    ("heading 2", "## Title", "<h4 class=\"md-h2\">Title</h4>"),
    ("heading 3", "### Title", "<h5 class=\"md-h3\">Title</h5>"),
    ("four hashes are text", "#### no", "#### no"),
    ("heading needs a space", "#no", "#no"),
    (
        "heading then text",
        "# T\nbody",
        "<h3 class=\"md-h1\">T</h3>body",
    ),
    ("heading only at line start", "a # b", "a # b"),
    (
        "heading inside a quote",
        "> # T",
        "<blockquote><h3 class=\"md-h1\">T</h3></blockquote>",
    ),
    (
        "subtext",
        "-# small",
        "<small class=\"md-subtext\">small</small>",
    ),
    (
        "subtext then text starts a new line",
        "-# small\nnext",
        "<small class=\"md-subtext\">small</small><br>next",
    ),
    (
        "heading with inline markup",
        "# **b** `c`",
        "<h3 class=\"md-h1\"><strong>b</strong> <code>c</code></h3>",
    ),
    // Lists
    ("dash list", "- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    ("star list", "* a\n* b", "<ul><li>a</li><li>b</li></ul>"),
    (
        "ordered list",
        "1. a\n2. b",
        "<ol><li>a</li><li>b</li></ol>",
    ),
    (
        "ordered list start",
        "3. a\n4. b",
        "<ol start=\"3\"><li>a</li><li>b</li></ol>",
    ),
    (
        "nested list by indentation",
        "- a\n  - b\n- c",
        "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
    ),
    ("list then text", "- a\ntext", "<ul><li>a</li></ul>text"),
    ("dash without space is text", "-a", "-a"),
    ("empty item is text", "- ", "- "),
    (
        "list with markup",
        "- **b** _i_",
        "<ul><li><strong>b</strong> <em>i</em></li></ul>",
    ),
    (
        "list inside a quote",
        "> - a\n> - b",
        "<blockquote><ul><li>a</li><li>b</li></ul></blockquote>",
    ),
    // Links
    (
        "masked link",
        "[text](https://example.com/a)",
        "<a href=\"https://example.com/a\" {R}>text</a>",
    ),
    (
        "masked link with formatted text",
        "[**b**](https://example.com/)",
        "<a href=\"https://example.com/\" {R}><strong>b</strong></a>",
    ),
    (
        "masked link with angle brackets",
        "[t](<https://example.com/>)",
        "<a href=\"https://example.com/\" {R}>t</a>",
    ),
    (
        "masked link url with balanced parentheses",
        "[w](https://en.wikipedia.org/wiki/Rust_(language))",
        "<a href=\"https://en.wikipedia.org/wiki/Rust_(language)\" {R}>w</a>",
    ),
    (
        "masked mailto link",
        "[mail](mailto:a@example.com)",
        "<a href=\"mailto:a@example.com\" {R}>mail</a>",
    ),
    (
        "masked link with another scheme is text",
        "[x](ftp://example.com/)",
        "[x](ftp://example.com/)",
    ),
    (
        "autolink",
        "see https://example.com/path",
        "see <a href=\"https://example.com/path\" {R}>https://example.com/path</a>",
    ),
    (
        "autolink trailing punctuation",
        "go to https://example.com/a. Then",
        "go to <a href=\"https://example.com/a\" {R}>https://example.com/a</a>. Then",
    ),
    (
        "autolink keeps a balanced parenthesis",
        "(https://en.wikipedia.org/wiki/Rust_(language))",
        "(<a href=\"https://en.wikipedia.org/wiki/Rust_(language)\" {R}>https://en.wikipedia.org/wiki/Rust_(language)</a>)",
    ),
    (
        "hidden link",
        "<https://example.com/>",
        "<a href=\"https://example.com/\" {R}>https://example.com/</a>",
    ),
    (
        "autolink url is re-serialised",
        "https://EXAMPLE.com/a b",
        "<a href=\"https://example.com/a\" {R}>https://EXAMPLE.com/a</a> b",
    ),
    (
        "url in inline code is not linked",
        "`https://example.com/`",
        "<code>https://example.com/</code>",
    ),
    // Escapes
    ("escaped star", "\\*not italic\\*", "*not italic*"),
    ("escaped underscore", "\\_a\\_", "_a_"),
    ("escaped backslash", "\\\\", "\\"),
    ("backslash before a letter stays", "\\a", "\\a"),
    (
        "escaped heading marker",
        "\\# not a heading",
        "# not a heading",
    ),
    (
        "escaped quote marker",
        "\\> not a quote",
        "&gt; not a quote",
    ),
    ("escaped list marker", "\\- not a list", "- not a list"),
    ("escaped backticks", "\\`not code\\`", "`not code`"),
    ("backslash before a newline stays", "a\\\nb", "a\\<br>b"),
    ("shrug keeps its underscores", "¯\\_(ツ)_/¯", "¯\\_(ツ)_/¯"),
    // Mentions
    (
        "everyone",
        "@everyone",
        "<span class=\"mention\">@everyone</span>",
    ),
    (
        "here",
        "hi @here",
        "hi <span class=\"mention\">@here</span>",
    ),
    (
        "user mention",
        "<@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>",
        "<span class=\"mention\">@Brave Otter</span>",
    ),
    (
        "user mention with bang",
        "<@!aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>",
        "<span class=\"mention\">@Brave Otter</span>",
    ),
    (
        "raw user id is an unknown user",
        "<@123456789012345678>",
        "<span class=\"mention\">@unknown user</span>",
    ),
    (
        "raw user id with bang is an unknown user",
        "<@!123456789012345678>",
        "<span class=\"mention\">@unknown user</span>",
    ),
    (
        "public channel mention links",
        "<#111111111111111111>",
        "<a class=\"mention\" href=\"/c/general/\">#general</a>",
    ),
    (
        "private channel mention",
        "<#222222222222222222>",
        "<span class=\"mention\">#private channel</span>",
    ),
    (
        "unknown channel mention",
        "<#444444444444444444>",
        "<span class=\"mention\">#unknown channel</span>",
    ),
    (
        "channel mention inside link text is not a link",
        "[see <#111111111111111111>](https://example.com/)",
        "<a href=\"https://example.com/\" {R}>see <span class=\"mention\">#general</span></a>",
    ),
    (
        "role mention with a known role",
        "<@&333333333333333333>",
        "<span class=\"mention\">@Moderators</span>",
    ),
    (
        "role mention with an unknown role",
        "<@&555555555555555555>",
        "<span class=\"mention\">@role</span>",
    ),
    (
        "discord channel url is a channel mention",
        "https://discord.com/channels/999999999999999999/111111111111111111/777777777777777777",
        "<a class=\"mention\" href=\"/c/general/\">#general</a>",
    ),
    (
        "discord cdn url is not shown",
        "https://cdn.discordapp.com/attachments/888888888888888888/777777777777777777/a.png",
        "<span class=\"mention\">Discord link</span>",
    ),
    // Emoji
    (
        "custom emoji",
        "<:blobcat:123456789012345678>",
        "<span class=\"emoji-custom\" title=\":blobcat:\">:blobcat:</span>",
    ),
    (
        "animated custom emoji",
        "<a:party:123456789012345678>",
        "<span class=\"emoji-custom\" title=\":party:\">:party:</span>",
    ),
    ("unicode emoji stays text", "🎉", "🎉"),
    // Commands and navigation
    (
        "slash command",
        "</ping:123456789012345678>",
        "<span class=\"mention\">/ping</span>",
    ),
    (
        "slash command with subcommand",
        "</role add:123456789012345678>",
        "<span class=\"mention\">/role add</span>",
    ),
    (
        "guild navigation",
        "<id:browse>",
        "<span class=\"mention\">Browse Channels</span>",
    ),
    (
        "guild navigation customize",
        "<id:customize>",
        "<span class=\"mention\">Channels &amp; Roles</span>",
    ),
    (
        "guild navigation guide",
        "<id:guide>",
        "<span class=\"mention\">Server Guide</span>",
    ),
    (
        "unknown guild navigation is text",
        "<id:nowhere>",
        "&lt;id:nowhere&gt;",
    ),
    (
        "masked link to a public discord channel links to its page",
        "[here](https://discord.com/channels/999999999999999999/111111111111111111)",
        "<a href=\"/c/general/\" {R}>here</a>",
    ),
    (
        "masked link to a private discord channel is text",
        "[here](https://discord.com/channels/999999999999999999/222222222222222222)",
        "here",
    ),
    // Timestamps
    (
        "timestamp default style",
        "<t:1480350000>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"f\">November 28, 2016 4:20 PM UTC</time>",
    ),
    (
        "timestamp short time",
        "<t:1480350000:t>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"t\">4:20 PM UTC</time>",
    ),
    (
        "timestamp long time",
        "<t:1480350000:T>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"T\">4:20:00 PM UTC</time>",
    ),
    (
        "timestamp short date",
        "<t:1480350000:d>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"d\">11/28/2016</time>",
    ),
    (
        "timestamp long date",
        "<t:1480350000:D>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"D\">November 28, 2016</time>",
    ),
    (
        "timestamp long date and time",
        "<t:1480350000:F>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"F\">Monday, November 28, 2016 4:20 PM UTC</time>",
    ),
    (
        "timestamp relative shows the absolute date",
        "<t:1480350000:R>",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"R\">November 28, 2016 4:20 PM UTC</time>",
    ),
    (
        "timestamp unknown style",
        "<t:1480350000:x>",
        "Invalid date",
    ),
    (
        "timestamp out of range",
        "<t:99999999999999999>",
        "Invalid date",
    ),
    (
        "timestamp overflowing i64",
        "<t:99999999999999999999999>",
        "Invalid date",
    ),
    (
        "negative timestamp",
        "<t:-86400:d>",
        "<time class=\"md-time\" datetime=\"1969-12-31T00:00:00Z\" data-style=\"d\">12/31/1969</time>",
    ),
    // Privacy inside escapes and code
    (
        "escaped token still hides its id",
        "\\<@123456789012345678>",
        "\\<span class=\"mention\">@unknown user</span>",
    ),
    (
        "mention in code shows the name, not the id",
        "`<@123456789012345678> <@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>`",
        "<code>@unknown user @Brave Otter</code>",
    ),
];

fn expected(template: &str) -> String {
    template.replace("{S}", SPOILER).replace("{R}", REL)
}

#[test]
fn every_fixture_renders_as_expected() {
    let mut failures = Vec::new();
    for (what, input, want) in FIXTURES {
        let got = html(input);
        let want = expected(want);
        if got != want {
            failures.push(format!(
                "{what}\n  input: {input:?}\n  want:  {want}\n  got:   {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_reads_back_through_ammonia_unchanged() {
    for (what, input, _) in FIXTURES {
        let raw = to_html_unsanitized(input, &TestResolver);
        assert_eq!(sanitize(&raw), raw, "{what}: ammonia changed the output");
    }
}

// Structure: block elements never inside phrasing ones, no interactive content inside links,
// every element closed in order.

const PHRASING: &[&str] = &[
    "strong", "em", "u", "s", "code", "a", "span", "label", "time", "small", "h3", "h4", "h5",
];
const BLOCKS: &[&str] = &["pre", "blockquote", "h3", "h4", "h5", "ul", "ol", "li"];
const VOID: &[&str] = &["br", "input"];

/// Checks the nesting rules of HTML5 that the renderer promises, on its own output.
fn check_structure(html: &str) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let list_top = open.last().filter(|o| ["ul", "ol"].contains(&o.as_str()));
        if let Some(list) = list_top.filter(|_| lt > 0) {
            return Err(format!("text directly inside <{list}>"));
        }
        rest = &rest[lt + 1..];
        let mut in_quotes = false;
        let gt = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quotes = !in_quotes;
                }
                c == '>' && !in_quotes
            })
            .map(|(i, _)| i)
            .ok_or("unterminated tag")?;
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name => {}
                top => return Err(format!("</{name}> closes {top:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let inside = |names: &[&str]| open.iter().any(|o| names.contains(&o.as_str()));
        if BLOCKS.contains(&name.as_str()) {
            let parent_phrasing = open
                .iter()
                .rev()
                .take_while(|o| !["blockquote", "li", "ul", "ol"].contains(&o.as_str()))
                .any(|o| PHRASING.contains(&o.as_str()));
            if parent_phrasing && name != "li" {
                return Err(format!("<{name}> inside phrasing: {open:?}"));
            }
        }
        if ["a", "label", "input"].contains(&name.as_str()) && inside(&["a"]) {
            return Err(format!("<{name}> inside <a>"));
        }
        if name == "label" && inside(&["label"]) {
            return Err("<label> inside <label>".to_owned());
        }
        if name == "li" && !matches!(open.last().map(String::as_str), Some("ul" | "ol")) {
            return Err("<li> outside a list".to_owned());
        }
        if let Some(list) = open.last().filter(|o| ["ul", "ol"].contains(&o.as_str()))
            && name != "li"
        {
            return Err(format!("<{name}> directly inside <{list}>"));
        }
        if !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    if let Some(list) = open.last().filter(|o| ["ul", "ol"].contains(&o.as_str())) {
        return Err(format!("unclosed <{list}>"));
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed {open:?}"))
    }
}

#[test]
fn every_fixture_is_well_formed() {
    for (what, input, _) in FIXTURES {
        let out = html(input);
        if let Err(problem) = check_structure(&out) {
            panic!("{what}: {problem}\n{out}");
        }
    }
}

#[test]
fn a_message_mixing_blocks_and_text_reads_as_discord_shows_it() {
    let input = "# Release\nWe shipped **v2**:\n- faster\n- ||secret|| feature\n> thanks to <@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>\n```sh\ncargo run\n```\n-# posted <t:1480350000:R>";
    let want = concat!(
        "<h3 class=\"md-h1\">Release</h3>",
        "We shipped <strong>v2</strong>:",
        "<ul><li>faster</li><li>{S}secret</span></label> feature</li></ul>",
        "<blockquote>thanks to <span class=\"mention\">@Brave Otter</span></blockquote>",
        "<pre><code class=\"language-sh\">cargo run</code></pre>",
        "<small class=\"md-subtext\">posted <time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"R\">November 28, 2016 4:20 PM UTC</time></small>",
    );
    assert_eq!(html(input), expected(want));
}

#[test]
fn structure_checker_rejects_misnested_html() {
    assert!(check_structure("<strong><pre>x</pre></strong>").is_err());
    assert!(check_structure("<a href=\"x\"><label>y</label></a>").is_err());
    assert!(check_structure("<strong>x").is_err());
    assert!(check_structure("<ul>x</ul>").is_err());
    assert!(check_structure("<strong>x</strong><br>").is_ok());
}

#[test]
fn block_markup_inside_inline_markup_stays_valid() {
    let inputs = [
        "**a\n```\ncode\n```\nb**",
        "||x ```y``` z||",
        "[a ```b``` c](https://example.com/)",
        "# a ```b``` c",
        "-# a ```b``` c",
        "- a ```b``` c",
        "> **a ```b``` c**",
        "**[x ||y ```z``` w|| v](https://example.com/)**",
    ];
    for input in inputs {
        let out = html(input);
        check_structure(&out).unwrap_or_else(|e| panic!("{input:?}: {e}\n{out}"));
        assert!(out.contains("<pre><code>"), "{input:?}: {out}");
    }
}

// Plain text

#[test]
fn plain_text_removes_markup_and_collapses_whitespace() {
    assert_eq!(plain("**bold** _it_ ~~s~~\n\n`code`"), "bold it s code");
    assert_eq!(plain("# Title\nbody"), "Title body");
    assert_eq!(plain("- a\n- b"), "a b");
    assert_eq!(plain("> quoted\ntext"), "quoted text");
    assert_eq!(plain("```rust\nlet x = 1;\n```"), "let x = 1;");
    assert_eq!(plain("[link text](https://example.com/)"), "link text");
}

#[test]
fn plain_text_shows_mentions_by_name() {
    assert_eq!(plain(&format!("hi <@{OTTER}>")), "hi @Brave Otter");
    assert_eq!(plain("<@123456789012345678>"), "@unknown user");
    assert_eq!(
        plain("<#111111111111111111> <#222222222222222222>"),
        "#general #private channel"
    );
    assert_eq!(
        plain("<:blobcat:123456789012345678> @everyone"),
        ":blobcat: @everyone"
    );
    assert_eq!(plain("<t:1480350000:D>"), "November 28, 2016");
}

#[test]
fn plain_text_hides_spoilers() {
    assert_eq!(plain("the end: ||he dies||!"), "the end: [spoiler]!");
}

#[test]
fn truncate_counts_characters_and_marks_the_cut() {
    assert_eq!(truncate("short", 10), "short");
    assert_eq!(truncate("exactly10!", 10), "exactly10!");
    assert_eq!(truncate("hello world", 6), "hello…");
    assert_eq!(truncate("ééééé", 3), "éé…");
    assert_eq!(truncate("🎉🎉🎉🎉", 2), "🎉…");
    assert_eq!(truncate("abc", 0), "");
}

// Jumbo emoji

#[test]
fn messages_of_only_emoji_are_jumbo() {
    assert!(is_emoji_only("🎉"));
    assert!(is_emoji_only(" 🎉 🎉\n"));
    assert!(is_emoji_only(
        "<:blobcat:123456789012345678><a:party:123456789012345678>"
    ));
    assert!(is_emoji_only("👍🏽"));
    assert!(is_emoji_only("🏳️‍🌈"));
    assert!(is_emoji_only("👨‍👩‍👧"));
    assert!(is_emoji_only("🇫🇷🇩🇪"));
    assert!(is_emoji_only("1️⃣"));
    assert!(is_emoji_only("❤️"));
    assert!(is_emoji_only(&"🎉".repeat(27)));
}

#[test]
fn messages_with_text_or_too_many_emoji_are_not_jumbo() {
    assert!(!is_emoji_only(""));
    assert!(!is_emoji_only("   "));
    assert!(!is_emoji_only("hi 🎉"));
    assert!(!is_emoji_only("1"));
    assert!(!is_emoji_only("©"));
    assert!(!is_emoji_only(&"🎉".repeat(28)));
    assert!(!is_emoji_only("<@123456789012345678>"));
    assert!(!is_emoji_only("**🎉**"));
}

// Hostile content

const HOSTILE_INPUTS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](\u{1}javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](<javascript:alert(1)>)",
    "javascript:alert(1)",
    "[click]( javascript:alert(1))",
    "[click](\njavascript:alert(1))",
    "[click](java\u{0}script:alert(1))",
    "[click](%6a%61vascript:alert(1))",
    "[click](https:javascript:alert(1))",
    "[click](//evil.example/)",
    "[<@123456789012345678>](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x](https://example.com/\"onmouseover=\"alert(1))",
    "https://example.com/\"onmouseover=\"alert(1)",
    "<https://example.com/\"><script>alert(1)</script>>",
    "[x](https://example.com/'onmouseover='alert(1))",
    "```\"><script>alert(1)</script>\nx```",
    "```js\"onclick=\"alert(1)\nx```",
    "```\n</pre><script>alert(1)</script>\n```",
    "`</code><script>alert(1)</script>`",
    "<t:1:t></time><script>alert(1)</script>",
    "**<b onclick=alert(1)>x</b>**",
    "||<iframe src=javascript:alert(1)>||",
    "> <style>body{display:none}</style>",
    "# <a href=javascript:alert(1)>x</a>",
    "- <form action=javascript:alert(1)><button>x</button></form>",
    "<:x onerror=alert(1):123>",
    "<a:x\"onload=\"y:123456789012345678>",
    "</x onclick=alert(1):123>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!-- comment --><script>alert(1)</script>",
    "\u{202E}txt.exe\u{202C} \u{200B}zero\u{200D}width\u{FEFF}",
    "**__~~||*_nested_*||~~__**",
    "<@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb>",
    "[x](https://example.com/\u{0}javascript:alert(1))",
    "a\u{0}b\rc\r\nd",
    "\u{A0}&nbsp;&amp;",
];

fn assert_harmless(input: &str, out: &str) {
    let lower = out.to_lowercase();
    assert!(!lower.contains("<script"), "{input:?}: script in {out}");
    assert!(!lower.contains("<img"), "{input:?}: img in {out}");
    assert!(!lower.contains("<iframe"), "{input:?}: iframe in {out}");
    assert!(!lower.contains("<style"), "{input:?}: style in {out}");
    assert!(!lower.contains("href=\"javascript:"), "{input:?}: {out}");
    assert!(!lower.contains("href=\"data:"), "{input:?}: {out}");
    assert!(!lower.contains("href=\"vbscript:"), "{input:?}: {out}");
    // Outside text, no attribute named on*: scan the tags only.
    for tag in out
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let tag = tag.to_lowercase();
        let mut in_quotes = false;
        let mut outside = String::new();
        for c in tag.chars() {
            if c == '"' {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                outside.push(c);
            }
        }
        assert!(
            !outside
                .split_whitespace()
                .skip(1)
                .any(|attr| attr.starts_with("on")),
            "{input:?}: event handler attribute in <{tag}>"
        );
        assert!(
            !outside.contains("javascript:"),
            "{input:?}: javascript: in <{tag}>"
        );
    }
}

#[test]
fn hostile_content_renders_harmless() {
    for input in HOSTILE_INPUTS {
        let out = html(input);
        assert_harmless(input, &out);
        check_structure(&out).unwrap_or_else(|e| panic!("{input:?}: {e}\n{out}"));
    }
}

#[test]
fn hostile_content_reads_back_through_ammonia_unchanged() {
    for input in HOSTILE_INPUTS {
        let raw = to_html_unsanitized(input, &TestResolver);
        assert_eq!(sanitize(&raw), raw, "{input:?}");
    }
}

#[test]
fn unsafe_links_are_left_as_text() {
    for input in [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html,x)",
        "[click](vbscript:x)",
        "[click](&#106;avascript:alert(1))",
    ] {
        assert!(!html(input).contains("<a"), "{input:?}: {}", html(input));
    }
}

#[test]
fn quotes_in_urls_and_languages_cannot_break_out_of_attributes() {
    let out = html("[x](https://example.com/\"onmouseover=\"alert(1))");
    assert!(
        out.contains("href=\"https://example.com/%22onmouseover=%22alert(1)\""),
        "{out}"
    );
    let out = html("```js\"onclick=\"alert(1)\nx```");
    assert!(!out.contains("class="), "{out}");
}

#[test]
fn hostile_names_are_escaped() {
    let out = html(&format!("<@{HOSTILE}>"));
    assert!(
        out.starts_with("<span class=\"mention\">@&lt;script&gt;alert(1)&lt;/script&gt;\"'&amp;")
    );
    assert!(out.ends_with(&format!("{}</span>", "x".repeat(1000))));
}

#[test]
fn sanitize_removes_what_the_renderer_never_writes() {
    let dirty = concat!(
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\" rel=\"nofollow ugc noopener\">x</a>",
        "<a href=\"https://example.com/\" onclick=\"alert(1)\" rel=\"opener\">y</a>",
        "<span class=\"mention evil\" style=\"color:red\">z</span>",
        "<code class=\"language-js x\">c</code>",
        "<input type=\"text\" class=\"spoiler-toggle\">",
        "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\" data-style=\"q\">t</time>",
        "<div>d</div><p>p</p><h1>h</h1>"
    );
    assert_eq!(
        sanitize(dirty),
        concat!(
            "<a rel=\"nofollow ugc noopener\">x</a>",
            "<a href=\"https://example.com/\">y</a>",
            "<span class=\"mention\">z</span>",
            "<code>c</code>",
            "<input class=\"spoiler-toggle\">",
            "<time class=\"md-time\" datetime=\"2016-11-28T16:20:00Z\">t</time>",
            "dph"
        )
    );
}

// Privacy

#[test]
fn no_digit_of_a_raw_id_reaches_the_output() {
    let inputs = [
        "<@123456789012345678>",
        "<@!123456789012345678>",
        "<#123456789012345678>",
        "<#!123456789012345678>",
        "<#111111111111111111>",
        "<#222222222222222222>",
        "<@&123456789012345678>",
        "<:name:123456789012345678>",
        "<a:name:123456789012345678>",
        "</cmd sub:123456789012345678>",
        "<id:linked-roles:123456789012345678>",
        "\\<@123456789012345678>",
        "`<@123456789012345678> <#123456789012345678> <:e:123456789012345678>`",
        "```\n<@&123456789012345678> </c:123456789012345678>\n```",
        "**<@123456789012345678>** ||<#123456789012345678>||",
        "[<@123456789012345678>](https://example.com/)",
        "https://discord.com/channels/123456789012345678/123456789012345678/123456789012345678",
        "https://discord.com/channels/@me/123456789012345678",
        "[x](https://discord.com/channels/123456789012345678/123456789012345678)",
        "https://cdn.discordapp.com/emojis/123456789012345678.png",
        "<https://media.discordapp.net/attachments/123456789012345678/1234567890123456789/a.png>",
    ];
    for input in inputs {
        for out in [html(input), plain(input)] {
            assert!(
                !out.chars().any(|c| c.is_ascii_digit()),
                "{input:?} leaked a digit: {out}"
            );
        }
    }
}

#[test]
fn no_author_hash_reaches_the_output() {
    for input in [
        format!("<@{OTTER}>"),
        format!("\\<@{OTTER}>"),
        format!("`<@{OTTER}>`"),
        format!("```\n<@!{OTTER}>\n```"),
        format!("[<@{OTTER}>](https://example.com/)"),
    ] {
        for out in [html(&input), plain(&input)] {
            assert!(!out.contains(&OTTER[..16]), "{input:?}: {out}");
        }
    }
}

// Adversarial input: no panic, bounded time, well-formed output.

fn render_checked(input: &str) -> String {
    let started = std::time::Instant::now();
    let raw = to_html_unsanitized(input, &TestResolver);
    let _ = to_plain(input, &TestResolver);
    let _ = is_emoji_only(input);
    // Generous for a debug build on a shared machine; quadratic work on these inputs takes
    // minutes.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{} bytes took {:?}",
        input.len(),
        started.elapsed()
    );
    check_structure(&raw).unwrap_or_else(|e| panic!("{e}"));
    raw
}

#[test]
fn adversarial_input_renders_in_bounded_time() {
    let long_line: String = "word ".repeat(20_000);
    let inputs = [
        "*".repeat(10_000),
        "||".repeat(10_000),
        "_".repeat(10_000),
        "~".repeat(10_000),
        "`".repeat(10_000),
        "**a".repeat(30_000),
        "*a ".repeat(30_000),
        "_a ".repeat(30_000),
        "||a".repeat(30_000),
        "[a](".repeat(25_000),
        format!("{})", "[a](".repeat(25_000)),
        "[a](https://example.com/(".repeat(5_000),
        "<https://a.example/>>".repeat(10_000),
        format!("https://a.example/{}", ")".repeat(4_000)).repeat(20),
        "[".repeat(100_000),
        "<t:".repeat(30_000),
        "<@".repeat(50_000),
        "https://".repeat(12_000),
        format!("https://example.com/{}", "a".repeat(100_000)),
        "```a\n".repeat(20_000),
        "> a\n".repeat(25_000),
        "- a\n".repeat(25_000),
        format!("{}x", " - a\n ".repeat(20_000)),
        "\\".repeat(100_000),
        long_line,
    ];
    for input in &inputs {
        render_checked(input);
    }
}

#[test]
fn nesting_deeper_than_the_limit_renders_as_text() {
    // Inline markers close at their first closer, so lists nested by indentation are how
    // markup gets deep.
    let input: String = (0..60)
        .map(|i| format!("{}- item {i}\n", " ".repeat(i)))
        .collect();
    let out = render_checked(&input);
    let lists = out.matches("<ul>").count();
    assert!((16..=32).contains(&lists), "{lists} lists: {out}");
    assert!(out.contains("- item 59"), "{out}");
}

/// A small deterministic generator, so a failure reproduces.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_markup_soup_never_panics_and_stays_well_formed() {
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
        "``",
        "```",
        "```js\n",
        "> ",
        ">>> ",
        "# ",
        "## ",
        "-# ",
        "- ",
        "1. ",
        "  ",
        "\n",
        "\\",
        "[",
        "](",
        ")",
        "(",
        "<",
        ">",
        "https://example.com/",
        "<https://a.example/>",
        "@everyone",
        "<@123>",
        "<@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>",
        "<#111111111111111111>",
        "<:e:1>",
        "<t:0:R>",
        "</a:1>",
        "a",
        "word",
        " ",
        "é",
        "🎉",
        "&",
        "\"",
        "'",
        "javascript:",
        "\r",
        "\u{0}",
        "\u{A0}",
        "¯\\_(ツ)_/¯",
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3_000 {
        let len = (rng.next() % 40) as usize;
        let input: String = (0..len)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect();
        let raw = render_checked(&input);
        assert_eq!(sanitize(&raw), raw, "{input:?}");
        assert_harmless(&input, &raw);
    }
}
