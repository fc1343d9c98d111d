// The parts of @huggingface/tokenizers we use, typed here, and loading it.
// NOTE: its .d.ts files import each other without file extensions, which TypeScript's NodeNext resolution
// does not follow: `Tokenizer` comes out as `any` and the component classes not at all. These
// declarations follow its types/core/*.d.ts (version 0.2).

import { createRequire } from 'node:module';

/** A normalizer, pre-tokenizer, model or post-processor: callable objects in @huggingface/tokenizers. */
export interface HFTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  id_to_token(id: number): string | undefined;
  token_to_id(token: string): number | undefined;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options?: { section_index?: number }) => string[]) | null;
  model: ((words: string[]) => string[]) & { unk_token_id?: number };
  post_processor: ((tokens: string[], pair: string[] | null, addSpecialTokens: boolean) => { tokens: string[] }) | null;
}

interface HFModule {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HFTokenizer;
  SequenceNormalizer: new (config: { type: 'Sequence'; normalizers: unknown[] }) => { normalize(t: string): string };
  SequencePreTokenizer: new (config: {
    type: 'Sequence';
    pretokenizers: unknown[];
  }) => { pre_tokenize_text(t: string): string[] };
}

let loaded: HFModule | undefined;

/**
 * The module, loaded on first use: tokenizers trained here (the demo's) never need it.
 * NOTE: its CommonJS build, so that loading stays synchronous like the rest of Tokenizer.load.
 */
export function hfModule(): HFModule {
  loaded ??= createRequire(import.meta.url)('@huggingface/tokenizers') as HFModule;
  return loaded;
}
