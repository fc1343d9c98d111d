// The over-optimization monitor for best-of-N (`rlhf sample --best-of N --monitor-prompts FILE`): there the
// "steps" are the values of N. It samples N_max completions of each held-out prompt once, and for each
// N = 1, 2, 4, … N_max keeps the proxy's best of the first N: the proxy's mean of the kept samples rises
// with N by construction, while a signal independent of the proxy says from which N the extra choosing
// only buys the proxy's errors. The monitor's choice of N is where that signal's moving mean peaks.

import { writeFileSync } from 'node:fs';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type PartingPoint, movingMean3, partingPoint } from '../objectives/parting.js';
import { bestOfNKL } from './best-of-n.js';
import { type GenerationOptions, type Generator, cutAtStop } from './generator.js';
import { type MonitorSetup, decidingSignal } from './monitor.js';
import type { MonitorSamples } from './monitor-signals.js';
import type { RewardSet } from './reward-fn.js';

/** The N values of a sweep up to maxN: the powers of two below it, and maxN itself. */
export function sweepValues(maxN: number): number[] {
  if (!Number.isInteger(maxN) || maxN < 1) throw new Error(`best-of-N needs an integer N ≥ 1, got ${maxN}`);
  const out: number[] = [];
  for (let n = 1; n < maxN; n *= 2) out.push(n);
  out.push(maxN);
  return out;
}

/** Of each prompt's samples (scores[p·maxN + j]), the index of the proxy's best of the first n (the first on a tie). */
export function chooseBest(scores: readonly number[], prompts: number, maxN: number, n: number): number[] {
  return Array.from({ length: prompts }, (_, p) => {
    let best = p * maxN;
    for (let j = 1; j < n; j++) if (scores[p * maxN + j] > scores[best]) best = p * maxN + j;
    return best;
  });
}

export interface BestOfNSweep {
  /** The signal that chose N (null when none was given). */
  signal: string | null;
  /** One entry per N: metrics named as the trainers' monitor's (monitor/proxy, monitor/kl, …). */
  points: { n: number; metrics: Record<string, number> }[];
  /** The N where the signal's 3-point moving mean peaks (null without a signal). */
  bestN: number | null;
  parting: PartingPoint | null;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Runs the sweep on the setup's held-out prompts with `gen` (the built-in engine or a server): proxy, KL
 * (the analytic log N − (N−1)/N), length, stop rate, the signals and watch-only rewards of the kept samples
 * at each N. Writes one line per N to `file` when given.
 */
export async function monitorBestOfN(
  gen: Generator,
  tok: Tokenizer | null,
  setup: MonitorSetup,
  proxy: RewardSet,
  maxN: number,
  opts: GenerationOptions,
  log: (m: string) => void,
  file?: string,
): Promise<BestOfNSweep> {
  const Ns = sweepValues(maxN);
  const policyOnly = setup.signals.find((s) => s.needsPolicy);
  if (policyOnly)
    throw new Error(
      `${policyOnly.name} measures a trained policy against its reference; best-of-N does not change the policy ` +
        '(leave out --monitor-pairs here)',
    );
  const signal = decidingSignal(setup.options, setup.signals, setup.watch);
  const prompts = setup.prompts.map((r) => {
    if (typeof r.prompt !== 'string') throw new Error('the best-of-N monitor takes text prompts {"prompt": "…"}');
    return r.prompt;
  });
  const P = prompts.length;
  const stop = opts.stop ?? [];
  const draw = async (n: number, seed: number | undefined) =>
    (
      await gen.generate(
        prompts.map((prompt) => ({ prompt, n })),
        { ...opts, seed },
      )
    ).flatMap((r) => r.completions.map((c) => ({ ...c, text: cutAtStop(c.text, stop) })));
  log(`best-of-N monitor: ${P} held-out prompts × ${maxN} samples; N = ${Ns.join(', ')}`);
  const all = await draw(maxN, opts.seed);
  const columns = setup.prompts.map((r) => r.columns);
  const items = all.map((c, i) => ({
    prompt: prompts[Math.floor(i / maxN)],
    completion: c.text,
    columns: columns[Math.floor(i / maxN)],
  }));
  const scores = (await proxy.score(items)).total;
  const referenceTexts = setup.signals.some((s) => s.needsReference)
    ? (await draw(1, (opts.seed ?? 0) + 4099)).map((c) => c.text)
    : undefined;
  const points: BestOfNSweep['points'] = [];
  for (const n of Ns) {
    const chosen = chooseBest(scores, P, maxN, n);
    const kept = chosen.map((i) => all[i]);
    const metrics: Record<string, number> = {
      'monitor/proxy': mean(chosen.map((i) => scores[i])),
      'monitor/kl': bestOfNKL(n),
      'monitor/length': mean(kept.map((c) => c.tokenIds?.length ?? c.tokens ?? tok?.encode(c.text).length ?? NaN)),
      'monitor/stop_rate': mean(kept.map((c) => (c.finishReason === 'stop' ? 1 : 0))),
    };
    if (n === 1) {
      const first = chosen.map((i) => scores[i]);
      const m = mean(first);
      metrics['monitor/proxy_std'] = Math.sqrt(first.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, P - 1));
    }
    const samples: MonitorSamples = {
      prompts,
      messages: prompts.map(() => undefined),
      columns,
      texts: kept.map((c) => c.text),
      referenceTexts,
    };
    for (const sig of setup.signals) {
      const v = await sig.measure(samples, { tok: tok as Tokenizer, nPositions: 0 });
      metrics[`monitor/${sig.name}`] = v.value;
      for (const [k, x] of Object.entries(v.extra ?? {})) metrics[`monitor/${k}`] = x;
    }
    if (setup.watch) {
      const w = await setup.watch.score(
        kept.map((c, p) => ({ prompt: prompts[p], completion: c.text, columns: columns[p] })),
      );
      for (const [name, xs] of Object.entries(w.perFunction)) metrics[`monitor/reward/${name}`] = mean(xs);
    }
    points.push({ n, metrics });
    log(
      `best-of-${n}: ` +
        Object.entries(metrics)
          .filter(([k]) => k !== 'monitor/proxy_std')
          .map(([k, v]) => `${k.slice('monitor/'.length)} ${v.toFixed(3)}`)
          .join(', '),
    );
  }
  let bestN: number | null = null,
    parting: PartingPoint | null = null;
  if (signal) {
    const dir = setup.signals.find((s) => s.name === signal)?.direction ?? 1;
    const values = points.map((p) => dir * p.metrics[`monitor/${signal}`]);
    const m = movingMean3(values);
    let best = 0;
    for (let i = 1; i < m.length; i++) if (m[i] > m[best]) best = i;
    bestN = points[best].n;
    parting = partingPoint(
      points.map((p, i) => ({
        step: p.n,
        kl: p.metrics['monitor/kl'],
        gold: values[i],
        proxy: p.metrics['monitor/proxy'],
      })),
      setup.options.monitorMinRise * (points[0].metrics['monitor/proxy_std'] ?? 0),
    );
  }
  if (file) writeFileSync(file, points.map((p) => JSON.stringify({ n: p.n, ...p.metrics }) + '\n').join(''));
  return { signal, points, bestN, parting };
}
