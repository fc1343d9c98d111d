import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewards } from '../runtime/reward.js';
import { asRewardSet, rewardMetrics } from '../train/reward-fn.js';
import { buildRewardServer } from './reward-server.js';
import { loadRewardSet, rewardKindOf, uniqueNames, withPromptColumns } from './reward-set.js';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-reward-set-'));
/** Writes a module into the test directory and returns its path. */
function mod(name: string, code: string): string {
  const p = join(dir, name);
  writeFileSync(p, code);
  return p;
}

const rows = [
  { prompt: '3 8 + 7 5 =', completion: ' 1 1 3', columns: { answer: '1 1 3', level: 2 } },
  { prompt: '1 + 1 =', completion: ' 3', columns: { answer: '2', level: 1 } },
  { prompt: '2 + 2 =', completion: ' 4\n5', columns: { answer: '4' } },
];

const exact = mod(
  'exact.mjs',
  `export default function exact({ prompts, completions, answer, level }) {
     globalThis.__seen = { prompts, level };
     return completions.map((c, i) => (c.split('\\n')[0].trim() === answer[i] ? 1 : 0));
   }`,
);
const length = mod(
  'length.ts',
  `interface Input { prompts: string[]; completions: string[] }
   const score = (c: string): number => c.length;
   export default async function length({ completions }: Input): Promise<number[]> {
     return completions.map(score);
   }`,
);

