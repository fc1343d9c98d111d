// Our byte-level BPE encoder: the only one for tokenizers trained here, and the faster one for the
// tokenizer.json files whose pipeline it runs exactly (own-pipeline.ts: GPT-2, SmolLM2, Llama 3, Qwen2/3).
//
// encode: split out added tokens (special ones only with allowSpecial), normalize and pre-split each piece
// as the file says, pre-tokenize with GPT-2's regex, map each word's UTF-8 bytes to byte token ids, apply
// merges by rank (cached per word).
// decode: concatenate every id's bytes and decode them as UTF-8.

import { type AddedToken, NOT_A_TOKEN, type TokenizerBackend } from './backend.js';
import { applyMerges, MAX_ID, MergeTable } from './bpe.js';
import { BYTE_TO_CHAR, charToByte, preTokenize, utf8Bytes } from './byte-level.js';
import { toTokenizerJson, type TokenizerParts } from './formats.js';
import { GPT2_PIPELINE, type OwnPipeline } from './own-pipeline.js';
import { splitOnSpecials } from './special-tokens.js';

// The per-word cache is dropped whole when it reaches this size, which bounds memory on
// endless streams while keeping the hit rate high (natural text reuses a small set of words).
const CACHE_LIMIT = 200_000;
const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd); // U+FFFD in UTF-8

export class BPEBackend implements TokenizerBackend {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly addedTokens: readonly AddedToken[];
  readonly prefixIds: readonly number[];
  readonly sourceText: string | null;

  private readonly parts: TokenizerParts;
  private readonly pipeline: OwnPipeline;
  private readonly suffixIds: readonly number[];
  private readonly addedTexts: readonly string[]; // matched with allowSpecial
  private readonly plainTexts: readonly string[]; // matched always (added tokens that are not special)
  private readonly tokenIds: Map<string, number>; // model vocab + special tokens
  private readonly tokens: (string | undefined)[]; // id -> token string
  private readonly tokenBytes: (Uint8Array | undefined)[]; // id -> the bytes it decodes to, filled by decode
  private readonly addedIds: Set<number>; // decoded as their text, not as byte-level characters
  private readonly table = new MergeTable();
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();

  /**
   * `added` flags which added tokens are special (default: all, as in tokenizers trained here);
   * `sourceText` is the tokenizer.json to save back when our JSON would not describe the pipeline.
   */
  constructor(
    parts: TokenizerParts,
    source: string,
    pipeline = GPT2_PIPELINE,
    added: readonly AddedToken[] = parts.specials.map((s) => ({ ...s, special: true })),
    sourceText: string | null = null,
  ) {
    this.parts = parts;
    this.pipeline = pipeline;
    this.sourceText = sourceText;
    this.tokenIds = new Map(parts.vocab);
    for (const s of parts.specials) this.tokenIds.set(s.content, s.id);
    this.addedTokens = added;
    this.addedTexts = added.map((t) => t.content);
    this.plainTexts = added.filter((t) => !t.special).map((t) => t.content);
    this.addedIds = new Set(parts.specials.map((s) => s.id));

    let maxId = -1;
    for (const [tok, id] of this.tokenIds) {
      if (id > MAX_ID) throw new Error(`${source}: token ${JSON.stringify(tok)} has id ${id} > ${MAX_ID}`);
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;
    // NOTE: allocated whole: filled in the vocabulary's order (JSON lists "0", "12"… first), a growing
    // array turns sparse, and lookups in it slow down several times.
    this.tokens = new Array(this.vocabSize);
    this.tokenBytes = new Array(this.vocabSize);
    for (const [tok, id] of this.tokenIds) {
      if (this.tokens[id] !== undefined) {
        throw new Error(
          `${source}: special token ${JSON.stringify(tok)} has id ${id}, which model.vocab gives to ` +
            `${JSON.stringify(this.tokens[id])}; give it an unused id`,
        );
      }
      this.tokens[id] = tok;
    }

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
    const idsOf = (tokens: string[]) =>
      tokens.map((t) => {
        const id = this.tokenIds.get(t);
        if (id === undefined) throw new Error(`${source}: post_processor adds ${JSON.stringify(t)}, ${NOT_A_TOKEN}`);
        return id;
      });
    this.prefixIds = idsOf(pipeline.prefix);
    this.suffixIds = idsOf(pipeline.suffix);
  }

  toJSON(): object {
    return this.sourceText === null ? toTokenizerJson(this.parts) : JSON.parse(this.sourceText);
  }

  encode(text: string, allowSpecial: boolean, addSpecialTokens: boolean): number[] {
    const out: number[] = addSpecialTokens ? this.prefixIds.slice() : [];
    const added = allowSpecial ? this.addedTexts : this.plainTexts;
    if (added.length > 0) {
      for (const seg of splitOnSpecials(text, added)) {
        if (typeof seg === 'string') this.encodeSection(seg, out);
        else out.push(this.tokenIds.get(seg.special)!);
      }
    } else {
      this.encodeSection(text, out);
    }
    if (addSpecialTokens) for (const id of this.suffixIds) out.push(id);
    return out;
  }

  /** A piece of text between added tokens. */
  private encodeSection(text: string, out: number[]): void {
    const { normalize, split, gpt2Regex } = this.pipeline;
    if (normalize !== null) text = normalize(text);
    if (split === null) this.encodeWords(gpt2Regex ? preTokenize(text) : [text], out);
    else for (const piece of split(text)) this.encodeWords(gpt2Regex ? preTokenize(piece) : [piece], out);
  }

  private encodeWords(words: string[], out: number[]): void {
    for (const word of words) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  private encodeWord(word: string): number[] {
    const bytes = utf8Bytes(word);
    if (this.pipeline.ignoreMerges) {
      // As Hugging Face: the word's byte-level string looked up among all tokens, added ones included.
      const whole = this.tokenIds.get(bytes.map((b) => BYTE_TO_CHAR[b]).join(''));
      if (whole !== undefined) return [whole];
    }
    return applyMerges(
      bytes.map((b) => this.byteIds[b]),
      this.table,
    );
  }

  decode(ids: ArrayLike<number>): string {
    const { tokenBytes } = this;
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += (tokenBytes[ids[i]] ?? this.bytesOf(ids[i])).length;
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

  /** The bytes of a token, computed on first use (a 150k vocabulary is mostly never decoded). */
  private bytesOf(id: number): Uint8Array {
    const tok = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (tok === undefined) return REPLACEMENT;
    const bytes = this.addedIds.has(id) ? Uint8Array.from(utf8Bytes(tok)) : byteLevelToBytes(tok);
    this.tokenBytes[id] = bytes;
    return bytes;
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
