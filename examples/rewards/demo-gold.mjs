// A reward written as code: the gold judge of an `rlhf demo` run's task (src/tasks/), the programmatic
// stand-in for people that the demo's simulated labelers follow. Use it where gold is known and only to
// watch, never to optimize: the over-optimization monitor's --monitor-reward (docs/training.md, "Watching
// for over-optimization"), or `rlhf sample --best-of N --reward` to see what gold would pick.
//
// Which task, seed and size (quick or full) come from the demo directory's demo.json, so the gold judge is
// built on the same corpus the demo's labels came from. The directory is RLHF_DEMO_DIR (default rlhf-demo):
//   RLHF_DEMO_DIR=/tmp/demo rlhf train ppo … --monitor-prompts /tmp/demo/data/eval.jsonl \
//     --monitor-reward examples/rewards/demo-gold.mjs
// Scores are in [−1, 1] (positive: VADER sentiment of prompt + completion, gated by fluency). Run from a
// clone of the repository after `npm run build` (it reads the compiled dist/).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.RLHF_DEMO_DIR || 'rlhf-demo';
let settings;
try {
  settings = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')).settings;
} catch (e) {
  throw new Error(
    `demo-gold: cannot read ${join(dir, 'demo.json')} (${e.message}); set RLHF_DEMO_DIR to the directory of an ` +
      '`rlhf demo` run (its --out)',
  );
}
const { loadTask } = await import(new URL('../../dist/tasks/index.js', import.meta.url).href);
const task = loadTask(settings.task, { seed: settings.seed, quick: settings.quick });

/** ({ prompts, completions }) → the gold judge's score of each completion of its prompt. */
export default function demoGold({ prompts, completions }) {
  return completions.map((c, i) => task.gold.score(prompts[i], c));
}
