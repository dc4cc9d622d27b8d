// Lineage: the runs a forked run descends from (a rollback, a --fork), each with the last step of it that belongs to
// the fork's history, and how the run page shows them (parent link, fork step, the runs forked from this one).
import type { MetricSummary, Run } from '../../protocol/index.js';
import { api } from './api.js';
import { h } from './dom.js';
import { hrefFor } from './router.js';

/** How far up a lineage the charts follow (a rollback of a rollback of …). */
const MAX_ANCESTORS = 8;

export interface Ancestor {
  run: Run;
  /** Its last step in the descendant's history: the lowest fork step below it. */
  until: number;
}

/** The parent, grandparent, … of `run` (nearest first), as far as they exist on the server. */
export async function ancestorsOf(run: Run, signal?: AbortSignal): Promise<Ancestor[]> {
  const out: Ancestor[] = [];
  let current = run;
  let until = Number.POSITIVE_INFINITY;
  while (out.length < MAX_ANCESTORS && current.parent_id !== null && current.fork_step !== null) {
    until = Math.min(until, current.fork_step);
    let parent: Run;
    try {
      parent = await api.run(current.parent_id, signal);
    } catch {
      break; // deleted: the run still says where it came from, the curves stop here
    }
    if (out.some((a) => a.run.id === parent.id) || parent.id === run.id) break;
    out.push({ run: parent, until });
    current = parent;
  }
  return out;
}

/** An ancestor's metric summaries, cut at its fork step: what the descendant's charts draw of it. */
export function summariesUntil(summaries: readonly MetricSummary[], until: number): MetricSummary[] {
  return summaries.filter((s) => s.first_step <= until).map((s) => ({ ...s, last_step: Math.min(s.last_step, until) }));
}

/** "Forked from NAME at step N" with links to the parent and to a comparison of both, or the deleted parent's id. */
export function forkedFrom(run: Run, parent: Run | null): Node {
  if (run.parent_id === null) return document.createTextNode('–');
  const step = `at step ${run.fork_step ?? '?'}`;
  if (!parent) return h('span', { class: 'lineage-parent' }, h('code', null, run.parent_id), ` (deleted) ${step}`);
  return h(
    'span',
    { class: 'lineage-parent' },
    h('a', { href: hrefFor({ view: 'run', id: parent.id }), 'data-lineage': 'parent' }, parent.name),
    ` ${step} · `,
    h('a', { href: hrefFor({ view: 'compare', runs: [run.id, parent.id] }), 'data-lineage': 'compare' }, 'compare'),
  );
}

/** The runs forked from this one, with their fork steps. */
export function forks(children: readonly Run[]): Node {
  if (!children.length) return document.createTextNode('none');
  const items = children.flatMap((c, i) => [
    i > 0 ? ', ' : '',
    h('a', { href: hrefFor({ view: 'run', id: c.id }), 'data-lineage': 'child' }, c.name),
    ` at step ${c.fork_step ?? '?'}`,
  ]);
  return h('span', { class: 'lineage-children' }, ...items);
}
