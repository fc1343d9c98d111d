// `rlhf train online-dpo --generator URL` through the built CLI (bin/rlhf.js), against our own model
// server on loopback: each step samples on the server, which gets the policy's weights first.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { buildModelServer } from './model-server.js';
import { runRLHF } from '../test-support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-odpo-cli-'));
const tok = Tokenizer.train(['a b c d e ab ba cab abc dead bead'], { vocabSize: 264 });
const config = presetConfig('tiny', { vocabSize: 264, nPositions: 32, eosTokenId: tok.eosId });
const policyDir = join(root, 'policy'),
  promptsFile = join(root, 'prompts.jsonl'),
  rewardFile = join(root, 'count.mjs');
saveCheckpoint(policyDir, createModel(config, 3), { tokenizer: tok, meta: { kind: 'policy' } });
writeFileSync(promptsFile, ['a', 'b c', 'd'].map((prompt) => JSON.stringify({ prompt, letter: 'a' })).join('\n'));
// A reward written as code, given each row's "letter" column.
writeFileSync(
  rewardFile,
  'export default ({ completions, letter }) => completions.map((c, i) => c.split(letter[i]).length - 1);\n',
);

const rlhf = (...args: string[]) => runRLHF(args, { RLHF_REMOTE_RETRIES: '1' });

const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('rlhf train online-dpo --generator URL', () => {
  let app: FastifyInstance, url: string;
  const seen: string[] = [];
  before(async () => {
    app = buildModelServer(loadCheckpoint(policyDir).model, tok, { name: 'policy', acceptWeights: true });
    app.addHook('onRequest', async (req) => void seen.push(`${req.method} ${req.url}`));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  const args = (out: string) => [
    'train',
    'online-dpo',
    '--init',
    policyDir,
    '--prompts',
    promptsFile,
    '--reward',
    rewardFile,
    '--out',
    out,
    '--steps',
    '3',
    '--batch-size',
    '3',
    '--max-new-tokens',
    '4',
    '--lr',
    '1e-3',
    '--warmup',
    '1',
    '--seed',
    '1',
    '--quiet',
  ];

  it('samples each step on the server, which gets the policy first; step 1 samples as the local engine', async () => {
    const remoteOut = join(root, 'remote'),
      localOut = join(root, 'local');
    const remote = await rlhf(...args(remoteOut), '--generator', url);
    assert.equal(remote.status, 0, remote.err);
    assert.equal(seen.filter((s) => s === 'PUT /v1/weights').length, 3, 'the policy before each step');
    assert.ok(seen.filter((s) => s === 'POST /v1/completions').length >= 3);
    const local = await rlhf(...args(localOut));
    assert.equal(local.status, 0, local.err);
    const r = metrics(remoteOut),
      l = metrics(localOut);
    assert.equal(r.length, 3);
    // The starting policy, the same seeds and chunks: the same samples, so the same scores.
    assert.equal(r[0]['objective/scores'], l[0]['objective/scores']);
    assert.equal(r[0]['rewards/count/mean'], l[0]['rewards/count/mean']);
    assert.ok(r.every((m) => Number.isFinite(m['train/loss'])));
  });

  it('stops at a server that takes no weights, saying how to fix it', async () => {
    const fixed = buildModelServer(loadCheckpoint(policyDir).model, tok);
    const fixedUrl = await fixed.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await rlhf(...args(join(root, 'fixed')), '--generator', fixedUrl);
      assert.notEqual(r.status, 0);
      assert.match(r.err, /\/v1\/weights refused the request: .*start it with `rlhf serve-model --accept-weights`/);
    } finally {
      await fixed.close();
    }
  });
});
