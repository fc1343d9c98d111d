// `rlhf serve-model`: our checkpoints behind the OpenAI API (POST /v1/completions, POST
// /v1/chat/completions with the model's chat template, each also with "stream": true, and GET
// /v1/models), so other tools and the official `openai` client can sample a policy trained here, and
// our RemoteGenerator is tested against a real server. Requests without a seed and with the same
// sampling settings that arrive together are decoded as one batch (batcher.ts); a seeded request is
// decoded alone, so that its answer is exactly what the local engine gives for that seed, streamed or not.

import Fastify, { FastifyInstance, FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { CausalLM } from '../model/causal-lm.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { TextSample, encodePrompt, stopTokenIds } from '../train/generator.js';
import { Batcher, DecodeOptions, JobSpec } from './batcher.js';
import { ChatChoice, ChatFormatter, ChatResponse, parseChatRequest, renderChat } from './chat-api.js';
import {
  BadRequest,
  CompletionChoice,
  CompletionResponse,
  ParsedCompletionRequest,
  errorBody,
  parseCompletionRequest,
} from './completions-api.js';
import { IdLogprob, chatTokenLogprob, topAlternatives, topRecord } from './logprobs.js';
import { SSEStream, StreamSpec } from './sse-stream.js';
import { loadWeightsInto, weightsFingerprint } from './weights.js';

export interface ModelServerOptions {
  /** The model's id in /v1/models and answers (default "rlhf"). */
  name?: string;
  /** Most completions (prompts × n) in one request (default 256). */
  maxCompletions?: number;
  /** Accept PUT /v1/weights (new weights for the served model; only on a trusted network). */
  acceptWeights?: boolean;
  /** The model's chat template, for POST /v1/chat/completions (without it that route answers 400). */
  chat?: ChatFormatter;
  /** While a streaming request waits for the model, an SSE comment this often (ms, default 1000). */
  keepAliveMs?: number;
  /** Fastify's logger (default off). */
  logger?: boolean;
  /** Called with the number of requests and of completions of each decoded batch (for logs and tests). */
  onBatch?: (requests: number, completions: number) => void;
}

function choiceOf(
  tok: Tokenizer,
  s: TextSample,
  index: number,
  top: IdLogprob[][] | null | undefined,
  /** With "return_token_ids": the prompt's ids, and the choice carries its own. */
  promptIds?: number[],
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
    const top_logprobs = top ? top.map((t) => topRecord(tok, t)) : null;
    lp = { tokens, token_logprobs: s.logprobs, top_logprobs, text_offset };
  }
  const choice: CompletionChoice = {
    index,
    text: s.text,
    logprobs: lp,
    finish_reason: s.finishReason === 'stop' ? 'stop' : 'length',
  };
  return promptIds ? { ...choice, prompt_token_ids: promptIds, token_ids: s.tokenIds } : choice;
}

