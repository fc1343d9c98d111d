import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { LocalGenerator, encodePrompt } from '../train/generator.js';
import { RemoteGenerator } from './generator-client.js';
import { buildModelServer } from './model-server.js';
import { weightsFingerprint } from './weights.js';

const tok = Tokenizer.train(['the cat sat on the mat. a dog ran. ab ba abc cab'], { vocabSize: 270 });
const config = presetConfig('tiny', { vocabSize: 272, nPositions: 32, eosTokenId: tok.eosId });

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('serve-model: the OpenAI completions API on loopback', () => {
  const served = createModel(config, 5);
  const batches: [number, number][] = [];
  let app: FastifyInstance, url: string;
  before(async () => {
    app = buildModelServer(served, tok, { name: 'tiny', maxCompletions: 40, onBatch: (r, c) => batches.push([r, c]) });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  it('answers what the local engine samples for the same seed and chunking', async () => {
    const reqs = [
      { prompt: 'the cat', n: 3 },
      { prompt: 'a dog', n: 3 },
      { prompt: '', n: 2 },
      { prompt: 'ab', n: 5 },
    ];
    const opts = { maxNewTokens: 8, temperature: 1, topK: 20, seed: 11, stop: ['ab'] };
    const local = await new LocalGenerator(served, tok, { batchSize: 6 }).generate(reqs, opts);
    const remote = await new RemoteGenerator(url, { batchSize: 6, concurrency: 3 }).generate(reqs, opts);
    const norm = (f: string) => (f === 'context' ? 'length' : f);
    assert.deepEqual(
      remote.map((r) => r.completions.map((c) => [c.text, c.finishReason])),
      local.map((r) => r.completions.map((c) => [c.text, norm(c.finishReason)])),
    );
    // Asked for token ids ("return_token_ids"), the server gives the engine's, stop tokens included.
    const withIds = await new RemoteGenerator(url, { batchSize: 6 }).generate(reqs, { ...opts, tokenIds: true });
    assert.deepEqual(
      withIds.map((r) => r.completions.map((c) => c.tokenIds)),
      local.map((r) => r.completions.map((c) => c.tokenIds)),
    );
  });

  it('return_token_ids: each choice has its prompt ids and sampled ids; streamed, as deltas', async () => {
    const body = { model: 'tiny', prompt: [[5, 6, 7], 'the cat'], n: 2, max_tokens: 6, seed: 4 };
    const { status, json } = await post(`${url}/v1/completions`, { ...body, return_token_ids: true });
    assert.equal(status, 200);
    const catIds = encodePrompt(tok, 'the cat');
    json.choices.forEach((c: any, i: number) => {
      assert.deepEqual(c.prompt_token_ids, i < 2 ? [5, 6, 7] : catIds);
      assert.equal(tok.decode(c.token_ids).startsWith(c.text), true);
      assert.ok(c.token_ids.length >= 1 && c.token_ids.length <= 6);
    });
    const plain = await post(`${url}/v1/completions`, body);
    assert.equal(plain.json.choices[0].token_ids, undefined);
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, return_token_ids: true, stream: true }),
    });
    const chunks = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0]);
    json.choices.forEach((c: any, i: number) => {
      const mine = chunks.filter((k) => k.index === i);
      assert.deepEqual(mine[0].prompt_token_ids, c.prompt_token_ids);
      assert.ok(mine.slice(1).every((k) => k.prompt_token_ids === undefined));
      assert.deepEqual(
        mine.flatMap((k) => k.token_ids),
        c.token_ids,
      );
    });
  });

  it('per-token logprobs agree with completionLogProbs; top_logprobs list the k most likely', async () => {
    const { status, json } = await post(`${url}/v1/completions`, {
      model: 'tiny',
      prompt: ['the', 'cat'],
      n: 2,
      max_tokens: 5,
      seed: 3,
      logprobs: 2,
    });
    assert.equal(status, 200);
    assert.equal(json.object, 'text_completion');
    assert.equal(json.system_fingerprint, weightsFingerprint(served));
    assert.deepEqual(
      json.choices.map((c: any) => c.index),
      [0, 1, 2, 3],
    );
    const local = await new LocalGenerator(served, tok, { batchSize: 4 }).generate(
      [
        { prompt: 'the', n: 2 },
        { prompt: 'cat', n: 2 },
      ],
      { maxNewTokens: 5, temperature: 1, seed: 3 },
    );
    const samples = local.flatMap((r) =>
      r.completions.map((c) => ({ prompt: encodePrompt(tok, r.prompt), completion: c.tokenIds! })),
    );
    const ref = completionLogProbs(served, samples, tok.eosId);
    json.choices.forEach((c: any, i: number) => {
      const lp = c.logprobs;
      assert.deepEqual(
        lp.tokens,
        samples[i].completion.map((id) => tok.decode([id])),
      );
      lp.token_logprobs.forEach((x: number, t: number) =>
        assert.ok(Math.abs(x - ref[i][t]) < 1e-6, `token ${t}: ${x} vs ${ref[i][t]}`),
      );
      lp.top_logprobs.forEach((top: Record<string, number>, t: number) => {
        const vals = Object.values(top);
        assert.ok(vals.length >= 1 && vals.length <= 2);
        assert.ok(
          Math.max(...vals) >= lp.token_logprobs[t] - 1e-6,
          'the best alternative is at least as likely as the sampled token',
        );
      });
      assert.equal(lp.text_offset[0], 0);
    });
    assert.equal(
      json.usage.completion_tokens,
      samples.reduce((a, s) => a + s.completion.length, 0),
    );
    // Token-id prompts are the same prompts.
    const ids = await post(`${url}/v1/completions`, {
      prompt: [encodePrompt(tok, 'the'), encodePrompt(tok, 'cat')],
      n: 2,
      max_tokens: 5,
      seed: 3,
    });
    assert.deepEqual(
      ids.json.choices.map((c: any) => c.text),
      json.choices.map((c: any) => c.text),
    );
  });

  it('decodes concurrent unseeded requests with the same settings as one batch', async () => {
    batches.length = 0;
    const body = { prompt: 'the', n: 2, max_tokens: 3, temperature: 0.7 };
    const answers = await Promise.all([
      post(`${url}/v1/completions`, body),
      post(`${url}/v1/completions`, body),
      post(`${url}/v1/completions`, { ...body, prompt: ['a', 'b'] }),
    ]);
    assert.deepEqual(
      answers.map((a) => a.json.choices.length),
      [2, 2, 4],
    );
    assert.deepEqual(batches, [[3, 8]]);
  });

  it('lists the model, and rejects bad bodies with 400s that name the field', async () => {
    const models = await (await fetch(`${url}/v1/models`)).json();
    assert.equal(models.data[0].id, 'tiny');
    assert.equal(models.data[0].max_model_len, 32);
    const cases: [unknown, number, string | null, RegExp][] = [
      [{ max_tokens: 3 }, 400, 'prompt', /prompt: must be a string/],
      [{ prompt: 'x', n: 0 }, 400, 'n', /n: must be an integer in \[1, 40\], got 0/],
      [{ prompt: 'x', temperature: 'hot' }, 400, 'temperature', /temperature: must be a number ≥ 0/],
      [{ prompt: 'x', stream: 'yes' }, 400, 'stream', /stream: must be true or false, got "yes"/],
      [
        { prompt: 'x', stream_options: { include_usage: true } },
        400,
        'stream_options',
        /only allowed with "stream": true/,
      ],
      [{ prompt: [1, 99999] }, 400, 'prompt', /prompt\[1\]: token ids must be integers in \[0, 270\)/],
      [
        { prompt: ['a', 'b', 'c'], n: 20 },
        400,
        'prompt',
        /60 completions \(3 prompts × n=20\).*at most 40 per request/,
      ],
      [{ prompt: 'x', model: 'gpt-4' }, 404, 'model', /"gpt-4" is not served here; this server serves "tiny"/],
      [
        { prompt: 'the cat sat '.repeat(20) },
        400,
        'prompt',
        /prompt\[0\] has \d+ tokens but the model's context is 32/,
      ],
      [{ prompt: 'x', best_of: 3 }, 400, 'best_of', /best_of: is not supported/],
      [{ prompt: 'x', return_token_ids: 1 }, 400, 'return_token_ids', /return_token_ids: must be true or false/],
    ];
    for (const [body, status, param, message] of cases) {
      const r = await post(`${url}/v1/completions`, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.json.error.param, param);
      assert.match(r.json.error.message, message);
    }
    const bad = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt": ',
    });
    assert.equal(bad.status, 400);
    assert.ok((await bad.json()).error.message);
  });
});

