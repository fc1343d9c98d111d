// Peak RSS and step time of training with and without gradient checkpointing (`--gradient-checkpointing`),
// each in a process of its own (peak RSS is per process), on a random GPT-2 or Llama of the given shape.
// Training steps are those of `rlhf train sft` (runSharded over RLHF_THREADS threads, clip, AdamW).
//
//   npm run build && node bench/checkpointing-bench.mjs --layers 12 --width 768 --heads 12 --batch 4 --seq 256
//
// A SmolLM2-135M-shaped Llama: --family llama --layers 30 --width 576 --heads 9 --kv-heads 3
// --intermediate 1536 --vocab 49152. Prints one JSON line per setting (wall and CPU seconds per step), then
// the ratios.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    family: { type: 'string', default: 'gpt2' },
    layers: { type: 'string', default: '12' },
    width: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    'kv-heads': { type: 'string' },
    intermediate: { type: 'string' },
    vocab: { type: 'string', default: '50304' },
    batch: { type: 'string', default: '4' },
    seq: { type: 'string', default: '256' },
    steps: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    child: { type: 'string' },
  },
});
const n = (k) => Number(o[k]);

if (o.child === undefined) {
  const rows = [];
  for (const setting of ['off', 'on']) {
    const args = [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child', setting];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`the ${setting} run exited with ${r.status}`);
    const row = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  const [off, on] = rows;
  console.log(
    JSON.stringify({
      peak_rss_ratio: +(on.peak_rss_mb / off.peak_rss_mb).toFixed(2),
      step_time_ratio: +(on.step_s / off.step_s).toFixed(2),
      cpu_time_ratio: +(on.cpu_s_per_step / off.cpu_s_per_step).toFixed(2),
    }),
  );
} else {
  const dist = new URL('../dist/', import.meta.url);
  const load = (path) => import(new URL(path, dist));
  const { createModel } = await load('model/create-model.js');
  const { AdamW, clipGradNorm } = await load('engine/optim.js');
  const { RNG } = await load('engine/rng.js');
  const { poolStats } = await load('engine/graph.js');
  const { runSharded, shardCount } = await load('runtime/replica.js');
  const { kernels, shardLM } = await load('train/kernels.js');
  const C = n('width');
  const config = {
    vocabSize: n('vocab'),
    nPositions: Math.max(1024, n('seq')),
    nEmbd: C,
    nHead: n('heads'),
    nLayer: n('layers'),
    layerNormEps: 1e-5,
    eosTokenId: 0,
    ...(o.family === 'gpt2'
      ? {}
      : {
          family: o.family,
          nKvHead: Number(o['kv-heads'] ?? o.heads),
          intermediateSize: Number(o.intermediate ?? Math.round((8 * C) / 3)),
        }),
  };
  const model = createModel(config, 0);
  model.gradientCheckpointing = o.child === 'on';
  const B = n('batch'),
    T = n('seq'),
    V = config.vocabSize;
  // The steps of `rlhf train sft` (as src/bench/model-bench.ts times them): forward and backward on every
  // thread, global-norm clipping, AdamW.
  const rng = new RNG(0);
  const opt = new AdamW(model.params, { lr: 1e-4 });
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  const replica = { models: { policy: model }, heads: {} };
  const step = () => {
    for (let i = 0; i < ids.length; i++) (ids[i] = rng.int(V)), (targets[i] = rng.int(V));
    opt.zeroGrad();
    runSharded(replica, kernels.lmStep, shardLM(ids, targets, B, T, shardCount()));
    clipGradNorm(model.params, 1);
    opt.update();
  };
  // CPU time (every thread's) is less disturbed than wall time by other work on a shared machine.
  const cpu = () => {
    const u = process.resourceUsage();
    return (u.userCPUTime + u.systemCPUTime) / 1e6;
  };
  for (let i = 0; i < n('warmup'); i++) step();
  const t0 = performance.now(),
    c0 = cpu();
  for (let i = 0; i < n('steps'); i++) step();
  const stepS = (performance.now() - t0) / 1000 / n('steps'),
    cpuS = (cpu() - c0) / n('steps');
  console.log(
    JSON.stringify({
      gradient_checkpointing: o.child === 'on',
      family: o.family,
      layers: n('layers'),
      width: C,
      batch: B,
      seq: T,
      threads: shardCount(),
      step_s: +stepS.toFixed(2),
      cpu_s_per_step: +cpuS.toFixed(2),
      tokens_per_s: +((B * T) / stepS).toFixed(1),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      main_thread_pool_high_water_mb: Math.round((poolStats().highWater * 4) / 2 ** 20),
    }),
  );
}
