// The board's small multiples: one Vega view per metric, its runs overlaid (one colour each, the same in
// every plot), drawn on a canvas as wide as its card. New points are inserted into the running view; a
// view is built again only when the runs shown or the smoothing change, or a run's points were replaced.

import { el } from '../../feedback/web/dom.js';
import { type Point, type SmoothedPoint, Smoother, formatValue } from './series.js';

// The bundles served at /vendor/ (vega.min.js, vega-lite.min.js, vega-interpreter.js) set these globals.
interface VegaView {
  runAsync(): Promise<unknown>;
  width(w: number): VegaView;
  change(name: string, changes: unknown): VegaView;
  finalize(): void;
}
interface VegaGlobal {
  View: new (runtime: unknown, opts: Record<string, unknown>) => VegaView & { initialize(el: Element): VegaView };
  parse(spec: unknown, config?: unknown, options?: { ast: boolean }): unknown;
  changeset(): { insert(values: unknown[]): unknown; remove(pred: () => boolean): { insert(v: unknown[]): unknown } };
}
declare const vega: VegaGlobal;
declare const vegaLite: { compile(spec: unknown): { spec: unknown } };
declare const vegaInterpreter: unknown;

/** Run colours, in the order runs are selected (Tableau 10). */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export const colorOf = (runs: string[], run: string) => PALETTE[Math.max(0, runs.indexOf(run)) % PALETTE.length];

/** How often a plot draws the points that came in, at most (ms). */
const FLUSH_MS = 250;

/** A plot's height, axes included (the card's chart area is as high: board.css). */
const HEIGHT = 160;

function specOf(xTitle: string, runs: string[], width: number, smoothed: boolean): unknown {
  // Steps are whole (1.5k for 1,500); values shown to 6 digits without trailing zeros (0.1, not 0.100000).
  const x = {
    field: 'x',
    type: 'quantitative',
    title: xTitle,
    scale: { zero: false },
    axis: { tickCount: 5, tickMinStep: 1, format: '~s' },
  };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: null,
    scale: { zero: false },
    axis: { tickCount: 4, format: '~g' },
  };
  const color = {
    field: 'run',
    type: 'nominal',
    scale: { domain: runs, range: runs.map((r) => colorOf(runs, r)) },
    legend: null,
  };
  // On the dots only: a line's tooltip would show the run's first point wherever it is hovered (Vega
  // picks a line as a whole), and one per point would cost the drawing of every point.
  const tooltip = [
    { field: 'run', type: 'nominal' },
    { field: 'x', type: 'quantitative', title: xTitle },
    { field: 'y', type: 'quantitative', title: 'value', format: '.5~g' },
    ...(smoothed ? [{ field: 's', type: 'quantitative', title: 'smoothed', format: '.5~g' }] : []),
  ];
  const line = (field: string, style: Record<string, unknown>) => ({
    mark: { type: 'line', ...style },
    encoding: { y: { ...y, field }, order: { field: 'x', type: 'quantitative' } },
  });
  return vegaLite.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height: HEIGHT,
    autosize: { type: 'fit', contains: 'padding' },
    encoding: { x, y, color },
    // Smoothed: each run's values drawn faintly under their moving average. Then a dot at each run's
    // latest value (so a run of one point shows, and where each run is now), from its own small data
    // set (the latest point of each run, kept by PlotCard) rather than found again among every point.
    layer: [
      {
        data: { name: 'points' },
        layer: smoothed
          ? [line('y', { strokeWidth: 1, opacity: 0.25 }), line('s', { strokeWidth: 2 })]
          : [line('y', { strokeWidth: 1.5 })],
      },
      {
        data: { name: 'latest' },
        mark: { type: 'point', filled: true, size: 30, opacity: 1 },
        encoding: { tooltip },
      },
    ],
    // No ARIA descriptions (a formatted string for every point, unread on a canvas); the points are all
    // finite (Series keeps no other), so a line need not test each one while it is drawn.
    config: {
      view: { stroke: null },
      axis: { labelFontSize: 10, titleFontSize: 10 },
      aria: false,
      mark: { invalid: 'filter' },
    },
  }).spec;
}

