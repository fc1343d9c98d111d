// The labeling page (`/`): sign in, pick a project, then judge one task at a time with the keyboard
// (1–9 choose, Enter submits, S skips, F flags) or the mouse; K > 2 completions are ranked by pressing
// their numbers best first. Everything model-written is put in with textContent.

import type { Assignment, Project } from '../store/types.js';
import {
  ApiFailure,
  api,
  clearToken,
  getToken,
  newSubmissionId,
  setToken,
  takeTokenFromUrl,
  reloadOnSignInLink,
} from './api.js';
import { byId, el, fill, rate, show } from './dom.js';
import { AXIS_VALUES, SCALE, letter } from './scale.js';

interface Progress {
  tasks: number;
  done: number;
  skipped: number;
  flagged: number;
  agreement: { n: number; rate: number | null };
  gold: { n: number; rate: number | null };
}

interface State {
  project: Project | null;
  task: Assignment | null;
  /** Made when the task is shown; every retry of its submission reuses it. */
  submissionId: string;
  choice: number | null;
  /** K > 2: positions in `shown`, best first. */
  ranking: number[];
  axes: Record<string, number>;
  busy: boolean;
}

const state: State = { project: null, task: null, submissionId: '', choice: null, ranking: [], axes: {}, busy: false };
const PROJECT_KEY = 'rlhf-project';

const status = (text: string, error = false) => {
  const s = byId('status');
  s.textContent = text;
  s.classList.toggle('error', error);
};

function section(name: 'signin' | 'projects' | 'task' | 'done' | 'none'): void {
  for (const s of ['signin', 'projects', 'task', 'done']) show(byId(s), s === name);
}

// ---- sign-in and project choice ----

async function start(): Promise<void> {
  takeTokenFromUrl();
  if (!getToken()) return section('signin');
  try {
    const me = await api<{ user: { name: string; role: string } }>('GET', '/api/me');
    if (me.user.role !== 'labeler') {
      byId('signin-error').textContent =
        "This token belongs to an admin: open /admin, or sign in with a labeler's token.";
      clearToken();
      return section('signin');
    }
    byId('who').textContent = me.user.name;
    show(byId('signout'), true);
    const { projects } = await api<{ projects: Project[] }>('GET', '/api/projects');
    show(byId('switch-project'), projects.length > 1);
    const saved = Number(sessionStorage.getItem(PROJECT_KEY));
    const pick = projects.find((p) => p.id === saved) ?? (projects.length === 1 ? projects[0] : null);
    if (pick) return openProject(pick);
    chooseProject(projects);
  } catch (e) {
    signInFailed(e);
  }
}

function chooseProject(projects: Project[]): void {
  Object.assign(state, { project: null, task: null });
  sessionStorage.removeItem(PROJECT_KEY);
  byId('project-name').textContent = '';
  byId('progress').textContent = '';
  section('projects');
  fill(
    byId('project-list'),
    ...(projects.length
      ? projects.map((p) =>
          el(
            'li',
            {},
            button(p.name, () => void openProject(p)),
          ),
        )
      : [el('li', { text: 'You are not in any project yet; ask an admin to add you.' })]),
  );
}

function signInFailed(e: unknown): void {
  if (e instanceof ApiFailure && e.status === 401) {
    clearToken();
    byId('signin-error').textContent = e.message;
    return section('signin');
  }
  section('none');
  byId('fatal').textContent = (e as Error).message;
}

function button(text: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = el('button', { text, class: cls, attrs: { type: 'button' } });
  b.addEventListener('click', onClick);
  return b;
}

async function openProject(p: Project): Promise<void> {
  state.project = p;
  sessionStorage.setItem(PROJECT_KEY, String(p.id));
  byId('project-name').textContent = p.name;
  await Promise.all([nextTask(), refreshProgress()]);
}

// ---- one task ----

async function nextTask(): Promise<void> {
  const p = state.project!;
  try {
    const { task } = await api<{ task: Assignment | null }>('GET', `/api/projects/${p.id}/next`);
    Object.assign(state, { task, submissionId: newSubmissionId(), choice: null, ranking: [], axes: {}, busy: false });
    if (!task) return section('done');
    renderTask(task, p);
    byId('task').dataset.taskId = String(task.taskId);
    section('task');
    status('');
  } catch (e) {
    signInFailed(e);
  }
}

