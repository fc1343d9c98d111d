#!/usr/bin/env node
// How long `rlhf board` takes to read and draw long runs (docs/board.md, "What a step is"): writes RUNS
// runs of STEPS lines with 20 metrics each (random walks), serves them, opens the page in headless
// Chromium and times it from opening the page until every plot holds every point it keeps.
//
//   npx tsc -p tsconfig.json && node bench/board-load.mjs [--runs 3] [--steps 20000] [--loads 3] [--dist DIR]
//
// --dist: the compiled board to measure (default this checkout's dist/), e.g. another checkout's, to
// compare two versions on the same runs. A plot's points are inserted and drawn in the same task (Vega's
// dataflow runs on promises that settle before the next task), so "holds every point" is "drawn".

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: { runs: { type: 'string' }, steps: { type: 'string' }, loads: { type: 'string' }, dist: { type: 'string' } },
});
const runs = Number(v.runs ?? 3),
  steps = Number(v.steps ?? 20000),
  loads = Number(v.loads ?? 3);
const dist = resolve(v.dist ?? new URL('../dist', import.meta.url).pathname);
const here = new URL('../dist', import.meta.url).pathname;
const { buildBoardServer } = await import(join(dist, 'board', 'server.js'));
const { Series } = await import(join(dist, 'board', 'web', 'series.js'));
const { launchChromium } = await import(join(here, 'test-support', 'chromium.js'));

const root = mkdtempSync(join(tmpdir(), 'rlhf-board-load-'));
const names = Array.from({ length: 20 }, (_, i) =>
  i < 6 ? ['loss', 'reward', 'kl', 'entropy', 'reward_std', 'frac'][i] : `train/m${i}`,
);
let bytes = 0;
const expected = new Map(); // metric → points kept over all runs
for (let r = 0; r < runs; r++) {
  const dir = join(root, `run-${r}`);
  mkdirSync(dir);
  const walk = names.map(() => Math.random());
  const lines = [];
  for (let s = 1; s <= steps; s++) {
    const line = { step: s };
    names.forEach((n, i) => {
      walk[i] += (Math.random() - 0.5) * 0.1;
      line[n] = walk[i];
    });
    lines.push(JSON.stringify(line));
  }
  const text = `${lines.join('\n')}\n`;
  writeFileSync(join(dir, 'metrics.jsonl'), text);
  bytes += Buffer.byteLength(text);
  const series = new Series(`run-${r}`);
  series.add(lines.map((l, i) => ({ line: i + 1, value: JSON.parse(l) })));
  for (const [n, pts] of series.points) expected.set(n, (expected.get(n) ?? 0) + pts.length);
}
console.log(`${runs} runs × ${steps} steps × ${names.length} metrics: ${(bytes / 1e6).toFixed(1)} MB of metrics.jsonl`);

const app = buildBoardServer({ roots: [root], staleMs: 600_000 });
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${app.server.address().port}/`;
const context = await launchChromium({ viewport: { width: 1400, height: 1000 } });
try {
  for (let load = 1; load <= loads; load++) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = Date.now();
    await page.goto(url);
    for (;;) {
      const got = await page
        .locator('.plot')
        .evaluateAll((ps) => ps.map((p) => [p.getAttribute('data-metric'), Number(p.getAttribute('data-points'))]));
      if (got.length === expected.size && got.every(([m, n]) => expected.get(m) === n)) break;
      if (errors.length) throw new Error(errors.join('; '));
      if (Date.now() - t0 > 300_000) throw new Error(`not drawn after 5 min: ${JSON.stringify(got)}`);
      await page.waitForTimeout(50);
    }
    console.log(`load ${load}: read and drawn in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await page.close();
  }
} finally {
  await context.dispose();
  await app.close();
  rmSync(root, { recursive: true, force: true });
}
