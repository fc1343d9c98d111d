// One run's lines of one metrics file, as points to plot: every finite number of a line against the
// line's step. No DOM here (the tests run it in Node).
//
// The x of a line is its `step`, else its `iteration` (PPO), else its `grow` (rest.jsonl), else its line
// number. Two cases send the step back: ReST starts the loop again at step 1 for each Improve, and its
// steps then continue after the last one (a run-wide count); a resumed run logs again from its checkpoint
// (a step above 1), and the points from there on are replaced, as TensorBoard purges them.

export interface Point {
  run: string;
  x: number;
  y: number;
}

/** Fields that number the lines: never plotted as metrics. */
export const X_FIELDS = ['step', 'iteration', 'grow'];

export interface Cursor {
  offset: number;
  line: number;
  head: string;
}

export interface SeriesUpdate {
  /** New points by metric name. */
  added: Map<string, Point[]>;
  /** True when earlier points were dropped (a resumed run, or thinned to the budget): redraw from `points`. */
  replaced: boolean;
}

/**
 * Points kept per metric of a run: past this, every other one is dropped and from then on only every k-th
 * line is kept (k doubling each time), as TensorBoard keeps 1,000 of a scalar's points. A plot then draws
 * 500 to 1,000 points of each run however long it trains; the latest value stays exact.
 */
export const POINT_BUDGET = 1000;

export class Series {
  cursor: Cursor = { offset: 0, line: 0, head: '' };
  /** The points kept (every `strideOf` line's) by metric name. */
  readonly points = new Map<string, Point[]>();
  /** Per metric: keep every k-th value, of the n seen. */
  private readonly kept = new Map<string, { k: number; n: number }>();
  private readonly latestValue = new Map<string, number>();
  /** Which field numbered the lines (null: line numbers). */
  xField: string | null = null;
  /** The last line's x, and its step as written. */
  lastX: number | null = null;
  private lastRaw: number | null = null;
  private shift = 0;

  constructor(readonly run: string) {}

  /** Drops everything (the file was started anew). */
  clear(): void {
    this.points.clear();
    this.kept.clear();
    this.latestValue.clear();
    this.cursor = { offset: 0, line: 0, head: '' };
    this.xField = null;
    this.lastX = this.lastRaw = null;
    this.shift = 0;
  }

  /** Adds the lines read (in file order), returning the new points by metric. */
  add(records: { line: number; value: Record<string, unknown> }[]): SeriesUpdate {
    const added = new Map<string, Point[]>();
    let replaced = false;
    for (const { line, value } of records) {
      const field = X_FIELDS.find((k) => typeof value[k] === 'number' && Number.isFinite(value[k] as number));
      this.xField ??= field ?? null;
      const raw = field ? (value[field] as number) : line;
      if (this.lastRaw !== null && raw <= this.lastRaw) {
        if (raw <= 1) this.shift = this.lastX ?? 0;
        else {
          // A resumed run: its steps from `raw` on are written again.
          const from = raw + this.shift;
          for (const [name, pts] of this.points) {
            const keep = pts.filter((p) => p.x < from);
            if (keep.length !== pts.length) {
              this.points.set(name, keep);
              replaced = true;
            }
          }
        }
      }
      this.lastRaw = raw;
      const x = raw + this.shift;
      this.lastX = x;
      for (const [name, v] of Object.entries(value)) {
        if (X_FIELDS.includes(name) || typeof v !== 'number' || !Number.isFinite(v)) continue;
        this.latestValue.set(name, v);
        let kept = this.kept.get(name);
        if (!kept) this.kept.set(name, (kept = { k: 1, n: 0 }));
        if (kept.n++ % kept.k !== 0) continue;
        const p = { run: this.run, x, y: v };
        let all = this.points.get(name);
        if (!all) this.points.set(name, (all = []));
        all.push(p);
        if (all.length > POINT_BUDGET) {
          this.points.set(name, (all = all.filter((_, i) => i % 2 === 0)));
          kept.k *= 2;
          replaced = true;
        }
        let fresh = added.get(name);
        if (!fresh) added.set(name, (fresh = []));
        fresh.push(p);
      }
    }
    return { added, replaced };
  }

  /** The latest value of a metric (exact, kept or not), or undefined. */
  latest(name: string): number | undefined {
    return this.latestValue.get(name);
  }
}

export interface SmoothedPoint extends Point {
  /** The run's exponential moving average up to this point. */
  s: number;
}

/**
 * TensorBoard's smoothing: each run's exponential moving average of its points in order (weight w on the
 * average so far), divided by 1 − wⁿ after n points so it starts at the first value instead of rising
 * from 0. w = 0 leaves the values as they are. Points given later continue each run's average.
 */
export class Smoother {
  private readonly runs = new Map<string, { avg: number; n: number }>();

  constructor(readonly weight: number) {
    if (!(weight >= 0 && weight < 1)) throw new Error(`smoothing must be in [0, 1), got ${weight}`);
  }

  smooth(points: Point[]): SmoothedPoint[] {
    const w = this.weight;
    return points.map((p) => {
      let r = this.runs.get(p.run);
      if (!r) this.runs.set(p.run, (r = { avg: 0, n: 0 }));
      r.avg = r.avg * w + (1 - w) * p.y;
      r.n++;
      return { ...p, s: w === 0 ? p.y : r.avg / (1 - w ** r.n) };
    });
  }
}

/** The section a metric is shown in: its namespace ('train/loss' → 'train'), '' for plain names ('loss'). */
export function sectionOf(name: string): string {
  const i = name.indexOf('/');
  return i > 0 ? name.slice(0, i) : '';
}

/** Metric names in the board's order: plain names first, then by namespace, each alphabetically (2 before 10). */
export function orderMetrics(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => {
    const sa = sectionOf(a),
      sb = sectionOf(b);
    if (sa !== sb) return sa === '' ? -1 : sb === '' ? 1 : sa < sb ? -1 : 1;
    return a.localeCompare(b, 'en', { numeric: true });
  });
}

/** A number as the board shows it: 4 significant digits, exponent when very large or small. */
export function formatValue(v: number | undefined): string {
  if (v === undefined) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}
