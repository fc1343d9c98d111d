// `rlhf serve-reward`: a reward function behind HTTP, so the reward model can run on another
// machine. POST /v1/score takes {prompt, completions} or {batch: [{prompt, completions}, …]};
// requests that arrive together are scored as one batch. A conversational prompt travels as its
// messages ("prompt": [messages], or "messages" beside a rendered "prompt"), which a chat reward model
// renders itself (src/model/chat-reward.ts).

import Fastify, { FastifyInstance } from 'fastify';
import { type Message, parseMessages, renderPrompt } from '../data/formats/chat.js';
import { FieldError } from '../data/field-error.js';
import { RewardFn, ScoredText, scoreWith } from '../train/reward-fn.js';
import { BadRequest, errorBody } from './completions-api.js';

export interface RewardServerOptions {
  /** The scorer's id in /v1/models and answers (default "reward"). */
  name?: string;
  /** Most completions scored in one request (default 4096). */
  maxCompletions?: number;
  /** Shown in /v1/models under "rlhf" (e.g. the reward model's bias). */
  info?: Record<string, unknown>;
  logger?: boolean;
}

export interface ScoreEntry {
  /** The prompt's text: as sent, or, for a prompt sent as messages, their plain rendering (formats.md). */
  prompt: string;
  completions: string[];
  /** The prompt's messages, when it was sent as messages or with "messages". */
  messages?: Message[];
}

/** A list of {"role", "content"} messages, or a 400 naming the field. */
function messagesAt(v: unknown, field: string): Message[] {
  try {
    const m = parseMessages(v, field);
    if (m.length === 0) throw new FieldError(field, 'must hold at least one message');
    return m;
  } catch (e) {
    if (e instanceof FieldError) throw new BadRequest(400, `${e.field}: ${e.message}`, e.field);
    throw e;
  }
}

/** Validates a POST /v1/score body; entries, and whether it was a batch. */
export function parseScoreRequest(body: unknown, maxCompletions: number): { entries: ScoreEntry[]; batch: boolean } {
  const shape =
    'send {"prompt": "…" (or [messages]), "completions": ["…", …]} or ' +
    '{"batch": [{"prompt": …, "completions": […]}, …]}';
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest(400, `the body must be a JSON object: ${shape}`);
  const b = body as Record<string, unknown>;
  const entry = (e: unknown, where: string): ScoreEntry => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new BadRequest(400, `${where || 'body'}: must be an object {prompt, completions}`, where || null);
    const { prompt, completions, messages } = e as Record<string, unknown>;
    const at = (f: string) => (where ? `${where}.${f}` : f);
    if (typeof prompt !== 'string' && !Array.isArray(prompt))
      throw new BadRequest(
        400,
        `${at('prompt')}: must be a string or a list of {"role", "content"} messages, got ` +
          `${prompt === undefined ? 'nothing' : typeof prompt}`,
        at('prompt'),
      );
    if (Array.isArray(prompt) && messages !== undefined)
      throw new BadRequest(
        400,
        `${at('messages')}: give the messages once, as "prompt" or as "messages"`,
        at('messages'),
      );
    if (!Array.isArray(completions) || completions.length === 0)
      throw new BadRequest(400, `${at('completions')}: must be a non-empty array of strings`, at('completions'));
    completions.forEach((c, i) => {
      if (typeof c !== 'string')
        throw new BadRequest(
          400,
          `${at('completions')}[${i}]: must be a string, got ${c === null ? 'null' : typeof c}`,
          `${at('completions')}[${i}]`,
        );
    });
    if (Array.isArray(prompt)) {
      const m = messagesAt(prompt, at('prompt'));
      return { prompt: renderPrompt(m), completions: completions as string[], messages: m };
    }
    const m = messages === undefined || messages === null ? undefined : messagesAt(messages, at('messages'));
    return { prompt, completions: completions as string[], ...(m ? { messages: m } : {}) };
  };
  let entries: ScoreEntry[], batch: boolean;
  if (b.batch !== undefined) {
    if (!Array.isArray(b.batch) || b.batch.length === 0)
      throw new BadRequest(400, `batch: must be a non-empty array; ${shape}`, 'batch');
    if (b.prompt !== undefined || b.completions !== undefined)
      throw new BadRequest(400, `give either "batch" or "prompt" and "completions", not both`, 'batch');
    entries = b.batch.map((e, i) => entry(e, `batch[${i}]`));
    batch = true;
  } else {
    entries = [entry(b, '')];
    batch = false;
  }
  const n = entries.reduce((a, e) => a + e.completions.length, 0);
  if (n > maxCompletions)
    throw new BadRequest(
      400,
      `this request has ${n} completions; this server scores at most ${maxCompletions} per request: split it`,
      batch ? 'batch' : 'completions',
    );
  return { entries, batch };
}

interface Job {
  items: ScoredText[];
  resolve: (scores: number[]) => void;
  reject: (e: unknown) => void;
}

export function buildRewardServer(score: RewardFn, o: RewardServerOptions = {}): FastifyInstance {
  const name = o.name ?? 'reward';
  const maxCompletions = o.maxCompletions ?? 4096;
  const queue: Job[] = [];
  let running = false;
  // Requests that arrive while a batch is scored are scored together next.
  const drain = async () => {
    while (queue.length) {
      const group: Job[] = [];
      let n = 0;
      while (queue.length && (group.length === 0 || n + queue[0].items.length <= maxCompletions)) {
        const j = queue.shift()!;
        group.push(j);
        n += j.items.length;
      }
      try {
        const scores = await scoreWith(
          score,
          group.flatMap((j) => j.items),
        );
        let at = 0;
        for (const j of group) {
          j.resolve(scores.slice(at, at + j.items.length));
          at += j.items.length;
        }
      } catch (e) {
        for (const j of group) j.reject(e);
      }
      await new Promise((r) => setImmediate(r));
    }
    running = false;
  };
  const run = (items: ScoredText[]) =>
    new Promise<number[]>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      if (!running) {
        running = true;
        setImmediate(() => void drain());
      }
    });

  const app = Fastify({ logger: o.logger ?? false, bodyLimit: 64 * 1024 * 1024 });
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
            `no route ${req.method} ${req.url}; this server has POST /v1/score, GET /v1/models, GET /health`,
            null,
            'not_found',
          ),
        ),
      );
  });
  app.get('/health', async () => ({ status: 'ok', model: name }));
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: name, object: 'model', owned_by: 'rlhf', rlhf: { kind: 'reward', ...(o.info ?? {}) } }],
  }));
  app.post('/v1/score', async (req) => {
    const { entries, batch } = parseScoreRequest(req.body, maxCompletions);
    const scores = await run(
      entries.flatMap((e) =>
        e.completions.map((completion) => ({
          prompt: e.prompt,
          completion,
          ...(e.messages && { messages: e.messages }),
        })),
      ),
    );
    if (!batch) return { model: name, scores };
    let at = 0;
    return {
      model: name,
      batch: entries.map((e) => {
        const s = scores.slice(at, at + e.completions.length);
        at += e.completions.length;
        return { scores: s };
      }),
    };
  });
  return app;
}