describe('loadRewardSet', () => {
  it('scores with .mjs and .ts modules: columns aligned with the rows, weights, each reward by name', async () => {
    const set = await loadRewardSet([exact, length], [2, 0.5]);
    assert.deepEqual(set.names, ['exact', 'length']);
    assert.deepEqual(set.weights, [2, 0.5]);
    const s = await set.score(rows);
    assert.deepEqual(s.perFunction, { exact: [1, 0, 1], length: [6, 2, 4] });
    assert.deepEqual(s.total, [2 + 3, 1, 2 + 2]);
    // A row without a column gets undefined there: every column is as long as the prompts.
    assert.deepEqual((globalThis as any).__seen, { prompts: rows.map((r) => r.prompt), level: [2, 1, undefined] });
    // The transpiled copy of the .ts module is removed once imported.
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.mjs') && f !== 'exact.mjs'),
      [],
    );
  });

  it('weights default to 1; a wrong count or a non-number names --reward-weights', async () => {
    const s = await (await loadRewardSet([exact, length])).score(rows);
    assert.deepEqual(s.total, [7, 2, 5]);
    await assert.rejects(
      loadRewardSet([exact, length], [1]),
      /--reward-weights has 1 weight for 2 rewards \(exact, length\)/,
    );
    await assert.rejects(loadRewardSet([exact], [Number.NaN]), /--reward-weights: the weight of exact is NaN/);
  });

  it('loads .cjs and .js modules, and names repeated rewards uniquely', async () => {
    const cjs = mod('ones.cjs', 'module.exports = ({ completions }) => completions.map(() => 1);');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const again = join(dir, 'sub', 'exact.mjs');
    writeFileSync(again, 'export default ({ completions }) => completions.map(() => -1);');
    const set = await loadRewardSet([exact, cjs, again, exact]);
    assert.deepEqual(set.names, ['exact', 'ones', 'exact-2', 'exact-3']);
    assert.deepEqual((await set.score(rows.slice(0, 1))).total, [1 + 1 - 1 + 1]);
    assert.deepEqual(uniqueNames(['a', 'a', 'a-2', '']), ['a', 'a-2', 'a-2-2', 'reward']);
  });

  it('stops on a bad answer, naming the module and the row', async () => {
    const thrower = mod(
      'thrower.mjs',
      `export default ({ prompts }) =>
         prompts.map((p) => { if (p.startsWith('1')) throw new Error('no ones'); return 0; });`,
    );
    await assert.rejects((await loadRewardSet([thrower])).score(rows), (e: Error) =>
      e.message.includes('thrower.mjs threw on row 1 (from 0) of 3 (prompt "1 + 1 =", completion " 3"): no ones'),
    );
    const short = mod('short.mjs', 'export default ({ completions }) => completions.slice(1).map(() => 0);');
    await assert.rejects((await loadRewardSet([short])).score(rows), /short\.mjs returned 2 scores for 3 rows/);
    const nan = mod('nan.mjs', 'export default ({ completions }) => completions.map((c, i) => (i === 2 ? NaN : 0));');
    await assert.rejects(
      (await loadRewardSet([nan])).score(rows),
      /nan\.mjs gave row 2 \(from 0\) of 3 \(prompt "2 \+ 2 =", completion " 4\\n5"\) the score NaN/,
    );
    const str = mod('str.mjs', `export default ({ completions }) => completions.map(() => '1');`);
    await assert.rejects((await loadRewardSet([str])).score(rows), /str\.mjs gave row 0 .* the score "1" \(a string\)/);
    const obj = mod('obj.mjs', 'export default async () => ({ scores: [] });');
    await assert.rejects((await loadRewardSet([obj])).score(rows), /obj\.mjs returned object for 3 rows/);
  });

  it('says what a module without a default function exports, and how to fix it', async () => {
    const named = mod('named.mjs', 'export function score({ completions }) { return completions.map(() => 0); }');
    await assert.rejects(
      loadRewardSet([named]),
      /named\.mjs has no default export, and named exports score; .* add `export default score;`/,
    );
    const num = mod('num.mjs', 'export default 3;');
    await assert.rejects(
      loadRewardSet([num]),
      /num\.mjs has a default export that is a number; .*export default function/,
    );
    const bad = mod('bad.ts', 'export default function (x: number {');
    // Named as given (here relative), once.
    const rel = relative(process.cwd(), bad);
    await assert.rejects(loadRewardSet([rel]), (e: Error) => {
      assert.ok(e.message.startsWith(`${rel}:1:`), e.message);
      assert.match(e.message, /\(the reward module does not parse as TypeScript\)$/);
      return true;
    });
    await assert.rejects(loadRewardSet([join(dir, 'missing.mjs')]), /missing\.mjs does not exist/);
    const thrown = mod('thrown.mjs', `throw new Error('boom');`);
    await assert.rejects(loadRewardSet([thrown]), /reward module .*thrown\.mjs failed to load: boom/);
  });

  it('takes the spec kinds apart, and explains a spec that is none of them', async () => {
    await assert.rejects(loadRewardSet([]), /no --reward given/);
    assert.equal(rewardKindOf('http://127.0.0.1:8001'), 'url');
    assert.equal(rewardKindOf('r.mts'), 'module');
    assert.equal(rewardKindOf(dir), 'model');
    const txt = mod('notes.txt', 'x');
    assert.throws(() => rewardKindOf(txt), /is a file, but not a reward module; give a reward-model directory/);
    assert.throws(() => rewardKindOf(join(dir, 'nope')), /does not exist/);
  });

  it('mixes a reward-model directory, a serve-reward URL (named by its host) and a module', async () => {
    const tok = Tokenizer.train(['good answer, bad answer'], { vocabSize: 262 });
    const rm = RewardModel.fromTrunk(
      createModel(presetConfig('tiny', { vocabSize: 264, eosTokenId: tok.eosId }), 4),
      tok,
      32,
      4,
    );
    const rmDir = join(dir, 'my-rm');
    rm.save(rmDir);
    const app = buildRewardServer((items) => items.map((it) => it.completion.length));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const set = await loadRewardSet([rmDir, url, exact], [1, 1, 10], { probe: true });
      assert.deepEqual(set.names, ['my-rm', new URL(url).host, 'exact']);
      const s = await set.score(rows);
      const own = scoreRewards(rm, rows);
      assert.deepEqual(s.perFunction['my-rm'], own);
      assert.deepEqual(s.perFunction[new URL(url).host], [6, 2, 4]);
      s.total.forEach((t, i) => assert.ok(Math.abs(t - (own[i] + [6, 2, 4][i] + 10 * [1, 0, 1][i])) < 1e-9));
    } finally {
      await app.close();
    }
    await assert.rejects(loadRewardSet([url], undefined, { probe: true, http: { retries: 0 } }), /reward server/);
  });

  it('withPromptColumns gives items their prompt row’s columns', async () => {
    const set = withPromptColumns(
      await loadRewardSet([exact]),
      new Map(rows.map((r) => [r.prompt, r.columns as Record<string, unknown>])),
    );
    const bare = rows.map(({ prompt, completion }) => ({ prompt, completion }));
    assert.deepEqual((await set.score(bare)).total, [1, 0, 1]);
  });

  it('rewardMetrics logs each reward under TRL names; asRewardSet makes a function a set of one', async () => {
    const s = await (await loadRewardSet([exact, length])).score(rows);
    const m = rewardMetrics(s);
    assert.deepEqual(Object.keys(m), [
      'rewards/exact/mean',
      'rewards/exact/std',
      'rewards/length/mean',
      'rewards/length/std',
    ]);
    assert.equal(m['rewards/exact/mean'], 2 / 3);
    assert.ok(Math.abs(m['rewards/length/std'] - 2) < 1e-12); // 6, 2, 4: mean 4, unbiased variance 4
    const one = asRewardSet((items) => items.map(() => 1));
    assert.deepEqual(await one.score(rows), { total: [1, 1, 1], perFunction: { reward: [1, 1, 1] } });
  });
});
