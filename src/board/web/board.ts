// The board page: the runs found (status, progress), and for the runs selected, a plot per metric with
// the runs overlaid, kept up to date by asking the server for the lines written since the last ask;
// the Config tab compares two runs' configurations, the Samples tab shows what a run sampled.

import { byId, el, fill } from '../../feedback/web/dom.js';
import { type RunInfo, type RunsResponse, type SeriesResponse, getJSON } from './api.js';
import { ConfigView } from './config-view.js';
import { PALETTE, PlotCard } from './plots.js';
import { SamplesView } from './samples-view.js';
import { Series, orderMetrics, sectionOf } from './series.js';

const SERIES_FILES = ['metrics.jsonl', 'monitor.jsonl', 'rest.jsonl'];
/** Runs selected at first: the most recently updated ones. */
const FIRST_SELECTED = 8;
type Tab = 'metrics' | 'config' | 'samples';

const state = {
  runs: new Map<string, RunInfo>(),
  selected: [] as string[],
  /** Per run and file. */
  series: new Map<string, Series>(),
  /** Per plotted metric (its file, then its name). */
  cards: new Map<string, PlotCard>(),
  problems: new Map<string, string>(),
  tab: 'metrics' as Tab,
  paused: false,
  pollMs: 2000,
  first: true,
  /** The plots' smoothing weight (0: none), from the slider. */
  smoothing: 0.6,
};

const seriesKey = (run: string, file: string) => `${run}\u0000${file}`;
const cardKey = (file: string, metric: string) => (file === 'metrics.jsonl' ? metric : `${file}:${metric}`);

function seriesOf(run: string, file: string): Series {
  const k = seriesKey(run, file);
  let s = state.series.get(k);
  if (!s) state.series.set(k, (s = new Series(run)));
  return s;
}

// ---- runs ----

const STATUS_HELP = {
  running: 'its files changed recently',
  finished: 'it wrote summary.json after its last metrics',
  stopped: 'no summary.json, and its files have not changed for a while (crashed, killed, or stopped to resume)',
};

function progressText(r: RunInfo): string {
  if (r.lastStep === null) return 'no step yet';
  return r.totalSteps ? `${r.unit} ${r.lastStep} / ${r.totalSteps}` : `${r.unit} ${r.lastStep}`;
}

function renderRuns(): void {
  const items = [...state.runs.values()].map((r) => {
    const box = el('input', { attrs: { type: 'checkbox', 'aria-label': `show ${r.id}` } });
    box.checked = state.selected.includes(r.id);
    box.addEventListener('change', () => select(r.id, box.checked));
    const i = state.selected.indexOf(r.id);
    return el(
      'li',
      { class: `run ${r.status}`, attrs: { 'data-run': r.id, title: r.dir } },
      el(
        'label',
        {},
        box,
        el('span', { class: i >= 0 ? `swatch c${i % PALETTE.length}` : 'swatch' }),
        el('span', { class: 'run-name', text: r.id }),
      ),
      el(
        'div',
        { class: 'run-meta' },
        el('span', { class: 'trainer', text: r.trainer ?? 'unknown trainer' }),
        el('span', { class: `status ${r.status}`, text: r.status, attrs: { title: STATUS_HELP[r.status] } }),
        el('span', { class: 'run-step', text: progressText(r) }),
      ),
    );
  });
  fill(byId('runs'), ...items);
  if (items.length === 0) fill(byId('runs'), el('li', { class: 'muted', text: 'No run yet: no metrics.jsonl here.' }));
}

function select(id: string, on: boolean): void {
  state.selected = on ? [...state.selected.filter((r) => r !== id), id] : state.selected.filter((r) => r !== id);
  renderRuns();
  rebuildPlots();
  refreshTabs();
  void poll();
}

// ---- plots ----

function xTitleOf(file: string): string {
  for (const run of state.selected) {
    const s = state.series.get(seriesKey(run, file));
    if (s?.xField) return s.xField;
  }
  return 'line';
}

const newCard = (file: string, metric: string) =>
  new PlotCard(cardKey(file, metric), file === 'metrics.jsonl' ? metric : `${metric} (${file})`);

/** The card of a metric, made (and placed in its section, in order) when first needed. */
function cardOf(file: string, metric: string): PlotCard {
  const key = cardKey(file, metric);
  let card = state.cards.get(key);
  if (!card) {
    card = newCard(file, metric);
    state.cards.set(key, card);
    placeCards();
    card.rebuild(state.selected, xTitleOf(file), pointsOf(file, metric), state.smoothing);
  }
  return card;
}

