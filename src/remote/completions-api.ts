// The OpenAI completions API as this project speaks it: the request body a server validates (with
// 400s that name the field), and the answer a client checks. One module for both sides, so they
// cannot drift apart.

import { unexpectedAnswer } from './http.js';

// ---- wire shapes ----

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  /** Per token, the most likely alternatives (logprobs > 0), else null. */
  top_logprobs: Record<string, number>[] | null;
  text_offset: number[];
}

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  finish_reason: 'stop' | 'length';
  /** With "return_token_ids" (as vLLM ≥ 0.10.2): the sampled ids, through the token that stopped it. */
  token_ids?: number[];
  prompt_token_ids?: number[];
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: CompletionChoice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** A 4xx answer in OpenAI's error shape; `param` names the offending field. */
export class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

export function errorBody(e: BadRequest): {
  error: { message: string; type: string; param: string | null; code: null };
} {
  return { error: { message: e.message, type: e.type, param: e.param, code: null } };
}

// ---- server side: the request ----

export interface SamplingFields {
  temperature: number;
  topP: number;
  topK: number;
  stop: string[];
  seed?: number;
}

export interface StreamFields {
  /** "stream": true: answer with server-sent events. */
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage. */
  includeUsage: boolean;
}

export interface ParsedCompletionRequest extends SamplingFields, StreamFields {
  model?: string;
  /** Text prompts, or token-id prompts. */
  prompts: (string | number[])[];
  n: number;
  maxTokens: number;
  /** null: no log-probabilities; k ≥ 0: the sampled tokens' and the k most likely alternatives'. */
  logprobs: number | null;
  /** "return_token_ids": each choice also carries its prompt's and its own token ids (vLLM's field). */
  returnTokenIds: boolean;
}

export interface RequestLimits {
  /** Most completions (prompts × n) in one request. */
  maxCompletions: number;
  /** Ids must be below this (the tokenizer's vocabulary). */
  vocabSize: number;
}

export const describe = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
        : typeof v === 'object'
          ? 'an object'
          : String(v);

/** The fields of a JSON body, read with 400s that name the field, say what it must be and what came. */
export class Fields {
  readonly b: Record<string, unknown>;

  constructor(body: unknown, example: string) {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new BadRequest(400, `the body must be a JSON object like ${example}`);
    this.b = body as Record<string, unknown>;
  }

  bad(param: string, msg: string): never {
    throw new BadRequest(400, `${param}: ${msg}, got ${describe(this.b[param])}`, param);
  }

  absent(k: string): boolean {
    return this.b[k] === undefined || this.b[k] === null;
  }

  num(k: string, def: number, ok: (x: number) => boolean, what: string): number {
    if (this.absent(k)) return def;
    const v = this.b[k];
    if (typeof v !== 'number' || !ok(v)) this.bad(k, `must be ${what}`);
    return v as number;
  }

  int(k: string, def: number, min: number, max: number): number {
    return this.num(k, def, (x) => Number.isInteger(x) && x >= min && x <= max, `an integer in [${min}, ${max}]`);
  }

  /** The "model" field, when given. */
  model(): string | undefined {
    if (!this.absent('model') && typeof this.b.model !== 'string')
      this.bad('model', 'must be a string (GET /v1/models lists the served model)');
    return typeof this.b.model === 'string' ? this.b.model : undefined;
  }

  /** "stream" and "stream_options". */
  stream(): StreamFields {
    if (!this.absent('stream') && typeof this.b.stream !== 'boolean') this.bad('stream', 'must be true or false');
    const stream = this.b.stream === true;
    let includeUsage = false;
    if (!this.absent('stream_options')) {
      const so = this.b.stream_options;
      if (!stream) this.bad('stream_options', 'is only allowed with "stream": true; leave it out');
      if (typeof so !== 'object' || Array.isArray(so)) this.bad('stream_options', 'must be an object');
      const iu = (so as Record<string, unknown>).include_usage;
      if (iu !== undefined && iu !== null && typeof iu !== 'boolean')
        throw new BadRequest(
          400,
          `stream_options.include_usage: must be true or false, got ${describe(iu)}`,
          'stream_options.include_usage',
        );
      includeUsage = iu === true;
    }
    return { stream, includeUsage };
  }

