// `rlhf serve-model`: our checkpoints behind the OpenAI completions API (POST /v1/completions,
// GET /v1/models), so other tools can sample a policy trained here and our RemoteGenerator is
// tested against a real server. Requests without a seed and with the same sampling settings that
// arrive together are decoded as one batch; a seeded request is decoded alone, so that its answer
// is exactly what the local engine gives for that seed.

import Fastify, { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Graph } from '../engine/graph.js';
import type { CausalLM } from '../model/causal-lm.js';
import { completionBatch } from '../model/logprobs.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { TextSample, TextSampleOptions, encodePrompt, sampleTexts } from '../train/generator.js';
import {
  BadRequest,
  CompletionChoice,
  CompletionResponse,
  ParsedCompletionRequest,
  errorBody,
  parseCompletionRequest,
} from './completions-api.js';
import { loadWeightsInto, weightsFingerprint } from './weights.js';

export interface ModelServerOptions {
  /** The model's id in /v1/models and answers (default "rlhf"). */
  name?: string;
  /** Most completions (prompts × n) in one request (default 256). */
  maxCompletions?: number;
  /** Accept PUT /v1/weights (new weights for the served model; only on a trusted network). */
  acceptWeights?: boolean;
  /** Fastify's logger (default off). */
  logger?: boolean;
  /** Called with the number of requests and of completions of each decoded batch (for logs and tests). */
  onBatch?: (requests: number, completions: number) => void;
}

interface Job {
  rows: number[][];
  opts: Omit<TextSampleOptions, 'seed'>;
  seed?: number;
  resolve: (s: TextSample[]) => void;
  reject: (e: unknown) => void;
}

/** Queues decoding jobs; jobs that arrive together and can share a batch are decoded as one. */
class Batcher {
  private queue: Job[] = [];
  private running = false;

  constructor(
    private readonly model: CausalLM,
    private readonly tok: Tokenizer,
    private readonly maxRows: number,
    private readonly onBatch?: (requests: number, completions: number) => void,
  ) {}

  run(job: Omit<Job, 'resolve' | 'reject'>): Promise<TextSample[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const group = this.takeGroup();
      const rows = group.flatMap((j) => j.rows);
      // Unseeded jobs still get a fresh random seed each batch.
      const seed = group[0].seed ?? randomBytes(4).readUInt32LE(0);
      this.onBatch?.(group.length, rows.length);
      try {
        const samples = sampleTexts(this.model, this.tok, rows, { ...group[0].opts, seed });
        let at = 0;
        for (const j of group) {
          j.resolve(samples.slice(at, at + j.rows.length));
          at += j.rows.length;
        }
      } catch (e) {
        for (const j of group) j.reject(e);
      }
      // Answers go out, and requests that came in meanwhile are parsed, before the next batch.
      await new Promise((r) => setImmediate(r));
    }
    this.running = false;
  }

  /** The first queued job, with the later unseeded jobs of the same settings that fit beside it. */
  private takeGroup(): Job[] {
    const first = this.queue.shift()!;
    if (first.seed !== undefined) return [first];
    const key = JSON.stringify(first.opts);
    const group = [first];
    let rows = first.rows.length;
    this.queue = this.queue.filter((j) => {
      if (j.seed !== undefined || JSON.stringify(j.opts) !== key || rows + j.rows.length > this.maxRows) return true;
      group.push(j);
      rows += j.rows.length;
      return false;
    });
    return group;
  }
}

/** For each completion, its tokens' k most likely alternatives: {token text: log-probability}. */
function topLogprobs(
  model: CausalLM,
  tok: Tokenizer,
  pairs: { prompt: number[]; completion: number[] }[],
  k: number,
): Record<string, number>[][] {
  const V = model.config.vocabSize,
    Vt = Math.min(V, tok.vocabSize);
  const out: Record<string, number>[][] = [];
  for (let i = 0; i < pairs.length; i += 16) {
    const part = pairs.slice(i, i + 16);
    const { ids, B, T } = completionBatch(part, tok.eosId);
    const g = Graph.inference();
    const logits = model.forward(g, ids, B, T).data; // (B, T, V)
    part.forEach((p, b) => {
      const rows: Record<string, number>[] = [];
      for (let j = 0; j < p.completion.length; j++) {
        const off = (b * T + p.prompt.length - 1 + j) * V;
        let m = -Infinity;
        for (let v = 0; v < V; v++) m = Math.max(m, logits[off + v]);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(logits[off + v] - m);
        const lse = m + Math.log(z);
        const best = Array.from({ length: Vt }, (_, v) => v)
          .sort((a, c) => logits[off + c] - logits[off + a])
          .slice(0, k);
        rows.push(Object.fromEntries(best.map((v) => [tok.decode([v]), logits[off + v] - lse])));
      }
      out.push(rows);
    });
    g.dispose();
  }
  return out;
}

