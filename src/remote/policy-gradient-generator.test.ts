// GRPO and RLOO sampling on a server (`rlhf serve-model --accept-weights`, in this process): the server gets
// the policy's weights before the first step and after each one, the log-probs are taken locally, and the
// run is the one the built-in engine gives (our server samples what the engine samples for a seed).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { paddedVocabSize, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { defaultGRPOConfig, trainGRPO } from '../train/grpo.js';
import { endIdOf } from '../train/prompt-samples.js';
import { type ScoredText, singleRewardSet } from '../train/reward-fn.js';
import { defaultRLOOConfig, trainRLOO } from '../train/rloo.js';
import { letterPolicy, CHATML_TEMPLATE, chatmlTokenizer } from '../train/test-fixtures.js';
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

  it('stops at once when the server takes no weights', () =>
    withServer(false, async (url) => {
      const o = { ...defaultGRPOConfig, ...cfg, outDir: tmp() };
      const generator = new RemoteGenerator(url, { retries: 0 });
      await assert.rejects(
        trainGRPO(base.model.clone(), base.tok, rows, rewards, o, quiet, { generator }),
        /--accept-weights/,
      );
    }));
});

describe('GRPO with --generator on conversations', () => {
  const CHATML = CHATML_TEMPLATE;
  const tok = chatmlTokenizer('hello there, sure. what is it? ok then no');
  const imEnd = tok.encode('<|im_end|>', { allowSpecial: true })[0];
  const model = createModel(
    presetConfig('tiny', { vocabSize: paddedVocabSize(tok.vocabSize), eosTokenId: tok.eosId }),
    3,
  );
  // The answer's end of turn made likely, so that some samples end by themselves.
  const wte = model.params.find((p) => p.name === 'transformer.wte.weight')!;
  const d = model.config.nEmbd;
  for (let j = 0; j < d; j++) wte.data[imEnd * d + j] *= 6;
  const chat = ['what is it?', 'hello there', 'ok then', 'sure'].map((q, i) => ({
    prompt: [{ role: 'user' as const, content: q }],
    columns: { i },
  }));

  it('the server samples from the rendered ids, returns the sampled ids, and the run is the built-in one', async () => {
    const served = model.clone();
    const bodies: unknown[] = [];
    const app = buildModelServer(served, tok, { acceptWeights: true });
    app.addHook('preHandler', async (req) => {
      if (req.url.endsWith('/completions')) bodies.push(req.body);
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const run = async (generator?: RemoteGenerator) => {
        const policy = model.clone();
        const seen: ScoredText[] = [];
        const reward = singleRewardSet((items: ScoredText[]) => {
          seen.push(...items);
          return items.map((it) => it.completion.length / 10);
        }, 'len');
        const o = { ...defaultGRPOConfig, ...cfg, maxCompletionLength: 6, outDir: tmp() };
        const r = await trainGRPO(policy, tok, chat, reward, o, quiet, { generator, chatTemplate: CHATML });
        return { r, policy, seen };
      };
      const local = await run();
      const remote = await run(new RemoteGenerator(url, { batchSize: 64 }));
      assert.deepEqual(remote.r.rewards, local.r.rewards);
      assert.deepEqual(remote.r.kl, local.r.kl);
      assert.deepEqual(remote.seen, local.seen);
      remote.policy.params.forEach((p, i) => assert.deepEqual(p.data, local.policy.params[i].data, p.name));
      // Token-id prompts (the template's special tokens as single ids), and ids asked back.
      const body = bodies[0] as { prompt: number[][]; return_token_ids: boolean; stop: string[] };
      assert.equal(body.return_token_ids, true);
      assert.ok(body.stop.includes('<|im_end|>'));
      const rendered = chat.map((r) => CHATML.render(r.prompt, { addGenerationPrompt: true }));
      for (const ids of body.prompt) assert.ok(rendered.includes(tok.decode(ids)), tok.decode(ids));
      assert.equal(body.prompt[0][0], tok.encode('<|im_start|>', { allowSpecial: true })[0]);
      assert.ok(
        local.seen.some((s) => s.completion.length < 6),
        'some answers ended at <|im_end|>',
      );
    } finally {
      await app.close();
    }
  });

  it("a server that gives text only: an answer that ended by itself is trained as ending with the turn's end", () => {
    const row = chat[0];
    assert.equal(endIdOf(tok, CHATML)(row), imEnd);
    assert.equal(endIdOf(tok, CHATML)({ prompt: 'plain text', columns: {} }), tok.eosId);
    assert.equal(endIdOf(tok, null)(row), tok.eosId);
  });
});