describe('serve-model: new weights (PUT /v1/weights)', () => {
  it('refuses them unless started with --accept-weights; then samples the new policy', async () => {
    const closed = buildModelServer(createModel(config, 1), tok);
    const closedUrl = await closed.listen({ port: 0, host: '127.0.0.1' });
    const other = createModel(config, 9);
    await assert.rejects(
      new RemoteGenerator(closedUrl, { retries: 0 }).syncPolicy(other),
      /HTTP 403.*--accept-weights/,
    );
    await closed.close();

    const served = createModel(config, 1);
    const app = buildModelServer(served, tok, { acceptWeights: true });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const remote = new RemoteGenerator(url, { batchSize: 8 });
      assert.equal(await remote.syncPolicy(other), true);
      assert.deepEqual(
        served.params.map((p) => [...p.data.slice(0, 4)]),
        other.params.map((p) => [...p.data.slice(0, 4)]),
      );
      const reqs = [{ prompt: 'the', n: 4 }];
      const opts = { maxNewTokens: 6, temperature: 1, seed: 2 };
      const want = await new LocalGenerator(other, tok, { batchSize: 8 }).generate(reqs, opts);
      const got = await remote.generate(reqs, opts);
      assert.deepEqual(
        got[0].completions.map((c) => c.text),
        want[0].completions.map((c) => c.text),
      );
      // A model of another shape is refused, and the served weights stay as they were.
      const wrong = createModel({ ...config, nEmbd: 16 }, 3);
      await assert.rejects(remote.syncPolicy(wrong), /HTTP 400.*shape/);
      assert.equal(weightsFingerprint(served), weightsFingerprint(other));
    } finally {
      await app.close();
    }
  });
});
