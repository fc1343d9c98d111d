// The Samples tab: what a trainer sampled at a step (samples.jsonl: PPO's iterations, GRPO's, RLOO's and
// online DPO's steps, ReST's Grows), each sample's prompt and completion with its scores: the total
// (`reward`, PPO's `score`), each reward function's, and the rest of its line (advantage, chosen, …).

import { neutralizeBidi } from '../../feedback/web/bidi.js';
import { byId, el, fill } from '../../feedback/web/dom.js';
import { type SampleStepResponse, type SamplesResponse, getJSON } from './api.js';
import { formatValue } from './series.js';

const PAGE = 100;
/** Fields shown as the sample's text, or as the step: not among its scores. */
const TEXT_FIELDS = new Set(['prompt', 'completion', 'step', 'iteration', 'grow']);

function chip(label: string, value: unknown, cls = ''): HTMLElement {
  const text =
    typeof value === 'number' ? formatValue(value) : typeof value === 'string' ? value : JSON.stringify(value);
  return el('span', { class: `chip ${cls}`.trim() }, el('span', { class: 'chip-name', text: label }), ` ${text}`);
}

/** One sample: its scores first (the total, then each reward's), then the prompt and the completion. */
function sampleCard(line: number, v: Record<string, unknown>): HTMLElement {
  const chips: HTMLElement[] = [];
  for (const k of ['reward', 'score']) if (typeof v[k] === 'number') chips.push(chip(k, v[k], 'total'));
  const rewards = v.rewards && typeof v.rewards === 'object' ? (v.rewards as Record<string, unknown>) : {};
  for (const [name, x] of Object.entries(rewards)) chips.push(chip(name, x, 'fn'));
  for (const [k, x] of Object.entries(v)) {
    if (TEXT_FIELDS.has(k) || k === 'reward' || k === 'score' || k === 'rewards') continue;
    if (k === 'chosen') chips.push(chip('chosen', x ? 'yes' : 'no', x ? 'chosen' : ''));
    else if (x === null || typeof x !== 'object') chips.push(chip(k, x));
  }
  const text = (s: unknown) => neutralizeBidi(typeof s === 'string' ? s : JSON.stringify(s ?? ''));
  return el(
    'article',
    { class: 'sample', attrs: { 'data-line': String(line) } },
    el('div', { class: 'chips' }, ...chips),
    el('pre', { class: 'prompt', attrs: { title: 'prompt' } }, text(v.prompt)),
    el('pre', { class: 'completion', attrs: { title: 'completion' } }, text(v.completion)),
  );
}

export class SamplesView {
  private readonly run = byId<HTMLSelectElement>('samples-run');
  private readonly step = byId<HTMLSelectElement>('samples-step');
  private readonly info = byId('samples-info');
  private readonly list = byId('samples-list');
  private readonly more = byId<HTMLButtonElement>('samples-more');
  private shownFrom = 0;
  /** What the run and step choices were filled with: refilled only when it changes (an open list stays open). */
  private runsShown = '';
  private stepsShown = '';

  constructor() {
    this.run.addEventListener('change', () => {
      this.step.value = '';
      void this.refresh();
    });
    this.step.addEventListener('change', () => void this.showStep());
    this.more.addEventListener('click', () => void this.showStep(this.shownFrom));
  }

  /** The runs that have samples.jsonl (keeping the one chosen). */
  setRuns(runs: string[], preferred: string[]): void {
    if (runs.join('\n') === this.runsShown && runs.length) return;
    this.runsShown = runs.join('\n');
    const keep = runs.includes(this.run.value) ? this.run.value : (preferred.find((r) => runs.includes(r)) ?? runs[0]);
    fill(
      this.run,
      ...runs.map((r) => {
        const o = el('option', { text: r, attrs: { value: r } });
        o.selected = r === keep;
        return o;
      }),
    );
    if (runs.length === 0) {
      fill(
        this.info,
        'No run here has samples.jsonl (PPO, GRPO, RLOO, online DPO and ReST write it: --samples-every).',
      );
      fill(this.list);
      this.more.hidden = true;
    }
  }

  /** Reads the run's steps again (the file grows); shows the chosen step, or the latest. */
  async refresh(): Promise<void> {
    const run = this.run.value;
    if (!run) return;
    try {
      const r = await getJSON<SamplesResponse>('/api/samples', { run });
      const chosen = this.step.value;
      const what = r.step_field ?? 'step';
      const shown = `${run}\n${r.steps.map((s) => `${s.step}:${s.count}`).join(',')}`;
      if (shown !== this.stepsShown) {
        this.stepsShown = shown;
        fill(
          this.step,
          ...r.steps.map((s) => {
            const mean = s.meanReward === null ? '' : `, mean reward ${formatValue(s.meanReward)}`;
            return el('option', {
              text: `${what} ${s.step} (${s.count} samples${mean})`,
              attrs: { value: String(s.step) },
            });
          }),
        );
      }
      const notes = r.problems.map((p) => `samples.jsonl line ${p.line}: ${p.message}`);
      fill(
        this.info,
        r.steps.length ? '' : 'No samples written yet.',
        ...notes.map((n) => el('p', { class: 'error', text: n })),
      );
      if (r.steps.length === 0) return fill(this.list);
      const keep = r.steps.some((s) => String(s.step) === chosen);
      this.step.value = keep ? chosen : String(r.steps.at(-1)!.step);
      if (!keep) await this.showStep();
    } catch (e) {
      fill(this.info, el('p', { class: 'error', text: (e as Error).message }));
    }
  }

  /** The chosen step's samples, from `from` (0: the list anew). */
  async showStep(from = 0): Promise<void> {
    const run = this.run.value,
      step = this.step.value;
    if (!run || step === '') return;
    const r = await getJSON<SampleStepResponse>('/api/samples/step', { run, step, from, limit: PAGE });
    const cards = r.records.map((x) => sampleCard(x.line, x.value));
    if (from === 0) fill(this.list, ...cards);
    else this.list.append(...cards);
    this.shownFrom = from + r.records.length;
    this.more.hidden = this.shownFrom >= r.total;
    this.more.textContent = `Show more (${r.total - this.shownFrom} left)`;
  }
}
