// Streaming and the server's queue: a client that leaves stops its decoding, one that leaves while
// queued is never decoded, and requests that come in while a stream runs wait their turn.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { buildModelServer } from './model-server.js';

const tok = Tokenizer.train(['the cat sat on the mat. a dog ran. ab ba abc cab'], { vocabSize: 270 });
const config = presetConfig('tiny', { vocabSize: 272, nPositions: 128, eosTokenId: tok.eosId });

describe('serve-model: streaming clients that leave, and the queue', () => {
  const model = createModel(config, 5);
  // Decoding steps (one forward of T = 1 per step), each slowed down when `delayMs` > 0 so that a
  // client can leave in the middle of a stream.
  let steps = 0,
    delayMs = 0;
  const forward = model.forward.bind(model);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  model.forward = (...args: Parameters<typeof forward>) => {
    steps++;
    if (delayMs) Atomics.wait(pause, 0, 0, delayMs);
    return forward(...args);
  };
  const batches: [number, number][] = [];
  let app: FastifyInstance, client: OpenAI;
  // A prompt and seed whose sample runs the whole 100 tokens (no end-of-text), so that an early end is
  // the client's doing.
  const long = { model: 'tiny', prompt: 'the cat', max_tokens: 100, seed: 0 };
  before(async () => {
    app = buildModelServer(model, tok, { name: 'tiny', keepAliveMs: 10, onBatch: (r, c) => batches.push([r, c]) });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
    while ((await client.completions.create(long)).choices[0].finish_reason !== 'length') long.seed++;
  });
  after(async () => {
    // NOTE: undici may hold a connection it opened and never used; closing waits for it unless closed too.
    const closing = app.close();
    app.server.closeAllConnections();
    await closing;
  });

  it('a client that stops reading ends its decoding', async () => {
    delayMs = 3;
    steps = 0;
    let pieces = 0;
    for await (const c of await client.completions.create({ ...long, stream: true })) {
      if (c.choices[0]?.text && ++pieces === 3) break; // the client aborts its request
    }
    // A request queued behind the stream is answered once the stream's decoding has ended.
    await client.completions.create({ model: 'tiny', prompt: 'a', max_tokens: 1 });
    delayMs = 0;
    assert.ok(steps < 50, `decoding went on for ${steps} of 100 steps after the client left`);
  });

  it('requests wait for a running stream; a stream whose client left while queued is never decoded', async () => {
    delayMs = 3;
    batches.length = 0;
    const a = await client.completions.create({ ...long, max_tokens: 60, stream: true });
    const aText = (async () => {
      let text = '';
      for await (const c of a) text += c.choices[0]?.text ?? '';
      return text;
    })();
    // B (not streamed, n=2) and C (streamed, n=3) come in while A decodes; C's client leaves at once.
    const b = client.completions.create({ model: 'tiny', prompt: 'b', n: 2, max_tokens: 3 });
    const gone = new AbortController();
    const c = await client.completions.create(
      { model: 'tiny', prompt: 'c', n: 3, max_tokens: 3, stream: true },
      { signal: gone.signal },
    );
    gone.abort();
    assert.equal((await b).choices.length, 2);
    await aText;
    await client.completions.create({ model: 'tiny', prompt: 'a', max_tokens: 1 });
    delayMs = 0;
    assert.deepEqual(batches, [
      [1, 1],
      [1, 2],
      [1, 1],
    ]);
    assert.ok(c.controller.signal.aborted);
  });
});
