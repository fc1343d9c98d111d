// GRPO and RLOO sampling on a server (`rlhf serve-model --accept-weights`, in this process): the server gets
// the policy's weights before the first step and after each one, the log-probs are taken locally, and the
// run is the one the built-in engine gives (our server samples what the engine samples for a seed).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultGRPOConfig, trainGRPO } from '../train/grpo.js';
import { type ScoredText, singleRewardSet } from '../train/reward-fn.js';
import { defaultRLOOConfig, trainRLOO } from '../train/rloo.js';
import { letterPolicy } from '../train/test-fixtures.js';
import { RemoteGenerator } from './generator-client.js';
import { buildModelServer } from './model-server.js';

const base = letterPolicy();
const quiet = () => {};
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-pg-remote-'));
const rows = [' b', ' c', ' d', ' e'].map((prompt) => ({ prompt, columns: { answer: 'a' } }));
const rewards = singleRewardSet(
  (items: ScoredText[]) => items.map((it) => (it.completion.trim().split(' ')[0] === it.columns?.answer ? 1 : 0)),
  'exact',
);
const cfg = { steps: 3, batchSize: 4, numGenerations: 4, maxCompletionLength: 3, lr: 5e-3, beta: 0.1, quiet: true };

async function withServer<T>(acceptWeights: boolean, fn: (url: string, served: typeof base.model) => Promise<T>) {
  const served = base.model.clone();
  const app = buildModelServer(served, base.tok, { acceptWeights });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return await fn(url, served);
  } finally {
    await app.close();
  }
}

describe('GRPO and RLOO with --generator', () => {
  for (const name of ['grpo', 'rloo'] as const) {
    it(`${name}: samples on the server, sends it each step's weights, and trains as the built-in engine does`, () =>
      withServer(true, async (url, served) => {
        const run = async (generator?: RemoteGenerator) => {
          const policy = base.model.clone();
          const o = { ...cfg, outDir: tmp() };
          const inputs = { generator };
          const r =
            name === 'grpo'
              ? await trainGRPO(policy, base.tok, rows, rewards, { ...defaultGRPOConfig, ...o }, quiet, inputs)
              : await trainRLOO(policy, base.tok, rows, rewards, { ...defaultRLOOConfig, ...o }, quiet, inputs);
          return { r, policy };
        };
        const local = await run();
        const remote = await run(new RemoteGenerator(url, { batchSize: 64 }));
        assert.deepEqual(remote.r.rewards, local.r.rewards);
        assert.deepEqual(remote.r.kl, local.r.kl);
        remote.policy.params.forEach((p, i) => {
          assert.deepEqual(p.data, local.policy.params[i].data, p.name);
          assert.deepEqual(served.params[i].data, p.data, `the server has the trained ${p.name}`);
        });
      }));
  }

  it('stops at once when the server takes no weights, or the prompts are conversations', () =>
    withServer(false, async (url) => {
      const o = { ...defaultGRPOConfig, ...cfg, outDir: tmp() };
      const generator = new RemoteGenerator(url, { retries: 0 });
      await assert.rejects(
        trainGRPO(base.model.clone(), base.tok, rows, rewards, o, quiet, { generator }),
        /--accept-weights/,
      );
      const chat = [{ prompt: [{ role: 'user' as const, content: 'b' }], columns: {} }];
      await assert.rejects(
        trainGRPO(base.model.clone(), base.tok, chat, rewards, o, quiet, { generator }),
        /conversational prompts are rendered with the policy's chat template/,
      );
    }));
});
