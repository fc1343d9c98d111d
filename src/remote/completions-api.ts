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

export interface ParsedCompletionRequest {
  model?: string;
  /** Text prompts, or token-id prompts. */
  prompts: (string | number[])[];
  n: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  stop: string[];
  seed?: number;
  /** null: no log-probabilities; k ≥ 0: the sampled tokens' and the k most likely alternatives'. */
  logprobs: number | null;
}

export interface RequestLimits {
  /** Most completions (prompts × n) in one request. */
  maxCompletions: number;
  /** Ids must be below this (the tokenizer's vocabulary). */
  vocabSize: number;
}

const describe = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
        : typeof v === 'object'
          ? 'an object'
          : String(v);

/** Validates a POST /v1/completions body; throws BadRequest naming the field and what is accepted. */
export function parseCompletionRequest(body: unknown, limits: RequestLimits): ParsedCompletionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest(400, 'the body must be a JSON object like {"prompt": "…", "max_tokens": 16}');
  const b = body as Record<string, unknown>;
  const bad = (param: string, msg: string): never => {
    throw new BadRequest(400, `${param}: ${msg}, got ${describe(b[param])}`, param);
  };
  const absent = (k: string) => b[k] === undefined || b[k] === null;
  const num = (k: string, def: number, ok: (x: number) => boolean, what: string): number => {
    if (absent(k)) return def;
    const v = b[k];
    if (typeof v !== 'number' || !ok(v)) bad(k, `must be ${what}`);
    return v as number;
  };
  const int = (k: string, def: number, min: number, max: number): number =>
    num(k, def, (x) => Number.isInteger(x) && x >= min && x <= max, `an integer in [${min}, ${max}]`);

  if (!absent('model') && typeof b.model !== 'string')
    bad('model', 'must be a string (GET /v1/models lists the served model)');
  if (b.stream === true)
    throw new BadRequest(
      400,
      'stream: streaming is not supported here; send "stream": false (or leave it out)',
      'stream',
    );
  if (b.echo === true) throw new BadRequest(400, 'echo: echoing the prompt is not supported; leave "echo" out', 'echo');
  if (!absent('suffix') && b.suffix !== '') bad('suffix', 'is not supported (no fill-in-the-middle); leave it out');
  for (const k of ['presence_penalty', 'frequency_penalty'])
    if (!absent(k) && b[k] !== 0) bad(k, 'is not supported; leave it out or send 0');
  if (!absent('logit_bias') && (typeof b.logit_bias !== 'object' || Object.keys(b.logit_bias as object).length > 0))
    bad('logit_bias', 'is not supported; leave it out');

  const prompts = parsePrompts(b.prompt, limits.vocabSize);
  const n = int('n', 1, 1, limits.maxCompletions);
  if (!absent('best_of') && b.best_of !== n)
    bad(
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
  const maxTokens = int('max_tokens', 16, 0, 1_000_000);
  const temperature = num('temperature', 1, (x) => x >= 0 && x <= 100, 'a number ≥ 0 (0 = greedy)');
  const topP = num('top_p', 1, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const topKRaw = num('top_k', 0, (x) => Number.isInteger(x) && x >= -1, 'an integer ≥ 0 (0 or -1 = all tokens)');
  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) stop = b.stop as string[];
  else if (!absent('stop')) bad('stop', 'must be a string or an array of strings');
  if (stop.length > 16 || stop.some((s) => typeof s !== 'string' || s.length === 0))
    bad('stop', 'must be at most 16 non-empty strings');
  let seed: number | undefined;
  if (!absent('seed')) seed = num('seed', 0, (x) => Number.isSafeInteger(x), 'an integer');
  let logprobs: number | null = null;
  if (b.logprobs === true) logprobs = 0;
  else if (b.logprobs !== false && !absent('logprobs')) logprobs = int('logprobs', 0, 0, 20);
  return {
    model: typeof b.model === 'string' ? b.model : undefined,
    prompts,
    n,
    maxTokens,
    temperature,
    topP,
    topK: topKRaw < 0 ? 0 : topKRaw,
    stop,
    seed,
    logprobs,
  };
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
    out[index as number] = parsed;
  });
  return out as ParsedChoice[];
}
