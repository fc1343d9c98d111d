// Scaling curves of reward models, as in Stiennon et al. and Ward: eval accuracy against the number
// of training comparisons, for one or more model sizes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { lineChartSVG } from '../eval/plot.js';
import { RewardConfig } from './reward-config.js';
import { trainRewardModel } from './reward.js';

export interface CurvePoint {
  preset: string;
  parameters: number;
  train_comparisons: number;
  eval_accuracy: number;
  hard_accuracy: number | null;
  eval_loss: number;
  seconds: number;
}

/** Default sizes: the whole set and its halves down to an eighth. */
export function defaultSizes(n: number): number[] {
  return [8, 4, 2, 1].map((d) => Math.floor(n / d)).filter((s, i, a) => s > 0 && a.indexOf(s) === i);
}

/** Trains one reward model per (preset, size) on nested subsets of one shuffled training set. */
export async function rewardCurve(
  train: Comparison[],
  evalSet: Comparison[],
  cfg: RewardConfig,
  presets: string[],
  sizes: number[],
  log: (m: string) => void,
): Promise<CurvePoint[]> {
  if (evalSet.length === 0)
    throw new Error('a scaling curve needs eval comparisons: give --eval, or a non-zero --eval-fraction');
  for (const s of sizes)
    if (!(s >= 1 && s <= train.length))
      throw new Error(`--sizes: ${s} is outside [1, ${train.length}] (the training comparisons)`);
  // Nested subsets: each size adds to the smaller ones, so points differ only in how much data.
  const shuffled = new RNG(cfg.seed).shuffle([...train]);
  const points: CurvePoint[] = [];
  mkdirSync(cfg.outDir, { recursive: true });
  for (const preset of presets) {
    for (const n of sizes) {
      log(`curve: ${preset} on ${n} comparisons`);
      const { result } = trainRewardModel(
        shuffled.slice(0, n),
        evalSet,
        { ...cfg, preset, outDir: join(cfg.outDir, 'runs', `${preset}-${n}`) },
        log,
      );
      points.push({
        preset,
        parameters: result.parameters,
        train_comparisons: n,
        eval_accuracy: result.eval!.accuracy,
        hard_accuracy: result.hard?.accuracy ?? null,
        eval_loss: result.eval!.loss,
        seconds: result.seconds,
      });
    }
  }
  writeFileSync(join(cfg.outDir, 'curve.jsonl'), points.map((p) => JSON.stringify(p)).join('\n') + '\n');
  writeFileSync(join(cfg.outDir, 'curve.md'), curveTable(points));
  const data = points.map((p) => ({ ...p, model: `${p.preset} (${(p.parameters / 1e6).toFixed(2)}M)` }));
  writeFileSync(
    join(cfg.outDir, 'curve.svg'),
    await lineChartSVG({
      title: 'Reward model accuracy against training comparisons',
      x: { field: 'train_comparisons', title: 'training comparisons', log: true },
      y: { field: 'eval_accuracy', title: 'eval accuracy' },
      series: { field: 'model', title: 'model' },
      data,
    }),
  );
  return points;
}

export function curveTable(points: CurvePoint[]): string {
  const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
  return (
    [
      '| model | parameters | training comparisons | eval accuracy | hard accuracy | eval loss | seconds |',
      '|---|---|---|---|---|---|---|',
      ...points.map(
        (p) =>
          `| ${p.preset} | ${p.parameters.toLocaleString('en-US')} | ${p.train_comparisons} | ` +
          `${pct(p.eval_accuracy)} | ${pct(p.hard_accuracy)} | ${p.eval_loss.toFixed(3)} | ${p.seconds.toFixed(0)} |`,
      ),
    ].join('\n') + '\n'
  );
}