  /** Fields this server has no use for, refused unless they ask for nothing. */
  unsupported(): void {
    for (const k of ['presence_penalty', 'frequency_penalty'])
      if (!this.absent(k) && this.b[k] !== 0) this.bad(k, 'is not supported; leave it out or send 0');
    const lb = this.b.logit_bias;
    if (!this.absent('logit_bias') && (typeof lb !== 'object' || Object.keys(lb as object).length > 0))
      this.bad('logit_bias', 'is not supported; leave it out');
  }

  /** temperature, top_p, top_k, stop, seed. */
  sampling(): SamplingFields {
    const temperature = this.num('temperature', 1, (x) => x >= 0 && x <= 100, 'a number ≥ 0 (0 = greedy)');
    const topP = this.num('top_p', 1, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
    const topK = this.num('top_k', 0, (x) => Number.isInteger(x) && x >= -1, 'an integer ≥ 0 (0 or -1 = all tokens)');
    let stop: string[] = [];
    if (typeof this.b.stop === 'string') stop = [this.b.stop];
    else if (Array.isArray(this.b.stop)) stop = this.b.stop as string[];
    else if (!this.absent('stop')) this.bad('stop', 'must be a string or an array of strings');
    if (stop.length > 16 || stop.some((s) => typeof s !== 'string' || s.length === 0))
      this.bad('stop', 'must be at most 16 non-empty strings');
    let seed: number | undefined;
    if (!this.absent('seed')) seed = this.num('seed', 0, (x) => Number.isSafeInteger(x), 'an integer');
    return { temperature, topP, topK: topK < 0 ? 0 : topK, stop, seed };
  }
}

/** Validates a POST /v1/completions body; throws BadRequest naming the field and what is accepted. */
export function parseCompletionRequest(body: unknown, limits: RequestLimits): ParsedCompletionRequest {
  const f = new Fields(body, '{"prompt": "…", "max_tokens": 16}');
  const b = f.b;
  const model = f.model();
  const stream = f.stream();
  if (b.echo === true) throw new BadRequest(400, 'echo: echoing the prompt is not supported; leave "echo" out', 'echo');
  if (!f.absent('suffix') && b.suffix !== '') f.bad('suffix', 'is not supported (no fill-in-the-middle); leave it out');
  f.unsupported();

  const prompts = parsePrompts(b.prompt, limits.vocabSize);
  const n = f.int('n', 1, 1, limits.maxCompletions);
  if (!f.absent('best_of') && b.best_of !== n)
    f.bad(
      'best_of',
      `is not supported (it would need scores); ask for n samples and choose, e.g. with \`rlhf sample --best-of\``,
    );
  if (prompts.length * n > limits.maxCompletions) {
    throw new BadRequest(
      400,
      `this request asks for ${prompts.length * n} completions (${prompts.length} prompts × n=${n}); this ` +
        `server takes at most ${limits.maxCompletions} per request: split it`,
      'prompt',
    );
  }
  const maxTokens = f.int('max_tokens', 16, 0, 1_000_000);
  const sampling = f.sampling();
  let logprobs: number | null = null;
  if (b.logprobs === true) logprobs = 0;
  else if (b.logprobs !== false && !f.absent('logprobs')) logprobs = f.int('logprobs', 0, 0, 20);
  if (!f.absent('return_token_ids') && typeof b.return_token_ids !== 'boolean')
    f.bad('return_token_ids', 'must be true or false');
  const returnTokenIds = b.return_token_ids === true;
  return { model, prompts, n, maxTokens, ...sampling, ...stream, logprobs, returnTokenIds };
}

function parsePrompts(p: unknown, vocabSize: number): (string | number[])[] {
  const what = 'must be a string, an array of strings, an array of token ids, or an array of arrays of token ids';
  const ids = (a: unknown[], where: string): number[] => {
    a.forEach((x, i) => {
      if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= vocabSize) {
        throw new BadRequest(
          400,
          `${where}[${i}]: token ids must be integers in [0, ${vocabSize}), got ${describe(x)}`,
          'prompt',
        );
      }
    });
    if (a.length === 0) throw new BadRequest(400, `${where}: a token-id prompt needs at least one id`, 'prompt');
    return a as number[];
  };
  if (typeof p === 'string') return [p];
  if (!Array.isArray(p) || p.length === 0)
    throw new BadRequest(400, `prompt: ${what} (non-empty), got ${describe(p)}`, 'prompt');
  if (p.every((x) => typeof x === 'string')) return p as string[];
  if (p.every((x) => typeof x === 'number')) return [ids(p, 'prompt')];
  return p.map((x, i) => {
    if (typeof x === 'string') return x;
    if (Array.isArray(x)) return ids(x, `prompt[${i}]`);
    throw new BadRequest(400, `prompt[${i}]: ${what}, got ${describe(x)}`, 'prompt');
  });
}

