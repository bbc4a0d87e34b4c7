//! A tenant's branding turned into the site's colours, readable whatever the tenant picked.
//!
//! `tenant_branding` holds three `#rrggbb` colours and a logo. The site uses the primary colour
//! as the header's background (with black or white text, whichever reads better, the colour
//! itself darkened or lightened until that text reaches WCAG AA) and for links, the secondary
//! colour for secondary text (category headings, badges, the pager) and the accent colour for
//! mentions and highlights. All but the header are text on the page background, so each gets a
//! light-theme and a dark-theme variant moved towards black or white until it reaches 4.5:1
//! against that background.

use std::fmt::Write as _;

/// WCAG AA for normal text.
pub const AA: f64 = 4.5;

/// Page background of the light theme (must match `--bg` in site.css).
pub const LIGHT_BG: Rgb = Rgb(0xff, 0xff, 0xff);
/// Page background of the dark theme (must match `--bg` in site.css).
pub const DARK_BG: Rgb = Rgb(0x1a, 0x1b, 0x1e);

/// The colours used when a tenant has no branding (the reference schema's column defaults).
pub const DEFAULT_PRIMARY: Rgb = Rgb(0x3b, 0x82, 0xf6);
/// Default secondary colour.
pub const DEFAULT_SECONDARY: Rgb = Rgb(0x64, 0x74, 0x8b);
/// Default accent colour.
pub const DEFAULT_ACCENT: Rgb = Rgb(0x10, 0xb9, 0x81);

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parse `#rrggbb` (either case); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Self(byte(0)?, byte(2)?, byte(4)?))
    }

    /// `#rrggbb`, lower case.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    pub fn luminance(self) -> f64 {
        fn channel(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// WCAG contrast ratio between two colours (1 to 21).
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }

    /// This colour moved `t` (0..=1) of the way towards `to`.
    fn mix(self, to: Rgb, t: f64) -> Rgb {
        let m = |a: u8, b: u8| {
            let v = f64::from(a) + (f64::from(b) - f64::from(a)) * t;
            // In 0..=255: a convex combination of two bytes.
            v.round().clamp(0.0, 255.0) as u8
        };
        Rgb(m(self.0, to.0), m(self.1, to.1), m(self.2, to.2))
    }
}

const BLACK: Rgb = Rgb(0, 0, 0);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

