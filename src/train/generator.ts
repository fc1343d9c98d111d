// One interface for everything that samples completions of prompts (best-of-N, ReST's Grow step,
// evaluation, labeling tasks): the built-in KV-cache engine here, or an inference server speaking
// the OpenAI completions API (src/remote). Both split the work into the same chunks with the same
// seeds, so for one seed our own server (`rlhf serve-model`) answers exactly what the local engine
// samples.

import type { CausalLM } from '../model/causal-lm.js';
import type { ModelConfig } from '../model/config.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { FinishReason } from '../model/sample.js';
import { generate } from '../runtime/sample.js';
import { encodePrompt } from '../model/prompt.js';
import { Tokenizer } from '../model/tokenizer/index.js';

export interface GenerationRequest {
  prompt: string;
  /** Completions wanted for this prompt (≥ 1). */
  n: number;
  /**
   * The prompt's token ids, when the caller has them: a chat template's rendering with its special tokens,
   * or a prompt cut to fit. The built-in engine samples from them; a server is sent them instead of the text
   * (the completions API takes token-id prompts), so it conditions on exactly the ids a trainer's loss does.
   */
  promptIds?: number[];
}

export interface GenerationOptions {
  /** Most tokens generated per completion. */
  maxNewTokens: number;
  /** Softmax temperature; 0 = greedy. */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens with this probability (1 = all). */
  topP?: number;
  /** Keep the k most likely tokens (0 = all). */
  topK?: number;
  /** Texts that end a completion (not included in it); the end-of-text token always ends one. */
  stop?: string[];
  /** Same seed, same chunking → same samples. Without it the local engine uses 0, a server its own. */
  seed?: number;
  /** Also return each sampled token's log-probability under the model (temperature 1, no top-k/p). */
  logprobs?: boolean;
  /**
   * Ask a server for each completion's token ids too ("return_token_ids": `rlhf serve-model`, vLLM ≥ 0.10.2);
   * a server that ignores it leaves Completion.tokenIds unset. The built-in engine always gives them.
   */
  tokenIds?: boolean;
}

export interface Completion {
  /** The completion, without the stop text or end-of-text token that ended it. */
  text: string;
  /** 'stop' (end-of-text or a stop text), 'length' (maxNewTokens), or the engine's 'context' (out of positions). */
  finishReason: string;
  /** Tokens generated, including the one that stopped it (when known). */
  tokens?: number;
  /** The generated token ids, including a stop token (the built-in engine; a server with options.tokenIds). */
  tokenIds?: number[];
  /** Per-token log-probabilities of the generated tokens, with options.logprobs. */
  logprobs?: number[];
}

export interface GenerationResult {
  prompt: string;
  /** request.n completions, in sample order. */
  completions: Completion[];
}

export interface GenerationProgress {
  /** Completions finished so far (including those taken from a cache). */
  done: number;
  total: number;
  /** Of done, how many came from a resume cache. */
  cached: number;
}

export interface Generator {
  /** For messages: "the built-in engine", "the generator at http://…". */
  readonly name: string;
  generate(
    requests: GenerationRequest[],
    options: GenerationOptions,
    onProgress?: (p: GenerationProgress) => void,
  ): Promise<GenerationResult[]>;
  /**
   * Makes the generator sample from these weights from now on (ReST's later Grows). Absent where
   * the generator already shares the policy (the local engine); resolves false where the backend
   * cannot take weights (vLLM, llama.cpp, TGI serve a fixed model).
   */
  syncPolicy?(policy: CausalLM): Promise<boolean>;
}

// ---- validation ----

export function validateGenerationRequests(requests: GenerationRequest[]): void {
  if (!Array.isArray(requests)) throw new Error('generate: requests must be an array of {prompt, n}');
  requests.forEach((r, i) => {
    if (typeof r?.prompt !== 'string')
      throw new Error(`generate: requests[${i}].prompt must be a string, got ${typeof r?.prompt}`);
    if (!Number.isInteger(r.n) || r.n < 1)
      throw new Error(`generate: requests[${i}].n must be a positive integer, got ${r.n}`);
    const ids = r.promptIds;
    if (ids !== undefined && !(Array.isArray(ids) && ids.length > 0 && ids.every((x) => Number.isInteger(x) && x >= 0)))
      throw new Error(`generate: requests[${i}].promptIds must be a non-empty array of token ids`);
  });
}

