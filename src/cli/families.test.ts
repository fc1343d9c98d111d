// Every command on a Llama-family checkpoint, as a user runs them (the built CLI in child processes): a
// random Llama with grouped-query attention and a separate lm_head, in Hugging Face's layout, stands for a
// downloaded model. `rlhf info`, `train sft --init` (keeping the checkpoint's config and tokenizer), `train
// reward --init` (a new score head; saved as LlamaForSequenceClassification without lm_head), `sample`
// (with --best-of on the reward model), `score`, `serve-model`, `serve-reward`, the labeling app's task
// generation (`serve --policy`) and `export model`. The trainers themselves on each family:
// src/train/conformance.test.ts.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCheckpointConfig } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { readSafetensorsF32 } from '../model/safetensors.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewards } from '../runtime/reward.js';
import { familyCheckpoint } from '../train/test-fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/rlhf.js', import.meta.url));
const ENV = { ...process.env, RLHF_THREADS: '1' };
const PAIRS = Array.from({ length: 8 }, (_, i) => ({
  prompt: `Q${i % 4}: a b`,
  completion: ` c d ${'e'.repeat(i % 3)}`,
}));
const COMPARISONS = Array.from({ length: 8 }, (_, i) => ({
  prompt: ['a b', 'c d'][i % 2],
  chosen: ' a a a',
  rejected: ` ${'bcde'[i % 4]} e`,
}));

