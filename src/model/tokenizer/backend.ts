// What a Tokenizer runs on: our byte-level BPE (bpe-backend.ts: tokenizers trained here, and byte-level
// files such as GPT-2's, Llama 3's and Qwen's) or Hugging Face's JavaScript tokenizers (hf-backend.ts: every
// other tokenizer.json).

/** The end of an error message about a token a file names but does not define. */
export const NOT_A_TOKEN = 'which is neither in model.vocab nor in added_tokens';

export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are matched in text only with allowSpecial; other added tokens always are. */
  special: boolean;
}

export interface TokenizerBackend {
  /** Which implementation runs: for diagnostics and bench/tokenizer-bench.mjs. */
  readonly kind: 'bpe' | 'huggingface';
  /** 1 + the largest id, added tokens included. */
  readonly vocabSize: number;
  /** Added tokens in their order in the file. */
  readonly addedTokens: readonly AddedToken[];
  /** Ids of the BOS-like tokens the post-processor puts before a single sequence (empty for GPT-2). */
  readonly prefixIds: readonly number[];
  encode(text: string, allowSpecial: boolean, addSpecialTokens: boolean): number[];
  decode(ids: ArrayLike<number>): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** The tokenizer.json object that `save` writes. */
  toJSON(): object;
  /** The exact text to write as tokenizer.json, when it must be saved unchanged. */
  readonly sourceText: string | null;
}
