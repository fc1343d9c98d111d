import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { scoreWith } from '../train/reward-fn.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewards } from '../runtime/reward.js';
import { loadRewardFn, probeRewardServer, remoteRewardFn } from './reward-client.js';
import { buildRewardServer } from './reward-server.js';

const countA = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/a/g) ?? []).length);

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('serve-reward and the remote reward function', () => {
  it('scores single and batched requests; the client packs items into requests and keeps their order', async () => {
    const calls: number[] = [];
    const app = buildRewardServer(
      (items) => {
        calls.push(items.length);
        return countA(items);
      },
      { name: 'count-a' },
    );
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const one = await post(`${url}/v1/score`, { prompt: 'q', completions: ['aa', 'b', 'a'] });
      assert.deepEqual(one.json, { model: 'count-a', scores: [2, 0, 1] });
      const batch = await post(`${url}/v1/score`, {
        batch: [
          { prompt: 'q', completions: ['a'] },
          { prompt: 'r', completions: ['aaa', ''] },
        ],
      });
      assert.deepEqual(batch.json, { model: 'count-a', batch: [{ scores: [1] }, { scores: [3, 0] }] });

      const items = Array.from({ length: 23 }, (_, i) => ({
        prompt: `p${i % 3 === 0 ? i : i - 1}`,
        completion: 'a'.repeat(i % 5),
      }));
      calls.length = 0;
      const remote = remoteRewardFn(`${url}/`, { batchSize: 5, concurrency: 3 });
      assert.deepEqual(await scoreWith(remote, items), countA(items));
      assert.equal(
        calls.reduce((a, b) => a + b, 0),
        23,
      );
      assert.ok(calls.length < 5, `concurrent requests are scored together (${calls.join(', ')})`);
      // loadRewardFn takes the URL as it takes a directory.
      assert.deepEqual(await scoreWith(loadRewardFn(url), items), countA(items));
      assert.equal(await probeRewardServer(`${url}/v1`), 'count-a');
    } finally {
      await app.close();
    }
  });

  it('rejects bad bodies with 400s that name the field', async () => {
    const app = buildRewardServer(countA, { maxCompletions: 3 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const cases: [unknown, string | null, RegExp][] = [
        [{ completions: ['a'] }, 'prompt', /prompt: must be a string or a list of .* messages, got nothing/],
        [
          { prompt: [{ role: 'bot', content: 'q' }], completions: ['a'] },
          'prompt[0].role',
          /prompt\[0\]\.role: must be one of user, assistant, system, tool/,
        ],
        [{ prompt: 'q', messages: [], completions: ['a'] }, 'messages', /messages: must hold at least one message/],
        [
          { prompt: [{ role: 'user', content: 'q' }], messages: [{ role: 'user', content: 'q' }], completions: ['a'] },
          'messages',
          /messages: give the messages once, as "prompt" or as "messages"/,
        ],
        [{ prompt: 'q', completions: 'a' }, 'completions', /completions: must be a non-empty array of strings/],
        [{ prompt: 'q', completions: ['a', 7] }, 'completions[1]', /completions\[1\]: must be a string, got number/],
        [
          {
            batch: [
              { prompt: 'q', completions: ['a'] },
              { prompt: 1, completions: ['b'] },
            ],
          },
          'batch[1].prompt',
          /batch\[1\]\.prompt: must be a string/,
        ],
        [{ batch: [], prompt: 'q' }, 'batch', /batch: must be a non-empty array/],
        [
          { prompt: 'q', completions: ['a', 'b', 'c', 'd'] },
          'completions',
          /4 completions; this server scores at most 3 per request: split it/,
        ],
        [[1, 2], null, /the body must be a JSON object/],
      ];
      for (const [body, param, message] of cases) {
        const r = await post(`${url}/v1/score`, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.json.error.param, param);
        assert.match(r.json.error.message, message);
      }
    } finally {
      await app.close();
    }
  });

  it("serves a reward model: remote scores equal the model's own", async () => {
    const tok = Tokenizer.train(['good answer, bad answer'], { vocabSize: 262 });
    const rm = RewardModel.fromTrunk(
      createModel(presetConfig('tiny', { vocabSize: 264, eosTokenId: tok.eosId }), 4),
      tok,
      32,
      4,
    );
    rm.bias = 0.25;
    const dir = join(mkdtempSync(join(tmpdir(), 'rlhf-rm-')), 'rm');
    rm.save(dir);
    const loaded = RewardModel.load(dir);
    const app = buildRewardServer((items) => scoreRewards(loaded, items));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const items = [
        { prompt: 'q', completion: ' good answer' },
        { prompt: 'q', completion: ' bad answer' },
        { prompt: 'r', completion: '' },
      ];
      assert.deepEqual(await scoreWith(remoteRewardFn(url), items), scoreRewards(rm, items));
    } finally {
      await app.close();
    }
  });

  it('names the URL when the scorer answers the wrong shape or is not there', async () => {
    const liar = Fastify();
    liar.post('/v1/score', async () => ({ batch: [{ scores: [1] }] }));
    const url = await liar.listen({ port: 0, host: '127.0.0.1' });
    await assert.rejects(
      scoreWith(remoteRewardFn(url, { retries: 0 }), [
        { prompt: 'q', completion: 'a' },
        { prompt: 'q', completion: 'b' },
      ]),
      new RegExp(
        /the reward server at http:\/\/127\.0\.0\.1:\d+\/v1\/score answered something unexpected /.source +
          /\(batch\[0\]\.scores should be 2 finite numbers\): \{"batch":\[\{"scores":\[1\]\}\]\}/.source,
      ),
    );
    await liar.close();
    await assert.rejects(
      scoreWith(remoteRewardFn(url, { retries: 1, backoffMs: 5, log: () => {} }), [{ prompt: 'q', completion: 'a' }]),
      /cannot reach the reward server at .*\/v1\/score \(2 attempts .*ECONNREFUSED.*`rlhf serve-reward --model DIR/,
    );
    assert.throws(() => loadRewardFn('http://'), /not a URL/);
  });
});
