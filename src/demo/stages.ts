// Stages of a long run, each cached in its own directory: a stage that finished wrote `stage.json`
// (its result and time), so a rerun skips it and returns the same result; a stage that was cut short
// left no `stage.json`, so its directory is cleared and it runs again. Progress is told stage by stage
// with the time left, estimated from the planned seconds scaled by how the finished stages went.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StagePlan {
  name: string;
  title: string;
  /** Planned seconds, used for the time left. */
  estimate: number;
}

interface StageRecord<T> {
  result: T;
  seconds: number;
  finishedAt: string;
}

export class StageRunner {
  private done = 0;
  private spent = 0;
  private planned = 0;
  private readonly start = Date.now();

  constructor(
    private readonly root: string,
    private readonly plan: StagePlan[],
    private readonly log: (m: string) => void,
  ) {
    const names = new Set<string>();
    for (const p of plan) {
      if (names.has(p.name)) throw new Error(`stage "${p.name}" is planned twice`);
      names.add(p.name);
    }
  }

  /** The directory of a stage's outputs. */
  dir(name: string): string {
    return join(this.root, name);
  }

  /** True when the stage finished in this or an earlier run. */
  finished(name: string): boolean {
    return existsSync(join(this.dir(name), 'stage.json'));
  }

  async run<T>(name: string, fn: (dir: string) => Promise<T> | T): Promise<T> {
    const k = this.plan.findIndex((p) => p.name === name);
    if (k < 0) throw new Error(`stage "${name}" is not in the plan`);
    const p = this.plan[k];
    const dir = this.dir(name),
      marker = join(dir, 'stage.json');
    const head = `[${k + 1}/${this.plan.length}] ${p.title}`;
    if (existsSync(marker)) {
      const rec = JSON.parse(readFileSync(marker, 'utf8')) as StageRecord<T>;
      this.log(`${head}: cached (took ${fmt(rec.seconds)} in an earlier run)`);
      this.account(p, 0, true);
      return rec.result;
    }
    // NOTE: a directory without stage.json is what an interrupted run left: start it clean.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    this.log(`${head} …`);
    const t0 = Date.now();
    const result = await fn(dir);
    const seconds = (Date.now() - t0) / 1000;
    const rec: StageRecord<T> = { result, seconds, finishedAt: new Date().toISOString() };
    writeFileSync(marker + '.tmp', JSON.stringify(rec, null, 2) + '\n');
    renameSync(marker + '.tmp', marker);
    this.account(p, seconds, false);
    this.log(
      `${head}: done in ${fmt(seconds)} · elapsed ${fmt((Date.now() - this.start) / 1000)} · about ` +
        `${fmt(this.left())} left`,
    );
    return result;
  }

  private account(p: StagePlan, seconds: number, cached: boolean): void {
    this.done = Math.max(this.done, this.plan.indexOf(p) + 1);
    if (!cached) {
      this.spent += seconds;
      this.planned += p.estimate;
    }
  }

  /**
   * Seconds left: the remaining stages' plan, scaled by actual/planned so far (clamped, so one odd stage can't swing it
   * wildly).
   */
  private left(): number {
    const rest = this.plan.slice(this.done).reduce((a, p) => a + p.estimate, 0);
    // NOTE: a few seconds of finished stages say little about this machine's speed: scale only after 30 planned
    // seconds.
    const scale = this.planned >= 30 ? Math.min(3, Math.max(1 / 3, this.spent / this.planned)) : 1;
    return rest * scale;
  }
}

export function fmt(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60),
    s = Math.round(seconds % 60);
  return `${m} min ${s.toString().padStart(2, '0')} s`;
}