// ---- client side: the answer ----

export interface ParsedChoice {
  text: string;
  finishReason: string;
  logprobs?: number[];
  /** The sampled ids, where the server gave them ("token_ids", with "return_token_ids"). */
  tokenIds?: number[];
}

/** Finish reasons of other servers, in OpenAI's words. */
function normalizeFinish(r: unknown): string {
  if (r === 'eos_token' || r === 'stop_sequence' || r === 'stop') return 'stop';
  if (r === 'length' || r === null || r === undefined) return 'length';
  return String(r);
}

/**
 * Checks a completions answer for `prompts` prompts × n samples and orders its choices: choice
 * index i·n + j is sample j of prompt i (as vLLM, llama.cpp and TGI number them).
 */
export function parseCompletionResponse(
  json: unknown,
  prompts: number,
  n: number,
  wantLogprobs: boolean,
  url: string,
): ParsedChoice[] {
  const fail = (why: string) => unexpectedAnswer('generator', url, why, json);
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { choices?: unknown }).choices))
    throw fail('no "choices" array');
  const choices = (json as { choices: unknown[] }).choices;
  const want = prompts * n;
  if (choices.length !== want) {
    const hint =
      choices.length === prompts && n > 1 ? '; a server that ignores "n" (TGI) needs --generator-max-n 1' : '';
    throw fail(
      `${choices.length} choices for ${prompts} prompt${prompts > 1 ? 's' : ''} × n=${n}, expected ${want}${hint}`,
    );
  }
  const out: (ParsedChoice | undefined)[] = new Array(want);
  choices.forEach((c, k) => {
    if (typeof c !== 'object' || c === null) throw fail(`choices[${k}] is not an object`);
    const ch = c as Record<string, unknown>;
    const index = ch.index === undefined ? k : ch.index;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= want || out[index as number])
      throw fail(`choices[${k}].index is ${JSON.stringify(ch.index)}; expected distinct indices 0…${want - 1}`);
    if (typeof ch.text !== 'string') throw fail(`choices[${k}].text is not a string`);
    const parsed: ParsedChoice = { text: ch.text, finishReason: normalizeFinish(ch.finish_reason) };
    if (wantLogprobs) {
      const lp = ch.logprobs as { token_logprobs?: unknown } | null | undefined;
      const tl = lp?.token_logprobs;
      if (!Array.isArray(tl) || !tl.every((x) => typeof x === 'number'))
        throw fail(`choices[${k}].logprobs.token_logprobs is not an array of numbers`);
      parsed.logprobs = tl as number[];
    }
    const ids = ch.token_ids;
    if (ids !== undefined && ids !== null) {
      if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0))
        throw fail(`choices[${k}].token_ids is not an array of token ids`);
      parsed.tokenIds = ids as number[];
    }
    out[index as number] = parsed;
  });
  return out as ParsedChoice[];
}
