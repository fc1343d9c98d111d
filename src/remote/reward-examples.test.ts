// The reward modules shipped in examples/rewards, loaded as users load them (loadRewardSet), on real rows
// of the adder task (examples/adder/make-data.mjs).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { ScoredText } from '../train/reward-fn.js';
import { loadRewardSet } from './reward-set.js';

const at = (p: string) => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));
const exactAnswer = at('rewards/exact-answer.mjs'),
  formatLength = at('rewards/format-length.ts');

/** Records of examples/adder/make-data.mjs run with these arguments. */
const makeData = (...args: string[]) =>
  execFileSync(process.execPath, [at('adder/make-data.mjs'), ...args], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { prompt: string; completion?: string; answer?: string });

// The adder's records {"prompt": "1 7 + 2 5 =", "completion": " 4 2"}; their answers are the completions.
const adder = makeData('6') as { prompt: string; completion: string }[];
const rowsOf = (completions: string[]): ScoredText[] =>
  adder.map((r, i) => ({ prompt: r.prompt, completion: completions[i], columns: { answer: r.completion.trim() } }));

describe('examples/rewards', () => {
  it('exact-answer: 1 for the right sum (to the end-of-text or a newline, spaces normalized), else 0', async () => {
    const set = await loadRewardSet([exactAnswer]);
    assert.deepEqual(set.names, ['exact-answer']);
    const right = adder.map((r) => r.completion);
    assert.deepEqual((await set.score(rowsOf(right))).total, [1, 1, 1, 1, 1, 1]);
    const variants = [
      right[0] + '\n9 9 + 1 =',
      right[1] + '<|endoftext|> 7',
      `  ${right[2].trim().split(' ').join('   ')}  `,
      right[3] + ' 0',
      ' ' + right[4].trim().split(' ').join(''),
      '',
    ];
    const twoDigit = right[4].trim().includes(' ');
    assert.deepEqual((await set.score(rowsOf(variants))).total, [1, 1, 1, 0, twoDigit ? 0 : 1, 0]);
    const noAnswer = adder.map((r) => ({ prompt: r.prompt, completion: r.completion }));
    await assert.rejects(set.score(noAnswer), /exact-answer\.mjs threw on row 0 .*has no "answer" field/);
  });

  it('format-length (TypeScript): half for a clean end, half for a length in range, with per-row ranges', async () => {
    const set = await loadRewardSet([formatLength]);
    const s = await set.score(rowsOf([' 4 2', ' 1 0 3,', ' 1\n2', ' 1 2 3 4', ' 1 2 3 4 5 6', '']));
    assert.deepEqual(s.total, [1, 0.5, 0.5, 0.5 + 0.25, 0.5, 0]);
    const wide = rowsOf([' 1 2 3 4 5', ' 1', ' 1', ' 1', ' 1', ' 1']).map((r) => ({
      ...r,
      columns: { ...r.columns, min_words: 5, max_words: 10 },
    }));
    assert.deepEqual((await set.score(wide)).total.slice(0, 2), [1, 0.5 + 0.5 * (1 - 4 / 5)]);
  });

  it('the two together, weighted, as the docs show', async () => {
    const set = await loadRewardSet([exactAnswer, formatLength], [1, 0.2]);
    const s = await set.score(rowsOf(adder.map((r, i) => (i === 0 ? ' 0' : r.completion))));
    assert.deepEqual(s.perFunction['exact-answer'], [0, 1, 1, 1, 1, 1]);
    assert.deepEqual(s.perFunction['format-length'], [1, 1, 1, 1, 1, 1]);
    s.total.forEach((t, i) => assert.ok(Math.abs(t - (i === 0 ? 0.2 : 1.2)) < 1e-12));
  });
});

describe('examples/adder/make-data.mjs', () => {
  const operands = (p: string) =>
    p
      .replace(/ =$/, '')
      .split(' + ')
      .map((o) => o.replaceAll(' ', ''));
  const oneDigitShare = (rows: { prompt: string }[]) =>
    rows.flatMap((r) => operands(r.prompt)).filter((o) => o.length === 1).length / (2 * rows.length);

  it('draws operands uniformly or by digit count, never a held-out sum, each answer right', () => {
    const held = new Set(makeData('--eval').map((r) => r.prompt));
    assert.equal(held.size, 135);
    const uniform = makeData('2000'),
      balanced = makeData('--digits', 'balanced', '--seed', '777', '2000'),
      prompts = makeData('--prompts', '2000');
    for (const rows of [uniform, balanced, prompts])
      for (const r of rows) {
        assert.ok(!held.has(r.prompt), r.prompt);
        const [a, b] = operands(r.prompt).map(Number);
        assert.equal((r.answer ?? r.completion!).replaceAll(' ', ''), String(a + b));
      }
    assert.ok(Math.abs(oneDigitShare(uniform) - 0.1) < 0.02);
    assert.ok(Math.abs(oneDigitShare(balanced) - 0.5) < 0.03);
    // The RL prompts' defaults (balanced, seed 777) are the balanced SFT set's sums with another field.
    assert.deepEqual(
      prompts.map((r) => r.prompt),
      balanced.map((r) => r.prompt),
    );
  });

  it('refuses a bad option with its name', () => {
    assert.throws(
      () => execFileSync(process.execPath, [at('adder/make-data.mjs'), '--digits', 'even'], { stdio: 'pipe' }),
      /--digits even: use uniform or balanced/,
    );
  });
});