function renderTask(t: Assignment, p: Project): void {
  byId('prompt').textContent = t.prompt;
  const K = t.shown.length;
  const box = byId('completions');
  box.classList.toggle('pair', K === 2);
  fill(
    box,
    ...t.shown.map((c, pos) =>
      el(
        'article',
        { class: 'completion', attrs: { 'data-pos': String(pos) } },
        el('h3', { text: K === 2 ? letter(pos) : `${letter(pos)} (key ${pos + 1})` }),
        el('div', { class: 'text', text: t.completions[c] }),
      ),
    ),
  );
  if (K > 2)
    for (const a of box.querySelectorAll<HTMLElement>('article'))
      a.addEventListener('click', () => rank(Number(a.dataset.pos)));
  show(byId('pair-controls'), K === 2);
  show(byId('rank-controls'), K > 2);
  if (K === 2) {
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

function choose(v: number): void {
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

function rank(pos: number): void {
  const K = state.task!.shown.length;
  if (pos >= K || state.ranking.includes(pos)) return;
  state.ranking.push(pos);
  // The last one left is the worst: rank it without a key press.
  if (state.ranking.length === K - 1) state.ranking.push([...Array(K).keys()].find((i) => !state.ranking.includes(i))!);
  renderRanking();
}

function unrank(): void {
  state.ranking.pop();
  if (state.task && state.ranking.length === state.task.shown.length - 1) state.ranking.pop();
  renderRanking();
}

function renderRanking(): void {
  const t = state.task;
  if (!t || t.shown.length === 2) return;
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

// ---- submitting ----

async function submit(kind: 'done' | 'skipped' | 'flagged'): Promise<void> {
  const t = state.task,
    p = state.project;
  if (!t || !p || state.busy) return;
  const K = t.shown.length;
  if (kind === 'done' && K === 2 && state.choice === null) return status('Choose on the scale first (keys 1–9)', true);
  if (kind === 'done' && K > 2 && state.ranking.length !== K)
    return status(`Rank all ${K} completions first (keys 1–${K})`, true);
  const body: Record<string, unknown> = {
    taskId: t.taskId,
    submissionId: state.submissionId,
    shown: t.shown,
    status: kind,
  };
  if (K === 2 && state.choice !== null) body.choice = state.choice;
  if (K > 2 && state.ranking.length === K) body.ranking = state.ranking;
  if (Object.keys(state.axes).length) body.axes = state.axes;
  const fb = (byId('feedback') as HTMLTextAreaElement).value;
  if (fb.trim()) body.feedback = fb;
  state.busy = true;
  setButtons(false);
  status(kind === 'done' ? 'Saving…' : kind === 'skipped' ? 'Skipping…' : 'Flagging…');
  try {
    await api('POST', `/api/projects/${p.id}/judgments`, body, 4);
  } catch (e) {
    state.busy = false;
    setButtons(true);
    // A 409 means this task was judged already (another tab): move on. Otherwise keep the task and
    // the submissionId, so that pressing Enter again retries the same submission.
    if (!(e instanceof ApiFailure && e.code === 'conflict'))
      return status(`Not saved: ${(e as Error).message}. Press Enter to try again.`, true);
  }
  setButtons(true);
  await Promise.all([nextTask(), refreshProgress()]);
}

function setButtons(on: boolean): void {
  for (const b of byId('task').querySelectorAll<HTMLButtonElement>('button')) b.disabled = !on;
}

async function refreshProgress(): Promise<void> {
  if (!state.project) return;
  try {
    const g = await api<Progress>('GET', `/api/projects/${state.project.id}/progress`);
    byId('progress').textContent =
      `${g.done} judged${g.skipped ? `, ${g.skipped} skipped` : ''} · agreement with others ${rate(g.agreement)}` +
      (g.gold.n ? ` · gold ${rate(g.gold)}` : '');
  } catch {
    // progress is a nicety: a failure here must not block labeling
  }
}

// ---- keyboard ----

function onKey(e: KeyboardEvent): void {
  if (e.ctrlKey || e.metaKey || e.altKey) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && state.task) {
      e.preventDefault();
      void submit('done');
    }
    return;
  }
  const target = e.target as HTMLElement;
  if (target.tagName === 'TEXTAREA' || target.tagName === 'INPUT') {
    if (e.key === 'Escape') target.blur();
    return;
  }
  if (!state.task || byId('task').hidden) return;
  const K = state.task.shown.length;
  if (/^[1-9]$/.test(e.key)) {
    e.preventDefault();
    if (K === 2) choose(Number(e.key));
    else rank(Number(e.key) - 1);
  } else if (e.key === 'Enter') {
    e.preventDefault();
    void submit('done');
  } else if (e.key === 's' || e.key === 'S') {
    e.preventDefault();
    void submit('skipped');
  } else if (e.key === 'f' || e.key === 'F') {
    e.preventDefault();
    void submit('flagged');
  } else if (e.key === 'Backspace' && K > 2) {
    e.preventDefault();
    unrank();
  }
}

// ---- wiring ----

function init(): void {
  document.addEventListener('keydown', onKey);
  byId('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId('token-input') as HTMLInputElement;
    if (!input.value.trim()) return;
    setToken(input.value);
    input.value = '';
    byId('signin-error').textContent = '';
    void start();
  });
  byId('signout').addEventListener('click', () => {
    clearToken();
    sessionStorage.removeItem(PROJECT_KEY);
    location.reload();
  });
  byId('submit').addEventListener('click', () => void submit('done'));
  byId('skip').addEventListener('click', () => void submit('skipped'));
  byId('flag').addEventListener('click', () => void submit('flagged'));
  byId('rank-undo').addEventListener('click', unrank);
  byId('check-again').addEventListener('click', () => void nextTask());
  byId('switch-project').addEventListener('click', () => {
    void api<{ projects: Project[] }>('GET', '/api/projects').then(
      ({ projects }) => chooseProject(projects),
      signInFailed,
    );
  });
  reloadOnSignInLink();
  void start();
}

init();
