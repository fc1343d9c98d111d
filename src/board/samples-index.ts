// A run's samples.jsonl by step: PPO's lines carry `iteration`, GRPO's, RLOO's and online DPO's `step`,
// ReST's `grow`. The index keeps each step's line ranges (not the lines: a ReST Grow writes thousands),
// grows as the file does, and reads one step's lines when the page asks for them.

import { type TailCursor, type TailProblem, START, readJSONLFrom, readRanges } from './jsonl-tail.js';
import { stepOf } from './runs.js';

interface StepLines {
  step: number;
  lines: { line: number; start: number; end: number }[];
  /** Sum of the lines' `reward` (or PPO's `score`), and how many had one. */
  rewardSum: number;
  rewarded: number;
}

export interface SampleStep {
  step: number;
  count: number;
  /** Mean `reward` (PPO: `score`) of the step's samples, when they have one. */
  meanReward: number | null;
}

/** The total score of a samples line: `reward` (GRPO, RLOO, online DPO, ReST) or `score` (PPO). */
export function rewardOf(r: Record<string, unknown>): number | null {
  for (const k of ['reward', 'score']) if (typeof r[k] === 'number') return r[k] as number;
  return null;
}

export class SamplesIndex {
  private cursor: TailCursor = START;
  private steps = new Map<number, StepLines>();
  /** The field that numbers the steps ('step', 'iteration', 'grow'), from the first line that has one. */
  stepField: string | null = null;
  problems: TailProblem[] = [];

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call (everything again if the file was started anew). */
  refresh(): void {
    const r = readJSONLFrom(this.path, this.cursor);
    if (r.reset) {
      this.steps.clear();
      this.problems = [];
      this.stepField = null;
    }
    this.cursor = r;
    this.problems.push(...r.problems);
    for (const rec of r.records) {
      const step = stepOf(rec.value);
      if (step === null) {
        this.problems.push({ line: rec.line, message: 'no step, iteration or grow field' });
        continue;
      }
      this.stepField ??= ['step', 'iteration', 'grow'].find((k) => typeof rec.value[k] === 'number') ?? null;
      let s = this.steps.get(step);
      if (!s) this.steps.set(step, (s = { step, lines: [], rewardSum: 0, rewarded: 0 }));
      s.lines.push({ line: rec.line, start: rec.start, end: rec.end });
      const reward = rewardOf(rec.value);
      if (reward !== null) {
        s.rewardSum += reward;
        s.rewarded++;
      }
    }
  }

  list(): SampleStep[] {
    return [...this.steps.values()]
      .sort((a, b) => a.step - b.step)
      .map((s) => ({ step: s.step, count: s.lines.length, meanReward: s.rewarded ? s.rewardSum / s.rewarded : null }));
  }

  /** The lines of one step, from `from`, at most `limit` of them; and how many the step has. */
  read(step: number, from = 0, limit = 200): { total: number; records: { line: number; value: unknown }[] } {
    const s = this.steps.get(step);
    if (!s) return { total: 0, records: [] };
    const records = readRanges(this.path, s.lines.slice(from, from + limit)).map((r) => ({
      line: r.line,
      value: r.value,
    }));
    return { total: s.lines.length, records };
  }
}
