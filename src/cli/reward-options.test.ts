// --reward (repeatable, with modules) and --reward-weights through the built CLI: sample --best-of,
// train ppo and train rest score with several rewards, give modules the prompt file's other fields,
// log each reward, and stop on a module's bad answer naming the file and the row.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { saveCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { parseRewardWeights } from './reward-options.js';
import { runRLHF } from '../test-support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-reward-cli-'));
const tok = Tokenizer.train(['a b c d e ab ba cab abc dead bead'], { vocabSize: 264 });
const config = presetConfig('tiny', { vocabSize: 264, nPositions: 32, eosTokenId: tok.eosId });
const policyDir = join(root, 'policy'),
  rmDir = join(root, 'rm'),
  promptsFile = join(root, 'prompts.jsonl');
saveCheckpoint(policyDir, createModel(config, 3), { tokenizer: tok, meta: { kind: 'policy' } });
RewardModel.fromTrunk(createModel(config, 8), tok, 32, 8).save(rmDir);
const records = [
  { prompt: 'a', answer: 'x' },
  { prompt: 'b c', answer: 'xyz' },
  { prompt: 'd', answer: 'xy' },
];
writeFileSync(promptsFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
// Scores each row with its answer's length: the column must arrive aligned with the prompts.
const answerLen = join(root, 'answer-len.mjs');
writeFileSync(answerLen, 'export default ({ completions, answer }) => completions.map((_, i) => answer[i].length);');
const ones = join(root, 'ones.ts');
writeFileSync(
  ones,
  'export default ({ completions }: { completions: string[] }): number[] => completions.map(() => 1);',
);

const rlhf = (...args: string[]) => runRLHF(args);

const jsonl = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const lengthOf = (prompt: string) => (records.find((r) => r.prompt === prompt)?.answer ?? '').length;

describe('--reward and --reward-weights', () => {
  it('parses weights, refusing what is not a number', () => {
    assert.deepEqual(parseRewardWeights('1, 0.5,-2'), [1, 0.5, -2]);
    assert.throws(() => parseRewardWeights('1,x'), InvalidArgumentError);
    assert.throws(() => parseRewardWeights('1,,2'), /"" is not a number/);
  });

  it('sample --best-of sums a module, a TS module and a reward model with weights, and reports each', async () => {
    const sample = ['sample', '--model', policyDir, '--prompts', promptsFile, '--best-of', '3', '--json'];
    const more = ['--max-new-tokens', '4', '--seed', '2'];
    const r = await rlhf(...sample, ...more, '--reward', answerLen, '--reward', ones, '--reward', rmDir);
    assert.equal(r.status, 0, r.err);
    const plain = jsonl(r.out);
    const w = await rlhf(
      ...sample,
      ...more,
      ...['--reward', answerLen, '--reward', ones, '--reward', rmDir].concat(['--reward-weights', '2,0.5,1']),
    );
    assert.equal(w.status, 0, w.err);
    assert.match(w.err, /reward: 2 × answer-len \+ 0\.5 × ones \+ 1 × rm/);
    assert.match(w.err, /best-of-3: kept samples' mean answer-len 2\.000, ones 1\.000, rm /);
    const weighted = jsonl(w.out);
    assert.equal(weighted.length, 3);
    weighted.forEach((x, i) => {
      assert.deepEqual(Object.keys(x.by_reward), ['answer-len', 'ones', 'rm']);
      assert.equal(x.by_reward['answer-len'], lengthOf(x.prompt));
      assert.equal(x.by_reward.ones, 1);
      assert.ok(Math.abs(x.reward - (2 * lengthOf(x.prompt) + 0.5 + x.by_reward.rm)) < 1e-6);
      // Module rewards are the same for all samples of a prompt: the reward model picks, as unweighted.
      assert.equal(x.completion, plain[i].completion);
    });
  });

  it('stops on a bad weight count or a module that throws, naming the flag, the file and the row', async () => {
    const base = ['sample', '--model', policyDir, '--prompts', promptsFile, '--best-of', '2', '--max-new-tokens', '2'];
    const count = await rlhf(...base, '--reward', answerLen, '--reward', ones, '--reward-weights', '1');
    assert.equal(count.status, 1);
    assert.match(count.err, /--reward-weights has 1 weight for 2 rewards \(answer-len, ones\)/);
    const bad = await rlhf(...base, '--reward', answerLen, '--reward-weights', '1,y');
    assert.match(bad.err, /--reward-weights.*"y" is not a number/);
    const thrower = join(root, 'picky.mjs');
    writeFileSync(
      thrower,
      `export default ({ prompts }) => prompts.map((p) => { if (p === 'd') throw new Error('no d'); return 0; });`,
    );
    const t = await rlhf(...base, '--reward', thrower);
    assert.equal(t.status, 1);
    assert.match(
      t.err,
      /reward module .*picky\.mjs threw on row 4 \(from 0\) of 6 \(prompt "d", completion .*\): no d/,
    );
    const none = await rlhf(...base, '--reward', join(root, 'nothing'));
    assert.match(none.err, /--reward .*nothing does not exist; give a reward-model directory/);
  });

  it('train ppo logs each reward next to the total; train rest writes each one to rest.jsonl', async () => {
    const ppoOut = join(root, 'ppo');
    const ppo = await rlhf(
      ...['train', 'ppo', '--init', policyDir, '--prompts', promptsFile, '--out', ppoOut],
      ...['--reward', answerLen, '--reward', ones, '--reward-weights', '1,3'],
      ...['--iterations', '1', '--rollout-batch', '4', '--minibatch', '4', '--ppo-epochs', '1'],
      ...['--max-new-tokens', '3', '--quiet'],
    );
    assert.equal(ppo.status, 0, ppo.err);
    const [m] = jsonl(readFileSync(join(ppoOut, 'metrics.jsonl'), 'utf8'));
    // Rollouts cycle through the prompts: a, b c, d, a → answers 1, 3, 2, 1.
    assert.equal(m['rewards/answer-len/mean'], 7 / 4);
    assert.equal(m['rewards/ones/mean'], 1);
    assert.equal(m['objective/scores'], 7 / 4 + 3);

    const restOut = join(root, 'rest');
    const rest = await rlhf(
      ...['train', 'rest', '--init', policyDir, '--prompts', promptsFile, '--out', restOut],
      ...['--reward', answerLen, '--reward', rmDir, '--grows', '1', '--samples', '2', '--percentiles', '50'],
      ...['--max-new-tokens', '3', '--batch-size', '4', '--quiet'],
    );
    assert.equal(rest.status, 0, rest.err);
    assert.match(rest.err, /rest: grow 1: 6 samples, mean reward .* \(answer-len 2\.0000, rm /);
    const [start] = jsonl(readFileSync(join(restOut, 'rest.jsonl'), 'utf8'));
    assert.equal(start['rewards/answer-len/mean'], 2);
    assert.ok(Math.abs(start.mean_reward - (2 + start['rewards/rm/mean'])) < 1e-6);
  });
});
