// Run status and alert severity badges: colour, a symbol and the word, so the state is never told by colour alone.
import type { AlertSeverity, RunStatus } from '../../../protocol/index.js';
import { h } from '../dom.js';

const STATUS_SYMBOL: Record<RunStatus, string> = {
  running: '●',
  paused: '❚❚',
  finished: '✓',
  failed: '✕',
  disconnected: '⚠',
};

export function statusBadge(status: RunStatus): HTMLElement {
  return h(
    'span',
    { class: `status status-${status}` },
    h('span', { class: 'status-symbol', 'aria-hidden': 'true' }, STATUS_SYMBOL[status]),
    ` ${status}`,
  );
}

const SEVERITY_SYMBOL: Record<AlertSeverity, string> = { info: '○', warn: '▲', critical: '■' };
export const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warn: 1, critical: 2 };

export function severityBadge(severity: AlertSeverity, text: string = severity): HTMLElement {
  return h(
    'span',
    { class: `severity severity-${severity}` },
    h('span', { class: 'severity-symbol', 'aria-hidden': 'true' }, SEVERITY_SYMBOL[severity]),
    ` ${text}`,
  );
}

export function tagChips(tags: readonly string[]): HTMLElement {
  return h(
    'span',
    { class: 'tags' },
    tags.map((t) => h('span', { class: 'tag' }, t)),
  );
}
