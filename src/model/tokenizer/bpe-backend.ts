// Our byte-level BPE encoder, compatible with GPT-2 and Hugging Face `tokenizers` for the files it accepts
// (formats.ts: ownEncoderMisfit), and the only one for tokenizers trained here.
//
// encode: split out special tokens (only with allowSpecial), pre-tokenize with GPT-2's regex,
// map each word's UTF-8 bytes to byte token ids, apply merges by rank (cached per word).
// decode: concatenate every id's bytes and decode them as UTF-8.

import type { AddedToken, TokenizerBackend } from './backend.js';
import { applyMerges, MAX_ID, MergeTable } from './bpe.js';
import { BYTE_TO_CHAR, charToByte, preTokenize, utf8Bytes } from './byte-level.js';
import { toTokenizerJson, type TokenizerParts } from './formats.js';
import { splitOnSpecials } from './special-tokens.js';

// The per-word cache is dropped whole when it reaches this size, which bounds memory on
// endless streams while keeping the hit rate high (natural text reuses a small set of words).
const CACHE_LIMIT = 200_000;
const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd); // U+FFFD in UTF-8

export class BPEBackend implements TokenizerBackend {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly addedTokens: readonly AddedToken[];
  readonly prefixIds: readonly number[] = [];
  readonly sourceText = null;

  private readonly parts: TokenizerParts;
  private readonly specialTokens: readonly string[];
  private readonly tokenIds: Map<string, number>; // model vocab + special tokens
  private readonly tokens: (string | undefined)[] = []; // id -> token string
  private readonly tokenBytes: (Uint8Array | undefined)[] = []; // id -> the bytes it decodes to
  private readonly table = new MergeTable();
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();

  constructor(parts: TokenizerParts, source: string) {
    this.parts = parts;
    this.tokenIds = new Map(parts.vocab);
    for (const s of parts.specials) this.tokenIds.set(s.content, s.id);
    this.specialTokens = parts.specials.map((s) => s.content);
    this.addedTokens = parts.specials.map((s) => ({ ...s, special: true }));
    const specialIds = new Set(parts.specials.map((s) => s.id));

    let maxId = -1;
    for (const [tok, id] of this.tokenIds) {
      if (id > MAX_ID) throw new Error(`${source}: token ${JSON.stringify(tok)} has id ${id} > ${MAX_ID}`);
      if (this.tokens[id] !== undefined) {
        throw new Error(
          `${source}: special token ${JSON.stringify(tok)} has id ${id}, which model.vocab gives to ` +
            `${JSON.stringify(this.tokens[id])}; give it an unused id`,
        );
      }
      this.tokens[id] = tok;
      this.tokenBytes[id] = specialIds.has(id) ? Uint8Array.from(utf8Bytes(tok)) : byteLevelToBytes(tok);
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;

    for (let b = 0; b < 256; b++) {
      const id = parts.vocab.get(BYTE_TO_CHAR[b]);
      if (id === undefined) {
        const hex = b.toString(16).padStart(2, '0');
        throw new Error(
          `${source}: the vocabulary has no token for byte 0x${hex} (${JSON.stringify(BYTE_TO_CHAR[b])}); ` +
            'byte-level BPE needs all 256 byte tokens (train with this library, or with ' +
            'initial_alphabet=ByteLevel.alphabet())',
        );
      }
      this.byteIds[b] = id;
    }
    for (const [a, b, c] of parts.merges) this.table.add(a, b, c);
  }

  toJSON(): object {
    return toTokenizerJson(this.parts);
  }

  // NOTE: addSpecialTokens has nothing to add: files with a post-processor that adds tokens run on
  // @huggingface/tokenizers (ownEncoderMisfit).
  encode(text: string, allowSpecial: boolean): number[] {
    const out: number[] = [];
    if (allowSpecial && this.specialTokens.length > 0) {
      for (const seg of splitOnSpecials(text, this.specialTokens)) {
        if (typeof seg === 'string') this.encodeOrdinary(seg, out);
        else out.push(this.tokenIds.get(seg.special)!);
      }
    } else {
      this.encodeOrdinary(text, out);
    }
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const word of preTokenize(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        const bytes = utf8Bytes(word);
        ids = applyMerges(
          bytes.map((b) => this.byteIds[b]),
          this.table,
        );
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  decode(ids: ArrayLike<number>): string {
    const { tokenBytes } = this;
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += (tokenBytes[ids[i]] ?? REPLACEMENT).length;
    const buf = new Uint8Array(total);
    let off = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = tokenBytes[ids[i]] ?? REPLACEMENT;
      if (bytes.length === 1) buf[off++] = bytes[0];
      else {
        buf.set(bytes, off);
        off += bytes.length;
      }
    }
    return decoder.decode(buf);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(tok: string): number | undefined {
    return this.tokenIds.get(tok);
  }
}

// NOTE: ignoreBOM is required: by default TextDecoder silently drops a leading U+FEFF, which
// would break decode(encode(x)) === x for text that starts with a byte-order mark.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Bytes of a byte-level token string; characters outside the byte table fall back to UTF-8. */
function byteLevelToBytes(tok: string): Uint8Array {
  const out: number[] = [];
  for (const ch of tok) {
    const b = charToByte(ch.codePointAt(0)!);
    if (b >= 0) out.push(b);
    else utf8Bytes(ch, out);
  }
  return Uint8Array.from(out);
}