export function validateGenerationOptions(o: GenerationOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0)
    throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  if (!(typeof o.temperature === 'number' && o.temperature >= 0))
    throw new Error(`generate: temperature must be a number ≥ 0 (0 = greedy), got ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new Error(`generate: topP must be in (0, 1], got ${o.topP}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0))
    throw new Error(`generate: topK must be a non-negative integer (0 = all), got ${o.topK}`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed))
    throw new Error(`generate: seed must be an integer, got ${o.seed}`);
  (o.stop ?? []).forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0)
      throw new Error(`generate: stop[${i}] must be a non-empty string, got ${JSON.stringify(s)}`);
  });
}

// ---- chunking ----

/** Samples [first, first + count) of one request. */
export interface ChunkPart {
  request: number;
  first: number;
}

/** One batch (one HTTP request for a server): the same number of samples of each of its prompts. */
export interface Chunk {
  parts: ChunkPart[];
  /** Samples of each prompt in this chunk. */
  n: number;
  /** Completions in all chunks before this one (its seed is seed + offset). */
  offset: number;
}

export interface ChunkLimits {
  /** Most completions in one chunk. */
  batchSize: number;
  /** Most samples of one prompt in one chunk (1 for servers that take no `n`). */
  maxN?: number;
  /** Most prompts in one chunk. */
  maxPrompts?: number;
}

/**
 * Splits requests into chunks. Rounds of up to k = min(maxN, batchSize) samples per prompt, each
 * round prompt after prompt, cut into chunks of equal per-prompt counts. A chunk never holds the
 * same prompt twice (by `keys`, e.g. the prompt texts): a server seeds a whole request once, and
 * would give a repeated prompt the same samples.
 */
export function planChunks(ns: number[], limits: ChunkLimits, keys?: string[]): Chunk[] {
  const { batchSize } = limits;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const k = Math.max(1, Math.min(limits.maxN ?? Infinity, batchSize));
  const maxPrompts = limits.maxPrompts ?? Infinity;
  const chunks: Chunk[] = [];
  let offset = 0;
  for (let round = 0; ; round++) {
    const first = round * k;
    const parts = ns.flatMap((n, request) => (n > first ? [{ request, first, count: Math.min(k, n - first) }] : []));
    if (parts.length === 0) break;
    let cur: Chunk | null = null;
    let inCur = new Set<string | number>();
    for (const p of parts) {
      const key = keys ? keys[p.request] : p.request;
      if (
        !cur ||
        cur.n !== p.count ||
        cur.parts.length >= maxPrompts ||
        (cur.parts.length + 1) * p.count > batchSize ||
        inCur.has(key)
      ) {
        if (cur) offset += cur.parts.length * cur.n;
        chunks.push((cur = { parts: [], n: p.count, offset }));
        inCur = new Set();
      }
      cur.parts.push({ request: p.request, first: p.first });
      inCur.add(key);
    }
    if (cur) offset += cur.parts.length * cur.n;
  }
  return chunks;
}

/** The seed of a chunk: row r of it then draws from a stream of (seed + offset, r). */
export function chunkSeed(seed: number, offset: number): number {
  return (seed + offset) >>> 0;
}

// ---- the built-in engine ----

// The one prompt encoding (an empty prompt is end-of-text), re-exported for this module's users.
export { encodePrompt };

export interface TextSample {
  text: string;
  /**
   * Generated ids, ending with the stop token (or the token that completed a stop text) when finishReason is 'stop'.
   */
  tokenIds: number[];
  finishReason: FinishReason;
  logprobs?: number[];
}

export interface TextSampleOptions extends Omit<GenerationOptions, 'seed'> {
  seed: number;
}

/**
 * The ids that end a row at once: end-of-text, every end-of-sequence id of the model's config (eos_token_id may
 * be a list, as Llama 3's), and each stop text that is a single token.
 */
export function stopTokenIds(
  tok: Tokenizer,
  stop: string[],
  config?: Pick<ModelConfig, 'eosTokenId' | 'eosTokenIds'>,
): number[] {
  const ids = new Set([tok.eosId, ...(config ? (config.eosTokenIds ?? [config.eosTokenId]) : [])]);
  for (const s of stop) {
    const one = tok.encode(s, { allowSpecial: true });
    if (one.length === 1) ids.add(one[0]);
  }
  return [...ids];
}

/**
 * Samples one completion per row of prompt ids with the KV-cache engine (rows split across
 * threads), cutting texts at stop strings. Row r draws from the stream of (seed, r).
 * NOTE: a stop text of one token stops its row early; a longer one is found in the decoded text
 * afterwards, so that row still runs to end-of-text or maxNewTokens.
 */
