// The labeling page's task view: the state of the task on screen, drawing it, choosing on the scale,
// ranking, thumbs up or down, a 1–7 rating, rating axes, and the notice of a submission the server
// refused for good. labeler.ts fetches tasks, submits, and wires the keys. Everything model-written
// is put in with textContent.

import type { Assignment, Project, TaskKind, Thumb } from '../store/types.js';
import { byId, el, fill, show } from './dom.js';
import { AXIS_VALUES, LIKERT, SCALE, letter } from './scale.js';

/** How a task is submitted: judged, skipped, or flagged as unsuitable. */
export type SubmitAs = 'done' | 'skipped' | 'flagged';

export interface State {
  project: Project | null;
  task: Assignment | null;
  /** Made when the task is shown; every retry of its submission reuses it. */
  submissionId: string;
  choice: number | null;
  /** K > 2: positions in `shown`, best first. */
  ranking: number[];
  /** Thumbs tasks. */
  thumb: Thumb | null;
  /** Likert tasks: 1–7. */
  rating: number | null;
  axes: Record<string, number>;
  busy: boolean;
  /** The last submission was refused for good (see showLost): the page waits for "Next task". */
  lost: boolean;
}

export const state: State = {
  project: null,
  task: null,
  submissionId: '',
  choice: null,
  ranking: [],
  thumb: null,
  rating: null,
  axes: {},
  busy: false,
  lost: false,
};
export const PROJECT_KEY = 'rlhf-project';

export const status = (text: string, error = false) => {
  const s = byId('status');
  s.textContent = text;
  s.classList.toggle('error', error);
};

export function button(text: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = el('button', { text, class: cls, attrs: { type: 'button' } });
  b.addEventListener('click', onClick);
  return b;
}