function choiceOf(
  tok: Tokenizer,
  s: TextSample,
  index: number,
  logprobs: Record<string, number>[] | null | undefined,
): CompletionChoice {
  let lp: CompletionChoice['logprobs'] = null;
  if (s.logprobs) {
    const tokens = s.tokenIds.map((id) => tok.decode([id]));
    const text_offset: number[] = [];
    let at = 0;
    for (const t of tokens) {
      text_offset.push(at);
      at += t.length;
    }
    lp = { tokens, token_logprobs: s.logprobs, top_logprobs: logprobs ?? null, text_offset };
  }
  return { index, text: s.text, logprobs: lp, finish_reason: s.finishReason === 'stop' ? 'stop' : 'length' };
}

export function buildModelServer(model: CausalLM, tok: Tokenizer, o: ModelServerOptions = {}): FastifyInstance {
  const name = o.name ?? 'rlhf';
  const maxCompletions = o.maxCompletions ?? 256;
  const batcher = new Batcher(model, tok, maxCompletions, o.onBatch);
  const created = Math.floor(Date.now() / 1000);
  let fingerprint = weightsFingerprint(model);
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 * 1024 - 1 },
    (_req, body, done) => done(null, body),
  );
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BadRequest) return reply.status(err.status).send(errorBody(err));
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply
      .status(status)
      .send(
        errorBody(new BadRequest(status, err.message, null, status === 500 ? 'server_error' : 'invalid_request_error')),
      );
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send(
        errorBody(
          new BadRequest(
            404,
            `no route ${req.method} ${req.url}; this server has POST /v1/completions, GET /v1/models, GET /health`,
            null,
            'not_found',
          ),
        ),
      );
  });

  app.get('/health', async () => ({ status: 'ok', model: name }));
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [
      {
        id: name,
        object: 'model',
        created,
        owned_by: 'rlhf',
        max_model_len: model.config.nPositions,
        rlhf: { accepts_weights: !!o.acceptWeights, fingerprint },
      },
    ],
  }));

  app.post('/v1/completions', async (req): Promise<CompletionResponse> => {
    const r: ParsedCompletionRequest = parseCompletionRequest(req.body, { maxCompletions, vocabSize: tok.vocabSize });
    if (r.model !== undefined && r.model !== name)
      throw new BadRequest(
        404,
        `model: "${r.model}" is not served here; this server serves "${name}"`,
        'model',
        'not_found',
      );
    const encoded = r.prompts.map((p) => (typeof p === 'string' ? encodePrompt(tok, p) : p));
    encoded.forEach((ids, i) => {
      if (ids.length > model.config.nPositions)
        throw new BadRequest(
          400,
          `prompt[${i}] has ${ids.length} tokens but the model's context is ${model.config.nPositions}; shorten it`,
          'prompt',
        );
    });
    // Rows: prompt i's n samples are rows i·n … i·n + n − 1, as choice indices are.
    const rows = encoded.flatMap((ids) => Array.from({ length: r.n }, () => ids));
    const samples = await batcher.run({
      rows,
      seed: r.seed === undefined ? undefined : r.seed >>> 0,
      opts: {
        maxNewTokens: r.maxTokens,
        temperature: r.temperature,
        topP: r.topP,
        topK: r.topK,
        stop: r.stop,
        logprobs: r.logprobs !== null,
      },
    });
    const tops = r.logprobs
      ? topLogprobs(
          model,
          tok,
          samples.map((s, i) => ({ prompt: rows[i], completion: s.tokenIds })),
          r.logprobs,
        )
      : null;
    const promptTokens = encoded.reduce((a, ids) => a + ids.length, 0) * r.n;
    const completionTokens = samples.reduce((a, s) => a + s.tokenIds.length, 0);
    return {
      id: `cmpl-${randomBytes(12).toString('hex')}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      system_fingerprint: fingerprint,
      choices: samples.map((s, i) => choiceOf(tok, s, i, tops?.[i])),
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  });

  app.put('/v1/weights', async (req) => {
    if (!o.acceptWeights) {
      throw new BadRequest(
        403,
        'this server does not take new weights; start it with `rlhf serve-model --accept-weights` (only on a ' +
          'trusted network)',
        null,
        'permission_error',
      );
    }
    if (!(req.body instanceof Uint8Array))
      throw new BadRequest(
        415,
        'send the weights as safetensors bytes with Content-Type: application/octet-stream',
        null,
      );
    try {
      loadWeightsInto(model, req.body);
    } catch (e) {
      throw new BadRequest(400, (e as Error).message, null);
    }
    fingerprint = weightsFingerprint(model);
    return { status: 'ok', model: name, fingerprint };
  });
  return app;
}
