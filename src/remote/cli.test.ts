// The remote workflow end to end through the built CLI (bin/rlhf.js), against our own servers on
// loopback: sample --best-of with --generator and --reward URLs, train rest --generator, and the
// serve-model / serve-reward commands themselves.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { rewardModelFn } from '../train/reward-fn.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { buildModelServer } from './model-server.js';
import { buildRewardServer } from './reward-server.js';
import { RLHF_BIN, runRLHF } from '../test-support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-remote-cli-'));
const tok = Tokenizer.train(['a b c d e ab ba cab abc dead bead'], { vocabSize: 264 });
const config = presetConfig('tiny', { vocabSize: 264, nPositions: 32, eosTokenId: tok.eosId });
const policyDir = join(root, 'policy'),
  rmDir = join(root, 'rm'),
  promptsFile = join(root, 'prompts.jsonl');
saveCheckpoint(policyDir, createModel(config, 3), { tokenizer: tok, meta: { kind: 'policy' } });
RewardModel.fromTrunk(createModel(config, 8), tok, 32, 8).save(rmDir);
writeFileSync(promptsFile, ['a', 'b c', 'd'].map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n');

/** Runs the CLI in a child process (the servers live in this one). */
const rlhf = (...args: string[]) => runRLHF(args, { RLHF_REMOTE_RETRIES: '1' });

const jsonl = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('rlhf sample and train rest on remote servers', () => {
  let policyApp: FastifyInstance, rewardApp: FastifyInstance, genUrl: string, rewardUrl: string;
  const seen: string[] = [];
  before(async () => {
    rewardApp = buildRewardServer(rewardModelFn(RewardModel.load(rmDir)), { name: 'rm' });
    rewardUrl = await rewardApp.listen({ port: 0, host: '127.0.0.1' });
    policyApp = buildModelServer(loadCheckpoint(policyDir).model, tok, { name: 'policy', acceptWeights: true });
    policyApp.addHook('onRequest', async (req) => void seen.push(`${req.method} ${req.url}`));
    genUrl = await policyApp.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await policyApp.close();
    await rewardApp.close();
  });

  it('sample --best-of --generator URL --reward URL gives what the local engine and reward model give', async () => {
    const common = [
      '--prompt',
      'a',
      '--prompt',
      'b c',
      '-n',
      '2',
      '--best-of',
      '3',
      '--max-new-tokens',
      '5',
      '--batch-size',
      '6',
      '--seed',
      '4',
      '--json',
    ];
    const remote = await rlhf('sample', ...common, '--generator', genUrl, '--reward', rewardUrl);
    assert.equal(remote.status, 0, remote.err);
    const local = await rlhf('sample', ...common, '--model', policyDir, '--reward', rmDir);
    assert.equal(local.status, 0, local.err);
    const r = jsonl(remote.out),
      l = jsonl(local.out);
    assert.equal(r.length, 4);
    assert.deepEqual(
      r.map((x) => [x.prompt, x.completion, x.best_of]),
      l.map((x) => [x.prompt, x.completion, x.best_of]),
    );
    r.forEach((x, i) => {
      assert.equal(x.rewards.length, 3);
      assert.equal(x.reward, Math.max(...x.rewards));
      x.rewards.forEach((v: number, j: number) => assert.ok(Math.abs(v - l[i].rewards[j]) < 1e-5));
    });
    assert.match(remote.err, /best-of-3: mean reward/);
    assert.match(remote.err, /generate: 12\/12 completions from the generator at http:\/\/127\.0\.0\.1:\d+/);
  });

  it('sample --generator --out keeps a cache; running again asks the server nothing', async () => {
    const out = join(root, 'samples.jsonl');
    const args = [
      'sample',
      '--generator',
      genUrl,
      '--prompts',
      promptsFile,
      '-n',
      '4',
      '--max-new-tokens',
      '4',
      '--out',
      out,
    ];
    assert.equal((await rlhf(...args)).status, 0);
    const first = readFileSync(out, 'utf8');
    assert.equal(jsonl(first).length, 12);
    assert.ok(existsSync(`${out}.cache.jsonl`));
    seen.length = 0;
    const again = await rlhf(...args);
    assert.equal(again.status, 0, again.err);
    assert.deepEqual(seen, ['GET /v1/models']);
    assert.match(again.err, /12\/12 completions \(12 from the cache\)/);
    assert.equal(readFileSync(out, 'utf8'), first);
  });

  it('train rest --generator URL: Grow samples on the server, which gets each improved policy', async () => {
    const args = (out: string) => [
      'train',
      'rest',
      '--init',
      policyDir,
      '--prompts',
      promptsFile,
      '--out',
      out,
      '--grows',
      '2',
      '--samples',
      '4',
      '--percentiles',
      '50',
      '--max-new-tokens',
      '4',
      '--batch-size',
      '4',
      '--lr',
      '1e-3',
      '--seed',
      '1',
      '--quiet',
    ];
    seen.length = 0;
    const out = join(root, 'rest-remote');
    const remote = await rlhf(...args(out), '--generator', genUrl, '--reward', rewardUrl);
    assert.equal(remote.status, 0, remote.err);
    assert.equal(seen.filter((s) => s === 'PUT /v1/weights').length, 2, 'the policy before each Grow');
    assert.ok(seen.filter((s) => s === 'POST /v1/completions').length >= 2);
    assert.ok(existsSync(join(out, 'generations.jsonl')) && existsSync(join(out, 'model.safetensors')));
    // The first Grow samples the starting policy with the local engine's seeds: the same texts, rewards, thresholds.
    const local = await rlhf(...args(join(root, 'rest-local')), '--reward', rmDir);
    assert.equal(local.status, 0, local.err);
    const rs = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')),
      ls = JSON.parse(readFileSync(join(root, 'rest-local', 'summary.json'), 'utf8'));
    assert.equal(rs.improves[0].kept, ls.improves[0].kept);
    assert.ok(Math.abs(rs.improves[0].threshold - ls.improves[0].threshold) < 1e-5);
    assert.ok(Math.abs(rs.meanReward[0] - ls.meanReward[0]) < 1e-5);
  });

  it('train rest --grows 2 refuses a generator that cannot take weights, saying how to fix it', async () => {
    const fixed = buildModelServer(loadCheckpoint(policyDir).model, tok);
    const url = await fixed.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await rlhf(
        'train',
        'rest',
        '--init',
        policyDir,
        '--prompts',
        promptsFile,
        '--reward',
        rmDir,
        '--out',
        join(root, 'rest-fixed'),
        '--grows',
        '2',
        '--generator',
        url,
        '--quiet',
      );
      assert.equal(r.status, 1);
      assert.match(r.err, /refused the request: HTTP 403.*start it with `rlhf serve-model --accept-weights`/);
    } finally {
      await fixed.close();
    }
    const bad = await rlhf('sample', '--prompt', 'a', '--generator-max-n', '1', '--model', policyDir);
    assert.match(bad.err, /--generator-max-n needs --generator URL/);
    const none = await rlhf('sample', '--prompt', 'a');
    assert.match(none.err, /give --model DIR \(sample here\) or --generator URL/);
  });
});