function pointsOf(file: string, metric: string) {
  return state.selected.flatMap((run) => state.series.get(seriesKey(run, file))?.points.get(metric) ?? []);
}

/** A card's section: the metric's namespace ('main' for plain names), or the file it comes from. */
function sectionOfCard(key: string): string {
  const [file, metric] = splitKey(key);
  return file === 'metrics.jsonl' ? sectionOf(metric) || 'main' : file;
}

/** Puts the cards in sections (plain names, then each namespace, then other files), and applies the filter. */
function placeCards(): void {
  const rank = (section: string) => (section === 'main' ? 0 : SERIES_FILES.includes(section) ? 2 : 1);
  const keys = orderMetrics(state.cards.keys()).sort((a, b) => rank(sectionOfCard(a)) - rank(sectionOfCard(b)));
  const sections = new Map<string, HTMLElement>();
  for (const key of keys) {
    const name = sectionOfCard(key);
    let grid = sections.get(name);
    if (!grid) sections.set(name, (grid = el('div', { class: 'grid' })));
    grid.append(state.cards.get(key)!.root);
  }
  fill(
    byId('plots'),
    ...[...sections].map(([name, grid]) =>
      el('section', { class: 'plot-section', attrs: { 'data-section': name } }, el('h3', { text: name }), grid),
    ),
  );
  applyFilter();
}

function applyFilter(): void {
  const f = byId<HTMLInputElement>('filter').value.trim().toLowerCase();
  for (const [key, card] of state.cards) card.root.hidden = f !== '' && !key.toLowerCase().includes(f);
  for (const s of byId('plots').querySelectorAll<HTMLElement>('.plot-section'))
    s.hidden = !s.querySelector('.plot:not([hidden])');
}

/**
 * Every card drawn anew for the runs selected: cards of metrics no selected run has are dropped, and the
 * metrics of a run selected again (its points read before) get theirs back.
 */
function rebuildPlots(): void {
  for (const run of state.selected)
    for (const file of SERIES_FILES)
      for (const metric of state.series.get(seriesKey(run, file))?.points.keys() ?? []) {
        const key = cardKey(file, metric);
        if (!state.cards.has(key)) state.cards.set(key, newCard(file, metric));
      }
  for (const [key, card] of state.cards) {
    const [file, metric] = splitKey(key);
    const points = pointsOf(file, metric);
    if (points.length === 0) {
      card.dispose();
      state.cards.delete(key);
    } else card.rebuild(state.selected, xTitleOf(file), points, state.smoothing);
  }
  placeCards();
  updateLatest();
  updateLegend();
}

function splitKey(key: string): [string, string] {
  const file = SERIES_FILES.find((f) => key.startsWith(`${f}:`));
  return file ? [file, key.slice(file.length + 1)] : ['metrics.jsonl', key];
}

function updateLatest(): void {
  for (const [key, card] of state.cards) {
    const [file, metric] = splitKey(key);
    card.setLatest(
      state.selected,
      new Map(state.selected.map((r) => [r, state.series.get(seriesKey(r, file))?.latest(metric)])),
    );
  }
}

function updateLegend(): void {
  fill(
    byId('legend'),
    ...state.selected.map((r, i) =>
      el('span', { class: 'legend-item' }, el('span', { class: `swatch c${i % PALETTE.length}` }), r),
    ),
  );
}

// ---- polling ----

function note(run: string, file: string, p: { line: number; message: string }): void {
  const text = `${run}: ${file} line ${p.line}: ${p.message}`;
  state.problems.set(text, text);
}

function renderNotes(): void {
  const notes = [...state.problems.values()];
  byId('notes').hidden = notes.length === 0;
  fill(byId('notes-list'), ...notes.slice(-50).map((n) => el('li', { text: n })));
}

