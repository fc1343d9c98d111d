// A streaming answer ("stream": true) as OpenAI sends it: server-sent events `data: {json}\n\n`, a
// chunk per piece of text of one choice ("text_completion" chunks for /v1/completions,
// "chat.completion.chunk" for /v1/chat/completions, whose first chunk per choice carries the role),
// the last chunk of a choice with its finish_reason, with stream_options.include_usage a chunk with
// no choices and the usage, then `data: [DONE]`.

import type { ServerResponse } from 'node:http';
import type { FinishReason } from '../model/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import type { TokenSink } from './batcher.js';
import { BadRequest, errorBody } from './completions-api.js';
import { TokenLogprob, chatTokenLogprob, logprobsAt, topRecord } from './logprobs.js';
import { TextStream } from './text-stream.js';

export interface StreamSpec {
  kind: 'completion' | 'chat';
  id: string;
  model: string;
  fingerprint: string;
  /** Choices (rows) in the answer. */
  choices: number;
  /** Stop strings (never sent) and the ids that end a row at once (never sent either). */
  stop: string[];
  stopTokens: number[];
  /** null: no log-probabilities; k ≥ 0: each token's and its k most likely alternatives'. */
  logprobs: number | null;
  includeUsage: boolean;
  promptTokens: number;
  /**
   * With "return_token_ids": each choice's prompt ids (sent in its first chunk, as vLLM does); each chunk then
   * carries the ids of the tokens its text completes ("token_ids"), a stop token included.
   */
  promptIds?: number[][];
}

interface ChoiceState {
  text: TextStream;
  /** Log-probabilities of tokens whose text is not sent yet. */
  pending: TokenLogprob[];
  /** Ids of tokens whose chunk is not sent yet (with spec.promptIds). */
  pendingIds: number[];
  /** Whether a chunk of this choice was sent (its first one carries prompt_token_ids). */
  begun: boolean;
  tokens: number;
  /** Characters of the completion sent so far (completions' text_offset). */
  offset: number;
  done: boolean;
}

export class SSEStream implements TokenSink {
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly states: ChoiceState[];
  private readonly stopTokens: Set<number>;
  private gone = false;
  private wrote = false;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly tok: Tokenizer,
    private readonly V: number,
    private readonly spec: StreamSpec,
  ) {
    const decode = (ids: number[]) => tok.decode(ids);
    this.states = Array.from({ length: spec.choices }, () => ({
      text: new TextStream(decode, spec.stop),
      pending: [],
      pendingIds: [],
      begun: false,
      tokens: 0,
      offset: 0,
      done: false,
    }));
    this.stopTokens = new Set(spec.stopTokens);
    res.on('close', () => {
      if (!res.writableEnded) this.gone = true;
    });
  }

  /**
   * Sends the headers (and, for chat, each choice's role), so the client knows it was accepted; then,
   * while nothing else is sent (queued behind other requests), an SSE comment every keepAliveMs.
   * NOTE: undici (Node's fetch, the openai client) closes the connection of an aborted request only
   * when more data arrives; the comments make a client that left while queued visible.
   */
  start(keepAliveMs: number): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (this.spec.kind === 'chat')
      for (let i = 0; i < this.spec.choices; i++)
        this.send({ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    this.keepAlive = setInterval(() => {
      if (!this.wrote && !this.closed()) this.res.write(': waiting for the model\n\n');
      this.wrote = false;
    }, keepAliveMs);
    this.keepAlive.unref();
  }

  closed(): boolean {
    return this.gone || this.res.destroyed;
  }

  onToken(row: number, token: number, finish: FinishReason | null, logits: Float32Array, off: number): boolean {
    const c = this.states[row];
    if (c.done) return true;
    c.tokens++;
    const stopToken = finish === 'stop' && this.stopTokens.has(token);
    // NOTE: a stop token's log-probability is in a completion's logprobs (as without streaming) but
    // not in a chat message's: it is the end of the turn, not content.
    if (this.spec.logprobs !== null && !(stopToken && this.spec.kind === 'chat'))
      c.pending.push(logprobsAt(logits, off, this.V, this.tok.vocabSize, token, this.spec.logprobs));
    if (this.spec.promptIds) c.pendingIds.push(token);
    let delta = '',
      stopped = false;
    if (!stopToken) ({ delta, stop: stopped } = c.text.push(token));
    if (finish === null && !stopped) {
      if (delta) this.sendText(row, delta, null);
      return false;
    }
    if (!stopped) delta += c.text.flush();
    this.sendText(row, delta, stopped || finish === 'stop' ? 'stop' : 'length');
    return stopped;
  }

  /** Finishes choices that got no last token (no tokens asked for, client gone), the usage, [DONE]. */
  end(error?: unknown): void {
    clearInterval(this.keepAlive);
    if (this.closed()) return;
    if (error !== undefined) {
      const e =
        error instanceof BadRequest
          ? error
          : new BadRequest(500, String((error as Error)?.message ?? error), null, 'server_error');
      this.res.write(`data: ${JSON.stringify(errorBody(e))}\n\n`);
    } else {
      this.states.forEach((c, row) => !c.done && this.sendText(row, c.text.flush(), 'length'));
      if (this.spec.includeUsage) {
        const completion = this.states.reduce((a, c) => a + c.tokens, 0);
        this.write({
          choices: [],
          usage: {
            prompt_tokens: this.spec.promptTokens,
            completion_tokens: completion,
            total_tokens: this.spec.promptTokens + completion,
          },
        });
      }
    }
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }

  /** A chunk with a piece of choice `row`'s text and the log-probabilities of the tokens it completes. */
  private sendText(row: number, text: string, finish: 'stop' | 'length' | null): void {
    const c = this.states[row];
    const lps = c.pending.splice(0);
    if (finish) c.done = true;
    if (this.spec.kind === 'chat') {
      const logprobs =
        this.spec.logprobs === null ? null : { content: lps.map((t) => chatTokenLogprob(this.tok, t)), refusal: null };
      this.send({ index: row, delta: text ? { content: text } : {}, logprobs, finish_reason: finish });
      return;
    }
    let logprobs = null;
    if (this.spec.logprobs !== null) {
      const tokens = lps.map((t) => this.tok.decode([t.id]));
      const text_offset = tokens.map((t) => {
        const at = c.offset;
        c.offset += t.length;
        return at;
      });
      logprobs = {
        tokens,
        token_logprobs: lps.map((t) => t.logprob),
        top_logprobs: this.spec.logprobs > 0 ? lps.map((t) => topRecord(this.tok, t.top)) : null,
        text_offset,
      };
    }
    const ids = this.spec.promptIds
      ? { ...(!c.begun && { prompt_token_ids: this.spec.promptIds[row] }), token_ids: c.pendingIds.splice(0) }
      : {};
    c.begun = true;
    this.send({ index: row, text, logprobs, finish_reason: finish, ...ids });
  }

  private send(choice: object): void {
    this.write({ choices: [choice], ...(this.spec.includeUsage ? { usage: null } : {}) });
  }

  private write(body: { choices: object[]; usage?: object | null }): void {
    if (this.closed()) return;
    const { id, model, fingerprint } = this.spec;
    const object = this.spec.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = { id, object, created: this.created, model, system_fingerprint: fingerprint, ...body };
    this.res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    this.wrote = true;
  }
}
