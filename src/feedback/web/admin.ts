// The admin page (`/admin`): projects, labelers and their sign-in links, task import (a JSONL file)
// and generation, per-labeler statistics, disabling a labeler, and export downloads. Names and texts
// from the server go in with textContent only.

import type { KindStats, LabelerStats, Project, User } from '../store/types.js';
import {
  ApiFailure,
  api,
  clearToken,
  download,
  getToken,
  setToken,
  takeTokenFromUrl,
  reloadOnSignInLink,
} from './api.js';
import { byId, el, fill, rate, show } from './dom.js';
import { describeKind, showKinds } from './kinds.js';

interface Throughput {
  judgments: number;
  lastHour: number;
  medianSeconds: number | null;
  perHour: number | null;
}
interface Stats {
  tasks: number;
  goldTasks: number;
  judgments: number;
  agreement: { n: number; rate: number | null };
  kinds: KindStats[];
  labelers: (LabelerStats & { throughput: Throughput })[];
}

let projects: Project[] = [];
let current: Project | null = null;

const input = (id: string) => byId<HTMLInputElement>(id);
const say = (id: string, text: string, error = false) => {
  const e = byId(id);
  e.textContent = text;
  e.classList.toggle('error', error);
};
const message = (e: unknown) => (e as Error).message;

/** Runs an action, reporting a failure in the element `out` (a 401 returns to the sign-in form). */
async function guarded(out: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) return signIn(e.message);
    say(out, message(e), true);
  }
}

function signIn(error = ''): void {
  clearToken();
  show(byId('signin'), true);
  show(byId('app'), false);
  say('signin-error', error, true);
}

async function start(): Promise<void> {
  takeTokenFromUrl();
  if (!getToken()) return signIn();
  await guarded('fatal', async () => {
    const me = await api<{ user: { name: string; role: string }; features: { generate: boolean } }>('GET', '/api/me');
    if (me.user.role !== 'admin') return signIn('This token belongs to a labeler; the labeling page is at /.');
    byId('who').textContent = me.user.name;
    show(byId('signout'), true);
    show(byId('signin'), false);
    show(byId('app'), true);
    show(byId('generate-box'), me.features.generate);
    await loadProjects();
  });
}

// ---- projects ----

async function loadProjects(select?: number): Promise<void> {
  ({ projects } = await api<{ projects: Project[] }>('GET', '/api/projects'));
  fill(
    byId('project-list'),
    ...projects.map((p) => {
      const b = el('button', {
        text: p.name,
        class: p.id === (select ?? current?.id) ? 'selected' : '',
        attrs: { type: 'button' },
      });
      b.addEventListener('click', () => void guarded('fatal', () => openProject(p)));
      return el('li', {}, b);
    }),
  );
  if (!projects.length) fill(byId('project-list'), el('li', { class: 'muted', text: 'No project yet: create one.' }));
  (byId('create-box') as HTMLDetailsElement).open = projects.length === 0;
  const p = projects.find((x) => x.id === (select ?? current?.id));
  if (p) await openProject(p);
}

async function openProject(p: Project): Promise<void> {
  current = p;
  for (const b of byId('project-list').querySelectorAll('button'))
    b.classList.toggle('selected', b.textContent === p.name);
  show(byId('project'), true);
  byId('project-title').textContent = p.name;
  const s = p.settings;
  byId('project-settings').textContent =
    `${s.overlap} labeler${s.overlap === 1 ? '' : 's'} per task · ` +
    `${s.goldEvery ? `a gold task every ${s.goldEvery}` : 'gold tasks (if any) after the others'} · axes: ` +
    `${s.axes.length ? s.axes.join(', ') : 'none'}`;
  show(byId('new-link'), false);
  for (const id of ['labeler-result', 'import-result', 'export-result', 'generate-result']) say(id, '');
  await Promise.all([loadUsers(), loadStats()]);
}

async function createProject(): Promise<void> {
  const axes = input('axes-input')
    .value.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const settings = {
    overlap: Number(input('overlap-input').value),
    goldEvery: Number(input('gold-input').value),
    axes,
  };
  const { project } = await api<{ project: Project }>('POST', '/api/projects', {
    name: input('project-name-input').value,
    settings,
  });
  say('create-result', `Created ${project.name}.`);
  input('project-name-input').value = '';
  await loadProjects(project.id);
}

// ---- users ----

