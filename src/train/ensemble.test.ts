import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { readCandidates } from '../data/candidates.js';
import { Comparison } from '../data/comparison.js';
import { defaultRewardConfig } from './reward-config.js';
import { disagreement, loadEnsemble, rankCandidates, toLabelingTask, trainEnsemble } from './ensemble.js';
import { parseImport } from '../feedback/server/tasks-import.js';

function synthetic(n: number, seed: number): Comparison[] {
  const rng = new RNG(seed);
  const words = ['the', 'cat', 'dog', 'runs', 'bad'];
  return Array.from({ length: n }, (_, i) => {
    const goods = rng.shuffle([0, 1, 2]).slice(0, 2);
    const completions = goods.map(
      (g) => ' ' + Array.from({ length: 4 }, (_, j) => (j < g ? 'good' : words[rng.int(5)])).join(' '),
    );
    return { prompt: `Q${i}:`, completions, ranking: goods[0] > goods[1] ? [0, 1] : [1, 0] };
  });
}

describe('reward-model ensembles and pair selection', () => {
  it("disagreement is the spread of the members' P(a wins)", () => {
    const d = disagreement([
      [0, 0],
      [0, 10],
    ]);
    assert.equal(d[0], 0);
    assert.ok(Math.abs(d[1] - (1 / (1 + Math.exp(-10)) - 0.5) / 2) < 1e-12);
  });

  it('trains K bootstrap members, writes ensemble.json, and ranks candidates by disagreement', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-ens-'));
    const cfg = {
      ...defaultRewardConfig,
      preset: 'tiny',
      vocabSize: 280,
      contextLength: 16,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 5,
      evalEvery: 0,
      quiet: true,
      epochs: 2,
      outDir: dir,
    };
    const data = synthetic(300, 1);
    const m = trainEnsemble(data.slice(0, 240), data.slice(240), cfg, 2, true, () => {});
    assert.deepEqual(m.members, ['member-0', 'member-1']);
    assert.ok(m.eval!.accuracy > 0.7, `ensemble accuracy ${m.eval!.accuracy}`);
    assert.equal(JSON.parse(readFileSync(join(dir, 'ensemble.json'), 'utf8')).members.length, 2);
    const perPair = readFileSync(join(dir, 'eval-disagreement.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(perPair.length, 60);
    assert.ok(perPair.every((p) => p.disagreement >= 0 && p.p_chosen >= 0 && p.p_chosen <= 1));

    const cands = join(dir, 'cands.jsonl');
    writeFileSync(
      cands,
      [
        JSON.stringify({ prompt: 'Q1:', completions: [' good good cat', ' bad dog', ' good the'] }),
        JSON.stringify({ prompt: 'Q2:', completion: ' good runs' }),
        JSON.stringify({ prompt: 'Q2:', completion: ' the cat' }),
        JSON.stringify({ prompt: 'Q3:', completions: ['only one'] }),
      ].join('\n'),
    );
    const read = readCandidates(cands);
    assert.equal(read.records.length, 3 + 1);
    assert.equal(read.issues.length, 1);
    assert.match(read.issues[0].message, /at least 2/);
    const ranked = rankCandidates(loadEnsemble(dir), read.records);
    assert.equal(ranked.length, 4);
    for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].disagreement >= ranked[i].disagreement);

    // The pairs to label next go straight into the labeling app: select-pairs' lines import as tasks.
    const tasks = parseImport(ranked.map((r) => JSON.stringify(toLabelingTask(r))).join('\n'));
    assert.equal(tasks.format, 'tasks');
    assert.deepEqual(
      tasks.tasks.map((t) => t.completions),
      ranked.map((r) => [r.a, r.b]),
    );
    assert.deepEqual(tasks.tasks[0].meta, { disagreement: ranked[0].disagreement, p_a: ranked[0].p_a });
  });
});