/// `color`, moved towards black or white (whichever is further from `bg`) just far enough to
/// reach `ratio` against `bg`; `color` itself when it already does.
pub fn readable_on(color: Rgb, bg: Rgb, ratio: f64) -> Rgb {
    if color.contrast(bg) >= ratio {
        return color;
    }
    let target = if bg.luminance() > 0.18 { BLACK } else { WHITE };
    // Contrast grows monotonically along the mix towards the target: bisect the smallest step.
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..20 {
        let mid = (lo + hi) / 2.0;
        if color.mix(target, mid).contrast(bg) >= ratio {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    color.mix(target, hi)
}

/// Contrast with white above which a fill keeps white text (the fill darkened to AA) rather than
/// taking black text: saturated brand colours such as `#3b82f6` (3.7:1) read as themselves with
/// white text on a slightly deeper shade, where black text would look like an error.
const WHITE_TEXT_FROM: f64 = 3.0;

/// A background colour and the text colour to write on it, both adjusted so the pair reaches
/// AA: white text when the fill is dark or mid-toned (the fill darkened just enough), else black
/// text (the fill lightened when even black falls short).
pub fn fill_and_text(fill: Rgb) -> (Rgb, Rgb) {
    let text = if fill.contrast(WHITE) >= WHITE_TEXT_FROM {
        WHITE
    } else {
        BLACK
    };
    (readable_on(fill, text, AA), text)
}

/// The site's colours for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Header background.
    pub brand: Rgb,
    /// Text on the header background.
    pub on_brand: Rgb,
    /// Links, light theme.
    pub link_light: Rgb,
    /// Links, dark theme.
    pub link_dark: Rgb,
    /// Secondary text, light theme.
    pub secondary_light: Rgb,
    /// Secondary text, dark theme.
    pub secondary_dark: Rgb,
    /// Mentions and highlights, light theme.
    pub accent_light: Rgb,
    /// Mentions and highlights, dark theme.
    pub accent_dark: Rgb,
}

impl Theme {
    /// The theme for the given branding colours (`#rrggbb`; an invalid value falls back to the
    /// default of that slot).
    pub fn new(primary: Option<&str>, secondary: Option<&str>, accent: Option<&str>) -> Self {
        let pick = |v: Option<&str>, d: Rgb| v.and_then(Rgb::parse).unwrap_or(d);
        let primary = pick(primary, DEFAULT_PRIMARY);
        let secondary = pick(secondary, DEFAULT_SECONDARY);
        let accent = pick(accent, DEFAULT_ACCENT);
        let (brand, on_brand) = fill_and_text(primary);
        Self {
            brand,
            on_brand,
            link_light: readable_on(primary, LIGHT_BG, AA),
            link_dark: readable_on(primary, DARK_BG, AA),
            secondary_light: readable_on(secondary, LIGHT_BG, AA),
            secondary_dark: readable_on(secondary, DARK_BG, AA),
            accent_light: readable_on(accent, LIGHT_BG, AA),
            accent_dark: readable_on(accent, DARK_BG, AA),
        }
    }

    /// The CSS custom properties site.css reads, as one `:root` rule (only hex colours: safe to
    /// inline in a `<style>` element).
    pub fn css(&self) -> String {
        let mut out = String::with_capacity(160);
        let _ = write!(
            out,
            ":root{{--brand:{};--on-brand:{};--link-l:{};--link-d:{};--second-l:{};--second-d:{};--accent-l:{};--accent-d:{}}}",
            self.brand.hex(),
            self.on_brand.hex(),
            self.link_light.hex(),
            self.link_dark.hex(),
            self.secondary_light.hex(),
            self.secondary_dark.hex(),
            self.accent_light.hex(),
            self.accent_dark.hex()
        );
        out
    }
}

impl Default for Theme {
    fn default() -> Self {
        Self::new(None, None, None)
    }
}

/// A logo the site may show: a base64 `data:` URI of a raster or SVG image (an `<img>` never runs
/// an SVG's script). Anything else, a remote URL included (pages load nothing from other
/// origins), is `None`.
pub fn safe_logo(logo: Option<&str>) -> Option<&str> {
    let logo = logo?.trim();
    let rest = ["png", "jpeg", "gif", "webp", "svg+xml"]
        .iter()
        .find_map(|kind| {
            logo.strip_prefix("data:image/")
                .and_then(|r| r.strip_prefix(kind))
                .and_then(|r| r.strip_prefix(";base64,"))
        })?;
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    (!rest.is_empty() && rest.bytes().all(base64)).then_some(logo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_six_digit_hex() {
        assert_eq!(Rgb::parse("#3B82f6"), Some(Rgb(0x3b, 0x82, 0xf6)));
        for bad in ["3b82f6", "#3b82f", "#3b82f6a", "#gggggg", "", "#", "#ééé"] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((BLACK.contrast(WHITE) - 21.0).abs() < 1e-9);
        assert!((Rgb(0x77, 0x77, 0x77).contrast(WHITE) - 4.48).abs() < 0.01);
    }

    #[test]
    fn every_colour_a_tenant_can_pick_is_made_readable() {
        // A coarse walk of the whole cube, plus the worst mid-tones.
        let steps = [0u8, 0x33, 0x66, 0x77, 0x80, 0x99, 0xcc, 0xff];
        for &r in &steps {
            for &g in &steps {
                for &b in &steps {
                    let c = Rgb(r, g, b).hex();
                    let t = Theme::new(Some(&c), Some(&c), Some(&c));
                    assert!(t.brand.contrast(t.on_brand) >= AA, "{c} header");
                    assert!(t.link_light.contrast(LIGHT_BG) >= AA, "{c} link light");
                    assert!(t.link_dark.contrast(DARK_BG) >= AA, "{c} link dark");
                    assert!(
                        t.secondary_light.contrast(LIGHT_BG) >= AA,
                        "{c} secondary light"
                    );
                    assert!(
                        t.secondary_dark.contrast(DARK_BG) >= AA,
                        "{c} secondary dark"
                    );
                    assert!(t.accent_light.contrast(LIGHT_BG) >= AA, "{c} accent light");
                    assert!(t.accent_dark.contrast(DARK_BG) >= AA, "{c} accent dark");
                }
            }
        }
    }

    #[test]
    fn brand_colours_keep_white_text_and_light_ones_take_black() {
        let (fill, text) = fill_and_text(DEFAULT_PRIMARY);
        assert_eq!(text, WHITE);
        assert!(
            fill.contrast(WHITE) >= AA && fill != DEFAULT_PRIMARY,
            "{fill:?}"
        );
        assert_eq!(
            fill_and_text(Rgb(0xff, 0xff, 0x00)),
            (Rgb(0xff, 0xff, 0x00), BLACK)
        );
        assert_eq!(
            fill_and_text(Rgb(0x1e, 0x3a, 0x8a)),
            (Rgb(0x1e, 0x3a, 0x8a), WHITE)
        );
    }

    #[test]
    fn readable_colours_are_kept_as_they_are() {
        let navy = Rgb(0x1e, 0x3a, 0x8a);
        assert_eq!(readable_on(navy, LIGHT_BG, AA), navy);
    }

    #[test]
    fn invalid_branding_falls_back_to_defaults_and_css_holds_only_hex() {
        let t = Theme::new(Some("red;}</style><script>"), Some("#zzzzzz"), None);
        assert_eq!(t, Theme::default());
        let css = t.css();
        assert!(
            css.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":;{}#-".contains(c))
        );
    }

    #[test]
    fn only_base64_image_data_uris_are_logos() {
        assert!(safe_logo(Some("data:image/png;base64,iVBORw0KGgo=")).is_some());
        assert!(safe_logo(Some("data:image/svg+xml;base64,PHN2Zz4=")).is_some());
        for bad in [
            "https://example.org/logo.png",
            "javascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "data:image/png;base64,\"><script>",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "data:image/png;base64,",
        ] {
            assert_eq!(safe_logo(Some(bad)), None, "{bad}");
        }
    }
}
