// Tokenizers our byte-level encoder does not run (own-pipeline.ts: SentencePiece-style BPE with byte
// fallback, Prepend/Replace normalizers or Metaspace as in Llama 2, Mistral and TinyLlama; added tokens with
// lstrip/rstrip; other decoders) run on @huggingface/tokenizers, Hugging Face's own JavaScript
// implementation, so their ids are Hugging Face's by construction.
//
// Differences from calling it directly, each to keep the Tokenizer contract:
//   - allowSpecial false: special tokens in the text are ordinary text (Rust's split_special_tokens);
//     @huggingface/tokenizers always matches them, so that case runs its pipeline stage by stage here.
//   - decode never throws: [] gives "", unknown ids give U+FFFD; no clean-up of spaces before
//     punctuation (transformers' clean_up_tokenization_spaces), so decode(encode(x)) === x where it can.
//   - the tokenizer.json text is kept and saved back unchanged.

import { type AddedToken, NOT_A_TOKEN, type TokenizerBackend } from './backend.js';
import type { HFConfig } from './hf-config.js';
import { type HFTokenizer, hfModule } from './hf-module.js';
import { splitOnSpecials } from './special-tokens.js';

/** Component types @huggingface/tokenizers 0.2 builds, and the field of each Sequence's members. */
const COMPONENTS = {
  normalizer: {
    list: 'normalizers',
    types: 'BertNormalizer Precompiled Sequence Replace NFC NFD NFKC NFKD Strip StripAccents Lowercase Prepend',
  },
  pre_tokenizer: {
    list: 'pretokenizers',
    types: 'BertPreTokenizer Sequence Whitespace WhitespaceSplit Metaspace ByteLevel Split Punctuation Digits Replace',
  },
  post_processor: {
    list: 'processors',
    types: 'TemplateProcessing ByteLevel BertProcessing RobertaProcessing Sequence',
  },
  decoder: {
    list: 'decoders',
    types: 'ByteLevel WordPiece Metaspace BPEDecoder CTC Sequence Replace Fuse Strip ByteFallback',
  },
} as const;

/** Checks every component's type (recursively through Sequences), naming the field that is wrong. */
export function checkComponents(json: Record<string, unknown>, source: string): void {
  const visit = (x: unknown, where: string, kind: keyof typeof COMPONENTS) => {
    if (x === null || x === undefined) return;
    const { list, types } = COMPONENTS[kind];
    const type = (x as { type?: unknown }).type;
    if (typeof x !== 'object' || Array.isArray(x) || !types.split(' ').includes(type as string)) {
      throw new Error(
        `${source}: ${where}.type is ${JSON.stringify(type)}; the supported types are ${types.split(' ').join(', ')}`,
      );
    }
    if (type === 'Sequence') {
      const members = (x as Record<string, unknown>)[list];
      if (!Array.isArray(members)) throw new Error(`${source}: ${where}.${list} must be an array`);
      members.forEach((m, i) => visit(m, `${where}.${list}[${i}]`, kind));
    }
  };
  for (const kind of Object.keys(COMPONENTS) as (keyof typeof COMPONENTS)[]) visit(json[kind], kind, kind);
}

export class HFBackend implements TokenizerBackend {
  readonly kind = 'huggingface';
  readonly vocabSize: number;
  readonly addedTokens: readonly AddedToken[];
  readonly prefixIds: readonly number[];
  readonly sourceText: string;

  private readonly hf: HFTokenizer;
  private readonly config: HFConfig;
  /** Texts that are special tokens (raw, and normalized when the token is matched after normalizing). */
  private readonly specialTexts: string[] = [];
  /** Non-special added tokens: matched even without allowSpecial, as Hugging Face does. */
  private readonly plainRaw: string[] = [];
  private readonly plainNormalized: string[] = [];
  private readonly plainIds = new Map<string, number>();
  private readonly plainStrip = new Map<string, { lstrip: boolean; rstrip: boolean }>();