/** Reads what a run's file gained since the last read, and puts it in the plots. */
async function readSeries(run: RunInfo, file: string): Promise<void> {
  const s = seriesOf(run.id, file);
  for (let round = 0; round < 20; round++) {
    const r = await getJSON<SeriesResponse>('/api/series', { run: run.id, file, ...s.cursor });
    let rebuild = false;
    if (r.reset) {
      s.clear();
      rebuild = true;
    }
    s.cursor = { offset: r.offset, line: r.line, head: r.head };
    for (const p of r.problems) note(run.id, file, p);
    const u = s.add(r.records);
    // Points dropped (a file started anew, a resumed run, thinning): every card drawn again from what is kept.
    if (rebuild || u.replaced) rebuildPlots();
    for (const [metric, pts] of u.added) {
      const key = cardKey(file, metric);
      const card = state.cards.get(key);
      if (!card)
        cardOf(file, metric); // drawn with every point it has
      else if (!(rebuild || u.replaced)) card.insert(pts);
    }
    if (!r.more) break;
  }
}

let polling: Promise<void> | null = null;

function poll(): Promise<void> {
  polling ??= pollOnce().finally(() => (polling = null));
  return polling;
}

async function pollOnce(): Promise<void> {
  try {
    const r = await getJSON<RunsResponse>('/api/runs');
    state.pollMs = r.poll_ms;
    fill(byId('roots'), r.roots.join(' · '), r.truncated ? ' (search stopped early: too many directories)' : '');
    const known = new Set(state.runs.keys());
    state.runs = new Map(r.runs.map((x) => [x.id, x]));
    state.selected = state.selected.filter((id) => state.runs.has(id));
    if (state.first) {
      state.selected = [...r.runs]
        .sort((a, b) => b.updated - a.updated)
        .slice(0, FIRST_SELECTED)
        .map((x) => x.id)
        .sort();
    } else {
      // A run that appears while the board is open is shown at once (while few are).
      for (const x of r.runs) if (!known.has(x.id) && state.selected.length < FIRST_SELECTED) state.selected.push(x.id);
    }
    const newlySelected = state.first || r.runs.some((x) => !known.has(x.id));
    state.first = false;
    renderRuns();
    if (newlySelected) updateLegend();
    for (const id of state.selected) {
      const run = state.runs.get(id)!;
      for (const file of SERIES_FILES) if (run.files.includes(file)) await readSeries(run, file);
    }
    if (newlySelected) rebuildPlots();
    updateLatest();
    renderNotes();
    refreshTabs(false);
    byId('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    byId('error').textContent = '';
  } catch (e) {
    byId('error').textContent = `Cannot reach the board: ${(e as Error).message}`;
  }
}

// ---- tabs ----

const configView = new ConfigView();
const samplesView = new SamplesView();

/** Brings the open tab up to date (`choices`: its run choices too). */
function refreshTabs(choices = true): void {
  const ids = [...state.runs.keys()];
  if (choices || state.tab === 'config') configView.setRuns(ids, state.selected);
  samplesView.setRuns(
    ids.filter((id) => state.runs.get(id)!.files.includes('samples.jsonl')),
    state.selected,
  );
  if (state.tab === 'samples') void samplesView.refresh();
  if (choices && state.tab === 'config') void configView.show();
}

function showTab(tab: Tab): void {
  state.tab = tab;
  for (const t of ['metrics', 'config', 'samples'] as Tab[]) {
    byId(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
    byId(`panel-${t}`).hidden = t !== tab;
  }
  if (tab === 'config') {
    configView.setRuns([...state.runs.keys()], state.selected);
    const [a, b] = state.selected;
    void (a && b ? configView.choose(a, b) : configView.show());
  }
  if (tab === 'samples') refreshTabs(false);
}

function start(): void {
  for (const t of ['metrics', 'config', 'samples'] as Tab[])
    byId(`tab-${t}`).addEventListener('click', () => showTab(t));
  byId('filter').addEventListener('input', applyFilter);
  const smoothing = byId<HTMLInputElement>('smoothing');
  let redraw: ReturnType<typeof setTimeout> | undefined;
  const smooth = () => {
    state.smoothing = Number(smoothing.value);
    byId('smoothing-value').textContent = smoothing.value;
    // Redrawn once the slider rests a moment, not at every pixel it is dragged.
    clearTimeout(redraw);
    redraw = setTimeout(rebuildPlots, 150);
  };
  smoothing.addEventListener('input', smooth);
  state.smoothing = Number(smoothing.value);
  const pause = byId<HTMLButtonElement>('pause');
  pause.addEventListener('click', () => {
    state.paused = !state.paused;
    pause.setAttribute('aria-pressed', String(state.paused));
    pause.textContent = state.paused ? 'Resume updates' : 'Pause updates';
  });
  const loop = async () => {
    if (!state.paused) await poll();
    setTimeout(loop, state.pollMs);
  };
  void loop();
}

start();
