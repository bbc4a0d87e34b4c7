//! Deterministic author avatars: a Rust port of DiceBear 9's "shapes" style, so that every
//! author keeps the look the original site gave them.
//!
//! Ported from `@dicebear/core` 9.2.4 (`lib/core.js`, `lib/utils/{prng,color,svg,license}.js`)
//! and `@dicebear/shapes` 9.2.4 (`lib/index.js`, `lib/hooks/onPreCreate.js`, `lib/utils/*`,
//! `lib/components/*`, `lib/schema.js`). The DiceBear code is MIT licensed (Copyright (c)
//! Florian Körner); the "Shapes" design, whose path data is below, is CC0 1.0 by DiceBear.
//!
//! The original called `createAvatar(shapes, { seed, size: 128, backgroundColor: [..] })`; only
//! that configuration is ported, with every default of that call folded in (clip on, no random
//! ids, solid background). The output equals DiceBear's byte for byte, including the rare
//! cases where DiceBear's PRNG returns one past the top of a range (see [`Prng::integer`]);
//! `site/tests/avatar.rs` compares it with SVGs that DiceBear itself produced.
//!
//! The whole picture is a function of one 32-bit hash of the seed, so [`etag`] can name the
//! document without rendering it.

use std::fmt::Write;

/// The site's avatar seeds: this many lowercase hex characters of an author's pseudonymised id.
pub const SEED_LEN: usize = 16;

/// The seed used when [`seed_for`] is given something that is not a pseudonymised id, so that
/// such an author still gets a valid avatar URL instead of a broken image.
pub const FALLBACK_SEED: &str = "0000000000000000";

/// The shape colours of the style (`shape1Color`..`shape3Color` default).
const SHAPE_COLORS: [&str; 5] = ["#0a5b83", "#1c799f", "#69d2e7", "#f1f4dc", "#f88c49"];

/// The background palette the original passed (`backgroundColor` option). It shares no colour
/// with [`SHAPE_COLORS`], so the pre-create hook never removes one from it.
const BACKGROUND_COLORS: [&str; 5] = ["#b6e3f4", "#c0aede", "#d1d4f9", "#ffd5dc", "#ffdfbf"];

/// What DiceBear prints when a shuffle leaves a hole at the front of the background list:
/// `convertColor(undefined)`.
const UNDEFINED_COLOR: &str = "#undefined";

/// DiceBear's fallback colour when a pick misses (`pick(arr, 'transparent')`).
const TRANSPARENT: &str = "transparent";

/// The opening tag, the licence metadata (`license.xml(shapes)`), the clip mask that the
/// default `clip: true` adds, and the start of the masked group.
const HEAD: &str = concat!(
    r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" fill="none" shape-rendering="auto" width="128" height="128">"#,
    r#"<metadata xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">"#,
    r#"<rdf:RDF><rdf:Description><dc:title>Shapes</dc:title><dc:creator>DiceBear</dc:creator>"#,
    r#"<dc:source xsi:type="dcterms:URI">https://www.dicebear.com</dc:source>"#,
    r#"<dcterms:license xsi:type="dcterms:URI">https://creativecommons.org/publicdomain/zero/1.0/</dcterms:license>"#,
    r#"<dc:rights>„Shapes” (https://www.dicebear.com) by „DiceBear”, licensed under „CC0 1.0” (https://creativecommons.org/publicdomain/zero/1.0/)</dc:rights>"#,
    r#"</rdf:Description></rdf:RDF></metadata>"#,
    r##"<mask id="viewboxMask"><rect width="100" height="100" rx="0" ry="0" x="0" y="0" fill="#fff" /></mask>"##,
    r#"<g mask="url(#viewboxMask)">"#,
);

const TAIL: &str = "</g></svg>";

/// The seven shape variants, in the order of the style's component table.
#[derive(Clone, Copy)]
enum Variant {
    Rectangle,
    RectangleFilled,
    EllipseFilled,
    Ellipse,
    PolygonFilled,
    Polygon,
    Line,
}

use Variant::*;

/// The variants each shape may take (the schema's `shape1`..`shape3` defaults, in order: the
/// PRNG indexes into these lists).
const SHAPE1_VARIANTS: &[Variant] = &[RectangleFilled, EllipseFilled, PolygonFilled];
const SHAPE2_VARIANTS: &[Variant] = &[RectangleFilled, EllipseFilled, PolygonFilled, Line];
const SHAPE3_VARIANTS: &[Variant] = &[
    Rectangle,
    RectangleFilled,
    EllipseFilled,
    Ellipse,
    PolygonFilled,
    Polygon,
    Line,
];