export function sampleTexts(model: CausalLM, tok: Tokenizer, rows: number[][], o: TextSampleOptions): TextSample[] {
  const stop = o.stop ?? [];
  const stopTokens = stopTokenIds(tok, stop, model.config);
  const gens = generate(model, rows, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    stopTokens,
    vocabSize: tok.vocabSize,
    seed: o.seed,
  });
  const out: TextSample[] = gens.map((g) => {
    let ids = g.tokens;
    let finishReason = g.finishReason;
    let text = tok.decode(finishReason === 'stop' ? ids.slice(0, -1) : ids);
    const cut = earliestStop(text, stop);
    if (cut) {
      text = text.slice(0, cut.at);
      finishReason = 'stop';
      // Keep the ids up to the token that completed the stop text.
      let t = 1;
      while (t < ids.length && !tok.decode(ids.slice(0, t)).includes(cut.stop)) t++;
      ids = ids.slice(0, t);
    }
    return { text, tokenIds: ids, finishReason };
  });
  if (o.logprobs) {
    const withTokens = out.map((s, i) => ({ s, i })).filter(({ s }) => s.tokenIds.length > 0);
    const lps = completionLogProbs(
      model,
      withTokens.map(({ s, i }) => ({ prompt: rows[i], completion: s.tokenIds })),
      tok.eosId,
    );
    out.forEach((s) => (s.logprobs = []));
    withTokens.forEach(({ s }, k) => (s.logprobs = lps[k]));
  }
  return out;
}

/**
 * The completion up to the first stop string, without trailing space: the text every reward and
 * judge scores (evaluation, best-of-N, ReST's Grow), whatever the generator already cut. Its leading
 * space stays: the prompt ends mid-sentence and the completion's first word is " word", so prompt +
 * completion is the sentence as written (trimming it would glue the two words together for every judge).
 */
export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (s && i >= 0 && i < end) end = i;
  }
  return text.slice(0, end).trimEnd();
}

function earliestStop(text: string, stop: string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const s of stop) {
    const at = text.indexOf(s);
    if (at >= 0 && (!best || at < best.at)) best = { at, stop: s };
  }
  return best;
}

/** Checks that every prompt fits the model's context, naming the one that does not. */
export function checkPromptLengths(prompts: string[], encoded: number[][], nPositions: number): void {
  encoded.forEach((ids, i) => {
    if (ids.length > nPositions) {
      const preview = prompts[i].length > 40 ? `${prompts[i].slice(0, 40)}…` : prompts[i];
      throw new Error(
        `prompt ${i} (${JSON.stringify(preview)}) has ${ids.length} tokens but the model's context is ` +
          `${nPositions}; shorten it`,
      );
    }
  });
}

export interface LocalGeneratorOptions {
  /** Sequences decoded together (default 32). */
  batchSize?: number;
}

/** The built-in engine: the policy's KV-cache sampler, data-parallel across threads. */
export class LocalGenerator implements Generator {
  readonly name = 'the built-in engine';
  readonly batchSize: number;

  constructor(
    readonly model: CausalLM,
    readonly tok: Tokenizer,
    opts: LocalGeneratorOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 32;
  }

  async generate(
    requests: GenerationRequest[],
    options: GenerationOptions,
    onProgress?: (p: GenerationProgress) => void,
  ): Promise<GenerationResult[]> {
    validateGenerationRequests(requests);
    validateGenerationOptions(options);
    const encoded = requests.map((r) => r.promptIds ?? encodePrompt(this.tok, r.prompt));
    checkPromptLengths(
      requests.map((r) => r.prompt),
      encoded,
      this.model.config.nPositions,
    );
    const results: GenerationResult[] = requests.map((r) => ({
      prompt: r.prompt,
      completions: new Array<Completion>(r.n),
    }));
    const total = requests.reduce((a, r) => a + r.n, 0);
    let done = 0;
    for (const chunk of planChunks(
      requests.map((r) => r.n),
      { batchSize: this.batchSize },
      requests.map((r) => r.prompt),
    )) {
      const rows = chunk.parts.flatMap((p) => Array.from({ length: chunk.n }, () => encoded[p.request]));
      const samples = sampleTexts(this.model, this.tok, rows, {
        ...options,
        seed: chunkSeed(options.seed ?? 0, chunk.offset),
      });
      chunk.parts.forEach((p, k) => {
        for (let j = 0; j < chunk.n; j++) {
          const s = samples[k * chunk.n + j];
          results[p.request].completions[p.first + j] = {
            text: s.text,
            finishReason: s.finishReason,
            tokens: s.tokenIds.length,
            tokenIds: s.tokenIds,
            ...(s.logprobs ? { logprobs: s.logprobs } : {}),
          };
        }
      });
      done += rows.length;
      onProgress?.({ done, total, cached: 0 });
      // Let timers and sockets run between chunks (a server in the same process stays responsive).
      await new Promise((r) => setImmediate(r));
    }
    return results;
  }
}
