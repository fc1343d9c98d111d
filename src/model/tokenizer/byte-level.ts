// Byte-level helpers shared by encoding, decoding and training: GPT-2's bytes->unicode table,
// GPT-2's pre-tokenization regex, and a UTF-8 encoder that yields byte values directly.
//
// Why a bytes->unicode table: BPE vocabularies are stored as JSON strings, and raw bytes such as
// 0x00 or 0x20 would be invisible or ambiguous there. GPT-2 maps every byte to a printable
// character (printable ASCII and Latin-1 map to themselves, the rest to U+0100..U+0143), so a
// space becomes "Ġ" and a newline "Ċ". Hugging Face's ByteLevel pre-tokenizer uses the same table.

import { scanPreTokens } from './pre-tokenize.js';

/** GPT-2's pre-tokenization pattern: contractions, letters, numbers, punctuation, whitespace. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** BYTE_TO_CHAR[b] is the printable character GPT-2 uses for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of BYTE_TO_CHAR, keyed by the character's code point. */
const CHAR_CODE_TO_BYTE: Map<number, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch.charCodeAt(0), b]));

/**
 * Bytes in the order of their characters' code points. This is the order of ids 0..255 in
 * GPT-2's encoder.json and of the alphabet in Hugging Face's BPE trainer, so we use it for the
 * 256 byte tokens of a trained vocabulary too.
 */
export const BYTES_BY_CHAR: readonly number[] = [...Array(256).keys()].sort(
  (a, b) => BYTE_TO_CHAR[a].charCodeAt(0) - BYTE_TO_CHAR[b].charCodeAt(0),
);

function buildByteToChar(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  }
  return table;
}

/** The byte a byte-level character stands for, or -1 if the character is not in the table. */
export function charToByte(code: number): number {
  return CHAR_CODE_TO_BYTE.get(code) ?? -1;
}

/**
 * Split text into GPT-2 pre-tokens ("words"), each BPE-encoded on its own. Same result as
 * `text.match(GPT2_PATTERN)`, computed by a faster hand-written scanner.
 */
export function preTokenize(text: string): string[] {
  return scanPreTokens(text);
}

/**
 * Append the UTF-8 bytes of `s` to `out`.
 * NOTE: a lone surrogate is written as U+FFFD (EF BF BD), exactly as TextEncoder does, so text
 * containing one does not round-trip; every well-formed string does.
 */
export function utf8Bytes(s: string, out: number[] = []): number[] {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out.push(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x800) {
      out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    } else if (c < 0x10000) {
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    } else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
  }
  return out;
}

/** The byte-level string of `text` (every UTF-8 byte replaced by its printable character). */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8Bytes(text)) s += BYTE_TO_CHAR[b];
  return s;
}
