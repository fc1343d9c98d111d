// The Tokenizer: byte-level BPE compatible with GPT-2 and Hugging Face `tokenizers`.
//
// encode: split out special tokens (only with allowSpecial), pre-tokenize with GPT-2's regex,
// map each word's UTF-8 bytes to byte token ids, apply merges by rank (cached per word).
// decode: concatenate every id's bytes and decode them as UTF-8.

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { applyMerges, MAX_ID, MergeTable } from './bpe.js';
import { BYTE_TO_CHAR, charToByte, preTokenize, utf8Bytes } from './byte-level.js';
import { parseGPT2Files, parseTokenizerJson, toTokenizerJson, type TokenizerParts } from './formats.js';
import { splitOnSpecials } from './special-tokens.js';
import { trainBPE, type TrainOptions } from './train.js';

export type { TrainOptions, TrainProgress } from './train.js';

export interface EncodeOptions {
  /**
   * Encode special tokens written in the text (e.g. "<|endoftext|>") as their single id.
   * Default false: they are encoded as ordinary text, so text from users or datasets cannot
   * smuggle in an end-of-text marker; append `eosId` yourself where a document ends.
   */
  allowSpecial?: boolean;
}

export const EOS_TOKEN = '<|endoftext|>';

// The per-word cache is dropped whole when it reaches this size, which bounds memory on
// endless streams while keeping the hit rate high (natural text reuses a small set of words).
const CACHE_LIMIT = 200_000;
const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd); // U+FFFD in UTF-8

export class Tokenizer {
  /** 1 + the largest id: the size an embedding table needs. */
  readonly vocabSize: number;
  /** Id of "<|endoftext|>" if the vocabulary has it, else of the first special token. */
  readonly eosId: number;
  /** Special tokens, in their order in the file (or in TrainOptions). */
  readonly specialTokens: readonly string[];

  private readonly parts: TokenizerParts;
  private readonly tokenIds: Map<string, number>; // model vocab + special tokens
  private readonly tokens: (string | undefined)[] = []; // id -> token string
  private readonly tokenBytes: (Uint8Array | undefined)[] = []; // id -> the bytes it decodes to
  private readonly table = new MergeTable();
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();

  private constructor(parts: TokenizerParts, source: string) {
    this.parts = parts;
    this.tokenIds = new Map(parts.vocab);
    for (const s of parts.specials) this.tokenIds.set(s.content, s.id);
    this.specialTokens = parts.specials.map((s) => s.content);
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

    const eos = this.tokenIds.get(EOS_TOKEN);
    if (eos !== undefined) this.eosId = eos;
    else if (parts.specials.length > 0) this.eosId = parts.specials[0].id;
    else {
      throw new Error(
        `${source}: no "${EOS_TOKEN}" and no special tokens, so there is no eosId; ` +
          `add {"id": ${this.vocabSize}, "content": "${EOS_TOKEN}", "special": true} to added_tokens`,
      );
    }
  }

  // ---- construction ----

  /** Learns a vocabulary from texts. See TrainOptions for the id layout and options. */
  static train(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
    const { tokens, merges, specialTokens } = trainBPE(texts, opts);
    const vocab = new Map<string, number>();
    tokens.forEach((t, id) => {
      if (!vocab.has(t)) vocab.set(t, id);
    });
    const specials = specialTokens.map((content, id) => ({ content, id }));
    return new Tokenizer({ vocab, merges, specials }, 'train');
  }

  /** From a parsed tokenizer.json; `source` (the file name) is used in error messages. */
  static fromTokenizerJson(json: unknown, source = 'tokenizer.json'): Tokenizer {
    return new Tokenizer(parseTokenizerJson(json, source), source);
  }

  /** From GPT-2's own encoder.json + vocab.bpe; gives GPT-2's exact ids (eosId 50256). */
  static fromGPT2Files(encoderJsonPath: string, vocabBpePath: string): Tokenizer {
    const parts = parseGPT2Files(readText(encoderJsonPath), readText(vocabBpePath), encoderJsonPath, vocabBpePath);
    return new Tokenizer(parts, encoderJsonPath);
  }

  /**
   * Loads a tokenizer.json file, a directory containing tokenizer.json, or a directory with
   * GPT-2's encoder.json + vocab.bpe.
   */
  static load(path: string): Tokenizer {
    if (!existsSync(path)) throw new Error(`Tokenizer.load: ${path} does not exist`);
    if (statSync(path).isDirectory()) {
      const json = join(path, 'tokenizer.json');
      if (existsSync(json)) return Tokenizer.load(json);
      const enc = join(path, 'encoder.json');
      const bpe = join(path, 'vocab.bpe');
      if (existsSync(enc) && existsSync(bpe)) return Tokenizer.fromGPT2Files(enc, bpe);
      throw new Error(
        `Tokenizer.load: ${path} has neither tokenizer.json nor encoder.json + vocab.bpe; ` +
          'pass a tokenizer.json file or a directory holding one',
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(readText(path));
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
    return Tokenizer.fromTokenizerJson(json, path);
  }

  // ---- saving ----

  /** The Hugging Face tokenizer.json object (what `save` writes). */
  toJSON(): object {
    return toTokenizerJson(this.parts);
  }

  /**
   * Writes tokenizer.json to `path` (a file path; an existing directory gets path/tokenizer.json).
   * Atomic: a temp file in the same directory is renamed over the target, so a crash never
   * leaves a half-written tokenizer behind.
   */
  save(path: string): void {
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'tokenizer.json');
    mkdirSync(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    try {
      writeFileSync(tmp, JSON.stringify(this.toJSON(), null, 2) + '\n');
      renameSync(tmp, path);
    } catch (e) {
      if (existsSync(tmp)) unlinkSync(tmp);
      throw e;
    }
  }

  // ---- encode / decode ----

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.allowSpecial && this.specialTokens.length > 0) {
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

  /**
   * Ids to text. Never throws: byte sequences that are not valid UTF-8 (e.g. a multi-byte
   * character cut between two samples) and unknown ids (e.g. from a model whose embedding
   * table is padded past vocabSize) both become U+FFFD.
   */
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

  /** The token's string: byte-level characters ("Ġthe") for ordinary tokens, raw text for specials. */
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

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}