export function buildModelServer(model: CausalLM, tok: Tokenizer, o: ModelServerOptions = {}): FastifyInstance {
  const name = o.name ?? 'rlhf';
  const maxCompletions = o.maxCompletions ?? 256;
  const nPositions = model.config.nPositions;
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
            `no route ${req.method} ${req.url}; this server has POST /v1/completions, POST /v1/chat/completions, ` +
              'GET /v1/models, GET /health',
            null,
            'not_found',
          ),
        ),
      );
  });

  const checkModel = (asked: string | undefined) => {
    if (asked !== undefined && asked !== name)
      throw new BadRequest(
        404,
        `model: "${asked}" is not served here; this server serves "${name}"`,
        'model',
        'not_found',
      );
  };

  /** Answers with server-sent events while the rows decode (sse-stream.ts). */
  const streamAnswer = async (
    reply: FastifyReply,
    spec: Omit<StreamSpec, 'model' | 'fingerprint' | 'stopTokens'>,
    job: JobSpec,
  ): Promise<void> => {
    const stopTokens = stopTokenIds(tok, job.opts.stop ?? [], model.config);
    const sse = new SSEStream(reply.raw, tok, model.config.vocabSize, {
      ...spec,
      model: name,
      fingerprint,
      stopTokens,
    });
    reply.hijack();
    sse.start(o.keepAliveMs ?? 1000);
    try {
      await batcher.stream(job, sse);
      sse.end();
    } catch (e) {
      sse.end(e);
    }
  };

  app.get('/health', async () => ({ status: 'ok', model: name }));
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [
      {
        id: name,
        object: 'model',
        created,
        owned_by: 'rlhf',
        max_model_len: nPositions,
        rlhf: { accepts_weights: !!o.acceptWeights, chat: !!o.chat, fingerprint },
      },
    ],
  }));

  app.post('/v1/completions', async (req, reply): Promise<CompletionResponse | undefined> => {
    const r: ParsedCompletionRequest = parseCompletionRequest(req.body, { maxCompletions, vocabSize: tok.vocabSize });
    checkModel(r.model);
    const encoded = r.prompts.map((p) => (typeof p === 'string' ? encodePrompt(tok, p) : p));
    encoded.forEach((ids, i) => {
      if (ids.length > nPositions)
        throw new BadRequest(
          400,
          `prompt[${i}] has ${ids.length} tokens but the model's context is ${nPositions}; shorten it`,
          'prompt',
        );
    });
    // Rows: prompt i's n samples are rows i·n … i·n + n − 1, as choice indices are.
    const rows = encoded.flatMap((ids) => Array.from({ length: r.n }, () => ids));
    const seed = r.seed === undefined ? undefined : r.seed >>> 0;
    const opts: DecodeOptions = {
      maxNewTokens: r.maxTokens,
      temperature: r.temperature,
      topP: r.topP,
      topK: r.topK,
      stop: r.stop,
      logprobs: r.logprobs !== null,
    };
    const promptTokens = encoded.reduce((a, ids) => a + ids.length, 0) * r.n;
    const id = `cmpl-${randomBytes(12).toString('hex')}`;
    if (r.stream) {
      const spec = { kind: 'completion' as const, id, choices: rows.length, stop: r.stop, promptTokens };
      const ids = r.returnTokenIds ? { promptIds: rows } : {};
      await streamAnswer(
        reply,
        { ...spec, ...ids, logprobs: r.logprobs, includeUsage: r.includeUsage },
        { rows, seed, opts },
      );
      return;
    }
    const samples = await batcher.run({ rows, seed, opts });
    const tops = r.logprobs
      ? topAlternatives(
          model,
          tok,
          samples.map((s, i) => ({ prompt: rows[i], completion: s.tokenIds })),
          r.logprobs,
        )
      : null;
    const completionTokens = samples.reduce((a, s) => a + s.tokenIds.length, 0);
    return {
      id,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      system_fingerprint: fingerprint,
      choices: samples.map((s, i) => choiceOf(tok, s, i, tops?.[i], r.returnTokenIds ? rows[i] : undefined)),
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  });

  app.post('/v1/chat/completions', async (req, reply): Promise<ChatResponse | undefined> => {
    if (!o.chat)
      throw new BadRequest(
        400,
        `model has no chat template: "${name}" was served without one (its tokenizer_config.json has no ` +
          'chat_template); send your own prompt format to POST /v1/completions instead',
        'messages',
      );
    const r = parseChatRequest(req.body, { maxCompletions });
    checkModel(r.model);
    const text = renderChat(o.chat, r.messages);
    const ids = text.length ? tok.encode(text, { allowSpecial: true }) : [tok.eosId];
    if (ids.length >= nPositions)
      throw new BadRequest(
        400,
        `messages: the conversation is ${ids.length} tokens with the chat template, but the model's context is ` +
          `${nPositions}, which leaves no room for an answer; shorten it`,
        'messages',
      );
    const rows = Array.from({ length: r.n }, () => ids);
    const seed = r.seed === undefined ? undefined : r.seed >>> 0;
    const stop = [...new Set([...r.stop, ...o.chat.endOfTurn])];
    const opts: DecodeOptions = {
      maxNewTokens: r.maxTokens ?? nPositions - ids.length,
      temperature: r.temperature,
      topP: r.topP,
      topK: r.topK,
      stop,
      logprobs: r.logprobs !== null,
    };
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    if (r.stream) {
      const spec = { kind: 'chat' as const, id, choices: r.n, stop, promptTokens: ids.length };
      await streamAnswer(reply, { ...spec, logprobs: r.logprobs, includeUsage: r.includeUsage }, { rows, seed, opts });
      return;
    }
    const samples = await batcher.run({ rows, seed, opts });
    const stopTokens = new Set(stopTokenIds(tok, stop, model.config));
    // A chat message's tokens: without the end-of-turn token that ended it.
    const content = samples.map((s) => {
      const n = s.tokenIds.length;
      return s.finishReason === 'stop' && n > 0 && stopTokens.has(s.tokenIds[n - 1]) ? n - 1 : n;
    });
    const tops = r.logprobs
      ? topAlternatives(
          model,
          tok,
          samples.map((s, i) => ({ prompt: ids, completion: s.tokenIds.slice(0, content[i]) })),
          r.logprobs,
        )
      : null;
    const choices = samples.map(
      (s, i): ChatChoice => ({
        index: i,
        message: { role: 'assistant', content: s.text, refusal: null },
        logprobs:
          r.logprobs === null
            ? null
            : {
                content: s.tokenIds
                  .slice(0, content[i])
                  .map((id, t) => chatTokenLogprob(tok, { id, logprob: s.logprobs![t], top: tops?.[i][t] ?? [] })),
                refusal: null,
              },
        finish_reason: s.finishReason === 'stop' ? 'stop' : 'length',
      }),
    );
    const completionTokens = samples.reduce((a, s) => a + s.tokenIds.length, 0);
    return {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      system_fingerprint: fingerprint,
      choices,
      usage: {
        prompt_tokens: ids.length,
        completion_tokens: completionTokens,
        total_tokens: ids.length + completionTokens,
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
