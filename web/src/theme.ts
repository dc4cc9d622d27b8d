// Light and dark themes: the system's choice (prefers-color-scheme) unless this browser chose one (localStorage), set
// as <html data-theme>, which styles.css turns into colour variables; charts read their colours from those variables.
import { h } from './dom.js';
import { store, stored } from './storage.js';

export type Theme = 'light' | 'dark';

/** The localStorage key; index.html's inline script reads it too, so the first paint has the right colours. */
export const THEME_KEY = 'ganwatch.theme';

const systemDark = window.matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set<(theme: Theme) => void>();

/** This browser's choice, if it made one. */
function chosen(): Theme | null {
  const v = stored(THEME_KEY);
  return v === 'light' || v === 'dark' ? v : null;
}

export function systemTheme(): Theme {
  return systemDark.matches ? 'dark' : 'light';
}

/** The theme shown: this browser's choice, else the system's. */
export function currentTheme(): Theme {
  return chosen() ?? systemTheme();
}

/** Whether the theme shown follows the system (no choice stored). */
export function followsSystem(): boolean {
  return chosen() === null;
}

function apply(): void {
  const theme = currentTheme();
  const root = document.documentElement;
  if (root.dataset.theme === theme) return;
  root.dataset.theme = theme;
  for (const fn of listeners) fn(theme);
}

/**
 * Shows `theme` and keeps it for this browser. Choosing what the system says forgets the choice, so the page follows
 * the system again (a toggle pressed twice is back where it started).
 */
export function setTheme(theme: Theme): void {
  // Storage may be disabled: the choice then lasts until the page is left.
  store(THEME_KEY, theme === systemTheme() ? null : theme);
  apply();
}

export function toggleTheme(): void {
  setTheme(currentTheme() === 'dark' ? 'light' : 'dark');
}

/** Calls `fn` with the new theme whenever it changes; returns how to stop. */
export function onThemeChange(fn: (theme: Theme) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A colour variable of the current theme (e.g. '--chart-text'), as the stylesheet defines it. */
export function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Applies the theme now and follows the system's changes and other tabs' choices. */
export function installTheme(): void {
  apply();
  systemDark.addEventListener('change', apply);
  window.addEventListener('storage', (ev) => {
    if (ev.key === THEME_KEY || ev.key === null) apply();
  });
}

/** The header's theme button: pressed when dark; its title says whether the system or this browser chose. */
export function themeToggle(): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'theme-toggle', 'aria-pressed': 'false' });
  const paint = (): void => {
    const dark = currentTheme() === 'dark';
    button.setAttribute('aria-pressed', String(dark));
    button.textContent = dark ? '☾ Dark' : '☀ Light';
    button.setAttribute('aria-label', 'Dark theme');
    button.title = `${dark ? 'Dark' : 'Light'} theme, ${
      followsSystem() ? 'as the system prefers' : 'chosen in this browser'
    } (shortcut: t)`;
  };
  button.addEventListener('click', toggleTheme);
  onThemeChange(paint);
  paint();
  return button;
}
