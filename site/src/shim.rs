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
pub mod avatar {
    pub fn svg(seed: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 100\"><title>{}</title><rect width=\"100\" height=\"100\" fill=\"#b6e3f4\"/></svg>",
            seed.len()
        )
    }
    pub fn seed_for(h: &str) -> &str {
        h.get(..16).unwrap_or(h)
    }
    pub fn is_valid_seed(s: &str) -> bool {
        s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }
}
pub mod pseudonym {
    pub fn name(h: &str) -> String {
        format!("User {}", h.len())
    }
    pub fn tag(h: &str) -> String {
        h.get(..4).unwrap_or("").to_owned()
    }
}