/** One metric's card: its title, each run's latest value, and the plot. */
export class PlotCard {
  readonly root: HTMLElement;
  private readonly chart: HTMLElement;
  private readonly latest: HTMLElement;
  private view: VegaView | null = null;
  private width = 0;
  private smoother = new Smoother(0);
  private count = 0;
  /** Each run's latest point, as in the 'latest' data set (its dot). */
  private last = new Map<string, SmoothedPoint>();
  /** Points given and not yet drawn, and when they will be. */
  private queue: SmoothedPoint[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private readonly resized = new ResizeObserver(() => this.fit());

  constructor(
    readonly metric: string,
    readonly title: string,
  ) {
    this.chart = el('div', { class: 'chart' });
    this.latest = el('div', { class: 'latest' });
    this.root = el(
      'figure',
      { class: 'plot', attrs: { 'data-metric': metric, 'data-points': '0' } },
      el('figcaption', {}, el('span', { class: 'metric-name', text: title }), this.latest),
      this.chart,
    );
    this.resized.observe(this.chart);
  }

  /** Draws these runs' points anew (the runs shown or the smoothing changed, or points were replaced). */
  rebuild(runs: string[], xTitle: string, points: Point[], smoothing: number): void {
    this.view?.finalize();
    this.chart.replaceChildren();
    // A card not shown (another tab is open) has no width yet: fit() sets it once it has.
    this.width = this.chart.clientWidth || 300;
    // Expressions parsed to syntax trees and evaluated by the interpreter, never compiled with Function:
    // the page's CSP has no 'unsafe-eval'.
    const runtime = vega.parse(specOf(xTitle, runs, this.width, smoothing > 0), undefined, { ast: true });
    const view = new vega.View(runtime, { renderer: 'canvas', hover: true, expr: vegaInterpreter });
    view.initialize(this.chart);
    this.view = view;
    this.smoother = new Smoother(smoothing);
    this.root.dataset.smoothing = String(smoothing);
    this.count = 0;
    this.root.dataset.points = '0';
    this.last = new Map();
    this.queue = [];
    this.insert(points);
    this.flush();
  }

  /**
   * Adds points to the plot as it is: drawn at most every FLUSH_MS, all that came meanwhile at once (a
   * long run is read in many pieces, and each drawing draws every point again).
   */
  insert(points: Point[]): void {
    if (!this.view || points.length === 0) return;
    for (const t of this.smoother.smooth(points)) this.queue.push(t);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Draws the points queued; `data-points` counts the points drawn. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const view = this.view,
      tuples = this.queue;
    this.queue = [];
    if (!view || tuples.length === 0) return;
    for (const t of tuples) if (t.x >= (this.last.get(t.run)?.x ?? Number.NEGATIVE_INFINITY)) this.last.set(t.run, t);
    const latest = [...this.last.values()].map((t) => ({ ...t }));
    this.count += tuples.length;
    const count = this.count;
    this.pending = this.pending.then(async () => {
      await view
        .change('points', vega.changeset().insert(tuples))
        .change(
          'latest',
          vega
            .changeset()
            .remove(() => true)
            .insert(latest),
        )
        .runAsync();
      if (this.view === view) this.root.dataset.points = String(count);
    });
  }

  /** The plot made as wide as its card, when the card's width changed (the window, the grid, a tab shown). */
  private fit(): void {
    const w = this.chart.clientWidth;
    if (!this.view || w === 0 || w === this.width) return;
    this.width = w;
    const view = this.view;
    this.pending = this.pending.then(() => view.width(w).runAsync());
  }

  /** Each run's latest value, in its colour. */
  setLatest(runs: string[], values: Map<string, number | undefined>): void {
    this.latest.replaceChildren(
      ...runs
        .filter((r) => values.get(r) !== undefined)
        .map((r) =>
          el(
            'span',
            { class: `value c${runs.indexOf(r) % PALETTE.length}`, attrs: { title: r } },
            formatValue(values.get(r)),
          ),
        ),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.resized.disconnect();
    this.view?.finalize();
    this.view = null;
  }
}