describe('rlhf serve-model and serve-reward', () => {
  /** Starts a server command on port 0, waits for its address, calls check, then stops it with SIGTERM. */
  async function serve(args: string[], check: (url: string) => Promise<void>): Promise<void> {
    const p = spawn(process.execPath, [RLHF_BIN, ...args, '--port', '0'], { env: process.env });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      p.stderr.on('data', (d) => {
        err += d;
        const m = /on (http:\/\/\S+)\/v1/.exec(err);
        if (m) resolve(m[1]);
      });
      p.on('close', () => reject(new Error(`exited: ${err}`)));
    });
    try {
      await check(url);
    } finally {
      const closed = new Promise((r) => p.on('close', r));
      p.kill('SIGTERM');
      assert.equal(await closed, 0);
    }
  }

  it('serve-model answers completions; serve-reward answers scores', async () => {
    await serve(['serve-model', '--model', policyDir], async (url) => {
      const models = await (await fetch(`${url}/v1/models`)).json();
      assert.equal(models.data[0].id, 'policy');
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'policy', prompt: 'a', n: 2, max_tokens: 3 }),
      });
      assert.equal((await res.json()).choices.length, 2);
      const post = (path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const sse = await (await post('/v1/completions', { prompt: 'a', max_tokens: 3, stream: true })).text();
      assert.match(sse, /^data: \{.*"object":"text_completion"/);
      assert.ok(sse.endsWith('data: [DONE]\n\n'));
      // This checkpoint has no chat template.
      const chat = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }] });
      assert.equal(chat.status, 400);
      assert.match((await chat.json()).error.message, /model has no chat template/);
    });
    // --chat-template gives it one (a short one: the test model's context is 32 tokens).
    const template = join(mkdtempSync(join(tmpdir(), 'rlhf-chat-')), 'chatml.jinja');
    writeFileSync(
      template,
      "{% for m in messages %}{{ m.role[0] + ':' + m.content + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ 'a:' }}{% endif %}",
    );
    await serve(['serve-model', '--model', policyDir, '--chat-template', template], async (url) => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'a' }], max_tokens: 3, seed: 1 }),
      });
      const json = await res.json();
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.equal(json.object, 'chat.completion');
      assert.equal(json.choices[0].message.role, 'assistant');
      assert.ok(json.usage.prompt_tokens >= 4, 'the prompt was rendered with the template ("u:a\\na:")');
    });
    await serve(['serve-reward', '--model', rmDir, '--name', 'scorer'], async (url) => {
      const res = await fetch(`${url}/v1/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a', completions: ['b', 'c'] }),
      });
      const json = await res.json();
      assert.equal(json.model, 'scorer');
      assert.equal(json.scores.length, 2);
    });
  });
});
