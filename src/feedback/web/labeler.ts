// The labeling page (`/`): sign in, pick a project, then judge one task at a time with the keyboard
// (1–9 choose, Enter submits, S skips, F flags, C writes a comment) or the mouse; K > 2 completions are
// ranked by pressing their numbers best first; one completion gets a thumbs up or down (U, D) or a
// rating (1–7). Everything model-written is put in with textContent.

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
import {
  PROJECT_KEY,
  type SubmitAs,
  button,
  choose,
  chooseThumb,
  copyLost,
  rank,
  rateLikert,
  renderTask,
  setButtons,
  showLost,
  state,
  status,
  unrank,
} from './task-view.js';

interface Progress {
  tasks: number;
  done: number;
  skipped: number;
  flagged: number;
  agreement: { n: number; rate: number | null };
  gold: { n: number; rate: number | null };
}

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
    section('signin');
    return;
  }
  section('none');
  byId('fatal').textContent = (e as Error).message;
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
    Object.assign(state, {
      task,
      submissionId: newSubmissionId(),
      choice: null,
      ranking: [],
      thumb: null,
      rating: null,
      axes: {},
      busy: false,
      lost: false,
    });
    show(byId('lost'), false);
    show(byId('actions'), true);
    if (!task) return section('done');
    renderTask(task, p);
    byId('task').dataset.taskId = String(task.taskId);
    section('task');
    status('');
  } catch (e) {
    signInFailed(e);
  }
}

// ---- submitting ----

/** Why the answer is not ready to submit as done, or null when it is. */
function missingAnswer(t: Assignment): string | null {
  const K = t.shown.length;
  if (t.kind === 'thumbs') return state.thumb === null ? 'Choose thumbs up (U) or down (D) first' : null;
  if (t.kind === 'likert') return state.rating === null ? 'Rate it first (keys 1–7)' : null;
  if (K === 2) return state.choice === null ? 'Choose on the scale first (keys 1–9)' : null;
  return state.ranking.length !== K ? `Rank all ${K} completions first (keys 1–${K})` : null;
}

async function submit(as: SubmitAs): Promise<void> {
  const t = state.task,
    p = state.project;
  if (!t || !p || state.busy || state.lost) return;
  const missing = as === 'done' ? missingAnswer(t) : null;
  if (missing) return status(missing, true);
  const body: Record<string, unknown> = {
    taskId: t.taskId,
    submissionId: state.submissionId,
    shown: t.shown,
    status: as,
  };
  if (t.kind === 'thumbs' && state.thumb !== null) body.thumb = state.thumb;
  if (t.kind === 'likert' && state.rating !== null) body.rating = state.rating;
  if (t.kind === 'pair' && t.shown.length === 2 && state.choice !== null) body.choice = state.choice;
  if (t.kind === 'pair' && t.shown.length > 2 && state.ranking.length === t.shown.length) body.ranking = state.ranking;
  if (Object.keys(state.axes).length) body.axes = state.axes;
  const fb = (byId('feedback') as HTMLTextAreaElement).value;
  if (fb.trim()) body.feedback = fb;
  state.busy = true;
  setButtons(false);
  status(as === 'done' ? 'Saving…' : as === 'skipped' ? 'Skipping…' : 'Flagging…');
  try {
    await api('POST', `/api/projects/${p.id}/judgments`, body, 4);
  } catch (e) {
    state.busy = false;
    setButtons(true);
    // Refused for good (the lease lapsed and others filled the task, or another tab judged it): say
    // so, and keep what was written. Otherwise keep the task and the submissionId, so that pressing
    // Enter again retries the same submission.
    if (e instanceof ApiFailure && e.code === 'conflict' && e.reason) return showLost(e.reason, as, fb);
    return status(`Not saved: ${(e as Error).message}. Press Enter to try again.`, true);
  }
  setButtons(true);
  await Promise.all([nextTask(), refreshProgress()]);
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
  if (!state.task || byId('task').hidden || state.lost) return;
  const { kind } = state.task;
  const K = state.task.shown.length;
  const key = e.key.toLowerCase();
  if (kind === 'thumbs' && (key === 'u' || key === 'd')) {
    e.preventDefault();
    chooseThumb(key === 'u' ? 'up' : 'down');
  } else if (kind === 'likert' && /^[1-7]$/.test(e.key)) {
    e.preventDefault();
    rateLikert(Number(e.key));
  } else if (kind === 'pair' && /^[1-9]$/.test(e.key)) {
    e.preventDefault();
    if (K === 2) choose(Number(e.key));
    else rank(Number(e.key) - 1);
  } else if (key === 'c') {
    e.preventDefault(); // else the "c" would be typed into the box
    byId('feedback').focus();
  } else if (e.key === 'Enter') {
    e.preventDefault();
    void submit('done');
  } else if (e.key === 's' || e.key === 'S') {
    e.preventDefault();
    void submit('skipped');
  } else if (e.key === 'f' || e.key === 'F') {
    e.preventDefault();
    void submit('flagged');
  } else if (e.key === 'Backspace' && kind === 'pair' && K > 2) {
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
  byId('thumb-up').addEventListener('click', () => chooseThumb('up'));
  byId('thumb-down').addEventListener('click', () => chooseThumb('down'));
  byId('lost-copy').addEventListener('click', () => void copyLost());
  byId('lost-next').addEventListener('click', () => void Promise.all([nextTask(), refreshProgress()]));
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
