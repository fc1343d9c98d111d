// `rlhf train grpo` and `rlhf train rloo` through the built CLI (bin/rlhf.js): prompt rows with their other
// fields, a reward-model directory, the trainer's own flags, and the errors a user meets first.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { letterPolicy } from '../train/test-fixtures.js';
import { runRLHF } from '../test-support/cli.js';

const exactAnswer = fileURLToPath(new URL('../../examples/rewards/exact-answer.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'rlhf-pg-cli-'));
const base = letterPolicy();
const rmDir = join(root, 'rm'),
  prompts = join(root, 'prompts.jsonl');
RewardModel.fromTrunk(loadCheckpoint(base.dir).model, base.tok, 32, 8).save(rmDir);
writeFileSync(
  prompts,
  [' b', ' c', ' d'].map((prompt, i) => JSON.stringify({ prompt, answer: 'a', id: i })).join('\n') + '\n',
);

const rlhf = (...args: string[]) => runRLHF(args, { RLHF_THREADS: '1' });

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const common = (out: string) => [
  ...['--init', base.dir, '--prompts', prompts, '--reward', rmDir, '--out', out, '--steps', '2'],
  ...['--batch-size', '2', '--num-generations', '3', '--max-completion-length', '3', '--quiet'],
];

describe('rlhf train grpo and rloo', () => {
  it("grpo: a reward model and a reward module on the rows' columns, each logged; --no-scale-rewards", async () => {
    const out = join(root, 'grpo');
    const more = ['--reward', exactAnswer, '--reward-weights', '1,2', '--no-scale-rewards', '--beta', '0.1'];
    const r = await rlhf('train', 'grpo', ...common(out), ...more, '--samples-every', '1');
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^grpo: 2 steps; mean reward -?\d+\.\d{3} → -?\d+\.\d{3} \(first\/last 2\), KL \d/);
    const m = lines(join(out, 'metrics.jsonl'));
    assert.equal(m.length, 2);
    assert.ok(Number.isFinite(m[1]['rewards/rm/mean']) && Number.isFinite(m[1].kl));
    const samples = lines(join(out, 'samples.jsonl'));
    assert.equal(samples.length, 2 * 2 * 3);
    for (const x of samples) {
      assert.equal(x.rewards['exact-answer'], x.completion.trim() === 'a' ? 1 : 0, x.completion);
      assert.ok(Math.abs(x.reward - (x.rewards.rm + 2 * x.rewards['exact-answer'])) < 1e-5);
    }
    assert.equal(loadCheckpoint(out).meta.trainer, 'grpo');
    // train_config.json: every declared option (defaults too), the other flags, the command line.
    const tc = JSON.parse(readFileSync(join(out, 'train_config.json'), 'utf8'));
    assert.equal(tc.trainer, 'grpo');
    assert.deepEqual([tc.options.beta, tc.options.scaleRewards, tc.options.epsilon], [0.1, 'none', 0.2]);
    assert.deepEqual(tc.inputs.reward, [rmDir, exactAnswer]);
    assert.deepEqual([tc.inputs.init, tc.inputs.prompts, tc.inputs.out], [base.dir, prompts, out]);
    assert.equal(tc.options.init, undefined, 'inputs are not options');
    assert.deepEqual(tc.argv.slice(0, 2), ['train', 'grpo']);
  });

  it('rloo: --kl-in loss and the shared flags', async () => {
    const out = join(root, 'rloo');
    const r = await rlhf('train', 'rloo', ...common(out), '--kl-in', 'loss', '--num-iterations', '2');
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^rloo: 2 steps; mean reward/);
    assert.equal(loadCheckpoint(out).meta.klIn, 'loss');
  });

  it('refuses what it cannot do yet, naming the flags', async () => {
    const need = ['--init', 'missing', '--prompts', 'missing.jsonl', '--out', join(root, 'x')];
    const err = async (...args: string[]) => {
      const r = await rlhf('train', ...args);
      assert.notEqual(r.status, 0);
      return r.err;
    };
    assert.match(
      await err('grpo', ...need, '--reward', rmDir, '--reward', exactAnswer, '--reward-weights', '1'),
      /--reward-weights has 1 weight for 2 rewards/,
    );
    assert.match(await err('rloo', ...need, '--reward', rmDir, '--num-generations', '1'), /--num-generations.*≥ 2/);
    assert.match(
      await err('grpo', ...need, '--reward', rmDir, '--generator-max-n', '2'),
      /--generator-max-n needs --generator URL/,
    );
  });
});
