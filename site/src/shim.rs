//! Interim stand-ins for the markdown, avatar and pseudonym modules (replaced at merge).
pub mod markdown {
    pub struct UserRef {
        pub name: String,
    }
    pub struct ChannelRef {
        pub name: String,
        pub url: String,
    }
    pub trait Resolver {
        fn user(&self, pseudonym_hash: &str) -> UserRef;
        fn channel(&self, snowflake: &str) -> Option<ChannelRef>;
    }
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    pub fn to_html(content: &str, _r: &dyn Resolver) -> String {
        esc(content).replace('\n', "<br>")
    }
    pub fn to_plain(content: &str, _r: &dyn Resolver) -> String {
        content.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    pub fn truncate(text: &str, max: usize) -> String {
        if text.chars().count() <= max {
            text.to_owned()
        } else {
            let mut s: String = text.chars().take(max).collect();
            s.push('…');
            s
        }
    }
    pub fn is_emoji_only(_c: &str) -> bool {
        false
    }
}