async function loadUsers(): Promise<void> {
  const { users } = await api<{ users: (User & { projects: number[] })[] }>('GET', '/api/users');
  const others = users.filter((u) => !u.disabled && u.role === 'labeler' && !u.projects.includes(current!.id));
  fill(byId('member-select'), ...others.map((u) => el('option', { text: u.name, attrs: { value: String(u.id) } })));
  show(byId('add-member'), others.length > 0);
}

async function addLabeler(): Promise<void> {
  const name = input('labeler-name').value;
  const r = await api<{ user: User; link: string }>('POST', '/api/users', {
    name,
    role: 'labeler',
    projects: [current!.id],
  });
  input('labeler-name').value = '';
  byId('new-link-name').textContent = r.user.name;
  input('new-link-value').value = r.link;
  show(byId('new-link'), true);
  say('labeler-result', '');
  await Promise.all([loadUsers(), loadStats()]);
}

async function copyLink(): Promise<void> {
  const field = input('new-link-value');
  try {
    await navigator.clipboard.writeText(field.value);
    say('labeler-result', 'Link copied.');
  } catch {
    // NOTE: the clipboard API needs a secure context (https or localhost); select it for Ctrl+C instead.
    field.select();
    say('labeler-result', 'Press Ctrl+C to copy the selected link.');
  }
}

async function addMember(): Promise<void> {
  const userId = Number((byId('member-select') as HTMLSelectElement).value);
  if (!userId) return;
  await api('POST', `/api/projects/${current!.id}/members`, { userId });
  say('labeler-result', 'Added.');
  await Promise.all([loadUsers(), loadStats()]);
}

/** Two clicks, so a slip of the mouse changes nothing: the first arms the button, the second acts. */
function armed(b: HTMLButtonElement, question: string): boolean {
  if (b.dataset.armed === '1') return true;
  b.dataset.armed = '1';
  b.textContent = question;
  return false;
}

async function disable(u: LabelerStats, b: HTMLButtonElement): Promise<void> {
  if (!armed(b, `Really disable ${u.name}?`)) return;
  await api('POST', `/api/users/${u.userId}/disable`, {});
  await Promise.all([loadUsers(), loadStats()]);
}

async function enable(u: LabelerStats): Promise<void> {
  await api('POST', `/api/users/${u.userId}/enable`, {});
  await Promise.all([loadUsers(), loadStats()]);
}

/** A new sign-in link for someone who lost theirs; the old link stops working. */
async function newLink(u: LabelerStats, b: HTMLButtonElement): Promise<void> {
  if (!armed(b, `Replace ${u.name}'s link?`)) return;
  const r = await api<{ user: User; link: string }>('POST', `/api/users/${u.userId}/token`, {});
  byId('new-link-name').textContent = r.user.name;
  input('new-link-value').value = r.link;
  show(byId('new-link'), true);
  say('labeler-result', `${r.user.name}'s old link no longer works.`);
  await loadStats();
}

// ---- tasks ----

async function importFile(): Promise<void> {
  const file = input('import-file').files?.[0];
  if (!file) return say('import-result', 'Choose a JSONL file first.', true);
  // The file goes as is (application/x-ndjson), its options in the query: the server reads it a
  // chunk at a time, so a large file does not hold up the labelers.
  const q = new URLSearchParams({
    format: (byId('import-format') as HTMLSelectElement).value,
    completionsPerTask: input('import-k').value,
  });
  const kind = (byId('import-kind') as HTMLSelectElement).value;
  if (kind) q.set('kind', kind);
  say('import-result', 'Importing…');
  try {
    const r = await api<{ imported: number; lines: number; format: string; kinds: object; notes: string[] }>(
      'POST',
      `/api/projects/${current!.id}/tasks/import?${q}`,
      new Blob([file], { type: 'application/x-ndjson' }),
    );
    say(
      'import-result',
      `Imported ${r.imported} tasks (${Object.entries(r.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}) from ${r.lines} lines (${r.format})${r.notes.length ? `; ${r.notes.join('; ')}` : ''}.`,
    );
    input('import-file').value = '';
    await loadStats();
  } catch (e) {
    if (!(e instanceof ApiFailure) || !e.issues) throw e;
    // One line per bad input line, so a long file's problems can be read and fixed.
    const issues = e.issues as { line: number; field?: string; message: string }[];
    fill(
      byId('import-result'),
      el('p', { class: 'error', text: `${file.name}: nothing imported.` }),
      el(
        'ul',
        { class: 'error' },
        ...issues.map((i) =>
          el('li', { text: `line ${i.line}: ${i.field ? `field "${i.field}": ` : ''}${i.message}` }),
        ),
      ),
    );
  }
}