const base = familyCheckpoint('llama', {
  texts: [...PAIRS.map((p) => p.prompt + p.completion), 'a b c d e a a'],
  vocabSize: 280,
});
const root = dirname(base);
const file = (name: string, lines: object[]) => {
  writeFileSync(join(root, name), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return join(root, name);
};
const pairs = file('pairs.jsonl', PAIRS);
const comparisons = file('comparisons.jsonl', COMPARISONS);
const [sft, rm] = [join(root, 'sft'), join(root, 'rm')];
const children: ChildProcessWithoutNullStreams[] = [];

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function rlhf(...args: string[]): { out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV });
  assert.equal(r.status, 0, `rlhf ${args.join(' ')}: ${r.stderr}`);
  return { out: r.stdout, err: r.stderr };
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const jsonl = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** Starts a server command on port 0, resolves with its stdout + stderr once `ready` matches them. */
function start(args: string[], ready: RegExp): Promise<{ child: ChildProcessWithoutNullStreams; text: string }> {
  const child = spawn(process.execPath, [BIN, ...args, '--port', '0'], { env: ENV });
  children.push(child);
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${ready} in 20 s: ${text}`)), 20_000);
    const read = (d: Buffer) => {
      text += d;
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve({ child, text });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  const closed = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await closed;
}

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

describe('every command on a Llama checkpoint (Hugging Face layout)', () => {
  it('info shows the family, grouped-query heads and head width', () => {
    const info = JSON.parse(rlhf('info', '--model', base).out);
    assert.deepEqual([info.family, info.heads, info.kvHeads, info.headDim, info.layers], ['llama', 4, 2, 8, 2]);
  });

  it("train sft --init keeps the checkpoint's config and tokenizer", () => {
    rlhf(
      'train',
      'sft',
      '--init',
      base,
      '--data',
      pairs,
      '--out',
      sft,
      '--steps',
      '4',
      '--batch-size',
      '4',
      '--context',
      '32',
    );
    assert.deepEqual(readCheckpointConfig(sft).config, readCheckpointConfig(base).config);
    assert.equal(readFileSync(join(sft, 'tokenizer.json'), 'utf8'), readFileSync(join(base, 'tokenizer.json'), 'utf8'));
    const cfg = readJson(join(sft, 'config.json'));
    assert.deepEqual([cfg.architectures, cfg.model_type], [['LlamaForCausalLM'], 'llama']);
  });

  it('train reward --init: a new score head, saved as LlamaForSequenceClassification without lm_head', () => {
    rlhf('train', 'reward', '--init', sft, '--train', comparisons, '--out', rm, '--steps', '6', '--batch-size', '4');
    const cfg = readJson(join(rm, 'config.json'));
    assert.deepEqual(cfg.architectures, ['LlamaForSequenceClassification']);
    assert.deepEqual([cfg.num_labels, cfg.pad_token_id, cfg.hidden_size], [1, cfg.eos_token_id, 32]);
    assert.deepEqual(readCheckpointConfig(rm).config, readCheckpointConfig(base).config);
    const { tensors } = readSafetensorsF32(join(rm, 'model.safetensors'));
    assert.ok(!tensors.has('lm_head.weight'));
    assert.deepEqual(tensors.get('score.weight')!.shape, [1, 32]);
  });

  it('sample (with --best-of on the reward model) and score', () => {
    const common = ['--model', sft, '--prompt', 'a b', '--max-new-tokens', '4', '--seed', '3', '--json'];
    const samples = jsonl(rlhf('sample', ...common, '-n', '2').out);
    assert.equal(samples.length, 2);
    assert.ok(samples.every((s) => s.prompt === 'a b' && typeof s.completion === 'string'));
    const best = jsonl(rlhf('sample', ...common, '--best-of', '3', '--reward', rm).out);
    assert.equal(best[0].rewards.length, 3);
    const scored = jsonl(rlhf('score', '--model', rm, '--data', comparisons).out);
    const want = scoreRewards(
      RewardModel.load(rm),
      COMPARISONS.flatMap((c) => [c.chosen, c.rejected].map((completion) => ({ prompt: c.prompt, completion }))),
    );
    scored.forEach((s, i) =>
      s.rewards.forEach((r: number, j: number) => assert.ok(Math.abs(r - want[2 * i + j]) < 1e-5)),
    );
  });

  it('serve-model answers completions, and serve-reward scores', async () => {
    const model = await start(['serve-model', '--model', sft], /on (http:\/\/\S+)\/v1/);
    try {
      const url = /on (http:\/\/\S+)\/v1/.exec(model.text)![1];
      const res = await post(`${url}/v1/completions`, { prompt: 'a b', n: 2, max_tokens: 3 });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.choices.length, 2);
    } finally {
      await stop(model.child);
    }
    const reward = await start(['serve-reward', '--model', rm], /on (http:\/\/\S+)\/v1/);
    try {
      const url = /on (http:\/\/\S+)\/v1/.exec(reward.text)![1];
      const res = await post(`${url}/v1/score`, { prompt: 'a b', completions: [' a a a', ' b e'] });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const want = scoreRewards(
        RewardModel.load(rm),
        [' a a a', ' b e'].map((completion) => ({ prompt: 'a b', completion })),
      );
      res.json.scores.forEach((s: number, i: number) => assert.ok(Math.abs(s - want[i]) < 1e-5, `${s} vs ${want[i]}`));
    } finally {
      await stop(reward.child);
    }
  });

  it('the labeling app generates tasks with the checkpoint (serve --policy)', async () => {
    const token = 'families-admin-token-0123456789';
    const app = await start(
      [
        'serve',
        '--database',
        join(root, 'labels.db'),
        '--policy',
        sft,
        '--max-new-tokens',
        '4',
        '--admin-token',
        token,
      ],
      /admin page/,
    );
    try {
      const url = /listening on (\S+)\//.exec(app.text)![1];
      const project = await post(`${url}/api/projects`, { name: 'llama' }, token);
      const g = await post(
        `${url}/api/projects/${project.json.project.id}/tasks/generate`,
        {
          prompts: ['a b', 'c d'],
          n: 3,
        },
        token,
      );
      assert.equal(g.status, 201, JSON.stringify(g.json));
      assert.ok(g.json.imported >= 2, JSON.stringify(g.json));
    } finally {
      await stop(app.child);
    }
  });

  it('export model writes LlamaForSequenceClassification and LlamaForCausalLM', () => {
    const err = rlhf('export', 'model', '--model', rm, '--out', join(root, 'rm-hf')).err;
    assert.match(err, /wrote .*rm-hf: LlamaForSequenceClassification/);
    // The pad token takes the first spare row of the embedding (padded to a multiple of 64 rows).
    const hf = readJson(join(root, 'rm-hf', 'config.json'));
    assert.deepEqual([hf.pad_token_id, hf.vocab_size], [Tokenizer.load(rm).vocabSize, 320]);
    assert.match(rlhf('export', 'model', '--model', sft, '--out', join(root, 'sft-hf')).err, /LlamaForCausalLM/);
  });
});
