// RemoteGenerator: the Generator interface over any server speaking the OpenAI completions API
// (`rlhf serve-model`, vLLM, llama.cpp's server, Text Generation Inference). Work is cut into the
// same chunks as the local engine's (prompts per request, n samples each, seed + offset), sent with
// a concurrency limit and retries, and every finished completion is appended to a resume cache.

import type { CausalLM } from '../model/causal-lm.js';
import {
  Completion,
  GenerationOptions,
  GenerationProgress,
  GenerationRequest,
  GenerationResult,
  Generator,
  chunkSeed,
  planChunks,
  validateGenerationOptions,
  validateGenerationRequests,
} from '../train/generator.js';
import { GenerationCache, shortHash } from './cache.js';
import { parseCompletionResponse } from './completions-api.js';
import { HttpOptions, RemoteError, requestJson, runPool, serverRoot, unexpectedAnswer } from './http.js';
import { weightsToSafetensors } from './weights.js';

export interface RemoteGeneratorOptions extends HttpOptions {
  /** The "model" field (default: the first id GET /v1/models lists). */
  model?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Most completions in one request (default 32). */
  batchSize?: number;
  /** Most samples of one prompt in one request (default: no limit; 1 for llama.cpp's server and TGI). */
  maxN?: number;
  /** Most prompts in one request (default: no limit beyond batchSize). */
  maxPrompts?: number;
  /** JSONL resume cache: finished completions are appended here and not asked for again. */
  cacheFile?: string;
}

const HINT = 'Start one with `rlhf serve-model --model DIR --port 8000`, or vLLM, llama.cpp or TGI (docs/remote.md).';

export class RemoteGenerator implements Generator {
  readonly name: string;
  readonly root: string;
  private model?: string;
  private cache?: GenerationCache;
  /** Hash of the weights last sent with syncPolicy: part of the cache key. */
  private weightsTag = '';

