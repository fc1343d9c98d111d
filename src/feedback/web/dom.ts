// Building the pages' DOM. Text goes in only as text nodes (textContent): model outputs and prompts
// are untrusted, and nothing here ever parses a string as HTML.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** A new element with a class, text and attributes; event-handler and style attributes are refused. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.text !== undefined) e.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(k) || k === 'style' || k === 'srcdoc') throw new Error(`el: attribute ${k} is not allowed`);
    e.setAttribute(k, v);
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** The element with this id, of this type; a missing one is a bug in the page. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const c of children)
    if (c !== null && c !== undefined && c !== false)
      parent.append(typeof c === 'string' ? document.createTextNode(c) : c);
}

export function show(e: HTMLElement, on: boolean): void {
  e.hidden = !on;
}

/** "83% (n 12)" or "–" when nothing was compared. */
export function rate(a: { n: number; rate: number | null }): string {
  return a.rate === null ? '–' : `${Math.round(a.rate * 100)}% (n ${a.n})`;
}
