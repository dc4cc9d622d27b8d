// Keyboard shortcuts, listed by `?`: a few keys for moving around and the theme. Keys typed into a field, or pressed
// with Ctrl/Alt/⌘, are left alone; nothing that acts on a training run has a single-key shortcut.
import { h, uid } from './dom.js';
import { navigate } from './router.js';
import { toggleTheme } from './theme.js';

interface Shortcut {
  keys: string[];
  what: string;
  run: () => void;
}

/** How long after `g` the second key of `g r` / `g a` is awaited. */
const SEQUENCE_MS = 1500;

const SHORTCUTS: Shortcut[] = [
  { keys: ['?'], what: 'Show this list of shortcuts', run: () => openHelp() },
  { keys: ['/'], what: 'Filter the runs (opens the runs list)', run: () => focusFilter() },
  { keys: ['g', 'r'], what: 'Go to the runs list', run: () => navigate({ view: 'runs' }) },
  { keys: ['g', 'a'], what: 'Go to the alerts', run: () => navigate({ view: 'alerts' }) },
  { keys: ['c'], what: 'Compare the runs ticked in the runs list', run: () => compareSelected() },
  { keys: ['t'], what: 'Switch between the light and the dark theme', run: () => toggleTheme() },
];

let dialog: HTMLDialogElement | null = null;
let hint: HTMLElement | null = null;
let hintTimer: ReturnType<typeof setTimeout> | null = null;

/** A short message for a shortcut that cannot act here (announced politely). */
function say(text: string): void {
  hint ??= document.body.appendChild(h('p', { class: 'shortcut-hint', role: 'status', 'aria-live': 'polite' }));
  hint.textContent = text;
  hint.hidden = false;
  if (hintTimer) clearTimeout(hintTimer);
  hintTimer = setTimeout(() => hint && (hint.hidden = true), 4000);
}

/** The runs list's filter field: the element marked data-shortcut="filter", else the view's first search field. */
function filterField(): HTMLInputElement | null {
  return document.querySelector<HTMLInputElement>('main [data-shortcut="filter"], main input[type="search"]');
}

function focusFilter(): void {
  const now = filterField();
  if (now) {
    now.focus();
    now.select();
    return;
  }
  // The runs list mounts on the hash change, and the router then focuses its heading in the next frame: focus the
  // field in the frame after that.
  window.addEventListener(
    'hashchange',
    () => requestAnimationFrame(() => requestAnimationFrame(() => filterField()?.focus())),
    { once: true },
  );
  navigate({ view: 'runs' });
}

function compareSelected(): void {
  const button = document.querySelector<HTMLButtonElement>('main [data-shortcut="compare"]');
  if (!button) return say('Compare works from the runs list: tick 2 to 10 runs there (g r), then press c.');
  if (button.disabled) return say('Tick 2 to 10 runs to compare them.');
  button.click();
}

function keyLabel(key: string): HTMLElement {
  return h('kbd', null, key);
}

export function openHelp(): void {
  if (dialog?.open) return;
  if (!dialog) {
    const title = uid('shortcuts-title');
    dialog = h(
      'dialog',
      { class: 'shortcuts-dialog', 'aria-labelledby': title },
      h('h2', { id: title }, 'Keyboard shortcuts'),
      h(
        'table',
        { class: 'kv shortcuts-table' },
        h(
          'tbody',
          null,
          SHORTCUTS.map((s) =>
            h(
              'tr',
              { 'data-keys': s.keys.join(' ') },
              h(
                'th',
                { scope: 'row' },
                s.keys.flatMap((k, i) => [i ? ' then ' : '', keyLabel(k)]),
              ),
              h('td', null, s.what),
            ),
          ),
          h('tr', null, h('th', { scope: 'row' }, keyLabel('Esc')), h('td', null, 'Close this list or a dialog')),
          h(
            'tr',
            null,
            h(
              'th',
              { scope: 'row' },
              ['+', '−', '←', '→', '0'].flatMap((k, i) => [i ? ' ' : '', keyLabel(k)]),
            ),
            h('td', null, 'On a focused chart: zoom, pan, reset'),
          ),
        ),
      ),
      h('p', { class: 'muted-text' }, 'Keys typed into a field are not shortcuts.'),
      h(
        'form',
        { method: 'dialog', class: 'dialog-buttons' },
        h('button', { type: 'submit', class: 'primary' }, 'Close'),
      ),
    );
    document.body.append(dialog);
  }
  dialog.showModal();
}

/** Whether the key goes to something that takes text (or a modifier makes it another command). */
function notForUs(ev: KeyboardEvent): boolean {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented || ev.isComposing) return true;
  const t = ev.target;
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable) return true;
  if (t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return true;
  if (t instanceof HTMLInputElement)
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range'].includes(t.type);
  return false;
}

/** Listens for the shortcuts on the whole page. */
export function installShortcuts(): void {
  let pending: string | null = null;
  let pendingAt = 0;
  document.addEventListener('keydown', (ev) => {
    if (notForUs(ev)) return;
    // Another dialog (edit, confirm, token) owns the keyboard while open; the help list answers only `?`.
    const open = document.querySelector('dialog[open]');
    const helpOpen = open !== null && open === dialog;
    if (open && !helpOpen) return;
    if (helpOpen && ev.key !== '?') return;
    const key = ev.key;
    const now = performance.now();
    const first = pending !== null && now - pendingAt < SEQUENCE_MS ? pending : null;
    pending = null;
    const match = SHORTCUTS.find((s) =>
      first === null ? s.keys.length === 1 && s.keys[0] === key : s.keys[0] === first && s.keys[1] === key,
    );
    if (match) {
      ev.preventDefault();
      if (helpOpen) dialog?.close();
      else match.run();
      return;
    }
    if (first === null && SHORTCUTS.some((s) => s.keys.length > 1 && s.keys[0] === key)) {
      pending = key;
      pendingAt = now;
    }
  });
}

/** The header's button that opens the list. */
export function shortcutsButton(): HTMLButtonElement {
  return h(
    'button',
    { type: 'button', class: 'shortcuts-button', title: 'Keyboard shortcuts (?)', onclick: () => openHelp() },
    h('span', { 'aria-hidden': 'true' }, '?'),
    h('span', { class: 'visually-hidden' }, 'Keyboard shortcuts'),
  );
}
