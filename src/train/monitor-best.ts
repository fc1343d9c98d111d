// best/: the checkpoint of the evaluation where the monitor's deciding signal peaked, by the same 3-point
// moving mean the parting rule reads. The mean at an evaluation is final only once the next evaluation is
// in, when the policy has moved on; so each evaluation's checkpoint waits in OUT/monitor/previous until
// then, and is promoted to best/ if its now final mean is the highest so far. The run's last evaluation
// (a 2-point mean) is final when the run ends.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { movingMean3 } from '../objectives/parting.js';

const MARK = 'monitor.json';

export class BestKeeper {
  /** The step best/ holds, and the deciding signal's moving mean there (oriented: higher is better). */
  step: number | null = null;
  value: number | null = null;
  private previousStep: number | null = null;
  private readonly bestDir: string;
  private readonly previousDir: string;

  constructor(
    readonly outDir: string,
    private readonly save: (dir: string) => void,
    private readonly describe: (step: number, value: number) => Record<string, unknown> = (step, value) => ({
      step,
      value,
    }),
  ) {
    this.bestDir = join(outDir, 'best');
    this.previousDir = join(outDir, 'monitor', 'previous');
  }

  /** A new run: no best/ and no waiting checkpoint from an earlier run in the same directory. */
  clear(): void {
    rmSync(this.bestDir, { recursive: true, force: true });
    rmSync(join(this.outDir, 'monitor'), { recursive: true, force: true });
  }

  /** A resumed run: the best of the kept evaluations' final means, and the waiting checkpoint's step. */
  resume(values: number[], steps: number[]): void {
    const m = movingMean3(values);
    for (let i = 0; i + 1 < m.length; i++)
      if (this.value === null || m[i] > this.value) {
        this.value = m[i];
        this.step = steps[i];
      }
    const mark = join(this.previousDir, MARK);
    if (existsSync(mark)) this.previousStep = JSON.parse(readFileSync(mark, 'utf8')).step;
  }

  /**
   * After an evaluation (values and steps: the signal and step of every evaluation so far, this one last):
   * the one before it now has its final mean, and is promoted if it is the best; this one's checkpoint waits.
   */
  observe(values: number[], steps: number[]): void {
    const n = values.length;
    if (n === 0) return;
    // NOTE: a resumed run whose waiting checkpoint is from another step cannot promote it; the next one can.
    if (n >= 2 && this.previousStep === steps[n - 2]) {
      const before = movingMean3(values)[n - 2];
      if (this.value === null || before > this.value) this.promote(steps[n - 2], before);
    }
    rmSync(this.previousDir, { recursive: true, force: true });
    mkdirSync(this.previousDir, { recursive: true });
    this.save(this.previousDir);
    writeFileSync(join(this.previousDir, MARK), JSON.stringify({ step: steps[n - 1] }) + '\n');
    this.previousStep = steps[n - 1];
  }

  private promote(step: number, value: number): void {
    rmSync(this.bestDir, { recursive: true, force: true });
    renameSync(this.previousDir, this.bestDir);
    writeFileSync(join(this.bestDir, MARK), JSON.stringify(this.describe(step, value), null, 2) + '\n');
    this.step = step;
    this.value = value;
    this.previousStep = null;
  }

  /** The run ended after its evaluation at `step`: that one's (2-point) mean is final. */
  finish(values: number[], step: number | null): void {
    const n = values.length;
    if (n === 0 || step === null || this.previousStep !== step) return;
    const last = movingMean3(values)[n - 1];
    if (this.value === null || last > this.value) this.promote(step, last);
  }
}