/// One shape's ranges (schema defaults) and the scaling group that draws it.
struct ShapeSpec {
    variants: &'static [Variant],
    rotation: (i32, i32),
    offset_x: (i32, i32),
    offset_y: (i32, i32),
    group: &'static str,
}

const SHAPES: [ShapeSpec; 3] = [
    ShapeSpec {
        variants: SHAPE1_VARIANTS,
        rotation: (-160, 160),
        offset_x: (-65, 65),
        offset_y: (-45, 45),
        group: r#"<g transform="matrix(1.2 0 0 1.2 -10 -10)">"#,
    },
    ShapeSpec {
        variants: SHAPE2_VARIANTS,
        rotation: (-180, 180),
        offset_x: (-40, 40),
        offset_y: (-40, 40),
        group: r#"<g transform="matrix(.8 0 0 .8 10 10)">"#,
    },
    ShapeSpec {
        variants: SHAPE3_VARIANTS,
        rotation: (-180, 180),
        offset_x: (-25, 25),
        offset_y: (-25, 25),
        group: r#"<g transform="matrix(.4 0 0 .4 30 30)">"#,
    },
];

/// A picked shape: `variant` is `None` when DiceBear's pick missed, which draws nothing.
struct Shape {
    variant: Option<Variant>,
    rotation: i32,
    offset_x: i32,
    offset_y: i32,
}

/// DiceBear's PRNG (`utils/prng.js`): xorshift32 over a 32-bit hash of the seed.
struct Prng {
    value: i32,
}

fn xorshift(mut value: i32) -> i32 {
    value ^= value << 13;
    value ^= value >> 17;
    value ^= value << 5;
    value
}

/// `hashSeed`: JavaScript's `(h << 5) - h + c | 0` per UTF-16 code unit, i.e. wrapping i32.
fn hash_units(units: impl Iterator<Item = u16>) -> i32 {
    units.fold(0i32, |hash, unit| {
        xorshift((hash << 5).wrapping_sub(hash).wrapping_add(i32::from(unit)))
    })
}

