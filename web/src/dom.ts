// A tiny element builder and DOM helpers, so views read as markup without a framework.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * h('button', { class: 'x', onclick: fn, 'aria-label': 'Close' }, 'text', child)
 * Attributes whose value is false/null/undefined are left out; `on*` keys become event listeners.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
      else if (key === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Array<Child | Child[]>): void {
  el.replaceChildren();
  append(el, children);
}

/** A status line for empty, loading and error states (announced politely to screen readers). */
export function notice(kind: 'empty' | 'loading' | 'error', text: string, ...extra: Child[]): HTMLElement {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text, ...extra);
}

/** A labelled key/value table. */
export function kvTable(rows: Array<[string, Child]>, caption?: string): HTMLTableElement {
  return h(
    'table',
    { class: 'kv' },
    caption ? h('caption', null, caption) : null,
    h(
      'tbody',
      null,
      rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v))),
    ),
  );
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = 'gw'): string {
  return `${prefix}-${++idCounter}`;
}