export function renderTask(t: Assignment, p: Project): void {
  byId('prompt').textContent = t.prompt;
  const K = t.shown.length;
  const kind = t.kind ?? 'pair';
  const box = byId('completions');
  box.classList.toggle('pair', kind === 'pair' && K === 2);
  box.classList.toggle('single', kind !== 'pair');
  const title = (pos: number) =>
    kind !== 'pair' ? 'Response' : K === 2 ? letter(pos) : `${letter(pos)} (key ${pos + 1})`;
  fill(
    box,
    ...t.shown.map((c, pos) =>
      el(
        'article',
        { class: 'completion', attrs: { 'data-pos': String(pos) } },
        el('h3', { text: title(pos) }),
        el('div', { class: 'text', text: t.completions[c] }),
      ),
    ),
  );
  if (kind === 'pair' && K > 2)
    for (const a of box.querySelectorAll<HTMLElement>('article'))
      a.addEventListener('click', () => rank(Number(a.dataset.pos)));
  show(byId('pair-controls'), kind === 'pair' && K === 2);
  show(byId('rank-controls'), kind === 'pair' && K > 2);
  show(byId('thumbs-controls'), kind === 'thumbs');
  show(byId('likert-controls'), kind === 'likert');
  if (kind === 'pair' && K === 2) {
    fill(
      byId('scale'),
      ...SCALE.map((s) => {
        const b = button('', () => choose(s.value), 'scale-button');
        b.append(el('span', { class: 'key', text: String(s.value) }), el('span', { text: s.label }));
        b.setAttribute('aria-pressed', 'false');
        b.dataset.value = String(s.value);
        return b;
      }),
    );
  }
  if (kind === 'likert') {
    fill(
      byId('likert'),
      ...LIKERT.map((s) => {
        const b = button('', () => rateLikert(s.value), 'scale-button');
        b.append(el('span', { class: 'key', text: String(s.value) }), el('span', { text: s.label }));
        b.setAttribute('aria-pressed', 'false');
        b.dataset.value = String(s.value);
        return b;
      }),
    );
  }
  for (const b of byId('thumbs').querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
  byId('feedback-label').textContent = kind === 'pair' ? 'What is wrong?' : 'Why? A comment';
  (byId('feedback') as HTMLTextAreaElement).placeholder =
    kind === 'pair' ? 'e.g. B misses the main point; A repeats itself' : 'e.g. correct, but rude; misses the question';
  renderKeys(kind, K);
  fill(
    byId('axes'),
    ...p.settings.axes.map((axis) =>
      el(
        'div',
        { class: 'axis' },
        el('span', { class: 'axis-name', text: axis }),
        ...AXIS_VALUES.map((v) => {
          const b = button(String(v), () => rateAxis(axis, v), 'axis-button');
          b.dataset.axis = axis;
          b.dataset.value = String(v);
          b.setAttribute('aria-pressed', 'false');
          return b;
        }),
      ),
    ),
  );
  show(byId('axes-box'), p.settings.axes.length > 0);
  (byId('feedback') as HTMLTextAreaElement).value = '';
  renderRanking();
}

/** The footer's list of keys for this kind of task. */
function renderKeys(kind: TaskKind, K: number): void {
  const key = (k: string) => el('kbd', { text: k });
  const range = (last: number) => [key('1'), '–', key(String(last))];
  const answer =
    kind === 'thumbs'
      ? [key('U'), ' thumbs up · ', key('D'), ' thumbs down']
      : kind === 'likert'
        ? [...range(7), ' rate']
        : K === 2
          ? [...range(9), ' choose']
          : [...range(Math.min(K, 9)), ' rank · ', key('Backspace'), ' undo'];
  fill(
    byId('keys'),
    'Keys: ',
    ...answer,
    ...[' · ', key('Enter'), ' submit · ', key('S'), ' skip · ', key('F'), ' flag · ', key('C'), ' write · '],
    ...[key('Esc'), ' leaves the text box'],
  );
}

export function chooseThumb(t: Thumb): void {
  state.thumb = t;
  for (const b of byId('thumbs').querySelectorAll<HTMLButtonElement>('button'))
    b.setAttribute('aria-pressed', String(b.dataset.thumb === t));
  status(`Thumbs ${t}: Enter submits`);
}

export function rateLikert(v: number): void {
  state.rating = v;
  for (const b of byId('likert').querySelectorAll<HTMLButtonElement>('button'))
    b.setAttribute('aria-pressed', String(Number(b.dataset.value) === v));
  status(`${v} · ${LIKERT[v - 1].label}: Enter submits`);
}

export function choose(v: number): void {
  state.choice = v;
  for (const b of byId('scale').querySelectorAll<HTMLButtonElement>('button'))
    b.setAttribute('aria-pressed', String(Number(b.dataset.value) === v));
  status(`${SCALE[v - 1].label}: Enter submits`);
}

function rateAxis(axis: string, v: number): void {
  if (state.axes[axis] === v) delete state.axes[axis];
  else state.axes[axis] = v;
  for (const b of byId('axes').querySelectorAll<HTMLButtonElement>(`button`)) {
    if (b.dataset.axis === axis) b.setAttribute('aria-pressed', String(state.axes[axis] === Number(b.dataset.value)));
  }
}

export function rank(pos: number): void {
  const K = state.task!.shown.length;
  if (pos >= K || state.ranking.includes(pos)) return;
  state.ranking.push(pos);
  // The last one left is the worst: rank it without a key press.
  if (state.ranking.length === K - 1) state.ranking.push([...Array(K).keys()].find((i) => !state.ranking.includes(i))!);
  renderRanking();
}

export function unrank(): void {
  state.ranking.pop();
  if (state.task && state.ranking.length === state.task.shown.length - 1) state.ranking.pop();
  renderRanking();
}

function renderRanking(): void {
  const t = state.task;
  if (!t || t.kind !== 'pair' || t.shown.length === 2) return;
  fill(byId('ranking'), ...state.ranking.map((pos) => el('li', { text: letter(pos) })));
  for (const a of byId('completions').querySelectorAll<HTMLElement>('article')) {
    const pos = Number(a.dataset.pos);
    const r = state.ranking.indexOf(pos);
    a.dataset.rank = r < 0 ? '' : String(r + 1);
    a.querySelector('h3')!.textContent = `${letter(pos)} (key ${pos + 1})${r < 0 ? '' : ` · rank ${r + 1}`}`;
  }
  status(
    state.ranking.length === t.shown.length
      ? 'Ranking complete: Enter submits'
      : `Press the key of the ${state.ranking.length ? 'next best' : 'best'} completion`,
  );
}

const LOST: Record<string, string> = {
  places_taken: 'Not saved: this task waited longer than its reservation, and other labelers completed it meanwhile.',
  judged_already: 'Not saved: you have already judged this task, in another tab or window.',
  not_assigned: 'Not saved: this task is not assigned to you any more.',
};

/** What the labeler answered, in words ("A better", "ranking C, A, B", "thumbs up", "skip"). */
function answerText(as: SubmitAs): string {
  if (as !== 'done') return as === 'skipped' ? 'a skip' : 'a flag';
  if (state.thumb !== null) return `“thumbs ${state.thumb}”`;
  if (state.rating !== null) return `“${state.rating} · ${LIKERT[state.rating - 1].label}”`;
  if (state.choice !== null) return `“${SCALE[state.choice - 1].label}”`;
  return `the ranking ${state.ranking.map(letter).join(', ')}`;
}

/** A submission the server will never take: tell the labeler, and keep their text to copy. */
export function showLost(reason: string, as: SubmitAs, feedback: string): void {
  state.lost = true;
  byId('lost-message').textContent =
    `${LOST[reason] ?? 'Not saved: the server refused this judgment.'} Your answer (${answerText(as)}) was ` +
    `not stored.` +
    (feedback.trim() ? ' What you wrote is below: copy it if you want to keep it.' : '');
  (byId('lost-text') as HTMLTextAreaElement).value = feedback;
  show(byId('lost-text-box'), feedback.trim() !== '');
  show(byId('actions'), false);
  show(byId('lost'), true);
  status('');
  byId(feedback.trim() ? 'lost-copy' : 'lost-next').focus();
}

export async function copyLost(): Promise<void> {
  const field = byId('lost-text') as HTMLTextAreaElement;
  try {
    await navigator.clipboard.writeText(field.value);
    status('Copied.');
  } catch {
    // NOTE: the clipboard API needs a secure context (https or localhost); select it for Ctrl+C instead.
    field.select();
    status('Press Ctrl+C to copy the selected text.');
  }
}

export function setButtons(on: boolean): void {
  for (const b of byId('task').querySelectorAll<HTMLButtonElement>('button')) b.disabled = !on;
}
