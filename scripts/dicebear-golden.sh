#!/usr/bin/env bash
# Regenerates the golden avatars in site/tests/data/avatar/ with the real DiceBear 9 "shapes"
# style, the library the original site used, so that site/tests/avatar.rs can prove that our
# Rust port (site/src/avatar.rs) produces the same SVG byte for byte.
#
# Test preparation only: tests never run this (they read the committed files), and it needs
# Node and the npm registry. Usage:
#   scripts/dicebear-golden.sh            # DiceBear 9.2.4 (the newest 9.2.x)
#   DICEBEAR_VERSION=9.2.4 scripts/dicebear-golden.sh
#
# Writes site/tests/data/avatar/seeds.json (the list of seeds, in order, with their file names)
# and one NN.svg per seed, exactly as `createAvatar(shapes, { seed, size: 128, backgroundColor:
# [...] }).toString()` returns it (no trailing newline).
set -euo pipefail

version="${DICEBEAR_VERSION:-9.2.4}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/site/tests/data/avatar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund -E "@dicebear/core@$version" "@dicebear/collection@$version" >/dev/null

mkdir -p "$out"
rm -f "$out"/*.svg "$out"/seeds.json

cat >golden.mjs <<'EOF'
import { createAvatar } from '@dicebear/core';
import { shapes } from '@dicebear/collection';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

const seeds = [
  // Edge cases of the seed hash: empty (hash 0, so the PRNG state falls back to 1), one
  // character, whitespace, markup characters, control characters.
  '',
  'a',
  'A',
  '0',
  ' ',
  'verta',
  'Hello, World!',
  'John Doe',
  '<script>alert("x")</script>&\'',
  'tab\there\nnewline',
  '\u0000',
  // 16 lowercase hex characters: the seeds the site serves (the first 16 characters of an
  // author's pseudonymised id).
  '0000000000000000',
  'ffffffffffffffff',
  '0123456789abcdef',
  'fedcba9876543210',
  'deadbeefcafebabe',
];
for (let i = 0; seeds.length < 40; i++) {
  seeds.push(sha256(`verta-avatar-${i}`).slice(0, 16));
}
seeds.push(
  // Full 64-hex hashes, as the original passed them.
  sha256('verta-avatar-full-0'),
  sha256('verta-avatar-full-1'),
  // Non-ASCII: BMP characters, astral characters (two UTF-16 code units each) and emoji
  // sequences with joiners and variation selectors.
  'Zoë',
  '日本語のテキスト',
  'Ελληνικά',
  'مرحبا بالعالم',
  '😀',
  '👩‍💻 coder',
  '🏳️‍🌈',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  // Long seeds: 2,000 characters of hex, 2,000 code points of emoji (4,000 UTF-16 units).
  '0123456789abcdef'.repeat(125),
  '🦦'.repeat(2000),
  // Seeds that reach the corners of DiceBear's PRNG, found by inverting its xorshift (which,
  // with its arithmetic shift, is not a bijection): a draw equal to 2^31 - 1 makes
  // `integer(min, max)` return max + 1, so a pick misses and falls back. In order: the first
  // shape colour misses ("transparent"); each shape's variant misses (the shape is not drawn);
  // shape 1's fill pick misses; a non-empty seed whose hash is 0 (the state falls back to 1);
  // and two seeds whose background shuffle swaps with the element above `i` (j = i + 1).
  'verta-shape1-colour-miss-41688\u101f',
  'verta-shape1-variant-miss-15111\u6492',
  'verta-shape2-variant-miss-21586\ud680',
  'verta-shape3-variant-miss-26073\u66d6',
  'verta-shape1-fill-miss-26114\u208a',
  'verta-hash-zero-3821\u0500',
  'verta-shuffle--1066823084-17482\u816f',
  'verta-shuffle-737491781-88571\ueefb',
);

const backgroundColor = ['b6e3f4', 'c0aede', 'd1d4f9', 'ffd5dc', 'ffdfbf'];
const list = seeds.map((seed, i) => {
  const file = `${String(i).padStart(2, '0')}.svg`;
  const svg = createAvatar(shapes, { seed, size: 128, backgroundColor }).toString();
  writeFileSync(join(out, file), svg);
  return { file, seed };
});
writeFileSync(join(out, 'seeds.json'), JSON.stringify(list, null, 1) + '\n');
console.log(`wrote ${list.length} avatars to ${out}`);
EOF

node golden.mjs "$out"
