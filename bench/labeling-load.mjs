#!/usr/bin/env node
// Load test of the labeling service (issue 5): N simulated labelers against `rlhf serve` on loopback.
// Usage: npm run bench:labeling -- [--labelers 16] [--tasks 600] [--overlap 2] [--servers 1]
//        [--database FILE|postgres://…] [--retry-share 0.1] [--kill-after N] [--seed 0] [--json]
import { parseArgs } from 'node:util';
import { defaultLoadOptions, runLabelingLoad } from '../dist/bench/labeling-load.js';

const { values: v } = parseArgs({
  options: {
    labelers: { type: 'string' },
    tasks: { type: 'string' },
    overlap: { type: 'string' },
    servers: { type: 'string' },
    database: { type: 'string' },
    'retry-share': { type: 'string' },
    'kill-after': { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (v.help) {
  console.log(
    'usage: npm run bench:labeling -- [--labelers 16] [--tasks 600] [--overlap 2] [--servers 1] [--database FILE|postgres://…] [--retry-share 0.1] [--kill-after N] [--seed 0] [--json]',
  );
  process.exit(0);
}
const num = (name, fallback, { min = 0, int = true } = {}) => {
  const raw = v[name];
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!Number.isFinite(x) || x < min || (int && !Number.isInteger(x))) {
    console.error(`--${name} ${raw}: expected ${int ? 'an integer' : 'a number'} ≥ ${min}`);
    process.exit(2);
  }
  return x;
};
const d = defaultLoadOptions;
const o = {
  labelers: num('labelers', d.labelers, { min: 1 }),
  tasks: num('tasks', d.tasks, { min: 1 }),
  overlap: num('overlap', d.overlap, { min: 1 }),
  servers: num('servers', d.servers, { min: 1 }),
  database: v.database,
  retryShare: num('retry-share', d.retryShare, { int: false }),
  killAfter: num('kill-after', d.killAfter),
  seed: num('seed', d.seed),
};
try {
  const r = await runLabelingLoad(o, (m) => console.error(m));
  if (v.json) console.log(JSON.stringify(r));
  else {
    const row = (name, s) =>
      `${name.padEnd(8)} ${String(s.requests).padStart(7)} ${String(s.p50).padStart(8)} ${String(s.p90).padStart(8)} ${String(s.p99).padStart(8)} ${String(s.max).padStart(8)}`;
    console.log(
      [
        `${r.labelers} labelers, ${r.servers} server(s), ${r.backend}: ${r.acknowledged} judgments in ${r.seconds} s = ${r.judgmentsPerSecond} judgments/s`,
        `${'route'.padEnd(8)} ${'requests'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
        row('next', r.next),
        row('submit', r.submit),
        `retries sent ${r.retriesSent} (each answered with the first judgment); network errors retried ${r.networkErrors}; servers killed ${r.kills}`,
        `store check: ${r.check.inStore} judgments, ${r.check.missing} acknowledged but missing, ${r.check.duplicates} duplicates, ${r.check.overOverlap} tasks over overlap, ${r.check.labelerTwice} judged twice by one labeler: ${r.check.ok ? 'OK' : 'FAILED'}`,
      ].join('\n'),
    );
  }
  process.exit(r.check.ok ? 0 : 1);
} catch (e) {
  console.error(`bench:labeling: ${e.message}`);
  process.exit(1);
}
