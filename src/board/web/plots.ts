// The board's small multiples: one Vega view per metric, its runs overlaid (one colour each, the same in
// every plot), drawn on a canvas as wide as its card. New points are inserted into the running view; a
// view is built again only when the runs shown or the smoothing change, or a run's points were replaced.

import { el } from '../../feedback/web/dom.js';
import { type Point, Smoother, formatValue } from './series.js';

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
    data: { name: 'points' },
    encoding: { x, y, color, tooltip },
    // Smoothed: each run's values drawn faintly under their moving average. Then a dot at each run's
    // latest value (so a run of one point shows, and where each run is now).
    layer: [
      ...(smoothed
        ? [line('y', { strokeWidth: 1, opacity: 0.25 }), line('s', { strokeWidth: 2 })]
        : [line('y', { strokeWidth: 1.5 })]),
      {
        transform: [
          { joinaggregate: [{ op: 'max', field: 'x', as: 'last' }], groupby: ['run'] },
          { filter: 'datum.x === datum.last' },
        ],
        mark: { type: 'point', filled: true, size: 25, opacity: 1 },
      },
    ],
    config: { view: { stroke: null }, axis: { labelFontSize: 10, titleFontSize: 10 } },
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
    this.insert(points);
  }

  /** Adds points to the plot as it is. */
  insert(points: Point[]): void {
    if (!this.view || points.length === 0) return;
    const view = this.view;
    const tuples = this.smoother.smooth(points);
    this.count += points.length;
    this.root.dataset.points = String(this.count);
    this.pending = this.pending.then(() => view.change('points', vega.changeset().insert(tuples)).runAsync());
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

  /** Resolves when the plot has drawn every point given so far. */
  drawn(): Promise<unknown> {
    return this.pending;
  }

  dispose(): void {
    this.resized.disconnect();
    this.view?.finalize();
    this.view = null;
  }
}