  /** `json` must have passed parseTokenizerJson and checkComponents. */
  constructor(json: Record<string, unknown>, sourceText: string, source: string, config: HFConfig | null) {
    this.sourceText = sourceText;
    this.config = config ?? {};
    // @huggingface/tokenizers requires these keys; a file may leave them out to mean null.
    const full: Record<string, unknown> = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...json,
    };
    full.added_tokens ??= [];
    try {
      this.hf = new (hfModule().Tokenizer)(full, this.config);
      // Some broken post-processors only fail when used: try it once here, where the file can be named.
      this.prefixIds = this.hf.encode('', { add_special_tokens: true }).ids;
    } catch (e) {
      throw new Error(`${source}: @huggingface/tokenizers cannot load it: ${(e as Error).message}`);
    }
    const missing = this.hf
      .encode('', { add_special_tokens: true })
      .tokens.find((t) => this.hf.token_to_id(t) === undefined);
    if (missing !== undefined)
      throw new Error(`${source}: post_processor adds ${JSON.stringify(missing)}, ${NOT_A_TOKEN}`);
    const raw = full.added_tokens as {
      id: number;
      content: string;
      special?: boolean;
      normalized?: boolean;
      lstrip?: boolean;
      rstrip?: boolean;
    }[];
    this.addedTokens = raw.map((t) => ({ id: t.id, content: t.content, special: t.special === true }));
    const norm = this.hf.normalizer;
    for (const t of raw) {
      // As @huggingface/tokenizers: a normalized token is matched in normalized text.
      const normalized = t.normalized === true && norm !== null;
      const text = normalized ? norm(t.content) : t.content;
      if (t.special === true) this.specialTexts.push(t.content, text);
      else {
        (normalized ? this.plainNormalized : this.plainRaw).push(text);
        this.plainIds.set(text, t.id);
        this.plainStrip.set(text, { lstrip: t.lstrip === true, rstrip: t.rstrip === true });
      }
    }
    let maxId = -1;
    for (const id of Object.values((json.model as { vocab: Record<string, number> }).vocab))
      maxId = Math.max(maxId, id);
    for (const t of raw) maxId = Math.max(maxId, t.id);
    this.vocabSize = maxId + 1;
  }

  toJSON(): object {
    return JSON.parse(this.sourceText);
  }

  encode(text: string, allowSpecial: boolean, addSpecialTokens: boolean): number[] {
    if (allowSpecial || !this.specialTexts.some((s) => text.includes(s))) {
      return this.hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    }
    return this.encodePlain(text, addSpecialTokens);
  }

  /**
   * @huggingface/tokenizers' encode_text with special tokens left in the text: split out the other added
   * tokens, then normalize, pre-tokenize and run the model on each piece, then post-process.
   */
  private encodePlain(text: string, addSpecialTokens: boolean): number[] {
    const { hf, config } = this;
    const tokens: string[] = [];
    const sections = this.splitAdded(text, this.plainRaw);
    sections.forEach((section, sectionIndex) => {
      if (section === '') return;
      if (this.plainIds.has(section)) return void tokens.push(section);
      let t = section;
      if (config.remove_space === true) t = t.trim().split(/\s+/).join(' ');
      if (config.do_lowercase_and_remove_accent === true) t = t.toLowerCase().replace(/\p{M}/gu, '');
      if (hf.normalizer !== null) t = hf.normalizer(t);
      for (const sub of this.splitAdded(t, this.plainNormalized)) {
        if (sub === '') continue;
        if (this.plainIds.has(sub)) tokens.push(sub);
        else {
          const words = hf.pre_tokenizer !== null ? hf.pre_tokenizer(sub, { section_index: sectionIndex }) : [sub];
          for (const w of hf.model!(words)) tokens.push(w);
        }
      }
    });
    const out = hf.post_processor !== null ? hf.post_processor(tokens, null, addSpecialTokens).tokens : tokens;
    const unk = hf.model!.unk_token_id;
    return out.map((t) => this.plainIds.get(t) ?? hf.token_to_id(t) ?? unk!);
  }

  /** Splits around added tokens, applying their lstrip/rstrip to the neighbouring pieces. */
  private splitAdded(text: string, added: string[]): string[] {
    if (added.length === 0) return [text];
    const pieces = splitOnSpecials(text, added).map((s) => (typeof s === 'string' ? s : s.special));
    pieces.forEach((p, i) => {
      const tok = this.plainStrip.get(p);
      if (tok?.lstrip && i > 0) pieces[i - 1] = pieces[i - 1].trimEnd();
      if (tok?.rstrip && i + 1 < pieces.length) pieces[i + 1] = pieces[i + 1].trimStart();
    });
    return pieces;
  }

  decode(ids: ArrayLike<number>): string {
    // NOTE: ids without a token are decoded as U+FFFD between separately decoded runs; a decoder that
    // strips a leading space (Llama 2's) then strips it from each run.
    const out: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      out.push(this.hf.decode(run, { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (Number.isInteger(id) && this.hf.id_to_token(id) !== undefined) run.push(id);
      else {
        flush();
        out.push('\uFFFD');
      }
    }
    flush();
    return out.join('');
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }
}