  constructor(
    url: string,
    readonly options: RemoteGeneratorOptions = {},
  ) {
    this.root = serverRoot(url, 'generator');
    this.name = `the generator at ${this.root}`;
    this.model = options.model;
    for (const k of ['concurrency', 'batchSize', 'maxN', 'maxPrompts'] as const) {
      const v = options[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1))
        throw new Error(`RemoteGenerator: ${k} must be a positive integer, got ${v}`);
    }
    if (options.cacheFile) this.cache = new GenerationCache(options.cacheFile);
    if (this.cache?.skipped)
      (options.log ?? console.error)(
        `generator cache ${options.cacheFile}: ${this.cache.skipped} unreadable line(s) skipped (a write cut short?)`,
      );
  }

  private get http(): HttpOptions {
    return this.options;
  }

  /** The served models' ids (GET /v1/models). */
  async models(): Promise<string[]> {
    const url = `${this.root}/v1/models`;
    const json = await requestJson({ method: 'GET', url, what: 'generator', hint: HINT }, this.http);
    const data = (json as { data?: unknown })?.data;
    if (!Array.isArray(data) || !data.every((d) => typeof d?.id === 'string'))
      throw unexpectedAnswer('generator', url, 'no "data" list of models with ids', json);
    return data.map((d) => d.id as string);
  }

  /** The "model" field to send: the option, or the first model the server lists. */
  async modelName(): Promise<string> {
    if (this.model === undefined) {
      const ids = await this.models();
      if (ids.length === 0)
        throw new RemoteError(
          `the generator at ${this.root} lists no models; give the model name (--generator-model)`,
          this.root,
        );
      this.model = ids[0];
    }
    return this.model;
  }

  async generate(
    requests: GenerationRequest[],
    options: GenerationOptions,
    onProgress?: (p: GenerationProgress) => void,
  ): Promise<GenerationResult[]> {
    validateGenerationRequests(requests);
    validateGenerationOptions(options);
    const model = await this.modelName();
    const url = `${this.root}/v1/completions`;
    const optionsKey = shortHash(
      JSON.stringify({
        model,
        weights: this.weightsTag,
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature,
        topP: options.topP ?? 1,
        topK: options.topK ?? 0,
        stop: options.stop ?? [],
        seed: options.seed ?? null,
        logprobs: !!options.logprobs,
        tokenIds: !!options.tokenIds,
      }),
    );
    // A prompt asked for twice gets distinct samples: indices count all samples of that prompt.
    const seen = new Map<string, number>();
    const keys = requests.map((r) => {
      const hash = shortHash(r.prompt),
        base = seen.get(hash) ?? 0;
      seen.set(hash, base + r.n);
      return { hash, base };
    });
    const results: GenerationResult[] = requests.map((r) => ({
      prompt: r.prompt,
      completions: new Array<Completion>(r.n),
    }));
    const total = requests.reduce((a, r) => a + r.n, 0);
    let done = 0,
      cached = 0;
    requests.forEach((r, i) => {
      for (let j = 0; j < r.n; j++) {
        const c = this.cache?.get(optionsKey, keys[i].hash, keys[i].base + j);
        if (c) results[i].completions[j] = c;
      }
    });
    const chunks = planChunks(
      requests.map((r) => r.n),
      { batchSize: this.options.batchSize ?? 32, maxN: this.options.maxN, maxPrompts: this.options.maxPrompts },
      requests.map((r) => r.prompt),
    );
    // NOTE: a loop, not some(): some() skips the holes of a sparse array, which are exactly the missing ones.
    const missing = (c: (typeof chunks)[number]) => {
      for (const p of c.parts)
        for (let j = 0; j < c.n; j++) if (!results[p.request].completions[p.first + j]) return true;
      return false;
    };
    const todo = chunks.filter(missing);
    cached = done = total - todo.reduce((a, c) => a + c.parts.length * c.n, 0);
    if (done) onProgress?.({ done, total, cached });
    try {
      await runPool(todo, this.options.concurrency ?? 4, async (chunk) => {
        // Token-id prompts where the caller has the ids (a chat rendering): the text would be encoded again
        // by the server, its special tokens as plain text.
        const prompts = chunk.parts.map((p) => requests[p.request].promptIds ?? requests[p.request].prompt);
        const body: Record<string, unknown> = {
          model,
          prompt: prompts.length === 1 ? prompts[0] : prompts,
          n: chunk.n,
          max_tokens: options.maxNewTokens,
          temperature: options.temperature,
        };
        if (options.topP !== undefined && options.topP < 1) body.top_p = options.topP;
        if (options.topK) body.top_k = options.topK;
        if (options.stop?.length) body.stop = options.stop;
        if (options.seed !== undefined) body.seed = chunkSeed(options.seed, chunk.offset);
        if (options.logprobs) body.logprobs = 0;
        if (options.tokenIds) body.return_token_ids = true;
        const json = await requestJson({ method: 'POST', url, body, what: 'generator', hint: HINT }, this.http);
        const choices = parseCompletionResponse(json, prompts.length, chunk.n, !!options.logprobs, url);
        const fresh: Parameters<GenerationCache['add']>[0] = [];
        chunk.parts.forEach((p, k) => {
          for (let j = 0; j < chunk.n; j++) {
            const slot = results[p.request].completions;
            if (slot[p.first + j]) continue;
            const ch = choices[k * chunk.n + j];
            const c: Completion = {
              text: ch.text,
              finishReason: ch.finishReason,
              ...(ch.logprobs ? { logprobs: ch.logprobs, tokens: ch.logprobs.length } : {}),
              ...(ch.tokenIds ? { tokenIds: ch.tokenIds, tokens: ch.tokenIds.length } : {}),
            };
            slot[p.first + j] = c;
            fresh.push({
              options: optionsKey,
              promptHash: keys[p.request].hash,
              index: keys[p.request].base + p.first + j,
              completion: c,
            });
          }
        });
        this.cache?.add(fresh);
        done += chunk.parts.length * chunk.n;
        onProgress?.({ done, total, cached });
      });
    } catch (e) {
      const kept = this.cache
        ? ` — ${done} of ${total} completions are saved in ${this.cache.file}; run the same command again to resume`
        : '';
      if (e instanceof RemoteError) throw new RemoteError(`${e.message}${kept}`, e.url, e.status);
      throw e;
    }
    return results;
  }

  /**
   * Sends the policy's weights (PUT /v1/weights, `rlhf serve-model --accept-weights`). Resolves
   * false when the server has no such route (vLLM, llama.cpp, TGI serve a fixed model).
   */
  async syncPolicy(policy: CausalLM): Promise<boolean> {
    const bytes = weightsToSafetensors(policy);
    const url = `${this.root}/v1/weights`;
    try {
      await requestJson({ method: 'PUT', url, body: bytes, what: 'generator', hint: HINT }, this.http);
    } catch (e) {
      if (e instanceof RemoteError && (e.status === 404 || e.status === 405 || e.status === 501)) return false;
      throw e;
    }
    this.weightsTag = shortHash(bytes);
    return true;
  }
}
