// The Config tab: two runs, A and B, the fields where their configurations differ, then each one's whole
// configuration (train_config.json, the checkpoint's config.json, …) as dotted keys.

import { byId, el, fill } from '../../feedback/web/dom.js';
import { type ConfigResponse, type DiffResponse, type Scalar, getJSON } from './api.js';

const shown = (v: Scalar | undefined) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

function configTable(c: ConfigResponse): HTMLElement {
  const keys = Object.keys(c.flat);
  if (keys.length === 0)
    return el('p', {
      class: 'muted',
      text: `${c.id}: no train_config.json or config.json yet (a trainer writes config.json when it saves)`,
    });
  return el(
    'table',
    { class: 'kv', attrs: { 'data-run': c.id } },
    el('tbody', {}, ...keys.map((k) => el('tr', {}, el('th', { text: k }), el('td', { text: shown(c.flat[k]) })))),
  );
}

export class ConfigView {
  private readonly a = byId<HTMLSelectElement>('config-a');
  private readonly b = byId<HTMLSelectElement>('config-b');
  private readonly out = byId('config-out');
  /** The runs the choices were filled with: refilled only when they change (an open list stays open). */
  private shown = '';

  constructor() {
    this.a.addEventListener('change', () => void this.show());
    this.b.addEventListener('change', () => void this.show());
  }

  /** Fills the run choices (keeping the ones chosen), defaulting to the first two selected runs. */
  setRuns(all: string[], selected: string[]): void {
    if (all.join('\n') === this.shown && all.length) return;
    this.shown = all.join('\n');
    const keepA = this.a.value || selected[0] || all[0] || '',
      keepB = this.b.value || selected.find((r) => r !== keepA) || '';
    const options = (chosen: string, none: boolean) => [
      ...(none ? [el('option', { text: '(none)', attrs: { value: '' } })] : []),
      ...all.map((r) => {
        const o = el('option', { text: r, attrs: { value: r } });
        o.selected = r === chosen;
        return o;
      }),
    ];
    fill(this.a, ...options(keepA, false));
    fill(this.b, ...options(keepB, true));
  }

  /** Chooses A and B (the page does when two runs are selected to compare). */
  choose(a: string, b: string): Promise<void> {
    this.a.value = a;
    this.b.value = b;
    return this.show();
  }

  async show(): Promise<void> {
    const a = this.a.value,
      b = this.b.value;
    if (!a) return fill(this.out, el('p', { class: 'muted', text: 'No run yet.' }));
    try {
      const ca = await getJSON<ConfigResponse>('/api/config', { run: a });
      const parts: HTMLElement[] = [];
      if (b && b !== a) {
        const [cb, d] = await Promise.all([
          getJSON<ConfigResponse>('/api/config', { run: b }),
          getJSON<DiffResponse>('/api/diff', { a, b }),
        ]);
        parts.push(
          el(
            'section',
            { attrs: { id: 'diff' } },
            el('h3', {
              text: `${d.differ.length} field${d.differ.length === 1 ? '' : 's'} differ, ${d.same} the same`,
            }),
            el(
              'table',
              { class: 'diff' },
              el('thead', {}, el('tr', {}, el('th', { text: 'field' }), el('th', { text: a }), el('th', { text: b }))),
              el(
                'tbody',
                {},
                ...d.differ.map((x) =>
                  el(
                    'tr',
                    { attrs: { 'data-key': x.key } },
                    el('th', { text: x.key }),
                    el('td', { text: shown(x.a) }),
                    el('td', { text: shown(x.b) }),
                  ),
                ),
              ),
            ),
          ),
          el('details', {}, el('summary', { text: `${b}: its whole configuration` }), configTable(cb)),
        );
      }
      const problems = ca.problems.map((p) => el('p', { class: 'error', text: `${a}: ${p.file}: ${p.message}` }));
      fill(
        this.out,
        ...parts,
        el(
          'details',
          { attrs: b && b !== a ? {} : { open: '' } },
          el('summary', { text: `${a}: its whole configuration` }),
          configTable(ca),
        ),
        ...problems,
      );
    } catch (e) {
      fill(this.out, el('p', { class: 'error', text: (e as Error).message }));
    }
  }
}