/// The hash of `value.toString()` for a 32-bit integer, without allocating: a shuffle seeds
/// its inner PRNG with the decimal text of one draw.
fn hash_decimal(value: i32) -> i32 {
    let mut digits = [0u8; 11];
    let mut len = 0;
    let mut rest = value.unsigned_abs();
    loop {
        // `rest % 10` is below 10, so the cast cannot truncate.
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let sign = (value < 0).then_some(u16::from(b'-'));
    let units = digits[..len].iter().rev().map(|d| u16::from(*d));
    hash_units(sign.into_iter().chain(units))
}

impl Prng {
    fn from_hash(hash: i32) -> Self {
        Self {
            value: if hash == 0 { 1 } else { hash },
        }
    }

    fn next(&mut self) -> i32 {
        self.value = xorshift(self.value);
        self.value
    }

    /// DiceBear's `integer(min, max)`, in f64 exactly as JavaScript computes it. When a draw
    /// is `i32::MAX` the result is `max + 1`; that is kept, because the output must match.
    fn integer(&mut self, min: i32, max: i32) -> i32 {
        let span = f64::from(i32::MAX) - f64::from(i32::MIN);
        let unit = (f64::from(self.next()) - f64::from(i32::MIN)) / span;
        // The value lies in [min, max + 1], well inside i32 for the small ranges used here.
        (unit * (f64::from(max) + 1.0 - f64::from(min)) + f64::from(min)).floor() as i32
    }

    /// DiceBear's `pick`: an index into a list of `len` items, or `None` where JavaScript
    /// would read past the end (or the list is empty) and use the fallback. Always one draw.
    fn pick(&mut self, len: usize) -> Option<usize> {
        if len == 0 {
            self.next();
            return None;
        }
        let max = i32::try_from(len - 1).unwrap_or(i32::MAX);
        usize::try_from(self.integer(0, max))
            .ok()
            .filter(|i| *i < len)
    }

    /// The first element after DiceBear's `shuffle` of [`BACKGROUND_COLORS`] (one draw). An
    /// inner draw of `i32::MAX` swaps slot `i` with slot `i + 1`, as JavaScript does; at the
    /// last slot that would leave a hole (`None`). No 32-bit draw's decimal text seeds an inner
    /// PRNG that does so for five colours (an exhaustive search found none), but the port stays
    /// exact rather than rely on it.
    fn shuffled_background_first(&mut self) -> Option<&'static str> {
        let mut inner = Prng::from_hash(hash_decimal(self.next()));
        let mut slots: [Option<&'static str>; BACKGROUND_COLORS.len() + 1] =
            [None; BACKGROUND_COLORS.len() + 1];
        for (slot, color) in slots.iter_mut().zip(BACKGROUND_COLORS) {
            *slot = Some(color);
        }
        for i in (1..BACKGROUND_COLORS.len()).rev() {
            let max = i32::try_from(i).unwrap_or(i32::MAX);
            let j = usize::try_from(inner.integer(0, max)).unwrap_or(0);
            if j < slots.len() {
                slots.swap(i, j);
            }
        }
        slots[0]
    }
}

/// The full SVG document of the avatar for `seed`: DiceBear 9 "shapes" at 128 × 128 with the
/// original's background palette, identical to what DiceBear returns for the same seed. Any
/// string is accepted (the site passes 16-hex seeds, see [`seed_for`]); it never panics, and
/// allocates only the returned string. Responses are meant to be cached (see [`etag`]).
pub fn svg(seed: &str) -> String {
    render(seed_hash(seed))
}

/// A strong ETag (with its quotes) for [`svg`]`(seed)`. Equal ETags mean byte-identical
/// documents: the picture depends on the seed only through a 32-bit hash, which the tag holds.
pub fn etag(seed: &str) -> String {
    // The hash is printed as its two's-complement bit pattern.
    format!("\"shapes9-{:08x}\"", seed_hash(seed) as u32)
}

/// The avatar seed of an author: the first [`SEED_LEN`] characters of their pseudonymised id
/// (never the whole id). Returns [`FALLBACK_SEED`] when the input does not start with
/// [`SEED_LEN`] lowercase hex characters, so the result always passes [`is_valid_seed`].
pub fn seed_for(pseudonym_hash: &str) -> &str {
    match pseudonym_hash.get(..SEED_LEN) {
        Some(prefix) if is_valid_seed(prefix) => prefix,
        _ => FALLBACK_SEED,
    }
}

/// Whether `s` is a seed the avatar route serves: exactly [`SEED_LEN`] lowercase hex
/// characters. Anything else is to be answered with a 404.
pub fn is_valid_seed(s: &str) -> bool {
    s.len() == SEED_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn seed_hash(seed: &str) -> i32 {
    hash_units(seed.encode_utf16())
}

/// `createAvatar` with the shapes style, in DiceBear's order of PRNG draws.
fn render(hash: i32) -> String {
    let mut prng = Prng::from_hash(hash);

    // The pre-create hook: one colour per shape, avoiding colours already taken while any
    // remain. A missed pick yields "transparent", which is in no palette.
    let mut used = [false; SHAPE_COLORS.len()];
    let mut shape_colors = [None; 3];
    for shape_color in &mut shape_colors {
        let free = used.iter().filter(|u| !**u).count();
        let all_taken = free == 0;
        let available = if all_taken { SHAPE_COLORS.len() } else { free };
        let picked = prng.pick(available).and_then(|n| {
            (0..SHAPE_COLORS.len())
                .filter(|i| all_taken || !used[*i])
                .nth(n)
        });
        if let Some(color) = picked {
            used[color] = true;
            *shape_color = Some(color);
        }
    }

    // The components: variant, rotation, offset x, offset y, per shape.
    let shapes = SHAPES.each_ref().map(|spec| Shape {
        variant: prng
            .pick(spec.variants.len())
            .and_then(|i| spec.variants.get(i).copied()),
        rotation: prng.integer(spec.rotation.0, spec.rotation.1),
        offset_x: prng.integer(spec.offset_x.0, spec.offset_x.1),
        offset_y: prng.integer(spec.offset_y.0, spec.offset_y.1),
    });

    // The colours: each shape's palette now holds one colour (or "transparent"), and picking
    // from a one-element list can still miss.
    let colors = shape_colors.map(|picked| {
        let color = picked.and_then(|i| SHAPE_COLORS.get(i).copied());
        match prng.pick(1) {
            Some(_) => color.unwrap_or(TRANSPARENT),
            None => TRANSPARENT,
        }
    });

    // The core: background type (one draw over ["solid"]) and background colours (two
    // shuffles, the first one's result unused). Its last draw, the background rotation, only
    // matters to gradients and is left out.
    prng.pick(1);
    prng.shuffled_background_first();
    let background = prng.shuffled_background_first().unwrap_or(UNDEFINED_COLOR);

    let mut out = String::with_capacity(2048);
    out.push_str(HEAD);
    out.push_str(r#"<rect fill=""#);
    out.push_str(background);
    out.push_str(r#"" width="100" height="100" x="0" y="0" />"#);
    for ((spec, shape), color) in SHAPES.iter().zip(&shapes).zip(colors) {
        out.push_str(spec.group);
        if let Some(variant) = shape.variant {
            write_shape(&mut out, shape, variant, color);
        }
        out.push_str("</g>");
    }
    out.push_str(TAIL);
    out
}

fn write_shape(out: &mut String, shape: &Shape, variant: Variant, color: &str) {
    let moved = shape.rotation != 0 || shape.offset_x != 0 || shape.offset_y != 0;
    if moved {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"<g transform="translate({}, {}) rotate({} 50 50)">"#,
            shape.offset_x, shape.offset_y, shape.rotation
        );
    }
    let (before, after) = match variant {
        Rectangle => (
            r#"<path fill-rule="evenodd" clip-rule="evenodd" d="M90 10H10v80h80V10ZM0 0v100h100V0H0Z" fill=""#,
            r#""/>"#,
        ),
        RectangleFilled => (r#"<path d="M0 0h100v100H0V0Z" fill=""#, r#""/>"#),
        EllipseFilled => (
            r#"<path d="M100 50A50 50 0 1 1 0 50a50 50 0 0 1 100 0Z" fill=""#,
            r#""/>"#,
        ),
        Ellipse => (
            r#"<path fill-rule="evenodd" clip-rule="evenodd" d="M50 90a40 40 0 1 0 0-80 40 40 0 0 0 0 80Zm0 10A50 50 0 1 0 50 0a50 50 0 0 0 0 100Z" fill=""#,
            r#""/>"#,
        ),
        PolygonFilled => (r#"<path d="m50 7 50 86.6H0L50 7Z" fill=""#, r#""/>"#),
        Polygon => (
            r#"<path fill-rule="evenodd" clip-rule="evenodd" d="M50 7 0 93.6h100L50 7Zm0 20L17.3 83.6h65.4L50 27Z" fill=""#,
            r#""/>"#,
        ),
        Line => (r#"<path fill=""#, r#"" d="M45-150h10v400H45z"/>"#),
    };
    out.push_str(before);
    out.push_str(color);
    out.push_str(after);
    if moved {
        out.push_str("</g>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_hash_of_empty_string_is_zero_and_the_state_falls_back_to_one() {
        assert_eq!(seed_hash(""), 0);
        assert_eq!(Prng::from_hash(0).value, 1);
    }

    #[test]
    fn decimal_hash_matches_hashing_the_text() {
        for value in [0, 7, -7, 10, -10, 123_456_789, i32::MIN, i32::MAX] {
            assert_eq!(
                hash_decimal(value),
                seed_hash(&value.to_string()),
                "{value}"
            );
        }
    }

    /// A state whose next draw is `i32::MAX` (found by inverting xorshift).
    const BEFORE_MAX: i32 = -697_516_825;

    #[test]
    fn a_draw_of_i32_max_gives_one_past_the_range_as_in_javascript() {
        assert_eq!(xorshift(BEFORE_MAX), i32::MAX);
        let mut prng = Prng { value: BEFORE_MAX };
        assert_eq!(prng.integer(0, 4), 5);
        let mut prng = Prng { value: BEFORE_MAX };
        assert_eq!(prng.pick(5), None);
        let mut prng = Prng { value: BEFORE_MAX };
        assert_eq!(prng.integer(-180, 180), 181);
    }

    #[test]
    fn an_empty_pick_still_draws_once() {
        let mut prng = Prng::from_hash(42);
        let mut reference = Prng::from_hash(42);
        assert_eq!(prng.pick(0), None);
        reference.next();
        assert_eq!(prng.next(), reference.next());
    }

    #[test]
    fn an_unmoved_shape_has_no_transform_group() {
        let shape = Shape {
            variant: Some(PolygonFilled),
            rotation: 0,
            offset_x: 0,
            offset_y: 0,
        };
        let mut out = String::new();
        write_shape(&mut out, &shape, PolygonFilled, "#0a5b83");
        assert_eq!(out, r##"<path d="m50 7 50 86.6H0L50 7Z" fill="#0a5b83"/>"##);
    }
}