async function generate(): Promise<void> {
  const prompts = byId<HTMLTextAreaElement>('generate-prompts')
    .value.split('\n')
    .filter((l) => l.trim());
  if (!prompts.length) return say('generate-result', 'Give at least one prompt.', true);
  say('generate-result', 'Generating… (this can take a while)');
  const r = await api<{ imported: number; notes: string[] }>('POST', `/api/projects/${current!.id}/tasks/generate`, {
    prompts,
    n: Number(input('generate-n').value),
  });
  say('generate-result', `Added ${r.imported} tasks${r.notes.length ? `; ${r.notes.join('; ')}` : ''}.`);
  await loadStats();
}

// ---- statistics and export ----

const num = (x: number | null, digits = 0) => (x === null ? '–' : x.toFixed(digits));

async function loadStats(): Promise<void> {
  const s = await api<Stats>('GET', `/api/projects/${current!.id}/stats`);
  say(
    'project-agreement',
    `${s.tasks} tasks (${s.goldTasks} gold), ${s.judgments} judgments · inter-labeler agreement ${rate(s.agreement)}`,
  );
  fill(byId('kind-stats'), ...(showKinds(s.kinds) ? s.kinds.map((k) => el('li', { text: describeKind(k) })) : []));
  fill(
    byId('stats-body'),
    ...s.labelers.map((u) => {
      const b = el('button', { text: u.disabled ? 'Enable' : 'Disable', attrs: { type: 'button' } });
      b.addEventListener('click', () => void guarded('fatal', () => (u.disabled ? enable(u) : disable(u, b))));
      const link = el('button', { text: 'New link', attrs: { type: 'button' } });
      link.addEventListener('click', () => void guarded('fatal', () => newLink(u, link)));
      // data-label: on a phone each row is a card, each cell labeled with its column (style.css).
      const cell = (label: string, text: string, cls = '') =>
        el('td', { text, class: cls, attrs: { 'data-label': label } });
      return el(
        'tr',
        { attrs: { 'data-user': u.name } },
        cell('Labeler', u.name),
        cell('Status', u.disabled ? 'disabled' : 'active'),
        cell('Done', String(u.done)),
        cell('Skipped', String(u.skipped)),
        cell('Flagged', String(u.flagged)),
        cell('Per hour', num(u.throughput.perHour)),
        cell('Last hour', String(u.throughput.lastHour)),
        cell('Agreement with others', rate(u.agreement), 'agreement'),
        cell('Agreement with gold', rate(u.gold), 'gold'),
        el('td', { class: 'actions-cell' }, b, u.disabled ? null : link),
      );
    }),
  );
}

async function exportAs(format: 'trl' | 'comparisons' | 'kto', margin: boolean): Promise<void> {
  const q = new URLSearchParams({ format });
  if (margin) q.set('margin', '1');
  if (input('export-disabled').checked) q.set('includeDisabled', '1');
  const { blob, fileName } = await download(`/api/projects/${current!.id}/export?${q}`);
  const url = URL.createObjectURL(blob);
  const a = el('a', { attrs: { href: url, download: fileName } });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say('export-result', `Downloaded ${fileName} (${blob.size} bytes).`);
}

// ---- wiring ----

function onSubmit(id: string, out: string, f: () => Promise<void>): void {
  byId(id).addEventListener('submit', (e) => {
    e.preventDefault();
    void guarded(out, f);
  });
}

function onClick(id: string, out: string, f: () => Promise<void>): void {
  byId(id).addEventListener('click', () => void guarded(out, f));
}

function init(): void {
  onSubmit('signin-form', 'signin-error', async () => {
    if (!input('token-input').value.trim()) return;
    setToken(input('token-input').value);
    input('token-input').value = '';
    await start();
  });
  byId('signout').addEventListener('click', () => {
    clearToken();
    location.reload();
  });
  onSubmit('create-project', 'create-result', createProject);
  onSubmit('add-labeler', 'labeler-result', addLabeler);
  onSubmit('add-member', 'labeler-result', addMember);
  onSubmit('import', 'import-result', importFile);
  onSubmit('generate', 'generate-result', generate);
  onClick('copy-link', 'labeler-result', copyLink);
  onClick('refresh-stats', 'project-agreement', loadStats);
  onClick('export-comparisons', 'export-result', () => exportAs('comparisons', false));
  onClick('export-trl', 'export-result', () => exportAs('trl', false));
  onClick('export-trl-margin', 'export-result', () => exportAs('trl', true));
  onClick('export-kto', 'export-result', () => exportAs('kto', false));
  reloadOnSignInLink();
  void start();
}

init();
