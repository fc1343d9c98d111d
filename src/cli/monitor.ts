// The over-optimization monitor's flags (declared in src/train/monitor-options.ts) on every online trainer's
// command and on `rlhf sample --best-of`, and what they load: the held-out prompts, the second reward, the
// held-out comparisons, the ensemble, the judge and the watch-only rewards.

import type { Command } from 'commander';
import { judgeSignal } from '../remote/judge.js';
import { loadRewardSet } from '../remote/reward-set.js';
import { loadEnsemble } from '../train/ensemble.js';
import { join } from 'node:path';
import type { MonitorSetup, MonitorSummary } from '../train/monitor.js';
import { type MonitorOptions, monitorOptions } from '../train/monitor-options.js';
import { ensembleSignal, holdoutRewardSignal, type MonitorSignal, preferenceSignal } from '../train/monitor-signals.js';
import { loadComparisons, loadPromptRows } from './inputs.js';
import { addOptions, readOptions } from './options.js';

/** The flags `rlhf sample --best-of` takes: there the steps are the N values, and nothing trains to stop. */
export const BEST_OF_MONITOR_KEYS = [
  'monitorPrompts',
  'monitorLimit',
  'monitorHoldoutReward',
  'monitorEnsemble',
  'judge',
  'judgeModel',
  'monitorReward',
  'monitorSignal',
  'monitorMinRise',
] as const satisfies readonly (keyof MonitorOptions)[];

export function addMonitorOptions(cmd: Command, keys?: readonly (keyof MonitorOptions)[]): Command {
  return addOptions(cmd, monitorOptions, keys ? [...keys] : undefined);
}

/**
 * The monitor of the parsed flags, or undefined without --monitor-prompts. `chat` lets held-out prompts be
 * conversations (the trainers that render them with a chat template).
 */
export async function monitorSetupFrom(
  o: Record<string, unknown>,
  opts: { chat?: boolean; keys?: readonly (keyof MonitorOptions)[] } = {},
): Promise<MonitorSetup | undefined> {
  const options = readOptions(monitorOptions, o, opts.keys ? [...opts.keys] : undefined);
  if (!options.monitorPrompts) return undefined;
  const limit = options.monitorLimit;
  const prompts = (
    opts.chat ? loadPromptRows(options.monitorPrompts, { chat: true }) : loadPromptRows(options.monitorPrompts)
  ).slice(0, limit);
  const signals: MonitorSignal[] = [];
  if (options.monitorHoldoutReward)
    signals.push(holdoutRewardSignal(await loadRewardSet([options.monitorHoldoutReward], undefined, { probe: true })));
  if (options.monitorPairs) signals.push(preferenceSignal(loadComparisons(options.monitorPairs).slice(0, limit)));
  if (options.judge) signals.push(await judgeSignal(options.judge, { model: options.judgeModel || undefined }));
  if (options.monitorEnsemble) signals.push(ensembleSignal(loadEnsemble(options.monitorEnsemble)));
  const watch = options.monitorReward.length
    ? await loadRewardSet(options.monitorReward, undefined, { probe: true })
    : null;
  return { options, prompts, signals, watch };
}

/** The summary line of a monitored run ('' without a monitor), for the command's stdout. */
export function monitorLine(m: MonitorSummary | undefined, unit: string, outDir: string): string {
  if (!m) return '';
  if (!m.signal)
    return `monitor: ${m.evaluations} evaluations in ${join(outDir, 'monitor.jsonl')} (no signal, no best/)\n`;
  const best =
    m.bestStep === null
      ? 'no best/ yet'
      : `best/ holds ${unit} ${m.bestStep}, where ${m.signal} was best (3-point moving mean ` +
        `${m.bestValue?.toFixed(3)}), ` +
        `in ${join(outDir, 'best')}`;
  const parted =
    m.partedAt === null
      ? 'proxy and signal did not part'
      : `proxy and signal parted at ${unit} ${m.partedAt}${m.stoppedAt !== null ? ', where the run stopped' : ''}`;
  return `monitor: ${best}; ${parted}; ${m.evaluations} evaluations in ${join(outDir, 'monitor.jsonl')}\n`;
}
