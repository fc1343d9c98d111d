#!/usr/bin/env node
// Which step each signal of a monitored run would choose, and what a watched reward (e.g. the demo's gold
// judge) scored there: the check of the monitor on a task where gold is known.
//
// Usage: node examples/monitor/choices.mjs RUN/monitor.jsonl [reward/NAME]   (or a best-of-N sweep's OUT.monitor.jsonl)
//   (default reward/demo-gold; run from a clone after `npm run build`: it reads dist/)
// Each signal's choice is where its 3-point moving mean is highest (lowest for ensemble_std), as best/ is
// kept; gold's own best is found the same way, and also as the single best evaluation. "parts at" replays the
// parting rule after each evaluation (MIN_RISE, default 0.25, as --monitor-min-rise): where
// --monitor-signal S --stop-when-parting would have stopped.

import { readFileSync } from 'node:fs';

const [file, watched = 'reward/demo-gold'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node examples/monitor/choices.mjs RUN/monitor.jsonl [reward/NAME]\n');
  process.exit(2);
}
const { movingMean3, partingPoint } = await import(new URL('../../dist/objectives/parting.js', import.meta.url).href);
const minRise = Number(process.env.MIN_RISE ?? 0.25);
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  // A best-of-N sweep's lines (`sample --best-of … --out F`: F.monitor.jsonl) have N where a run has its step.
  .map((r) => ({ ...r, step: r.step ?? r.n }));
const unit = rows[0]?.n !== undefined ? 'N =' : 'step';
const gold = rows.map((r) => r[`monitor/${watched}`]);
if (gold.some((g) => typeof g !== 'number'))
  throw new Error(`${file}: no monitor/${watched} on every line; give the watched reward's name (reward/NAME)`);
const argmax = (xs) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);
const goldSmooth = movingMean3(gold);
const gi = argmax(goldSmooth),
  graw = argmax(gold);
const fmt = (x) => (x >= 0 ? ' ' : '') + x.toFixed(3);
process.stdout.write(
  `${watched}: own best (3-point moving mean) at ${unit} ${rows[gi].step}: ${fmt(gold[gi])} (moving mean ` +
    `${fmt(goldSmooth[gi])}); single best evaluation at ${unit} ${rows[graw].step}: ${fmt(gold[graw])}; at the end ` +
    `(${unit} ${rows.at(-1).step}) ${fmt(gold.at(-1))}\n`,
);
const signals = ['pref_accuracy', 'judge_win_rate', 'holdout_reward', 'ensemble_std', 'proxy'].filter((s) =>
  rows.every((r) => typeof r[`monitor/${s}`] === 'number'),
);
for (const s of signals) {
  const dir = s === 'ensemble_std' ? -1 : 1;
  const i = argmax(movingMean3(rows.map((r) => dir * r[`monitor/${s}`])));
  const points = rows.map((r) => ({
    step: r.step,
    kl: r['monitor/kl'],
    gold: dir * r[`monitor/${s}`],
    proxy: r['monitor/proxy'],
  }));
  const sd0 = rows[0]['monitor/proxy_std'] ?? 0;
  const parts = points.findIndex((_, k) => partingPoint(points.slice(0, k + 1), minRise * sd0)?.parted);
  process.stdout.write(
    `${s.padEnd(15)} chooses ${unit} ${String(rows[i].step).padStart(3)}: ${watched} there ${fmt(gold[i])} ` +
      `(${fmt(gold[i] - gold[gi])} from gold's own best; KL ${rows[i]['monitor/kl'].toFixed(1)}); ` +
      `${s === 'proxy' ? '' : parts < 0 ? 'never parts from the proxy' : `parts at ${unit} ${rows[parts].step}`}\n`,
  );
}
